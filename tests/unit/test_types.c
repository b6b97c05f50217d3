/*
 * Element types and shapes (ir/types.h): names, sizes, classes, layouts,
 * element counts and their overflow, ir_shape_str, and the f16/bf16
 * conversions. Expected values are written by hand from the IEEE-754
 * binary16 and bfloat16 formats (sign, exponent, mantissa), or computed
 * with ldexp from the bit fields, never with the code under test.
 */
#include <float.h>
#include <math.h>

#include "tests/unit/unit.h"

static void test_type_names(void **state) {
  (void)state;
  static const struct {
    ir_type t;
    const char *name;
    size_t size;
  } want[] = {
      {IR_PRED, "pred", 1}, {IR_I8, "i8", 1},   {IR_I16, "i16", 2}, {IR_I32, "i32", 4}, {IR_I64, "i64", 8},
      {IR_U8, "u8", 1},     {IR_U16, "u16", 2}, {IR_U32, "u32", 4}, {IR_U64, "u64", 8}, {IR_F16, "f16", 2},
      {IR_BF16, "bf16", 2}, {IR_F32, "f32", 4}, {IR_F64, "f64", 8},
  };
  assert_int_equal(sizeof want / sizeof want[0], IR_TUPLE);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    assert_string_equal(ir_type_name(want[i].t), want[i].name);
    assert_int_equal(ir_type_size(want[i].t), want[i].size);
    ir_type t;
    assert_true(ir_type_from_name(want[i].name, strlen(want[i].name), &t));
    assert_int_equal(t, want[i].t);
  }
  assert_string_equal(ir_type_name(IR_TUPLE), "tuple");
  assert_int_equal(ir_type_size(IR_TUPLE), 0);
  assert_string_equal(ir_type_name((ir_type)99), "?");
  assert_int_equal(ir_type_size((ir_type)99), 0);
}

static void test_type_from_name_refuses(void **state) {
  (void)state;
  static const char *bad[] = {"", "f", "f3", "f322", "F32", "tuple", "int32", "float", "s32", "bool", "bf1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ir_type t = IR_F64;
    assert_false(ir_type_from_name(bad[i], strlen(bad[i]), &t));
  }
  /* The length decides, not the NUL: "f32" is a prefix of "f32x". */
  ir_type t;
  assert_true(ir_type_from_name("f32x", 3, &t));
  assert_int_equal(t, IR_F32);
  assert_false(ir_type_from_name("f32x", 4, &t));
}

static void test_type_classes(void **state) {
  (void)state;
  /* columns: float, int, signed, unsigned, pred, bits */
  static const struct {
    ir_type t;
    bool f, i, s, u, p;
    int bits;
  } want[] = {
      {IR_PRED, 0, 0, 0, 0, 1, 1},  {IR_I8, 0, 1, 1, 0, 0, 8},    {IR_I16, 0, 1, 1, 0, 0, 16},
      {IR_I32, 0, 1, 1, 0, 0, 32},  {IR_I64, 0, 1, 1, 0, 0, 64},  {IR_U8, 0, 1, 0, 1, 0, 8},
      {IR_U16, 0, 1, 0, 1, 0, 16},  {IR_U32, 0, 1, 0, 1, 0, 32},  {IR_U64, 0, 1, 0, 1, 0, 64},
      {IR_F16, 1, 0, 1, 0, 0, 16},  {IR_BF16, 1, 0, 1, 0, 0, 16}, {IR_F32, 1, 0, 1, 0, 0, 32},
      {IR_F64, 1, 0, 1, 0, 0, 64},  {IR_TUPLE, 0, 0, 0, 0, 0, 0},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    ir_type t = want[i].t;
    assert_int_equal(ir_type_is_float(t), want[i].f);
    assert_int_equal(ir_type_is_int(t), want[i].i);
    assert_int_equal(ir_type_is_signed(t), want[i].s);
    assert_int_equal(ir_type_is_unsigned(t), want[i].u);
    assert_int_equal(ir_type_is_pred(t), want[i].p);
    assert_int_equal(ir_type_bits(t), want[i].bits);
  }
}

