/*
 * Element types and static array shapes with layouts.
 *
 * A shape is a value type: element type, rank, dimensions and a layout given
 * as minor-to-major dimension order (as in XLA HLO: {1,0} is row-major for a
 * rank-2 array). Shapes are static; every dimension is >= 0. Layout describes
 * the physical order only; it never changes what a value means.
 *
 * A layout may also cut one dimension into panels (docs/ir.md, "Panel
 * layouts"): `f32[64,576]{1,0:P(0,14)}` stores dimension 0 in panels of 14,
 *
 *   [dims more major than 0][panel = i0 / 14][dims more minor than 0][i0 % 14]
 *
 * (more major/minor as minor_to_major says) with the last panel
 * zero-padded to 14: the panel index takes the cut dimension's place and
 * the position inside a panel is innermost. It is how the GEMM kernels
 * want their constant operands (weights) stored, batch dimensions outside
 * the panels; panel = 0 means no panels.
 *
 * A dimension may be symbolic (docs/ir.md, "Symbolic dimensions"): sym[i]
 * then names an expression of the module's symbol table (ir/symbolic.h)
 * and dims[i] holds that expression's bound, its largest value, so that
 * code reading dims alone sees the bound shape; sym[i] == 0 is a static
 * dimension of size dims[i]. Functions here that take no module compare
 * symbolic dimensions by expression id (exact: expressions are kept in a
 * canonical form) and print them as "?<=bound".
 *
 * Tuple shapes are not ir_shape values: an instruction that produces a tuple
 * has element type IR_TUPLE and a separate list of element shapes (see ir.h).
 */
#ifndef KILN_IR_TYPES_H
#define KILN_IR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Element types: X(enum suffix, text keyword, byte size, class).
 * Class: 'p' pred, 's' signed int, 'u' unsigned int, 'f' float, 't' tuple. */
#define IR_TYPES(X)          \
  X(PRED, "pred", 1, 'p')    \
  X(I8, "i8", 1, 's')        \
  X(I16, "i16", 2, 's')      \
  X(I32, "i32", 4, 's')      \
  X(I64, "i64", 8, 's')      \
  X(U8, "u8", 1, 'u')        \
  X(U16, "u16", 2, 'u')      \
  X(U32, "u32", 4, 'u')      \
  X(U64, "u64", 8, 'u')      \
  X(F16, "f16", 2, 'f')      \
  X(BF16, "bf16", 2, 'f')    \
  X(F32, "f32", 4, 'f')      \
  X(F64, "f64", 8, 'f')      \
  X(TUPLE, "tuple", 0, 't')

typedef enum ir_type {
#define X(e, s, n, c) IR_##e,
  IR_TYPES(X)
#undef X
      IR_TYPE_COUNT
} ir_type;

#define IR_MAX_RANK 8

typedef struct ir_shape {
  ir_type type;
  uint8_t rank;
  uint8_t minor_to_major[IR_MAX_RANK]; /* a permutation of 0..rank-1 */
  uint8_t panel_dim;                   /* the dimension cut into panels (with panel > 0) */
  int32_t panel;                       /* positions per panel; 0: no panels */
  int64_t dims[IR_MAX_RANK];
  uint32_t sym[IR_MAX_RANK];           /* 0: static; else an ir_dexpr (dims[i] is its bound) */
} ir_shape;

const char *ir_type_name(ir_type t);
/* Parses a type keyword of length n; returns false if it is not one. */
bool ir_type_from_name(const char *s, size_t n, ir_type *out);
size_t ir_type_size(ir_type t);
bool ir_type_is_float(ir_type t);
bool ir_type_is_int(ir_type t); /* signed or unsigned, not pred */
bool ir_type_is_signed(ir_type t); /* signed ints and floats */
bool ir_type_is_unsigned(ir_type t);
bool ir_type_is_pred(ir_type t);
/* Number of value bits of an integer type (8..64); 1 for pred. */
int ir_type_bits(ir_type t);

/* A shape with the default (row-major) layout. */
ir_shape ir_shape_make(ir_type t, int rank, const int64_t *dims);
ir_shape ir_shape_scalar(ir_type t);
/* Row-major, no panels. */
void ir_shape_set_default_layout(ir_shape *s);
/* Row-major without panels. */
bool ir_shape_has_default_layout(const ir_shape *s);
/* Number of elements; 1 for a scalar. Saturates at INT64_MAX. */
int64_t ir_shape_elements(const ir_shape *s);
/* Byte size of a dense array of this shape (the logical data: what a
 * constant holds); -1 if it overflows. */
int64_t ir_shape_bytes(const ir_shape *s);
/* Byte size of its storage in its layout: ir_shape_bytes plus the zero
 * padding of the last panel of a panel layout; -1 if it overflows. */
int64_t ir_shape_phys_bytes(const ir_shape *s);
/* No symbolic dimension. */
bool ir_shape_is_static(const ir_shape *s);
/* Same element type and dimensions (layout ignored). */
bool ir_shape_same_dims(const ir_shape *a, const ir_shape *b);
/* Same element type, dimensions and layout. */
bool ir_shape_equal(const ir_shape *a, const ir_shape *b);
/* Same dimensions and layout (panels included), element type ignored:
 * element i of one sits at element offset i of the other. */
bool ir_shape_same_layout(const ir_shape *a, const ir_shape *b);
/* Checks that minor_to_major is a permutation and that a panel layout
 * cuts one of the dimensions into panels of 1..2^31-1. */
bool ir_shape_layout_valid(const ir_shape *s);
/* Writes "f32[2,3]{1,0}" or "f32[64,576]{1,0:P(0,14)}" (layout omitted for
 * rank 0) into buf; returns buf. */
char *ir_shape_str(const ir_shape *s, char *buf, size_t n);
/* Row-major strides (in elements) of the logical shape, ignoring layout. */
void ir_shape_strides(const ir_shape *s, int64_t *strides);

/* Conversions between IEEE half / bfloat16 bit patterns and float.
 * Float-to-half rounds to nearest even; NaN stays NaN. */
float ir_f16_to_f32(uint16_t h);
uint16_t ir_f32_to_f16(float f);
float ir_bf16_to_f32(uint16_t h);
uint16_t ir_f32_to_bf16(float f);
/* From double with a single rounding (to nearest even), so that values
 * computed in double are not rounded twice on the way to f16/bf16. */
uint16_t ir_f64_to_f16(double v);
uint16_t ir_f64_to_bf16(double v);

#endif
