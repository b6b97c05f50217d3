/*
 * Binding symbolic modules to concrete sizes (ir/symbolic.h).
 *
 * ir_binding_from_params reads a binding off the shapes of the actual
 * inputs: a dimension that is a lone symbol gives that symbol its value,
 * and every other dimension must then agree with what its expression
 * evaluates to. ir_module_bind turns a symbolic module into the static
 * module it is at one binding: a clone where every symbolic dimension and
 * attribute holds its value and get_dimension_size is a constant. The
 * clone is verified, so a shape rule that only fails at this binding (a
 * slice past the end, a window larger than its input) is reported naming
 * the instruction, never run.
 */
#include "ir/symbolic.h"

#include <stdio.h>
#include <string.h>

/* The name an entry parameter is known by to the caller. */
static const char *input_name(const ir_inst *p) { return p->io_name ? p->io_name : p->name; }

/* Checks that symbol k's value is in [1, bound]; `where` (may be empty)
 * says where the value came from. */
static bool value_ok(const ir_module *m, int k, int64_t v, const char *where, diag *d) {
  if (v < ir_sym_lower(m, k)) {
    diag_error(d, "%ssymbol '%s' = %lld, but a symbolic dimension is at least %lld", where, ir_sym_name(m, k),
               (long long)v, (long long)ir_sym_lower(m, k));
    return false;
  }
  if (v > ir_sym_bound(m, k)) {
    diag_error(d, "%ssymbol '%s' = %lld exceeds its bound %lld (--max-shape)", where, ir_sym_name(m, k), (long long)v,
               (long long)ir_sym_bound(m, k));
    return false;
  }
  return true;
}

