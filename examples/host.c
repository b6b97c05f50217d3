/*
 * A C program using a kiln artifact the way a user would: include the
 * generated header, link the shared object, call kiln_mlp_run.
 *
 *   kiln compile mlp.kir -o libmlp.so --header mlp.h --name mlp
 *   cc host.c -I. -L. -lmlp -Wl,-rpath,'$ORIGIN' -lm -o host
 *
 * It prints the model's output and the run's latency, and checks the
 * output against a plain-C computation of the same network (exit 1 on a
 * mismatch), so the build runs it as a test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mlp.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The network of mlp.kir, computed directly. */
static void reference(const float *x, double *p) {
  double h[16], z[10], mx = -INFINITY, sum = 0;
  for (int j = 0; j < 16; j++) {
    double a = 0.01f * (float)j;
    for (int i = 0; i < 64; i++) a += (double)x[i] * (0.05f * (float)((16 * i + j) % 17 - 8));
    h[j] = tanh(a);
  }
  for (int j = 0; j < 10; j++) {
    z[j] = 0;
    for (int i = 0; i < 16; i++) z[j] += h[i] * (0.1f * (float)((10 * i + j) % 7 - 3));
    if (z[j] > mx) mx = z[j];
  }
  for (int j = 0; j < 10; j++) sum += exp(z[j] - mx);
  for (int j = 0; j < 10; j++) p[j] = exp(z[j] - mx) / sum;
}

int main(void) {
  float x[64], probs[10];
  for (int i = 0; i < 64; i++) x[i] = sinf(0.1f * (float)i);
  const void *inputs[KILN_MLP_NUM_INPUTS] = {x};
  void *outputs[KILN_MLP_NUM_OUTPUTS] = {probs};
  size_t wsz = kiln_mlp_workspace_size();
  void *ws = wsz ? aligned_alloc(64, wsz) : NULL;
  if (wsz && !ws) return 1;

  int status = kiln_mlp_run(inputs, outputs, ws);
  if (status != 0) {
    fprintf(stderr, "kiln_mlp_run failed with status %d\n", status);
    return 1;
  }
  enum { RUNS = 1000 };
  static double t[RUNS];
  for (int r = 0; r < RUNS; r++) {
    double t0 = now_us();
    kiln_mlp_run(inputs, outputs, ws);
    t[r] = now_us() - t0;
  }
  qsort(t, RUNS, sizeof t[0], cmp);

  double want[10];
  reference(x, want);
  int bad = 0;
  printf("probs =");
  for (int j = 0; j < 10; j++) {
    printf(" %.5f", probs[j]);
    if (fabs(probs[j] - want[j]) > 1e-5 + 1e-4 * fabs(want[j])) bad++;
  }
  printf("\nlatency over %d runs: min %.2f us, median %.2f us (%d threads)\n", RUNS, t[0], t[RUNS / 2],
         kiln_mlp_num_threads());
  free(ws);
  if (bad) fprintf(stderr, "%d outputs differ from the plain-C reference\n", bad);
  return bad ? 1 : 0;
}
