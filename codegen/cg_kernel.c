/*
 * Kernels: one LLVM function per fusion (or per lone instruction standing in
 * for a fusion of one), shared by every launch with the same key.
 *
 * Each kernel is a pair of functions:
 *
 *   body(ptr noalias out0.., ptr noalias readonly in0.., ptr scratch,
 *        ptr aux0, ptr aux1, i64 lo, i64 hi)
 *        internal, alwaysinline: the loop nest over iterations [lo, hi);
 *        noalias lets LLVM vectorise without runtime alias checks.
 *   task(ptr args, i64 lo, i64 hi)
 *        loads the buffer pointers from args[] (outputs, inputs, scratch,
 *        aux) and calls body; it is what the entry function and the thread
 *        pool's rt_parallel_for call, one chunk [lo, hi) at a time.
 * A kernel may have several such pairs (phases), run one after the other
 * (GEMM: packing, then tiles). The dot and convolution kernels (cg_gemm.c,
 * cg_conv.c, cg_dwconv.c) share the fused-epilogue store defined here.
 *
 * The key of a kernel is a text rendering of everything the code depends
 * on: the instructions reachable from the root (ops, shapes with layouts,
 * attributes, inner constants), the shapes of its input and output buffers.
 * Two launches with equal keys share the functions (identical layers of a
 * model compile once).
 *
 * Loop kernels (every root cg_elem can compute) iterate over the output in
 * its physical order: the outer index enumerates (row, block) pairs, a row
 * being all dimensions but the minor-most, a block up to 4096 consecutive
 * elements of the minor-most dimension; the inner loop walks the block. The
 * outer index is what runs in parallel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_internal.h"

bool cg_kernel_begin(cg_ctx *c, cg_kernel *k, const cg_kdesc *d, LLVMValueRef fn) {
  memset(k, 0, sizeof *k);
  k->c = c;
  k->fn = fn;
  k->comp = d->comp;
  k->next_uid = 1; /* uid 1 is the scalar index */
  size_t n = d->comp->ninsts ? d->comp->ninsts : 1;
  k->buf = calloc(n, sizeof *k->buf);
  k->bshape = calloc(n, sizeof *k->bshape);
  if (!k->buf || !k->bshape) {
    cg_kernel_end(k);
    return cg_fail(c, "out of memory");
  }
  for (uint32_t i = 0; i < d->nin; i++) {
    k->buf[d->in_ids[i]] = LLVMGetParam(fn, d->nout + i);
    k->bshape[d->in_ids[i]] = d->in_shapes[i];
  }
  return true;
}

void cg_kernel_end(cg_kernel *k) {
  free(k->buf);
  free(k->bshape);
  free(k->memo);
  k->buf = NULL;
  k->bshape = NULL;
  k->memo = NULL;
}

bool cg_default_input(const cg_kdesc *d, ir_id id, unsigned *pos) {
  for (uint32_t i = 0; i < d->nin; i++)
    if (d->in_ids[i] == id) {
      *pos = i;
      return ir_shape_has_default_layout(d->in_shapes[i]);
    }
  return false;
}

/* ---- fused epilogues ------------------------------------------------------ */

void cg_epilogue_begin(cg_kernel *k, const cg_kdesc *d, ir_id hero) {
  k->buf[hero] = LLVMGetParam(k->fn, 0);
  k->bshape[hero] = &d->out_shapes[0];
}

void cg_epilogue_store(cg_kernel *k, const cg_kdesc *d, cg_index *ix, LLVMValueRef at) {
  ix->linear = at;
  ix->lin = d->out_shapes[0];
  uint32_t mark = cg_memo_mark(k);
  cg_store(k->c, IR_F32, LLVMGetParam(k->fn, 0), at, cg_elem(k, d->root, ix));
  cg_memo_reset(k, mark);
}

/* ---- keys ---------------------------------------------------------------- */

