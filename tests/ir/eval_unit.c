/*
 * Edge cases of the reference interpreter, with values computed by hand
 * from docs/ir.md: integer division by zero and INT_MIN/-1, shifts by the
 * width or more, convert saturation and NaN, single rounding to f16/bf16,
 * max/min with NaN and signed zeros, round half to even, sort stability and
 * NaN order, gather clamping, scatter skipping out-of-bounds windows,
 * reduce_window padding and dilation, convolution groups/dilation/padding,
 * dot batch dims and widening, layouts at the boundary, custom calls,
 * ir_eval_inst, and the error messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir/eval.h"
#include "ir/ir.h"

/* Parses a module; fails the test with the parser's message otherwise. */
static ir_module *parse(const char *text) {
  diag_buffer db;
  diag_buffer_init(&db);
  ir_module *m = ir_parse_module(text, strlen(text), "test.kir", &db.sink);
  if (!m) fail_msg("parse failed: %s", db.first);
  return m;
}

/* Evaluates text on inputs into outputs; fails the test on error. */
static void run_opts(const char *text, const ir_eval_opts *opts, const void *const *in, void *const *out) {
  ir_module *m = parse(text);
  diag_buffer db;
  diag_buffer_init(&db);
  bool ok = ir_eval_module(m, opts, in, out, &db.sink);
  ir_module_destroy(m);
  if (!ok) fail_msg("evaluation failed: %s", db.first);
}

static void run(const char *text, const void *const *in, void *const *out) { run_opts(text, NULL, in, out); }

/* Evaluates text expecting failure; returns the first error message. */
static void run_fail(const char *text, const ir_eval_opts *opts, const void *const *in, void *const *out,
                     char *msg, size_t n) {
  ir_module *m = parse(text);
  diag_buffer db;
  diag_buffer_init(&db);
  bool ok = ir_eval_module(m, opts, in, out, &db.sink);
  ir_module_destroy(m);
  assert_false(ok);
  snprintf(msg, n, "%s", db.first);
}

