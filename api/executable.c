/*
 * Executables (public API in include/kiln/kiln.h): compiled code, JIT'd in
 * this process (api/compile.c, codegen/cg_jit.c) or loaded from a shared
 * object made by `kiln compile`. Both kinds hand out the same description
 * (kiln/artifact.h: kiln_artifact_desc), which is checked once here so
 * that nothing later trusts a malformed one; every other function goes
 * through it, so the two kinds behave the same by construction.
 *
 * dlopen uses RTLD_NOW (missing symbols, e.g. a custom_call target the
 * program does not define, fail here with dlerror's message rather than in
 * the middle of a run) and RTLD_LOCAL (the artifact's symbols, identical in
 * every artifact for kiln_artifact_info, do not leak into the global scope).
 *
 * Thread safety: after creation an executable is never written to, except
 * through the description's set_num_threads (an atomic in the runtime), so
 * any number of threads may run it at once (kiln.h's concurrency rule).
 * The exception is an instrumented executable's trace hook
 * (api/instrument.c), which kiln.h says to set while nothing runs and to
 * run one call at a time with.
 *
 * Symbolic dimensions (kiln/artifact.h, "Symbolic dimensions"): a run at
 * actual input shapes (kiln_executable_run_shaped) derives the binding of
 * the symbols from those shapes here, before the code runs, so that a
 * refusal names the input, the dimension and the bound; the code checks
 * again (it cannot trust its caller) and is never reached with shapes that
 * do not fit. The dimensions that are expressions of symbols ("batch*49")
 * are read once, when the executable is made, from the description's shape
 * text into postfix, so that a run allocates nothing for them and writes
 * nothing in the executable.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "codegen/cg.h"
#include "kiln/artifact.h"
#include "runtime/rt_cpu.h"

/* The description up to and including num_threads: what every version-1
 * artifact has. The CPU fields after it were appended later. */
#define DESC_V1_SIZE (offsetof(kiln_artifact_desc, num_threads) + sizeof(void (*)(void)))
#define DESC_HAS(d, field) ((d)->size >= offsetof(kiln_artifact_desc, field) + sizeof((d)->field))

/* Refuses code this CPU cannot run, before anything of it runs: libkiln's
 * own copy of the runtime's check (runtime/rt_cpu.c) reads the features
 * the artifact records, so a broken or hostile artifact cannot vouch for
 * itself. Only x86-64 code on an x86-64 host is checked (elsewhere the
 * list is recorded, not checked); an artifact older than the fields is
 * accepted as before. */
static kiln_status check_cpu(kiln_context *ctx, const kiln_artifact_desc *d, const char *what) {
  if (!DESC_HAS(d, required_features) || !d->required_features || !d->target_triple ||
      strncmp(d->target_triple, "x86_64", 6) != 0)
    return KILN_OK;
  uint64_t have = rt_cpu_host_features();
  if (have == RT_CPU_UNKNOWN) return KILN_OK;
  int unknown = 0;
  uint64_t need = rt_cpu_parse(d->required_features, &unknown);
  if (unknown)
    return api_fail(ctx, KILN_ERR_UNSUPPORTED,
                    "%s: the artifact needs CPU features this kiln cannot check (%s); it was made by %s", what,
                    d->required_features, d->producer ? d->producer : "another kiln");
  size_t n = rt_cpu_missing_text(need, have, NULL, 0);
  if (n == 0) return KILN_OK;
  char *miss = malloc(n + 1);
  if (!miss) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  rt_cpu_missing_text(need, have, miss, n + 1);
  kiln_status s = api_fail(ctx, KILN_ERR_UNSUPPORTED, "%s: this CPU lacks %s needed by the artifact (built for %s)",
                           what, miss, d->target_cpu ? d->target_cpu : "another CPU");
  free(miss);
  return s;
}

static bool check_tensors(kiln_context *ctx, const char *what, const char *kind, const kiln_artifact_tensor *t,
                          uint32_t n, kiln_tensor_info **out) {
  *out = calloc((size_t)n + 1, sizeof **out);
  if (!*out) {
    api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    return false;
  }
  if (n && !t) {
    api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: the artifact lists %u %s but no descriptions", what, n, kind);
    return false;
  }
  for (uint32_t i = 0; i < n; i++) {
    if (!t[i].name || t[i].dtype < KILN_ARTIFACT_PRED || t[i].dtype > KILN_ARTIFACT_F64 || t[i].rank < 0 ||
        t[i].rank > KILN_MAX_RANK || (t[i].rank && !t[i].dims)) {
      api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: %s %u has an invalid description", what, kind, i);
      return false;
    }
    (*out)[i].name = t[i].name;
    (*out)[i].dtype = (kiln_dtype)t[i].dtype;
    (*out)[i].rank = t[i].rank;
    (*out)[i].dims = t[i].dims;
  }
  return true;
}

/* ---- symbolic dimensions: reading the description ---------------------- */

