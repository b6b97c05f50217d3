/*
 * Shape and data-movement ONNX ops: Reshape, Shape, Size, Flatten, Squeeze,
 * Unsqueeze, Transpose, Concat, Split, Slice, Expand, Tile, Pad,
 * DepthToSpace, SpaceToDepth. Indexing ops (Gather*, Scatter*, OneHot, ...)
 * are in ops_index.c.
 *
 * Every value that decides a result shape (Reshape's shape, Slice's
 * starts/ends, Squeeze's axes, Pad's pads, ...) must be known at import
 * time; it is read with ox_const_ints. Up to opset 9-12 (per op) such
 * values are attributes, later inputs: each lowering reads whichever the
 * node's opset defines. The exceptions take run-time values, their sizes
 * then computed symbols: Slice (opset 10 on) starts/ends/axes/steps
 * (slice_dynamic), Reshape's shape, Unsqueeze's and Squeeze's axes (opset
 * 13 on; ox_reshape_computed) and Split's sizes (opset 13 on,
 * split_runtime).
 */
#include <stdio.h>
#include <string.h>

#include "frontend/onnx/ox.h"

/* Reads an int list that is an attribute before opset `from`, an optional
 * input (number `input`) from then on. Returns the count, -1 when absent,
 * -2 after an error. */
static int attr_or_input(ox_ctx *cx, const ox_node *n, int from, const char *name, int input, int64_t *out, int max) {
  if (n->opset < from) {
    bool ok = true;
    int k = ox_attr_ints(cx, n, name, out, max, &ok);
    return ok ? k : -2;
  }
  if (input >= n->nin || n->in[input] == IR_NONE) return -1;
  char what[64];
  snprintf(what, sizeof what, "the '%s' input", name);
  int k = ox_const_ints(cx, n, n->in[input], out, max, what);
  return k < 0 ? -2 : k;
}

static bool done(ox_node *n, ir_id r) {
  n->out[0] = r;
  return r != IR_NONE;
}

/* Reshape with a symbolic input or a target computed from symbolic
 * dimensions (Shape -> Gather -> Concat): the same rules on expressions.
 * The -1 entry is the total divided by the others, which must divide for
 * every binding (checked by multiplying back). */
static bool reshape_symbolic(ox_ctx *cx, ox_node *n, const ir_dexpr *want, int r, bool allowzero) {
  ir_module *m = cx->m;
  const ir_shape s = ox_shape(cx, n->in[0]);
  ir_dexpr dims[IR_MAX_RANK], known = ir_dexpr_const(m, 1);
  int infer = -1;
  char b1[160], b2[96], b3[96];
  for (int i = 0; i < r && known; i++) {
    int64_t v;
    dims[i] = want[i];
    bool k = ir_dexpr_is_const(m, want[i], &v);
    if (k && v == 0 && !allowzero) {
      if (i >= s.rank) return ox_error(cx, n, "shape entry %d is 0 (copy) but the input has rank %d", i, s.rank);
      dims[i] = ir_shape_dim(m, &s, i);
      if (!dims[i]) return ox_error(cx, n, "out of memory building a dimension expression");
    } else if (k && v == -1) {
      if (infer >= 0) return ox_error(cx, n, "the shape has more than one -1");
      infer = i;
      continue;
    } else if (k && v < 0) {
      return ox_error(cx, n, "shape entry %d is %lld", i, (long long)v);
    } else if (!k && ir_dexpr_lower(m, want[i]) < 0) {
      return ox_unsupported(cx, n, "shape entry %d is %s, which may be negative", i, ir_dexpr_str(m, want[i], b2, sizeof b2));
    }
    known = ir_dexpr_mul(m, known, dims[i]);
  }
  ir_dexpr total = ir_shape_elements_dexpr(m, &s);
  if (!known || !total) return ox_error(cx, n, "the shape's element count overflows");
  if (infer >= 0) {
    dims[infer] = ox_dexpr_div_exact(cx, total, known);
    if (!dims[infer])
      return ox_unsupported(cx, n, "cannot infer the -1 dimension of the reshape of %s: %s elements divided by %s is no "
                            "dimension expression for every binding; fix the shapes with --input-shape",
                            ir_shape_str_m(m, &s, b1, sizeof b1), ir_dexpr_str(m, total, b2, sizeof b2),
                            ir_dexpr_str(m, known, b3, sizeof b3));
  } else if (known != total) {
    return ox_unsupported(cx, n, "cannot reshape %s (%s elements) to %s elements: the counts differ for some binding of "
                          "the symbolic dimensions", ir_shape_str_m(m, &s, b1, sizeof b1),
                          ir_dexpr_str(m, total, b2, sizeof b2), ir_dexpr_str(m, known, b3, sizeof b3));
  }
  ir_shape t = ir_shape_make(s.type, r, NULL);
  for (int i = 0; i < r; i++)
    if (!ox_set_dim(cx, n, &t, i, dims[i], "the reshape's result")) return false;
  return done(n, ox_reshape_shape(cx, n->in[0], &t));
}

/* ---- Reshape, Unsqueeze, Squeeze and Split by run-time values ---- */

/* Whether input i of n reads graph input values (not only dimensions): no
 * dimension expression gives the shape it decides, so the result's sizes
 * are computed at run time (ox_reshape_computed, split_runtime). Only in
 * the entry computation, where computed sizes are set; a Loop body or If
 * branch keeps the import-time path and its "must be known at compile
 * time". */
static bool runtime_input(ox_ctx *cx, const ox_node *n, int i) {
  return cx->c == ir_module_entry(cx->m) && i < n->nin && n->in[i] != IR_NONE && !ox_is_const(cx, n->in[i]) &&
         ox_reads_data(cx, n->in[i], NULL, 0);
}

static ir_id slice_param(ox_ctx *cx, const ox_node *n, int i, const char *what, int64_t *k);

/* Element i of the 1-D v as a scalar. */
static ir_id elem(ox_ctx *cx, ir_id v, int64_t i) {
  return ox_reshape(cx, ox_slice_axis(cx, v, 0, i, i + 1, 1), 0, NULL);
}

/* out[i] = the sum of vals[j] over the j with a[i] == b[j] (1-D i64
 * vectors; a [len(a), len(b)] matrix, for the few entries of a shape):
 * a lookup of vals at the indices a (b an iota), or vals moved to the
 * positions b (a an iota; -1 in b goes nowhere). */
static ir_id match_sum(ox_ctx *cx, ir_id a, ir_id b_, ir_id vals) {
  ir_builder *b = &cx->b;
  int64_t d[2] = {ox_shape(cx, a).dims[0], ox_shape(cx, b_).dims[0]}, map0 = 0, map1 = 1, one = 1;
  ir_id eq = ir_compare(b, IR_CMP_EQ, ir_broadcast(b, a, 2, d, &map0), ir_broadcast(b, b_, 2, d, &map1));
  ir_id v = ir_broadcast(b, vals, 2, d, &map1);
  return ir_reduce(b, ir_select(b, eq, v, ox_full_like(cx, v, IR_I64, 0)), 1, &one, IR_COMB_ADD);
}

/* count[p] = how many of the 1-D i64 `axes` equal p, for p < len (so
 * the sum of count is the number of axes in [0, len)). */
static ir_id axis_counts(ox_ctx *cx, ir_id axes, int64_t len) {
  ir_id ones = ox_full_like(cx, axes, IR_I64, 1);
  return match_sum(cx, ir_iota(&cx->b, ir_shape_make(IR_I64, 1, &len), 0), axes, ones);
}

/* before[j] = the number of true entries of the 1-D pred m before j. */
static ir_id count_before(ox_ctx *cx, ir_id m) {
  ir_builder *b = &cx->b;
  int64_t len = ox_shape(cx, m).dims[0], d[2] = {len, len}, map1 = 1, one = 1;
  ir_shape s = ir_shape_make(IR_I64, 2, d);
  ir_id earlier = ir_compare(b, IR_CMP_LT, ir_iota(b, s, 1), ir_iota(b, s, 0));
  ir_id hit = ir_binary(b, IR_OP_AND, earlier, ir_broadcast(b, m, 2, d, &map1));
  return ir_reduce(b, ir_convert(b, hit, IR_I64), 1, &one, IR_COMB_ADD);
}

/* Axes normalized against rank r (a negative axis counts from the end);
 * out-of-range ones stay out of [0, r). */
static ir_id norm_axes(ox_ctx *cx, ir_id axes, int64_t r) {
  ir_builder *b = &cx->b;
  ir_id neg = ir_compare(b, IR_CMP_LT, axes, ox_full_like(cx, axes, IR_I64, 0));
  return ir_select(b, neg, ir_binary(b, IR_OP_ADD, axes, ox_full_like(cx, axes, IR_I64, (double)r)), axes);
}

/* The entries of the 1-D i64 v as scalars. */
static void scalars(ox_ctx *cx, ir_id v, int64_t k, ir_id *out) {
  for (int64_t i = 0; i < k; i++) out[i] = elem(cx, v, i);
}

/* The largest dimension of s, at least 1: a bound for dimensions that
 * are s's own or 1. */
static int64_t max_dim(const ir_shape *s) {
  int64_t m = 1;
  for (int i = 0; i < s->rank; i++) m = s->dims[i] > m ? s->dims[i] : m;
  return m;
}

/* Refuses symbolic dimensions of the data: the bounds of the computed
 * sizes come from its static sizes. */
static bool static_data(ox_ctx *cx, const ox_node *n, ir_id x) {
  ir_shape s = ox_shape(cx, x);
  return s.rank == 0 || ox_refuse_symbolic(cx, n, x, 0, s.rank - 1, "the data",
                                           "the sizes that run-time values decide are bounded by its static sizes");
}

