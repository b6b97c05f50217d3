/*
 * Symbolic dimensions through the public API (kiln/kiln.h only):
 * kiln_context_bound_input_shape, kiln_model_is_symbolic,
 * kiln_model_bind_shapes, the interpreter's refusal of a model that is
 * still symbolic, and executables compiled once with their symbolic
 * dimensions (the JIT, and a .so from kiln_model_compile opened with
 * kiln_executable_open): the symbols and shapes they describe,
 * kiln_executable_run_shaped and kiln_executable_output_dims at several
 * shapes, and the refusals with their messages.
 *
 * The model is tests/cli/models/sym.onnx (path in argv[1]): y = x + x with
 * x: f32[N,4], N a dim_param; expected values are written by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
  /* Not interpreted while symbolic (compiled it is: see the tests below). */
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

/* ---- executables with symbolic dimensions ---- */

#define PATTERN 777.0f

/* Runs exe at `rows` rows of x (x[i] = i - 5.5) and checks y = 2x at
 * [rows, 4], the output dims reported, and that nothing past the actual
 * rows of the output buffer (sized for the bound, 8 rows) was written. */
static void run_rows(kiln_executable *exe, kiln_context *ctx, int64_t rows) {
  float *x = malloc(sizeof(float) * (size_t)rows * 4), y[32];
  assert_non_null(x);
  for (int i = 0; i < rows * 4; i++) x[i] = (float)i - 5.5f;
  for (int i = 0; i < 32; i++) y[i] = PATTERN;
  const int64_t xd[2] = {rows, 4};
  int64_t yd[2] = {-1, -1}, pre[2] = {-1, -1};
  kiln_tensor_info shape = {"x", KILN_F32, 2, xd};
  const void *ins[1] = {x};
  void *outs[1] = {y};
  int64_t *od[1] = {yd}, *pd[1] = {pre};
  /* Sized before running, as a host program would. */
  assert_int_equal(kiln_executable_output_dims(exe, &shape, pd, ctx), KILN_OK);
  assert_int_equal(pre[0], rows);
  assert_int_equal(pre[1], 4);
  assert_int_equal(kiln_executable_run_shaped(exe, ins, &shape, outs, od, NULL, ctx), KILN_OK);
  assert_int_equal(yd[0], rows);
  assert_int_equal(yd[1], 4);
  for (int i = 0; i < rows * 4; i++) assert_true(y[i] == 2.0f * ((float)i - 5.5f));
  for (int i = (int)rows * 4; i < 32; i++) assert_true(y[i] == PATTERN);
  free(x);
}

/* Shapes exe must refuse before running, with the message that names the
 * input, the dimension and the symbol or bound; the output stays as it
 * was. */
static void refuse(kiln_executable *exe, kiln_context *ctx, int rank, int64_t d0, int64_t d1, kiln_status want,
                   const char *msg) {
  static float x[64];
  float y[32];
  for (int i = 0; i < 32; i++) y[i] = PATTERN;
  const int64_t xd[2] = {d0, d1};
  kiln_tensor_info shape = {"x", KILN_F32, rank, xd};
  const void *ins[1] = {x};
  void *outs[1] = {y};
  assert_int_equal(kiln_executable_run_shaped(exe, ins, &shape, outs, NULL, NULL, ctx), want);
  const char *e = kiln_context_last_error(ctx);
  if (!strstr(e, msg)) fail_msg("expected '%s' in the message, got '%s'", msg, e);
  for (int i = 0; i < 32; i++) assert_true(y[i] == PATTERN);
  /* Without a context: the same status, no message anywhere. */
  assert_int_equal(kiln_executable_run_shaped(exe, ins, &shape, outs, NULL, NULL, NULL), want);
  int64_t od[2];
  int64_t *odp[1] = {od};
  assert_int_equal(kiln_executable_output_dims(exe, &shape, odp, ctx), want);
}

