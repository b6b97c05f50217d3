/*
 * CPU feature detection with cpuid and xgetbv (see rt_cpu.h).
 *
 * This file goes into LLVM bitcode linked into every artifact, so it calls
 * no library function at all (no snprintf, no strlen): it must run before
 * anything else an artifact does, on any x86-64 CPU, and it is compiled for
 * the x86-64 baseline (no -march), so it never itself needs a feature it
 * is about to check.
 */
#include "runtime/rt_cpu.h"

#include <stdatomic.h>
#include <stdbool.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define RT_CPU_X86 1
#endif

typedef struct feature {
  const char *name;
  unsigned leaf, sub, reg, bit, xcr0;
} feature;

static const feature table[RT_CPU_NFEATURES] = {
#define RT_CPU_ROW(e, name, leaf, sub, reg, bit, xcr0) {name, leaf, sub, reg, bit, xcr0},
    RT_CPU_FEATURES(RT_CPU_ROW)
#undef RT_CPU_ROW
};

/* Bit 63 is never a feature (RT_CPU_NFEATURES < 63): it marks "computed". */
#define COMPUTED ((uint64_t)1 << 63)
static _Atomic uint64_t cached;

#ifdef RT_CPU_X86
static uint64_t detect(void) {
  unsigned max = __get_cpuid_max(0, 0), maxext = __get_cpuid_max(0x80000000u, 0);
  unsigned r1[4] = {0}, r70[4] = {0}, r71[4] = {0}, rx1[4] = {0};
  if (max >= 1) __cpuid_count(1, 0, r1[0], r1[1], r1[2], r1[3]);
  if (max >= 7) {
    __cpuid_count(7, 0, r70[0], r70[1], r70[2], r70[3]);
    if (r70[0] >= 1) __cpuid_count(7, 1, r71[0], r71[1], r71[2], r71[3]);
  }
  if (maxext >= 0x80000001u) __cpuid_count(0x80000001u, 0, rx1[0], rx1[1], rx1[2], rx1[3]);
  /* XCR0 says which register states the OS saves on a context switch;
   * xgetbv exists only when the OS set CR4.OSXSAVE (cpuid 1, ECX bit 27). */
  uint64_t xcr0 = 0;
  if (r1[2] >> 27 & 1) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (uint64_t)hi << 32 | lo;
  }
  uint64_t have = 0;
  for (int i = 0; i < RT_CPU_NFEATURES; i++) {
    const feature *f = &table[i];
    const unsigned *r = f->leaf == 1 ? r1 : f->leaf == 7 ? (f->sub ? r71 : r70) : rx1;
    if ((r[f->reg] >> f->bit & 1) && (xcr0 & f->xcr0) == f->xcr0) have |= (uint64_t)1 << i;
  }
  return have;
}
#else
static uint64_t detect(void) { return RT_CPU_UNKNOWN & ~COMPUTED; }
#endif

uint64_t rt_cpu_host_features(void) {
  uint64_t v = atomic_load_explicit(&cached, memory_order_relaxed);
  if (!(v & COMPUTED)) {
    v = detect() | COMPUTED;
    atomic_store_explicit(&cached, v, memory_order_relaxed);
  }
#ifdef RT_CPU_X86
  return v & ~COMPUTED;
#else
  return RT_CPU_UNKNOWN;
#endif
}

const char *rt_cpu_feature_name(int i) { return i >= 0 && i < RT_CPU_NFEATURES ? table[i].name : 0; }

size_t rt_cpu_missing_text(uint64_t required, uint64_t have, char *buf, size_t cap) {
  size_t n = 0;
  for (int i = 0; i < RT_CPU_NFEATURES; i++) {
    if (!(required >> i & 1) || (have >> i & 1)) continue;
    const char *s = n ? ", " : "";
    for (int pass = 0; pass < 2; pass++, s = table[i].name)
      for (; *s; s++, n++)
        if (n + 1 < cap) buf[n] = *s;
  }
  if (cap) buf[n < cap ? n : cap - 1] = 0;
  return n;
}

static bool same_name(const char *a, const char *b, unsigned long n) {
  for (unsigned long i = 0; i < n; i++)
    if (a[i] != b[i] || !b[i]) return false;
  return b[n] == 0;
}

uint64_t rt_cpu_parse(const char *list, int *unknown) {
  uint64_t m = 0;
  int bad = 0;
  for (const char *p = list; p && *p;) {
    const char *e = p;
    while (*e && *e != ',') e++;
    if (*p == '+') {
      int found = -1;
      for (int i = 0; i < RT_CPU_NFEATURES && found < 0; i++)
        if (same_name(p + 1, table[i].name, (unsigned long)(e - p - 1))) found = i;
      if (found >= 0) m |= (uint64_t)1 << found;
      else bad++;
    }
    p = *e ? e + 1 : e;
  }
  if (unknown) *unknown = bad;
  return m;
}
