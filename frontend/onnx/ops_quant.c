/*
 * Linear quantization ONNX ops as float arithmetic: QuantizeLinear,
 * DequantizeLinear (versions 10 to 25), DynamicQuantizeLinear.
 *
 *   quantize:    y = saturate(round_half_even(x / scale) + zero_point)
 *   dequantize:  y = (x - zero_point) * scale
 *
 * Granularity follows the scale's shape: one value (per tensor); from
 * opset 13 a 1-D tensor along `axis` (per axis); from opset 21, with
 * block_size B, x's shape with dimension `axis` cut to ceil(D / B) (blocked:
 * each value covers B consecutive indices, the last block what remains).
 * The zero point has the scale's shape.
 *
 * Types. QuantizeLinear's output is the zero point's type, else
 * output_dtype's (21+), else uint8; it divides in the scale's type (the
 * spec: the scale "determines the precision of the division") or, from 23,
 * in `precision`'s, then rounds, adds the zero point and saturates in f32
 * (f64 for f64 division), where every value of the quantized types is exact.
 * DequantizeLinear computes in f32, as the spec's reference does, and gives
 * f32 before opset 19, the scale's type from 19, output_dtype's from 23.
 * The float8, int4/uint4, float4 and int2/uint2 quantized types and the
 * float8e8m0 scale are element types kiln does not have: models using them
 * are refused where the tensor is read (naming the type), or here for an
 * output_dtype that names one.
 */
#include <string.h>

#include "frontend/onnx/ox.h"

/* How a scale and zero point map onto x: per tensor (axis < 0), per axis
 * (block 0) or blocked. */
typedef struct quant_gran {
  int axis;
  int64_t block;
} quant_gran;

static bool single_value(const ir_shape *s) { return ir_shape_elements(s) == 1; }

/* The granularity node n's scale (input 1) selects for x of shape xs. The
 * axis attribute is read only when the scale is not a single value, as it
 * is used only then (a rank-1 x with the default axis 1 is valid when it
 * is per tensor). */
static bool granularity(ox_ctx *cx, const ox_node *n, const ir_shape *xs, quant_gran *g) {
  ir_shape ss = ox_shape(cx, n->in[1]);
  bool ok = true;
  g->axis = -1;
  g->block = n->opset >= 21 ? ox_attr_int(cx, n, "block_size", 0, &ok) : 0;
  if (!ok) return false;
  if (g->block < 0) return ox_error(cx, n, "block_size is %lld; it must be positive (or 0: not blocked)", (long long)g->block);
  if (single_value(&ss)) return true;
  int64_t axis = n->opset >= 13 ? ox_attr_int(cx, n, "axis", 1, &ok) : 1;
  if (!ok || !ox_axis(cx, n, axis, xs->rank, false, &axis)) return false;
  g->axis = (int)axis;
  return true;
}

/* A blocked parameter p checked against x's shape: x's dims except along
 * the axis, where ceil(D / B) values. */
static bool check_blocked(ox_ctx *cx, const ox_node *n, const ir_shape *ps, const ir_shape *xs, const quant_gran *g,
                          const char *what) {
  int64_t d = xs->dims[g->axis], want = d / g->block + (d % g->block != 0);
  bool same = ps->rank == xs->rank;
  for (int i = 0; same && i < ps->rank; i++) same = ps->dims[i] == (i == g->axis ? want : xs->dims[i]);
  if (same) return true;
  char pb[160], xb[160];
  return ox_error(cx, n,
                  "%s is %s; blocked quantization of x %s with block_size %lld along axis %d needs x's shape with "
                  "dimension %d of %lld (ceil(%lld / %lld))",
                  what, ir_shape_str(ps, pb, sizeof pb), ir_shape_str(xs, xb, sizeof xb), (long long)g->block, g->axis,
                  g->axis, (long long)want, (long long)d, (long long)g->block);
}

/* Repeats each value of the checked blocked parameter p B times along the
 * axis and cuts the result to x's dims. Done on the rank-3 view
 * [outer, S, inner] (broadcast to [outer, S, B, inner], merged, sliced) so
 * that x of any rank works; B larger than D is cut to D first (the scale
 * then has one value along the axis), which keeps S * B within 2 * D. */
static ir_id expand_blocks(ox_ctx *cx, ir_id p, const ir_shape *xs, const quant_gran *g) {
  int64_t outer = 1, inner = 1, d = xs->dims[g->axis];
  for (int i = 0; i < xs->rank; i++) {
    if (i < g->axis) outer *= xs->dims[i];
    if (i > g->axis) inner *= xs->dims[i];
  }
  int64_t s = ox_shape(cx, p).dims[g->axis], b = g->block < d ? g->block : d;
  int64_t d3[3] = {outer, s, inner}, d4[4] = {outer, s, b, inner}, map[3] = {0, 1, 3}, m3[3] = {outer, s * b, inner};
  p = ir_broadcast(&cx->b, ox_reshape(cx, p, 3, d3), 4, d4, map);
  p = ox_reshape(cx, p, 3, m3);
  if (s * b != d) p = ox_slice_axis(cx, p, 1, 0, d, 1);
  return ox_reshape(cx, p, xs->rank, xs->dims);
}

