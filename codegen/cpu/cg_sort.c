/*
 * Kernels that are not a loop over their output: sort and scatter. Both run
 * serially (one call covers everything): sort uses one scratch area in the
 * workspace, and scatter must apply its updates in row-major order.
 *
 * sort: for each row (all dimensions but the sorted one) the keys are copied
 * into scratch, normalised to one of three 8-byte kinds (f64 for floats, i64
 * for signed, u64 for unsigned integers: exact for every key type), and a
 * stable bottom-up merge sort computes the permutation; every operand is
 * then gathered through it. The merge sort is a helper function generated
 * once per (kind, direction) in LLVM IR; its inner loop is branch-free.
 *
 *   scratch: | keys: n x 8 bytes | perm: n x i64 | tmp: n x i64 |
 *
 * scatter: the output starts as a copy of the operand; then each update
 * element, in row-major order, is combined into the operand element its
 * index vector and window position select, unless its whole update window
 * would fall (even partly) outside the operand (docs/ir.md).
 */
#include <string.h>

#include "codegen/cpu/cg_cpu.h"

enum { KEY_F64, KEY_I64, KEY_U64 };

static int key_kind(ir_type t) {
  if (ir_type_is_float(t)) return KEY_F64;
  return ir_type_is_signed(t) ? KEY_I64 : KEY_U64;
}

/* a sorts strictly before b. */
static LLVMValueRef before(cg_ctx *c, int kind, bool desc, LLVMValueRef a, LLVMValueRef b) {
  LLVMBuilderRef bd = c->b;
  if (kind == KEY_F64) {
    /* Ascending: NaN after everything; descending: NaN first. */
    LLVMValueRef x = desc ? b : a, y = desc ? a : b;
    LLVMValueRef lt = LLVMBuildFCmp(bd, LLVMRealOLT, x, y, "");
    LLVMValueRef nan = LLVMBuildAnd(bd, LLVMBuildFCmp(bd, LLVMRealUNO, y, y, ""), LLVMBuildFCmp(bd, LLVMRealORD, x, x, ""), "");
    return LLVMBuildOr(bd, lt, nan, "");
  }
  LLVMIntPredicate p = kind == KEY_I64 ? (desc ? LLVMIntSGT : LLVMIntSLT) : (desc ? LLVMIntUGT : LLVMIntULT);
  return LLVMBuildICmp(bd, p, a, b, "");
}

static LLVMValueRef load_at(cg_ctx *c, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef i) {
  return LLVMBuildLoad2(c->b, t, LLVMBuildGEP2(c->b, t, base, &i, 1, ""), "");
}

static void store_at(cg_ctx *c, LLVMTypeRef t, LLVMValueRef base, LLVMValueRef i, LLVMValueRef v) {
  LLVMBuildStore(c->b, v, LLVMBuildGEP2(c->b, t, base, &i, 1, ""));
}

