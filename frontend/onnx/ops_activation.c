/*
 * Activation ONNX ops, each a few elementwise IR ops: Relu, LeakyRelu,
 * PRelu, Elu, Selu, Celu, HardSigmoid, HardSwish, Sigmoid, Softplus,
 * Softsign, Tanh, ThresholdedRelu, Shrink.
 *
 * Constants are built in the input's type, so f16/f64 inputs compute in
 * their own type. Formulas follow the ONNX operator definitions; where a
 * numerically safer form is used (Softplus, Elu) it is said why.
 * ox_hard_sigmoid and ox_softplus also serve the recurrent ops (ops_rnn.c).
 */
#include <math.h>
#include <string.h>

#include "frontend/onnx/ox.h"

/* Scalar constant c in x's type, broadcast to x's dims. */
static ir_id like(ox_ctx *cx, ir_id x, double c) { return ox_full_like(cx, x, ox_shape(cx, x).type, c); }

static ir_id bin(ox_ctx *cx, ir_op op, ir_id a, ir_id b) { return ir_binary(&cx->b, op, a, b); }

/* Common entry: one float input (ints allowed where `ints`). */
static bool begin(ox_ctx *cx, ox_node *n, bool ints, ir_id *x) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  *x = n->in[0];
  ir_type t = ox_shape(cx, *x).type;
  if (ints ? t == IR_PRED : !ir_type_is_float(t)) return ox_need_float(cx, n, *x, "the input");
  return true;
}

static bool done(ox_node *n, ir_id r) {
  n->out[0] = r;
  return r != IR_NONE;
}

static bool lower_relu(ox_ctx *cx, ox_node *n) {
  ir_id x;
  if (!begin(cx, n, true, &x)) return false;
  return done(n, bin(cx, IR_OP_MAX, x, like(cx, x, 0)));
}

static bool lower_leaky_relu(ox_ctx *cx, ox_node *n) {
  ir_id x;
  bool ok = true;
  double alpha = ox_attr_float(cx, n, "alpha", 0.01f, &ok);
  if (!ok || !begin(cx, n, false, &x)) return false;
  ir_id neg = ir_compare(&cx->b, IR_CMP_LT, x, like(cx, x, 0));
  return done(n, ir_select(&cx->b, neg, bin(cx, IR_OP_MUL, x, like(cx, x, alpha)), x));
}

/* PRelu: x < 0 ? slope * x : x. From opset 7 the slope broadcasts to x
 * NumPy-style; before that, a 1-D slope holding one value per channel
 * applies along dimension 1 (Caffe-style, as PyTorch exported it). */
static bool lower_prelu(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0], slope = n->in[1];
  if (!begin(cx, n, true, &x)) return false;
  ir_shape sx_v = ox_shape(cx, x), ss_v = ox_shape(cx, slope);
  const ir_shape *sx = &sx_v, *ss = &ss_v;
  if (ss->type != sx->type) return ox_error(cx, n, "slope type %s differs from the input's %s", ir_type_name(ss->type), ir_type_name(sx->type));
  if (n->opset < 7 && ss->rank == 1 && sx->rank >= 2 && ss->dims[0] == sx->dims[1] && !sx->sym[1] && ss->dims[0] != 1) {
    slope = ox_broadcast_along_shape(cx, slope, sx, 1);
  } else {
    slope = ox_broadcast_to_shape(cx, n, slope, sx); /* x's symbolic dimensions too */
  }
  if (slope == IR_NONE) return false;
  ir_id neg = ir_compare(&cx->b, IR_CMP_LT, x, like(cx, x, 0));
  return done(n, ir_select(&cx->b, neg, bin(cx, IR_OP_MUL, x, slope), x));
}

/* Elu: x < 0 ? alpha * (exp(x) - 1) : x, with expm1 for accuracy near 0. */
static bool lower_elu(ox_ctx *cx, ox_node *n) {
  ir_id x;
  bool ok = true;
  double alpha = ox_attr_float(cx, n, "alpha", 1.0f, &ok);
  if (!ok || !begin(cx, n, false, &x)) return false;
  ir_id neg = ir_compare(&cx->b, IR_CMP_LT, x, like(cx, x, 0));
  ir_id e = bin(cx, IR_OP_MUL, ir_unary(&cx->b, IR_OP_EXPM1, x), like(cx, x, alpha));
  return done(n, ir_select(&cx->b, neg, e, x));
}

