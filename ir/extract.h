/*
 * Extraction of one entry instruction into a module of its own (ir/extract.c):
 * the IR of kiln verify's reproducers.
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

#endif
