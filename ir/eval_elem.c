/*
 * Reference interpreter: element conversions and the elementwise kernels
 * (iota, unary, binary, compare, select, clamp, convert).
 *
 * Floats are computed in double and rounded once to the result type (a
 * single rounding, also for f16/bf16: ir_f64_to_f16/bf16 round from the
 * double directly, not through float). Integers are computed on 64-bit
 * patterns (signed types sign-extended, unsigned zero-extended) and wrap to
 * their width when stored. The edge cases follow docs/ir.md: integer x/0 is
 * 0, INT_MIN/-1 is INT_MIN, x rem 0 is x, shift amounts >= the width give 0
 * (or -1 for arithmetic shifts of negative values), float max/min propagate
 * NaN, float-to-int conversion truncates and saturates with NaN giving 0.
 *
 * Kernels work in chunks of EV_CHUNK elements so that no temporary grows
 * with the array, and switch on the op or type outside the element loops.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/eval_internal.h"
#include "ir/literal.h"

/* ---- element conversions ---------------------------------------------- */

/* An integer as a double rounded to odd: exact below 2^53, otherwise the
 * low bits are folded into a sticky bit so that a second rounding to any
 * format of at most 51 mantissa bits (f32, f16, bf16) is correct. */
static double int_to_f64_odd(uint64_t bits, bool is_signed) {
  bool neg = is_signed && (int64_t)bits < 0;
  uint64_t mag = neg ? 0 - bits : bits;
  double r;
  if (mag < (1ull << 53)) {
    r = (double)mag;
  } else {
    int k = 0;
    while ((mag >> k) >= (1ull << 53)) k++;
    uint64_t y = mag >> k;
    if (mag & ((1ull << k) - 1)) y |= 1;
    r = ldexp((double)y, k);
  }
  return neg ? -r : r;
}

void ev_load_f64(ir_type t, const void *data, int64_t start, int64_t n, double *out) {
  switch (t) {
#define L(T, CT)                                                  \
  case T: {                                                       \
    const CT *p = (const CT *)data + start;                       \
    for (int64_t i = 0; i < n; i++) out[i] = (double)p[i];        \
    return;                                                       \
  }
    L(IR_I8, int8_t)
    L(IR_I16, int16_t)
    L(IR_I32, int32_t)
    L(IR_I64, int64_t)
    L(IR_U8, uint8_t)
    L(IR_U16, uint16_t)
    L(IR_U32, uint32_t)
    L(IR_U64, uint64_t)
    L(IR_F32, float)
    L(IR_F64, double)
#undef L
    case IR_PRED: {
      const uint8_t *p = (const uint8_t *)data + start;
      for (int64_t i = 0; i < n; i++) out[i] = p[i] ? 1.0 : 0.0;
      return;
    }
    case IR_F16: {
      const uint16_t *p = (const uint16_t *)data + start;
      for (int64_t i = 0; i < n; i++) out[i] = ir_f16_to_f32(p[i]);
      return;
    }
    case IR_BF16: {
      const uint16_t *p = (const uint16_t *)data + start;
      for (int64_t i = 0; i < n; i++) out[i] = ir_bf16_to_f32(p[i]);
      return;
    }
    default: return;
  }
}

void ev_load_u64(ir_type t, const void *data, int64_t start, int64_t n, uint64_t *out) {
  switch (t) {
#define L(T, CT)                                                  \
  case T: {                                                       \
    const CT *p = (const CT *)data + start;                       \
    for (int64_t i = 0; i < n; i++) out[i] = (uint64_t)p[i];      \
    return;                                                       \
  }
    L(IR_I8, int8_t)
    L(IR_I16, int16_t)
    L(IR_I32, int32_t)
    L(IR_I64, int64_t)
    L(IR_U8, uint8_t)
    L(IR_U16, uint16_t)
    L(IR_U32, uint32_t)
    L(IR_U64, uint64_t)
#undef L
    case IR_PRED: {
      const uint8_t *p = (const uint8_t *)data + start;
      for (int64_t i = 0; i < n; i++) out[i] = p[i] != 0;
      return;
    }
    default: {
      double buf[EV_CHUNK];
      for (int64_t s = 0; s < n; s += EV_CHUNK) {
        int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
        ev_load_f64(t, data, start + s, k, buf);
        for (int64_t i = 0; i < k; i++) out[s + i] = ir_f64_to_int_bits(buf[i], IR_I64);
      }
      return;
    }
  }
}

