/*
 * Operation and byte counts of instructions (declared and defined in
 * ir/cost.h): the FLOPs and bytes columns of a kernel profile. Counts
 * follow the static shapes only; they never look at data.
 */
#include "ir/cost.h"

/* Elements of an instruction's result, all tuple elements together. */
static double result_elements(const ir_inst *in) {
  if (in->shape.type != IR_TUPLE) return (double)ir_shape_elements(&in->shape);
  double n = 0;
  for (uint32_t k = 0; k < in->ntuple; k++) n += (double)ir_shape_elements(&in->tuple[k]);
  return n;
}

static double result_bytes(const ir_inst *in) {
  if (in->shape.type != IR_TUPLE) return (double)ir_shape_bytes(&in->shape);
  double n = 0;
  for (uint32_t k = 0; k < in->ntuple; k++) n += (double)ir_shape_bytes(&in->tuple[k]);
  return n;
}

static double comp_flops(const ir_module *m, const ir_comp *c, int depth) {
  double f = 0;
  for (ir_id id = 0; id < c->ninsts; id++) {
    const ir_inst *in = &c->insts[id];
    /* A cycle of fusions is invalid IR; the depth cap keeps a malformed
     * module from recursing without end. */
    if (in->op == IR_OP_FUSION && depth < 16 && in->called < m->ncomps) f += comp_flops(m, m->comps[in->called], depth + 1);
    else if (in->op != IR_OP_FUSION) f += ir_inst_flops(m, c, id);
  }
  return f;
}

double ir_inst_flops(const ir_module *m, const ir_comp *c, ir_id id) {
  const ir_inst *in = &c->insts[id];
  switch (in->op) {
    case IR_OP_FUSION: return in->called < m->ncomps ? comp_flops(m, m->comps[in->called], 1) : 0;
    case IR_OP_DOT: {
      const ir_shape *lhs = &c->insts[in->ops[0]].shape;
      double k = 1;
      for (int i = 0; in->a.dot && i < in->a.dot->ncontract; i++) k *= (double)lhs->dims[in->a.dot->lhs_contract[i]];
      return 2 * result_elements(in) * k;
    }
    case IR_OP_CONVOLUTION: {
      /* Each output element takes every kernel element of its output
       * feature: kernel elements / output features multiply-adds. */
      const ir_shape *k = &c->insts[in->ops[1]].shape;
      double kout = in->conv ? (double)k->dims[in->conv->k_out] : 1;
      return kout > 0 ? 2 * result_elements(in) * (double)ir_shape_elements(k) / kout : 0;
    }
    case IR_OP_REDUCE: {
      double n = 0;
      for (uint32_t k = 0; k < in->nops; k++) n += (double)ir_shape_elements(&c->insts[in->ops[k]].shape);
      return n;
    }
    case IR_OP_REDUCE_WINDOW: {
      double w = 1;
      for (int i = 0; in->a.window && i < in->a.window->rank; i++) w *= (double)in->a.window->d[i].size;
      return result_elements(in) * w;
    }
    case IR_OP_SCATTER:
      return in->comb == IR_COMB_ASSIGN || in->nops < 3 ? 0 : (double)ir_shape_elements(&c->insts[in->ops[2]].shape);
    case IR_OP_COPY: return 0;
    default: return ir_op_get(in->op)->flags & IR_F_ELEMENTWISE ? result_elements(in) : 0;
  }
}

double ir_inst_bytes(const ir_comp *c, ir_id id) {
  const ir_inst *in = &c->insts[id];
  double b = result_bytes(in);
  for (uint32_t k = 0; k < in->nops; k++) {
    bool dup = false;
    for (uint32_t q = 0; q < k && !dup; q++) dup = in->ops[q] == in->ops[k];
    if (!dup) b += result_bytes(&c->insts[in->ops[k]]);
  }
  return b;
}