/* void sort(ptr keys, ptr perm, ptr tmp, i64 n): stable permutation sort. */
static LLVMValueRef sort_helper(cg_ctx *c, int kind, bool desc) {
  if (cg_cpu(c)->sort_fns[kind][desc]) return cg_cpu(c)->sort_fns[kind][desc];
  LLVMTypeRef pt[4] = {c->t_ptr, c->t_ptr, c->t_ptr, c->t_i64};
  LLVMValueRef fn = cg_add_function(c, "kiln.sort", LLVMFunctionType(c->t_void, pt, 4, 0), true);
  LLVMBasicBlockRef saved = LLVMGetInsertBlock(c->b);
  LLVMTypeRef kt = kind == KEY_F64 ? c->t_f64 : c->t_i64;
  LLVMValueRef keys = LLVMGetParam(fn, 0), perm = LLVMGetParam(fn, 1), tmp = LLVMGetParam(fn, 2), n = LLVMGetParam(fn, 3);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c->llc, fn, "entry");
  LLVMBasicBlockRef cond = LLVMAppendBasicBlockInContext(c->llc, fn, "pass");
  LLVMBasicBlockRef pass = LLVMAppendBasicBlockInContext(c->llc, fn, "merge");
  LLVMBasicBlockRef fin = LLVMAppendBasicBlockInContext(c->llc, fn, "fin");
  LLVMPositionBuilderAtEnd(c->b, entry);
  LLVMValueRef wv = cg_alloca(c, fn, c->t_i64, "width"), sv = cg_alloca(c, fn, c->t_ptr, "src");
  LLVMValueRef dv = cg_alloca(c, fn, c->t_ptr, "dst"), iv = cg_alloca(c, fn, c->t_i64, "i");
  LLVMValueRef jv = cg_alloca(c, fn, c->t_i64, "j");
  LLVMBuildStore(c->b, cg_i64(c, 1), wv);
  LLVMBuildStore(c->b, perm, sv);
  LLVMBuildStore(c->b, tmp, dv);
  LLVMBuildBr(c->b, cond);

  LLVMPositionBuilderAtEnd(c->b, cond);
  LLVMValueRef w = LLVMBuildLoad2(c->b, c->t_i64, wv, "");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, w, n, ""), pass, fin);

  LLVMPositionBuilderAtEnd(c->b, pass);
  w = LLVMBuildLoad2(c->b, c->t_i64, wv, "");
  LLVMValueRef s = LLVMBuildLoad2(c->b, c->t_ptr, sv, ""), t = LLVMBuildLoad2(c->b, c->t_ptr, dv, "");
  LLVMValueRef w2 = LLVMBuildNSWMul(c->b, w, cg_i64(c, 2), "");
  LLVMValueRef nblocks = LLVMBuildSDiv(c->b, LLVMBuildNSWAdd(c->b, n, LLVMBuildNSWSub(c->b, w2, cg_i64(c, 1), ""), ""), w2, "");
  cg_loop lq, lo;
  LLVMValueRef q = cg_loop_open(c, &lq, cg_i64(c, 0), nblocks, "blk");
  LLVMValueRef lov = LLVMBuildNSWMul(c->b, q, w2, "");
  LLVMValueRef mid = cg_min_i64(c, LLVMBuildNSWAdd(c->b, lov, w, ""), n);
  LLVMValueRef hi = cg_min_i64(c, LLVMBuildNSWAdd(c->b, lov, w2, ""), n);
  LLVMBuildStore(c->b, lov, iv);
  LLVMBuildStore(c->b, mid, jv);
  LLVMValueRef o = cg_loop_open(c, &lo, lov, hi, "o");
  LLVMValueRef i = LLVMBuildLoad2(c->b, c->t_i64, iv, ""), j = LLVMBuildLoad2(c->b, c->t_i64, jv, "");
  LLVMValueRef ic = cg_min_i64(c, i, LLVMBuildNSWSub(c->b, mid, cg_i64(c, 1), ""));
  LLVMValueRef jc = cg_min_i64(c, j, LLVMBuildNSWSub(c->b, hi, cg_i64(c, 1), ""));
  LLVMValueRef pi = load_at(c, c->t_i64, s, ic), pj = load_at(c, c->t_i64, s, jc);
  LLVMValueRef ki = load_at(c, kt, keys, pi), kj = load_at(c, kt, keys, pj);
  LLVMValueRef jok = LLVMBuildICmp(c->b, LLVMIntSLT, j, hi, "");
  LLVMValueRef idone = LLVMBuildICmp(c->b, LLVMIntSGE, i, mid, "");
  LLVMValueRef take = LLVMBuildAnd(c->b, jok, LLVMBuildOr(c->b, idone, before(c, kind, desc, kj, ki), ""), "");
  store_at(c, c->t_i64, t, o, LLVMBuildSelect(c->b, take, pj, pi, ""));
  LLVMValueRef tk = LLVMBuildZExt(c->b, take, c->t_i64, "");
  LLVMBuildStore(c->b, LLVMBuildNSWAdd(c->b, j, tk, ""), jv);
  LLVMBuildStore(c->b, LLVMBuildNSWAdd(c->b, i, LLVMBuildSub(c->b, cg_i64(c, 1), tk, ""), ""), iv);
  cg_loop_close(c, &lo);
  cg_loop_close(c, &lq);
  LLVMBuildStore(c->b, t, sv);
  LLVMBuildStore(c->b, s, dv);
  LLVMBuildStore(c->b, w2, wv);
  LLVMBuildBr(c->b, cond);

  /* The result ends in tmp after an odd number of passes: copy it back. */
  LLVMPositionBuilderAtEnd(c->b, fin);
  LLVMMoveBasicBlockAfter(fin, LLVMGetLastBasicBlock(fn));
  s = LLVMBuildLoad2(c->b, c->t_ptr, sv, "");
  LLVMBasicBlockRef copy = LLVMAppendBasicBlockInContext(c->llc, fn, "copy");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->llc, fn, "done");
  LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntNE, s, perm, ""), copy, done);
  LLVMPositionBuilderAtEnd(c->b, copy);
  cg_loop lc;
  LLVMValueRef k = cg_loop_open(c, &lc, cg_i64(c, 0), n, "cp");
  store_at(c, c->t_i64, perm, k, load_at(c, c->t_i64, s, k));
  cg_loop_close(c, &lc);
  LLVMBuildBr(c->b, done);
  LLVMPositionBuilderAtEnd(c->b, done);
  LLVMBuildRetVoid(c->b);
  if (saved) LLVMPositionBuilderAtEnd(c->b, saved);
  cg_cpu(c)->sort_fns[kind][desc] = fn;
  return fn;
}

