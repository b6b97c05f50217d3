/*
 * Reductions and other ops along axes: the Reduce* family, ArgMax/ArgMin,
 * Softmax/LogSoftmax/Hardmax, CumSum, CumProd and TopK.
 *
 * Every one is a decomposition into core IR ops: reduce (whose identity is
 * the starting value), elementwise chains, compare/select with iota for
 * positions, reduce_window for scans, sort with an iota operand for TopK.
 * Reductions are built without kept dimensions and reshaped at the end,
 * so a later pass sees plain reduce ops; values are broadcast back along
 * the reduced axes with ox_unreduce.
 *
 * Symbolic dimensions (ir/symbolic.h) keep their expressions through the
 * shapes built here; a mean over a symbolic axis divides by the run-time
 * size (get_dimension_size). A scan or TopK along a symbolic axis would
 * need a window or a k sized by it and is refused.
 */
#include <stdio.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/symbolic.h"

/* ---- Reduce* ---- */

typedef enum {
  R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQUARE,
} reduce_kind;

/* Reads the reduced axes: the 'axes' attribute, or (ReduceSum from opset
 * 13, the others from 18) the optional second input, which must be known
 * at import time since it decides the result's shape (ox_const_ints says
 * so, naming the graph input it depends on). No axes means all
 * of them, unless noop_with_empty_axes is set, when *noop becomes true.
 * Axes come back normalised; repeats are an error. */
static bool reduce_axes(ox_ctx *cx, const ox_node *n, bool axes_input, int rank, int64_t *axes, int *nax, bool *noop) {
  bool ok = true;
  int64_t v[IR_MAX_RANK + 1];
  int got = -1;
  *noop = false;
  if (axes_input) {
    int64_t noop_attr = ox_attr_int(cx, n, "noop_with_empty_axes", 0, &ok);
    if (!ok) return false;
    if (n->nin > 1 && n->in[1] != IR_NONE) {
      /* An empty input holds no values to know: the shape says it all. */
      ir_shape sa = ox_shape(cx, n->in[1]);
      got = ir_shape_is_static(&sa) && ir_shape_elements(&sa) == 0
                ? 0
                : ox_const_ints(cx, n, n->in[1], v, IR_MAX_RANK + 1, "the 'axes' input");
      if (got < 0) return false;
    }
    if (got <= 0 && noop_attr) {
      *noop = true;
      return true;
    }
  } else {
    /* The table's arity is the loosest over all opsets: an axes input
     * before it is defined would otherwise be ignored. */
    if (n->nin > 1 && n->in[1] != IR_NONE)
      return ox_error(cx, n, "has an 'axes' input, which this op does not take at opset %d (ReduceSum takes it from 13, "
                             "the other reductions from 18)", n->opset);
    got = ox_attr_ints(cx, n, "axes", v, IR_MAX_RANK + 1, &ok);
    if (!ok) return false;
  }
  if (got <= 0) {
    for (int i = 0; i < rank; i++) axes[i] = i;
    *nax = rank;
    return true;
  }
  bool seen[IR_MAX_RANK] = {false};
  for (int i = 0; i < got; i++) {
    if (!ox_axis(cx, n, v[i], rank, false, &axes[i])) return false;
    if (seen[axes[i]]) return ox_error(cx, n, "axis %lld is listed twice", (long long)axes[i]);
    seen[axes[i]] = true;
  }
  *nax = got;
  return true;
}

/* How a reduction reduces: along the axes known at import time (the
 * result without them), or, masked, along the axes a run-time 'axes' input
 * names (red[d]: a pred scalar per dimension; the result keeps x's shape,
 * the reduced values repeated along the reduced axes). */
typedef struct reducer {
  int nax;
  const int64_t *axes; /* static */
  const ir_id *red;    /* masked (NULL: static) */
} reducer;

static ir_id rd_reduce(ox_ctx *cx, const reducer *rd, ir_id x, ir_combiner comb) {
  if (!rd->red) return ox_reduce(cx, x, rd->nax, rd->axes, comb, false);
  ir_shape s = ox_shape(cx, x);
  for (int d = 0; d < s.rank && x != IR_NONE; d++) {
    int64_t ax = d;
    ir_id r = ox_unreduce(cx, ox_reduce(cx, x, 1, &ax, comb, false), x, 1, &ax);
    x = ir_select(&cx->b, rd->red[d], r, x);
  }
  return x;
}

