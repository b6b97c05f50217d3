/*
 * A small, strict reader and writer of NumPy .npy files.
 *
 * Read: format versions 1.0, 2.0 and 3.0; little-endian (or byte-order
 * free) dtypes b1 i1 i2 i4 i8 u1 u2 u4 u8 f2 f4 f8; C order only; the
 * header must be a Python dict literal with exactly the keys descr,
 * fortran_order, shape. Anything else (big-endian data, Fortran order,
 * object arrays, a size that disagrees with the shape, trailing bytes) is
 * refused with a message.
 *
 * bfloat16 (NumPy has no such dtype; the ml_dtypes package adds one):
 *   - descr 'bfloat16' is read as bf16 and is what the writer writes. It
 *     is the name ml_dtypes registers with NumPy (str(dtype)), so
 *     np.load gives a bfloat16 array once ml_dtypes is imported (plain
 *     NumPy refuses the file rather than misreading it).
 *   - descr '<V2' or '|V2' (an untyped 2-byte item) is what np.save writes
 *     for an ml_dtypes bfloat16 array: the type is lost, so it is read as
 *     bf16 only when the caller says bf16 is expected (NPY_UNTYPED2_AS_BF16,
 *     e.g. for a model input of that type) and refused otherwise.
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

/* Flags of the _ex readers. */
enum {
  NPY_UNTYPED2_AS_BF16 = 1 << 0, /* read descr '<V2' / '|V2' as bfloat16 (see above) */
};
bool npy_parse_ex(const void *buf, size_t n, unsigned flags, npy_array *out, char *err, size_t errn);
bool npy_read_file_ex(const char *path, unsigned flags, npy_array *out, char *err, size_t errn);
/* Reads only the header of a .npy file: dtype, rank and dims (out->data
 * stays NULL). For taking an input's shape from its file. */
bool npy_read_header(const char *path, unsigned flags, npy_array *out, char *err, size_t errn);
/* Writes a; on failure no file is left behind. */
bool npy_write_file(const char *path, const npy_array *a, char *err, size_t errn);
/* Serialises a into a malloc'd buffer (caller frees). */
bool npy_serialize(const npy_array *a, void **buf, size_t *n, char *err, size_t errn);
void npy_free(npy_array *a);
int64_t npy_elements(const npy_array *a);

/* An IEEE half (f16) or bfloat16 bit pattern as a double (exact). */
double npy_f16_to_double(uint16_t h);
double npy_bf16_to_double(uint16_t h);

#endif