/* Reshape whose shape input is a run-time value (opset 5 on), on data of
 * static dimensions (E elements). Per entry, in the IR: 0 copies the
 * data's dimension (unless allowzero; past the data's rank it is invalid),
 * -1 (at most one) is E divided by the product of the others, which must
 * not be 0. The helper checks the element count and sets the sizes. */
static bool reshape_runtime(ox_ctx *cx, ox_node *n, bool allowzero) {
  ir_id x = n->in[0];
  if (!static_data(cx, n, x)) return false;
  ir_shape s = ox_shape(cx, x);
  int64_t r, total = ir_shape_elements(&s);
  ir_id v = slice_param(cx, n, 1, "shape", &r);
  if (v == IR_NONE) return false;
  if (r > IR_MAX_RANK)
    return ox_unsupported(cx, n, "the shape has %lld entries; kiln's maximum rank is %d", (long long)r, IR_MAX_RANK);
  ir_builder *b = &cx->b;
  ir_id zero = ox_scalar(cx, IR_I64, 0), ok = ir_constant_i(b, IR_PRED, 1);
  ir_id e[IR_MAX_RANK], neg[IR_MAX_RANK], nneg = zero, known = ox_scalar(cx, IR_F64, 1);
  scalars(cx, v, r, e);
  for (int i = 0; i < r; i++) {
    if (!allowzero) {
      ir_id z = ir_compare(b, IR_CMP_EQ, e[i], zero);
      if (i < s.rank) e[i] = ir_select(b, z, ox_scalar(cx, IR_I64, (double)s.dims[i]), e[i]);
      else ok = ir_binary(b, IR_OP_AND, ok, ir_unary(b, IR_OP_NOT, z));
    }
    neg[i] = ir_compare(b, IR_CMP_EQ, e[i], ox_scalar(cx, IR_I64, -1));
    nneg = ir_binary(b, IR_OP_ADD, nneg, ir_convert(b, neg[i], IR_I64));
    known = ir_binary(b, IR_OP_MUL, known, ir_select(b, neg[i], ox_scalar(cx, IR_F64, 1), ir_convert(b, e[i], IR_F64)));
  }
  ir_id has_neg = ir_compare(b, IR_CMP_GT, nneg, zero);
  ok = ir_binary(b, IR_OP_AND, ok, ir_compare(b, IR_CMP_LE, nneg, ox_scalar(cx, IR_I64, 1)));
  ir_id none = ir_compare(b, IR_CMP_EQ, known, ox_scalar(cx, IR_F64, 0)); /* -1 next to a 0: ambiguous */
  ok = ir_binary(b, IR_OP_AND, ok, ir_unary(b, IR_OP_NOT, ir_binary(b, IR_OP_AND, has_neg, none)));
  /* E / known with known clamped into [1, E + 1]: a product past E gives
   * 0, and the element-count check refuses it (unless E is 0, when 0 is
   * right). A quotient that does not divide fails that check too. */
  ir_id kn = ir_binary(b, IR_OP_MIN, ir_binary(b, IR_OP_MAX, known, ox_scalar(cx, IR_F64, 1)),
                       ox_scalar(cx, IR_F64, (double)total + 1));
  ir_id inferred = ir_binary(b, IR_OP_DIV, ox_scalar(cx, IR_I64, (double)total), ir_convert(b, kn, IR_I64));
  for (int i = 0; i < r; i++) e[i] = ir_select(b, neg[i], inferred, e[i]);
  char what[256];
  snprintf(what, sizeof what, "the shape input gives another element count than the data's %lld, or a negative "
           "or second -1 entry%s", (long long)total,
           allowzero ? ", or a -1 beside a 0" : ", or a 0 copying a dimension the data lacks");
  return done(n, ox_reshape_computed(cx, n, x, (int)r, e, 0, ok, what));
}

/* Reshape (opset 5+: shape as an input; 0 copies a dimension unless
 * allowzero, -1 is inferred). A shape read from graph input values takes
 * reshape_runtime. */
static bool lower_reshape(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  bool ok = true;
  int64_t allowzero = n->opset >= 14 ? ox_attr_int(cx, n, "allowzero", 0, &ok) : 0;
  if (ok && runtime_input(cx, n, 1)) return reshape_runtime(cx, n, allowzero != 0);
  int64_t dims[IR_MAX_RANK];
  ir_dexpr want[IR_MAX_RANK];
  int r = ox_const_dexprs(cx, n, n->in[1], want, IR_MAX_RANK, "the 'shape' input");
  if (r < 0 || !ok) return false;
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  if (ox_is_symbolic(s) || !ox_dexprs_all_const(cx, want, r, dims)) return reshape_symbolic(cx, n, want, r, allowzero != 0);
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < r; i++) {
    if (dims[i] == 0 && !allowzero) {
      if (i >= s->rank) return ox_error(cx, n, "shape entry %d is 0 (copy) but the input has rank %d", i, s->rank);
      dims[i] = s->dims[i];
    }
    if (dims[i] == -1) {
      if (infer >= 0) return ox_error(cx, n, "the shape has more than one -1");
      infer = i;
    } else if (dims[i] < 0) {
      return ox_error(cx, n, "shape entry %d is %lld", i, (long long)dims[i]);
    } else if (dims[i] && known > INT64_MAX / dims[i]) {
      return ox_error(cx, n, "the shape's element count overflows");
    } else {
      known *= dims[i];
    }
  }
  int64_t total = ir_shape_elements(s);
  if (infer >= 0) {
    if (known == 0 || total % known)
      return ox_error(cx, n, "cannot infer the -1 dimension: %lld elements do not divide by %lld", (long long)total,
                      (long long)known);
    dims[infer] = total / known;
  } else if (known != total) {
    char b[160];
    return ox_error(cx, n, "cannot reshape %s (%lld elements) to %lld elements", ir_shape_str(s, b, sizeof b),
                    (long long)total, (long long)known);
  }
  return done(n, ox_reshape(cx, n->in[0], r, dims));
}

/* Shape: a constant (static shapes), optionally sliced (opset 15). */
static bool lower_shape(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  bool ok = true;
  int64_t start = 0, end = s->rank;
  if (n->opset >= 15) {
    start = ox_attr_int(cx, n, "start", 0, &ok);
    end = ox_attr_int(cx, n, "end", s->rank, &ok);
    if (!ok) return false;
    if (start < 0) start += s->rank;
    if (end < 0) end += s->rank;
    if (start < 0) start = 0;
    if (start > s->rank) start = s->rank;
    if (end > s->rank) end = s->rank;
    if (end < start) end = start;
  }
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, s->dims, sizeof dims);
  bool symbolic = false;
  for (int64_t i = start; i < end; i++) symbolic = symbolic || s->sym[i];
  if (!symbolic) return done(n, ox_const_i64(cx, (int)(end - start), dims + start));
  /* Symbolic dimensions are run-time values (get_dimension_size), which
   * ox_const_dexprs reads back as expressions where a shape needs them;
   * runs of static ones stay constants. */
  ir_id parts[IR_MAX_RANK];
  int np = 0;
  for (int64_t i = start; i < end;) {
    int64_t one = 1;
    if (s->sym[i]) {
      parts[np++] = ox_reshape(cx, ox_get_dim(cx, n->in[0], (int)i, IR_I64), 1, &one);
      i++;
      continue;
    }
    int64_t j = i;
    while (j < end && !s->sym[j]) j++;
    parts[np++] = ox_const_i64(cx, (int)(j - i), dims + i);
    i = j;
  }
  for (int i = 0; i < np; i++)
    if (parts[i] == IR_NONE) return false;
  return done(n, np == 1 ? parts[0] : ir_concatenate(&cx->b, np, parts, 0));
}

static bool lower_size(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  const ir_shape xs = ox_shape(cx, n->in[0]);
  if (ox_is_symbolic(&xs)) {
    int64_t all[IR_MAX_RANK];
    for (int i = 0; i < xs.rank; i++) all[i] = i;
    return done(n, ox_count_dims(cx, n->in[0], xs.rank, all, IR_I64));
  }
  return done(n, ir_constant_i(&cx->b, IR_I64, ir_shape_elements(&xs)));
}

/* Flatten: [d0 * ... * d(axis-1), d(axis) * ... * d(r-1)]. */
static bool lower_flatten(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", 1, &ok);
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  if (!ok) return false;
  /* axis is in [-r, r]; a negative one counts from r (not r + 1). */
  if (axis < -s->rank || axis > s->rank) return ox_error(cx, n, "axis %lld is out of range for rank %d", (long long)axis, s->rank);
  if (axis < 0) axis += s->rank;
  if (ox_is_symbolic(s)) {
    ir_shape t = ir_shape_make(s->type, 2, NULL);
    if (!ox_set_dim(cx, n, &t, 0, ox_dims_product(cx, s, 0, (int)axis), "the flattened shape") ||
        !ox_set_dim(cx, n, &t, 1, ox_dims_product(cx, s, (int)axis, s->rank), "the flattened shape"))
      return false;
    return done(n, ox_reshape_shape(cx, n->in[0], &t));
  }
  int64_t d[2] = {1, 1};
  for (int i = 0; i < s->rank; i++)
    if (!ox_dim_mul(cx, n, d[i >= axis], s->dims[i], &d[i >= axis])) return false;
  return done(n, ox_reshape(cx, n->in[0], 2, d));
}

/* What Squeeze and Unsqueeze with run-time axes share: static data x
 * (*s its shape), the axes as an i64 vector (*axes) of static length *k.
 * 1: go on; 0: no axes, n's result is x; -1: reported. */