static bool same_bits_f32(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }
static bool same_bits_f64(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_int_division(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"d\", \"r\", \"d64\", \"r64\", \"du\", \"ru\"} {\n"
      "  %a = i32[6] parameter(0)\n"
      "  %b = i32[6] parameter(1)\n"
      "  %d = i32[6] div(%a, %b)\n"
      "  %r = i32[6] rem(%a, %b)\n"
      "  %a64 = i64[2] parameter(2)\n"
      "  %b64 = i64[2] parameter(3)\n"
      "  %d64 = i64[2] div(%a64, %b64)\n"
      "  %r64 = i64[2] rem(%a64, %b64)\n"
      "  %au = u8[2] parameter(4)\n"
      "  %bu = u8[2] parameter(5)\n"
      "  %du = u8[2] div(%au, %bu)\n"
      "  %ru = u8[2] rem(%au, %bu)\n"
      "  ROOT %t = (i32[6], i32[6], i64[2], i64[2], u8[2], u8[2]) tuple(%d, %r, %d64, %r64, %du, %ru)\n"
      "}\n";
  int32_t a[6] = {7, -7, 0, INT32_MIN, -7, 7}, b[6] = {0, 0, 0, -1, 2, -2};
  int64_t a64[2] = {INT64_MIN, 5}, b64[2] = {-1, 0};
  uint8_t au[2] = {200, 200}, bu[2] = {0, 7};
  int32_t d[6], r[6];
  int64_t d64[2], r64[2];
  uint8_t du[2], ru[2];
  const void *in[] = {a, b, a64, b64, au, bu};
  void *out[] = {d, r, d64, r64, du, ru};
  run(text, in, out);
  int32_t want_d[6] = {0, 0, 0, INT32_MIN, -3, -3}, want_r[6] = {7, -7, 0, 0, -1, 1};
  assert_memory_equal(d, want_d, sizeof d);
  assert_memory_equal(r, want_r, sizeof r);
  assert_true(d64[0] == INT64_MIN && d64[1] == 0);
  assert_true(r64[0] == 0 && r64[1] == 5);
  assert_int_equal(du[0], 0);
  assert_int_equal(du[1], 28);
  assert_int_equal(ru[0], 200);
  assert_int_equal(ru[1], 4);
}

static void test_shifts(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"shl\", \"shrl\", \"shra\", \"ushra\", \"ishl\"} {\n"
      "  %a = i8[5] parameter(0)\n"
      "  %n = i8[5] parameter(1)\n"
      "  %shl = i8[5] shift_left(%a, %n)\n"
      "  %shrl = i8[5] shift_right_logical(%a, %n)\n"
      "  %shra = i8[5] shift_right_arithmetic(%a, %n)\n"
      "  %ua = u8[3] parameter(2)\n"
      "  %un = u8[3] parameter(3)\n"
      "  %ushra = u8[3] shift_right_arithmetic(%ua, %un)\n"
      "  %ia = i32[2] parameter(4)\n"
      "  %in = i32[2] parameter(5)\n"
      "  %ishl = i32[2] shift_left(%ia, %in)\n"
      "  ROOT %t = (i8[5], i8[5], i8[5], u8[3], i32[2]) tuple(%shl, %shrl, %shra, %ushra, %ishl)\n"
      "}\n";
  int8_t a[5] = {1, 1, -128, -128, 64}, n[5] = {7, 8, 7, -1, 9};
  uint8_t ua[3] = {128, 128, 100}, un[3] = {1, 200, 1};
  int32_t ia[2] = {1, 3}, in_[2] = {31, 32};
  int8_t shl[5], shrl[5], shra[5];
  uint8_t ushra[3];
  int32_t ishl[2];
  const void *in[] = {a, n, ua, un, ia, in_};
  void *out[] = {shl, shrl, shra, ushra, ishl};
  run(text, in, out);
  /* -1 as a shift amount is 255 read as unsigned: at least the width. */
  int8_t want_shl[5] = {-128, 0, 0, 0, 0};
  int8_t want_shrl[5] = {0, 0, 1, 0, 0};
  int8_t want_shra[5] = {0, 0, -1, -1, 0};
  uint8_t want_ushra[3] = {192, 255, 50};
  int32_t want_ishl[2] = {INT32_MIN, 0};
  assert_memory_equal(shl, want_shl, sizeof shl);
  assert_memory_equal(shrl, want_shrl, sizeof shrl);
  assert_memory_equal(shra, want_shra, sizeof shra);
  assert_memory_equal(ushra, want_ushra, sizeof ushra);
  assert_memory_equal(ishl, want_ishl, sizeof ishl);
}

static void test_int_unary_and_pow(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"abs\", \"neg\", \"sign\", \"pow\", \"upow\"} {\n"
      "  %a = i32[4] parameter(0)\n"
      "  %abs = i32[4] abs(%a)\n"
      "  %neg = i32[4] neg(%a)\n"
      "  %sign = i32[4] sign(%a)\n"
      "  %b = i32[6] parameter(1)\n"
      "  %e = i32[6] parameter(2)\n"
      "  %pow = i32[6] pow(%b, %e)\n"
      "  %ub = u8[2] parameter(3)\n"
      "  %ue = u8[2] parameter(4)\n"
      "  %upow = u8[2] pow(%ub, %ue)\n"
      "  ROOT %t = (i32[4], i32[4], i32[4], i32[6], u8[2]) tuple(%abs, %neg, %sign, %pow, %upow)\n"
      "}\n";
  int32_t a[4] = {INT32_MIN, -5, 0, 9};
  int32_t b[6] = {2, -1, -1, 2, 0, 3}, e[6] = {31, -3, -2, -1, 0, 4};
  uint8_t ub[2] = {3, 2}, ue[2] = {5, 8};
  int32_t abs_[4], neg[4], sign[4], pow_[6];
  uint8_t upow[2];
  const void *in[] = {a, b, e, ub, ue};
  void *out[] = {abs_, neg, sign, pow_, upow};
  run(text, in, out);
  int32_t want_abs[4] = {INT32_MIN, 5, 0, 9}, want_neg[4] = {INT32_MIN, 5, 0, -9}, want_sign[4] = {-1, -1, 0, 1};
  int32_t want_pow[6] = {INT32_MIN, -1, 1, 0, 1, 81};
  uint8_t want_upow[2] = {243, 0};
  assert_memory_equal(abs_, want_abs, sizeof abs_);
  assert_memory_equal(neg, want_neg, sizeof neg);
  assert_memory_equal(sign, want_sign, sizeof sign);
  assert_memory_equal(pow_, want_pow, sizeof pow_);
  assert_memory_equal(upow, want_upow, sizeof upow);
}

static void test_convert_saturation(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"i32\", \"u8\", \"u64\", \"p\", \"i8\", \"u16\", \"f32\", \"f64\"} {\n"
      "  %x = f32[8] parameter(0)\n"
      "  %i32 = i32[8] convert(%x)\n"
      "  %u8 = u8[8] convert(%x)\n"
      "  %u64 = u64[8] convert(%x)\n"
      "  %p = pred[8] convert(%x)\n"
      "  %w = i32[2] parameter(1)\n"
      "  %i8 = i8[2] convert(%w)\n"
      "  %u16 = u16[2] convert(%w)\n"
      "  %l = i64[3] parameter(2)\n"
      "  %f32 = f32[3] convert(%l)\n"
      "  %f64 = f64[3] convert(%l)\n"
      "  ROOT %t = (i32[8], u8[8], u64[8], pred[8], i8[2], u16[2], f32[3], f64[3]) tuple(%i32, %u8, %u64, %p, %i8, %u16, %f32, %f64)\n"
      "}\n";
  float x[8] = {1e10f, -1e10f, NAN, 3.99f, -3.99f, INFINITY, -INFINITY, -0.0f};
  int32_t w[2] = {300, -1};
  int64_t l[3] = {16777217, 16777219, (INT64_C(1) << 53) + 1};
  int32_t i32[8];
  uint8_t u8[8], p[8], i8[2];
  uint64_t u64[8];
  uint16_t u16[2];
  float f32[3];
  double f64[3];
  const void *in[] = {x, w, l};
  void *out[] = {i32, u8, u64, p, i8, u16, f32, f64};
  run(text, in, out);
  int32_t want_i32[8] = {INT32_MAX, INT32_MIN, 0, 3, -3, INT32_MAX, INT32_MIN, 0};
  uint8_t want_u8[8] = {255, 0, 0, 3, 0, 255, 0, 0};
  uint64_t want_u64[8] = {10000000000u, 0, 0, 3, 0, UINT64_MAX, 0, 0};
  uint8_t want_p[8] = {1, 1, 1, 1, 1, 1, 1, 0}; /* NaN != 0; -0 == 0 */
  assert_memory_equal(i32, want_i32, sizeof i32);
  assert_memory_equal(u8, want_u8, sizeof u8);
  assert_memory_equal(u64, want_u64, sizeof u64);
  assert_memory_equal(p, want_p, sizeof p);
  assert_int_equal((int8_t)i8[0], 44);
  assert_int_equal((int8_t)i8[1], -1);
  assert_int_equal(u16[0], 300);
  assert_int_equal(u16[1], 65535);
  assert_true(f32[0] == 16777216.0f); /* ties to even */
  assert_true(f32[1] == 16777220.0f);
  assert_true(f64[2] == 9007199254740992.0);
}

static void test_f16_bf16_rounding(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"h\", \"hd\", \"b\", \"bd\", \"sum\"} {\n"
      "  %x = f32[7] parameter(0)\n"
      "  %h = f16[7] convert(%x)\n"
      "  %d = f64[2] parameter(1)\n"
      "  %hd = f16[2] convert(%d)\n"
      "  %y = f32[4] parameter(2)\n"
      "  %b = bf16[4] convert(%y)\n"
      "  %bd = bf16[2] convert(%d)\n"
      "  %u = f16[2] parameter(3)\n"
      "  %v = f16[2] parameter(4)\n"
      "  %sum = f16[2] add(%u, %v)\n"
      "  ROOT %t = (f16[7], f16[2], bf16[4], bf16[2], f16[2]) tuple(%h, %hd, %b, %bd, %sum)\n"
      "}\n";
  float x[7] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 65519.0f, 65520.0f, 0x1p-25f, 3 * 0x1p-25f, NAN};
  /* Single rounding from double: 1 + 2^-11 + 2^-40 is above the tie, so it
   * rounds up; rounding through f32 first would make it a tie and round down. */
  double d[2] = {1.0 + 0x1p-11 + 0x1p-40, 1.0 + 0x1p-8 + 0x1p-40};
  float y[4] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 3.4028235e38f, -0.0f};
  uint16_t u[2] = {0x6800, 0x6800}, v[2] = {0x3C00, 0x4200}; /* 2048 + 1, 2048 + 3 */
  uint16_t h[7], hd[2], b[4], bd[2], sum[2];
  const void *in[] = {x, d, y, u, v};
  void *out[] = {h, hd, b, bd, sum};
  run(text, in, out);
  uint16_t want_h[6] = {0x3C00, 0x3C02, 0x7BFF, 0x7C00, 0x0000, 0x0002};
  assert_memory_equal(h, want_h, sizeof want_h);
  assert_true((h[6] & 0x7C00) == 0x7C00 && (h[6] & 0x03FF) != 0); /* NaN */
  assert_int_equal(hd[0], 0x3C01);
  uint16_t want_b[4] = {0x3F80, 0x3F82, 0x7F80, 0x8000};
  assert_memory_equal(b, want_b, sizeof b);
  assert_int_equal(bd[1], 0x3F81);
  assert_int_equal(sum[0], 0x6800); /* 2049 ties to 2048 */
  assert_int_equal(sum[1], 0x6802); /* 2051 rounds to 2052 */
}