/* r (a reduction's result) back at x's shape. */
static ir_id rd_unreduce(ox_ctx *cx, const reducer *rd, ir_id r, ir_id x) {
  return rd->red ? r : ox_unreduce(cx, r, x, rd->nax, rd->axes);
}

/* The number of elements reduced into each result, of type t. */
static ir_id rd_count(ox_ctx *cx, const reducer *rd, ir_id x, ir_type t) {
  if (!rd->red) return ox_count_dims(cx, x, rd->nax, rd->axes, t);
  ir_shape s = ox_shape(cx, x);
  ir_id c = ox_scalar(cx, t, 1);
  for (int d = 0; d < s.rank; d++)
    c = ir_binary(&cx->b, IR_OP_MUL, c,
                  ir_select(&cx->b, rd->red[d], ox_scalar(cx, t, (double)s.dims[d]), ox_scalar(cx, t, 1)));
  return ir_broadcast(&cx->b, c, s.rank, s.dims, NULL);
}

/* The reduction of kind `kind` of x (converted as the kind needs). */
static ir_id reduce_kind_of(ox_ctx *cx, const ox_node *n, const reducer *rd, ir_id x, reduce_kind kind, bool is_bool) {
  ir_id x0 = x;
  ir_type t = ox_shape(cx, x).type;
  /* The float-only forms of integer inputs are computed in f64. */
  bool via_f64 = !ir_type_is_float(t) && (kind == R_L2 || kind == R_LOGSUM || kind == R_LOGSUMEXP);
  if (via_f64) x = ir_convert(&cx->b, x, IR_F64);
  if (is_bool) x = ir_convert(&cx->b, x, IR_U8);
  ir_type ct = via_f64 ? IR_F64 : t;
  ir_id r;
  switch (kind) {
    case R_SUM: r = rd_reduce(cx, rd, x, IR_COMB_ADD); break;
    case R_MEAN:
      r = rd_reduce(cx, rd, x, IR_COMB_ADD);
      /* a run-time count when a reduced axis is symbolic */
      r = ox_binary(cx, n, IR_OP_DIV, r, rd_count(cx, rd, x0, ct));
      break;
    case R_MAX: r = rd_reduce(cx, rd, x, IR_COMB_MAX); break;
    case R_MIN: r = rd_reduce(cx, rd, x, IR_COMB_MIN); break;
    case R_PROD: r = rd_reduce(cx, rd, x, IR_COMB_MUL); break;
    case R_L1: r = rd_reduce(cx, rd, ir_unary(&cx->b, IR_OP_ABS, x), IR_COMB_ADD); break;
    case R_L2: r = ir_unary(&cx->b, IR_OP_SQRT, rd_reduce(cx, rd, ir_binary(&cx->b, IR_OP_MUL, x, x), IR_COMB_ADD)); break;
    case R_LOGSUM: r = ir_unary(&cx->b, IR_OP_LOG, rd_reduce(cx, rd, x, IR_COMB_ADD)); break;
    case R_LOGSUMEXP: {
      /* log(sum(exp(x - m))) + m with m the (finite) maximum, so that large
       * inputs do not overflow exp. */
      ir_id m = rd_reduce(cx, rd, x, IR_COMB_MAX);
      m = ir_select(&cx->b, ir_unary(&cx->b, IR_OP_IS_FINITE, m), m, ox_full_like(cx, m, ct, 0));
      ir_id e = ir_unary(&cx->b, IR_OP_EXP, ir_binary(&cx->b, IR_OP_SUB, x, rd_unreduce(cx, rd, m, x)));
      r = ir_binary(&cx->b, IR_OP_ADD, ir_unary(&cx->b, IR_OP_LOG, rd_reduce(cx, rd, e, IR_COMB_ADD)), m);
      break;
    }
    case R_SUMSQUARE:
    default: r = rd_reduce(cx, rd, ir_binary(&cx->b, IR_OP_MUL, x, x), IR_COMB_ADD); break;
  }
  if (via_f64 || is_bool) r = ir_convert(&cx->b, r, t);
  return r;
}

