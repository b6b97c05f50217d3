/*
 * kiln_model_evaluate_trace and kiln_model_extract (api/model_debug.c),
 * the library half of kiln verify: on a small IR model with a fusion that
 * uses one operand twice, a constant operand, a reduce and a two-array sort,
 * every intermediate value the trace hands out equals a hand-computed one;
 * an extracted instruction is a model that verifies, prints and parses
 * back to the same text, and evaluates (fed the traced values of its
 * operands) to the value the trace gave.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/kiln.h"

/* f = x * c + x (fusion, x used twice), r = sum_j f[i,j], (sv, si) = sort
 * of r descending with its indices. */
static const char *model_text =
    "module dbg\n"
    "\n"
    "%fused_madd {\n"
    "  %p0 = f32[2,3]{1,0} parameter(0)\n"
    "  %p1 = f32[2,3]{1,0} parameter(1)\n"
    "  %p2 = f32[2,3]{1,0} parameter(2)\n"
    "  %m = f32[2,3]{1,0} mul(%p0, %p1)\n"
    "  ROOT %a = f32[2,3]{1,0} add(%m, %p2)\n"
    "}\n"
    "\n"
    "ENTRY %main outputs={\"r\", \"sv\", \"si\"} {\n"
    "  %x = f32[2,3]{1,0} parameter(0), io_name=\"x\"\n"
    "  %c = f32[2,3]{1,0} constant({{1, 2, 3}, {4, 5, 6}})\n"
    "  %f = f32[2,3]{1,0} fusion(%x, %c, %x), kind=loop, calls=%fused_madd\n"
    "  %r = f32[2]{0} reduce(%f), dimensions={1}, combiner=add\n"
    "  %io = i32[2]{0} iota(), iota_dimension=0\n"
    "  %s = (f32[2]{0}, i32[2]{0}) sort(%r, %io), dimensions={0}, descending=true\n"
    "  %sv = f32[2]{0} get_tuple_element(%s), index=0\n"
    "  %si = i32[2]{0} get_tuple_element(%s), index=1\n"
    "  ROOT %out = (f32[2]{0}, f32[2]{0}, i32[2]{0}) tuple(%r, %sv, %si)\n"
    "}\n";

static const float x_in[6] = {1, -1, 2, 0.5f, 3, -2};

/* Every value the trace handed out: a name and a copy of its data. */
typedef struct seen {
  int n;
  char names[32][64];
  kiln_dtype dtype[32];
  int rank[32];
  int64_t elems[32];
  float data[32][8]; /* as float (i32 values converted) */
} seen;

static void record(void *user, const kiln_tensor_info *info, const void *data) {
  seen *s = user;
  assert_true(s->n < 32);
  int k = s->n++;
  strncpy(s->names[k], info->name, sizeof s->names[k] - 1);
  s->dtype[k] = info->dtype;
  s->rank[k] = info->rank;
  int64_t n = 1;
  for (int d = 0; d < info->rank; d++) n *= info->dims[d];
  s->elems[k] = n;
  assert_true(n <= 8);
  for (int64_t i = 0; i < n; i++)
    s->data[k][i] = info->dtype == KILN_I32 ? (float)((const int32_t *)data)[i] : ((const float *)data)[i];
}

static int find(const seen *s, const char *name) {
  for (int k = 0; k < s->n; k++)
    if (!strcmp(s->names[k], name)) return k;
  fail_msg("the trace has no value named %s", name);
  return -1;
}

static void expect(const seen *s, const char *name, int n, const float *want) {
  int k = find(s, name);
  assert_int_equal(s->elems[k], n);
  for (int i = 0; i < n; i++) {
    if (fabsf(s->data[k][i] - want[i]) > 1e-6f) fail_msg("%s[%d] = %g, expected %g", name, i, s->data[k][i], want[i]);
  }
}

static kiln_model *load(kiln_context *ctx) {
  kiln_model *m = NULL;
  assert_int_equal(kiln_model_from_kir(ctx, model_text, strlen(model_text), "dbg.kir", &m), KILN_OK);
  return m;
}

