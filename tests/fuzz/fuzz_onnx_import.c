/*
 * Fuzz target for the ONNX importer (libFuzzer entry point; built by
 * tests/fuzz/run.sh, replayed over the seed corpus by Meson's tests).
 * Any bytes go to onnx_import: the protobuf pre-scan, decoding, the model
 * checks, lowering with import-time constant evaluation, verification.
 * External data is refused (no base folder): the target never touches the
 * file system.
 *
 * Properties checked on every input, aborting (a finding) when one fails:
 *   - importing never crashes, leaks or hits undefined behaviour (the
 *     sanitizers check that);
 *   - a refusal returns a kiln_status error code with at least one error
 *     message, and no module;
 *   - an accepted module verifies again and has an entry computation whose
 *     root is a tuple.
 * The module is not printed: printing an empty constant with large leading
 * dimensions writes every nested brace (seconds, megabytes), which would
 * make the fuzzer spend its time in the printer; the IR parser and printer
 * have their own target.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx.h"
#include "ir/ir.h"
#include "kiln/kiln.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  diag d = {NULL, NULL, 0}; /* no callback: messages are dropped, errors still counted */
  onnx_options o = {0};
  ir_module *m = NULL;
  int rc = onnx_import(data, size, &o, &d, &m);
  if (rc != KILN_OK) {
    if (rc < 0 || rc > KILN_ERR_INTERNAL || d.errors == 0 || m) {
      fprintf(stderr, "refusal without a message, with a bad status (%d) or with a module\n", rc);
      abort();
    }
    return 0;
  }
  const ir_comp *e = m ? ir_module_entry(m) : NULL;
  if (!e || e->root == IR_NONE || ir_get(e, e->root)->op != IR_OP_TUPLE || !ir_verify(m, &d)) {
    fprintf(stderr, "an accepted model gave an invalid module\n");
    abort();
  }
  ir_module_destroy(m);
  return 0;
}
