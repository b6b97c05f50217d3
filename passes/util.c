/* Helpers shared by passes. */
#include "ir/literal.h"
#include "passes/pass.h"

bool pass_is_splat(const ir_comp *c, ir_id id, double v) {
  const ir_inst *in = ir_get(c, id);
  while (in->op == IR_OP_BROADCAST || in->op == IR_OP_RESHAPE) in = ir_get(c, in->ops[0]);
  if (in->op != IR_OP_CONSTANT) return false;
  int64_t n = ir_shape_elements(&in->shape);
  for (int64_t i = 0; i < n; i++) {
    double x = ir_elem_get_f(in->shape.type, in->data, i);
    if (x != v) return false;
  }
  return true; /* an empty constant is trivially a splat */
}

bool pass_canonicalize_all(ir_module *m, pass_ctx *ctx) {
  for (uint32_t i = 0; i < m->ncomps; i++)
    if (!ir_comp_canonicalize(m, m->comps[i])) {
      diag_error(ctx->d, "out of memory (or a cycle) while canonicalizing %%%s", m->comps[i]->name);
      ctx->failed = true;
      return false;
    }
  return true;
}

const ir_target *pass_target(const pass_ctx *ctx) { return ctx && ctx->target ? ctx->target : &ir_target_generic; }

void pass_remark(pass_ctx *ctx, const char *fmt, ...) {
  if (!ctx->remarks) return;
  va_list ap;
  va_start(ap, fmt);
  diag_emitv(ctx->d, DIAG_REMARK, fmt, ap);
  va_end(ap);
}
