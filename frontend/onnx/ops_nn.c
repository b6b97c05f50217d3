/*
 * Neural-network ONNX ops: MatMul, its integer forms MatMulInteger and
 * QLinearMatMul, Gemm and the normalisations
 * (BatchNormalization, InstanceNormalization, LayerNormalization, LRN,
 * MeanVarianceNormalization).
 * Convolutions and pooling are in ops_conv.c, softmax in ops_reduce.c.
 *
 * Lowerings prefer forms that later passes fuse well: a dot with an
 * elementwise epilogue for Gemm, one multiply-add per element with
 * per-channel constants for inference batch normalisation (so that it can
 * be folded into a preceding convolution), reductions plus elementwise
 * chains for the statistics-based normalisations.
 */
#include <string.h>

#include "frontend/onnx/ox.h"

/* NumPy matmul: 1-D operands gain and then lose a dimension; batch
 * dimensions broadcast. A rank-2 right operand under a batched left one
 * becomes one big GEMM (contract the last dimension, no batch dims).
 * Shapes are handled whole (ir_shape), so that symbolic dimensions keep
 * their expressions: a batch or row dimension may be symbolic; dimensions
 * that must match (the inner ones, broadcast batch ones) must be the same
 * expression, and a symbolic batch dimension against a static one other
 * than 1 is refused (it would broadcast for some bindings only). */
static ir_id matmul_core(ox_ctx *cx, const ox_node *n, ir_id a, ir_id b) {
  ir_shape sa = ox_shape(cx, a), sb = ox_shape(cx, b);
  if (sa.type != sb.type) {
    ox_error(cx, n, "input types differ: %s and %s", ir_type_name(sa.type), ir_type_name(sb.type));
    return IR_NONE;
  }
  if (sa.rank == 0 || sb.rank == 0) {
    ox_error(cx, n, "inputs must have rank >= 1");
    return IR_NONE;
  }
  bool vec_a = sa.rank == 1, vec_b = sb.rank == 1;
  if (vec_a) {
    sa.dims[1] = sa.dims[0], sa.sym[1] = sa.sym[0];
    sa.dims[0] = 1, sa.sym[0] = 0;
    sa.rank = 2;
    a = ox_reshape_shape(cx, a, &sa);
  }
  if (vec_b) {
    sb.dims[1] = 1, sb.sym[1] = 0;
    sb.rank = 2;
    b = ox_reshape_shape(cx, b, &sb);
  }
  int ra = sa.rank, rb = sb.rank;
  if (sa.dims[ra - 1] != sb.dims[rb - 2] || sa.sym[ra - 1] != sb.sym[rb - 2]) {
    char e1[96], e2[96];
    ox_error(cx, n, "inner dimensions differ: %s vs %s", ox_dim_str(cx, &sa, ra - 1, e1, sizeof e1),
             ox_dim_str(cx, &sb, rb - 2, e2, sizeof e2));
    return IR_NONE;
  }
  ir_id r;
  if (rb == 2) {
    ir_dot_dims d;
    memset(&d, 0, sizeof d);
    d.ncontract = 1;
    d.lhs_contract[0] = ra - 1;
    d.rhs_contract[0] = 0;
    r = ir_dot(&cx->b, a, b, &d, IR_TUPLE);
  } else {
    /* Broadcast the batch dimensions of both to a common shape. */
    int nb = (ra > rb ? ra : rb) - 2;
    ir_shape ta = sa, tb = sb;
    ta.rank = tb.rank = nb + 2;
    for (int i = 0; i < nb; i++) {
      int ia = i - (nb - (ra - 2)), ib = i - (nb - (rb - 2));
      int64_t x = ia >= 0 ? sa.dims[ia] : 1, y = ib >= 0 ? sb.dims[ib] : 1;
      uint32_t xs = ia >= 0 ? sa.sym[ia] : 0, ys = ib >= 0 ? sb.sym[ib] : 0;
      bool same = x == y && xs == ys;
      if (!same && !(x == 1 && !xs) && !(y == 1 && !ys)) {
        char e1[96], e2[96];
        ir_shape one = ir_shape_make(IR_F32, 0, NULL);
        one.rank = 1;
        one.dims[0] = x, one.sym[0] = xs;
        ox_dim_str(cx, &one, 0, e1, sizeof e1);
        one.dims[0] = y, one.sym[0] = ys;
        ox_dim_str(cx, &one, 0, e2, sizeof e2);
        if (xs || ys)
          ox_unsupported(cx, n, "batch dimensions %s and %s broadcast only for some values of the symbolic dimension; "
                         "fix it with --input-shape", e1, e2);
        else
          ox_error(cx, n, "batch dimensions do not broadcast (%s vs %s)", e1, e2);
        return IR_NONE;
      }
      bool take_y = x == 1 && !xs;
      ta.dims[i] = tb.dims[i] = take_y ? y : x;
      ta.sym[i] = tb.sym[i] = take_y ? ys : xs;
    }
    ta.dims[nb] = sa.dims[ra - 2], ta.sym[nb] = sa.sym[ra - 2];
    ta.dims[nb + 1] = sa.dims[ra - 1], ta.sym[nb + 1] = sa.sym[ra - 1];
    tb.dims[nb] = sb.dims[rb - 2], tb.sym[nb] = sb.sym[rb - 2];
    tb.dims[nb + 1] = sb.dims[rb - 1], tb.sym[nb + 1] = sb.sym[rb - 1];
    a = ox_broadcast_to_shape(cx, n, a, &ta);
    b = ox_broadcast_to_shape(cx, n, b, &tb);
    ir_dot_dims d;
    memset(&d, 0, sizeof d);
    d.nbatch = nb;
    for (int i = 0; i < nb; i++) d.lhs_batch[i] = d.rhs_batch[i] = i;
    d.ncontract = 1;
    d.lhs_contract[0] = nb + 1;
    d.rhs_contract[0] = nb;
    r = ir_dot(&cx->b, a, b, &d, IR_TUPLE);
  }
  if (r == IR_NONE || !(vec_a || vec_b)) return r;
  /* Drop the dimensions added for 1-D operands. */
  const ir_shape rs = ox_shape(cx, r);
  ir_shape fin = rs;
  int rf = 0;
  for (int i = 0; i < rs.rank; i++) {
    if (vec_a && i == rs.rank - 2) continue;
    if (vec_b && i == rs.rank - 1) continue;
    fin.dims[rf] = rs.dims[i];
    fin.sym[rf++] = rs.sym[i];
  }
  fin.rank = rf;
  return ox_reshape_shape(cx, r, &fin);
}