static void test_trace_values(void **state) {
  (void)state;
  kiln_context *ctx = NULL;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_model *m = load(ctx);
  float r[2], sv[2];
  int32_t si[2];
  const void *ins[] = {x_in};
  void *outs[] = {r, sv, si};
  seen s = {0};
  assert_int_equal(kiln_model_evaluate_trace(m, ins, outs, record, &s), KILN_OK);
  /* f = x * c + x: {1*1+1, -1*2-1, 2*3+2, 0.5*4+0.5, 3*5+3, -2*6-2} */
  const float f[6] = {2, -3, 8, 2.5f, 18, -14};
  const float rr[2] = {7, 6.5f};
  expect(&s, "x", 6, x_in);
  expect(&s, "c", 6, (const float[]){1, 2, 3, 4, 5, 6});
  expect(&s, "f", 6, f);
  expect(&s, "r", 2, rr);
  expect(&s, "io", 2, (const float[]){0, 1});
  /* A tuple's elements are NAME#k; get_tuple_element is a value of its own. */
  expect(&s, "s#0", 2, (const float[]){7, 6.5f});
  expect(&s, "s#1", 2, (const float[]){0, 1});
  expect(&s, "sv", 2, (const float[]){7, 6.5f});
  expect(&s, "si", 2, (const float[]){0, 1});
  assert_int_equal(s.dtype[find(&s, "s#1")], KILN_I32);
  /* In instruction order: x first, the root tuple's elements last. */
  assert_string_equal(s.names[0], "x");
  assert_string_equal(s.names[s.n - 1], "out#2");
  /* The fusion's inner values (%m, %a) are not entry values. */
  for (int k = 0; k < s.n; k++) {
    assert_string_not_equal(s.names[k], "m");
    assert_string_not_equal(s.names[k], "a");
  }
  /* The outputs are written as kiln_model_evaluate writes them. */
  assert_true(r[0] == 7 && r[1] == 6.5f && sv[0] == 7 && si[0] == 0 && si[1] == 1);
  /* Without a callback it is kiln_model_evaluate. */
  memset(r, 0, sizeof r);
  assert_int_equal(kiln_model_evaluate_trace(m, ins, outs, NULL, NULL), KILN_OK);
  assert_true(r[0] == 7);
  assert_int_equal(kiln_model_evaluate_trace(NULL, ins, outs, record, &s), KILN_ERR_INVALID_ARGUMENT);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

/* Extracts `inst`, checks verification and the text round trip, and
 * returns the extracted model. */
static kiln_model *extract_checked(kiln_context *ctx, kiln_model *m, const char *inst) {
  kiln_model *x = NULL;
  assert_int_equal(kiln_model_extract(m, inst, &x), KILN_OK);
  assert_non_null(x);
  assert_int_equal(kiln_model_verify(x), KILN_OK);
  char *text = NULL, *text2 = NULL;
  assert_int_equal(kiln_model_print(x, 0, &text), KILN_OK);
  kiln_model *y = NULL;
  assert_int_equal(kiln_model_from_kir(ctx, text, strlen(text), "extracted.kir", &y), KILN_OK);
  assert_int_equal(kiln_model_print(y, 0, &text2), KILN_OK);
  assert_string_equal(text, text2);
  kiln_free(text);
  kiln_free(text2);
  kiln_model_destroy(y);
  return x;
}

static void test_extract_fusion(void **state) {
  (void)state;
  kiln_context *ctx = NULL;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_model *m = load(ctx);
  kiln_model *x = extract_checked(ctx, m, "f");
  /* One parameter for %x (used twice), the constant kept as a constant. */
  assert_int_equal(kiln_model_num_inputs(x), 1);
  kiln_tensor_info ti;
  assert_int_equal(kiln_model_input(x, 0, &ti), KILN_OK);
  assert_string_equal(ti.name, "x");
  assert_int_equal(kiln_model_num_outputs(x), 1);
  assert_int_equal(kiln_model_output(x, 0, &ti), KILN_OK);
  assert_string_equal(ti.name, "f");
  assert_int_equal(ti.rank, 2);
  /* The copy of the fused computation is in the text, called by the new entry. */
  char *text = NULL;
  assert_int_equal(kiln_model_print(x, 0, &text), KILN_OK);
  assert_non_null(strstr(text, "%fused_madd {"));
  assert_non_null(strstr(text, "calls=%fused_madd"));
  kiln_free(text);
  float got[6];
  const void *ins[] = {x_in};
  void *outs[] = {got};
  assert_int_equal(kiln_model_evaluate(x, ins, outs), KILN_OK);
  const float f[6] = {2, -3, 8, 2.5f, 18, -14};
  for (int i = 0; i < 6; i++) assert_true(got[i] == f[i]);
  kiln_model_destroy(x);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

/* A tuple-shaped instruction: one output per element, NAME#k; fed the
 * trace's value of its operands it gives the trace's values. */
static void test_extract_tuple_from_trace(void **state) {
  (void)state;
  kiln_context *ctx = NULL;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_model *m = load(ctx);
  float r[2], sv[2];
  int32_t si[2];
  const void *ins[] = {x_in};
  void *outs[] = {r, sv, si};
  seen s = {0};
  assert_int_equal(kiln_model_evaluate_trace(m, ins, outs, record, &s), KILN_OK);
  kiln_model *x = extract_checked(ctx, m, "s");
  assert_int_equal(kiln_model_num_inputs(x), 2);
  assert_int_equal(kiln_model_num_outputs(x), 2);
  kiln_tensor_info t0, t1, o0, o1;
  assert_int_equal(kiln_model_input(x, 0, &t0), KILN_OK);
  assert_int_equal(kiln_model_input(x, 1, &t1), KILN_OK);
  assert_string_equal(t0.name, "r");
  assert_string_equal(t1.name, "io");
  assert_int_equal(kiln_model_output(x, 0, &o0), KILN_OK);
  assert_int_equal(kiln_model_output(x, 1, &o1), KILN_OK);
  assert_string_equal(o0.name, "s#0");
  assert_string_equal(o1.name, "s#1");
  float rin[2] = {s.data[find(&s, "r")][0], s.data[find(&s, "r")][1]};
  int32_t ioin[2] = {0, 1};
  float got_v[2];
  int32_t got_i[2];
  const void *xin[] = {rin, ioin};
  void *xout[] = {got_v, got_i};
  assert_int_equal(kiln_model_evaluate(x, xin, xout), KILN_OK);
  int k0 = find(&s, "s#0"), k1 = find(&s, "s#1");
  for (int i = 0; i < 2; i++) {
    assert_true(got_v[i] == s.data[k0][i]);
    assert_true((float)got_i[i] == s.data[k1][i]);
  }
  kiln_model_destroy(x);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

static void test_extract_errors(void **state) {
  (void)state;
  kiln_context *ctx = NULL;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_model *m = load(ctx);
  kiln_model *x = (kiln_model *)1;
  assert_int_equal(kiln_model_extract(m, "nosuch", &x), KILN_ERR_INVALID_ARGUMENT);
  assert_null(x);
  assert_non_null(strstr(kiln_context_last_error(ctx), "nosuch"));
  /* A parameter computes nothing; an operand that is a tuple cannot become a parameter. */
  assert_int_equal(kiln_model_extract(m, "x", &x), KILN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(kiln_context_last_error(ctx), "parameter"));
  assert_int_equal(kiln_model_extract(m, "sv", &x), KILN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(kiln_context_last_error(ctx), "tuple"));
  assert_int_equal(kiln_model_extract(m, NULL, &x), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_model_extract(NULL, "f", &x), KILN_ERR_INVALID_ARGUMENT);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trace_values),
      cmocka_unit_test(test_extract_fusion),
      cmocka_unit_test(test_extract_tuple_from_trace),
      cmocka_unit_test(test_extract_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
