/*
 * Compiles every case of one or more case folders (tests/ir/eval/cases,
 * written by tests/ir/eval/gen_cases.py with NumPy, and tests/codegen/cases,
 * written by tests/codegen/gen_cases.py) to a shared object with the CPU
 * code generator, loads it with the artifact loader, runs it, and compares:
 *   - with the NumPy outputs (outN.npy): integers and pred exactly; floats
 *     NaN where NaN is expected, infinities exactly, otherwise
 *     |got - want| <= atol + rtol * |want|, with the interpreter tests'
 *     tolerances (f64 1e-12/1e-14, f32 1e-6/1e-7, f16/bf16 1e-3/1e-4);
 *     a case may loosen them in a file `tolerance` ("rtol atol", applied
 *     to every float output) with a comment saying why;
 *   - integer and pred outputs also with the reference interpreter,
 *     exactly (when the interpreter can run the case).
 * Output buffers are pre-filled with a pattern so an element the compiled
 * code forgets to write shows up. Every case also runs with one thread and
 * with the default thread count, and the two results must be identical.
 *
 * With --passes, every model first goes through the default pass pipeline
 * (so fusion, rewrites and the fused kernels are checked on every op).
 *
 * Usage: test_cg_cases [--passes] CASES_DIR...
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "ir/eval.h"
#include "ir/literal.h"
#include "tools/npy.h"

/* The custom call of the eval cases: kiln.test.axpy(x, y), backend_config
 * "a": a * x + y on f32 arrays, rounded once. Exported (the test links with
 * -rdynamic) under its dotted name for the artifact to resolve at load. */
int test_axpy(const void *const *in, void *const *out, const char *config) __asm__("kiln.test.axpy");
int test_axpy(const void *const *in, void *const *out, const char *config) {
  double a = strtod(config, NULL);
  const float *x = in[0], *y = in[1];
  float *z = out[0];
  for (int i = 0; i < 6; i++) z[i] = (float)(a * x[i] + y[i]);
  return 0;
}

static bool interp_axpy(void *user, const char *target, const char *config, int nin, const ir_tensor *in, int nout,
                        ir_tensor *out, char *err, size_t errn) {
  (void)user, (void)nin, (void)nout;
  if (strcmp(target, "kiln.test.axpy") != 0) {
    snprintf(err, errn, "unknown target %s", target);
    return false;
  }
  const void *ins[2] = {in[0].data, in[1].data};
  void *outs[1] = {out[0].data};
  return test_axpy(ins, outs, config) == 0;
}

static void print_diag(void *user, kiln_diag_level level, const char *msg) {
  if (level == KILN_DIAG_ERROR) fprintf(stderr, "  [%s] %s\n", (const char *)user, msg);
}

static void tolerance(kiln_dtype t, double *rtol, double *atol) {
  switch (t) {
    case KILN_F64: *rtol = 1e-12, *atol = 1e-14; break;
    case KILN_F32: *rtol = 1e-6, *atol = 1e-7; break;
    default: *rtol = 1e-3, *atol = 1e-4; break;
  }
}

static bool is_float(kiln_dtype t) { return t == KILN_F16 || t == KILN_BF16 || t == KILN_F32 || t == KILN_F64; }

static int compare(const char *name, const char *what, int out, kiln_dtype dt, const void *got, const void *want,
                   int64_t n, double rtol, double atol) {
  ir_type t = (ir_type)dt;
  int bad = 0;
  for (int64_t i = 0; i < n; i++) {
    bool ok;
    double a = 0, b = 0;
    if (is_float(dt)) {
      a = ir_elem_get_f(t, got, i), b = ir_elem_get_f(t, want, i);
      if (isnan(b)) ok = isnan(a);
      else if (isinf(b)) ok = a == b;
      else ok = !isnan(a) && fabs(a - b) <= atol + rtol * fabs(b);
    } else {
      ok = ir_elem_get_u(t, got, i) == ir_elem_get_u(t, want, i);
      a = (double)ir_elem_get_i(t, got, i), b = (double)ir_elem_get_i(t, want, i);
    }
    if (!ok && bad++ < 5)
      fprintf(stderr, "  [%s] output %d element %lld: got %.9g, %s %.9g\n", name, out, (long long)i, a, what, b);
  }
  if (bad) fprintf(stderr, "  [%s] output %d: %d of %lld elements differ from %s\n", name, out, bad, (long long)n, what);
  return bad;
}

static char tmpdir[] = "/tmp/kiln-cg-XXXXXX";
static bool with_passes;

/* Runs the artifact with `threads` threads into fresh pattern-filled outputs. */
static bool run_once(kiln_executable *a, const void **ins, void **outs, const size_t *bytes, int nout, int threads) {
  for (int o = 0; o < nout; o++) memset(outs[o], 0xA5, bytes[o]);
  kiln_executable_set_num_threads(a, threads);
  size_t ws = kiln_executable_workspace_size(a);
  void *w = ws ? aligned_alloc(64, (ws + 63) / 64 * 64) : NULL;
  bool ok = kiln_executable_run(a, ins, outs, w) == KILN_OK;
  free(w);
  return ok;
}

