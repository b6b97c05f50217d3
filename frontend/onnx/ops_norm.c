/*
 * Normalisation ops added or extended after opset 17, and Det:
 * LpNormalization (1, 22), GroupNormalization (18, 21), RMSNormalization
 * (23), Det (11, 22).
 *
 * All lower to core IR ops (reductions, elementwise ops, slices), so
 * the interpreter, the passes and the CPU code generator handle them with
 * no op-specific support. Det 22 and LpNormalization 22 only add
 * bfloat16, which these lowerings handle like any float type.
 *
 * Symbolic dimensions (ir/symbolic.h): LpNormalization and
 * RMSNormalization take them anywhere (RMSNormalization's mean divides by
 * the run-time count); GroupNormalization a symbolic batch only; Det none
 * (ops_sequence.c refuses it symbolic inputs).
 */
#include <string.h>

#include "frontend/onnx/ox.h"

/* Largest matrix Det accepts: the LU factorisation is unrolled in the IR,
 * some 35 instructions a column, so the IR grows with n. */
#define DET_MAX_N 64

/* The stash type (default FLOAT); ox_check_stash_type has vetted it. */
static ir_type stash_type(ox_ctx *cx, const ox_node *n, bool *ok) {
  ir_type t = IR_F32;
  ox_type_from_onnx((int32_t)ox_attr_int(cx, n, "stash_type", 1, ok), &t);
  return t;
}


/* LpNormalization: x / (sum over axis of |x|^p)^(1/p), p 1 or 2 (the only
 * values ONNX defines). A zero vector divides by zero, as the formula does. */
static bool lower_lpnorm(ox_ctx *cx, ox_node *n) {
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", -1, &ok), p = ox_attr_int(cx, n, "p", 2, &ok);
  if (!ok || !ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "the input")) return false;
  if (p != 1 && p != 2) return ox_error(cx, n, "attribute p=%lld; LpNormalization defines p = 1 or 2", (long long)p);
  ir_id x = n->in[0];
  if (!ox_axis(cx, n, axis, ox_shape(cx, x).rank, false, &axis)) return false;
  ir_id v = p == 1 ? ir_unary(&cx->b, IR_OP_ABS, x) : ir_binary(&cx->b, IR_OP_MUL, x, x);
  ir_id norm = ox_reduce(cx, v, 1, &axis, IR_COMB_ADD, false);
  if (p == 2) norm = ir_unary(&cx->b, IR_OP_SQRT, norm);
  n->out[0] = ir_binary(&cx->b, IR_OP_DIV, x, ox_unreduce(cx, norm, x, 1, &axis));
  return n->out[0] != IR_NONE;
}

/* A 1-D per-channel parameter (input i, named `what`) of type t and
 * length len; false after reporting otherwise. */
static bool need_vector(ox_ctx *cx, const ox_node *n, int i, const char *what, ir_type t, int64_t len) {
  ir_shape s = ox_shape(cx, n->in[i]);
  if (s.type != t) return ox_error(cx, n, "%s has type %s; X has %s", what, ir_type_name(s.type), ir_type_name(t));
  if (s.rank != 1 || s.dims[0] != len) {
    char buf[160];
    return ox_error(cx, n, "%s has shape %s; expected (%lld)", what, ir_shape_str(&s, buf, sizeof buf), (long long)len);
  }
  return true;
}

/* GroupNormalization: X (N, C, D1...) is viewed as (N, G, C/G * D1 * ...)
 * and normalised over its last dimension; then y = scale * x + bias per
 * channel. Version 18 gives scale and bias one value per group (channel c
 * takes that of group c / (C/G)) and computes in X's type; version 21
 * gives one per channel and computes stage one in stash_type. */