/* A run-time 'axes' input (a 1-D integer of static length a >= 1; x's
 * dimensions static): each dimension d is reduced when some entry, taken
 * modulo the rank, names it (red[d]). The entries must lie in [-rank,
 * rank) and be distinct (an assert stops the run otherwise). With
 * keepdims (the caller's condition) each result dimension is a computed
 * size, 1 where reduced, and the result the first element along the
 * reduced axes (a slice). The cost: one reduction of the whole array per
 * dimension. Data with an empty dimension is left to the import-time path
 * (a reduced empty dimension gives 1 element, which the slice of the
 * masked result cannot). */
static bool reduce_dynamic(ox_ctx *cx, ox_node *n, reduce_kind kind, bool is_bool) {
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x), sa = ox_shape(cx, n->in[1]);
  if (!ox_refuse_symbolic(cx, n, x, 0, s.rank - 1, "input data", "a run-time 'axes' input may name any dimension"))
    return false;
  if (sa.rank != 1 || !ir_shape_is_static(&sa) || !ir_type_is_int(sa.type) || sa.type == IR_PRED)
    return ox_error(cx, n, "the 'axes' input must be a 1-D integer tensor");
  if (s.rank == 0)
    return ox_error(cx, n, "the 'axes' input has %lld entries, but the data is a scalar (no axis to reduce)",
                    (long long)sa.dims[0]);
  int64_t a = sa.dims[0], rank = s.rank;
  ir_id v = ir_convert(&cx->b, n->in[1], IR_I64);
  v = ir_select(&cx->b, ir_compare(&cx->b, IR_CMP_LT, v, ox_full_like(cx, v, IR_I64, 0)),
                ir_binary(&cx->b, IR_OP_ADD, v, ox_full_like(cx, v, IR_I64, (double)rank)), v);
  int64_t zero = 0;
  ir_id inr = ir_binary(&cx->b, IR_OP_AND, ir_compare(&cx->b, IR_CMP_GE, v, ox_full_like(cx, v, IR_I64, 0)),
                        ir_compare(&cx->b, IR_CMP_LT, v, ox_full_like(cx, v, IR_I64, (double)rank)));
  ir_id ok = ir_reduce(&cx->b, inr, 1, &zero, IR_COMB_AND);
  ir_id red[IR_MAX_RANK], nred = ox_scalar(cx, IR_I64, 0);
  for (int d = 0; d < rank; d++) {
    ir_id hit = ir_compare(&cx->b, IR_CMP_EQ, v, ox_full_like(cx, v, IR_I64, (double)d));
    red[d] = ir_reduce(&cx->b, hit, 1, &zero, IR_COMB_OR);
    nred = ir_binary(&cx->b, IR_OP_ADD, nred, ir_convert(&cx->b, red[d], IR_I64));
  }
  /* a distinct entries name a dimensions. */
  ok = ir_binary(&cx->b, IR_OP_AND, ok, ir_compare(&cx->b, IR_CMP_EQ, nred, ox_scalar(cx, IR_I64, (double)a)));
  reducer rd = {0, NULL, red};
  ir_id r = reduce_kind_of(cx, n, &rd, x, kind, is_bool);
  ir_dexpr lim[IR_MAX_RANK], start[IR_MAX_RANK];
  for (int d = 0; d < rank; d++) {
    ir_id size = ir_select(&cx->b, red[d], ox_scalar(cx, IR_I64, 1), ox_scalar(cx, IR_I64, (double)s.dims[d]));
    /* Every size waits on the check (whichever set_symbol runs first). */
    char nm[300], msg[512];
    snprintf(msg, sizeof msg, "node %s (%s): the 'axes' input must hold distinct axes in [%lld, %lld)",
             ox_node_name(n, nm, sizeof nm), n->p->op_type, (long long)-rank, (long long)rank);
    size = ir_assert(&cx->b, ok, size, msg);
    char suffix[16];
    snprintf(suffix, sizeof suffix, "d%d", d);
    start[d] = ir_dexpr_const(cx->m, 0);
    if (!(lim[d] = ox_computed_size(cx, n, size, s.dims[d], suffix))) return false;
  }
  n->out[0] = ox_slice_sym(cx, r, start, lim, NULL);
  return n->out[0] != IR_NONE;
}

