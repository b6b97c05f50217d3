/* Placeholder until frontend/onnx lands: ONNX files are refused clearly. */
#include "api/api.h"

kiln_status api_load_onnx_file(kiln_context *ctx, const char *path, kiln_model **out) {
  (void)out;
  return api_fail(ctx, KILN_ERR_UNSUPPORTED, "%s: ONNX import is not available in this build", path);
}
