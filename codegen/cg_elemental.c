/*
 * The elemental emitter: the LLVM value of an instruction at an output
 * multi-index, computed from its operands' values at derived indices (in
 * the spirit of XLA's ElementalIrEmitter).
 *
 * cg_elem(k, id, ix) either loads the value (the instruction is
 * materialized in a buffer of this kernel) or derives operand indices and
 * recurses. Every op but sort, scatter and custom_call is elemental:
 *   - elementwise ops pass the index through unchanged;
 *   - data movement (broadcast, reshape, transpose, slice, pad, reverse,
 *     concatenate, dynamic_slice, dynamic_update_slice, gather) maps it;
 *   - reduce, reduce_window, dot and convolution loop over what they
 *     combine, with the accumulator in an alloca that mem2reg promotes.
 * The emitted code never branches on data: where an op chooses between
 * operands (pad, concatenate, dynamic_update_slice, window borders) every
 * candidate index is clamped into its array, so loads stay in bounds, and a
 * select picks the result. That keeps loops vectorizable and means no
 * value is ever computed on only one path.
 *
 * A memo (instruction, index identity) → value avoids re-emitting shared
 * subexpressions of a fused DAG at the same index; loops inside element
 * code save and restore it (cg_memo_mark/reset) because values defined in
 * a loop body do not dominate the code after the loop.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_internal.h"
#include "ir/literal.h"

bool cg_is_elemental(ir_op op) {
  switch (op) {
    case IR_OP_SORT: case IR_OP_SCATTER: case IR_OP_CUSTOM_CALL: case IR_OP_TUPLE: case IR_OP_GET_TUPLE_ELEMENT:
    case IR_OP_PARAMETER:
      return false;
    default: return true;
  }
}

static const ir_shape *shape_of(const cg_kernel *k, ir_id id) { return &k->comp->insts[id].shape; }

/* The identity of "the scalar index": rank 0, so every use agrees. */
static void scalar_index(cg_index *ix) {
  memset(ix, 0, sizeof *ix);
  ix->uid = 1; /* reserved: uids from cg_index_init start at 2 */
}

static LLVMValueRef constant_value(cg_kernel *k, const ir_inst *in, ir_id id, const cg_index *ix) {
  cg_ctx *c = k->c;
  const ir_shape *s = &in->shape;
  int64_t n = ir_shape_elements(s);
  if (n == 1) return cg_const_elem(c, s->type, in->data, 0);
  /* A constant array inside a fusion: a read-only global in row-major order. */
  uint32_t ci = UINT32_MAX;
  for (uint32_t i = 0; i < c->m->ncomps; i++)
    if (c->m->comps[i] == k->comp) ci = i;
  LLVMValueRef g = NULL;
  for (uint32_t i = 0; i < c->nconsts; i++)
    if (c->consts[i].comp == ci && c->consts[i].id == id) g = c->consts[i].global;
  if (!g) {
    g = cg_const_bytes(c, in->data, (size_t)ir_shape_bytes(s), "kiln.fconst");
    if (c->nconsts == c->capconsts) {
      uint32_t cap = c->capconsts ? c->capconsts * 2 : 16;
      cg_const_ref *nc = realloc(c->consts, cap * sizeof *nc);
      if (!nc) {
        cg_fail(c, "out of memory");
        return LLVMGetUndef(cg_vtype(c, s->type));
      }
      c->consts = nc;
      c->capconsts = cap;
    }
    c->consts[c->nconsts++] = (cg_const_ref){ci, id, g};
  }
  return cg_load(c, s->type, g, cg_rowmajor(c, s->dims, ix));
}

/* The index of operand `op` (dims `od`) for an op that keeps dims. */
static LLVMValueRef operand_at(cg_kernel *k, ir_id op, const cg_index *ix) {
  if (shape_of(k, op)->rank == 0 && ix->rank != 0) {
    cg_index s;
    scalar_index(&s);
    return cg_elem(k, op, &s);
  }
  return cg_elem(k, op, ix);
}

static void derived(cg_kernel *k, cg_index *o, int rank) { cg_index_init(k, o, rank); }

/* A scalar integer operand as a signed i64. */
static LLVMValueRef scalar_i64(cg_kernel *k, ir_id op) {
  cg_index s;
  scalar_index(&s);
  return cg_to_i64(k->c, shape_of(k, op)->type, cg_elem(k, op, &s));
}

static LLVMValueRef reshape(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  const ir_shape *x = shape_of(k, in->ops[0]);
  LLVMValueRef lin;
  if (ix->linear && ix->lin.rank == in->shape.rank && ir_shape_has_default_layout(&ix->lin) &&
      memcmp(ix->lin.dims, in->shape.dims, sizeof(int64_t) * in->shape.rank) == 0 &&
      memcmp(ix->lin.sym, in->shape.sym, sizeof(uint32_t) * in->shape.rank) == 0)
    lin = ix->linear;
  else lin = cg_rowmajor_shape(c, &in->shape, ix);
  cg_index o;
  derived(k, &o, x->rank);
  cg_delinearize_shape(c, lin, x, &o);
  o.linear = lin;
  o.lin = *x;
  ir_shape_set_default_layout(&o.lin);
  return cg_elem(k, in->ops[0], &o);
}