static bool reduce_common(ox_ctx *cx, ox_node *n, reduce_kind kind) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x);
  ir_type t = s.type;
  /* ReduceMax and ReduceMin take bool from version 20, ordered with True
   * above False: they are reduced as u8 and converted back. */
  bool is_bool = t == IR_PRED && (kind == R_MAX || kind == R_MIN) && n->opset >= 20;
  if (!ir_type_is_float(t) && !ir_type_is_int(t) && !is_bool)
    return ox_error(cx, n, "input has type %s; a numeric type is needed", ir_type_name(t));
  bool ok = true;
  int64_t keep = ox_attr_int(cx, n, "keepdims", 1, &ok);
  int64_t axes[IR_MAX_RANK + 1];
  int nax = 0;
  bool noop;
  bool axes_input = n->opset >= (kind == R_SUM ? 13 : 18);
  if (!ok) return false;
  /* Axes read from input values at run time (entry computation only:
   * computed sizes are set there; with keepdims, whose result keeps the
   * rank). Otherwise they must be known at import time (reduce_axes). */
  if (keep && axes_input && n->nin > 1 && n->in[1] != IR_NONE && cx->c == ir_module_entry(cx->m) &&
      !ox_is_const(cx, n->in[1]) && ox_reads_data(cx, n->in[1], NULL, 0) && ox_shape(cx, n->in[1]).rank == 1 &&
      ox_shape(cx, n->in[1]).dims[0] > 0 && (s.rank == 0 || ir_shape_elements(&s) > 0))
    return reduce_dynamic(cx, n, kind, is_bool);
  if (!reduce_axes(cx, n, axes_input, s.rank, axes, &nax, &noop)) return false;
  if (noop) {
    n->out[0] = x;
    return true;
  }
  ir_shape kept = s;
  for (int i = 0; i < nax; i++) kept.dims[axes[i]] = 1, kept.sym[axes[i]] = 0;
  reducer rd = {nax, axes, NULL};
  ir_id r = reduce_kind_of(cx, n, &rd, x, kind, is_bool);
  n->out[0] = keep ? ox_reshape_shape(cx, r, &kept) : r;
  return n->out[0] != IR_NONE;
}

static bool lower_reduce_sum(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_SUM); }
static bool lower_reduce_mean(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_MEAN); }
static bool lower_reduce_max(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_MAX); }
static bool lower_reduce_min(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_MIN); }
static bool lower_reduce_prod(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_PROD); }
static bool lower_reduce_l1(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_L1); }
static bool lower_reduce_l2(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_L2); }
static bool lower_reduce_logsum(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_LOGSUM); }
static bool lower_reduce_logsumexp(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_LOGSUMEXP); }
static bool lower_reduce_sumsquare(ox_ctx *cx, ox_node *n) { return reduce_common(cx, n, R_SUMSQUARE); }

/* ---- ArgMax / ArgMin ---- */

/* Index (i64) of the extreme value of x along axis, without the reduced
 * dimension: the first one, or the last one with `last`. Positions holding
 * the extreme (or NaN, which max/min propagate, so NaN wins as in NumPy)
 * keep their iota value, others get a sentinel; a min (or max) reduction
 * picks the first (or last). */
static ir_id arg_extreme(ox_ctx *cx, ir_id x, int64_t axis, bool is_max, bool last) {
  ir_shape s = ox_shape(cx, x);
  ir_shape is = s;
  is.type = IR_I64;
  /* The sentinel of "first" loses to every position; a symbolic length's
   * bound does too. */
  int64_t len = s.dims[axis];
  ir_id ext = ox_reduce(cx, x, 1, &axis, is_max ? IR_COMB_MAX : IR_COMB_MIN, false);
  ir_id hit = ir_compare(&cx->b, IR_CMP_EQ, x, ox_unreduce(cx, ext, x, 1, &axis));
  if (ir_type_is_float(s.type)) hit = ir_binary(&cx->b, IR_OP_OR, hit, ir_compare(&cx->b, IR_CMP_NE, x, x));
  ir_id io = ir_iota(&cx->b, is, axis);
  ir_id cand = ir_select(&cx->b, hit, io, ox_full_like(cx, io, IR_I64, last ? -1.0 : (double)len));
  return ox_reduce(cx, cand, 1, &axis, last ? IR_COMB_MAX : IR_COMB_MIN, false);
}

