/*
 * Import-time symbolic evaluation of shape subgraphs.
 *
 * With symbolic input dimensions, `Shape` no longer folds to a constant: it
 * becomes a vector built from get_dimension_size (ops_tensor.c), and the
 * small integer computations exporters hang off it (Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape, size arithmetic for a view or a split of
 * heads) stay in the IR as run-time values. ox_const_dexprs reads such a
 * value back as dimension expressions (ir/symbolic.h) by walking the IR
 * that computes it, so that a Reshape, Expand, Slice, ... can build a
 * symbolic result shape.
 *
 * Only what has one exact expression for every binding is accepted: an
 * integer division is taken only when it is exact or both sides are
 * nonnegative (ONNX truncates toward zero, which is floor only then); a
 * max, min, comparison or select only when the symbols' ranges decide it.
 * Anything else is refused with the same "must be known at compile time"
 * error as a value that depends on input data. Everything is computed on
 * the side: the walk adds nothing to the IR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/literal.h"
#include "ir/symbolic.h"

/* Most elements a value walked through may have (shape vectors are short;
 * this also bounds the work a malformed model can cause). */
#define SYM_MAX_ELEMS 64
/* Most instructions one walk evaluates. */
#define SYM_MAX_STEPS 4096

/* One walk: memoised results per instruction (ids are dense). */
typedef struct sym_walk {
  ox_ctx *cx;
  const ox_node *n;
  uint32_t ninsts;
  ir_dexpr **vals; /* per instruction: its elements, or NULL when not evaluated yet */
  int *counts;
  int steps;
  /* Why the walk failed: the instruction it stopped at and a reason. */
  ir_id failed_at;
  char why[256];
  bool data; /* it reached input data (a parameter read by value) */
  bool oom;
} sym_walk;

static bool fail(sym_walk *w, ir_id v, const char *fmt, const char *arg) {
  if (w->failed_at == IR_NONE) {
    w->failed_at = v;
    snprintf(w->why, sizeof w->why, fmt, arg ? arg : "");
  }
  return false;
}

static const ir_dexpr *eval(sym_walk *w, ir_id v, int *count);

/* Row-major strides of s (static: the walked values are small vectors). */
static void strides(const ir_shape *s, int64_t *st) {
  int64_t k = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = k;
    k *= s->dims[i];
  }
}

/* The range [lo, hi] of a - b over every binding; false when it cannot
 * be computed. */
static bool diff_range(ir_module *m, ir_dexpr a, ir_dexpr b, int64_t *lo, int64_t *hi) {
  if (a == b) {
    *lo = *hi = 0;
    return true;
  }
  ir_dexpr d = ir_dexpr_sub(m, a, b);
  if (!d) return false;
  *lo = ir_dexpr_lower(m, d);
  *hi = ir_dexpr_upper(m, d);
  return true;
}

/* The comparison `a dir b` when the ranges decide it for every binding:
 * 1 (true), 0 (false), -1 (undecided). */
static int decide(ir_module *m, ir_cmp dir, ir_dexpr a, ir_dexpr b) {
  int64_t lo, hi;
  if (!diff_range(m, a, b, &lo, &hi)) return -1;
  switch (dir) {
    case IR_CMP_EQ: return lo == 0 && hi == 0 ? 1 : lo > 0 || hi < 0 ? 0 : -1;
    case IR_CMP_NE: return lo == 0 && hi == 0 ? 0 : lo > 0 || hi < 0 ? 1 : -1;
    case IR_CMP_LT: return hi < 0 ? 1 : lo >= 0 ? 0 : -1;
    case IR_CMP_LE: return hi <= 0 ? 1 : lo > 0 ? 0 : -1;
    case IR_CMP_GT: return lo > 0 ? 1 : hi <= 0 ? 0 : -1;
    case IR_CMP_GE: return lo >= 0 ? 1 : hi < 0 ? 0 : -1;
  }
  return -1;
}

/* a / b as ONNX integer Div (truncation toward zero), when one
 * expression gives it for every binding. */