static void test_shape_layouts(void **state) {
  (void)state;
  int64_t d[3] = {2, 3, 4};
  ir_shape s = ir_shape_make(IR_F32, 3, d);
  assert_int_equal(s.rank, 3);
  assert_int_equal(s.minor_to_major[0], 2);
  assert_int_equal(s.minor_to_major[1], 1);
  assert_int_equal(s.minor_to_major[2], 0);
  assert_true(ir_shape_has_default_layout(&s));
  assert_true(ir_shape_layout_valid(&s));

  ir_shape t = s;
  t.minor_to_major[0] = 0;
  t.minor_to_major[2] = 2; /* {0,1,2}: column-major, still a permutation */
  assert_false(ir_shape_has_default_layout(&t));
  assert_true(ir_shape_layout_valid(&t));
  assert_true(ir_shape_same_dims(&s, &t));
  assert_false(ir_shape_equal(&s, &t));
  ir_shape_set_default_layout(&t);
  assert_true(ir_shape_equal(&s, &t));

  t.minor_to_major[0] = 1; /* {1,1,0}: repeats 1 */
  assert_false(ir_shape_layout_valid(&t));
  t.minor_to_major[0] = 3; /* out of range */
  assert_false(ir_shape_layout_valid(&t));

  ir_shape sc = ir_shape_scalar(IR_I8);
  assert_int_equal(sc.rank, 0);
  assert_true(ir_shape_layout_valid(&sc));
  assert_true(ir_shape_has_default_layout(&sc));

  /* same_dims compares type and rank too */
  ir_shape u = ir_shape_make(IR_F16, 3, d);
  assert_false(ir_shape_same_dims(&s, &u));
  ir_shape v = ir_shape_make(IR_F32, 2, d);
  assert_false(ir_shape_same_dims(&s, &v));
  ir_shape w = s;
  w.dims[2] = 5;
  assert_false(ir_shape_same_dims(&s, &w));
}

static void test_shape_elements(void **state) {
  (void)state;
  ir_shape s = ir_shape_scalar(IR_F64);
  assert_int_equal(ir_shape_elements(&s), 1);
  assert_int_equal(ir_shape_bytes(&s), 8);

  int64_t d[8] = {2, 3, 4};
  s = ir_shape_make(IR_F32, 3, d);
  assert_int_equal(ir_shape_elements(&s), 24);
  assert_int_equal(ir_shape_bytes(&s), 96);

  int64_t z[3] = {INT64_MAX, 0, INT64_MAX}; /* a zero dimension wins over overflow */
  s = ir_shape_make(IR_F32, 3, z);
  assert_int_equal(ir_shape_elements(&s), 0);
  assert_int_equal(ir_shape_bytes(&s), 0);

  int64_t big[2] = {(int64_t)1 << 32, (int64_t)1 << 32}; /* 2^64 elements */
  s = ir_shape_make(IR_U8, 2, big);
  assert_int_equal(ir_shape_elements(&s), INT64_MAX);
  assert_int_equal(ir_shape_bytes(&s), -1);

  int64_t fits[2] = {(int64_t)1 << 31, (int64_t)1 << 31}; /* 2^62 elements */
  s = ir_shape_make(IR_U8, 2, fits);
  assert_int_equal(ir_shape_elements(&s), (int64_t)1 << 62);
  assert_int_equal(ir_shape_bytes(&s), (int64_t)1 << 62);
  s.type = IR_F32; /* 2^64 bytes */
  assert_int_equal(ir_shape_bytes(&s), -1);
  s.type = IR_I16; /* 2^63 bytes: one past INT64_MAX */
  assert_int_equal(ir_shape_bytes(&s), -1);

  int64_t eight[8] = {2, 2, 2, 2, 2, 2, 2, 2};
  s = ir_shape_make(IR_I64, 8, eight);
  assert_int_equal(ir_shape_elements(&s), 256);
  assert_int_equal(ir_shape_bytes(&s), 2048);

  int64_t neg[1] = {-1};
  s = ir_shape_make(IR_F32, 1, neg);
  assert_int_equal(ir_shape_bytes(&s), -1);

  int64_t st[8];
  s = ir_shape_make(IR_F32, 3, d);
  ir_shape_strides(&s, st);
  assert_int_equal(st[0], 12);
  assert_int_equal(st[1], 4);
  assert_int_equal(st[2], 1);
  /* No overflow for an empty array with huge dimensions (UBSan checks). */
  s = ir_shape_make(IR_F32, 3, z);
  ir_shape_strides(&s, st);
  assert_int_equal(st[2], 1);
  assert_int_equal(st[1], INT64_MAX);
  assert_int_equal(st[0], 0);
}

