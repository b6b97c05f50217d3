/*
 * Elementwise ONNX ops: arithmetic, math, comparison, logic, casts, Where,
 * Clip. Activations are in ops_activation.c.
 *
 * Binary and variadic ops use NumPy broadcasting (opset >= 7; below that,
 * the legacy broadcast/axis attributes through ox_legacy_broadcast). Every
 * lowering builds core IR ops only; semantics not obvious from the op name
 * are written beside the lowering, with the ONNX reference they follow.
 */
#include <math.h>

#include "frontend/onnx/ox.h"

/* ---- binary arithmetic ---- */

static bool binary(ox_ctx *cx, ox_node *n, ir_op op) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id b = n->in[1];
  if (!ox_legacy_broadcast(cx, n, n->in[0], &b)) return false;
  n->out[0] = ox_binary(cx, n, op, n->in[0], b);
  return n->out[0] != IR_NONE;
}

static bool lower_add(ox_ctx *cx, ox_node *n) { return binary(cx, n, IR_OP_ADD); }
static bool lower_sub(ox_ctx *cx, ox_node *n) { return binary(cx, n, IR_OP_SUB); }
static bool lower_mul(ox_ctx *cx, ox_node *n) { return binary(cx, n, IR_OP_MUL); }
/* Integer division truncates toward zero (as C and ONNX Runtime do; the
 * backend tests only divide unsigned integers, where floor and truncation
 * agree). */
static bool lower_div(ox_ctx *cx, ox_node *n) { return binary(cx, n, IR_OP_DIV); }

/* Mod: fmod=1 is C fmod (sign of the dividend; IR rem for both floats and
 * integers). fmod=0 is Python/NumPy's floor modulo (sign of the divisor):
 * r = a rem b, plus b when r is nonzero and its sign differs from b's. */
static bool lower_mod(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  bool ok = true;
  int64_t fmod_attr = ox_attr_int(cx, n, "fmod", 0, &ok);
  if (!ok) return false;
  ir_id a = n->in[0], b = n->in[1];
  ir_id r = ox_binary(cx, n, IR_OP_REM, a, b);
  if (r == IR_NONE) return false;
  ir_type t = ox_shape(cx, r).type;
  if (fmod_attr || ir_type_is_unsigned(t)) {
    n->out[0] = r;
    return true;
  }
  if (!ox_broadcast_pair(cx, n, &a, &b)) return false;
  ir_id zero = ox_full_like(cx, r, t, 0);
  ir_id nonzero = ir_compare(&cx->b, IR_CMP_NE, r, zero);
  ir_id rneg = ir_compare(&cx->b, IR_CMP_LT, r, zero), bneg = ir_compare(&cx->b, IR_CMP_LT, b, zero);
  ir_id differ = ir_compare(&cx->b, IR_CMP_NE, rneg, bneg);
  ir_id fix = ir_binary(&cx->b, IR_OP_AND, nonzero, differ);
  n->out[0] = ir_select(&cx->b, fix, ir_binary(&cx->b, IR_OP_ADD, r, b), r);
  return n->out[0] != IR_NONE;
}

/* Pow: the result has the base's type. From opset 12 the exponent may have
 * another type: a float base takes the exponent converted to its type; an
 * integer base with a float exponent is computed in f64 and converted back
 * (truncating, as NumPy's astype does in the reference). */
static bool lower_pow(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0], y = n->in[1];
  if (!ox_legacy_broadcast(cx, n, x, &y)) return false;
  ir_type tx = ox_shape(cx, x).type, ty = ox_shape(cx, y).type;
  if (tx == IR_PRED || ty == IR_PRED) return ox_unsupported(cx, n, "bool inputs are not supported");
  if (tx == ty) {
    n->out[0] = ox_binary(cx, n, IR_OP_POW, x, y);
  } else if (ir_type_is_float(tx) || !ir_type_is_float(ty)) {
    n->out[0] = ox_binary(cx, n, IR_OP_POW, x, ir_convert(&cx->b, y, tx));
  } else {
    ir_id p = ox_binary(cx, n, IR_OP_POW, ir_convert(&cx->b, x, IR_F64), ir_convert(&cx->b, y, IR_F64));
    n->out[0] = ir_convert(&cx->b, p, tx);
  }
  return n->out[0] != IR_NONE;
}