/* Selu: gamma * (x > 0 ? x : alpha * (exp(x) - 1)). */
static bool lower_selu(ox_ctx *cx, ox_node *n) {
  ir_id x;
  bool ok = true;
  double alpha = ox_attr_float(cx, n, "alpha", 1.67326319217681884765625f, &ok);
  double gamma = ox_attr_float(cx, n, "gamma", 1.05070102214813232421875f, &ok);
  if (!ok || !begin(cx, n, false, &x)) return false;
  ir_id pos = ir_compare(&cx->b, IR_CMP_GT, x, like(cx, x, 0));
  ir_id e = bin(cx, IR_OP_MUL, ir_unary(&cx->b, IR_OP_EXPM1, x), like(cx, x, alpha));
  return done(n, bin(cx, IR_OP_MUL, ir_select(&cx->b, pos, x, e), like(cx, x, gamma)));
}

/* Celu: max(0, x) + min(0, alpha * (exp(x / alpha) - 1)). */
static bool lower_celu(ox_ctx *cx, ox_node *n) {
  ir_id x;
  bool ok = true;
  double alpha = ox_attr_float(cx, n, "alpha", 1.0f, &ok);
  if (!ok || !begin(cx, n, false, &x)) return false;
  if (alpha == 0) return ox_error(cx, n, "attribute 'alpha' must not be 0");
  ir_id zero = like(cx, x, 0);
  ir_id e = ir_unary(&cx->b, IR_OP_EXPM1, bin(cx, IR_OP_DIV, x, like(cx, x, alpha)));
  e = bin(cx, IR_OP_MIN, zero, bin(cx, IR_OP_MUL, e, like(cx, x, alpha)));
  return done(n, bin(cx, IR_OP_ADD, bin(cx, IR_OP_MAX, zero, x), e));
}

ir_id ox_hard_sigmoid(ox_ctx *cx, ir_id x, double alpha, double beta) {
  ir_type t = ox_shape(cx, x).type;
  ir_id y = bin(cx, IR_OP_ADD, bin(cx, IR_OP_MUL, x, like(cx, x, alpha)), like(cx, x, beta));
  return ir_clamp(&cx->b, ox_scalar(cx, t, 0), y, ox_scalar(cx, t, 1));
}

static bool lower_hard_sigmoid(ox_ctx *cx, ox_node *n) {
  ir_id x;
  bool ok = true;
  double alpha = ox_attr_float(cx, n, "alpha", 0.2f, &ok), beta = ox_attr_float(cx, n, "beta", 0.5f, &ok);
  if (!ok || !begin(cx, n, false, &x)) return false;
  return done(n, ox_hard_sigmoid(cx, x, alpha, beta));
}

static bool lower_hard_swish(ox_ctx *cx, ox_node *n) {
  ir_id x;
  if (!begin(cx, n, false, &x)) return false;
  return done(n, bin(cx, IR_OP_MUL, x, ox_hard_sigmoid(cx, x, 1.0 / 6.0, 0.5)));
}

static bool lower_sigmoid(ox_ctx *cx, ox_node *n) {
  ir_id x;
  if (!begin(cx, n, false, &x)) return false;
  return done(n, ir_unary(&cx->b, IR_OP_LOGISTIC, x));
}

static bool lower_tanh(ox_ctx *cx, ox_node *n) {
  ir_id x;
  if (!begin(cx, n, false, &x)) return false;
  return done(n, ir_unary(&cx->b, IR_OP_TANH, x));
}

/* Softplus = log(exp(x) + 1), computed as max(x, 0) + log1p(exp(-|x|)),
 * which is the same value but neither overflows for large x nor loses the
 * small result for very negative x. */
