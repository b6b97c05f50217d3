/*
 * `kiln verify`: runs a model compiled by the JIT and a reference on the
 * same inputs and compares every output within a tolerance; on a mismatch
 * it bisects, comparing each kernel's buffers with the interpreter's value
 * of the same instruction, names the first kernel that differs, and writes
 * a reproducer of it (docs/verify.md).
 *
 * References: the interpreter on the model as loaded, before the passes
 * (so the check covers passes and code generator alike), or ONNX Runtime
 * (--reference=ort, through benchmarks/ort_run.js or Python's
 * onnxruntime). Bisection compares against the interpreter on the
 * *optimised* model: only that one has an instruction per kernel. When no
 * kernel differs from it, the passes changed the result, and the report
 * says so.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/cli.h"

/* ---- comparison ---- */

typedef struct tol {
  double rtol, atol;
} tol;

/* Defaults by element type: about 1,000 units in the last place of the
 * type for rtol (compiled code sums in another order, fuses multiply-adds
 * and uses vector approximations the interpreter does not), an atol for
 * values that cancel to near zero. Integers and pred must be equal. */
static tol default_tol(kiln_dtype t) {
  switch (t) {
    case KILN_F32: return (tol){1e-4, 1e-5};
    case KILN_F64: return (tol){1e-9, 1e-12};
    case KILN_F16: return (tol){1e-2, 1e-3};
    case KILN_BF16: return (tol){5e-2, 1e-2};
    default: return (tol){0, 0};
  }
}

static bool is_float(kiln_dtype t) { return t == KILN_F16 || t == KILN_BF16 || t == KILN_F32 || t == KILN_F64; }

/* Element i of a dense array as a double (exact except 64-bit integers
 * beyond 2^53, which only matters for the error figures, not for the
 * equality test of integers: see cmp_stats). */
static double elem(kiln_dtype t, const void *p, size_t i) {
  switch (t) {
    case KILN_PRED: return ((const uint8_t *)p)[i] != 0;
    case KILN_I8: return ((const int8_t *)p)[i];
    case KILN_I16: return ((const int16_t *)p)[i];
    case KILN_I32: return ((const int32_t *)p)[i];
    case KILN_I64: return (double)((const int64_t *)p)[i];
    case KILN_U8: return ((const uint8_t *)p)[i];
    case KILN_U16: return ((const uint16_t *)p)[i];
    case KILN_U32: return ((const uint32_t *)p)[i];
    case KILN_U64: return (double)((const uint64_t *)p)[i];
    case KILN_F16: return npy_f16_to_double(((const uint16_t *)p)[i]);
    case KILN_BF16: return npy_bf16_to_double(((const uint16_t *)p)[i]);
    case KILN_F32: return ((const float *)p)[i];
    case KILN_F64: return ((const double *)p)[i];
  }
  return 0;
}

typedef struct cmp_stats {
  double max_abs, max_rel;
  double rms; /* root mean square of the reference (floats) */
  size_t nbad, worst; /* elements outside the tolerance; the one furthest outside */
  double worst_got, worst_ref;
} cmp_stats;

/* Compares got with ref (n elements of type t, both row-major): an element
 * passes when |got - ref| <= atol + rtol * |ref| (NumPy's allclose: the
 * model's outputs), or with `scaled` (a kernel's outputs during the
 * bisection) when |got - ref| <= atol + rtol * max(|ref|, rms), rms being
 * the root mean square of ref's finite elements. NaN must match NaN and an
 * infinity the same infinity. Integers and pred must be bit-equal. Returns
 * whether every element passes.
 *
 * Why rms for kernels: each kernel is compared with the interpreter's
 * value computed from the interpreter's inputs, so the differences of all
 * kernels before it add up, and the rounding error of a sum grows with the
 * size of its terms, not of its result: an element that cancels to near
 * zero (a pre-activation around 0, a residual sum) carries an absolute
 * error of the array's scale. Measured on resnet18: allclose with rtol 1e-4
 * flags convolution outputs near zero that differ from the interpreter only
 * by summation order; with the rms term every kernel passes with a margin
 * of about 10x while a planted error of 1 is still far outside. */
static bool compare(kiln_dtype t, size_t n, const void *got, const void *ref, tol tl, bool scaled, cmp_stats *st) {
  memset(st, 0, sizeof *st);
  double worst_excess = -1, sq = 0;
  size_t es = kiln_dtype_size(t), nfin = 0;
  for (size_t i = 0; is_float(t) && i < n; i++) {
    double r = elem(t, ref, i);
    if (isfinite(r)) sq += r * r, nfin++;
  }
  double rms = nfin ? sqrt(sq / (double)nfin) : 0;
  st->rms = scaled ? rms : 0;
  if (!scaled) rms = 0;
  for (size_t i = 0; i < n; i++) {
    double g = elem(t, got, i), r = elem(t, ref, i);
    bool bad;
    double d;
    if (!is_float(t)) {
      bad = memcmp((const char *)got + i * es, (const char *)ref + i * es, es) != 0;
      d = fabs(g - r);
    } else if (isnan(g) || isnan(r)) {
      bad = isnan(g) != isnan(r);
      d = bad ? INFINITY : 0;
    } else if (isinf(g) || isinf(r)) {
      bad = g != r;
      d = bad ? INFINITY : 0;
    } else {
      d = fabs(g - r);
      bad = d > tl.atol + tl.rtol * fmax(fabs(r), rms);
    }
    double rel = d == 0 ? 0 : r != 0 ? d / fabs(r) : INFINITY;
    if (d > st->max_abs) st->max_abs = d;
    if (rel > st->max_rel) st->max_rel = rel;
    if (bad) {
      st->nbad++;
      double excess = isfinite(d) ? d - (tl.atol + tl.rtol * fmax(fabs(r), rms)) : INFINITY;
      if (excess > worst_excess) {
        worst_excess = excess;
        st->worst = i;
        st->worst_got = g;
        st->worst_ref = r;
      }
    }
  }
  return st->nbad == 0;
}

