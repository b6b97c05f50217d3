/*
 * The `buffers` pass: the buffer plan of the entry computation (ir.h,
 * docs/passes.md). It records where every value lives and over which
 * launches, so that codegen only follows it (codegen/cg_module.c calls
 * pass_buffers_plan itself for a module that arrives without a plan: one
 * implementation).
 *
 *   - parameters, constants: their own storage; a tuple, get_tuple_element
 *     or a reshape between row-major arrays: an alias, no bytes;
 *   - a value that is an output (and not already another output) is
 *     written straight into the caller's output buffer;
 *   - concatenation in place: when each operand's bytes are one contiguous
 *     range of the result (row-major, every dimension before the
 *     concatenated one of extent 1), the producers write into their slice
 *     and the concatenate launches nothing;
 *   - in place: an elementwise launch (a loop fusion or a lone elementwise
 *     instruction) whose operand dies at it, has its size and layout, and
 *     is read only at each result element's own index, writes over it;
 *   - every other value is a workspace temp, live from its launch to its
 *     last reader; temps are placed first fit by offset in order of
 *     definition, 64-byte aligned.
 * The optimisations never cost workspace: when a plan with them needs more
 * than the plain plan, the plan without concatenation in place, then the
 * plain one, is kept (a remark says so).
 */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

enum { PLAN_PLAIN = 0, PLAN_IN_PLACE = 1, PLAN_CONCAT = 2 };

static bool is_alias_reshape(const ir_comp *e, const ir_inst *in) {
  if (in->op != IR_OP_RESHAPE && in->op != IR_OP_COPY) return false;
  const ir_shape *x = &e->insts[in->ops[0]].shape;
  if (in->op == IR_OP_COPY) return ir_shape_equal(x, &in->shape);
  return ir_shape_has_default_layout(x) && ir_shape_has_default_layout(&in->shape);
}

