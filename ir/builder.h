/*
 * Builder: appends instructions to a computation, inferring each result
 * shape with ir_infer_shape and refusing invalid instructions with a message
 * to the builder's diagnostics sink (the call then returns IR_NONE). Every
 * function accepts IR_NONE operands and returns IR_NONE for them without a
 * further message, so a chain of calls can be checked once at its end.
 *
 * The builder's current location (set with ir_builder_set_loc) is attached
 * to every instruction it creates.
 */
#ifndef KILN_IR_BUILDER_H
#define KILN_IR_BUILDER_H

#include "ir/ir.h"

typedef struct ir_builder {
  ir_module *m;
  ir_comp *c;
  diag *d;
  ir_loc loc;
} ir_builder;

void ir_builder_init(ir_builder *b, ir_module *m, ir_comp *c, diag *d);
/* Strings are copied into the module arena. */
void ir_builder_set_loc(ir_builder *b, const char *op_type, const char *name);

/* Validates proto against ir_infer_shape, sets its shape, appends it. */
ir_id ir_build(ir_builder *b, const ir_inst *proto);

ir_id ir_parameter(ir_builder *b, int64_t number, ir_shape shape, const char *io_name);
/* Copies ir_shape_bytes(&shape) bytes of logical row-major data. */
ir_id ir_constant(ir_builder *b, ir_shape shape, const void *data);
/* Scalar constants of any non-tuple type from a double or an int64. */
ir_id ir_constant_f(ir_builder *b, ir_type t, double v);
ir_id ir_constant_i(ir_builder *b, ir_type t, int64_t v);
ir_id ir_iota(ir_builder *b, ir_shape shape, int64_t dim);

ir_id ir_unary(ir_builder *b, ir_op op, ir_id x);
ir_id ir_binary(ir_builder *b, ir_op op, ir_id x, ir_id y);
ir_id ir_compare(ir_builder *b, ir_cmp dir, ir_id x, ir_id y);
ir_id ir_select(ir_builder *b, ir_id pred, ir_id on_true, ir_id on_false);
ir_id ir_clamp(ir_builder *b, ir_id lo, ir_id x, ir_id hi);
ir_id ir_convert(ir_builder *b, ir_id x, ir_type t);

/* broadcast: result dims `dims` (rank n); operand dimension i maps to result
 * dimension map[i] (map strictly increasing, sizes equal). */
ir_id ir_broadcast(ir_builder *b, ir_id x, int n, const int64_t *dims, const int64_t *map);
/* Broadcasts a scalar to dims, or an array of equal dims through unchanged. */
ir_id ir_broadcast_scalar(ir_builder *b, ir_id x, int n, const int64_t *dims);
ir_id ir_reshape(ir_builder *b, ir_id x, int n, const int64_t *dims);
/* broadcast and reshape to a result shape that may have symbolic
 * dimensions (ir/symbolic.h); its element type and layout are ignored. */
ir_id ir_broadcast_to(ir_builder *b, ir_id x, ir_shape shape, const int64_t *map);
ir_id ir_reshape_to(ir_builder *b, ir_id x, ir_shape shape);
/* Result dimension i is operand dimension perm[i]. */
ir_id ir_transpose(ir_builder *b, ir_id x, const int64_t *perm);
ir_id ir_slice(ir_builder *b, ir_id x, const int64_t *start, const int64_t *limit, const int64_t *stride);
/* A slice whose starts and limits may be symbolic (start_sym/limit_sym). */
ir_id ir_slice_attr_of(ir_builder *b, ir_id x, const ir_slice_attr *a);
/* The size of dimension `dim` of x as an i64 scalar. */
ir_id ir_get_dimension_size(ir_builder *b, ir_id x, int64_t dim);
/* Gives computed symbol `sym` (ir_sym_declare_computed) the value of the
 * integer scalar x at run time; the result is that value as an i64. */
ir_id ir_set_symbol(ir_builder *b, ir_id x, int sym);
/* x, once the pred scalar `ok` holds at run time; when it does not, the run
 * stops with an error carrying `message` (copied into the module): a check
 * of values that decide shapes (a Reshape's shape input giving another
 * element count). Keep the result in use (feed it to set_symbol or the op
 * that needs the check): like any value, an unused assert is dropped. */
ir_id ir_assert(ir_builder *b, ir_id ok, ir_id x, const char *message);
/* starts: rank-many scalar integer ids. */
ir_id ir_dynamic_slice(ir_builder *b, ir_id x, const ir_id *starts, const int64_t *sizes);
ir_id ir_dynamic_update_slice(ir_builder *b, ir_id x, ir_id update, const ir_id *starts);
ir_id ir_concatenate(ir_builder *b, int n, const ir_id *xs, int64_t dim);
ir_id ir_pad(ir_builder *b, ir_id x, ir_id value, const int64_t *lo, const int64_t *hi, const int64_t *interior);
ir_id ir_reverse(ir_builder *b, ir_id x, int n, const int64_t *dims);
ir_id ir_gather(ir_builder *b, ir_id x, ir_id idx, const ir_gather_dims *g);
ir_id ir_scatter(ir_builder *b, ir_id x, ir_id idx, ir_id upd, const ir_scatter_dims *s, ir_combiner comb);
ir_id ir_reduce(ir_builder *b, ir_id x, int n, const int64_t *dims, ir_combiner comb);
ir_id ir_reduce_window(ir_builder *b, ir_id x, const ir_window *w, ir_combiner comb);
/* result_type: element type of the result (IR_TUPLE: same as the operands). */
ir_id ir_dot(ir_builder *b, ir_id x, ir_id y, const ir_dot_dims *d, ir_type result_type);
ir_id ir_convolution(ir_builder *b, ir_id x, ir_id w, const ir_window *win, const ir_conv_dims *cd,
                     int64_t feature_groups, ir_type result_type);
ir_id ir_sort(ir_builder *b, int n, const ir_id *xs, int64_t dim, bool descending);
ir_id ir_tuple(ir_builder *b, int n, const ir_id *xs);
ir_id ir_get_tuple_element(ir_builder *b, ir_id x, int64_t index);
ir_id ir_fusion(ir_builder *b, ir_fusion_kind kind, uint32_t comp, int n, const ir_id *xs);
/* conditional(pred, xs...): computation on_true or on_false (indices into
 * the module) evaluated on the n operands xs; both take n parameters. */
ir_id ir_conditional(ir_builder *b, ir_id pred, uint32_t on_true, uint32_t on_false, int n, const ir_id *xs);
/* while(state...): `body` (n parameters -> tuple of the n state shapes)
 * runs while `cond` (n parameters -> pred[]) holds; the result is the final
 * state tuple. */
ir_id ir_while(ir_builder *b, uint32_t cond, uint32_t body, int n, const ir_id *state);
/* Result: `shape`, or a tuple of `ntuple` shapes when ntuple > 0. */
ir_id ir_custom_call(ir_builder *b, const char *target, const char *config, int n, const ir_id *xs,
                     ir_shape shape, int ntuple, const ir_shape *tuple);

/* Convenience: the standard dot of a [.., m, k] x [.., k, n] with leading
 * batch dimensions shared. */
ir_id ir_matmul(ir_builder *b, ir_id x, ir_id y);

/* Sets the root of the builder's computation. For the entry computation the
 * root must be a tuple; names (n of them) label the outputs. */
bool ir_set_root(ir_builder *b, ir_id root, int n, const char *const *names);

#endif
