/*
 * Linear quantization ONNX ops as float arithmetic: QuantizeLinear,
 * DequantizeLinear, DynamicQuantizeLinear.
 *
 *   quantize:    y = saturate(round_half_even(x / scale) + zero_point)
 *   dequantize:  y = (x - zero_point) * scale
 * in f32. Scale and zero point are scalars (per tensor) or, from opset 13,
 * 1-D along `axis` (per channel). The quantized type is the zero point's
 * (uint8 when it is absent); saturation clamps to that type's range before
 * the (then exact) conversion.
 */
#include <string.h>

#include "frontend/onnx/ox.h"

/* Brings a scale or zero point (scalar or 1-D along the node's `axis`) to
 * like's dims, converted to f32. The axis attribute is read only for a
 * per-axis parameter. */
static ir_id per_axis(ox_ctx *cx, const ox_node *n, ir_id v, ir_id like, const char *what) {
  ir_shape sv = ox_shape(cx, v), sl = ox_shape(cx, like);
  int64_t axis = -1;
  if (ir_shape_elements(&sv) != 1 || sv.rank > 1) {
    bool ok = true;
    axis = n->opset >= 13 ? ox_attr_int(cx, n, "axis", 1, &ok) : 1;
    if (!ok || !ox_axis(cx, n, axis, sl.rank, false, &axis)) return IR_NONE;
  }
  return ox_quant_param(cx, n, ir_convert(&cx->b, v, IR_F32), IR_F32, sl.rank, sl.dims, (int)axis, what);
}

static bool quantized_type(ox_ctx *cx, const ox_node *n, ir_type t) {
  if (t == IR_U8 || t == IR_I8) return true;
  return ox_unsupported(cx, n, "quantized type %s is not supported (uint8 and int8 are)", ir_type_name(t));
}

/* round, add the zero point, saturate, convert: q is f32 x / scale. */
static ir_id saturate(ox_ctx *cx, ir_id q, ir_id zp_f32, ir_type t) {
  q = ir_unary(&cx->b, IR_OP_ROUND, q);
  if (zp_f32 != IR_NONE) q = ir_binary(&cx->b, IR_OP_ADD, q, zp_f32);
  double lo = t == IR_U8 ? 0 : -128, hi = t == IR_U8 ? 255 : 127;
  q = ir_clamp(&cx->b, ox_scalar(cx, IR_F32, lo), q, ox_scalar(cx, IR_F32, hi));
  return ir_convert(&cx->b, q, t);
}

static bool lower_quantize(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0], zp = n->nin > 2 ? n->in[2] : IR_NONE;
  ir_type t = zp != IR_NONE ? ox_shape(cx, zp).type : IR_U8;
  if (!quantized_type(cx, n, t)) return false;
  ir_type tx = ox_shape(cx, x).type;
  if (tx != IR_F32 && tx != IR_I32) return ox_unsupported(cx, n, "input type %s is not supported (float and int32 are)", ir_type_name(tx));
  x = ir_convert(&cx->b, x, IR_F32);
  ir_id scale = per_axis(cx, n, n->in[1], x, "the scale");
  ir_id zpf = zp != IR_NONE ? per_axis(cx, n, zp, x, "the zero point") : IR_NONE;
  if (scale == IR_NONE || (zp != IR_NONE && zpf == IR_NONE)) return false;
  n->out[0] = saturate(cx, ir_binary(&cx->b, IR_OP_DIV, x, scale), zpf, t);
  return n->out[0] != IR_NONE;
}

static bool lower_dequantize(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0], zp = n->nin > 2 ? n->in[2] : IR_NONE;
  ir_type tx = ox_shape(cx, x).type;
  if (tx != IR_U8 && tx != IR_I8 && tx != IR_I32)
    return ox_unsupported(cx, n, "input type %s is not supported (uint8, int8 and int32 are)", ir_type_name(tx));
  if (zp != IR_NONE && ox_shape(cx, zp).type != tx)
    return ox_error(cx, n, "the zero point's type %s differs from the input's %s", ir_type_name(ox_shape(cx, zp).type), ir_type_name(tx));
  ir_id xf = ir_convert(&cx->b, x, IR_F32);
  ir_id scale = per_axis(cx, n, n->in[1], xf, "the scale");
  if (scale == IR_NONE) return false;
  if (zp != IR_NONE) {
    ir_id zpf = per_axis(cx, n, zp, xf, "the zero point");
    if (zpf == IR_NONE) return false;
    xf = ir_binary(&cx->b, IR_OP_SUB, xf, zpf);
  }
  n->out[0] = ir_binary(&cx->b, IR_OP_MUL, xf, scale);
  return n->out[0] != IR_NONE;
}

/* DynamicQuantizeLinear: uint8 with scale = (max(0, max x) - min(0, min x))
 * / 255 and zero point = saturate(round(-min(0, min x) / scale)). */
static bool lower_dynamic_quantize(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "the input")) return false;
  ir_id x = ir_convert(&cx->b, n->in[0], IR_F32);
  ir_shape s_v = ox_shape(cx, x);
  const ir_shape *s = &s_v;
  int64_t all[IR_MAX_RANK], dims[IR_MAX_RANK];
  memcpy(dims, s->dims, sizeof dims);
  for (int i = 0; i < s->rank; i++) all[i] = i;
  ir_id zero = ox_scalar(cx, IR_F32, 0);
  ir_id hi = ir_binary(&cx->b, IR_OP_MAX, zero, ir_reduce(&cx->b, x, s->rank, all, IR_COMB_MAX));
  ir_id lo = ir_binary(&cx->b, IR_OP_MIN, zero, ir_reduce(&cx->b, x, s->rank, all, IR_COMB_MIN));
  ir_id scale = ir_binary(&cx->b, IR_OP_DIV, ir_binary(&cx->b, IR_OP_SUB, hi, lo), ox_scalar(cx, IR_F32, 255));
  ir_id zpf = ir_unary(&cx->b, IR_OP_ROUND, ir_binary(&cx->b, IR_OP_DIV, ir_unary(&cx->b, IR_OP_NEG, lo), scale));
  zpf = ir_clamp(&cx->b, ox_scalar(cx, IR_F32, 0), zpf, ox_scalar(cx, IR_F32, 255));
  ir_id q = ir_binary(&cx->b, IR_OP_DIV, x, ir_broadcast(&cx->b, scale, s->rank, dims, NULL));
  n->out[0] = saturate(cx, q, ir_broadcast(&cx->b, zpf, s->rank, dims, NULL), IR_U8);
  n->out[1] = scale;
  n->out[2] = ir_convert(&cx->b, zpf, IR_U8);
  return n->out[0] != IR_NONE && n->out[1] != IR_NONE && n->out[2] != IR_NONE;
}

const ox_op ox_ops_quant[] = {
    {"QuantizeLinear", 10, lower_quantize, NULL, {2, 3}, {1, 1}, "axis:i@13- saturate:i@19-", 19},
    {"DequantizeLinear", 10, lower_dequantize, NULL, {2, 3}, {1, 1}, "axis:i@13-", 0},
    {"DynamicQuantizeLinear", 11, lower_dynamic_quantize, NULL, {1, 1}, {3, 3}, NULL, 0},
    {0},
};
