/*
 * The public API as a host program uses it for the JIT: compiling from IR
 * text, ONNX files and ONNX bytes; querying an executable's inputs and
 * outputs; running it; the same calls on a loaded .so; thread counts;
 * custom calls resolved in this process; the pool's threads joined by
 * destroy; and the error paths (status, last error, diagnostics).
 * Expected values come from plain C arithmetic or ONNX's own test data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/artifact.h"
#include "kiln/kiln.h"
#include "tests/common/testutil.h"

static const char small_kir[] =
    "module small\n"
    "\n"
    "ENTRY %main outputs={\"y\", \"rowsum\"} {\n"
    "  %x = f32[2,3] parameter(0), io_name=\"x\"\n"
    "  %w = f32[3,4] parameter(1), io_name=\"w\"\n"
    "  %d = f32[2,4] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
    "  %y = f32[2,4] tanh(%d)\n"
    "  %r = f32[2] reduce(%x), dimensions={1}, combiner=add\n"
    "  ROOT %t = (f32[2,4], f32[2]) tuple(%y, %r)\n"
    "}\n";

/* One parallel loop of 1M elements: big enough for the thread pool. */
static const char big_kir[] =
    "module big\n"
    "\n"
    "ENTRY %main outputs={\"y\"} {\n"
    "  %x = f32[1024,1024] parameter(0)\n"
    "  %y = f32[1024,1024] exp(%x)\n"
    "  ROOT %t = (f32[1024,1024]) tuple(%y)\n"
    "}\n";

static const char custom_kir[] =
    "module custom\n"
    "\n"
    "ENTRY %main outputs={\"z\"} {\n"
    "  %x = f32[2,3] parameter(0)\n"
    "  %y = f32[2,3] parameter(1)\n"
    "  %z = f32[2,3] custom_call(%x, %y), custom_call_target=\"kiln.jittest.axpy\", backend_config=\"2.5\"\n"
    "  ROOT %t = (f32[2,3]) tuple(%z)\n"
    "}\n";

/* The custom call: a * x + y. Exported (the test links with -rdynamic) for
 * the JIT to resolve in this process. */
int test_axpy(const void *const *in, void *const *out, const char *config) __asm__("kiln.jittest.axpy");
int test_axpy(const void *const *in, void *const *out, const char *config) {
  float a = strtof(config, NULL);
  const float *x = in[0], *y = in[1];
  float *z = out[0];
  for (int i = 0; i < 6; i++) z[i] = a * x[i] + y[i];
  return 0;
}

typedef struct diag_log {
  int errors;
  char last[1024];
} diag_log;

static void log_diag(void *user, kiln_diag_level level, const char *msg) {
  diag_log *l = user;
  if (level != KILN_DIAG_ERROR) return;
  l->errors++;
  snprintf(l->last, sizeof l->last, "%s", msg);
}

static kiln_context *new_ctx(diag_log *log) {
  kiln_context *ctx = NULL;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  if (log) kiln_context_set_diagnostics(ctx, log_diag, log);
  return ctx;
}

static void small_inputs(float *x, float *w) {
  for (int i = 0; i < 6; i++) x[i] = 0.25f * (float)(i - 2);
  for (int i = 0; i < 12; i++) w[i] = 0.125f * (float)(i % 5) - 0.2f;
}

/* y = tanh(x @ w), rowsum = sum over rows of x, in double. */
static void small_reference(const float *x, const float *w, double *y, double *rs) {
  for (int i = 0; i < 2; i++) {
    rs[i] = 0;
    for (int k = 0; k < 3; k++) rs[i] += x[i * 3 + k];
    for (int j = 0; j < 4; j++) {
      double a = 0;
      for (int k = 0; k < 3; k++) a += (double)x[i * 3 + k] * w[k * 4 + j];
      y[i * 4 + j] = tanh(a);
    }
  }
}

static void run_small(kiln_executable *exe, float *y, float *rs) {
  float x[6], w[12];
  small_inputs(x, w);
  const void *in[2] = {x, w};
  void *out[2] = {y, rs};
  assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
}