static void test_max_min_nan_and_zero(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"max\", \"min\", \"rmax\", \"clamp\"} {\n"
      "  %a = f32[4] parameter(0)\n"
      "  %b = f32[4] parameter(1)\n"
      "  %max = f32[4] max(%a, %b)\n"
      "  %min = f32[4] min(%a, %b)\n"
      "  %rmax = f32[] reduce(%a), dimensions={0}, combiner=max\n"
      "  %lo = f32[] constant(0)\n"
      "  %hi = f32[] constant(1)\n"
      "  %clamp = f32[4] clamp(%lo, %a, %hi)\n"
      "  ROOT %t = (f32[4], f32[4], f32[], f32[4]) tuple(%max, %min, %rmax, %clamp)\n"
      "}\n";
  float a[4] = {NAN, 1.0f, -0.0f, 0.0f}, b[4] = {1.0f, NAN, 0.0f, -0.0f};
  float mx[4], mn[4], rmax, cl[4];
  const void *in[] = {a, b};
  void *out[] = {mx, mn, &rmax, cl};
  run(text, in, out);
  assert_true(isnan(mx[0]) && isnan(mx[1]) && isnan(mn[0]) && isnan(mn[1]));
  /* a > b ? a : b: equal zeros give the second operand. */
  assert_true(same_bits_f32(mx[2], 0.0f) && same_bits_f32(mx[3], -0.0f));
  assert_true(same_bits_f32(mn[2], 0.0f) && same_bits_f32(mn[3], -0.0f));
  assert_true(isnan(rmax));
  assert_true(isnan(cl[0]) && cl[1] == 1.0f);
}

