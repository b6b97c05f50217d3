/*
 * Shape inference: the one rule book for result shapes. The builder calls
 * it to compute shapes, the verifier and the parser to check declared
 * shapes (comparing and showing them with ir_result_matches and
 * ir_result_str, both here). Every refusal says which rule broke.
 *
 * Rules follow XLA HLO's semantics unless docs/ir.md says otherwise:
 * elementwise operands have identical dimensions (no implicit broadcast;
 * select and clamp also take scalars), gather/scatter use XLA's dimension
 * numbers, windows allow negative padding.
 */
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"

#define FAIL(...)                        \
  do {                                   \
    snprintf(err, errn, __VA_ARGS__);    \
    return false;                        \
  } while (0)

static const char *sstr(const ir_shape *s, char *buf) { return ir_shape_str(s, buf, 160); }

static bool type_ok(char cls, ir_type t) {
  switch (cls) {
    case 'f': return ir_type_is_float(t);
    case 'n': return ir_type_is_float(t) || ir_type_is_int(t);
    case 'l': return ir_type_is_pred(t) || ir_type_is_int(t);
    case 'i': return ir_type_is_int(t);
    default: return t != IR_TUPLE;
  }
}

static const char *class_name(char cls) {
  switch (cls) {
    case 'f': return "a floating-point";
    case 'n': return "a numeric (integer or floating-point)";
    case 'l': return "a pred or integer";
    case 'i': return "an integer";
    default: return "an array";
  }
}

/* Every entry in v[0..n) is in [0, bound) and no entry repeats; if `sorted`
 * they must also increase. */
static bool dims_valid(const int64_t *v, int n, int64_t bound, bool sorted) {
  for (int i = 0; i < n; i++) {
    if (v[i] < 0 || v[i] >= bound) return false;
    for (int j = 0; j < i; j++)
      if (v[j] == v[i]) return false;
    if (sorted && i && v[i] <= v[i - 1]) return false;
  }
  return true;
}

/* Checked 64-bit arithmetic: sizes come from user text, and a wrapped size
 * would be undefined behaviour and a wrong shape. mul_nonneg takes a, b >= 0. */
static bool add_ok(int64_t a, int64_t b, int64_t *r) {
  if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return false;
  *r = a + b;
  return true;
}

static bool mul_nonneg(int64_t a, int64_t b, int64_t *r) {
  if (a != 0 && b > INT64_MAX / a) return false;
  *r = a * b;
  return true;
}

/* Output extent of one window dimension; -1 if the parameters are invalid,
 * -2 if the dilated or padded extents do not fit in 64 bits. */
static int64_t window_out(int64_t in, const ir_window_dim *w) {
  if (w->size < 1 || w->stride < 1 || w->lhs_dilate < 1 || w->rhs_dilate < 1) return -1;
  int64_t base = 0, eff, pad;
  if (in > 0 && (!mul_nonneg(in - 1, w->lhs_dilate, &base) || !add_ok(base, 1, &base))) return -2;
  if (!add_ok(w->pad_lo, w->pad_hi, &pad) || !add_ok(base, pad, &base)) return -2;
  if (!mul_nonneg(w->size - 1, w->rhs_dilate, &eff) || !add_ok(eff, 1, &eff)) return -2;
  if (base < eff) return 0;
  return (base - eff) / w->stride + 1;
}

/* The message for a window_out failure in dimension i. */
static const char *window_problem(int64_t code) {
  return code == -1 ? "has a size, stride or dilation below 1" : "overflows: its padded or dilated extent is too large";
}

static bool check_type_class(const ir_op_info *info, const ir_shape *s, char *err, size_t errn) {
  if (!type_ok(info->types, s->type))
    FAIL("%s needs %s operand, got %s", info->name, class_name(info->types), ir_type_name(s->type));
  return true;
}

/* The element types a combiner applies to: pred or integers for and/or,
 * numbers for the others (assign takes any; callers that do not allow it
 * refuse it first). */
static bool check_combiner(ir_combiner comb, ir_type t, char *err, size_t errn) {
  if (comb == IR_COMB_AND || comb == IR_COMB_OR) {
    if (!type_ok('l', t)) FAIL("combiner %s needs pred or integer", ir_combiner_name(comb));
  } else if (comb != IR_COMB_ASSIGN && !type_ok('n', t)) {
    FAIL("combiner %s needs a numeric type", ir_combiner_name(comb));
  }
  return true;
}

/* Result element types of dot and convolution: the operands' type, or a
 * wider accumulator (integers to i32/i64, f16/bf16 to f32). */