static void test_shape_str(void **state) {
  (void)state;
  char buf[128];
  int64_t d[3] = {2, 3, 4};
  ir_shape s = ir_shape_make(IR_F32, 2, d);
  assert_string_equal(ir_shape_str(&s, buf, sizeof buf), "f32[2,3]{1,0}");
  s.minor_to_major[0] = 0;
  s.minor_to_major[1] = 1;
  assert_string_equal(ir_shape_str(&s, buf, sizeof buf), "f32[2,3]{0,1}");
  s = ir_shape_scalar(IR_PRED);
  assert_string_equal(ir_shape_str(&s, buf, sizeof buf), "pred[]");
  s = ir_shape_make(IR_BF16, 1, d + 2);
  assert_string_equal(ir_shape_str(&s, buf, sizeof buf), "bf16[4]{0}");
  int64_t e[1] = {0};
  s = ir_shape_make(IR_U64, 1, e);
  assert_string_equal(ir_shape_str(&s, buf, sizeof buf), "u64[0]{0}");
  int64_t big[2] = {INT64_MAX, 7};
  s = ir_shape_make(IR_I64, 2, big);
  assert_string_equal(ir_shape_str(&s, buf, sizeof buf), "i64[9223372036854775807,7]{1,0}");

  /* Truncation: always NUL-terminated, never past n. */
  memset(buf, 'Z', sizeof buf);
  s = ir_shape_make(IR_F32, 3, d);
  ir_shape_str(&s, buf, 6);
  assert_string_equal(buf, "f32[2");
  assert_int_equal(buf[6], 'Z');
  memset(buf, 'Z', sizeof buf);
  ir_shape_str(&s, buf, 0);
  assert_int_equal(buf[0], 'Z');
  ir_shape_str(&s, buf, 1);
  assert_int_equal(buf[0], 0);
  assert_int_equal(buf[1], 'Z');
}

/* binary16 value from its fields, by the definition of the format. */
static double half_value(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0) v = ldexp(m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexp(1024 + m, e - 25);
  return s ? -v : v;
}

static uint32_t bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float float_of(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* Every one of the 65536 half patterns: the float has the value the format
 * defines, and converting back gives the same pattern (NaN: a NaN of the
 * same sign). */
static void test_f16_exhaustive(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = ir_f16_to_f32((uint16_t)h);
    double want = half_value((uint16_t)h);
    uint16_t back = ir_f32_to_f16(f);
    if (isnan(want)) {
      assert_true(isnan(f));
      assert_int_equal(signbit(f) != 0, (h & 0x8000) != 0);
      assert_int_equal(back & 0x7c00, 0x7c00);
      assert_true((back & 0x3ff) != 0);
      assert_int_equal(back & 0x8000, h & 0x8000);
    } else {
      if ((double)f != want || !signbit(f) != !signbit(want)) {
        print_error("f16 0x%04x: got %a, want %a\n", h, (double)f, want);
        fail();
      }
      if (back != h) {
        print_error("f16 0x%04x round trip gave 0x%04x\n", h, back);
        fail();
      }
    }
  }
}