static void test_round_sign(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"r\", \"s\", \"f\"} {\n"
      "  %x = f64[7] parameter(0)\n"
      "  %r = f64[7] round(%x)\n"
      "  %s = f64[7] sign(%x)\n"
      "  %f = pred[7] is_finite(%x)\n"
      "  ROOT %t = (f64[7], f64[7], pred[7]) tuple(%r, %s, %f)\n"
      "}\n";
  double x[7] = {0.5, 1.5, 2.5, -0.5, -2.5, -0.0, NAN};
  double r[7], s[7];
  uint8_t f[7];
  const void *in[] = {x};
  void *out[] = {r, s, f};
  run(text, in, out);
  double want_r[6] = {0.0, 2.0, 2.0, -0.0, -2.0, -0.0};
  for (int i = 0; i < 6; i++) assert_true(same_bits_f64(r[i], want_r[i]));
  assert_true(isnan(r[6]));
  double want_s[6] = {1, 1, 1, -1, -1, -0.0};
  for (int i = 0; i < 6; i++) assert_true(same_bits_f64(s[i], want_s[i]));
  assert_true(isnan(s[6]));
  uint8_t want_f[7] = {1, 1, 1, 1, 1, 1, 0};
  assert_memory_equal(f, want_f, sizeof f);
}

static void test_sort_stable_nan(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"ka\", \"va\", \"kd\", \"vd\"} {\n"
      "  %k = f32[7] parameter(0)\n"
      "  %v = i32[7] iota(), iota_dimension=0\n"
      "  %a = (f32[7], i32[7]) sort(%k, %v), dimensions={0}\n"
      "  %ka = f32[7] get_tuple_element(%a), index=0\n"
      "  %va = i32[7] get_tuple_element(%a), index=1\n"
      "  %d = (f32[7], i32[7]) sort(%k, %v), dimensions={0}, descending=true\n"
      "  %kd = f32[7] get_tuple_element(%d), index=0\n"
      "  %vd = i32[7] get_tuple_element(%d), index=1\n"
      "  ROOT %t = (f32[7], i32[7], f32[7], i32[7]) tuple(%ka, %va, %kd, %vd)\n"
      "}\n";
  float k[7] = {2, NAN, 1, 2, -INFINITY, NAN, 1};
  float ka[7], kd[7];
  int32_t va[7], vd[7];
  const void *in[] = {k};
  void *out[] = {ka, va, kd, vd};
  run(text, in, out);
  int32_t want_va[7] = {4, 2, 6, 0, 3, 1, 5}, want_vd[7] = {1, 5, 0, 3, 2, 6, 4};
  assert_memory_equal(va, want_va, sizeof va);
  assert_memory_equal(vd, want_vd, sizeof vd);
  for (int i = 0; i < 7; i++) {
    assert_true(same_bits_f32(ka[i], k[want_va[i]]));
    assert_true(same_bits_f32(kd[i], k[want_vd[i]]));
  }
}