static int runtime_axes(ox_ctx *cx, ox_node *n, ir_shape *s, ir_id *axes, int64_t *k) {
  ir_id x = n->in[0];
  if (!static_data(cx, n, x)) return -1;
  *s = ox_shape(cx, x);
  if ((*axes = slice_param(cx, n, 1, "axes", k)) == IR_NONE) return -1;
  if (*k == 0) return done(n, x) ? 0 : -1;
  return 1;
}

/* Squeeze with run-time axes (opset 13 on, a static count k): the axes
 * (negative ones count from the end) must be distinct dimensions of size
 * 1; the result keeps the others in order. */
static bool squeeze_runtime(ox_ctx *cx, ox_node *n) {
  ir_id x = n->in[0], axes;
  ir_shape s;
  int64_t k;
  int go = runtime_axes(cx, n, &s, &axes, &k);
  if (go <= 0) return go == 0;
  int64_t r = s.rank;
  if (k > r) return ox_error(cx, n, "%lld axes to squeeze, but the data has rank %lld", (long long)k, (long long)r);
  ir_builder *b = &cx->b;
  ir_id cnt = axis_counts(cx, norm_axes(cx, axes, r), r), dims = ox_const_i64(cx, (int)r, s.dims);
  ir_id zero = ox_full_like(cx, cnt, IR_I64, 0), one = ox_full_like(cx, cnt, IR_I64, 1);
  int64_t d0 = 0;
  /* Each axis in range and named once, each squeezed dimension of size 1. */
  ir_id not1 = ir_binary(b, IR_OP_AND, ir_compare(b, IR_CMP_GT, cnt, zero), ir_compare(b, IR_CMP_NE, dims, one));
  ir_id bad = ir_binary(b, IR_OP_OR, ir_compare(b, IR_CMP_GT, cnt, one), not1);
  ir_id nbad = ir_reduce(b, ir_convert(b, bad, IR_I64), 1, &d0, IR_COMB_ADD);
  ir_id named = ir_reduce(b, cnt, 1, &d0, IR_COMB_ADD);
  ir_id ok = ir_binary(b, IR_OP_AND, ir_compare(b, IR_CMP_EQ, nbad, ox_scalar(cx, IR_I64, 0)),
                       ir_compare(b, IR_CMP_EQ, named, ox_scalar(cx, IR_I64, (double)k)));
  int64_t rank = r - k;
  ir_id out[IR_MAX_RANK];
  if (rank > 0) {
    /* Kept dimension j goes to place before[j] (the kept ones before it). */
    ir_id keep = ir_compare(b, IR_CMP_EQ, cnt, zero);
    ir_id to = ir_select(b, keep, count_before(cx, keep), ox_full_like(cx, cnt, IR_I64, -1));
    scalars(cx, match_sum(cx, ir_iota(b, ir_shape_make(IR_I64, 1, &rank), 0), to, dims), rank, out);
  }
  return done(n, ox_reshape_computed(cx, n, x, (int)rank, out, max_dim(&s), ok,
                                     "the axes input names an axis out of range, one twice, or a dimension whose size "
                                     "is not 1"));
}

static bool lower_squeeze(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  if (n->opset >= 13 && runtime_input(cx, n, 1)) return squeeze_runtime(cx, n);
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  int64_t axes[IR_MAX_RANK];
  int k = attr_or_input(cx, n, 13, "axes", 1, axes, IR_MAX_RANK);
  if (k == -2) return false;
  bool drop[IR_MAX_RANK] = {false};
  for (int i = 0; i < k; i++) {
    int64_t a;
    if (!ox_axis(cx, n, axes[i], s->rank, false, &a)) return false;
    if (s->sym[a]) {
      char b[96];
      return ox_unsupported(cx, n, "cannot squeeze dimension %lld: it is symbolic (%s), 1 only for some bindings; fix it "
                            "with --input-shape", (long long)a, ir_dexpr_str(cx->m, s->sym[a], b, sizeof b));
    }
    if (s->dims[a] != 1) return ox_error(cx, n, "cannot squeeze dimension %lld of size %lld", (long long)a, (long long)s->dims[a]);
    drop[a] = true;
  }
  /* Without axes, only static size-1 dimensions go: a symbolic one is 1
   * for some bindings only (ONNX Runtime would drop it then). */
  ir_shape t = *s;
  int r = 0;
  for (int i = 0; i < s->rank; i++)
    if (!(k < 0 ? s->dims[i] == 1 && !s->sym[i] : drop[i])) {
      t.dims[r] = s->dims[i];
      t.sym[r++] = s->sym[i];
    }
  t.rank = (uint8_t)r;
  if (!ox_is_symbolic(s)) return done(n, ox_reshape(cx, n->in[0], r, t.dims));
  ir_shape_set_default_layout(&t);
  return done(n, ox_reshape_shape(cx, n->in[0], &t));
}

/* Unsqueeze with run-time axes (opset 13 on, a static count k): the
 * result has rank r + k, 1 at the axes (negative ones count from the end
 * of the result; each in range and named once), the data's dimensions in
 * order elsewhere. */
static bool unsqueeze_runtime(ox_ctx *cx, ox_node *n) {
  ir_id x = n->in[0], axes;
  ir_shape s;
  int64_t k;
  int go = runtime_axes(cx, n, &s, &axes, &k);
  if (go <= 0) return go == 0;
  int64_t r = s.rank, rank = r + k, d0 = 0;
  if (rank > IR_MAX_RANK)
    return ox_unsupported(cx, n, "the result would have rank %lld; kiln's maximum is %d", (long long)rank, IR_MAX_RANK);
  ir_builder *b = &cx->b;
  ir_id cnt = axis_counts(cx, norm_axes(cx, axes, rank), rank);
  ir_id one = ox_full_like(cx, cnt, IR_I64, 1);
  ir_id nbad = ir_reduce(b, ir_convert(b, ir_compare(b, IR_CMP_GT, cnt, one), IR_I64), 1, &d0, IR_COMB_ADD);
  ir_id named = ir_reduce(b, cnt, 1, &d0, IR_COMB_ADD);
  ir_id ok = ir_binary(b, IR_OP_AND, ir_compare(b, IR_CMP_EQ, nbad, ox_scalar(cx, IR_I64, 0)),
                       ir_compare(b, IR_CMP_EQ, named, ox_scalar(cx, IR_I64, (double)k)));
  ir_id ins = ir_compare(b, IR_CMP_GT, cnt, ox_full_like(cx, cnt, IR_I64, 0)), dims = one;
  if (r > 0) {
    /* Place j (not inserted) holds the data's dimension j - before[j]. */
    ir_id from = ir_binary(b, IR_OP_SUB, ir_iota(b, ir_shape_make(IR_I64, 1, &rank), 0), count_before(cx, ins));
    ir_id src = match_sum(cx, from, ir_iota(b, ir_shape_make(IR_I64, 1, &r), 0), ox_const_i64(cx, (int)r, s.dims));
    dims = ir_select(b, ins, one, src);
  }
  ir_id out[IR_MAX_RANK];
  scalars(cx, dims, rank, out);
  return done(n, ox_reshape_computed(cx, n, x, (int)rank, out, max_dim(&s), ok,
                                     "the axes input names an axis out of range or one twice"));
}

static bool lower_unsqueeze(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  if (n->opset >= 13 && runtime_input(cx, n, 1)) return unsqueeze_runtime(cx, n);
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  int64_t axes[IR_MAX_RANK];
  int k = attr_or_input(cx, n, 13, "axes", 1, axes, IR_MAX_RANK);
  if (k == -2) return false;
  if (k < 0) return ox_error(cx, n, "needs axes");
  int rank = s->rank + k;
  if (rank > IR_MAX_RANK) return ox_unsupported(cx, n, "the result would have rank %d; kiln's maximum is %d", rank, IR_MAX_RANK);
  bool ins[IR_MAX_RANK] = {false};
  for (int i = 0; i < k; i++) {
    int64_t a;
    if (!ox_axis(cx, n, axes[i], rank, false, &a)) return false;
    if (ins[a]) return ox_error(cx, n, "axis %lld is repeated", (long long)axes[i]);
    ins[a] = true;
  }
  ir_shape t = ir_shape_make(s->type, rank, NULL);
  for (int i = 0, j = 0; i < rank; i++) {
    t.dims[i] = ins[i] ? 1 : s->dims[j];
    t.sym[i] = ins[i] ? 0 : s->sym[j++];
  }
  if (!ox_is_symbolic(s)) return done(n, ox_reshape(cx, n->in[0], rank, t.dims));
  return done(n, ox_reshape_shape(cx, n->in[0], &t));
}

static bool lower_transpose(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  int64_t perm[IR_MAX_RANK];
  bool ok = true, seen[IR_MAX_RANK] = {false};
  int k = ox_attr_ints(cx, n, "perm", perm, IR_MAX_RANK, &ok);
  if (!ok) return false;
  if (k < 0) {
    k = s->rank;
    for (int i = 0; i < k; i++) perm[i] = k - 1 - i;
  }
  if (k != s->rank) return ox_error(cx, n, "'perm' has %d entries for an input of rank %d", k, s->rank);
  for (int i = 0; i < k; i++) {
    if (perm[i] < 0 || perm[i] >= k || seen[perm[i]]) return ox_error(cx, n, "'perm' is not a permutation of 0..%d", k - 1);
    seen[perm[i]] = true;
  }
  bool identity = true;
  for (int i = 0; i < k; i++) identity = identity && perm[i] == i;
  return done(n, identity ? n->in[0] : ir_transpose(&cx->b, n->in[0], perm));
}