static bool shift_direction(ox_ctx *cx, const ox_node *n, ir_op *op) {
  static const char *const dirs[] = {"LEFT", "RIGHT", NULL};
  int k = ox_attr_choice(cx, n, "direction", "", dirs);
  if (k < 0) return false;
  *op = k == 0 ? IR_OP_SHL : IR_OP_SHR_L;
  return true;
}

static bool check_bitshift(ox_ctx *cx, const ox_node *n) {
  ir_op op;
  return shift_direction(cx, n, &op);
}

static bool lower_bitshift(ox_ctx *cx, ox_node *n) {
  ir_op op;
  if (!ox_need_inputs(cx, n, 2) || !shift_direction(cx, n, &op)) return false;
  if (!ir_type_is_unsigned(ox_shape(cx, n->in[0]).type))
    return ox_error(cx, n, "BitShift takes unsigned integers, not %s", ir_type_name(ox_shape(cx, n->in[0]).type));
  n->out[0] = ox_binary(cx, n, op, n->in[0], n->in[1]);
  return n->out[0] != IR_NONE;
}

/* ---- variadic ---- */

/* Sum, Max, Min, Mean: a left fold with NumPy broadcasting. */
static bool variadic(ox_ctx *cx, ox_node *n, ir_op op, bool mean) {
  int k = 0;
  ir_id acc = IR_NONE;
  for (int i = 0; i < n->nin; i++) {
    if (n->in[i] == IR_NONE) continue;
    acc = k++ ? ox_binary(cx, n, op, acc, n->in[i]) : n->in[i];
    if (acc == IR_NONE) return false;
  }
  if (!k) return ox_error(cx, n, "needs at least one input");
  if (mean && k > 1) {
    if (!ox_need_float(cx, n, acc, "the input")) return false;
    acc = ir_binary(&cx->b, IR_OP_DIV, acc, ox_full_like(cx, acc, ox_shape(cx, acc).type, k));
  }
  n->out[0] = acc;
  return acc != IR_NONE;
}

static bool lower_sum(ox_ctx *cx, ox_node *n) { return variadic(cx, n, IR_OP_ADD, false); }
static bool lower_mean(ox_ctx *cx, ox_node *n) { return variadic(cx, n, IR_OP_ADD, true); }
static bool lower_max(ox_ctx *cx, ox_node *n) { return variadic(cx, n, IR_OP_MAX, false); }
static bool lower_min(ox_ctx *cx, ox_node *n) { return variadic(cx, n, IR_OP_MIN, false); }

/* ---- unary ---- */

static bool unary(ox_ctx *cx, ox_node *n, ir_op op, bool float_only) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  if (float_only && !ox_need_float(cx, n, n->in[0], "the input")) return false;
  if (!float_only && ox_shape(cx, n->in[0]).type == IR_PRED)
    return ox_unsupported(cx, n, "bool input is not supported");
  n->out[0] = ir_unary(&cx->b, op, n->in[0]);
  return n->out[0] != IR_NONE;
}

#define UNARY(fn, op, float_only) \
  static bool fn(ox_ctx *cx, ox_node *n) { return unary(cx, n, op, float_only); }
UNARY(lower_neg, IR_OP_NEG, false)
UNARY(lower_abs, IR_OP_ABS, false)
UNARY(lower_sign, IR_OP_SIGN, false)
UNARY(lower_floor, IR_OP_FLOOR, true)
UNARY(lower_ceil, IR_OP_CEIL, true)
UNARY(lower_round, IR_OP_ROUND, true)
UNARY(lower_sqrt, IR_OP_SQRT, true)
UNARY(lower_exp, IR_OP_EXP, true)
UNARY(lower_log, IR_OP_LOG, true)
UNARY(lower_sin, IR_OP_SIN, true)
UNARY(lower_cos, IR_OP_COS, true)
UNARY(lower_tan, IR_OP_TAN, true)
UNARY(lower_asin, IR_OP_ASIN, true)
UNARY(lower_acos, IR_OP_ACOS, true)
UNARY(lower_atan, IR_OP_ATAN, true)
UNARY(lower_sinh, IR_OP_SINH, true)
UNARY(lower_cosh, IR_OP_COSH, true)
UNARY(lower_asinh, IR_OP_ASINH, true)
UNARY(lower_acosh, IR_OP_ACOSH, true)
UNARY(lower_atanh, IR_OP_ATANH, true)
UNARY(lower_erf, IR_OP_ERF, true)
#undef UNARY

