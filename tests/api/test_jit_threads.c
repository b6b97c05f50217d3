/*
 * Concurrency (kiln.h's rule): one JIT'd executable run from 8 threads at
 * once, 1,000 runs each, every thread with its own inputs and outputs,
 * half of them bringing a workspace and half passing NULL.
 *
 * The model, y = tanh(x @ w) and s = sum over columns of y with x f32[64,256]
 * and w f32[256,256], is large enough for the parallel GEMM kernel and the
 * executable's thread pool (which one run at a time may own; the others
 * run on their own thread). Checked:
 *   - each thread's input, run alone before the threads start, against a
 *     plain-C double-precision reference (so the oracle is independent);
 *   - every one of the 8,000 concurrent runs is bit-identical to that
 *     serial run of its input (a race would corrupt some of them).
 *
 * And compilations on several threads at once, each with its own context
 * (kiln.h: different contexts are independent): every thread JITs and
 * runs a model a few times, and each result must equal a serial one.
 *
 * usage: test_jit_threads [RUNS_PER_THREAD]   (default 1000)
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/kiln.h"

enum { M = 64, K = 256, N = 256, THREADS = 8 };

static int runs_per_thread = 1000;

static const char model_kir[] =
    "module threads\n"
    "\n"
    "ENTRY %main outputs={\"y\", \"s\"} {\n"
    "  %x = f32[64,256] parameter(0)\n"
    "  %w = f32[256,256] parameter(1)\n"
    "  %d = f32[64,256] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
    "  %y = f32[64,256] tanh(%d)\n"
    "  %s = f32[64] reduce(%y), dimensions={1}, combiner=add\n"
    "  ROOT %t = (f32[64,256], f32[64]) tuple(%y, %s)\n"
    "}\n";

typedef struct worker {
  kiln_executable *exe;
  const float *w;
  float x[M * K];
  float want_y[M * N], want_s[M]; /* the serial run */
  int index, mismatches, failures;
} worker;

static void make_x(int t, float *x) {
  for (int i = 0; i < M * K; i++) x[i] = 0.0625f * (float)((i * 7 + t * 13) % 17 - 8);
}

static void *work(void *arg) {
  worker *wk = arg;
  float *y = malloc(sizeof(float) * M * N), *s = malloc(sizeof(float) * M);
  size_t wsz = kiln_executable_workspace_size(wk->exe);
  /* Odd threads pass NULL: the run allocates its own workspace. */
  void *ws = wsz && wk->index % 2 == 0 ? aligned_alloc(64, wsz) : NULL;
  if (!y || !s || (wsz && wk->index % 2 == 0 && !ws)) {
    wk->failures = runs_per_thread;
  } else {
    const void *in[2] = {wk->x, wk->w};
    void *out[2] = {y, s};
    for (int r = 0; r < runs_per_thread; r++) {
      memset(y, 0xff, sizeof(float) * M * N); /* NaNs: a run that writes nothing is caught */
      if (kiln_executable_run(wk->exe, in, out, ws) != KILN_OK) wk->failures++;
      else if (memcmp(y, wk->want_y, sizeof wk->want_y) || memcmp(s, wk->want_s, sizeof wk->want_s)) wk->mismatches++;
    }
  }
  free(y);
  free(s);
  free(ws);
  return NULL;
}