static void jit_kir_query_run(void **state) {
  (void)state;
  diag_log log = {0};
  kiln_context *ctx = new_ctx(&log);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_compile_kir(ctx, small_kir, strlen(small_kir), &exe), KILN_OK);
  assert_non_null(exe);
  assert_string_equal(kiln_executable_name(exe), "small");
  assert_int_equal(kiln_executable_num_inputs(exe), 2);
  assert_int_equal(kiln_executable_num_outputs(exe), 2);
  kiln_tensor_info t;
  assert_int_equal(kiln_executable_input(exe, 1, &t), KILN_OK);
  assert_string_equal(t.name, "w");
  assert_int_equal(t.dtype, KILN_F32);
  assert_int_equal(t.rank, 2);
  assert_int_equal(t.dims[0], 3);
  assert_int_equal(t.dims[1], 4);
  assert_int_equal(kiln_executable_output(exe, 1, &t), KILN_OK);
  assert_string_equal(t.name, "rowsum");
  assert_int_equal(t.rank, 1);
  assert_int_equal(t.dims[0], 2);
  assert_int_equal(kiln_executable_find_input(exe, "x"), 0);
  assert_int_equal(kiln_executable_find_output(exe, "y"), 0);
  assert_int_equal(kiln_executable_find_output(exe, "nope"), -1);
  assert_int_equal(kiln_executable_input(exe, 2, &t), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_executable_output(exe, -1, &t), KILN_ERR_INVALID_ARGUMENT);
  const kiln_artifact_desc *d = kiln_executable_description(exe);
  assert_int_equal(d->abi_version, KILN_ARTIFACT_ABI_VERSION);
  assert_int_equal(d->workspace_size, kiln_executable_workspace_size(exe));

  float y[8], rs[2], x[6], w[12];
  double ry[8], rrs[2];
  run_small(exe, y, rs);
  small_inputs(x, w);
  small_reference(x, w, ry, rrs);
  for (int i = 0; i < 8; i++) assert_true(fabs(y[i] - ry[i]) <= 1e-6 * (1 + fabs(ry[i])));
  for (int i = 0; i < 2; i++) assert_true(fabs(rs[i] - rrs[i]) <= 1e-6);
  assert_int_equal(log.errors, 0);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
}

/* ONNX's backend test data: test_add (x + y on f32[3,4,5]). */
#define ADD_CASE "/usr/share/libonnx-testdata/data/node/test_add"

static void check_add(kiln_context *ctx, kiln_executable *exe) {
  kiln_host_tensor x, y, want;
  assert_int_equal(kiln_tensor_read_onnx(ctx, ADD_CASE "/test_data_set_0/input_0.pb", &x), KILN_OK);
  assert_int_equal(kiln_tensor_read_onnx(ctx, ADD_CASE "/test_data_set_0/input_1.pb", &y), KILN_OK);
  assert_int_equal(kiln_tensor_read_onnx(ctx, ADD_CASE "/test_data_set_0/output_0.pb", &want), KILN_OK);
  kiln_tensor_info t;
  assert_int_equal(kiln_executable_output(exe, 0, &t), KILN_OK);
  assert_int_equal(t.rank, 3);
  assert_int_equal(t.dims[2], 5);
  float got[60];
  assert_int_equal(want.nbytes, sizeof got);
  const void *in[2] = {x.data, y.data};
  void *out[1] = {got};
  assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
  assert_memory_equal(got, want.data, sizeof got); /* one correctly rounded add */
  kiln_host_tensor_free(&x);
  kiln_host_tensor_free(&y);
  kiln_host_tensor_free(&want);
}

static void jit_onnx_file_and_bytes(void **state) {
  (void)state;
  if (access(ADD_CASE "/model.onnx", R_OK) != 0) skip();
  kiln_context *ctx = new_ctx(NULL);
  kiln_executable *a = NULL, *b = NULL;
  assert_int_equal(kiln_compile_onnx_file(ctx, ADD_CASE "/model.onnx", &a), KILN_OK);
  check_add(ctx, a);
  size_t n = 0;
  void *bytes = tu_read_file(ADD_CASE "/model.onnx", &n);
  assert_non_null(bytes);
  assert_int_equal(kiln_compile_onnx_bytes(ctx, bytes, n, &b), KILN_OK);
  check_add(ctx, b);
  kiln_executable_destroy(b);
  kiln_model *m = NULL;
  assert_int_equal(kiln_model_from_onnx_bytes(ctx, bytes, n, &m), KILN_OK);
  assert_int_equal(kiln_model_num_inputs(m), 2);
  assert_ptr_equal(kiln_model_context(m), ctx);
  kiln_model_destroy(m);
  /* Truncated bytes: a parse error, not a crash. */
  assert_int_equal(kiln_compile_onnx_bytes(ctx, bytes, n / 2, &b), KILN_ERR_PARSE);
  assert_null(b);
  assert_true(strlen(kiln_context_last_error(ctx)) > 0);
  free(bytes);
  kiln_executable_destroy(a);
  kiln_context_destroy(ctx);
}

