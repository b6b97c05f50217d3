/*
 * The CPU's loop kernels and task functions (the launch ABI of
 * cpu_backend.c).
 *
 * Loop kernels (every root cg_elem can compute) iterate over the output in
 * its physical order: the outer index enumerates (row, block) pairs, a row
 * being all dimensions but the minor-most, a block up to 4096 consecutive
 * elements of the minor-most dimension; the inner loop walks the block. The
 * outer index is what runs in parallel (rt_parallel_for splits it).
 *
 * A task, void(ptr args, i64 lo, i64 hi), loads the buffer pointers from
 * args[] (outputs, inputs, scratch) and calls a kernel body (the
 * shared core's cg_kernel_body) on [lo, hi); it is what the run function
 * and the thread pool's rt_parallel_for call, one chunk at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cpu/cg_cpu.h"

/* ---- loop kernels -------------------------------------------------------- */

#define BLOCK 4096

/* One loop nest over [lo, hi) ∩ [base, base + rows * nb) of the units of
 * iteration shape s, storing the outputs res[0..n) (all of dims s).
 * Returns its number of units, rows * nb (at the bounds).
 *
 * A symbolic s keeps the nest of its bounds: the rows that exist at the
 * binding come first (the row index is decomposed by the actual
 * dimensions), so only the first rows · nb units run (`active`); the
 * blocks of a symbolic minor-most dimension are cut at its value. */
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
  bool sym = !ir_shape_is_static(s);
  LLVMValueRef innerv = rank ? cg_dim(c, s, inner_dim) : cg_i64(c, 1);
  LLVMValueRef active = cg_i64(c, units);
  if (sym) {
    active = cg_i64(c, nb);
    for (int q = 1; q < rank; q++) active = LLVMBuildNSWMul(b, active, cg_dim(c, s, s->minor_to_major[q]), "");
  }
  LLVMValueRef glo = cg_clamp_i64(c, LLVMBuildSub(b, lo, cg_i64(c, base), ""), cg_i64(c, 0), active);
  LLVMValueRef ghi = cg_clamp_i64(c, LLVMBuildSub(b, hi, cg_i64(c, base), ""), cg_i64(c, 0), active);
  cg_loop lu, lj;
  LLVMValueRef u = cg_loop_open(c, &lu, glo, ghi, "unit");
  LLVMValueRef row = nb == 1 ? u : LLVMBuildUDiv(b, u, cg_i64(c, nb), "");
  LLVMValueRef j0 = nb == 1 ? cg_i64(c, 0) : LLVMBuildNSWMul(b, LLVMBuildURem(b, u, cg_i64(c, nb), ""), cg_i64(c, blk), "");
  LLVMValueRef j1 = nb == 1 ? innerv : LLVMBuildNSWAdd(b, j0, cg_i64(c, blk), "");
  if (nb > 1 && (inner % blk != 0 || s->sym[inner_dim])) j1 = cg_min_i64(c, j1, innerv);
  /* Outer dimensions of the row, from the minor end. */
  LLVMValueRef outer[IR_MAX_RANK] = {0};
  LLVMValueRef rest = row;
  for (int kk = 1; kk < rank; kk++) {
    int dm = s->minor_to_major[kk];
    bool last = true;
    for (int q = kk + 1; q < rank; q++)
      if (s->dims[s->minor_to_major[q]] != 1 || s->sym[s->minor_to_major[q]]) last = false;
    if (s->dims[dm] == 1 && !s->sym[dm]) outer[dm] = cg_i64(c, 0);
    else if (last) outer[dm] = rest;
    else {
      LLVMValueRef dv = cg_dim(c, s, dm);
      outer[dm] = LLVMBuildURem(b, rest, dv, "");
      rest = LLVMBuildUDiv(b, rest, dv, "");
    }
  }
  LLVMValueRef rbase = LLVMBuildNSWMul(b, row, innerv, "");
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
bool cg_loop_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out) {
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
  ir_dexpr outer = 0;
  if (ok && d->symbolic) ok = cg_symbolic_kernel_ok(c, d, &outer);
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
      for (int r = 0; same && r < s->rank; r++) same = t->dims[r] == s->dims[r] && t->sym[r] == s->sym[r];
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
  /* One nest over a symbolic shape: the units that run are a prefix,
   * counted at run time (the nest's `active`). Several nests keep the
   * count at the bounds (each skips what lies past the binding). */
  if (outer && !c->failed) {
    bool one = true;
    for (uint32_t i = 1; i < nres; i++) one = one && ir_shape_same_dims(&d->out_shapes[i], &d->out_shapes[0]);
    const ir_shape *s0 = &d->out_shapes[0];
    if (one && s0->rank && !ir_shape_is_static(s0)) {
      int64_t inner = s0->dims[s0->minor_to_major[0]];
      int64_t nb = (inner + BLOCK - 1) / BLOCK;
      if (nb < 1) nb = 1;
      cg_units_save save;
      cg_units_begin(c, &save);
      LLVMValueRef v = cg_i64(c, nb);
      for (int q = 1; q < s0->rank; q++) v = LLVMBuildNSWMul(b, v, cg_dim(c, s0, s0->minor_to_major[q]), "");
      out->units = cg_units_end(c, &save, v);
    }
  }
  return !c->failed;
}


LLVMValueRef cg_kernel_task(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body) {
  /* Named after the first instruction launching it, so that profiles and
   * assembly listings say which layer a kernel is. */
  char prefix[96];
  snprintf(prefix, sizeof prefix, "kiln.kernel.%.80s", d->inst && d->inst->name ? d->inst->name : "anon");
  LLVMValueRef fn = cg_add_function(c, prefix, cg_cpu(c)->t_task, true);
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