static void test_gather_clamp(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"g\"} {\n"
      "  %x = f32[5] constant({10, 20, 30, 40, 50})\n"
      "  %i = i32[3,1] parameter(0)\n"
      "  %g = f32[3,2] gather(%x, %i), offset_dims={1}, collapsed_slice_dims={}, start_index_map={0}, index_vector_dim=1, slice_sizes={2}\n"
      "  ROOT %t = (f32[3,2]) tuple(%g)\n"
      "}\n";
  int32_t i[3] = {-2, 4, 1};
  float g[6];
  const void *in[] = {i};
  void *out[] = {g};
  run(text, in, out);
  float want[6] = {10, 20, 40, 50, 20, 30};
  assert_memory_equal(g, want, sizeof g);
}

static void test_scatter_skip_and_combiners(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"add\", \"assign\", \"max\", \"imul\"} {\n"
      "  %x = f32[6] constant({0, 0, 0, 0, 0, 0})\n"
      "  %i = i64[5,1] parameter(0)\n"
      "  %u = f32[5,2] parameter(1)\n"
      "  %add = f32[6] scatter(%x, %i, %u), update_window_dims={1}, inserted_window_dims={}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, combiner=add\n"
      "  %assign = f32[6] scatter(%x, %i, %u), update_window_dims={1}, inserted_window_dims={}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, combiner=assign\n"
      "  %max = f32[6] scatter(%x, %i, %u), update_window_dims={1}, inserted_window_dims={}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, combiner=max\n"
      "  %xi = i32[3] constant({1, 2, 3})\n"
      "  %ii = i32[3] parameter(2)\n"
      "  %ui = i32[3] parameter(3)\n"
      "  %imul = i32[3] scatter(%xi, %ii, %ui), update_window_dims={}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, combiner=mul\n"
      "  ROOT %t = (f32[6], f32[6], f32[6], i32[3]) tuple(%add, %assign, %max, %imul)\n"
      "}\n";
  /* Windows of 2 at -1 and 5 do not fit and are skipped entirely. */
  int64_t i[5] = {-1, 5, 4, 2, 2};
  float u[10] = {1, 2, 3, 4, 5, 6, 7, 8, -9, 10};
  int32_t ii[3] = {2, 0, 2}, ui[3] = {5, 7, -2};
  float add[6], assign[6], max[6];
  int32_t imul[3];
  const void *in[] = {i, u, ii, ui};
  void *out[] = {add, assign, max, imul};
  run(text, in, out);
  float want_add[6] = {0, 0, -2, 18, 5, 6}, want_assign[6] = {0, 0, -9, 10, 5, 6}, want_max[6] = {0, 0, 7, 10, 5, 6};
  int32_t want_imul[3] = {7, 2, -30};
  assert_memory_equal(add, want_add, sizeof add);
  assert_memory_equal(assign, want_assign, sizeof assign);
  assert_memory_equal(max, want_max, sizeof max);
  assert_memory_equal(imul, want_imul, sizeof imul);
}

static void test_reduce_window_padding(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"sum\", \"max\", \"lhs\", \"rhs\"} {\n"
      "  %x = f32[4] constant({1, 2, 3, 4})\n"
      "  %sum = f32[4] reduce_window(%x), window={size=3 pad=1_1}, combiner=add\n"
      "  %n = f32[2] constant({-1, -2})\n"
      "  %max = f32[3] reduce_window(%n), window={size=2 pad=1_1}, combiner=max\n"
      "  %y = f32[3] constant({1, 2, 3})\n"
      "  %lhs = f32[4] reduce_window(%y), window={size=2 lhs_dilate=2}, combiner=add\n"
      "  %z = i32[5] constant({1, 2, 3, 4, 5})\n"
      "  %rhs = i32[3] reduce_window(%z), window={size=2 rhs_dilate=2}, combiner=add\n"
      "  ROOT %t = (f32[4], f32[3], f32[4], i32[3]) tuple(%sum, %max, %lhs, %rhs)\n"
      "}\n";
  float sum[4], max[3], lhs[4];
  int32_t rhs[3];
  void *out[] = {sum, max, lhs, rhs};
  run(text, NULL, out);
  float want_sum[4] = {3, 6, 9, 7}, want_max[3] = {-1, -1, -2}, want_lhs[4] = {1, 2, 2, 3};
  int32_t want_rhs[3] = {4, 6, 8};
  assert_memory_equal(sum, want_sum, sizeof sum);
  assert_memory_equal(max, want_max, sizeof max); /* padding is -inf, not 0 */
  assert_memory_equal(lhs, want_lhs, sizeof lhs);
  assert_memory_equal(rhs, want_rhs, sizeof rhs);
}

