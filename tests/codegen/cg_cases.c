/*
 * Compiles every case of one or more case folders (tests/ir/eval/cases,
 * written by tests/ir/eval/gen_cases.py with NumPy, and tests/codegen/cases,
 * written by tests/codegen/gen_cases.py) to a shared object with the CPU
 * code generator, loads it with the artifact loader, runs it, and compares:
 *   - with the NumPy outputs (outN.npy): integers and pred exactly; floats
 *     NaN where NaN is expected, infinities exactly, otherwise
 *     |got - want| <= atol + rtol * |want|, with the interpreter tests'
 *     tolerances (f64 1e-12/1e-14, f32 1e-6/1e-7, f16/bf16 1e-3/1e-4;
 *     the comparison is tests/ir/npy_check.c's);
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
 * With --cpu NAME (and --features LIST) the code is generated for that
 * LLVM CPU instead of this machine's (kiln_context_set_target): x86-64-v2
 * tests the kernels' generic (SSE, 4-wide) paths on any machine. For an
 * x86-64 level this machine cannot run (x86-64-v3 without AVX2, say) the
 * program prints why and exits 77 (skipped) instead of compiling code it
 * could not run.
 *
 * Usage: test_cg_cases [--passes] [--cpu NAME [--features LIST]] CASES_DIR...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "ir/eval.h"
#include "tests/common/cpu_level.h"
#include "tests/common/testutil.h"
#include "tests/ir/npy_check.h"
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

static char tmpdir[] = "/tmp/kiln-cg-XXXXXX";

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

/* What every case is compiled with. */
typedef struct options {
  bool with_passes;           /* run the default pass pipeline first */
  const char *cpu, *features; /* the target CPU (NULL: this machine's) */
} options;

/* user: the options. */
static bool run_case(const char *dir, const char *name, void *user) {
  const options *opt = user;
  bool with_passes = opt->with_passes;
  char path[4096], so[4096], err[512];
  snprintf(path, sizeof path, "%s/%s/model.kir", dir, name);
  snprintf(so, sizeof so, "%s/%s.so", tmpdir, name);
  kiln_context *ctx;
  if (kiln_context_create(&ctx) != KILN_OK) return false;
  kiln_context_set_diagnostics(ctx, print_diag, (void *)name);
  if ((opt->cpu || opt->features) && kiln_context_set_target(ctx, NULL, opt->cpu, opt->features) != KILN_OK) {
    fprintf(stderr, "  [%s] cannot set the target CPU: %s\n", name, kiln_context_last_error(ctx));
    kiln_context_destroy(ctx);
    return false;
  }
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
    snprintf(path, sizeof path, "%s/%s/in%d.npy", dir, name, p);
    ok = npy_read_file(path, &ins[p], err, sizeof err);
    if (!ok) fprintf(stderr, "  [%s] %s\n", name, err);
    else in_ptrs[p] = ins[p].data;
  }
  for (int o = 0; ok && o < no; o++) {
    kiln_tensor_info ti;
    kiln_executable_output(a, o, &ti);
    snprintf(path, sizeof path, "%s/%s/out%d.npy", dir, name, o);
    ok = npy_read_file(path, &want[o], err, sizeof err);
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
    ir_type t = (ir_type)ti.dtype;
    if (npy_check_compare_tol(name, "NumPy", o, t, outs[o], want[o].data, n, rtol, atol)) ok = false;
    if (memcmp(outs[o], outs1[o], bytes[o]) != 0) {
      fprintf(stderr, "  [%s] output %d differs between 1 thread and the default thread count\n", name, o);
      ok = false;
    }
    if (have_ref && !ir_type_is_float(t) && npy_check_compare_tol(name, "interpreter", o, t, outs[o], ref[o], n, 0, 0))
      ok = false;
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

int main(int argc, char **argv) {
  options opt = {false, NULL, NULL};
  int first = 1;
  for (; first < argc && argv[first][0] == '-'; first++) {
    if (!strcmp(argv[first], "--passes")) opt.with_passes = true;
    else if (!strcmp(argv[first], "--cpu") && first + 1 < argc) opt.cpu = argv[++first];
    else if (!strcmp(argv[first], "--features") && first + 1 < argc) opt.features = argv[++first];
    else break;
  }
  if (argc <= first || argv[first][0] == '-') {
    fprintf(stderr, "usage: %s [--passes] [--cpu NAME [--features LIST]] CASES_DIR...\n", argv[0]);
    return 2;
  }
  if (opt.cpu) {
    char why[512];
    int r = tu_cpu_level_runs(opt.cpu, why, sizeof why);
    if (r == 0) {
      printf("SKIPPED: code generated for %s cannot run on this machine: %s\n", opt.cpu, why);
      return 77;
    }
    /* Another CPU name (znver4, ...) is the caller's to vouch for. */
    printf("code generated for cpu %s, features '%s'\n", opt.cpu, opt.features ? opt.features : "");
  }
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  int failed = 0, total = 0;
  for (int d = first; d < argc; d++) {
    int nn, nf = tu_run_each(argv[d], NULL, run_case, &opt, &nn);
    if (nf < 0) {
      failed++;
      continue;
    }
    failed += nf;
    total += nn;
  }
  rmdir(tmpdir);
  printf("%d cases, %d failed\n", total, failed);
  return failed || total == 0 ? 1 : 0;
}
