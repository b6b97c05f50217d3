/*
 * Targets and the LLVM pipeline around the generator: choosing the target
 * machine (host by default, any triple/CPU/features by option), building
 * the module (cg_build_module), the optimisation pipeline, and emission of
 * LLVM IR text, assembly or object bytes.
 *
 * LLVM prints a warning to stderr (and carries on) for a CPU or feature it
 * does not know, and library code must not print: a user-given CPU or
 * feature string is therefore checked against the names LLVM knows
 * (cg_llvm_names.c) before the target machine is created.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen/cg_llvm_names.h"
#include "codegen/cg_internal.h"

struct cg_output {
  LLVMContextRef llc;
  LLVMOrcThreadSafeContextRef tsc; /* JIT: owns llc (NULL: llc is our own) */
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  char *triple;
  bool host;
  int opt_level;
  size_t workspace;
  diag *d; /* where LLVM's own diagnostics go while out is in use */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_llvm(void) {
  LLVMInitializeAllTargetInfos();
  LLVMInitializeAllTargets();
  LLVMInitializeAllTargetMCs();
  LLVMInitializeAllAsmPrinters();
  LLVMInitializeAllAsmParsers();
}

/* LLVM's errors and warnings go to the caller's sink. Its remarks and notes
 * do not: the C API's handler receives every optimisation remark LLVM
 * makes (hundreds of "<unknown>:0:0: loop not vectorized" for one model),
 * unfiltered by the -pass-remarks options that would normally select them,
 * and their text names neither a kernel nor a place, since the generated
 * code has no debug locations. kiln's own remarks say what it decided. */
static void llvm_diag(LLVMDiagnosticInfoRef di, void *user) {
  cg_output *out = user;
  LLVMDiagnosticSeverity sev = LLVMGetDiagInfoSeverity(di);
  if (!out->d || (sev != LLVMDSError && sev != LLVMDSWarning)) return;
  char *msg = LLVMGetDiagInfoDescription(di);
  diag_emit(out->d, sev == LLVMDSError ? DIAG_ERROR : DIAG_WARNING, "LLVM: %s", msg);
  LLVMDisposeMessage(msg);
}

/* Creates the target machine; with `check`, first refuses a CPU or feature
 * name LLVM does not know (cg_llvm_names.c), for which LLVM would only print a
 * warning on stderr and carry on. */
static LLVMTargetMachineRef make_tm(LLVMTargetRef t, const char *triple, const char *cpu, const char *features,
                                    int opt, bool check, diag *d) {
  LLVMCodeGenOptLevel lv = opt <= 0 ? LLVMCodeGenLevelNone : opt == 1 ? LLVMCodeGenLevelLess
                           : opt == 2 ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelAggressive;
  if (check && !cg_check_llvm_names(LLVMGetTargetName(t), cpu, features, d)) return NULL;
  return LLVMCreateTargetMachine(t, triple, cpu, features, lv, LLVMRelocPIC, LLVMCodeModelDefault);
}

void cg_output_destroy(cg_output *out) {
  if (!out) return;
  if (out->mod) LLVMDisposeModule(out->mod);
  if (out->tm) LLVMDisposeTargetMachine(out->tm);
  if (out->tsc) LLVMOrcDisposeThreadSafeContext(out->tsc);
  else if (out->llc) LLVMContextDispose(out->llc);
  free(out->triple);
  free(out);
}

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *r = malloc(n);
  if (r) memcpy(r, s, n);
  return r;
}

bool cg_name_valid(const char *s, const char **why) {
  static const char *const reserved[] = {"artifact", "executable"};
  if (!s || !*s) {
    *why = "it is empty";
    return false;
  }
  if (strlen(s) > 64) {
    *why = "it is longer than 64 characters";
    return false;
  }
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_')) {
    *why = "it must start with a letter or '_'";
    return false;
  }
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_')) {
      *why = "it may hold only letters, digits and '_'";
      return false;
    }
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(s, reserved[i]) == 0) {
      *why = "kiln_artifact_* and kiln_executable_* are libkiln's own functions";
      return false;
    }
  return true;
}

