/* Shared helpers of the `kiln` command line (see cli.h). */
#include "tools/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("kiln: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* Diagnostics already went to stderr through the callback; only report the
 * failure itself when nothing was printed. */
static bool printed_error;
/* Whether the context made by cli_context shows remarks (the CLI makes one
 * context a process; cli_load_model swaps its callback and restores it). */
static bool show_remarks;

int cli_fail(kiln_context *ctx, const char *what) {
  if (!printed_error) {
    const char *e = ctx ? kiln_context_last_error(ctx) : "";
    cli_error("%s", e && e[0] ? e : what);
  }
  return 1;
}

bool cli_positional(const char *cmd, const char *what, const char *arg, const char **pos) {
  if (arg[0] == '-' && arg[1]) {
    cli_error("%s: unknown option '%s' (see kiln %s --help)", cmd, arg, cmd);
    return false;
  }
  if (*pos) {
    cli_error("%s: more than one %s", cmd, what);
    return false;
  }
  *pos = arg;
  return true;
}

bool cli_need_positional(const char *cmd, const char *what, const char *pos) {
  if (pos) return true;
  cli_error("%s: no %s (see kiln %s --help)", cmd, what, cmd);
  return false;
}

bool cli_write_file(const char *path, const void *data, size_t len) {
  FILE *f = path ? fopen(path, "wb") : stdout;
  if (!f) {
    cli_error("cannot create %s: %s", path, strerror(errno));
    return false;
  }
  bool ok = fwrite(data, 1, len, f) == len;
  if (path) ok = fclose(f) == 0 && ok;
  if (!ok) {
    cli_error("write error on %s", path ? path : "standard output");
    if (path) remove(path); /* no truncated file left behind */
  }
  return ok;
}

static void to_stderr(void *user, kiln_diag_level level, const char *msg) {
  bool remarks = user != NULL;
  static const char *names[] = {"error", "warning", "note", "remark"};
  if (level == KILN_DIAG_REMARK && !remarks) return;
  if (level == KILN_DIAG_ERROR) printed_error = true;
  fprintf(stderr, "kiln: %s: %s\n", names[level], msg);
}

kiln_context *cli_context(bool remarks) {
  kiln_context *ctx;
  if (kiln_context_create(&ctx) != KILN_OK) {
    cli_error("cannot create a context (out of memory)");
    exit(1);
  }
  show_remarks = remarks;
  kiln_context_set_diagnostics(ctx, to_stderr, remarks ? (void *)1 : NULL);
  return ctx;
}

void cli_dump_to_stderr(void *user, const char *pass, const char *text) {
  (void)user;
  fprintf(stderr, "// ---- IR after %s ----\n%s", pass, text);
}

bool cli_flag_value(int argc, char **argv, int *i, const char *flag, const char **value) {
  size_t n = strlen(flag);
  const char *a = argv[*i];
  if (strncmp(a, flag, n) != 0) return false;
  if (a[n] == '=') {
    *value = a + n + 1;
    return true;
  }
  if (a[n] != 0) return false;
  if (*i + 1 >= argc) {
    cli_error("%s needs a value", flag);
    exit(2);
  }
  *value = argv[++*i];
  return true;
}

bool cli_flag_once(int argc, char **argv, int *i, const char *flag, const char **value) {
  const char *v;
  if (!cli_flag_value(argc, argv, i, flag, &v)) return false;
  if (*value) {
    cli_error("%s is given twice ('%s' and '%s')", flag, *value, v);
    exit(2);
  }
  *value = v;
  return true;
}

bool cli_parse_int(const char *flag, const char *s, long long min, long long max, long long *out) {
  /* strtoll alone would take " 12", "+12", "12abc" (as 12) and "abc" (as 0). */
  bool ok = (s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && s[1] >= '0' && s[1] <= '9');
  long long v = 0;
  if (ok) {
    char *end;
    errno = 0;
    v = strtoll(s, &end, 10);
    ok = errno == 0 && *end == 0 && v >= min && v <= max;
  }
  if (!ok) {
    cli_error("%s takes a whole number from %lld to %lld (got '%s')", flag, min, max, s);
    return false;
  }
  *out = v;
  return true;
}

/* Records one --input-shape or --max-shape spec v (flag `flag`) in
 * list/n after checking it; 1, or -1 after reporting. */