static ir_dexpr divide(sym_walk *w, ir_id v, ir_dexpr a, ir_dexpr b) {
  ir_module *m = w->cx->m;
  int64_t c;
  if (!ir_dexpr_is_const(m, b, &c) || c == 0) {
    fail(w, v, "a division by a symbolic value or by zero", NULL);
    return 0;
  }
  int64_t av;
  if (ir_dexpr_is_const(m, a, &av)) return (c == -1 && av == INT64_MIN) ? 0 : ir_dexpr_const(m, av / c);
  ir_dexpr num = c < 0 ? ir_dexpr_mul_const(m, a, -1) : a;
  int64_t d = c < 0 ? -c : c;
  if (!num) return 0;
  ir_dexpr q = d == 1 ? num : ir_dexpr_floordiv(m, num, d);
  if (!q) return 0;
  /* Exact (q * d == num): truncation and floor agree whatever the signs. */
  ir_dexpr back = ir_dexpr_mul_const(m, q, d);
  if (back != num && ir_dexpr_lower(m, num) < 0) {
    fail(w, v, "an integer division of a value that may be negative (ONNX truncates toward zero, which is no "
               "dimension expression)", NULL);
    return 0;
  }
  return q;
}

/* Evaluates instruction v (not known at import time) from its operands. */
static bool eval_inst(sym_walk *w, ir_id v, ir_dexpr *out, int count) {
  ox_ctx *cx = w->cx;
  ir_module *m = cx->m;
  const ir_inst in_v = *ir_get(cx->c, v), *in = &in_v; /* a copy: nothing is built meanwhile, but stay safe */
  const ir_shape *s = &in->shape;
  int nops = (int)in->nops;
  const ir_dexpr *ops[3] = {NULL, NULL, NULL};
  int opn[3] = {0, 0, 0};
  ir_shape ops_shape[3];
  /* Operands first, except for the ops that read only their operand's shape. */
  if (in->op != IR_OP_GET_DIMENSION_SIZE && in->op != IR_OP_CONCATENATE) {
    if (nops > 3) return fail(w, v, "%s with more than 3 operands", ir_op_name(in->op));
    for (int i = 0; i < nops; i++) {
      ops[i] = eval(w, in->ops[i], &opn[i]);
      if (!ops[i]) return false;
      ops_shape[i] = *ir_shape_of(cx->c, in->ops[i]);
    }
  }
  switch (in->op) {
    case IR_OP_GET_DIMENSION_SIZE: {
      const ir_shape xs = *ir_shape_of(cx->c, in->ops[0]);
      out[0] = ir_shape_dim(m, &xs, (int)in->index);
      return out[0] != 0;
    }
    case IR_OP_RESHAPE:
    case IR_OP_COPY:
      memcpy(out, ops[0], sizeof *out * (size_t)count);
      return true;
    case IR_OP_CONVERT: {
      if (!ir_type_is_int(s->type) || !ir_type_is_int(ops_shape[0].type))
        return fail(w, v, "a conversion to or from %s", ir_type_name(ir_type_is_int(s->type) ? ops_shape[0].type : s->type));
      /* Narrowing must not wrap for any binding. */
      int bits = ir_type_bits(s->type);
      for (int i = 0; i < count; i++) {
        int64_t lo = ir_dexpr_lower(m, ops[0][i]), hi = ir_dexpr_upper(m, ops[0][i]);
        bool fits = ir_type_is_unsigned(s->type) ? lo >= 0 && (bits >= 64 || hi < ((int64_t)1 << bits))
                                                 : bits >= 64 || (lo >= -((int64_t)1 << (bits - 1)) && hi < ((int64_t)1 << (bits - 1)));
        if (!fits) return fail(w, v, "a conversion to %s that may wrap", ir_type_name(s->type));
        out[i] = ops[0][i];
      }
      return true;
    }
    case IR_OP_BROADCAST: {
      /* Result index -> operand index through the dimension map. */
      int64_t st[IR_MAX_RANK], ost[IR_MAX_RANK];
      strides(s, st);
      strides(&ops_shape[0], ost);
      for (int i = 0; i < count; i++) {
        int64_t src = 0;
        for (uint32_t k = 0; k < in->ndims; k++) {
          int64_t d = in->dims[k];
          int64_t idx = (i / st[d]) % s->dims[d];
          src += idx * ost[k];
        }
        out[i] = ops[0][src];
      }
      return true;
    }
    case IR_OP_CONCATENATE: {
      int64_t axis = in->dims[0], st[IR_MAX_RANK];
      strides(s, st);
      int64_t at = 0; /* offset along the axis */
      for (int j = 0; j < nops; j++) {
        int k;
        const ir_dexpr *e = eval(w, in->ops[j], &k);
        if (!e) return false;
        ir_shape os = *ir_shape_of(cx->c, in->ops[j]);
        int64_t ost[IR_MAX_RANK];
        strides(&os, ost);
        for (int i = 0; i < k; i++) {
          int64_t dst = 0;
          for (int d = 0; d < os.rank; d++) {
            int64_t idx = (i / ost[d]) % os.dims[d];
            dst += (d == axis ? idx + at : idx) * st[d];
          }
          out[dst] = e[i];
        }
        at += os.dims[axis];
      }
      return true;
    }
    case IR_OP_SLICE: {
      const ir_slice_attr *a = in->a.slice;
      int64_t st[IR_MAX_RANK], ost[IR_MAX_RANK];
      strides(s, st);
      strides(&ops_shape[0], ost);
      for (int d = 0; d < s->rank; d++)
        if (a->start_sym[d] || a->limit_sym[d]) return fail(w, v, "a slice with symbolic bounds", NULL);
      for (int i = 0; i < count; i++) {
        int64_t src = 0;
        for (int d = 0; d < s->rank; d++) src += (a->start[d] + ((i / st[d]) % s->dims[d]) * a->stride[d]) * ost[d];
        out[i] = ops[0][src];
      }
      return true;
    }
    case IR_OP_GATHER: {
      /* Only ONNX Gather along axis 0 of a vector (the shape-vector pick). */
      const ir_gather_dims *g = in->a.gather;
      if (ops_shape[0].rank != 1 || g->nstart_map != 1 || g->start_index_map[0] != 0 || g->ncollapsed != 1 ||
          g->noffset != 0 || g->index_vector_dim != ops_shape[1].rank)
        return fail(w, v, "a gather other than picking entries of a vector", NULL);
      for (int i = 0; i < count; i++) {
        int64_t idx;
        if (!ir_dexpr_is_const(m, ops[1][i], &idx)) return fail(w, v, "a gather at a symbolic index", NULL);
        /* The IR clamps out-of-range starts into the operand. */
        if (idx < 0) idx = 0;
        if (idx >= opn[0]) idx = opn[0] - 1;
        out[i] = ops[0][idx];
      }
      return true;
    }
    case IR_OP_NEG:
      for (int i = 0; i < count; i++)
        if (!(out[i] = ir_dexpr_mul_const(m, ops[0][i], -1))) return false;
      return true;
    case IR_OP_ADD:
    case IR_OP_SUB:
    case IR_OP_MUL:
    case IR_OP_DIV:
    case IR_OP_MAX:
    case IR_OP_MIN:
      if (!ir_type_is_int(s->type)) return fail(w, v, "%s arithmetic", ir_type_name(s->type));
      for (int i = 0; i < count; i++) {
        ir_dexpr a = ops[0][i], b = ops[1][i];
        if (in->op == IR_OP_ADD) out[i] = ir_dexpr_add(m, a, b);
        else if (in->op == IR_OP_SUB) out[i] = ir_dexpr_sub(m, a, b);
        else if (in->op == IR_OP_MUL) out[i] = ir_dexpr_mul(m, a, b);
        else if (in->op == IR_OP_DIV) {
          out[i] = divide(w, v, a, b);
          if (!out[i]) return w->failed_at == IR_NONE ? fail(w, v, "a division that overflows", NULL) : false;
        } else {
          int ge = decide(m, IR_CMP_GE, a, b);
          if (ge < 0) return fail(w, v, "a %s whose result depends on the binding", ir_op_name(in->op));
          out[i] = (in->op == IR_OP_MAX) == (ge == 1) ? a : b;
        }
        if (!out[i]) return fail(w, v, "%s of dimension expressions that overflows", ir_op_name(in->op));
      }
      return true;
    case IR_OP_COMPARE:
      for (int i = 0; i < count; i++) {
        int r = decide(m, in->cmp, ops[0][i], ops[1][i]);
        if (r < 0) return fail(w, v, "a comparison whose result depends on the binding", NULL);
        out[i] = ir_dexpr_const(m, r);
      }
      return true;
    case IR_OP_SELECT:
      for (int i = 0; i < count; i++) {
        int64_t p;
        /* A scalar predicate selects whole operands. */
        const ir_dexpr pe = opn[0] == 1 ? ops[0][0] : ops[0][i];
        if (!ir_dexpr_is_const(m, pe, &p)) return fail(w, v, "a select on a symbolic condition", NULL);
        out[i] = p ? ops[1][i] : ops[2][i];
      }
      return true;
    case IR_OP_PARAMETER:
      w->data = true;
      return fail(w, v, "input data", NULL);
    default:
      return fail(w, v, "%s", ir_op_name(in->op));
  }
}

