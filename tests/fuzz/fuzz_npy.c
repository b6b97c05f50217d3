/*
 * Fuzz target for the .npy reader (libFuzzer entry point; built by
 * tests/fuzz/run.sh, replayed over the seed corpus by Meson's tests).
 *
 * Properties checked on every input, aborting (a finding) when one fails:
 *   - npy_parse never crashes, leaks or hits undefined behaviour;
 *   - a refusal comes with a message and leaves nothing allocated;
 *   - an accepted array is consistent (its byte size is its element count
 *     times the element size), serialises, and the serialised image parses
 *     back to the same dtype, shape and bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/npy.h"

static void finding(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_npy: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  npy_array a;
  char err[512] = "";
  if (!npy_parse(data, size, &a, err, sizeof err)) {
    if (!err[0]) finding("a refusal without a message", NULL);
    if (a.data) finding("a refusal left data allocated", err);
    return 0;
  }
  if (a.rank < 0 || a.rank > NPY_MAX_RANK) finding("rank out of range", NULL);
  if ((uint64_t)npy_elements(&a) * kiln_dtype_size(a.dtype) != a.nbytes) finding("byte size != elements x size", NULL);
  void *img;
  size_t n;
  if (!npy_serialize(&a, &img, &n, err, sizeof err)) finding("an accepted array does not serialise", err);
  npy_array b;
  if (!npy_parse(img, n, &b, err, sizeof err)) finding("the serialised image does not parse", err);
  if (b.dtype != a.dtype || b.rank != a.rank || b.nbytes != a.nbytes ||
      memcmp(b.dims, a.dims, sizeof(int64_t) * (size_t)a.rank) != 0 ||
      (a.nbytes && memcmp(a.data, b.data, a.nbytes) != 0))
    finding("the round trip changed the array", NULL);
  npy_free(&b);
  free(img);
  npy_free(&a);
  return 0;
}