static bool arg_common(ox_ctx *cx, ox_node *n, bool is_max) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x);
  if (!ir_type_is_float(s.type) && !ir_type_is_int(s.type))
    return ox_error(cx, n, "input has type %s; a numeric type is needed", ir_type_name(s.type));
  if (s.rank == 0) return ox_error(cx, n, "input must have rank >= 1");
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", 0, &ok), keep = ox_attr_int(cx, n, "keepdims", 1, &ok);
  int64_t last = n->opset >= 12 ? ox_attr_int(cx, n, "select_last_index", 0, &ok) : 0;
  if (!ok || !ox_axis(cx, n, axis, s.rank, false, &axis)) return false;
  if (s.dims[axis] == 0) return ox_error(cx, n, "the reduced axis %lld is empty", (long long)axis);
  ir_shape kept = s;
  kept.dims[axis] = 1, kept.sym[axis] = 0;
  ir_id r = arg_extreme(cx, x, axis, is_max, last != 0);
  n->out[0] = keep ? ox_reshape_shape(cx, r, &kept) : r;
  return n->out[0] != IR_NONE;
}

static bool lower_argmax(ox_ctx *cx, ox_node *n) { return arg_common(cx, n, true); }
static bool lower_argmin(ox_ctx *cx, ox_node *n) { return arg_common(cx, n, false); }

/* ---- Softmax, LogSoftmax, Hardmax ---- */

typedef enum { SM_SOFT, SM_LOG, SM_HARD } softmax_kind;

/* Before opset 13 the input is coerced to 2-D, [prod(dims < axis),
 * prod(dims >= axis)], and normalised over the second dimension (default
 * axis 1); from 13 over the single axis (default -1). Numerically stable:
 * the maximum is subtracted before exp. */
static bool softmax_common(ox_ctx *cx, ox_node *n, softmax_kind kind) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x);
  ir_type t = s.type;
  if (!ir_type_is_float(t)) return ox_error(cx, n, "input has type %s; a floating-point type is needed", ir_type_name(t));
  if (s.rank == 0) return ox_error(cx, n, "input must have rank >= 1");
  bool ok = true;
  bool legacy = n->opset < 13;
  int64_t axis = ox_attr_int(cx, n, "axis", legacy ? 1 : -1, &ok);
  if (!ok || !ox_axis(cx, n, axis, s.rank, false, &axis)) return false;
  if (legacy) {
    /* [prod(dims < axis), prod(dims >= axis)], as expressions */
    ir_dexpr two[2] = {ir_dexpr_const(cx->m, 1), ir_dexpr_const(cx->m, 1)};
    for (int i = 0; i < s.rank; i++) {
      int k = i < axis ? 0 : 1;
      ir_dexpr d = ir_shape_dim(cx->m, &s, i);
      two[k] = two[k] && d ? ir_dexpr_mul(cx->m, two[k], d) : 0;
    }
    ir_shape s2 = ir_shape_make(s.type, 0, NULL);
    s2.rank = 2;
    if (!two[0] || !two[1] || !ir_shape_set_dim(cx->m, &s2, 0, two[0]) || !ir_shape_set_dim(cx->m, &s2, 1, two[1]))
      return ox_error(cx, n, "the input's size is too large an expression to coerce to 2-D");
    x = ox_reshape_shape(cx, x, &s2);
    axis = 1;
  }
  ir_id y;
  if (kind == SM_HARD) {
    ir_id first = arg_extreme(cx, x, axis, true, false);
    ir_shape xs = ox_shape(cx, x);
    xs.type = IR_I64;
    ir_id io = ir_iota(&cx->b, xs, axis);
    y = ir_convert(&cx->b, ir_compare(&cx->b, IR_CMP_EQ, io, ox_unreduce(cx, first, x, 1, &axis)), t);
  } else {
    ir_id m = ox_reduce(cx, x, 1, &axis, IR_COMB_MAX, false);
    ir_id d = ir_binary(&cx->b, IR_OP_SUB, x, ox_unreduce(cx, m, x, 1, &axis));
    ir_id e = ir_unary(&cx->b, IR_OP_EXP, d);
    ir_id sum = ox_unreduce(cx, ox_reduce(cx, e, 1, &axis, IR_COMB_ADD, false), x, 1, &axis);
    if (kind == SM_SOFT) y = ir_binary(&cx->b, IR_OP_DIV, e, sum);
    else y = ir_binary(&cx->b, IR_OP_SUB, d, ir_unary(&cx->b, IR_OP_LOG, sum));
  }
  n->out[0] = legacy ? ox_reshape_shape(cx, y, &s) : y;
  return n->out[0] != IR_NONE;
}