static bool result_type_ok(ir_type x, ir_type rt) {
  return rt == x || (ir_type_is_int(x) && (rt == IR_I32 || rt == IR_I64)) ||
         ((x == IR_F16 || x == IR_BF16) && rt == IR_F32);
}

/* Checks that computation `ci`, called by `in` as its `role` (e.g. "body"),
 * exists, is neither the entry nor c itself, and takes in's operands from
 * `first` on as its parameters (same dimensions and types). On success
 * *root is its root instruction. */
static bool callee_ok(const ir_module *m, const ir_comp *c, const ir_inst *in, uint32_t ci, uint32_t first,
                      const char *role, const ir_inst **root, char *err, size_t errn) {
  char b1[160], b2[160];
  const char *op = ir_op_name(in->op);
  if (ci >= m->ncomps) FAIL("%s: the %s is no computation", op, role);
  const ir_comp *fc = m->comps[ci];
  if (fc->is_entry) FAIL("%s cannot call the entry computation", op);
  if (fc == c) FAIL("%s calls its own computation as %s", op, role);
  uint32_t n = in->nops - first;
  if (ir_comp_num_params(fc) != n)
    FAIL("%s passes %u operands to its %s %%%s, which has %u parameters", op, n, role, fc->name,
         ir_comp_num_params(fc));
  for (uint32_t i = 0; i < n; i++) {
    ir_id p = ir_comp_param(fc, i);
    if (p == IR_NONE) FAIL("%s %%%s has no parameter %u", role, fc->name, i);
    const ir_shape *os = &c->insts[in->ops[first + i]].shape;
    if (!ir_shape_same_dims(&fc->insts[p].shape, os))
      FAIL("%s operand %u is %s, parameter %u of its %s %%%s is %s", op, first + i, sstr(os, b1), i, role, fc->name,
           sstr(&fc->insts[p].shape, b2));
  }
  if (fc->root == IR_NONE || fc->root >= fc->ninsts) FAIL("%s %%%s has no root", role, fc->name);
  *root = &fc->insts[fc->root];
  return true;
}