static void key_shape(strbuf *sb, const ir_shape *s) {
  sb_printf(sb, "%s[", ir_type_name(s->type));
  for (int i = 0; i < s->rank; i++) sb_printf(sb, "%s%lld", i ? "," : "", (long long)s->dims[i]);
  sb_puts(sb, "]{");
  for (int i = 0; i < s->rank; i++) sb_printf(sb, "%s%d", i ? "," : "", s->minor_to_major[i]);
  sb_puts(sb, "}");
}

static void key_ints(strbuf *sb, const char *tag, const int64_t *v, int n) {
  sb_printf(sb, " %s=", tag);
  for (int i = 0; i < n; i++) sb_printf(sb, "%s%lld", i ? "," : "", (long long)v[i]);
}

static void key_attrs(strbuf *sb, const ir_inst *in, int rank_hint) {
  const ir_op_info *info = ir_op_get(in->op);
  sb_printf(sb, " n%u", in->ndims);
  key_ints(sb, "d", in->dims, (int)in->ndims);
  sb_printf(sb, " x%lld c%d k%d s%d", (long long)in->index, (int)in->cmp, (int)in->comb, (int)in->descending);
  switch (info->family) {
    case IR_FAM_SLICE:
      key_ints(sb, "b", in->a.slice->start, rank_hint);
      key_ints(sb, "l", in->a.slice->limit, rank_hint);
      key_ints(sb, "t", in->a.slice->stride, rank_hint);
      break;
    case IR_FAM_PAD:
      key_ints(sb, "lo", in->a.pad->lo, rank_hint);
      key_ints(sb, "hi", in->a.pad->hi, rank_hint);
      key_ints(sb, "in", in->a.pad->interior, rank_hint);
      break;
    case IR_FAM_REDUCE_WINDOW:
    case IR_FAM_CONVOLUTION: {
      const ir_window *w = in->a.window;
      sb_printf(sb, " w%d", w->rank);
      for (int i = 0; i < w->rank; i++) key_ints(sb, "", &w->d[i].size, 6);
      if (in->conv) {
        const ir_conv_dims *cd = in->conv;
        sb_printf(sb, " cv%d %lld %lld %lld %lld %lld %lld", cd->nspatial, (long long)cd->in_batch,
                  (long long)cd->in_feature, (long long)cd->k_in, (long long)cd->k_out, (long long)cd->out_batch,
                  (long long)cd->out_feature);
        key_ints(sb, "is", cd->in_spatial, cd->nspatial);
        key_ints(sb, "ks", cd->k_spatial, cd->nspatial);
        key_ints(sb, "os", cd->out_spatial, cd->nspatial);
      }
      break;
    }
    case IR_FAM_DOT: {
      const ir_dot_dims *d = in->a.dot;
      key_ints(sb, "lb", d->lhs_batch, d->nbatch);
      key_ints(sb, "rb", d->rhs_batch, d->nbatch);
      key_ints(sb, "lc", d->lhs_contract, d->ncontract);
      key_ints(sb, "rc", d->rhs_contract, d->ncontract);
      break;
    }
    case IR_FAM_GATHER: {
      const ir_gather_dims *g = in->a.gather;
      key_ints(sb, "od", g->offset_dims, g->noffset);
      key_ints(sb, "cs", g->collapsed_slice_dims, g->ncollapsed);
      key_ints(sb, "sm", g->start_index_map, g->nstart_map);
      key_ints(sb, "iv", &g->index_vector_dim, 1);
      key_ints(sb, "ss", g->slice_sizes, IR_MAX_RANK);
      break;
    }
    case IR_FAM_SCATTER: {
      const ir_scatter_dims *s = in->a.scatter;
      key_ints(sb, "uw", s->update_window_dims, s->nwindow);
      key_ints(sb, "iw", s->inserted_window_dims, s->ninserted);
      key_ints(sb, "sd", s->scatter_dims_to_operand_dims, s->nscatter_map);
      key_ints(sb, "iv", &s->index_vector_dim, 1);
      break;
    }
    default: break;
  }
}