static const ir_dexpr *eval(sym_walk *w, ir_id v, int *count) {
  ox_ctx *cx = w->cx;
  if (v == IR_NONE || ox_is_box(v) || v >= w->ninsts) {
    fail(w, v, "a value that is not a tensor", NULL);
    return NULL;
  }
  if (w->vals[v]) {
    *count = w->counts[v];
    return w->vals[v];
  }
  if (++w->steps > SYM_MAX_STEPS) {
    fail(w, v, "a computation too large to follow", NULL);
    return NULL;
  }
  const ir_shape s = *ir_shape_of(cx->c, v);
  if (ox_is_symbolic(&s)) {
    fail(w, v, "a value whose own shape is symbolic", NULL);
    return NULL;
  }
  if (s.type == IR_TUPLE || (!ir_type_is_int(s.type) && s.type != IR_PRED)) {
    fail(w, v, "a %s value", s.type == IR_TUPLE ? "tuple" : ir_type_name(s.type));
    return NULL;
  }
  int64_t k = ir_shape_elements(&s);
  if (k < 0 || k > SYM_MAX_ELEMS) {
    fail(w, v, "a value of more elements than a shape has", NULL);
    return NULL;
  }
  ir_dexpr *out = calloc((size_t)k + 1, sizeof *out);
  if (!out) {
    w->oom = true;
    fail(w, v, "out of memory", NULL);
    return NULL;
  }
  bool ok;
  if (ox_is_const(cx, v)) {
    /* Known at import time: its elements are constants. */
    const void *data = ox_const_data(cx, w->n, v, "a value of a shape computation");
    ok = data != NULL;
    for (int64_t i = 0; ok && i < k; i++) ok = (out[i] = ir_dexpr_const(cx->m, ir_elem_get_i(s.type, data, i))) != 0;
    if (!ok) fail(w, v, "a constant that could not be read", NULL);
  } else {
    ok = eval_inst(w, v, out, (int)k);
  }
  for (int64_t i = 0; ok && i < k; i++) ok = out[i] != 0;
  if (!ok) {
    free(out);
    if (w->failed_at == IR_NONE) fail(w, v, "an overflow", NULL);
    return NULL;
  }
  w->vals[v] = out;
  w->counts[v] = (int)k;
  *count = (int)k;
  return out;
}

