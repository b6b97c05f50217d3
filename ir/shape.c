/*
 * Shape inference: the one rule book for result shapes. The builder calls
 * it to compute shapes, the verifier and the parser to check declared
 * shapes (comparing and showing them with ir_result_matches and
 * ir_result_str, both here). Every refusal says which rule broke.
 *
 * Rules follow XLA HLO's semantics unless docs/ir.md says otherwise:
 * elementwise operands have identical dimensions (no implicit broadcast;
 * select and clamp also take scalars), gather/scatter use XLA's dimension
 * numbers, windows allow negative padding.
 *
 * Symbolic dimensions (docs/ir.md, "Symbolic dimensions") go through the
 * same rules: static shapes take exactly the static paths; a symbolic size
 * is compared by expression, computed as an expression, and every relation
 * a rule needs must be proved for every binding or the rule refuses.
 */
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/symbolic.h"

#define FAIL(...)                        \
  do {                                   \
    snprintf(err, errn, __VA_ARGS__);    \
    return false;                        \
  } while (0)

/* Shapes in messages: symbolic dimensions written as their expressions
 * (a static shape prints as ir_shape_str prints it). */
static const char *sstr(const ir_module *m, const ir_shape *s, char *buf) { return ir_shape_str_m(m, s, buf, 160); }

static bool type_ok(char cls, ir_type t) {
  switch (cls) {
    case 'f': return ir_type_is_float(t);
    case 'n': return ir_type_is_float(t) || ir_type_is_int(t);
    case 'l': return ir_type_is_pred(t) || ir_type_is_int(t);
    case 'i': return ir_type_is_int(t);
    default: return t != IR_TUPLE;
  }
}

static const char *class_name(char cls) {
  switch (cls) {
    case 'f': return "a floating-point";
    case 'n': return "a numeric (integer or floating-point)";
    case 'l': return "a pred or integer";
    case 'i': return "an integer";
    default: return "an array";
  }
}

/* Every entry in v[0..n) is in [0, bound) and no entry repeats; if `sorted`
 * they must also increase. */
static bool dims_valid(const int64_t *v, int n, int64_t bound, bool sorted) {
  for (int i = 0; i < n; i++) {
    if (v[i] < 0 || v[i] >= bound) return false;
    for (int j = 0; j < i; j++)
      if (v[j] == v[i]) return false;
    if (sorted && i && v[i] <= v[i - 1]) return false;
  }
  return true;
}

/* Checked 64-bit arithmetic: sizes come from user text, and a wrapped size
 * would be undefined behaviour and a wrong shape. mul_nonneg takes a, b >= 0. */
static bool add_ok(int64_t a, int64_t b, int64_t *r) {
  if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return false;
  *r = a + b;
  return true;
}

static bool mul_nonneg(int64_t a, int64_t b, int64_t *r) {
  if (a != 0 && b > INT64_MAX / a) return false;
  *r = a * b;
  return true;
}

/* Output extent of one window dimension; -1 if the parameters are invalid,
 * -2 if the dilated or padded extents do not fit in 64 bits. */
static int64_t window_out(int64_t in, const ir_window_dim *w) {
  if (w->size < 1 || w->stride < 1 || w->lhs_dilate < 1 || w->rhs_dilate < 1) return -1;
  int64_t base = 0, eff, pad;
  if (in > 0 && (!mul_nonneg(in - 1, w->lhs_dilate, &base) || !add_ok(base, 1, &base))) return -2;
  if (!add_ok(w->pad_lo, w->pad_hi, &pad) || !add_ok(base, pad, &base)) return -2;
  if (!mul_nonneg(w->size - 1, w->rhs_dilate, &eff) || !add_ok(eff, 1, &eff)) return -2;
  if (base < eff) return 0;
  return (base - eff) / w->stride + 1;
}

/* The message for a window_out failure in dimension i. */
static const char *window_problem(int64_t code) {
  return code == -1 ? "has a size, stride or dilation below 1" : "overflows: its padded or dilated extent is too large";
}

/* ---- symbolic dimensions (ir/symbolic.h) ----
 *
 * A symbolic dimension holds an expression id in sym[i] and the
 * expression's bound in dims[i]. Static rules that compare dims alone would
 * take a symbol for a static size equal to its bound, so every comparison
 * below looks at sym too, and every rule that copies a dimension copies its
 * sym. Relations that must hold for every binding (a slice inside its
 * operand, a window no larger than its padded input) are proved from the
 * range of the difference; what cannot be proved is refused. */

/* Dimension i of a and dimension j of b are equal for every binding. */
static bool dim_eq(const ir_shape *a, int i, const ir_shape *b, int j) {
  return a->dims[i] == b->dims[j] && a->sym[i] == b->sym[j];
}

/* Dimension i of s as text: its expression, or its size. */
static const char *dstr(const ir_module *m, const ir_shape *s, int i, char *buf, size_t n) {
  if (s->sym[i]) return ir_dexpr_str(m, s->sym[i], buf, n);
  snprintf(buf, n, "%lld", (long long)s->dims[i]);
  return buf;
}

bool ir_dexpr_size_valid(ir_module *m, uint32_t e, int64_t held, char *err, size_t errn) {
  if (e == 0 || e > ir_dexpr_count(m)) FAIL("names expression %u, which the module does not have", e);
  char b[96];
  ir_dexpr_str(m, e, b, sizeof b);
  if (ir_dexpr_is_const(m, e, NULL)) FAIL("is the constant expression %s; it must be static", b);
  if (!ir_dexpr_nonneg(m, e)) FAIL("is %s, which may be negative", b);
  if (ir_dexpr_upper(m, e) != held)
    FAIL("is %s with bound %lld, but %lld is held", b, (long long)ir_dexpr_upper(m, e), (long long)held);
  return true;
}

bool ir_shape_syms_valid(ir_module *m, const ir_shape *s, char *err, size_t errn) {
  for (int i = 0; i < s->rank && i < IR_MAX_RANK; i++) {
    char why[192];
    if (s->sym[i] && !ir_dexpr_size_valid(m, s->sym[i], s->dims[i], why, sizeof why))
      FAIL("dimension %d %s", i, why);
  }
  return true;
}

/* Whether a <= b for every binding; *oom when the difference could not be
 * formed. */
static bool provably_le(ir_module *m, ir_dexpr a, ir_dexpr b, bool *oom) {
  ir_dexpr d = a && b ? ir_dexpr_sub(m, b, a) : 0;
  if (!d) {
    *oom = true;
    return false;
  }
  return ir_dexpr_nonneg(m, d);
}

/* A start, limit or slice size of an attribute as an expression: sym, or
 * the static value held when sym is 0. A symbolic one is checked like a
 * shape dimension; 0 with the reason in err when invalid. */
static ir_dexpr attr_dim(ir_module *m, uint32_t sym, int64_t held, char *err, size_t errn) {
  if (!sym) {
    ir_dexpr e = ir_dexpr_const(m, held);
    if (!e) snprintf(err, errn, "is out of memory");
    return e;
  }
  return ir_dexpr_size_valid(m, sym, held, err, errn) ? sym : 0;
}