void ev_store_f64(ir_type t, void *data, int64_t start, int64_t n, const double *in) {
  switch (t) {
    case IR_F64: memcpy((double *)data + start, in, (size_t)n * sizeof(double)); return;
    case IR_F32: {
      float *p = (float *)data + start;
      for (int64_t i = 0; i < n; i++) p[i] = (float)in[i];
      return;
    }
    case IR_F16: {
      uint16_t *p = (uint16_t *)data + start;
      for (int64_t i = 0; i < n; i++) p[i] = ir_f64_to_f16(in[i]);
      return;
    }
    case IR_BF16: {
      uint16_t *p = (uint16_t *)data + start;
      for (int64_t i = 0; i < n; i++) p[i] = ir_f64_to_bf16(in[i]);
      return;
    }
    case IR_PRED: {
      uint8_t *p = (uint8_t *)data + start;
      for (int64_t i = 0; i < n; i++) p[i] = in[i] != 0; /* NaN != 0 */
      return;
    }
    default: {
      uint64_t buf[EV_CHUNK];
      for (int64_t s = 0; s < n; s += EV_CHUNK) {
        int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
        for (int64_t i = 0; i < k; i++) buf[i] = ir_f64_to_int_bits(in[s + i], t);
        ev_store_u64(t, data, start + s, k, buf, true);
      }
      return;
    }
  }
}

void ev_store_u64(ir_type t, void *data, int64_t start, int64_t n, const uint64_t *in, bool src_signed) {
  switch (t) {
#define S(T, CT)                                                  \
  case T: {                                                       \
    CT *p = (CT *)data + start;                                   \
    for (int64_t i = 0; i < n; i++) p[i] = (CT)in[i];             \
    return;                                                       \
  }
    S(IR_I8, uint8_t)
    S(IR_I16, uint16_t)
    S(IR_I32, uint32_t)
    S(IR_I64, uint64_t)
    S(IR_U8, uint8_t)
    S(IR_U16, uint16_t)
    S(IR_U32, uint32_t)
    S(IR_U64, uint64_t)
#undef S
    case IR_PRED: {
      uint8_t *p = (uint8_t *)data + start;
      for (int64_t i = 0; i < n; i++) p[i] = in[i] != 0;
      return;
    }
    case IR_F64: {
      double *p = (double *)data + start;
      for (int64_t i = 0; i < n; i++)
        p[i] = src_signed ? (double)(int64_t)in[i] : (double)in[i]; /* one rounding */
      return;
    }
    default: {
      double buf[EV_CHUNK];
      for (int64_t s = 0; s < n; s += EV_CHUNK) {
        int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
        for (int64_t i = 0; i < k; i++) buf[i] = int_to_f64_odd(in[s + i], src_signed);
        ev_store_f64(t, data, start + s, k, buf);
      }
      return;
    }
  }
}

double *ev_load_all_f64(const ev_array *a) {
  double *p = malloc(ev_nz(a->n) * sizeof *p);
  if (p) ev_load_f64(a->shape.type, a->data, 0, a->n, p);
  return p;
}

uint64_t *ev_load_all_u64(const ev_array *a) {
  uint64_t *p = malloc(ev_nz(a->n) * sizeof *p);
  if (p) ev_load_u64(a->shape.type, a->data, 0, a->n, p);
  return p;
}

int64_t ev_index_at(const ev_array *a, int64_t i) {
  uint64_t v;
  ev_load_u64(a->shape.type, a->data, i, 1, &v);
  if (ir_type_is_unsigned(a->shape.type) && v > (uint64_t)INT64_MAX) return INT64_MAX;
  return (int64_t)v;
}

/* ---- scalar semantics ---------------------------------------------------- */

static uint64_t mask_of(int bits) { return bits >= 64 ? UINT64_MAX : (1ull << bits) - 1; }

/* The value of the low `bits` bits of x as a signed number. */
static int64_t sext(uint64_t x, int bits) {
  if (bits >= 64) return (int64_t)x;
  uint64_t m = 1ull << (bits - 1);
  x &= mask_of(bits);
  return (int64_t)((x ^ m) - m);
}

/* Arithmetic shift right of a signed value by n < 64, without relying on
 * implementation-defined behaviour. */