/* Rounding to nearest even, hand-computed cases. */
static void test_f16_rounding(void **state) {
  (void)state;
  static const struct {
    double in;
    uint16_t want;
  } cases[] = {
      {1.0, 0x3c00},
      {-2.0, 0xc000},
      {0.0, 0x0000},
      {65504.0, 0x7bff},                       /* largest finite */
      {65519.0, 0x7bff},                       /* below the midpoint to 65536 */
      {65520.0, 0x7c00},                       /* the midpoint: ties to even (= 2^16, inf) */
      {1e10, 0x7c00},                          /* overflow */
      {-1e10, 0xfc00},
      {1.0 + 0x1p-11, 0x3c00},                 /* half an ulp above 1: ties to even (down) */
      {1.0 + 3 * 0x1p-11, 0x3c02},             /* 1.5 ulp: ties to even (up) */
      {1.0 + 0x1p-11 + 0x1p-20, 0x3c01},       /* just above the tie */
      {1.0 + 0x1p-11 - 0x1p-20, 0x3c00},       /* just below the tie */
      {0x1p-24, 0x0001},                       /* smallest subnormal */
      {0x1p-25, 0x0000},                       /* half of it: ties to even (zero) */
      {0x1p-25 + 0x1p-40, 0x0001},             /* just above: rounds up */
      {3 * 0x1p-25, 0x0002},                   /* 1.5 subnormal ulps: ties to even */
      {5 * 0x1p-25, 0x0002},                   /* 2.5: ties to even (down) */
      {0x1p-26, 0x0000},                       /* a quarter ulp */
      {-0x1p-26, 0x8000},                      /* keeps the sign */
      {1023 * 0x1p-24, 0x03ff},                /* largest subnormal */
      {1023.5 * 0x1p-24, 0x0400},              /* tie between it and the smallest normal: even */
      {0x1p-14, 0x0400},                       /* smallest normal */
      {2047.0, 0x67ff},
      {2047.5, 0x6800},                        /* tie: carries into the exponent (2048) */
      {2049.0, 0x6800},                        /* tie between 2048 and 2050: even */
      {2051.0, 0x6802},                        /* tie between 2050 and 2052: even */
      {0.1, 0x2e66},                           /* 0.0999755859375 */
      {1.0 / 3.0, 0x3555},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint16_t got = ir_f32_to_f16((float)cases[i].in);
    if (got != cases[i].want) {
      print_error("f16(%a): got 0x%04x, want 0x%04x\n", cases[i].in, got, cases[i].want);
      fail();
    }
  }
  assert_int_equal(ir_f32_to_f16(-0.0f), 0x8000);
  assert_int_equal(ir_f32_to_f16(INFINITY), 0x7c00);
  assert_int_equal(ir_f32_to_f16(-INFINITY), 0xfc00);
  assert_int_equal(ir_f32_to_f16(FLT_MAX), 0x7c00);
  assert_int_equal(ir_f32_to_f16(FLT_TRUE_MIN), 0x0000);
  /* NaNs stay NaN, quiet or signalling, with their sign. */
  uint16_t q = ir_f32_to_f16(float_of(0x7fc00000u));
  assert_int_equal(q & 0x7c00, 0x7c00);
  assert_true(q & 0x3ff);
  uint16_t sn = ir_f32_to_f16(float_of(0xff800001u)); /* payload only in low bits */
  assert_int_equal(sn & 0xfc00, 0xfc00);
  assert_true(sn & 0x3ff);
}

static void test_bf16_exhaustive(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = ir_bf16_to_f32((uint16_t)h);
    /* bfloat16 is the top half of a binary32. */
    assert_int_equal(bits_of(f), h << 16);
    uint16_t back = ir_f32_to_bf16(f);
    bool nan = (h & 0x7f80) == 0x7f80 && (h & 0x7f);
    if (nan) {
      assert_int_equal(back & 0xff80, h & 0xff80);
      assert_true(back & 0x7f);
    } else if (back != h) {
      print_error("bf16 0x%04x round trip gave 0x%04x\n", h, back);
      fail();
    }
  }
}

