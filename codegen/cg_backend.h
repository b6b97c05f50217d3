/*
 * The backend interface: the one way the shared core of the code generator
 * (the cg_ files of codegen/) reaches a target. A backend is a table of
 * functions and a name (codegen/cpu/cpu_backend.c, gpu/gpu_backend.c); the core
 * gets the table for a triple from the registry (cg_backends.c, the only
 * core file that names a backend) and calls nothing of a backend's but
 * these entries. What a backend keeps per compilation hangs off cg_ctx.be,
 * which the core never dereferences.
 *
 *   cg_lower (cg_target.c)
 *     ├─ setup          check the options; the target machine's CPU/features
 *     ├─ module_init    c->mod (runtime bitcode), c->nlevels, level 0
 *     ├─ cg_build_module (cg_module.c), per level:
 *     │    set_level      c->target, attributes of the level's functions
 *     │    emit_kernel    one cg_kdesc: the kernel's functions and launch
 *     │    new_run        the level's run function
 *     │    emit_launch    one launch inside the run function
 *     │  then export_run (the exported kiln_NAME_run), artifact_fns
 *     │  (thread and CPU-check entry points for the metadata)
 *     ├─ finish         after the module is built (linkage, JIT hooks)
 *     ├─ device_images  artifact sections beside the host module
 *     └─ destroy        frees c->be
 *   fn_attrs and math_call are used by every step that makes a function or
 *   calls a math function (cg_fn_attrs, cg_call_math).
 *
 * Every entry reports errors through cg_fail (or diag for describe/setup,
 * before a cg_ctx exists) and returns false / NULL.
 */
#ifndef KILN_CODEGEN_CG_BACKEND_H
#define KILN_CODEGEN_CG_BACKEND_H

#include "codegen/cg_internal.h"

/* What the user asked for, resolved against the host (cg_target.c). */
typedef struct cg_target_req {
  const char *triple;   /* normalized */
  const char *cpu;      /* the host CPU, "generic", CG_CPU_PORTABLE or a user's name */
  const char *features; /* never NULL */
  bool host;            /* the triple is this machine's platform */
  bool user_cpu;        /* --cpu was given */
  bool user_features;   /* --features was given */
  const char *llvm_target; /* LLVM's name of the target (names checks) */
} cg_target_req;

/* What the target machine is created with (setup's answer). */
typedef struct cg_tm_req {
  const char *cpu, *features;
  bool check_names; /* check cpu/features against LLVM's names first */
} cg_tm_req;

/* The exported functions and strings of the artifact description that
 * depend on the target (include/kiln/artifact.h); NULL functions are
 * recorded as NULL. */
typedef struct cg_artifact_fns {
  LLVMValueRef set_threads, num_threads, missing_features, selected_cpu;
  const char *cpu;   /* the CPU name recorded */
  const char *needs; /* the features the code needs, as text */
} cg_artifact_fns;

typedef struct cg_backend {
  const char *name;
  /* Whether this backend generates code for the normalized triple. */
  bool (*serves)(const char *triple);
  /* Fills t for r (passes' view of the target). False after reporting. */
  bool (*describe)(const cg_target_req *r, ir_target *t, diag *d);
  /* Checks the request and says how to create the target machine; may
   * allocate c->be (c->d, c->o are set; no LLVM context yet). */
  bool (*setup)(cg_ctx *c, const cg_target_req *r, cg_tm_req *tm);
  /* Creates c->mod in c->llc for r->triple, sets c->nlevels (code variants
   * built one after the other) and makes level 0 current. */
  bool (*module_init)(cg_ctx *c, const cg_target_req *r);
  /* Makes level i current: c->target and the attributes of new functions. */
  void (*set_level)(cg_ctx *c, int i);
  /* Attributes of a generated function; `baseline`: code that must run on
   * any CPU of the architecture (checks before the kernels). */
  void (*fn_attrs)(cg_ctx *c, LLVMValueRef fn, bool baseline);
  /* A call of the math library function `name` (C name of the double
   * version, "f" appended by the caller for float) returning ret. */
  LLVMValueRef (*math_call)(cg_ctx *c, const char *name, LLVMTypeRef ret, LLVMValueRef *args, unsigned nargs);
  /* Generates (or reuses, through cg_kernel_lookup/cg_kernel_remember)
   * the kernel of d and fills its launch. */
  bool (*emit_kernel)(cg_ctx *c, const cg_kdesc *d, cg_launch *out);
  /* The run function (i32(ptr, ptr, ptr)) of the current level, empty. */
  LLVMValueRef (*new_run)(cg_ctx *c, LLVMTypeRef ty, int level);
  /* At the builder in a run function: runs launch l with the argument
   * array args (cg_launch in cg_internal.h). */
  void (*emit_launch)(cg_ctx *c, const cg_launch *l, LLVMValueRef args);
  /* The exported kiln_NAME_run given the levels' run functions. */
  LLVMValueRef (*export_run)(cg_ctx *c, LLVMValueRef *impl);
  /* The target-dependent entries of the artifact description. */
  bool (*artifact_fns)(cg_ctx *c, cg_artifact_fns *f);
  /* After the module is complete (before verification). */
  bool (*finish)(cg_ctx *c);
  /* Device code beside the host module (none on CPU). */
  bool (*device_images)(cg_ctx *c, cg_images *imgs);
  /* Frees c->be (may be NULL). */
  void (*destroy)(cg_ctx *c);
} cg_backend;

/* ---- cg_backends.c: the registry ---------------------------------------- */

/* The backend serving the normalized triple (the CPU backend for anything
 * the others do not claim). */
const cg_backend *cg_backend_for(const char *triple);

#endif
