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
#include "codegen/cg.h"
#include "ir/eval.h"
#include "ir/symbolic.h"
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
  /* So that any program using the JIT can be profiled with perf without
   * changing it (docs/codegen.md, "The JIT"). */
  const char *pm = getenv("KILN_PERF_MAP");
  ctx->perf_map = pm && *pm && strcmp(pm, "0") != 0;
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
  for (int i = 0; i < ctx->nbounds; i++) free(ctx->bounds[i].name);
  free(ctx->bounds);
  free(ctx->cpu);
  free(ctx->triple);
  free(ctx->features);
  free(ctx->linker);
  free(ctx->dump_pattern);
  free(ctx->debug_perturb);
  free(ctx);
}

const char *kiln_context_last_error(const kiln_context *ctx) { return ctx ? ctx->last_error : "no context"; }

void kiln_context_set_diagnostics(kiln_context *ctx, kiln_diag_fn fn, void *user) {
  if (!ctx) return;
  ctx->user_fn = fn;
  ctx->user_data = user;
}

/* Sets the shape of `input` in a list of bindings (fixed shapes) or bounds
 * (--max-shape), replacing an earlier one of that name. `what` names the
 * API function in messages. */
static kiln_status set_shape(kiln_context *ctx, api_binding **list, int *n, const char *what, const char *input, int rank,
                             const int64_t *dims) {
  if (!input || rank < 0 || rank > IR_MAX_RANK || (rank && !dims))
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: need an input name and 0..%d dimensions", what, IR_MAX_RANK);
  for (int i = 0; i < rank; i++)
    if (dims[i] < 0) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: dimension %d of '%s' is negative", what, i, input);
  api_binding *b = NULL;
  for (int i = 0; i < *n; i++)
    if (strcmp((*list)[i].name, input) == 0) b = &(*list)[i];
  if (!b) {
    api_binding *nb = realloc(*list, (size_t)(*n + 1) * sizeof *nb);
    if (!nb) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    *list = nb;
    b = &nb[*n];
    b->name = strdup(input);
    if (!b->name) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    (*n)++;
  }
  b->rank = rank;
  for (int i = 0; i < rank; i++) b->dims[i] = dims[i];
  return KILN_OK;
}

kiln_status kiln_context_bind_input_shape(kiln_context *ctx, const char *input, int rank, const int64_t *dims) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  return set_shape(ctx, &ctx->bindings, &ctx->nbindings, "bind_input_shape", input, rank, dims);
}

kiln_status kiln_context_bound_input_shape(kiln_context *ctx, const char *input, int rank, const int64_t *dims) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  return set_shape(ctx, &ctx->bounds, &ctx->nbounds, "bound_input_shape", input, rank, dims);
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

/* IR text has no symbolic dimensions: a shape bound in the context must
 * name an input and agree with it (as a binding of a static ONNX input
 * must), or it was meant for another model. */
static kiln_status check_kir_bindings(kiln_context *ctx, const kiln_model *model, const char *file) {
  const char *f = file ? file : "<input>";
  if (ctx->nbounds)
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: a bound (--max-shape) is given for '%s', but IR text declares "
                    "its symbols and their bounds itself (`symbol NAME <= BOUND` lines)", f, ctx->bounds[0].name);
  for (int b = 0; b < ctx->nbindings; b++) {
    const api_binding *bd = &ctx->bindings[b];
    int i = kiln_model_find_input(model, bd->name);
    if (i < 0)
      return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: a shape is bound for '%s', which is not an input of the model",
                      f, bd->name);
    const kiln_tensor_info *t = &model->inputs[i];
    bool same = t->rank == bd->rank;
    for (int d = 0; same && d < t->rank; d++) same = t->dims[d] == bd->dims[d];
    if (!same) {
      char has[160] = "", bound[160] = "";
      size_t hk = 0, bk = 0;
      for (int d = 0; d < t->rank && hk < sizeof has; d++)
        hk += (size_t)snprintf(has + hk, sizeof has - hk, "%s%lld", d ? "x" : "", (long long)t->dims[d]);
      for (int d = 0; d < bd->rank && bk < sizeof bound; d++)
        bk += (size_t)snprintf(bound + bk, sizeof bound - bk, "%s%lld", d ? "x" : "", (long long)bd->dims[d]);
      return api_fail(ctx, KILN_ERR_SHAPE,
                      "%s: input '%s' has the fixed shape [%s] in the IR text (which has no symbolic dimensions), "
                      "but is bound to [%s]", f, bd->name, has, bound);
    }
  }
  return KILN_OK;
}