static bool lower_groupnorm(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  bool ok = true;
  double eps = ox_attr_float(cx, n, "epsilon", 1e-5f, &ok);
  int64_t g = ox_attr_int(cx, n, "num_groups", -1, &ok);
  bool v21 = n->opset >= 21;
  ir_id x = n->in[0];
  if (!ok || !ox_need_float(cx, n, x, "X")) return false;
  ir_shape s = ox_shape(cx, x);
  ir_type t = s.type, ts = v21 ? stash_type(cx, n, &ok) : t;
  if (!ok) return false;
  if (s.rank < 2) return ox_error(cx, n, "X has rank %d; GroupNormalization needs (N, C, ...)", s.rank);
  if (!ox_refuse_symbolic(cx, n, x, 1, IR_MAX_RANK - 1, "X", "the groups are formed over static channel and spatial sizes"))
    return false;
  int64_t c = s.dims[1];
  if (g < 1) return ox_error(cx, n, "attribute num_groups must be given and >= 1 (got %lld)", (long long)g);
  if (c % g) return ox_error(cx, n, "num_groups=%lld does not divide the %lld channels", (long long)g, (long long)c);
  int64_t plen = v21 ? c : g;
  if (!need_vector(cx, n, 1, "scale", t, plen) || !need_vector(cx, n, 2, "bias", t, plen)) return false;
  int64_t per = c / g; /* elements of one group of one instance */
  for (int i = 2; i < s.rank; i++)
    if (!ox_dim_mul(cx, n, per, s.dims[i], &per)) return false;
  int64_t red = 2;
  ir_shape gd = s; /* (N, G, per), N possibly symbolic */
  gd.rank = 3;
  gd.dims[1] = g, gd.sym[1] = 0;
  gd.dims[2] = per, gd.sym[2] = 0;
  ir_id xg = ox_reshape_shape(cx, ox_convert(cx, x, ts), &gd);
  ir_id k = ox_scalar(cx, ts, (double)per);
  ir_id mean = ox_binary(cx, n, IR_OP_DIV, ox_reduce(cx, xg, 1, &red, IR_COMB_ADD, false), k);
  ir_id dev = ir_binary(&cx->b, IR_OP_SUB, xg, ox_unreduce(cx, mean, xg, 1, &red));
  ir_id var = ox_binary(cx, n, IR_OP_DIV, ox_reduce(cx, ir_binary(&cx->b, IR_OP_MUL, dev, dev), 1, &red, IR_COMB_ADD, false), k);
  ir_id sd = ir_unary(&cx->b, IR_OP_SQRT, ox_binary(cx, n, IR_OP_ADD, var, ox_scalar(cx, ts, eps)));
  ir_id y = ir_binary(&cx->b, IR_OP_DIV, dev, ox_unreduce(cx, sd, xg, 1, &red));
  y = ox_convert(cx, ox_reshape_shape(cx, y, &s), t);
  ir_id sc = n->in[1], b = n->in[2];
  if (!v21) {
    /* One value a group: repeat each C/G times along the channels. */
    int64_t rep[2] = {g, c / g}, map0 = 0;
    sc = ox_reshape(cx, ir_broadcast(&cx->b, sc, 2, rep, &map0), 1, &c);
    b = ox_reshape(cx, ir_broadcast(&cx->b, b, 2, rep, &map0), 1, &c);
  }
  y = ir_binary(&cx->b, IR_OP_MUL, y, ox_broadcast_along_shape(cx, sc, &s, 1));
  n->out[0] = ir_binary(&cx->b, IR_OP_ADD, y, ox_broadcast_along_shape(cx, b, &s, 1));
  return n->out[0] != IR_NONE;
}

/* RMSNormalization: X / sqrt(mean of X^2 over axis..rank-1 + epsilon)
 * in stash_type, cast back to X's type, times scale (broadcast to X). Y
 * has scale's type, which ONNX lets differ from X's. */