static int shape_option(const char *flag, const char *v, const char **list, int *n) {
  const char *eq = strrchr(v, '=');
  int rank;
  int64_t dims[KILN_MAX_RANK];
  if (!eq || eq == v || !cli_parse_dims(eq + 1, &rank, dims)) {
    cli_error("%s needs NAME=DIMS, e.g. input=%s (got '%s')", flag,
              strcmp(flag, "--max-shape") ? "1x3x224x224" : "64x3x224x224", v);
    return -1;
  }
  for (int k = 0; k < *n; k++)
    if (!strncmp(list[k], v, (size_t)(eq - v) + 1)) {
      cli_error("%s is given twice for input '%.*s'", flag, (int)(eq - v), v);
      return -1;
    }
  if (*n == 64) {
    cli_error("too many %s options", flag);
    return -1;
  }
  list[(*n)++] = v;
  return 1;
}

/* Whether spec (NAME=...) names an input that one of list's specs names. */
static bool names_same_input(const char *const *list, int n, const char *spec) {
  const char *eq = strrchr(spec, '=');
  for (int k = 0; eq && k < n; k++)
    if (!strncmp(list[k], spec, (size_t)(eq - spec) + 1)) return true;
  return false;
}

int cli_model_option(int argc, char **argv, int *i, unsigned accept, cli_model_opts *o) {
  const char *a = argv[*i], *v;
  if ((accept & CLI_MOPT_SHAPE) && cli_flag_value(argc, argv, i, "--input-shape", &v)) {
    if (shape_option("--input-shape", v, o->shapes, &o->nshapes) < 0) return -1;
    if (names_same_input(o->max_shapes, o->nmax, v)) {
      cli_error("--input-shape and --max-shape both name input '%.*s': fix its shape or bound it, not both",
                (int)(strrchr(v, '=') - v), v);
      return -1;
    }
  } else if ((accept & CLI_MOPT_SHAPE) && cli_flag_value(argc, argv, i, "--max-shape", &v)) {
    if (shape_option("--max-shape", v, o->max_shapes, &o->nmax) < 0) return -1;
    if (names_same_input(o->shapes, o->nshapes, v)) {
      cli_error("--input-shape and --max-shape both name input '%.*s': fix its shape or bound it, not both",
                (int)(strrchr(v, '=') - v), v);
      return -1;
    }
  } else if ((accept & CLI_MOPT_PASSES) && cli_flag_once(argc, argv, i, "--passes", &o->passes)) {
  } else if ((accept & CLI_MOPT_PASSES) && cli_flag_once(argc, argv, i, "--disable-pass", &o->disable)) {
  } else if ((accept & CLI_MOPT_DUMP) && cli_flag_once(argc, argv, i, "--dump-after", &o->dump)) {
  } else if ((accept & CLI_MOPT_ELIDE) && !strcmp(a, "--elide-constants")) {
    o->print_flags |= KILN_PRINT_ELIDE_CONSTANTS;
  } else if ((accept & CLI_MOPT_REMARKS) && !strcmp(a, "--remarks")) {
    o->remarks = true;
  } else {
    return 0;
  }
  if (!o->first) o->first = a;
  return 1;
}

kiln_context *cli_model_context(const cli_model_opts *o) {
  kiln_context *ctx = cli_context(o->remarks);
  kiln_context_set_remarks(ctx, o->remarks);
  if (o->dump) kiln_context_set_ir_dump(ctx, o->dump, cli_dump_to_stderr, NULL);
  for (int k = 0; k < o->nshapes; k++)
    if (!cli_bind_shape(ctx, o->shapes[k])) exit(1); /* checked when parsed: only out of memory is left */
  for (int k = 0; k < o->nmax; k++)
    if (!cli_bound_shape(ctx, o->max_shapes[k])) exit(1);
  return ctx;
}

/* Diagnostics held back during a first attempt at loading a model. */
typedef struct held_diags {
  int n;
  kiln_diag_level level[32];
  char *msg[32];
} held_diags;

static void hold(void *user, kiln_diag_level level, const char *msg) {
  held_diags *h = user;
  if (h->n < 32 && (h->msg[h->n] = strdup(msg)) != NULL) h->level[h->n++] = level;
}

static void release(held_diags *h, bool print) {
  for (int k = 0; k < h->n; k++) {
    if (print) to_stderr(show_remarks ? (void *)1 : NULL, h->level[k], h->msg[k]);
    free(h->msg[k]);
  }
  h->n = 0;
}

/* Whether --input-shape or --max-shape gives the shape of the input that
 * --input spec NAME=FILE names: its file's shape is then not bound. */
static bool shape_given(const cli_model_opts *o, const char *spec) {
  return names_same_input(o->shapes, o->nshapes, spec) || names_same_input(o->max_shapes, o->nmax, spec);
}

