/*
 * Element types and shapes: names, sizes, classes, layouts, and the
 * half-precision conversions the interpreter and the literal parser need.
 */
#include "ir/types.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  size_t size;
  char cls;
} type_info[] = {
#define X(e, s, n, c) {s, n, c},
    IR_TYPES(X)
#undef X
};

const char *ir_type_name(ir_type t) {
  return (unsigned)t < IR_TYPE_COUNT ? type_info[t].name : "?";
}

bool ir_type_from_name(const char *s, size_t n, ir_type *out) {
  for (int t = 0; t < IR_TYPE_COUNT; t++) {
    if (t == IR_TUPLE) continue;
    if (strlen(type_info[t].name) == n && memcmp(type_info[t].name, s, n) == 0) {
      *out = (ir_type)t;
      return true;
    }
  }
  return false;
}

size_t ir_type_size(ir_type t) { return (unsigned)t < IR_TYPE_COUNT ? type_info[t].size : 0; }
bool ir_type_is_float(ir_type t) { return (unsigned)t < IR_TYPE_COUNT && type_info[t].cls == 'f'; }
bool ir_type_is_signed(ir_type t) {
  return (unsigned)t < IR_TYPE_COUNT && (type_info[t].cls == 's' || type_info[t].cls == 'f');
}
bool ir_type_is_unsigned(ir_type t) { return (unsigned)t < IR_TYPE_COUNT && type_info[t].cls == 'u'; }
bool ir_type_is_int(ir_type t) {
  return (unsigned)t < IR_TYPE_COUNT && (type_info[t].cls == 's' || type_info[t].cls == 'u');
}
bool ir_type_is_pred(ir_type t) { return t == IR_PRED; }
int ir_type_bits(ir_type t) { return t == IR_PRED ? 1 : (int)ir_type_size(t) * 8; }

void ir_shape_set_default_layout(ir_shape *s) {
  for (int i = 0; i < s->rank; i++) s->minor_to_major[i] = (uint8_t)(s->rank - 1 - i);
  s->panel = 0;
  s->panel_dim = 0;
}

bool ir_shape_has_default_layout(const ir_shape *s) {
  if (s->panel) return false;
  for (int i = 0; i < s->rank; i++)
    if (s->minor_to_major[i] != s->rank - 1 - i) return false;
  return true;
}

ir_shape ir_shape_make(ir_type t, int rank, const int64_t *dims) {
  ir_shape s;
  memset(&s, 0, sizeof s);
  s.type = t;
  s.rank = (uint8_t)rank;
  for (int i = 0; i < rank; i++) s.dims[i] = dims ? dims[i] : 0;
  ir_shape_set_default_layout(&s);
  return s;
}

ir_shape ir_shape_scalar(ir_type t) { return ir_shape_make(t, 0, NULL); }

int64_t ir_shape_elements(const ir_shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->dims[i] == 0) return 0;
  }
  for (int i = 0; i < s->rank; i++) {
    if (s->dims[i] < 0 || n > INT64_MAX / s->dims[i]) return INT64_MAX;
    n *= s->dims[i];
  }
  return n;
}

int64_t ir_shape_bytes(const ir_shape *s) {
  int64_t n = ir_shape_elements(s);
  int64_t sz = (int64_t)ir_type_size(s->type);
  if (n == INT64_MAX || (sz && n > INT64_MAX / sz)) return -1;
  return n * sz;
}

int64_t ir_shape_phys_bytes(const ir_shape *s) {
  if (!s->panel || s->panel_dim >= s->rank) return ir_shape_bytes(s);
  ir_shape t = *s;
  int64_t d = t.dims[t.panel_dim], p = t.panel;
  if (d > INT64_MAX - p) return -1;
  t.dims[t.panel_dim] = (d + p - 1) / p * p; /* the last panel is padded */
  return ir_shape_bytes(&t);
}

bool ir_shape_is_static(const ir_shape *s) {
  for (int i = 0; i < s->rank; i++)
    if (s->sym[i]) return false;
  return true;
}

bool ir_shape_same_dims(const ir_shape *a, const ir_shape *b) {
  if (a->type != b->type || a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i] || a->sym[i] != b->sym[i]) return false;
  return true;
}

