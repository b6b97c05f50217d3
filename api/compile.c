/*
 * The public API of compilation: target options on the context,
 * kiln_model_emit (one stage as bytes), kiln_model_compile (shared object +
 * header) and the JIT (kiln_model_jit and the kiln_compile_* shortcuts). A
 * thin layer over codegen/cg.h: it derives the artifact name, maps the
 * context's options, and keeps "no output on failure" (the .so is renamed
 * into place only after it linked, and removed again if the header cannot
 * be written). AOT and JIT share everything up to the optimised LLVM
 * module (`lower` below); only what happens to the module differs.
 *
 * The model is compiled as it is: a caller wanting the pass pipeline runs
 * kiln_model_optimize first (the CLI and the kiln_compile_* shortcuts do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "codegen/cg.h"
#include "ir/symbolic.h"
#include "kiln/artifact.h"

static kiln_status set_str(kiln_context *ctx, char **dst, const char *v) {
  char *n = NULL;
  if (v) {
    n = strdup(v);
    if (!n) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  }
  free(*dst);
  *dst = n;
  return KILN_OK;
}

kiln_status kiln_context_set_target(kiln_context *ctx, const char *triple, const char *cpu, const char *features) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  kiln_status s = set_str(ctx, &ctx->triple, triple);
  if (s == KILN_OK) s = set_str(ctx, &ctx->cpu, cpu);
  if (s == KILN_OK) s = set_str(ctx, &ctx->features, features);
  return s;
}

kiln_status kiln_context_set_num_threads(kiln_context *ctx, int n) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  ctx->num_threads = n > 0 ? n : 0;
  return KILN_OK;
}

kiln_status kiln_context_set_opt_level(kiln_context *ctx, int level) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (level < 0 || level > 3) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "optimisation level %d is not 0..3", level);
  ctx->opt_level = level;
  return KILN_OK;
}

kiln_status kiln_context_set_linker(kiln_context *ctx, const char *driver) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  return set_str(ctx, &ctx->linker, driver);
}

/* A C identifier from the module name: other characters become '_', a
 * leading digit gets a '_' in front, reserved names get "_model". */
static void derive_name(const char *src, char *buf, size_t n) {
  size_t k = 0;
  if (!src || !*src) src = "model";
  if (*src >= '0' && *src <= '9') buf[k++] = '_';
  for (const char *p = src; *p && k + 8 < n && k < 56; p++) {
    char ch = *p;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    buf[k++] = ok ? ch : '_';
  }
  buf[k] = 0;
  const char *why;
  if (!cg_name_valid(buf, &why)) strcat(buf, "_model");
}

static const char *base_name(const char *path) {
  const char *s = path ? strrchr(path, '/') : NULL;
  return s ? s + 1 : path;
}

/* Lowers and optimises the model (for the JIT: in ORC's kind of context).
 * A NULL *name becomes one derived from the module's name, in namebuf. */
static kiln_status lower(kiln_model *m, const char **name, char *namebuf, size_t nn, bool jit, cg_output **out) {
  kiln_context *ctx = m->ctx;
  if (!*name) {
    derive_name(m->m->name, namebuf, nn);
    *name = namebuf;
  }
  bool unsupported = false;
  cg_options o = {*name, ctx->triple, ctx->cpu, ctx->features, ctx->opt_level, NULL, jit, ctx->remarks,
                  (ctx->instrument & KILN_INSTRUMENT_KERNELS) != 0, ctx->debug_perturb, &unsupported};
  *out = cg_lower(m->m, &o, &ctx->sink);
  /* A symbolic model beyond what code generation takes so far: the caller
   * may bind its shapes and compile a static copy (kiln run does). */
  if (!*out && unsupported)
    return api_fail(ctx, KILN_ERR_UNSUPPORTED, "code generation does not support this symbolic model yet");
  if (!*out) return api_fail(ctx, KILN_ERR_COMPILE, "code generation failed");
  if (!cg_optimize(*out, &ctx->sink)) {
    cg_output_destroy(*out);
    *out = NULL;
    return api_fail(ctx, KILN_ERR_COMPILE, "optimisation failed");
  }
  return KILN_OK;
}

kiln_status kiln_model_emit(kiln_model *m, const char *name, kiln_emit_kind kind, char **data, size_t *len) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  kiln_context *ctx = m->ctx;
  api_begin(ctx);
  if (!data || !len) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_emit: NULL argument");
  *data = NULL;
  *len = 0;
  if (kind == KILN_EMIT_IR) {
    kiln_status s = kiln_model_print(m, 0, data);
    if (s == KILN_OK) *len = strlen(*data);
    return s;
  }
  if (kind < KILN_EMIT_IR || kind > KILN_EMIT_HEADER) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "unknown emit kind %d", (int)kind);
  char namebuf[80];
  cg_output *out;
  kiln_status s = lower(m, &name, namebuf, sizeof namebuf, false, &out);
  if (s != KILN_OK) return s;
  bool ok;
  if (kind == KILN_EMIT_LLVM) {
    *data = cg_print_llvm(out, len);
    ok = *data != NULL;
    if (!ok) api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  } else if (kind == KILN_EMIT_HEADER) {
    cg_options o = {name, NULL, NULL, NULL, 0, NULL, false, false, (ctx->instrument & KILN_INSTRUMENT_KERNELS) != 0, NULL, NULL};
    *data = cg_header_text(m->m, &o, cg_output_workspace_size(out));
    ok = *data != NULL;
    if (ok) *len = strlen(*data);
    else api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  } else {
    void *buf;
    ok = cg_emit(out, kind == KILN_EMIT_ASM, &buf, len, &ctx->sink);
    if (ok) *data = buf;
    else api_fail(ctx, KILN_ERR_COMPILE, "emission failed");
  }
  cg_output_destroy(out);
  /* Each failure above was reported (so the last error is set); the call's
   * status is a compile error whatever the cause, as for kiln_model_compile. */
  return ok ? KILN_OK : KILN_ERR_COMPILE;
}