/* Loads the model, binding the shapes of --input files to the inputs no
 * shape option names when it does not load without (see cli.h). */
static kiln_status load_with_file_shapes(kiln_context *ctx, const char *path, const cli_model_opts *o, int nspecs,
                                         char **specs, kiln_model **out) {
  int nfrom = 0;
  for (int s = 0; s < nspecs; s++) {
    const char *eq = strrchr(specs[s], '=');
    nfrom += eq && eq != specs[s] && eq[1] && !shape_given(o, specs[s]);
  }
  if (!nfrom) return kiln_model_load_file(ctx, path, out);
  /* Most models have static shapes: try without binding anything, and
   * only when that fails on a shape bind the files' shapes and retry. */
  held_diags h = {0};
  kiln_context_set_diagnostics(ctx, hold, &h);
  kiln_status st = kiln_model_load_file(ctx, path, out);
  kiln_context_set_diagnostics(ctx, to_stderr, show_remarks ? (void *)1 : NULL);
  release(&h, st != KILN_ERR_SHAPE);
  if (st != KILN_ERR_SHAPE) return st;
  for (int s = 0; s < nspecs; s++) {
    const char *eq = strrchr(specs[s], '=');
    if (!eq || eq == specs[s] || !eq[1] || shape_given(o, specs[s])) continue;
    npy_array a;
    char err[1024], dims[256];
    if (!npy_read_header(eq + 1, NPY_UNTYPED2_AS_BF16, &a, err, sizeof err)) {
      cli_error("input '%.*s': %s", (int)(eq - specs[s]), specs[s], err);
      printed_error = true;
      return KILN_ERR_IO;
    }
    char *name = strndup(specs[s], (size_t)(eq - specs[s]));
    if (!name || kiln_context_bind_input_shape(ctx, name, a.rank, a.dims) != KILN_OK) {
      free(name);
      return KILN_ERR_OUT_OF_MEMORY;
    }
    cli_dims_str(a.rank, a.dims, dims, sizeof dims);
    fprintf(stderr, "kiln: note: input '%s': shape %s taken from %s (no --input-shape for it)\n", name, dims, eq + 1);
    free(name);
  }
  return kiln_model_load_file(ctx, path, out);
}

/* Makes a symbolic model static at the shapes of the --input files. An
 * input without a file keeps the model's shape (its bounds); the missing
 * file is reported when the inputs are read. */
static kiln_status bind_file_shapes(kiln_model *m, int nspecs, char **specs) {
  int n = kiln_model_num_inputs(m);
  kiln_tensor_info *info = cli_model_inputs(m);
  npy_array *hdr = calloc((size_t)n + 1, sizeof *hdr);
  kiln_status st = KILN_OK;
  if (!info || !hdr) st = KILN_ERR_OUT_OF_MEMORY;
  for (int s = 0; s < nspecs && st == KILN_OK; s++) {
    const char *eq = strrchr(specs[s], '=');
    if (!eq || eq == specs[s] || !eq[1]) continue; /* malformed: reported when the inputs are read */
    int idx = -1;
    for (int i = 0; i < n; i++)
      if (strlen(info[i].name) == (size_t)(eq - specs[s]) && !memcmp(info[i].name, specs[s], (size_t)(eq - specs[s])))
        idx = i;
    if (idx < 0) continue; /* an unknown input: the same */
    char err[1024];
    if (!npy_read_header(eq + 1, NPY_UNTYPED2_AS_BF16, &hdr[idx], err, sizeof err)) {
      cli_error("input '%s': %s", info[idx].name, err);
      printed_error = true;
      st = KILN_ERR_IO;
      break;
    }
    info[idx].rank = hdr[idx].rank;
    info[idx].dims = hdr[idx].dims;
  }
  if (st == KILN_OK) st = kiln_model_bind_shapes(m, n, info);
  free(hdr);
  free(info);
  return st;
}

kiln_status cli_load_model(kiln_context *ctx, const char *path, const cli_model_opts *o, int nspecs, char **specs,
                           kiln_model **out) {
  kiln_status st = load_with_file_shapes(ctx, path, o, nspecs, specs, out);
  if (st != KILN_OK || !nspecs || !kiln_model_is_symbolic(*out)) return st;
  st = bind_file_shapes(*out, nspecs, specs);
  if (st != KILN_OK) {
    kiln_model_destroy(*out);
    *out = NULL;
  }
  return st;
}