static LLVMValueRef dynamic_update_slice(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  LLVMBuilderRef b = c->b;
  const ir_shape *x = shape_of(k, in->ops[0]), *u = shape_of(k, in->ops[1]);
  if (ir_shape_elements(u) == 0) return cg_elem(k, in->ops[0], ix);
  cg_index ui;
  derived(k, &ui, u->rank);
  LLVMValueRef inside = LLVMConstInt(c->t_i1, 1, 0);
  for (int i = 0; i < x->rank; i++) {
    LLVMValueRef s = cg_clamp_i64(c, scalar_i64(k, in->ops[2 + i]), cg_i64(c, 0), cg_i64(c, x->dims[i] - u->dims[i]));
    LLVMValueRef rel = LLVMBuildSub(b, ix->d[i], s, "");
    LLVMValueRef in_i = LLVMBuildICmp(b, LLVMIntULT, rel, cg_i64(c, u->dims[i]), ""); /* 0 <= rel < udim */
    inside = LLVMBuildAnd(b, inside, in_i, "");
    ui.d[i] = cg_clamp_i64(c, rel, cg_i64(c, 0), cg_i64(c, u->dims[i] - 1));
  }
  LLVMValueRef vu = cg_elem(k, in->ops[1], &ui);
  LLVMValueRef vx = cg_elem(k, in->ops[0], ix);
  return LLVMBuildSelect(b, inside, vu, vx, "");
}

/* cg_elem(op, o) computed only where cond holds, else zero: an operand
 * that may be empty at run time (a size like s-1) must not be read at all,
 * not even speculatively. Values memoised inside do not outlive the
 * branch. */
static LLVMValueRef guarded_elem(cg_kernel *k, ir_id op, const cg_index *o, LLVMValueRef cond) {
  cg_ctx *c = k->c;
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
  LLVMValueRef fn = LLVMGetBasicBlockParent(pre);
  LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(c->llc, fn, "nonempty");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->llc, fn, "read");
  LLVMBuildCondBr(c->b, cond, then, join);
  LLVMPositionBuilderAtEnd(c->b, then);
  uint32_t mark = cg_memo_mark(k);
  LLVMValueRef v = cg_elem(k, op, o);
  cg_memo_reset(k, mark);
  LLVMBasicBlockRef then_end = LLVMGetInsertBlock(c->b);
  LLVMBuildBr(c->b, join);
  LLVMPositionBuilderAtEnd(c->b, join);
  LLVMValueRef phi = LLVMBuildPhi(c->b, LLVMTypeOf(v), "");
  LLVMValueRef zero = LLVMConstNull(LLVMTypeOf(v));
  LLVMAddIncoming(phi, &zero, &pre, 1);
  LLVMAddIncoming(phi, &v, &then_end, 1);
  return phi;
}

/* Whether a dimension of s may be 0 at run time (a symbolic one only:
 * static empty operands are skipped where they are met). */
static bool may_be_empty(const cg_kernel *k, const ir_shape *s, int d) {
  return s->sym[d] && ir_dexpr_lower(k->c->m, s->sym[d]) <= 0;
}

/* A concatenation along a dimension some operand has symbolic: the
 * operands' ends are sums of run-time sizes. */
static LLVMValueRef concatenate_symbolic(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  int dim = (int)in->dims[0];
  LLVMValueRef v = NULL, begin = cg_i64(c, 0);
  for (uint32_t j = 0; j < in->nops; j++) {
    const ir_shape *s = shape_of(k, in->ops[j]);
    if (!s->sym[dim] && s->dims[dim] == 0) continue;
    LLVMValueRef size = cg_dim(c, s, dim), end = LLVMBuildNSWAdd(c->b, begin, size, "");
    cg_index o = *ix;
    o.uid = ++k->next_uid;
    o.linear = NULL;
    o.d[dim] = cg_clamp_i64(c, LLVMBuildSub(c->b, ix->d[dim], begin, ""), cg_i64(c, 0),
                            LLVMBuildSub(c->b, size, cg_i64(c, 1), ""));
    LLVMValueRef vj;
    if (may_be_empty(k, s, dim)) {
      LLVMValueRef inside = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntSGE, ix->d[dim], begin, ""),
                                         LLVMBuildICmp(c->b, LLVMIntSLT, ix->d[dim], end, ""), "");
      vj = guarded_elem(k, in->ops[j], &o, inside);
    } else {
      vj = cg_elem(k, in->ops[j], &o);
    }
    /* Operand j from `begin` on: later operands override earlier ones. */
    v = v ? LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGE, ix->d[dim], begin, ""), vj, v, "") : vj;
    begin = end;
  }
  return v ? v : LLVMGetUndef(cg_vtype(c, in->shape.type));
}