kiln_status kiln_model_from_kir(kiln_context *ctx, const char *text, size_t len, const char *file, kiln_model **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!text || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_from_kir: NULL argument");
  *out = NULL;
  ir_module *m = ir_parse_module(text, len, file, &ctx->sink);
  if (!m) return api_fail(ctx, KILN_ERR_PARSE, "%s: could not parse the IR", file ? file : "<input>");
  kiln_model *model = NULL;
  kiln_status s = api_model_wrap(ctx, m, &model);
  if (s == KILN_OK) s = check_kir_bindings(ctx, model, file);
  if (s != KILN_OK) {
    kiln_model_destroy(model);
    return s;
  }
  *out = model;
  return KILN_OK;
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

kiln_status api_file_kind(kiln_context *ctx, const char *path, api_kind *kind) {
  FILE *f = fopen(path, "rb");
  if (!f) return api_fail(ctx, KILN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  unsigned char head[4096];
  size_t n = fread(head, 1, sizeof head, f);
  bool err = ferror(f);
  fclose(f);
  /* A folder opens on Linux but cannot be read. */
  if (err) return api_fail(ctx, KILN_ERR_IO, "%s: cannot read (is it a folder?)", path);
  if (n == 0) return api_fail(ctx, KILN_ERR_PARSE, "%s: the file is empty (neither IR text nor an ONNX model)", path);
  if (n >= 4 && !memcmp(head, "\x7f" "ELF", 4)) {
    *kind = API_KIND_ELF;
    return KILN_OK;
  }
  /* An ONNX model is a protobuf ModelProto: it starts with a field tag,
   * 0x08 (ir_version, written first by every exporter) or another
   * ModelProto tag, and binary lengths and varints follow at once. IR text
   * starts with a printable character (a comment, `module`, blank space);
   * a stray control byte further on is the parser's to report, with its
   * line and column. */
  static const unsigned char printable_tags[] = {0x22, 0x28, 0x32, 0x3a, 0x42, 0x72}; /* fields 4, 5, 6, 7, 8, 14 */
  bool binary = head[0] >= 0x80 || head[0] < 0x09 || (head[0] > 0x0d && head[0] < 0x20);
  if (!binary && memchr(printable_tags, head[0], sizeof printable_tags))
    for (size_t i = 1; i < n && i < 16 && !binary; i++) binary = head[i] < 0x09 || (head[i] > 0x0d && head[i] < 0x20);
  *kind = binary ? API_KIND_BINARY : API_KIND_TEXT;
  return KILN_OK;
}

kiln_status kiln_model_load_file(kiln_context *ctx, const char *path, kiln_model **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!path || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_load_file: NULL argument");
  *out = NULL;
  /* By content, not by name: an ONNX model saved as .pb, IR text as .txt. */
  api_kind kind;
  kiln_status ks = api_file_kind(ctx, path, &kind);
  if (ks != KILN_OK) return ks;
  if (kind == API_KIND_ELF)
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT,
                    "%s: this is an ELF file (a compiled kiln artifact?), not a model: open an artifact with "
                    "kiln_executable_open (kiln run)", path);
  if (kind == API_KIND_BINARY) return api_import_onnx(ctx, path, NULL, 0, NULL, 0, out);
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

int kiln_model_is_symbolic(const kiln_model *m) { return m && ir_module_is_symbolic(m->m); }

kiln_status kiln_model_bind_shapes(kiln_model *m, int n, const kiln_tensor_info *actual) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  kiln_context *ctx = m->ctx;
  api_begin(ctx);
  if (n != m->ninputs || (n && !actual))
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_bind_shapes: the model has %d inputs, %d shapes given",
                    m->ninputs, n);
  const ir_comp *e = ir_module_entry(m->m);
  ir_shape *shapes = calloc((size_t)n + 1, sizeof *shapes);
  if (!shapes) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  kiln_status st = KILN_OK;
  for (int i = 0; i < n && st == KILN_OK; i++) {
    const ir_shape *p = &ir_get(e, ir_comp_param(e, i))->shape;
    if (actual[i].rank < 0 || actual[i].rank > IR_MAX_RANK || (actual[i].rank && !actual[i].dims)) {
      st = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_bind_shapes: shape %d is malformed", i);
      break;
    }
    for (int d = 0; d < actual[i].rank && st == KILN_OK; d++)
      if (actual[i].dims[d] < 0)
        st = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_bind_shapes: dimension %d of input '%s' is negative",
                      d, m->inputs[i].name);
    shapes[i] = ir_shape_make(p->type, actual[i].rank, actual[i].dims);
  }
  if (st == KILN_OK && !ir_module_is_symbolic(m->m)) {
    /* Nothing to bind: the shapes must be the model's own. */
    for (int i = 0; i < n && st == KILN_OK; i++) {
      const ir_shape *p = &ir_get(e, ir_comp_param(e, i))->shape;
      if (!ir_shape_same_dims(p, &shapes[i])) {
        char want[200], got[200];
        st = api_fail(ctx, KILN_ERR_SHAPE, "input '%s' has the shape %s, but %s was given", m->inputs[i].name,
                      ir_shape_str(p, want, sizeof want), ir_shape_str(&shapes[i], got, sizeof got));
      }
    }
    free(shapes);
    return st;
  }
  int nsyms = ir_sym_count(m->m);
  int64_t *binding = calloc((size_t)nsyms + 1, sizeof *binding);
  ir_module *bound = NULL;
  if (st == KILN_OK && !binding) st = api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  if (st == KILN_OK && !ir_binding_from_params(m->m, shapes, (uint32_t)n, binding, &ctx->sink))
    st = api_fail(ctx, KILN_ERR_SHAPE, "the input shapes do not fit the model's symbolic dimensions");
  if (st == KILN_OK && !(bound = ir_module_bind(m->m, binding, &ctx->sink)))
    st = api_fail(ctx, KILN_ERR_SHAPE, "the model cannot be made static at these input shapes");
  free(binding);
  free(shapes);
  if (st != KILN_OK) return st;
  ir_module_destroy(m->m);
  m->m = bound;
  return model_refresh(m);
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

