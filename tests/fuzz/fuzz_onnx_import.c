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

typedef struct sink {
  diag d;
  int count;
} sink;

static void collect(void *user, diag_level level, const char *msg) {
  (void)msg;
  sink *s = user;
  if (level == DIAG_ERROR) s->count++;
}

static void drop(void *user, diag_level level, const char *msg) { (void)user, (void)level, (void)msg; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sink s = {{collect, NULL, 0}, 0};
  s.d.user = &s;
  onnx_options o = {0};
  ir_module *m = NULL;
  int rc = onnx_import(data, size, &o, &s.d, &m);
  if (rc != 0) {
    if (rc < 0 || rc > 9 || s.count == 0 || m) {
      fprintf(stderr, "refusal without a message, with a bad status (%d) or with a module\n", rc);
      abort();
    }
    return 0;
  }
  diag quiet = {drop, NULL, 0};
  const ir_comp *e = m ? ir_module_entry(m) : NULL;
  if (!e || e->root == IR_NONE || ir_get(e, e->root)->op != IR_OP_TUPLE || !ir_verify(m, &quiet)) {
    fprintf(stderr, "an accepted model gave an invalid module\n");
    abort();
  }
  ir_module_destroy(m);
  return 0;
}
