/*
 * Elementwise ONNX ops: arithmetic, math, comparison, logic, activations,
 * casts. Binary ops use NumPy broadcasting (ox_binary).
 */
#include "frontend/onnx/ox.h"

static bool binary(ox_ctx *cx, ox_node *n, ir_op op) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  n->out[0] = ox_binary(cx, n, op, n->in[0], n->in[1]);
  return n->out[0] != IR_NONE;
}

static bool lower_add(ox_ctx *cx, ox_node *n) { return binary(cx, n, IR_OP_ADD); }
static bool lower_sub(ox_ctx *cx, ox_node *n) { return binary(cx, n, IR_OP_SUB); }
static bool lower_mul(ox_ctx *cx, ox_node *n) { return binary(cx, n, IR_OP_MUL); }
static bool lower_div(ox_ctx *cx, ox_node *n) { return binary(cx, n, IR_OP_DIV); }

static bool lower_relu(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  n->out[0] = ir_binary(&cx->b, IR_OP_MAX, x, ox_full_like(cx, x, ox_shape(cx, x)->type, 0));
  return n->out[0] != IR_NONE;
}

const ox_op ox_ops_elementwise[] = {
    {"Add", OX_MIN_OPSET, lower_add, NULL},
    {"Sub", OX_MIN_OPSET, lower_sub, NULL},
    {"Mul", OX_MIN_OPSET, lower_mul, NULL},
    {"Div", OX_MIN_OPSET, lower_div, NULL},
    {"Relu", OX_MIN_OPSET, lower_relu, NULL},
    {NULL, 0, NULL, NULL},
};