/* Whether an input of the entry computation has a symbolic dimension. */
static bool symbolic_inputs(const ir_module *m) {
  const ir_comp *e = ir_module_entry(m);
  for (uint32_t p = 0; e && p < ir_comp_num_params(e); p++)
    if (!ir_shape_is_static(&e->insts[ir_comp_param(e, p)].shape)) return true;
  return false;
}

kiln_status kiln_model_evaluate_shaped(kiln_model *m, const void *const *inputs, void *const *outputs,
                                       int64_t *const *output_dims) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(m->ctx);
  if ((m->ninputs && !inputs) || (m->noutputs && !outputs))
    return api_fail(m->ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_evaluate: NULL buffers");
  if (symbolic_inputs(m->m))
    return api_fail(m->ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_evaluate: the model has symbolic input dimensions; "
                    "make it static at the inputs' shapes first (kiln_model_bind_shapes)");
  /* A symbol neither an input nor set_symbol gives has no value to run at
   * (compiled code refuses it too). */
  const ir_comp *e = ir_module_entry(m->m);
  for (int k = 0; e && k < ir_sym_count(m->m); k++) {
    if (ir_sym_is_computed(m->m, k)) continue;
    for (uint32_t i = 0; i < e->ninsts; i++)
      if (ir_inst_uses_sym(m->m, &e->insts[i], k))
        return api_fail(m->ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_evaluate: symbol %s is no input's dimension, so "
                        "nothing gives its value (instruction %%%s uses it)", ir_sym_name(m->m, k), e->insts[i].name);
  }
  if (!ir_eval_module_shaped(m->m, NULL, inputs, outputs, output_dims, &m->ctx->sink))
    return api_fail(m->ctx, KILN_ERR_RUNTIME, "evaluation failed");
  return KILN_OK;
}

