/*
 * The JIT and the CPU check (issue 9): a JIT target CPU this machine lacks
 * is refused the way a .so for it is (KILN_ERR_UNSUPPORTED, the missing
 * features named), before any of the code runs; a target it has (the
 * x86-64-v2 baseline, and --cpu=portable) compiles and runs, with the
 * description's CPU fields filled in.
 *
 *   test_cpu_jit     (no arguments; on a CPU with every feature
 *                     sapphirerapids implies the refusal part is skipped,
 *                     with the reason)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kiln/artifact.h"
#include "kiln/kiln.h"

static const char kir[] =
    "module scale\n\n"
    "ENTRY %main outputs={\"y\"} {\n"
    "  %x = f32[64] parameter(0), io_name=\"x\"\n"
    "  %two = f32[] constant(2)\n"
    "  %b = f32[64] broadcast(%two), dimensions={}\n"
    "  %y = f32[64] mul(%x, %b)\n"
    "  ROOT %t = (f32[64]) tuple(%y)\n"
    "}\n";

/* JITs kir for `cpu`; returns the status, the executable in *exe. */
static kiln_status jit(kiln_context *ctx, const char *cpu, kiln_executable **exe) {
  assert_int_equal(kiln_context_set_target(ctx, NULL, cpu, NULL), KILN_OK);
  return kiln_compile_kir(ctx, kir, strlen(kir), exe);
}

static void runs_and_doubles(kiln_executable *exe) {
  float x[64], y[64];
  for (int i = 0; i < 64; i++) x[i] = (float)i - 10.0f;
  const void *in[1] = {x};
  void *out[1] = {y};
  assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
  for (int i = 0; i < 64; i++) assert_true(y[i] == 2.0f * x[i]);
}

static void baseline_and_portable_run(void **state) {
  (void)state;
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_executable *exe = NULL;
  assert_int_equal(jit(ctx, "x86-64-v2", &exe), KILN_OK);
  const kiln_artifact_desc *d = kiln_executable_description(exe);
  assert_string_equal(d->target_cpu, "x86-64-v2");
  assert_string_equal(d->required_features, "+cx16,+sahf,+popcnt,+sse3,+ssse3,+sse4.1,+sse4.2");
  assert_non_null(d->selected_cpu);
  assert_string_equal(d->selected_cpu(), "x86-64-v2");
  assert_int_equal(d->missing_features(NULL, 0), 0);
  runs_and_doubles(exe);
  kiln_executable_destroy(exe);

  assert_int_equal(jit(ctx, "portable", &exe), KILN_OK);
  d = kiln_executable_description(exe);
  assert_string_equal(d->target_cpu, "portable");
  const char *sel = d->selected_cpu();
  assert_non_null(sel);
  assert_true(strncmp(sel, "x86-64-v", 8) == 0);
  runs_and_doubles(exe);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
}

static void newer_cpu_refused(void **state) {
  (void)state;
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_executable *exe = NULL;
  kiln_status s = jit(ctx, "sapphirerapids", &exe);
  if (s == KILN_OK) {
    kiln_executable_destroy(exe);
    kiln_context_destroy(ctx);
    skip(); /* cmocka prints [  SKIPPED ]; the reason: */
  }
  assert_int_equal(s, KILN_ERR_UNSUPPORTED);
  assert_null(exe);
  const char *msg = kiln_context_last_error(ctx);
  assert_non_null(strstr(msg, "this CPU lacks"));
  assert_non_null(strstr(msg, "built for sapphirerapids"));
  kiln_context_destroy(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(baseline_and_portable_run),
      cmocka_unit_test(newer_cpu_refused),
  };
  printf("# newer_cpu_refused is skipped on a CPU with every feature sapphirerapids implies\n");
  return cmocka_run_group_tests(tests, NULL, NULL);
}