/* A scale or zero point p converted to type t and brought to x's dims
 * (shape xs) as granularity g says; IR_NONE after reporting. */
static ir_id expand_param(ox_ctx *cx, const ox_node *n, ir_id p, ir_type t, const ir_shape *xs, const quant_gran *g,
                          const char *what) {
  ir_shape ps = ox_shape(cx, p);
  if (single_value(&ps)) return ir_broadcast(&cx->b, ox_reshape(cx, ir_convert(&cx->b, p, t), 0, NULL), xs->rank, xs->dims, NULL);
  if (g->axis < 0) {
    char pb[160];
    ox_error(cx, n, "%s is %s but the scale is a single value; the zero point must have the scale's shape", what,
             ir_shape_str(&ps, pb, sizeof pb));
    return IR_NONE;
  }
  if (g->block == 0) return ox_quant_param(cx, n, p, t, xs->rank, xs->dims, g->axis, what);
  if (!check_blocked(cx, n, &ps, xs, g, what)) return IR_NONE;
  return expand_blocks(cx, ir_convert(&cx->b, p, t), xs, g);
}

/* The integer types a quantized tensor may have in kiln, with their
 * saturation range. */
static bool quant_range(ir_type t, double *lo, double *hi) {
  switch (t) {
    case IR_U8: *lo = 0, *hi = 255; return true;
    case IR_I8: *lo = -128, *hi = 127; return true;
    case IR_U16: *lo = 0, *hi = 65535; return true;
    case IR_I16: *lo = -32768, *hi = 32767; return true;
    default: return false;
  }
}

static bool is_float_type(ir_type t) { return t == IR_F32 || t == IR_F16 || t == IR_BF16; }

/* An attribute naming a TensorProto.DataType, as one (-1: none there is). */
static int32_t onnx_dtype(int64_t v) { return v < 0 || v > INT32_MAX ? -1 : (int32_t)v; }

/* QuantizeLinear's output type: the zero point's, else output_dtype's
 * (opset 21+), else uint8; both given must agree. */
static bool quantize_output_type(ox_ctx *cx, const ox_node *n, ir_id zp, ir_type *t) {
  bool ok = true;
  int64_t dt = n->opset >= 21 ? ox_attr_int(cx, n, "output_dtype", 0, &ok) : 0;
  if (!ok) return false;
  ir_type td = IR_U8;
  double lo, hi;
  if (dt != 0 && (!ox_type_from_onnx(onnx_dtype(dt), &td) || !quant_range(td, &lo, &hi)))
    return ox_unsupported(cx, n, "output_dtype %s is not supported (uint8, int8, uint16 and int16 are)",
                          ox_onnx_type_name(onnx_dtype(dt)));
  *t = zp != IR_NONE ? ox_shape(cx, zp).type : td;
  if (zp != IR_NONE && dt != 0 && td != *t)
    return ox_error(cx, n, "output_dtype %s differs from the zero point's type %s", ir_type_name(td), ir_type_name(*t));
  if (!quant_range(*t, &lo, &hi))
    return ox_unsupported(cx, n, "quantized type %s is not supported (uint8, int8, uint16 and int16 are)", ir_type_name(*t));
  return true;
}

/* The type QuantizeLinear divides in: `precision` (opset 23+) when given,
 * else the scale's; an int32 scale (valid from opset 19 with int32 x)
 * divides in f64, a true division as exact as the int32 operands. */
static bool division_type(ox_ctx *cx, const ox_node *n, ir_type ts, ir_type *p) {
  bool ok = true;
  int64_t prec = n->opset >= 23 ? ox_attr_int(cx, n, "precision", 0, &ok) : 0;
  if (!ok) return false;
  *p = ts == IR_I32 ? IR_F64 : ts;
  if (prec == 0) return true;
  if (!ox_type_from_onnx(onnx_dtype(prec), p) || !(is_float_type(*p) || *p == IR_F64))
    return ox_unsupported(cx, n, "precision %s is not supported (float, float16, bfloat16 and double are)",
                          ox_onnx_type_name(onnx_dtype(prec)));
  return true;
}