bool cli_check_output_path(const char *cmd, const char *what, const char *path) {
  struct stat st;
  if (!*path) {
    cli_error("%s: the %s path is empty", cmd, what);
    return false;
  }
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      cli_error("%s: cannot write the %s %s: it is a folder (give a file name)", cmd, what, path);
      return false;
    }
    if (access(path, W_OK) != 0) {
      cli_error("%s: cannot write the %s %s: %s", cmd, what, path, strerror(errno));
      return false;
    }
  }
  /* Its folder: everything before the last '/' ("/" for "/x", "." for "x"). */
  const char *slash = strrchr(path, '/');
  char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  if (!dir) return false;
  bool ok = false;
  if (stat(dir, &st) != 0) cli_error("%s: cannot write the %s %s: folder %s: %s", cmd, what, path, dir, strerror(errno));
  else if (!S_ISDIR(st.st_mode)) cli_error("%s: cannot write the %s %s: %s is not a folder", cmd, what, path, dir);
  else if (access(dir, W_OK | X_OK) != 0)
    cli_error("%s: cannot write the %s %s: folder %s: %s", cmd, what, path, dir, strerror(errno));
  else ok = true;
  free(dir);
  return ok;
}

char *cli_stem(const char *path) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  const char *dot = strrchr(b, '.');
  /* A leading dot (".hidden") is part of the name, not an extension. */
  size_t n = dot && dot != b ? (size_t)(dot - b) : strlen(b);
  return strndup(b, n);
}

void cli_symbol_name(const char *path, char *buf, size_t n) {
  char *stem = cli_stem(path);
  const char *src = stem && *stem ? stem : "model";
  size_t k = 0;
  if (*src >= '0' && *src <= '9') buf[k++] = '_';
  for (const char *p = src; *p && k + 8 < n && k < 56; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    buf[k++] = ok ? c : '_';
  }
  buf[k] = 0;
  if (!strcmp(buf, "artifact") || !strcmp(buf, "executable")) strcat(buf, "_model");
  free(stem);
}

bool cli_parse_dims(const char *s, int *rank, int64_t *dims) {
  *rank = 0;
  if (!*s || strcmp(s, "scalar") == 0) return true;
  const char *p = s;
  for (;;) {
    if (*rank == KILN_MAX_RANK) return false;
    char *end;
    errno = 0;
    if (*p < '0' || *p > '9') return false;
    long long v = strtoll(p, &end, 10);
    if (errno || end == p || v < 0) return false;
    dims[(*rank)++] = v;
    if (*end == 0) return true;
    if (*end != 'x' && *end != ',') return false;
    p = end + 1;
  }
}

/* cli_bind_shape and cli_bound_shape: one spec through `fn`. */
static bool apply_shape(kiln_context *ctx, const char *spec, const char *flag,
                        kiln_status (*fn)(kiln_context *, const char *, int, const int64_t *)) {
  const char *eq = strrchr(spec, '=');
  int rank;
  int64_t dims[KILN_MAX_RANK];
  if (!eq || eq == spec || !cli_parse_dims(eq + 1, &rank, dims)) {
    cli_error("%s needs NAME=DIMS, e.g. input=1x3x224x224 (got '%s')", flag, spec);
    return false;
  }
  char *name = strndup(spec, (size_t)(eq - spec));
  if (!name) return false;
  kiln_status s = fn(ctx, name, rank, dims);
  free(name);
  if (s != KILN_OK) {
    cli_fail(ctx, "cannot apply the input shape");
    return false;
  }
  return true;
}

bool cli_bind_shape(kiln_context *ctx, const char *spec) {
  return apply_shape(ctx, spec, "--input-shape", kiln_context_bind_input_shape);
}

bool cli_bound_shape(kiln_context *ctx, const char *spec) {
  return apply_shape(ctx, spec, "--max-shape", kiln_context_bound_input_shape);
}

void cli_dims_str(int rank, const int64_t *dims, char *buf, size_t n) {
  size_t k = 0;
  k += (size_t)snprintf(buf + k, n - k, "[");
  for (int i = 0; i < rank && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
}

void cli_shape_str(kiln_dtype t, int rank, const int64_t *dims, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "%s", kiln_dtype_name(t));
  if (k < n) cli_dims_str(rank, dims, buf + k, n - k);
}

kiln_tensor_info *cli_model_inputs(const kiln_model *m) {
  int n = kiln_model_num_inputs(m);
  kiln_tensor_info *t = calloc((size_t)n + 1, sizeof *t);
  for (int i = 0; t && i < n; i++) kiln_model_input(m, i, &t[i]);
  return t;
}

