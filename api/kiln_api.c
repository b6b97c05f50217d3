/*
 * The public API: contexts, models, printing, verification and the
 * reference interpreter. Errors are recorded in the context (the first
 * error diagnostic of a call becomes its last-error message) and forwarded
 * to the user's callback.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "ir/eval.h"
#include "passes/pass.h"

const char *kiln_version(void) { return KILN_VERSION; }

const char *kiln_status_name(kiln_status s) {
  switch (s) {
    case KILN_OK: return "ok";
    case KILN_ERR_INVALID_ARGUMENT: return "invalid argument";
    case KILN_ERR_IO: return "i/o error";
    case KILN_ERR_PARSE: return "parse error";
    case KILN_ERR_UNSUPPORTED: return "unsupported";
    case KILN_ERR_SHAPE: return "shape error";
    case KILN_ERR_COMPILE: return "compile error";
    case KILN_ERR_RUNTIME: return "runtime error";
    case KILN_ERR_OUT_OF_MEMORY: return "out of memory";
    case KILN_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

const char *kiln_dtype_name(kiln_dtype t) { return (unsigned)t < IR_TUPLE ? ir_type_name((ir_type)t) : "?"; }
size_t kiln_dtype_size(kiln_dtype t) { return (unsigned)t < IR_TUPLE ? ir_type_size((ir_type)t) : 0; }
void kiln_free(void *p) { free(p); }

static void forward(void *user, diag_level level, const char *msg) {
  kiln_context *ctx = user;
  if (level == DIAG_ERROR && !ctx->have_error) {
    snprintf(ctx->last_error, sizeof ctx->last_error, "%s", msg);
    ctx->have_error = true;
  }
  if (ctx->user_fn) ctx->user_fn(ctx->user_data, (kiln_diag_level)level, msg);
}

void api_begin(kiln_context *ctx) {
  ctx->have_error = false;
  ctx->last_error[0] = 0;
  ctx->sink.errors = 0;
}

kiln_status api_fail(kiln_context *ctx, kiln_status s, const char *fmt, ...) {
  if (!ctx->have_error && fmt) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_emit(&ctx->sink, DIAG_ERROR, "%s", msg);
  }
  return s;
}

kiln_status kiln_context_create(kiln_context **out) {
  if (!out) return KILN_ERR_INVALID_ARGUMENT;
  kiln_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return KILN_ERR_OUT_OF_MEMORY;
  ctx->sink.fn = forward;
  ctx->sink.user = ctx;
  ctx->opt_level = 3;
#ifdef KILN_VERIFY_PASSES
  ctx->verify_passes = true;
#endif
  *out = ctx;
  return KILN_OK;
}

void kiln_context_destroy(kiln_context *ctx) {
  if (!ctx) return;
  for (int i = 0; i < ctx->nbindings; i++) free(ctx->bindings[i].name);
  free(ctx->bindings);
  free(ctx->cpu);
  free(ctx->triple);
  free(ctx->features);
  free(ctx->linker);
  free(ctx->dump_pattern);
  free(ctx);
}

const char *kiln_context_last_error(const kiln_context *ctx) { return ctx ? ctx->last_error : "no context"; }

void kiln_context_set_diagnostics(kiln_context *ctx, kiln_diag_fn fn, void *user) {
  if (!ctx) return;
  ctx->user_fn = fn;
  ctx->user_data = user;
}

kiln_status kiln_context_bind_input_shape(kiln_context *ctx, const char *input, int rank, const int64_t *dims) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!input || rank < 0 || rank > IR_MAX_RANK || (rank && !dims))
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "bind_input_shape: need an input name and 0..%d dimensions", IR_MAX_RANK);
  for (int i = 0; i < rank; i++)
    if (dims[i] < 0) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "bind_input_shape: dimension %d of '%s' is negative", i, input);
  api_binding *b = NULL;
  for (int i = 0; i < ctx->nbindings; i++)
    if (strcmp(ctx->bindings[i].name, input) == 0) b = &ctx->bindings[i];
  if (!b) {
    api_binding *nb = realloc(ctx->bindings, (size_t)(ctx->nbindings + 1) * sizeof *nb);
    if (!nb) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    ctx->bindings = nb;
    b = &nb[ctx->nbindings];
    b->name = strdup(input);
    if (!b->name) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    ctx->nbindings++;
  }
  b->rank = rank;
  for (int i = 0; i < rank; i++) b->dims[i] = dims[i];
  return KILN_OK;
}

/* ---- models ---- */

