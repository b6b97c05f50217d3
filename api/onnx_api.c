/*
 * ONNX loading behind the public API: context bindings -> importer options.
 * A file is checked to be binary first: IR text or a compiled artifact
 * given as an ONNX model is named as what it is, not as a broken protobuf.
 */
#include <stdlib.h>

#include "api/api.h"
#include "frontend/onnx/onnx.h"

kiln_status api_import_onnx(kiln_context *ctx, const char *path, const void *bytes, size_t len,
                            const onnx_tensor *values, int nvalues, kiln_model **out) {
  if (path) {
    api_kind kind;
    kiln_status ks = api_file_kind(ctx, path, &kind);
    if (ks != KILN_OK) return ks;
    if (kind != API_KIND_BINARY)
      return api_fail(ctx, KILN_ERR_PARSE, "%s: not an ONNX model: this is %s", path,
                      kind == API_KIND_ELF ? "an ELF file (a compiled kiln artifact?)"
                                           : "text (kiln IR text loads with kiln_model_load_file)");
  }
  onnx_binding *b = calloc((size_t)ctx->nbindings + (size_t)ctx->nbounds + 1, sizeof *b);
  if (!b) return api_fail(ctx, KILN_ERR_OUT_OF_MEMORY, "out of memory");
  for (int i = 0; i < ctx->nbindings; i++)
    b[i] = (onnx_binding){ctx->bindings[i].name, ctx->bindings[i].rank, ctx->bindings[i].dims};
  onnx_binding *bounds = b + ctx->nbindings;
  for (int i = 0; i < ctx->nbounds; i++)
    bounds[i] = (onnx_binding){ctx->bounds[i].name, ctx->bounds[i].rank, ctx->bounds[i].dims};
  onnx_options o = {.bindings = b, .nbindings = ctx->nbindings, .bounds = bounds, .nbounds = ctx->nbounds,
                    .values = values, .nvalues = nvalues};
  ir_module *m = NULL;
  int rc = path ? onnx_import_file(path, &o, &ctx->sink, &m) : onnx_import(bytes, len, &o, &ctx->sink, &m);
  free(b);
  if (rc != KILN_OK)
    return api_fail(ctx, (kiln_status)rc, "%s: import failed%s", path ? path : "<memory>",
                    rc == KILN_ERR_OUT_OF_MEMORY ? ": out of memory" : "");
  return api_model_wrap(ctx, m, out);
}

kiln_status kiln_model_from_onnx_bytes(kiln_context *ctx, const void *bytes, size_t len, kiln_model **out) {
  if (!ctx) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(ctx);
  if (!bytes || !out) return api_fail(ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_from_onnx_bytes: NULL argument");
  *out = NULL;
  return api_import_onnx(ctx, NULL, bytes, len, NULL, 0, out);
}

kiln_status kiln_onnx_ops_markdown(char **text) {
  if (!text) return KILN_ERR_INVALID_ARGUMENT;
  *text = onnx_ops_markdown();
  return *text ? KILN_OK : KILN_ERR_OUT_OF_MEMORY;
}