kiln_tensor_info *cli_model_outputs(const kiln_model *m) {
  int n = kiln_model_num_outputs(m);
  kiln_tensor_info *t = calloc((size_t)n + 1, sizeof *t);
  for (int i = 0; t && i < n; i++) kiln_model_output(m, i, &t[i]);
  return t;
}

/* cli_load_inputs and cli_load_inputs_shaped: with `text` (each input's
 * shape as text, symbols and their ranges) only the element type is
 * checked, the dimensions being the executable's to check. */
static bool load_inputs(int ninfo, const kiln_tensor_info *info, const char *const *text, int nspecs, char **specs,
                        cli_inputs *out) {
  memset(out, 0, sizeof *out);
  out->n = ninfo;
  out->arrays = calloc((size_t)ninfo + 1, sizeof *out->arrays);
  out->ptrs = calloc((size_t)ninfo + 1, sizeof *out->ptrs);
  if (!out->arrays || !out->ptrs) {
    cli_error("out of memory");
    return false;
  }
  bool ok = true, usage = false;
  for (int s = 0; s < nspecs && ok; s++) {
    /* Input names may contain '='; the file is after the last one. */
    const char *eq = strrchr(specs[s], '=');
    if (!eq || eq == specs[s] || !eq[1]) {
      cli_error("--input needs NAME=FILE.npy (got '%s')", specs[s]);
      ok = false;
      usage = true;
      break;
    }
    size_t nl = (size_t)(eq - specs[s]);
    int idx = -1;
    for (int i = 0; i < ninfo; i++)
      if (strlen(info[i].name) == nl && memcmp(info[i].name, specs[s], nl) == 0) idx = i;
    if (idx < 0) {
      cli_error("the model has no input named '%.*s'; its inputs are:", (int)nl, specs[s]);
      for (int i = 0; i < ninfo; i++) fprintf(stderr, "  %s\n", info[i].name);
      ok = false;
      usage = true;
      break;
    }
    if (out->ptrs[idx]) {
      cli_error("input '%s' is given twice", info[idx].name);
      ok = false;
      usage = true;
      break;
    }
    char err[1024];
    npy_array *a = &out->arrays[idx];
    if (!npy_read_file_ex(eq + 1, info[idx].dtype == KILN_BF16 ? NPY_UNTYPED2_AS_BF16 : 0, a, err, sizeof err)) {
      cli_error("input '%s': %s", info[idx].name, err);
      ok = false;
      break;
    }
    bool same = a->rank == info[idx].rank;
    for (int d = 0; same && d < a->rank; d++) same = a->dims[d] == info[idx].dims[d];
    if (a->dtype != info[idx].dtype || (!same && !text)) {
      char want[256], got[256];
      cli_shape_str(info[idx].dtype, info[idx].rank, info[idx].dims, want, sizeof want);
      cli_shape_str(a->dtype, a->rank, a->dims, got, sizeof got);
      cli_error("input '%s': the model takes %s, %s holds %s", info[idx].name, text ? text[idx] : want, eq + 1, got);
      ok = false;
      break;
    }
    out->ptrs[idx] = a->data;
  }
  for (int i = 0; ok && i < ninfo; i++) {
    if (!out->ptrs[i]) {
      char want[256];
      cli_shape_str(info[i].dtype, info[i].rank, info[i].dims, want, sizeof want);
      cli_error("no value for input '%s' (%s): pass --input %s=FILE.npy", info[i].name, text ? text[i] : want,
                info[i].name);
      ok = false;
      usage = true;
    }
  }
  if (!ok) cli_free_inputs(out);
  out->usage_error = usage;
  return ok;
}

bool cli_load_inputs(int ninfo, const kiln_tensor_info *info, int nspecs, char **specs, cli_inputs *out) {
  return load_inputs(ninfo, info, NULL, nspecs, specs, out);
}

bool cli_load_inputs_shaped(int ninfo, const kiln_tensor_info *info, const char *const *text, int nspecs, char **specs,
                            cli_inputs *out) {
  return load_inputs(ninfo, info, text, nspecs, specs, out);
}

void cli_free_inputs(cli_inputs *in) {
  for (int i = 0; in->arrays && i < in->n; i++) npy_free(&in->arrays[i]);
  free(in->arrays);
  free(in->ptrs);
  memset(in, 0, sizeof *in);
}

