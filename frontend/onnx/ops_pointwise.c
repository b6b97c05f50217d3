/*
 * Elementwise ONNX ops added after opset 17: BitwiseAnd, BitwiseOr,
 * BitwiseXor, BitwiseNot (18), Mish (18, 22), Gelu (20) and Swish (24).
 *
 * The bitwise ops map onto the IR's and/or/xor/not, which on integer
 * types work bit by bit (on pred they are the logical ops that And, Or,
 * Xor and Not lower to); ONNX defines them for integers only, so a bool
 * or float input is refused. Mish and Gelu compute in the input's own
 * type, as the activations of ops_activation.c do.
 */
#include <math.h>

#include "frontend/onnx/ox.h"

/* Requires an integer (not bool) input; `what` names it. */
static bool need_int(ox_ctx *cx, const ox_node *n, ir_id v, const char *what) {
  ir_type t = ox_shape(cx, v).type;
  if (ir_type_is_int(t) && t != IR_PRED) return true;
  return ox_error(cx, n, "%s has type %s; bitwise ops take integer tensors", what, ir_type_name(t));
}

static bool lower_bitwise(ox_ctx *cx, ox_node *n, ir_op op) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  if (!need_int(cx, n, n->in[0], "input A") || !need_int(cx, n, n->in[1], "input B")) return false;
  ir_type ta = ox_shape(cx, n->in[0]).type, tb = ox_shape(cx, n->in[1]).type;
  if (ta != tb) return ox_error(cx, n, "input B has type %s; A has %s", ir_type_name(tb), ir_type_name(ta));
  n->out[0] = ox_binary(cx, n, op, n->in[0], n->in[1]);
  return n->out[0] != IR_NONE;
}

static bool lower_bitwise_and(ox_ctx *cx, ox_node *n) { return lower_bitwise(cx, n, IR_OP_AND); }
static bool lower_bitwise_or(ox_ctx *cx, ox_node *n) { return lower_bitwise(cx, n, IR_OP_OR); }
static bool lower_bitwise_xor(ox_ctx *cx, ox_node *n) { return lower_bitwise(cx, n, IR_OP_XOR); }

static bool lower_bitwise_not(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1) || !need_int(cx, n, n->in[0], "the input")) return false;
  n->out[0] = ir_unary(&cx->b, IR_OP_NOT, n->in[0]);
  return n->out[0] != IR_NONE;
}

/* Mish: x * tanh(softplus(x)), softplus in its overflow-safe form. */
static bool lower_mish(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "the input")) return false;
  ir_id x = n->in[0];
  n->out[0] = ir_binary(&cx->b, IR_OP_MUL, x, ir_unary(&cx->b, IR_OP_TANH, ox_softplus(cx, x)));
  return n->out[0] != IR_NONE;
}

/* Gelu: 0.5 x (1 + erf(x / sqrt 2)), or with approximate='tanh'
 * 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))). */
static bool lower_gelu(ox_ctx *cx, ox_node *n) {
  static const char *const modes[] = {"none", "tanh", NULL};
  int mode = ox_attr_choice(cx, n, "approximate", "none", modes);
  if (mode < 0 || !ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "the input")) return false;
  ir_id x = n->in[0];
  ir_type t = ox_shape(cx, x).type;
  ir_id inner;
  if (mode == 0) {
    inner = ir_unary(&cx->b, IR_OP_ERF, ir_binary(&cx->b, IR_OP_MUL, x, ox_full_like(cx, x, t, 1 / sqrt(2.0))));
  } else {
    ir_id x3 = ir_binary(&cx->b, IR_OP_MUL, ir_binary(&cx->b, IR_OP_MUL, x, x), x);
    ir_id u = ir_binary(&cx->b, IR_OP_ADD, x, ir_binary(&cx->b, IR_OP_MUL, x3, ox_full_like(cx, x, t, 0.044715)));
    inner = ir_unary(&cx->b, IR_OP_TANH, ir_binary(&cx->b, IR_OP_MUL, u, ox_full_like(cx, x, t, 0.7978845608028654 /* sqrt(2 / pi) */)));
  }
  ir_id half_x = ir_binary(&cx->b, IR_OP_MUL, x, ox_full_like(cx, x, t, 0.5));
  n->out[0] = ir_binary(&cx->b, IR_OP_MUL, half_x, ir_binary(&cx->b, IR_OP_ADD, inner, ox_full_like(cx, x, t, 1)));
  return n->out[0] != IR_NONE;
}

/* Swish: x * sigmoid(alpha * x), alpha (default 1) in x's type as the
 * spec's function body casts it. */
static bool lower_swish(ox_ctx *cx, ox_node *n) {
  bool ok = true;
  float alpha = ox_attr_float(cx, n, "alpha", 1.0f, &ok);
  if (!ok || !ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "the input")) return false;
  ir_id x = n->in[0];
  ir_id ax = ir_binary(&cx->b, IR_OP_MUL, x, ox_full_like(cx, x, ox_shape(cx, x).type, alpha));
  n->out[0] = ir_binary(&cx->b, IR_OP_MUL, x, ir_unary(&cx->b, IR_OP_LOGISTIC, ax));
  return n->out[0] != IR_NONE;
}

const ox_op ox_ops_pointwise[] = {
    {"BitwiseAnd", 18, lower_bitwise_and, NULL, {2, 2}, {1, 1}, NULL, 18},
    {"BitwiseOr", 18, lower_bitwise_or, NULL, {2, 2}, {1, 1}, NULL, 18},
    {"BitwiseXor", 18, lower_bitwise_xor, NULL, {2, 2}, {1, 1}, NULL, 18},
    {"BitwiseNot", 18, lower_bitwise_not, NULL, {1, 1}, {1, 1}, NULL, 18},
    /* Mish 22 only adds bfloat16, which this lowering handles like any float. */
    {"Mish", 18, lower_mish, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Gelu", 20, lower_gelu, NULL, {1, 1}, {1, 1}, "approximate:s", 20},
    {"Swish", 24, lower_swish, NULL, {1, 1}, {1, 1}, "alpha:f", 24},
    {0},
};