int ox_const_dexprs(ox_ctx *cx, const ox_node *n, ir_id v, ir_dexpr *out, int max, const char *what) {
  /* Fast path, and the exact behaviour (and messages) of a static model. */
  if (v == IR_NONE || ox_is_box(v) || ox_is_const(cx, v)) {
    int64_t *vals = malloc(sizeof *vals * (size_t)(max > 0 ? max : 1));
    if (!vals) {
      ox_error(cx, n, "out of memory reading %s", what);
      return -1;
    }
    int k = ox_const_ints(cx, n, v, vals, max, what);
    for (int i = 0; i < k; i++)
      if (!(out[i] = ir_dexpr_const(cx->m, vals[i]))) {
        ox_error(cx, n, "out of memory reading %s", what);
        k = -1;
        break;
      }
    free(vals);
    return k;
  }
  const ir_shape s = ox_shape(cx, v);
  if (s.rank > 1 || !ir_type_is_int(s.type) || ox_is_symbolic(&s)) return ox_const_ints(cx, n, v, NULL, 0, what);
  sym_walk w;
  memset(&w, 0, sizeof w);
  w.cx = cx;
  w.n = n;
  w.ninsts = cx->c->ninsts;
  w.failed_at = IR_NONE;
  w.vals = calloc(w.ninsts + 1, sizeof *w.vals);
  w.counts = calloc(w.ninsts + 1, sizeof *w.counts);
  int count = -1;
  const ir_dexpr *e = w.vals && w.counts ? eval(&w, v, &count) : NULL;
  if (e && count > max) {
    ox_error(cx, n, "%s has %d entries; at most %d are supported", what, count, max);
    count = -1;
  } else if (e) {
    memcpy(out, e, sizeof *out * (size_t)count);
  } else if (!w.vals || !w.counts || w.oom) {
    ox_error(cx, n, "out of memory while evaluating %s at compile time", what);
  } else if (w.data) {
    /* It reads input data, not only shapes: the usual message, which
     * names the inputs to freeze. */
    ox_const_data(cx, n, v, what);
  } else {
    const ir_inst *f = ir_get(cx->c, w.failed_at);
    ox_unsupported(cx, n, "%s must be known at compile time; it is computed from symbolic dimensions, but through %s "
                   "(instruction %s), which has no dimension expression for every binding; fix the shapes with "
                   "--input-shape", what, w.why, f->name ? f->name : ir_op_name(f->op));
  }
  if (!e) count = -1;
  for (uint32_t i = 0; w.vals && i < w.ninsts; i++) free(w.vals[i]);
  free(w.vals);
  free(w.counts);
  return count;
}