/* The shape of s without dimension `dim` (symbolic dimensions kept). */
static ir_shape rows_shape(const ir_shape *s, int dim) {
  ir_shape r = *s;
  r.rank = 0;
  for (int i = 0; i < s->rank; i++)
    if (i != dim) r.dims[r.rank] = s->dims[i], r.sym[r.rank++] = s->sym[i];
  ir_shape_set_default_layout(&r);
  return r;
}

/* Index of a row of the sorted arrays: the row number split over every
 * dimension but `dim` (row-major; symbolic extents from the binding), with
 * d[dim] left for the caller. */
static void row_index(cg_ctx *c, const ir_shape *s, int dim, LLVMValueRef row, cg_index *ix) {
  int map[IR_MAX_RANK], n = 0;
  for (int i = 0; i < s->rank; i++)
    if (i != dim) map[n++] = i;
  ir_shape r = rows_shape(s, dim);
  cg_index t;
  memset(&t, 0, sizeof t);
  cg_delinearize_shape(c, row, &r, &t);
  for (int i = 0; i < n; i++) ix->d[map[i]] = t.d[i];
}

bool cg_sort_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out, int64_t *scratch_bytes) {
  LLVMBuilderRef b = c->b;
  const ir_inst *in = &d->comp->insts[d->root];
  const ir_shape *ks = &d->comp->insts[in->ops[0]].shape;
  int dim = (int)in->dims[0];
  int64_t n = ks->dims[dim], elems = ir_shape_elements(ks), rows = n ? elems / n : 0;
  int kind = key_kind(ks->type);
  LLVMValueRef helper = sort_helper(c, kind, in->descending);
  cg_kernel k;
  if (!cg_kernel_begin(c, &k, d, body)) return false;
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, body, "entry"));
  LLVMValueRef scratch = LLVMGetParam(body, cg_arg_scratch(d));
  LLVMValueRef lo = LLVMGetParam(body, cg_arg_lo(d)), hi = LLVMGetParam(body, cg_arg_hi(d));
  LLVMTypeRef kt = kind == KEY_F64 ? c->t_f64 : c->t_i64;
  if (rows > 0) {
    LLVMValueRef keys = scratch;
    LLVMValueRef off1 = cg_i64(c, n), off2 = cg_i64(c, 2 * n);
    LLVMValueRef perm = LLVMBuildGEP2(b, c->t_i64, scratch, &off1, 1, "");
    LLVMValueRef tmp = LLVMBuildGEP2(b, c->t_i64, scratch, &off2, 1, "");
    cg_loop lr, l1, l2;
    LLVMValueRef row = cg_loop_open(c, &lr, lo, hi, "row");
    uint32_t mark = cg_memo_mark(&k);
    cg_index ix;
    cg_index_init(&k, &ix, ks->rank);
    row_index(c, ks, dim, row, &ix);
    LLVMValueRef i = cg_loop_open(c, &l1, cg_i64(c, 0), cg_i64(c, n), "i");
    cg_index ki = ix;
    ki.uid = ++k.next_uid;
    ki.d[dim] = i;
    LLVMValueRef kv = cg_elem(&k, in->ops[0], &ki);
    if (kind == KEY_F64) kv = ks->type == IR_F64 ? kv : LLVMBuildFPExt(b, kv, c->t_f64, "");
    else kv = cg_to_i64(c, ks->type, kv);
    store_at(c, kt, keys, i, kv);
    store_at(c, c->t_i64, perm, i, i);
    cg_memo_reset(&k, mark);
    cg_loop_close(c, &l1);
    LLVMValueRef args[4] = {keys, perm, tmp, cg_i64(c, n)};
    LLVMBuildCall2(b, LLVMGlobalGetValueType(helper), helper, args, 4, "");
    LLVMValueRef o = cg_loop_open(c, &l2, cg_i64(c, 0), cg_i64(c, n), "o");
    cg_index si = ix, di = ix;
    si.uid = ++k.next_uid;
    di.uid = ++k.next_uid;
    si.d[dim] = load_at(c, c->t_i64, perm, o);
    di.d[dim] = o;
    for (uint32_t q = 0; q < in->nops; q++) {
      const ir_shape *os = &d->out_shapes[q];
      LLVMValueRef v = cg_elem(&k, in->ops[q], &si);
      cg_store(c, os->type, LLVMGetParam(body, q), cg_offset(c, os, &di), v);
    }
    cg_memo_reset(&k, mark);
    cg_loop_close(c, &l2);
    cg_loop_close(c, &lr);
  }
  LLVMBuildRetVoid(b);
  cg_kernel_end(&k);
  out->n = rows;
  out->cost = (double)n * 20;
  out->serial = true;
  *scratch_bytes = rows > 0 ? 24 * n : 0;
  if (rows > 0 && !ir_shape_is_static(ks)) {
    /* Symbolic dimensions besides the sorted one: as many rows as their
     * product at run time (the units function; rows is the bound's). */
    cg_units_save save;
    cg_units_begin(c, &save);
    LLVMValueRef v = cg_i64(c, 1);
    for (int i = 0; i < ks->rank; i++)
      if (i != dim) v = LLVMBuildNSWMul(b, v, cg_dim(c, ks, i), "");
    out->units = cg_units_end(c, &save, v);
  }
  return !c->failed;
}

