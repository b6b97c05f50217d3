/*
 * The registry of backends: the one file of the shared core that names a
 * backend (codegen/cpu/, codegen/gpu/). A triple goes to the first backend
 * that serves it; the CPU backend, last, serves whatever LLVM targets.
 * tests/codegen/layering.sh checks that no other core file reaches into a
 * backend.
 */
#include <string.h>

#include "codegen/cg_backend.h"
#include "codegen/cpu/cg_cpu.h"
#include "codegen/gpu/gpu_backend.h"

static const cg_backend *const backends[] = {&cg_gpu_backend, &cg_cpu_backend};

const cg_backend *cg_backend_for(const char *triple) {
  for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
    if (backends[i]->serves(triple)) return backends[i];
  return &cg_cpu_backend;
}