static bool lower_reciprocal(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "the input")) return false;
  ir_id x = n->in[0];
  n->out[0] = ir_binary(&cx->b, IR_OP_DIV, ox_full_like(cx, x, ox_shape(cx, x).type, 1), x);
  return n->out[0] != IR_NONE;
}

static bool lower_isnan(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "the input")) return false;
  n->out[0] = ir_compare(&cx->b, IR_CMP_NE, n->in[0], n->in[0]);
  return n->out[0] != IR_NONE;
}

static bool lower_isinf(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "the input")) return false;
  bool ok = true;
  int64_t neg = ox_attr_int(cx, n, "detect_negative", 1, &ok), pos = ox_attr_int(cx, n, "detect_positive", 1, &ok);
  if (!ok) return false;
  ir_id x = n->in[0];
  ir_type t = ox_shape(cx, x).type;
  if (neg && pos) n->out[0] = ir_compare(&cx->b, IR_CMP_EQ, ir_unary(&cx->b, IR_OP_ABS, x), ox_full_like(cx, x, t, INFINITY));
  else if (pos) n->out[0] = ir_compare(&cx->b, IR_CMP_EQ, x, ox_full_like(cx, x, t, INFINITY));
  else if (neg) n->out[0] = ir_compare(&cx->b, IR_CMP_EQ, x, ox_full_like(cx, x, t, -INFINITY));
  else n->out[0] = ox_full_like(cx, x, IR_PRED, 0);
  return n->out[0] != IR_NONE;
}

/* ---- logic and comparison ---- */

static bool logical(ox_ctx *cx, ox_node *n, ir_op op) {
  if (!ox_need_inputs(cx, n, op == IR_OP_NOT ? 1 : 2)) return false;
  for (int i = 0; i < (op == IR_OP_NOT ? 1 : 2); i++)
    if (ox_shape(cx, n->in[i]).type != IR_PRED)
      return ox_error(cx, n, "input %d must be bool, not %s", i, ir_type_name(ox_shape(cx, n->in[i]).type));
  if (op == IR_OP_NOT) {
    n->out[0] = ir_unary(&cx->b, op, n->in[0]);
    return n->out[0] != IR_NONE;
  }
  return binary(cx, n, op);
}

static bool lower_not(ox_ctx *cx, ox_node *n) { return logical(cx, n, IR_OP_NOT); }
static bool lower_and(ox_ctx *cx, ox_node *n) { return logical(cx, n, IR_OP_AND); }
static bool lower_or(ox_ctx *cx, ox_node *n) { return logical(cx, n, IR_OP_OR); }
static bool lower_xor(ox_ctx *cx, ox_node *n) { return logical(cx, n, IR_OP_XOR); }

static bool compare(ox_ctx *cx, ox_node *n, ir_cmp dir) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id b = n->in[1];
  if (!ox_legacy_broadcast(cx, n, n->in[0], &b)) return false;
  n->out[0] = ox_compare(cx, n, dir, n->in[0], b);
  return n->out[0] != IR_NONE;
}

static bool lower_equal(ox_ctx *cx, ox_node *n) { return compare(cx, n, IR_CMP_EQ); }
static bool lower_greater(ox_ctx *cx, ox_node *n) { return compare(cx, n, IR_CMP_GT); }
static bool lower_less(ox_ctx *cx, ox_node *n) { return compare(cx, n, IR_CMP_LT); }
static bool lower_greater_equal(ox_ctx *cx, ox_node *n) { return compare(cx, n, IR_CMP_GE); }
static bool lower_less_equal(ox_ctx *cx, ox_node *n) { return compare(cx, n, IR_CMP_LE); }