/* Marks instructions reachable from root without passing through inputs. */
static void reach(const cg_kdesc *d, ir_id id, bool *seen, const bool *is_in) {
  if (seen[id]) return;
  seen[id] = true;
  if (is_in[id]) return;
  const ir_inst *in = &d->comp->insts[id];
  for (uint32_t i = 0; i < in->nops; i++) reach(d, in->ops[i], seen, is_in);
}

static char *kernel_key(const cg_kdesc *d, size_t *len) {
  uint32_t n = d->comp->ninsts;
  bool *seen = calloc(n + 1, 1), *is_in = calloc(n + 1, 1);
  int32_t *local = malloc(sizeof(int32_t) * (n + 1));
  strbuf sb;
  sb_init(&sb);
  if (!seen || !is_in || !local) goto done;
  for (uint32_t i = 0; i < d->nin; i++) is_in[d->in_ids[i]] = true;
  reach(d, d->root, seen, is_in);
  for (uint32_t i = 0; i < d->nout; i++) {
    sb_puts(&sb, "out ");
    key_shape(&sb, &d->out_shapes[i]);
    sb_putc(&sb, '\n');
  }
  int32_t next = 0;
  for (uint32_t id = 0; id < n; id++) {
    if (!seen[id]) continue;
    local[id] = next++;
    const ir_inst *in = &d->comp->insts[id];
    if (is_in[id]) {
      double v;
      for (uint32_t i = 0; i < d->nin; i++)
        if (d->in_ids[i] == id) {
          sb_printf(&sb, "%d = in%u ", local[id], i);
          key_shape(&sb, d->in_shapes[i]);
        }
      /* Code may specialize on an input known to be one repeated constant. */
      if (cg_uniform_constant(d->comp, id, &v)) sb_printf(&sb, " uniform=%a", v);
      sb_putc(&sb, '\n');
      continue;
    }
    sb_printf(&sb, "%d%s = %s ", local[id], id == d->root ? " root" : "", ir_op_name(in->op));
    if (in->shape.type == IR_TUPLE) {
      for (uint32_t i = 0; i < in->ntuple; i++) key_shape(&sb, &in->tuple[i]);
    } else {
      key_shape(&sb, &in->shape);
    }
    sb_puts(&sb, " (");
    for (uint32_t i = 0; i < in->nops; i++) sb_printf(&sb, "%s%d", i ? "," : "", local[in->ops[i]]);
    sb_putc(&sb, ')');
    int rank = in->nops ? d->comp->insts[in->ops[0]].shape.rank : in->shape.rank;
    key_attrs(&sb, in, rank);
    if (in->op == IR_OP_CONSTANT && in->data) {
      sb_puts(&sb, " data=");
      sb_putn(&sb, in->data, (size_t)ir_shape_bytes(&in->shape));
    }
    sb_putc(&sb, '\n');
  }
done:
  free(seen);
  free(is_in);
  free(local);
  *len = sb.len;
  return sb_finish(&sb);
}

/* ---- loop kernels -------------------------------------------------------- */

#define BLOCK 4096

/* One loop nest over [lo, hi) ∩ [base, base + rows * nb) of the units of
 * iteration shape s, storing the outputs res[0..n) (all of dims s).
 * Returns its number of units, rows * nb. */