bool ir_binding_from_params(const ir_module *m, const ir_shape *actual, uint32_t n, int64_t *binding, diag *d) {
  const ir_comp *e = ir_module_entry(m);
  if (!e) {
    diag_error(d, "module %s has no entry computation", m->name);
    return false;
  }
  uint32_t np = ir_comp_num_params(e);
  if (n != np) {
    diag_error(d, "module %s takes %u inputs, %u given", m->name, np, n);
    return false;
  }
  int ns = ir_sym_count(m);
  /* Which input and dimension first gave each symbol its value. */
  enum { MAXS = 256 };
  if (ns > MAXS) {
    diag_error(d, "module %s has %d symbols; binding supports at most %d", m->name, ns, MAXS);
    return false;
  }
  uint32_t from_in[MAXS];
  int from_dim[MAXS];
  for (int k = 0; k < ns; k++) binding[k] = 0, from_in[k] = UINT32_MAX;
  char e1[128], e2[128];

  /* Ranks and static sizes; lone symbols give their values. */
  for (uint32_t i = 0; i < np; i++) {
    const ir_inst *p = ir_get(e, ir_comp_param(e, i));
    const ir_shape *s = &p->shape, *a = &actual[i];
    if (a->rank != s->rank) {
      diag_error(d, "input '%s' has rank %d (%s), but the given shape %s has rank %d", input_name(p), s->rank,
                 ir_shape_str_m(m, s, e1, sizeof e1), ir_shape_str(a, e2, sizeof e2), a->rank);
      return false;
    }
    for (int j = 0; j < s->rank; j++) {
      if (!s->sym[j]) {
        if (a->dims[j] != s->dims[j]) {
          diag_error(d, "input '%s': dimension %d is %lld, but the given size is %lld", input_name(p), j,
                     (long long)s->dims[j], (long long)a->dims[j]);
          return false;
        }
        continue;
      }
      int k = ir_dexpr_as_sym(m, s->sym[j]);
      if (k < 0) continue;
      if (ir_sym_is_computed(m, k)) {
        diag_error(d, "input '%s': dimension %d is computed symbol '%s', which only an instruction can set",
                   input_name(p), j, ir_sym_name(m, k));
        return false;
      }
      if (from_in[k] == UINT32_MAX) {
        char where[160];
        snprintf(where, sizeof where, "input '%s': dimension %d: ", input_name(p), j);
        if (!value_ok(m, k, a->dims[j], where, d)) return false;
        binding[k] = a->dims[j], from_in[k] = i, from_dim[k] = j;
      } else if (binding[k] != a->dims[j]) {
        const ir_inst *q = ir_get(e, ir_comp_param(e, from_in[k]));
        diag_error(d, "input '%s': dimension %d is '%s' = %lld, but input '%s' has '%s' = %lld (dimension %d)",
                   input_name(p), j, ir_sym_name(m, k), (long long)a->dims[j], input_name(q), ir_sym_name(m, k),
                   (long long)binding[k], from_dim[k]);
        return false;
      }
    }
  }

  /* Every symbol must now have a value, but computed ones, which the run
   * sets (-1 here: unknown). */
  for (int k = 0; k < ns; k++) {
    if (ir_sym_is_computed(m, k)) binding[k] = -1;
    if (from_in[k] != UINT32_MAX || ir_sym_is_computed(m, k)) continue;
    for (uint32_t i = 0; i < np; i++) {
      const ir_inst *p = ir_get(e, ir_comp_param(e, i));
      for (int j = 0; j < p->shape.rank; j++)
        if (p->shape.sym[j] && ir_dexpr_uses(m, p->shape.sym[j], k)) {
          diag_error(d,
                     "symbol '%s' is not determined by the inputs: input '%s' dimension %d is %s, and no input "
                     "dimension is '%s' alone",
                     ir_sym_name(m, k), input_name(p), j, ir_dexpr_str(m, p->shape.sym[j], e1, sizeof e1),
                     ir_sym_name(m, k));
          return false;
        }
    }
    diag_error(d, "symbol '%s' is not determined by the inputs: no input dimension uses it", ir_sym_name(m, k));
    return false;
  }

  /* Dimensions that are expressions must equal their values. */
  for (uint32_t i = 0; i < np; i++) {
    const ir_inst *p = ir_get(e, ir_comp_param(e, i));
    const ir_shape *s = &p->shape;
    for (int j = 0; j < s->rank; j++) {
      if (!s->sym[j] || ir_dexpr_as_sym(m, s->sym[j]) >= 0) continue;
      int64_t v;
      ir_dexpr_str(m, s->sym[j], e1, sizeof e1);
      if (!ir_dexpr_eval(m, s->sym[j], binding, &v)) {
        diag_error(d, "input '%s': dimension %d is %s, which overflows at this binding", input_name(p), j, e1);
        return false;
      }
      if (v != actual[i].dims[j]) {
        diag_error(d, "input '%s': dimension %d is %s = %lld at this binding, but the given size is %lld",
                   input_name(p), j, e1, (long long)v, (long long)actual[i].dims[j]);
        return false;
      }
    }
  }
  return true;
}

/* e with every symbol that has a value (binding[k] >= 0) replaced by it:
 * a constant unless e mentions a computed symbol still unknown (-1).
 * Interns into m (the clone being bound); 0 on overflow or out of memory. */
static ir_dexpr subst(ir_module *m, ir_dexpr e, const int64_t *binding) {
  ir_dexpr_term t[IR_DEXPR_MAX_TERMS];
  int n = ir_dexpr_terms(m, e, t);
  if (n < 0) return 0;
  ir_dexpr sum = ir_dexpr_const(m, 0);
  for (int i = 0; i < n && sum; i++) {
    ir_dexpr p = ir_dexpr_const(m, t[i].coeff);
    for (int j = 0; j < t[i].n && p; j++) {
      const ir_dexpr_atom *a = &t[i].a[j];
      ir_dexpr x;
      if (a->sym >= 0) x = binding[a->sym] >= 0 ? ir_dexpr_const(m, binding[a->sym]) : ir_sym_expr(m, a->sym);
      else x = ir_dexpr_floordiv(m, subst(m, a->arg, binding), a->div);
      p = x ? ir_dexpr_mul(m, p, x) : 0;
    }
    sum = p ? ir_dexpr_add(m, sum, p) : 0;
  }
  return sum;
}