static bool lower_rmsnorm(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", -1, &ok);
  double eps = ox_attr_float(cx, n, "epsilon", 1e-5f, &ok);
  ir_type ts = stash_type(cx, n, &ok);
  ir_id x = n->in[0], sc = n->in[1];
  if (!ok || !ox_need_float(cx, n, x, "X") || !ox_need_float(cx, n, sc, "scale")) return false;
  ir_shape s = ox_shape(cx, x), ss = ox_shape(cx, sc);
  if (!ox_axis(cx, n, axis, s.rank, false, &axis)) return false;
  int64_t red[IR_MAX_RANK];
  int nd = 0;
  for (int64_t i = axis; i < s.rank; i++) red[nd++] = i;
  if (ss.rank > nd) return ox_error(cx, n, "scale has rank %d; the normalised shape has rank %d", ss.rank, nd);
  ir_id xs = ox_convert(cx, x, ts);
  ir_id ms = ox_reduce(cx, ir_binary(&cx->b, IR_OP_MUL, xs, xs), nd, red, IR_COMB_ADD, false);
  /* a run-time count when a normalised dimension is symbolic */
  ms = ox_binary(cx, n, IR_OP_DIV, ms, ox_count_dims(cx, x, nd, red, ts));
  ir_id rms = ir_unary(&cx->b, IR_OP_SQRT, ox_binary(cx, n, IR_OP_ADD, ms, ox_scalar(cx, ts, eps)));
  ir_id y = ox_convert(cx, ox_convert(cx, ir_binary(&cx->b, IR_OP_DIV, xs, ox_unreduce(cx, rms, xs, nd, red)), s.type), ss.type);
  n->out[0] = ir_binary(&cx->b, IR_OP_MUL, y, ox_broadcast_to_shape(cx, n, sc, &s));
  return n->out[0] != IR_NONE;
}

/* Det of a batch of n x n matrices by LU factorisation with partial
 * pivoting (the method LAPACK, and so numpy.linalg.det, uses), unrolled
 * over the columns and vectorised over the batch and the rows:
 *
 *   for k in 0..n-1:
 *     p = first row >= k of largest |a[p][k]|; swap rows k and p (sign flips)
 *     det *= a[k][k]
 *     rows i > k: a[i] -= a[i][k] / a[k][k] * a[k]  (skipped when a[k][k] = 0:
 *                 the column below is then zero too and det is 0)
 *
 * a is (B, n, n) with the batch flattened; f16/bf16 compute in f32. */