static bool lower_matmul(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  n->out[0] = matmul_core(cx, n, n->in[0], n->in[1]);
  return n->out[0] != IR_NONE;
}

/* ---- MatMulInteger, QLinearMatMul ---- */

static bool quant_input(ox_ctx *cx, const ox_node *n, ir_id v, const char *what) {
  if (!ox_need_8bit(cx, n, v, what)) return false;
  int r = ox_shape(cx, v).rank;
  if (r < 2) return ox_error(cx, n, "input %s has rank %d; kiln supports matrices (rank >= 2) here", what, r);
  return true;
}

/* The i32 product of (a - a_zero_point) and (b - b_zero_point), the zero
 * points per tensor or per row of a / column of b: MatMulInteger's result
 * and QLinearMatMul's accumulator. a is input 0, b input bi, their zero
 * points inputs az and bz; `an` and `bn` name a and b in messages. */
static ir_id matmul_integer(ox_ctx *cx, const ox_node *n, int bi, int az, int bz, const char *an, const char *bn) {
  if (!quant_input(cx, n, n->in[0], an) || !quant_input(cx, n, n->in[bi], bn)) return IR_NONE;
  int ra = ox_shape(cx, n->in[0]).rank, rb = ox_shape(cx, n->in[bi]).rank;
  ir_id a = ox_minus_zero_point(cx, n, n->in[0], az, ra - 2, "input a_zero_point");
  ir_id b = ox_minus_zero_point(cx, n, n->in[bi], bz, rb - 1, "input b_zero_point");
  if (a == IR_NONE || b == IR_NONE) return IR_NONE;
  return matmul_core(cx, n, a, b);
}