/* The value of e at the binding: true with *v set when it is known,
 * true with *v = -1 and *left = the remaining expression when it mentions
 * an unknown computed symbol, false when it overflows. */
static bool value_of(ir_module *m, ir_dexpr e, const int64_t *binding, bool partial, int64_t *v, ir_dexpr *left) {
  *left = 0;
  if (!partial) return ir_dexpr_eval(m, e, binding, v);
  ir_dexpr r = subst(m, e, binding);
  if (!r) return false;
  if (ir_dexpr_is_const(m, r, v)) return true;
  *left = r, *v = -1;
  return true;
}

/* Binds one shape; on failure reports the dimension of instruction `in`. */
static bool bind_shape(ir_module *m, const ir_comp *c, const ir_inst *in, ir_shape *s, const char *what,
                       const int64_t *binding, bool partial, diag *d) {
  for (int i = 0; i < s->rank; i++) {
    if (!s->sym[i]) continue;
    int64_t v;
    ir_dexpr left;
    char b[128];
    ir_dexpr_str(m, s->sym[i], b, sizeof b);
    if (!value_of(m, s->sym[i], binding, partial, &v, &left)) {
      diag_error(d, "computation %%%s, instruction %%%s (%s): %sdimension %d is %s, which overflows at this binding",
                 c->name, in->name, ir_op_name(in->op), what, i, b);
      return false;
    }
    if (left) {
      if (!ir_shape_set_dim(m, s, i, left)) {
        diag_error(d, "computation %%%s, instruction %%%s (%s): %sdimension %d is %s, which may be negative at this binding",
                   c->name, in->name, ir_op_name(in->op), what, i, b);
        return false;
      }
      continue;
    }
    if (v < 0) {
      diag_error(d, "computation %%%s, instruction %%%s (%s): %sdimension %d is %s = %lld at this binding (negative)",
                 c->name, in->name, ir_op_name(in->op), what, i, b, (long long)v);
      return false;
    }
    s->dims[i] = v, s->sym[i] = 0;
  }
  return true;
}

/* Binds one symbolic attribute value (*sym, holding *val). */
static bool bind_attr(ir_module *m, const ir_comp *c, const ir_inst *in, uint32_t *sym, int64_t *val,
                      const char *what, int dim, const int64_t *binding, bool partial, diag *d) {
  if (!*sym) return true;
  int64_t v = 0;
  ir_dexpr left;
  char b[128];
  ir_dexpr_str(m, *sym, b, sizeof b);
  bool fits = value_of(m, *sym, binding, partial, &v, &left);
  if (fits && left) {
    int64_t hi = ir_dexpr_upper(m, left);
    if (ir_dexpr_nonneg(m, left) && hi != INT64_MAX) {
      *sym = left, *val = hi;
      return true;
    }
    v = -1;
  }
  if (!fits || v < 0) {
    diag_error(d, "computation %%%s, instruction %%%s (%s): %s of dimension %d is %s, which is %s at this binding",
               c->name, in->name, ir_op_name(in->op), what, dim, b, fits ? "negative" : "too large");
    return false;
  }
  *val = v, *sym = 0;
  return true;
}