bool cg_scatter_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out) {
  LLVMBuilderRef b = c->b;
  const ir_inst *in = &d->comp->insts[d->root];
  const ir_scatter_dims *sd = in->a.scatter;
  const ir_shape *x = &d->comp->insts[in->ops[0]].shape, *idx = &d->comp->insts[in->ops[1]].shape;
  const ir_shape *upd = &d->comp->insts[in->ops[2]].shape, *os = &d->out_shapes[0];
  ir_type t = x->type;
  cg_kernel k;
  if (!cg_kernel_begin(c, &k, d, body)) return false;
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(c->llc, body, "entry"));
  LLVMValueRef outp = LLVMGetParam(body, 0);
  LLVMValueRef lo = LLVMGetParam(body, cg_arg_lo(d)), hi = LLVMGetParam(body, cg_arg_hi(d));
  LLVMBasicBlockRef work = LLVMAppendBasicBlockInContext(c->llc, body, "work");
  LLVMBasicBlockRef fin = LLVMAppendBasicBlockInContext(c->llc, body, "fin");
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, lo, hi, ""), work, fin);
  LLVMPositionBuilderAtEnd(b, work);

  /* 1. out = x, in the output's physical order. */
  int64_t n = ir_shape_elements(x);
  if (n > 0) {
    cg_loop l;
    LLVMValueRef p = cg_loop_open(c, &l, cg_i64(c, 0), cg_i64(c, n), "copy");
    uint32_t mark = cg_memo_mark(&k);
    cg_index ix;
    cg_index_init(&k, &ix, x->rank);
    LLVMValueRef rest = p;
    for (int q = 0; q < x->rank; q++) {
      int dm = os->minor_to_major[q];
      ix.d[dm] = q + 1 == x->rank ? rest : LLVMBuildURem(b, rest, cg_i64(c, os->dims[dm]), "");
      if (q + 1 < x->rank) rest = LLVMBuildUDiv(b, rest, cg_i64(c, os->dims[dm]), "");
    }
    ix.linear = p;
    ix.lin = *os;
    cg_store(c, t, outp, p, cg_elem(&k, in->ops[0], &ix));
    cg_memo_reset(&k, mark);
    cg_loop_close(c, &l);
  }

  /* 2. The updates, in row-major order. */
  int64_t nu = ir_shape_elements(upd);
  if (nu > 0 && n > 0) {
    cg_loop l;
    LLVMValueRef u = cg_loop_open(c, &l, cg_i64(c, 0), cg_i64(c, nu), "upd");
    uint32_t mark = cg_memo_mark(&k);
    cg_index ui;
    cg_index_init(&k, &ui, upd->rank);
    cg_delinearize(c, u, upd->rank, upd->dims, &ui);
    bool is_win[IR_MAX_RANK] = {0}, inserted[IR_MAX_RANK] = {0};
    for (int i = 0; i < sd->nwindow; i++) is_win[sd->update_window_dims[i]] = true;
    for (int i = 0; i < sd->ninserted; i++) inserted[sd->inserted_window_dims[i]] = true;
    LLVMValueRef batch[IR_MAX_RANK];
    int nb = 0;
    for (int i = 0; i < upd->rank; i++)
      if (!is_win[i]) batch[nb++] = ui.d[i];
    LLVMValueRef start[IR_MAX_RANK];
    for (int q = 0; q < x->rank; q++) start[q] = cg_i64(c, 0);
    for (int kk = 0; kk < sd->nscatter_map; kk++) {
      cg_index ii;
      cg_index_init(&k, &ii, idx->rank);
      int bi = 0;
      for (int q = 0; q < idx->rank; q++) ii.d[q] = q == sd->index_vector_dim ? cg_i64(c, kk) : batch[bi++];
      start[sd->scatter_dims_to_operand_dims[kk]] = cg_to_i64(c, idx->type, cg_elem(&k, in->ops[1], &ii));
    }
    cg_index ti;
    cg_index_init(&k, &ti, x->rank);
    LLVMValueRef ok = LLVMConstInt(c->t_i1, 1, 0);
    int wi = 0;
    for (int q = 0; q < x->rank; q++) {
      int64_t extent = 1;
      LLVMValueRef win = cg_i64(c, 0);
      if (!inserted[q]) {
        int ud = (int)sd->update_window_dims[wi++];
        extent = upd->dims[ud];
        win = ui.d[ud];
      }
      LLVMValueRef s = start[q];
      ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntSGE, s, cg_i64(c, 0), ""), "");
      ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntSLE, s, cg_i64(c, x->dims[q] - extent), ""), "");
      ti.d[q] = LLVMBuildAdd(b, s, win, "");
    }
    LLVMValueRef uv = cg_elem(&k, in->ops[2], &ui);
    LLVMBasicBlockRef apply = LLVMAppendBasicBlockInContext(c->llc, body, "apply");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(c->llc, body, "next");
    LLVMBuildCondBr(b, ok, apply, next);
    LLVMPositionBuilderAtEnd(b, apply);
    LLVMValueRef off = cg_offset(c, os, &ti);
    LLVMValueRef nv = uv;
    if (in->comb != IR_COMB_ASSIGN) nv = cg_round(c, t, cg_combine(c, in->comb, t, cg_load(c, t, outp, off), uv, false));
    cg_store(c, t, outp, off, nv);
    LLVMBuildBr(b, next);
    LLVMPositionBuilderAtEnd(b, next);
    cg_memo_reset(&k, mark);
    cg_loop_close(c, &l);
  }
  LLVMBuildBr(b, fin);
  LLVMMoveBasicBlockAfter(fin, LLVMGetInsertBlock(b));
  LLVMPositionBuilderAtEnd(b, fin);
  LLVMBuildRetVoid(b);
  cg_kernel_end(&k);
  out->n = 1;
  out->cost = (double)(n + nu) * 4;
  out->serial = true;
  return !c->failed;
}
