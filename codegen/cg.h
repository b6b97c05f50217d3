/*
 * Code generation: the interface the API layer uses (api/compile.c). The
 * target's backend (docs/codegen.md, "Backends") is picked from the triple.
 *
 * Two separate steps, so that the same LLVM module can go to a file (AOT)
 * or to an ORC LLJIT instance (the JIT):
 *
 *   ir_module ──cg_lower──► cg_output (LLVM context + host module + target machine
 *                             │                 + device images, none on CPU)
 *                             │  cg_optimize (default<O3>)
 *                             ├─► cg_print_llvm / cg_emit (asm or object bytes)
 *                             └─► cg_jit_create (ORC LLJIT, in process; cg_jit.c)
 *   object bytes ──cg_link_shared──► .so   (external C compiler driver)
 *
 * Everything reports errors to a diag sink and never prints; an LLVM
 * context is created per compilation, so separate compilations may run on
 * separate threads. See docs/codegen.md for the design.
 */
#ifndef KILN_CODEGEN_CG_H
#define KILN_CODEGEN_CG_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/diag.h"
#include "ir/ir.h"
#include "ir/target.h"

/* --cpu value asking for one artifact with x86-64-v2, -v3 and -v4 kernels,
 * the best picked at run time by cpuid (docs/codegen.md). */
#define CG_CPU_PORTABLE "portable"

typedef struct cg_options {
  const char *name;     /* artifact name: a C identifier (kiln_<name>_run) */
  const char *triple;   /* NULL: the host's */
  const char *cpu;      /* NULL: the host CPU (host triple) or "generic" */
  const char *features; /* NULL: the host's features when cpu is NULL, else "" */
  int opt_level;        /* 0..3 */
  const char *source;   /* model file name recorded in metadata (no path); may be NULL */
  bool jit;             /* for cg_jit_create: build in an ORC thread-safe context, add the JIT's entry points */
  bool remarks;         /* report code generation decisions (GEMM tiles) as DIAG_REMARK */
  /* Instrumentation (docs/codegen.md, "Instrumentation"): trace hook calls
   * around each launch, the kernel table and kiln_NAME_set_trace. */
  bool instrument;
  /* Test-only fault: the launch of the entry instruction of this name adds
   * 1 to the first element of its first output. NULL: none; a name no
   * launch has is a compile error. */
  const char *perturb;
  /* Set (when not NULL) if the module was refused for needing what code
   * generation for symbolic dimensions does not support yet (the caller
   * may bind the shapes and compile a static copy instead). */
  bool *unsupported;
} cg_options;

typedef struct cg_output cg_output;

/* Describes the target of (triple, cpu, features) for passes (ir/target.h):
 * NULL triple/cpu/features mean the host's, as in cg_options. The backend
 * that serves the triple fills it in. False after reporting to d (unknown
 * triple or CPU name). */
bool cg_target_describe(const char *triple, const char *cpu, const char *features, ir_target *t, diag *d);

/* Builds the LLVM module of the entry computation of m (verified, shapes
 * static). Returns NULL after reporting to d. Caller owns the result. */
cg_output *cg_lower(const ir_module *m, const cg_options *o, diag *d);
void cg_output_destroy(cg_output *out);

/* Runs the optimisation pipeline for the options' opt level. */
bool cg_optimize(cg_output *out, diag *d);

/* The module as LLVM IR text (malloc'd, caller frees). */
char *cg_print_llvm(cg_output *out, size_t *len);

/* Assembly text (asm) or an ELF object (!asm) in a malloc'd buffer the
 * caller frees. Consumes nothing; may be called more than once. */
bool cg_emit(cg_output *out, bool asm_text, void **data, size_t *len, diag *d);

/* Facts about the compiled artifact (valid while out lives). */
const char *cg_output_triple(const cg_output *out);
bool cg_output_is_host(const cg_output *out);
size_t cg_output_workspace_size(const cg_output *out);

/* Device images: code the backend made beside the host module (a GPU's
 * kernels), i in [0, cg_output_num_images); none on CPU. Name, kind (e.g.
 * "ptx") and bytes stay owned by out. */
size_t cg_output_num_images(const cg_output *out);
const char *cg_output_image_name(const cg_output *out, size_t i);
const char *cg_output_image_kind(const cg_output *out, size_t i);
const void *cg_output_image_bytes(const cg_output *out, size_t i, size_t *len);

/* Links object bytes into a shared object at `so_path` with the C compiler
 * driver `linker` (NULL: "cc" for the host, "<triple>-gcc" otherwise).
 * Writes to a temporary file in the target folder and renames it, so a
 * failure leaves nothing behind. `host` says whether the target is the
 * host (picks the default driver). */
bool cg_link_shared(const void *obj, size_t len, const char *so_path, const char *triple, bool host,
                    const char *linker, diag *d);

/* The C header declaring the artifact's functions, with inputs and outputs
 * documented in comments. Returns a malloc'd string. */
char *cg_header_text(const ir_module *m, const cg_options *o, size_t workspace_size);

/* Writes data to path through a temporary file in the same folder and a
 * rename; `mode` is the file mode. On failure nothing is left behind. */
bool cg_write_file_atomic(const char *path, const void *data, size_t len, int mode, diag *d);

/* True if s is a valid artifact name (C identifier, not reserved). On
 * false, *why says what is wrong. */
bool cg_name_valid(const char *s, const char **why);

/* ---- JIT (cg_jit.c) ---- */

typedef struct cg_jit cg_jit;

/* Compiles the module of `out` (lowered with o->jit set, then optimised)
 * into this process with a new ORC LLJIT instance; everything is compiled
 * before it returns. Takes the module and target machine out of `out`
 * (destroy `out` afterwards as usual; it can no longer emit). Returns NULL
 * after reporting to d. Caller owns the result; free with cg_jit_destroy.
 * perf_map: also append the functions' addresses, sizes and names to
 * /tmp/perf-PID.map for perf (problems writing it are warnings). */
cg_jit *cg_jit_create(cg_output *out, bool perf_map, diag *d);
/* Address of a function or global of the compiled module; NULL if absent. */
void *cg_jit_lookup(cg_jit *j, const char *name);
/* Stops the module's thread pool (joins its workers) and frees its code
 * and data. No call into the code may be running. NULL is fine. */
void cg_jit_destroy(cg_jit *j);

#endif
