/*
 * Debugging views of a model behind include/kiln/kiln.h: the interpreter
 * with every intermediate value handed out, and one instruction extracted
 * into a model of its own (kiln verify's bisection and reproducers).
 *
 * Values are named as the compiled executable's kernel table names its
 * buffers (the instruction's name, NAME#k for tuple element k), so that a
 * caller can match the two by name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "ir/eval.h"
#include "ir/extract.h"
#include "ir/symbolic.h"

typedef struct trace_state {
  kiln_value_fn fn;
  void *user;
} trace_state;

static void forward_value(void *user, const ir_comp *c, ir_id id, uint32_t n, const ir_tensor *vals) {
  const trace_state *st = user;
  const ir_inst *in = &c->insts[id];
  for (uint32_t k = 0; k < n; k++) {
    char name[512];
    if (in->shape.type == IR_TUPLE) snprintf(name, sizeof name, "%s#%u", in->name, k);
    else snprintf(name, sizeof name, "%s", in->name);
    kiln_tensor_info info = {name, (kiln_dtype)vals[k].shape.type, vals[k].shape.rank, vals[k].shape.dims};
    st->fn(st->user, &info, vals[k].data);
  }
}

kiln_status kiln_model_evaluate_trace(kiln_model *m, const void *const *inputs, void *const *outputs,
                                      kiln_value_fn fn, void *user) {
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  if (!fn) return kiln_model_evaluate(m, inputs, outputs);
  api_begin(m->ctx);
  if ((m->ninputs && !inputs) || (m->noutputs && !outputs))
    return api_fail(m->ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_evaluate_trace: NULL buffers");
  if (ir_module_is_symbolic(m->m))
    return api_fail(m->ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_evaluate_trace: the model has symbolic dimensions; "
                    "make it static at the inputs' shapes first (kiln_model_bind_shapes)");
  trace_state st = {fn, user};
  if (!ir_eval_module_trace(m->m, NULL, inputs, outputs, forward_value, &st, &m->ctx->sink))
    return api_fail(m->ctx, KILN_ERR_RUNTIME, "evaluation failed");
  return KILN_OK;
}

kiln_status kiln_model_extract(kiln_model *m, const char *inst, kiln_model **out) {
  if (out) *out = NULL;
  if (!m) return KILN_ERR_INVALID_ARGUMENT;
  api_begin(m->ctx);
  if (!inst || !out) return api_fail(m->ctx, KILN_ERR_INVALID_ARGUMENT, "kiln_model_extract: NULL argument");
  ir_module *x = ir_extract_inst(m->m, inst, &m->ctx->sink);
  if (!x) return api_fail(m->ctx, KILN_ERR_INVALID_ARGUMENT, "cannot extract instruction '%s'", inst);
  return api_model_wrap(m->ctx, x, out);
}
