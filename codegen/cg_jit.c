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
 *
 * Perf map (perf_map on): perf names samples in anonymous executable
 * memory from /tmp/perf-PID.map ("START SIZE NAME", hex). ORC's C API
 * reports no addresses of internal functions (kernels are internal), so:
 *   - an object transform reads the object ORC is about to link: each
 *     symbol with a size in a .text* section (offset in its section, size);
 *   - the linker (JITLink or RTDyld) keeps each section one contiguous
 *     block, so after compiling, looking up an exported function of a
 *     section (an "anchor": the module's externally visible definitions)
 *     gives the section's load address, hence every symbol's address;
 *   - the lines are appended to the map, one write() each (O_APPEND: lines
 *     of several executables and threads never interleave).
 * A section without an anchor, or whose anchors disagree, is left out
 * (with a warning) rather than written with guessed addresses. With
 * perf_map off no transform is installed: nothing differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Object.h>

#include "codegen/cg_internal.h"

/* A function symbol of the JIT'd object, for the perf map. */
typedef struct jit_sym {
  char *name;
  int section;     /* index into cg_jit.sections */
  uint64_t offset; /* in its section */
  uint64_t size;
  bool anchor;     /* exported: its address can be looked up */
} jit_sym;

struct cg_jit {
  LLVMOrcLLJITRef jit;
  void (*shutdown)(void);
  diag *d; /* where the session's errors go while compiling; NULL after */
  /* Perf map, while compiling only (freed once the map is written). */
  char **anchors; /* names of the module's exported definitions */
  int nanchors;
  jit_sym *syms;
  int nsyms, capsyms;
  const void **sections; /* identity of each section: its contents in the object */
  int nsections, capsections;
  bool perf_oom;         /* a symbol could not be recorded */
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

/* ---- perf map ---- */

static void perf_free(cg_jit *j) {
  for (int i = 0; i < j->nanchors; i++) free(j->anchors[i]);
  for (int i = 0; i < j->nsyms; i++) free(j->syms[i].name);
  free(j->anchors);
  free(j->syms);
  free(j->sections);
  j->anchors = NULL;
  j->syms = NULL;
  j->sections = NULL;
  j->nanchors = j->nsyms = j->capsyms = j->nsections = j->capsections = 0;
}

/* Records the names of mod's exported function definitions (the anchors),
 * before ORC takes the module. False when out of memory. */
static bool perf_collect_anchors(cg_jit *j, LLVMModuleRef mod) {
  int n = 0;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) n++;
  j->anchors = calloc((size_t)n + 1, sizeof *j->anchors);
  if (!j->anchors) return false;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    LLVMLinkage l = LLVMGetLinkage(f);
    if (LLVMIsDeclaration(f) || (l != LLVMExternalLinkage && l != LLVMWeakAnyLinkage && l != LLVMWeakODRLinkage))
      continue;
    size_t len;
    const char *name = LLVMGetValueName2(f, &len);
    if (!(j->anchors[j->nanchors] = strdup(name))) return false;
    j->nanchors++;
  }
  return true;
}

/* The index of the section whose contents start at `id`, added if new; -1
 * when out of memory. */
static int perf_section(cg_jit *j, const void *id) {
  for (int i = 0; i < j->nsections; i++)
    if (j->sections[i] == id) return i;
  if (j->nsections == j->capsections) {
    int cap = j->capsections ? 2 * j->capsections : 8;
    const void **v = realloc(j->sections, (size_t)cap * sizeof *v);
    if (!v) return -1;
    j->sections = v;
    j->capsections = cap;
  }
  j->sections[j->nsections] = id;
  return j->nsections++;
}

static bool perf_add(cg_jit *j, const char *name, int section, uint64_t offset, uint64_t size) {
  if (j->nsyms == j->capsyms) {
    int cap = j->capsyms ? 2 * j->capsyms : 32;
    jit_sym *v = realloc(j->syms, (size_t)cap * sizeof *v);
    if (!v) return false;
    j->syms = v;
    j->capsyms = cap;
  }
  jit_sym *s = &j->syms[j->nsyms];
  if (!(s->name = strdup(name))) return false;
  s->section = section;
  s->offset = offset;
  s->size = size;
  s->anchor = false;
  for (int i = 0; i < j->nanchors; i++)
    if (strcmp(j->anchors[i], name) == 0) s->anchor = true;
  j->nsyms++;
  return true;
}

/* The object transform: records the object's function symbols and hands
 * the object on unchanged. Never fails the compilation: a perf map is an
 * aid, so problems become warnings in cg_jit_create. */
