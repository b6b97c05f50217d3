/*
 * The CPU backend's own declarations (codegen/cpu/): its per-compilation
 * state, hung off cg_ctx.be, and the functions its files share. The shared
 * core never includes this header; it reaches the CPU backend only through
 * the table cg_cpu_backend (cpu_backend.c, registered in cg_backends.c).
 */
#ifndef KILN_CODEGEN_CPU_CG_CPU_H
#define KILN_CODEGEN_CPU_CG_CPU_H

#include "codegen/cg_backend.h"

/* ---- cg_cpu.c: the CPU features code needs ------------------------------- */

typedef struct cg_cpu_need {
  bool x86;       /* x86-64: `need` is meaningful and can be checked */
  uint64_t need;  /* runtime/rt_cpu.h mask */
  char text[768]; /* the same as "+sse3,+avx2,..." */
} cg_cpu_need;

/* One target level of a module. */
typedef struct cg_level {
  const char *cpu, *features; /* function attributes */
  cg_cpu_need need;
} cg_level;

/* Per-compilation state of the CPU backend (cg_ctx.be). */
typedef struct cg_cpu_state {
  const char *cpu, *features; /* function attributes of the current level */
  bool prefer512;
  bool have_pool; /* the runtime bitcode (thread pool) is in the module */
  /* The features the code of the current level may use, as "+a,+b": what
   * codegen decisions (vector width, register tile) follow. On x86-64 the
   * closed list of cg_cpu.c (so --cpu NAME alone gives NAME's vectors);
   * elsewhere the feature string as given. */
  const char *vec_features;
  /* Levels: one, or for --cpu=portable x86-64-v2, -v3, -v4. */
  struct cg_level levels[3];
  bool portable;  /* --cpu=portable: GEMM weights are not prepacked (every level reads one copy) */
  char *hcpu, *hfeat; /* LLVM's host answers, owned */
  const char *triple; /* normalized; valid during cg_lower */
  LLVMValueRef fn_cpu_host, fn_cpu_missing; /* runtime/rt_cpu.c in the module; NULL: no check possible */
  LLVMTypeRef t_task;       /* void(ptr, i64, i64) */
  LLVMTypeRef t_pfor;       /* void(ptr, ptr, i64, i64) */
  LLVMValueRef fn_pfor, fn_set_threads, fn_num_threads;
  LLVMValueRef sort_fns[3][2]; /* [key kind][descending] */
} cg_cpu_state;

static inline cg_cpu_state *cg_cpu(const cg_ctx *c) { return (cg_cpu_state *)c->be; }

/* ---- cg_loop.c: loop kernels and the task ABI -------------------------- */

/* The task wrapper of a body: void(ptr args, i64 lo, i64 hi), what the run
 * function and rt_parallel_for call (cpu_backend.c). */
LLVMValueRef cg_kernel_task(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body);
/* The loop kernel of any root cg_elem can compute (cg_loop.c). */
bool cg_loop_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out);

/* ---- cg_gemm.c: dot and convolution as packed, register-tiled GEMM -------- */

/* Whether d's root is a dot or convolution (the hero), or an epilogue over
 * exactly one: everything in the kernel that depends on the hero is
 * elementwise with the hero's dims and type. Sets *hero. */
bool cg_epilogue_hero(const cg_kdesc *d, ir_id *hero);
/* Whether the root of d goes through the GEMM path; its key suffix (which
 * operands are constants packed at compile time) in *tag. */
bool cg_gemm_applies(cg_ctx *c, const cg_kdesc *d, unsigned *tag);
bool cg_gemm_kernel(cg_ctx *c, const cg_kdesc *d, cg_launch *out);
/* f32 lanes of the target's vector registers (16 AVX-512, 8 AVX2+FMA, else 4). */
int cg_target_vw(const cg_ctx *c);

/* ---- cg_conv.c: convolutions by output rows ------------------------------- */

bool cg_conv_rows_applies(const cg_kdesc *d);
bool cg_conv_rows_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out);

/* ---- cg_dwconv.c: depthwise convolutions, one plane at a time ------------ */

bool cg_conv_dw_applies(const cg_ctx *c, const cg_kdesc *d);
bool cg_conv_dw_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out);

/* ---- cg_sort.c: kernels that are not loops over an output ---------------- */

bool cg_sort_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out, int64_t *scratch);
bool cg_scatter_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out);

/* ---- cg_cpu.c ---------------------------------------------------------- */

/* The features code for (triple, cpu, features) needs; host_default: cpu
 * and features are LLVM's host answers. False (reported) for an x86-64 CPU
 * name whose features kiln cannot tell. */
bool cg_cpu_features(const char *triple, const char *cpu, const char *features, bool host_default, cg_cpu_need *out,
                     diag *d);
/* The features LLVM implies for an x86-64 CPU name ("+a,+b"), or NULL. */
const char *cg_cpu_table_features(const char *cpu);
/* Makes level i the current one: cpu, features, vec_features, prefer512,
 * c->target (the backend's set_level). */
void cg_set_level(cg_ctx *c, int i);
/* The description (ir/target.h) of code for triple that may use the
 * features `vec` ("+a,+b"), for the CPU named `cpu`: the register budgets
 * of cg_gemm.c. */
void cg_cpu_describe_level(const char *triple, const char *cpu, const char *vec, bool prepack, ir_target *t);
/* The backend's fn_attrs: target CPU/features of the current level, or for
 * baseline code on x86-64 the x86-64 baseline's. */
void cg_cpu_fn_attrs(cg_ctx *c, LLVMValueRef fn, bool baseline);

/* ---- cg_runtime.c ------------------------------------------------------ */

/* Creates c->mod from the embedded runtime bitcode when it matches the
 * target (have_pool), else an empty module with serial stand-ins. */
bool cg_runtime_module(cg_ctx *c, const char *triple);
/* Gives the runtime's functions and globals internal linkage. */
void cg_runtime_internalize(cg_ctx *c);
/* Builds a module for the JIT (after internalizing): drops the runtime's
 * static destructor (ORC's C API runs none) and adds CG_JIT_SHUTDOWN,
 * which does what it did. */
bool cg_cpu_jit_prepare(cg_ctx *c);

/* ---- cpu_backend.c ------------------------------------------------------ */

extern const cg_backend cg_cpu_backend;

/* ---- cg_dyngemm.c: dot with run-time M, N and K (symbolic modules) -------- */

/* Whether d (symbolic) is an f32 dot, or an epilogue over one, that the
 * run-time GEMM takes (any extent symbolic; the packed GEMM is asked
 * first); cg_dyngemm_kernel emits its body. */
bool cg_dyngemm_applies(cg_ctx *c, const cg_kdesc *d);
bool cg_dyngemm_kernel(cg_ctx *c, const cg_kdesc *d, LLVMValueRef body, cg_phase *out);

#endif