static bool lower_quantize(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0], zp = n->nin > 2 ? n->in[2] : IR_NONE;
  ir_type t = IR_U8, p = IR_F32, tx = ox_shape(cx, x).type, ts = ox_shape(cx, n->in[1]).type;
  if (!quantize_output_type(cx, n, zp, &t)) return false;
  if (!is_float_type(tx) && tx != IR_I32)
    return ox_unsupported(cx, n, "input x has type %s (float, float16, bfloat16 and int32 are supported)", ir_type_name(tx));
  if (!is_float_type(ts) && ts != IR_I32)
    return ox_unsupported(cx, n, "the scale has type %s (float, float16, bfloat16 and int32 are supported)", ir_type_name(ts));
  if (!division_type(cx, n, ts, &p)) return false;
  ir_shape xs = ox_shape(cx, x);
  quant_gran g;
  if (!granularity(cx, n, &xs, &g)) return false;
  ir_id scale = expand_param(cx, n, n->in[1], p, &xs, &g, "the scale");
  if (scale == IR_NONE) return false;
  /* Rounding, the zero point and saturation in a type wide enough that
   * every quantized value is exact (the conversion from p is exact too). */
  ir_type w = p == IR_F64 ? IR_F64 : IR_F32;
  ir_id q = ir_convert(&cx->b, ir_binary(&cx->b, IR_OP_DIV, ir_convert(&cx->b, x, p), scale), w);
  q = ir_unary(&cx->b, IR_OP_ROUND, q);
  if (zp != IR_NONE) {
    ir_id zpw = expand_param(cx, n, zp, w, &xs, &g, "the zero point");
    if (zpw == IR_NONE) return false;
    q = ir_binary(&cx->b, IR_OP_ADD, q, zpw);
  }
  double lo = 0, hi = 0;
  quant_range(t, &lo, &hi);
  q = ir_clamp(&cx->b, ox_scalar(cx, w, lo), q, ox_scalar(cx, w, hi));
  n->out[0] = ir_convert(&cx->b, q, t);
  return n->out[0] != IR_NONE;
}

/* DequantizeLinear's output type: f32 before opset 19 (the only scale type
 * then), the scale's from 19, output_dtype's (23+) when given. */
static bool dequantize_output_type(ox_ctx *cx, const ox_node *n, ir_type ts, ir_type *t) {
  bool ok = true;
  int64_t dt = n->opset >= 23 ? ox_attr_int(cx, n, "output_dtype", 0, &ok) : 0;
  if (!ok) return false;
  *t = n->opset >= 19 ? ts : IR_F32;
  if (dt != 0 && (!ox_type_from_onnx(onnx_dtype(dt), t) || !is_float_type(*t)))
    return ox_unsupported(cx, n, "output_dtype %s is not supported (float, float16 and bfloat16 are)",
                          ox_onnx_type_name(onnx_dtype(dt)));
  return true;
}

static bool lower_dequantize(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0], zp = n->nin > 2 ? n->in[2] : IR_NONE;
  ir_type t = IR_F32, tx = ox_shape(cx, x).type, ts = ox_shape(cx, n->in[1]).type;
  double lo, hi;
  if (!quant_range(tx, &lo, &hi) && tx != IR_I32)
    return ox_unsupported(cx, n, "input x has type %s (uint8, int8, uint16, int16 and int32 are supported)", ir_type_name(tx));
  if (zp != IR_NONE && ox_shape(cx, zp).type != tx)
    return ox_error(cx, n, "the zero point's type %s differs from the input's %s", ir_type_name(ox_shape(cx, zp).type), ir_type_name(tx));
  if (!is_float_type(ts))
    return ox_unsupported(cx, n, "the scale has type %s (float, float16 and bfloat16 are supported)", ir_type_name(ts));
  if (!dequantize_output_type(cx, n, ts, &t)) return false;
  ir_shape xs = ox_shape(cx, x);
  quant_gran g;
  if (!granularity(cx, n, &xs, &g)) return false;
  /* f32 holds every int8/int16 value exactly; int32 beyond 2^24 rounds, as
   * in the spec's reference, which converts x to float32 too. */
  ir_id xf = ir_convert(&cx->b, x, IR_F32);
  ir_id scale = expand_param(cx, n, n->in[1], IR_F32, &xs, &g, "the scale");
  if (scale == IR_NONE) return false;
  if (zp != IR_NONE) {
    ir_id zpf = expand_param(cx, n, zp, IR_F32, &xs, &g, "the zero point");
    if (zpf == IR_NONE) return false;
    xf = ir_binary(&cx->b, IR_OP_SUB, xf, zpf);
  }
  n->out[0] = ir_convert(&cx->b, ir_binary(&cx->b, IR_OP_MUL, xf, scale), t);
  return n->out[0] != IR_NONE;
}

/* DynamicQuantizeLinear's uint8 result: round, add the zero point,
 * saturate, convert; q is f32 x / scale. */
static ir_id saturate(ox_ctx *cx, ir_id q, ir_id zp_f32, ir_type t) {
  q = ir_unary(&cx->b, IR_OP_ROUND, q);
  if (zp_f32 != IR_NONE) q = ir_binary(&cx->b, IR_OP_ADD, q, zp_f32);
  double lo = t == IR_U8 ? 0 : -128, hi = t == IR_U8 ? 255 : 127;
  q = ir_clamp(&cx->b, ox_scalar(cx, IR_F32, lo), q, ox_scalar(cx, IR_F32, hi));
  return ir_convert(&cx->b, q, t);
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
    {"QuantizeLinear", 10, lower_quantize, NULL, {2, 3}, {1, 1},
     "axis:i@13- saturate:i@19- block_size:i@21- output_dtype:i@21- precision:i@23-", 25},
    {"DequantizeLinear", 10, lower_dequantize, NULL, {2, 3}, {1, 1}, "axis:i@13- block_size:i@21- output_dtype:i@23-", 25},
    {"DynamicQuantizeLinear", 11, lower_dynamic_quantize, NULL, {1, 1}, {3, 3}, NULL, 0},
    {0},
};