cg_output *cg_lower(const ir_module *m, const cg_options *o, diag *d) {
  const char *why;
  if (!cg_name_valid(o->name, &why)) {
    diag_error(d, "invalid artifact name '%s': %s", o->name ? o->name : "", why);
    return NULL;
  }
  pthread_once(&init_once, init_llvm);
  cg_output *out = calloc(1, sizeof *out);
  if (!out) {
    diag_error(d, "out of memory");
    return NULL;
  }
  out->d = d;
  out->opt_level = o->opt_level;
  char *host = LLVMGetDefaultTargetTriple();
  char *triple = LLVMNormalizeTargetTriple(o->triple ? o->triple : host);
  out->triple = dupstr(triple);
  char *err = NULL;
  LLVMTargetRef target;
  char *hcpu = NULL, *hfeat = NULL;
  static const char *const levels_portable[3] = {"x86-64-v2", "x86-64-v3", "x86-64-v4"};
  cg_level levels[3];
  int nlevels = 1;
  memset(levels, 0, sizeof levels);
  cg_ctx c;
  memset(&c, 0, sizeof c);
  bool ok = out->triple != NULL;
  if (!ok) diag_error(d, "out of memory");
  if (ok && LLVMGetTargetFromTriple(triple, &target, &err)) {
    diag_error(d, "unknown target '%s': %s", o->triple ? o->triple : triple, err ? err : "");
    ok = false;
  }
  if (err) LLVMDisposeMessage(err);
  if (ok) {
    out->host = !o->triple || cg_same_platform(host, triple);
    const char *cpu = o->cpu, *features = o->features;
    if (!cpu) {
      if (out->host) {
        hcpu = LLVMGetHostCPUName();
        cpu = hcpu;
        if (!features) {
          hfeat = LLVMGetHostCPUFeatures();
          features = hfeat;
        }
      } else {
        cpu = "generic";
      }
    }
    if (!features) features = "";
    /* --cpu=portable: kernels for each x86-64 level in one module; the
     * target machine (data layout, pipeline) is the lowest level's, and
     * each function's attributes name its own level. */
    bool portable = o->cpu && strcmp(o->cpu, CG_CPU_PORTABLE) == 0;
    if (portable && (strncmp(triple, "x86_64", 6) != 0 || features[0])) {
      diag_error(d, "--cpu=%s builds x86-64-v2, -v3 and -v4 kernels for an x86_64 target; it takes no --features%s%s",
                 CG_CPU_PORTABLE, strncmp(triple, "x86_64", 6) != 0 ? " and not the target " : "",
                 strncmp(triple, "x86_64", 6) != 0 ? triple : "");
      ok = false;
    }
    if (ok) {
      out->tm = make_tm(target, triple, portable ? levels_portable[0] : cpu, features, o->opt_level,
                        (o->cpu && !portable) || o->features, d);
      ok = out->tm != NULL;
      if (!ok && !d->errors) diag_error(d, "cannot create a target machine for %s (cpu '%s')", triple, cpu);
    }
    nlevels = portable ? 3 : 1;
    for (int i = 0; ok && i < nlevels; i++) {
      levels[i].cpu = portable ? levels_portable[i] : cpu;
      levels[i].features = portable ? "" : features;
      ok = cg_cpu_features(triple, levels[i].cpu, levels[i].features, !portable && !o->cpu && !o->features && out->host,
                           &levels[i].need, d);
    }
    c.levels = levels;
    c.nlevels = nlevels;
    c.portable = c.no_prepack = portable;
    if (ok) cg_set_level(&c, 0);
  }
  if (ok) {
    /* ORC takes modules built in a thread-safe context (its own LLVMContext). */
    if (o->jit) {
      out->tsc = LLVMOrcCreateNewThreadSafeContext();
      out->llc = LLVMOrcThreadSafeContextGetContext(out->tsc);
    } else {
      out->llc = LLVMContextCreate();
    }
    LLVMContextSetDiagnosticHandler(out->llc, llvm_diag, out);
    c.m = m;
    c.o = o;
    c.d = d;
    c.llc = out->llc;
    c.b = LLVMCreateBuilderInContext(c.llc);
    c.t_void = LLVMVoidTypeInContext(c.llc);
    c.t_i1 = LLVMInt1TypeInContext(c.llc);
    c.t_i8 = LLVMInt8TypeInContext(c.llc);
    c.t_i16 = LLVMInt16TypeInContext(c.llc);
    c.t_i32 = LLVMInt32TypeInContext(c.llc);
    c.t_i64 = LLVMInt64TypeInContext(c.llc);
    c.t_half = LLVMHalfTypeInContext(c.llc);
    c.t_f32 = LLVMFloatTypeInContext(c.llc);
    c.t_f64 = LLVMDoubleTypeInContext(c.llc);
    c.t_ptr = LLVMPointerTypeInContext(c.llc, 0);
    LLVMTypeRef task_args[3] = {c.t_ptr, c.t_i64, c.t_i64};
    c.t_task = LLVMFunctionType(c.t_void, task_args, 3, 0);
    LLVMTypeRef pfor_args[4] = {c.t_ptr, c.t_ptr, c.t_i64, c.t_i64};
    c.t_pfor = LLVMFunctionType(c.t_void, pfor_args, 4, 0);
    ok = cg_runtime_module(&c, triple);
    out->mod = c.mod;
    if (ok && levels[0].need.x86 && !c.fn_cpu_host)
      diag_emit(d, DIAG_NOTE,
                "the code for %s cannot check the CPU's features before it runs (the check is built for this "
                "machine's platform only); it needs %s",
                triple, levels[0].need.text[0] ? levels[0].need.text : "no optional feature");
    else if (ok && !levels[0].need.x86 && (o->cpu || o->features))
      diag_emit(d, DIAG_NOTE, "CPU features are only recorded and checked for x86-64; code for %s does not check them",
                triple);
  }
  if (ok) {
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(out->tm);
    LLVMSetModuleDataLayout(c.mod, td);
    c.td = td;
    ok = cg_build_module(&c, &out->workspace);
    LLVMDisposeTargetData(td);
    c.td = NULL;
  }
  if (ok) {
    cg_runtime_internalize(&c);
    if (o->jit) ok = cg_jit_prepare(&c);
  }
  if (ok) {
    char *msg = NULL;
    if (LLVMVerifyModule(c.mod, LLVMReturnStatusAction, &msg)) {
      diag_error(d, "internal error: the generated LLVM module is invalid: %.2000s", msg ? msg : "");
      ok = false;
    }
    if (msg) LLVMDisposeMessage(msg);
  }
  if (c.b) LLVMDisposeBuilder(c.b);
  for (uint32_t i = 0; i < c.nkfns; i++) free(c.kfns[i].key);
  free(c.kfns);
  free(c.consts);
  if (hcpu) LLVMDisposeMessage(hcpu);
  if (hfeat) LLVMDisposeMessage(hfeat);
  LLVMDisposeMessage(host);
  LLVMDisposeMessage(triple);
  if (!ok) {
    cg_output_destroy(out);
    return NULL;
  }
  return out;
}

