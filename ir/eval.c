/* Reference interpreter: placeholder until the evaluator lands. */
#include "ir/eval.h"

bool ir_eval_module(const ir_module *m, const ir_eval_opts *opts, const void *const *inputs, void *const *outputs,
                    diag *d) {
  (void)m, (void)opts, (void)inputs, (void)outputs;
  diag_error(d, "the interpreter is not built yet");
  return false;
}

bool ir_eval_inst(const ir_module *m, const ir_comp *c, ir_id id, const void *const *operands, void *result, diag *d) {
  (void)m, (void)c, (void)id, (void)operands, (void)result;
  diag_error(d, "the interpreter is not built yet");
  return false;
}
