/*
 * The runtime inside every generated module.
 *
 * runtime/rt_pool.c is compiled at kiln build time to LLVM bitcode for the
 * build machine's triple (codegen/meson.build) and embedded in libkiln as a
 * byte array (cg_runtime_bc, generated). A module for that architecture and
 * OS starts as a parse of those bytes, so the pool is part of the module
 * (for the AOT .so and the JIT alike) and becomes internal to it.
 *
 * For any other target (cross compiling), or when kiln was built without
 * clang-19, the bitcode cannot be used (its pthread types are laid out for
 * the build machine): the module gets serial stand-ins with the same
 * signatures instead, and the artifact runs on the calling thread only.
 *
 * The JIT (codegen/cg_jit.c): ORC's C API runs no static destructors, so a
 * module built for it gets CG_JIT_SHUTDOWN instead of the pool's
 * destructor (cg_cpu_jit_prepare), which cg_jit_destroy calls.
 */
#include <stdio.h>
#include <string.h>

#include <llvm-c/BitReader.h>
#include <llvm-c/Linker.h>

#include "codegen/cpu/cg_cpu.h"

extern const unsigned char cg_runtime_bc[];
extern const size_t cg_runtime_bc_len;
/* runtime/rt_cpu.c: the CPU feature check, linked into x86-64 modules that
 * have the pool (same platform), so the generated run can check first. */
extern const unsigned char cg_rtcpu_bc[];
extern const size_t cg_rtcpu_bc_len;

static void link_cpu_check(cg_ctx *c, const char *triple) {
  cg_cpu_state *s = cg_cpu(c);
  if (!s->have_pool || cg_rtcpu_bc_len == 0 || strncmp(triple, "x86_64", 6) != 0) return;
  LLVMMemoryBufferRef mb =
      LLVMCreateMemoryBufferWithMemoryRange((const char *)cg_rtcpu_bc, cg_rtcpu_bc_len, "kiln-rtcpu", 0);
  LLVMModuleRef m = NULL;
  bool parsed = mb && !LLVMParseBitcodeInContext2(c->llc, mb, &m);
  if (mb) LLVMDisposeMemoryBuffer(mb);
  /* LLVMLinkModules2 consumes m either way; on failure there is no check
   * (the caller notes it). */
  if (!parsed || LLVMLinkModules2(c->mod, m)) return;
  s->fn_cpu_host = LLVMGetNamedFunction(c->mod, "rt_cpu_host_features");
  s->fn_cpu_missing = LLVMGetNamedFunction(c->mod, "rt_cpu_missing_text");
  if (!s->fn_cpu_host || !s->fn_cpu_missing) s->fn_cpu_host = s->fn_cpu_missing = NULL;
}

/* Serial stand-ins: rt_parallel_for calls fn(args, 0, n). */
static void serial_runtime(cg_ctx *c) {
  LLVMTypeRef pf_args[4] = {c->t_ptr, c->t_ptr, c->t_i64, c->t_i64};
  LLVMValueRef pf = LLVMAddFunction(c->mod, "rt_parallel_for", LLVMFunctionType(c->t_void, pf_args, 4, 0));
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, pf, "entry"));
  LLVMValueRef a[3] = {LLVMGetParam(pf, 1), cg_i64(c, 0), LLVMGetParam(pf, 2)};
  LLVMBuildCall2(c->b, cg_cpu(c)->t_task, LLVMGetParam(pf, 0), a, 3, "");
  LLVMBuildRetVoid(c->b);
  LLVMValueRef st = LLVMAddFunction(c->mod, "rt_set_num_threads", LLVMFunctionType(c->t_void, &c->t_i32, 1, 0));
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, st, "entry"));
  LLVMBuildRetVoid(c->b);
  LLVMValueRef nt = LLVMAddFunction(c->mod, "rt_num_threads", LLVMFunctionType(c->t_i32, NULL, 0, 0));
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, nt, "entry"));
  LLVMBuildRet(c->b, cg_i32(c, 1));
  cg_fn_attrs(c, pf);
  cg_fn_attrs(c, st);
  cg_fn_attrs(c, nt);
}