/* Output extent of window dimension w over an input of symbolic size `in`:
 * floor((in' + lo + hi - eff) / stride) + 1 with in' = (in - 1) * lhs_dilate
 * + 1 and eff = (size - 1) * rhs_dilate + 1, set as dimension `od` of r. The
 * static rule gives 0 for an input smaller than the window; an expression
 * cannot, so an extent that may be negative for some binding is refused. */
static bool window_out_sym(ir_module *m, ir_dexpr in, const ir_window_dim *w, int i, ir_shape *r, int od, char *err,
                           size_t errn) {
  int64_t eff;
  if (w->size < 1 || w->stride < 1 || w->lhs_dilate < 1 || w->rhs_dilate < 1)
    FAIL("window dimension %d %s", i, window_problem(-1));
  if (!mul_nonneg(w->size - 1, w->rhs_dilate, &eff) || !add_ok(eff, 1, &eff))
    FAIL("window dimension %d %s", i, window_problem(-2));
  char b[96];
  ir_dexpr_str(m, in, b, sizeof b);
  /* (in - 1) * lhs_dilate + 1 is the dilated size only for in >= 1. */
  if (w->lhs_dilate > 1 && !ir_dexpr_nonneg(m, ir_dexpr_add_const(m, in, -1)))
    FAIL("window dimension %d: the input size %s may be 0, which base dilation cannot express symbolically", i, b);
  ir_dexpr e = ir_dexpr_mul_const(m, in, w->lhs_dilate);
  int64_t k;
  if (!add_ok(w->pad_lo, w->pad_hi, &k) || !add_ok(k, 1 - w->lhs_dilate, &k) || !add_ok(k, -eff, &k))
    FAIL("window dimension %d %s", i, window_problem(-2));
  e = e ? ir_dexpr_add_const(m, e, k) : 0;
  e = e ? ir_dexpr_floordiv(m, e, w->stride) : 0;
  e = e ? ir_dexpr_add_const(m, e, 1) : 0;
  if (!e) FAIL("window dimension %d: the output size over %s is too large an expression (or out of memory)", i, b);
  char o[96];
  if (!ir_dexpr_nonneg(m, e))
    FAIL("window dimension %d: the output size %s is negative for some binding of the input size %s (the padded "
         "input can be smaller than the window of %lld)",
         i, ir_dexpr_str(m, e, o, sizeof o), b, (long long)eff);
  if (!ir_shape_set_dim(m, r, od, e))
    FAIL("window dimension %d: output size %s has no finite bound", i, ir_dexpr_str(m, e, o, sizeof o));
  return true;
}

/* Dimension i of a slice of x with a symbolic start, limit or operand size:
 * ceil((limit - start) / stride), once 0 <= start <= limit <= size is
 * proved for every binding. */
static bool slice_dim_sym(ir_module *m, const ir_shape *x, const ir_slice_attr *a, int i, ir_shape *r, char *err,
                          size_t errn) {
  char why[192];
  ir_dexpr s = attr_dim(m, a->start_sym[i], a->start[i], why, sizeof why);
  if (!s) FAIL("slice start of dimension %d %s", i, why);
  ir_dexpr l = attr_dim(m, a->limit_sym[i], a->limit[i], why, sizeof why);
  if (!l) FAIL("slice limit of dimension %d %s", i, why);
  ir_dexpr d = ir_shape_dim(m, x, i);
  if (!d) FAIL("out of memory");
  char bs[96], bl[96], bd[96];
  ir_dexpr_str(m, s, bs, sizeof bs), ir_dexpr_str(m, l, bl, sizeof bl), ir_dexpr_str(m, d, bd, sizeof bd);
  if (a->stride[i] < 1) FAIL("slice stride %lld of dimension %d is below 1", (long long)a->stride[i], i);
  if (!a->start_sym[i] && a->start[i] < 0)
    FAIL("slice start %lld of dimension %d is negative", (long long)a->start[i], i);
  bool oom = false;
  if (!provably_le(m, s, l, &oom) && !oom)
    FAIL("slice bounds [%s:%s] of dimension %d: cannot prove start <= limit for every binding", bs, bl, i);
  if (!oom && !provably_le(m, l, d, &oom) && !oom)
    FAIL("slice limit %s is past the end of dimension %d (size %s): cannot prove limit <= size for every binding", bl,
         i, bd);
  ir_dexpr n = oom ? 0 : ir_dexpr_sub(m, l, s);
  n = n ? ir_dexpr_ceildiv(m, n, a->stride[i]) : 0;
  if (!n || !ir_shape_set_dim(m, r, i, n)) FAIL("slice of dimension %d: the size is too large an expression", i);
  return true;
}

/* Dimension i of pad(x) for a symbolic size D: D + lo + hi + interior*(D-1).
 * That form is the static rule's only for D >= 1 when there is interior
 * padding (an empty dimension gets none), and the result must not be
 * negative for any binding. */
static bool pad_dim_sym(ir_module *m, const ir_shape *x, const ir_pad_attr *p, int i, ir_shape *r, char *err,
                        size_t errn) {
  ir_dexpr d = x->sym[i];
  char bd[96], bn[96];
  ir_dexpr_str(m, d, bd, sizeof bd);
  if (p->interior[i] > 0 && !ir_dexpr_nonneg(m, ir_dexpr_add_const(m, d, -1)))
    FAIL("interior padding of dimension %d (size %s) is not expressible when the size may be 0", i, bd);
  int64_t k;
  if (__builtin_add_overflow(p->lo[i], p->hi[i], &k) || __builtin_sub_overflow(k, p->interior[i], &k))
    FAIL("padding of dimension %d gives a size that does not fit in 64 bits", i);
  ir_dexpr n = p->interior[i] < INT64_MAX ? ir_dexpr_mul_const(m, d, p->interior[i] + 1) : 0;
  n = n ? ir_dexpr_add_const(m, n, k) : 0;
  if (!n) FAIL("padding of dimension %d (size %s) gives a size too large to express", i, bd);
  if (!ir_dexpr_nonneg(m, n))
    FAIL("padding of dimension %d gives the size %s, which is negative for some binding", i,
         ir_dexpr_str(m, n, bn, sizeof bn));
  if (!ir_shape_set_dim(m, r, i, n)) FAIL("padding of dimension %d gives a size with no finite bound", i);
  return true;
}

static bool check_type_class(const ir_op_info *info, const ir_shape *s, char *err, size_t errn) {
  if (!type_ok(info->types, s->type))
    FAIL("%s needs %s operand, got %s", info->name, class_name(info->types), ir_type_name(s->type));
  return true;
}

/* The element types a combiner applies to: pred or integers for and/or,
 * numbers for the others (assign takes any; callers that do not allow it
 * refuse it first). */