static bool lower_softmax(ox_ctx *cx, ox_node *n) { return softmax_common(cx, n, SM_SOFT); }
static bool lower_logsoftmax(ox_ctx *cx, ox_node *n) { return softmax_common(cx, n, SM_LOG); }
static bool lower_hardmax(ox_ctx *cx, ox_node *n) { return softmax_common(cx, n, SM_HARD); }

/* ---- CumSum, CumProd ---- */

/* A running sum (product) is a reduce_window along the axis whose window
 * spans the whole axis, padded so each output sees exactly its prefix (or
 * suffix): inclusive forward pads len-1 before; exclusive shifts by one
 * more, using negative padding to crop the far end. Padding contributes the
 * combiner's identity (0 or 1), which is what an exclusive scan's first
 * element must be. */
static ir_id scan_along(ox_ctx *cx, ir_id x, int64_t axis, bool excl, bool rev, ir_combiner comb) {
  ir_shape s = ox_shape(cx, x);
  int64_t len = s.dims[axis];
  ir_window w;
  memset(&w, 0, sizeof w);
  w.rank = s.rank;
  for (int i = 0; i < w.rank; i++) w.d[i] = (ir_window_dim){1, 1, 0, 0, 1, 1};
  int64_t before = rev ? 0 : len - 1, after = rev ? len - 1 : 0;
  if (excl) {
    before += rev ? -1 : 1;
    after += rev ? 1 : -1;
  }
  w.d[axis] = (ir_window_dim){len, 1, before, after, 1, 1};
  return ir_reduce_window(&cx->b, x, &w, comb);
}

/* CumSum/CumProd whose axis is a run-time value (static dimensions, none
 * of size 0): the result's shape does not depend on the axis, so the scan
 * is computed along every axis 0..rank-1 and the one whose index equals the
 * value (or the value + rank) selected. That costs rank scans instead of
 * one; ranks are small. An axis outside [-rank, rank) (invalid in ONNX)
 * selects none and gives zeros. */
static bool cumulative_dynamic(ox_ctx *cx, ox_node *n, bool excl, bool rev, ir_combiner comb) {
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x), sa = ox_shape(cx, n->in[1]);
  if (!ir_type_is_int(sa.type) || sa.type == IR_PRED || !ir_shape_is_static(&sa) || ir_shape_elements(&sa) != 1)
    return ox_error(cx, n, "the 'axis' input must hold one integer");
  if (!ox_refuse_symbolic(cx, n, x, 0, s.rank - 1, "input x",
                          "with a run-time axis every dimension may be the scan's, whose window spans it whole"))
    return false;
  if (ir_shape_elements(&s) == 0) {
    n->out[0] = x;
    return true;
  }
  ir_id axis = ir_convert(&cx->b, ox_reshape(cx, n->in[1], 0, NULL), IR_I64);
  ir_id y = ox_full_like(cx, x, s.type, 0);
  for (int a = 0; a < s.rank; a++) {
    ir_id hit = ir_binary(&cx->b, IR_OP_OR, ir_compare(&cx->b, IR_CMP_EQ, axis, ox_scalar(cx, IR_I64, a)),
                          ir_compare(&cx->b, IR_CMP_EQ, axis, ox_scalar(cx, IR_I64, a - s.rank)));
    y = ir_select(&cx->b, ir_broadcast(&cx->b, hit, s.rank, s.dims, NULL), scan_along(cx, x, a, excl, rev, comb), y);
  }
  n->out[0] = y;
  return y != IR_NONE;
}

/* CumSum/CumProd: one scan along an axis known at import time (also from
 * a Shape's constant entries), all of them for a run-time axis (above). */