static void free_infos(kiln_model *model) {
  free(model->inputs);
  free(model->outputs);
  free(model->dims);
  model->inputs = model->outputs = NULL;
  model->dims = NULL;
  model->ninputs = model->noutputs = 0;
}

/* Rebuilds the input/output descriptions after the module changed. */
static kiln_status model_refresh(kiln_model *model) {
  free_infos(model);
  const ir_comp *e = ir_module_entry(model->m);
  if (!e || e->root == IR_NONE) return api_fail(model->ctx, KILN_ERR_INTERNAL, "model has no entry computation");
  int ni = (int)ir_comp_num_params(e);
  const ir_inst *root = ir_get(e, e->root);
  int no = (int)root->ntuple;
  model->inputs = calloc((size_t)ni + 1, sizeof *model->inputs);
  model->outputs = calloc((size_t)no + 1, sizeof *model->outputs);
  model->dims = calloc((size_t)(ni + no) * IR_MAX_RANK + 1, sizeof *model->dims);
  if (!model->inputs || !model->outputs || !model->dims) {
    free_infos(model);
    return api_fail(model->ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  }
  int64_t *d = model->dims;
  for (int i = 0; i < ni; i++) {
    const ir_inst *p = ir_get(e, ir_comp_param(e, i));
    kiln_tensor_info *t = &model->inputs[i];
    t->name = p->io_name ? p->io_name : p->name;
    t->dtype = (kiln_dtype)p->shape.type;
    t->rank = p->shape.rank;
    memcpy(d, p->shape.dims, sizeof(int64_t) * p->shape.rank);
    t->dims = d;
    d += IR_MAX_RANK;
  }
  for (int i = 0; i < no; i++) {
    const ir_shape *s = &root->tuple[i];
    kiln_tensor_info *t = &model->outputs[i];
    t->name = e->output_names[i];
    t->dtype = (kiln_dtype)s->type;
    t->rank = s->rank;
    memcpy(d, s->dims, sizeof(int64_t) * s->rank);
    t->dims = d;
    d += IR_MAX_RANK;
  }
  model->ninputs = ni;
  model->noutputs = no;
  return KILN_OK;
}

kiln_status api_model_wrap(kiln_context *ctx, ir_module *m, kiln_model **out) {
  kiln_model *model = calloc(1, sizeof *model);
  if (!model) {
    ir_module_destroy(m);
    return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  }
  model->ctx = ctx;
  model->m = m;
  kiln_status s = model_refresh(model);
  if (s != KILN_OK) {
    kiln_model_destroy(model);
    return s;
  }
  *out = model;
  return KILN_OK;
}

kiln_status kiln_model_from_kir(kiln_context *ctx, const char *text, size_t len, const char *file, kiln_model **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!text || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_from_kir: NULL argument");
  *out = NULL;
  ir_module *m = ir_parse_module(text, len, file, &ctx->sink);
  if (!m) return api_fail(ctx, KILN_ERR_PARSE, "%s: could not parse the IR", file ? file : "<input>");
  return api_model_wrap(ctx, m, out);
}

/* Reads a whole file; caller frees *data (NUL-terminated). */
static kiln_status read_file(kiln_context *ctx, const char *path, char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return api_fail(ctx, KILN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (n < cap - 1) break;
    char *nb = cap > ((size_t)-1) / 4 ? NULL : realloc(buf, cap * 2);
    if (!nb) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  bool err = ferror(f);
  fclose(f);
  if (!buf) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "%s: out of memory reading the file", path);
  if (err) {
    free(buf);
    return api_fail(ctx, KILN_ERR_IO, "%s: read error", path);
  }
  buf[n] = 0;
  *data = buf;
  *len = n;
  return KILN_OK;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

kiln_status kiln_model_load_file(kiln_context *ctx, const char *path, kiln_model **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!path || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_load_file: NULL argument");
  *out = NULL;
  if (ends_with(path, ".onnx")) return api_import_onnx(ctx, path, NULL, 0, NULL, 0, out);
  char *text = NULL;
  size_t len = 0;
  kiln_status s = read_file(ctx, path, &text, &len);
  if (s != KILN_OK) return s;
  s = kiln_model_from_kir(ctx, text, len, path, out);
  free(text);
  return s;
}

void kiln_model_destroy(kiln_model *model) {
  if (!model) return;
  free_infos(model);
  ir_module_destroy(model->m);
  free(model);
}

kiln_context *kiln_model_context(const kiln_model *m) { return m ? m->ctx : NULL; }

int kiln_model_num_inputs(const kiln_model *m) { return m ? m->ninputs : 0; }
int kiln_model_num_outputs(const kiln_model *m) { return m ? m->noutputs : 0; }

kiln_status kiln_model_input(const kiln_model *m, int i, kiln_tensor_info *out) {
  if (!m || !out || i < 0 || i >= m->ninputs) return KILN_ERR_INVALID_ARGUMENT;
  *out = m->inputs[i];
  return KILN_OK;
}

kiln_status kiln_model_output(const kiln_model *m, int i, kiln_tensor_info *out) {
  if (!m || !out || i < 0 || i >= m->noutputs) return KILN_ERR_INVALID_ARGUMENT;
  *out = m->outputs[i];
  return KILN_OK;
}

int kiln_model_find_input(const kiln_model *m, const char *name) {
  for (int i = 0; m && name && i < m->ninputs; i++)
    if (strcmp(m->inputs[i].name, name) == 0) return i;
  return -1;
}

int kiln_model_find_output(const kiln_model *m, const char *name) {
  for (int i = 0; m && name && i < m->noutputs; i++)
    if (strcmp(m->outputs[i].name, name) == 0) return i;
  return -1;
}

kiln_status kiln_model_print(const kiln_model *m, unsigned flags, char **text) {
  if (!m || !text) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(m->ctx);
  ir_print_opts o = {(flags & KILN_PRINT_ELIDE_CONSTANTS) ? 16 : 0};
  *text = ir_print_module(m->m, &o);
  if (!*text) return api_fail(m->ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory printing the IR");
  return KILN_OK;
}

kiln_status kiln_model_verify(kiln_model *m) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(m->ctx);
  if (!ir_verify(m->m, &m->ctx->sink)) return api_fail(m->ctx, KILN_ERR_INTERNAL, "the IR is invalid");
  return KILN_OK;
}

kiln_status kiln_model_evaluate(kiln_model *m, const void *const *inputs, void *const *outputs) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(m->ctx);
  if ((m->ninputs && !inputs) || (m->noutputs && !outputs))
    return api_fail(m->ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_evaluate: NULL buffers");
  if (!ir_eval_module(m->m, NULL, inputs, outputs, &m->ctx->sink))
    return api_fail(m->ctx, KILN_ERR_RUNTIME, "evaluation failed");
  return KILN_OK;
}

void kiln_context_set_ir_dump(kiln_context *ctx, const char *pattern, kiln_dump_fn fn, void *user) {
  if (!ctx) return;
  free(ctx->dump_pattern);
  ctx->dump_pattern = pattern && fn ? strdup(pattern) : NULL;
  ctx->dump_fn = ctx->dump_pattern ? fn : NULL;
  ctx->dump_user = user;
}

void kiln_context_set_verify_passes(kiln_context *ctx, int on) {
  if (ctx) ctx->verify_passes = on != 0;
}

void kiln_context_set_remarks(kiln_context *ctx, int on) {
  if (ctx) ctx->remarks = on != 0;
}

static void dump_text(void *user, const char *pass, const ir_module *m) {
  kiln_context *ctx = user;
  char *text = ir_print_module(m, NULL);
  if (text) ctx->dump_fn(ctx->dump_user, pass, text);
  free(text);
}

kiln_status kiln_model_optimize(kiln_model *m, const char *passes, const char *disable) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  kiln_context *ctx = m->ctx;
  api_begin(ctx);
  pass_ctx pc = {0};
  pc.d = &ctx->sink;
  pc.verify = ctx->verify_passes;
  pc.remarks = ctx->remarks;
  pc.dump_pattern = ctx->dump_pattern;
  pc.dump = ctx->dump_fn ? dump_text : NULL;
  pc.dump_user = ctx;
  if (!pass_run(m->m, passes, disable, &pc))
    return api_fail(ctx, pc.failed ? KILN_ERR_INTERNAL : KILN_ERR_INVALID_ARGUMENT, "optimisation failed");
  return model_refresh(m);
}

kiln_status kiln_pass_info(int i, const char **name, const char **summary) {
  for (int k = 0; pass_pipeline[k].name; k++)
    if (k == i) {
      if (name) *name = pass_pipeline[k].name;
      if (summary) *summary = pass_pipeline[k].summary;
      return KILN_OK;
    }
  return KILN_ERR_INVALID_ARGUMENT;
}