bool ir_shape_same_layout(const ir_shape *a, const ir_shape *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i] || a->sym[i] != b->sym[i] || a->minor_to_major[i] != b->minor_to_major[i])
      return false;
  return a->panel == b->panel && (!a->panel || a->panel_dim == b->panel_dim);
}

bool ir_shape_equal(const ir_shape *a, const ir_shape *b) {
  return a->type == b->type && ir_shape_same_layout(a, b);
}

bool ir_shape_layout_valid(const ir_shape *s) {
  unsigned seen = 0;
  for (int i = 0; i < s->rank; i++) {
    unsigned d = s->minor_to_major[i];
    if (d >= s->rank || (seen & (1u << d))) return false;
    seen |= 1u << d;
  }
  if (s->panel < 0) return false;
  return !s->panel || s->panel_dim < s->rank;
}

char *ir_shape_str(const ir_shape *s, char *buf, size_t n) {
  size_t k = 0;
#define PUT(...)                                                  \
  do {                                                            \
    int w_ = snprintf(buf + k, k < n ? n - k : 0, __VA_ARGS__);   \
    if (w_ > 0) k += (size_t)w_;                                  \
  } while (0)
  PUT("%s[", ir_type_name(s->type));
  for (int i = 0; i < s->rank; i++)
    PUT(s->sym[i] ? "%s?<=%lld" : "%s%lld", i ? "," : "", (long long)s->dims[i]);
  PUT("]");
  if (s->rank > 0) {
    PUT("{");
    for (int i = 0; i < s->rank; i++) PUT("%s%d", i ? "," : "", s->minor_to_major[i]);
    if (s->panel) PUT(":P(%d,%d)", s->panel_dim, (int)s->panel);
    PUT("}");
  }
#undef PUT
  if (n && k >= n) buf[n - 1] = 0;
  return buf;
}

void ir_shape_strides(const ir_shape *s, int64_t *strides) {
  /* Unsigned so that a shape with a zero dimension and huge others (whose
   * strides are never used to address anything) cannot overflow. */
  uint64_t st = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    strides[i] = (int64_t)st;
    st *= (uint64_t)s->dims[i];
  }
}

/* IEEE binary16 <-> binary32, bit-exact, round to nearest even. */
float ir_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t man = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: normalise */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t ir_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t)((x >> 23) & 0xff);
  uint32_t man = x & 0x7fffff;
  if (exp == 255) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
  int32_t e = exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    man |= 0x800000;
    int shift = 14 - e;
    uint32_t half = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = sign | (uint32_t)e << 10 | man >> 13;
  uint32_t rem = man & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into exp: correct */
  return (uint16_t)half;
}

float ir_bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t ir_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);
  uint32_t lsb = (x >> 16) & 1;
  x += 0x7fff + lsb;
  return (uint16_t)(x >> 16);
}

/* Rounds |v| (finite, nonzero) to a float format with `mant` explicit
 * mantissa bits and minimum normal exponent `emin`: scaling by a power of
 * two is exact in double, so one nearbyint (ties to even) is one rounding. */
static double round_to_format(double a, int mant, int emin) {
  int e;
  (void)frexp(a, &e); /* a = f * 2^e, f in [0.5, 1) */
  int ex = e - 1;
  if (ex < emin) ex = emin; /* subnormals share the smallest quantum */
  double q = ldexp(1.0, ex - mant);
  return nearbyint(a / q) * q;
}

uint16_t ir_f64_to_f16(double v) {
  if (isnan(v) || isinf(v) || v == 0) return ir_f32_to_f16((float)v);
  double r = round_to_format(fabs(v), 10, -14);
  if (r > 65504.0) r = INFINITY;
  return ir_f32_to_f16((float)copysign(r, v)); /* exact: r is an f16 value */
}

uint16_t ir_f64_to_bf16(double v) {
  if (isnan(v) || isinf(v) || v == 0) return ir_f32_to_bf16((float)v);
  double r = round_to_format(fabs(v), 7, -126);
  if (r >= 0x1p128) r = INFINITY;
  return ir_f32_to_bf16((float)copysign(r, v)); /* exact: r is a bf16 value */
}

