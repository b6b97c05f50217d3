/*
 * The NVIDIA GPU backend (NVPTX triples, nvptx64-nvidia-cuda): for now only
 * its table, so that the shared core's seam is in place and a GPU target is
 * refused cleanly. describe answers (passes may plan for a GPU); every
 * entry that would generate code reports that the backend does not exist
 * yet, and setup, the first one cg_lower calls, stops the compilation
 * before any LLVM target machine or module is made (LLVM's NVPTX target
 * need not even be initialised). Issue 11 fills it in: kernels as PTX
 * device images (cg_output's images), launches through the CUDA driver,
 * libdevice for math_call.
 */
#include <stdio.h>
#include <string.h>

#include "codegen/gpu/gpu_backend.h"

#define NOT_YET "the NVIDIA GPU backend is not implemented yet (issue 11)"

static bool gpu_serves(const char *triple) { return strncmp(triple, "nvptx", 5) == 0; }

static bool gpu_describe(const cg_target_req *r, ir_target *t, diag *d) {
  (void)d;
  memset(t, 0, sizeof *t);
  t->kind = IR_TARGET_GPU;
  snprintf(t->triple, sizeof t->triple, "%s", r->triple);
  snprintf(t->cpu, sizeof t->cpu, "%s", r->user_cpu ? r->cpu : "sm_80");
  snprintf(t->isa, sizeof t->isa, "ptx");
  /* A warp's worth of f32 lanes; the tile and thresholds are the GPU
   * issue's to choose. */
  t->vec_f32 = 32;
  t->vec_regs = 255;
  t->fma = true;
  t->gemm_mr = 4, t->gemm_nv = 1;
  t->gemm_min_macs = 8192;
  t->prepack_weights = true;
  t->conv_layout = IR_CONV_NHWC;
  return true;
}

static bool gpu_setup(cg_ctx *c, const cg_target_req *r, cg_tm_req *tm) {
  (void)tm;
  diag_error(c->d, "cannot compile for %s: " NOT_YET, r->triple);
  return false;
}

static bool not_yet(cg_ctx *c) { return cg_fail(c, NOT_YET); }

static bool gpu_module_init(cg_ctx *c, const cg_target_req *r) {
  (void)r;
  return not_yet(c);
}

static void gpu_set_level(cg_ctx *c, int i) {
  (void)i;
  not_yet(c);
}

static void gpu_fn_attrs(cg_ctx *c, LLVMValueRef fn, bool baseline) {
  (void)fn, (void)baseline;
  not_yet(c);
}

static LLVMValueRef gpu_math_call(cg_ctx *c, const char *name, LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs) {
  (void)name, (void)args, (void)nargs;
  not_yet(c);
  return LLVMGetUndef(ret);
}

static bool gpu_emit_kernel(cg_ctx *c, const cg_kdesc *d, cg_launch *out) {
  (void)d, (void)out;
  return not_yet(c);
}

static LLVMValueRef gpu_new_run(cg_ctx *c, LLVMTypeRef ty, int level) {
  (void)ty, (void)level;
  not_yet(c);
  return NULL;
}

static void gpu_emit_launch(cg_ctx *c, const cg_launch *l, LLVMValueRef args) {
  (void)l, (void)args;
  not_yet(c);
}

static LLVMValueRef gpu_export_run(cg_ctx *c, LLVMValueRef *impl) {
  (void)impl;
  not_yet(c);
  return NULL;
}

static bool gpu_artifact_fns(cg_ctx *c, cg_artifact_fns *f) {
  (void)f;
  return not_yet(c);
}

static bool gpu_finish(cg_ctx *c) { return not_yet(c); }

static bool gpu_device_images(cg_ctx *c, cg_images *imgs) {
  (void)imgs;
  return not_yet(c);
}

static void gpu_destroy(cg_ctx *c) { c->be = NULL; }

const cg_backend cg_gpu_backend = {
    .name = "nvptx",
    .serves = gpu_serves,
    .describe = gpu_describe,
    .setup = gpu_setup,
    .module_init = gpu_module_init,
    .set_level = gpu_set_level,
    .fn_attrs = gpu_fn_attrs,
    .math_call = gpu_math_call,
    .emit_kernel = gpu_emit_kernel,
    .new_run = gpu_new_run,
    .emit_launch = gpu_emit_launch,
    .export_run = gpu_export_run,
    .artifact_fns = gpu_artifact_fns,
    .finish = gpu_finish,
    .device_images = gpu_device_images,
    .destroy = gpu_destroy,
};