/* A dimension that is an expression of symbols, in postfix. */
typedef enum api_expr_opcode { X_CONST, X_SYM, X_ADD, X_SUB, X_MUL, X_DIV, X_NEG } api_expr_opcode;
typedef struct api_expr_op {
  api_expr_opcode op;
  int64_t v; /* X_CONST: the value; X_SYM: the symbol */
} api_expr_op;
/* Deeper than any expression the IR prints (at most 16 terms of 4 atoms). */
#define EXPR_STACK 64

/* One dimension of an input or output. */
typedef struct api_dim {
  int sym;           /* >= 0: that symbol alone; KILN_DIM_STATIC; KILN_DIM_EXPR */
  int64_t size;      /* static: the size; else its bound */
  const char *text;  /* its text ("batch*49", len bytes), NULL when the shape text was not understood */
  int len;
  uint32_t op0, nops; /* KILN_DIM_EXPR: expr_ops[op0 .. op0+nops); nops 0 when not understood */
} api_dim;

/* Postfix of an expression as ir_dexpr_str writes it: sums and
 * differences of terms, a term being factors joined by '*' or '/' (floor
 * division) read left to right, a factor an integer, a symbol's name or a
 * parenthesised sum; a sum may start with '-'. */
typedef struct xparse {
  const char *p, *end;
  const char *const *names;
  int nsyms, depth, sp, maxsp;
  api_expr_op *ops;
  uint32_t n, cap;
  bool oom;
} xparse;

static bool x_emit(xparse *x, api_expr_opcode op, int64_t v) {
  if (x->n == x->cap) {
    uint32_t nc = x->cap ? x->cap * 2 : 64;
    api_expr_op *no = realloc(x->ops, nc * sizeof *no);
    if (!no) {
      x->oom = true;
      return false;
    }
    x->ops = no;
    x->cap = nc;
  }
  x->ops[x->n++] = (api_expr_op){op, v};
  x->sp += op == X_CONST || op == X_SYM ? 1 : op == X_NEG ? 0 : -1;
  if (x->sp > x->maxsp) x->maxsp = x->sp;
  return true;
}

static bool is_ident(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static bool x_sum(xparse *x);

static bool x_factor(xparse *x) {
  if (x->p >= x->end) return false;
  char c = *x->p;
  if (c == '(') {
    if (++x->depth > 16) return false;
    x->p++;
    if (!x_sum(x) || x->p >= x->end || *x->p != ')') return false;
    x->p++;
    x->depth--;
    return true;
  }
  if (c >= '0' && c <= '9') {
    int64_t v = 0;
    for (; x->p < x->end && *x->p >= '0' && *x->p <= '9'; x->p++)
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *x->p - '0', &v)) return false;
    return x_emit(x, X_CONST, v);
  }
  if (!is_ident(c, true)) return false;
  const char *s = x->p;
  while (x->p < x->end && is_ident(*x->p, false)) x->p++;
  size_t n = (size_t)(x->p - s);
  for (int k = 0; k < x->nsyms; k++)
    if (strlen(x->names[k]) == n && !memcmp(x->names[k], s, n)) return x_emit(x, X_SYM, k);
  return false;
}

static bool x_term(xparse *x) {
  if (!x_factor(x)) return false;
  while (x->p < x->end && (*x->p == '*' || *x->p == '/')) {
    char op = *x->p++;
    if (!x_factor(x) || !x_emit(x, op == '*' ? X_MUL : X_DIV, 0)) return false;
  }
  return true;
}

static bool x_sum(xparse *x) {
  bool neg = x->p < x->end && *x->p == '-';
  if (neg) x->p++;
  if (!x_term(x) || (neg && !x_emit(x, X_NEG, 0))) return false;
  while (x->p < x->end && (*x->p == '+' || *x->p == '-')) {
    char op = *x->p++;
    if (!x_term(x) || !x_emit(x, op == '+' ? X_ADD : X_SUB, 0)) return false;
  }
  return true;
}

/* The value of a postfix expression at a binding; false on overflow (or
 * a malformed expression, which reading it rules out). */
static bool x_eval(const api_expr_op *ops, uint32_t n, const int64_t *binding, int64_t *out) {
  int64_t st[EXPR_STACK];
  int sp = 0;
  for (uint32_t i = 0; i < n; i++) {
    const api_expr_op *o = &ops[i];
    if (o->op == X_CONST || o->op == X_SYM) {
      if (sp == EXPR_STACK) return false;
      st[sp++] = o->op == X_CONST ? o->v : binding[o->v];
      continue;
    }
    if (o->op == X_NEG) {
      if (sp < 1 || st[sp - 1] == INT64_MIN) return false;
      st[sp - 1] = -st[sp - 1];
      continue;
    }
    if (sp < 2) return false;
    int64_t a = st[sp - 2], b = st[sp - 1], r;
    sp--;
    switch (o->op) {
      case X_ADD: if (__builtin_add_overflow(a, b, &r)) return false; break;
      case X_SUB: if (__builtin_sub_overflow(a, b, &r)) return false; break;
      case X_MUL: if (__builtin_mul_overflow(a, b, &r)) return false; break;
      default: /* X_DIV: floor division by a positive constant */
        if (b <= 0) return false;
        r = a / b - (a % b != 0 && a < 0);
        break;
    }
    st[sp - 1] = r;
  }
  if (sp != 1) return false;
  *out = st[0];
  return true;
}

