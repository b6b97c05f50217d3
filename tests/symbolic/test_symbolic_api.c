/*
 * Symbolic dimensions through the public API (kiln/kiln.h only):
 * kiln_context_bound_input_shape, kiln_model_is_symbolic,
 * kiln_model_bind_shapes and the refusals of code generation and of the
 * interpreter for a model that is still symbolic.
 *
 * The model is tests/cli/models/sym.onnx (path in argv[1]): y = x + x with
 * x: f32[N,4], N a dim_param; expected values are written by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kiln/kiln.h"

static const char *model_path;

/* A context with N bounded by 8 and the model loaded from it. */
static kiln_model *load_bounded(kiln_context **ctx) {
  assert_int_equal(kiln_context_create(ctx), KILN_OK);
  const int64_t bound[2] = {8, 4};
  assert_int_equal(kiln_context_bound_input_shape(*ctx, "x", 2, bound), KILN_OK);
  kiln_model *m = NULL;
  assert_int_equal(kiln_model_load_file(*ctx, model_path, &m), KILN_OK);
  return m;
}

static void bounded_model_is_symbolic(void **state) {
  (void)state;
  kiln_context *ctx;
  kiln_model *m = load_bounded(&ctx);
  assert_int_equal(kiln_model_is_symbolic(m), 1);
  kiln_tensor_info in;
  assert_int_equal(kiln_model_input(m, 0, &in), KILN_OK);
  assert_int_equal(in.rank, 2);
  assert_int_equal(in.dims[0], 8); /* the bound */
  assert_int_equal(in.dims[1], 4);
  /* Neither compiled nor interpreted while symbolic. */
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_model_jit(m, &exe), KILN_ERR_UNSUPPORTED);
  assert_null(exe);
  assert_non_null(strstr(kiln_context_last_error(ctx), "not implemented yet (issue 15)"));
  float x[32] = {0}, y[32];
  const void *ins[1] = {x};
  void *outs[1] = {y};
  assert_int_equal(kiln_model_evaluate(m, ins, outs), KILN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(kiln_context_last_error(ctx), "kiln_model_bind_shapes"));
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

static void bind_then_evaluate(void **state) {
  (void)state;
  kiln_context *ctx;
  kiln_model *m = load_bounded(&ctx);
  const int64_t dims[2] = {3, 4};
  kiln_tensor_info actual = {"x", KILN_F32, 2, dims};
  assert_int_equal(kiln_model_bind_shapes(m, 1, &actual), KILN_OK);
  assert_int_equal(kiln_model_is_symbolic(m), 0);
  kiln_tensor_info out;
  assert_int_equal(kiln_model_output(m, 0, &out), KILN_OK);
  assert_int_equal(out.rank, 2);
  assert_int_equal(out.dims[0], 3);
  assert_int_equal(out.dims[1], 4);
  float x[12], y[12];
  for (int i = 0; i < 12; i++) x[i] = (float)i - 5.5f;
  const void *ins[1] = {x};
  void *outs[1] = {y};
  assert_int_equal(kiln_model_evaluate(m, ins, outs), KILN_OK);
  for (int i = 0; i < 12; i++) assert_true(y[i] == 2.0f * ((float)i - 5.5f));
  /* Static now: only its own shape fits. */
  const int64_t other[2] = {2, 4};
  kiln_tensor_info wrong = {"x", KILN_F32, 2, other};
  assert_int_equal(kiln_model_bind_shapes(m, 1, &wrong), KILN_ERR_SHAPE);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

static void out_of_bound_and_mismatch(void **state) {
  (void)state;
  kiln_context *ctx;
  kiln_model *m = load_bounded(&ctx);
  const int64_t big[2] = {9, 4}, bad[2] = {3, 5};
  kiln_tensor_info a = {"x", KILN_F32, 2, big}, b = {"x", KILN_F32, 2, bad};
  assert_int_equal(kiln_model_bind_shapes(m, 1, &a), KILN_ERR_SHAPE);
  assert_non_null(strstr(kiln_context_last_error(ctx), "= 9 exceeds its bound 8"));
  assert_int_equal(kiln_model_is_symbolic(m), 1); /* unchanged */
  assert_int_equal(kiln_model_bind_shapes(m, 1, &b), KILN_ERR_SHAPE);
  assert_non_null(strstr(kiln_context_last_error(ctx), "input 'x'"));
  assert_int_equal(kiln_model_bind_shapes(m, 0, NULL), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_model_is_symbolic(m), 1);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
}

static void unbounded_is_refused_with_both_flags(void **state) {
  (void)state;
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_model *m = NULL;
  assert_int_equal(kiln_model_load_file(ctx, model_path, &m), KILN_ERR_SHAPE);
  assert_null(m);
  const char *e = kiln_context_last_error(ctx);
  assert_non_null(strstr(e, "--max-shape x=64x4"));
  assert_non_null(strstr(e, "--input-shape x=1x4"));
  /* A fixed shape and a bound for one input conflict. */
  const int64_t d[2] = {2, 4};
  assert_int_equal(kiln_context_bind_input_shape(ctx, "x", 2, d), KILN_OK);
  assert_int_equal(kiln_context_bound_input_shape(ctx, "x", 2, d), KILN_OK);
  assert_int_equal(kiln_model_load_file(ctx, model_path, &m), KILN_ERR_INVALID_ARGUMENT);
  assert_null(m);
  assert_non_null(strstr(kiln_context_last_error(ctx), "both a fixed shape (--input-shape) and a bound (--max-shape)"));
  kiln_context_destroy(ctx);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s sym.onnx\n", argv[0]);
    return 2;
  }
  model_path = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bounded_model_is_symbolic),
      cmocka_unit_test(bind_then_evaluate),
      cmocka_unit_test(out_of_bound_and_mismatch),
      cmocka_unit_test(unbounded_is_refused_with_both_flags),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
