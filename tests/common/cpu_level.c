/* x86-64 micro-architecture levels against this machine (see cpu_level.h),
 * through the runtime's own check (runtime/rt_cpu.c: cpuid, and XGETBV
 * for the AVX and AVX-512 register state), so the tests and the artifacts
 * cannot disagree about what a CPU has. */
#include "tests/common/cpu_level.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "runtime/rt_cpu.h"

/* What each psABI level adds (x86-64-psABI, "Micro-architecture levels"),
 * as the runtime's table names the features; the baseline's (SSE2, CMOV,
 * ...) every x86-64 CPU has. */
static const char *const level_names[] = {"x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4"};
static const char *const level_adds[] = {
    "",
    "+cx16,+sahf,+popcnt,+sse3,+ssse3,+sse4.1,+sse4.2",
    "+avx,+avx2,+bmi,+bmi2,+f16c,+fma,+lzcnt,+movbe",
    "+avx512f,+avx512bw,+avx512cd,+avx512dq,+avx512vl",
};

int tu_cpu_level_runs(const char *cpu, char *why, size_t n) {
  int level = -1;
  for (int i = 0; i < 4; i++)
    if (cpu && !strcmp(cpu, level_names[i])) level = i;
  if (level < 0) {
    snprintf(why, n, "'%s' is not an x86-64 level this check knows (x86-64, x86-64-v2, x86-64-v3, x86-64-v4)",
             cpu ? cpu : "(null)");
    return -1;
  }
  uint64_t have = rt_cpu_host_features();
  if (have == RT_CPU_UNKNOWN) {
    snprintf(why, n, "this machine is not x86-64");
    return 0;
  }
  uint64_t need = 0;
  for (int i = 0; i <= level; i++) {
    int unknown = 0;
    need |= rt_cpu_parse(level_adds[i], &unknown);
  }
  char list[400];
  if (rt_cpu_missing_text(need, have, list, sizeof list) == 0) {
    if (n) why[0] = 0;
    return 1;
  }
  snprintf(why, n, "this CPU lacks %s (or the OS does not enable its registers)", list);
  return 0;
}
