/*
 * Passes over the IR. A pass is a name and `bool run(module, ctx)`
 * returning whether it changed the module; failures (out of memory, an
 * evaluation error) are recorded in ctx->failed. The default pipeline is
 * one table (pipeline.c), read by the CLI's --passes, --disable-pass and
 * --dump-after. In test builds the verifier runs after every pass.
 */
#ifndef KILN_PASSES_PASS_H
#define KILN_PASSES_PASS_H

#include "ir/ir.h"
#include "ir/target.h"

typedef struct pass_ctx pass_ctx;
typedef bool (*pass_fn)(ir_module *m, pass_ctx *ctx);

typedef struct pass_info {
  const char *name;
  const char *summary;
  pass_fn run;
} pass_info;

/* Called after a pass whose name matches the dump pattern. */
typedef void (*pass_dump_fn)(void *user, const char *pass, const ir_module *m);

struct pass_ctx {
  diag *d;
  bool verify;           /* verify after each pass */
  bool failed;           /* set by a pass that could not finish */
  bool oom;              /* ... because an allocation failed (with failed) */
  const char *dump_pattern; /* "all", a pass name, or comma-separated names */
  pass_dump_fn dump;
  void *dump_user;
  bool remarks;          /* emit DIAG_REMARK decisions (fusion etc.) */
  /* What the passes may know about the target (vector width, GEMM tile,
   * layouts): filled in by the API from --target/--cpu/--features; NULL
   * means ir_target_default. Read it through pass_target(). */
  const ir_target *target;
};

/* The default pipeline, in order, ending with {NULL}. */
extern const pass_info pass_pipeline[];
const pass_info *pass_find(const char *name);

/* Runs `spec` (comma-separated pass names; NULL or "default": the default
 * pipeline) minus the comma-separated `disable` list. Reports unknown names.
 * Returns false on failure (ctx->failed or an invalid module). */
bool pass_run(ir_module *m, const char *spec, const char *disable, pass_ctx *ctx);

/* The passes. */
bool pass_dce(ir_module *m, pass_ctx *ctx);
bool pass_cse(ir_module *m, pass_ctx *ctx);
bool pass_fold(ir_module *m, pass_ctx *ctx);
bool pass_simplify(ir_module *m, pass_ctx *ctx);
bool pass_rewrite(ir_module *m, pass_ctx *ctx);
bool pass_fuse(ir_module *m, pass_ctx *ctx);
bool pass_schedule(ir_module *m, pass_ctx *ctx);
bool pass_buffers(ir_module *m, pass_ctx *ctx);

/* Buffer planning (buffers.c), also called by codegen for a module without
 * a plan. Returns the entry computation's plan, which the caller owns
 * (ir_plan_free), or NULL when out of memory. optimize: in-place reuse and
 * concatenation in place (each kept only where it costs no workspace).
 * ctx may be NULL (no remarks). */
ir_plan *pass_buffers_plan(const ir_module *m, bool optimize, pass_ctx *ctx);
/* The lowest 64-byte aligned workspace offset where `size` bytes are free
 * of every temp of p live at launch `at` (lo/hi: ir_plan_storage_ranges;
 * tmp: nvals scratch entries): where codegen puts a kernel's scratch. */
int64_t pass_buffers_fit(const ir_plan *p, const int64_t *lo, const int64_t *hi, int64_t at, int64_t size,
                         uint32_t *tmp);
bool pass_layout(ir_module *m, pass_ctx *ctx);

/* Shared helpers (util.c). */
/* True if instruction id is a constant (or a broadcast/reshape of one)
 * whose every element equals v. */
bool pass_is_splat(const ir_comp *c, ir_id id, double v);
/* Canonicalizes every computation (topological order, no dead code). */
bool pass_canonicalize_all(ir_module *m, pass_ctx *ctx);
/* The target description of ctx (never NULL: ir_target_generic when the
 * caller gave none). */
const ir_target *pass_target(const pass_ctx *ctx);
/* Reports a decision as a DIAG_REMARK when ctx->remarks asks for them. */
void pass_remark(pass_ctx *ctx, const char *fmt, ...) DIAG_PRINTF(2, 3);

#endif
