/* x86-64 micro-architecture levels against this machine (see cpu_level.h). */
#include "tests/common/cpu_level.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

/* One feature a level needs: where cpuid reports it. reg: 0 eax, 1 ebx,
 * 2 ecx, 3 edx. */
typedef struct feature {
  const char *name;
  unsigned leaf, sub, reg, bit;
} feature;

/* The psABI's lists (x86-64-psABI, "Micro-architecture levels"), each
 * level adding to the one before. */
static const feature v1[] = {{"cmov", 1, 0, 3, 15}, {"cx8", 1, 0, 3, 8},   {"fpu", 1, 0, 3, 0},
                             {"fxsr", 1, 0, 3, 24}, {"mmx", 1, 0, 3, 23},  {"sse", 1, 0, 3, 25},
                             {"sse2", 1, 0, 3, 26}, {NULL, 0, 0, 0, 0}};
static const feature v2[] = {{"cx16", 1, 0, 2, 13},   {"lahf_lm", 0x80000001u, 0, 2, 0}, {"popcnt", 1, 0, 2, 23},
                             {"sse3", 1, 0, 2, 0},    {"sse4_1", 1, 0, 2, 19},           {"sse4_2", 1, 0, 2, 20},
                             {"ssse3", 1, 0, 2, 9},   {NULL, 0, 0, 0, 0}};
static const feature v3[] = {{"avx", 1, 0, 2, 28},  {"avx2", 7, 0, 1, 5},  {"bmi1", 7, 0, 1, 3},
                             {"bmi2", 7, 0, 1, 8},  {"f16c", 1, 0, 2, 29}, {"fma", 1, 0, 2, 12},
                             {"lzcnt", 0x80000001u, 0, 2, 5}, {"movbe", 1, 0, 2, 22}, {"xsave", 1, 0, 2, 26},
                             {NULL, 0, 0, 0, 0}};
static const feature v4[] = {{"avx512f", 7, 0, 1, 16},  {"avx512bw", 7, 0, 1, 30}, {"avx512cd", 7, 0, 1, 28},
                             {"avx512dq", 7, 0, 1, 17}, {"avx512vl", 7, 0, 1, 31}, {NULL, 0, 0, 0, 0}};

static bool has(const feature *f) {
  unsigned r[4] = {0, 0, 0, 0};
  unsigned max = __get_cpuid_max(f->leaf & 0x80000000u, NULL);
  if (max < f->leaf) return false;
  __cpuid_count(f->leaf, f->sub, r[0], r[1], r[2], r[3]);
  return (r[f->reg] >> f->bit) & 1u;
}

/* The register state the OS saves and restores (XCR0); 0 when the OS
 * does not enable xgetbv. */
static uint64_t xcr0(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 27) & 1u)) return 0; /* OSXSAVE */
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t)hi << 32 | lo;
}

/* Appends the names of f's missing features to why. */
static void missing(const feature *f, char *why, size_t n, size_t *len) {
  for (; f->name; f++)
    if (!has(f) && *len < n) {
      int k = snprintf(why + *len, n - *len, "%s%s", *len ? " " : "", f->name);
      if (k > 0) *len += (size_t)k;
    }
}

int tu_cpu_level_runs(const char *cpu, char *why, size_t n) {
  static const char *const names[] = {"x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"};
  static const feature *const lists[] = {v1, v2, v3, v4};
  int level = -1;
  for (int i = 0; i < 4; i++)
    if (cpu && !strcmp(cpu, names[i])) level = i;
  if (level < 0) {
    snprintf(why, n, "'%s' is not an x86-64 level this check knows (x86-64, x86-64-v2, x86-64-v3, x86-64-v4)",
             cpu ? cpu : "(null)");
    return -1;
  }
  char list[400];
  size_t len = 0;
  list[0] = 0;
  for (int i = 0; i <= level; i++) missing(lists[i], list, sizeof list, &len);
  uint64_t x = xcr0();
  /* AVX needs the OS to save the SSE and AVX halves (XCR0 bits 1, 2);
   * AVX-512 also the opmask and upper ZMM state (bits 5, 6, 7). */
  /* Only worth saying when the processor has the instructions. */
  if (level >= 2 && len == 0 && (x & 0x6) != 0x6) {
    int k = snprintf(list + len, sizeof list - len, "%sAVX state (not enabled by the OS)", len ? " " : "");
    if (k > 0) len += (size_t)k;
  }
  if (level >= 3 && len == 0 && (x & 0xe6) != 0xe6) {
    int k = snprintf(list + len, sizeof list - len, "%sAVX-512 state (not enabled by the OS)", len ? " " : "");
    if (k > 0) len += (size_t)k;
  }
  if (len) snprintf(why, n, "this CPU lacks %s", list);
  else if (n) why[0] = 0;
  return len == 0;
}

#else

int tu_cpu_level_runs(const char *cpu, char *why, size_t n) {
  (void)cpu;
  snprintf(why, n, "this machine is not x86-64");
  return 0;
}

#endif
