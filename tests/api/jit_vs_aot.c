/*
 * JIT against AOT, bit for bit: each model is loaded, optimised with the
 * default pass pipeline, then compiled twice from that one optimised
 * model, by the JIT (kiln_model_jit) and to a shared object that is
 * opened (kiln_model_compile + kiln_executable_open). Both executables
 * run on the same inputs; every output byte must be equal, and so must
 * the descriptions (inputs, outputs, workspace size). The two paths share
 * the code generator up to the optimised LLVM module, so any difference
 * is a bug in one of the two back ends (or nondeterminism in codegen).
 *
 *   jit_vs_aot --models WORKDIR NAME...
 *       models written by tests/models/export_models.py: WORKDIR/NAME/
 *       model.onnx with its inputs listed in io.txt (.npy files)
 *   jit_vs_aot --onnx-cases LIST DATA_DIR STEP
 *       every STEP-th case of LIST (an expected-pass file), from ONNX's
 *       backend test data: DATA_DIR/<case>/model.onnx and
 *       test_data_set_0/input_N.pb. Cases whose model only imports with
 *       inputs frozen to values (shape inputs) are counted as skipped.
 *
 * Prints one line per failure and ends with "N passed, N failed, N skipped";
 * exits 1 if any failed. Uses the public API only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/artifact.h"
#include "kiln/kiln.h"
#include "tools/npy.h"

#define MAX_IO 64

typedef struct inputs {
  int n;
  void *data[MAX_IO];
  size_t nbytes[MAX_IO];
} inputs;

static void inputs_free(inputs *in) {
  for (int i = 0; i < in->n; i++) free(in->data[i]);
  in->n = 0;
}

static char tmpdir[4096];

static void diag_quiet(void *user, kiln_diag_level level, const char *msg) {
  (void)user;
  (void)level;
  (void)msg;
}

static size_t info_bytes(const kiln_tensor_info *t) {
  size_t bytes = kiln_dtype_size(t->dtype);
  for (int d = 0; d < t->rank; d++) bytes *= (size_t)t->dims[d];
  return bytes;
}

/* Runs exe on in; outputs in out[] (malloc'd, sized from exe). */
static bool run(kiln_executable *exe, const inputs *in, void **out, char *why, size_t n) {
  int no = kiln_executable_num_outputs(exe);
  for (int i = 0; i < no; i++) {
    kiln_tensor_info t;
    kiln_executable_output(exe, i, &t);
    size_t bytes = info_bytes(&t);
    out[i] = calloc(bytes ? bytes : 1, 1);
    if (!out[i]) {
      snprintf(why, n, "out of memory");
      return false;
    }
  }
  kiln_status s = kiln_executable_run(exe, (const void *const *)in->data, out, NULL);
  if (s != KILN_OK) snprintf(why, n, "run failed: %s", kiln_status_name(s));
  return s == KILN_OK;
}

static bool same_info(const kiln_tensor_info *a, const kiln_tensor_info *b) {
  if (strcmp(a->name, b->name) || a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int d = 0; d < a->rank; d++)
    if (a->dims[d] != b->dims[d]) return false;
  return true;
}

/* 1 pass, 0 fail (why says), -1 skip. */
static int check_model(const char *onnx, inputs *in, char *why, size_t whyn) {
  kiln_context *ctx;
  if (kiln_context_create(&ctx) != KILN_OK) return 0;
  kiln_context_set_diagnostics(ctx, diag_quiet, NULL);
  kiln_model *m = NULL;
  kiln_executable *jit = NULL, *aot = NULL;
  void *oj[MAX_IO] = {0}, *oa[MAX_IO] = {0};
  int res = 0, no = 0;
  char so[4200];
  snprintf(so, sizeof so, "%s/aot.so", tmpdir);
  if (kiln_model_load_onnx(ctx, onnx, &m) != KILN_OK) {
    snprintf(why, whyn, "import: %s", kiln_context_last_error(ctx));
    res = strstr(why, "must be known at compile time") ? -1 : 0;
    goto done;
  }
  if (kiln_model_optimize(m, NULL, NULL) != KILN_OK || kiln_model_jit(m, &jit) != KILN_OK ||
      kiln_model_compile(m, "model", so, NULL) != KILN_OK || kiln_executable_open(ctx, so, &aot) != KILN_OK) {
    snprintf(why, whyn, "compile: %s", kiln_context_last_error(ctx));
    goto done;
  }
  unlink(so); /* stays mapped */
  int ni = kiln_executable_num_inputs(jit);
  no = kiln_executable_num_outputs(jit);
  if (ni != in->n || ni != kiln_executable_num_inputs(aot) || no != kiln_executable_num_outputs(aot) || no > MAX_IO ||
      kiln_executable_workspace_size(jit) != kiln_executable_workspace_size(aot)) {
    snprintf(why, whyn, "descriptions differ or do not fit the %d inputs", in->n);
    goto done;
  }
  for (int i = 0; i < ni + no; i++) {
    kiln_tensor_info a, b;
    if (i < ni) {
      kiln_executable_input(jit, i, &a);
      kiln_executable_input(aot, i, &b);
      if (info_bytes(&a) != in->nbytes[i]) {
        snprintf(why, whyn, "input %d: %zu bytes given, %zu expected", i, in->nbytes[i], info_bytes(&a));
        goto done;
      }
    } else {
      kiln_executable_output(jit, i - ni, &a);
      kiln_executable_output(aot, i - ni, &b);
    }
    if (!same_info(&a, &b)) {
      snprintf(why, whyn, "%s %d is described differently", i < ni ? "input" : "output", i < ni ? i : i - ni);
      goto done;
    }
  }
  if (!run(jit, in, oj, why, whyn) || !run(aot, in, oa, why, whyn)) goto done;
  res = 1;
  for (int i = 0; i < no && res; i++) {
    kiln_tensor_info t;
    kiln_executable_output(jit, i, &t);
    size_t bytes = info_bytes(&t), first = 0;
    if (bytes && memcmp(oj[i], oa[i], bytes)) {
      while (((unsigned char *)oj[i])[first] == ((unsigned char *)oa[i])[first]) first++;
      snprintf(why, whyn, "output '%s' (%s, %zu bytes) differs from byte %zu on", t.name, kiln_dtype_name(t.dtype),
               bytes, first);
      res = 0;
    }
  }
done:
  for (int i = 0; i < MAX_IO; i++) {
    free(oj[i]);
    free(oa[i]);
  }
  kiln_executable_destroy(jit);
  kiln_executable_destroy(aot);
  kiln_model_destroy(m);
  kiln_context_destroy(ctx);
  unlink(so);
  return res;
}

