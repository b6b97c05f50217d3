/*
 * The demo host program: runs a kiln-compiled resnet18 through its
 * generated header, prints the top-5 classes, the latency, and how far the
 * result is from PyTorch's.
 *
 *   kiln compile model.onnx -o libresnet18.so --header resnet18.h --name resnet18
 *   cc classify.c -I. -L. -lresnet18 -Wl,-rpath,'$ORIGIN' -o classify
 *   ./classify input.bin pytorch_output.bin
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "resnet18.h"

static float input[1 * 3 * 224 * 224], output[1000], expected[1000];

static int read_floats(const char *path, float *dst, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  size_t got = fread(dst, sizeof *dst, n, f);
  fclose(f);
  if (got != n) {
    fprintf(stderr, "%s: expected %zu floats, found %zu\n", path, n, got);
    return -1;
  }
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s input.bin pytorch_output.bin\n", argv[0]);
    return 2;
  }
  if (read_floats(argv[1], input, sizeof input / sizeof *input) || read_floats(argv[2], expected, 1000)) return 1;
  void *workspace = aligned_alloc(64, (kiln_resnet18_workspace_size() + 63) / 64 * 64);
  const void *ins[] = {input};
  void *outs[] = {output};
  if (!workspace || kiln_resnet18_run(ins, outs, workspace) != 0) {
    fprintf(stderr, "run failed\n");
    return 1;
  }
  /* Top 5. */
  int top[5];
  for (int k = 0; k < 5; k++) {
    int best = -1;
    for (int i = 0; i < 1000; i++) {
      int taken = 0;
      for (int j = 0; j < k; j++) taken |= top[j] == i;
      if (!taken && (best < 0 || output[i] > output[best])) best = i;
    }
    top[k] = best;
  }
  printf("top-5 classes (random weights, so the classes mean nothing):\n");
  for (int k = 0; k < 5; k++) printf("  class %4d  logit %8.4f\n", top[k], output[top[k]]);
  double num = 0, den = 0;
  for (int i = 0; i < 1000; i++) {
    num += (output[i] - expected[i]) * (double)(output[i] - expected[i]);
    den += (double)expected[i] * expected[i];
  }
  printf("relative L2 distance to PyTorch's output: %.2e\n", sqrt(num / den));
  /* Latency: median of 50 runs after the first. */
  double t[50];
  for (int r = 0; r < 50; r++) {
    double t0 = now_ms();
    kiln_resnet18_run(ins, outs, workspace);
    t[r] = now_ms() - t0;
  }
  qsort(t, 50, sizeof *t, by_value);
  printf("latency over 50 runs on %d thread(s): median %.2f ms, min %.2f ms\n", kiln_resnet18_num_threads(), t[25],
         t[0]);
  free(workspace);
  return sqrt(num / den) <= 1e-4 ? 0 : 1;
}
