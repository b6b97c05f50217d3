/*
 * Comparing outputs with expected .npy arrays, shared by the interpreter's
 * case runner (eval_cases.c), the `kiln eval` check (cli_eval_check.c) and
 * the code generator's case runner (tests/codegen/cg_cases.c).
 *
 * Integers and pred compare exactly. Floats: NaN where NaN is expected,
 * infinities exactly, otherwise |got - want| <= atol + rtol * |want| with
 *   f64: rtol 1e-12, atol 1e-14
 *   f32: rtol 1e-6,  atol 1e-7
 *   f16: rtol 1e-3,  atol 1e-4   (1e-3 is about one f16 ulp)
 * The sign of zero is not compared (eval_unit.c checks it where the
 * semantics fix it).
 */
#ifndef KILN_TESTS_IR_NPY_CHECK_H
#define KILN_TESTS_IR_NPY_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/types.h"
#include "tools/npy.h"

/* The IR type of a .npy dtype. */
bool npy_check_type(kiln_dtype d, ir_type *t);
/* Compares n elements of type t; prints up to five mismatches, labelled,
 * and returns the number of differing elements. */
int npy_check_compare(const char *label, int out, ir_type t, const void *got, const void *want, int64_t n);
/* The same with given float tolerances (rtol < 0: the defaults above), and
 * `what` naming the reference in the messages ("NumPy", "interpreter"). */
int npy_check_compare_tol(const char *label, const char *what, int out, ir_type t, const void *got, const void *want,
                          int64_t n, double rtol, double atol);

#endif
