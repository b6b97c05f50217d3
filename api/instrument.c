/*
 * Instrumentation behind include/kiln/kiln.h: the context options that
 * compile a trace hook and a kernel table into executables (kiln profile,
 * kiln verify), and the functions that read them.
 *
 * The code carries everything (kiln/artifact.h, "Kernels"): the table is
 * constant data in the description and set_trace stores the hook where
 * the run function and the thread pool read it, so a JIT'd executable and
 * a loaded .so are read the same way here. The API's hook type takes a
 * kiln_trace_phase; the artifact's takes an int (the ABI has no enums), so
 * the code calls `forward`, which calls the user's hook with the enum.
 * (kiln_context_set_perf_map lives with the other context setters in
 * api/kiln_api.c.)
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "kiln/artifact.h"

#define DESC_HAS(d, field) ((d)->size >= offsetof(kiln_artifact_desc, field) + sizeof((d)->field))
/* More kernels than any model has: a count beyond it is a corrupt table. */
#define MAX_KERNELS (1u << 24)

kiln_status kiln_context_set_instrument(kiln_context *ctx, unsigned flags) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (flags & ~(unsigned)KILN_INSTRUMENT_KERNELS)
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_context_set_instrument: unknown flags 0x%x",
                    flags & ~(unsigned)KILN_INSTRUMENT_KERNELS);
  ctx->instrument = flags;
  return KILN_OK;
}

kiln_status kiln_context_set_debug_perturb(kiln_context *ctx, const char *kernel) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  char *n = NULL;
  if (kernel && !(n = strdup(kernel))) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  free(ctx->debug_perturb);
  ctx->debug_perturb = n;
  return KILN_OK;
}

bool api_executable_kernels(kiln_executable *exe, const char *what) {
  const kiln_artifact_desc *d = exe->desc;
  if (!DESC_HAS(d, set_trace) || d->num_kernels == 0) return true; /* not instrumented */
  if (!d->kernels || !d->set_trace || d->num_kernels > MAX_KERNELS) {
    api_fail(exe->ctx, KILN_ERR_INVALID_ARGUMENT, "%s: the artifact's kernel table is invalid", what);
    return false;
  }
  uint32_t n = d->num_kernels;
  size_t nout = 0;
  for (uint32_t i = 0; i < n; i++) nout += d->kernels[i].num_outputs;
  exe->kernels = calloc(n, sizeof *exe->kernels);
  exe->kernel_outputs = calloc(nout + 1, sizeof *exe->kernel_outputs);
  exe->kernel_layouts = calloc(nout + 1, sizeof *exe->kernel_layouts);
  if (!exe->kernels || !exe->kernel_outputs || !exe->kernel_layouts) {
    api_fail(exe->ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    return false;
  }
  size_t at = 0;
  for (uint32_t i = 0; i < n; i++) {
    const kiln_artifact_kernel *k = &d->kernels[i];
    if (!k->name || !k->kind || !k->onnx_nodes || !k->onnx_ops || !k->shape || (k->num_outputs && !k->outputs)) {
      api_fail(exe->ctx, KILN_ERR_INVALID_ARGUMENT, "%s: kernel %u of the artifact's table is invalid", what, i);
      return false;
    }
    kiln_kernel_info *ki = &exe->kernels[i];
    ki->name = k->name;
    ki->kind = k->kind;
    ki->onnx_nodes = k->onnx_nodes;
    ki->onnx_ops = k->onnx_ops;
    ki->shape = k->shape;
    ki->flops = k->flops;
    ki->bytes = k->bytes;
    ki->num_outputs = (int)k->num_outputs;
    ki->outputs = &exe->kernel_outputs[at];
    ki->minor_to_major = &exe->kernel_layouts[at];
    for (uint32_t q = 0; q < k->num_outputs; q++, at++) {
      const kiln_artifact_tensor *t = &k->outputs[q];
      if (!t->name || t->dtype < KILN_ARTIFACT_PRED || t->dtype > KILN_ARTIFACT_F64 || t->rank < 0 ||
          t->rank > KILN_MAX_RANK || (t->rank && (!t->dims || !t->minor_to_major))) {
        api_fail(exe->ctx, KILN_ERR_INVALID_ARGUMENT, "%s: output %u of kernel %s is described invalidly", what, q,
                 k->name);
        return false;
      }
      exe->kernel_outputs[at] = (kiln_tensor_info){t->name, (kiln_dtype)t->dtype, t->rank, t->dims};
      exe->kernel_layouts[at] = t->minor_to_major;
    }
  }
  exe->nkernels = (int)n;
  return true;
}

int kiln_executable_num_kernels(const kiln_executable *exe) { return exe ? exe->nkernels : 0; }

kiln_status kiln_executable_kernel(const kiln_executable *exe, int i, kiln_kernel_info *out) {
  if (!exe || !out || i < 0 || i >= exe->nkernels) return KILN_ERR_INVALID_ARGUMENT;
  *out = exe->kernels[i];
  return KILN_OK;
}

/* The hook registered with the code: the user's, with the phase as the
 * API's enum. */
static void forward(void *user, int kernel, int phase, int thread, void *const *buffers) {
  const kiln_executable *exe = user;
  kiln_trace_fn fn = exe->trace_fn;
  if (fn) fn(exe->trace_user, kernel, (kiln_trace_phase)phase, thread, buffers);
}

kiln_status kiln_executable_set_trace(kiln_executable *exe, kiln_trace_fn fn, void *user) {
  if (!exe) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(exe->ctx);
  const kiln_artifact_desc *d = exe->desc;
  if (!DESC_HAS(d, set_trace) || !d->set_trace)
    return api_fail(exe->ctx, KILN_ERR_UNSUPPORTED,
                    "%s was compiled without instrumentation (kiln_context_set_instrument, kiln compile --instrument)",
                    d->name);
  exe->trace_fn = fn;
  exe->trace_user = user;
  d->set_trace(fn ? forward : NULL, fn ? exe : NULL);
  return KILN_OK;
}