static bool lower_concat(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  /* Concat-1 defaults the axis to 1; from opset 4 it is required. */
  if (n->opset >= 4 && !ox_attr(n, "axis")) return ox_error(cx, n, "attribute 'axis' is required");
  int64_t axis = ox_attr_int(cx, n, "axis", 1, &ok);
  ir_id xs[OX_MAX_IO];
  int k = 0;
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] != IR_NONE) xs[k++] = n->in[i];
  ir_shape s_v = ox_shape(cx, xs[0]);
  const ir_shape *s = &s_v;
  if (!ok || !ox_axis(cx, n, axis, s->rank, false, &axis)) return false;
  for (int i = 1; i < k; i++) {
    ir_shape t_v = ox_shape(cx, xs[i]);
    const ir_shape *t = &t_v;
    bool fits = t->type == s->type && t->rank == s->rank;
    for (int d = 0; fits && d < s->rank; d++) fits = d == axis || (t->dims[d] == s->dims[d] && t->sym[d] == s->sym[d]);
    if (!fits) {
      char b1[160], b2[160];
      bool sym = false;
      for (int d = 0; d < s->rank && d < t->rank; d++) sym = sym || (d != axis && (t->sym[d] || s->sym[d]));
      if (sym)
        return ox_unsupported(cx, n, "input %d (%s) does not fit input 0 (%s) along axis %lld: their symbolic "
                              "dimensions differ (equal only for some bindings)", i, ir_shape_str_m(cx->m, t, b1, sizeof b1),
                              ir_shape_str_m(cx->m, s, b2, sizeof b2), (long long)axis);
      return ox_error(cx, n, "input %d (%s) does not fit input 0 (%s) along axis %lld", i, ir_shape_str(t, b1, sizeof b1),
                      ir_shape_str(s, b2, sizeof b2), (long long)axis);
    }
  }
  return done(n, k == 1 ? xs[0] : ir_concatenate(&cx->b, k, xs, axis));
}

/* Split with run-time sizes (opset 13 on, one per output): each s_i >= 0,
 * their sum the axis' size d (checked before any size is set: every size
 * goes through the assert). Output i is a computed size along the axis
 * (bound d): a gather at offset_i + iota(s_i), offset_i the sum of the
 * sizes before it. */
static bool split_runtime(ox_ctx *cx, ox_node *n, int axis) {
  ir_id x = n->in[0];
  if (!static_data(cx, n, x)) return false;
  ir_shape s = ox_shape(cx, x);
  int64_t k, d = s.dims[axis];
  ir_id v = slice_param(cx, n, 1, "split", &k);
  if (v == IR_NONE) return false;
  if (k != n->nout) return ox_error(cx, n, "'split' has %lld entries for %d outputs", (long long)k, n->nout);
  if (n->opset >= 18 && ox_attr(n, "num_outputs"))
    return ox_error(cx, n, "has both the 'split' input and attribute 'num_outputs'; the spec allows one");
  ir_builder *b = &cx->b;
  ir_id sz[OX_MAX_IO], ok = ir_constant_i(b, IR_PRED, 1), sum = ox_scalar(cx, IR_F64, 0);
  ir_id zero = ox_scalar(cx, IR_I64, 0);
  scalars(cx, v, k, sz);
  /* The sum in f64: with every size >= 0 it is exact up to 2^53 and never
   * rounded down to d, where an i64 sum could wrap around to it. */
  for (int i = 0; i < k; i++) {
    ok = ir_binary(b, IR_OP_AND, ok, ir_compare(b, IR_CMP_GE, sz[i], zero));
    sum = ir_binary(b, IR_OP_ADD, sum, ir_convert(b, sz[i], IR_F64));
  }
  ok = ir_binary(b, IR_OP_AND, ok, ir_compare(b, IR_CMP_EQ, sum, ox_scalar(cx, IR_F64, (double)d)));
  char nm[300], msg[512];
  snprintf(msg, sizeof msg, "node %s (Split): the split sizes are negative or do not add up to %lld, the size of "
           "axis %d", ox_node_name(n, nm, sizeof nm), (long long)d, axis);
  ir_gather_dims g;
  ox_gather_axis_dims(&s, axis, &g);
  ir_id offset = zero;
  for (int i = 0; i < k; i++) {
    char suffix[16];
    snprintf(suffix, sizeof suffix, "part%d", i);
    ir_id si = ir_assert(b, ok, sz[i], msg);
    ir_dexpr e = si == IR_NONE ? 0 : ox_computed_size(cx, n, si, d, suffix);
    int64_t zd = 0;
    ir_shape t = s, ti = ir_shape_make(IR_I64, 1, &zd);
    if (!e || !ox_set_dim(cx, n, &t, axis, e, "the part's shape") || !ox_set_dim(cx, n, &ti, 0, e, "the index shape"))
      return false;
    if (ir_shape_elements(&s) == 0) {
      /* Nothing to read: a gather needs an element. */
      n->out[i] = ox_broadcast_shape(cx, ox_scalar(cx, s.type, 0), &t, NULL);
    } else {
      /* gather puts the index dimension first among the batch dimensions
       * and the offset dimensions keep their places: x's shape with the
       * axis of size s_i. */
      ir_id idx = ir_binary(b, IR_OP_ADD, ir_iota(b, ti, 0), ox_broadcast_shape(cx, offset, &ti, NULL));
      n->out[i] = ir_gather(b, x, idx, &g);
    }
    if (n->out[i] == IR_NONE) return false;
    offset = ir_binary(b, IR_OP_ADD, offset, si);
  }
  return true;
}

/* Split: sizes from the 'split' attribute (opset < 13; opset 1 also took
 * it as input 1) or input 1 (opset >= 13); without them, equal parts (the
 * last one smaller when the size does not divide, as opset 18 says), as
 * many as the outputs, which from opset 18 attribute 'num_outputs' must
 * name. */
static bool lower_split(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", 0, &ok);
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  if (!ok || !ox_axis(cx, n, axis, s->rank, false, &axis)) return false;
  int64_t sizes[OX_MAX_IO];
  int k = -1;
  if (n->opset < 13) {
    k = ox_attr_ints(cx, n, "split", sizes, OX_MAX_IO, &ok);
    if (!ok) return false;
    if (k < 0 && n->opset < 2 && n->nin > 1 && n->in[1] != IR_NONE)
      k = ox_const_ints(cx, n, n->in[1], sizes, OX_MAX_IO, "the 'split' input");
  } else if (runtime_input(cx, n, 1)) {
    return split_runtime(cx, n, (int)axis);
  } else if (n->nin > 1 && n->in[1] != IR_NONE) {
    k = ox_const_ints(cx, n, n->in[1], sizes, OX_MAX_IO, "the 'split' input");
    if (k < 0) return false;
  }
  if (!ox_refuse_symbolic(cx, n, n->in[0], (int)axis, (int)axis, "the input", "Split needs the size of the split axis"))
    return false;
  int64_t d = s->dims[axis];
  if (n->nout < 1) return ox_error(cx, n, "needs at least one output");
  if (n->opset >= 18 && ox_attr(n, "num_outputs")) {
    int64_t num = ox_attr_int(cx, n, "num_outputs", 0, &ok);
    if (!ok) return false;
    if (k >= 0) return ox_error(cx, n, "has both the 'split' input and attribute 'num_outputs'; the spec allows one");
    if (num != n->nout)
      return ox_error(cx, n, "attribute num_outputs=%lld but the node has %d outputs", (long long)num, n->nout);
  }
  if (k < 0) {
    k = n->nout;
    int64_t part = (d + k - 1) / k;
    for (int i = 0; i < k; i++) sizes[i] = i < k - 1 ? part : d - part * (k - 1);
    if (sizes[k - 1] < 0) return ox_error(cx, n, "cannot split %lld elements into %d parts", (long long)d, k);
  }
  if (k != n->nout) return ox_error(cx, n, "'split' has %d entries for %d outputs", k, n->nout);
  int64_t at = 0;
  for (int i = 0; i < k; i++) {
    if (sizes[i] < 0 || sizes[i] > d - at) return ox_error(cx, n, "split sizes do not add up to dimension %lld (%lld)", (long long)axis, (long long)d);
    n->out[i] = ox_slice_axis(cx, n->in[0], (int)axis, at, at + sizes[i], 1);
    if (n->out[i] == IR_NONE) return false;
    at += sizes[i];
  }
  if (at != d) return ox_error(cx, n, "split sizes add up to %lld, dimension %lld has %lld", (long long)at, (long long)axis, (long long)d);
  return true;
}

/* Reads Slice's starts or ends (attribute before opset 10, input `input`
 * from then on) as expressions. Returns the count, -1 when absent, -2
 * after an error. */
static int slice_bounds(ox_ctx *cx, const ox_node *n, const char *name, int input, ir_dexpr *out) {
  if (n->opset < 10) {
    int64_t v[IR_MAX_RANK];
    int k = attr_or_input(cx, n, 10, name, input, v, IR_MAX_RANK);
    for (int i = 0; i < k; i++)
      if (!(out[i] = ir_dexpr_const(cx->m, v[i]))) return -2;
    return k;
  }
  if (input >= n->nin || n->in[input] == IR_NONE) return -1;
  char what[64];
  snprintf(what, sizeof what, "the '%s' input", name);
  int k = ox_const_dexprs(cx, n, n->in[input], out, IR_MAX_RANK, what);
  return k < 0 ? -2 : k;
}

/* ---- Slice with run-time starts, ends, axes or steps ---- */

/* Whether one of Slice's starts/ends/axes/steps (inputs 1..4, opset 10 on)
 * reads graph input values: no dimension expression gives it, so the
 * result's sizes are decided at run time (slice_dynamic). Only in the entry
 * computation, where computed sizes are set; a Loop body or If branch keeps
 * the import-time path and its "must be known at compile time". */
static bool slice_runtime(ox_ctx *cx, const ox_node *n) {
  if (n->opset < 10 || cx->c != ir_module_entry(cx->m)) return false;
  for (int i = 1; i < n->nin && i < 5; i++)
    if (n->in[i] != IR_NONE && !ox_is_const(cx, n->in[i]) && ox_reads_data(cx, n->in[i], NULL, 0)) return true;
  return false;
}

