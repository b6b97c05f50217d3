/*
 * Symbolic dimensions in generated code (docs/codegen.md, "Symbolic
 * dimensions"): dimension expressions evaluated from the run's binding,
 * the units functions that give a phase its iteration count at run time,
 * and the check that a loop kernel can run at any binding.
 *
 * Arrays are dense at their actual dimensions; index arithmetic reads
 * symbolic extents from the binding (cg_dim). What the loop kernels do not
 * compute that way yet (a window along a symbolic dimension, a symbolic
 * gather slice, dynamic_update_slice, sort...) is refused here with a
 * message naming the instruction, never computed at the bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/cg_internal.h"

bool cg_symbolic_outer(const ir_shape *s, ir_dexpr *e) {
  *e = 0;
  for (int i = 0; i < s->rank; i++) {
    if (!s->sym[i]) continue;
    if (i != s->minor_to_major[s->rank - 1] || s->panel) return false;
    *e = s->sym[i];
  }
  return true;
}

void cg_units_begin(cg_ctx *c, cg_units_save *save) {
  save->block = LLVMGetInsertBlock(c->b);
  save->bind = c->bind;
  LLVMTypeRef ty = LLVMFunctionType(c->t_i64, &c->t_ptr, 1, 0);
  save->fn = cg_add_function(c, "kiln.units", ty, true);
  cg_fn_attrs(c, save->fn);
  LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->llc, save->fn, "entry"));
  c->bind = LLVMGetParam(save->fn, 0);
}

LLVMValueRef cg_units_end(cg_ctx *c, cg_units_save *save, LLVMValueRef value) {
  LLVMBuildRet(c->b, value);
  c->bind = save->bind;
  if (save->block) LLVMPositionBuilderAtEnd(c->b, save->block);
  return save->fn;
}

LLVMValueRef cg_units_scaled(cg_ctx *c, int64_t n, ir_dexpr outer) {
  if (!outer) return NULL;
  int64_t ub = ir_dexpr_upper(c->m, outer);
  if (ub <= 0 || n % ub != 0) {
    cg_fail(c, "internal error: %lld iterations are not a multiple of the bound %lld of a symbolic dimension",
            (long long)n, (long long)ub);
    return NULL;
  }
  cg_units_save save;
  cg_units_begin(c, &save);
  LLVMValueRef v = cg_dexpr_value(c, outer);
  if (n / ub != 1) v = LLVMBuildNSWMul(c->b, v, cg_i64(c, n / ub), "");
  return cg_units_end(c, &save, v);
}

/* ---- can a loop kernel run at any binding? ------------------------------ */

typedef struct check {
  cg_ctx *c;
  const cg_kdesc *d;
  ir_dexpr outer;
  const char *why; /* the first refusal */
  const ir_inst *at;
  int dim;
} check;

static bool refuse(check *k, const ir_inst *in, int dim, const char *why) {
  if (!k->why) {
    k->why = why;
    k->at = in;
    k->dim = dim;
  }
  return false;
}

static bool shape_ok(check *k, const ir_inst *in, const ir_shape *s) {
  if (ir_shape_is_static(s)) return true;
  if (s->panel) return refuse(k, in, -1, "a panel layout with a symbolic dimension");
  if (!k->outer)
    for (int i = 0; i < s->rank && !k->outer; i++) k->outer = s->sym[i];
  return true;
}

/* The symbolic dimension of s (logical index), or -1. */
static int sym_dim(const ir_shape *s) {
  for (int i = 0; i < s->rank; i++)
    if (s->sym[i]) return i;
  return -1;
}

static bool inst_ok(check *k, const ir_comp *comp, ir_id id, int depth);

static bool comp_ok(check *k, const ir_comp *comp, ir_id root, int depth) {
  uint8_t *seen = calloc(comp->ninsts + 1, 1);
  ir_id *stack = malloc(sizeof(ir_id) * (comp->ninsts + 1));
  if (!seen || !stack) {
    free(seen);
    free(stack);
    cg_fail(k->c, "out of memory");
    return false;
  }
  bool ok = true;
  uint32_t top = 0;
  stack[top++] = root;
  seen[root] = 1;
  while (top && ok) {
    ir_id id = stack[--top];
    /* A kernel's inputs are read from memory: their producers are other
     * kernels, checked when those are emitted. */
    bool input = false;
    if (depth == 0)
      for (uint32_t i = 0; i < k->d->nin; i++) input = input || k->d->in_ids[i] == id;
    if (input) continue;
    ok = inst_ok(k, comp, id, depth);
    const ir_inst *in = &comp->insts[id];
    for (uint32_t q = 0; q < in->nops; q++)
      if (!seen[in->ops[q]]) {
        seen[in->ops[q]] = 1;
        stack[top++] = in->ops[q];
      }
  }
  free(seen);
  free(stack);
  return ok;
}

