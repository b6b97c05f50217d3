/*
 * Extraction of one entry instruction into a module of its own (ir/extract.c):
 * the IR of kiln verify's reproducers; and of one computation (codegen's
 * control flow).
 */
#ifndef KILN_IR_EXTRACT_H
#define KILN_IR_EXTRACT_H

#include "ir/ir.h"

/* A new, verified module whose entry computes only the entry instruction
 * `name` of src: parameters are its distinct non-constant operands (named
 * after them, row-major), constant operands are copied as constants, a
 * fusion calls a copy of its computation; its outputs are the
 * instruction's value (NAME, or NAME#k per tuple element). Caller owns the
 * result (ir_module_destroy); NULL after reporting to d. */
ir_module *ir_extract_inst(const ir_module *src, const char *name, diag *d);
/* A new, verified module whose entry is a copy of computation ci of src
 * (with copies of the computations it calls): how codegen compiles the
 * branches and bodies of conditional and while on their own. Its
 * parameters are ci's; its outputs are the elements of ci's root when that
 * is a tuple (named out0, out1, ...), else the root alone. Caller owns the
 * result; NULL after reporting to d. */
ir_module *ir_extract_comp(const ir_module *src, uint32_t ci, diag *d);

#endif
