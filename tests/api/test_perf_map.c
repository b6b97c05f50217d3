/*
 * The JIT's perf map (kiln_context_set_perf_map, KILN_PERF_MAP): with it
 * on, JIT compilation appends one "START SIZE NAME" line per function of
 * the module to /tmp/perf-PID.map, where START..START+SIZE is executable
 * memory of this process and the exported run function is at the address
 * its description gives; with it off, no map is written at all. The map
 * file of this process is removed before and after (it is ours: the name
 * holds our pid).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/artifact.h"
#include "kiln/kiln.h"

/* A tiled GEMM (64x64x64), an elementwise kernel and a reduction: several
 * kernels of different kinds. */
static const char pm_kir[] =
    "module pm\n"
    "\n"
    "ENTRY %main outputs={\"y\", \"s\"} {\n"
    "  %x = f32[64,64] parameter(0)\n"
    "  %w = f32[64,64] parameter(1)\n"
    "  %d = f32[64,64] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
    "  %y = f32[64,64] tanh(%d)\n"
    "  %s = f32[64] reduce(%x), dimensions={1}, combiner=add\n"
    "  ROOT %t = (f32[64,64], f32[64]) tuple(%y, %s)\n"
    "}\n";

static char map_path[64];

typedef struct map_line {
  uint64_t start, size;
  char name[256];
} map_line;

/* The lines of our map (NULL, 0 when there is no map). */
static map_line *read_map(int *n) {
  *n = 0;
  FILE *f = fopen(map_path, "r");
  if (!f) return NULL;
  map_line *v = NULL;
  int cap = 0;
  char buf[512];
  while (fgets(buf, sizeof buf, f)) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 64;
      v = realloc(v, (size_t)cap * sizeof *v);
      assert_non_null(v);
    }
    map_line *l = &v[*n];
    /* Every line must have the format perf parses: hex, hex, a name. */
    assert_int_equal(sscanf(buf, "%" SCNx64 " %" SCNx64 " %255s", &l->start, &l->size, l->name), 3);
    (*n)++;
  }
  fclose(f);
  return v;
}

/* Whether [lo, hi) lies inside one executable mapping of this process. */
static bool in_executable_memory(uint64_t lo, uint64_t hi) {
  FILE *f = fopen("/proc/self/maps", "r");
  assert_non_null(f);
  char buf[1024];
  bool found = false;
  while (!found && fgets(buf, sizeof buf, f)) {
    uint64_t a, b;
    char perms[8];
    if (sscanf(buf, "%" SCNx64 "-%" SCNx64 " %7s", &a, &b, perms) == 3 && perms[2] == 'x' && a <= lo && hi <= b)
      found = true;
  }
  fclose(f);
  return found;
}

static kiln_executable *jit(kiln_context *ctx) {
  kiln_executable *exe = NULL;
  kiln_status s = kiln_compile_kir(ctx, pm_kir, sizeof pm_kir - 1, &exe);
  if (s != KILN_OK) fail_msg("JIT: %s", kiln_context_last_error(ctx));
  return exe;
}

static int setup(void **state) {
  (void)state;
  snprintf(map_path, sizeof map_path, "/tmp/perf-%ld.map", (long)getpid());
  unlink(map_path);
  unsetenv("KILN_PERF_MAP");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(map_path);
  unsetenv("KILN_PERF_MAP");
  return 0;
}

/* Off (the default, and KILN_PERF_MAP=0): compiling and running writes no map. */
static void test_off_writes_nothing(void **state) {
  (void)state;
  setenv("KILN_PERF_MAP", "0", 1);
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  kiln_executable *exe = jit(ctx);
  kiln_executable_destroy(exe);
  unsetenv("KILN_PERF_MAP");
  kiln_context *ctx2;
  assert_int_equal(kiln_context_create(&ctx2), KILN_OK);
  exe = jit(ctx2);
  assert_int_equal(access(map_path, F_OK), -1);
  assert_int_equal(errno, ENOENT);
  /* Turned on, then off again before compiling. */
  assert_int_equal(kiln_context_set_perf_map(ctx2, 1), KILN_OK);
  assert_int_equal(kiln_context_set_perf_map(ctx2, 0), KILN_OK);
  kiln_executable_destroy(exe);
  exe = jit(ctx2);
  assert_int_equal(access(map_path, F_OK), -1);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx2);
  kiln_context_destroy(ctx);
}