void cli_outputs_at_dims(kiln_tensor_info *info, cli_outputs *out) {
  for (int i = 0; i < out->n; i++) {
    /* Dense at the actual dimensions: the first elements of the buffer. */
    npy_array *o = &out->arrays[i];
    size_t n = kiln_dtype_size(o->dtype);
    for (int d = 0; d < o->rank; d++) n *= (size_t)o->dims[d];
    o->nbytes = n;
    info[i].dims = o->dims;
  }
}

bool cli_alloc_outputs(int ninfo, const kiln_tensor_info *info, cli_outputs *out) {
  memset(out, 0, sizeof *out);
  out->n = ninfo;
  out->arrays = calloc((size_t)ninfo + 1, sizeof *out->arrays);
  out->ptrs = calloc((size_t)ninfo + 1, sizeof *out->ptrs);
  if (!out->arrays || !out->ptrs) goto oom;
  for (int i = 0; i < ninfo; i++) {
    npy_array *a = &out->arrays[i];
    a->dtype = info[i].dtype;
    a->rank = info[i].rank;
    size_t n = kiln_dtype_size(a->dtype);
    for (int d = 0; d < a->rank; d++) {
      a->dims[d] = info[i].dims[d];
      n *= (size_t)a->dims[d];
    }
    a->nbytes = n;
    a->data = calloc(n ? n : 1, 1);
    if (!a->data) goto oom;
    out->ptrs[i] = a->data;
  }
  return true;
oom:
  cli_error("out of memory allocating the outputs");
  cli_free_outputs(out);
  return false;
}

void cli_free_outputs(cli_outputs *o) {
  for (int i = 0; o->arrays && i < o->n; i++) npy_free(&o->arrays[i]);
  free(o->arrays);
  free(o->ptrs);
  memset(o, 0, sizeof *o);
}

/* Output names become file names: anything but [A-Za-z0-9._-] becomes '_',
 * and a leading '.' too (no hidden files, no "..") */
static void file_name(const char *name, char *buf, size_t n) {
  size_t k = 0;
  for (const char *p = name; *p && k + 5 < n; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              (c == '.' && k > 0);
    buf[k++] = ok ? c : '_';
  }
  if (k == 0) buf[k++] = '_';
  memcpy(buf + k, ".npy", 5);
}