static void test_convolution_groups_dilation(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"g\", \"t\", \"crop\", \"inf\"} {\n"
      "  %x = f32[1,2,4] constant({{{1, 2, 3, 4}, {10, 20, 30, 40}}})\n"
      "  %k = f32[2,1,2] constant({{{1, 1}}, {{1, -1}}})\n"
      "  %g = f32[1,2,2] convolution(%x, %k), window={size=2 rhs_dilate=2}, dim_labels=bf0_oi0->bf0, feature_group_count=2\n"
      "  %y = f32[1,1,2] constant({{{1, 2}}})\n"
      "  %k1 = f32[1,1,2] constant({{{1, 1}}})\n"
      "  %t = f32[1,1,4] convolution(%y, %k1), window={size=2 pad=1_1 lhs_dilate=2}, dim_labels=bf0_oi0->bf0\n"
      "  %z = f32[1,1,4] constant({{{1, 2, 3, 4}}})\n"
      "  %one = f32[1,1,1] constant({{{1}}})\n"
      "  %crop = f32[1,1,2] convolution(%z, %one), window={size=1 pad=-1_-1}, dim_labels=bf0_oi0->bf0\n"
      "  %ki = f32[1,1,2] constant({{{1, inf}}})\n"
      "  %inf = f32[1,1,2] convolution(%y, %ki), window={size=2 pad=0_1}, dim_labels=bf0_oi0->bf0\n"
      "  ROOT %r = (f32[1,2,2], f32[1,1,4], f32[1,1,2], f32[1,1,2]) tuple(%g, %t, %crop, %inf)\n"
      "}\n";
  float g[4], t[4], crop[2], inf[2];
  void *out[] = {g, t, crop, inf};
  run(text, NULL, out);
  float want_g[4] = {4, 6, -20, -20}, want_t[4] = {1, 1, 2, 2}, want_crop[2] = {2, 3};
  assert_memory_equal(g, want_g, sizeof g);
  assert_memory_equal(t, want_t, sizeof t);
  assert_memory_equal(crop, want_crop, sizeof crop);
  /* Padding reads as zero, so an infinite weight over it gives NaN. */
  assert_true(isinf(inf[0]) && isnan(inf[1]));
}

static void test_dot_batch_widening(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"b\", \"w\", \"h\"} {\n"
      "  %x = f32[2,1,2] constant({{{1, 2}}, {{3, 4}}})\n"
      "  %y = f32[2,2,1] constant({{{5}, {6}}, {{7}, {8}}})\n"
      "  %b = f32[2,1,1] dot(%x, %y), lhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_batch_dims={0}, rhs_contracting_dims={1}\n"
      "  %i = i8[1,2] constant({{127, 127}})\n"
      "  %j = i8[2] constant({127, 127})\n"
      "  %w = i32[1] dot(%i, %j), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
      "  %hx = f16[2] constant({2048, 1})\n"
      "  %hy = f16[2] constant({1, 1})\n"
      "  %h = f32[] dot(%hx, %hy), lhs_contracting_dims={0}, rhs_contracting_dims={0}\n"
      "  ROOT %t = (f32[2,1,1], i32[1], f32[]) tuple(%b, %w, %h)\n"
      "}\n";
  float b[2], h;
  int32_t w;
  void *out[] = {b, &w, &h};
  run(text, NULL, out);
  assert_true(b[0] == 17 && b[1] == 53);
  assert_int_equal(w, 32258);
  assert_true(h == 2049.0f); /* f16 could not hold it: the sum is in f32 */
}