/* "f32[1,3,224,224]": the shape text of a tensor whose description has
 * none (a static tensor of an artifact older than the field). */
static char *static_shape_text(const kiln_artifact_tensor *t) {
  size_t cap = 16 + (size_t)t->rank * 21, k;
  char *s = malloc(cap);
  if (!s) return NULL;
  k = (size_t)snprintf(s, cap, "%s[", kiln_dtype_name((kiln_dtype)t->dtype));
  for (int i = 0; i < t->rank && k < cap; i++) k += (size_t)snprintf(s + k, cap - k, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  if (k < cap) snprintf(s + k, cap - k, "]");
  return s;
}

/* Reads the dimensions of tensor number `ti` (inputs first) into
 * exe->dims: what each is and, for an expression, its postfix from the
 * shape text. False after reporting a malformed description. */
static bool read_tensor_dims(kiln_executable *exe, xparse *x, uint32_t ti, const kiln_artifact_tensor *t,
                             const int32_t *syms, const char *what, const char *kind, uint32_t i) {
  const kiln_artifact_desc *d = exe->desc;
  api_dim *dims = &exe->dims[(size_t)ti * KILN_MAX_RANK];
  /* The dimension texts: between '[' and the matching ']', split at the commas outside parentheses. */
  const char *text = exe->shape_text[ti], *part[KILN_MAX_RANK + 1];
  int nparts = 0;
  const char *p = strchr(text, '['), *q = NULL;
  if (p) {
    int depth = 0;
    part[nparts++] = ++p;
    for (q = p; *q && !(depth == 0 && *q == ']'); q++) {
      if (*q == '(') depth++;
      else if (*q == ')') depth--;
      else if (*q == ',' && depth == 0) {
        if (nparts == KILN_MAX_RANK) break; /* more dimensions than any shape has */
        part[nparts++] = q + 1;
      }
    }
    if (*q != ']' || (t->rank == 0 && q != p)) nparts = -1;
    else part[nparts] = q + 1; /* one past the ']' : each part ends one before the next begins */
  }
  bool texts = p && nparts == (t->rank ? t->rank : 1);
  for (int j = 0; j < t->rank; j++) {
    api_dim *dm = &dims[j];
    dm->sym = syms ? syms[j] : KILN_DIM_STATIC;
    dm->size = t->dims[j];
    if (texts) {
      dm->text = part[j];
      dm->len = (int)(part[j + 1] - part[j] - 1);
    }
    bool ok = dm->size >= 0;
    if (dm->sym >= 0) ok = ok && dm->sym < exe->nsyms && dm->size == d->symbol_bounds[dm->sym];
    else if (dm->sym == KILN_DIM_EXPR) ok = ok && exe->nsyms > 0;
    else ok = ok && dm->sym == KILN_DIM_STATIC;
    if (!ok) {
      api_fail(exe->ctx, KILN_ERR_INVALID_ARGUMENT, "%s: %s %u ('%s') dimension %d has an invalid description", what,
               kind, i, t->name, j);
      return false;
    }
    if (dm->sym != KILN_DIM_EXPR || !dm->text) continue;
    x->p = dm->text;
    x->end = dm->text + dm->len;
    x->depth = x->sp = x->maxsp = 0;
    uint32_t first = x->n;
    bool parsed = x_sum(x) && x->p == x->end && x->maxsp <= EXPR_STACK && x->sp == 1;
    if (x->oom) {
      api_fail(exe->ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
      return false;
    }
    if (parsed) {
      dm->op0 = first;
      dm->nops = x->n - first;
    } else {
      /* Not understood (another kiln's text?): the code's own check still holds; only the messages and
       * kiln_executable_output_dims lose this dimension. */
      x->n = first;
    }
  }
  return true;
}

/* Reads the description's symbols, the shape texts and every dimension
 * (see api_dim); false after reporting a malformed description. */
static bool read_symbols(kiln_executable *exe, const char *what) {
  const kiln_artifact_desc *d = exe->desc;
  uint32_t nin = d->num_inputs, nt = d->num_inputs + d->num_outputs;
  bool has_syms = DESC_HAS(d, run_shaped) && d->num_symbols > 0;
  bool has_text = DESC_HAS(d, output_shapes) && (nin == 0 || d->input_shapes) && (nt == nin || d->output_shapes);
  exe->dims = calloc((size_t)nt * KILN_MAX_RANK + 1, sizeof *exe->dims);
  exe->shape_text = calloc((size_t)nt + 1, sizeof *exe->shape_text);
  exe->shape_text_own = calloc((size_t)nt + 1, sizeof *exe->shape_text_own);
  if (!exe->dims || !exe->shape_text || !exe->shape_text_own) {
    api_fail(exe->ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
    return false;
  }
  if (has_syms) {
    bool ok = d->num_symbols <= (1u << 16) && d->symbol_names && d->symbol_bounds && d->run_shaped &&
              (nin == 0 || d->input_dim_symbols) && (nt == nin || d->output_dim_symbols);
    if (DESC_HAS(d, symbol_computed)) exe->computed = d->symbol_computed;
    for (uint32_t k = 0; ok && k < d->num_symbols; k++)
      ok = d->symbol_names[k] && d->symbol_names[k][0] &&
           d->symbol_bounds[k] >= (exe->computed && exe->computed[k] ? 0 : 1);
    if (!ok) {
      api_fail(exe->ctx, KILN_ERR_INVALID_ARGUMENT, "%s: the artifact's symbols are described invalidly", what);
      return false;
    }
    exe->nsyms = (int)d->num_symbols;
  }
  xparse x = {0};
  x.names = has_syms ? d->symbol_names : NULL;
  x.nsyms = exe->nsyms;
  bool ok = true;
  for (uint32_t ti = 0; ok && ti < nt; ti++) {
    bool in = ti < nin;
    uint32_t i = in ? ti : ti - nin;
    const kiln_artifact_tensor *t = in ? &d->inputs[i] : &d->outputs[i];
    const char *text = has_text ? (in ? d->input_shapes[i] : d->output_shapes[i]) : NULL;
    /* Row-major needs no layout: "f32[batch,16]{1,0}" is shown as "f32[batch,16]". */
    const char *brace = text ? strrchr(text, '{') : NULL;
    bool row_major = t->rank > 0 && t->minor_to_major;
    for (int j = 0; row_major && j < t->rank; j++) row_major = t->minor_to_major[j] == t->rank - 1 - j;
    if (brace && brace > text && brace[-1] == ']' && row_major) {
      text = exe->shape_text_own[ti] = strndup(text, (size_t)(brace - text));
      if (!text) {
        api_fail(exe->ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
        ok = false;
        break;
      }
    }
    if (!text) text = exe->shape_text_own[ti] = static_shape_text(t);
    if (!text) {
      api_fail(exe->ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
      ok = false;
      break;
    }
    exe->shape_text[ti] = text;
    const int32_t *syms = has_syms ? (in ? d->input_dim_symbols[i] : d->output_dim_symbols[i]) : NULL;
    if (has_syms && t->rank && !syms) {
      api_fail(exe->ctx, KILN_ERR_INVALID_ARGUMENT, "%s: %s %u ('%s') has no dimension symbols", what,
               in ? "input" : "output", i, t->name);
      ok = false;
      break;
    }
    ok = read_tensor_dims(exe, &x, ti, t, syms, what, in ? "input" : "output", i);
  }
  exe->expr_ops = x.ops;
  return ok;
}

void kiln_executable_destroy(kiln_executable *exe) {
  if (!exe) return;
  for (uint32_t t = 0; exe->shape_text_own && exe->desc && t < exe->desc->num_inputs + exe->desc->num_outputs; t++)
    free(exe->shape_text_own[t]);
  free(exe->shape_text_own);
  free(exe->shape_text);
  free(exe->dims);
  free(exe->expr_ops);
  free(exe->inputs);
  free(exe->outputs);
  free(exe->kernels);
  free(exe->kernel_outputs);
  free(exe->kernel_layouts);
  cg_jit_destroy(exe->jit);
  if (exe->dl) dlclose(exe->dl);
  free(exe);
}

kiln_status api_executable_init(kiln_executable *exe, const kiln_artifact_desc *d, const char *what,
                                kiln_executable **out) {
  kiln_context *ctx = exe->ctx;
  kiln_status s = KILN_OK;
  if (!d) s = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: kiln_artifact_info returned NULL", what);
  else if (d->abi_version != KILN_ARTIFACT_ABI_VERSION)
    s = api_fail(ctx, KILN_ERR_UNSUPPORTED, "%s: artifact ABI version %u, this kiln reads version %d", what,
                 d->abi_version, KILN_ARTIFACT_ABI_VERSION);
  else if (d->size < DESC_V1_SIZE)
    s = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: the artifact's description is %u bytes, expected at least %zu",
                 what, d->size, (size_t)DESC_V1_SIZE);
  else if (!d->name || !d->run || !d->set_num_threads || !d->num_threads)
    s = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s: the artifact's description is incomplete", what);
  else
    s = check_cpu(ctx, d, what);
  if (s == KILN_OK) {
    exe->desc = d;
    if (!check_tensors(ctx, what, "input", d->inputs, d->num_inputs, &exe->inputs) ||
        !check_tensors(ctx, what, "output", d->outputs, d->num_outputs, &exe->outputs) ||
        !api_executable_kernels(exe, what) || !read_symbols(exe, what))
      s = KILN_ERR_INVALID_ARGUMENT;
  }
  if (s != KILN_OK) {
    kiln_executable_destroy(exe);
    return ctx->have_error ? s : api_fail(ctx, s, "%s: invalid artifact", what);
  }
  if (ctx->num_threads > 0) d->set_num_threads(ctx->num_threads);
  *out = exe;
  return KILN_OK;
}

kiln_status kiln_executable_open(kiln_context *ctx, const char *path, kiln_executable **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!path || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_executable_open: NULL argument");
  *out = NULL;
  /* A name without '/' would be searched in the library path. */
  size_t n = strlen(path);
  char *p = malloc(n + 3);
  if (!p) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  if (strchr(path, '/')) memcpy(p, path, n + 1);
  else {
    memcpy(p, "./", 2);
    memcpy(p + 2, path, n + 1);
  }
  kiln_executable *exe = calloc(1, sizeof *exe);
  if (!exe) {
    free(p);
    return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  }
  exe->ctx = ctx;
  exe->dl = dlopen(p, RTLD_NOW | RTLD_LOCAL);
  free(p);
  if (!exe->dl) {
    const char *e = dlerror();
    kiln_executable_destroy(exe);
    return api_fail(ctx, KILN_ERR_IO, "cannot load %s: %s", path, e ? e : "dlopen failed");
  }
  void *sym = dlsym(exe->dl, KILN_ARTIFACT_INFO_SYMBOL);
  if (!sym) {
    kiln_executable_destroy(exe);
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "%s is not a kiln artifact (no %s)", path, KILN_ARTIFACT_INFO_SYMBOL);
  }
  kiln_artifact_info_fn info;
  memcpy(&info, &sym, sizeof info); /* object pointer to function pointer, as POSIX allows */
  return api_executable_init(exe, info(), path, out);
}

const char *kiln_executable_name(const kiln_executable *exe) { return exe ? exe->desc->name : NULL; }
const void *kiln_executable_description(const kiln_executable *exe) { return exe ? exe->desc : NULL; }
int kiln_executable_num_inputs(const kiln_executable *exe) { return exe ? (int)exe->desc->num_inputs : 0; }
int kiln_executable_num_outputs(const kiln_executable *exe) { return exe ? (int)exe->desc->num_outputs : 0; }

kiln_status kiln_executable_input(const kiln_executable *exe, int i, kiln_tensor_info *out) {
  if (!exe || !out || i < 0 || i >= (int)exe->desc->num_inputs) return KILN_ERR_INVALID_ARGUMENT;
  *out = exe->inputs[i];
  return KILN_OK;
}

kiln_status kiln_executable_output(const kiln_executable *exe, int i, kiln_tensor_info *out) {
  if (!exe || !out || i < 0 || i >= (int)exe->desc->num_outputs) return KILN_ERR_INVALID_ARGUMENT;
  *out = exe->outputs[i];
  return KILN_OK;
}

int kiln_executable_find_input(const kiln_executable *exe, const char *name) {
  for (int i = 0; exe && name && i < (int)exe->desc->num_inputs; i++)
    if (strcmp(exe->inputs[i].name, name) == 0) return i;
  return -1;
}

int kiln_executable_find_output(const kiln_executable *exe, const char *name) {
  for (int i = 0; exe && name && i < (int)exe->desc->num_outputs; i++)
    if (strcmp(exe->outputs[i].name, name) == 0) return i;
  return -1;
}

size_t kiln_executable_workspace_size(const kiln_executable *exe) {
  return exe ? (size_t)exe->desc->workspace_size : 0;
}

void kiln_executable_set_num_threads(kiln_executable *exe, int n) {
  if (exe) exe->desc->set_num_threads(n);
}

int kiln_executable_num_threads(const kiln_executable *exe) { return exe ? exe->desc->num_threads() : 0; }

static kiln_status artifact_status(int rc) {
  switch (rc) {
    case KILN_ARTIFACT_OK: return KILN_OK;
    case KILN_ARTIFACT_ERR_ARGUMENT: case KILN_ARTIFACT_ERR_ALIGNMENT: return KILN_ERR_INVALID_ARGUMENT;
    case KILN_ARTIFACT_ERR_MEMORY: return KILN_ERR_OUT_OF_MEMORY;
    case KILN_ARTIFACT_ERR_CPU: return KILN_ERR_UNSUPPORTED; /* only when the CPU changed under a checked executable */
    case KILN_ARTIFACT_ERR_SHAPE: return KILN_ERR_SHAPE;
    default: return KILN_ERR_RUNTIME;
  }
}

kiln_status kiln_executable_run(kiln_executable *exe, const void *const *inputs, void *const *outputs,
                                void *workspace) {
  if (!exe) return KILN_ERR_INVALID_ARGUMENT;
  return artifact_status(exe->desc->run(inputs, outputs, workspace));
}

/* ---- symbolic dimensions: the public functions and runs at actual shapes -- */

int kiln_executable_num_symbols(const kiln_executable *exe) { return exe ? exe->nsyms : 0; }

kiln_status kiln_executable_symbol(const kiln_executable *exe, int k, const char **name, int64_t *bound) {
  if (!exe || k < 0 || k >= exe->nsyms) return KILN_ERR_INVALID_ARGUMENT;
  if (name) *name = exe->desc->symbol_names[k];
  if (bound) *bound = exe->desc->symbol_bounds[k];
  return KILN_OK;
}

int kiln_executable_symbol_is_computed(const kiln_executable *exe, int k) {
  return exe && k >= 0 && k < exe->nsyms && exe->computed && exe->computed[k];
}

/* Dimension `dim` of input (out false) or output i, or NULL. */
static const api_dim *tensor_dim(const kiln_executable *exe, bool out, int i, int dim) {
  const kiln_artifact_desc *d = exe ? exe->desc : NULL;
  if (!d || i < 0 || i >= (int)(out ? d->num_outputs : d->num_inputs)) return NULL;
  const kiln_artifact_tensor *t = out ? &d->outputs[i] : &d->inputs[i];
  if (dim < 0 || dim >= t->rank) return NULL;
  return &exe->dims[((size_t)(out ? d->num_inputs + (uint32_t)i : (uint32_t)i)) * KILN_MAX_RANK + (size_t)dim];
}

int kiln_executable_input_dim_symbol(const kiln_executable *exe, int i, int dim) {
  const api_dim *dm = tensor_dim(exe, false, i, dim);
  return dm ? dm->sym : KILN_DIM_NONE;
}

int kiln_executable_output_dim_symbol(const kiln_executable *exe, int i, int dim) {
  const api_dim *dm = tensor_dim(exe, true, i, dim);
  return dm ? dm->sym : KILN_DIM_NONE;
}

const char *kiln_executable_input_shape(const kiln_executable *exe, int i) {
  return exe && i >= 0 && i < (int)exe->desc->num_inputs ? exe->shape_text[i] : NULL;
}

const char *kiln_executable_output_shape(const kiln_executable *exe, int i) {
  return exe && i >= 0 && i < (int)exe->desc->num_outputs ? exe->shape_text[exe->desc->num_inputs + (uint32_t)i] : NULL;
}

/* Writes a message into msg (cap bytes) and returns s. */
static kiln_status why(char *msg, size_t cap, kiln_status s, const char *fmt, ...) DIAG_PRINTF(4, 5);
static kiln_status why(char *msg, size_t cap, kiln_status s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, cap, fmt, ap);
  va_end(ap);
  return s;
}

/* Whether symbol k is a size the run sets. */
static bool is_computed(const kiln_executable *exe, int64_t k) {
  return exe->computed && k >= 0 && k < exe->nsyms && exe->computed[k];
}

/* Whether an input's dimension is or uses symbol k (a symbol no input
 * mentions is computed, or used nowhere: the code gives it its bound). */
static bool input_mentions(const kiln_executable *exe, int k) {
  const kiln_artifact_desc *d = exe->desc;
  for (uint32_t i = 0; i < d->num_inputs; i++)
    for (int j = 0; j < d->inputs[i].rank; j++) {
      const api_dim *dm = &exe->dims[(size_t)i * KILN_MAX_RANK + (size_t)j];
      if (dm->sym == k) return true;
      for (uint32_t q = 0; dm->sym == KILN_DIM_EXPR && q < dm->nops; q++)
        if (exe->expr_ops[dm->op0 + q].op == X_SYM && exe->expr_ops[dm->op0 + q].v == k) return true;
    }
  return false;
}

/* The binding (binding[k]: symbol k's value) that the actual input shapes
 * give, with every input dimension checked against it: a lone symbol in
 * [1, bound] and the same wherever it appears, a static dimension its
 * size, an expression its value. On a mismatch, KILN_ERR_SHAPE (or
 * KILN_ERR_INVALID_ARGUMENT for malformed shapes) with the reason in msg. */
static kiln_status derive_binding(const kiln_executable *exe, const kiln_tensor_info *shapes, int64_t *binding,
                                  char *msg, size_t cap) {
  const kiln_artifact_desc *d = exe->desc;
  for (int k = 0; k < exe->nsyms; k++) binding[k] = 0;
  for (uint32_t i = 0; i < d->num_inputs; i++) {
    const kiln_artifact_tensor *t = &d->inputs[i];
    const kiln_tensor_info *a = &shapes[i];
    if (a->rank != t->rank)
      return why(msg, cap, KILN_ERR_SHAPE, "input '%s' has rank %d, but the executable takes rank %d (%s)", t->name,
                 a->rank, t->rank, exe->shape_text[i]);
    if (a->rank && !a->dims)
      return why(msg, cap, KILN_ERR_INVALID_ARGUMENT, "input '%s': no dimensions given (NULL dims)", t->name);
    for (int j = 0; j < t->rank; j++) {
      const api_dim *dm = &exe->dims[(size_t)i * KILN_MAX_RANK + (size_t)j];
      int64_t v = a->dims[j];
      if (v < 0) return why(msg, cap, KILN_ERR_INVALID_ARGUMENT, "input '%s' dimension %d is negative (%lld)", t->name, j, (long long)v);
      if (dm->sym < 0) continue;
      const char *name = d->symbol_names[dm->sym];
      if (v < 1 || v > dm->size)
        return why(msg, cap, KILN_ERR_SHAPE, "input '%s' dimension %d (%s) is %lld, %s %lld (%s takes 1 to %lld)", t->name,
                   j, name, (long long)v, v < 1 ? "below" : "above its bound", (long long)(v < 1 ? 1 : dm->size), name,
                   (long long)dm->size);
      if (binding[dm->sym] == 0) {
        binding[dm->sym] = v;
        continue;
      }
      if (binding[dm->sym] == v) continue;
      /* Who bound it first, for the message. */
      for (uint32_t i2 = 0; i2 <= i; i2++)
        for (int j2 = 0; j2 < d->inputs[i2].rank; j2++)
          if (exe->dims[(size_t)i2 * KILN_MAX_RANK + (size_t)j2].sym == dm->sym)
            return why(msg, cap, KILN_ERR_SHAPE, "input '%s' dimension %d (%s) is %lld, but input '%s' dimension %d gave "
                       "%s = %lld", t->name, j, name, (long long)v, d->inputs[i2].name, j2, name,
                       (long long)binding[dm->sym]);
    }
  }
  for (int k = 0; k < exe->nsyms; k++)
    if (binding[k] == 0 && !is_computed(exe, k) && input_mentions(exe, k))
      return why(msg, cap, KILN_ERR_SHAPE, "no input dimension is the symbol '%s' alone, so the input shapes do not give "
                 "its value", d->symbol_names[k]);
  for (uint32_t i = 0; i < d->num_inputs; i++) {
    const kiln_artifact_tensor *t = &d->inputs[i];
    for (int j = 0; j < t->rank; j++) {
      const api_dim *dm = &exe->dims[(size_t)i * KILN_MAX_RANK + (size_t)j];
      int64_t v = shapes[i].dims[j], want;
      if (dm->sym == KILN_DIM_STATIC && v != dm->size)
        return why(msg, cap, KILN_ERR_SHAPE, "input '%s' dimension %d is %lld, but the executable takes %lld there (%s)",
                   t->name, j, (long long)v, (long long)dm->size, exe->shape_text[i]);
      if (dm->sym != KILN_DIM_EXPR) continue;
      if (dm->nops && x_eval(exe->expr_ops + dm->op0, dm->nops, binding, &want)) {
        if (v != want)
          return why(msg, cap, KILN_ERR_SHAPE, "input '%s' dimension %d is %lld, but %.*s = %lld from the other inputs",
                     t->name, j, (long long)v, dm->len, dm->text, (long long)want);
      } else if (v > dm->size) {
        /* An expression not understood here: the code checks it; the bound at least is known. */
        return why(msg, cap, KILN_ERR_SHAPE, "input '%s' dimension %d is %lld, above its bound %lld (%s)", t->name, j,
                   (long long)v, (long long)dm->size, exe->shape_text[i]);
      }
    }
  }
  return KILN_OK;
}


/* Output i's dimensions at a binding into dims; false when one is an
 * expression this reader did not understand or a size only a run gives. */
static bool output_dims_at(const kiln_executable *exe, uint32_t i, const int64_t *binding, int64_t *dims) {
  const kiln_artifact_tensor *t = &exe->desc->outputs[i];
  for (int j = 0; j < t->rank; j++) {
    const api_dim *dm = &exe->dims[((size_t)exe->desc->num_inputs + i) * KILN_MAX_RANK + (size_t)j];
    if (is_computed(exe, dm->sym)) return false;
    for (uint32_t q = 0; dm->sym == KILN_DIM_EXPR && q < dm->nops; q++)
      if (exe->expr_ops[dm->op0 + q].op == X_SYM && is_computed(exe, exe->expr_ops[dm->op0 + q].v)) return false;
    if (dm->sym == KILN_DIM_STATIC) dims[j] = dm->size;
    else if (dm->sym >= 0) dims[j] = binding[dm->sym];
    else if (!dm->nops || !x_eval(exe->expr_ops + dm->op0, dm->nops, binding, &dims[j])) return false;
  }
  return true;
}

/* Records msg in ctx (when there is one) and returns s. */
static kiln_status report(kiln_context *ctx, kiln_status s, const char *msg) {
  if (ctx) api_fail(ctx, s, "%s", msg);
  return s;
}

/* Small arrays on the stack, larger ones from malloc: a run allocates
 * nothing for models of a few inputs and symbols. */
#define STACK_SLOTS 16

kiln_status kiln_executable_output_dims(const kiln_executable *exe, const kiln_tensor_info *input_shapes,
                                        int64_t *const *output_dims, kiln_context *errors) {
  if (!exe) return KILN_ERR_INVALID_ARGUMENT;
  if (errors) api_begin(errors);
  const kiln_artifact_desc *d = exe->desc;
  if ((d->num_inputs && !input_shapes) || (d->num_outputs && !output_dims))
    return report(errors, KILN_ERR_INVALID_ARGUMENT, "kiln_executable_output_dims: NULL argument");
  int64_t stack[STACK_SLOTS], *binding = exe->nsyms <= STACK_SLOTS ? stack : malloc(sizeof(int64_t) * (size_t)exe->nsyms);
  if (!binding) return report(errors, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  char msg[1024];
  kiln_status s = derive_binding(exe, input_shapes, binding, msg, sizeof msg);
  for (uint32_t i = 0; s == KILN_OK && i < d->num_outputs; i++)
    if (output_dims[i] && !output_dims_at(exe, i, binding, output_dims[i]))
      s = why(msg, sizeof msg, KILN_ERR_UNSUPPORTED, "output '%s' (%s): its dimensions %s, so they are known only after a "
              "run (kiln_executable_run_shaped reports them)", d->outputs[i].name, exe->shape_text[d->num_inputs + i],
              exe->computed ? "may depend on values (a size the run computes) or use an expression this kiln cannot read"
                            : "use an expression this kiln cannot read");
  if (binding != stack) free(binding);
  return s == KILN_OK ? KILN_OK : report(errors, s, msg);
}

kiln_status kiln_executable_run_shaped(kiln_executable *exe, const void *const *inputs,
                                       const kiln_tensor_info *input_shapes, void *const *outputs,
                                       int64_t *const *output_dims, void *workspace, kiln_context *errors) {
  if (!exe) return KILN_ERR_INVALID_ARGUMENT;
  if (errors) api_begin(errors);
  const kiln_artifact_desc *d = exe->desc;
  if (d->num_inputs && !input_shapes)
    return report(errors, KILN_ERR_INVALID_ARGUMENT, "kiln_executable_run_shaped: no input shapes");
  size_t ni = d->num_inputs, ns = (size_t)exe->nsyms;
  int64_t bstack[STACK_SLOTS], *binding = ns <= STACK_SLOTS ? bstack : malloc(sizeof(int64_t) * ns);
  const int64_t *dstack[STACK_SLOTS], **idims = ni <= STACK_SLOTS ? dstack : malloc(sizeof(int64_t *) * ni);
  kiln_status s = KILN_OK;
  char msg[1024];
  if (!binding || !idims) s = why(msg, sizeof msg, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  else s = derive_binding(exe, input_shapes, binding, msg, sizeof msg);
  if (s == KILN_OK) {
    for (size_t i = 0; i < ni; i++) idims[i] = input_shapes[i].dims;
    if (DESC_HAS(d, run_shaped) && d->run_shaped) {
      s = artifact_status(d->run_shaped(inputs, idims, outputs, output_dims, workspace));
    } else {
      /* An artifact older than run_shaped is static: the shapes were checked to be its own. */
      s = artifact_status(d->run(inputs, outputs, workspace));
      for (uint32_t i = 0; s == KILN_OK && output_dims && i < d->num_outputs; i++)
        if (output_dims[i]) memcpy(output_dims[i], d->outputs[i].dims, sizeof(int64_t) * (size_t)d->outputs[i].rank);
    }
    int ncomputed = 0;
    for (int q = 0; q < exe->nsyms; q++) ncomputed += is_computed(exe, q);
    if (s == KILN_ERR_SHAPE && ncomputed) {
      /* The inputs fit: a size computed from values was out of its range
       * (the code does not say which). */
      size_t k = (size_t)snprintf(msg, sizeof msg, "a size the run computes from values was outside its range (%s",
                                  ncomputed > 1 ? "one of " : "");
      for (int q = 0, first = 1; q < exe->nsyms && k < sizeof msg; q++) {
        if (!is_computed(exe, q)) continue;
        k += (size_t)snprintf(msg + k, sizeof msg - k, "%s%s in [0, %lld]", first ? "" : ", ", d->symbol_names[q],
                              (long long)d->symbol_bounds[q]);
        first = 0;
      }
      if (k < sizeof msg)
        snprintf(msg + k, sizeof msg - k, "): a value beyond what its op allows (a TopK's k above its axis) or beyond "
                 "the --max-shape bound given for it; or a check of the values that decide such sizes failed (a "
                 "Reshape's shape input giving another element count, ...)");
    } else if (s == KILN_ERR_SHAPE) {
      why(msg, sizeof msg, s, "the run was refused (KILN_ARTIFACT_ERR_SHAPE) though the input shapes fit the executable's "
          "description: a check of input values failed (an RNN's sequence_lens shorter than the sequence, ...)");
    }
    else if (s != KILN_OK)
      why(msg, sizeof msg, s, "the run failed: %s", kiln_status_name(s));
  }
  if (binding && binding != bstack) free(binding);
  if (idims && idims != dstack) free(idims);
  return s == KILN_OK ? KILN_OK : report(errors, s, msg);
}