static int64_t asr(int64_t v, unsigned n) { return v < 0 ? ~(int64_t)(~(uint64_t)v >> n) : (int64_t)((uint64_t)v >> n); }

static double fmax_nan(double a, double b) { return isnan(a) || isnan(b) ? NAN : (a > b ? a : b); }
static double fmin_nan(double a, double b) { return isnan(a) || isnan(b) ? NAN : (a < b ? a : b); }

double ev_comb_identity_f(ir_combiner c) {
  switch (c) {
    case IR_COMB_MUL: return 1;
    case IR_COMB_MAX: return -INFINITY;
    case IR_COMB_MIN: return INFINITY;
    default: return 0;
  }
}

uint64_t ev_comb_identity_u(ir_combiner c, ir_type t) {
  int b = ir_type_bits(t);
  bool s = ir_type_is_signed(t);
  switch (c) {
    case IR_COMB_MUL: return 1;
    case IR_COMB_MAX:
      if (!s) return 0;
      return b == 64 ? (uint64_t)INT64_MIN : (uint64_t) - (int64_t)(1ull << (b - 1)); /* sign-extended */
    case IR_COMB_MIN: return s ? (uint64_t)(b == 64 ? INT64_MAX : (int64_t)((1ull << (b - 1)) - 1)) : mask_of(b);
    case IR_COMB_AND: return t == IR_PRED ? 1 : UINT64_MAX;
    default: return 0;
  }
}

double ev_comb_f(ir_combiner c, double acc, double x) {
  switch (c) {
    case IR_COMB_ADD: return acc + x;
    case IR_COMB_MUL: return acc * x;
    case IR_COMB_MAX: return fmax_nan(acc, x);
    case IR_COMB_MIN: return fmin_nan(acc, x);
    case IR_COMB_ASSIGN: return x;
    default: return acc; /* and/or never apply to floats (verified) */
  }
}

uint64_t ev_comb_u(ir_combiner c, ir_type t, uint64_t acc, uint64_t x) {
  bool s = ir_type_is_signed(t);
  switch (c) {
    case IR_COMB_ADD: return acc + x;
    case IR_COMB_MUL: return acc * x;
    case IR_COMB_MAX: return s ? ((int64_t)x > (int64_t)acc ? x : acc) : (x > acc ? x : acc);
    case IR_COMB_MIN: return s ? ((int64_t)x < (int64_t)acc ? x : acc) : (x < acc ? x : acc);
    case IR_COMB_AND: return acc & x;
    case IR_COMB_OR: return acc | x;
    case IR_COMB_ASSIGN: return x;
  }
  return acc;
}

/* ---- iota ------------------------------------------------------------- */

bool ev_iota(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx, (void)ops;
  int64_t st[IR_MAX_RANK];
  ir_shape_strides(&out->shape, st);
  int64_t d = in->index, size = out->shape.dims[d];
  uint64_t buf[EV_CHUNK];
  for (int64_t s = 0; s < out->n; s += EV_CHUNK) {
    int64_t k = out->n - s < EV_CHUNK ? out->n - s : EV_CHUNK;
    for (int64_t i = 0; i < k; i++) buf[i] = (uint64_t)(((s + i) / st[d]) % size);
    ev_store_u64(out->shape.type, out->data, s, k, buf, true);
  }
  return true;
}

/* ---- unary ------------------------------------------------------------ */

static double f_neg(double x) { return -x; }
static double f_sign(double x) { return isnan(x) || x == 0 ? x : (x > 0 ? 1.0 : -1.0); }
static double f_logistic(double x) { return 1.0 / (1.0 + exp(-x)); }
static double f_rsqrt(double x) { return 1.0 / sqrt(x); }
static double f_copy(double x) { return x; }

typedef double (*unary_fn)(double);

