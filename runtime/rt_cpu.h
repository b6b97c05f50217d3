/*
 * Which x86-64 instruction-set features this CPU (and its OS) offers: the
 * check every artifact makes before running a kernel, and the one libkiln
 * makes before it hands out an executable.
 *
 * One implementation, compiled twice: to LLVM bitcode that codegen links
 * into every generated module for the build machine's platform (as for
 * rt_pool.c), and into libkiln itself. Both read the same table below, so
 * the artifact and the loader cannot disagree on what a name means.
 *
 * A feature set is a uint64_t mask, bit i = feature i of RT_CPU_FEATURES.
 * The list holds the features LLVM's x86 backend may use in code it
 * generates on its own (vectorised loops, scalar bit tricks); features only
 * reachable through intrinsics the kernels never call (AES, SHA, AMX, ...)
 * are left out, so an artifact is not refused for lacking them.
 *
 * Columns: enum suffix, LLVM's feature name, cpuid leaf, subleaf, register
 * (0 EAX, 1 EBX, 2 ECX, 3 EDX), bit, and the XCR0 bits the OS must have
 * enabled for the registers the feature uses (0x6: XMM+YMM state, AVX;
 * 0xe6: also opmask and ZMM state, AVX-512).
 *
 * On other architectures rt_cpu_host_features returns RT_CPU_UNKNOWN and
 * nothing is checked (the callers say so).
 */
#ifndef KILN_RUNTIME_RT_CPU_H
#define KILN_RUNTIME_RT_CPU_H

#include <stddef.h>
#include <stdint.h>

#define RT_CPU_FEATURES(X)                                  \
  X(CX16, "cx16", 1, 0, 2, 13, 0)                           \
  X(SAHF, "sahf", 0x80000001u, 0, 2, 0, 0)                  \
  X(POPCNT, "popcnt", 1, 0, 2, 23, 0)                       \
  X(SSE3, "sse3", 1, 0, 2, 0, 0)                            \
  X(SSSE3, "ssse3", 1, 0, 2, 9, 0)                          \
  X(SSE4_1, "sse4.1", 1, 0, 2, 19, 0)                       \
  X(SSE4_2, "sse4.2", 1, 0, 2, 20, 0)                       \
  X(MOVBE, "movbe", 1, 0, 2, 22, 0)                         \
  X(AVX, "avx", 1, 0, 2, 28, 0x6)                           \
  X(AVX2, "avx2", 7, 0, 1, 5, 0x6)                          \
  X(FMA, "fma", 1, 0, 2, 12, 0x6)                           \
  X(F16C, "f16c", 1, 0, 2, 29, 0x6)                         \
  X(BMI, "bmi", 7, 0, 1, 3, 0)                              \
  X(BMI2, "bmi2", 7, 0, 1, 8, 0)                            \
  X(LZCNT, "lzcnt", 0x80000001u, 0, 2, 5, 0)                \
  X(AVX512F, "avx512f", 7, 0, 1, 16, 0xe6)                  \
  X(AVX512CD, "avx512cd", 7, 0, 1, 28, 0xe6)                \
  X(AVX512BW, "avx512bw", 7, 0, 1, 30, 0xe6)                \
  X(AVX512DQ, "avx512dq", 7, 0, 1, 17, 0xe6)                \
  X(AVX512VL, "avx512vl", 7, 0, 1, 31, 0xe6)                \
  X(AVX512VNNI, "avx512vnni", 7, 0, 2, 11, 0xe6)            \
  X(AVX512BF16, "avx512bf16", 7, 1, 0, 5, 0xe6)             \
  X(AVX512FP16, "avx512fp16", 7, 0, 3, 23, 0xe6)            \
  X(AVX512IFMA, "avx512ifma", 7, 0, 1, 21, 0xe6)            \
  X(AVX512VBMI, "avx512vbmi", 7, 0, 2, 1, 0xe6)             \
  X(AVX512VBMI2, "avx512vbmi2", 7, 0, 2, 6, 0xe6)           \
  X(AVX512BITALG, "avx512bitalg", 7, 0, 2, 12, 0xe6)        \
  X(AVX512VPOPCNTDQ, "avx512vpopcntdq", 7, 0, 2, 14, 0xe6)  \
  X(AVXVNNI, "avxvnni", 7, 1, 0, 4, 0x6)                    \
  X(GFNI, "gfni", 7, 0, 2, 8, 0)

enum {
#define RT_CPU_ENUM(e, name, leaf, sub, reg, bit, xcr0) RT_CPU_##e,
  RT_CPU_FEATURES(RT_CPU_ENUM)
#undef RT_CPU_ENUM
  RT_CPU_NFEATURES
};

/* Returned by rt_cpu_host_features where cpuid does not exist. */
#define RT_CPU_UNKNOWN (~(uint64_t)0)

/* The features of this CPU that are usable (cpuid says so and, for AVX
 * and AVX-512, the OS saves the registers). Computed once and cached in an
 * atomic (callers on several threads compute the same value; no race). */
uint64_t rt_cpu_host_features(void);

/* LLVM's name of feature i (0 <= i < RT_CPU_NFEATURES), else NULL. */
const char *rt_cpu_feature_name(int i);

/* Writes the names of the features of `required` that `have` lacks, as
 * "avx512f, avx512bw", NUL-terminated, cut to fit `cap` bytes (buf may be
 * NULL when cap is 0). Returns the length of the whole text (0: none
 * missing), like snprintf. */
size_t rt_cpu_missing_text(uint64_t required, uint64_t have, char *buf, size_t cap);

/* The mask of a feature string as LLVM spells it ("+avx2,+fma,-avx512f"):
 * the '+' entries found in the table ('-' entries and names the table does
 * not hold add nothing). *unknown counts the '+' names not in the table. */
uint64_t rt_cpu_parse(const char *list, int *unknown);

#endif