/* "[0,17]": the multi-index of flat row-major index i. */
static void index_str(int rank, const int64_t *dims, size_t i, char *buf, size_t n) {
  int64_t idx[KILN_MAX_RANK];
  for (int d = rank - 1; d >= 0; d--) {
    idx[d] = dims[d] ? (int64_t)(i % (size_t)dims[d]) : 0;
    i = dims[d] ? i / (size_t)dims[d] : 0;
  }
  cli_dims_str(rank, idx, buf, n);
}

static void print_stats(const char *indent, kiln_dtype t, int rank, const int64_t *dims, size_t n,
                        const cmp_stats *st, tol tl) {
  printf("%smax abs err %.3g, max rel err %.3g, tolerance ", indent, st->max_abs, st->max_rel);
  if (is_float(t) && st->rms > 0) printf("|got - ref| <= %g + %g * max(|ref|, rms %.3g)", tl.atol, tl.rtol, st->rms);
  else if (is_float(t)) printf("|got - ref| <= %g + %g * |ref|", tl.atol, tl.rtol);
  else printf("exact (%s)", kiln_dtype_name(t));
  printf("\n");
  if (st->nbad) {
    char where[256];
    index_str(rank, dims, st->worst, where, sizeof where);
    printf("%s%zu of %zu elements outside it; worst at %s: got %.9g, expected %.9g\n", indent, st->nbad, n, where,
           st->worst_got, st->worst_ref);
  }
}

static size_t elements(int rank, const int64_t *dims) {
  size_t n = 1;
  for (int d = 0; d < rank; d++) n *= (size_t)dims[d];
  return n;
}

/* Copies a dense array stored in layout m2m (minor-to-major dimension
 * order, as the kernel table gives it) into row-major order. The compiled
 * code may keep an intermediate in any layout; the interpreter's values
 * are always row-major, so they can only be compared after this. */
static void to_row_major(size_t es, int rank, const int64_t *dims, const int32_t *m2m, const void *src, void *dst) {
  int64_t pst[KILN_MAX_RANK], idx[KILN_MAX_RANK] = {0};
  int64_t k = 1;
  for (int i = 0; i < rank; i++) {
    pst[m2m[i]] = k;
    k *= dims[m2m[i]];
  }
  size_t n = elements(rank, dims);
  for (size_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int d = 0; d < rank; d++) off += idx[d] * pst[d];
    memcpy((char *)dst + i * es, (const char *)src + (size_t)off * es, es);
    for (int d = rank - 1; d >= 0; d--) {
      if (++idx[d] < dims[d]) break;
      idx[d] = 0;
    }
  }
}

/* ---- values recorded from the interpreter, by name ---- */

typedef struct value {
  char *name;
  npy_array a; /* dtype, dims, data: NULL until the trace hands it out */
} value;

typedef struct value_set {
  int n;
  value *v;
} value_set;

static value *find_value(value_set *s, const char *name) {
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->v[i].name, name)) return &s->v[i];
  return NULL;
}

static bool want_value(value_set *s, const char *name) {
  if (find_value(s, name)) return true;
  value *nv = realloc(s->v, (size_t)(s->n + 1) * sizeof *nv);
  if (!nv) return false;
  s->v = nv;
  memset(&nv[s->n], 0, sizeof nv[s->n]);
  nv[s->n].name = strdup(name);
  return nv[s->n++].name != NULL;
}