static int64_t loop_nest(cg_kernel *k, const cg_kdesc *d, LLVMValueRef body, const ir_shape *s, int64_t base,
                         const ir_id *res, const uint32_t *outi, uint32_t n, LLVMValueRef lo, LLVMValueRef hi) {
  cg_ctx *c = k->c;
  LLVMBuilderRef b = c->b;
  int64_t elems = ir_shape_elements(s);
  if (elems == 0) return 0;
  int rank = s->rank;
  int inner_dim = rank ? s->minor_to_major[0] : -1;
  int64_t inner = rank ? s->dims[inner_dim] : 1, rows = elems / inner;
  int64_t blk = inner <= BLOCK ? inner : BLOCK, nb = (inner + blk - 1) / blk, units = rows * nb;
  LLVMValueRef glo = cg_clamp_i64(c, LLVMBuildSub(b, lo, cg_i64(c, base), ""), cg_i64(c, 0), cg_i64(c, units));
  LLVMValueRef ghi = cg_clamp_i64(c, LLVMBuildSub(b, hi, cg_i64(c, base), ""), cg_i64(c, 0), cg_i64(c, units));
  cg_loop lu, lj;
  LLVMValueRef u = cg_loop_open(c, &lu, glo, ghi, "unit");
  LLVMValueRef row = nb == 1 ? u : LLVMBuildUDiv(b, u, cg_i64(c, nb), "");
  LLVMValueRef j0 = nb == 1 ? cg_i64(c, 0) : LLVMBuildNSWMul(b, LLVMBuildURem(b, u, cg_i64(c, nb), ""), cg_i64(c, blk), "");
  LLVMValueRef j1 = nb == 1 ? cg_i64(c, inner) : LLVMBuildNSWAdd(b, j0, cg_i64(c, blk), "");
  if (nb > 1 && inner % blk != 0) j1 = cg_clamp_i64(c, j1, cg_i64(c, 0), cg_i64(c, inner));
  /* Outer dimensions of the row, from the minor end. */
  LLVMValueRef outer[IR_MAX_RANK] = {0};
  LLVMValueRef rest = row;
  for (int kk = 1; kk < rank; kk++) {
    int dm = s->minor_to_major[kk];
    bool last = true;
    for (int q = kk + 1; q < rank; q++)
      if (s->dims[s->minor_to_major[q]] != 1) last = false;
    if (s->dims[dm] == 1) outer[dm] = cg_i64(c, 0);
    else if (last) outer[dm] = rest;
    else {
      outer[dm] = LLVMBuildURem(b, rest, cg_i64(c, s->dims[dm]), "");
      rest = LLVMBuildUDiv(b, rest, cg_i64(c, s->dims[dm]), "");
    }
  }
  LLVMValueRef rbase = LLVMBuildNSWMul(b, row, cg_i64(c, inner), "");
  LLVMValueRef j = cg_loop_open(c, &lj, j0, j1, "j");
  uint32_t mark = cg_memo_mark(k);
  cg_index ix;
  cg_index_init(k, &ix, rank);
  for (int r = 0; r < rank; r++) ix.d[r] = r == inner_dim ? j : outer[r];
  ix.linear = LLVMBuildNSWAdd(b, rbase, j, "");
  ix.lin = *s;
  for (uint32_t i = 0; i < n; i++) {
    LLVMValueRef v = cg_elem(k, res[i], &ix);
    const ir_shape *os = &d->out_shapes[outi[i]];
    cg_store(c, os->type, LLVMGetParam(body, outi[i]), cg_offset(c, os, &ix), v);
  }
  cg_memo_reset(k, mark);
  cg_loop_close(c, &lj);
  cg_loop_close(c, &lu);
  return units;
}

/* Outputs of equal dimensions share one loop nest; a multi-output fusion
 * whose outputs differ gets one nest per group, the groups' units laid end
 * to end so all of them can still be split across threads. */