/* What an executable of sym.onnx bounded by N <= 8 must do, JIT or .so. */
static void check_symbolic_executable(kiln_executable *exe, kiln_context *ctx) {
  assert_int_equal(kiln_executable_num_symbols(exe), 1);
  const char *name = NULL;
  int64_t bound = 0;
  assert_int_equal(kiln_executable_symbol(exe, 0, &name, &bound), KILN_OK);
  assert_string_equal(name, "N");
  assert_int_equal(bound, 8);
  assert_int_equal(kiln_executable_symbol(exe, 1, &name, &bound), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_executable_input_dim_symbol(exe, 0, 0), 0);
  assert_int_equal(kiln_executable_input_dim_symbol(exe, 0, 1), KILN_DIM_STATIC);
  assert_int_equal(kiln_executable_input_dim_symbol(exe, 0, 2), KILN_DIM_NONE);
  assert_int_equal(kiln_executable_input_dim_symbol(exe, 1, 0), KILN_DIM_NONE);
  assert_int_equal(kiln_executable_output_dim_symbol(exe, 0, 0), 0);
  assert_string_equal(kiln_executable_input_shape(exe, 0), "f32[N,4]");
  assert_string_equal(kiln_executable_output_shape(exe, 0), "f32[N,4]");
  assert_null(kiln_executable_input_shape(exe, 1));
  kiln_tensor_info in;
  assert_int_equal(kiln_executable_input(exe, 0, &in), KILN_OK);
  assert_int_equal(in.dims[0], 8); /* the bound */
  /* One compilation, several shapes. */
  run_rows(exe, ctx, 3);
  run_rows(exe, ctx, 1);
  run_rows(exe, ctx, 8);
  run_rows(exe, ctx, 5);
  refuse(exe, ctx, 2, 9, 4, KILN_ERR_SHAPE, "input 'x' dimension 0 (N) is 9, above its bound 8");
  refuse(exe, ctx, 2, 0, 4, KILN_ERR_SHAPE, "input 'x' dimension 0 (N) is 0, below 1");
  refuse(exe, ctx, 2, 3, 5, KILN_ERR_SHAPE, "input 'x' dimension 1 is 5, but the executable takes 4 there (f32[N,4])");
  refuse(exe, ctx, 1, 3, 4, KILN_ERR_SHAPE, "input 'x' has rank 1, but the executable takes rank 2");
  refuse(exe, ctx, 2, -1, 4, KILN_ERR_INVALID_ARGUMENT, "input 'x' dimension 0 is negative");
  assert_int_equal(kiln_executable_run_shaped(exe, NULL, NULL, NULL, NULL, NULL, ctx), KILN_ERR_INVALID_ARGUMENT);
  /* run alone runs at the bounds. */
  float x[32], y[32];
  for (int i = 0; i < 32; i++) x[i] = (float)i;
  const void *ins[1] = {x};
  void *outs[1] = {y};
  assert_int_equal(kiln_executable_run(exe, ins, outs, NULL), KILN_OK);
  for (int i = 0; i < 32; i++) assert_true(y[i] == 2.0f * (float)i);
}

static void jit_symbolic_runs_shaped(void **state) {
  (void)state;
  kiln_context *ctx;
  kiln_model *m = load_bounded(&ctx);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_model_jit(m, &exe), KILN_OK);
  kiln_model_destroy(m);
  check_symbolic_executable(exe, ctx);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
}

static void aot_symbolic_runs_shaped(void **state) {
  (void)state;
  kiln_context *ctx;
  kiln_model *m = load_bounded(&ctx);
  char dir[] = "/tmp/kiln-symbolic-api-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char so[64], h[64];
  snprintf(so, sizeof so, "%s/sym.so", dir);
  snprintf(h, sizeof h, "%s/sym.h", dir);
  assert_int_equal(kiln_model_compile(m, "sym", so, h), KILN_OK);
  kiln_model_destroy(m);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_executable_open(ctx, so, &exe), KILN_OK);
  check_symbolic_executable(exe, ctx);
  kiln_executable_destroy(exe);
  unlink(so);
  unlink(h);
  rmdir(dir);
  kiln_context_destroy(ctx);
}