static void test_bf16_rounding(void **state) {
  (void)state;
  static const struct {
    uint32_t in; /* binary32 bits */
    uint16_t want;
  } cases[] = {
      {0x3f800000u, 0x3f80}, /* 1 */
      {0x3f808000u, 0x3f80}, /* 1 + 2^-8: tie, even (down) */
      {0x3f818000u, 0x3f82}, /* 1 + 3*2^-8: tie, even (up) */
      {0x3f808001u, 0x3f81}, /* just above the tie */
      {0x3f807fffu, 0x3f80}, /* just below */
      {0x7f7f0000u, 0x7f7f}, /* largest finite bf16 */
      {0x7f7f8000u, 0x7f80}, /* tie above it with an odd mantissa: up to inf */
      {0x7f7fffffu, 0x7f80}, /* FLT_MAX rounds to inf */
      {0x00000001u, 0x0000}, /* smallest float subnormal */
      {0x00008000u, 0x0000}, /* tie to even zero */
      {0x00018000u, 0x0002}, /* tie to even */
      {0x80000000u, 0x8000}, /* -0 */
      {0xff800000u, 0xff80}, /* -inf */
      {0x3dcccccdu, 0x3dcd}, /* 0.1f */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    uint16_t got = ir_f32_to_bf16(float_of(cases[i].in));
    if (got != cases[i].want) {
      print_error("bf16(0x%08x): got 0x%04x, want 0x%04x\n", cases[i].in, got, cases[i].want);
      fail();
    }
  }
  /* A signalling NaN whose payload lives only in the low half stays NaN. */
  uint16_t sn = ir_f32_to_bf16(float_of(0x7f800001u));
  assert_int_equal(sn & 0x7f80, 0x7f80);
  assert_true(sn & 0x7f);
  uint16_t nn = ir_f32_to_bf16(float_of(0xffffffffu));
  assert_int_equal(nn & 0xff80, 0xff80);
  assert_true(nn & 0x7f);
}

/* Panel layouts (docs/ir.md): validity, equality, storage size with the
 * padded last panel, and the printed form. */
static void test_shape_panels(void **state) {
  (void)state;
  char buf[128];
  int64_t d[4] = {10, 5, 3, 3};
  ir_shape s = ir_shape_make(IR_F32, 4, d), t = s;
  s.panel_dim = 0;
  s.panel = 6;
  assert_true(ir_shape_layout_valid(&s));
  assert_false(ir_shape_has_default_layout(&s));
  assert_false(ir_shape_equal(&s, &t)); /* the panels count */
  assert_true(ir_shape_same_dims(&s, &t));
  assert_string_equal(ir_shape_str(&s, buf, sizeof buf), "f32[10,5,3,3]{3,2,1,0:P(0,6)}");
  assert_int_equal(ir_shape_bytes(&s), 10 * 45 * 4);    /* the data: logical */
  assert_int_equal(ir_shape_phys_bytes(&s), 12 * 45 * 4); /* storage: 2 panels of 6 */
  assert_int_equal(ir_shape_phys_bytes(&t), 10 * 45 * 4);
  t = s;
  assert_true(ir_shape_equal(&s, &t));
  t.panel = 14;
  assert_false(ir_shape_equal(&s, &t));
  /* Any dimension may be cut; its panel index takes its place in the
   * order (a batch dimension stays outside the panels). */
  t = s;
  t.panel_dim = 1;
  assert_true(ir_shape_layout_valid(&t));
  t.panel_dim = 4;
  assert_false(ir_shape_layout_valid(&t));
  t = s;
  t.panel = -1;
  assert_false(ir_shape_layout_valid(&t));
  /* A default layout drops the panels. */
  ir_shape_set_default_layout(&s);
  assert_int_equal(s.panel, 0);
  assert_true(ir_shape_has_default_layout(&s));
  /* B's column panels of a [K, N] operand: {0,1:P(1,16)}. */
  int64_t kn[2] = {40, 37};
  s = ir_shape_make(IR_F32, 2, kn);
  s.minor_to_major[0] = 0;
  s.minor_to_major[1] = 1;
  s.panel_dim = 1;
  s.panel = 16;
  assert_true(ir_shape_layout_valid(&s));
  assert_string_equal(ir_shape_str(&s, buf, sizeof buf), "f32[40,37]{0,1:P(1,16)}");
  assert_int_equal(ir_shape_phys_bytes(&s), 40 * 48 * 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_type_names),     cmocka_unit_test(test_type_from_name_refuses),
      cmocka_unit_test(test_type_classes),   cmocka_unit_test(test_shape_layouts),
      cmocka_unit_test(test_shape_elements), cmocka_unit_test(test_shape_str),
      cmocka_unit_test(test_f16_exhaustive), cmocka_unit_test(test_f16_rounding),
      cmocka_unit_test(test_bf16_exhaustive), cmocka_unit_test(test_bf16_rounding),
      cmocka_unit_test(test_shape_panels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
