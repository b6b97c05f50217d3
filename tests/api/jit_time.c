/*
 * JIT compile time of a model, measured the way a host program sees it
 * (the numbers the "JIT from a host program" issue asks for):
 *
 *   cold:  kiln_context_create + load + passes + JIT, the first compilation
 *          in the process (it includes LLVM's one-time setup of its
 *          targets and of the host CPU's description);
 *   warm:  load + passes + JIT with an existing context, in a process that
 *          has compiled before (the median of REPEAT compilations), split
 *          into load, passes and JIT (lowering, O3, machine code, linking
 *          in memory).
 *
 * usage: jit_time MODEL [REPEAT]   (MODEL: .onnx or .kir; REPEAT default 5)
 * Not a test (it checks nothing); a tool for docs/codegen.md's numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kiln/kiln.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Compiles once; phase times in t[0..2] (load, passes, JIT). */
static int compile(kiln_context *ctx, const char *path, double *t) {
  double t0 = now_ms();
  kiln_model *m = NULL;
  kiln_executable *exe = NULL;
  if (kiln_model_load_file(ctx, path, &m) != KILN_OK) goto fail;
  double t1 = now_ms();
  if (kiln_model_optimize(m, NULL, NULL) != KILN_OK) goto fail;
  double t2 = now_ms();
  if (kiln_model_jit(m, &exe) != KILN_OK) goto fail;
  double t3 = now_ms();
  t[0] = t1 - t0;
  t[1] = t2 - t1;
  t[2] = t3 - t2;
  kiln_executable_destroy(exe);
  kiln_model_destroy(m);
  return 0;
fail:
  fprintf(stderr, "jit_time: %s: %s\n", path, kiln_context_last_error(ctx));
  kiln_model_destroy(m);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: jit_time MODEL [REPEAT]\n");
    return 2;
  }
  int repeat = argc > 2 ? atoi(argv[2]) : 5;
  if (repeat < 1) repeat = 1;
  double c0 = now_ms(), t[3];
  kiln_context *ctx;
  if (kiln_context_create(&ctx) != KILN_OK) return 1;
  double c1 = now_ms();
  if (compile(ctx, argv[1], t)) return 1;
  double cold = now_ms() - c0, ctx_ms = c1 - c0;
  double *load = malloc(sizeof(double) * (size_t)repeat * 4), *passes = load + repeat, *jit = passes + repeat,
         *total = jit + repeat;
  if (!load) return 1;
  for (int r = 0; r < repeat; r++) {
    if (compile(ctx, argv[1], t)) return 1;
    load[r] = t[0];
    passes[r] = t[1];
    jit[r] = t[2];
    total[r] = t[0] + t[1] + t[2];
  }
  qsort(load, (size_t)repeat, sizeof *load, cmp);
  qsort(passes, (size_t)repeat, sizeof *passes, cmp);
  qsort(jit, (size_t)repeat, sizeof *jit, cmp);
  qsort(total, (size_t)repeat, sizeof *total, cmp);
  int h = repeat / 2;
  printf("%s\n  cold (context creation %.2f ms + first compilation in the process): %.1f ms\n"
         "  warm (existing context, median of %d): %.1f ms = load %.1f + passes %.1f + JIT %.1f ms\n",
         argv[1], ctx_ms, cold, repeat, total[h], load[h], passes[h], jit[h]);
  free(load);
  kiln_context_destroy(ctx);
  return 0;
}
