/*
 * A C host program using a symbolic artifact the way a user would: it
 * includes the generated header, links the shared object directly (no
 * dlopen, no libkiln) and calls kiln_symmlp_run_shaped at two batch sizes,
 * then with shapes the artifact must refuse. test_symbolic.py compiles the
 * model (its dynamic-batch MLP, `kiln compile --max-shape x=8x16 -o
 * symmlp.so`), writes the inputs and NumPy's outputs as raw float32 files
 * and builds this program against the header with the system cc.
 *
 *   host_shaped DIR    -- DIR/x_B.bin (B x 16) and DIR/y_B.bin (B x 4), B = 1, 5
 *
 * Checks, exiting 1 with a message on the first failure: the header's
 * macros (bound, sizes at the bound); each run returns 0, reports the
 * output's dimensions {B, 4}, matches NumPy within 1e-4 (relative) and
 * writes nothing past the B rows of the output buffer (sized for the
 * bound); a batch above the bound, a batch of 0 and a wrong static
 * dimension each return KILN_ARTIFACT_ERR_SHAPE without touching the
 * output; and the description lists the symbol.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/artifact.h"
#include "symmlp.h"

/* The header's sizes, checked when this program compiles. */
_Static_assert(KILN_SYMMLP_BOUND_BATCH == 8, "the bound of batch is --max-shape's 8");
_Static_assert(KILN_SYMMLP_INPUT0_MAX_BYTES == 8 * 16 * 4, "x: f32[batch,16] at batch 8");
_Static_assert(KILN_SYMMLP_OUTPUT0_MAX_BYTES == 8 * 4 * 4, "y: f32[batch,4] at batch 8");

#define SENTINEL 1234.5f

static int failures;

static void fail(const char *fmt, const char *a, long long b) {
  fprintf(stderr, "host_shaped: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  failures++;
}

static float *read_floats(const char *dir, const char *stem, int batch, size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s_%d.bin", dir, stem, batch);
  FILE *f = fopen(path, "rb");
  float *v = malloc(n * sizeof *v);
  if (!f || !v || fread(v, sizeof *v, n, f) != n) {
    fail("cannot read %s (%lld floats)", path, (long long)n);
    if (f) fclose(f);
    free(v);
    return NULL;
  }
  fclose(f);
  return v;
}

/* The output buffer, sized for the bound and filled with the sentinel. */
static void fill(float *y) {
  for (int i = 0; i < KILN_SYMMLP_BOUND_BATCH * 4; i++) y[i] = SENTINEL;
}

static int untouched_from(const float *y, int from) {
  for (int i = from; i < KILN_SYMMLP_BOUND_BATCH * 4; i++)
    if (y[i] != SENTINEL) return i;
  return -1;
}

static void run_batch(const char *dir, int batch, void *ws) {
  float *x = read_floats(dir, "x", batch, (size_t)batch * 16), *want = read_floats(dir, "y", batch, (size_t)batch * 4);
  float y[KILN_SYMMLP_BOUND_BATCH * 4];
  fill(y);
  if (x && want) {
    int64_t xd[2] = {batch, 16}, yd[2] = {-1, -1};
    const void *ins[1] = {x};
    const int64_t *in_dims[1] = {xd};
    void *outs[1] = {y};
    int64_t *out_dims[1] = {yd};
    int rc = kiln_symmlp_run_shaped(ins, in_dims, outs, out_dims, ws);
    if (rc != 0) fail("%s: run_shaped returned %lld", "batch", rc);
    if (yd[0] != batch || yd[1] != 4) fail("%s: output dims [%lld, ...] are not [batch, 4]", "batch", (long long)yd[0]);
    for (int i = 0; rc == 0 && i < batch * 4; i++)
      if (fabsf(y[i] - want[i]) > 1e-4f * (1.0f + fabsf(want[i]))) {
        fail("%s: element %lld differs from NumPy", "y", i);
        break;
      }
    int at = untouched_from(y, batch * 4);
    if (at >= 0) fail("%s: element %lld past the actual rows was written", "y", at);
  }
  free(x);
  free(want);
}

/* Shapes the artifact must refuse before running anything. */
static void refuse(const char *what, int64_t d0, int64_t d1, void *ws) {
  static float x[KILN_SYMMLP_BOUND_BATCH * 2 * 16];
  float y[KILN_SYMMLP_BOUND_BATCH * 4];
  fill(y);
  int64_t xd[2] = {d0, d1};
  const void *ins[1] = {x};
  const int64_t *in_dims[1] = {xd};
  void *outs[1] = {y};
  int rc = kiln_symmlp_run_shaped(ins, in_dims, outs, NULL, ws);
  if (rc != KILN_ARTIFACT_ERR_SHAPE) fail("%s: run_shaped returned %lld, not KILN_ARTIFACT_ERR_SHAPE", what, rc);
  if (untouched_from(y, 0) >= 0) fail("%s: the output was written (element %lld)", what, untouched_from(y, 0));
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: host_shaped DIR\n");
    return 2;
  }
  void *ws = aligned_alloc(64, KILN_SYMMLP_WORKSPACE_SIZE ? KILN_SYMMLP_WORKSPACE_SIZE : 64);
  if (!ws) return 1;
  run_batch(argv[1], 1, ws);
  run_batch(argv[1], 5, ws);
  refuse("batch 9 (above the bound 8)", 9, 16, ws);
  refuse("batch 0", 0, 16, ws);
  refuse("a static dimension of 15", 3, 15, ws);
  const kiln_artifact_desc *d = kiln_symmlp_info();
  if (d->size < offsetof(kiln_artifact_desc, run_shaped) + sizeof d->run_shaped || d->num_symbols != 1 ||
      strcmp(d->symbol_names[0], "batch") != 0 || d->symbol_bounds[0] != 8 || d->input_dim_symbols[0][0] != 0 ||
      d->input_dim_symbols[0][1] != KILN_ARTIFACT_DIM_STATIC)
    fail("%s: the description does not list batch <= 8 as input dimension 0 (%lld symbols)", "desc",
         (long long)d->num_symbols);
  free(ws);
  if (failures) return 1;
  printf("host_shaped: batches 1 and 5 match NumPy; 3 bad shapes refused\n");
  return 0;
}