/* Slice input i (a 1-D integer tensor of static length, *k) as i64;
 * IR_NONE after reporting. */
static ir_id slice_param(ox_ctx *cx, const ox_node *n, int i, const char *what, int64_t *k) {
  ir_shape s = ox_shape(cx, n->in[i]);
  if (s.rank != 1 || !ir_shape_is_static(&s) || !ir_type_is_int(s.type) || s.type == IR_PRED) {
    ox_error(cx, n, "the '%s' input must be a 1-D integer tensor of a static length", what);
    return IR_NONE;
  }
  *k = s.dims[0];
  return ox_convert(cx, n->in[i], IR_I64);
}

/* Which dimensions a run-time slice may cut (cut[d]): the first k without
 * axes, the axes named by a constant axes input, every one otherwise.
 * False after reporting an axis out of range. */
static bool slice_cut_dims(ox_ctx *cx, const ox_node *n, int r, int64_t k, bool has_axes, bool *cut) {
  if (!has_axes) {
    if (k > r) return ox_error(cx, n, "%lld starts without axes, but the data has rank %d", (long long)k, r);
    for (int d = 0; d < r; d++) cut[d] = d < k;
    return true;
  }
  bool runtime = !ox_is_const(cx, n->in[3]);
  for (int d = 0; d < r; d++) cut[d] = runtime;
  if (runtime) return true;
  int64_t axes[IR_MAX_RANK];
  int na = ox_const_ints(cx, n, n->in[3], axes, IR_MAX_RANK, "the 'axes' input");
  if (na < 0) return false;
  for (int i = 0; i < na; i++) {
    int64_t a;
    if (!ox_axis(cx, n, axes[i], r, false, &a)) return false;
    cut[a] = true;
  }
  return true;
}

/* Slice whose starts, ends, axes or steps are run-time values (opset 10
 * on), on data of static dimensions (the bounds of the result's sizes).
 *
 * Per dimension d, a vector over the r dimensions computed in the IR:
 * (start, end, step) = the entry i of the inputs whose axis is d or d - r
 * (the last such i: NumPy's overwrite; ONNX calls repeated axes invalid),
 * else (0, dim, 1); axes out of [-r, r) match no dimension (ONNX: invalid).
 * Then the ONNX clamping (negative values count from the end; start into
 * [0, dim] and end into [0, dim] for a positive step, start into
 * [0, dim - 1] and end into [-1, dim - 1] for a negative one) and the
 * length n_d = max(0, ceil((end - start) / step)), which becomes a computed
 * size bounded by dim (set_symbol). A step of 0 is invalid in ONNX; here it
 * gives length 0 instead of a division by zero. A step's magnitude is first
 * clamped to max(dim, 1): |end - start| <= dim, so that leaves the length
 * and the indices read unchanged, and keeps -step and i * step in range.
 *
 * The result is one gather of single elements at the index array
 * [n_0, .., n_{r-1}, r] whose entry along the last dimension d is
 * start_d + iota_d * step_d (every index lies in [0, dim - 1]). Dimensions
 * the inputs cannot cut (outside constant axes, past the starts without
 * axes) keep their static size and a plain iota. */
static bool slice_dynamic(ox_ctx *cx, ox_node *n) {
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x);
  int r = s.rank;
  if (r == 0) return ox_error(cx, n, "input data must have rank >= 1");
  if (!ox_refuse_symbolic(cx, n, x, 0, r - 1, "input data",
                          "the sizes of a slice by run-time starts and ends are bounded by the data's static sizes"))
    return false;
  static const char *const what[4] = {"starts", "ends", "axes", "steps"};
  ir_id p[4] = {IR_NONE, IR_NONE, IR_NONE, IR_NONE}; /* as i64 [k] */
  int64_t k = -1;
  for (int i = 0; i < 4; i++) {
    if (i + 1 >= n->nin || n->in[i + 1] == IR_NONE) {
      if (i < 2) return ox_error(cx, n, "needs starts and ends");
      continue;
    }
    int64_t ki;
    if ((p[i] = slice_param(cx, n, i + 1, what[i], &ki)) == IR_NONE) return false;
    if (k >= 0 && ki != k) return ox_error(cx, n, "starts, ends, axes and steps must have the same length");
    k = ki;
  }
  bool cut[IR_MAX_RANK], any = false;
  if (!slice_cut_dims(cx, n, r, k, p[2] != IR_NONE, cut)) return false;
  for (int d = 0; d < r; d++) any = any || cut[d];
  if (k == 0 || !any) return done(n, x);
  if (p[2] == IR_NONE) p[2] = ir_iota(&cx->b, ir_shape_make(IR_I64, 1, &k), 0);
  if (p[3] == IR_NONE) p[3] = ir_broadcast(&cx->b, ox_scalar(cx, IR_I64, 1), 1, &k, NULL);

  ir_builder *b = &cx->b;
  int64_t rk[2] = {r, k}, map0 = 0, map1 = 1, one = 1;
  ir_shape srk = ir_shape_make(IR_I64, 2, rk);
  ir_id dim_i = ir_iota(b, srk, 0), in_i = ir_iota(b, srk, 1);
  ir_id ax = ir_broadcast(b, p[2], 2, rk, &map1);
  ir_id neg_i = ir_binary(b, IR_OP_SUB, dim_i, ox_full_like(cx, dim_i, IR_I64, r));
  ir_id match = ir_binary(b, IR_OP_OR, ir_compare(b, IR_CMP_EQ, ax, dim_i), ir_compare(b, IR_CMP_EQ, ax, neg_i));
  /* last[d]: the last entry naming dimension d, -1 for none. */
  ir_id last = ir_reduce(b, ir_select(b, match, in_i, ox_full_like(cx, in_i, IR_I64, -1)), 1, &one, IR_COMB_MAX);
  ir_id pick = ir_compare(b, IR_CMP_EQ, in_i, ir_broadcast(b, last, 2, rk, &map0));
  ir_id zero_rk = ox_full_like(cx, in_i, IR_I64, 0);
  ir_id dims = ox_const_i64(cx, r, s.dims);
  ir_id zero = ox_full_like(cx, dims, IR_I64, 0), ones = ox_full_like(cx, dims, IR_I64, 1);
  ir_id has = ir_compare(b, IR_CMP_GE, last, zero);
  ir_id v[4]; /* start, end, step per dimension, defaults where no entry names it */
  ir_id dflt[4] = {zero, dims, IR_NONE, ones};
  for (int i = 0; i < 4; i++) {
    if (i == 2) continue;
    ir_id chosen = ir_select(b, pick, ir_broadcast(b, p[i], 2, rk, &map1), zero_rk);
    v[i] = ir_select(b, has, ir_reduce(b, chosen, 1, &one, IR_COMB_ADD), dflt[i]);
  }
  for (int i = 0; i < 2; i++)
    v[i] = ir_select(b, ir_compare(b, IR_CMP_LT, v[i], zero), ir_binary(b, IR_OP_ADD, v[i], dims), v[i]);
  ir_id step = v[3];
  ir_id pos = ir_compare(b, IR_CMP_GT, step, zero);
  ir_id hi = ir_select(b, pos, dims, ir_binary(b, IR_OP_SUB, dims, ones));
  ir_id start = ir_binary(b, IR_OP_MIN, ir_binary(b, IR_OP_MAX, v[0], zero), hi);
  ir_id lo_end = ir_select(b, pos, zero, ox_full_like(cx, dims, IR_I64, -1));
  ir_id end = ir_binary(b, IR_OP_MIN, ir_binary(b, IR_OP_MAX, v[1], lo_end), hi);
  ir_id big = ir_binary(b, IR_OP_MAX, dims, ones);
  step = ir_binary(b, IR_OP_MIN, ir_binary(b, IR_OP_MAX, step, ir_unary(b, IR_OP_NEG, big)), big);
  ir_id stop = ir_compare(b, IR_CMP_EQ, step, zero);
  ir_id dist = ir_select(b, pos, ir_binary(b, IR_OP_SUB, end, start), ir_binary(b, IR_OP_SUB, start, end));
  dist = ir_binary(b, IR_OP_MAX, dist, zero);
  ir_id mag = ir_select(b, stop, ones, ir_select(b, pos, step, ir_unary(b, IR_OP_NEG, step)));
  ir_id len = ir_binary(b, IR_OP_DIV, ir_binary(b, IR_OP_SUB, ir_binary(b, IR_OP_ADD, dist, mag), ones), mag);
  len = ir_binary(b, IR_OP_MIN, ir_select(b, stop, zero, len), dims);
  if (len == IR_NONE || start == IR_NONE || step == IR_NONE) return false;

  /* The sizes first: set_symbol precedes everything shaped by them. */
  int64_t idims[IR_MAX_RANK + 1];
  memcpy(idims, s.dims, (size_t)r * sizeof *idims);
  idims[r] = 1;
  ir_shape t = ir_shape_make(s.type, r, s.dims), ti = ir_shape_make(IR_I64, r + 1, idims);
  ir_id st_d[IR_MAX_RANK], sp_d[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    if (!cut[d]) continue;
    char suffix[16];
    snprintf(suffix, sizeof suffix, "d%d", d);
    ir_dexpr e = ox_computed_size(cx, n, ox_slice_axis(cx, len, 0, d, d + 1, 1), s.dims[d], suffix);
    if (!e || !ox_set_dim(cx, n, &t, d, e, "the result shape") || !ox_set_dim(cx, n, &ti, d, e, "the index shape"))
      return false;
    st_d[d] = ox_reshape(cx, ox_slice_axis(cx, start, 0, d, d + 1, 1), 0, NULL);
    sp_d[d] = ox_reshape(cx, ox_slice_axis(cx, step, 0, d, d + 1, 1), 0, NULL);
  }
  /* No element to read (a dimension of size 0): the empty result of those
   * sizes; a gather of 1-element slices needs every dimension >= 1. */
  if (ir_shape_elements(&s) == 0) return done(n, ox_broadcast_shape(cx, ox_scalar(cx, s.type, 0), &t, NULL));
  ir_id parts[IR_MAX_RANK];
  for (int d = 0; d < r; d++) {
    parts[d] = ir_iota(b, ti, d);
    if (cut[d])
      parts[d] = ir_binary(b, IR_OP_ADD, ir_binary(b, IR_OP_MUL, parts[d], ox_broadcast_shape(cx, sp_d[d], &ti, NULL)),
                           ox_broadcast_shape(cx, st_d[d], &ti, NULL));
  }
  ir_id idx = r == 1 ? parts[0] : ir_concatenate(b, r, parts, r);
  return done(n, ox_gather_elements(cx, x, idx, r));
}

