/*
 * Symbolic dimensions: the module's symbols and dimension expressions.
 *
 * A symbol is a named dimension size known only at run time, with a bound:
 * 1 <= value <= bound (an ONNX dim_param such as "batch", bounded by
 * --max-shape). A dimension expression (ir_dexpr) is an integer polynomial
 * over atoms, kept in one canonical form so that two expressions are equal
 * exactly when their ids are: a sum of terms, each a nonzero coefficient
 * times a product of atoms. An atom is a symbol or floor(expr / c) for a
 * constant c >= 2 that does not divide the expression (what strides,
 * pooling and ceil-divisions produce). Constants are expressions too, so
 * shape rules may mix static and symbolic sizes through one API.
 *
 * Expressions are interned in the module (ir_module.syms); ids are stable
 * for the module's life and survive ir_module_clone. Id 0 is "none": an
 * ir_shape dimension with sym[i] == 0 is static.
 *
 * Errors (overflow of a coefficient or bound, a polynomial too large, out
 * of memory, a division by c < 1) return 0; callers report them.
 */
#ifndef KILN_IR_SYMBOLIC_H
#define KILN_IR_SYMBOLIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"

typedef uint32_t ir_dexpr;

/* Limits of one expression: terms of a sum, atoms of a term. */
#define IR_DEXPR_MAX_TERMS 16
#define IR_DEXPR_MAX_ATOMS 4

/* The module's symbols, numbered 0..n-1 in declaration order. */
int ir_sym_count(const ir_module *m);
const char *ir_sym_name(const ir_module *m, int k);
int64_t ir_sym_bound(const ir_module *m, int k);
/* The symbol named `name`, or -1. */
int ir_sym_find(const ir_module *m, const char *name);
/* Declares symbol `name` (an identifier: [A-Za-z_][A-Za-z0-9_]*) with
 * 1 <= value <= bound and returns its expression. Declaring an existing
 * name again returns the same expression when the bound agrees. 0 on a bad
 * name, a bound < 1, a different bound, or out of memory. */
ir_dexpr ir_sym_declare(ir_module *m, const char *name, int64_t bound);
/* Computed symbols: a size that a run-time value decides (NonZero's count,
 * TopK's k given as an input), 0 <= value <= bound. Exactly one set_symbol
 * instruction of the entry computation gives it its value, before any
 * instruction whose shape or attributes mention it (ir_verify checks it).
 * Declares a fresh symbol named `name` (or name_2, name_3, ... when taken;
 * name must be an identifier) and returns its expression, its number in
 * *k (may be NULL); 0 on a bad name, a bound < 0 or out of memory. */
ir_dexpr ir_sym_declare_computed(ir_module *m, const char *name, int64_t bound, int *k);
bool ir_sym_is_computed(const ir_module *m, int k);
/* The least value symbol k may take: 1, or 0 for a computed symbol. */
int64_t ir_sym_lower(const ir_module *m, int k);
bool ir_module_has_computed_syms(const ir_module *m);
/* Whether instruction `in` of m mentions symbol k: in its shape, a tuple
 * element's shape, a symbolic attribute, or (fusion, control flow) any
 * instruction of a computation it calls. */
bool ir_inst_uses_sym(const ir_module *m, const ir_inst *in, int k);
/* The expression that is symbol k alone. */
ir_dexpr ir_sym_expr(ir_module *m, int k);
/* Whether s is a valid symbol name. */
bool ir_sym_name_ok(const char *s);

/* Expressions. */
ir_dexpr ir_dexpr_const(ir_module *m, int64_t v);
/* Whether e is a constant; writes it to *v (may be NULL). */
bool ir_dexpr_is_const(const ir_module *m, ir_dexpr e, int64_t *v);
/* The symbol e is, or -1 when e is not a symbol alone. */
int ir_dexpr_as_sym(const ir_module *m, ir_dexpr e);
ir_dexpr ir_dexpr_add(ir_module *m, ir_dexpr a, ir_dexpr b);
ir_dexpr ir_dexpr_sub(ir_module *m, ir_dexpr a, ir_dexpr b);
ir_dexpr ir_dexpr_mul(ir_module *m, ir_dexpr a, ir_dexpr b);
ir_dexpr ir_dexpr_add_const(ir_module *m, ir_dexpr a, int64_t c);
ir_dexpr ir_dexpr_mul_const(ir_module *m, ir_dexpr a, int64_t c);
/* floor(a / c) and ceil(a / c), c >= 1. */
ir_dexpr ir_dexpr_floordiv(ir_module *m, ir_dexpr a, int64_t c);
ir_dexpr ir_dexpr_ceildiv(ir_module *m, ir_dexpr a, int64_t c);
/* The range of e over every binding of its symbols (each in [1, bound]):
 * a sound enclosure, exact for sums of products with nonnegative
 * coefficients; saturates at INT64_MIN/INT64_MAX. */
int64_t ir_dexpr_upper(const ir_module *m, ir_dexpr e);
int64_t ir_dexpr_lower(const ir_module *m, ir_dexpr e);
/* Whether e >= 0 for every binding: ir_dexpr_lower(e) >= 0, or a bound
 * that also accounts for floor atoms moving with the rest of e (s - s/2).
 * Sound, not complete: false may mean "not proved". May intern
 * expressions. */
