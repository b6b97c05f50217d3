/* ONNX loading behind the public API: context bindings -> importer options. */
#include <stdlib.h>

#include "api/api.h"
#include "frontend/onnx/onnx.h"

kiln_status api_import_onnx(kiln_context *ctx, const char *path, const void *bytes, size_t len,
                            const onnx_tensor *values, int nvalues, kiln_model **out) {
  onnx_binding *b = calloc((size_t)ctx->nbindings + 1, sizeof *b);
  if (!b) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  for (int i = 0; i < ctx->nbindings; i++)
    b[i] = (onnx_binding){ctx->bindings[i].name, ctx->bindings[i].rank, ctx->bindings[i].dims};
  onnx_options o = {.bindings = b, .nbindings = ctx->nbindings, .values = values, .nvalues = nvalues};
  ir_module *m = NULL;
  int rc = path ? onnx_import_file(path, &o, &ctx->sink, &m) : onnx_import(bytes, len, &o, &ctx->sink, &m);
  free(b);
  if (rc != KILN_OK) return api_fail(ctx, (kiln_status)rc, "%s: import failed", path ? path : "<memory>");
  return api_model_wrap(ctx, m, out);
}

kiln_status kiln_model_from_onnx_bytes(kiln_context *ctx, const void *bytes, size_t len, kiln_model **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!bytes || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_from_onnx_bytes: NULL argument");
  *out = NULL;
  return api_import_onnx(ctx, NULL, bytes, len, NULL, 0, out);
}
