/*
 * Rough cost of instructions (ir/cost.c): arithmetic operations and bytes
 * moved, for per-kernel profiles (kiln profile's GFLOP/s and GB/s, the
 * kernel table of an instrumented executable). Static shapes make both
 * exact counts of a simple model, not measurements.
 */
#ifndef KILN_IR_COST_H
#define KILN_IR_COST_H

#include "ir/ir.h"

/* Arithmetic operations of instruction id of computation c:
 *   dot, convolution   2 per multiply-add (2 * MACs);
 *   elementwise ops    1 per result element, transcendental ones (exp,
 *                      tanh, ...) too, though they cost tens of
 *                      instructions: a count of operations, not of cycles;
 *   reduce             1 per input element (of each reduced array);
 *   reduce_window      1 per window element of each result element;
 *   scatter            1 per update element unless it assigns;
 *   fusion             the sum over its computation (nested fusions too);
 *   data movement      0: copy, reshape, transpose, broadcast, slice,
 *                      pad, concatenate, gather, sort, iota, constants,
 *                      parameters, tuples, custom_call (unknown). */
double ir_inst_flops(const ir_module *m, const ir_comp *c, ir_id id);

/* Bytes a kernel computing instruction id of c touches: each distinct
 * operand's array(s) read once plus its result(s) written once. */
double ir_inst_bytes(const ir_comp *c, ir_id id);

#endif
