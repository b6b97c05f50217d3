/*
 * Whether this machine can run code generated for an x86-64
 * micro-architecture level (x86-64, x86-64-v2, x86-64-v3, x86-64-v4: the
 * CPU names LLVM and GCC give the psABI levels), asked of the processor
 * with cpuid and of the OS with xgetbv (AVX and AVX-512 registers must be
 * enabled by the kernel, not just present). The tests that force the code
 * generator to a level use it to skip, with the reason, on a machine that
 * could not run the result.
 */
#ifndef KILN_TESTS_COMMON_CPU_LEVEL_H
#define KILN_TESTS_COMMON_CPU_LEVEL_H

#include <stddef.h>

/* 1: this machine runs code for `cpu`; 0: it does not, and why (at most n
 * bytes, NUL-terminated) names the missing features ("this CPU lacks avx2
 * fma ...") or says the machine is not x86-64; -1: `cpu` is not a level this helper
 * knows, and why says so. */
int tu_cpu_level_runs(const char *cpu, char *why, size_t n);

#endif
