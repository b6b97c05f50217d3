/*
 * Buffer plans (the struct is described in ir.h; passes/buffers.c makes
 * them): ownership, following storage, liveness, the verifier's checks and
 * the text form
 *
 *   plan workspace=N {
 *     %value[#elem]: KIND, size=S, live=[DEF,LAST]
 *   }
 *
 * with KIND one of `parameter N`, `constant`, `output N`, `temp @OFFSET`,
 * `alias %v`, `in_place %v`, `slice %v @OFFSET` (ir/parse.c reads it back).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/strbuf.h"

static bool has_storage_of_other(ir_buf_kind k) { return k == IR_BUF_ALIAS || k == IR_BUF_IN_PLACE || k == IR_BUF_SLICE; }

uint32_t ir_plan_storage(const ir_plan *p, uint32_t v, int64_t *offset) {
  int64_t off = 0;
  /* Bounded: a cyclic plan (rejected by the verifier) cannot hang. */
  for (uint32_t n = 0; n <= p->nvals && has_storage_of_other(p->bufs[v].kind) && p->bufs[v].of < p->nvals; n++) {
    if (p->bufs[v].kind == IR_BUF_SLICE) off += p->bufs[v].offset;
    v = p->bufs[v].of;
  }
  if (offset) *offset = off;
  return v;
}

void ir_plan_storage_ranges(const ir_plan *p, int64_t *lo, int64_t *hi) {
  for (uint32_t v = 0; v < p->nvals; v++) {
    lo[v] = p->bufs[v].def;
    hi[v] = p->bufs[v].last;
  }
  for (uint32_t v = 0; v < p->nvals; v++) {
    uint32_t s = ir_plan_storage(p, v, NULL);
    if (s == v) continue;
    if (p->bufs[v].def < lo[s]) lo[s] = p->bufs[v].def;
    if (p->bufs[v].last > hi[s]) hi[s] = p->bufs[v].last;
  }
}

/* The value an ALIAS chain from v ends at. */
static uint32_t alias_end(const ir_plan *p, uint32_t v) {
  for (uint32_t n = 0; n <= p->nvals && p->bufs[v].kind == IR_BUF_ALIAS && p->bufs[v].of < p->nvals; n++)
    v = p->bufs[v].of;
  return v;
}

/* def and last of every value from the entry computation and the plan's
 * kinds: a read (by any instruction but tuple and get_tuple_element, which
 * only name values) extends the value read and every value along its
 * ALIAS chain; an output not written in place is read by a copy at the
 * end (position ninsts). In-place and slice storage is not liveness: the
 * storage ranges (ir_plan_storage_ranges) join those. */
void ir_plan_liveness(const ir_comp *e, const ir_plan *p, int64_t *def, int64_t *last) {
  for (ir_id id = 0; id < e->ninsts; id++)
    for (uint32_t k = 0; k < ir_num_values(&e->insts[id]); k++) def[p->first[id] + k] = last[p->first[id] + k] = id;
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    if (in->op == IR_OP_TUPLE || in->op == IR_OP_GET_TUPLE_ELEMENT) continue;
    for (uint32_t k = 0; k < in->nops; k++) {
      const ir_inst *op = &e->insts[in->ops[k]];
      for (uint32_t q = 0; q < ir_num_values(op); q++) {
        uint32_t v = p->first[in->ops[k]] + q;
        for (uint32_t n = 0; n <= p->nvals; n++) {
          if (last[v] < id) last[v] = id;
          if (p->bufs[v].kind != IR_BUF_ALIAS || p->bufs[v].of >= p->nvals) break;
          v = p->bufs[v].of;
        }
      }
    }
  }
  if (e->root == IR_NONE) return;
  const ir_inst *root = &e->insts[e->root];
  for (uint32_t j = 0; j < root->nops; j++) {
    uint32_t v = p->first[root->ops[j]];
    uint32_t end = alias_end(p, v);
    if (p->bufs[end].kind == IR_BUF_OUTPUT && p->bufs[end].index == (int64_t)j) continue;
    for (uint32_t n = 0; n <= p->nvals; n++) {
      last[v] = e->ninsts;
      if (p->bufs[v].kind != IR_BUF_ALIAS || p->bufs[v].of >= p->nvals) break;
      v = p->bufs[v].of;
    }
  }
}

/* ---- text ------------------------------------------------------------------ */

