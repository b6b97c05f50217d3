/*
 * Symbols and dimension expressions (ir/symbolic.h): canonical forms (equal
 * expressions get one id whatever the order they are built in), floor and
 * ceil division identities, ranges, evaluation against values computed by
 * hand, text, overflow refusal, symbolic shape dimensions, and cloning.
 */
#include "ir/symbolic.h"
#include "tests/unit/unit.h"

static void test_symbols(void **state) {
  (void)state;
  ir_module *m = ir_module_create("t");
  assert_int_equal(ir_sym_count(m), 0);
  ir_dexpr b = ir_sym_declare(m, "batch", 64);
  ir_dexpr s = ir_sym_declare(m, "seq", 128);
  assert_true(b && s && b != s);
  assert_int_equal(ir_sym_count(m), 2);
  assert_int_equal(ir_sym_find(m, "seq"), 1);
  assert_int_equal(ir_sym_find(m, "nope"), -1);
  assert_int_equal(ir_sym_bound(m, 0), 64);
  assert_string_equal(ir_sym_name(m, 1), "seq");
  assert_int_equal(ir_sym_declare(m, "batch", 64), b); /* the same again */
  assert_int_equal(ir_sym_declare(m, "batch", 32), 0); /* another bound */
  assert_int_equal(ir_sym_declare(m, "9x", 4), 0);
  assert_int_equal(ir_sym_declare(m, "a b", 4), 0);
  assert_int_equal(ir_sym_declare(m, "z", 0), 0);
  assert_int_equal(ir_dexpr_as_sym(m, s), 1);
  ir_module_destroy(m);
}

static void test_canonical(void **state) {
  (void)state;
  ir_module *m = ir_module_create("t");
  ir_dexpr b = ir_sym_declare(m, "b", 8), s = ir_sym_declare(m, "s", 100);
  ir_dexpr c3 = ir_dexpr_const(m, 3);
  /* (b*s)*3 == 3*(s*b) */
  ir_dexpr x = ir_dexpr_mul(m, ir_dexpr_mul(m, b, s), c3);
  ir_dexpr y = ir_dexpr_mul(m, c3, ir_dexpr_mul(m, s, b));
  assert_true(x && x == y);
  /* (b+1)*(s+2) - b*s - 2*b - s == 2 */
  ir_dexpr p = ir_dexpr_mul(m, ir_dexpr_add_const(m, b, 1), ir_dexpr_add_const(m, s, 2));
  ir_dexpr q = ir_dexpr_sub(m, p, ir_dexpr_mul(m, b, s));
  q = ir_dexpr_sub(m, q, ir_dexpr_mul_const(m, b, 2));
  q = ir_dexpr_sub(m, q, s);
  int64_t v;
  assert_true(ir_dexpr_is_const(m, q, &v));
  assert_int_equal(v, 2);
  assert_int_equal(ir_dexpr_const(m, 2), q);
  /* s - s == 0 */
  assert_true(ir_dexpr_is_const(m, ir_dexpr_sub(m, s, s), &v));
  assert_int_equal(v, 0);
  assert_false(ir_dexpr_is_const(m, s, NULL));
  assert_int_equal(ir_dexpr_as_sym(m, x), -1);
  ir_module_destroy(m);
}