/* Slice: starts/ends/axes as attributes before opset 10, inputs (with
 * steps) after. Bounds follow the ONNX clamping rules: negative values
 * count from the end; for a positive step start and end are clamped to
 * [0, dim], for a negative step start to [0, dim-1] and end to [-1, dim-1].
 * Negative steps become a reverse plus a positive-step slice. With
 * symbolic dimensions or bounds computed from them, the same rules on
 * expressions (positive steps only), refused where the clamping is not
 * one expression for every binding. Parameters read from graph input
 * values take slice_dynamic instead. */
static bool lower_slice(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  if (slice_runtime(cx, n)) return slice_dynamic(cx, n);
  ir_id x = n->in[0];
  ir_shape s_v = ox_shape(cx, x);
  const ir_shape *s = &s_v;
  ir_module *m = cx->m;
  int r = s->rank;
  int64_t axes[IR_MAX_RANK], steps[IR_MAX_RANK];
  ir_dexpr starts[IR_MAX_RANK], ends[IR_MAX_RANK];
  int ns = slice_bounds(cx, n, "starts", 1, starts);
  int ne = slice_bounds(cx, n, "ends", 2, ends);
  int na = attr_or_input(cx, n, 10, "axes", 3, axes, IR_MAX_RANK);
  int nst = n->opset >= 10 ? attr_or_input(cx, n, 10, "steps", 4, steps, IR_MAX_RANK) : -1;
  if (ns == -2 || ne == -2 || na == -2 || nst == -2) return false;
  if (ns < 0 || ne < 0) return ox_error(cx, n, "needs starts and ends");
  if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
    return ox_error(cx, n, "starts, ends, axes and steps must have the same length");
  ir_dexpr st[IR_MAX_RANK], li[IR_MAX_RANK];
  int64_t sd[IR_MAX_RANK], rev[IR_MAX_RANK];
  bool seen[IR_MAX_RANK] = {false};
  int nrev = 0;
  for (int i = 0; i < r; i++) {
    st[i] = ir_dexpr_const(m, 0);
    li[i] = ir_shape_dim(m, s, i);
    sd[i] = 1;
    if (!st[i] || !li[i]) return ox_error(cx, n, "out of memory building a dimension expression");
  }
  for (int i = 0; i < ns; i++) {
    int64_t a = na >= 0 ? axes[i] : i;
    if (!ox_axis(cx, n, a, r, false, &a)) return false;
    if (seen[a]) return ox_error(cx, n, "axis %lld is repeated", (long long)a);
    seen[a] = true;
    int64_t k = nst >= 0 ? steps[i] : 1, b, e;
    if (k == 0) return ox_error(cx, n, "step %d is 0", i);
    if (s->sym[a] || !ir_dexpr_is_const(m, starts[i], &b) || !ir_dexpr_is_const(m, ends[i], &e)) {
      char b1[96], b2[96], b3[96];
      if (k < 0)
        return ox_unsupported(cx, n, "a negative step along dimension %lld (%s) with a symbolic size or bounds is not "
                              "supported; fix the shapes with --input-shape", (long long)a, ox_dim_str(cx, s, (int)a, b1, sizeof b1));
      ir_dexpr bb = ox_slice_index(cx, starts[i], li[a]), ee = ox_slice_index(cx, ends[i], li[a]);
      int c = bb && ee ? ox_dexpr_decide(cx, IR_CMP_GE, ee, bb) : -1;
      if (c < 0)
        return ox_unsupported(cx, n, "slice [%s, %s) of dimension %lld (%s): clamping it to the dimension is not one "
                              "expression for every binding of the symbolic dimensions; fix the shapes with --input-shape",
                              ir_dexpr_str(m, starts[i], b1, sizeof b1), ir_dexpr_str(m, ends[i], b2, sizeof b2),
                              (long long)a, ox_dim_str(cx, s, (int)a, b3, sizeof b3));
      st[a] = bb;
      li[a] = c ? ee : bb;
      sd[a] = k;
      continue;
    }
    int64_t d = s->dims[a];
    if (b < 0) b = b < -d ? 0 : b + d; /* also avoids overflow for INT64_MIN */
    if (e < 0) e = e < -d ? -1 : e + d;
    if (k > 0) {
      b = b < 0 ? 0 : b > d ? d : b;
      e = e < 0 ? 0 : e > d ? d : e;
      st[a] = ir_dexpr_const(m, b);
      li[a] = ir_dexpr_const(m, e < b ? b : e);
      sd[a] = k;
    } else {
      /* After reversing, index j reads d-1-j. */
      b = b > d - 1 ? d - 1 : b;
      e = e > d - 1 ? d - 1 : e;
      if (d == 0 || b <= e) {
        st[a] = li[a] = ir_dexpr_const(m, 0);
      } else {
        st[a] = ir_dexpr_const(m, d - 1 - b);
        li[a] = ir_dexpr_const(m, d - 1 - e);
        if (k == INT64_MIN) k = -d; /* -k would overflow; one element */
        sd[a] = -k;
        rev[nrev++] = a;
      }
    }
    if (!st[a] || !li[a]) return ox_error(cx, n, "out of memory building a dimension expression");
  }
  if (nrev) {
    /* Sorted reverse dims (the IR does not require it, but print stably). */
    for (int i = 1; i < nrev; i++)
      for (int j = i; j > 0 && rev[j - 1] > rev[j]; j--) {
        int64_t t = rev[j];
        rev[j] = rev[j - 1];
        rev[j - 1] = t;
      }
    x = ir_reverse(&cx->b, x, nrev, rev);
  }
  bool whole = true;
  for (int i = 0; i < r; i++) whole = whole && st[i] == ir_dexpr_const(m, 0) && li[i] == ir_shape_dim(m, s, i) && sd[i] == 1;
  if (whole) return done(n, x);
  bool symbolic = ox_is_symbolic(s);
  int64_t sti[IR_MAX_RANK], lii[IR_MAX_RANK];
  for (int i = 0; i < r && !symbolic; i++)
    symbolic = !ir_dexpr_is_const(m, st[i], &sti[i]) || !ir_dexpr_is_const(m, li[i], &lii[i]);
  return done(n, symbolic ? ox_slice_sym(cx, x, st, li, sd) : ir_slice(&cx->b, x, sti, lii, sd));
}

/* Expand: bidirectional NumPy broadcasting of x and the shape input
 * (whose entries may be expressions of symbolic dimensions: a symbolic
 * dimension broadcasts only to itself, or from a static 1). */
static bool lower_expand(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_module *m = cx->m;
  int64_t shape[IR_MAX_RANK], dims[IR_MAX_RANK];
  ir_dexpr want[IR_MAX_RANK];
  int k = ox_const_dexprs(cx, n, n->in[1], want, IR_MAX_RANK, "the 'shape' input");
  if (k < 0) return false;
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  int rank = k > s->rank ? k : s->rank;
  if (!ox_is_symbolic(s) && ox_dexprs_all_const(cx, want, k, shape)) {
    for (int i = 0; i < rank; i++) {
      int ix = i - (rank - s->rank), is = i - (rank - k);
      int64_t a = ix >= 0 ? s->dims[ix] : 1, b = is >= 0 ? shape[is] : 1;
      if (b < 0) return ox_error(cx, n, "shape entry %d is negative", is);
      if (a != b && a != 1 && b != 1)
        return ox_error(cx, n, "dimension %d: %lld does not broadcast to %lld", i, (long long)a, (long long)b);
      dims[i] = a == 1 ? b : a;
    }
    if (!ox_check_size(cx, n, s->type, rank, dims)) return false;
    return done(n, ox_broadcast_to(cx, n, n->in[0], rank, dims));
  }
  ir_shape t = ir_shape_make(s->type, rank, NULL);
  ir_dexpr one = ir_dexpr_const(m, 1);
  for (int i = 0; i < rank; i++) {
    int ix = i - (rank - s->rank), is = i - (rank - k);
    ir_dexpr a = ix >= 0 ? ir_shape_dim(m, s, ix) : one, b = is >= 0 ? want[is] : one;
    char b1[96], b2[96];
    if (!a || !b) return ox_error(cx, n, "out of memory building a dimension expression");
    if (ir_dexpr_lower(m, b) < 0)
      return ox_error(cx, n, "shape entry %d (%s) is or may be negative", is, ir_dexpr_str(m, b, b1, sizeof b1));
    ir_dexpr d = a == b || b == one ? a : a == one ? b : 0;
    if (!d) {
      int64_t av, bv;
      if (ir_dexpr_is_const(m, a, &av) && ir_dexpr_is_const(m, b, &bv))
        return ox_error(cx, n, "dimension %d: %lld does not broadcast to %lld", i, (long long)av, (long long)bv);
      return ox_unsupported(cx, n, "dimension %d: %s broadcasts to %s only for some bindings of the symbolic dimensions; "
                            "fix the shapes with --input-shape", i, ir_dexpr_str(m, a, b1, sizeof b1),
                            ir_dexpr_str(m, b, b2, sizeof b2));
    }
    if (!ox_set_dim(cx, n, &t, i, d, "the expanded shape")) return false;
  }
  if (!ox_check_size(cx, n, s->type, rank, t.dims)) return false;
  return done(n, ox_broadcast_to_shape(cx, n, n->in[0], &t));
}