static unary_fn float_unary(ir_op op) {
  switch (op) {
    case IR_OP_NEG: return f_neg;
    case IR_OP_ABS: return fabs;
    case IR_OP_SIGN: return f_sign;
    case IR_OP_EXP: return exp;
    case IR_OP_EXPM1: return expm1;
    case IR_OP_LOG: return log;
    case IR_OP_LOG1P: return log1p;
    case IR_OP_TANH: return tanh;
    case IR_OP_LOGISTIC: return f_logistic;
    case IR_OP_SQRT: return sqrt;
    case IR_OP_RSQRT: return f_rsqrt;
    case IR_OP_ERF: return erf;
    case IR_OP_FLOOR: return floor;
    case IR_OP_CEIL: return ceil;
    case IR_OP_ROUND: return nearbyint; /* ties to even in the default mode */
    case IR_OP_COS: return cos;
    case IR_OP_SIN: return sin;
    case IR_OP_TAN: return tan;
    case IR_OP_ACOS: return acos;
    case IR_OP_ASIN: return asin;
    case IR_OP_ATAN: return atan;
    case IR_OP_SINH: return sinh;
    case IR_OP_COSH: return cosh;
    case IR_OP_ASINH: return asinh;
    case IR_OP_ACOSH: return acosh;
    case IR_OP_ATANH: return atanh;
    default: return f_copy;
  }
}

/* Integer and pred unary ops on a 64-bit pattern of type t. */
static uint64_t int_unary(ir_op op, ir_type t, uint64_t x) {
  bool s = ir_type_is_signed(t);
  switch (op) {
    case IR_OP_NEG: return 0 - x;
    case IR_OP_ABS: return s && (int64_t)x < 0 ? 0 - x : x; /* abs(INT_MIN) wraps to INT_MIN */
    case IR_OP_SIGN:
      if (!s) return x != 0;
      return (int64_t)x < 0 ? UINT64_MAX : (uint64_t)(x != 0);
    case IR_OP_NOT: return t == IR_PRED ? (uint64_t)(x == 0) : ~x;
    default: return x;
  }
}

bool ev_unary(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  const ev_array *x = &ops[0];
  ir_type t = x->shape.type;
  int64_t n = x->n;
  if (in->op == IR_OP_COPY) {
    memcpy(out->data, x->data, (size_t)n * ir_type_size(t));
    return true;
  }
  if (ir_type_is_float(t)) {
    double a[EV_CHUNK];
    unary_fn fn = float_unary(in->op);
    for (int64_t s = 0; s < n; s += EV_CHUNK) {
      int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
      ev_load_f64(t, x->data, s, k, a);
      if (in->op == IR_OP_IS_FINITE) {
        uint8_t *p = (uint8_t *)out->data + s;
        for (int64_t i = 0; i < k; i++) p[i] = isfinite(a[i]) != 0;
        continue;
      }
      for (int64_t i = 0; i < k; i++) a[i] = fn(a[i]);
      ev_store_f64(out->shape.type, out->data, s, k, a);
    }
    return true;
  }
  uint64_t u[EV_CHUNK];
  for (int64_t s = 0; s < n; s += EV_CHUNK) {
    int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
    ev_load_u64(t, x->data, s, k, u);
    for (int64_t i = 0; i < k; i++) u[i] = int_unary(in->op, t, u[i]);
    ev_store_u64(out->shape.type, out->data, s, k, u, true);
  }
  return true;
}

/* ---- binary ----------------------------------------------------------- */

static double float_binary(ir_op op, double a, double b) {
  switch (op) {
    case IR_OP_ADD: return a + b;
    case IR_OP_SUB: return a - b;
    case IR_OP_MUL: return a * b;
    case IR_OP_DIV: return a / b;
    case IR_OP_REM: return fmod(a, b);
    case IR_OP_MAX: return fmax_nan(a, b);
    case IR_OP_MIN: return fmin_nan(a, b);
    case IR_OP_POW: return pow(a, b);
    case IR_OP_ATAN2: return atan2(a, b);
    default: return 0;
  }
}

/* Integer power with wrap-around: square and multiply modulo 2^64 agrees
 * with wrapping at any narrower width. */
static uint64_t int_pow(uint64_t base, uint64_t e, bool s) {
  if (s && (int64_t)e < 0) {
    if (base == 1) return 1;
    if ((int64_t)base == -1) return (e & 1) ? UINT64_MAX : 1;
    return 0;
  }
  uint64_t r = 1;
  while (e) {
    if (e & 1) r *= base;
    base *= base;
    e >>= 1;
  }
  return r;
}