static bool inst_ok(check *k, const ir_comp *comp, ir_id id, int depth) {
  const ir_inst *in = &comp->insts[id];
  if (in->shape.type == IR_TUPLE) {
    for (uint32_t i = 0; i < in->ntuple; i++)
      if (!shape_ok(k, in, &in->tuple[i])) return false;
  } else if (!shape_ok(k, in, &in->shape)) {
    return false;
  }
  switch (ir_op_get(in->op)->family) {
    case IR_FAM_PARAMETER:
    case IR_FAM_CONSTANT:
    case IR_FAM_IOTA:
    case IR_FAM_UNARY:
    case IR_FAM_BINARY:
    case IR_FAM_COMPARE:
    case IR_FAM_SELECT:
    case IR_FAM_CLAMP:
    case IR_FAM_CONVERT:
    case IR_FAM_BROADCAST:
    case IR_FAM_RESHAPE:
    case IR_FAM_TRANSPOSE:
    case IR_FAM_SLICE:
    case IR_FAM_CONCATENATE:
    case IR_FAM_PAD:
    case IR_FAM_REVERSE:
    case IR_FAM_REDUCE:
    case IR_FAM_DOT:
    case IR_FAM_DYNAMIC_SLICE:
    case IR_FAM_TUPLE:
    case IR_FAM_GET_TUPLE_ELEMENT:
    case IR_FAM_GET_DIMENSION_SIZE:
      /* Index arithmetic over run-time extents (cg_dim): offsets, loop
       * bounds, clamps and concatenation ends read the binding. */
      return true;
    case IR_FAM_REDUCE_WINDOW:
    case IR_FAM_CONVOLUTION:
      /* Window taps are bounded by the input's extent at run time
       * (cg_window_tap_v); the features and the kernel are static. */
      return true;
    case IR_FAM_SORT:
      /* Rows of run-time number and static length (cg_sort.c): the
       * sorted dimension must be static. */
      for (uint32_t q = 0; q < in->nops; q++)
        if (comp->insts[in->ops[q]].shape.sym[in->dims[0]])
          return refuse(k, in, (int)in->dims[0], "a sort along a symbolic dimension");
      return true;
    case IR_FAM_GATHER:
      for (int i = 0; i < IR_MAX_RANK; i++)
        if (in->a.gather->slice_sizes_sym[i]) return refuse(k, in, i, "a gather with a symbolic slice size");
      return true;
    case IR_FAM_FUSION:
      if (in->called >= k->c->m->ncomps || depth > 16) return refuse(k, in, -1, "a malformed nested fusion");
      {
        const ir_comp *fc = k->c->m->comps[in->called];
        return comp_ok(k, fc, fc->root, depth + 1);
      }
    default: {
      /* Anything else (dynamic_update_slice, sort, scatter...) must be static. */
      for (uint32_t q = 0; q < in->nops; q++)
        if (sym_dim(&comp->insts[in->ops[q]].shape) >= 0) return refuse(k, in, -1, "an operation of this kind");
      if (in->shape.type != IR_TUPLE && sym_dim(&in->shape) >= 0) return refuse(k, in, -1, "an operation of this kind");
      return true;
    }
  }
}

bool cg_symbolic_kernel_ok(cg_ctx *c, const cg_kdesc *d, ir_dexpr *outer) {
  check k = {.c = c, .d = d};
  *outer = 0;
  bool ok = true;
  for (uint32_t i = 0; i < d->nout && ok; i++) ok = shape_ok(&k, d->inst, &d->out_shapes[i]);
  for (uint32_t i = 0; i < d->nin && ok; i++) ok = shape_ok(&k, d->inst, d->in_shapes[i]);
  if (ok) ok = comp_ok(&k, d->comp, d->root, 0);
  if (c->failed) return false;
  if (!ok) {
    const ir_inst *at = k.at ? k.at : d->inst;
    char dim[32] = "";
    if (k.dim >= 0) snprintf(dim, sizeof dim, " (dimension %d)", k.dim);
    return cg_fail_unsupported(c,
                   "%%%s: code generation for symbolic dimensions does not support %s yet (%s %%%s%s); "
                   "bind the shapes with --input-shape to compile this model",
                   d->inst ? d->inst->name : "?", k.why, ir_op_name(at->op), at->name ? at->name : "?", dim);
  }
  *outer = k.outer;
  return true;
}
