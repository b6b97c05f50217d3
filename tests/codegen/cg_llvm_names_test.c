/*
 * The check of --cpu and --features against the names LLVM knows
 * (codegen/cg_llvm_names.c, table generated from llc at build time): known names
 * pass, unknown ones are errors that name them and suggest the nearest
 * known name, a feature needs its sign, and LLVM's own "help" never
 * reaches LLVM (it would print a list on stderr). Also issue 9's reason for
 * the check: compiling with a bad CPU in several threads at once leaves
 * the process's stderr as it was (the old check redirected fd 2).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tests/common/test_sink.h"

#include "codegen/cg_llvm_names.h"
#include "kiln/kiln.h"

typedef test_sink sink;

/* Runs the check; returns its result, with the last error in s->last. */
static bool check(sink *s, const char *target, const char *cpu, const char *features) {
  test_sink_init(s);
  bool ok = cg_check_llvm_names(target, cpu, features, &s->d);
  assert_int_equal(ok, s->errors == 0); /* false exactly when it reported something */
  return ok;
}

static void test_known_names(void **state) {
  (void)state;
  sink s;
  assert_true(check(&s, "x86-64", "x86-64-v2", ""));
  assert_true(check(&s, "x86-64", "skylake-avx512", "+avx512f,-avx512vl,+fma"));
  assert_true(check(&s, "x86-64", "", NULL));      /* LLVM's default CPU */
  assert_true(check(&s, "x86-64", "generic", ",+avx2,,")); /* empty items are skipped */
  assert_true(check(&s, "x86", "i686", "+sse2"));
  assert_true(check(&s, "aarch64", "cortex-a53", "+neon"));
  assert_true(check(&s, "nvptx64", "sm_90a", "+ptx80"));
  /* A target the table does not know is left to LLVM. */
  assert_true(check(&s, "no-such-target", "anything", "+anything"));
}

static void test_unknown_cpu(void **state) {
  (void)state;
  sink s;
  assert_false(check(&s, "x86-64", "skylak", NULL));
  assert_non_null(strstr(s.last, "'skylak'"));
  assert_non_null(strstr(s.last, "did you mean 'skylake'?"));
  assert_false(check(&s, "x86-64", "notacpu", ""));
  assert_non_null(strstr(s.last, "unknown CPU 'notacpu' for target x86-64"));
  assert_null(strstr(s.last, "did you mean")); /* nothing is near */
  assert_non_null(strstr(s.last, "-mcpu=help"));
  /* Names of another target, and LLVM's "help", are refused. */
  assert_false(check(&s, "x86-64", "cortex-a53", NULL));
  assert_false(check(&s, "x86-64", "help", NULL));
  assert_false(check(&s, "aarch64", "znver3", NULL));
}

static void test_unknown_feature(void **state) {
  (void)state;
  sink s;
  assert_false(check(&s, "x86-64", "generic", "+avx2,+avx512ff"));
  assert_int_equal(s.errors, 1);
  assert_non_null(strstr(s.last, "unknown feature 'avx512ff' for target x86-64"));
  assert_non_null(strstr(s.last, "did you mean 'avx512f'?"));
  assert_false(check(&s, "x86-64", "generic", "-nosuchfeature"));
  assert_non_null(strstr(s.last, "'nosuchfeature'"));
  assert_false(check(&s, "x86-64", "generic", "avx2"));
  assert_non_null(strstr(s.last, "feature 'avx2' for target x86-64 needs a sign"));
  assert_false(check(&s, "x86-64", "generic", "+help"));
  assert_false(check(&s, "x86-64", "generic", "+"));
  /* Every bad item is reported, the CPU's too. */
  assert_false(check(&s, "x86-64", "nocpu", "+nofeat1,+avx2,nofeat2"));
  assert_int_equal(s.errors, 3);
  /* A long name gets no suggestion and no overflow. */
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  assert_false(check(&s, "x86-64", longname, NULL));
  assert_null(strstr(s.last, "did you mean"));
}

static const char *MLP =
    "module mlp\n"
    "ENTRY %main outputs={\"y\"} {\n"
    "  %x = f32[1,4] parameter(0)\n"
    "  %y = f32[1,4] tanh(%x)\n"
    "  ROOT %o = (f32[1,4]) tuple(%y)\n"
    "}\n";

static void drop(void *user, kiln_diag_level level, const char *msg) {
  (void)level;
  (void)msg;
  (*(int *)user)++;
}

static void *compile_bad_cpu(void *arg) {
  (void)arg;
  int msgs = 0;
  kiln_context *ctx;
  if (kiln_context_create(&ctx) != KILN_OK) return (void *)1;
  kiln_context_set_diagnostics(ctx, drop, &msgs);
  kiln_model *m = NULL;
  int bad = kiln_model_from_kir(ctx, MLP, strlen(MLP), "t.kir", &m) != KILN_OK;
  for (int i = 0; i < 20 && !bad; i++) {
    kiln_context_set_target(ctx, NULL, i % 2 ? "notacpu" : "x86-64", i % 2 ? NULL : "+nosuchfeature");
    char *obj = NULL;
    size_t len;
    bad = kiln_model_emit(m, "m", KILN_EMIT_OBJECT, &obj, &len) != KILN_ERR_COMPILE || obj != NULL;
  }
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  return (void *)(intptr_t)(bad || msgs == 0);
}

static void test_stderr_untouched_by_concurrent_compiles(void **state) {
  (void)state;
  struct stat before, after;
  assert_int_equal(fstat(2, &before), 0);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, compile_bad_cpu, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *r;
    assert_int_equal(pthread_join(t[i], &r), 0);
    assert_null(r);
  }
  assert_int_equal(fstat(2, &after), 0);
  assert_true(before.st_dev == after.st_dev && before.st_ino == after.st_ino);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_names),
      cmocka_unit_test(test_unknown_cpu),
      cmocka_unit_test(test_unknown_feature),
      cmocka_unit_test(test_stderr_untouched_by_concurrent_compiles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