static bool cumulative(ox_ctx *cx, ox_node *n, ir_combiner comb) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x);
  if (!ir_type_is_float(s.type) && !ir_type_is_int(s.type))
    return ox_error(cx, n, "input x has type %s; a numeric type is needed", ir_type_name(s.type));
  if (s.rank == 0) return ox_error(cx, n, "input x must have rank >= 1");
  bool ok = true;
  int64_t excl = ox_attr_int(cx, n, "exclusive", 0, &ok), rev = ox_attr_int(cx, n, "reverse", 0, &ok);
  int64_t axis;
  if (!ok) return false;
  if (!ox_is_const(cx, n->in[1])) return cumulative_dynamic(cx, n, excl != 0, rev != 0, comb);
  int got = ox_const_ints(cx, n, n->in[1], &axis, 1, "the 'axis' input");
  if (got < 0) return false;
  if (got != 1) return ox_error(cx, n, "the 'axis' input must hold one value");
  if (!ox_axis(cx, n, axis, s.rank, false, &axis) ||
      !ox_refuse_symbolic(cx, n, x, (int)axis, (int)axis, "input x", "the scan's window spans the whole axis"))
    return false;
  int64_t len = s.dims[axis];
  if (len == 0) {
    n->out[0] = x;
    return true;
  }
  n->out[0] = scan_along(cx, x, axis, excl != 0, rev != 0, comb);
  return n->out[0] != IR_NONE;
}

static bool lower_cumsum(ox_ctx *cx, ox_node *n) { return cumulative(cx, n, IR_COMB_ADD); }
/* CumProd-26: CumSum's inputs and attributes with products. */
static bool lower_cumprod(ox_ctx *cx, ox_node *n) { return cumulative(cx, n, IR_COMB_MUL); }

/* ---- TopK ---- */

/* TopK with K a run-time input: the whole axis sorted as below, then cut
 * to k, a computed size bounded by the axis' (static) size; the run-time
 * check of set_symbol refuses a k outside [0, size]. */
static bool topk_dynamic(ox_ctx *cx, ox_node *n, int64_t axis, bool largest) {
  ir_shape s = ox_shape(cx, n->in[0]), sk = ox_shape(cx, n->in[1]);
  if (!ox_axis(cx, n, axis, s.rank, false, &axis) ||
      !ox_refuse_symbolic(cx, n, n->in[0], (int)axis, (int)axis, "input X",
                          "a run-time K is bounded by the axis' static size"))
    return false;
  if (!ir_type_is_int(sk.type) || sk.type == IR_PRED || ir_shape_elements(&sk) != 1 || !ir_shape_is_static(&sk))
    return ox_error(cx, n, "the 'K' input must hold one integer");
  ir_shape is = s;
  is.type = IR_I64;
  ir_id ops[2] = {n->in[0], ir_iota(&cx->b, is, axis)};
  ir_id sorted = ir_sort(&cx->b, 2, ops, axis, largest);
  ir_dexpr e = ox_computed_size(cx, n, n->in[1], s.dims[axis], "k");
  n->out[0] = ox_slice_axis_to(cx, ir_get_tuple_element(&cx->b, sorted, 0), (int)axis, e);
  if (n->nout > 1) n->out[1] = ox_slice_axis_to(cx, ir_get_tuple_element(&cx->b, sorted, 1), (int)axis, e);
  return n->out[0] != IR_NONE && (n->nout < 2 || n->out[1] != IR_NONE);
}

/* Sort along the axis with an iota of positions as the second operand
 * (stable: equal values keep increasing indices, as ONNX requires), then
 * slice the first k. */
static bool lower_topk(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, n->opset >= 10 ? 2 : 1)) return false;
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x);
  if (!ir_type_is_float(s.type) && !ir_type_is_int(s.type))
    return ox_error(cx, n, "input X has type %s; a numeric type is needed", ir_type_name(s.type));
  if (s.rank == 0) return ox_error(cx, n, "input X must have rank >= 1");
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", -1, &ok);
  int64_t largest = n->opset >= 11 ? ox_attr_int(cx, n, "largest", 1, &ok) : 1;
  int64_t k;
  if (!ok) return false;
  if (n->opset >= 10 && !ox_is_const(cx, n->in[1])) return topk_dynamic(cx, n, axis, largest != 0);
  if (n->opset >= 10) {
    int got = ox_const_ints(cx, n, n->in[1], &k, 1, "the 'K' input");
    if (got < 0) return false;
    if (got != 1) return ox_error(cx, n, "the 'K' input must hold one value");
  } else {
    k = ox_attr_int(cx, n, "k", -1, &ok);
    if (!ok) return false;
  }
  if (!ox_axis(cx, n, axis, s.rank, false, &axis)) return false;
  /* A symbolic axis: k must fit its smallest size (its upper bound is in
   * dims, which the check below reads). */
  if (s.sym[axis] && k > ir_dexpr_lower(cx->m, s.sym[axis])) {
    char b[160], e[96];
    return ox_unsupported(cx, n, "K=%lld may exceed the size %s of axis %lld of X (%s), which is symbolic; fix it with "
                          "--input-shape", (long long)k, ox_dim_str(cx, &s, (int)axis, e, sizeof e), (long long)axis,
                          ir_shape_str_m(cx->m, &s, b, sizeof b));
  }
  if (k < 0 || k > s.dims[axis])
    return ox_error(cx, n, "K=%lld is outside [0, %lld] (the size of axis %lld)", (long long)k, (long long)s.dims[axis],
                    (long long)axis);
  ir_shape is = s;
  is.type = IR_I64;
  ir_id ops[2] = {x, ir_iota(&cx->b, is, axis)};
  ir_id sorted = ir_sort(&cx->b, 2, ops, axis, largest != 0);
  n->out[0] = ox_slice_axis(cx, ir_get_tuple_element(&cx->b, sorted, 0), (int)axis, 0, k, 1);
  if (n->nout > 1) n->out[1] = ox_slice_axis(cx, ir_get_tuple_element(&cx->b, sorted, 1), (int)axis, 0, k, 1);
  return n->out[0] != IR_NONE && (n->nout < 2 || n->out[1] != IR_NONE);
}