static void free_values(value_set *s) {
  for (int i = 0; i < s->n; i++) {
    free(s->v[i].name);
    npy_free(&s->v[i].a);
  }
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* kiln_value_fn: keeps a copy of the values asked for. */
static void keep_value(void *user, const kiln_tensor_info *info, const void *data) {
  value *v = find_value(user, info->name);
  if (!v || v->a.data) return;
  v->a.dtype = info->dtype;
  v->a.rank = info->rank;
  for (int d = 0; d < info->rank; d++) v->a.dims[d] = info->dims[d];
  v->a.nbytes = elements(info->rank, info->dims) * kiln_dtype_size(info->dtype);
  v->a.data = malloc(v->a.nbytes ? v->a.nbytes : 1);
  if (v->a.data) memcpy(v->a.data, data, v->a.nbytes);
}

/* ---- bisection ---- */

typedef struct bisect {
  const kiln_executable *exe;
  value_set *ref;
  tol user_tol;
  bool have_user_tol;
  bool print_all;   /* --kernels: print every kernel's figures, go on past the first that differs */
  int first_bad;    /* kernel index, -1 while none */
  int bad_output;   /* which of its outputs */
  cmp_stats st;
  int compared, skipped;
  void *scratch;
  size_t scratch_size;
} bisect;

static tol tol_for(const bisect *b, kiln_dtype t) { return b->have_user_tol ? b->user_tol : default_tol(t); }

/* kiln_trace_fn: after each kernel, compares its outputs (converted to
 * row-major) with the interpreter's values, until the first that differs. */
static void on_kernel(void *user, int kernel, kiln_trace_phase phase, int thread, void *const *buffers) {
  (void)thread;
  bisect *b = user;
  if (phase != KILN_TRACE_KERNEL_END || (b->first_bad >= 0 && !b->print_all) || !buffers) return;
  kiln_kernel_info ki;
  if (kiln_executable_kernel(b->exe, kernel, &ki) != KILN_OK) return;
  /* A panel layout is not described by minor_to_major alone. */
  bool panels = ki.shape && strstr(ki.shape, ":P(");
  for (int k = 0; k < ki.num_outputs; k++) {
    const kiln_tensor_info *o = &ki.outputs[k];
    value *v = find_value(b->ref, o->name);
    if (!v || !v->a.data || panels || v->a.dtype != o->dtype || v->a.rank != o->rank) {
      b->skipped++;
      continue;
    }
    size_t n = elements(o->rank, o->dims), bytes = n * kiln_dtype_size(o->dtype);
    if (bytes > b->scratch_size) {
      void *ns = realloc(b->scratch, bytes);
      if (!ns) return;
      b->scratch = ns;
      b->scratch_size = bytes;
    }
    to_row_major(kiln_dtype_size(o->dtype), o->rank, o->dims, ki.minor_to_major[k], buffers[k], b->scratch);
    cmp_stats st;
    b->compared++;
    bool same = compare(o->dtype, n, b->scratch, v->a.data, tol_for(b, o->dtype), true, &st);
    if (b->print_all)
      printf("  %-4s kernel %3d %-24s %-12s max abs err %-9.3g max rel err %-9.3g (rms %.3g)\n", same ? "ok" : "DIFF",
             kernel + 1, o->name, ki.kind ? ki.kind : "?", st.max_abs, st.max_rel, st.rms);
    if (!same && b->first_bad < 0) {
      b->first_bad = kernel;
      b->bad_output = k;
      b->st = st;
      if (!b->print_all) return;
    }
  }
}

/* The instructions a kernel covers, from the optimised IR text: the entry
 * instruction itself, or for a fusion each instruction of its computation
 * but the parameters, as "name (op)" separated by ", ". Caller frees. */
static char *fused_instructions(const char *ir, const char *kernel) {
  char key[600];
  snprintf(key, sizeof key, "\n  %%%s = ", kernel);
  const char *line = strstr(ir, key);
  char *out = calloc(1, 1);
  size_t len = 0;
  if (!line || !out) return out;
  const char *eol = strchr(line + 1, '\n');
  const char *calls = strstr(line, "calls=%");
  const char *body = NULL;
  char comp[512] = "";
  if (calls && (!eol || calls < eol)) {
    size_t k = 0;
    for (const char *p = calls + 7; *p && k + 1 < sizeof comp && *p != ',' && *p != ' ' && *p != '\n'; p++)
      comp[k++] = *p;
    comp[k] = 0;
    char head[600];
    snprintf(head, sizeof head, "\n%%%s {\n", comp);
    body = strstr(ir, head);
    if (body) body += strlen(head) - 1;
  }
  /* One entry line, or the computation's lines up to its closing brace. */
  const char *p = body ? body : line;
  for (;;) {
    if (*p != '\n') break;
    p++;
    if (*p == '}' || !*p) break;
    const char *e = strchr(p, '\n');
    if (!e) e = p + strlen(p);
    const char *pct = memchr(p, '%', (size_t)(e - p));
    const char *eq = pct ? strstr(pct, " = ") : NULL;
    if (pct && eq && eq < e) {
      /* After "= TYPE ": the op keyword, up to '('. The type may be a
       * tuple "(a, b)": skip a balanced parenthesis first. */
      const char *q = eq + 3;
      if (*q == '(') {
        int depth = 0;
        for (; q < e; q++) {
          if (*q == '(') depth++;
          else if (*q == ')' && --depth == 0) {
            q++;
            break;
          }
        }
      } else {
        while (q < e && *q != ' ') q++;
      }
      while (q < e && *q == ' ') q++;
      const char *op = q;
      while (q < e && *q != '(') q++;
      size_t nl = (size_t)(eq - pct - 1), ol = (size_t)(q - op);
      if (!(ol == 9 && !strncmp(op, "parameter", 9))) {
        char *no = realloc(out, len + nl + ol + 8);
        if (!no) return out;
        out = no;
        len += (size_t)sprintf(out + len, "%s%%%.*s (%.*s)", len ? ", " : "", (int)nl, pct + 1, (int)ol, op);
      }
    }
    p = e;
    if (!body) break;
  }
  return out;
}

/* ---- reproducer ---- */

/* A file name from a value name: '#' (tuple elements) becomes '_'. */
static void file_name(const char *dir, const char *prefix, const char *name, char *buf, size_t n) {
  int k = snprintf(buf, n, "%s/%s", dir, prefix);
  for (const char *p = name; *p && k + 5 < (int)n; p++) buf[k++] = *p == '#' || *p == '/' ? '_' : *p;
  snprintf(buf + k, n - (size_t)k, ".npy");
}

static bool make_dir(const char *dir) {
  if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
    struct stat sb;
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) return true;
  }
  cli_error("verify: cannot create the reproducer folder %s: %s", dir, errno == EEXIST ? "not a folder" : strerror(errno));
  return false;
}

static bool write_npy(const char *path, const npy_array *a) {
  char err[512];
  if (npy_write_file(path, a, err, sizeof err)) return true;
  cli_error("verify: %s: %s", path, err);
  return false;
}

typedef struct verify_opts {
  const char *model_path, *repro_dir, *perturb, *threads_s, *cpu, *features;
  long long threads;
} verify_opts;

