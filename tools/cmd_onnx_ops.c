/*
 * `kiln onnx-ops`: the ONNX operators kiln imports, with their versions,
 * generated from the importer's own tables. With --markdown it prints
 * docs/onnx-ops.md (the meson test onnx/ops_doc compares the two); -o
 * writes it to a file instead of stdout.
 */
#include <string.h>

#include "tools/cli.h"

int cmd_onnx_ops(int argc, char **argv) {
  const char *out = NULL;
  bool markdown = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--markdown"))
      markdown = true;
    else if (cli_flag_once(argc, argv, &i, "-o", &out)) {
    } else {
      cli_error("onnx-ops: unknown argument '%s' (see kiln help onnx-ops)", argv[i]);
      return 2;
    }
  }
  if (!markdown) {
    cli_error("onnx-ops: say --markdown (the only format so far)");
    return 2;
  }
  char *text = NULL;
  if (kiln_onnx_ops_markdown(&text) != KILN_OK) {
    cli_error("onnx-ops: out of memory");
    return 1;
  }
  bool ok = cli_write_file(out, text, strlen(text));
  kiln_free(text);
  return ok ? 0 : 1;
}
