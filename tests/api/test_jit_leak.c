/*
 * Compile/destroy cycles in one process: each cycle creates a context,
 * JIT-compiles a small model (IR text, the default pass pipeline), runs it
 * with the thread pool on (so its workers start), checks the result, and
 * destroys the executable and the context.
 *
 * Checked:
 *   - no leak: in the AddressSanitizer build, LeakSanitizer checks the
 *     whole process at exit (the test fails on any leak);
 *   - resident memory flat: RSS (/proc/self/statm) after a warm-up of
 *     WARMUP cycles and after the last one may differ by at most
 *     RSS_BOUND_KB. Skipped under AddressSanitizer, whose quarantine and
 *     shadow memory grow RSS by design (LeakSanitizer covers leaks there);
 *   - no thread left behind: the process has as many threads at the end as
 *     before the first cycle.
 *
 * usage: test_jit_leak [CYCLES]   (default 1000)
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
#include <time.h>
#include <unistd.h>

#include "kiln/kiln.h"
#include "tests/common/testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

enum { WARMUP = 50, RSS_BOUND_KB = 4096, ROWS = 256, COLS = 512 };

static int cycles = 1000;

/* A 128k-element elementwise chain (a parallel loop) and a reduction:
 * small, so a cycle is quick, but with the thread pool in use. */
static const char model_kir[] =
    "module leak\n"
    "\n"
    "ENTRY %main outputs={\"y\", \"s\"} {\n"
    "  %x = f32[256,512] parameter(0)\n"
    "  %h = f32[] constant(0.5)\n"
    "  %hb = f32[256,512] broadcast(%h), dimensions={}\n"
    "  %m = f32[256,512] mul(%x, %hb)\n"
    "  %y = f32[256,512] tanh(%m)\n"
    "  %s = f32[256] reduce(%y), dimensions={1}, combiner=add\n"
    "  ROOT %t = (f32[256,512], f32[256]) tuple(%y, %s)\n"
    "}\n";

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void compile_destroy_cycles(void **state) {
  (void)state;
  float *x = malloc(sizeof(float) * ROWS * COLS), *y = malloc(sizeof(float) * ROWS * COLS);
  float s[ROWS];
  assert_non_null(x);
  assert_non_null(y);
  for (int i = 0; i < ROWS * COLS; i++) x[i] = 0.01f * (float)(i % 301 - 150);
  /* Reference, in double. */
  double *ry = malloc(sizeof(double) * ROWS * COLS), rs[ROWS];
  assert_non_null(ry);
  for (int i = 0; i < ROWS * COLS; i++) ry[i] = tanh(0.5 * (double)x[i]);
  for (int r = 0; r < ROWS; r++) {
    rs[r] = 0;
    for (int k = 0; k < COLS; k++) rs[r] += ry[r * COLS + k];
  }
  const void *in[1] = {x};
  void *out[2] = {y, s};
  int threads_before = tu_count_threads();
  long rss_warm = 0;
  double t0 = now_s(), t_warm = t0;
  for (int c = 0; c < cycles; c++) {
    kiln_context *ctx = NULL;
    kiln_executable *exe = NULL;
    assert_int_equal(kiln_context_create(&ctx), KILN_OK);
    assert_int_equal(kiln_context_set_num_threads(ctx, 2), KILN_OK);
    kiln_status st = kiln_compile_kir(ctx, model_kir, strlen(model_kir), &exe);
    if (st != KILN_OK) fail_msg("cycle %d: %s", c, kiln_context_last_error(ctx));
    assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
    if (c == 0 || c == cycles - 1) {
      for (int i = 0; i < ROWS * COLS; i++) assert_true(fabs(y[i] - ry[i]) <= 1e-6);
      for (int r = 0; r < ROWS; r++) assert_true(fabs(s[r] - rs[r]) <= 1e-4);
    }
    kiln_executable_destroy(exe);
    kiln_context_destroy(ctx);
    if (c + 1 == WARMUP || (cycles <= WARMUP && c == 0)) {
      rss_warm = rss_kb();
      t_warm = now_s();
    }
  }
  long rss_end = rss_kb();
  double t_end = now_s();
  int threads_after = tu_count_threads();
  printf("%d cycles (%.1f ms each after warm-up); RSS after %d: %ld KB, at the end: %ld KB (%+ld KB)%s; "
         "threads %d before, %d after\n",
         cycles, cycles > WARMUP ? (t_end - t_warm) * 1e3 / (cycles - WARMUP) : (t_end - t0) * 1e3 / cycles, WARMUP,
         rss_warm, rss_end, rss_end - rss_warm, UNDER_ASAN ? " (not checked under AddressSanitizer)" : "",
         threads_before, threads_after);
  assert_int_equal(threads_after, threads_before);
  if (!UNDER_ASAN && cycles > WARMUP) assert_true(rss_end - rss_warm <= RSS_BOUND_KB);
  free(x);
  free(y);
  free(ry);
}

int main(int argc, char **argv) {
  if (argc > 1) cycles = atoi(argv[1]);
  if (cycles < 1) cycles = 1;
  const struct CMUnitTest tests[] = {cmocka_unit_test(compile_destroy_cycles)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
