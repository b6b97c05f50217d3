/*
 * Targets and the LLVM pipeline around the generator: resolving the
 * target (host by default, any triple/CPU/features by option), picking its
 * backend (cg_backends.c) and asking it to describe the target
 * (cg_target_describe) or set up the module, choosing the target machine,
 * building the module (cg_build_module), the optimisation pipeline, and
 * emission of LLVM IR text, assembly or object bytes. A cg_output is a host
 * module plus the device images the backend adds (none on CPU).
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
#include "codegen/cg_backend.h"
#include "ir/symbolic.h"

struct cg_output {
  LLVMContextRef llc;
  LLVMOrcThreadSafeContextRef tsc; /* JIT: owns llc (NULL: llc is our own) */
  LLVMModuleRef mod;
  LLVMTargetMachineRef tm;
  char *triple;
  bool host;
  int opt_level;
  size_t workspace;
  cg_images images; /* device code beside the host module (none on CPU) */
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
  cg_images_free(&out->images);
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

/* The user's request resolved against the host: the normalized triple in
 * *triple (LLVM's string), the host's CPU and features when none were
 * given (LLVM's strings in *hcpu, *hfeat); the LLVM target in *target.
 * False after reporting an unknown triple. */
static bool resolve_target(const char *utriple, const char *ucpu, const char *ufeatures, cg_target_req *r,
                           LLVMTargetRef *target, char **triple, char **hcpu, char **hfeat, diag *d) {
  pthread_once(&init_once, init_llvm);
  memset(r, 0, sizeof *r);
  *hcpu = *hfeat = NULL;
  char *host = LLVMGetDefaultTargetTriple();
  *triple = LLVMNormalizeTargetTriple(utriple ? utriple : host);
  char *err = NULL;
  bool ok = true;
  if (LLVMGetTargetFromTriple(*triple, target, &err)) {
    diag_error(d, "unknown target '%s': %s", utriple ? utriple : *triple, err ? err : "");
    ok = false;
  }
  if (err) LLVMDisposeMessage(err);
  if (ok) {
    r->triple = *triple;
    r->host = !utriple || cg_same_platform(host, *triple);
    r->user_cpu = ucpu != NULL;
    r->user_features = ufeatures != NULL;
    r->llvm_target = LLVMGetTargetName(*target);
    const char *cpu = ucpu, *features = ufeatures;
    if (!cpu) {
      if (r->host) {
        *hcpu = LLVMGetHostCPUName();
        cpu = *hcpu;
        if (!features) {
          *hfeat = LLVMGetHostCPUFeatures();
          features = *hfeat;
        }
      } else {
        cpu = "generic";
      }
    }
    r->cpu = cpu;
    r->features = features ? features : "";
  }
  LLVMDisposeMessage(host);
  return ok;
}

static void free_resolved(char *triple, char *hcpu, char *hfeat) {
  if (hcpu) LLVMDisposeMessage(hcpu);
  if (hfeat) LLVMDisposeMessage(hfeat);
  if (triple) LLVMDisposeMessage(triple);
}

bool cg_target_describe(const char *triple, const char *cpu, const char *features, ir_target *t, diag *d) {
  cg_target_req r;
  LLVMTargetRef target;
  char *ntriple, *hcpu, *hfeat;
  bool ok = resolve_target(triple, cpu, features, &r, &target, &ntriple, &hcpu, &hfeat, d);
  if (ok) ok = cg_backend_for(r.triple)->describe(&r, t, d);
  free_resolved(ntriple, hcpu, hfeat);
  return ok;
}

cg_output *cg_lower(const ir_module *m, const cg_options *o, diag *d) {
  const char *why;
  if (!cg_name_valid(o->name, &why)) {
    diag_error(d, "invalid artifact name '%s': %s", o->name ? o->name : "", why);
    return NULL;
  }
  cg_output *out = calloc(1, sizeof *out);
  if (!out) {
    diag_error(d, "out of memory");
    return NULL;
  }
  out->d = d;
  out->opt_level = o->opt_level;
  cg_target_req r;
  LLVMTargetRef target;
  char *triple, *hcpu, *hfeat;
  cg_ctx c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.o = o;
  c.d = d;
  bool ok = resolve_target(o->triple, o->cpu, o->features, &r, &target, &triple, &hcpu, &hfeat, d);
  if (ok) {
    out->triple = dupstr(triple);
    out->host = r.host;
    if (!out->triple) {
      diag_error(d, "out of memory");
      ok = false;
    }
  }
  if (ok) {
    c.backend = cg_backend_for(triple);
    cg_tm_req tm = {0};
    ok = c.backend->setup(&c, &r, &tm);
    if (ok) {
      out->tm = make_tm(target, triple, tm.cpu, tm.features, o->opt_level, tm.check_names, d);
      ok = out->tm != NULL;
      if (!ok && !d->errors) diag_error(d, "cannot create a target machine for %s (cpu '%s')", triple, r.cpu);
    }
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
    ok = c.backend->module_init(&c, &r);
    out->mod = c.mod;
  }
  if (ok) {
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(out->tm);
    LLVMSetModuleDataLayout(c.mod, td);
    c.td = td;
    ok = cg_build_module(&c, &out->workspace);
    LLVMDisposeTargetData(td);
    c.td = NULL;
  }
  if (ok) ok = c.backend->finish(&c);
  if (ok) ok = c.backend->device_images(&c, &out->images);
  if (ok) {
    char *msg = NULL;
    if (LLVMVerifyModule(c.mod, LLVMReturnStatusAction, &msg)) {
      diag_error(d, "internal error: the generated LLVM module is invalid: %.2000s", msg ? msg : "");
      ok = false;
    }
    if (msg) LLVMDisposeMessage(msg);
  }
  if (c.backend) c.backend->destroy(&c);
  if (c.b) LLVMDisposeBuilder(c.b);
  for (uint32_t i = 0; i < c.nkfns; i++) free(c.kfns[i].key);
  free(c.kfns);
  free(c.consts);
  free_resolved(triple, hcpu, hfeat);
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
size_t cg_output_num_images(const cg_output *out) { return out->images.n; }
const char *cg_output_image_name(const cg_output *out, size_t i) { return out->images.v[i].name; }
const char *cg_output_image_kind(const cg_output *out, size_t i) { return out->images.v[i].kind; }
const void *cg_output_image_bytes(const cg_output *out, size_t i, size_t *len) {
  *len = out->images.v[i].len;
  return out->images.v[i].bytes;
}
bool cg_output_is_host(const cg_output *out) { return out->host; }
size_t cg_output_workspace_size(const cg_output *out) { return out->workspace; }
