/*
 * The ONNX importer, as the rest of kiln sees it: bytes or a file in, a
 * verified IR module out (or every problem of the model reported at once).
 *
 * Status values are kiln_status codes (kiln/kiln.h): KILN_ERR_PARSE for a
 * malformed file, KILN_ERR_UNSUPPORTED for valid constructs kiln cannot
 * import, KILN_ERR_SHAPE for unbound or inconsistent shapes, KILN_ERR_IO.
 */
#ifndef KILN_FRONTEND_ONNX_H
#define KILN_FRONTEND_ONNX_H

#include <stddef.h>

#include "ir/ir.h"

typedef struct onnx_binding {
  const char *name; /* graph input name */
  int rank;
  const int64_t *dims;
} onnx_binding;

typedef struct onnx_options {
  const onnx_binding *bindings;
  int nbindings;
  /* Bounds of symbolic dimensions (--max-shape), by graph input: each
   * dim_param or unknown dimension of the input becomes a symbol with
   * values 1..dims[i]; a fixed dimension must equal dims[i]. An input may
   * have a binding or a bound, not both. An entry may also name the output
   * of a node whose size run-time values decide and the importer cannot
   * bound (Range, ConstantOfShape of run-time inputs): each of its sizes
   * takes 0..dims[i]. An entry naming anything else is an error. */
  const onnx_binding *bounds;
  int nbounds;
  /* Folder that external data files are read from (never outside it);
   * NULL refuses models with external data. */
  const char *base_dir;
  /* Inputs frozen to values (matched by onnx_tensor.name): each becomes a
   * constant instead of a parameter, so import-time shape computations can
   * read it. The declared type and fixed dimensions must agree. */
  const struct onnx_tensor *values;
  int nvalues;
} onnx_options;

/* Imports a model image. On success *out is a verified module the caller
 * owns (ir_module_destroy). */
int onnx_import(const void *bytes, size_t n, const onnx_options *o, diag *d, ir_module **out);
/* Reads and imports a file; external data is looked up beside it. */
int onnx_import_file(const char *path, const onnx_options *o, diag *d, ir_module **out);

/* A decoded TensorProto (ONNX test data: input_0.pb, output_0.pb). */
typedef struct onnx_tensor {
  ir_shape shape;  /* row-major */
  void *data;      /* malloc'd, ir_shape_bytes(&shape) bytes */
  char *name;      /* malloc'd, "" if none */
} onnx_tensor;

int onnx_read_tensor(const void *bytes, size_t n, const char *base_dir, onnx_tensor *out, diag *d);
int onnx_read_tensor_file(const char *path, onnx_tensor *out, diag *d);
void onnx_tensor_free(onnx_tensor *t);

/* docs/onnx-ops.md, generated from the importer's tables (versions.c):
 * malloc'd Markdown, caller frees; NULL when out of memory. */
char *onnx_ops_markdown(void);

#endif