static bool same_dims(const ir_shape *a, const ir_shape *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

/* Same dims, same layout and same element size: element i of one is at
 * the byte offset of element i of the other. */
static bool same_bytes_layout(const ir_shape *a, const ir_shape *b) {
  return ir_type_size(a->type) == ir_type_size(b->type) && ir_shape_same_layout(a, b);
}

/* In fused computation fc, is parameter `param` read only at the root
 * element's own index: every instruction that depends on it is elementwise
 * over the root's dims? */
static bool reads_own_index(const ir_comp *fc, ir_id param, const char **why, const char **via) {
  const ir_shape *rs = &fc->insts[fc->root].shape;
  if (fc->insts[fc->root].shape.type == IR_TUPLE) {
    *why = "the fusion has several results";
    return false;
  }
  uint8_t *reached = calloc(fc->ninsts, 1);
  if (!reached) {
    *why = "out of memory";
    return false;
  }
  reached[param] = 1;
  bool ok = same_dims(&fc->insts[param].shape, rs);
  if (!ok) *why = "the operand's dims are not the result's";
  for (ir_id id = param + 1; ok && id < fc->ninsts; id++) {
    const ir_inst *in = &fc->insts[id];
    for (uint32_t k = 0; k < in->nops && !reached[id]; k++) reached[id] = reached[in->ops[k]];
    if (!reached[id]) continue;
    if (!(ir_op_get(in->op)->flags & IR_F_ELEMENTWISE)) {
      *why = "read through a non-elementwise op:";
      *via = ir_op_name(in->op);
      ok = false;
    } else if (!same_dims(&in->shape, rs)) {
      *why = "an elementwise op of other dims";
      ok = false;
    }
  }
  free(reached);
  return ok;
}

/* Whether the operand X (value x, instruction ops index k) of launch y may
 * hold y's result; *why says why not. */
static bool in_place_ok(const ir_module *m, const ir_comp *e, const ir_plan *p, const int64_t *st_hi, ir_id y,
                        ir_id xid, const char **why, const char **via) {
  const ir_inst *yi = &e->insts[y], *xi = &e->insts[xid];
  uint32_t x = p->first[xid];
  if (ir_num_values(xi) != 1) return *why = "a tuple", false;
  /* Storage reached through in-place links only: a slice of a concatenate
   * is part of a value still in use. */
  uint32_t s = x;
  while (p->bufs[s].kind == IR_BUF_IN_PLACE) s = p->bufs[s].of;
  if (p->bufs[s].kind != IR_BUF_TEMP) return *why = "not a workspace temp of its own", false;
  if (st_hi[s] != (int64_t)y) return *why = "still read after this launch", false;
  if (!same_bytes_layout(&xi->shape, &yi->shape)) return *why = "another size or layout", false;
  /* Its bytes must reach the kernel only as this operand: an alias or a
   * slice of them is read at other indices. */
  for (uint32_t k = 0; k < yi->nops; k++) {
    if (yi->ops[k] == xid) continue;
    for (uint32_t q = 0; q < ir_num_values(&e->insts[yi->ops[k]]); q++)
      if (ir_plan_storage(p, p->first[yi->ops[k]] + q, NULL) == ir_plan_storage(p, x, NULL))
        return *why = "its bytes are also read through another operand", false;
  }
  if (yi->op == IR_OP_FUSION) {
    const ir_comp *fc = m->comps[yi->called];
    for (uint32_t k = 0; k < yi->nops; k++)
      if (yi->ops[k] == xid) {
        if (!reads_own_index(fc, ir_comp_param(fc, k), why, via)) return false;
      }
  }
  return true;
}

static bool is_elementwise_launch(const ir_module *m, const ir_inst *in) {
  if (in->op == IR_OP_FUSION)
    return in->fusion_kind == IR_FUSION_LOOP && m->comps[in->called]->insts[m->comps[in->called]->root].shape.type != IR_TUPLE;
  return in->op != IR_OP_COPY && (ir_op_get(in->op)->flags & IR_F_ELEMENTWISE);
}

/* Concatenation in place for concatenate `cid`, or why not. */
static bool concat_ok(const ir_comp *e, const ir_plan *p, ir_id cid, const char **why) {
  const ir_inst *c = &e->insts[cid];
  const ir_buf *cb = &p->bufs[p->first[cid]];
  if (cb->kind != IR_BUF_TEMP && cb->kind != IR_BUF_OUTPUT) return *why = "the result is not a buffer of its own", false;
  if (!ir_shape_has_default_layout(&c->shape)) return *why = "the result is not row-major", false;
  /* Slice offsets are static: they would hold only at the bounds. */
  if (!ir_shape_is_static(&c->shape)) return *why = "the result has a symbolic dimension", false;
  for (uint32_t k = 0; k < c->nops; k++)
    if (!ir_shape_is_static(&e->insts[c->ops[k]].shape)) return *why = "an operand has a symbolic dimension", false;
  for (int64_t d = 0; d < c->dims[0]; d++)
    if (c->shape.dims[d] != 1) return *why = "a slice is not contiguous: a dimension before the concatenated one is not 1", false;
  for (uint32_t k = 0; k < c->nops; k++) {
    ir_id o = c->ops[k];
    const ir_inst *oi = &e->insts[o];
    for (uint32_t q = 0; q < k; q++)
      if (c->ops[q] == o) return *why = "an operand appears twice", false;
    if (oi->op == IR_OP_PARAMETER || oi->op == IR_OP_CONSTANT) return *why = "an operand is a parameter or constant", false;
    if (ir_num_values(oi) != 1 || p->bufs[p->first[o]].kind != IR_BUF_TEMP)
      return *why = "an operand is an alias, an output or already placed", false;
    if (!ir_shape_has_default_layout(&oi->shape)) return *why = "an operand is not row-major", false;
  }
  return true;
}

/* First fit of the workspace temps in order of definition (their storage
 * ranges), 64-byte aligned. */
static bool assign(ir_plan *p) {
  uint32_t n = p->nvals;
  int64_t *lo = malloc(sizeof(int64_t) * (n + 1)), *hi = malloc(sizeof(int64_t) * (n + 1));
  uint32_t *order = malloc(sizeof(uint32_t) * (n + 1)), *live = malloc(sizeof(uint32_t) * (n + 1));
  if (!lo || !hi || !order || !live) {
    free(lo), free(hi), free(order), free(live);
    return false;
  }
  ir_plan_storage_ranges(p, lo, hi);
  uint32_t nt = 0;
  for (uint32_t v = 0; v < n; v++)
    if (p->bufs[v].kind == IR_BUF_TEMP) order[nt++] = v;
  /* Stable insertion sort by start: values are numbered in instruction
   * order, so only temps that start early (concatenates) move. */
  for (uint32_t i = 1; i < nt; i++) {
    uint32_t v = order[i], j = i;
    while (j > 0 && lo[order[j - 1]] > lo[v]) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }
  uint32_t nlive = 0;
  int64_t top = 0;
  for (uint32_t oi = 0; oi < nt; oi++) {
    uint32_t v = order[oi];
    uint32_t k = 0;
    for (uint32_t j = 0; j < nlive; j++)
      if (hi[live[j]] >= lo[v]) live[k++] = live[j];
    nlive = k;
    int64_t size = (p->bufs[v].size + 63) / 64 * 64, at = 0;
    uint32_t pos = 0;
    for (; pos < nlive; pos++) {
      const ir_buf *o = &p->bufs[live[pos]];
      if (o->offset - at >= size) break;
      int64_t end = o->offset + (o->size + 63) / 64 * 64;
      if (end > at) at = end;
    }
    p->bufs[v].offset = at;
    memmove(live + pos + 1, live + pos, (nlive - pos) * sizeof *live);
    live[pos] = v;
    nlive++;
    if (at + size > top) top = at + size;
  }
  p->workspace = top;
  free(lo), free(hi), free(order), free(live);
  return true;
}

static ir_plan *plan_with(const ir_module *m, int what, pass_ctx *ctx) {
  const ir_comp *e = ir_module_entry(m);
  uint32_t nv = 0;
  for (ir_id id = 0; id < e->ninsts; id++) nv += ir_num_values(&e->insts[id]);
  ir_plan *p = ir_plan_alloc(e->ninsts, nv);
  int64_t *def = malloc(sizeof(int64_t) * (nv + 1)), *last = malloc(sizeof(int64_t) * (nv + 1));
  int64_t *lo = malloc(sizeof(int64_t) * (nv + 1)), *hi = malloc(sizeof(int64_t) * (nv + 1));
  if (!p || !def || !last || !lo || !hi) goto oom;
  for (ir_id id = 0, v = 0; id < e->ninsts; v += ir_num_values(&e->insts[id]), id++) p->first[id] = v;
  p->first[e->ninsts] = nv;
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    for (uint32_t k = 0; k < ir_num_values(in); k++) {
      ir_buf *u = &p->bufs[p->first[id] + k];
      /* Physical bytes: a panel layout pads its last panel. */
      u->size = ir_shape_phys_bytes(in->shape.type == IR_TUPLE ? &in->tuple[k] : &in->shape);
      switch (in->op) {
        case IR_OP_PARAMETER: u->kind = IR_BUF_PARAMETER, u->index = in->index; break;
        case IR_OP_CONSTANT: u->kind = IR_BUF_CONSTANT; break;
        case IR_OP_TUPLE: u->kind = IR_BUF_ALIAS, u->of = p->first[in->ops[k]]; break;
        case IR_OP_GET_TUPLE_ELEMENT: u->kind = IR_BUF_ALIAS, u->of = p->first[in->ops[0]] + (uint32_t)in->index; break;
        default:
          if (is_alias_reshape(e, in)) u->kind = IR_BUF_ALIAS, u->of = p->first[in->ops[0]];
          else u->kind = IR_BUF_TEMP;
          break;
      }
    }
  }
  /* Outputs: written in place unless already taken or not produced here. */
  const ir_inst *root = &e->insts[e->root];
  for (uint32_t j = 0; j < root->nops; j++) {
    uint32_t v = p->first[root->ops[j]];
    while (p->bufs[v].kind == IR_BUF_ALIAS) v = p->bufs[v].of;
    if (p->bufs[v].kind == IR_BUF_TEMP) p->bufs[v].kind = IR_BUF_OUTPUT, p->bufs[v].index = j;
  }
  ir_plan_liveness(e, p, def, last);
  for (uint32_t v = 0; v < nv; v++) p->bufs[v].def = def[v], p->bufs[v].last = last[v];

  for (ir_id id = 0; (what & PLAN_CONCAT) && id < e->ninsts; id++) {
    const ir_inst *c = &e->insts[id];
    if (c->op != IR_OP_CONCATENATE) continue;
    const char *why = NULL;
    if (!concat_ok(e, p, id, &why)) {
      if (ctx) pass_remark(ctx, "buffers: %%%s: concatenation not in place (%s)", c->name, why);
      continue;
    }
    int64_t off = 0;
    for (uint32_t k = 0; k < c->nops; k++) {
      ir_buf *u = &p->bufs[p->first[c->ops[k]]];
      u->kind = IR_BUF_SLICE, u->of = p->first[id], u->offset = off;
      off += u->size;
    }
    if (ctx) pass_remark(ctx, "buffers: %%%s: concatenation in place (its %u operands write into their slices)", c->name, c->nops);
  }

  ir_plan_storage_ranges(p, lo, hi);
  for (ir_id id = 0; (what & PLAN_IN_PLACE) && id < e->ninsts; id++) {
    const ir_inst *y = &e->insts[id];
    uint32_t yv = p->first[id];
    if (!is_elementwise_launch(m, y) || ir_num_values(y) != 1 || p->bufs[yv].kind != IR_BUF_TEMP) continue;
    const char *why = NULL, *first_why = NULL, *via = "", *first_via = "";
    ir_id first_x = IR_NONE;
    bool done = false;
    for (uint32_t k = 0; k < y->nops && !done; k++) {
      ir_id x = y->ops[k];
      via = "";
      if (!in_place_ok(m, e, p, hi, id, x, &why, &via)) {
        if (!first_why) first_why = why, first_via = via, first_x = x;
        continue;
      }
      uint32_t s = p->first[x];
      while (p->bufs[s].kind == IR_BUF_IN_PLACE) s = p->bufs[s].of;
      p->bufs[yv].kind = IR_BUF_IN_PLACE;
      p->bufs[yv].of = p->first[x];
      if (hi[yv] > hi[s]) hi[s] = hi[yv];
      if (ctx) pass_remark(ctx, "buffers: %%%s: written in place of %%%s (dies here, same size and layout, read at "
                                "each element's own index)", y->name, e->insts[x].name);
      done = true;
    }
    if (!done && first_why && ctx)
      pass_remark(ctx, "buffers: %%%s: not in place of %%%s (%s%s%s)", y->name, e->insts[first_x].name, first_why,
                  *first_via ? " " : "", first_via);
  }
  if (!assign(p)) goto oom;
  free(def), free(last), free(lo), free(hi);
  return p;
oom:
  free(def), free(last), free(lo), free(hi);
  ir_plan_free(p);
  return NULL;
}