ir_id ox_softplus(ox_ctx *cx, ir_id x) {
  ir_id e = ir_unary(&cx->b, IR_OP_EXP, ir_unary(&cx->b, IR_OP_NEG, ir_unary(&cx->b, IR_OP_ABS, x)));
  return bin(cx, IR_OP_ADD, bin(cx, IR_OP_MAX, x, like(cx, x, 0)), ir_unary(&cx->b, IR_OP_LOG1P, e));
}

static bool lower_softplus(ox_ctx *cx, ox_node *n) {
  ir_id x;
  if (!begin(cx, n, false, &x)) return false;
  return done(n, ox_softplus(cx, x));
}

/* Softsign = x / (1 + |x|) */
static bool lower_softsign(ox_ctx *cx, ox_node *n) {
  ir_id x;
  if (!begin(cx, n, false, &x)) return false;
  return done(n, bin(cx, IR_OP_DIV, x, bin(cx, IR_OP_ADD, like(cx, x, 1), ir_unary(&cx->b, IR_OP_ABS, x))));
}

/* ThresholdedRelu: x > alpha ? x : 0 */
static bool lower_thresholded_relu(ox_ctx *cx, ox_node *n) {
  ir_id x;
  bool ok = true;
  double alpha = ox_attr_float(cx, n, "alpha", 1.0f, &ok);
  if (!ok || !begin(cx, n, false, &x)) return false;
  ir_id keep = ir_compare(&cx->b, IR_CMP_GT, x, like(cx, x, alpha));
  return done(n, ir_select(&cx->b, keep, x, like(cx, x, 0)));
}

/* Shrink: x < -lambd ? x + bias : x > lambd ? x - bias : 0 (any numeric
 * type; the attributes are converted to it). */
static bool lower_shrink(ox_ctx *cx, ox_node *n) {
  ir_id x;
  bool ok = true;
  double bias = ox_attr_float(cx, n, "bias", 0.0f, &ok), lambd = ox_attr_float(cx, n, "lambd", 0.5f, &ok);
  if (!ok || !begin(cx, n, true, &x)) return false;
  /* An integer input is compared in f64: lambd is a float (NumPy compares
   * the int array with the float scalar exactly). */
  ir_id xc = ir_type_is_float(ox_shape(cx, x).type) ? x : ir_convert(&cx->b, x, IR_F64);
  ir_id lo = ir_compare(&cx->b, IR_CMP_LT, xc, like(cx, xc, -lambd));
  ir_id hi = ir_compare(&cx->b, IR_CMP_GT, xc, like(cx, xc, lambd));
  ir_id b = like(cx, x, bias);
  ir_id r = ir_select(&cx->b, hi, bin(cx, IR_OP_SUB, x, b), like(cx, x, 0));
  return done(n, ir_select(&cx->b, lo, bin(cx, IR_OP_ADD, x, b), r));
}

const ox_op ox_ops_activation[] = {
    {"Relu", 1, lower_relu, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"LeakyRelu", 1, lower_leaky_relu, NULL, {1, 1}, {1, 1}, "alpha:f consumed_inputs:I@-5", 0},
    {"PRelu", 1, lower_prelu, NULL, {2, 2}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Elu", 1, lower_elu, NULL, {1, 1}, {1, 1}, "alpha:f consumed_inputs:I@-5", 22},
    {"Selu", 1, lower_selu, NULL, {1, 1}, {1, 1}, "alpha:f consumed_inputs:I@-5 gamma:f", 22},
    {"Celu", 12, lower_celu, NULL, {1, 1}, {1, 1}, "alpha:f", 0},
    {"HardSigmoid", 1, lower_hard_sigmoid, NULL, {1, 1}, {1, 1}, "alpha:f beta:f consumed_inputs:I@-5", 22},
    {"HardSwish", 14, lower_hard_swish, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Sigmoid", 1, lower_sigmoid, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Tanh", 1, lower_tanh, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Softplus", 1, lower_softplus, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Softsign", 1, lower_softsign, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"ThresholdedRelu", 10, lower_thresholded_relu, NULL, {1, 1}, {1, 1}, "alpha:f", 22},
    {"Shrink", 9, lower_shrink, NULL, {1, 1}, {1, 1}, "bias:f lambd:f", 0},
    {0},
};