static bool read_npy_inputs(const char *dir, inputs *in, char *why, size_t whyn) {
  char path[4200], line[4096];
  snprintf(path, sizeof path, "%s/io.txt", dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(why, whyn, "cannot open %s", path);
    return false;
  }
  bool ok = true;
  while (ok && fgets(line, sizeof line, f)) {
    char kind[16], name[1024], file[1024];
    if (sscanf(line, "%15s %1023s %1023s", kind, name, file) != 3 || strcmp(kind, "input")) continue;
    if (in->n == MAX_IO) {
      snprintf(why, whyn, "too many inputs");
      ok = false;
      break;
    }
    npy_array a;
    char err[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (!npy_read_file(path, &a, err, sizeof err)) {
      snprintf(why, whyn, "%s", err);
      ok = false;
      break;
    }
    in->data[in->n] = a.data;
    in->nbytes[in->n] = a.nbytes;
    in->n++;
  }
  fclose(f);
  return ok;
}

static bool read_pb_inputs(const char *dir, inputs *in, char *why, size_t whyn) {
  kiln_context *ctx;
  if (kiln_context_create(&ctx) != KILN_OK) return false;
  bool ok = true;
  for (int i = 0; ok && i < MAX_IO; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
    if (access(path, R_OK) != 0) break;
    kiln_host_tensor t;
    if (kiln_tensor_read_onnx(ctx, path, &t) != KILN_OK) {
      snprintf(why, whyn, "%s: %s", path, kiln_context_last_error(ctx));
      ok = false;
      break;
    }
    in->data[in->n] = t.data;
    in->nbytes[in->n] = t.nbytes;
    in->n++;
    free(t.name);
  }
  kiln_context_destroy(ctx);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[1], "--models") && strcmp(argv[1], "--onnx-cases")) ||
      (!strcmp(argv[1], "--onnx-cases") && argc != 5)) {
    fprintf(stderr, "usage: jit_vs_aot --models WORKDIR NAME... | --onnx-cases LIST DATA_DIR STEP\n");
    return 2;
  }
  const char *t = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/kiln-jit-vs-aot-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  int pass = 0, fail = 0, skip = 0;
  bool models = !strcmp(argv[1], "--models");
  char **names = NULL;
  int nnames = 0, step = 1;
  if (models) {
    names = argv + 3;
    nnames = argc - 3;
  } else {
    step = atoi(argv[4]);
    if (step < 1) step = 1;
    FILE *f = fopen(argv[2], "r");
    if (!f) {
      perror(argv[2]);
      return 2;
    }
    names = calloc(4096, sizeof *names);
    char line[1024];
    for (int k = 0; names && fgets(line, sizeof line, f) && nnames < 4096;) {
      line[strcspn(line, "\r\n")] = 0;
      if (!line[0] || line[0] == '#') continue;
      if (k++ % step == 0) names[nnames++] = strdup(line);
    }
    fclose(f);
  }
  for (int i = 0; names && i < nnames; i++) {
    char dir[4200], onnx[4300], why[1024] = "";
    snprintf(dir, sizeof dir, "%s/%s", models ? argv[2] : argv[3], names[i]);
    snprintf(onnx, sizeof onnx, "%s/model.onnx", dir);
    inputs in = {0};
    int r = (models ? read_npy_inputs : read_pb_inputs)(dir, &in, why, sizeof why) ? check_model(onnx, &in, why, sizeof why) : 0;
    inputs_free(&in);
    if (r > 0) {
      pass++;
      printf("ok   %s\n", names[i]);
    } else if (r < 0) {
      skip++;
      printf("SKIP %s: %s\n", names[i], why);
    } else {
      fail++;
      printf("FAIL %s: %s\n", names[i], why);
    }
    fflush(stdout);
  }
  if (!models) {
    for (int i = 0; i < nnames; i++) free(names[i]);
    free(names);
  }
  rmdir(tmpdir);
  printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
  return fail ? 1 : 0;
}
