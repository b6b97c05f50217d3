/*
 * The pass pipeline: one table, run in order. `kiln opt --passes`,
 * `--disable-pass` and `--dump-after` read it. After every pass the
 * computations are canonicalized (topological order, dead code dropped)
 * and, when asked, verified and dumped.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

const pass_info pass_pipeline[] = {
    {"simplify", "algebraic identities and canonical forms, to a fixed point", pass_simplify},
    {"fold", "constant folding through the reference interpreter", pass_fold},
    {"cse", "common subexpression elimination", pass_cse},
    {"dce", "dead code elimination", pass_dce},
    {"rewrite", "model-level rewrites: batch norm and scales folded into conv/dot weights, bias adds combined", pass_rewrite},
    {"layout", "operand layouts of dots and convolutions for the target: weights stored in the GEMM's panels", pass_layout},
    {"fuse", "loop, input and output (epilogue) fusion, with a reason for every decision", pass_fuse},
    {"schedule", "launch order of the entry computation for a lower peak workspace (never higher than the input's)", pass_schedule},
    {"buffers", "buffer plan: liveness, first-fit workspace, in-place reuse, concatenation in place", pass_buffers},
    {NULL, NULL, NULL},
};

const pass_info *pass_find(const char *name) {
  for (const pass_info *p = pass_pipeline; p->name; p++)
    if (!strcmp(p->name, name)) return p;
  return NULL;
}

/* Is `name` in the comma-separated list? */
static bool in_list(const char *list, const char *name) {
  if (!list) return false;
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && !strncmp(p, name, n)) return true;
    if (!e) break;
    p = e + 1;
  }
  return false;
}

static bool check_names(const char *list, diag *d, const char *what) {
  if (!list) return true;
  bool ok = true;
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char name[64];
    if (len == 0 || len >= sizeof name) {
      diag_error(d, "%s: empty or overlong pass name in '%s'", what, list);
      return false;
    }
    memcpy(name, p, len);
    name[len] = 0;
    if (!pass_find(name) && strcmp(name, "default") && strcmp(name, "all")) {
      diag_error(d, "%s: unknown pass '%s' (kiln opt --list-passes shows them)", what, name);
      ok = false;
    }
    if (!e) break;
    p = e + 1;
  }
  return ok;
}

/* A buffer plan describes one entry computation: a pass other than
 * `buffers` that changes the module, or leaves a plan that no longer
 * verifies against it (canonicalization dropped code), drops the plan;
 * codegen then plans again (e.g. --passes=buffers,simplify). */
static void drop_stale_plan(ir_module *m, const pass_info *p, bool changed) {
  if (!m->plan || p->run == pass_buffers) return;
  diag_buffer quiet;
  diag_buffer_init(&quiet);
  if (changed || !ir_plan_verify(m, &quiet.sink)) ir_module_set_plan(m, NULL);
}

static bool run_one(ir_module *m, const pass_info *p, pass_ctx *ctx) {
  bool changed = p->run(m, ctx);
  if (ctx->failed) {
    diag_error(ctx->d, "pass %s failed", p->name);
    return false;
  }
  if (!pass_canonicalize_all(m, ctx)) return false;
  drop_stale_plan(m, p, changed);
  if (ctx->verify && !ir_verify(m, ctx->d)) {
    diag_error(ctx->d, "internal error: the IR is invalid after pass %s", p->name);
    return false;
  }
  if (ctx->dump && ctx->dump_pattern && (!strcmp(ctx->dump_pattern, "all") || in_list(ctx->dump_pattern, p->name)))
    ctx->dump(ctx->dump_user, p->name, m);
  return true;
}

bool pass_run(ir_module *m, const char *spec, const char *disable, pass_ctx *ctx) {
  if (!check_names(spec, ctx->d, "--passes") || !check_names(disable, ctx->d, "--disable-pass")) return false;
  if (ctx->dump_pattern && strcmp(ctx->dump_pattern, "all") && !check_names(ctx->dump_pattern, ctx->d, "--dump-after"))
    return false;
  for (const char *s = spec ? spec : "default"; *s;) {
    const char *e = strchr(s, ',');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    char name[64];
    memcpy(name, s, len);
    name[len] = 0;
    if (!strcmp(name, "default") || !strcmp(name, "all")) {
      for (const pass_info *p = pass_pipeline; p->name; p++)
        if (!in_list(disable, p->name) && !run_one(m, p, ctx)) return false;
    } else if (!in_list(disable, name) && !run_one(m, pass_find(name), ctx)) {
      return false;
    }
    if (!e) break;
    s = e + 1;
  }
  return true;
}