static bool run_case(const char *dir, const char *name) {
  char path[4096], so[4096], file[64], err[512];
  snprintf(path, sizeof path, "%s/%s/model.kir", dir, name);
  snprintf(so, sizeof so, "%s/%s.so", tmpdir, name);
  kiln_context *ctx;
  if (kiln_context_create(&ctx) != KILN_OK) return false;
  kiln_context_set_diagnostics(ctx, print_diag, (void *)name);
  kiln_model *m = NULL;
  kiln_executable *a = NULL;
  bool ok = kiln_model_load_file(ctx, path, &m) == KILN_OK &&
            (!with_passes || kiln_model_optimize(m, NULL, NULL) == KILN_OK) && kiln_model_compile(m, "t", so, NULL) == KILN_OK &&
            kiln_executable_open(ctx, so, &a) == KILN_OK;
  double rtol = -1, atol = -1;
  snprintf(path, sizeof path, "%s/%s/tolerance", dir, name);
  FILE *tf = fopen(path, "r");
  if (tf) {
    if (fscanf(tf, "%lf %lf", &rtol, &atol) != 2) rtol = atol = -1;
    fclose(tf);
  }
  int ni = ok ? kiln_executable_num_inputs(a) : 0, no = ok ? kiln_executable_num_outputs(a) : 0;
  npy_array *ins = calloc((size_t)ni + 1, sizeof *ins), *want = calloc((size_t)no + 1, sizeof *want);
  const void **in_ptrs = calloc((size_t)ni + 1, sizeof *in_ptrs);
  void **outs = calloc((size_t)no + 1, sizeof *outs), **outs1 = calloc((size_t)no + 1, sizeof *outs1);
  void **ref = calloc((size_t)no + 1, sizeof *ref);
  size_t *bytes = calloc((size_t)no + 1, sizeof *bytes);
  ok = ok && ins && want && in_ptrs && outs && outs1 && ref && bytes;
  for (int p = 0; ok && p < ni; p++) {
    snprintf(file, sizeof file, "%s/%s/in%d.npy", dir, name, p);
    ok = npy_read_file(file, &ins[p], err, sizeof err);
    if (!ok) fprintf(stderr, "  [%s] %s\n", name, err);
    else in_ptrs[p] = ins[p].data;
  }
  for (int o = 0; ok && o < no; o++) {
    kiln_tensor_info ti;
    kiln_executable_output(a, o, &ti);
    snprintf(file, sizeof file, "%s/%s/out%d.npy", dir, name, o);
    ok = npy_read_file(file, &want[o], err, sizeof err);
    if (!ok) fprintf(stderr, "  [%s] %s\n", name, err);
    bytes[o] = kiln_dtype_size(ti.dtype);
    for (int d = 0; d < ti.rank; d++) bytes[o] *= (size_t)ti.dims[d];
    outs[o] = malloc(bytes[o] + 1);
    outs1[o] = malloc(bytes[o] + 1);
    ref[o] = malloc(bytes[o] + 1);
    ok = ok && outs[o] && outs1[o] && ref[o] && want[o].nbytes == bytes[o];
  }
  if (ok && !(run_once(a, in_ptrs, outs1, bytes, no, 1) && run_once(a, in_ptrs, outs, bytes, no, 0))) {
    fprintf(stderr, "  [%s] the run failed\n", name);
    ok = false;
  }
  /* The interpreter, for exact integer comparisons. */
  bool have_ref = false;
  if (ok) {
    diag quiet = {NULL, NULL, 0};
    ir_eval_opts eo = {interp_axpy, NULL};
    have_ref = ir_eval_module(m->m, &eo, in_ptrs, ref, &quiet);
  }
  for (int o = 0; ok && o < no; o++) {
    kiln_tensor_info ti;
    kiln_executable_output(a, o, &ti);
    int64_t n = (int64_t)(bytes[o] / kiln_dtype_size(ti.dtype));
    double rt, at;
    tolerance(ti.dtype, &rt, &at);
    if (rtol >= 0) rt = rtol, at = atol;
    if (compare(name, "NumPy", o, ti.dtype, outs[o], want[o].data, n, rt, at)) ok = false;
    if (memcmp(outs[o], outs1[o], bytes[o]) != 0) {
      fprintf(stderr, "  [%s] output %d differs between 1 thread and the default thread count\n", name, o);
      ok = false;
    }
    if (have_ref && !is_float(ti.dtype) && compare(name, "interpreter", o, ti.dtype, outs[o], ref[o], n, 0, 0)) ok = false;
  }
  for (int p = 0; p < ni && ins; p++) npy_free(&ins[p]);
  for (int o = 0; o < no && want; o++) {
    npy_free(&want[o]);
    free(outs[o]);
    free(outs1[o]);
    free(ref[o]);
  }
  free(ins), free(want), free(in_ptrs), free(outs), free(outs1), free(ref), free(bytes);
  kiln_executable_destroy(a);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  unlink(so);
  return ok;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && !strcmp(argv[1], "--passes")) {
    with_passes = true;
    first = 2;
  }
  if (argc <= first) {
    fprintf(stderr, "usage: %s [--passes] CASES_DIR...\n", argv[0]);
    return 2;
  }
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  int failed = 0, total = 0;
  for (int d = first; d < argc; d++) {
    DIR *dir = opendir(argv[d]);
    if (!dir) {
      fprintf(stderr, "cannot open %s\n", argv[d]);
      failed++;
      continue;
    }
    char **names = NULL;
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
      if (e->d_name[0] == '.') continue;
      char **nb = realloc(names, (nn + 1) * sizeof *names);
      if (!nb) return 1;
      names = nb;
      names[nn++] = strdup(e->d_name);
    }
    closedir(dir);
    qsort(names, nn, sizeof *names, cmp_str);
    for (size_t i = 0; i < nn; i++) {
      bool ok = run_case(argv[d], names[i]);
      printf("%s %s\n", ok ? "ok  " : "FAIL", names[i]);
      fflush(stdout);
      failed += !ok;
      total++;
      free(names[i]);
    }
    free(names);
  }
  rmdir(tmpdir);
  printf("%d cases, %d failed\n", total, failed);
  return failed || total == 0 ? 1 : 0;
}
