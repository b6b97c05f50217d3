/*
 * The NVIDIA GPU backend's table (gpu_backend.c), for the registry
 * (codegen/cg_backends.c) only.
 */
#ifndef KILN_CODEGEN_GPU_GPU_BACKEND_H
#define KILN_CODEGEN_GPU_GPU_BACKEND_H

#include "codegen/cg_backend.h"

extern const cg_backend cg_gpu_backend;

#endif
