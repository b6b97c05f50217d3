/*
 * The target description passes read (ir/target.h): the generic default
 * and the one-line summary that remarks and `kiln opt --print-target`
 * show. Filling in a real target is codegen's job (cg_target_describe);
 * this file knows no CPU.
 */
#include <stdio.h>

#include "ir/target.h"

/* A generic x86-64 CPU: SSE's 4 f32 lanes in 16 registers, no FMA, the
 * GEMM tile such a CPU gets (4 rows x 2 vectors) and the size below which
 * a product is not worth tiling. One object, read-only, so that a pass
 * given no description can point at it. */
const ir_target ir_target_generic = {
    .kind = IR_TARGET_CPU,
    .triple = "x86_64-unknown-linux-gnu",
    .cpu = "generic",
    .isa = "generic",
    .vec_f32 = 4,
    .vec_regs = 16,
    .fma = false,
    .gemm_mr = 4,
    .gemm_nv = 2,
    .gemm_min_macs = 8192.0,
    .prepack_weights = true,
    .conv_layout = IR_CONV_NCHW,
};

void ir_target_default(ir_target *t) { *t = ir_target_generic; }

const char *ir_target_str(const ir_target *t, char *buf, int n) {
  if (!buf || n <= 0) return "";
  snprintf(buf, (size_t)n, "%s %s %s: %d f32 lanes, %d registers, %s, GEMM tile %dx%d, min %.0f MACs, %s, %s",
           t->triple, t->cpu, t->isa, t->vec_f32, t->vec_regs, t->fma ? "FMA" : "no FMA", t->gemm_mr, t->gemm_nv,
           t->gemm_min_macs, t->prepack_weights ? "prepacked weights" : "weights packed at run time",
           t->conv_layout == IR_CONV_NHWC ? "NHWC" : "NCHW");
  return buf;
}