static void put_value(strbuf *b, const ir_comp *e, const ir_plan *p, uint32_t v) {
  /* Values are few per instruction: a binary search over first[] is not
   * worth it for printing. */
  ir_id id = 0;
  while (id + 1 < e->ninsts && p->first[id + 1] <= v) id++;
  sb_printf(b, "%%%s", e->insts[id].name);
  if (e->insts[id].shape.type == IR_TUPLE) sb_printf(b, "#%u", v - p->first[id]);
}

void ir_plan_print(strbuf *b, const ir_module *m) {
  const ir_plan *p = m->plan;
  const ir_comp *e = ir_module_entry(m);
  if (!p || !e || p->ninsts != e->ninsts) return;
  sb_printf(b, "\nplan workspace=%lld {\n", (long long)p->workspace);
  for (uint32_t v = 0; v < p->nvals; v++) {
    const ir_buf *u = &p->bufs[v];
    sb_puts(b, "  ");
    put_value(b, e, p, v);
    sb_puts(b, ": ");
    switch (u->kind) {
      case IR_BUF_PARAMETER: sb_printf(b, "parameter %lld", (long long)u->index); break;
      case IR_BUF_CONSTANT: sb_puts(b, "constant"); break;
      case IR_BUF_OUTPUT: sb_printf(b, "output %lld", (long long)u->index); break;
      case IR_BUF_TEMP: sb_printf(b, "temp @%lld", (long long)u->offset); break;
      case IR_BUF_ALIAS: sb_puts(b, "alias "); put_value(b, e, p, u->of); break;
      case IR_BUF_IN_PLACE: sb_puts(b, "in_place "); put_value(b, e, p, u->of); break;
      case IR_BUF_SLICE:
        sb_puts(b, "slice ");
        put_value(b, e, p, u->of);
        sb_printf(b, " @%lld", (long long)u->offset);
        break;
    }
    sb_printf(b, ", size=%lld, live=[%lld,%lld]\n", (long long)u->size, (long long)u->def, (long long)u->last);
  }
  sb_puts(b, "}\n");
}

/* ---- verification ------------------------------------------------------------ */

#define PERR(...)               \
  do {                          \
    diag_error(d, __VA_ARGS__); \
    ok = false;                 \
  } while (0)

/* Whether `a` reaches `b` through the storage links (b holds a's bytes). */
static bool stored_in(const ir_plan *p, uint32_t a, uint32_t b) {
  for (uint32_t n = 0; n <= p->nvals && has_storage_of_other(p->bufs[a].kind) && p->bufs[a].of < p->nvals; n++) {
    a = p->bufs[a].of;
    if (a == b) return true;
  }
  return false;
}

static const char *vname(const ir_comp *e, const ir_plan *p, uint32_t v, char *buf, size_t n) {
  strbuf b;
  sb_init(&b);
  put_value(&b, e, p, v);
  char *s = sb_finish(&b);
  snprintf(buf, n, "%s", s ? s : "?");
  free(s);
  return buf;
}