ir_plan *pass_buffers_plan(const ir_module *m, bool optimize, pass_ctx *ctx) {
  const ir_comp *e = ir_module_entry(m);
  if (!e || e->root == IR_NONE || e->insts[e->root].op != IR_OP_TUPLE) return NULL;
  ir_plan *plain = plan_with(m, PLAN_PLAIN, NULL);
  if (!plain || !optimize) return plain;
  ir_plan *best = plan_with(m, PLAN_IN_PLACE | PLAN_CONCAT, ctx);
  if (best && best->workspace > plain->workspace) {
    if (ctx) pass_remark(ctx, "buffers: concatenation in place would need %lld workspace bytes, %lld without: not done",
                         (long long)best->workspace, (long long)plain->workspace);
    ir_plan_free(best);
    best = plan_with(m, PLAN_IN_PLACE, NULL);
    if (best && best->workspace > plain->workspace) {
      if (ctx) pass_remark(ctx, "buffers: in-place reuse would need %lld workspace bytes, %lld without: not done",
                           (long long)best->workspace, (long long)plain->workspace);
      ir_plan_free(best);
      return plain;
    }
  }
  if (!best) {
    ir_plan_free(plain);
    return NULL;
  }
  ir_plan_free(plain);
  return best;
}

int64_t pass_buffers_fit(const ir_plan *p, const int64_t *lo, const int64_t *hi, int64_t at, int64_t size,
                         uint32_t *scratch) {
  uint32_t n = 0;
  for (uint32_t v = 0; v < p->nvals; v++)
    if (p->bufs[v].kind == IR_BUF_TEMP && lo[v] <= at && hi[v] >= at) scratch[n++] = v;
  /* By offset (few live at once: insertion sort). */
  for (uint32_t i = 1; i < n; i++) {
    uint32_t v = scratch[i], j = i;
    while (j > 0 && p->bufs[scratch[j - 1]].offset > p->bufs[v].offset) {
      scratch[j] = scratch[j - 1];
      j--;
    }
    scratch[j] = v;
  }
  size = (size + 63) / 64 * 64;
  int64_t pos = 0;
  for (uint32_t i = 0; i < n; i++) {
    const ir_buf *o = &p->bufs[scratch[i]];
    if (o->offset - pos >= size) break;
    int64_t end = o->offset + (o->size + 63) / 64 * 64;
    if (end > pos) pos = end;
  }
  return pos;
}

bool pass_buffers(ir_module *m, pass_ctx *ctx) {
  ir_comp *e = ir_module_entry(m);
  if (!e) return false;
  ir_plan *p = pass_buffers_plan(m, true, ctx);
  if (!p) {
    diag_error(ctx->d, "buffers: out of memory while planning %%%s", e->name);
    ctx->failed = ctx->oom = true;
    return false;
  }
  pass_remark(ctx, "buffers: %%%s: peak workspace %lld bytes", e->name, (long long)p->workspace);
  ir_module_set_plan(m, p);
  e->keep_order = true; /* live ranges are positions in this order */
  return true;
}