static bool lower_where(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  ir_id v[3] = {n->in[0], n->in[1], n->in[2]};
  if (ox_shape(cx, v[0]).type != IR_PRED)
    return ox_error(cx, n, "the condition must be bool, not %s", ir_type_name(ox_shape(cx, v[0]).type));
  if (ox_shape(cx, v[1]).type != ox_shape(cx, v[2]).type)
    return ox_error(cx, n, "X and Y types differ: %s and %s", ir_type_name(ox_shape(cx, v[1]).type),
                    ir_type_name(ox_shape(cx, v[2]).type));
  if (!ox_broadcast_all(cx, n, v, 3)) return false;
  n->out[0] = ir_select(&cx->b, v[0], v[1], v[2]);
  return n->out[0] != IR_NONE;
}

/* Clip = min(max(x, lo), hi), as numpy.clip (so lo > hi gives hi). Bounds
 * are attributes up to opset 10 (floats only), optional scalar inputs from
 * opset 11; an absent bound does not clip. */
static bool lower_clip(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0], lo = IR_NONE, hi = IR_NONE;
  ir_type t = ox_shape(cx, x).type;
  if (t == IR_PRED) return ox_unsupported(cx, n, "bool input is not supported");
  if (n->opset < 11) {
    bool ok = true;
    if (ox_attr(n, "min")) lo = ox_scalar(cx, t, ox_attr_float(cx, n, "min", 0, &ok));
    if (ox_attr(n, "max")) hi = ox_scalar(cx, t, ox_attr_float(cx, n, "max", 0, &ok));
    if (!ok) return false;
  } else {
    for (int i = 1; i <= 2; i++) {
      ir_id b = i < n->nin ? n->in[i] : IR_NONE;
      if (b == IR_NONE) continue;
      ir_shape s_v = ox_shape(cx, b);
      const ir_shape *s = &s_v;
      if (ir_shape_elements(s) != 1) return ox_error(cx, n, "input %d (the %s) must be a scalar", i, i == 1 ? "minimum" : "maximum");
      if (s->type != t) return ox_error(cx, n, "the bounds must have the input's type %s, not %s", ir_type_name(t), ir_type_name(s->type));
      b = ox_reshape(cx, b, 0, NULL);
      if (i == 1) lo = b;
      else hi = b;
    }
  }
  if (lo != IR_NONE) x = ox_binary(cx, n, IR_OP_MAX, x, lo);
  if (hi != IR_NONE) x = ox_binary(cx, n, IR_OP_MIN, x, hi);
  n->out[0] = x;
  return x != IR_NONE;
}

/* ---- casts ---- */

static bool check_cast(ox_ctx *cx, const ox_node *n) {
  bool ok = true;
  int64_t to = ox_attr_int(cx, n, "to", 0, &ok);
  if (!ok) return false;
  if (!ox_attr(n, "to")) return ox_error(cx, n, "attribute 'to' is required");
  ir_type t;
  if (!ox_type_from_onnx((int32_t)to, &t))
    return ox_error(cx, n, "casting to %s is not supported", ox_onnx_type_name((int32_t)to));
  return true;
}

static bool lower_cast(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  int64_t to = ox_attr_int(cx, n, "to", 0, &ok);
  ir_type t;
  if (!ok || !ox_type_from_onnx((int32_t)to, &t)) return ox_unsupported(cx, n, "casting to %s is not supported", ox_onnx_type_name((int32_t)to));
  n->out[0] = ox_shape(cx, n->in[0]).type == t ? n->in[0] : ir_convert(&cx->b, n->in[0], t);
  return n->out[0] != IR_NONE;
}

static bool lower_cast_like(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_type t = ox_shape(cx, n->in[1]).type;
  n->out[0] = ox_shape(cx, n->in[0]).type == t ? n->in[0] : ir_convert(&cx->b, n->in[0], t);
  return n->out[0] != IR_NONE;
}

/* Opset notes: Add/Sub/Mul/Div/Pow/And/Or/Xor/Equal/Greater/Less before
 * opset 7 broadcast only with broadcast=1 (handled); the unary math ops
 * are unchanged since opset 6 (earlier versions only add consumed_inputs,
 * which is ignored). */