static LLVMValueRef concatenate(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  int dim = (int)in->dims[0];
  /* Any operand of symbolic size along dim (the result may still be
   * static: (8-s) + s). */
  for (uint32_t j = 0; j < in->nops; j++)
    if (shape_of(k, in->ops[j])->sym[dim]) return concatenate_symbolic(k, in, ix);
  int64_t off[64 + 1];
  LLVMValueRef v = NULL;
  int64_t start = 0;
  /* From the last operand backwards: v = d < end_k ? op_k : v. */
  int64_t *ends = in->nops <= 64 ? off : malloc(sizeof(int64_t) * (in->nops + 1));
  if (!ends) {
    cg_fail(c, "out of memory");
    return LLVMGetUndef(cg_vtype(c, in->shape.type));
  }
  for (uint32_t i = 0; i < in->nops; i++) {
    start += shape_of(k, in->ops[i])->dims[dim];
    ends[i] = start;
  }
  for (uint32_t j = in->nops; j-- > 0;) {
    const ir_shape *s = shape_of(k, in->ops[j]);
    if (s->dims[dim] == 0) continue;
    int64_t begin = ends[j] - s->dims[dim];
    cg_index o = *ix;
    o.uid = ++k->next_uid;
    o.linear = NULL;
    o.d[dim] = cg_clamp_i64(c, LLVMBuildSub(c->b, ix->d[dim], cg_i64(c, begin), ""), cg_i64(c, 0),
                            cg_i64(c, s->dims[dim] - 1));
    LLVMValueRef vj = cg_elem(k, in->ops[j], &o);
    if (!v) v = vj;
    else v = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, ix->d[dim], cg_i64(c, ends[j]), ""), vj, v, "");
  }
  if (ends != off) free(ends);
  return v ? v : LLVMGetUndef(cg_vtype(c, in->shape.type));
}

static LLVMValueRef pad(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  LLVMBuilderRef b = c->b;
  const ir_shape *x = shape_of(k, in->ops[0]);
  const ir_pad_attr *p = in->a.pad;
  cg_index s;
  scalar_index(&s);
  LLVMValueRef pv = cg_elem(k, in->ops[1], &s);
  if (ir_shape_elements(x) == 0) return pv;
  cg_index o;
  derived(k, &o, x->rank);
  LLVMValueRef valid = LLVMConstInt(c->t_i1, 1, 0);
  for (int i = 0; i < x->rank; i++) {
    int64_t step = p->interior[i] + 1, span = (x->dims[i] - 1) * step + 1;
    /* A symbolic dimension's span, (dim - 1) * step + 1, at run time. */
    LLVMValueRef spanv = cg_i64(c, span);
    if (x->sym[i])
      spanv = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, LLVMBuildSub(b, cg_dim(c, x, i), cg_i64(c, 1), ""), cg_i64(c, step), ""),
                              cg_i64(c, 1), "");
    LLVMValueRef t = LLVMBuildSub(b, ix->d[i], cg_i64(c, p->lo[i]), "");
    LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntULT, t, spanv, ""); /* 0 <= t < span */
    LLVMValueRef tc = cg_clamp_i64(c, t, cg_i64(c, 0), LLVMBuildSub(b, spanv, cg_i64(c, 1), ""));
    if (step > 1) {
      LLVMValueRef r = LLVMBuildURem(b, tc, cg_i64(c, step), "");
      ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntEQ, r, cg_i64(c, 0), ""), "");
      o.d[i] = LLVMBuildUDiv(b, tc, cg_i64(c, step), "");
    } else {
      o.d[i] = tc;
    }
    valid = LLVMBuildAnd(b, valid, ok, "");
  }
  bool empty = false;
  for (int i = 0; i < x->rank; i++) empty = empty || may_be_empty(k, x, i);
  LLVMValueRef vx = empty ? guarded_elem(k, in->ops[0], &o, valid) : cg_elem(k, in->ops[0], &o);
  return LLVMBuildSelect(b, valid, vx, pv, "");
}

static LLVMValueRef gather(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  const ir_gather_dims *g = in->a.gather;
  const ir_shape *x = shape_of(k, in->ops[0]), *idx = shape_of(k, in->ops[1]);
  int out_rank = in->shape.rank;
  /* Batch positions of the output (those not in offset_dims), in order. */
  LLVMValueRef batch[IR_MAX_RANK];
  int nb = 0;
  for (int i = 0; i < out_rank; i++) {
    bool off = false;
    for (int j = 0; j < g->noffset; j++)
      if (g->offset_dims[j] == i) off = true;
    if (!off) batch[nb++] = ix->d[i];
  }
  LLVMValueRef start[IR_MAX_RANK];
  for (int d = 0; d < x->rank; d++) start[d] = cg_i64(c, 0);
  for (int kk = 0; kk < g->nstart_map; kk++) {
    cg_index ii;
    derived(k, &ii, idx->rank);
    int bi = 0;
    for (int d = 0; d < idx->rank; d++) ii.d[d] = d == g->index_vector_dim ? cg_i64(c, kk) : batch[bi++];
    LLVMValueRef v = cg_to_i64(c, idx->type, cg_elem(k, in->ops[1], &ii));
    start[g->start_index_map[kk]] = v;
  }
  cg_index o;
  derived(k, &o, x->rank);
  int oi = 0;
  for (int d = 0; d < x->rank; d++) {
    LLVMValueRef hi = x->sym[d] ? LLVMBuildSub(c->b, cg_dim(c, x, d), cg_i64(c, g->slice_sizes[d]), "")
                                : cg_i64(c, x->dims[d] - g->slice_sizes[d]);
    LLVMValueRef s = cg_clamp_i64(c, start[d], cg_i64(c, 0), hi);
    bool collapsed = false;
    for (int j = 0; j < g->ncollapsed; j++)
      if (g->collapsed_slice_dims[j] == d) collapsed = true;
    o.d[d] = collapsed ? s : LLVMBuildNSWAdd(c->b, s, ix->d[g->offset_dims[oi++]], "");
  }
  return cg_elem(k, in->ops[0], &o);
}