/* Writes DIR/kernel.kir (the kernel's instruction extracted from the
 * optimised model), its operands' values (the interpreter's) as NAME.npy,
 * the interpreter's value of the kernel as expected_NAME.npy and
 * README.txt with the commands that replay it. */
static bool write_repro(kiln_model *opt, const void *const *inputs, const char *kernel, value_set *ref,
                        const verify_opts *vo) {
  const char *dir = vo->repro_dir;
  kiln_model *x = NULL;
  if (kiln_model_extract(opt, kernel, &x) != KILN_OK) {
    cli_error("verify: cannot extract %%%s for a reproducer: %s", kernel, kiln_context_last_error(kiln_model_context(opt)));
    return false;
  }
  bool ok = make_dir(dir);
  value_set ops = {0};
  char *text = NULL;
  int ni = kiln_model_num_inputs(x), no = kiln_model_num_outputs(x);
  for (int i = 0; ok && i < ni; i++) {
    kiln_tensor_info ti;
    kiln_model_input(x, i, &ti);
    ok = want_value(&ops, ti.name);
  }
  /* The operands' values: one more interpreter run, keeping just those. */
  kiln_tensor_info *oinfo = cli_model_outputs(opt);
  cli_outputs scratch = {0};
  ok = ok && oinfo && cli_alloc_outputs(kiln_model_num_outputs(opt), oinfo, &scratch);
  if (ok && kiln_model_evaluate_trace(opt, inputs, scratch.ptrs, keep_value, &ops) != KILN_OK) {
    cli_fail(kiln_model_context(opt), "the interpreter failed");
    ok = false;
  }
  cli_free_outputs(&scratch);
  free(oinfo);
  if (ok && kiln_model_print(x, 0, &text) == KILN_OK) {
    char path[4096];
    snprintf(path, sizeof path, "%s/kernel.kir", dir);
    ok = cli_write_file(path, text, strlen(text));
  }
  FILE *readme = NULL;
  char path[4096];
  if (ok) {
    snprintf(path, sizeof path, "%s/README.txt", dir);
    readme = fopen(path, "w");
    if (!readme) {
      cli_error("verify: cannot write %s: %s", path, strerror(errno));
      ok = false;
    }
  }
  /* The planted fault is repeated when it is in this kernel (its
   * instruction keeps its name in kernel.kir); another kernel's name would
   * not exist there. */
  char perturb[600] = "";
  bool same_fault = vo->perturb && !strcmp(vo->perturb, kernel);
  if (same_fault) snprintf(perturb, sizeof perturb, " --debug-perturb=%s", vo->perturb);
  char inputs_arg[8192] = "";
  size_t ia = 0;
  for (int i = 0; ok && i < ni; i++) {
    value *v = &ops.v[i];
    if (!v->a.data) {
      cli_error("verify: the interpreter gave no value for %%%s", v->name);
      ok = false;
      break;
    }
    file_name(dir, "", v->name, path, sizeof path);
    ok = write_npy(path, &v->a);
    if (ia < sizeof inputs_arg) ia += (size_t)snprintf(inputs_arg + ia, sizeof inputs_arg - ia, " --input %s=%s", v->name, path);
  }
  for (int k = 0; ok && k < no; k++) {
    kiln_tensor_info ti;
    kiln_model_output(x, k, &ti);
    value *v = find_value(ref, ti.name);
    if (!v || !v->a.data) {
      cli_error("verify: the interpreter gave no value for %%%s", ti.name);
      ok = false;
      break;
    }
    file_name(dir, "expected_", ti.name, path, sizeof path);
    ok = write_npy(path, &v->a);
  }
  if (ok) {

    fprintf(readme,
            "kiln verify reproducer\n"
            "======================\n"
            "\n"
            "Model: %s\n"
            "First kernel whose output differed from the interpreter: %%%s\n"
            "%s"
            "\n"
            "kernel.kir        that instruction alone (extracted from the optimised IR): its operands\n"
            "                  are parameters, named after the instructions that computed them\n"
            "NAME.npy          the interpreter's value of each operand (the kernel's inputs)\n"
            "expected_*.npy    the interpreter's value of the kernel's output(s)\n"
            "\n"
            "Replay (compiles kernel.kir with the JIT and compares with the interpreter;\n"
            "exit 1 while the fault is there):\n"
            "\n"
            "  kiln verify %s/kernel.kir%s%s\n"
            "\n"
            "Run it in the interpreter or compiled, writing the outputs as .npy to compare\n"
            "with expected_*.npy:\n"
            "\n"
            "  kiln eval %s/kernel.kir%s --output-dir %s/eval-out\n"
            "  kiln run %s/kernel.kir%s%s --output-dir %s/run-out\n",
            vo->model_path, kernel,
            same_fault ? "This run planted a fault in this kernel on purpose (--debug-perturb, a test\n"
                         "option); the commands below repeat it so the replay fails the same way; drop\n"
                         "it to see the kernel pass.\n"
                       : vo->perturb ? "This run planted a fault in another kernel (--debug-perturb); this one\n"
                                       "differed first.\n"
                                     : "",
            dir, inputs_arg, perturb, dir, inputs_arg, dir, dir, inputs_arg, perturb, dir);
  }
  if (readme && fclose(readme) != 0) ok = false;
  if (ok) {
    printf("reproducer written to %s/: kernel.kir, %d input file(s), expected output(s), README.txt\n", dir, ni);
    printf("  replay: kiln verify %s/kernel.kir%s%s\n", dir, inputs_arg, perturb);
  }
  kiln_free(text);
  free_values(&ops);
  kiln_model_destroy(x);
  return ok;
}