/* Tile: per axis with repeat r > 1, broadcast to [.., r, d, ..] and merge
 * the two dimensions (rank + 1 must fit; otherwise concatenate copies). */
static bool lower_tile(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0];
  int64_t reps[IR_MAX_RANK];
  ir_shape s_v = ox_shape(cx, x);
  const ir_shape *s = &s_v;
  ir_dexpr rep_e[IR_MAX_RANK];
  int k = ox_const_dexprs(cx, n, n->in[1], rep_e, IR_MAX_RANK, "the 'repeats' input");
  if (k < 0) return false;
  if (!ox_dexprs_all_const(cx, rep_e, k, reps))
    return ox_unsupported(cx, n, "the 'repeats' input is computed from symbolic dimensions; tiling a symbolic number of "
                          "times is not supported (fix the shapes with --input-shape)");
  if (k != s->rank) return ox_error(cx, n, "'repeats' has %d entries for an input of rank %d", k, s->rank);
  int r = s->rank;
  for (int a = 0; a < r; a++) {
    if (reps[a] < 0) return ox_error(cx, n, "repeat %d is negative", a);
    if (reps[a] == 1) continue;
    s_v = ox_shape(cx, x);
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, s->dims, sizeof dims);
    if (r < IR_MAX_RANK) {
      /* Symbolic dimensions keep their expressions (sym[] with dims[]). */
      ir_shape big = ir_shape_make(s->type, r + 1, NULL), res = *s;
      int64_t map[IR_MAX_RANK];
      for (int i = 0, j = 0; i <= r; i++) {
        if (i == a) {
          big.dims[i] = reps[a];
          continue;
        }
        big.dims[i] = dims[j];
        big.sym[i] = s->sym[j];
        map[j++] = i;
      }
      ir_id b = ox_broadcast_shape(cx, x, &big, map);
      if (!ox_dim_mul(cx, n, dims[a], reps[a], &dims[a]) || !ox_check_size(cx, n, s->type, r, dims)) return false;
      ir_dexpr da = ir_shape_dim(cx->m, s, a);
      if (!ox_set_dim(cx, n, &res, a, da ? ir_dexpr_mul_const(cx->m, da, reps[a]) : 0, "the tiled shape")) return false;
      x = ox_reshape_shape(cx, b, &res);
    } else {
      if (!ox_refuse_symbolic(cx, n, x, 0, r - 1, "the input", "tiling a tensor of kiln's maximum rank needs static sizes"))
        return false;
      ir_id copies[OX_MAX_IO];
      if (reps[a] == 0 || reps[a] > OX_MAX_IO) {
        if (reps[a]) return ox_unsupported(cx, n, "tiling a rank-%d tensor %lld times is not supported", r, (long long)reps[a]);
        x = ox_slice_axis(cx, x, a, 0, 0, 1);
        continue;
      }
      for (int i = 0; i < reps[a]; i++) copies[i] = x;
      x = ir_concatenate(&cx->b, (int)reps[a], copies, a);
    }
    if (x == IR_NONE) return false;
  }
  return done(n, x);
}

/* The `width` elements that reflect or edge padding adds along axis a of x,
 * before its first element or after its last: the mirror image without
 * the edge element (reflect; width < dims[a]), or the edge element
 * repeated (edge; dims[a] > 0). */
static ir_id pad_side(ox_ctx *cx, const ox_node *n, ir_id x, int a, int64_t width, bool reflect, bool before) {
  ir_shape s = ox_shape(cx, x);
  int64_t d = s.dims[a], rd = a;
  if (reflect) {
    ir_id part = before ? ox_slice_axis(cx, x, a, 1, width + 1, 1) : ox_slice_axis(cx, x, a, d - 1 - width, d - 1, 1);
    return ir_reverse(&cx->b, part, 1, &rd);
  }
  ir_id edge = before ? ox_slice_axis(cx, x, a, 0, 1, 1) : ox_slice_axis(cx, x, a, d - 1, d, 1);
  s.dims[a] = width;
  s.sym[a] = 0; /* the other dimensions keep their expressions */
  return ox_broadcast_to_shape(cx, n, edge, &s);
}

/* The `width` elements that wrap padding adds along axis a of x (d > 0
 * elements there). The spec pads "as if the data tensor forms a torus":
 * padded position i reads element i mod d, also for pads wider than the
 * axis (where some NumPy versions' np.pad 'wrap', which ONNX's reference
 * calls, differs). So: before the first element, the last width % d
 * elements then width / d whole copies; after the last, the copies then
 * the first width % d elements. Refuses more copies than a concatenation
 * takes. */
static ir_id wrap_side(ox_ctx *cx, const ox_node *n, ir_id x, int a, int64_t width, bool before) {
  int64_t d = ox_shape(cx, x).dims[a], copies = width / d, rest = width % d;
  if (copies > OX_MAX_IO - 1) {
    ox_unsupported(cx, n, "wrap pad of %lld along dimension %d wraps its %lld elements more than %d times",
                   (long long)width, a, (long long)d, OX_MAX_IO - 1);
    return IR_NONE;
  }
  ir_id parts[OX_MAX_IO];
  int np = 0;
  if (before && rest) parts[np++] = ox_slice_axis(cx, x, a, d - rest, d, 1);
  for (int64_t i = 0; i < copies; i++) parts[np++] = x;
  if (!before && rest) parts[np++] = ox_slice_axis(cx, x, a, 0, rest, 1);
  return np == 1 ? parts[0] : ir_concatenate(&cx->b, np, parts, a);
}

/* Pad: modes constant, reflect, edge and (opset 19) wrap. pads =
 * [begin_0.., end_0..]; an attribute before opset 11 ('paddings' in
 * opset 1), then an input, with the constant value as attribute 'value' /
 * optional input 2. From opset 18 optional input 3 lists the axes the
 * pads apply to (others are not padded). Negative pads crop. reflect,
 * edge and wrap are built from slices, reverses and concatenation along
 * each axis. */
static bool lower_pad(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  ir_shape s_v = ox_shape(cx, x);
  const ir_shape *s = &s_v;
  int r = s->rank;
  bool ok = true;
  const char *mode = ox_attr_string(cx, n, "mode", "constant", &ok);
  int64_t pads[2 * IR_MAX_RANK];
  int k;
  if (n->opset < 11) {
    k = ox_attr_ints(cx, n, n->opset < 2 ? "paddings" : "pads", pads, 2 * IR_MAX_RANK, &ok);
    if (!ok) return false;
    if (k < 0) return ox_error(cx, n, "attribute 'pads' is required");
  } else {
    if (!ox_need_inputs(cx, n, 2)) return false;
    k = ox_const_ints(cx, n, n->in[1], pads, 2 * IR_MAX_RANK, "the 'pads' input");
    if (k < 0) return false;
  }
  if (!ok) return false;
  if (n->opset < 18 && n->nin > 3 && n->in[3] != IR_NONE)
    return ox_error(cx, n, "has an 'axes' input, which Pad takes from opset 18; the model declares %d", n->opset);
  if (n->opset >= 18 && n->nin > 3 && n->in[3] != IR_NONE) {
    /* pads holds [begin, end] for the listed axes only: spread them over
     * all r axes, zeros elsewhere. */
    int64_t axes[IR_MAX_RANK + 1], full[2 * IR_MAX_RANK] = {0};
    bool seen[IR_MAX_RANK] = {false};
    int na = ox_const_ints(cx, n, n->in[3], axes, IR_MAX_RANK + 1, "the 'axes' input");
    if (na < 0) return false;
    if (k != 2 * na) return ox_error(cx, n, "'pads' has %d entries for %d axes; it needs %d", k, na, 2 * na);
    for (int i = 0; i < na; i++) {
      int64_t ax;
      if (!ox_axis(cx, n, axes[i], r, false, &ax)) return false;
      if (seen[ax]) return ox_error(cx, n, "axis %lld is listed twice in the 'axes' input", (long long)ax);
      seen[ax] = true;
      full[ax] = pads[i];
      full[r + ax] = pads[na + i];
    }
    memcpy(pads, full, sizeof pads);
    k = 2 * r;
  }
  if (k != 2 * r) return ox_error(cx, n, "'pads' has %d entries; an input of rank %d needs %d", k, r, 2 * r);
  /* A symbolic dimension may be padded with a constant (its size grows by
   * the pads), but not cropped or mirrored: that needs its run-time size. */
  for (int i = 0; i < r; i++)
    if (s->sym[i] && (pads[i] || pads[r + i]) && (pads[i] < 0 || pads[r + i] < 0 || strcmp(mode, "constant"))) {
      char b[96];
      return ox_unsupported(cx, n, "%s dimension %d, which is symbolic (%s), is not supported; fix it with --input-shape",
                            pads[i] < 0 || pads[r + i] < 0 ? "cropping (negative pads)" : "reflect, edge or wrap padding of",
                            i, ox_dim_str(cx, s, i, b, sizeof b));
    }
  /* The result dims, checked before anything is built (pads are data: any
   * int64). */
  int64_t out[IR_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int64_t lo = pads[i], hi = pads[r + i];
    if (lo < -s->dims[i] || hi < -s->dims[i] || __builtin_add_overflow(s->dims[i], lo, &out[i]) ||
        __builtin_add_overflow(out[i], hi, &out[i]) || out[i] < 0)
      return ox_error(cx, n, "pads (%lld, %lld) do not fit dimension %d of size %lld", (long long)lo, (long long)hi, i,
                      (long long)s->dims[i]);
  }
  if (!ox_check_size(cx, n, s->type, r, out)) return false;
  if (!strcmp(mode, "constant")) {
    ir_id v;
    if (n->opset < 11) {
      v = ox_scalar(cx, s->type, ox_attr_float(cx, n, "value", 0, &ok));
    } else if (n->nin > 2 && n->in[2] != IR_NONE) {
      v = n->in[2];
      const ir_shape vs = ox_shape(cx, v);
      if (ir_shape_elements(&vs) != 1 || vs.type != s->type)
        return ox_error(cx, n, "the constant value must be one value of the input's type");
      v = ox_reshape(cx, v, 0, NULL);
    } else {
      v = ox_scalar(cx, s->type, 0);
    }
    int64_t lo[IR_MAX_RANK], hi[IR_MAX_RANK], in[IR_MAX_RANK] = {0};
    for (int i = 0; i < r; i++) {
      lo[i] = pads[i];
      hi[i] = pads[r + i];
    }
    return ok && done(n, ir_pad(&cx->b, x, v, lo, hi, in));
  }
  bool reflect = !strcmp(mode, "reflect"), wrap = !strcmp(mode, "wrap"); /* or edge: check_pad refused others */
  for (int a = 0; a < r && x != IR_NONE; a++) {
    int64_t lo = pads[a], hi = pads[r + a], d = ox_shape(cx, x).dims[a];
    /* Crop first. */
    int64_t b = lo < 0 ? -lo : 0, e = hi < 0 ? d + hi : d;
    if (e < b) return ox_error(cx, n, "negative pads crop more than dimension %d holds", a);
    if (b || e != d) x = ox_slice_axis(cx, x, a, b, e, 1);
    d = e - b;
    lo = lo > 0 ? lo : 0;
    hi = hi > 0 ? hi : 0;
    if (!lo && !hi) continue;
    if (d == 0) return ox_error(cx, n, "cannot %s-pad an empty dimension %d", mode, a);
    if (reflect && (lo >= d || hi >= d))
      return ox_error(cx, n, "reflect pads (%lld, %lld) must be smaller than dimension %d (%lld)", (long long)lo,
                      (long long)hi, a, (long long)d);
    ir_id parts[3];
    int np = 0;
    if (lo) parts[np++] = wrap ? wrap_side(cx, n, x, a, lo, true) : pad_side(cx, n, x, a, lo, reflect, true);
    parts[np++] = x;
    if (hi) parts[np++] = wrap ? wrap_side(cx, n, x, a, hi, false) : pad_side(cx, n, x, a, hi, reflect, false);
    for (int i = 0; i < np; i++)
      if (parts[i] == IR_NONE) return false;
    x = ir_concatenate(&cx->b, np, parts, a);
  }
  return done(n, x);
}