bool ox_dexprs_all_const(ox_ctx *cx, const ir_dexpr *e, int k, int64_t *vals) {
  for (int i = 0; i < k; i++)
    if (!ir_dexpr_is_const(cx->m, e[i], &vals[i])) return false;
  return true;
}

bool ox_set_dim(ox_ctx *cx, const ox_node *n, ir_shape *s, int i, ir_dexpr e, const char *what) {
  if (!e) return ox_error(cx, n, "%s: the size of dimension %d overflows", what, i);
  if (ir_shape_set_dim(cx->m, s, i, e)) return true;
  char b[128];
  return ox_error(cx, n, "%s: dimension %d would be %s, which may be negative or has no bound", what, i,
                  ir_dexpr_str(cx->m, e, b, sizeof b));
}

ir_id ox_slice_sym(ox_ctx *cx, ir_id x, const ir_dexpr *start, const ir_dexpr *limit, const int64_t *stride) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape s = ox_shape(cx, x);
  ir_slice_attr a;
  memset(&a, 0, sizeof a);
  for (int i = 0; i < s.rank; i++) {
    int64_t v;
    if (ir_dexpr_is_const(cx->m, start[i], &v)) a.start[i] = v;
    else a.start[i] = ir_dexpr_upper(cx->m, start[i]), a.start_sym[i] = start[i];
    if (ir_dexpr_is_const(cx->m, limit[i], &v)) a.limit[i] = v;
    else a.limit[i] = ir_dexpr_upper(cx->m, limit[i]), a.limit_sym[i] = limit[i];
    a.stride[i] = stride ? stride[i] : 1;
  }
  ir_inst p;
  memset(&p, 0, sizeof p);
  p.op = IR_OP_SLICE;
  p.nops = 1;
  p.ops = &x;
  p.a.slice = &a;
  return ir_build(&cx->b, &p);
}

