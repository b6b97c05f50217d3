/*
 * A C host program for tests/models/dynamic_test.py: calls the artifact
 * "dyn" (one input, one output), compiled once with --max-shape, at the
 * shape given on the command line, through its generated header dyn.h and
 * the .so linked directly (no libkiln).
 *
 *   host_run IN.bin RANK D0 .. D(RANK-1) OUT.bin
 *
 * IN.bin holds the input's raw elements at dims D0..; OUT.bin receives the
 * output's raw elements at the dimensions run_shaped reports, which are
 * printed as "dims D0 D1 ..." on stdout. The output buffer is the header's
 * size at the bounds, filled with 0xA5 bytes; the program fails (exit 4)
 * if any byte past the actual output changed. Exit 3: run_shaped refused
 * (its status on stderr).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dyn.h"
#include "kiln/artifact.h"

static void *read_file(const char *path, long *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  void *buf = NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (*len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    buf = malloc((size_t)*len + 1);
    if (buf && fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
      free(buf);
      buf = NULL;
    }
  }
  fclose(f);
  return buf;
}

static size_t dtype_size(int32_t t) {
  switch (t) {
    case KILN_ARTIFACT_PRED: case KILN_ARTIFACT_I8: case KILN_ARTIFACT_U8: return 1;
    case KILN_ARTIFACT_I16: case KILN_ARTIFACT_U16: case KILN_ARTIFACT_F16: case KILN_ARTIFACT_BF16: return 2;
    case KILN_ARTIFACT_I32: case KILN_ARTIFACT_U32: case KILN_ARTIFACT_F32: return 4;
    default: return 8;
  }
}

int main(int argc, char **argv) {
  int rank = argc > 2 ? atoi(argv[2]) : -1;
  if (rank < 0 || rank > 8 || argc != 4 + rank) {
    fprintf(stderr, "usage: host_run IN.bin RANK D0 .. OUT.bin\n");
    return 2;
  }
  int64_t dims[8];
  for (int i = 0; i < rank; i++) dims[i] = strtoll(argv[3 + i], NULL, 10);
  long len = 0;
  void *in = read_file(argv[1], &len);
  unsigned char *out = malloc(KILN_DYN_OUTPUT0_MAX_BYTES);
  if (!in || !out) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  memset(out, 0xA5, KILN_DYN_OUTPUT0_MAX_BYTES);
  int64_t odims[8] = {0};
  const void *ins[1] = {in};
  const int64_t *idims[1] = {dims};
  void *outs[1] = {out};
  int64_t *od[1] = {odims};
  int st = kiln_dyn_run_shaped(ins, idims, outs, od, NULL);
  if (st != KILN_ARTIFACT_OK) {
    fprintf(stderr, "run_shaped returned %d\n", st);
    return 3;
  }
  const kiln_artifact_desc *d = kiln_dyn_info();
  size_t bytes = dtype_size(d->outputs[0].dtype);
  printf("dims");
  for (int i = 0; i < d->outputs[0].rank; i++) {
    printf(" %lld", (long long)odims[i]);
    bytes *= (size_t)odims[i];
  }
  printf("\n");
  for (size_t i = bytes; i < KILN_DYN_OUTPUT0_MAX_BYTES; i++)
    if (out[i] != 0xA5) {
      fprintf(stderr, "byte %zu past the actual output (%zu bytes) was written\n", i, bytes);
      return 4;
    }
  FILE *f = fopen(argv[3 + rank], "wb");
  if (!f || fwrite(out, 1, bytes, f) != bytes || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", argv[3 + rank]);
    return 2;
  }
  free(in);
  free(out);
  return 0;
}