/* MatMulInteger (opset 10). */
static bool lower_matmulinteger(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  n->out[0] = matmul_integer(cx, n, 1, 2, 3, "A", "B");
  return n->out[0] != IR_NONE;
}

/* QLinearMatMul (opset 10): the MatMulInteger accumulator requantized with
 * a_scale * b_scale / y_scale and y_zero_point; a's parameters may be per
 * row, b's per column, y's per tensor. */
static bool lower_qlinearmatmul(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 8)) return false;
  ir_id acc = matmul_integer(cx, n, 3, 2, 5, "a", "b");
  if (acc == IR_NONE) return false;
  int ry = ox_shape(cx, acc).rank;
  /* a's scale per row, b's per column of the product. */
  n->out[0] = ox_qlinear_output(cx, n, acc, ry - 2, ry - 1, "a", "b");
  return n->out[0] != IR_NONE;
}

/* Gemm: Y = alpha * A' B' + beta * C, A' = transA ? A^T : A (likewise B).
 * The transposes become the dot's contracting dimensions; C broadcasts
 * (unidirectionally) to [M, N] and is optional from opset 11. */
static bool lower_gemm(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, n->opset >= 11 ? 2 : 3)) return false;
  bool ok = true;
  int64_t ta = ox_attr_int(cx, n, "transA", 0, &ok), tb = ox_attr_int(cx, n, "transB", 0, &ok);
  double alpha = ox_attr_float(cx, n, "alpha", 1.0f, &ok), beta = ox_attr_float(cx, n, "beta", 1.0f, &ok);
  if (!ok) return false;
  ir_id a = n->in[0], b = n->in[1], c = n->nin > 2 ? n->in[2] : IR_NONE;
  ir_shape sa = ox_shape(cx, a), sb = ox_shape(cx, b);
  if (sa.rank != 2 || sb.rank != 2) return ox_error(cx, n, "inputs A and B must be matrices (rank %d and %d given)", sa.rank, sb.rank);
  if (sa.type != sb.type) return ox_error(cx, n, "input types differ: %s and %s", ir_type_name(sa.type), ir_type_name(sb.type));
  int im = ta ? 1 : 0, ika = ta ? 0 : 1, ikb = tb ? 1 : 0, inn = tb ? 0 : 1;
  if (sa.dims[ika] != sb.dims[ikb] || sa.sym[ika] != sb.sym[ikb]) {
    char e1[96], e2[96];
    return ox_error(cx, n, "inner dimensions differ: A%s has %s columns, B%s has %s rows", ta ? "^T" : "",
                    ox_dim_str(cx, &sa, ika, e1, sizeof e1), tb ? "^T" : "", ox_dim_str(cx, &sb, ikb, e2, sizeof e2));
  }
  /* [M, N], either possibly symbolic */
  ir_shape mn = sa;
  mn.rank = 2;
  mn.dims[0] = sa.dims[im], mn.sym[0] = sa.sym[im];
  mn.dims[1] = sb.dims[inn], mn.sym[1] = sb.sym[inn];
  ir_dot_dims d;
  memset(&d, 0, sizeof d);
  d.ncontract = 1;
  d.lhs_contract[0] = ta ? 0 : 1;
  d.rhs_contract[0] = tb ? 1 : 0;
  ir_type t = sa.type;
  ir_id y = ir_dot(&cx->b, a, b, &d, IR_TUPLE);
  if (alpha != 1.0) y = ox_binary(cx, n, IR_OP_MUL, y, ox_scalar(cx, t, alpha));
  if (c != IR_NONE && beta != 0.0) {
    ir_type tc = ox_shape(cx, c).type;
    if (tc != t) return ox_error(cx, n, "input C is %s, A is %s", ir_type_name(tc), ir_type_name(t));
    if (beta != 1.0) c = ox_binary(cx, n, IR_OP_MUL, c, ox_scalar(cx, t, beta));
    c = ox_broadcast_to_shape(cx, n, c, &mn);
    if (c == IR_NONE) return false;
    y = ir_binary(&cx->b, IR_OP_ADD, y, c);
  }
  n->out[0] = y;
  return y != IR_NONE;
}