static bool check_combiner(ir_combiner comb, ir_type t, char *err, size_t errn) {
  if (comb == IR_COMB_AND || comb == IR_COMB_OR) {
    if (!type_ok('l', t)) FAIL("combiner %s needs pred or integer", ir_combiner_name(comb));
  } else if (comb != IR_COMB_ASSIGN && !type_ok('n', t)) {
    FAIL("combiner %s needs a numeric type", ir_combiner_name(comb));
  }
  return true;
}

/* Result element types of dot and convolution: the operands' type, or a
 * wider accumulator (integers to i32/i64, f16/bf16 to f32). */
static bool result_type_ok(ir_type x, ir_type rt) {
  return rt == x || (ir_type_is_int(x) && (rt == IR_I32 || rt == IR_I64)) ||
         ((x == IR_F16 || x == IR_BF16) && rt == IR_F32);
}

/* Checks that computation `ci`, called by `in` as its `role` (e.g. "body"),
 * exists, is neither the entry nor c itself, and takes in's operands from
 * `first` on as its parameters (same dimensions and types). On success
 * *root is its root instruction. */
static bool callee_ok(const ir_module *m, const ir_comp *c, const ir_inst *in, uint32_t ci, uint32_t first,
                      const char *role, const ir_inst **root, char *err, size_t errn) {
  char b1[160], b2[160];
  const char *op = ir_op_name(in->op);
  if (ci >= m->ncomps) FAIL("%s: the %s is no computation", op, role);
  const ir_comp *fc = m->comps[ci];
  if (fc->is_entry) FAIL("%s cannot call the entry computation", op);
  if (fc == c) FAIL("%s calls its own computation as %s", op, role);
  uint32_t n = in->nops - first;
  if (ir_comp_num_params(fc) != n)
    FAIL("%s passes %u operands to its %s %%%s, which has %u parameters", op, n, role, fc->name,
         ir_comp_num_params(fc));
  for (uint32_t i = 0; i < n; i++) {
    ir_id p = ir_comp_param(fc, i);
    if (p == IR_NONE) FAIL("%s %%%s has no parameter %u", role, fc->name, i);
    const ir_shape *os = &c->insts[in->ops[first + i]].shape;
    if (!ir_shape_same_dims(&fc->insts[p].shape, os))
      FAIL("%s operand %u is %s, parameter %u of its %s %%%s is %s", op, first + i, sstr(m, os, b1), i, role, fc->name,
           sstr(m, &fc->insts[p].shape, b2));
  }
  if (fc->root == IR_NONE || fc->root >= fc->ninsts) FAIL("%s %%%s has no root", role, fc->name);
  *root = &fc->insts[fc->root];
  return true;
}