static bool loop_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out) {
  LLVMBuilderRef b = c->b;
  const ir_inst *root = &d->comp->insts[d->root];
  uint32_t nres = root->op == IR_OP_TUPLE ? root->nops : 1;
  ir_id *res = malloc(sizeof(ir_id) * nres);
  uint32_t *outi = malloc(sizeof(uint32_t) * nres);
  bool *done = calloc(nres, 1);
  if (!res || !outi || !done) {
    free(res);
    free(outi);
    free(done);
    return cg_fail(c, "out of memory");
  }
  for (uint32_t i = 0; i < nres; i++) res[i] = root->op == IR_OP_TUPLE ? root->ops[i] : d->root;
  bool ok = true;
  for (uint32_t i = 0; i < nres && ok; i++)
    if (!cg_is_elemental(d->comp->insts[res[i]].op))
      ok = cg_fail(c, "%%%s: %s cannot be an output of a loop fusion", d->inst->name,
                   ir_op_name(d->comp->insts[res[i]].op));
  cg_kernel k;
  if (ok) ok = cg_kernel_begin(c, &k, d, body);
  if (!ok) {
    free(res);
    free(outi);
    free(done);
    return false;
  }
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, body, "entry"));
  LLVMValueRef lo = LLVMGetParam(body, cg_arg_lo(d)), hi = LLVMGetParam(body, cg_arg_hi(d));
  int64_t base = 0;
  double cost = 0;
  for (uint32_t i = 0; i < nres; i++) {
    if (done[i]) continue;
    const ir_shape *s = &d->out_shapes[i];
    ir_id gres[64];
    uint32_t gout[64], n = 0;
    double gcost = 0;
    for (uint32_t q = i; q < nres && n < 64; q++) {
      const ir_shape *t = &d->out_shapes[q];
      bool same = !done[q] && t->rank == s->rank;
      for (int r = 0; same && r < s->rank; r++) same = t->dims[r] == s->dims[r];
      if (!same) continue;
      done[q] = true;
      gres[n] = res[q];
      gout[n++] = q;
      gcost += cg_elem_cost(&k, res[q]) + 1;
    }
    int64_t units = loop_nest(&k, d, body, s, base, gres, gout, n, lo, hi), elems = ir_shape_elements(s);
    base += units;
    if (units) {
      double per_unit = gcost * (double)elems / (double)units;
      if (per_unit > cost) cost = per_unit;
    }
  }
  LLVMBuildRetVoid(b);
  cg_kernel_end(&k);
  free(res);
  free(outi);
  free(done);
  out->n = base;
  out->cost = cost;
  out->serial = false;
  return !c->failed;
}

/* ---- kernel functions ------------------------------------------------------ */

LLVMValueRef cg_kernel_body(cg_ctx *c, const cg_kdesc *d) {
  unsigned np = cg_arg_hi(d) + 1;
  LLVMTypeRef *pt = malloc(sizeof(LLVMTypeRef) * np);
  if (!pt) {
    cg_fail(c, "out of memory");
    return NULL;
  }
  for (unsigned i = 0; i < np - 2; i++) pt[i] = c->t_ptr;
  pt[np - 2] = pt[np - 1] = c->t_i64;
  LLVMValueRef fn = cg_add_function(c, "kiln.body", LLVMFunctionType(c->t_void, pt, np, 0), true);
  free(pt);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  unsigned ro = LLVMGetEnumAttributeKindForName("readonly", 8);
  unsigned nocap = LLVMGetEnumAttributeKindForName("nocapture", 9);
  for (unsigned i = 0; i < np - 2; i++) {
    LLVMAddAttributeAtIndex(fn, i + 1, LLVMCreateEnumAttribute(c->llc, noalias, 0));
    LLVMAddAttributeAtIndex(fn, i + 1, LLVMCreateEnumAttribute(c->llc, nocap, 0));
    bool input = (i >= d->nout && i < d->nout + d->nin) || i > cg_arg_scratch(d);
    if (input) LLVMAddAttributeAtIndex(fn, i + 1, LLVMCreateEnumAttribute(c->llc, ro, 0));
  }
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateEnumAttribute(c->llc, LLVMGetEnumAttributeKindForName("alwaysinline", 12), 0));
  return fn;
}