/* Reads a per-channel parameter (shape [C]) and converts it to type t. */
static ir_id channel_param(ox_ctx *cx, const ox_node *n, int i, const char *what, int64_t channels, ir_type t) {
  ir_id v = n->in[i];
  ir_shape s = ox_shape(cx, v);
  if (ir_shape_elements(&s) != channels || s.rank > 1) {
    char buf[160];
    ox_error(cx, n, "input %d (%s) is %s; expected %lld values, one per channel", i, what, ir_shape_str(&s, buf, sizeof buf),
             (long long)channels);
    return IR_NONE;
  }
  if (!ir_type_is_float(s.type)) {
    ox_error(cx, n, "input %d (%s) has type %s; a floating-point type is needed", i, what, ir_type_name(s.type));
    return IR_NONE;
  }
  v = ox_reshape(cx, v, 1, &channels);
  return s.type == t ? v : ir_convert(&cx->b, v, t);
}

/* Checks that x is a floating-point tensor of rank >= min_rank. */
static bool float_input(ox_ctx *cx, const ox_node *n, ir_id x, int min_rank) {
  ir_shape s = ox_shape(cx, x);
  if (!ir_type_is_float(s.type)) return ox_error(cx, n, "input X has type %s; a floating-point type is needed", ir_type_name(s.type));
  if (s.rank < min_rank) return ox_error(cx, n, "input X has rank %d; at least %d is needed", s.rank, min_rank);
  return true;
}

/* Opset 6 and 7-8's `spatial` and opset 14's `training_mode` are checked;
 * opset 6's is_test is not: like ONNX Runtime, kiln runs every batch
 * normalisation with the given statistics when only Y is asked for. */
static bool check_batchnorm(ox_ctx *cx, const ox_node *n) {
  bool ok = true;
  if (n->opset < 9 && ox_attr_int(cx, n, "spatial", 1, &ok) != 1 && ok)
    return ox_error(cx, n, "attribute spatial=0 (per-activation statistics) is not supported");
  if (n->opset >= 14 && ox_attr_int(cx, n, "training_mode", 0, &ok) != 0 && ok)
    return ox_error(cx, n, "training_mode=1 is not supported: kiln compiles inference graphs (export the model in eval mode)");
  for (size_t i = 1; ok && i < n->p->n_output; i++)
    if (n->p->output[i][0])
      return ox_error(cx, n, "output %zu ('%s') exists only in training mode, which kiln does not support", i, n->p->output[i]);
  return ok;
}

/* Inference batch normalisation as y = x * a + b with per-channel
 * a = scale / sqrt(var + eps) and b = bias - mean * a: computed from
 * constants (usually), one multiply-add per element, and in the form a
 * later pass folds into the preceding convolution. */
static bool lower_batchnorm(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 5)) return false;
  bool ok = true;
  double eps = ox_attr_float(cx, n, "epsilon", 1e-5f, &ok);
  ir_id x = n->in[0];
  if (!ok || !float_input(cx, n, x, 2)) return false;
  if (!ox_refuse_symbolic(cx, n, x, 1, 1, "input X", "the per-channel parameters need a static channel count"))
    return false;
  ir_shape s = ox_shape(cx, x);
  ir_type t = s.type;
  int64_t ch = s.dims[1];
  ir_id scale = channel_param(cx, n, 1, "scale", ch, t), bias = channel_param(cx, n, 2, "B", ch, t);
  ir_id mean = channel_param(cx, n, 3, "mean", ch, t), var = channel_param(cx, n, 4, "var", ch, t);
  if (scale == IR_NONE || bias == IR_NONE || mean == IR_NONE || var == IR_NONE) return false;
  ir_id a = ir_binary(&cx->b, IR_OP_MUL, scale, ir_unary(&cx->b, IR_OP_RSQRT, ox_binary(cx, n, IR_OP_ADD, var, ox_scalar(cx, t, eps))));
  ir_id b = ir_binary(&cx->b, IR_OP_SUB, bias, ir_binary(&cx->b, IR_OP_MUL, mean, a));
  ir_id y = ir_binary(&cx->b, IR_OP_MUL, x, ox_broadcast_along_shape(cx, a, &s, 1));
  n->out[0] = ir_binary(&cx->b, IR_OP_ADD, y, ox_broadcast_along_shape(cx, b, &s, 1));
  return n->out[0] != IR_NONE;
}