/* mkdir -p: creates dir and any missing parents. */
static int mkdir_p(const char *dir) {
  char path[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(path, dir, n + 1);
  for (size_t i = 1; i < n; i++) {
    if (path[i] != '/') continue;
    path[i] = 0;
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
    path[i] = '/';
  }
  if (mkdir(path, 0777) != 0 && errno != EEXIST) return -1;
  return 0;
}

bool cli_write_outputs(const kiln_tensor_info *info, const cli_outputs *o, const char *dir) {
  if (mkdir_p(dir) != 0) {
    cli_error("cannot create output directory %s: %s", dir, strerror(errno));
    return false;
  }
  char **written = calloc((size_t)o->n + 1, sizeof *written);
  if (!written) return false;
  bool ok = true;
  for (int i = 0; i < o->n && ok; i++) {
    char fname[512];
    file_name(info[i].name, fname, sizeof fname);
    size_t pl = strlen(dir) + strlen(fname) + 2;
    char *path = malloc(pl);
    if (!path) {
      ok = false;
      break;
    }
    snprintf(path, pl, "%s/%s", dir, fname);
    for (int j = 0; j < i; j++)
      if (written[j] && strcmp(written[j], path) == 0) {
        cli_error("outputs '%s' and '%s' map to the same file %s", info[j].name, info[i].name, path);
        ok = false;
      }
    char err[1024];
    if (ok && !npy_write_file(path, &o->arrays[i], err, sizeof err)) {
      cli_error("%s", err);
      ok = false;
    }
    if (ok) written[i] = path;
    else free(path);
  }
  for (int i = 0; i < o->n; i++) {
    if (!ok && written[i]) unlink(written[i]);
    free(written[i]);
  }
  free(written);
  return ok;
}

static void print_value(kiln_dtype t, const void *data, int64_t i) {
  switch (t) {
    case KILN_PRED: printf("%s", ((const uint8_t *)data)[i] ? "true" : "false"); break;
    case KILN_I8: printf("%d", ((const int8_t *)data)[i]); break;
    case KILN_I16: printf("%d", ((const int16_t *)data)[i]); break;
    case KILN_I32: printf("%d", ((const int32_t *)data)[i]); break;
    case KILN_I64: printf("%lld", (long long)((const int64_t *)data)[i]); break;
    case KILN_U8: printf("%u", ((const uint8_t *)data)[i]); break;
    case KILN_U16: printf("%u", ((const uint16_t *)data)[i]); break;
    case KILN_U32: printf("%u", ((const uint32_t *)data)[i]); break;
    case KILN_U64: printf("%llu", (unsigned long long)((const uint64_t *)data)[i]); break;
    case KILN_F32: printf("%.6g", ((const float *)data)[i]); break;
    case KILN_F64: printf("%.6g", ((const double *)data)[i]); break;
    case KILN_F16: printf("%.6g", npy_f16_to_double(((const uint16_t *)data)[i])); break;
    case KILN_BF16: printf("%.6g", npy_bf16_to_double(((const uint16_t *)data)[i])); break;
    default: printf("?"); break;
  }
}

void cli_print_outputs(const kiln_tensor_info *info, const cli_outputs *o, int limit) {
  for (int i = 0; i < o->n; i++) {
    char shape[256];
    cli_shape_str(info[i].dtype, info[i].rank, info[i].dims, shape, sizeof shape);
    int64_t n = npy_elements(&o->arrays[i]);
    printf("%s: %s = [", info[i].name, shape);
    for (int64_t k = 0; k < n && k < limit; k++) {
      if (k) printf(", ");
      print_value(info[i].dtype, o->arrays[i].data, k);
    }
    printf("%s]\n", n > limit ? (limit > 0 ? ", ..." : "...") : "");
  }
}

/* splitmix64: a tiny generator whose sequence is fixed by the seed alone,
 * so random inputs are the same on every machine and libc. */
static uint64_t next_random(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool cli_random_inputs(int ninfo, const kiln_tensor_info *info, unsigned long long seed, cli_inputs *out) {
  memset(out, 0, sizeof *out);
  out->n = ninfo;
  out->arrays = calloc((size_t)ninfo + 1, sizeof *out->arrays);
  out->ptrs = calloc((size_t)ninfo + 1, sizeof *out->ptrs);
  if (!out->arrays || !out->ptrs) goto oom;
  uint64_t state = seed;
  for (int i = 0; i < ninfo; i++) {
    npy_array *a = &out->arrays[i];
    a->dtype = info[i].dtype;
    a->rank = info[i].rank;
    size_t n = 1;
    for (int d = 0; d < a->rank; d++) {
      a->dims[d] = info[i].dims[d];
      n *= (size_t)a->dims[d];
    }
    a->nbytes = n * kiln_dtype_size(a->dtype);
    /* calloc: integer inputs stay 0. */
    a->data = calloc(a->nbytes ? a->nbytes : 1, 1);
    if (!a->data) goto oom;
    out->ptrs[i] = a->data;
    for (size_t k = 0; k < n; k++) {
      uint64_t r = next_random(&state);
      /* 24 random bits as a float in [-1, 1), exact in f32 and f64. */
      float f = (float)((double)(r >> 40) / (double)(1 << 23) - 1.0);
      switch (a->dtype) {
        case KILN_F32: ((float *)a->data)[k] = f; break;
        case KILN_F64: ((double *)a->data)[k] = f; break;
        case KILN_BF16: {
          uint32_t bits;
          memcpy(&bits, &f, 4);
          ((uint16_t *)a->data)[k] = (uint16_t)(bits >> 16); /* truncation: still in [-1, 1) */
          break;
        }
        case KILN_F16:
          /* sign, exponent 11..14 and a random mantissa: ±[2^-4, 1). */
          ((uint16_t *)a->data)[k] = (uint16_t)((r & 0x8000u) | ((11u + ((r >> 16) & 3u)) << 10) | (r >> 32 & 0x3ffu));
          break;
        case KILN_PRED: ((uint8_t *)a->data)[k] = (uint8_t)(r & 1); break;
        default: break;
      }
    }
  }
  return true;
oom:
  cli_error("out of memory allocating the inputs");
  cli_free_inputs(out);
  return false;
}

/* Whether the identifier `name` occurs in text as a whole word. */
static bool has_word(const char *text, const char *name) {
  size_t n = strlen(name);
  for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
    bool before = p > text && ((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= 'A' && p[-1] <= 'Z') ||
                               (p[-1] >= '0' && p[-1] <= '9') || p[-1] == '_');
    char c = p[n];
    bool after = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!before && !after) return true;
  }
  return false;
}