const ox_op ox_ops_reduce[] = {
    {"ReduceSum", 1, lower_reduce_sum, NULL, {1, 2}, {1, 1}, "axes:I@-12 keepdims:i noop_with_empty_axes:i@13-", 13},
    {"ReduceMean", 1, lower_reduce_mean, NULL, {1, 2}, {1, 1},
         "axes:I@-17 keepdims:i noop_with_empty_axes:i@18-", 18},
    {"ReduceMax", 1, lower_reduce_max, NULL, {1, 2}, {1, 1},
         "axes:I@-17 keepdims:i noop_with_empty_axes:i@18-", 20},
    {"ReduceMin", 1, lower_reduce_min, NULL, {1, 2}, {1, 1},
         "axes:I@-17 keepdims:i noop_with_empty_axes:i@18-", 20},
    {"ReduceProd", 1, lower_reduce_prod, NULL, {1, 2}, {1, 1},
         "axes:I@-17 keepdims:i noop_with_empty_axes:i@18-", 18},
    {"ReduceL1", 1, lower_reduce_l1, NULL, {1, 2}, {1, 1},
         "axes:I@-17 keepdims:i noop_with_empty_axes:i@18-", 18},
    {"ReduceL2", 1, lower_reduce_l2, NULL, {1, 2}, {1, 1},
         "axes:I@-17 keepdims:i noop_with_empty_axes:i@18-", 18},
    {"ReduceLogSum", 1, lower_reduce_logsum, NULL, {1, 2}, {1, 1},
         "axes:I@-17 keepdims:i noop_with_empty_axes:i@18-", 18},
    {"ReduceLogSumExp", 1, lower_reduce_logsumexp, NULL, {1, 2}, {1, 1},
         "axes:I@-17 keepdims:i noop_with_empty_axes:i@18-", 18},
    {"ReduceSumSquare", 1, lower_reduce_sumsquare, NULL, {1, 2}, {1, 1},
         "axes:I@-17 keepdims:i noop_with_empty_axes:i@18-", 18},
    {"ArgMax", 1, lower_argmax, NULL, {1, 1}, {1, 1}, "axis:i keepdims:i select_last_index:i@12-", 0},
    {"ArgMin", 1, lower_argmin, NULL, {1, 1}, {1, 1}, "axis:i keepdims:i select_last_index:i@12-", 0},
    {"Softmax", 1, lower_softmax, NULL, {1, 1}, {1, 1}, "axis:i", 0},
    {"LogSoftmax", 1, lower_logsoftmax, NULL, {1, 1}, {1, 1}, "axis:i", 0},
    {"Hardmax", 1, lower_hardmax, NULL, {1, 1}, {1, 1}, "axis:i", 0},
    {"CumSum", 11, lower_cumsum, NULL, {2, 2}, {1, 1}, "exclusive:i reverse:i", 0},
    {"CumProd", 26, lower_cumprod, NULL, {2, 2}, {1, 1}, "exclusive:i reverse:i", 26},
    {"TopK", 1, lower_topk, NULL, {1, 2}, {2, 2}, "axis:i k:i@-9 largest:i@11- sorted:i@11-", 24},
    {0},
};