kiln_status kiln_model_compile(kiln_model *m, const char *name, const char *so_path, const char *header_path) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  kiln_context *ctx = m->ctx;
  api_begin(ctx);
  if (!so_path || !*so_path) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_compile: no output path");
  char namebuf[80];
  cg_output *out;
  kiln_status s = lower(m, &name, namebuf, sizeof namebuf, false, &out);
  if (s != KILN_OK) return s;
  void *obj = NULL;
  size_t len = 0;
  char *header = NULL;
  bool ok = cg_emit(out, false, &obj, &len, &ctx->sink);
  if (ok && header_path) {
    cg_options o = {name, NULL, NULL, NULL, 0, base_name(m->m->name), false, false,
                    (ctx->instrument & KILN_INSTRUMENT_KERNELS) != 0, NULL, NULL};
    header = cg_header_text(m->m, &o, cg_output_workspace_size(out));
    ok = header != NULL;
    if (!ok) api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  }
  /* The driver is named after the triple as the user spelled it (Debian: aarch64-linux-gnu-gcc). */
  const char *triple = ctx->triple ? ctx->triple : cg_output_triple(out);
  if (ok) ok = cg_link_shared(obj, len, so_path, triple, cg_output_is_host(out), ctx->linker, &ctx->sink);
  if (ok && header) {
    ok = cg_write_file_atomic(header_path, header, strlen(header), 0644, &ctx->sink);
    if (!ok) unlink(so_path);
  }
  free(obj);
  free(header);
  cg_output_destroy(out);
  if (!ok) return api_fail(ctx, KILN_ERR_COMPILE, "compilation of %s failed", so_path);
  return KILN_OK;
}

/* ---- JIT ---- */

kiln_status kiln_model_jit(kiln_model *m, kiln_executable **out) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  kiln_context *ctx = m->ctx;
  api_begin(ctx);
  if (!out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_jit: NULL argument");
  *out = NULL;
  char namebuf[80];
  const char *name = NULL;
  cg_output *cg;
  kiln_status s = lower(m, &name, namebuf, sizeof namebuf, true, &cg);
  if (s != KILN_OK) return s;
  if (!cg_output_is_host(cg)) {
    cg_output_destroy(cg);
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT,
                    "the JIT runs code on this machine; for the target %s use kiln_model_compile (kiln compile --target)",
                    ctx->triple);
  }
  kiln_executable *exe = calloc(1, sizeof *exe);
  if (!exe) {
    cg_output_destroy(cg);
    return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  }
  exe->ctx = ctx;
  exe->jit = cg_jit_create(cg, ctx->perf_map, &ctx->sink);
  cg_output_destroy(cg);
  if (!exe->jit) {
    kiln_executable_destroy(exe);
    return api_fail(ctx, KILN_ERR_COMPILE, "JIT compilation failed");
  }
  void *sym = cg_jit_lookup(exe->jit, KILN_ARTIFACT_INFO_SYMBOL);
  if (!sym) {
    kiln_executable_destroy(exe);
    return api_fail(ctx, KILN_ERR_INTERNAL, "the JIT'd module has no %s", KILN_ARTIFACT_INFO_SYMBOL);
  }
  kiln_artifact_info_fn info;
  memcpy(&info, &sym, sizeof info);
  char what[160];
  snprintf(what, sizeof what, "JIT'd %s", name);
  return api_executable_init(exe, info(), what, out);
}

/* The start of a kiln_compile_* shortcut (`fn` names it in messages):
 * clears the last error and *out. */
static kiln_status shortcut_begin(kiln_context *ctx, kiln_executable **out, const char *fn) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: NULL argument", fn);
  *out = NULL;
  return KILN_OK;
}

/* The rest of a shortcut: optimises a freshly loaded model and JITs it;
 * the model is destroyed. */
static kiln_status optimize_and_jit(kiln_model *m, kiln_executable **out) {
  kiln_status s = kiln_model_optimize(m, NULL, NULL);
  if (s == KILN_OK) s = kiln_model_jit(m, out);
  kiln_model_destroy(m);
  return s;
}

kiln_status kiln_compile_onnx_file(kiln_context *ctx, const char *path, kiln_executable **out) {
  kiln_status s = shortcut_begin(ctx, out, "kiln_compile_onnx_file");
  kiln_model *m = NULL;
  if (s == KILN_OK) s = kiln_model_load_onnx(ctx, path, &m);
  return s == KILN_OK ? optimize_and_jit(m, out) : s;
}

kiln_status kiln_compile_onnx_bytes(kiln_context *ctx, const void *bytes, size_t len, kiln_executable **out) {
  kiln_status s = shortcut_begin(ctx, out, "kiln_compile_onnx_bytes");
  kiln_model *m = NULL;
  if (s == KILN_OK) s = kiln_model_from_onnx_bytes(ctx, bytes, len, &m);
  return s == KILN_OK ? optimize_and_jit(m, out) : s;
}

kiln_status kiln_compile_kir(kiln_context *ctx, const char *text, size_t len, kiln_executable **out) {
  kiln_status s = shortcut_begin(ctx, out, "kiln_compile_kir");
  kiln_model *m = NULL;
  if (s == KILN_OK) s = kiln_model_from_kir(ctx, text, len, NULL, &m);
  return s == KILN_OK ? optimize_and_jit(m, out) : s;
}