static void test_layouts_at_boundary(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"same\", \"rowmajor\"} {\n"
      "  %a = i32[2,3]{0,1} parameter(0)\n"
      "  %c = i32[2,3]{1,0} copy(%a)\n"
      "  ROOT %t = (i32[2,3]{0,1}, i32[2,3]{1,0}) tuple(%a, %c)\n"
      "}\n";
  /* Logical a = {{1, 2, 3}, {4, 5, 6}}, stored column-major. */
  int32_t a[6] = {1, 4, 2, 5, 3, 6};
  int32_t same[6], rm[6];
  const void *in[] = {a};
  void *out[] = {same, rm};
  run(text, in, out);
  int32_t want_rm[6] = {1, 2, 3, 4, 5, 6};
  assert_memory_equal(same, a, sizeof a);
  assert_memory_equal(rm, want_rm, sizeof rm);
}

static bool twice(void *user, const char *target, const char *config, int nin, const ir_tensor *in, int nout,
                  ir_tensor *out, char *err, size_t errn) {
  int *calls = user;
  (*calls)++;
  (void)config;
  if (strcmp(target, "twice") != 0) {
    snprintf(err, errn, "no kernel for %s", target);
    return false;
  }
  assert_int_equal(nin, 1);
  assert_int_equal(nout, 2);
  for (int i = 0; i < 3; i++) {
    ((int32_t *)out[0].data)[i] = 2 * ((const int32_t *)in[0].data)[i];
    ((float *)out[1].data)[i] = 0.5f;
  }
  return true;
}

static void test_custom_call(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "ENTRY %e outputs={\"a\", \"b\"} {\n"
      "  %x = i32[3] parameter(0)\n"
      "  %cc = (i32[3], f32[3]) custom_call(%x), custom_call_target=\"twice\"\n"
      "  %a = i32[3] get_tuple_element(%cc), index=0\n"
      "  %b = f32[3] get_tuple_element(%cc), index=1\n"
      "  ROOT %t = (i32[3], f32[3]) tuple(%a, %b)\n"
      "}\n";
  int32_t x[3] = {1, -2, 3}, a[3];
  float b[3];
  const void *in[] = {x};
  void *out[] = {a, b};
  int calls = 0;
  ir_eval_opts opts = {twice, &calls};
  run_opts(text, &opts, in, out);
  assert_int_equal(calls, 1);
  int32_t want_a[3] = {2, -4, 6};
  assert_memory_equal(a, want_a, sizeof a);
  assert_true(b[2] == 0.5f);

  char msg[1024];
  run_fail(text, NULL, in, out, msg, sizeof msg);
  assert_non_null(strstr(msg, "%cc"));
  assert_non_null(strstr(msg, "twice"));
  const char *other = "module m\n"
                      "ENTRY %e outputs={\"a\"} {\n"
                      "  %x = i32[3] parameter(0)\n"
                      "  %k = i32[3] custom_call(%x), custom_call_target=\"nope\"\n"
                      "  ROOT %t = (i32[3]) tuple(%k)\n"
                      "}\n";
  run_fail(other, &opts, in, out, msg, sizeof msg);
  assert_non_null(strstr(msg, "%k"));
  assert_non_null(strstr(msg, "no kernel for nope"));
}

static void test_errors(void **state) {
  (void)state;
  const char *text = "module m\n"
                     "ENTRY %e outputs={\"y\"} {\n"
                     "  %x = f32[2] parameter(0), io_name=\"input\"\n"
                     "  %y = f32[2] exp(%x)\n"
                     "  ROOT %t = (f32[2]) tuple(%y)\n"
                     "}\n";
  float y[2];
  const void *in[] = {NULL};
  void *out[] = {y};
  char msg[1024];
  run_fail(text, NULL, in, out, msg, sizeof msg);
  assert_non_null(strstr(msg, "%x"));
  assert_non_null(strstr(msg, "input 0 (\"input\") is NULL"));
  ir_module *m = parse(text);
  diag_buffer db;
  diag_buffer_init(&db);
  float x[2] = {0, 1};
  const void *in2[] = {x};
  assert_false(ir_eval_module(m, NULL, in2, NULL, &db.sink));
  assert_true(db.first[0] != 0);
  ir_module_destroy(m);
}