static void test_division(void **state) {
  (void)state;
  ir_module *m = ir_module_create("t");
  ir_dexpr s = ir_sym_declare(m, "s", 100);
  /* floor(4s/2) = 2s; floor((4s+6)/2) = 2s+3 */
  assert_int_equal(ir_dexpr_floordiv(m, ir_dexpr_mul_const(m, s, 4), 2), ir_dexpr_mul_const(m, s, 2));
  assert_int_equal(ir_dexpr_floordiv(m, ir_dexpr_add_const(m, ir_dexpr_mul_const(m, s, 4), 6), 2),
                   ir_dexpr_add_const(m, ir_dexpr_mul_const(m, s, 2), 3));
  /* floor((s-1)/2) + 1 == floor((s+1)/2) == ceil(s/2) */
  ir_dexpr a = ir_dexpr_add_const(m, ir_dexpr_floordiv(m, ir_dexpr_add_const(m, s, -1), 2), 1);
  ir_dexpr c = ir_dexpr_ceildiv(m, s, 2);
  assert_true(a && a == c);
  /* floor((3s+1)/2) == s + floor((s+1)/2) */
  ir_dexpr d = ir_dexpr_floordiv(m, ir_dexpr_add_const(m, ir_dexpr_mul_const(m, s, 3), 1), 2);
  assert_int_equal(d, ir_dexpr_add(m, s, c));
  /* Values against plain integer arithmetic, for every s in range. */
  for (int64_t sv = 1; sv <= 100; sv++) {
    int64_t got;
    assert_true(ir_dexpr_eval(m, d, &sv, &got));
    assert_int_equal(got, (3 * sv + 1) / 2);
    ir_dexpr conv = ir_dexpr_add_const(m, ir_dexpr_floordiv(m, ir_dexpr_add_const(m, s, 2 * 3 - 7), 2), 1);
    assert_true(ir_dexpr_eval(m, conv, &sv, &got));
    int64_t num = sv + 6 - 7, want = (num >= 0 ? num / 2 : -((-num + 1) / 2)) + 1;
    assert_int_equal(got, want);
  }
  /* Nested divisions are one: floor(floor(s/2)/2) == floor(s/4), and
   * floor((floor(s/3)+1)/2) == floor((s+3)/6), checked by value too. */
  assert_int_equal(ir_dexpr_floordiv(m, ir_dexpr_floordiv(m, s, 2), 2), ir_dexpr_floordiv(m, s, 4));
  ir_dexpr n2 = ir_dexpr_floordiv(m, ir_dexpr_add_const(m, ir_dexpr_floordiv(m, s, 3), 1), 2);
  assert_int_equal(n2, ir_dexpr_floordiv(m, ir_dexpr_add_const(m, s, 3), 6));
  for (int64_t sv = 1; sv <= 100; sv++) {
    int64_t got;
    assert_true(ir_dexpr_eval(m, n2, &sv, &got));
    assert_int_equal(got, (sv / 3 + 1) / 2);
  }
  assert_int_equal(ir_dexpr_floordiv(m, s, 0), 0);
  assert_int_equal(ir_dexpr_floordiv(m, s, 1), s);
  ir_module_destroy(m);
}

static int64_t fdiv(int64_t a, int64_t c) { return a >= 0 ? a / c : -((-a + c - 1) / c); }

/* floor(e / c) and ceil(e / c) agree with integer arithmetic at every
 * binding, for multi-term expressions mixing symbols, constants and floor
 * divisions (so that each canonicalisation rule of ir_dexpr_floordiv is
 * taken), and their ranges enclose every value. */
static void test_division_by_value(void **state) {
  (void)state;
  ir_module *m = ir_module_create("t");
  ir_dexpr s = ir_sym_declare(m, "s", 20), t = ir_sym_declare(m, "t", 20);
  ir_dexpr e[8];
  e[0] = ir_dexpr_add(m, s, ir_dexpr_floordiv(m, t, 2));                              /* s + t/2 */
  e[1] = ir_dexpr_add_const(m, ir_dexpr_sub(m, ir_dexpr_mul_const(m, s, 3), t), 5);   /* 3s - t + 5 */
  e[2] = ir_dexpr_add_const(m, ir_dexpr_mul(m, s, t), -2);                             /* s*t - 2 */
  e[3] = ir_dexpr_add(m, ir_dexpr_floordiv(m, ir_dexpr_add_const(m, s, 1), 3), t);     /* (s+1)/3 + t */
  e[4] = ir_dexpr_add_const(m, ir_dexpr_floordiv(m, s, 3), 1);                         /* s/3 + 1 */
  e[5] = ir_dexpr_sub(m, s, ir_dexpr_mul_const(m, ir_dexpr_floordiv(m, s, 2), 2));     /* s - 2*(s/2) */
  e[6] = ir_dexpr_add_const(m, ir_dexpr_mul_const(m, ir_dexpr_floordiv(m, t, 4), 3), -7); /* 3*(t/4) - 7 */
  e[7] = ir_dexpr_add(m, ir_dexpr_floordiv(m, s, 2), ir_dexpr_floordiv(m, t, 3));      /* s/2 + t/3 */
  for (int i = 0; i < 8; i++) {
    assert_true(e[i] != 0);
    for (int64_t c = 2; c <= 5; c++) {
      ir_dexpr f = ir_dexpr_floordiv(m, e[i], c), g = ir_dexpr_ceildiv(m, e[i], c);
      assert_true(f && g);
      int64_t lo = ir_dexpr_lower(m, f), hi = ir_dexpr_upper(m, f);
      for (int64_t sv = 1; sv <= 20; sv++)
        for (int64_t tv = 1; tv <= 20; tv++) {
          int64_t b[2] = {sv, tv}, ev, fv, gv;
          assert_true(ir_dexpr_eval(m, e[i], b, &ev));
          assert_true(ir_dexpr_eval(m, f, b, &fv));
          assert_true(ir_dexpr_eval(m, g, b, &gv));
          assert_int_equal(fv, fdiv(ev, c));
          assert_int_equal(gv, -fdiv(-ev, c));
          assert_true(fv >= lo && fv <= hi);
        }
    }
  }
  ir_module_destroy(m);
}

