/*
 * A host program using libkiln's JIT: compile a model in process, look at
 * its inputs and outputs, run it, print the outputs. It uses nothing but
 * <kiln/kiln.h> and builds against an installed kiln with pkg-config:
 *
 *   cc jit_example.c $(pkg-config --cflags --libs kiln) -o jit_example
 *   ./jit_example mlp.onnx
 *
 * MODEL is an ONNX file (.onnx) or kiln IR text (.kir). Every input is
 * filled over its elements in row-major order with ((i mod 13) - 6) / 8
 * (float inputs; what make_mlp.py's expected output assumes) or i mod 13
 * (integer inputs). Each output is printed as "NAME = v0 v1 ..." (at most
 * 64 values).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kiln/kiln.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t elements(const kiln_tensor_info *t) {
  size_t n = 1;
  for (int d = 0; d < t->rank; d++) n *= (size_t)t->dims[d];
  return n;
}

static void print_info(const char *kind, const kiln_tensor_info *t) {
  printf("%s %s: %s[", kind, t->name, kiln_dtype_name(t->dtype));
  for (int d = 0; d < t->rank; d++) printf("%s%lld", d ? "," : "", (long long)t->dims[d]);
  printf("]\n");
}

/* The input pattern, for the element types this example handles. */
static int fill(const kiln_tensor_info *t, void *p) {
  size_t n = elements(t);
  for (size_t i = 0; i < n; i++) {
    double v = (double)((int)(i % 13) - 6) / 8.0;
    switch (t->dtype) {
      case KILN_F32: ((float *)p)[i] = (float)v; break;
      case KILN_F64: ((double *)p)[i] = v; break;
      case KILN_I32: ((int32_t *)p)[i] = (int32_t)(i % 13); break;
      case KILN_I64: ((int64_t *)p)[i] = (int64_t)(i % 13); break;
      default: fprintf(stderr, "input %s: this example fills only f32, f64, i32 and i64\n", t->name); return 1;
    }
  }
  return 0;
}

static void print_values(const kiln_tensor_info *t, const void *p) {
  size_t n = elements(t);
  printf("%s =", t->name);
  for (size_t i = 0; i < n && i < 64; i++) {
    switch (t->dtype) {
      case KILN_F32: printf(" %.9g", ((const float *)p)[i]); break;
      case KILN_F64: printf(" %.17g", ((const double *)p)[i]); break;
      case KILN_I32: printf(" %d", ((const int32_t *)p)[i]); break;
      case KILN_I64: printf(" %lld", (long long)((const int64_t *)p)[i]); break;
      default: printf(" ?"); break;
    }
  }
  printf("%s\n", n > 64 ? " ..." : "");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: jit_example MODEL.onnx|MODEL.kir\n");
    return 2;
  }
  const char *path = argv[1];
  size_t len = strlen(path);
  int is_kir = len > 4 && strcmp(path + len - 4, ".kir") == 0;

  /* A context holds the options (here: the defaults: this machine's CPU,
   * one thread per core, -O3) and the last error message. */
  kiln_context *ctx = NULL;
  if (kiln_context_create(&ctx) != KILN_OK) return 1;

  /* Load, run the default passes and JIT-compile, in one call. */
  kiln_executable *exe = NULL;
  double t0 = now_ms();
  kiln_status s;
  if (is_kir) {
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)n + 1)) && fread(text, 1, (size_t)n, f) == (size_t)n) {
      s = kiln_compile_kir(ctx, text, (size_t)n, &exe);
    } else {
      fprintf(stderr, "cannot read %s\n", path);
      s = KILN_ERR_IO;
    }
    free(text);
    if (f) fclose(f);
  } else {
    s = kiln_compile_onnx_file(ctx, path, &exe);
  }
  if (s != KILN_OK) {
    fprintf(stderr, "%s: %s: %s\n", path, kiln_status_name(s), kiln_context_last_error(ctx));
    kiln_context_destroy(ctx);
    return 1;
  }
  printf("compiled %s in %.1f ms (JIT)\n", path, now_ms() - t0);

  /* Inputs and outputs: names, types and shapes (owned by exe). */
  int ni = kiln_executable_num_inputs(exe), no = kiln_executable_num_outputs(exe);
  const void **in = calloc((size_t)ni + 1, sizeof *in);
  void **out = calloc((size_t)no + 1, sizeof *out);
  int rc = !in || !out;
  for (int i = 0; i < ni && !rc; i++) {
    kiln_tensor_info t;
    kiln_executable_input(exe, i, &t);
    print_info("input", &t);
    void *buf = malloc(elements(&t) * kiln_dtype_size(t.dtype) + 1);
    in[i] = buf;
    rc = !buf || fill(&t, buf);
  }
  for (int i = 0; i < no && !rc; i++) {
    kiln_tensor_info t;
    kiln_executable_output(exe, i, &t);
    print_info("output", &t);
    out[i] = malloc(elements(&t) * kiln_dtype_size(t.dtype) + 1);
    rc = !out[i];
  }

  /* Run. Each call brings its own outputs and workspace (NULL would let
   * the call allocate one), so many threads may run exe at once. */
  size_t wsz = kiln_executable_workspace_size(exe);
  void *ws = wsz ? aligned_alloc(64, wsz) : NULL;
  if (!rc && wsz && !ws) rc = 1;
  if (!rc) {
    s = kiln_executable_run(exe, in, out, ws);
    if (s != KILN_OK) {
      fprintf(stderr, "run failed: %s\n", kiln_status_name(s));
      rc = 1;
    }
  }
  for (int i = 0; i < no && !rc; i++) {
    kiln_tensor_info t;
    kiln_executable_output(exe, i, &t);
    print_values(&t, out[i]);
  }

  free(ws);
  for (int i = 0; in && i < ni; i++) free((void *)in[i]);
  for (int i = 0; out && i < no; i++) free(out[i]);
  free(in);
  free(out);
  kiln_executable_destroy(exe);
  kiln_context_destroy(ctx);
  return rc;
}
