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
 *
 * Also the levels' side of the backend table: making a level current
 * (cg_set_level: function attributes, the level's ir_target, which the
 * kernels read their vector width and register tile from) and the
 * attributes of generated functions (cg_cpu_fn_attrs).
 */
#include <stdio.h>
#include <string.h>

#include "codegen/cpu/cg_cpu.h"
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

/* The register budgets of cg_gemm.c ("The tile"). */
void cg_cpu_describe_level(const char *triple, const char *cpu, const char *vec, bool prepack, ir_target *t) {
  memset(t, 0, sizeof *t);
  t->kind = IR_TARGET_CPU;
  snprintf(t->triple, sizeof t->triple, "%s", triple ? triple : "");
  snprintf(t->cpu, sizeof t->cpu, "%s", cpu ? cpu : "");
  const char *f = vec ? vec : "";
  bool x86 = triple && strncmp(triple, "x86_64", 6) == 0;
  bool arm = triple && strncmp(triple, "aarch64", 7) == 0;
  const char *isa;
  if (strstr(f, "+avx512f")) {
    isa = "avx512", t->vec_f32 = 16, t->vec_regs = 32, t->fma = true, t->gemm_mr = 14, t->gemm_nv = 2;
  } else if (strstr(f, "+avx2") && strstr(f, "+fma")) {
    isa = "avx2", t->vec_f32 = 8, t->vec_regs = 16, t->fma = true, t->gemm_mr = 6, t->gemm_nv = 2;
  } else if (arm) {
    isa = "neon", t->vec_f32 = 4, t->vec_regs = 32, t->fma = true, t->gemm_mr = 8, t->gemm_nv = 3;
  } else {
    isa = x86 ? "sse" : "generic", t->vec_f32 = 4, t->vec_regs = 16, t->fma = strstr(f, "+fma") != NULL;
    t->gemm_mr = 4, t->gemm_nv = 2;
  }
  snprintf(t->isa, sizeof t->isa, "%s", isa);
  t->gemm_min_macs = 8192;
  t->prepack_weights = prepack;
  t->conv_layout = IR_CONV_NCHW;
}

void cg_set_level(cg_ctx *c, int i) {
  cg_cpu_state *s = cg_cpu(c);
  const cg_level *l = &s->levels[i];
  s->cpu = l->cpu;
  s->features = l->features;
  s->vec_features = l->need.x86 ? l->need.text : l->features;
  s->prefer512 = strstr(s->vec_features, "+avx512f") != NULL;
  memset(s->sort_fns, 0, sizeof s->sort_fns); /* functions of another level have other attributes */
  cg_cpu_describe_level(s->triple, l->cpu, s->vec_features, !s->portable, &c->target);
}

static void str_attr(cg_ctx *c, LLVMValueRef fn, const char *k, const char *v) {
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(c->llc, k, (unsigned)strlen(k), v, (unsigned)strlen(v)));
}

void cg_cpu_fn_attrs(cg_ctx *c, LLVMValueRef fn, bool baseline) {
  const cg_cpu_state *s = cg_cpu(c);
  unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
  if (!baseline || !s->levels[0].need.x86) {
    str_attr(c, fn, "target-cpu", s->cpu);
    if (s->features && s->features[0]) str_attr(c, fn, "target-features", s->features);
    if (s->prefer512) str_attr(c, fn, "prefer-vector-width", "512");
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->llc, nounwind, 0));
    return;
  }
  /* Both attributes: without "target-features" a function gets the target
   * machine's feature string (the host's, by default), AVX included. */
  static const char k[] = "target-cpu", v[] = "x86-64", fk[] = "target-features", fv[] = "+cx8,+fxsr,+sse,+sse2,+x87";
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(c->llc, k, sizeof k - 1, v, sizeof v - 1));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(c->llc, fk, sizeof fk - 1, fv, sizeof fv - 1));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->llc, nounwind, 0));
}