static void test_ranges_and_text(void **state) {
  (void)state;
  ir_module *m = ir_module_create("t");
  ir_dexpr b = ir_sym_declare(m, "b", 8), s = ir_sym_declare(m, "s", 100);
  char buf[128];
  ir_dexpr bs = ir_dexpr_mul(m, b, s);
  assert_int_equal(ir_dexpr_upper(m, bs), 800);
  assert_int_equal(ir_dexpr_lower(m, bs), 1);
  ir_dexpr e = ir_dexpr_sub(m, ir_dexpr_mul_const(m, s, 2), b); /* 2s - b: [2-8, 200-1] */
  assert_int_equal(ir_dexpr_upper(m, e), 199);
  assert_int_equal(ir_dexpr_lower(m, e), -6);
  assert_string_equal(ir_dexpr_str(m, bs, buf, sizeof buf), "b*s");
  assert_string_equal(ir_dexpr_str(m, ir_dexpr_add_const(m, ir_dexpr_mul_const(m, s, 2), 1), buf, sizeof buf),
                      "2*s+1");
  assert_string_equal(ir_dexpr_str(m, ir_dexpr_ceildiv(m, s, 2), buf, sizeof buf), "(s+1)/2");
  assert_string_equal(ir_dexpr_str(m, ir_dexpr_floordiv(m, s, 4), buf, sizeof buf), "s/4");
  assert_string_equal(ir_dexpr_str(m, ir_dexpr_sub(m, ir_dexpr_const(m, 5), s), buf, sizeof buf), "5-s");
  assert_string_equal(ir_dexpr_str(m, ir_dexpr_mul(m, b, ir_dexpr_floordiv(m, s, 4)), buf, sizeof buf), "s/4*b");
  int64_t vals[2] = {3, 10};
  int64_t v;
  assert_true(ir_dexpr_eval(m, ir_dexpr_mul(m, b, ir_dexpr_floordiv(m, s, 4)), vals, &v));
  assert_int_equal(v, 3 * (10 / 4));
  assert_true(ir_dexpr_uses(m, bs, 0));
  assert_false(ir_dexpr_uses(m, s, 0));
  /* Coefficient overflow is refused, not wrapped. */
  assert_int_equal(ir_dexpr_mul_const(m, ir_dexpr_mul_const(m, s, INT64_MAX / 2), 4), 0);
  ir_module_destroy(m);
}

static void test_shapes(void **state) {
  (void)state;
  ir_module *m = ir_module_create("t");
  ir_dexpr b = ir_sym_declare(m, "b", 8);
  char buf[128];
  int64_t dims[3] = {1, 3, 224};
  ir_shape x = ir_shape_make(IR_F32, 3, dims);
  assert_true(ir_shape_is_static(&x));
  assert_true(ir_shape_set_dim(m, &x, 0, b));
  assert_false(ir_shape_is_static(&x));
  assert_int_equal(x.dims[0], 8); /* the bound */
  assert_string_equal(ir_shape_str_m(m, &x, buf, sizeof buf), "f32[b,3,224]{2,1,0}");
  assert_string_equal(ir_shape_str(&x, buf, sizeof buf), "f32[?<=8,3,224]{2,1,0}");
  ir_shape y = ir_shape_make(IR_F32, 3, (int64_t[]){8, 3, 224});
  assert_false(ir_shape_same_dims(&x, &y)); /* bound shape is not the symbolic one */
  assert_true(ir_shape_set_dim(m, &x, 1, ir_dexpr_const(m, 5)));
  assert_int_equal(x.sym[1], 0);
  assert_false(ir_shape_set_dim(m, &x, 1, ir_dexpr_sub(m, ir_dexpr_const(m, 2), b)));
  ir_dexpr n = ir_shape_elements_dexpr(m, &x);
  assert_int_equal(n, ir_dexpr_mul_const(m, b, 5 * 224));
  ir_module *k = ir_module_clone(m);
  assert_non_null(k);
  assert_string_equal(ir_shape_str_m(k, &x, buf, sizeof buf), "f32[b,5,224]{2,1,0}");
  assert_int_equal(ir_dexpr_mul_const(k, b, 5 * 224), n);
  int64_t bind = 3;
  assert_true(ir_shape_bind(k, &x, &bind));
  assert_true(ir_shape_is_static(&x));
  assert_int_equal(x.dims[0], 3);
  ir_module_destroy(k);
  ir_module_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_symbols),         cmocka_unit_test(test_canonical), cmocka_unit_test(test_division),
      cmocka_unit_test(test_division_by_value),
      cmocka_unit_test(test_ranges_and_text), cmocka_unit_test(test_shapes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