/* Mean and variance of x over dims (two-pass: the mean first, then the
 * mean of squared deviations, as the ONNX reference computes them).
 * Returns the deviation x - mean; *mean and *var are reduced (without
 * the reduced dimensions). */
static ir_id moments(ox_ctx *cx, const ox_node *n, ir_id x, int nd, const int64_t *dims, ir_id *mean, ir_id *var) {
  ir_shape s = ox_shape(cx, x);
  /* a run-time value when a reduced dimension is symbolic */
  ir_id count = ox_count_dims(cx, x, nd, dims, s.type);
  ir_id sum = ox_reduce(cx, x, nd, dims, IR_COMB_ADD, false);
  *mean = ox_binary(cx, n, IR_OP_DIV, sum, count);
  ir_id dev = ir_binary(&cx->b, IR_OP_SUB, x, ox_unreduce(cx, *mean, x, nd, dims));
  ir_id sq = ox_reduce(cx, ir_binary(&cx->b, IR_OP_MUL, dev, dev), nd, dims, IR_COMB_ADD, false);
  *var = ox_binary(cx, n, IR_OP_DIV, sq, count);
  return dev;
}

/* InstanceNormalization: per (batch, channel) statistics over the spatial
 * dimensions; y = (x - mean) * rsqrt(var + eps) * scale + B. */
static bool lower_instancenorm(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  bool ok = true;
  double eps = ox_attr_float(cx, n, "epsilon", 1e-5f, &ok);
  ir_id x = n->in[0];
  if (!ok || !float_input(cx, n, x, 3) ||
      !ox_refuse_symbolic(cx, n, x, 1, 1, "input X", "the per-channel parameters need a static channel count"))
    return false;
  ir_shape s = ox_shape(cx, x);
  ir_type t = s.type;
  int rank = s.rank;
  int64_t xd[IR_MAX_RANK], red[IR_MAX_RANK];
  memcpy(xd, s.dims, sizeof xd);
  for (int i = 2; i < rank; i++) red[i - 2] = i;
  ir_id scale = channel_param(cx, n, 1, "scale", xd[1], t), bias = channel_param(cx, n, 2, "B", xd[1], t);
  if (scale == IR_NONE || bias == IR_NONE) return false;
  ir_id mean, var;
  ir_id dev = moments(cx, n, x, rank - 2, red, &mean, &var);
  ir_id inv = ir_unary(&cx->b, IR_OP_RSQRT, ox_binary(cx, n, IR_OP_ADD, var, ox_scalar(cx, t, eps)));
  /* [N, C] times the per-channel scale. */
  ir_shape nc = s;
  nc.rank = 2;
  ir_id f = ir_binary(&cx->b, IR_OP_MUL, inv, ox_broadcast_along_shape(cx, scale, &nc, 1));
  ir_id y = ir_binary(&cx->b, IR_OP_MUL, dev, ox_unreduce(cx, f, x, rank - 2, red));
  n->out[0] = ir_binary(&cx->b, IR_OP_ADD, y, ox_broadcast_along_shape(cx, bias, &s, 1));
  return n->out[0] != IR_NONE;
}

bool ox_check_stash_type(ox_ctx *cx, const ox_node *n) {
  bool ok = true;
  int64_t st = ox_attr_int(cx, n, "stash_type", 1, &ok);
  ir_type t;
  if (ok && (!ox_type_from_onnx((int32_t)st, &t) || !ir_type_is_float(t)))
    return ox_error(cx, n, "attribute stash_type=%lld is not a floating-point type", (long long)st);
  return ok;
}

/* LayerNormalization (opset 17): statistics over dimensions axis..rank-1,
 * computed in the stash type; Scale and B broadcast to the normalised
 * shape. The optional outputs Mean and InvStdDev keep the reduced
 * dimensions as size 1. */