bool ir_plan_verify(const ir_module *m, diag *d) {
  const ir_plan *p = m->plan;
  const ir_comp *e = ir_module_entry(m);
  if (!p) return true;
  if (!e) return false;
  bool ok = true;
  uint32_t nv = 0;
  for (ir_id id = 0; id < e->ninsts; id++) nv += ir_num_values(&e->insts[id]);
  if (p->ninsts != e->ninsts || p->nvals != nv) {
    PERR("buffer plan: made for %u instructions and %u values, the entry computation %%%s has %u and %u (a pass "
         "changed it after `buffers` without dropping the plan)",
         p->ninsts, p->nvals, e->name, e->ninsts, nv);
    return false;
  }
  for (ir_id id = 0, v = 0; id < e->ninsts; v += ir_num_values(&e->insts[id]), id++)
    if (p->first[id] != v) {
      PERR("buffer plan: the values of %%%s do not start at %u", e->insts[id].name, v);
      return false;
    }
  char n1[160], n2[160];
  /* Offsets and sizes small enough that sums of two cannot overflow
   * (a plan may come from text). */
  const int64_t big = INT64_C(1) << 60;
  if (p->workspace < 0 || p->workspace > big) {
    PERR("buffer plan: workspace of %lld bytes", (long long)p->workspace);
    return false;
  }
  for (uint32_t v = 0; v < p->nvals; v++)
    if (p->bufs[v].offset < 0 || p->bufs[v].offset > big || p->bufs[v].size < 0 || p->bufs[v].size > big) {
      PERR("buffer plan: %s has offset %lld and size %lld", vname(e, p, v, n1, sizeof n1),
           (long long)p->bufs[v].offset, (long long)p->bufs[v].size);
      return false;
    }
  /* Kinds and links against the instructions. */
  for (ir_id id = 0; id < e->ninsts; id++) {
    const ir_inst *in = &e->insts[id];
    for (uint32_t k = 0; k < ir_num_values(in); k++) {
      uint32_t v = p->first[id] + k;
      const ir_buf *u = &p->bufs[v];
      const ir_shape *s = in->shape.type == IR_TUPLE ? &in->tuple[k] : &in->shape;
      vname(e, p, v, n1, sizeof n1);
      if (u->size != ir_shape_phys_bytes(s))
        PERR("buffer plan: %s has size %lld, its shape has %lld bytes", n1, (long long)u->size,
             (long long)ir_shape_phys_bytes(s));
      if (has_storage_of_other(u->kind) && (u->of >= p->nvals || u->of == v)) {
        PERR("buffer plan: %s is stored in a value that does not exist", n1);
        continue;
      }
      bool kind_ok;
      uint32_t want_of = UINT32_MAX;
      switch (in->op) {
        case IR_OP_PARAMETER: kind_ok = u->kind == IR_BUF_PARAMETER && u->index == in->index; break;
        case IR_OP_CONSTANT: kind_ok = u->kind == IR_BUF_CONSTANT; break;
        case IR_OP_TUPLE: kind_ok = u->kind == IR_BUF_ALIAS, want_of = p->first[in->ops[k]]; break;
        case IR_OP_GET_TUPLE_ELEMENT:
          kind_ok = u->kind == IR_BUF_ALIAS, want_of = p->first[in->ops[0]] + (uint32_t)in->index;
          break;
        default:
          kind_ok = u->kind == IR_BUF_TEMP || u->kind == IR_BUF_OUTPUT || u->kind == IR_BUF_IN_PLACE ||
                    u->kind == IR_BUF_SLICE || (u->kind == IR_BUF_ALIAS && (in->op == IR_OP_RESHAPE || in->op == IR_OP_COPY));
          if (u->kind == IR_BUF_ALIAS) want_of = p->first[in->ops[0]];
          break;
      }
      if (!kind_ok) PERR("buffer plan: %s has a kind its instruction (%s) cannot have", n1, ir_op_name(in->op));
      else if (want_of != UINT32_MAX && u->of != want_of)
        PERR("buffer plan: %s must alias %s", n1, vname(e, p, want_of, n2, sizeof n2));
      if (u->kind == IR_BUF_IN_PLACE) {
        bool operand = false;
        for (uint32_t q = 0; q < in->nops; q++) operand = operand || p->first[in->ops[q]] == u->of;
        if (!operand || p->bufs[u->of].size != u->size)
          PERR("buffer plan: %s is in place of %s, which is not an operand of the same size", n1,
               vname(e, p, u->of, n2, sizeof n2));
        else if (p->bufs[u->of].last > (int64_t)id)
          PERR("buffer plan: %s is in place of %s, which is still read after launch %u", n1,
               vname(e, p, u->of, n2, sizeof n2), id);
      }
      if (u->kind == IR_BUF_SLICE) {
        const ir_buf *o = &p->bufs[u->of];
        if (u->offset < 0 || u->offset + u->size > o->size)
          PERR("buffer plan: %s at %lld (%lld bytes) is outside %s (%lld bytes)", n1, (long long)u->offset,
               (long long)u->size, vname(e, p, u->of, n2, sizeof n2), (long long)o->size);
      }
      if (u->kind == IR_BUF_TEMP && (u->offset < 0 || u->offset % 64 || u->offset + u->size > p->workspace))
        PERR("buffer plan: %s at %lld (%lld bytes) is not 64-byte aligned inside the workspace of %lld bytes", n1,
             (long long)u->offset, (long long)u->size, (long long)p->workspace);
      if (u->kind == IR_BUF_OUTPUT && (u->index < 0 || u->index >= (int64_t)e->noutputs))
        PERR("buffer plan: %s is output %lld of %u", n1, (long long)u->index, e->noutputs);
    }
  }
  if (!ok) return false;
  /* Cycles through storage links. */
  for (uint32_t v = 0; v < p->nvals; v++) {
    uint32_t a = v, n = 0;
    while (has_storage_of_other(p->bufs[a].kind) && n++ <= p->nvals) a = p->bufs[a].of;
    if (n > p->nvals) {
      PERR("buffer plan: %s is stored in itself (a cycle of alias/in_place/slice)", vname(e, p, v, n1, sizeof n1));
      return false;
    }
  }
  /* Outputs: OUTPUT j is what the root's operand j is. */
  const ir_inst *root = &e->insts[e->root];
  for (uint32_t v = 0; v < p->nvals; v++) {
    const ir_buf *u = &p->bufs[v];
    if (u->kind != IR_BUF_OUTPUT) continue;
    if (alias_end(p, p->first[root->ops[u->index]]) != v)
      PERR("buffer plan: %s is written into output %lld, which is another value", vname(e, p, v, n1, sizeof n1),
           (long long)u->index);
  }
  /* Live ranges as they follow from the computation. */
  int64_t *def = malloc(sizeof(int64_t) * (p->nvals + 1)), *last = malloc(sizeof(int64_t) * (p->nvals + 1));
  int64_t *lo = malloc(sizeof(int64_t) * (p->nvals + 1)), *hi = malloc(sizeof(int64_t) * (p->nvals + 1));
  if (!def || !last || !lo || !hi) {
    free(def), free(last), free(lo), free(hi);
    diag_error(d, "out of memory");
    return false;
  }
  ir_plan_liveness(e, p, def, last);
  for (uint32_t v = 0; v < p->nvals && ok; v++)
    if (p->bufs[v].def != def[v] || p->bufs[v].last != last[v])
      PERR("buffer plan: %s is live over [%lld,%lld], the computation says [%lld,%lld] (a stale plan?)",
           vname(e, p, v, n1, sizeof n1), (long long)p->bufs[v].def, (long long)p->bufs[v].last, (long long)def[v],
           (long long)last[v]);
  /* No two values live at one launch share a byte, unless one is stored in
   * the other. Aliases are their target's bytes over a range inside the
   * target's: they are left out. Storage regions: the workspace (-1), each
   * output, each parameter; constants are read-only. */
  if (ok) {
    ir_plan_storage_ranges(p, lo, hi);
    /* def and last are done with: they hold each value's storage and its
     * offset in it from here on. */
    for (uint32_t v = 0; v < p->nvals; v++) def[v] = ir_plan_storage(p, v, &last[v]);
    for (uint32_t a = 0; a < p->nvals && ok; a++) {
      if (p->bufs[a].kind == IR_BUF_ALIAS || p->bufs[a].size == 0) continue;
      int64_t oa = last[a], ob;
      uint32_t sa = (uint32_t)def[a];
      if (p->bufs[sa].kind == IR_BUF_CONSTANT) continue;
      int64_t la = sa == a ? lo[a] : p->bufs[a].def, ha = sa == a ? hi[a] : p->bufs[a].last;
      for (uint32_t b = a + 1; b < p->nvals && ok; b++) {
        if (p->bufs[b].kind == IR_BUF_ALIAS || p->bufs[b].size == 0) continue;
        uint32_t sb = (uint32_t)def[b];
        ob = last[b];
        const ir_buf *ra = &p->bufs[sa], *rb = &p->bufs[sb];
        if (ra->kind != rb->kind) continue;
        if (ra->kind != IR_BUF_TEMP && sa != sb) continue; /* different parameters/outputs */
        int64_t ba = ra->kind == IR_BUF_TEMP ? ra->offset + oa : oa, bb = rb->kind == IR_BUF_TEMP ? rb->offset + ob : ob;
        if (ba >= bb + p->bufs[b].size || bb >= ba + p->bufs[a].size) continue;
        int64_t lb = sb == b ? lo[b] : p->bufs[b].def, hb = sb == b ? hi[b] : p->bufs[b].last;
        if (la > hb || lb > ha) continue;
        if (stored_in(p, a, b) || stored_in(p, b, a)) continue;
        PERR("buffer plan: %s (bytes %lld..%lld, live [%lld,%lld]) and %s (bytes %lld..%lld, live [%lld,%lld]) "
             "overlap while both are live",
             vname(e, p, a, n1, sizeof n1), (long long)ba, (long long)(ba + p->bufs[a].size), (long long)la,
             (long long)ha, vname(e, p, b, n2, sizeof n2), (long long)bb, (long long)(bb + p->bufs[b].size),
             (long long)lb, (long long)hb);
      }
    }
  }
  free(def), free(last), free(lo), free(hi);
  return ok;
}
