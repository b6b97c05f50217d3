/*
 * The JIT: the module cg_lower built (and cg_optimize optimised) compiled
 * into this process by an ORC LLJIT instance instead of being written to
 * an object file. Everything before this point is shared with the AOT
 * path, so JIT'd code is the code the .so would hold.
 *
 * One LLJIT instance per compiled module: each has its own JITDylib, so
 * every module's symbols (kiln_artifact_info, the runtime's statics, the
 * thread pool) are separate, and destroying it frees exactly its code.
 *
 * Steps (docs/codegen.md, "The JIT"):
 *   - cg_lower builds the module in an ORC thread-safe context (o->jit),
 *     and the backend's finish adds CG_JIT_SHUTDOWN (the CPU's:
 *     cpu/cg_runtime.c);
 *   - the target machine goes to the JIT's target machine builder (which
 *     consumes it), so the JIT generates code with the same triple, CPU,
 *     features, optimisation level and relocation model as AOT;
 *   - a process-symbols generator resolves what the code calls outside
 *     itself: libc (aligned_alloc, free, memcpy), libm (tanhf, erff, ...),
 *     pthreads, and custom_call targets the host program defines;
 *   - looking up the description forces the whole module to compile here,
 *     so compile errors surface in cg_jit_create, not at the first run.
 *
 * Shutdown: the runtime's thread pool lives in the JIT'd code. In a .so a
 * static destructor joins its workers at dlclose; ORC's C API runs no
 * static destructors, so the backend removes it and exports
 * CG_JIT_SHUTDOWN instead, which cg_jit_destroy calls before the code is
 * freed (workers must never run in unmapped code).
 */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>

#include "codegen/cg_internal.h"

struct cg_jit {
  LLVMOrcLLJITRef jit;
  void (*shutdown)(void);
  diag *d; /* where the session's errors go while compiling; NULL after */
};

/* Reports an LLVM error (consuming it); returns false. */
static bool fail_err(diag *d, const char *what, LLVMErrorRef e) {
  char *msg = LLVMGetErrorMessage(e);
  diag_error(d, "JIT: %s: %s", what, msg ? msg : "unknown error");
  LLVMDisposeErrorMessage(msg);
  return false;
}

/* ORC reports some errors (a symbol not found while linking) through the
 * session instead of the failing call, and by default prints them: they
 * go to the diagnostics sink instead (the failing lookup follows). */
static void report_session_error(void *user, LLVMErrorRef e) {
  cg_jit *j = user;
  char *msg = LLVMGetErrorMessage(e);
  if (j->d) {
    if (strstr(msg, "Symbols not found"))
      diag_error(j->d, "JIT: %s: the code calls functions this process does not define (a custom_call target must be "
                       "defined and exported by the program, e.g. linked with -rdynamic)", msg);
    else
      diag_error(j->d, "JIT: %s", msg);
  }
  LLVMDisposeErrorMessage(msg);
}

/* Function pointers from addresses: a data-to-function conversion, which
 * POSIX allows and C17 leaves to the implementation; memcpy avoids the
 * pedantic warning. */
static void *to_ptr(LLVMOrcExecutorAddress a) {
  void *p;
  uintptr_t u = (uintptr_t)a;
  memcpy(&p, &u, sizeof p);
  return p;
}

void *cg_jit_lookup(cg_jit *j, const char *name) {
  LLVMOrcExecutorAddress a = 0;
  LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &a, name);
  if (e) {
    LLVMConsumeError(e);
    return NULL;
  }
  return to_ptr(a);
}

void cg_jit_destroy(cg_jit *j) {
  if (!j) return;
  if (j->shutdown) j->shutdown();
  if (j->jit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->jit);
    if (e) LLVMConsumeError(e); /* nothing left to tell anyone: the code is gone either way */
  }
  free(j);
}

cg_jit *cg_jit_create(cg_output *out, diag *d) {
  LLVMModuleRef mod;
  LLVMOrcThreadSafeContextRef tsc;
  LLVMTargetMachineRef tm;
  if (!cg_output_take(out, &mod, &tsc, &tm)) {
    diag_error(d, "internal: the module was not built for the JIT");
    return NULL;
  }
  cg_jit *j = calloc(1, sizeof *j);
  LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
  /* The builder takes the JTMB, which took the target machine. */
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
  bool ok = j != NULL;
  if (!ok) {
    diag_error(d, "out of memory");
    LLVMOrcDisposeLLJITBuilder(b);
  }
  LLVMErrorRef e = NULL;
  if (ok && (e = LLVMOrcCreateLLJIT(&j->jit, b))) ok = fail_err(d, "cannot create the LLJIT instance", e);
  if (ok) {
    j->d = d;
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(j->jit), report_session_error, j);
  }
  LLVMOrcJITDylibRef jd = ok ? LLVMOrcLLJITGetMainJITDylib(j->jit) : NULL;
  if (ok) {
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL);
    if (e) ok = fail_err(d, "cannot resolve symbols of this process", e);
    else LLVMOrcJITDylibAddGenerator(jd, gen);
  }
  if (ok) {
    /* The thread-safe module shares the context; ours is released so the
     * context dies with the module once ORC has compiled it. */
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
    mod = NULL;
    if ((e = LLVMOrcLLJITAddLLVMIRModule(j->jit, jd, tsm))) ok = fail_err(d, "cannot add the module", e);
  }
  if (mod) LLVMDisposeModule(mod);
  LLVMOrcDisposeThreadSafeContext(tsc);
  if (ok) {
    /* Compiles everything now (one module is one unit). */
    LLVMOrcExecutorAddress a = 0;
    if ((e = LLVMOrcLLJITLookup(j->jit, &a, CG_JIT_SHUTDOWN))) ok = fail_err(d, "compilation failed", e);
    else {
      void *p = to_ptr(a);
      memcpy(&j->shutdown, &p, sizeof p);
    }
  }
  if (j) j->d = NULL;
  if (!ok) {
    cg_jit_destroy(j);
    return NULL;
  }
  return j;
}
