/*
 * Which CPU features generated code needs: the list every artifact records
 * and checks before it runs a kernel (runtime/rt_cpu.h has the features
 * and the check; docs/codegen.md, "CPU features").
 *
 * The features needed are those of the target machine the code is made
 * for, restricted to what the runtime can check:
 *   - the host default (no --cpu, no --features): LLVMGetHostCPUFeatures;
 *   - --cpu NAME: what LLVM implies from the name. The C API cannot say,
 *     so cg_x86_cpus.inc (generated from clang-19's -march macros by
 *     cg_x86_cpus.py, checked in) holds it per name; a name it lacks is
 *     refused rather than recorded as needing less than it does;
 *   - --features: '+x' adds x and what x implies in LLVM (avx512bw ->
 *     avx512f -> avx2, fma, f16c -> avx -> sse4.2 ...); '-x' removes x and
 *     everything that implies x.
 * Recording more than the code uses only makes the check stricter, never
 * unsafe, so implications are closed over generously.
 *
 * Other architectures record nothing (no check; the caller notes it).
 */
#include <stdio.h>
#include <string.h>

#include "codegen/cg_internal.h"
#include "runtime/rt_cpu.h"

typedef struct cpu_row {
  const char *name, *features;
} cpu_row;

static const cpu_row cpus[] = {
#include "codegen/cpu/cg_x86_cpus.inc"
};

/* Direct implications of LLVM's x86 feature graph (X86.td) among the
 * checked features, plus AVX10 (which turns AVX-512 on) as a source. */
static const struct {
  const char *feature, *implies;
} implies[] = {
    {"ssse3", "+sse3"},
    {"sse4.1", "+ssse3"},
    {"sse4.2", "+sse4.1"},
    {"avx", "+sse4.2"},
    {"avx2", "+avx"},
    {"fma", "+avx"},
    {"f16c", "+avx"},
    {"avxvnni", "+avx2"},
    {"avx512f", "+avx2,+fma,+f16c"},
    {"avx512cd", "+avx512f"},
    {"avx512bw", "+avx512f"},
    {"avx512dq", "+avx512f"},
    {"avx512vl", "+avx512f"},
    {"avx512vnni", "+avx512f"},
    {"avx512ifma", "+avx512f"},
    {"avx512vpopcntdq", "+avx512f"},
    {"avx512bf16", "+avx512bw"},
    {"avx512vbmi", "+avx512bw"},
    {"avx512vbmi2", "+avx512bw"},
    {"avx512bitalg", "+avx512bw"},
    {"avx512fp16", "+avx512bw,+avx512dq,+avx512vl"},
    {"avx10.1-256", "+avx512f,+avx512cd,+avx512bw,+avx512dq,+avx512vl,+avx512vnni,+avx512ifma,+avx512vpopcntdq,"
                    "+avx512bf16,+avx512vbmi,+avx512vbmi2,+avx512bitalg,+avx512fp16"},
    {"avx10.1-512", "+avx10.1-256"},
};

static uint64_t one(const char *name, size_t n) {
  char buf[64];
  if (n + 2 > sizeof buf) return 0;
  buf[0] = '+';
  memcpy(buf + 1, name, n);
  buf[n + 1] = 0;
  return rt_cpu_parse(buf, NULL);
}

/* The mask of `name` (n bytes) with everything it implies. */
static uint64_t closure(const char *name, size_t n, int depth) {
  uint64_t m = one(name, n);
  if (depth > 16) return m;
  for (size_t i = 0; i < sizeof implies / sizeof implies[0]; i++) {
    if (strlen(implies[i].feature) != n || memcmp(implies[i].feature, name, n) != 0) continue;
    for (const char *p = implies[i].implies; *p;) {
      const char *e = strchr(p, ',');
      size_t len = e ? (size_t)(e - p) : strlen(p);
      m |= closure(p + 1, len - 1, depth + 1);
      p = e ? e + 1 : p + len;
    }
  }
  return m;
}

static void render(uint64_t need, char *text, size_t cap) {
  size_t n = 0;
  text[0] = 0;
  for (int i = 0; i < RT_CPU_NFEATURES; i++)
    if (need >> i & 1) {
      int w = snprintf(text + n, cap - n, "%s+%s", n ? "," : "", rt_cpu_feature_name(i));
      if (w < 0 || (size_t)w >= cap - n) break;
      n += (size_t)w;
    }
}

const char *cg_cpu_table_features(const char *cpu) {
  for (size_t i = 0; cpu && i < sizeof cpus / sizeof cpus[0]; i++)
    if (strcmp(cpus[i].name, cpu) == 0) return cpus[i].features;
  return NULL;
}

bool cg_cpu_features(const char *triple, const char *cpu, const char *features, bool host_default, cg_cpu_need *out,
                     diag *d) {
  memset(out, 0, sizeof *out);
  if (strncmp(triple, "x86_64", 6) != 0) return true;
  out->x86 = true;
  uint64_t m;
  if (host_default) {
    m = rt_cpu_parse(features, NULL); /* LLVM's host list is already closed over implications */
  } else {
    const char *base = cg_cpu_table_features(cpu);
    if (!base) {
      diag_error(d,
                 "cpu '%s': kiln cannot tell which instruction-set features it implies, so the artifact could "
                 "not check them before running; use a current name (e.g. x86-64-v3, skylake-avx512, znver3; "
                 "`llc-19 -mtriple=x86_64 -mcpu=help` lists LLVM's) or leave --cpu out for this machine",
                 cpu);
      return false;
    }
    m = rt_cpu_parse(base, NULL);
    for (const char *p = features ? features : ""; *p;) {
      const char *e = strchr(p, ',');
      size_t len = e ? (size_t)(e - p) : strlen(p);
      if (len > 1 && p[0] == '+') m |= closure(p + 1, len - 1, 0);
      else if (len > 1 && p[0] == '-') {
        uint64_t gone = closure(p + 1, len - 1, 0) & one(p + 1, len - 1);
        /* Every feature whose closure holds the removed one goes too. */
        for (int i = 0; gone && i < RT_CPU_NFEATURES; i++) {
          const char *fi = rt_cpu_feature_name(i);
          if (closure(fi, strlen(fi), 0) & gone) m &= ~((uint64_t)1 << i);
        }
      }
      p = e ? e + 1 : p + len;
    }
  }
  out->need = m;
  render(m, out->text, sizeof out->text);
  return true;
}

void cg_set_level(cg_ctx *c, int i) {
  const cg_level *l = &c->levels[i];
  c->cpu = l->cpu;
  c->features = l->features;
  c->vec_features = l->need.x86 ? l->need.text : l->features;
  c->prefer512 = strstr(c->vec_features, "+avx512f") != NULL;
}

void cg_fn_attrs_baseline(cg_ctx *c, LLVMValueRef fn) {
  if (!c->levels[0].need.x86) {
    cg_fn_attrs(c, fn);
    return;
  }
  /* Both attributes: without "target-features" a function gets the target
   * machine's feature string (the host's, by default), AVX included. */
  static const char k[] = "target-cpu", v[] = "x86-64", fk[] = "target-features", fv[] = "+cx8,+fxsr,+sse,+sse2,+x87";
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(c->llc, k, sizeof k - 1, v, sizeof v - 1));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(c->llc, fk, sizeof fk - 1, fv, sizeof fv - 1));
  unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->llc, nounwind, 0));
}
