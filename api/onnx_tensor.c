/*
 * Public entry points for ONNX files beyond kiln_model_load_file: loading a
 * model whatever its extension, and reading ONNX TensorProto files (the
 * test data of ONNX's backend test cases) into host tensors.
 *
 * kiln_dtype numbers are the IR's ir_type numbers (both list pred, i8..i64,
 * u8..u64, f16, bf16, f32, f64 in that order), so types convert by a cast.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "frontend/onnx/onnx.h"

_Static_assert((int)KILN_F64 == (int)IR_F64 && (int)KILN_BF16 == (int)IR_BF16 && (int)KILN_U8 == (int)IR_U8,
               "kiln_dtype and ir_type must agree");
_Static_assert(KILN_MAX_RANK == IR_MAX_RANK, "KILN_MAX_RANK and IR_MAX_RANK must agree");

kiln_status kiln_model_load_onnx(kiln_context *ctx, const char *path, kiln_model **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!path || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_load_onnx: NULL argument");
  *out = NULL;
  return api_import_onnx(ctx, path, NULL, 0, NULL, 0, out);
}

kiln_status kiln_tensor_read_onnx(kiln_context *ctx, const char *path, kiln_host_tensor *out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!path || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_tensor_read_onnx: NULL argument");
  memset(out, 0, sizeof *out);
  onnx_tensor t;
  int rc = onnx_read_tensor_file(path, &t, &ctx->sink);
  if (rc != KILN_OK) return api_fail(ctx, (kiln_status)rc, "%s: cannot read the tensor", path);
  out->dtype = (kiln_dtype)t.shape.type;
  out->rank = t.shape.rank;
  for (int i = 0; i < t.shape.rank; i++) out->dims[i] = t.shape.dims[i];
  out->nbytes = (size_t)ir_shape_bytes(&t.shape);
  out->data = t.data;
  out->name = t.name;
  return KILN_OK;
}

void kiln_host_tensor_free(kiln_host_tensor *t) {
  if (!t) return;
  free(t->data);
  free(t->name);
  memset(t, 0, sizeof *t);
}

kiln_status kiln_model_load_onnx_with_values(kiln_context *ctx, const char *path, int n,
                                             const kiln_host_tensor *values, kiln_model **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!path || !out || n < 0 || (n && !values))
    return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_load_onnx_with_values: bad argument");
  *out = NULL;
  onnx_tensor *v = calloc((size_t)n + 1, sizeof *v);
  if (!v) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  kiln_status s = KILN_OK;
  for (int i = 0; i < n && s == KILN_OK; i++) {
    const kiln_host_tensor *t = &values[i];
    if (!t->name || (unsigned)t->dtype > KILN_F64 || t->rank < 0 || t->rank > KILN_MAX_RANK || (!t->data && t->nbytes)) {
      s = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "value %d: needs a name, a dtype, a rank up to %d and data", i,
                   KILN_MAX_RANK);
      break;
    }
    v[i].shape = ir_shape_make((ir_type)t->dtype, t->rank, t->dims);
    if (ir_shape_bytes(&v[i].shape) != (int64_t)t->nbytes)
      s = api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "value '%s': %zu bytes do not fit its dims", t->name, t->nbytes);
    v[i].data = t->data;
    v[i].name = t->name;
  }
  if (s == KILN_OK) s = api_import_onnx(ctx, path, NULL, 0, v, n, out);
  free(v);
  return s;
}