/* The same calls on JIT'd code and on a .so made from the same model. */
static void jit_and_so_same_api(void **state) {
  (void)state;
  kiln_context *ctx = new_ctx(NULL);
  kiln_model *m = NULL;
  kiln_executable *jit = NULL, *so = NULL;
  assert_int_equal(kiln_model_from_kir(ctx, small_kir, strlen(small_kir), "small.kir", &m), KILN_OK);
  assert_int_equal(kiln_model_optimize(m, NULL, NULL), KILN_OK);
  assert_int_equal(kiln_model_jit(m, &jit), KILN_OK);
  char dir[] = "/tmp/kiln-jit-api-XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/small.so", dir);
  assert_int_equal(kiln_model_compile(m, "small", path, NULL), KILN_OK);
  kiln_model_destroy(m); /* executables do not need the model */
  assert_int_equal(kiln_executable_open(ctx, path, &so), KILN_OK);
  unlink(path);
  rmdir(dir);
  assert_string_equal(kiln_executable_name(jit), kiln_executable_name(so));
  assert_int_equal(kiln_executable_workspace_size(jit), kiln_executable_workspace_size(so));
  kiln_context_destroy(ctx); /* executables do not need their context either */
  float yj[8], rj[2], ya[8], ra[2];
  run_small(jit, yj, rj);
  run_small(so, ya, ra);
  assert_memory_equal(yj, ya, sizeof yj);
  assert_memory_equal(rj, ra, sizeof rj);
  kiln_executable_destroy(jit);
  kiln_executable_destroy(so);
}

static void jit_errors(void **state) {
  (void)state;
  diag_log log = {0};
  kiln_context *ctx = new_ctx(&log);
  kiln_executable *exe = (kiln_executable *)1;
  static const char bad[] = "module bad\nENTRY %main outputs={\"y\"} {\n  %x = f32[2] frobnicate()\n}\n";
  assert_int_equal(kiln_compile_kir(ctx, bad, strlen(bad), &exe), KILN_ERR_PARSE);
  assert_null(exe);
  assert_true(log.errors > 0);
  assert_true(strlen(kiln_context_last_error(ctx)) > 0);
  assert_int_equal(kiln_compile_kir(ctx, NULL, 0, &exe), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_compile_kir(ctx, small_kir, strlen(small_kir), NULL), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_compile_kir(NULL, small_kir, strlen(small_kir), &exe), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_compile_onnx_file(ctx, "/nonexistent/model.onnx", &exe), KILN_ERR_IO);
  assert_int_equal(kiln_model_jit(NULL, &exe), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_executable_open(ctx, "/nonexistent/model.so", &exe), KILN_ERR_IO);
  /* NULL handles are harmless. */
  assert_int_equal(kiln_executable_num_inputs(NULL), 0);
  assert_int_equal(kiln_executable_run(NULL, NULL, NULL, NULL), KILN_ERR_INVALID_ARGUMENT);
  kiln_executable_destroy(NULL);

  /* Bad buffers at run time: a status, no message (runs may be concurrent). */
  assert_int_equal(kiln_compile_kir(ctx, small_kir, strlen(small_kir), &exe), KILN_OK);
  float y[8], rs[2], x[6];
  void *out[2] = {y, rs};
  const void *in_null[2] = {x, NULL};
  assert_int_equal(kiln_executable_run(exe, NULL, out, NULL), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_executable_run(exe, in_null, out, NULL), KILN_ERR_INVALID_ARGUMENT);
  kiln_executable_destroy(exe);
  /* A workspace that is not 64-byte aligned. */
  kiln_model *m = NULL;
  static const char ws_kir[] =
      "module ws\nENTRY %main outputs={\"y\"} {\n  %x = f32[64] parameter(0)\n  %a = f32[64] exp(%x)\n"
      "  %b = f32[64] reverse(%a), dimensions={0}\n  %y = f32[64] add(%a, %b)\n  ROOT %t = (f32[64]) tuple(%y)\n}\n";
  assert_int_equal(kiln_model_from_kir(ctx, ws_kir, strlen(ws_kir), NULL, &m), KILN_OK);
  assert_int_equal(kiln_model_jit(m, &exe), KILN_OK);
  kiln_model_destroy(m);
  size_t ws = kiln_executable_workspace_size(exe);
  assert_true(ws > 0);
  char *buf = aligned_alloc(64, ws + 64);
  float xs[64], ys[64];
  memset(xs, 0, sizeof xs);
  const void *in1[1] = {xs};
  void *out1[1] = {ys};
  assert_int_equal(kiln_executable_run(exe, in1, out1, buf + 4), KILN_ERR_INVALID_ARGUMENT);
  assert_int_equal(kiln_executable_run(exe, in1, out1, buf), KILN_OK);
  for (int i = 0; i < 64; i++) assert_true(ys[i] == 2.0f); /* exp(0) + exp(0) */
  free(buf);
  kiln_executable_destroy(exe);

  /* The JIT runs code here: a cross target is refused, naming the way out. */
  assert_int_equal(kiln_context_set_target(ctx, "aarch64-linux-gnu", NULL, NULL), KILN_OK);
  assert_int_equal(kiln_compile_kir(ctx, small_kir, strlen(small_kir), &exe), KILN_ERR_INVALID_ARGUMENT);
  assert_non_null(strstr(kiln_context_last_error(ctx), "kiln_model_compile"));
  assert_null(exe);
  kiln_context_destroy(ctx);
}