/* Accumulator helpers shared by the looping ops. */
static LLVMValueRef acc_new(cg_kernel *k, LLVMTypeRef t, LLVMValueRef init) {
  LLVMValueRef a = cg_alloca(k->c, k->fn, t, "acc");
  LLVMBuildStore(k->c->b, init, a);
  return a;
}

static LLVMValueRef reduce(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  const ir_shape *x = shape_of(k, in->ops[0]);
  ir_type t = x->type;
  LLVMTypeRef vt = cg_vtype(c, t);
  bool red[IR_MAX_RANK] = {0};
  for (uint32_t i = 0; i < in->ndims; i++) red[in->dims[i]] = true;
  cg_index o;
  derived(k, &o, x->rank);
  int kept = 0;
  for (int d = 0; d < x->rank; d++)
    if (!red[d]) o.d[d] = ix->d[kept++];
  if (ir_shape_elements(x) == 0) return cg_identity(c, in->comb, t);
  LLVMValueRef acc = acc_new(k, vt, cg_identity(c, in->comb, t));
  uint32_t mark = cg_memo_mark(k);
  /* Loop over the reduced dimensions from the physically major one in, so
   * the innermost loop walks memory contiguously when it can. */
  cg_loop loops[IR_MAX_RANK];
  int nl = 0;
  for (int kk = x->rank - 1; kk >= 0; kk--) {
    int d = x->minor_to_major[kk];
    if (!red[d]) continue;
    o.d[d] = cg_loop_open(c, &loops[nl++], cg_i64(c, 0), cg_dim(c, x, d), "red");
  }
  LLVMValueRef v = cg_elem(k, in->ops[0], &o);
  LLVMValueRef cur = LLVMBuildLoad2(c->b, vt, acc, "");
  LLVMBuildStore(c->b, cg_combine(c, in->comb, t, cur, v, true), acc);
  while (nl > 0) cg_loop_close(c, &loops[--nl]);
  cg_memo_reset(k, mark);
  return cg_round(c, t, LLVMBuildLoad2(c->b, vt, acc, ""));
}

/* Input position of window tap `kpos` for output position `opos` along one
 * window dimension, and whether it hits a real element (not padding, not a
 * hole of lhs_dilate). The position returned is clamped into [0, dim). */
LLVMValueRef cg_window_tap(cg_ctx *c, const ir_window_dim *w, int64_t dim, LLVMValueRef opos, LLVMValueRef kpos,
                               LLVMValueRef *valid) {
  return cg_window_tap_v(c, w, cg_i64(c, dim), opos, kpos, valid);
}

LLVMValueRef cg_window_tap_v(cg_ctx *c, const ir_window_dim *w, LLVMValueRef dim, LLVMValueRef opos, LLVMValueRef kpos,
                             LLVMValueRef *valid) {
  LLVMBuilderRef b = c->b;
  LLVMValueRef p = LLVMBuildNSWMul(b, opos, cg_i64(c, w->stride), "");
  p = LLVMBuildNSWAdd(b, p, LLVMBuildNSWMul(b, kpos, cg_i64(c, w->rhs_dilate), ""), "");
  p = LLVMBuildNSWSub(b, p, cg_i64(c, w->pad_lo), "");
  /* (dim - 1) * lhs_dilate + 1: folded to a constant for a static dim. */
  LLVMValueRef span = LLVMBuildNSWAdd(
      b, LLVMBuildNSWMul(b, LLVMBuildNSWSub(b, dim, cg_i64(c, 1), ""), cg_i64(c, w->lhs_dilate), ""), cg_i64(c, 1), "");
  LLVMValueRef ok = LLVMBuildICmp(b, LLVMIntULT, p, span, "");
  LLVMValueRef pc = cg_clamp_i64(c, p, cg_i64(c, 0), LLVMBuildNSWSub(b, span, cg_i64(c, 1), ""));
  if (w->lhs_dilate > 1) {
    LLVMValueRef r = LLVMBuildURem(b, pc, cg_i64(c, w->lhs_dilate), "");
    ok = LLVMBuildAnd(b, ok, LLVMBuildICmp(b, LLVMIntEQ, r, cg_i64(c, 0), ""), "");
    pc = LLVMBuildUDiv(b, pc, cg_i64(c, w->lhs_dilate), "");
  }
  *valid = LLVMBuildAnd(b, *valid, ok, "");
  return pc;
}