bool ir_infer_shape(ir_module *m, const ir_comp *c, const ir_inst *in, ir_shape *out,
                    ir_shape **tuple, uint32_t *ntuple, char *err, size_t errn) {
  const ir_op_info *info = ir_op_get(in->op);
  char b1[160], b2[160];
  *tuple = NULL;
  *ntuple = 0;
  if (!info) FAIL("unknown opcode %d", (int)in->op);
  if ((int)in->nops < info->min_operands || (info->max_operands >= 0 && (int)in->nops > info->max_operands)) {
    if (info->min_operands == info->max_operands)
      FAIL("%s takes %d operand%s, got %u", info->name, info->min_operands, info->min_operands == 1 ? "" : "s",
           in->nops);
    FAIL("%s takes at least %d operands, got %u", info->name, info->min_operands, in->nops);
  }
  /* Operands must exist; only tuple-aware ops take tuple-shaped operands. */

  for (uint32_t i = 0; i < in->nops; i++) {
    if (in->ops[i] >= c->ninsts) FAIL("operand %u refers to no instruction", i);
    const ir_shape *s = &c->insts[in->ops[i]].shape;
    if (s->type == IR_TUPLE && in->op != IR_OP_GET_TUPLE_ELEMENT)
      FAIL("operand %u (%%%s) is a tuple; only get_tuple_element takes tuples", i, c->insts[in->ops[i]].name);
    if (s->type != IR_TUPLE && in->op == IR_OP_GET_TUPLE_ELEMENT)
      FAIL("get_tuple_element needs a tuple operand, got %s", sstr(s, b1));

  }
#define OPS(i) (&c->insts[in->ops[(i)]].shape)
  const ir_shape *x = in->nops ? OPS(0) : NULL;
  ir_shape r;
  memset(&r, 0, sizeof r);

  switch (info->family) {
    case IR_FAM_PARAMETER:
    case IR_FAM_CONSTANT:
      if (in->shape.type == IR_TUPLE) FAIL("%s must have an array shape", info->name);
      if (in->shape.rank > IR_MAX_RANK) FAIL("rank %d exceeds the maximum %d", in->shape.rank, IR_MAX_RANK);
      for (int i = 0; i < in->shape.rank; i++)
        if (in->shape.dims[i] < 0) FAIL("dimension %d is negative", i);
      if (ir_shape_bytes(&in->shape) < 0) FAIL("shape %s is too large", sstr(&in->shape, b1));
      if (info->family == IR_FAM_PARAMETER && in->index < 0) FAIL("parameter number %lld is negative", (long long)in->index);
      if (info->family == IR_FAM_CONSTANT && !in->data && ir_shape_elements(&in->shape) > 0)
        FAIL("constant has no data");
      r = in->shape;
      break;

    case IR_FAM_IOTA:
      r = in->shape;
      if (r.type == IR_TUPLE || !type_ok('n', r.type)) FAIL("iota needs a numeric array shape");
      if (r.rank < 1) FAIL("iota needs rank >= 1");
      for (int i = 0; i < r.rank; i++)
        if (r.dims[i] < 0) FAIL("dimension %d is negative", i);
      if (in->index < 0 || in->index >= r.rank)
        FAIL("iota_dimension %lld out of range for rank %d", (long long)in->index, r.rank);
      break;

    case IR_FAM_UNARY:
      if (!check_type_class(info, x, err, errn)) return false;
      r = *x;
      if (info->flags & IR_F_RESULT_PRED) r.type = IR_PRED;
      break;

    case IR_FAM_BINARY:
    case IR_FAM_COMPARE:
      if (!ir_shape_same_dims(OPS(0), OPS(1)))
        FAIL("%s operands differ: %s and %s", info->name, sstr(OPS(0), b1), sstr(OPS(1), b2));
      if (!check_type_class(info, x, err, errn)) return false;
      r = *x;
      if (info->flags & IR_F_RESULT_PRED) r.type = IR_PRED;
      break;

    case IR_FAM_SELECT:
      if (OPS(0)->type != IR_PRED) FAIL("select predicate must be pred, got %s", ir_type_name(OPS(0)->type));
      if (!ir_shape_same_dims(OPS(1), OPS(2)))
        FAIL("select branches differ: %s and %s", sstr(OPS(1), b1), sstr(OPS(2), b2));
      if (OPS(0)->rank != 0) {
        ir_shape p = *OPS(0);
        p.type = OPS(1)->type;
        if (!ir_shape_same_dims(&p, OPS(1)))
          FAIL("select predicate %s must be a scalar or match %s", sstr(OPS(0), b1), sstr(OPS(1), b2));
      }
      r = *OPS(1);
      break;

    case IR_FAM_CLAMP:
      if (!check_type_class(info, OPS(1), err, errn)) return false;
      for (int k = 0; k < 3; k += 2) {
        if (OPS(k)->type != OPS(1)->type || (OPS(k)->rank != 0 && !ir_shape_same_dims(OPS(k), OPS(1))))
          FAIL("clamp bound %s must be a scalar of the operand's type or match %s", sstr(OPS(k), b1),
               sstr(OPS(1), b2));
      }
      r = *OPS(1);
      break;

    case IR_FAM_CONVERT:
      if (in->shape.type == IR_TUPLE || (unsigned)in->shape.type >= IR_TYPE_COUNT) FAIL("convert needs an array result type");
      r = *x;
      r.type = in->shape.type;
      break;

    case IR_FAM_BROADCAST:
      r = in->shape;
      r.type = x->type;
      if (r.rank > IR_MAX_RANK) FAIL("rank too large");
      if ((int)in->ndims != x->rank)
        FAIL("broadcast needs %d dimensions (one per operand dimension), got %u", x->rank, in->ndims);
      if (!dims_valid(in->dims, (int)in->ndims, r.rank, true))
        FAIL("broadcast dimensions must increase and be less than the result rank %d", r.rank);
      for (int i = 0; i < x->rank; i++) {
        if (x->dims[i] != r.dims[in->dims[i]])
          FAIL("broadcast operand dimension %d (size %lld) does not match result dimension %lld (size %lld)", i,
               (long long)x->dims[i], (long long)in->dims[i], (long long)r.dims[in->dims[i]]);
      }
      for (int i = 0; i < r.rank; i++)
        if (r.dims[i] < 0) FAIL("dimension %d is negative", i);
      break;

    case IR_FAM_RESHAPE:
      r = in->shape;
      r.type = x->type;
      for (int i = 0; i < r.rank; i++)
        if (r.dims[i] < 0) FAIL("dimension %d is negative", i);
      if (ir_shape_elements(&r) != ir_shape_elements(x))
        FAIL("reshape from %s to %s changes the element count", sstr(x, b1), sstr(&r, b2));
      break;

    case IR_FAM_TRANSPOSE:
      if ((int)in->ndims != x->rank || !dims_valid(in->dims, x->rank, x->rank, false))
        FAIL("transpose dimensions must be a permutation of 0..%d", x->rank - 1);
      r = *x;
      for (int i = 0; i < x->rank; i++) r.dims[i] = x->dims[in->dims[i]];
      break;

    case IR_FAM_SLICE:
      if (!in->a.slice) FAIL("slice has no bounds");
      r = *x;
      for (int i = 0; i < x->rank; i++) {
        int64_t s = in->a.slice->start[i], l = in->a.slice->limit[i], st = in->a.slice->stride[i];
        if (s < 0 || l < s || l > x->dims[i] || st < 1)
          FAIL("slice bounds [%lld:%lld:%lld] invalid for dimension %d of size %lld", (long long)s, (long long)l,
               (long long)st, i, (long long)x->dims[i]);
        r.dims[i] = l == s ? 0 : (l - s - 1) / st + 1; /* ceil((l - s) / st) without overflow */
      }
      break;

    case IR_FAM_DYNAMIC_SLICE:
      if (in->nops != (uint32_t)x->rank + 1)
        FAIL("dynamic_slice needs %d start indices, got %u", x->rank, in->nops - 1);
      if ((int)in->ndims != x->rank) FAIL("dynamic_slice needs %d sizes", x->rank);
      for (uint32_t i = 1; i < in->nops; i++)
        if (OPS(i)->rank != 0 || !ir_type_is_int(OPS(i)->type)) FAIL("start index %u must be an integer scalar", i - 1);
      r = *x;
      for (int i = 0; i < x->rank; i++) {
        if (in->dims[i] < 0 || in->dims[i] > x->dims[i])
          FAIL("dynamic_slice size %lld out of range for dimension %d of size %lld", (long long)in->dims[i], i,
               (long long)x->dims[i]);
        r.dims[i] = in->dims[i];
      }
      break;

    case IR_FAM_DYNAMIC_UPDATE_SLICE:
      if (in->nops != (uint32_t)x->rank + 2)
        FAIL("dynamic_update_slice needs %d start indices, got %u", x->rank, in->nops - 2);
      if (OPS(1)->type != x->type || OPS(1)->rank != x->rank)
        FAIL("update %s must have the operand's type and rank (%s)", sstr(OPS(1), b1), sstr(x, b2));
      for (int i = 0; i < x->rank; i++)
        if (OPS(1)->dims[i] > x->dims[i]) FAIL("update dimension %d is larger than the operand's", i);
      for (uint32_t i = 2; i < in->nops; i++)
        if (OPS(i)->rank != 0 || !ir_type_is_int(OPS(i)->type)) FAIL("start index %u must be an integer scalar", i - 2);
      r = *x;
      break;

    case IR_FAM_CONCATENATE:
      if (in->ndims != 1 || in->dims[0] < 0 || in->dims[0] >= x->rank)
        FAIL("concatenate needs one dimension in [0, %d)", x->rank);
      r = *x;
      r.dims[in->dims[0]] = 0;
      for (uint32_t k = 0; k < in->nops; k++) {
        if (OPS(k)->type != x->type || OPS(k)->rank != x->rank) FAIL("concatenate operand %u differs in type or rank", k);
        for (int i = 0; i < x->rank; i++)
          if (i != in->dims[0] && OPS(k)->dims[i] != x->dims[i])
            FAIL("concatenate operand %u differs in dimension %d: %s vs %s", k, i, sstr(OPS(k), b1), sstr(x, b2));
        if (!add_ok(r.dims[in->dims[0]], OPS(k)->dims[in->dims[0]], &r.dims[in->dims[0]]))
          FAIL("concatenate result dimension %lld is too large", (long long)in->dims[0]);
      }
      break;

    case IR_FAM_PAD:
      if (!in->a.pad) FAIL("pad has no padding");
      if (OPS(1)->rank != 0 || OPS(1)->type != x->type) FAIL("pad value must be a scalar of type %s", ir_type_name(x->type));
      r = *x;
      for (int i = 0; i < x->rank; i++) {
        const ir_pad_attr *p = in->a.pad;
        if (p->interior[i] < 0) FAIL("interior padding of dimension %d is negative", i);
        int64_t d = x->dims[i], n = 0, gaps = 0;
        if ((d > 0 && !mul_nonneg(d - 1, p->interior[i], &gaps)) || !add_ok(d, gaps, &n) || !add_ok(n, p->lo[i], &n) ||
            !add_ok(n, p->hi[i], &n))
          FAIL("padding of dimension %d gives a size that does not fit in 64 bits", i);
        if (n < 0) FAIL("padding of dimension %d gives a negative size", i);
        r.dims[i] = n;
      }
      break;

    case IR_FAM_REVERSE:
      if (!dims_valid(in->dims, (int)in->ndims, x->rank, false)) FAIL("reverse dimensions must be distinct and < %d", x->rank);
      r = *x;
      break;

    case IR_FAM_GATHER: {
      const ir_gather_dims *g = in->a.gather;
      const ir_shape *idx = OPS(1);
      if (!g) FAIL("gather has no dimension numbers");
      if (!ir_type_is_int(idx->type)) FAIL("gather indices must be integers");
      if (g->index_vector_dim < 0 || g->index_vector_dim > idx->rank)
        FAIL("index_vector_dim %lld out of range", (long long)g->index_vector_dim);
      int64_t nvec = g->index_vector_dim == idx->rank ? 1 : idx->dims[g->index_vector_dim];
      if (g->nstart_map != nvec) FAIL("start_index_map has %d entries, index vectors have %lld", g->nstart_map, (long long)nvec);
      if (!dims_valid(g->start_index_map, g->nstart_map, x->rank, false)) FAIL("start_index_map entries must be distinct operand dimensions");
      if (!dims_valid(g->collapsed_slice_dims, g->ncollapsed, x->rank, true)) FAIL("collapsed_slice_dims must increase and be operand dimensions");
      for (int i = 0; i < x->rank; i++)
        if (g->slice_sizes[i] < 0 || g->slice_sizes[i] > x->dims[i]) FAIL("slice_sizes[%d] out of range", i);
      for (int i = 0; i < g->ncollapsed; i++)
        if (g->slice_sizes[g->collapsed_slice_dims[i]] != 1) FAIL("collapsed dimension %lld must have slice size 1", (long long)g->collapsed_slice_dims[i]);
      int batch_rank = idx->rank - (g->index_vector_dim < idx->rank ? 1 : 0);
      int out_rank = g->noffset + batch_rank;
      if (g->noffset != x->rank - g->ncollapsed) FAIL("offset_dims must have %d entries", x->rank - g->ncollapsed);
      if (out_rank > IR_MAX_RANK) FAIL("gather result rank too large");
      if (!dims_valid(g->offset_dims, g->noffset, out_rank, true)) FAIL("offset_dims must increase and be < %d", out_rank);
      r = ir_shape_make(x->type, out_rank, NULL);
      int bi = 0, oi = 0;
      for (int i = 0; i < out_rank; i++) {
        if (ir_dims_has(g->offset_dims, g->noffset, i)) {
          while (ir_dims_has(g->collapsed_slice_dims, g->ncollapsed, oi)) oi++;
          r.dims[i] = g->slice_sizes[oi++];
        } else {
          if (bi == g->index_vector_dim) bi++;
          r.dims[i] = idx->dims[bi++];
        }
      }
      break;
    }

    case IR_FAM_SCATTER: {
      const ir_scatter_dims *s = in->a.scatter;
      const ir_shape *idx = OPS(1), *upd = OPS(2);
      if (!s) FAIL("scatter has no dimension numbers");
      if (!ir_type_is_int(idx->type)) FAIL("scatter indices must be integers");
      if (upd->type != x->type) FAIL("scatter updates must have the operand's type");
      if (!check_combiner(in->comb, x->type, err, errn)) return false;
      if (s->index_vector_dim < 0 || s->index_vector_dim > idx->rank) FAIL("index_vector_dim out of range");
      int64_t nvec = s->index_vector_dim == idx->rank ? 1 : idx->dims[s->index_vector_dim];
      if (s->nscatter_map != nvec) FAIL("scatter_dims_to_operand_dims has %d entries, index vectors have %lld", s->nscatter_map, (long long)nvec);
      if (!dims_valid(s->scatter_dims_to_operand_dims, s->nscatter_map, x->rank, false)) FAIL("scatter_dims_to_operand_dims entries must be distinct operand dimensions");
      if (!dims_valid(s->inserted_window_dims, s->ninserted, x->rank, true)) FAIL("inserted_window_dims must increase and be operand dimensions");
      if (s->nwindow + s->ninserted != x->rank) FAIL("update_window_dims plus inserted_window_dims must cover the operand rank %d", x->rank);
      int batch_rank = idx->rank - (s->index_vector_dim < idx->rank ? 1 : 0);
      if (upd->rank != s->nwindow + batch_rank) FAIL("updates must have rank %d", s->nwindow + batch_rank);
      if (!dims_valid(s->update_window_dims, s->nwindow, upd->rank, true)) FAIL("update_window_dims must increase and be < %d", upd->rank);
      int bi = 0, oi = 0;
      for (int i = 0; i < upd->rank; i++) {
        if (ir_dims_has(s->update_window_dims, s->nwindow, i)) {
          while (ir_dims_has(s->inserted_window_dims, s->ninserted, oi)) oi++;
          if (upd->dims[i] > x->dims[oi]) FAIL("update window dimension %d is larger than operand dimension %d", i, oi);
          oi++;
        } else {
          if (bi == s->index_vector_dim) bi++;
          if (upd->dims[i] != idx->dims[bi]) FAIL("update scatter dimension %d does not match the indices", i);
          bi++;
        }
      }
      r = *x;
      break;
    }

    case IR_FAM_REDUCE: {
      if (!dims_valid(in->dims, (int)in->ndims, x->rank, false)) FAIL("reduce dimensions must be distinct and < %d", x->rank);
      if (in->comb == IR_COMB_ASSIGN) FAIL("reduce cannot use combiner assign");
      if (!check_combiner(in->comb, x->type, err, errn)) return false;
      int k = 0;
      int64_t d[IR_MAX_RANK];
      for (int i = 0; i < x->rank; i++)
        if (!ir_dims_has(in->dims, (int)in->ndims, i)) d[k++] = x->dims[i];
      r = ir_shape_make(x->type, k, d);
      break;
    }

    case IR_FAM_REDUCE_WINDOW: {
      const ir_window *w = in->a.window;
      if (!w || w->rank != x->rank) FAIL("reduce_window needs a window of rank %d", x->rank);
      if (in->comb == IR_COMB_ASSIGN || ((in->comb == IR_COMB_AND || in->comb == IR_COMB_OR) && !type_ok('l', x->type)))
        FAIL("combiner %s not valid here", ir_combiner_name(in->comb));
      if (!check_combiner(in->comb, x->type, err, errn)) return false;
      r = *x;
      for (int i = 0; i < x->rank; i++) {
        int64_t o = window_out(x->dims[i], &w->d[i]);
        if (o < 0) FAIL("window dimension %d %s", i, window_problem(o));
        r.dims[i] = o;
      }
      break;
    }

    case IR_FAM_DOT: {
      const ir_dot_dims *d = in->a.dot;
      const ir_shape *y = OPS(1);
      if (!d) FAIL("dot has no dimension numbers");
      if (x->type != y->type) FAIL("dot operands differ in type: %s and %s", ir_type_name(x->type), ir_type_name(y->type));
      if (!check_type_class(info, x, err, errn)) return false;
      if (!dims_valid(d->lhs_batch, d->nbatch, x->rank, false) || !dims_valid(d->rhs_batch, d->nbatch, y->rank, false) ||
          !dims_valid(d->lhs_contract, d->ncontract, x->rank, false) ||
          !dims_valid(d->rhs_contract, d->ncontract, y->rank, false))
        FAIL("dot dimension numbers out of range or repeated");
      for (int i = 0; i < d->nbatch; i++) {
        if (ir_dims_has(d->lhs_contract, d->ncontract, d->lhs_batch[i]) || ir_dims_has(d->rhs_contract, d->ncontract, d->rhs_batch[i]))
          FAIL("a dimension is both batch and contracting");
        if (x->dims[d->lhs_batch[i]] != y->dims[d->rhs_batch[i]]) FAIL("batch dimension %d sizes differ", i);
      }
      for (int i = 0; i < d->ncontract; i++)
        if (x->dims[d->lhs_contract[i]] != y->dims[d->rhs_contract[i]])
          FAIL("contracting dimension sizes differ: %lld vs %lld", (long long)x->dims[d->lhs_contract[i]],
               (long long)y->dims[d->rhs_contract[i]]);
      int64_t dd[3 * IR_MAX_RANK];
      int k = 0;
      for (int i = 0; i < d->nbatch; i++) dd[k++] = x->dims[d->lhs_batch[i]];
      for (int i = 0; i < x->rank; i++)
        if (!ir_dims_has(d->lhs_batch, d->nbatch, i) && !ir_dims_has(d->lhs_contract, d->ncontract, i)) dd[k++] = x->dims[i];
      for (int i = 0; i < y->rank; i++)
        if (!ir_dims_has(d->rhs_batch, d->nbatch, i) && !ir_dims_has(d->rhs_contract, d->ncontract, i)) dd[k++] = y->dims[i];
      if (k > IR_MAX_RANK) FAIL("dot result rank %d too large", k);
      ir_type rt = in->shape.type;
      if (!result_type_ok(x->type, rt)) FAIL("dot of %s cannot produce %s", ir_type_name(x->type), ir_type_name(rt));
      r = ir_shape_make(rt, k, dd);
      break;
    }

    case IR_FAM_CONVOLUTION: {
      const ir_conv_dims *cd = in->conv;
      const ir_window *w = in->a.window;
      const ir_shape *k = OPS(1);
      if (!cd || !w) FAIL("convolution needs a window and dim_labels");
      int ns = cd->nspatial, rank = ns + 2;
      if (x->type != k->type) FAIL("convolution operands differ in type");
      if (!check_type_class(info, x, err, errn)) return false;
      if (x->rank != rank || k->rank != rank) FAIL("convolution with %d spatial dimensions needs rank-%d operands", ns, rank);
      if (w->rank != ns) FAIL("window has %d dimensions, expected %d", w->rank, ns);
      int64_t lin[IR_MAX_RANK], lk[IR_MAX_RANK], lo[IR_MAX_RANK];
      lin[0] = cd->in_batch; lin[1] = cd->in_feature;
      lk[0] = cd->k_in; lk[1] = cd->k_out;
      lo[0] = cd->out_batch; lo[1] = cd->out_feature;
      for (int i = 0; i < ns; i++) {
        lin[i + 2] = cd->in_spatial[i];
        lk[i + 2] = cd->k_spatial[i];
        lo[i + 2] = cd->out_spatial[i];
      }
      if (!dims_valid(lin, rank, rank, false) || !dims_valid(lk, rank, rank, false) || !dims_valid(lo, rank, rank, false))
        FAIL("dim_labels must be permutations");
      int64_t groups = in->index;
      if (groups < 1) FAIL("feature_group_count must be >= 1");
      int64_t cin = x->dims[cd->in_feature], kin = k->dims[cd->k_in], kout = k->dims[cd->k_out];
      int64_t kin_total;
      if (!mul_nonneg(kin, groups, &kin_total) || cin != kin_total)
        FAIL("input features %lld != kernel input features %lld x feature_group_count %lld", (long long)cin,
             (long long)kin, (long long)groups);
      if (kout % groups != 0) FAIL("kernel output features %lld not divisible by feature_group_count %lld", (long long)kout, (long long)groups);
      ir_type rt = in->shape.type;
      if (!result_type_ok(x->type, rt))
        FAIL("convolution of %s cannot produce %s", ir_type_name(x->type), ir_type_name(rt));
      r = ir_shape_make(rt, rank, NULL);
      r.dims[cd->out_batch] = x->dims[cd->in_batch];
      r.dims[cd->out_feature] = kout;
      for (int i = 0; i < ns; i++) {
        if (w->d[i].size != k->dims[cd->k_spatial[i]])
          FAIL("window size %lld != kernel spatial size %lld in dimension %d", (long long)w->d[i].size,
               (long long)k->dims[cd->k_spatial[i]], i);
        int64_t o = window_out(x->dims[cd->in_spatial[i]], &w->d[i]);
        if (o < 0) FAIL("window dimension %d %s", i, window_problem(o));
        r.dims[cd->out_spatial[i]] = o;
      }
      break;
    }

    case IR_FAM_SORT:
      if (in->ndims != 1 || in->dims[0] < 0 || in->dims[0] >= x->rank) FAIL("sort needs one dimension < %d", x->rank);
      for (uint32_t i = 1; i < in->nops; i++)
        if (OPS(i)->rank != x->rank || memcmp(OPS(i)->dims, x->dims, sizeof(int64_t) * x->rank) != 0)
          FAIL("sort operands must have equal dimensions");
      if (x->type == IR_PRED) FAIL("sort keys must be numeric");
      if (in->nops == 1) {
        r = *x;
        break;
      }
      goto make_tuple; /* a tuple of the operand shapes */
    case IR_FAM_TUPLE:
    make_tuple: {
      ir_shape *t = in->nops ? arena_alloc(&m->arena, in->nops * sizeof *t, 8) : NULL;
      if (in->nops && !t) FAIL("out of memory");
      for (uint32_t i = 0; i < in->nops; i++) t[i] = *OPS(i);
      r.type = IR_TUPLE;
      *tuple = t;
      *ntuple = in->nops;
      break;
    }

    case IR_FAM_GET_DIMENSION_SIZE:
      if (in->index < 0 || in->index >= x->rank)
        FAIL("get_dimension_size index %lld out of range for %s", (long long)in->index, sstr(x, b1));
      r = ir_shape_scalar(IR_I64);
      break;

    case IR_FAM_GET_TUPLE_ELEMENT: {
      const ir_inst *t = &c->insts[in->ops[0]];
      if (in->index < 0 || in->index >= t->ntuple)
        FAIL("index %lld out of range for a tuple of %u", (long long)in->index, t->ntuple);
      r = t->tuple[in->index];
      break;
    }

    case IR_FAM_FUSION: {
      if (in->called >= m->ncomps) FAIL("fusion calls no computation");
      const ir_comp *fc = m->comps[in->called];
      if (fc->is_entry) FAIL("fusion cannot call the entry computation");
      if (fc == c) FAIL("fusion calls its own computation");
      if (ir_comp_num_params(fc) != in->nops)
        FAIL("fusion passes %u operands to %%%s, which has %u parameters", in->nops, fc->name, ir_comp_num_params(fc));
      for (uint32_t i = 0; i < in->nops; i++) {
        ir_id p = ir_comp_param(fc, i);
        if (p == IR_NONE) FAIL("%%%s has no parameter %u", fc->name, i);
        if (!ir_shape_same_dims(&fc->insts[p].shape, OPS(i)))
          FAIL("fusion operand %u is %s, parameter is %s", i, sstr(OPS(i), b1), sstr(&fc->insts[p].shape, b2));
      }
      if (fc->root == IR_NONE || fc->root >= fc->ninsts) FAIL("%%%s has no root", fc->name);
      const ir_inst *root = &fc->insts[fc->root];
      r = root->shape;
      if (r.type == IR_TUPLE) {
        *tuple = root->tuple;
        *ntuple = root->ntuple;
      }
      break;
    }

    case IR_FAM_CONDITIONAL: {
      if (x->type != IR_PRED || x->rank != 0) FAIL("conditional predicate must be pred[], got %s", sstr(x, b1));
      const ir_inst *rt, *rf;
      if (!callee_ok(m, c, in, in->called, 1, "true_computation", &rt, err, errn) ||
          !callee_ok(m, c, in, in->called2, 1, "false_computation", &rf, err, errn))
        return false;
      if (!ir_result_matches(rt, &rf->shape, rf->tuple, rf->ntuple)) {
        char t1[400], t2[400];
        FAIL("conditional branches return different shapes: %s and %s",
             ir_result_str(&rt->shape, rt->tuple, rt->ntuple, t1, sizeof t1),
             ir_result_str(&rf->shape, rf->tuple, rf->ntuple, t2, sizeof t2));
      }
      r = rt->shape;
      if (r.type == IR_TUPLE) {
        *tuple = rt->tuple;
        *ntuple = rt->ntuple;
      }
      break;
    }

    case IR_FAM_WHILE: {
      const ir_inst *rc, *rb;
      if (!callee_ok(m, c, in, in->called, 0, "condition", &rc, err, errn) ||
          !callee_ok(m, c, in, in->called2, 0, "body", &rb, err, errn))
        return false;
      if (rc->shape.type != IR_PRED || rc->shape.rank != 0)
        FAIL("while condition must return pred[], returns %s", sstr(&rc->shape, b1));
      /* The body maps the state to a state of the same shapes. */
      bool same = rb->shape.type == IR_TUPLE && rb->ntuple == in->nops;
      for (uint32_t i = 0; same && i < in->nops; i++) same = ir_shape_same_dims(&rb->tuple[i], OPS(i));
      if (!same) {
        char t1[400];
        FAIL("while body must return a tuple of the %u state shapes, returns %s", in->nops,
             ir_result_str(&rb->shape, rb->tuple, rb->ntuple, t1, sizeof t1));
      }
      goto make_tuple; /* the final state */
    }

    case IR_FAM_CUSTOM_CALL:
      if (!in->target || !in->target[0]) FAIL("custom_call needs a target");
      r = in->shape;
      if (r.type == IR_TUPLE) {
        *tuple = in->tuple;
        *ntuple = in->ntuple;
      }
      break;
  }
  if (r.type != IR_TUPLE) {
    if (r.rank > IR_MAX_RANK) FAIL("rank too large");
    if (ir_shape_bytes(&r) < 0) FAIL("result shape %s is too large", sstr(&r, b1));
    ir_shape_set_default_layout(&r);
  }
  *out = r;
  return true;
}

bool ir_result_matches(const ir_inst *in, const ir_shape *s, const ir_shape *tuple, uint32_t nt) {
  if (in->shape.type == IR_TUPLE || s->type == IR_TUPLE) {
    if (in->shape.type != s->type || in->ntuple != nt) return false;
    for (uint32_t i = 0; i < nt; i++)
      if (!ir_shape_same_dims(&in->tuple[i], &tuple[i])) return false;
    return true;
  }
  return ir_shape_same_dims(&in->shape, s);
}

char *ir_result_str(const ir_shape *s, const ir_shape *tuple, uint32_t nt, char *buf, size_t n) {
  if (s->type != IR_TUPLE) return ir_shape_str(s, buf, n);
  size_t k = (size_t)snprintf(buf, n, "(");
  for (uint32_t i = 0; i < nt && k < n; i++) {
    char e[160];
    k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", ir_shape_str(&tuple[i], e, sizeof e));
  }
  if (k < n) snprintf(buf + k, n - k, ")");
  return buf;
}