char *cli_shape_with_ranges(const kiln_executable *exe, const char *shape) {
  if (!shape) return NULL;
  size_t cap = strlen(shape) + 1, k = 0;
  int ns = kiln_executable_num_symbols(exe);
  for (int i = 0; i < ns; i++) {
    const char *name;
    kiln_executable_symbol(exe, i, &name, NULL);
    cap += strlen(name) + 64;
  }
  char *t = malloc(cap);
  if (!t) return NULL;
  k += (size_t)snprintf(t, cap, "%s", shape);
  for (int i = 0; i < ns && k < cap; i++) {
    const char *name;
    int64_t bound;
    kiln_executable_symbol(exe, i, &name, &bound);
    bool computed = kiln_executable_symbol_is_computed(exe, i);
    if (has_word(shape, name))
      k += (size_t)snprintf(t + k, cap - k, ", %s in [%d, %lld]%s", name, computed ? 0 : 1, (long long)bound,
                            computed ? " (computed by the run)" : "");
  }
  return t;
}

double cli_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bool cli_is_artifact(const char *path) {
  FILE *f = fopen(path, "rb");
  unsigned char magic[4] = {0};
  if (!f) return false;
  size_t n = fread(magic, 1, 4, f);
  fclose(f);
  return n == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
}

/* The passes and the JIT on a loaded model (t0: when loading began, t1:
 * when it ended, for --time). */
static kiln_status optimize_and_jit(kiln_model *m, const cli_model_opts *mo, bool timing, double t0, double t1,
                                    kiln_executable **out) {
  kiln_status s = kiln_model_optimize(m, mo->passes, mo->disable);
  double t2 = cli_now_ms();
  if (s == KILN_OK) s = kiln_model_jit(m, out);
  double t3 = cli_now_ms();
  if (s == KILN_OK && timing)
    fprintf(stderr, "kiln: load %.1f ms, passes %.1f ms, JIT compilation %.1f ms, total %.1f ms\n", t1 - t0, t2 - t1,
            t3 - t2, t3 - t0);
  return s;
}

kiln_status cli_jit_model(kiln_context *ctx, const char *path, const cli_model_opts *mo, int nspecs, char **specs,
                          bool timing, kiln_executable **out) {
  double t0 = cli_now_ms();
  kiln_model *m = NULL;
  kiln_status s = cli_load_model(ctx, path, mo, nspecs, specs, &m);
  double t1 = cli_now_ms();
  if (s == KILN_OK) s = optimize_and_jit(m, mo, timing, t0, t1, out);
  kiln_model_destroy(m);
  return s;
}

/* Errors held back while the symbolic model is compiled; everything else
 * goes to stderr at once (remarks can be many). */
static void hold_errors(void *user, kiln_diag_level level, const char *msg) {
  if (level == KILN_DIAG_ERROR) hold(user, level, msg);
  else to_stderr(show_remarks ? (void *)1 : NULL, level, msg);
}

kiln_status cli_jit_model_shaped(kiln_context *ctx, const char *path, const cli_model_opts *mo, int nspecs,
                                 char **specs, bool timing, bool verbose, kiln_executable **out) {
  double t0 = cli_now_ms();
  kiln_model *m = NULL;
  kiln_status s = load_with_file_shapes(ctx, path, mo, nspecs, specs, &m);
  double t1 = cli_now_ms();
  if (s != KILN_OK) return s;
  if (!kiln_model_is_symbolic(m)) {
    s = optimize_and_jit(m, mo, timing, t0, t1, out);
    kiln_model_destroy(m);
    return s;
  }
  held_diags h = {0};
  kiln_context_set_diagnostics(ctx, hold_errors, &h);
  s = optimize_and_jit(m, mo, timing, t0, t1, out);
  kiln_context_set_diagnostics(ctx, to_stderr, show_remarks ? (void *)1 : NULL);
  kiln_model_destroy(m);
  /* KILN_ERR_UNSUPPORTED: code generation refused the symbolic model as
   * beyond what it takes so far (cg_options.unsupported), rather than
   * failing; a static copy at the inputs' shapes may still compile. */
  bool refused = s == KILN_ERR_UNSUPPORTED;
  if (verbose && refused)
    for (int k = 0; k < h.n; k++)
      fprintf(stderr, "kiln: note: not compiled with symbolic dimensions (%s); compiling it bound to the --input "
              "shapes instead\n", h.msg[k]);
  release(&h, !refused);
  if (!refused) {
    if (verbose && s == KILN_OK)
      fprintf(stderr, "kiln: note: compiled once with symbolic dimensions; running at the --input shapes\n");
    return s;
  }
  /* Per shape, as before code generation took symbolic dimensions. */
  return cli_jit_model(ctx, path, mo, nspecs, specs, timing, out);
}