/* ---- references ---- */

/* Runs ONNX Runtime on the model with the inputs (written as .npy into a
 * temporary folder) and reads its outputs back into `out` (the kiln
 * model's output order). Returns 0, 1 (failed) or 2 (not installed). */
static int run_ort(const char *model_path, int ni, const kiln_tensor_info *ins, const cli_inputs *in, int no,
                   const kiln_tensor_info *outs, cli_outputs *out) {
  char tmpl[] = "/tmp/kiln-verify-ort-XXXXXX";
  char *tmp = mkdtemp(tmpl);
  if (!tmp) {
    cli_error("verify: cannot make a temporary folder: %s", strerror(errno));
    return 1;
  }
  /* Which runner: KILN_ORT_RUNNER, the source tree's benchmark runner when
   * its onnxruntime-node is installed, else Python's onnxruntime. */
  const char *runner = getenv("KILN_ORT_RUNNER");
  char js[4096] = "";
  if (runner && *runner) snprintf(js, sizeof js, "%s", runner);
#ifdef KILN_SOURCE_DIR
  else {
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/benchmarks/node_modules/onnxruntime-node/package.json", KILN_SOURCE_DIR);
    if (access(probe, R_OK) == 0) snprintf(js, sizeof js, "%s/benchmarks/ort_run.js", KILN_SOURCE_DIR);
  }
#endif
  bool python = !js[0] && system("/usr/bin/python3 -c 'import onnxruntime, numpy' >/dev/null 2>&1") == 0;
  if (!js[0] && !python) {
    rmdir(tmp);
    cli_error("verify: --reference=ort needs ONNX Runtime, which is not installed: run tools/install-deps.sh --bench "
              "(onnxruntime-node under benchmarks/node_modules, run by benchmarks/ort_run.js; or set KILN_ORT_RUNNER "
              "to such a runner), or install Python's onnxruntime (pip install onnxruntime)");
    return 2;
  }
  size_t cap = 8192 + (size_t)ni * 1024;
  char *cmd = malloc(cap);
  int rc = 1;
  if (!cmd) goto done;
  size_t k;
  if (js[0])
    k = (size_t)snprintf(cmd, cap, "node '%s' '%s' --threads 1 --repeat 1 --warmup 0 --output-dir '%s' >/dev/null", js,
                         model_path, tmp);
  else
    k = (size_t)snprintf(cmd, cap,
                         "/usr/bin/python3 -c 'import sys, numpy as np, onnxruntime as ort\n"
                         "s = ort.InferenceSession(sys.argv[1], providers=[\"CPUExecutionProvider\"])\n"
                         "feeds = dict((a.split(\"=\", 1)[0], np.load(a.split(\"=\", 1)[1])) for a in sys.argv[3:])\n"
                         "for o, v in zip(s.get_outputs(), s.run(None, feeds)):\n"
                         "    np.save(sys.argv[2] + \"/\" + \"\".join(c if c.isalnum() or c in \"._-\" else \"_\" for c in o.name) + \".npy\", v)\n"
                         "' '%s' '%s'",
                         model_path, tmp);
  for (int i = 0; i < ni && k < cap; i++) {
    char path[4096];
    file_name(tmp, "in_", ins[i].name, path, sizeof path);
    if (!write_npy(path, &in->arrays[i])) goto done;
    k += (size_t)snprintf(cmd + k, cap - k, " %s'%s=%s'", js[0] ? "--input " : "", ins[i].name, path);
  }
  if (k >= cap) goto done;
  int st = system(cmd);
  if (st != 0) {
    cli_error("verify: ONNX Runtime failed on %s (%s exited %d)", model_path, js[0] ? js : "python3 onnxruntime",
              WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    goto done;
  }
  rc = 0;
  for (int o = 0; o < no && rc == 0; o++) {
    char path[4096], name[512], err[512];
    size_t j = 0;
    for (const char *p = outs[o].name; *p && j + 1 < sizeof name; p++)
      name[j++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
                          *p == '_' || *p == '-'
                      ? *p
                      : '_';
    name[j] = 0;
    snprintf(path, sizeof path, "%s/%s.npy", tmp, name);
    npy_array a;
    if (!npy_read_file(path, &a, err, sizeof err)) {
      cli_error("verify: ONNX Runtime's output '%s': %s", outs[o].name, err);
      rc = 1;
      break;
    }
    if (a.dtype != out->arrays[o].dtype || a.nbytes != out->arrays[o].nbytes) {
      cli_error("verify: ONNX Runtime's output '%s' has another type or size than kiln's", outs[o].name);
      rc = 1;
    } else {
      memcpy(out->arrays[o].data, a.data, a.nbytes);
    }
    npy_free(&a);
  }
done:
  free(cmd);
  /* Remove what was written there. */
  char rm[4200];
  snprintf(rm, sizeof rm, "rm -rf '%s'", tmp);
  if (system(rm) != 0) cli_error("verify: could not remove %s", tmp);
  return rc;
}

/* ---- the command ---- */

/* A tolerance: a finite non-negative number ("1e-4", "0.001"). */
static bool parse_tol(const char *flag, const char *s, double *out) {
  char *end = NULL;
  errno = 0;
  double d = strtod(s, &end);
  if (!*s || *end || errno || !(d >= 0) || !isfinite(d)) {
    cli_error("verify: %s takes a non-negative number (got '%s')", flag, s);
    return false;
  }
  *out = d;
  return true;
}

int cmd_verify(int argc, char **argv) {
  verify_opts vo = {0};
  const char *seed_s = NULL, *ref_s = NULL, *rtol_s = NULL, *atol_s = NULL;
  char **specs = calloc((size_t)argc + 1, sizeof *specs);
  int nspecs = 0;
  long long seed = 0;
  tol user_tol = {0, 0};
  bool have_rtol = false, have_atol = false, all_kernels = false;
  cli_model_opts mo = {0};
  int rc = 2;
  kiln_context *ctx = NULL;
  if (!specs) return 1;
  for (int i = 1; i < argc; i++) {
    const char *v;
    int r = cli_model_option(argc, argv, &i, CLI_MOPT_SHAPE | CLI_MOPT_PASSES, &mo);
    if (r < 0) goto done;
    if (r > 0) continue;
    if (cli_flag_value(argc, argv, &i, "--input", &v)) specs[nspecs++] = (char *)v;
    else if (cli_flag_once(argc, argv, &i, "--seed", &seed_s)) {
      if (!cli_parse_int("--seed", seed_s, 0, 0x7fffffffffffffffLL, &seed)) goto done;
    } else if (cli_flag_once(argc, argv, &i, "--reference", &ref_s)) {
      if (strcmp(ref_s, "interp") && strcmp(ref_s, "ort")) {
        cli_error("verify: --reference takes interp or ort (got '%s')", ref_s);
        goto done;
      }
    } else if (cli_flag_once(argc, argv, &i, "--rtol", &rtol_s)) {
      if (!parse_tol("--rtol", rtol_s, &user_tol.rtol)) goto done;
      have_rtol = true;
    } else if (cli_flag_once(argc, argv, &i, "--atol", &atol_s)) {
      if (!parse_tol("--atol", atol_s, &user_tol.atol)) goto done;
      have_atol = true;
    } else if (cli_flag_once(argc, argv, &i, "--threads", &vo.threads_s)) {
      if (!cli_parse_int("--threads", vo.threads_s, 1, 4096, &vo.threads)) goto done;
    } else if (cli_flag_once(argc, argv, &i, "--cpu", &vo.cpu)) continue;
    else if (cli_flag_once(argc, argv, &i, "--features", &vo.features)) continue;
    else if (cli_flag_once(argc, argv, &i, "--repro-dir", &vo.repro_dir)) continue;
    else if (cli_flag_once(argc, argv, &i, "--debug-perturb", &vo.perturb)) continue;
    else if (!strcmp(argv[i], "--kernels")) all_kernels = true;
    else if (!cli_positional("verify", "model", argv[i], &vo.model_path)) goto done;
  }
  if (!cli_need_positional("verify", "model", vo.model_path)) goto done;
  if (nspecs && seed_s) {
    cli_error("verify: --seed applies to random inputs, but --input gives them");
    goto done;
  }
  if (!vo.repro_dir) vo.repro_dir = "kiln-verify-repro";
  bool ort = ref_s && !strcmp(ref_s, "ort");
  if (cli_is_artifact(vo.model_path)) {
    cli_error("verify: %s is a compiled artifact; kiln verify needs the model (ONNX or IR text) to compile and "
              "interpret", vo.model_path);
    goto done;
  }
  /* An explicit tolerance applies to every floating output; one of the two
   * given alone keeps the other's default for f32. */
  if (have_rtol && !have_atol) user_tol.atol = default_tol(KILN_F32).atol;
  if (have_atol && !have_rtol) user_tol.rtol = default_tol(KILN_F32).rtol;
  bool have_tol = have_rtol || have_atol;

  ctx = cli_model_context(&mo);
  rc = 1;
  kiln_model *src = NULL, *opt = NULL;
  kiln_executable *exe = NULL, *iexe = NULL;
  kiln_tensor_info *ins = NULL, *outs = NULL;
  cli_inputs in = {0};
  cli_outputs got = {0}, ref = {0};
  value_set vals = {0};
  bisect b = {0};
  cli_outputs scratch = {0};
  char *ir = NULL;
  if (vo.cpu || vo.features) {
    if (kiln_context_set_target(ctx, NULL, vo.cpu, vo.features) != KILN_OK) {
      cli_fail(ctx, "bad --cpu/--features");
      goto cleanup;
    }
  }
  if (vo.threads_s) kiln_context_set_num_threads(ctx, (int)vo.threads);
  if (vo.perturb && kiln_context_set_debug_perturb(ctx, vo.perturb) != KILN_OK) {
    cli_fail(ctx, "--debug-perturb failed");
    goto cleanup;
  }
  /* Two copies: the interpreter runs the model as loaded, the compiler and
   * the bisection the optimised one. */
  if (cli_load_model(ctx, vo.model_path, &mo, nspecs, specs, &src) != KILN_OK ||
      cli_load_model(ctx, vo.model_path, &mo, nspecs, specs, &opt) != KILN_OK) {
    cli_fail(ctx, "cannot load the model");
    goto cleanup;
  }
  if (ort) {
    char head[4] = {0};
    FILE *f = fopen(vo.model_path, "rb");
    if (f) {
      if (fread(head, 1, 1, f) != 1) head[0] = 0;
      fclose(f);
    }
    /* IR text starts with a printable character, ONNX with a field tag. */
    if (head[0] >= 0x20 || head[0] == '\n') {
      cli_error("verify: --reference=ort needs an ONNX model; %s is kiln IR text", vo.model_path);
      rc = 2;
      goto cleanup;
    }
  }
  if (kiln_model_optimize(opt, mo.passes, mo.disable) != KILN_OK) {
    cli_fail(ctx, "optimisation failed");
    goto cleanup;
  }
  if (kiln_model_jit(opt, &exe) != KILN_OK) {
    cli_fail(ctx, "JIT compilation failed");
    goto cleanup;
  }
  ins = cli_model_inputs(src);
  outs = cli_model_outputs(src);
  int ni = kiln_model_num_inputs(src), no = kiln_model_num_outputs(src);
  if (!ins || !outs) goto cleanup;
  if (nspecs) {
    if (!cli_load_inputs(ni, ins, nspecs, specs, &in)) {
      if (in.usage_error) rc = 2;
      goto cleanup;
    }
  } else if (!cli_random_inputs(ni, ins, (unsigned long long)seed, &in)) {
    goto cleanup;
  }
  if (!cli_alloc_outputs(no, outs, &got) || !cli_alloc_outputs(no, outs, &ref)) goto cleanup;
  /* Sizes the run computes from values (NonZero, ...): both sides report
   * their outputs' actual dimensions into the arrays' dims, compared
   * first; the values are then those of the dense arrays at them. */
  bool computed = false;
  for (int k = 0; k < kiln_executable_num_symbols(exe); k++) computed = computed || kiln_executable_symbol_is_computed(exe, k);
  kiln_status s;
  if (computed) {
    kiln_tensor_info *shapes = calloc((size_t)ni + 1, sizeof *shapes);
    int64_t **gd = calloc((size_t)no + 1, sizeof *gd);
    if (shapes && gd) {
      for (int i = 0; i < ni; i++) shapes[i] = ins[i];
      for (int o = 0; o < no; o++) gd[o] = got.arrays[o].dims;
      s = kiln_executable_run_shaped(exe, in.ptrs, shapes, got.ptrs, gd, NULL, ctx);
    } else {
      s = KILN_ERR_OUT_OF_MEMORY;
    }
    free(shapes);
    free(gd);
  } else {
    s = kiln_executable_run(exe, in.ptrs, got.ptrs, NULL);
  }
  if (s != KILN_OK) {
    if (computed) cli_fail(ctx, "verify: the compiled model failed to run");
    else cli_error("verify: the compiled model failed to run: %s", kiln_status_name(s));
    goto cleanup;
  }
  if (ort) {
    if (computed) {
      cli_error("verify: --ort does not compare outputs whose sizes the run computes from values yet");
      goto cleanup;
    }
    int r = run_ort(vo.model_path, ni, ins, &in, no, outs, &ref);
    if (r) goto cleanup;
  } else {
    int64_t **rd = calloc((size_t)no + 1, sizeof *rd);
    for (int o = 0; rd && o < no; o++) rd[o] = ref.arrays[o].dims;
    s = rd ? kiln_model_evaluate_shaped(src, in.ptrs, ref.ptrs, rd) : KILN_ERR_OUT_OF_MEMORY;
    free(rd);
    if (s != KILN_OK) {
      cli_fail(ctx, "the interpreter failed");
      goto cleanup;
    }
  }

  printf("kiln verify %s: compiled (JIT%s%s%s) against %s\n", vo.model_path, vo.cpu ? ", cpu " : "",
         vo.cpu ? vo.cpu : "", vo.perturb ? ", with a planted fault" : "",
         ort ? "ONNX Runtime" : "the interpreter on the model before the passes");
  if (nspecs) printf("inputs: from --input files\n");
  else printf("inputs: random, seed %lld (floats uniform in [-1, 1), integers 0, pred random)\n", seed);
  int npass = 0;
  for (int o = 0; o < no; o++) {
    const int64_t *dims = got.arrays[o].dims; /* the actual dimensions (the bounds' without computed sizes) */
    char shape[256], rshape[256];
    cli_shape_str(outs[o].dtype, outs[o].rank, dims, shape, sizeof shape);
    if (!ort && memcmp(dims, ref.arrays[o].dims, sizeof(int64_t) * (size_t)outs[o].rank) != 0) {
      cli_shape_str(outs[o].dtype, outs[o].rank, ref.arrays[o].dims, rshape, sizeof rshape);
      printf("FAIL %s %s: the interpreter's is %s\n", outs[o].name, shape, rshape);
      continue;
    }
    size_t n = elements(outs[o].rank, dims);
    tol tl = have_tol ? user_tol : default_tol(outs[o].dtype);
    cmp_stats st;
    bool pass = compare(outs[o].dtype, n, got.arrays[o].data, ref.arrays[o].data, tl, false, &st);
    printf("%s %s %s\n", pass ? "PASS" : "FAIL", outs[o].name, shape);
    print_stats("  ", outs[o].dtype, outs[o].rank, dims, n, &st, tl);
    npass += pass;
  }
  printf("%d of %d output(s) pass\n", npass, no);
  if (npass == no) rc = 0;
  if (npass == no && !all_kernels) goto cleanup;

  if (computed) {
    /* Kernel buffers are sized for the bounds, the traced values at the
     * sizes the run found: not compared yet. */
    cli_error("verify: bisection (--kernels, or a failing output) does not support sizes the run computes from "
              "values yet");
    rc = 1;
    goto cleanup;
  }
  /* Bisection: every kernel's outputs against the interpreter's value of
   * the same instruction of the optimised model, in launch order. */
  printf("\nbisecting: comparing every kernel's output with the interpreter's value of its instruction "
         "(optimised IR)\n");
  if (kiln_context_set_instrument(ctx, KILN_INSTRUMENT_KERNELS) != KILN_OK ||
      kiln_model_jit(opt, &iexe) != KILN_OK) {
    cli_fail(ctx, "cannot compile the instrumented model for bisection");
    goto cleanup;
  }
  int nk = kiln_executable_num_kernels(iexe);
  if (nk <= 0) {
    cli_error("verify: the instrumented executable has no kernel table: bisection is not available");
    goto cleanup;
  }
  for (int k = 0; k < nk; k++) {
    kiln_kernel_info ki;
    if (kiln_executable_kernel(iexe, k, &ki) != KILN_OK) continue;
    for (int j = 0; j < ki.num_outputs; j++)
      if (!want_value(&vals, ki.outputs[j].name)) goto cleanup;
  }
  if (!cli_alloc_outputs(no, outs, &scratch)) goto cleanup;
  s = kiln_model_evaluate_trace(opt, in.ptrs, scratch.ptrs, keep_value, &vals);
  /* The optimised model's own outputs against the reference: tells a
   * fault of the passes from one of the code generator. */
  int opt_bad = -1;
  for (int o = 0; s == KILN_OK && o < no && opt_bad < 0; o++) {
    cmp_stats st;
    if (!compare(outs[o].dtype, elements(outs[o].rank, outs[o].dims), scratch.arrays[o].data, ref.arrays[o].data,
                 have_tol ? user_tol : default_tol(outs[o].dtype), false, &st))
      opt_bad = o;
  }
  cli_free_outputs(&scratch);
  if (s != KILN_OK) {
    cli_fail(ctx, "the interpreter failed on the optimised model");
    goto cleanup;
  }
  b.exe = iexe;
  b.ref = &vals;
  b.user_tol = user_tol;
  b.have_user_tol = have_tol;
  b.first_bad = -1;
  b.print_all = all_kernels;
  if (kiln_executable_set_trace(iexe, on_kernel, &b) != KILN_OK) {
    cli_error("verify: cannot set the trace hook of the instrumented executable");
    goto cleanup;
  }
  kiln_executable_set_num_threads(iexe, vo.threads_s ? (int)vo.threads : 0);
  if (cli_alloc_outputs(no, outs, &scratch)) {
    s = kiln_executable_run(iexe, in.ptrs, scratch.ptrs, NULL);
    cli_free_outputs(&scratch);
  }
  free(b.scratch);
  if (s != KILN_OK) {
    cli_error("verify: the instrumented model failed to run: %s", kiln_status_name(s));
    goto cleanup;
  }
  if (b.first_bad < 0 && npass == no) {
    printf("every kernel agrees with the interpreter (%d kernel outputs compared, %d not comparable)\n", b.compared,
           b.skipped);
    goto cleanup;
  }
  if (b.first_bad < 0) {
    printf("no kernel differs from the interpreter on the optimised IR (%d kernel outputs compared, %d not "
           "comparable)\n", b.compared, b.skipped);
    if (opt_bad >= 0 && ort)
      printf("but kiln's interpreter on the optimised IR differs from ONNX Runtime at output '%s': kiln's import or "
             "passes and ONNX Runtime disagree on the model (compare `kiln eval` with ONNX Runtime, and "
             "--reference=interp)\n",
             outs[opt_bad].name);
    else if (opt_bad >= 0)
      printf("but the interpreter on the optimised IR differs from the reference at output '%s': the passes "
             "changed the result (compare `kiln eval` before and after `kiln opt --passes=default`)\n",
             outs[opt_bad].name);
    else
      printf("the difference is within what the kernels' tolerances let through, accumulated over the model; "
             "try a looser --rtol/--atol or --reference=ort\n");
    goto cleanup;
  }
  kiln_kernel_info ki;
  kiln_executable_kernel(iexe, b.first_bad, &ki);
  const kiln_tensor_info *bo = &ki.outputs[b.bad_output];
  /* Constants elided: only the instructions are read from it. */
  if (kiln_model_print(opt, KILN_PRINT_ELIDE_CONSTANTS, &ir) != KILN_OK) ir = NULL;
  char *fused = ir ? fused_instructions(ir, ki.name) : NULL;
  printf("first kernel that differs: %%%s (kernel %d of %d in launch order, kind %s, %s)\n", ki.name,
         b.first_bad + 1, nk, ki.kind ? ki.kind : "?", ki.shape ? ki.shape : "?");
  printf("  output %s:\n", bo->name);
  print_stats("    ", bo->dtype, bo->rank, bo->dims, elements(bo->rank, bo->dims), &b.st, tol_for(&b, bo->dtype));
  printf("  fused instructions: %s\n", fused && fused[0] ? fused : "(not found in the optimised IR)");
  printf("  ONNX nodes: %s\n", ki.onnx_nodes && ki.onnx_nodes[0] ? ki.onnx_nodes : "(none known)");
  printf("  ONNX ops: %s\n", ki.onnx_ops && ki.onnx_ops[0] ? ki.onnx_ops : "(none known)");
  printf("  the %d kernel(s) before it agree with the interpreter\n", b.first_bad);
  free(fused);
  /* A reproducer only for a wrong result (not for a kernel --kernels
   * found outside the tolerance while the outputs pass). */
  if (npass < no) write_repro(opt, in.ptrs, ki.name, &vals, &vo);
cleanup:
  free(ir);
  free_values(&vals);
  cli_free_inputs(&in);
  cli_free_outputs(&got);
  cli_free_outputs(&ref);
  free(ins);
  free(outs);
  kiln_executable_destroy(iexe);
  kiln_executable_destroy(exe);
  kiln_model_destroy(src);
  kiln_model_destroy(opt);
done:
  free(specs);
  kiln_context_destroy(ctx);
  return rc;
}
