/*
 * Internals of the reference interpreter (ir/eval*.c), shared by its files:
 * the value representation, element loading and storing, and one kernel
 * per op family.
 *
 * Values: an array is its logical shape (layout ignored: data is always in
 * logical row-major order) and a pointer to its elements. Arrays the
 * interpreter computes live in reference-counted blocks so that tuples and
 * get_tuple_element share data; arrays it only borrows (constants, entry
 * inputs in row-major layout, the caller's buffers in ir_eval_inst) have no
 * block and are never freed here.
 *
 * Kernels: `bool ev_<family>(ev_ctx *, const ir_inst *, const ev_array *ops,
 * ev_array *out)` read the instruction's operands (ops[0..nops)) and fill
 * `out`, which the driver has already allocated with the instruction's
 * shape. They return false only after reporting through ev_fail (out of
 * memory); everything else was checked by the verifier.
 */
#ifndef KILN_IR_EVAL_INTERNAL_H
#define KILN_IR_EVAL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/eval.h"
#include "ir/ir.h"

typedef struct ev_block {
  size_t refs;
} ev_block;

typedef struct ev_array {
  ir_shape shape; /* type and dims; the layout is meaningless here */
  int64_t n;      /* number of elements */
  void *data;     /* logical row-major */
  ev_block *blk;  /* owner, NULL when borrowed */
} ev_array;

/* The evaluation state: what to report errors against. */
typedef struct ev_ctx {
  const ir_module *m;
  const ir_eval_opts *opts;
  diag *d;
  const ir_comp *comp; /* the computation being evaluated */
  const ir_comp *entry; /* the entry computation, whose values `value` sees */
  ir_value_fn value;    /* NULL on the normal path: one test per instruction */
  void *value_user;
  int64_t *binding; /* modules with computed symbols: every symbol's value, -1 until set_symbol runs */
} ev_ctx;

/* Reports "computation %c, instruction %i (op): message" and returns false. */
bool ev_fail(ev_ctx *ctx, const ir_inst *in, const char *fmt, ...) DIAG_PRINTF(3, 4);

/* Allocates a zeroed array of shape s (type, dims) in a fresh block. */
bool ev_array_alloc(ev_array *a, const ir_shape *s);
void ev_array_retain(ev_array *a);
void ev_array_release(ev_array *a);

/* Elements per chunk in the elementwise kernels (keeps temporaries small). */
#define EV_CHUNK 1024

/* Loading ranges of elements [start, start+n) of an array of type t:
 * - as doubles (exact for every type except 64-bit integers beyond 2^53);
 * - as 64-bit integer bit patterns: signed types sign-extended, unsigned
 *   types and pred zero-extended; floats are truncated with saturation. */
void ev_load_f64(ir_type t, const void *data, int64_t start, int64_t n, double *out);
void ev_load_u64(ir_type t, const void *data, int64_t start, int64_t n, uint64_t *out);
/* Storing: doubles into any type with the semantics of `convert` (a single
 * rounding to f16/bf16/f32; truncation with saturation to integers, NaN
 * giving 0; != 0 for pred). Integers (bit patterns read as signed when
 * src_signed) into any type: wrapping to integer widths, correctly rounded
 * to floats, != 0 for pred. */
void ev_store_f64(ir_type t, void *data, int64_t start, int64_t n, const double *in);
void ev_store_u64(ir_type t, void *data, int64_t start, int64_t n, const uint64_t *in, bool src_signed);

/* Loads a whole array into a malloc'd double (float types) or uint64 array;
 * NULL when out of memory. */
double *ev_load_all_f64(const ev_array *a);
uint64_t *ev_load_all_u64(const ev_array *a);

/* Reads an integer scalar element as an index: signed types as their
 * value, unsigned types as their value capped at INT64_MAX. */
int64_t ev_index_at(const ev_array *a, int64_t i);

/* An element count as a size for malloc: at least 1 so that empty arrays
 * still get a valid pointer. */
static inline size_t ev_nz(int64_t n) { return n > 0 ? (size_t)n : 1; }

/* Copies an n-dimensional block of `dims` elements of size es:
 * dst[dbase + sum(i_k * dst_st[k])] = src[sbase + sum(i_k * src_st[k])];
 * strides may be zero or negative. */
void ev_copy_nd(size_t es, int rank, const int64_t *dims, void *dst, int64_t dbase, const int64_t *dst_st,
                const void *src, int64_t sbase, const int64_t *src_st);

/* The window of one dimension as a table (malloc'd; NULL when out of
 * memory): entry o * size + k is the operand index that window element k of
 * output position o reads along a dimension of `in` elements, or -1 where
 * it falls on padding or a hole of lhs_dilate. Shared by reduce_window and
 * convolution. */
int64_t *ev_window_table(const ir_window_dim *wd, int64_t size, int64_t out, int64_t in);

/* Identity of a combiner for float (as a double) and integer types (as a
 * bit pattern for type t). */
double ev_comb_identity_f(ir_combiner c);
uint64_t ev_comb_identity_u(ir_combiner c, ir_type t);
/* acc = acc (c) x, for floats (NaN-propagating max/min) and integers of type
 * t (signedness decides max/min; results are 64-bit patterns). */
double ev_comb_f(ir_combiner c, double acc, double x);
uint64_t ev_comb_u(ir_combiner c, ir_type t, uint64_t acc, uint64_t x);

/* Kernels (eval_elem.c). */
bool ev_iota(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_unary(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_binary(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_compare(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_select(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_clamp(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_convert(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);

/* Kernels (eval_data.c). */
bool ev_broadcast(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_reshape(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_transpose(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_slice(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_dynamic_slice(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_dynamic_update_slice(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_concatenate(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_pad(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_reverse(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);

/* Kernels (eval_index.c): gather, scatter, sort. Sort writes one output
 * per operand (out[0..nops)). */
bool ev_gather(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_scatter(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_sort(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *outs);

/* Kernels (eval_reduce.c). */
bool ev_reduce(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_reduce_window(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);

/* Kernels (eval_contract.c). */
bool ev_dot(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);
bool ev_convolution(ev_ctx *ctx, const ir_inst *in, const ev_array *ops, ev_array *out);

#endif