static bool bind_inst(ir_module *m, const ir_comp *c, ir_inst *in, const int64_t *binding, bool partial, diag *d) {
  if (in->shape.type != IR_TUPLE && !bind_shape(m, c, in, &in->shape, "", binding, partial, d)) return false;
  for (uint32_t t = 0; in->shape.type == IR_TUPLE && t < in->ntuple; t++) {
    char what[48];
    snprintf(what, sizeof what, "tuple element %u ", t);
    if (!bind_shape(m, c, in, &in->tuple[t], what, binding, partial, d)) return false;
  }
  const ir_family fam = ir_op_get(in->op)->family;
  for (int i = 0; fam == IR_FAM_SLICE && in->a.slice && i < IR_MAX_RANK; i++) {
    ir_slice_attr *a = in->a.slice;
    if (!bind_attr(m, c, in, &a->start_sym[i], &a->start[i], "the slice start", i, binding, partial, d) ||
        !bind_attr(m, c, in, &a->limit_sym[i], &a->limit[i], "the slice limit", i, binding, partial, d))
      return false;
  }
  for (int i = 0; fam == IR_FAM_GATHER && in->a.gather && i < IR_MAX_RANK; i++) {
    ir_gather_dims *g = in->a.gather;
    if (!bind_attr(m, c, in, &g->slice_sizes_sym[i], &g->slice_sizes[i], "the slice size", i, binding, partial, d))
      return false;
  }
  return true;
}

/* get_dimension_size of a now static operand becomes an i64 constant in
 * place (same name and id, so its users need not change). */
static bool fold_dimension_size(ir_module *k, ir_comp *c, ir_inst *in, diag *d) {
  const ir_shape *x = ir_shape_of(c, in->ops[0]);
  if (in->index < 0 || in->index >= x->rank) return true; /* the verifier names it */
  if (x->sym[in->index]) return true;                     /* a computed size still unknown */
  int64_t *v = arena_alloc(&k->arena, sizeof *v, 64);
  if (!v) {
    diag_error(d, "out of memory");
    return false;
  }
  *v = x->dims[in->index];
  in->op = IR_OP_CONSTANT;
  in->nops = 0;
  in->ops = NULL;
  in->index = 0;
  in->data = v;
  return true;
}

ir_module *ir_module_bind(const ir_module *m, const int64_t *binding, diag *d) {
  /* Values outside [lower, bound] first: everything else assumes them. A
   * computed symbol may be unknown (-1): it stays symbolic. */
  bool partial = false;
  for (int k = 0; k < ir_sym_count(m); k++) {
    if (ir_sym_is_computed(m, k) && binding[k] < 0) {
      partial = true;
      continue;
    }
    if (!value_ok(m, k, binding[k], "", d)) return NULL;
  }
  ir_module *k = ir_module_clone(m);
  if (!k) {
    diag_error(d, "out of memory");
    return NULL;
  }
  for (uint32_t ci = 0; ci < k->ncomps; ci++) {
    ir_comp *c = k->comps[ci];
    for (uint32_t i = 0; i < c->ninsts; i++)
      if (!bind_inst(k, c, &c->insts[i], binding, partial, d)) goto fail;
    for (uint32_t i = 0; i < c->ninsts; i++)
      if (c->insts[i].op == IR_OP_GET_DIMENSION_SIZE && !fold_dimension_size(k, c, &c->insts[i], d)) goto fail;
  }
  /* The plan was sized for the bounds; codegen plans the static module. */
  ir_module_set_plan(k, NULL);
  /* No expression is referred to any more: the clone is a static module
   * (but for computed symbols left unknown, whose table stays). */
  if (!partial) {
    ir_symtab_free(k->syms);
    k->syms = NULL;
  }
  if (!ir_verify(k, d)) goto fail;
  return k;
fail:
  ir_module_destroy(k);
  return NULL;
}

bool ir_inst_bind_copy(const ir_module *m, const ir_comp *c, const ir_inst *in, const int64_t *binding, ir_inst *out,
                       ir_slice_attr *sl, ir_gather_dims *g, diag *d) {
  *out = *in;
  ir_family fam = ir_op_get(in->op)->family;
  if (fam == IR_FAM_SLICE && in->a.slice) *sl = *in->a.slice, out->a.slice = sl;
  if (fam == IR_FAM_GATHER && in->a.gather) *g = *in->a.gather, out->a.gather = g;
  if (in->shape.type == IR_TUPLE) return true; /* tuple shapes are not copied: the values carry theirs */
  /* Not partial: no expression is interned, m is only read. */
  return bind_inst((ir_module *)m, c, out, binding, false, d);
}
