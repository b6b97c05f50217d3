/*
 * Algebraic simplification to a fixed point (capped): identities that make
 * an instruction equal to one of its operands (x+0, x*1, identity
 * transposes and reshapes, full slices, zero pads, converts to the same
 * type, double negation, get_tuple_element of a tuple, select on a constant
 * predicate), and compositions of chains (transpose of transpose, reshape of
 * reshape, broadcast of broadcast).
 *
 * x+0 -> x is applied to floats too, as XLA does: it differs only for x=-0.
 */
#include <string.h>

#include "passes/pass.h"

#define SIMPLIFY_MAX_ROUNDS 8

static bool is_identity_perm(const ir_inst *in) {
  for (uint32_t i = 0; i < in->ndims; i++)
    if (in->dims[i] != (int64_t)i) return false;
  return true;
}

/* The operand an instruction reduces to, or IR_NONE. */
static ir_id forward(const ir_comp *c, const ir_inst *in) {
  const ir_shape *s = &in->shape;
  switch (in->op) {
    case IR_OP_ADD:
      if (pass_is_splat(c, in->ops[1], 0)) return in->ops[0];
      if (pass_is_splat(c, in->ops[0], 0)) return in->ops[1];
      break;
    case IR_OP_SUB:
      if (pass_is_splat(c, in->ops[1], 0)) return in->ops[0];
      break;
    case IR_OP_MUL:
      if (pass_is_splat(c, in->ops[1], 1)) return in->ops[0];
      if (pass_is_splat(c, in->ops[0], 1)) return in->ops[1];
      break;
    case IR_OP_DIV:
      if (pass_is_splat(c, in->ops[1], 1)) return in->ops[0];
      break;
    case IR_OP_NEG:
    case IR_OP_NOT: {
      const ir_inst *x = ir_get(c, in->ops[0]);
      if (x->op == in->op) return x->ops[0];
      break;
    }
    case IR_OP_TRANSPOSE:
      if (is_identity_perm(in)) return in->ops[0];
      break;
    case IR_OP_RESHAPE:
    case IR_OP_CONVERT:
    case IR_OP_BROADCAST:
    case IR_OP_SLICE: /* of the same dims: the full slice */
      if (ir_shape_same_dims(ir_shape_of(c, in->ops[0]), s)) return in->ops[0];
      break;
    case IR_OP_PAD: {
      const ir_pad_attr *p = in->a.pad;
      bool zero = true;
      for (int i = 0; i < s->rank; i++) zero = zero && !p->lo[i] && !p->hi[i] && !p->interior[i];
      if (zero) return in->ops[0];
      break;
    }
    case IR_OP_CONCATENATE:
    case IR_OP_REDUCE:
      if (in->nops == 1 && ir_shape_same_dims(ir_shape_of(c, in->ops[0]), s)) return in->ops[0];
      break;
    case IR_OP_GET_TUPLE_ELEMENT: {
      const ir_inst *t = ir_get(c, in->ops[0]);
      if (t->op == IR_OP_TUPLE) return t->ops[in->index];
      break;
    }
    case IR_OP_SELECT:
      if (pass_is_splat(c, in->ops[0], 1)) return in->ops[1];
      if (pass_is_splat(c, in->ops[0], 0)) return in->ops[2];
      break;
    default: break;
  }
  return IR_NONE;
}

/* Rewrites an instruction in place when a chain composes into one op.
 * Operands stay defined before the instruction, so order is kept. */
static bool compose(ir_comp *c, ir_inst *in) {
  ir_inst *x = in->nops ? ir_get(c, in->ops[0]) : NULL;
  if (!x) return false;
  if (in->op == IR_OP_TRANSPOSE && x->op == IR_OP_TRANSPOSE) {
    int64_t perm[IR_MAX_RANK];
    for (uint32_t i = 0; i < in->ndims; i++) perm[i] = x->dims[in->dims[i]];
    memcpy(in->dims, perm, sizeof(int64_t) * in->ndims);
    in->ops[0] = x->ops[0];
    return true;
  }
  if (in->op == IR_OP_RESHAPE && x->op == IR_OP_RESHAPE) {
    in->ops[0] = x->ops[0];
    return true;
  }
  if (in->op == IR_OP_BROADCAST && x->op == IR_OP_BROADCAST) {
    /* operand dim i -> x dim x.dims[i] -> result dim in.dims[x.dims[i]] */
    int64_t map[IR_MAX_RANK];
    for (uint32_t i = 0; i < x->ndims; i++) map[i] = in->dims[x->dims[i]];
    memcpy(in->dims, map, sizeof(int64_t) * x->ndims);
    in->ndims = x->ndims;
    in->ops[0] = x->ops[0];
    return true;
  }
  return false;
}

static bool round_comp(ir_comp *c) {
  bool changed = false;
  for (uint32_t i = 0; i < c->ninsts; i++) {
    ir_inst *in = &c->insts[i];
    if (compose(c, in)) changed = true;
    ir_id f = forward(c, in);
    if (f != IR_NONE && f != i) {
      ir_replace_uses(c, i, f);
      changed = true;
    }
  }
  return changed;
}

bool pass_simplify(ir_module *m, pass_ctx *ctx) {
  bool changed = false;
  for (int round = 0; round < SIMPLIFY_MAX_ROUNDS; round++) {
    bool any = false;
    for (uint32_t ci = 0; ci < m->ncomps; ci++) any |= round_comp(m->comps[ci]);
    if (!any) break;
    changed = true;
    if (!pass_canonicalize_all(m, ctx)) return changed;
  }
  return changed;
}