static bool lower_det(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "X")) return false;
  ir_shape s = ox_shape(cx, n->in[0]);
  if (s.rank < 2) return ox_error(cx, n, "X has rank %d; Det needs (..., M, M)", s.rank);
  int64_t m = s.dims[s.rank - 1], nb = s.rank - 2, bsz = 1;
  if (s.dims[s.rank - 2] != m)
    return ox_error(cx, n, "X's last two dimensions are %lld and %lld; Det needs square matrices",
                    (long long)s.dims[s.rank - 2], (long long)m);
  if (m > DET_MAX_N)
    return ox_unsupported(cx, n, "%lld x %lld matrices; kiln's Det handles up to %d x %d", (long long)m, (long long)m,
                          DET_MAX_N, DET_MAX_N);
  for (int i = 0; i < nb; i++)
    if (!ox_dim_mul(cx, n, bsz, s.dims[i], &bsz)) return false;
  ir_type t = s.type, ct = t == IR_F64 ? IR_F64 : IR_F32;
  ir_builder *b = &cx->b;
  if (m == 0) { /* the empty product */
    ir_id one = ox_scalar(cx, t, 1);
    n->out[0] = nb ? ir_broadcast(b, one, (int)nb, s.dims, NULL) : one;
    return n->out[0] != IR_NONE;
  }
  int64_t full[3] = {bsz, m, m}, colv[3] = {bsz, m, 1}, one1[3] = {bsz, 1, 1}, d1 = 1;
  ir_id a = ox_reshape(cx, ox_convert(cx, n->in[0], ct), 3, full);
  ir_id rows = ir_iota(b, ir_shape_make(IR_I64, 3, full), 1); /* row index of each element */
  ir_id rowc = ir_iota(b, ir_shape_make(IR_I64, 3, colv), 1); /* row index down a column */
  ir_id zeros = ox_full_like(cx, a, ct, 0), zcol = ox_full_like(cx, rowc, ct, 0);
  ir_id det = ir_broadcast(b, ox_scalar(cx, ct, 1), 3, one1, NULL), sign = det;
  for (int64_t k = 0; k < m; k++) {
    ir_id kc = ox_full_like(cx, rowc, IR_I64, (double)k);
    ir_id isk = ir_compare(b, IR_CMP_EQ, rows, ox_full_like(cx, rows, IR_I64, (double)k));
    if (k + 1 < m) {
      /* Pivot: rows above k are masked with -1 so that they never win; a
       * NaN column matches nothing and keeps row k. */
      ir_id ac = ir_unary(b, IR_OP_ABS, ox_slice_axis(cx, a, 2, k, k + 1, 1));
      ac = ir_select(b, ir_compare(b, IR_CMP_LT, rowc, kc), ox_full_like(cx, ac, ct, -1), ac);
      ir_id big = ox_broadcast_to(cx, n, ox_reduce(cx, ac, 1, &d1, IR_COMB_MAX, true), 3, colv);
      ir_id cand = ir_select(b, ir_compare(b, IR_CMP_EQ, ac, big), rowc, ox_full_like(cx, rowc, IR_I64, (double)m));
      ir_id p = ox_reduce(cx, cand, 1, &d1, IR_COMB_MIN, true);
      ir_id kk = ox_full_like(cx, p, IR_I64, (double)k);
      p = ir_select(b, ir_compare(b, IR_CMP_EQ, p, ox_full_like(cx, p, IR_I64, (double)m)), kk, p);
      ir_id isp = ir_compare(b, IR_CMP_EQ, rows, ox_broadcast_to(cx, n, p, 3, full));
      ir_id rowp = ox_reduce(cx, ir_select(b, isp, a, zeros), 1, &d1, IR_COMB_ADD, true);
      ir_id rowk = ox_slice_axis(cx, a, 1, k, k + 1, 1);
      a = ir_select(b, isk, ox_broadcast_to(cx, n, rowp, 3, full),
                    ir_select(b, isp, ox_broadcast_to(cx, n, rowk, 3, full), a));
      sign = ir_select(b, ir_compare(b, IR_CMP_NE, p, kk), ir_unary(b, IR_OP_NEG, sign), sign);
    }
    ir_id piv = ox_slice_axis(cx, ox_slice_axis(cx, a, 1, k, k + 1, 1), 2, k, k + 1, 1);
    det = ir_binary(b, IR_OP_MUL, det, piv);
    if (k + 1 < m) {
      ir_id below = ir_compare(b, IR_CMP_GT, rowc, kc);
      ir_id pivc = ox_broadcast_to(cx, n, piv, 3, colv);
      ir_id use = ir_binary(b, IR_OP_AND, below, ir_compare(b, IR_CMP_NE, pivc, zcol));
      ir_id l = ir_select(b, use, ir_binary(b, IR_OP_DIV, ox_slice_axis(cx, a, 2, k, k + 1, 1), pivc), zcol);
      ir_id rowk = ox_slice_axis(cx, a, 1, k, k + 1, 1);
      ir_id upd = ir_binary(b, IR_OP_SUB, a,
                            ir_binary(b, IR_OP_MUL, ox_broadcast_to(cx, n, l, 3, full), ox_broadcast_to(cx, n, rowk, 3, full)));
      a = ir_select(b, ox_broadcast_to(cx, n, use, 3, full), upd, a);
    }
  }
  det = ir_binary(b, IR_OP_MUL, det, sign);
  n->out[0] = ox_convert(cx, ox_reshape(cx, det, (int)nb, s.dims), t);
  return n->out[0] != IR_NONE;
}

const ox_op ox_ops_norm[] = {
    {"LpNormalization", 1, lower_lpnorm, NULL, {1, 1}, {1, 1}, "axis:i p:i", 22},
    {"GroupNormalization", 18, lower_groupnorm, ox_check_stash_type, {3, 3}, {1, 1}, "epsilon:f num_groups:i stash_type:i@21-", 21},
    {"RMSNormalization", 23, lower_rmsnorm, ox_check_stash_type, {2, 2}, {1, 1}, "axis:i epsilon:f stash_type:i", 23},
    {"Det", 11, lower_det, NULL, {1, 1}, {1, 1}, NULL, 22},
    {0},
};