/* Pre-pass checks (all unsupported attributes of a model are reported at
 * once, before lowering). */
static bool check_pad(ox_ctx *cx, const ox_node *n) {
  bool ok = true;
  const char *mode = ox_attr_string(cx, n, "mode", "constant", &ok);
  if (!ok) return false;
  if (!strcmp(mode, "wrap") && n->opset < 19)
    return ox_error(cx, n, "pad mode 'wrap' is defined from opset 19; the model declares %d", n->opset);
  if (strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "edge") && strcmp(mode, "wrap"))
    return ox_unsupported(cx, n, "pad mode '%s' is not supported (constant, reflect, edge and wrap are)", mode);
  return true;
}

/* DepthToSpace's mode (opset 11; DCR before): *crd for CRD. */
static bool depth_to_space_mode(ox_ctx *cx, const ox_node *n, bool *crd) {
  static const char *const modes[] = {"DCR", "CRD", NULL};
  int k = n->opset >= 11 ? ox_attr_choice(cx, n, "mode", "DCR", modes) : 0;
  *crd = k == 1;
  return k >= 0;
}

static bool check_depth_to_space(ox_ctx *cx, const ox_node *n) {
  bool crd;
  return depth_to_space_mode(cx, n, &crd);
}

/* DepthToSpace: [N, C, H, W] -> [N, C/b², H*b, W*b]. DCR (default) takes
 * the block offsets from the outer part of C, CRD from the inner part. */
static bool lower_depth_to_space(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  int64_t b = ox_attr_int(cx, n, "blocksize", 0, &ok);
  bool crd;
  if (!ok || !depth_to_space_mode(cx, n, &crd)) return false;
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  if (s->rank != 4) return ox_error(cx, n, "the input must have rank 4");
  if (!ox_refuse_symbolic(cx, n, n->in[0], 0, 3, "the input", "DepthToSpace is lowered with static sizes"))
    return false;
  int64_t bb, Hb, Wb;
  if (b <= 0 || !ox_dim_mul(cx, n, b, b, &bb) || !ox_dim_mul(cx, n, s->dims[2], b, &Hb) ||
      !ox_dim_mul(cx, n, s->dims[3], b, &Wb))
    return b <= 0 ? ox_error(cx, n, "blocksize %lld must be positive", (long long)b) : false;
  if (s->dims[1] % bb) return ox_error(cx, n, "blocksize %lld does not divide the %lld channels in b*b blocks", (long long)b, (long long)s->dims[1]);
  int64_t N = s->dims[0], C = s->dims[1] / bb, H = s->dims[2], W = s->dims[3];
  int64_t d6[6] = {N, b, b, C, H, W}, perm[6] = {0, 3, 4, 1, 5, 2};
  if (crd) {
    int64_t c6[6] = {N, C, b, b, H, W}, p6[6] = {0, 1, 4, 2, 5, 3};
    memcpy(d6, c6, sizeof d6);
    memcpy(perm, p6, sizeof perm);
  }
  ir_id t = ir_transpose(&cx->b, ox_reshape(cx, n->in[0], 6, d6), perm);
  int64_t out[4] = {N, C, Hb, Wb};
  return done(n, ox_reshape(cx, t, 4, out));
}

/* SpaceToDepth: [N, C, H, W] -> [N, C*b², H/b, W/b], block offsets outer. */
static bool lower_space_to_depth(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  int64_t b = ox_attr_int(cx, n, "blocksize", 0, &ok);
  if (!ok) return false;
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  if (s->rank != 4) return ox_error(cx, n, "the input must have rank 4");
  if (!ox_refuse_symbolic(cx, n, n->in[0], 0, 3, "the input", "SpaceToDepth is lowered with static sizes"))
    return false;
  if (b <= 0 || s->dims[2] % b || s->dims[3] % b) return ox_error(cx, n, "blocksize %lld does not divide the spatial dimensions", (long long)b);
  int64_t N = s->dims[0], C = s->dims[1], H = s->dims[2] / b, W = s->dims[3] / b, Cbb;
  if (!ox_dim_mul(cx, n, C, b, &Cbb) || !ox_dim_mul(cx, n, Cbb, b, &Cbb)) return false;
  int64_t d6[6] = {N, C, H, b, W, b}, perm[6] = {0, 3, 5, 1, 2, 4};
  ir_id t = ir_transpose(&cx->b, ox_reshape(cx, n->in[0], 6, d6), perm);
  int64_t out[4] = {N, Cbb, H, W};
  return done(n, ox_reshape(cx, t, 4, out));
}

const ox_op ox_ops_tensor[] = {
    {"Reshape", 5, lower_reshape, NULL, {2, 2}, {1, 1}, "allowzero:i@14-", 25},
    {"Shape", 1, lower_shape, NULL, {1, 1}, {1, 1}, "end:i@15- start:i@15-", 25},
    {"Size", 1, lower_size, NULL, {1, 1}, {1, 1}, NULL, 25},
    {"Flatten", 1, lower_flatten, NULL, {1, 1}, {1, 1}, "axis:i", 25},
    {"Squeeze", 1, lower_squeeze, NULL, {1, 2}, {1, 1}, "axes:I@-12", 25},
    {"Unsqueeze", 1, lower_unsqueeze, NULL, {1, 2}, {1, 1}, "axes:I@-12", 25},
    {"Transpose", 1, lower_transpose, NULL, {1, 1}, {1, 1}, "perm:I", 25},
    {"Concat", 1, lower_concat, NULL, {1, OX_MAX_IO}, {1, 1}, "axis:i", 0},
    {"Split", 1, lower_split, NULL, {1, 2}, {1, OX_MAX_IO}, "axis:i num_outputs:i@18- split:I@-12", 18},
    {"Slice", 1, lower_slice, NULL, {1, 5}, {1, 1}, "axes:I@-9 ends:I@-9 starts:I@-9", 0},
    {"Expand", 8, lower_expand, NULL, {2, 2}, {1, 1}, NULL, 0},
    {"Tile", 6, lower_tile, NULL, {2, 2}, {1, 1}, NULL, 0},
    /* Pad-21, 23, 24 and 25 only add element types (int4, float4, float8e8m0,
     * int2), which kiln refuses at the tensor level. */
    {"Pad", 1, lower_pad, check_pad, {1, 4}, {1, 1}, "mode:s paddings:I@-1 pads:I@2-10 value:f@-10", 25},
    {"DepthToSpace", 1, lower_depth_to_space, check_depth_to_space, {1, 1}, {1, 1}, "blocksize:i mode:s@11-", 0},
    {"SpaceToDepth", 1, lower_space_to_depth, NULL, {1, 1}, {1, 1}, "blocksize:i", 0},
    {0},
};
