/*
 * A small, strict reader and writer of NumPy .npy files.
 *
 * Read: format versions 1.0, 2.0 and 3.0; little-endian (or byte-order
 * free) dtypes b1 i1 i2 i4 i8 u1 u2 u4 u8 f2 f4 f8 (plus "bfloat16" is not
 * a NumPy dtype and is refused); C order only; the header must be a Python
 * dict literal with exactly the keys descr, fortran_order, shape. Anything
 * else (big-endian data, Fortran order, object arrays, a size that
 * disagrees with the shape, trailing bytes) is refused with a message.
 *
 * Write: version 1.0 (2.0 when the header needs it), C order.
 */
#ifndef KILN_TOOLS_NPY_H
#define KILN_TOOLS_NPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln/kiln.h"

#define NPY_MAX_RANK KILN_MAX_RANK

typedef struct npy_array {
  kiln_dtype dtype;
  int rank;
  int64_t dims[NPY_MAX_RANK];
  void *data;    /* malloc'd, dense C order; owned by the array */
  size_t nbytes;
} npy_array;

/* Parses a .npy image of n bytes. On success fills *out (free with
 * npy_free) and returns true; otherwise writes a message to err. */
bool npy_parse(const void *buf, size_t n, npy_array *out, char *err, size_t errn);
bool npy_read_file(const char *path, npy_array *out, char *err, size_t errn);
/* Writes a; on failure no file is left behind. */
bool npy_write_file(const char *path, const npy_array *a, char *err, size_t errn);
/* Serialises a into a malloc'd buffer (caller frees). */
bool npy_serialize(const npy_array *a, void **buf, size_t *n, char *err, size_t errn);
void npy_free(npy_array *a);
int64_t npy_elements(const npy_array *a);

#endif