bool cg_optimize(cg_output *out, diag *d) {
  out->d = d;
  char pipeline[32];
  snprintf(pipeline, sizeof pipeline, "default<O%d>", out->opt_level < 0 ? 0 : out->opt_level > 3 ? 3 : out->opt_level);
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  LLVMErrorRef e = LLVMRunPasses(out->mod, pipeline, out->tm, po);
  LLVMDisposePassBuilderOptions(po);
  if (e) {
    char *msg = LLVMGetErrorMessage(e);
    diag_error(d, "LLVM optimisation failed: %s", msg);
    LLVMDisposeErrorMessage(msg);
    return false;
  }
  return true;
}

char *cg_print_llvm(cg_output *out, size_t *len) {
  char *s = LLVMPrintModuleToString(out->mod);
  if (!s) return NULL;
  char *r = dupstr(s);
  LLVMDisposeMessage(s);
  if (r && len) *len = strlen(r);
  return r;
}

bool cg_emit(cg_output *out, bool asm_text, void **data, size_t *len, diag *d) {
  out->d = d;
  char *err = NULL;
  LLVMMemoryBufferRef mb = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(out->tm, out->mod, asm_text ? LLVMAssemblyFile : LLVMObjectFile, &err, &mb)) {
    diag_error(d, "LLVM could not emit %s for %s: %s", asm_text ? "assembly" : "an object", out->triple, err ? err : "");
    if (err) LLVMDisposeMessage(err);
    return false;
  }
  size_t n = LLVMGetBufferSize(mb);
  char *r = malloc(n + 1);
  if (r) {
    memcpy(r, LLVMGetBufferStart(mb), n);
    r[n] = 0;
  }
  LLVMDisposeMemoryBuffer(mb);
  if (!r) {
    diag_error(d, "out of memory");
    return false;
  }
  *data = r;
  *len = n;
  return true;
}

bool cg_output_take(cg_output *out, LLVMModuleRef *mod, LLVMOrcThreadSafeContextRef *tsc, LLVMTargetMachineRef *tm) {
  if (!out->tsc || !out->mod || !out->tm) return false;
  *mod = out->mod;
  *tsc = out->tsc;
  *tm = out->tm;
  out->mod = NULL;
  out->tsc = NULL;
  out->llc = NULL;
  out->tm = NULL;
  return true;
}

const char *cg_output_triple(const cg_output *out) { return out->triple; }
bool cg_output_is_host(const cg_output *out) { return out->host; }
size_t cg_output_workspace_size(const cg_output *out) { return out->workspace; }