/* Checks the lines [from, n) of the map as the lines of executable exe:
 * kernels named, sizes non-zero, ranges executable and disjoint, the run
 * function where the description says. */
static void check_lines(const map_line *v, int from, int n, kiln_executable *exe) {
  const kiln_artifact_desc *desc = kiln_executable_description(exe);
  assert_non_null(desc);
  char run_name[96];
  snprintf(run_name, sizeof run_name, "kiln_%s_run", desc->name);
  uintptr_t run_addr;
  memcpy(&run_addr, &desc->run, sizeof run_addr);
  int kernels = 0;
  bool have_run = false;
  for (int i = from; i < n; i++) {
    assert_true(v[i].size > 0);
    if (!in_executable_memory(v[i].start, v[i].start + v[i].size))
      fail_msg("%s at %" PRIx64 "+%" PRIx64 " is not in executable memory", v[i].name, v[i].start, v[i].size);
    for (int k = from; k < i; k++)
      if (v[i].start < v[k].start + v[k].size && v[k].start < v[i].start + v[i].size)
        fail_msg("%s and %s overlap", v[i].name, v[k].name);
    if (strncmp(v[i].name, "kiln.kernel.", 12) == 0) kernels++;
    if (strcmp(v[i].name, run_name) == 0) {
      have_run = true;
      assert_true(v[i].start == (uint64_t)run_addr);
    }
  }
  /* The dot (with its tanh epilogue) and the reduction at least. */
  if (kernels < 2) fail_msg("%d kernel lines (kiln.kernel.*) in the map, want 2 or more", kernels);
  assert_true(have_run);
}

/* On through the API: the map names the kernels; a second executable (on
 * through KILN_PERF_MAP) appends its lines after the first's. */
static void test_on_names_kernels(void **state) {
  (void)state;
  kiln_context *ctx;
  assert_int_equal(kiln_context_create(&ctx), KILN_OK);
  assert_int_equal(kiln_context_set_perf_map(ctx, 1), KILN_OK);
  kiln_executable *exe = jit(ctx);
  /* The code runs (and still gives a right answer). */
  static float x[64 * 64], w[64 * 64], y[64 * 64], s[64];
  for (int i = 0; i < 64 * 64; i++) x[i] = 1.0f / 64, w[i] = (i % 64 == i / 64) ? 0.5f : 0.0f;
  const void *in[2] = {x, w};
  void *out[2] = {y, s};
  assert_int_equal(kiln_executable_run(exe, in, out, NULL), KILN_OK);
  assert_float_equal(s[0], 1.0f, 1e-5f);
  int n1;
  map_line *v = read_map(&n1);
  assert_non_null(v);
  check_lines(v, 0, n1, exe);
  free(v);

  setenv("KILN_PERF_MAP", "1", 1);
  kiln_context *ctx2;
  assert_int_equal(kiln_context_create(&ctx2), KILN_OK);
  kiln_executable *exe2 = jit(ctx2);
  int n2;
  v = read_map(&n2);
  assert_non_null(v);
  assert_int_equal(n2, 2 * n1); /* the same module again: as many lines */
  check_lines(v, 0, n1, exe);   /* the first executable's lines are still there */
  check_lines(v, n1, n2, exe2);
  free(v);
  kiln_executable_destroy(exe2);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx2);
  kiln_context_destroy(ctx);
}

static void test_null_context(void **state) {
  (void)state;
  assert_int_equal(kiln_context_set_perf_map(NULL, 1), KILN_ERR_INVALID_ARGUMENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_off_writes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_on_names_kernels, setup, teardown),
      cmocka_unit_test(test_null_context),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