static LLVMValueRef reduce_window(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  const ir_shape *x = shape_of(k, in->ops[0]);
  const ir_window *w = in->a.window;
  ir_type t = x->type;
  LLVMTypeRef vt = cg_vtype(c, t);
  if (ir_shape_elements(x) == 0) return cg_identity(c, in->comb, t);
  LLVMValueRef acc = acc_new(k, vt, cg_identity(c, in->comb, t));
  uint32_t mark = cg_memo_mark(k);
  cg_loop loops[IR_MAX_RANK];
  LLVMValueRef kpos[IR_MAX_RANK];
  int nl = 0;
  for (int d = 0; d < x->rank; d++)
    kpos[d] = w->d[d].size == 1 ? cg_i64(c, 0) : cg_loop_open(c, &loops[nl++], cg_i64(c, 0), cg_i64(c, w->d[d].size), "win");
  cg_index o;
  derived(k, &o, x->rank);
  LLVMValueRef valid = LLVMConstInt(c->t_i1, 1, 0);
  bool empty = false;
  for (int d = 0; d < x->rank; d++) {
    o.d[d] = cg_window_tap_v(c, &w->d[d], cg_dim(c, x, d), ix->d[d], kpos[d], &valid);
    empty = empty || may_be_empty(k, x, d);
  }
  LLVMValueRef v = empty ? guarded_elem(k, in->ops[0], &o, valid) : cg_elem(k, in->ops[0], &o);
  LLVMValueRef cur = LLVMBuildLoad2(c->b, vt, acc, "");
  LLVMValueRef nv = cg_combine(c, in->comb, t, cur, v, false);
  LLVMBuildStore(c->b, LLVMBuildSelect(c->b, valid, nv, cur, ""), acc);
  while (nl > 0) cg_loop_close(c, &loops[--nl]);
  cg_memo_reset(k, mark);
  return cg_round(c, t, LLVMBuildLoad2(c->b, vt, acc, ""));
}

/* Accumulation type of dot/convolution: f32 for f16/bf16/f32 results (no
 * rounding until the end), else the result type. Operands are converted to
 * it before multiplying (integers sign- or zero-extended). */
static LLVMValueRef mul_add(cg_ctx *c, ir_type rt, ir_type ot, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b) {
  if (ir_type_is_float(rt)) {
    if (rt == IR_F64 && ot != IR_F64) {
      a = LLVMBuildFPExt(c->b, a, c->t_f64, "");
      b = LLVMBuildFPExt(c->b, b, c->t_f64, "");
    }
    LLVMValueRef p = LLVMBuildFMul(c->b, a, b, "");
    LLVMSetFastMathFlags(p, LLVMFastMathAllowContract | LLVMFastMathAllowReassoc);
    LLVMValueRef s = LLVMBuildFAdd(c->b, acc, p, "");
    LLVMSetFastMathFlags(s, LLVMFastMathAllowContract | LLVMFastMathAllowReassoc);
    return s;
  }
  a = cg_convert(c, ot, rt, a);
  b = cg_convert(c, ot, rt, b);
  return LLVMBuildAdd(c->b, acc, LLVMBuildMul(c->b, a, b, ""), "");
}

static LLVMValueRef dot(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  const ir_dot_dims *dd = in->a.dot;
  const ir_shape *x = shape_of(k, in->ops[0]), *y = shape_of(k, in->ops[1]);
  ir_type rt = in->shape.type;
  LLVMTypeRef at = cg_vtype(c, rt);
  cg_index xi, yi;
  derived(k, &xi, x->rank);
  derived(k, &yi, y->rank);
  int r = 0;
  for (int i = 0; i < dd->nbatch; i++, r++) {
    xi.d[dd->lhs_batch[i]] = ix->d[r];
    yi.d[dd->rhs_batch[i]] = ix->d[r];
  }
  bool used[IR_MAX_RANK];
  for (int pass = 0; pass < 2; pass++) {
    const ir_shape *s = pass ? y : x;
    const int64_t *bd = pass ? dd->rhs_batch : dd->lhs_batch, *cd = pass ? dd->rhs_contract : dd->lhs_contract;
    cg_index *o = pass ? &yi : &xi;
    memset(used, 0, sizeof used);
    for (int i = 0; i < dd->nbatch; i++) used[bd[i]] = true;
    for (int i = 0; i < dd->ncontract; i++) used[cd[i]] = true;
    for (int d = 0; d < s->rank; d++)
      if (!used[d]) o->d[d] = ix->d[r++];
  }
  LLVMValueRef zero = ir_type_is_float(rt) ? LLVMConstReal(at, 0.0) : LLVMConstInt(at, 0, 0);
  int64_t kn = 1;
  for (int i = 0; i < dd->ncontract; i++) kn *= x->dims[dd->lhs_contract[i]];
  if (kn == 0) return zero;
  LLVMValueRef acc = acc_new(k, at, zero);
  uint32_t mark = cg_memo_mark(k);
  cg_loop loops[IR_MAX_RANK];
  for (int i = 0; i < dd->ncontract; i++) {
    LLVMValueRef iv = cg_loop_open(c, &loops[i], cg_i64(c, 0), cg_dim(c, x, (int)dd->lhs_contract[i]), "k");
    xi.d[dd->lhs_contract[i]] = iv;
    yi.d[dd->rhs_contract[i]] = iv;
  }
  LLVMValueRef a = cg_elem(k, in->ops[0], &xi), bv = cg_elem(k, in->ops[1], &yi);
  LLVMValueRef cur = LLVMBuildLoad2(c->b, at, acc, "");
  LLVMBuildStore(c->b, mul_add(c, rt, x->type, cur, a, bv), acc);
  for (int i = dd->ncontract; i-- > 0;) cg_loop_close(c, &loops[i]);
  cg_memo_reset(k, mark);
  return cg_round(c, rt, LLVMBuildLoad2(c->b, at, acc, ""));
}