/* A static executable: no symbols, and run_shaped takes its own shape only. */
static void static_executable_run_shaped(void **state) {
  (void)state;
  kiln_context *ctx;
  kiln_model *m = load_bounded(&ctx);
  const int64_t dims[2] = {3, 4};
  kiln_tensor_info actual = {"x", KILN_F32, 2, dims};
  assert_int_equal(kiln_model_bind_shapes(m, 1, &actual), KILN_OK);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_model_jit(m, &exe), KILN_OK);
  kiln_model_destroy(m);
  assert_int_equal(kiln_executable_num_symbols(exe), 0);
  assert_int_equal(kiln_executable_input_dim_symbol(exe, 0, 0), KILN_DIM_STATIC);
  assert_string_equal(kiln_executable_input_shape(exe, 0), "f32[3,4]");
  run_rows(exe, ctx, 3);
  refuse(exe, ctx, 2, 2, 4, KILN_ERR_SHAPE, "input 'x' dimension 0 is 2, but the executable takes 3 there (f32[3,4])");
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
}

/* A dimension that is an expression of the symbol (z: f32[2*b,2]) is
 * checked against the value the other inputs give, and output
 * dimensions that are expressions are computed. */
static const char expr_kir[] = "module expr\n"
                               "symbol b <= 8\n"
                               "\n"
                               "ENTRY %main outputs={\"y\"} {\n"
                               "  %x = f32[b,4] parameter(0), io_name=\"x\"\n"
                               "  %z = f32[2*b,2] parameter(1), io_name=\"z\"\n"
                               "  %f = f32[2*b,2] reshape(%x)\n"
                               "  %y = f32[2*b,2] add(%f, %z)\n"
                               "  ROOT %t = (f32[2*b,2]) tuple(%y)\n"
                               "}\n";

static void expression_dimensions(void **state) {
  (void)state;
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_compile_kir(ctx, expr_kir, sizeof expr_kir - 1, &exe), KILN_OK);
  assert_int_equal(kiln_executable_input_dim_symbol(exe, 1, 0), KILN_DIM_EXPR);
  assert_int_equal(kiln_executable_output_dim_symbol(exe, 0, 0), KILN_DIM_EXPR);
  assert_string_equal(kiln_executable_input_shape(exe, 1), "f32[2*b,2]");
  float x[12], z[14], y[32];
  for (int i = 0; i < 12; i++) x[i] = (float)i;
  for (int i = 0; i < 14; i++) z[i] = 100.0f * (float)i;
  const int64_t xd[2] = {3, 4}, zd[2] = {6, 2}, zbad[2] = {7, 2};
  kiln_tensor_info shapes[2] = {{"x", KILN_F32, 2, xd}, {"z", KILN_F32, 2, zd}};
  const void *ins[2] = {x, z};
  void *outs[1] = {y};
  int64_t yd[2] = {0, 0};
  int64_t *od[1] = {yd};
  assert_int_equal(kiln_executable_output_dims(exe, shapes, od, ctx), KILN_OK);
  assert_int_equal(yd[0], 6);
  assert_int_equal(yd[1], 2);
  yd[0] = yd[1] = 0;
  assert_int_equal(kiln_executable_run_shaped(exe, ins, shapes, outs, od, NULL, ctx), KILN_OK);
  assert_int_equal(yd[0], 6);
  assert_int_equal(yd[1], 2);
  for (int i = 0; i < 12; i++) assert_true(y[i] == (float)i + 100.0f * (float)i);
  shapes[1].dims = zbad;
  assert_int_equal(kiln_executable_run_shaped(exe, ins, shapes, outs, od, NULL, ctx), KILN_ERR_SHAPE);
  assert_non_null(strstr(kiln_context_last_error(ctx), "input 'z' dimension 0 is 7, but 2*b = 6 from the other inputs"));
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
}

/* Expressions with floor divisions, products and differences of two
 * symbols: the outputs' dimensions at every binding, and a dimension off by
 * one refused with the expression's text. Expected sizes are the formulas
 * computed here in C (integer division of positives is floor division). */