static bool lower_layernorm(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", -1, &ok);
  double eps = ox_attr_float(cx, n, "epsilon", 1e-5f, &ok);
  int64_t st = ox_attr_int(cx, n, "stash_type", 1, &ok);
  ir_id x = n->in[0];
  if (!ok || !float_input(cx, n, x, 1)) return false;
  ir_shape s = ox_shape(cx, x);
  ir_type t = s.type, ts = IR_F32;
  int rank = s.rank;
  if (!ox_axis(cx, n, axis, rank, false, &axis)) return false;
  ox_type_from_onnx((int32_t)st, &ts);
  int64_t xd[IR_MAX_RANK], red[IR_MAX_RANK];
  memcpy(xd, s.dims, sizeof xd);
  int nd = 0;
  for (int64_t i = axis; i < rank; i++) red[nd++] = i;
  for (int i = 1; i < 3 && i < n->nin; i++) {
    ir_id p = n->in[i];
    if (p == IR_NONE) continue;
    ir_shape ps = ox_shape(cx, p);
    if (ps.type != t) return ox_error(cx, n, "input %d has type %s; X has %s", i, ir_type_name(ps.type), ir_type_name(t));
    if (ps.rank > nd) return ox_error(cx, n, "input %d has rank %d; the normalised shape has rank %d", i, ps.rank, nd);
  }
  ir_id xs = ts == t ? x : ir_convert(&cx->b, x, ts);
  ir_id mean, var;
  ir_id dev = moments(cx, n, xs, nd, red, &mean, &var);
  ir_id inv = ir_unary(&cx->b, IR_OP_RSQRT, ox_binary(cx, n, IR_OP_ADD, var, ox_scalar(cx, ts, eps)));
  ir_id y = ir_binary(&cx->b, IR_OP_MUL, dev, ox_unreduce(cx, inv, xs, nd, red));
  if (ts != t) y = ir_convert(&cx->b, y, t);
  y = ox_binary(cx, n, IR_OP_MUL, y, ox_broadcast_to_shape(cx, n, n->in[1], &s));
  if (n->nin > 2 && n->in[2] != IR_NONE) y = ox_binary(cx, n, IR_OP_ADD, y, ox_broadcast_to_shape(cx, n, n->in[2], &s));
  n->out[0] = y;
  /* Mean and InvStdDev keep the reduced dimensions as size 1. */
  ir_shape kept = s;
  for (int i = (int)axis; i < rank; i++) kept.dims[i] = 1, kept.sym[i] = 0;
  if (n->nout > 1) n->out[1] = ox_reshape_shape(cx, mean, &kept);
  if (n->nout > 2) n->out[2] = ox_reshape_shape(cx, inv, &kept);
  return y != IR_NONE;
}

/* LRN: y = x / (bias + alpha / size * sum of x^2 over a channel window)^beta,
 * the window [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to the
 * channels: a reduce_window over dimension 1 with zero padding. */
static bool lower_lrn(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  double alpha = ox_attr_float(cx, n, "alpha", 1e-4f, &ok), beta = ox_attr_float(cx, n, "beta", 0.75f, &ok);
  double bias = ox_attr_float(cx, n, "bias", 1.0f, &ok);
  int64_t size = ox_attr_int(cx, n, "size", -1, &ok);
  ir_id x = n->in[0];
  if (!ok || !float_input(cx, n, x, 2)) return false;
  if (size < 1) return ox_error(cx, n, "attribute 'size' must be given and >= 1");
  ir_shape s = ox_shape(cx, x);
  ir_type t = s.type;
  ir_window w;
  memset(&w, 0, sizeof w);
  w.rank = s.rank;
  for (int i = 0; i < w.rank; i++) w.d[i] = (ir_window_dim){1, 1, 0, 0, 1, 1};
  w.d[1].size = size;
  w.d[1].pad_lo = (size - 1) / 2;
  w.d[1].pad_hi = size - 1 - (size - 1) / 2;
  ir_id sq = ir_reduce_window(&cx->b, ir_binary(&cx->b, IR_OP_MUL, x, x), &w, IR_COMB_ADD);
  ir_id d = ox_binary(cx, n, IR_OP_MUL, sq, ox_scalar(cx, t, alpha / (double)size));
  d = ox_binary(cx, n, IR_OP_ADD, d, ox_scalar(cx, t, bias));
  d = ox_binary(cx, n, IR_OP_POW, d, ox_scalar(cx, t, beta));
  n->out[0] = ir_binary(&cx->b, IR_OP_DIV, x, d);
  return n->out[0] != IR_NONE;
}