static LLVMValueRef convolution(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  LLVMBuilderRef b = c->b;
  const ir_conv_dims *cd = in->conv;
  const ir_window *w = in->a.window;
  const ir_shape *x = shape_of(k, in->ops[0]), *kr = shape_of(k, in->ops[1]);
  ir_type rt = in->shape.type;
  LLVMTypeRef at = cg_vtype(c, rt);
  LLVMValueRef zero = ir_type_is_float(rt) ? LLVMConstReal(at, 0.0) : LLVMConstInt(at, 0, 0);
  if (ir_shape_elements(x) == 0 || ir_shape_elements(kr) == 0) return zero;
  int64_t groups = in->index, cin_g = kr->dims[cd->k_in], cout = kr->dims[cd->k_out], cout_g = cout / groups;
  LLVMValueRef o = ix->d[cd->out_feature];
  LLVMValueRef g = groups == 1 ? cg_i64(c, 0) : LLVMBuildUDiv(b, o, cg_i64(c, cout_g), "");
  LLVMValueRef acc = acc_new(k, at, zero);
  uint32_t mark = cg_memo_mark(k);
  cg_loop loops[IR_MAX_RANK + 1];
  int nl = 0;
  LLVMValueRef ci = cin_g == 1 ? cg_i64(c, 0) : cg_loop_open(c, &loops[nl++], cg_i64(c, 0), cg_i64(c, cin_g), "ci");
  LLVMValueRef kpos[IR_MAX_RANK];
  for (int i = 0; i < cd->nspatial; i++)
    kpos[i] = w->d[i].size == 1 ? cg_i64(c, 0) : cg_loop_open(c, &loops[nl++], cg_i64(c, 0), cg_i64(c, w->d[i].size), "kw");
  cg_index xi, ki;
  derived(k, &xi, x->rank);
  derived(k, &ki, kr->rank);
  LLVMValueRef valid = LLVMConstInt(c->t_i1, 1, 0);
  xi.d[cd->in_batch] = ix->d[cd->out_batch];
  xi.d[cd->in_feature] = groups == 1 ? ci : LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, g, cg_i64(c, cin_g), ""), ci, "");
  ki.d[cd->k_in] = ci;
  ki.d[cd->k_out] = o;
  bool empty = false;
  for (int i = 0; i < cd->nspatial; i++) {
    int sd = (int)cd->in_spatial[i];
    xi.d[sd] = cg_window_tap_v(c, &w->d[i], cg_dim(c, x, sd), ix->d[cd->out_spatial[i]], kpos[i], &valid);
    ki.d[cd->k_spatial[i]] = kpos[i];
    empty = empty || may_be_empty(k, x, sd);
  }
  LLVMValueRef a = empty ? guarded_elem(k, in->ops[0], &xi, valid) : cg_elem(k, in->ops[0], &xi);
  LLVMValueRef bv = cg_elem(k, in->ops[1], &ki);
  LLVMValueRef cur = LLVMBuildLoad2(b, at, acc, "");
  LLVMValueRef nv = mul_add(c, rt, x->type, cur, a, bv);
  LLVMBuildStore(b, LLVMBuildSelect(b, valid, nv, cur, ""), acc);
  while (nl > 0) cg_loop_close(c, &loops[--nl]);
  cg_memo_reset(k, mark);
  return cg_round(c, rt, LLVMBuildLoad2(b, at, acc, ""));
}

bool cg_uniform_constant(const ir_comp *comp, ir_id id, double *v) {
  const ir_inst *in = &comp->insts[id];
  while (in->op == IR_OP_BROADCAST || in->op == IR_OP_RESHAPE) in = &comp->insts[in->ops[0]];
  if (in->op != IR_OP_CONSTANT || !ir_type_is_float(in->shape.type)) return false;
  int64_t n = ir_shape_elements(&in->shape);
  if (n < 1 || n > 64) return false;
  *v = ir_elem_get_f(in->shape.type, in->data, 0);
  for (int64_t i = 1; i < n; i++)
    if (ir_elem_get_f(in->shape.type, in->data, i) != *v) return false;
  return true;
}

static cg_frame frame_save(const cg_kernel *k) {
  return (cg_frame){k->comp, k->buf, k->bshape, k->call, k->up, k->frame};
}

static void frame_load(cg_kernel *k, const cg_frame *f) {
  k->comp = f->comp;
  k->buf = f->buf;
  k->bshape = f->bshape;
  k->call = f->call;
  k->up = f->up;
  k->frame = f->id;
}

/* A fusion inside element code: its computation's root at the same index. */
static LLVMValueRef nested_fusion(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_ctx *c = k->c;
  const ir_comp *fc = c->m->comps[in->called];
  if (fc->insts[fc->root].shape.type == IR_TUPLE) {
    cg_fail(c, "%%%s: a multi-output fusion cannot be nested in another fusion", in->name);
    return LLVMGetUndef(c->t_f32);
  }
  size_t n = fc->ninsts ? fc->ninsts : 1;
  cg_frame me = frame_save(k);
  cg_frame inner = {fc, calloc(n, sizeof(LLVMValueRef)), calloc(n, sizeof(ir_shape *)), in, &me, ++k->nframes};
  if (!inner.buf || !inner.bshape) {
    free(inner.buf);
    free((void *)inner.bshape);
    cg_fail(c, "out of memory");
    return LLVMGetUndef(cg_vtype(c, in->shape.type));
  }
  frame_load(k, &inner);
  LLVMValueRef v = cg_elem(k, fc->root, ix);
  frame_load(k, &me);
  free(inner.buf);
  free((void *)inner.bshape);
  return v;
}