bool cg_runtime_module(cg_ctx *c, const char *triple) {
  cg_cpu_state *s = cg_cpu(c);
  c->mod = NULL;
  s->have_pool = false;
  if (cg_runtime_bc_len > 0) {
    LLVMMemoryBufferRef mb =
        LLVMCreateMemoryBufferWithMemoryRange((const char *)cg_runtime_bc, cg_runtime_bc_len, "kiln-runtime", 0);
    LLVMModuleRef m = NULL;
    if (mb && !LLVMParseBitcodeInContext2(c->llc, mb, &m)) {
      if (cg_same_platform(LLVMGetTarget(m), triple)) {
        c->mod = m;
        s->have_pool = true;
      } else {
        LLVMDisposeModule(m);
      }
    }
    if (mb) LLVMDisposeMemoryBuffer(mb);
  }
  if (!c->mod) {
    c->mod = LLVMModuleCreateWithNameInContext("kiln", c->llc);
    if (!c->mod) return cg_fail(c, "out of memory");
  }
  /* No build paths or temp names in the output: fixed identifiers. */
  const char *name = c->o->name;
  LLVMSetModuleIdentifier(c->mod, name, strlen(name));
  char src[256];
  snprintf(src, sizeof src, "%s.kir", name);
  LLVMSetSourceFileName(c->mod, src, strlen(src));
  LLVMSetTarget(c->mod, triple);
  if (!s->have_pool) serial_runtime(c);
  link_cpu_check(c, triple);
  s->fn_pfor = LLVMGetNamedFunction(c->mod, "rt_parallel_for");
  s->fn_set_threads = LLVMGetNamedFunction(c->mod, "rt_set_num_threads");
  s->fn_num_threads = LLVMGetNamedFunction(c->mod, "rt_num_threads");
  if (!s->fn_pfor || !s->fn_set_threads || !s->fn_num_threads)
    return cg_fail(c, "internal: the embedded runtime lacks rt_parallel_for / rt_set_num_threads / rt_num_threads");
  if (!s->have_pool && cg_runtime_bc_len > 0)
    diag_emit(c->d, DIAG_NOTE, "the thread pool is only built for this machine's platform; code for %s will run single-threaded",
              triple);
  return true;
}

static bool is_exported(const char *name) { return strncmp(name, "kiln_", 5) == 0; }

void cg_runtime_internalize(cg_ctx *c) {
  for (LLVMValueRef f = LLVMGetFirstFunction(c->mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    size_t n;
    const char *name = LLVMGetValueName2(f, &n);
    if (!is_exported(name)) {
      LLVMSetLinkage(f, LLVMInternalLinkage);
      LLVMSetVisibility(f, LLVMDefaultVisibility);
    }
  }
  for (LLVMValueRef g = LLVMGetFirstGlobal(c->mod); g; g = LLVMGetNextGlobal(g)) {
    if (LLVMIsDeclaration(g)) continue;
    size_t n;
    const char *name = LLVMGetValueName2(g, &n);
    if (strncmp(name, "llvm.", 5) == 0) continue;
    LLVMLinkage l = LLVMGetLinkage(g);
    if (l != LLVMPrivateLinkage && l != LLVMInternalLinkage) {
      LLVMSetLinkage(g, LLVMInternalLinkage);
      LLVMSetVisibility(g, LLVMDefaultVisibility);
    }
  }
}

bool cg_cpu_jit_prepare(cg_ctx *c) {
  const cg_cpu_state *s = cg_cpu(c);
  LLVMValueRef dtors = LLVMGetNamedGlobal(c->mod, "llvm.global_dtors");
  if (dtors) LLVMDeleteGlobal(dtors);
  LLVMValueRef fn = LLVMAddFunction(c->mod, CG_JIT_SHUTDOWN, LLVMFunctionType(c->t_void, NULL, 0, 0));
  cg_fn_attrs(c, fn);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, fn, "entry"));
  LLVMValueRef stop = s->have_pool ? LLVMGetNamedFunction(c->mod, "rt_pool_shutdown") : NULL;
  if (s->have_pool && !stop) return cg_fail(c, "internal: the embedded runtime lacks rt_pool_shutdown");
  if (stop) LLVMBuildCall2(c->b, LLVMGlobalGetValueType(stop), stop, NULL, 0, "");
  LLVMBuildRetVoid(c->b);
  return true;
}
