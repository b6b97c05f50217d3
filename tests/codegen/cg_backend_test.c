/*
 * The code generator's backends seen from the shared core's interface
 * (codegen/cg.h): cg_target_describe answers with the CPU backend's
 * register budgets for each kind of target (the numbers the GEMM tiles
 * use: docs/codegen.md, "Fast kernels"), portable describes its lowest
 * level with weights left unpacked, an NVPTX triple goes to the GPU stub,
 * which describes a GPU and refuses to compile with a message naming issue
 * 11, and a CPU compilation has no device images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/common/test_sink.h"

#include "codegen/cg.h"

typedef test_sink sink;

static void sink_init(sink *s) { test_sink_init(s); }

/* Describes (triple, cpu, features), which must succeed. */
static ir_target describe(const char *triple, const char *cpu, const char *features) {
  sink s;
  sink_init(&s);
  ir_target t;
  memset(&t, 0xab, sizeof t);
  bool ok = cg_target_describe(triple, cpu, features, &t, &s.d);
  if (!ok) fail_msg("describe %s %s: %s", triple ? triple : "host", cpu ? cpu : "host", s.last);
  assert_int_equal(s.errors, 0);
  return t;
}

static void expect_tile(const ir_target *t, const char *isa, int vec, int regs, bool fma, int mr, int nv) {
  assert_int_equal(t->kind, IR_TARGET_CPU);
  assert_string_equal(t->isa, isa);
  assert_int_equal(t->vec_f32, vec);
  assert_int_equal(t->vec_regs, regs);
  assert_int_equal(t->fma, fma);
  assert_int_equal(t->gemm_mr, mr);
  assert_int_equal(t->gemm_nv, nv);
  assert_true(t->gemm_min_macs == 8192.0);
  assert_int_equal(t->conv_layout, IR_CONV_NCHW);
}

static void test_x86_levels(void **state) {
  (void)state;
  ir_target t = describe("x86_64-pc-linux-gnu", "skylake-avx512", NULL);
  expect_tile(&t, "avx512", 16, 32, true, 14, 2);
  assert_string_equal(t.cpu, "skylake-avx512");
  assert_string_equal(t.triple, "x86_64-pc-linux-gnu");
  assert_true(t.prepack_weights);
  t = describe("x86_64-pc-linux-gnu", "x86-64-v3", NULL);
  expect_tile(&t, "avx2", 8, 16, true, 6, 2);
  t = describe("x86_64-pc-linux-gnu", "x86-64-v2", NULL);
  expect_tile(&t, "sse", 4, 16, false, 4, 2);
  /* Features count, not only the name: AVX-512 taken away gives AVX2's tile. */
  t = describe("x86_64-pc-linux-gnu", "skylake-avx512", "-avx512f");
  expect_tile(&t, "avx2", 8, 16, true, 6, 2);
}

static void test_portable(void **state) {
  (void)state;
  /* What every level can run (x86-64-v2's), and weights stay unpacked:
   * each level packs at run time from one copy. */
  ir_target t = describe("x86_64-pc-linux-gnu", CG_CPU_PORTABLE, NULL);
  expect_tile(&t, "sse", 4, 16, false, 4, 2);
  assert_string_equal(t.cpu, CG_CPU_PORTABLE);
  assert_false(t.prepack_weights);
}

static void test_aarch64(void **state) {
  (void)state;
  ir_target t = describe("aarch64-linux-gnu", NULL, NULL);
  expect_tile(&t, "neon", 4, 32, true, 8, 3);
  assert_string_equal(t.cpu, "generic");
}

static void test_host(void **state) {
  (void)state;
  ir_target t = describe(NULL, NULL, NULL);
  assert_int_equal(t.kind, IR_TARGET_CPU);
  assert_true(t.vec_f32 == 4 || t.vec_f32 == 8 || t.vec_f32 == 16);
  assert_int_equal(t.gemm_mr, t.vec_f32 == 16 ? 14 : t.vec_f32 == 8 ? 6 : t.gemm_mr);
  assert_true(t.prepack_weights);
  assert_true(t.cpu[0] != 0 && t.triple[0] != 0);
}

static void test_refusals(void **state) {
  (void)state;
  sink s;
  ir_target t;
  sink_init(&s);
  assert_false(cg_target_describe("x86_64-pc-linux-gnu", "no-such-cpu", NULL, &t, &s.d));
  assert_non_null(strstr(s.last, "no-such-cpu"));
  sink_init(&s);
  assert_false(cg_target_describe("aarch64-linux-gnu", CG_CPU_PORTABLE, NULL, &t, &s.d));
  assert_non_null(strstr(s.last, "x86_64"));
  sink_init(&s);
  assert_false(cg_target_describe("bogus-arch-linux", NULL, NULL, &t, &s.d));
  assert_non_null(strstr(s.last, "unknown target"));
}

static const char *TINY =
    "module tiny\n"
    "ENTRY %main outputs={\"y\"} {\n"
    "  %x = f32[4] parameter(0)\n"
    "  %y = f32[4] add(%x, %x)\n"
    "  ROOT %o = (f32[4]) tuple(%y)\n"
    "}\n";

static void test_gpu_stub(void **state) {
  (void)state;
  ir_target t = describe("nvptx64-nvidia-cuda", NULL, NULL);
  assert_int_equal(t.kind, IR_TARGET_GPU);
  assert_string_equal(t.triple, "nvptx64-nvidia-cuda");
  sink s;
  sink_init(&s);
  ir_module *m = ir_parse_module(TINY, strlen(TINY), "tiny.kir", &s.d);
  assert_non_null(m);
  cg_options o = {"tiny", "nvptx64-nvidia-cuda", NULL, NULL, 2, NULL, false, false, false, NULL, NULL};
  cg_output *out = cg_lower(m, &o, &s.d);
  assert_null(out);
  assert_int_equal(s.errors, 1);
  assert_non_null(strstr(s.last, "the NVIDIA GPU backend is not implemented yet (issue 11)"));
  ir_module_destroy(m);
}

static void test_cpu_has_no_images(void **state) {
  (void)state;
  sink s;
  sink_init(&s);
  ir_module *m = ir_parse_module(TINY, strlen(TINY), "tiny.kir", &s.d);
  assert_non_null(m);
  cg_options o = {"tiny", NULL, NULL, NULL, 2, NULL, false, false, false, NULL, NULL};
  cg_output *out = cg_lower(m, &o, &s.d);
  assert_non_null(out);
  assert_int_equal(cg_output_num_images(out), 0);
  cg_output_destroy(out);
  ir_module_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_x86_levels), cmocka_unit_test(test_portable), cmocka_unit_test(test_aarch64),
      cmocka_unit_test(test_host),       cmocka_unit_test(test_refusals), cmocka_unit_test(test_gpu_stub),
      cmocka_unit_test(test_cpu_has_no_images),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