const ox_op ox_ops_elementwise[] = {
    {"Add", 1, lower_add, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6 consumed_inputs:I@-5", 0},
    {"Sub", 1, lower_sub, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6 consumed_inputs:I@-5", 0},
    {"Mul", 1, lower_mul, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6 consumed_inputs:I@-5", 0},
    {"Div", 1, lower_div, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6 consumed_inputs:I@-5", 0},
    {"Mod", 10, lower_mod, NULL, {2, 2}, {1, 1}, "fmod:i", 0},
    {"Pow", 1, lower_pow, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6", 0},
    {"BitShift", 11, lower_bitshift, check_bitshift, {2, 2}, {1, 1}, "direction:s", 0},
    {"Sum", 1, lower_sum, NULL, {1, OX_MAX_IO}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Mean", 1, lower_mean, NULL, {1, OX_MAX_IO}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Max", 1, lower_max, NULL, {1, OX_MAX_IO}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Min", 1, lower_min, NULL, {1, OX_MAX_IO}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Neg", 1, lower_neg, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Abs", 1, lower_abs, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Sign", 9, lower_sign, NULL, {1, 1}, {1, 1}, NULL, 0},
    {"Reciprocal", 1, lower_reciprocal, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Floor", 1, lower_floor, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Ceil", 1, lower_ceil, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Round", 11, lower_round, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Sqrt", 1, lower_sqrt, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Exp", 1, lower_exp, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Log", 1, lower_log, NULL, {1, 1}, {1, 1}, "consumed_inputs:I@-5", 0},
    {"Sin", 7, lower_sin, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Cos", 7, lower_cos, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Tan", 7, lower_tan, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Asin", 7, lower_asin, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Acos", 7, lower_acos, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Atan", 7, lower_atan, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Sinh", 9, lower_sinh, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Cosh", 9, lower_cosh, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Asinh", 9, lower_asinh, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Acosh", 9, lower_acosh, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Atanh", 9, lower_atanh, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"Erf", 9, lower_erf, NULL, {1, 1}, {1, 1}, NULL, 0},
    {"IsNaN", 9, lower_isnan, NULL, {1, 1}, {1, 1}, NULL, 20},
    {"IsInf", 10, lower_isinf, NULL, {1, 1}, {1, 1}, "detect_negative:i detect_positive:i", 20},
    {"Not", 1, lower_not, NULL, {1, 1}, {1, 1}, NULL, 0},
    {"And", 1, lower_and, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6", 0},
    {"Or", 1, lower_or, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6", 0},
    {"Xor", 1, lower_xor, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6", 0},
    {"Equal", 1, lower_equal, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6", 19},
    {"Greater", 1, lower_greater, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6", 0},
    {"Less", 1, lower_less, NULL, {2, 2}, {1, 1}, "axis:i@-6 broadcast:i@-6", 0},
    {"GreaterOrEqual", 12, lower_greater_equal, NULL, {2, 2}, {1, 1}, NULL, 0},
    {"LessOrEqual", 12, lower_less_equal, NULL, {2, 2}, {1, 1}, NULL, 0},
    {"Where", 9, lower_where, NULL, {3, 3}, {1, 1}, NULL, 0},
    {"Clip", 1, lower_clip, NULL, {1, 3}, {1, 1}, "consumed_inputs:I@-5 max:f@-10 min:f@-10", 0},
    /* Cast-1 named the type by a string. Versions 19 to 25 add element types
     * (float8s, int4, float4, float8e8m0, int2), which kiln refuses, and the
     * attributes saturate (19) and round_mode (with float8e8m0, accepted from
     * 24), which only affect casts to float8 types: nothing to do. */
    {"Cast", 6, lower_cast, check_cast, {1, 1}, {1, 1}, "round_mode:s@24- saturate:i@19- to:i", 25},
    {"CastLike", 15, lower_cast_like, NULL, {2, 2}, {1, 1}, "round_mode:s@24- saturate:i@19-", 25},
    {0},
};