kiln_status kiln_model_evaluate(kiln_model *m, const void *const *inputs, void *const *outputs) {
  return kiln_model_evaluate_shaped(m, inputs, outputs, NULL);
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

kiln_status kiln_context_set_perf_map(kiln_context *ctx, int on) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  ctx->perf_map = on != 0;
  return KILN_OK;
}

static void dump_text(void *user, const char *pass, const ir_module *m) {
  kiln_context *ctx = user;
  char *text = ir_print_module(m, NULL);
  if (text) ctx->dump_fn(ctx->dump_user, pass, text);
  free(text);
}

/* The description passes get of the context's target (--target, --cpu,
 * --features; NULL parts: this machine's), from the backend that will
 * generate the code, so that passes and codegen agree on facts such as the
 * GEMM threshold. An unknown triple or CPU is an error here, reported
 * before any pass ran, rather than a default the code would not match. */
static kiln_status describe_target(kiln_context *ctx, ir_target *t) {
  if (!cg_target_describe(ctx->triple, ctx->cpu, ctx->features, t, &ctx->sink))
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "cannot describe the target (triple %s, cpu %s, features %s)",
                    ctx->triple ? ctx->triple : "of this machine", ctx->cpu ? ctx->cpu : "of this machine",
                    ctx->features ? ctx->features : "default");
  return KILN_OK;
}

kiln_status kiln_context_describe_target(kiln_context *ctx, char **text) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!text) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_context_describe_target: NULL argument");
  *text = NULL;
  ir_target t;
  kiln_status s = describe_target(ctx, &t);
  if (s != KILN_OK) return s;
  char line[512];
  ir_target_str(&t, line, sizeof line);
  *text = strdup(line);
  return *text ? KILN_OK : api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
}

kiln_status kiln_model_optimize(kiln_model *m, const char *passes, const char *disable) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  kiln_context *ctx = m->ctx;
  api_begin(ctx);
  ir_target target;
  kiln_status ts = describe_target(ctx, &target);
  if (ts != KILN_OK) return ts;
  /* Once, before the passes' decisions: which target they were made for. */
  if (ctx->remarks) {
    char line[512];
    diag_emit(&ctx->sink, DIAG_REMARK, "target: %s", ir_target_str(&target, line, sizeof line));
  }
  pass_ctx pc = {0};
  pc.target = &target;
  pc.d = &ctx->sink;
  pc.verify = ctx->verify_passes;
  pc.remarks = ctx->remarks;
  pc.dump_pattern = ctx->dump_pattern;
  pc.dump = ctx->dump_fn ? dump_text : NULL;
  pc.dump_user = ctx;
  if (!pass_run(m->m, passes, disable, &pc))
    return api_fail(ctx, pc.oom ? KILN_ERR_OUT_OF_MEMORY : pc.failed ? KILN_ERR_INTERNAL : KILN_ERR_INVALID_ARGUMENT,
                    pc.oom ? "optimisation failed: out of memory" : "optimisation failed");
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
