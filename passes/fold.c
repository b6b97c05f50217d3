/*
 * Constant folding: an instruction whose operands are all constants is
 * evaluated by the reference interpreter and becomes a constant in place.
 * Expanding ops are not folded when that would materialise a big array
 * from a small one (a broadcast of a scalar, a large iota): computing them
 * is cheaper than reading them. get_dimension_size of a static dimension
 * folds too, whatever its operand is; results with symbolic shapes never do.
 */
#include "ir/eval.h"
#include "passes/pass.h"

#define FOLD_SMALL 1024

static bool foldable(const ir_comp *c, const ir_inst *in) {
  switch (in->op) {
    case IR_OP_PARAMETER:
    case IR_OP_CONSTANT:
    case IR_OP_CUSTOM_CALL:
    case IR_OP_SET_SYMBOL: /* gives a size its value: stays, whatever its operand */
    case IR_OP_ASSERT:     /* a failing check must fail the run, not the compile */
    case IR_OP_FUSION:
    case IR_OP_CONDITIONAL: /* control flow stays: its bodies are folded on their own */
    case IR_OP_WHILE:
    case IR_OP_TUPLE:
    case IR_OP_GET_TUPLE_ELEMENT:
      return false;
    default: break;
  }
  if (in->shape.type == IR_TUPLE) return false;
  /* A constant has one size: a result whose shape is symbolic (an iota or
   * broadcast to a symbolic shape) stays computed. */
  if (!ir_shape_is_static(&in->shape)) return false;
  int64_t out = ir_shape_elements(&in->shape), total = 0;
  for (uint32_t k = 0; k < in->nops; k++) {
    const ir_inst *o = ir_get(c, in->ops[k]);
    if (o->op != IR_OP_CONSTANT) return false;
    total += ir_shape_elements(&o->shape);
  }
  return out <= FOLD_SMALL || out <= total;
}

/* get_dimension_size of a static dimension is that size, whatever the
 * operand computes: it becomes an i64 constant in place. A symbolic
 * dimension stays (binding replaces it, ir/symbolic_bind.c). Returns 1 when
 * folded, 0 when not, -1 when out of memory. */
static int fold_dimension_size(ir_module *m, const ir_comp *c, ir_inst *in) {
  const ir_shape *x = ir_shape_of(c, in->ops[0]);
  if (in->index < 0 || in->index >= x->rank || x->sym[in->index]) return 0;
  int64_t *v = arena_alloc(&m->arena, sizeof *v, 64);
  if (!v) return -1;
  *v = x->dims[in->index];
  in->op = IR_OP_CONSTANT;
  in->nops = 0;
  in->ops = NULL;
  in->index = 0;
  in->data = v;
  return 1;
}

bool pass_fold(ir_module *m, pass_ctx *ctx) {
  bool changed = false;
  for (uint32_t ci = 0; ci < m->ncomps; ci++) {
    ir_comp *c = m->comps[ci];
    for (uint32_t i = 0; i < c->ninsts; i++) {
      ir_inst *in = &c->insts[i];
      if (in->op == IR_OP_GET_DIMENSION_SIZE) {
        int fd = fold_dimension_size(m, c, in);
        if (fd < 0) {
          ctx->failed = ctx->oom = true;
          diag_error(ctx->d, "fold: out of memory");
          return changed;
        }
        changed |= fd > 0;
        continue;
      }
      if (!foldable(c, in)) continue;
      const void *ops[IR_MAX_RANK + 2];
      if (in->nops > IR_MAX_RANK + 2) continue;
      for (uint32_t k = 0; k < in->nops; k++) ops[k] = ir_get(c, in->ops[k])->data;
      int64_t bytes = ir_shape_bytes(&in->shape);
      void *data = arena_alloc(&m->arena, (size_t)(bytes > 0 ? bytes : 1), 64);
      if (!data) {
        ctx->failed = ctx->oom = true;
        diag_error(ctx->d, "fold: out of memory");
        return changed;
      }
      if (!ir_eval_inst(m, c, i, ops, data, ctx->d)) {
        ctx->failed = true;
        return changed;
      }
      in->op = IR_OP_CONSTANT;
      in->nops = 0;
      in->ops = NULL;
      in->data = data;
      changed = true;
    }
  }
  return changed;
}