bool ir_dexpr_nonneg(ir_module *m, ir_dexpr e);
/* The value of e when symbol k has value binding[k]; false on overflow. */
bool ir_dexpr_eval(const ir_module *m, ir_dexpr e, const int64_t *binding, int64_t *out);
/* Writes e as text ("b*s", "2*s+1", "(s+1)/2-1"; "/" is floor division)
 * into buf; returns buf. */
char *ir_dexpr_str(const ir_module *m, ir_dexpr e, char *buf, size_t n);
/* The structure of e, for code that evaluates it elsewhere (code
 * generation): a sum of terms, each coeff times a product of atoms, an atom
 * being symbol `sym` (>= 0) or floor(arg / div) (sym == -1). Returns the
 * number of terms written to t (at most IR_DEXPR_MAX_TERMS; 0 for the
 * constant 0), or -1 when e is not an expression of m. */
typedef struct ir_dexpr_atom {
  int sym;
  ir_dexpr arg;
  int64_t div;
} ir_dexpr_atom;
typedef struct ir_dexpr_term {
  int64_t coeff;
  int n;
  ir_dexpr_atom a[IR_DEXPR_MAX_ATOMS];
} ir_dexpr_term;
int ir_dexpr_terms(const ir_module *m, ir_dexpr e, ir_dexpr_term *t);
/* Whether e mentions symbol k. */
bool ir_dexpr_uses(const ir_module *m, ir_dexpr e, int k);
/* Number of expressions interned so far (ids are 1..count). */
uint32_t ir_dexpr_count(const ir_module *m);

/* Shapes with symbolic dimensions. */
/* Dimension i as an expression (a constant for a static dimension); 0 on
 * out of memory. */
ir_dexpr ir_shape_dim(ir_module *m, const ir_shape *s, int i);
/* Sets dimension i to e: static when e is a constant (which must be >= 0),
 * else symbolic with dims[i] = its upper bound. False when e is 0, may be
 * negative (not ir_dexpr_nonneg) or has no finite bound. */
bool ir_shape_set_dim(ir_module *m, ir_shape *s, int i, ir_dexpr e);
/* The element count as an expression; 0 on overflow. */
ir_dexpr ir_shape_elements_dexpr(ir_module *m, const ir_shape *s);
/* Like ir_shape_str, symbolic dimensions written as expressions. */
char *ir_shape_str_m(const ir_module *m, const ir_shape *s, char *buf, size_t n);
/* Replaces every symbolic dimension by its value under `binding`; false
 * when one overflows or is negative. */
bool ir_shape_bind(const ir_module *m, ir_shape *s, const int64_t *binding);
/* Whether any shape in the module (every computation, tuple elements
 * included) has a symbolic dimension. */
bool ir_module_is_symbolic(const ir_module *m);
/* Checks every symbolic dimension of s (ir/shape.c): a valid expression
 * of m, not a constant, never negative, dims[i] its upper bound. False
 * with a message naming the dimension in err otherwise. */
bool ir_shape_syms_valid(ir_module *m, const ir_shape *s, char *err, size_t errn);
/* Checks one symbolic size e (a shape dimension or an attribute's symbolic
 * value) whose bound `held` is stored beside it: false, with the reason in
 * err ("is s-3, which may be negative"), unless e is a valid non-constant
 * expression of m, never negative, with upper bound held. */
bool ir_dexpr_size_valid(ir_module *m, uint32_t e, int64_t held, char *err, size_t errn);
/* ir_result_str with symbolic dimensions written as expressions. */
char *ir_result_str_m(const ir_module *m, const ir_shape *s, const ir_shape *tuple, uint32_t nt, char *buf, size_t n);

/* Binding (ir/symbolic_bind.c). A binding gives every symbol of a module a
 * value: binding[k] for symbol k, 1 <= binding[k] <= its bound; a
 * computed symbol's value is -1 (unknown) until the run sets it, and
 * 0 <= value <= bound once set. */
/* Derives the binding from the concrete shapes of the entry computation's
 * parameters (actual[i] for parameter number i, n of them): a dimension
 * that is a lone symbol binds it, every other dimension must then equal
 * its expression's value. False, with an error naming the input (its
 * io_name), the dimension, the symbol and the values, on a rank or
 * static-size mismatch, two inputs disagreeing on a symbol, a value out of
 * [1, bound], or a symbol no input dimension determines. */
bool ir_binding_from_params(const ir_module *m, const ir_shape *actual, uint32_t n, int64_t *binding, diag *d);
/* A static copy of m at `binding` (but for computed symbols that are -1 in
 * it, which stay symbolic: the copy's sizes are then expressions of those
 * alone): every shape, tuple shape, symbolic
 * slice start/limit and gather slice size evaluated, get_dimension_size
 * replaced by its value, the result verified. NULL, with an error naming
 * the first instruction whose shape is invalid at that binding, on failure. */
ir_module *ir_module_bind(const ir_module *m, const int64_t *binding, diag *d);

/* A copy of instruction `in` (non-tuple) at a binding that gives every
 * symbol it mentions a value: its shape and symbolic attributes evaluated
 * (the slice or gather attribute copied into *sl or *g). For evaluating
 * instruction by instruction while computed symbols get their values. */
bool ir_inst_bind_copy(const ir_module *m, const ir_comp *c, const ir_inst *in, const int64_t *binding, ir_inst *out,
                       ir_slice_attr *sl, ir_gather_dims *g, diag *d);

/* Internal: module.c copies and frees the table. */
struct ir_symtab;
struct ir_symtab *ir_symtab_clone(const struct ir_symtab *t);
void ir_symtab_free(struct ir_symtab *t);

#endif
