/*
 * Element access for dense arrays of any element type: read one element as
 * a double or as a 64-bit integer, write one from either. The printer,
 * parser and builder share these so that every type is handled in one
 * place; the interpreter converts whole ranges (ir/eval_elem.c) but takes
 * its float-to-integer rule from here too. Integer reads of unsigned 64-bit
 * values return the bit pattern (use ir_elem_get_u for the value).
 */
#ifndef KILN_IR_LITERAL_H
#define KILN_IR_LITERAL_H

#include <stdint.h>

#include "ir/types.h"

double ir_elem_get_f(ir_type t, const void *data, int64_t i);
int64_t ir_elem_get_i(ir_type t, const void *data, int64_t i);
uint64_t ir_elem_get_u(ir_type t, const void *data, int64_t i);
/* set_i/set_u wrap integers to the width of t; set_f truncates floats
 * toward zero and saturates at the range of t (NaN: 0), as convert does;
 * pred stores v != 0; f16/bf16 round once to nearest even. */
void ir_elem_set_f(ir_type t, void *data, int64_t i, double v);
void ir_elem_set_i(ir_type t, void *data, int64_t i, int64_t v);
void ir_elem_set_u(ir_type t, void *data, int64_t i, uint64_t v);

/* The float-to-integer rule of convert: v truncated toward zero and
 * saturated at the range of integer type t (NaN: 0), as a 64-bit pattern
 * (sign-extended for signed types). */
uint64_t ir_f64_to_int_bits(double v, ir_type t);

#endif