bool ir_infer_shape(ir_module *m, const ir_comp *c, const ir_inst *in, ir_shape *out,
                    ir_shape **tuple, uint32_t *ntuple, char *err, size_t errn) {
  const ir_op_info *info = ir_op_get(in->op);
  char b1[160], b2[160];
  *tuple = NULL;
  *ntuple = 0;
  if (!info) FAIL("unknown opcode %d", (int)in->op);
  if ((int)in->nops < info->min_operands || (info->max_operands >= 0 && (int)in->nops > info->max_operands)) {
    if (info->min_operands == info->max_operands)
      FAIL("%s takes %d operand%s, got %u", info->name, info->min_operands, info->min_operands == 1 ? "" : "s",
           in->nops);
    FAIL("%s takes at least %d operands, got %u", info->name, info->min_operands, in->nops);
  }
  /* Operands must exist; only tuple-aware ops take tuple-shaped operands. */

  for (uint32_t i = 0; i < in->nops; i++) {
    if (in->ops[i] >= c->ninsts) FAIL("operand %u refers to no instruction", i);
    const ir_shape *s = &c->insts[in->ops[i]].shape;
    if (s->type == IR_TUPLE && in->op != IR_OP_GET_TUPLE_ELEMENT)
      FAIL("operand %u (%%%s) is a tuple; only get_tuple_element takes tuples", i, c->insts[in->ops[i]].name);
    if (s->type != IR_TUPLE && in->op == IR_OP_GET_TUPLE_ELEMENT)
      FAIL("get_tuple_element needs a tuple operand, got %s", sstr(m, s, b1));

  }
#define OPS(i) (&c->insts[in->ops[(i)]].shape)
  const ir_shape *x = in->nops ? OPS(0) : NULL;
  ir_shape r;
  memset(&r, 0, sizeof r);

  switch (info->family) {
    case IR_FAM_PARAMETER:
    case IR_FAM_CONSTANT:
      if (in->shape.type == IR_TUPLE) FAIL("%s must have an array shape", info->name);
      if (in->shape.rank > IR_MAX_RANK) FAIL("rank %d exceeds the maximum %d", in->shape.rank, IR_MAX_RANK);
      for (int i = 0; i < in->shape.rank; i++)
        if (in->shape.dims[i] < 0) FAIL("dimension %d is negative", i);
      if (ir_shape_bytes(&in->shape) < 0) FAIL("shape %s is too large", sstr(m, &in->shape, b1));
      if (info->family == IR_FAM_PARAMETER && in->index < 0) FAIL("parameter number %lld is negative", (long long)in->index);
      if (info->family == IR_FAM_CONSTANT && !in->data && ir_shape_elements(&in->shape) > 0)
        FAIL("constant has no data");
      if (info->family == IR_FAM_CONSTANT && !ir_shape_is_static(&in->shape))
        FAIL("a constant cannot have a symbolic shape (%s): its data has one size", sstr(m, &in->shape, b1));
      if (!ir_shape_syms_valid(m, &in->shape, err, errn)) return false;
      r = in->shape;
      break;

    case IR_FAM_IOTA:
      r = in->shape;
      if (r.type == IR_TUPLE || !type_ok('n', r.type)) FAIL("iota needs a numeric array shape");
      if (r.rank < 1) FAIL("iota needs rank >= 1");
      for (int i = 0; i < r.rank; i++)
        if (r.dims[i] < 0) FAIL("dimension %d is negative", i);
      if (!ir_shape_syms_valid(m, &r, err, errn)) return false;
      if (in->index < 0 || in->index >= r.rank)
        FAIL("iota_dimension %lld out of range for rank %d", (long long)in->index, r.rank);
      break;

    case IR_FAM_UNARY:
      if (!check_type_class(info, x, err, errn)) return false;
      r = *x;
      if (info->flags & IR_F_RESULT_PRED) r.type = IR_PRED;
      break;

    case IR_FAM_BINARY:
    case IR_FAM_COMPARE:
      if (!ir_shape_same_dims(OPS(0), OPS(1)))
        FAIL("%s operands differ: %s and %s", info->name, sstr(m, OPS(0), b1), sstr(m, OPS(1), b2));
      if (!check_type_class(info, x, err, errn)) return false;
      r = *x;
      if (info->flags & IR_F_RESULT_PRED) r.type = IR_PRED;
      break;

    case IR_FAM_SELECT:
      if (OPS(0)->type != IR_PRED) FAIL("select predicate must be pred, got %s", ir_type_name(OPS(0)->type));
      if (!ir_shape_same_dims(OPS(1), OPS(2)))
        FAIL("select branches differ: %s and %s", sstr(m, OPS(1), b1), sstr(m, OPS(2), b2));
      if (OPS(0)->rank != 0) {
        ir_shape p = *OPS(0);
        p.type = OPS(1)->type;
        if (!ir_shape_same_dims(&p, OPS(1)))
          FAIL("select predicate %s must be a scalar or match %s", sstr(m, OPS(0), b1), sstr(m, OPS(1), b2));
      }
      r = *OPS(1);
      break;

    case IR_FAM_CLAMP:
      if (!check_type_class(info, OPS(1), err, errn)) return false;
      for (int k = 0; k < 3; k += 2) {
        if (OPS(k)->type != OPS(1)->type || (OPS(k)->rank != 0 && !ir_shape_same_dims(OPS(k), OPS(1))))
          FAIL("clamp bound %s must be a scalar of the operand's type or match %s", sstr(m, OPS(k), b1),
               sstr(m, OPS(1), b2));
      }
      r = *OPS(1);
      break;

    case IR_FAM_CONVERT:
      if (in->shape.type == IR_TUPLE || (unsigned)in->shape.type >= IR_TYPE_COUNT) FAIL("convert needs an array result type");
      r = *x;
      r.type = in->shape.type;
      break;

    case IR_FAM_BROADCAST:
      r = in->shape;
      r.type = x->type;
      if (r.rank > IR_MAX_RANK) FAIL("rank too large");
      if ((int)in->ndims != x->rank)
        FAIL("broadcast needs %d dimensions (one per operand dimension), got %u", x->rank, in->ndims);
      if (!dims_valid(in->dims, (int)in->ndims, r.rank, true))
        FAIL("broadcast dimensions must increase and be less than the result rank %d", r.rank);
      for (int i = 0; i < x->rank; i++) {
        if (!dim_eq(x, i, &r, (int)in->dims[i])) {
          char e1[96], e2[96];
          FAIL("broadcast operand dimension %d (size %s) does not match result dimension %lld (size %s)", i,
               dstr(m, x, i, e1, sizeof e1), (long long)in->dims[i], dstr(m, &r, (int)in->dims[i], e2, sizeof e2));
        }
      }
      for (int i = 0; i < r.rank; i++)
        if (r.dims[i] < 0) FAIL("dimension %d is negative", i);
      if (!ir_shape_syms_valid(m, &r, err, errn)) return false;
      break;

    case IR_FAM_RESHAPE:
      r = in->shape;
      r.type = x->type;
      for (int i = 0; i < r.rank; i++)
        if (r.dims[i] < 0) FAIL("dimension %d is negative", i);
      if (ir_shape_is_static(&r) && ir_shape_is_static(x)) {
        if (ir_shape_elements(&r) != ir_shape_elements(x))
          FAIL("reshape from %s to %s changes the element count", sstr(m, x, b1), sstr(m, &r, b2));
        break;
      }
      if (!ir_shape_syms_valid(m, &r, err, errn)) return false;
      /* Equal counts as expressions: equal for every binding. */
      ir_dexpr nx = ir_shape_elements_dexpr(m, x), nr = ir_shape_elements_dexpr(m, &r);
      if (!nx || !nr) FAIL("the element count of %s or %s is too large an expression", sstr(m, x, b1), sstr(m, &r, b2));
      if (nx != nr) {
        char e1[96], e2[96];
        FAIL("reshape from %s to %s changes the element count (%s vs %s)", sstr(m, x, b1), sstr(m, &r, b2),
             ir_dexpr_str(m, nx, e1, sizeof e1), ir_dexpr_str(m, nr, e2, sizeof e2));
      }
      break;

    case IR_FAM_TRANSPOSE:
      if ((int)in->ndims != x->rank || !dims_valid(in->dims, x->rank, x->rank, false))
        FAIL("transpose dimensions must be a permutation of 0..%d", x->rank - 1);
      r = *x;
      for (int i = 0; i < x->rank; i++) r.dims[i] = x->dims[in->dims[i]], r.sym[i] = x->sym[in->dims[i]];
      break;

    case IR_FAM_SLICE:
      if (!in->a.slice) FAIL("slice has no bounds");
      r = *x;
      for (int i = 0; i < x->rank; i++) {
        const ir_slice_attr *a = in->a.slice;
        int64_t s = a->start[i], l = a->limit[i], st = a->stride[i];
        if (x->sym[i] || a->start_sym[i] || a->limit_sym[i]) {
          if (!slice_dim_sym(m, x, a, i, &r, err, errn)) return false;
          continue;
        }
        if (s < 0 || l < s || l > x->dims[i] || st < 1)
          FAIL("slice bounds [%lld:%lld:%lld] invalid for dimension %d of size %lld", (long long)s, (long long)l,
               (long long)st, i, (long long)x->dims[i]);
        r.dims[i] = l == s ? 0 : (l - s - 1) / st + 1; /* ceil((l - s) / st) without overflow */
      }
      break;

    case IR_FAM_DYNAMIC_SLICE:
      if (in->nops != (uint32_t)x->rank + 1)
        FAIL("dynamic_slice needs %d start indices, got %u", x->rank, in->nops - 1);
      if ((int)in->ndims != x->rank) FAIL("dynamic_slice needs %d sizes", x->rank);
      for (uint32_t i = 1; i < in->nops; i++)
        if (OPS(i)->rank != 0 || !ir_type_is_int(OPS(i)->type)) FAIL("start index %u must be an integer scalar", i - 1);
      r = *x;
      for (int i = 0; i < x->rank; i++) {
        /* Starts are clamped into the operand, so a size must fit the
         * smallest the dimension can be. */
        bool oom = false;
        if (in->dims[i] < 0 || (!x->sym[i] && in->dims[i] > x->dims[i]) ||
            (x->sym[i] && !provably_le(m, ir_dexpr_const(m, in->dims[i]), x->sym[i], &oom))) {
          if (!x->sym[i])
            FAIL("dynamic_slice size %lld out of range for dimension %d of size %lld", (long long)in->dims[i], i,
                 (long long)x->dims[i]);
          char e1[96];
          FAIL("dynamic_slice size %lld may exceed dimension %d of size %s: cannot prove it fits for every binding",
               (long long)in->dims[i], i, dstr(m, x, i, e1, sizeof e1));
        }
        r.dims[i] = in->dims[i], r.sym[i] = 0;
      }
      break;

    case IR_FAM_DYNAMIC_UPDATE_SLICE:
      if (in->nops != (uint32_t)x->rank + 2)
        FAIL("dynamic_update_slice needs %d start indices, got %u", x->rank, in->nops - 2);
      if (OPS(1)->type != x->type || OPS(1)->rank != x->rank)
        FAIL("update %s must have the operand's type and rank (%s)", sstr(m, OPS(1), b1), sstr(m, x, b2));
      for (int i = 0; i < x->rank; i++) {
        const ir_shape *u = OPS(1);
        if (!u->sym[i] && !x->sym[i]) {
          if (u->dims[i] > x->dims[i]) FAIL("update dimension %d is larger than the operand's", i);
          continue;
        }
        bool oom = false;
        if (!provably_le(m, ir_shape_dim(m, u, i), ir_shape_dim(m, x, i), &oom)) {
          char e1[96], e2[96];
          if (oom) FAIL("out of memory comparing update dimension %d", i);
          FAIL("update dimension %d (%s) may be larger than the operand's (%s): cannot prove it fits for every binding",
               i, dstr(m, u, i, e1, sizeof e1), dstr(m, x, i, e2, sizeof e2));
        }
      }
      for (uint32_t i = 2; i < in->nops; i++)
        if (OPS(i)->rank != 0 || !ir_type_is_int(OPS(i)->type)) FAIL("start index %u must be an integer scalar", i - 2);
      r = *x;
      break;

    case IR_FAM_CONCATENATE:
      if (in->ndims != 1 || in->dims[0] < 0 || in->dims[0] >= x->rank)
        FAIL("concatenate needs one dimension in [0, %d)", x->rank);
      r = *x;
      r.dims[in->dims[0]] = 0;
      bool sym = false;
      for (uint32_t k = 0; k < in->nops; k++) {
        if (OPS(k)->type != x->type || OPS(k)->rank != x->rank) FAIL("concatenate operand %u differs in type or rank", k);
        for (int i = 0; i < x->rank; i++)
          if (i != in->dims[0] && !dim_eq(OPS(k), i, x, i))
            FAIL("concatenate operand %u differs in dimension %d: %s vs %s", k, i, sstr(m, OPS(k), b1), sstr(m, x, b2));
        if (!add_ok(r.dims[in->dims[0]], OPS(k)->dims[in->dims[0]], &r.dims[in->dims[0]]))
          FAIL("concatenate result dimension %lld is too large", (long long)in->dims[0]);
        sym = sym || OPS(k)->sym[in->dims[0]];
      }
      if (sym) { /* the sum of the operands' sizes as an expression */
        ir_dexpr e = ir_dexpr_const(m, 0);
        for (uint32_t k = 0; e && k < in->nops; k++) {
          ir_dexpr d = ir_shape_dim(m, OPS(k), (int)in->dims[0]);
          e = d ? ir_dexpr_add(m, e, d) : 0;
        }
        if (!e || !ir_shape_set_dim(m, &r, (int)in->dims[0], e))
          FAIL("concatenate result dimension %lld is too large an expression", (long long)in->dims[0]);
      }
      break;

    case IR_FAM_PAD:
      if (!in->a.pad) FAIL("pad has no padding");
      if (OPS(1)->rank != 0 || OPS(1)->type != x->type) FAIL("pad value must be a scalar of type %s", ir_type_name(x->type));
      r = *x;
      for (int i = 0; i < x->rank; i++) {
        const ir_pad_attr *p = in->a.pad;
        if (p->interior[i] < 0) FAIL("interior padding of dimension %d is negative", i);
        if (x->sym[i]) {
          if (!pad_dim_sym(m, x, p, i, &r, err, errn)) return false;
          continue;
        }
        int64_t d = x->dims[i], n = 0, gaps = 0;
        if ((d > 0 && !mul_nonneg(d - 1, p->interior[i], &gaps)) || !add_ok(d, gaps, &n) || !add_ok(n, p->lo[i], &n) ||
            !add_ok(n, p->hi[i], &n))
          FAIL("padding of dimension %d gives a size that does not fit in 64 bits", i);
        if (n < 0) FAIL("padding of dimension %d gives a negative size", i);
        r.dims[i] = n;
      }
      break;

    case IR_FAM_REVERSE:
      if (!dims_valid(in->dims, (int)in->ndims, x->rank, false)) FAIL("reverse dimensions must be distinct and < %d", x->rank);
      r = *x;
      break;

    case IR_FAM_GATHER: {
      const ir_gather_dims *g = in->a.gather;
      const ir_shape *idx = OPS(1);
      if (!g) FAIL("gather has no dimension numbers");
      if (!ir_type_is_int(idx->type)) FAIL("gather indices must be integers");
      if (g->index_vector_dim < 0 || g->index_vector_dim > idx->rank)
        FAIL("index_vector_dim %lld out of range", (long long)g->index_vector_dim);
      if (g->index_vector_dim < idx->rank && idx->sym[g->index_vector_dim])
        FAIL("the index vector dimension %lld of the indices %s is symbolic; it must be static",
             (long long)g->index_vector_dim, sstr(m, idx, b1));
      int64_t nvec = g->index_vector_dim == idx->rank ? 1 : idx->dims[g->index_vector_dim];
      if (g->nstart_map != nvec) FAIL("start_index_map has %d entries, index vectors have %lld", g->nstart_map, (long long)nvec);
      if (!dims_valid(g->start_index_map, g->nstart_map, x->rank, false)) FAIL("start_index_map entries must be distinct operand dimensions");
      if (!dims_valid(g->collapsed_slice_dims, g->ncollapsed, x->rank, true)) FAIL("collapsed_slice_dims must increase and be operand dimensions");
      for (int i = 0; i < x->rank; i++) {
        if (!g->slice_sizes_sym[i] && !x->sym[i]) {
          if (g->slice_sizes[i] < 0 || g->slice_sizes[i] > x->dims[i]) FAIL("slice_sizes[%d] out of range", i);
          continue;
        }
        char why[192];
        ir_dexpr z = attr_dim(m, g->slice_sizes_sym[i], g->slice_sizes[i], why, sizeof why);
        if (!z) FAIL("slice_sizes[%d] %s", i, why);
        char e1[96], e2[96];
        bool oom = false;
        if (!provably_le(m, z, ir_shape_dim(m, x, i), &oom))
          FAIL("slice_sizes[%d] = %s may exceed operand dimension %d (size %s): cannot prove it fits for every binding",
               i, ir_dexpr_str(m, z, e1, sizeof e1), i, dstr(m, x, i, e2, sizeof e2));
      }
      for (int i = 0; i < g->ncollapsed; i++)
        if (g->slice_sizes[g->collapsed_slice_dims[i]] != 1 || g->slice_sizes_sym[g->collapsed_slice_dims[i]]) FAIL("collapsed dimension %lld must have slice size 1", (long long)g->collapsed_slice_dims[i]);
      int batch_rank = idx->rank - (g->index_vector_dim < idx->rank ? 1 : 0);
      int out_rank = g->noffset + batch_rank;
      if (g->noffset != x->rank - g->ncollapsed) FAIL("offset_dims must have %d entries", x->rank - g->ncollapsed);
      if (out_rank > IR_MAX_RANK) FAIL("gather result rank too large");
      if (!dims_valid(g->offset_dims, g->noffset, out_rank, true)) FAIL("offset_dims must increase and be < %d", out_rank);
      r = ir_shape_make(x->type, out_rank, NULL);
      int bi = 0, oi = 0;
      for (int i = 0; i < out_rank; i++) {
        if (ir_dims_has(g->offset_dims, g->noffset, i)) {
          while (ir_dims_has(g->collapsed_slice_dims, g->ncollapsed, oi)) oi++;
          r.sym[i] = g->slice_sizes_sym[oi];
          r.dims[i] = g->slice_sizes[oi++];
        } else {
          if (bi == g->index_vector_dim) bi++;
          r.sym[i] = idx->sym[bi];
          r.dims[i] = idx->dims[bi++];
        }
      }
      break;
    }

    case IR_FAM_SCATTER: {
      const ir_scatter_dims *s = in->a.scatter;
      const ir_shape *idx = OPS(1), *upd = OPS(2);
      if (!s) FAIL("scatter has no dimension numbers");
      if (!ir_type_is_int(idx->type)) FAIL("scatter indices must be integers");
      if (upd->type != x->type) FAIL("scatter updates must have the operand's type");
      if (!check_combiner(in->comb, x->type, err, errn)) return false;
      if (s->index_vector_dim < 0 || s->index_vector_dim > idx->rank) FAIL("index_vector_dim out of range");
      if (s->index_vector_dim < idx->rank && idx->sym[s->index_vector_dim])
        FAIL("the index vector dimension %lld of the indices %s is symbolic; it must be static",
             (long long)s->index_vector_dim, sstr(m, idx, b1));
      int64_t nvec = s->index_vector_dim == idx->rank ? 1 : idx->dims[s->index_vector_dim];
      if (s->nscatter_map != nvec) FAIL("scatter_dims_to_operand_dims has %d entries, index vectors have %lld", s->nscatter_map, (long long)nvec);
      if (!dims_valid(s->scatter_dims_to_operand_dims, s->nscatter_map, x->rank, false)) FAIL("scatter_dims_to_operand_dims entries must be distinct operand dimensions");
      if (!dims_valid(s->inserted_window_dims, s->ninserted, x->rank, true)) FAIL("inserted_window_dims must increase and be operand dimensions");
      if (s->nwindow + s->ninserted != x->rank) FAIL("update_window_dims plus inserted_window_dims must cover the operand rank %d", x->rank);
      int batch_rank = idx->rank - (s->index_vector_dim < idx->rank ? 1 : 0);
      if (upd->rank != s->nwindow + batch_rank) FAIL("updates must have rank %d", s->nwindow + batch_rank);
      if (!dims_valid(s->update_window_dims, s->nwindow, upd->rank, true)) FAIL("update_window_dims must increase and be < %d", upd->rank);
      int bi = 0, oi = 0;
      for (int i = 0; i < upd->rank; i++) {
        if (ir_dims_has(s->update_window_dims, s->nwindow, i)) {
          while (ir_dims_has(s->inserted_window_dims, s->ninserted, oi)) oi++;
          if (!upd->sym[i] && !x->sym[oi]) {
            if (upd->dims[i] > x->dims[oi]) FAIL("update window dimension %d is larger than operand dimension %d", i, oi);
          } else {
            bool oom = false;
            if (!provably_le(m, ir_shape_dim(m, upd, i), ir_shape_dim(m, x, (int)oi), &oom)) {
              char e1[96], e2[96];
              FAIL("update window dimension %d (%s) may be larger than operand dimension %d (%s): cannot prove it "
                   "fits for every binding",
                   i, dstr(m, upd, i, e1, sizeof e1), oi, dstr(m, x, oi, e2, sizeof e2));
            }
          }
          oi++;
        } else {
          if (bi == s->index_vector_dim) bi++;
          if (!dim_eq(upd, i, idx, bi)) FAIL("update scatter dimension %d does not match the indices", i);
          bi++;
        }
      }
      r = *x;
      break;
    }

    case IR_FAM_REDUCE: {
      if (!dims_valid(in->dims, (int)in->ndims, x->rank, false)) FAIL("reduce dimensions must be distinct and < %d", x->rank);
      if (in->comb == IR_COMB_ASSIGN) FAIL("reduce cannot use combiner assign");
      if (!check_combiner(in->comb, x->type, err, errn)) return false;
      int k = 0;
      int64_t d[IR_MAX_RANK];
      uint32_t ds[IR_MAX_RANK];
      for (int i = 0; i < x->rank; i++)
        if (!ir_dims_has(in->dims, (int)in->ndims, i)) ds[k] = x->sym[i], d[k++] = x->dims[i];
      r = ir_shape_make(x->type, k, d);
      for (int i = 0; i < k; i++) r.sym[i] = ds[i];
      break;
    }

    case IR_FAM_REDUCE_WINDOW: {
      const ir_window *w = in->a.window;
      if (!w || w->rank != x->rank) FAIL("reduce_window needs a window of rank %d", x->rank);
      if (in->comb == IR_COMB_ASSIGN || ((in->comb == IR_COMB_AND || in->comb == IR_COMB_OR) && !type_ok('l', x->type)))
        FAIL("combiner %s not valid here", ir_combiner_name(in->comb));
      if (!check_combiner(in->comb, x->type, err, errn)) return false;
      r = *x;
      for (int i = 0; i < x->rank; i++) {
        if (x->sym[i]) {
          if (!window_out_sym(m, x->sym[i], &w->d[i], i, &r, i, err, errn)) return false;
          continue;
        }
        int64_t o = window_out(x->dims[i], &w->d[i]);
        if (o < 0) FAIL("window dimension %d %s", i, window_problem(o));
        r.dims[i] = o;
      }
      break;
    }

    case IR_FAM_DOT: {
      const ir_dot_dims *d = in->a.dot;
      const ir_shape *y = OPS(1);
      if (!d) FAIL("dot has no dimension numbers");
      if (x->type != y->type) FAIL("dot operands differ in type: %s and %s", ir_type_name(x->type), ir_type_name(y->type));
      if (!check_type_class(info, x, err, errn)) return false;
      if (!dims_valid(d->lhs_batch, d->nbatch, x->rank, false) || !dims_valid(d->rhs_batch, d->nbatch, y->rank, false) ||
          !dims_valid(d->lhs_contract, d->ncontract, x->rank, false) ||
          !dims_valid(d->rhs_contract, d->ncontract, y->rank, false))
        FAIL("dot dimension numbers out of range or repeated");
      for (int i = 0; i < d->nbatch; i++) {
        if (ir_dims_has(d->lhs_contract, d->ncontract, d->lhs_batch[i]) || ir_dims_has(d->rhs_contract, d->ncontract, d->rhs_batch[i]))
          FAIL("a dimension is both batch and contracting");
        if (!dim_eq(x, (int)d->lhs_batch[i], y, (int)d->rhs_batch[i])) {
          if (ir_shape_is_static(x) && ir_shape_is_static(y)) FAIL("batch dimension %d sizes differ", i);
          char e1[96], e2[96];
          FAIL("batch dimension %d sizes differ: %s vs %s", i, dstr(m, x, (int)d->lhs_batch[i], e1, sizeof e1),
               dstr(m, y, (int)d->rhs_batch[i], e2, sizeof e2));
        }
      }
      for (int i = 0; i < d->ncontract; i++)
        if (!dim_eq(x, (int)d->lhs_contract[i], y, (int)d->rhs_contract[i])) {
          char e1[96], e2[96];
          FAIL("contracting dimension sizes differ: %s vs %s", dstr(m, x, (int)d->lhs_contract[i], e1, sizeof e1),
               dstr(m, y, (int)d->rhs_contract[i], e2, sizeof e2));
        }
      int64_t dd[3 * IR_MAX_RANK];
      uint32_t ds[3 * IR_MAX_RANK];
      int k = 0;
      for (int i = 0; i < d->nbatch; i++) ds[k] = x->sym[d->lhs_batch[i]], dd[k++] = x->dims[d->lhs_batch[i]];
      for (int i = 0; i < x->rank; i++)
        if (!ir_dims_has(d->lhs_batch, d->nbatch, i) && !ir_dims_has(d->lhs_contract, d->ncontract, i))
          ds[k] = x->sym[i], dd[k++] = x->dims[i];
      for (int i = 0; i < y->rank; i++)
        if (!ir_dims_has(d->rhs_batch, d->nbatch, i) && !ir_dims_has(d->rhs_contract, d->ncontract, i))
          ds[k] = y->sym[i], dd[k++] = y->dims[i];
      if (k > IR_MAX_RANK) FAIL("dot result rank %d too large", k);
      ir_type rt = in->shape.type;
      if (!result_type_ok(x->type, rt)) FAIL("dot of %s cannot produce %s", ir_type_name(x->type), ir_type_name(rt));
      r = ir_shape_make(rt, k, dd);
      for (int i = 0; i < k; i++) r.sym[i] = ds[i];
      break;
    }

    case IR_FAM_CONVOLUTION: {
      const ir_conv_dims *cd = in->conv;
      const ir_window *w = in->a.window;
      const ir_shape *k = OPS(1);
      if (!cd || !w) FAIL("convolution needs a window and dim_labels");
      int ns = cd->nspatial, rank = ns + 2;
      if (x->type != k->type) FAIL("convolution operands differ in type");
      if (!check_type_class(info, x, err, errn)) return false;
      if (x->rank != rank || k->rank != rank) FAIL("convolution with %d spatial dimensions needs rank-%d operands", ns, rank);
      if (w->rank != ns) FAIL("window has %d dimensions, expected %d", w->rank, ns);
      int64_t lin[IR_MAX_RANK], lk[IR_MAX_RANK], lo[IR_MAX_RANK];
      lin[0] = cd->in_batch; lin[1] = cd->in_feature;
      lk[0] = cd->k_in; lk[1] = cd->k_out;
      lo[0] = cd->out_batch; lo[1] = cd->out_feature;
      for (int i = 0; i < ns; i++) {
        lin[i + 2] = cd->in_spatial[i];
        lk[i + 2] = cd->k_spatial[i];
        lo[i + 2] = cd->out_spatial[i];
      }
      if (!dims_valid(lin, rank, rank, false) || !dims_valid(lk, rank, rank, false) || !dims_valid(lo, rank, rank, false))
        FAIL("dim_labels must be permutations");
      int64_t groups = in->index;
      if (groups < 1) FAIL("feature_group_count must be >= 1");
      /* Batch and spatial sizes may be symbolic; channels and the kernel
       * (what the kernels specialise on) must be static. */
      if (!ir_shape_is_static(k)) FAIL("convolution kernel %s has a symbolic dimension; it must be static", sstr(m, k, b1));
      if (x->sym[cd->in_feature])
        FAIL("convolution input feature dimension of %s is symbolic; it must be static", sstr(m, x, b1));
      int64_t cin = x->dims[cd->in_feature], kin = k->dims[cd->k_in], kout = k->dims[cd->k_out];
      int64_t kin_total;
      if (!mul_nonneg(kin, groups, &kin_total) || cin != kin_total)
        FAIL("input features %lld != kernel input features %lld x feature_group_count %lld", (long long)cin,
             (long long)kin, (long long)groups);
      if (kout % groups != 0) FAIL("kernel output features %lld not divisible by feature_group_count %lld", (long long)kout, (long long)groups);
      ir_type rt = in->shape.type;
      if (!result_type_ok(x->type, rt))
        FAIL("convolution of %s cannot produce %s", ir_type_name(x->type), ir_type_name(rt));
      r = ir_shape_make(rt, rank, NULL);
      r.dims[cd->out_batch] = x->dims[cd->in_batch];
      r.sym[cd->out_batch] = x->sym[cd->in_batch];
      r.dims[cd->out_feature] = kout;
      for (int i = 0; i < ns; i++) {
        if (w->d[i].size != k->dims[cd->k_spatial[i]])
          FAIL("window size %lld != kernel spatial size %lld in dimension %d", (long long)w->d[i].size,
               (long long)k->dims[cd->k_spatial[i]], i);
        if (x->sym[cd->in_spatial[i]]) {
          if (!window_out_sym(m, x->sym[cd->in_spatial[i]], &w->d[i], i, &r, (int)cd->out_spatial[i], err, errn))
            return false;
          continue;
        }
        int64_t o = window_out(x->dims[cd->in_spatial[i]], &w->d[i]);
        if (o < 0) FAIL("window dimension %d %s", i, window_problem(o));
        r.dims[cd->out_spatial[i]] = o;
      }
      break;
    }

    case IR_FAM_SORT:
      if (in->ndims != 1 || in->dims[0] < 0 || in->dims[0] >= x->rank) FAIL("sort needs one dimension < %d", x->rank);
      for (uint32_t i = 1; i < in->nops; i++)
        if (OPS(i)->rank != x->rank || memcmp(OPS(i)->dims, x->dims, sizeof(int64_t) * x->rank) != 0 ||
            memcmp(OPS(i)->sym, x->sym, sizeof(uint32_t) * x->rank) != 0)
          FAIL("sort operands must have equal dimensions");
      if (x->type == IR_PRED) FAIL("sort keys must be numeric");
      if (in->nops == 1) {
        r = *x;
        break;
      }
      goto make_tuple; /* a tuple of the operand shapes */
    case IR_FAM_TUPLE:
    make_tuple: {
      ir_shape *t = in->nops ? arena_alloc(&m->arena, in->nops * sizeof *t, 8) : NULL;
      if (in->nops && !t) FAIL("out of memory");
      for (uint32_t i = 0; i < in->nops; i++) t[i] = *OPS(i);
      r.type = IR_TUPLE;
      *tuple = t;
      *ntuple = in->nops;
      break;
    }

    case IR_FAM_GET_DIMENSION_SIZE:
      if (in->index < 0 || in->index >= x->rank)
        FAIL("get_dimension_size index %lld out of range for %s", (long long)in->index, sstr(m, x, b1));
      r = ir_shape_scalar(IR_I64);
      break;

    case IR_FAM_ASSERT: {
      const ir_shape *ok = OPS(0);
      if (ok->rank != 0 || ok->type != IR_PRED) FAIL("assert's first operand must be a pred scalar, not %s", sstr(m, ok, b1));
      if (!in->config) FAIL("assert needs a message");
      if (OPS(1)->type == IR_TUPLE) FAIL("assert's second operand must be an array, not a tuple");
      r = *OPS(1);
      break;
    }

    case IR_FAM_SET_SYMBOL:
      if (x->rank != 0 || !ir_type_is_int(x->type))
        FAIL("set_symbol takes an integer scalar, not %s", sstr(m, x, b1));
      if (in->index < 0 || in->index >= ir_sym_count(m) || !ir_sym_is_computed(m, (int)in->index))
        FAIL("set_symbol index %lld is no computed symbol of the module", (long long)in->index);
      r = ir_shape_scalar(IR_I64);
      break;

    case IR_FAM_GET_TUPLE_ELEMENT: {
      const ir_inst *t = &c->insts[in->ops[0]];
      if (in->index < 0 || in->index >= t->ntuple)
        FAIL("index %lld out of range for a tuple of %u", (long long)in->index, t->ntuple);
      r = t->tuple[in->index];
      break;
    }

    case IR_FAM_FUSION: {
      if (in->called >= m->ncomps) FAIL("fusion calls no computation");
      const ir_comp *fc = m->comps[in->called];
      if (fc->is_entry) FAIL("fusion cannot call the entry computation");
      if (fc == c) FAIL("fusion calls its own computation");
      if (ir_comp_num_params(fc) != in->nops)
        FAIL("fusion passes %u operands to %%%s, which has %u parameters", in->nops, fc->name, ir_comp_num_params(fc));
      for (uint32_t i = 0; i < in->nops; i++) {
        ir_id p = ir_comp_param(fc, i);
        if (p == IR_NONE) FAIL("%%%s has no parameter %u", fc->name, i);
        if (!ir_shape_same_dims(&fc->insts[p].shape, OPS(i)))
          FAIL("fusion operand %u is %s, parameter is %s", i, sstr(m, OPS(i), b1), sstr(m, &fc->insts[p].shape, b2));
      }
      if (fc->root == IR_NONE || fc->root >= fc->ninsts) FAIL("%%%s has no root", fc->name);
      const ir_inst *root = &fc->insts[fc->root];
      r = root->shape;
      if (r.type == IR_TUPLE) {
        *tuple = root->tuple;
        *ntuple = root->ntuple;
      }
      break;
    }

    case IR_FAM_CONDITIONAL: {
      if (x->type != IR_PRED || x->rank != 0) FAIL("conditional predicate must be pred[], got %s", sstr(m, x, b1));
      const ir_inst *rt, *rf;
      if (!callee_ok(m, c, in, in->called, 1, "true_computation", &rt, err, errn) ||
          !callee_ok(m, c, in, in->called2, 1, "false_computation", &rf, err, errn))
        return false;
      if (!ir_result_matches(rt, &rf->shape, rf->tuple, rf->ntuple)) {
        char t1[400], t2[400];
        FAIL("conditional branches return different shapes: %s and %s",
             ir_result_str_m(m, &rt->shape, rt->tuple, rt->ntuple, t1, sizeof t1),
             ir_result_str_m(m, &rf->shape, rf->tuple, rf->ntuple, t2, sizeof t2));
      }
      r = rt->shape;
      if (r.type == IR_TUPLE) {
        *tuple = rt->tuple;
        *ntuple = rt->ntuple;
      }
      break;
    }

    case IR_FAM_WHILE: {
      const ir_inst *rc, *rb;
      if (!callee_ok(m, c, in, in->called, 0, "condition", &rc, err, errn) ||
          !callee_ok(m, c, in, in->called2, 0, "body", &rb, err, errn))
        return false;
      if (rc->shape.type != IR_PRED || rc->shape.rank != 0)
        FAIL("while condition must return pred[], returns %s", sstr(m, &rc->shape, b1));
      /* The body maps the state to a state of the same shapes. */
      bool same = rb->shape.type == IR_TUPLE && rb->ntuple == in->nops;
      for (uint32_t i = 0; same && i < in->nops; i++) same = ir_shape_same_dims(&rb->tuple[i], OPS(i));
      if (!same) {
        char t1[400];
        FAIL("while body must return a tuple of the %u state shapes, returns %s", in->nops,
             ir_result_str_m(m, &rb->shape, rb->tuple, rb->ntuple, t1, sizeof t1));
      }
      goto make_tuple; /* the final state */
    }

    case IR_FAM_CUSTOM_CALL:
      if (!in->target || !in->target[0]) FAIL("custom_call needs a target");
      if (!ir_shape_syms_valid(m, &in->shape, err, errn)) return false;
      for (uint32_t t = 0; in->shape.type == IR_TUPLE && t < in->ntuple; t++)
        if (!ir_shape_syms_valid(m, &in->tuple[t], err, errn)) return false;
      r = in->shape;
      if (r.type == IR_TUPLE) {
        *tuple = in->tuple;
        *ntuple = in->ntuple;
      }
      break;
  }
  if (r.type != IR_TUPLE) {
    if (r.rank > IR_MAX_RANK) FAIL("rank too large");
    if (ir_shape_bytes(&r) < 0) FAIL("result shape %s is too large", sstr(m, &r, b1));
    ir_shape_set_default_layout(&r);
  }
  *out = r;
  return true;
}