static void jit_thread_counts(void **state) {
  (void)state;
  kiln_context *ctx = new_ctx(NULL);
  assert_int_equal(kiln_context_set_num_threads(ctx, 3), KILN_OK);
  kiln_executable *a = NULL, *b = NULL;
  assert_int_equal(kiln_compile_kir(ctx, small_kir, strlen(small_kir), &a), KILN_OK);
  assert_int_equal(kiln_compile_kir(ctx, small_kir, strlen(small_kir), &b), KILN_OK);
  assert_int_equal(kiln_executable_num_threads(a), 3);
  kiln_executable_set_num_threads(a, 1);
  assert_int_equal(kiln_executable_num_threads(a), 1);
  assert_int_equal(kiln_executable_num_threads(b), 3); /* each JIT'd executable has its own pool */
  kiln_executable_set_num_threads(b, 0);
  assert_true(kiln_executable_num_threads(b) >= 1);
  kiln_executable_destroy(a);
  kiln_executable_destroy(b);
  kiln_context_destroy(ctx);
}

static void jit_custom_call(void **state) {
  (void)state;
  kiln_context *ctx = new_ctx(NULL);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_compile_kir(ctx, custom_kir, strlen(custom_kir), &exe), KILN_OK);
  float x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {0.5f, 0, -1, 0, 0, 1}, z[6];
  const void *in[2] = {x, y};
  void *out[1] = {z};
  assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
  for (int i = 0; i < 6; i++) assert_true(z[i] == 2.5f * x[i] + y[i]);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
}

/* A custom call the process does not define: an error naming it, and
 * nothing printed (the library never prints; ORC would by default). */
static void jit_undefined_symbol(void **state) {
  (void)state;
  static const char undef_kir[] =
      "module undef\nENTRY %main outputs={\"z\"} {\n  %x = f32[2] parameter(0)\n"
      "  %z = f32[2] custom_call(%x), custom_call_target=\"kiln_jittest_undefined\", backend_config=\"\"\n"
      "  ROOT %t = (f32[2]) tuple(%z)\n}\n";
  diag_log log = {0};
  kiln_context *ctx = new_ctx(&log);
  kiln_executable *exe = NULL;
  fflush(stderr);
  FILE *tmp = tmpfile();
  assert_non_null(tmp);
  int saved = dup(2);
  dup2(fileno(tmp), 2);
  kiln_status s = kiln_compile_kir(ctx, undef_kir, strlen(undef_kir), &exe);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  fseek(tmp, 0, SEEK_END);
  long printed = ftell(tmp);
  fclose(tmp);
  assert_int_equal(s, KILN_ERR_COMPILE);
  assert_null(exe);
  assert_non_null(strstr(kiln_context_last_error(ctx), "kiln_jittest_undefined"));
  assert_true(log.errors > 0);
  assert_int_equal(printed, 0);
  kiln_context_destroy(ctx);
}

/* The pool's workers live in JIT'd code: destroy must join them. */
static void jit_destroy_joins_pool(void **state) {
  (void)state;
  kiln_context *ctx = new_ctx(NULL);
  assert_int_equal(kiln_context_set_num_threads(ctx, 4), KILN_OK);
  int before = tu_count_threads();
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_compile_kir(ctx, big_kir, strlen(big_kir), &exe), KILN_OK);
  float *x = malloc(4u << 20), *y = malloc(4u << 20);
  assert_non_null(x);
  assert_non_null(y);
  for (int i = 0; i < 1 << 20; i++) x[i] = (float)(i % 7) * 0.125f;
  const void *in[1] = {x};
  void *out[1] = {y};
  assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
  for (int i = 0; i < 1 << 20; i += 4099) assert_true(fabs(y[i] - exp(x[i])) <= 1e-6 * exp(x[i]));
  assert_int_equal(tu_count_threads(), before + 3);
  kiln_executable_destroy(exe);
  assert_int_equal(tu_count_threads(), before);
  free(x);
  free(y);
  kiln_context_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(jit_kir_query_run),      cmocka_unit_test(jit_onnx_file_and_bytes),
      cmocka_unit_test(jit_and_so_same_api),    cmocka_unit_test(jit_errors),
      cmocka_unit_test(jit_thread_counts),      cmocka_unit_test(jit_custom_call),
      cmocka_unit_test(jit_destroy_joins_pool), cmocka_unit_test(jit_undefined_symbol),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
