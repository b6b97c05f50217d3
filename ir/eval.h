/*
 * Reference interpreter. Executes any verified module on host buffers. It is
 * the oracle for constant folding and for checking compiled code, so it
 * favours obvious correctness over speed.
 *
 * Values are computed in logical row-major order; layouts are honoured only
 * at the boundary (entry parameters are read, and outputs written, in the
 * layout their shapes declare). Float ops on f16/bf16/f32 are computed in
 * double and rounded once to the result type; integer ops wrap at their
 * width; integer x / 0 gives 0 and x rem 0 gives x (docs/ir.md gives every
 * op's exact semantics). The implementation is split by op family:
 * eval.c (driver, structural ops), eval_elem.c, eval_data.c, eval_index.c,
 * eval_reduce.c, eval_contract.c, sharing ir/eval_internal.h.
 */
#ifndef KILN_IR_EVAL_H
#define KILN_IR_EVAL_H

#include "ir/ir.h"

/* A host array: shape (the layout says how data is ordered) and data. */
typedef struct ir_tensor {
  ir_shape shape;
  void *data;
} ir_tensor;

/* Handler for custom_call: fill outputs (already allocated, logical order)
 * from inputs; return false with a message in err to fail the evaluation. */
typedef bool (*ir_custom_call_fn)(void *user, const char *target, const char *config, int nin, const ir_tensor *in,
                                  int nout, ir_tensor *out, char *err, size_t errn);

typedef struct ir_eval_opts {
  ir_custom_call_fn custom_call; /* NULL: custom_call is an error */
  void *user;
} ir_eval_opts;

/* Evaluates the entry computation. inputs[i] is parameter i's data and
 * outputs[i] output i's buffer (ir_shape_bytes of the root tuple element),
 * both caller-owned and in the layouts the shapes declare. Returns false
 * after reporting to d (a message naming the instruction) on failure. */
bool ir_eval_module(const ir_module *m, const ir_eval_opts *opts, const void *const *inputs, void *const *outputs,
                    diag *d);

/* Called by ir_eval_module_trace with the value of each instruction of the
 * entry computation, in instruction order, right after it is computed: n
 * arrays (one, or one per tuple element), each in logical row-major order
 * with a default-layout shape, valid only during the call. */
typedef void (*ir_value_fn)(void *user, const ir_comp *c, ir_id id, uint32_t n, const ir_tensor *vals);

/* ir_eval_module that also hands every entry value to fn (kiln verify's
 * bisection compares them with the compiled kernels' buffers). */
bool ir_eval_module_trace(const ir_module *m, const ir_eval_opts *opts, const void *const *inputs,
                          void *const *outputs, ir_value_fn fn, void *user, diag *d);

/* ir_eval_module for a module whose sizes may depend on values (computed
 * symbols, set by set_symbol as it runs): outputs[i] is sized for the
 * bounds and written densely at the actual dimensions, which go to
 * out_dims[i] (rank-many; out_dims or out_dims[i] may be NULL). Other
 * symbols must be bound first (ir_module_bind). ir_eval_module evaluates
 * such modules too, without reporting the dimensions. */
bool ir_eval_module_shaped(const ir_module *m, const ir_eval_opts *opts, const void *const *inputs,
                           void *const *outputs, int64_t *const *out_dims, diag *d);

/* Evaluates one non-tuple instruction whose operands are given as logical
 * row-major arrays (one per operand), writing its logical row-major result
 * into `result` (ir_shape_bytes of its shape). Used by constant folding.
 * Fusions and custom calls are refused (returns false). */
bool ir_eval_inst(const ir_module *m, const ir_comp *c, ir_id id, const void *const *operands, void *result,
                  diag *d);

#endif