bool ir_result_matches(const ir_inst *in, const ir_shape *s, const ir_shape *tuple, uint32_t nt) {
  if (in->shape.type == IR_TUPLE || s->type == IR_TUPLE) {
    if (in->shape.type != s->type || in->ntuple != nt) return false;
    for (uint32_t i = 0; i < nt; i++)
      if (!ir_shape_same_dims(&in->tuple[i], &tuple[i])) return false;
    return true;
  }
  return ir_shape_same_dims(&in->shape, s);
}

/* One shape for ir_result_str(_m): with the module, symbolic dimensions
 * as expressions. */
static char *shape_text(const ir_module *m, const ir_shape *s, char *buf, size_t n) {
  return m ? ir_shape_str_m(m, s, buf, n) : ir_shape_str(s, buf, n);
}

static char *result_str(const ir_module *m, const ir_shape *s, const ir_shape *tuple, uint32_t nt, char *buf, size_t n) {
  if (s->type != IR_TUPLE) return shape_text(m, s, buf, n);
  size_t k = (size_t)snprintf(buf, n, "(");
  for (uint32_t i = 0; i < nt && k < n; i++) {
    char e[160];
    k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", shape_text(m, &tuple[i], e, sizeof e));
  }
  if (k < n) snprintf(buf + k, n - k, ")");
  return buf;
}

char *ir_result_str(const ir_shape *s, const ir_shape *tuple, uint32_t nt, char *buf, size_t n) {
  return result_str(NULL, s, tuple, nt, buf, n);
}

char *ir_result_str_m(const ir_module *m, const ir_shape *s, const ir_shape *tuple, uint32_t nt, char *buf, size_t n) {
  return result_str(m, s, tuple, nt, buf, n);
}