/* A parameter of a nested fusion's computation: the caller's operand. */
static LLVMValueRef nested_parameter(cg_kernel *k, const ir_inst *in, const cg_index *ix) {
  cg_frame me = frame_save(k);
  ir_id op = k->call->ops[in->index];
  frame_load(k, k->up);
  LLVMValueRef v = cg_elem(k, op, ix);
  frame_load(k, &me);
  return v;
}

static LLVMValueRef generate(cg_kernel *k, ir_id id, const cg_index *ix) {
  cg_ctx *c = k->c;
  LLVMBuilderRef b = c->b;
  const ir_inst *in = &k->comp->insts[id];
  ir_type t = in->shape.type;
  if (k->buf[id]) return cg_load(c, t, k->buf[id], cg_offset(c, k->bshape[id], ix));
  if (in->op == IR_OP_PARAMETER && k->up) return nested_parameter(k, in, ix);
  if (in->op == IR_OP_FUSION) return nested_fusion(k, in, ix);
  const ir_op_info *info = ir_op_get(in->op);
  switch (info->family) {
    case IR_FAM_CONSTANT: return constant_value(k, in, id, ix);
    case IR_FAM_IOTA: {
      LLVMValueRef v = ix->d[in->index];
      if (ir_type_is_float(t)) return cg_round(c, t, LLVMBuildUIToFP(b, v, cg_vtype(c, t), ""));
      return cg_convert(c, IR_I64, t, v);
    }
    case IR_FAM_GET_DIMENSION_SIZE: /* a symbolic dimension: its value in the binding */
      return cg_dim(c, shape_of(k, in->ops[0]), (int)in->index);
    case IR_FAM_UNARY: return cg_unary(c, in->op, shape_of(k, in->ops[0])->type, cg_elem(k, in->ops[0], ix));
    case IR_FAM_BINARY: {
      double e;
      /* x ** 2 (LayerNorm's variance, from ONNX Pow): x * x is the same
       * correctly rounded value and avoids a powf call per element. */
      if (in->op == IR_OP_POW && ir_type_is_float(t) && cg_uniform_constant(k->comp, in->ops[1], &e) && e == 2.0) {
        LLVMValueRef x = cg_elem(k, in->ops[0], ix);
        return cg_round(c, t, LLVMBuildFMul(b, x, x, ""));
      }
      return cg_binary(c, in->op, t, cg_elem(k, in->ops[0], ix), cg_elem(k, in->ops[1], ix));
    }
    case IR_FAM_COMPARE:
      return cg_compare(c, in->cmp, shape_of(k, in->ops[0])->type, cg_elem(k, in->ops[0], ix),
                        cg_elem(k, in->ops[1], ix));
    case IR_FAM_SELECT: {
      LLVMValueRef p = operand_at(k, in->ops[0], ix);
      LLVMValueRef tv = cg_elem(k, in->ops[1], ix), fv = cg_elem(k, in->ops[2], ix);
      return LLVMBuildSelect(b, p, tv, fv, "");
    }
    case IR_FAM_CLAMP: {
      LLVMValueRef lo = operand_at(k, in->ops[0], ix), x = cg_elem(k, in->ops[1], ix), hi = operand_at(k, in->ops[2], ix);
      return cg_min(c, t, cg_max(c, t, x, lo), hi);
    }
    case IR_FAM_CONVERT: return cg_convert(c, shape_of(k, in->ops[0])->type, t, cg_elem(k, in->ops[0], ix));
    case IR_FAM_BROADCAST: {
      const ir_shape *x = shape_of(k, in->ops[0]);
      cg_index o;
      derived(k, &o, x->rank);
      for (int i = 0; i < x->rank; i++) o.d[i] = ix->d[in->dims[i]];
      return cg_elem(k, in->ops[0], &o);
    }
    case IR_FAM_RESHAPE: return reshape(k, in, ix);
    case IR_FAM_TRANSPOSE: {
      cg_index o;
      derived(k, &o, in->shape.rank);
      for (int i = 0; i < in->shape.rank; i++) o.d[in->dims[i]] = ix->d[i];
      return cg_elem(k, in->ops[0], &o);
    }
    case IR_FAM_SLICE: {
      const ir_slice_attr *s = in->a.slice;
      cg_index o;
      derived(k, &o, in->shape.rank);
      for (int i = 0; i < in->shape.rank; i++) {
        LLVMValueRef v = ix->d[i];
        if (s->stride[i] != 1) v = LLVMBuildNSWMul(b, v, cg_i64(c, s->stride[i]), "");
        if (s->start_sym[i]) v = LLVMBuildNSWAdd(b, v, cg_dexpr_value(c, s->start_sym[i]), "");
        else if (s->start[i] != 0) v = LLVMBuildNSWAdd(b, v, cg_i64(c, s->start[i]), "");
        o.d[i] = v;
      }
      return cg_elem(k, in->ops[0], &o);
    }
    case IR_FAM_DYNAMIC_SLICE: {
      const ir_shape *x = shape_of(k, in->ops[0]);
      cg_index o;
      derived(k, &o, x->rank);
      for (int i = 0; i < x->rank; i++) {
        LLVMValueRef hi = x->sym[i] ? LLVMBuildSub(b, cg_dim(c, x, i), cg_i64(c, in->dims[i]), "")
                                    : cg_i64(c, x->dims[i] - in->dims[i]);
        LLVMValueRef s = cg_clamp_i64(c, scalar_i64(k, in->ops[1 + i]), cg_i64(c, 0), hi);
        o.d[i] = LLVMBuildNSWAdd(b, s, ix->d[i], "");
      }
      return cg_elem(k, in->ops[0], &o);
    }
    case IR_FAM_DYNAMIC_UPDATE_SLICE: return dynamic_update_slice(k, in, ix);
    case IR_FAM_CONCATENATE: return concatenate(k, in, ix);
    case IR_FAM_PAD: return pad(k, in, ix);
    case IR_FAM_REVERSE: {
      cg_index o = *ix;
      o.uid = ++k->next_uid;
      o.linear = NULL;
      for (uint32_t i = 0; i < in->ndims; i++) {
        int d = (int)in->dims[i];
        o.d[d] = LLVMBuildSub(b, LLVMBuildSub(b, cg_dim(c, &in->shape, d), cg_i64(c, 1), ""), ix->d[d], "");
      }
      return cg_elem(k, in->ops[0], &o);
    }
    case IR_FAM_GATHER: return gather(k, in, ix);
    case IR_FAM_REDUCE: return reduce(k, in, ix);
    case IR_FAM_REDUCE_WINDOW: return reduce_window(k, in, ix);
    case IR_FAM_DOT: return dot(k, in, ix);
    case IR_FAM_CONVOLUTION: return convolution(k, in, ix);
    default: break;
  }
  cg_fail(c, "%%%s (%s) cannot be computed inside a fused loop; it needs its own kernel", in->name,
          ir_op_name(in->op));
  return LLVMGetUndef(cg_vtype(c, t == IR_TUPLE ? IR_F32 : t));
}