static LLVMErrorRef perf_read_object(void *user, LLVMMemoryBufferRef *obj) {
  cg_jit *j = user;
  char *msg = NULL;
  LLVMBinaryRef bin = LLVMCreateBinary(*obj, NULL, &msg); /* borrows the buffer */
  if (!bin) {
    if (j->d) diag_emit(j->d, DIAG_WARNING, "perf map: cannot read the JIT's object: %s", msg ? msg : "?");
    LLVMDisposeMessage(msg);
    return NULL;
  }
  LLVMSectionIteratorRef sec = LLVMObjectFileCopySectionIterator(bin);
  LLVMSymbolIteratorRef sym = LLVMObjectFileCopySymbolIterator(bin);
  /* The object's own name prefix (ELF: none), not part of IR names. */
  char prefix = LLVMOrcLLJITGetGlobalPrefix(j->jit);
  for (; !LLVMObjectFileIsSymbolIteratorAtEnd(bin, sym); LLVMMoveToNextSymbol(sym)) {
    uint64_t size = LLVMGetSymbolSize(sym);
    const char *name = LLVMGetSymbolName(sym);
    if (size == 0 || !name || !*name) continue; /* section and file symbols, labels */
    LLVMMoveToContainingSection(sec, sym);
    if (LLVMObjectFileIsSectionIteratorAtEnd(bin, sec)) continue; /* undefined or absolute */
    const char *sname = LLVMGetSectionName(sec);
    if (!sname || strncmp(sname, ".text", 5) != 0) continue; /* data */
    if (prefix && name[0] == prefix) name++;
    int si = perf_section(j, LLVMGetSectionContents(sec));
    if (si < 0 || !perf_add(j, name, si, LLVMGetSymbolAddress(sym), size)) j->perf_oom = true;
  }
  LLVMDisposeSymbolIterator(sym);
  LLVMDisposeSectionIterator(sec);
  LLVMDisposeBinary(bin);
  return NULL;
}

/* Load address of each section (UINT64_MAX: unknown) from its anchors;
 * false after a warning when anchors disagree (the layout assumption
 * failed). */
static bool perf_section_bases(cg_jit *j, uint64_t *base, diag *d) {
  for (int i = 0; i < j->nsections; i++) base[i] = UINT64_MAX;
  for (int i = 0; i < j->nsyms; i++) {
    const jit_sym *s = &j->syms[i];
    if (!s->anchor) continue;
    LLVMOrcExecutorAddress a = 0;
    LLVMErrorRef e = LLVMOrcLLJITLookup(j->jit, &a, s->name);
    if (e) {
      LLVMConsumeError(e);
      continue;
    }
    uint64_t b = (uint64_t)a - s->offset;
    if (base[s->section] != UINT64_MAX && base[s->section] != b) {
      diag_emit(d, DIAG_WARNING, "perf map: the JIT did not keep a code section in one piece (%s); no map written",
                s->name);
      return false;
    }
    base[s->section] = b;
  }
  return true;
}

/* Appends the map lines of the compiled module to /tmp/perf-PID.map.
 * Problems are warnings: the code itself is fine. */
static void perf_write(cg_jit *j, diag *d) {
  if (j->perf_oom) {
    diag_emit(d, DIAG_WARNING, "perf map: out of memory; no map written");
    return;
  }
  uint64_t *base = malloc(((size_t)j->nsections + 1) * sizeof *base);
  if (!base) {
    diag_emit(d, DIAG_WARNING, "perf map: out of memory; no map written");
    return;
  }
  if (!perf_section_bases(j, base, d)) {
    free(base);
    return;
  }
  char path[64];
  snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)getpid());
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    diag_emit(d, DIAG_WARNING, "perf map: cannot open %s: %s", path, strerror(errno));
    free(base);
    return;
  }
  int missing = 0;
  for (int i = 0; i < j->nsyms; i++) {
    const jit_sym *s = &j->syms[i];
    if (base[s->section] == UINT64_MAX) {
      missing++;
      continue;
    }
    char line[512];
    int n = snprintf(line, sizeof line, "%" PRIx64 " %" PRIx64 " %s\n", base[s->section] + s->offset, s->size, s->name);
    if (n < 0 || (size_t)n >= sizeof line) continue; /* a name too long to be useful */
    if (write(fd, line, (size_t)n) != n) {
      diag_emit(d, DIAG_WARNING, "perf map: cannot write %s: %s", path, strerror(errno));
      break;
    }
  }
  if (missing)
    diag_emit(d, DIAG_WARNING, "perf map: %d functions in code sections without an exported function are left out",
              missing);
  close(fd);
  free(base);
}

void cg_jit_destroy(cg_jit *j) {
  if (!j) return;
  if (j->shutdown) j->shutdown();
  if (j->jit) {
    LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->jit);
    if (e) LLVMConsumeError(e); /* nothing left to tell anyone: the code is gone either way */
  }
  perf_free(j);
  free(j);
}

cg_jit *cg_jit_create(cg_output *out, bool perf_map, diag *d) {
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
  if (ok && perf_map) {
    if (!perf_collect_anchors(j, mod)) j->perf_oom = true;
    LLVMOrcObjectTransformLayerSetTransform(LLVMOrcLLJITGetObjTransformLayer(j->jit), perf_read_object, j);
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
  if (ok && perf_map) perf_write(j, d);
  if (j) perf_free(j);
  if (j) j->d = NULL;
  if (!ok) {
    cg_jit_destroy(j);
    return NULL;
  }
  return j;
}