static void test_eval_inst(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "%f {\n"
      "  %p = f32[3] parameter(0)\n"
      "  ROOT %n = f32[3] neg(%p)\n"
      "}\n"
      "ENTRY %e outputs={\"y\"} {\n"
      "  %a = f32[3] parameter(0)\n"
      "  %b = f32[3] parameter(1)\n"
      "  %c = f32[3] add(%a, %b)\n"
      "  %m = f32[2,3]{0,1} parameter(2)\n"
      "  %tr = f32[3,2]{0,1} transpose(%m), dimensions={1,0}\n"
      "  %k = i32[2] constant({7, -7})\n"
      "  %s = f32[3] sort(%c), dimensions={0}, descending=true\n"
      "  %fu = f32[3] fusion(%c), kind=loop, calls=%f\n"
      "  ROOT %t = (f32[3]) tuple(%fu)\n"
      "}\n";
  ir_module *m = parse(text);
  const ir_comp *c = ir_module_entry(m);
  diag_buffer db;
  diag_buffer_init(&db);
  float a[3] = {1, 2, 3}, b[3] = {10, -20, 30}, r[3];
  const void *ops[] = {a, b};
  assert_true(ir_eval_inst(m, c, 2, ops, r, &db.sink));
  float want[3] = {11, -18, 33};
  assert_memory_equal(r, want, sizeof r);
  /* Operands and results are logical row-major whatever their layouts. */
  float mm[6] = {1, 2, 3, 4, 5, 6}, tr[6];
  const void *ops2[] = {mm};
  assert_true(ir_eval_inst(m, c, 4, ops2, tr, &db.sink));
  float want_tr[6] = {1, 4, 2, 5, 3, 6};
  assert_memory_equal(tr, want_tr, sizeof tr);
  int32_t k[2];
  assert_true(ir_eval_inst(m, c, 5, NULL, k, &db.sink));
  assert_true(k[0] == 7 && k[1] == -7);
  const void *ops3[] = {want};
  assert_true(ir_eval_inst(m, c, 6, ops3, r, &db.sink));
  float want_s[3] = {33, 11, -18};
  assert_memory_equal(r, want_s, sizeof r);
  /* Fusions, parameters and tuples are refused with a message. */
  assert_false(ir_eval_inst(m, c, 7, ops3, r, &db.sink));
  assert_non_null(strstr(db.first, "%fu"));
  assert_false(ir_eval_inst(m, c, 0, NULL, r, &db.sink));
  assert_false(ir_eval_inst(m, c, 8, ops3, r, &db.sink));
  ir_module_destroy(m);
}

static void test_fusion_tuple_root(void **state) {
  (void)state;
  const char *text =
      "module m\n"
      "%inner {\n"
      "  %p = i32[2] parameter(0)\n"
      "  %q = i32[2] parameter(1)\n"
      "  %s = i32[2] sub(%p, %q)\n"
      "  ROOT %o = (i32[2], i32[2]) tuple(%s, %p)\n"
      "}\n"
      "%outer {\n"
      "  %x = i32[2] parameter(0)\n"
      "  %f = (i32[2], i32[2]) fusion(%x, %x), kind=loop, calls=%inner\n"
      "  %g = i32[2] get_tuple_element(%f), index=1\n"
      "  ROOT %m = i32[2] mul(%g, %g)\n"
      "}\n"
      "ENTRY %e outputs={\"sq\", \"x\"} {\n"
      "  %a = i32[2] parameter(0)\n"
      "  %sq = i32[2] fusion(%a), kind=loop, calls=%outer\n"
      "  ROOT %t = (i32[2], i32[2]) tuple(%sq, %a)\n"
      "}\n";
  int32_t a[2] = {3, -4}, sq[2], x[2];
  const void *in[] = {a};
  void *out[] = {sq, x};
  run(text, in, out);
  assert_true(sq[0] == 9 && sq[1] == 16);
  assert_memory_equal(x, a, sizeof a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_int_division),
      cmocka_unit_test(test_shifts),
      cmocka_unit_test(test_int_unary_and_pow),
      cmocka_unit_test(test_convert_saturation),
      cmocka_unit_test(test_f16_bf16_rounding),
      cmocka_unit_test(test_max_min_nan_and_zero),
      cmocka_unit_test(test_round_sign),
      cmocka_unit_test(test_sort_stable_nan),
      cmocka_unit_test(test_gather_clamp),
      cmocka_unit_test(test_scatter_skip_and_combiners),
      cmocka_unit_test(test_reduce_window_padding),
      cmocka_unit_test(test_convolution_groups_dilation),
      cmocka_unit_test(test_dot_batch_widening),
      cmocka_unit_test(test_layouts_at_boundary),
      cmocka_unit_test(test_custom_call),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_eval_inst),
      cmocka_unit_test(test_fusion_tuple_root),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