LLVMValueRef cg_elem(cg_kernel *k, ir_id id, const cg_index *ix) {
  if (ix->uid)
    for (uint32_t i = k->nmemo; i-- > 0;)
      if (k->memo[i].id == id && k->memo[i].uid == ix->uid && k->memo[i].frame == k->frame) return k->memo[i].v;
  LLVMValueRef v = generate(k, id, ix);
  if (ix->uid) {
    if (k->nmemo == k->capmemo) {
      uint32_t cap = k->capmemo ? k->capmemo * 2 : 64;
      cg_memo *nm = realloc(k->memo, cap * sizeof *nm);
      if (!nm) return v; /* the memo is only an optimisation */
      k->memo = nm;
      k->capmemo = cap;
    }
    k->memo[k->nmemo++] = (cg_memo){k->frame, id, ix->uid, v};
  }
  return v;
}

uint32_t cg_memo_mark(const cg_kernel *k) { return k->nmemo; }
void cg_memo_reset(cg_kernel *k, uint32_t mark) {
  if (mark < k->nmemo) k->nmemo = mark;
}

/* ---- cost ---------------------------------------------------------------- */

static double cost_rec(const cg_kernel *k, ir_id id, double *memo) {
  if (!isnan(memo[id])) return memo[id];
  const ir_inst *in = &k->comp->insts[id];
  double cost = 1;
  if (!k->buf[id]) {
    const ir_op_info *info = ir_op_get(in->op);
    double ops = 0;
    for (uint32_t i = 0; i < in->nops; i++) ops += cost_rec(k, in->ops[i], memo);
    if (info->flags & IR_F_TRANSCENDENTAL) cost += 20;
    switch (info->family) {
      case IR_FAM_REDUCE: {
        double n = (double)ir_shape_elements(&k->comp->insts[in->ops[0]].shape) /
                   (double)(ir_shape_elements(&in->shape) ? ir_shape_elements(&in->shape) : 1);
        cost += n * (ops + 1);
        break;
      }
      case IR_FAM_REDUCE_WINDOW: {
        double n = 1;
        for (int i = 0; i < in->a.window->rank; i++) n *= (double)in->a.window->d[i].size;
        cost += n * (ops + 3);
        break;
      }
      case IR_FAM_DOT: {
        double n = 1;
        const ir_shape *x = &k->comp->insts[in->ops[0]].shape;
        for (int i = 0; i < in->a.dot->ncontract; i++) n *= (double)x->dims[in->a.dot->lhs_contract[i]];
        cost += n * (ops + 2);
        break;
      }
      case IR_FAM_CONVOLUTION: {
        const ir_shape *kr = &k->comp->insts[in->ops[1]].shape;
        double n = (double)ir_shape_elements(kr) / (double)(kr->dims[in->conv->k_out] ? kr->dims[in->conv->k_out] : 1);
        cost += n * (ops + 4);
        break;
      }
      case IR_FAM_FUSION: cost += ops + 2.0 * k->c->m->comps[in->called]->ninsts; break;
      default: cost += ops; break;
    }
  }
  memo[id] = cost;
  return cost;
}

double cg_elem_cost(const cg_kernel *k, ir_id id) {
  double *memo = malloc(sizeof(double) * (k->comp->ninsts ? k->comp->ninsts : 1));
  if (!memo) return 1;
  for (uint32_t i = 0; i < k->comp->ninsts; i++) memo[i] = NAN;
  double c = cost_rec(k, id, memo);
  free(memo);
  return c;
}