/* MeanVarianceNormalization: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)
 * over `axes` (default 0, 2, 3), exactly as ONNX's function body. */
static bool lower_mvn(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  if (!float_input(cx, n, x, 0)) return false;
  ir_shape s = ox_shape(cx, x);
  bool ok = true;
  int64_t axes[IR_MAX_RANK + 1], red[IR_MAX_RANK];
  int na = ox_attr_ints(cx, n, "axes", axes, IR_MAX_RANK + 1, &ok);
  if (!ok) return false;
  if (na < 0) {
    na = 3;
    axes[0] = 0, axes[1] = 2, axes[2] = 3;
  }
  bool seen[IR_MAX_RANK] = {false};
  for (int i = 0; i < na; i++) {
    if (!ox_axis(cx, n, axes[i], s.rank, false, &red[i])) return false;
    if (seen[red[i]]) return ox_error(cx, n, "axis %lld is listed twice", (long long)red[i]);
    seen[red[i]] = true;
  }
  ir_id k = ox_count_dims(cx, x, na, red, s.type);
  ir_id mean = ox_binary(cx, n, IR_OP_DIV, ox_reduce(cx, x, na, red, IR_COMB_ADD, false), k);
  ir_id msq = ox_binary(cx, n, IR_OP_DIV, ox_reduce(cx, ir_binary(&cx->b, IR_OP_MUL, x, x), na, red, IR_COMB_ADD, false), k);
  ir_id var = ir_binary(&cx->b, IR_OP_SUB, msq, ir_binary(&cx->b, IR_OP_MUL, mean, mean));
  ir_id sd = ox_binary(cx, n, IR_OP_ADD, ir_unary(&cx->b, IR_OP_SQRT, var), ox_scalar(cx, s.type, 1e-9));
  ir_id dev = ir_binary(&cx->b, IR_OP_SUB, x, ox_unreduce(cx, mean, x, na, red));
  n->out[0] = ir_binary(&cx->b, IR_OP_DIV, dev, ox_unreduce(cx, sd, x, na, red));
  return n->out[0] != IR_NONE;
}

const ox_op ox_ops_nn[] = {
    {"MatMulInteger", 10, lower_matmulinteger, NULL, {2, 4}, {1, 1}, NULL, 0},
    {"QLinearMatMul", 10, lower_qlinearmatmul, NULL, {8, 8}, {1, 1}, NULL, 21},
    {"MeanVarianceNormalization", 9, lower_mvn, NULL, {1, 1}, {1, 1}, "axes:I", 0},
    {"MatMul", 1, lower_matmul, NULL, {2, 2}, {1, 1}, NULL, 0},
    {"Gemm", 1, lower_gemm, NULL, {2, 3}, {1, 1}, "alpha:f beta:f broadcast:i@-6 transA:i transB:i", 0},
    {"BatchNormalization", 6, lower_batchnorm, check_batchnorm, {5, 5}, {1, 5},
         "epsilon:f is_test:i@-6 momentum:f spatial:i@-8 training_mode:i@14-", 0},
    {"InstanceNormalization", 6, lower_instancenorm, NULL, {3, 3}, {1, 1}, "epsilon:f", 22},
    {"LayerNormalization", 17, lower_layernorm, ox_check_stash_type, {2, 3}, {1, 3}, "axis:i epsilon:f stash_type:i", 0},
    {"LRN", 1, lower_lrn, NULL, {1, 1}, {1, 1}, "alpha:f beta:f bias:f size:i", 0},
    {0},
};
