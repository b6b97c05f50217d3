/* Element access by element type (see literal.h). */
#include "ir/literal.h"

#include <math.h>

double ir_elem_get_f(ir_type t, const void *d, int64_t i) {
  switch (t) {
    case IR_PRED: return ((const uint8_t *)d)[i] ? 1.0 : 0.0;
    case IR_I8: return ((const int8_t *)d)[i];
    case IR_I16: return ((const int16_t *)d)[i];
    case IR_I32: return ((const int32_t *)d)[i];
    case IR_I64: return (double)((const int64_t *)d)[i];
    case IR_U8: return ((const uint8_t *)d)[i];
    case IR_U16: return ((const uint16_t *)d)[i];
    case IR_U32: return ((const uint32_t *)d)[i];
    case IR_U64: return (double)((const uint64_t *)d)[i];
    case IR_F16: return ir_f16_to_f32(((const uint16_t *)d)[i]);
    case IR_BF16: return ir_bf16_to_f32(((const uint16_t *)d)[i]);
    case IR_F32: return ((const float *)d)[i];
    case IR_F64: return ((const double *)d)[i];
    default: return 0;
  }
}

int64_t ir_elem_get_i(ir_type t, const void *d, int64_t i) {
  switch (t) {
    case IR_PRED: return ((const uint8_t *)d)[i] != 0;
    case IR_I8: return ((const int8_t *)d)[i];
    case IR_I16: return ((const int16_t *)d)[i];
    case IR_I32: return ((const int32_t *)d)[i];
    case IR_I64: return ((const int64_t *)d)[i];
    case IR_U8: return ((const uint8_t *)d)[i];
    case IR_U16: return ((const uint16_t *)d)[i];
    case IR_U32: return ((const uint32_t *)d)[i];
    case IR_U64: return (int64_t)((const uint64_t *)d)[i];
    default: return (int64_t)ir_f64_to_int_bits(ir_elem_get_f(t, d, i), IR_I64);
  }
}

uint64_t ir_elem_get_u(ir_type t, const void *d, int64_t i) {
  if (t == IR_U64) return ((const uint64_t *)d)[i];
  return (uint64_t)ir_elem_get_i(t, d, i);
}

void ir_elem_set_f(ir_type t, void *d, int64_t i, double v) {
  switch (t) {
    case IR_F16: ((uint16_t *)d)[i] = ir_f64_to_f16(v); return;
    case IR_BF16: ((uint16_t *)d)[i] = ir_f64_to_bf16(v); return;
    case IR_F32: ((float *)d)[i] = (float)v; return;
    case IR_F64: ((double *)d)[i] = v; return;
    case IR_PRED: ((uint8_t *)d)[i] = v != 0; return;
    default: break;
  }
  /* Integers: convert's rule, never the undefined C conversion. */
  ir_elem_set_u(t, d, i, ir_f64_to_int_bits(v, t));
}

void ir_elem_set_i(ir_type t, void *d, int64_t i, int64_t v) {
  switch (t) {
    case IR_PRED: ((uint8_t *)d)[i] = v != 0; return;
    case IR_I8: ((int8_t *)d)[i] = (int8_t)v; return;
    case IR_I16: ((int16_t *)d)[i] = (int16_t)v; return;
    case IR_I32: ((int32_t *)d)[i] = (int32_t)v; return;
    case IR_I64: ((int64_t *)d)[i] = v; return;
    case IR_U8: ((uint8_t *)d)[i] = (uint8_t)v; return;
    case IR_U16: ((uint16_t *)d)[i] = (uint16_t)v; return;
    case IR_U32: ((uint32_t *)d)[i] = (uint32_t)v; return;
    case IR_U64: ((uint64_t *)d)[i] = (uint64_t)v; return;
    default: ir_elem_set_f(t, d, i, (double)v); return;
  }
}

void ir_elem_set_u(ir_type t, void *d, int64_t i, uint64_t v) {
  if (ir_type_is_float(t)) ir_elem_set_f(t, d, i, (double)v);
  else ir_elem_set_i(t, d, i, (int64_t)v);
}

uint64_t ir_f64_to_int_bits(double v, ir_type t) {
  if (isnan(v)) return 0;
  int b = ir_type_bits(t);
  double tv = trunc(v);
  if (ir_type_is_unsigned(t)) {
    if (tv <= 0) return 0;
    if (tv >= ldexp(1.0, b)) return b == 64 ? UINT64_MAX : (1ull << b) - 1; /* 2^b, exactly */
    return (uint64_t)tv;
  }
  double lim = ldexp(1.0, b - 1);
  if (tv >= lim) return (uint64_t)(b == 64 ? INT64_MAX : (int64_t)(lim - 1));
  if (tv < -lim) return (uint64_t)(b == 64 ? INT64_MIN : -(int64_t)lim);
  return (uint64_t)(int64_t)tv;
}