/* Integer and pred binary ops on 64-bit patterns of type t. */
static uint64_t int_binary(ir_op op, ir_type t, uint64_t a, uint64_t b) {
  bool s = ir_type_is_signed(t);
  int bits = ir_type_bits(t);
  switch (op) {
    case IR_OP_ADD: return a + b;
    case IR_OP_SUB: return a - b;
    case IR_OP_MUL: return a * b;
    case IR_OP_DIV:
      if (b == 0) return 0;
      if (!s) return a / b;
      if ((int64_t)a == INT64_MIN && (int64_t)b == -1) return a; /* narrower widths wrap when stored */
      return (uint64_t)((int64_t)a / (int64_t)b);
    case IR_OP_REM:
      if (b == 0) return a;
      if (!s) return a % b;
      if ((int64_t)b == -1) return 0;
      return (uint64_t)((int64_t)a % (int64_t)b);
    case IR_OP_MAX: return s ? ((int64_t)a > (int64_t)b ? a : b) : (a > b ? a : b);
    case IR_OP_MIN: return s ? ((int64_t)a < (int64_t)b ? a : b) : (a < b ? a : b);
    case IR_OP_POW: return int_pow(a, b, s);
    case IR_OP_AND: return a & b;
    case IR_OP_OR: return a | b;
    case IR_OP_XOR: return a ^ b;
    case IR_OP_SHL: {
      uint64_t n = b & mask_of(bits);
      return n >= (uint64_t)bits ? 0 : a << n;
    }
    case IR_OP_SHR_L: {
      uint64_t n = b & mask_of(bits);
      return n >= (uint64_t)bits ? 0 : (a & mask_of(bits)) >> n;
    }
    case IR_OP_SHR_A: {
      uint64_t n = b & mask_of(bits);
      int64_t v = sext(a, bits);
      if (n >= (uint64_t)bits) return v < 0 ? UINT64_MAX : 0;
      return (uint64_t)asr(v, (unsigned)n);
    }
    default: return 0;
  }
}

bool ev_binary(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  ir_type t = ops[0].shape.type;
  int64_t n = out->n;
  if (ir_type_is_float(t)) {
    double a[EV_CHUNK], b[EV_CHUNK];
    for (int64_t s = 0; s < n; s += EV_CHUNK) {
      int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
      ev_load_f64(t, ops[0].data, s, k, a);
      ev_load_f64(t, ops[1].data, s, k, b);
      switch (in->op) { /* the common ops get their own loops */
        case IR_OP_ADD: for (int64_t i = 0; i < k; i++) a[i] += b[i]; break;
        case IR_OP_SUB: for (int64_t i = 0; i < k; i++) a[i] -= b[i]; break;
        case IR_OP_MUL: for (int64_t i = 0; i < k; i++) a[i] *= b[i]; break;
        default: for (int64_t i = 0; i < k; i++) a[i] = float_binary(in->op, a[i], b[i]); break;
      }
      ev_store_f64(t, out->data, s, k, a);
    }
    return true;
  }
  uint64_t a[EV_CHUNK], b[EV_CHUNK];
  for (int64_t s = 0; s < n; s += EV_CHUNK) {
    int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
    ev_load_u64(t, ops[0].data, s, k, a);
    ev_load_u64(t, ops[1].data, s, k, b);
    for (int64_t i = 0; i < k; i++) a[i] = int_binary(in->op, t, a[i], b[i]);
    ev_store_u64(t, out->data, s, k, a, true);
  }
  return true;
}

/* ---- compare, select, clamp, convert ------------------------------------ */

static bool cmp_f(ir_cmp c, double a, double b) {
  switch (c) {
    case IR_CMP_EQ: return a == b;
    case IR_CMP_NE: return a != b; /* true when either is NaN */
    case IR_CMP_LT: return a < b;
    case IR_CMP_LE: return a <= b;
    case IR_CMP_GT: return a > b;
    case IR_CMP_GE: return a >= b;
  }
  return false;
}

static bool cmp_u(ir_cmp c, bool s, uint64_t a, uint64_t b) {
  int r = s ? ((int64_t)a < (int64_t)b ? -1 : (int64_t)a > (int64_t)b) : (a < b ? -1 : a > b);
  switch (c) {
    case IR_CMP_EQ: return r == 0;
    case IR_CMP_NE: return r != 0;
    case IR_CMP_LT: return r < 0;
    case IR_CMP_LE: return r <= 0;
    case IR_CMP_GT: return r > 0;
    case IR_CMP_GE: return r >= 0;
  }
  return false;
}