static const char expr2_kir[] = "module ex2\n"
                                "symbol b <= 8\n"
                                "symbol s <= 6\n"
                                "\n"
                                "ENTRY %main outputs={\"y1\", \"y2\", \"y3\"} {\n"
                                "  %x = f32[b,s] parameter(0), io_name=\"x\"\n"
                                "  %z1 = f32[(b+1)/2,3] parameter(1), io_name=\"z1\"\n"
                                "  %z2 = f32[b*s-1,2] parameter(2), io_name=\"z2\"\n"
                                "  %z3 = f32[b+s/4,2] parameter(3), io_name=\"z3\"\n"
                                "  %y1 = f32[(b+1)/2,3] neg(%z1)\n"
                                "  %y2 = f32[b*s-1,2] neg(%z2)\n"
                                "  %y3 = f32[b+s/4,2] neg(%z3)\n"
                                "  ROOT %r = (f32[(b+1)/2,3], f32[b*s-1,2], f32[b+s/4,2]) tuple(%y1, %y2, %y3)\n"
                                "}\n";

static void expression_dimensions_every_binding(void **state) {
  (void)state;
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_compile_kir(ctx, expr2_kir, sizeof expr2_kir - 1, &exe), KILN_OK);
  assert_string_equal(kiln_executable_input_shape(exe, 1), "f32[(b+1)/2,3]");
  assert_string_equal(kiln_executable_input_shape(exe, 2), "f32[b*s-1,2]");
  assert_string_equal(kiln_executable_input_shape(exe, 3), "f32[b+s/4,2]");
  static float x[48], z[4][96], y[3][96];
  for (int i = 0; i < 96; i++) z[1][i] = z[2][i] = z[3][i] = (float)i - 40.0f;
  for (int64_t b = 1; b <= 8; b++)
    for (int64_t sv = 1; sv <= 6; sv++) {
      int64_t want[3] = {(b + 1) / 2, b * sv - 1, b + sv / 4};
      int64_t xd[2] = {b, sv}, zd[3][2] = {{want[0], 3}, {want[1], 2}, {want[2], 2}};
      kiln_tensor_info shapes[4] = {{"x", KILN_F32, 2, xd}, {"z1", KILN_F32, 2, zd[0]}, {"z2", KILN_F32, 2, zd[1]},
                                    {"z3", KILN_F32, 2, zd[2]}};
      int64_t od[3][2];
      int64_t *odp[3] = {od[0], od[1], od[2]};
      assert_int_equal(kiln_executable_output_dims(exe, shapes, odp, ctx), KILN_OK);
      for (int k = 0; k < 3; k++) assert_int_equal(od[k][0], want[k]);
      const void *ins[4] = {x, z[1], z[2], z[3]};
      void *outs[3] = {y[0], y[1], y[2]};
      memset(od, 0, sizeof od);
      assert_int_equal(kiln_executable_run_shaped(exe, ins, shapes, outs, odp, NULL, ctx), KILN_OK);
      for (int k = 0; k < 3; k++) {
        assert_int_equal(od[k][0], want[k]);
        for (int i = 0; i < want[k] * zd[k][1]; i++) assert_true(y[k][i] == -z[k + 1][i]);
      }
      /* One row more than the expression gives. */
      for (int k = 0; k < 3; k++) {
        zd[k][0]++;
        assert_int_equal(kiln_executable_run_shaped(exe, ins, shapes, outs, NULL, NULL, ctx), KILN_ERR_SHAPE);
        const char *text[3] = {"(b+1)/2", "b*s-1", "b+s/4"};
        char msg[128];
        snprintf(msg, sizeof msg, "input 'z%d' dimension 0 is %lld, but %s = %lld from the other inputs", k + 1,
                 (long long)want[k] + 1, text[k], (long long)want[k]);
        if (!strstr(kiln_context_last_error(ctx), msg))
          fail_msg("expected '%s', got '%s'", msg, kiln_context_last_error(ctx));
        zd[k][0]--;
      }
    }
  kiln_executable_destroy(exe);
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
      cmocka_unit_test(jit_symbolic_runs_shaped),
      cmocka_unit_test(aot_symbolic_runs_shaped),
      cmocka_unit_test(static_executable_run_shaped),
      cmocka_unit_test(expression_dimensions),
      cmocka_unit_test(expression_dimensions_every_binding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
