/*
 * The target description passes read (ir/target.h, pass_ctx.target): the
 * generic default, its one-line form, pass_target's fallback, and a
 * decision that follows the description rather than a constant: fuse
 * computes a squeeze-excitation scale while packing the input of a 1x1
 * convolution only when the product reaches the target's gemm_min_macs
 * (the only way to move that threshold is a description filled in by
 * hand, as here; the CLI's targets all share codegen's value).
 */
#include "passes/pass.h"
#include "tests/unit/unit.h"

static void default_is_generic_x86_64(void **state) {
  (void)state;
  ir_target t;
  memset(&t, 0x5a, sizeof t); /* every field must be written */
  ir_target_default(&t);
  assert_int_equal(t.kind, IR_TARGET_CPU);
  assert_string_equal(t.triple, "x86_64-unknown-linux-gnu");
  assert_string_equal(t.cpu, "generic");
  assert_string_equal(t.isa, "generic");
  assert_int_equal(t.vec_f32, 4);
  assert_int_equal(t.vec_regs, 16);
  assert_false(t.fma);
  assert_int_equal(t.gemm_mr, 4);
  assert_int_equal(t.gemm_nv, 2);
  assert_true(t.gemm_min_macs == 8192.0);
  assert_true(t.prepack_weights);
  assert_int_equal(t.conv_layout, IR_CONV_NCHW);
}

static void str_is_one_line_and_cut_to_fit(void **state) {
  (void)state;
  ir_target t;
  ir_target_default(&t);
  char buf[256];
  assert_ptr_equal(ir_target_str(&t, buf, sizeof buf), buf);
  assert_string_equal(buf, "x86_64-unknown-linux-gnu generic generic: 4 f32 lanes, 16 registers, no FMA, GEMM tile "
                           "4x2, min 8192 MACs, prepacked weights, NCHW");
  t.fma = true;
  t.prepack_weights = false;
  t.conv_layout = IR_CONV_NHWC;
  t.gemm_min_macs = 1e6;
  ir_target_str(&t, buf, sizeof buf);
  assert_contains(buf, ", FMA,");
  assert_contains(buf, "min 1000000 MACs, weights packed at run time, NHWC");
  assert_null(strchr(buf, '\n'));
  char small[12];
  memset(small, 'x', sizeof small);
  ir_target_str(&t, small, sizeof small);
  assert_string_equal(small, "x86_64-unkn");
  assert_string_equal(ir_target_str(&t, small, 0), "");
}

static void pass_target_falls_back_to_generic(void **state) {
  (void)state;
  pass_ctx pc = {0};
  assert_ptr_equal(pass_target(&pc), &ir_target_generic);
  assert_ptr_equal(pass_target(NULL), &ir_target_generic);
  ir_target t;
  ir_target_default(&t);
  pc.target = &t;
  assert_ptr_equal(pass_target(&pc), &t);
}

/* EfficientNet's squeeze-excitation scale before a 1x1 projection:
 * 16 x 12 x 12 outputs x 8 input features = 18432 multiply-adds. */
static const char se_kir[] =
    "module se\n"
    "ENTRY %main {\n"
    "  %sx = f32[1,8,12,12] parameter(0)\n"
    "  %se = f32[8] parameter(1)\n"
    "  %seb = f32[1,8,12,12] broadcast(%se), dimensions={1}\n"
    "  %scaled = f32[1,8,12,12] mul(%sx, %seb)\n"
    "  %pw = f32[16,8,1,1] parameter(2)\n"
    "  %proj = f32[1,16,12,12] convolution(%scaled, %pw), window={size=1x1}, dim_labels=bf01_oi01->bf01\n"
    "  ROOT %t = (f32[1,16,12,12]) tuple(%proj)\n"
    "}\n";

/* Runs fuse on se_kir for a target whose GEMM threshold is min_macs;
 * returns the operand count of %proj afterwards (3: the scale was fused
 * into its packing, fusion(%se, %sx, %pw); 2: it was not) and leaves the
 * remarks in d. */
static uint32_t proj_operands_after_fuse(double min_macs, msgs *d) {
  msgs_init(d);
  ir_module *m = ir_parse_module(se_kir, sizeof se_kir - 1, "se.kir", &d->sink);
  assert_non_null(m);
  ir_target t;
  ir_target_default(&t);
  t.gemm_min_macs = min_macs;
  snprintf(t.cpu, sizeof t.cpu, "test-%.0f", min_macs);
  pass_ctx pc = {0};
  pc.d = &d->sink;
  pc.verify = true;
  pc.remarks = true;
  pc.target = &t;
  assert_true(pass_run(m, "fuse", NULL, &pc));
  const ir_comp *e = ir_module_entry(m);
  const ir_inst *proj = NULL;
  for (uint32_t i = 0; i < e->ninsts; i++)
    if (e->insts[i].name && !strcmp(e->insts[i].name, "proj")) proj = &e->insts[i];
  assert_non_null(proj);
  uint32_t n = proj->nops;
  ir_module_destroy(m);
  return n;
}

static void fuse_follows_the_targets_gemm_threshold(void **state) {
  (void)state;
  msgs d;
  /* At the generic threshold (8192) the product is a tiled GEMM: the scale
   * is computed while packing its input. */
  assert_int_equal(proj_operands_after_fuse(8192.0, &d), 3);
  assert_contains(d.text, "fused into the operand packing of %proj (mul): the convolution's 18432 multiply-adds "
                          "reach the target's tiled-GEMM minimum of 8192 (cpu test-8192)");
  /* Just above the product, the same graph keeps the scale in a kernel of
   * its own, and the remark names the target's threshold. */
  assert_int_equal(proj_operands_after_fuse(18433.0, &d), 2);
  assert_contains(d.text, "%scaled: not fused (the 1x1 convolution's 18432 multiply-adds are below the target's "
                          "tiled-GEMM minimum of 18433 (cpu test-18433)");
  /* The boundary is inclusive, as in the code generator. */
  assert_int_equal(proj_operands_after_fuse(18432.0, &d), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(default_is_generic_x86_64),
      cmocka_unit_test(str_is_one_line_and_cut_to_fit),
      cmocka_unit_test(pass_target_falls_back_to_generic),
      cmocka_unit_test(fuse_follows_the_targets_gemm_threshold),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