static void eight_threads(void **state) {
  (void)state;
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_compile_kir(ctx, model_kir, strlen(model_kir), &exe), KILN_OK);
  float *w = malloc(sizeof(float) * K * N);
  worker *wk = calloc(THREADS, sizeof *wk);
  assert_non_null(w);
  assert_non_null(wk);
  for (int i = 0; i < K * N; i++) w[i] = 0.03125f * (float)((i * 5) % 11 - 5);
  for (int t = 0; t < THREADS; t++) {
    wk[t].exe = exe;
    wk[t].w = w;
    wk[t].index = t;
    make_x(t, wk[t].x);
    const void *in[2] = {wk[t].x, w};
    void *out[2] = {wk[t].want_y, wk[t].want_s};
    assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
    /* The serial run against the reference. */
    double max_err_y = 0, max_err_s = 0;
    for (int i = 0; i < M; i++) {
      double sum = 0;
      for (int j = 0; j < N; j++) {
        double a = 0;
        for (int k = 0; k < K; k++) a += (double)wk[t].x[i * K + k] * w[k * N + j];
        double yv = tanh(a);
        sum += yv;
        max_err_y = fmax(max_err_y, fabs(yv - wk[t].want_y[i * N + j]));
      }
      max_err_s = fmax(max_err_s, fabs(sum - wk[t].want_s[i]));
    }
    assert_true(max_err_y <= 1e-5);
    assert_true(max_err_s <= 1e-3);
  }
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++) assert_int_equal(pthread_create(&th[t], NULL, work, &wk[t]), 0);
  int mismatches = 0, failures = 0;
  for (int t = 0; t < THREADS; t++) {
    pthread_join(th[t], NULL);
    mismatches += wk[t].mismatches;
    failures += wk[t].failures;
  }
  printf("%d threads x %d runs: %d failed, %d differed from the serial run\n", THREADS, runs_per_thread, failures,
         mismatches);
  assert_int_equal(failures, 0);
  assert_int_equal(mismatches, 0);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
  free(w);
  free(wk);
}

typedef struct compiler {
  const float *w;
  const float *x;
  const float *want_y;
  int failures;
} compiler;

static void *compile_and_run(void *arg) {
  compiler *c = arg;
  float *y = malloc(sizeof(float) * M * N), s[M];
  for (int r = 0; r < 3 && y; r++) {
    kiln_context *ctx = NULL;
    kiln_executable *exe = NULL;
    const void *in[2] = {c->x, c->w};
    void *out[2] = {y, s};
    if (kiln_context_create(&ctx) != KILN_OK || kiln_compile_kir(ctx, model_kir, strlen(model_kir), &exe) != KILN_OK ||
        kiln_executable_run(exe, in, out, NULL) != KILN_OK || memcmp(y, c->want_y, sizeof(float) * M * N))
      c->failures++;
    kiln_executable_destroy(exe);
    kiln_context_destroy(ctx);
  }
  if (!y) c->failures++;
  free(y);
  return NULL;
}

static void concurrent_compilations(void **state) {
  (void)state;
  enum { COMPILERS = 4 };
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_executable *exe = NULL;
  assert_int_equal(kiln_compile_kir(ctx, model_kir, strlen(model_kir), &exe), KILN_OK);
  float *w = malloc(sizeof(float) * K * N), *x = malloc(sizeof(float) * M * K), *y = malloc(sizeof(float) * M * N), s[M];
  assert_non_null(w);
  assert_non_null(x);
  assert_non_null(y);
  for (int i = 0; i < K * N; i++) w[i] = 0.03125f * (float)((i * 3) % 7 - 3);
  make_x(5, x);
  const void *in[2] = {x, w};
  void *out[2] = {y, s};
  assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
  compiler c[COMPILERS];
  pthread_t th[COMPILERS];
  for (int t = 0; t < COMPILERS; t++) {
    c[t] = (compiler){w, x, y, 0};
    assert_int_equal(pthread_create(&th[t], NULL, compile_and_run, &c[t]), 0);
  }
  int failures = 0;
  for (int t = 0; t < COMPILERS; t++) {
    pthread_join(th[t], NULL);
    failures += c[t].failures;
  }
  assert_int_equal(failures, 0);
  free(w);
  free(x);
  free(y);
}

int main(int argc, char **argv) {
  if (argc > 1) runs_per_thread = atoi(argv[1]);
  if (runs_per_thread < 1) runs_per_thread = 1;
  const struct CMUnitTest tests[] = {cmocka_unit_test(eight_threads), cmocka_unit_test(concurrent_compilations)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