LLVMValueRef cg_kernel_task(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body) {
  /* Named after the first instruction launching it, so that profiles and
   * assembly listings say which layer a kernel is. */
  char prefix[96];
  snprintf(prefix, sizeof prefix, "kiln.kernel.%.80s", d->inst && d->inst->name ? d->inst->name : "anon");
  LLVMValueRef fn = cg_add_function(c, prefix, c->t_task, true);
  /* Kept out of the entry function: inlining every kernel into one giant
   * function buys nothing and makes instruction scheduling quadratic. */
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateEnumAttribute(c->llc, LLVMGetEnumAttributeKindForName("noinline", 8), 0));
  LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(c->llc, fn, "entry");
  LLVMPositionBuilderAtEnd(c->b, bb);
  unsigned np = cg_arg_hi(d) + 1;
  LLVMValueRef *args = malloc(sizeof(LLVMValueRef) * np);
  if (!args) {
    cg_fail(c, "out of memory");
    return NULL;
  }
  LLVMValueRef argv = LLVMGetParam(fn, 0);
  for (unsigned i = 0; i < np - 2; i++) {
    LLVMValueRef idx = cg_i64(c, i);
    LLVMValueRef p = LLVMBuildGEP2(c->b, c->t_ptr, argv, &idx, 1, "");
    args[i] = LLVMBuildLoad2(c->b, c->t_ptr, p, "");
  }
  args[np - 2] = LLVMGetParam(fn, 1);
  args[np - 1] = LLVMGetParam(fn, 2);
  LLVMBuildCall2(c->b, LLVMGlobalGetValueType(body), body, args, np, "");
  LLVMBuildRetVoid(c->b);
  free(args);
  return fn;
}

bool cg_kernel_emit(cg_ctx *c, const cg_kdesc *d, cg_launch *out) {
  unsigned gemm_tag = 0;
  bool gemm = cg_gemm_applies(c, d, &gemm_tag);
  size_t klen;
  char *key = kernel_key(d, &klen);
  if (!key) return cg_fail(c, "out of memory");
  if (gemm) {
    /* Which operands are packed at compile time changes the code. */
    size_t n = klen + 32;
    char *k2 = realloc(key, n);
    if (!k2) {
      free(key);
      return cg_fail(c, "out of memory");
    }
    key = k2;
    klen += (size_t)snprintf(key + klen, n - klen, "gemm %u\n", gemm_tag);
  }
  memset(out, 0, sizeof *out);
  bool found = false;
  for (uint32_t i = 0; i < c->nkfns && !found; i++) {
    if (c->kfns[i].keylen == klen && memcmp(c->kfns[i].key, key, klen) == 0) {
      *out = c->kfns[i].launch;
      found = true;
    }
  }
  if (found) {
    free(key);
    return gemm ? cg_gemm_constants(c, d, out) : true;
  }
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  bool ok;
  ir_op rop = d->comp->insts[d->root].op;
  if (gemm) {
    ok = cg_gemm_kernel(c, d, out);
  } else {
    LLVMValueRef body = cg_kernel_body(c, d);
    ok = body != NULL;
    out->nphase = 1;
    if (ok) {
      if (rop == IR_OP_SORT) ok = cg_sort_kernel(c, d, body, &out->ph[0], &out->scratch);
      else if (rop == IR_OP_SCATTER) ok = cg_scatter_kernel(c, d, body, &out->ph[0]);
      else if (cg_conv_dw_applies(c, d)) ok = cg_conv_dw_kernel(c, d, body, &out->ph[0]);
      else if (cg_conv_rows_applies(d)) ok = cg_conv_rows_kernel(c, d, body, &out->ph[0]);
      else ok = loop_kernel(c, d, body, &out->ph[0]);
    }
    if (ok) {
      out->ph[0].task = cg_kernel_task(c, d, body);
      ok = out->ph[0].task != NULL;
    }
  }
  if (saved) LLVMPositionBuilderAtEnd(c->b, saved);
  if (!ok) {
    free(key);
    return false;
  }
  if (c->nkfns == c->capkfns) {
    uint32_t cap = c->capkfns ? c->capkfns * 2 : 32;
    cg_kfn *nk = realloc(c->kfns, cap * sizeof *nk);
    if (!nk) {
      free(key);
      return cg_fail(c, "out of memory");
    }
    c->kfns = nk;
    c->capkfns = cap;
  }
  cg_launch shared = *out;
  shared.aux[0] = shared.aux[1] = NULL;
  c->kfns[c->nkfns++] = (cg_kfn){key, klen, shared};
  return gemm ? cg_gemm_constants(c, d, out) : true;
}