bool ev_compare(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx;
  ir_type t = ops[0].shape.type;
  int64_t n = out->n;
  uint8_t *r = out->data;
  if (ir_type_is_float(t)) {
    double a[EV_CHUNK], b[EV_CHUNK];
    for (int64_t s = 0; s < n; s += EV_CHUNK) {
      int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
      ev_load_f64(t, ops[0].data, s, k, a);
      ev_load_f64(t, ops[1].data, s, k, b);
      for (int64_t i = 0; i < k; i++) r[s + i] = cmp_f(in->cmp, a[i], b[i]);
    }
    return true;
  }
  bool sg = ir_type_is_signed(t);
  uint64_t a[EV_CHUNK], b[EV_CHUNK];
  for (int64_t s = 0; s < n; s += EV_CHUNK) {
    int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
    ev_load_u64(t, ops[0].data, s, k, a);
    ev_load_u64(t, ops[1].data, s, k, b);
    for (int64_t i = 0; i < k; i++) r[s + i] = cmp_u(in->cmp, sg, a[i], b[i]);
  }
  return true;
}

bool ev_select(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx, (void)in;
  const uint8_t *p = ops[0].data;
  bool scalar = ops[0].shape.rank == 0;
  size_t es = ir_type_size(out->shape.type);
  const char *t = ops[1].data, *f = ops[2].data;
  char *r = out->data;
  for (int64_t i = 0; i < out->n; i++) {
    const char *src = p[scalar ? 0 : i] ? t : f;
    memcpy(r + (size_t)i * es, src + (size_t)i * es, es);
  }
  return true;
}

bool ev_clamp(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx, (void)in;
  ir_type t = out->shape.type;
  int64_t n = out->n;
  bool slo = ops[0].shape.rank == 0 && ops[1].shape.rank != 0, shi = ops[2].shape.rank == 0 && ops[1].shape.rank != 0;
  if (ir_type_is_float(t)) {
    double x[EV_CHUNK], lo[EV_CHUNK], hi[EV_CHUNK];
    for (int64_t s = 0; s < n; s += EV_CHUNK) {
      int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
      ev_load_f64(t, ops[1].data, s, k, x);
      ev_load_f64(t, ops[0].data, slo ? 0 : s, slo ? 1 : k, lo);
      ev_load_f64(t, ops[2].data, shi ? 0 : s, shi ? 1 : k, hi);
      for (int64_t i = 0; i < k; i++) x[i] = fmin_nan(fmax_nan(x[i], lo[slo ? 0 : i]), hi[shi ? 0 : i]);
      ev_store_f64(t, out->data, s, k, x);
    }
    return true;
  }
  uint64_t x[EV_CHUNK], lo[EV_CHUNK], hi[EV_CHUNK];
  for (int64_t s = 0; s < n; s += EV_CHUNK) {
    int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
    ev_load_u64(t, ops[1].data, s, k, x);
    ev_load_u64(t, ops[0].data, slo ? 0 : s, slo ? 1 : k, lo);
    ev_load_u64(t, ops[2].data, shi ? 0 : s, shi ? 1 : k, hi);
    for (int64_t i = 0; i < k; i++)
      x[i] = int_binary(IR_OP_MIN, t, int_binary(IR_OP_MAX, t, x[i], lo[slo ? 0 : i]), hi[shi ? 0 : i]);
    ev_store_u64(t, out->data, s, k, x, true);
  }
  return true;
}

bool ev_convert(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out) {
  (void)ctx, (void)in;
  ir_type from = ops[0].shape.type, to = out->shape.type;
  int64_t n = out->n;
  if (from == to) {
    memcpy(out->data, ops[0].data, (size_t)n * ir_type_size(to));
    return true;
  }
  if (ir_type_is_float(from)) {
    double a[EV_CHUNK];
    for (int64_t s = 0; s < n; s += EV_CHUNK) {
      int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
      ev_load_f64(from, ops[0].data, s, k, a);
      ev_store_f64(to, out->data, s, k, a);
    }
    return true;
  }
  uint64_t u[EV_CHUNK];
  bool sg = ir_type_is_signed(from);
  for (int64_t s = 0; s < n; s += EV_CHUNK) {
    int64_t k = n - s < EV_CHUNK ? n - s : EV_CHUNK;
    ev_load_u64(from, ops[0].data, s, k, u);
    ev_store_u64(to, out->data, s, k, u, sg);
  }
  return true;
}