ir_dexpr ox_dims_product(ox_ctx *cx, const ir_shape *s, int from, int to) {
  ir_dexpr e = ir_dexpr_const(cx->m, 1);
  for (int i = from; i < to && e; i++) {
    ir_dexpr d = ir_shape_dim(cx->m, s, i);
    e = d ? ir_dexpr_mul(cx->m, e, d) : 0;
  }
  return e;
}

/* a = q * b with q a constant times a product of symbols (what a Reshape's
 * -1 is in practice: view(b, -1), view(b, -1, 64)): q's coefficient is the
 * quotient at the binding of all ones, and each symbol's power shows in
 * how the quotient grows when that symbol alone is 2. The guess is then
 * checked exactly, so a wrong one is never returned. */
ir_dexpr ox_dexpr_div_exact(ox_ctx *cx, ir_dexpr a, ir_dexpr b) {
  ir_module *m = cx->m;
  int64_t c;
  if (!a || !b) return 0;
  if (ir_dexpr_is_const(m, b, &c)) {
    if (c <= 0) return 0;
    ir_dexpr q = c == 1 ? a : ir_dexpr_floordiv(m, a, c);
    return q && ir_dexpr_mul_const(m, q, c) == a ? q : 0;
  }
  int ns = ir_sym_count(m);
  int64_t *bind = malloc(sizeof *bind * (size_t)(ns + 1));
  if (!bind) return 0;
  for (int k = 0; k < ns; k++) bind[k] = 1;
  int64_t va, vb;
  ir_dexpr q = 0;
  if (ir_dexpr_eval(m, a, bind, &va) && ir_dexpr_eval(m, b, bind, &vb) && vb > 0 && va % vb == 0) {
    int64_t c0 = va / vb;
    q = ir_dexpr_const(m, c0);
    for (int k = 0; k < ns && q && c0; k++) {
      if (!ir_dexpr_uses(m, a, k) && !ir_dexpr_uses(m, b, k)) continue;
      bind[k] = 2;
      bool ok = ir_dexpr_eval(m, a, bind, &va) && ir_dexpr_eval(m, b, bind, &vb) && vb > 0 && va % vb == 0 &&
                (va / vb) % c0 == 0;
      bind[k] = 1;
      int64_t r = ok ? va / vb / c0 : 0;
      for (; ok && r > 1 && q; r /= 2) {
        if (r % 2) ok = false;
        else q = ir_dexpr_mul(m, q, ir_sym_expr(m, k));
      }
      if (!ok || r != 1) q = 0;
    }
  }
  free(bind);
  return q && ir_dexpr_mul(m, q, b) == a ? q : 0;
}

int ox_dexpr_decide(ox_ctx *cx, ir_cmp dir, ir_dexpr a, ir_dexpr b) { return decide(cx->m, dir, a, b); }

/* Clamps x into [lo, hi] when the ranges decide each side for every
 * binding; 0 otherwise. */
static ir_dexpr clamp(ox_ctx *cx, ir_dexpr x, ir_dexpr lo, ir_dexpr hi) {
  if (!x) return 0;
  int ge = decide(cx->m, IR_CMP_GE, x, lo);
  if (ge < 0) return 0;
  if (!ge) return lo;
  int le = decide(cx->m, IR_CMP_LE, x, hi);
  if (le < 0) return 0;
  return le ? x : hi;
}

ir_dexpr ox_slice_index(ox_ctx *cx, ir_dexpr i, ir_dexpr d) {
  ir_module *m = cx->m;
  int64_t v;
  ir_dexpr x = i;
  if (ir_dexpr_is_const(m, i, &v) && v < 0) x = ir_dexpr_add(m, d, i); /* counts from the end */
  else if (!ir_dexpr_is_const(m, i, NULL) && ir_dexpr_lower(m, i) < 0) return 0; /* negative for some bindings only */
  return x ? clamp(cx, x, ir_dexpr_const(m, 0), d) : 0;
}
