/*
 * Helpers shared by the op lowerings: required inputs, compile-time
 * constants, scalars, NumPy broadcasting, axis normalisation.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/literal.h"
#include "ir/symbolic.h"

bool ox_need_inputs(ox_ctx *cx, const ox_node *n, int count) {
  for (int i = 0; i < count; i++) {
    if (i >= n->nin || n->in[i] == IR_NONE)
      return ox_error(cx, n, "needs input %d, which is missing", i);
  }
  return true;
}

int ox_const_ints(ox_ctx *cx, const ox_node *n, ir_id v, int64_t *out, int max, const char *what) {
  const void *data = ox_const_data(cx, n, v, what);
  if (!data) return -1;
  const ir_shape s_v = ox_shape(cx, v), *s = &s_v;
  if (!ir_type_is_int(s->type)) {
    ox_error(cx, n, "%s must be an integer tensor, not %s", what, ir_type_name(s->type));
    return -1;
  }
  if (s->rank > 1) {
    ox_error(cx, n, "%s must be a scalar or a 1-D tensor", what);
    return -1;
  }
  int64_t count = ir_shape_elements(s);
  if (count > max) {
    ox_error(cx, n, "%s has %lld entries; at most %d are supported", what, (long long)count, max);
    return -1;
  }
  for (int64_t i = 0; i < count; i++) out[i] = ir_elem_get_i(s->type, data, i);
  return (int)count;
}

bool ox_const_scalar_f(ox_ctx *cx, const ox_node *n, ir_id v, double *out, const char *what) {
  const void *data = ox_const_data(cx, n, v, what);
  if (!data) return false;
  const ir_shape s_v = ox_shape(cx, v), *s = &s_v;
  if (ir_shape_elements(s) != 1) return ox_error(cx, n, "%s must hold exactly one value", what);
  *out = ir_elem_get_f(s->type, data, 0);
  return true;
}

/* Integer types get v converted as the IR's convert does (truncated toward
 * zero, saturated at the type's range, NaN to 0): a float attribute may
 * hold anything, and an out-of-range float-to-int conversion is undefined
 * in C. */
ir_id ox_scalar(ox_ctx *cx, ir_type t, double v) {
  if (t == IR_PRED) return ir_constant_i(&cx->b, t, v != 0);
  if (ir_type_is_int(t)) {
    int bits = ir_type_bits(t);
    double lo = ir_type_is_unsigned(t) ? 0 : -ldexp(1, bits - 1);
    double hi = ir_type_is_unsigned(t) ? ldexp(1, bits) - 1 : ldexp(1, bits - 1) - 1;
    if (v != v) return ir_constant_i(&cx->b, t, 0);
    if (v <= lo) v = lo;
    if (v >= hi) {
      if (t == IR_U64) return ir_constant_i(&cx->b, t, -1); /* all ones: UINT64_MAX */
      if (t == IR_I64) return ir_constant_i(&cx->b, t, INT64_MAX);
      v = hi;
    }
    return ir_constant_i(&cx->b, t, (int64_t)v);
  }
  return ir_constant_f(&cx->b, t, v);
}

ir_id ox_const_i64(ox_ctx *cx, int n, const int64_t *v) {
  int64_t d = n;
  return ir_constant(&cx->b, ir_shape_make(IR_I64, 1, &d), v);
}

ir_id ox_full_like(ox_ctx *cx, ir_id like, ir_type t, double v) {
  if (like == IR_NONE) return IR_NONE;
  const ir_shape s = ox_shape(cx, like);
  ir_id k = ox_scalar(cx, t, v);
  return s.rank ? ox_broadcast_shape(cx, k, &s, NULL) : k;
}

ir_id ox_reshape(ox_ctx *cx, ir_id x, int rank, const int64_t *dims) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape s_v = ox_shape(cx, x), *s = &s_v;
  /* Plain sizes describe a static shape: a symbolic x whose bounds happen
   * to equal them is not that shape (the builder's reshape check refuses
   * it by name; callers with symbolic shapes use ox_reshape_shape). */
  if (s->rank == rank && ir_shape_is_static(s) && (rank == 0 || !memcmp(s->dims, dims, (size_t)rank * sizeof *dims)))
    return x;
  return ir_reshape(&cx->b, x, rank, dims);
}

ir_id ox_slice_axis(ox_ctx *cx, ir_id x, int axis, int64_t start, int64_t limit, int64_t stride) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape s = ox_shape(cx, x);
  if (ox_is_symbolic(&s)) {
    /* The other dimensions stay whole, symbolic ones as their expressions. */
    ir_dexpr st[IR_MAX_RANK], li[IR_MAX_RANK];
    int64_t sd[IR_MAX_RANK];
    for (int i = 0; i < s.rank; i++) {
      st[i] = ir_dexpr_const(cx->m, i == axis ? start : 0);
      li[i] = i == axis ? ir_dexpr_const(cx->m, limit) : ir_shape_dim(cx->m, &s, i);
      sd[i] = i == axis ? stride : 1;
      if (!st[i] || !li[i]) return IR_NONE;
    }
    return ox_slice_sym(cx, x, st, li, sd);
  }
  int64_t st[IR_MAX_RANK], li[IR_MAX_RANK], sd[IR_MAX_RANK];
  for (int i = 0; i < s.rank; i++) {
    st[i] = 0;
    li[i] = s.dims[i];
    sd[i] = 1;
  }
  st[axis] = start;
  li[axis] = limit;
  sd[axis] = stride;
  return ir_slice(&cx->b, x, st, li, sd);
}

/* NumPy broadcasting: align trailing dimensions; a size-1 dimension
 * stretches. Done as reshape (dropping the size-1 dims that stretch) then
 * an explicit IR broadcast. */
ir_id ox_broadcast_to(ox_ctx *cx, const ox_node *n, ir_id x, int rank, const int64_t *dims) {
  if (x == IR_NONE) return IR_NONE;
  if (rank < 0 || rank > IR_MAX_RANK) {
    ox_error(cx, n, "cannot broadcast to rank %d", rank);
    return IR_NONE;
  }
  ir_shape t = ir_shape_make(IR_F32, rank, dims);
  return ox_broadcast_to_shape(cx, n, x, &t);
}

bool ox_broadcast_pair(ox_ctx *cx, const ox_node *n, ir_id *a, ir_id *b) {
  if (*a == IR_NONE || *b == IR_NONE) return false;
  ir_id v[2] = {*a, *b};
  if (!ox_broadcast_all(cx, n, v, 2)) return false;
  *a = v[0];
  *b = v[1];
  return true;
}

static bool same_type(ox_ctx *cx, const ox_node *n, ir_id a, ir_id b) {
  ir_type ta = ox_shape(cx, a).type, tb = ox_shape(cx, b).type;
  if (ta != tb) return ox_error(cx, n, "input types differ: %s and %s", ir_type_name(ta), ir_type_name(tb));
  return true;
}

ir_id ox_binary(ox_ctx *cx, const ox_node *n, ir_op op, ir_id a, ir_id b) {
  if (a == IR_NONE || b == IR_NONE || !same_type(cx, n, a, b) || !ox_broadcast_pair(cx, n, &a, &b)) return IR_NONE;
  return ir_binary(&cx->b, op, a, b);
}

ir_id ox_compare(ox_ctx *cx, const ox_node *n, ir_cmp dir, ir_id a, ir_id b) {
  if (a == IR_NONE || b == IR_NONE || !same_type(cx, n, a, b) || !ox_broadcast_pair(cx, n, &a, &b)) return IR_NONE;
  return ir_compare(&cx->b, dir, a, b);
}

bool ox_axis(ox_ctx *cx, const ox_node *n, int64_t axis, int rank, bool extra, int64_t *out) {
  int64_t r = rank + (extra ? 1 : 0);
  if (axis < -r || axis >= r)
    return ox_error(cx, n, "axis %lld is out of range for rank %d", (long long)axis, rank);
  *out = axis < 0 ? axis + r : axis;
  return true;
}

ir_id ox_reduce(ox_ctx *cx, ir_id x, int n, const int64_t *dims, ir_combiner comb, bool keepdims) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape s_v = ox_shape(cx, x), *s = &s_v;
  int64_t sorted[IR_MAX_RANK];
  bool red[IR_MAX_RANK] = {false};
  int k = 0;
  for (int i = 0; i < n; i++) red[dims[i]] = true;
  for (int i = 0; i < s->rank; i++)
    if (red[i]) sorted[k++] = i;
  ir_shape kept = *s; /* the kept dimensions keep their expressions */
  for (int i = 0; i < s->rank; i++)
    if (red[i]) kept.dims[i] = 1, kept.sym[i] = 0;
  ir_id r = ir_reduce(&cx->b, x, k, sorted, comb);
  return keepdims ? ox_reshape_shape(cx, r, &kept) : r;
}

ir_id ox_unreduce(ox_ctx *cx, ir_id r, ir_id like, int n, const int64_t *dims) {
  if (r == IR_NONE || like == IR_NONE) return IR_NONE;
  const ir_shape s_v = ox_shape(cx, like), *s = &s_v;
  bool red[IR_MAX_RANK] = {false};
  for (int i = 0; i < n; i++) red[dims[i]] = true;
  int64_t map[IR_MAX_RANK];
  ir_shape keep = *s;
  int k = 0, rank = s->rank;
  for (int i = 0; i < rank; i++) {
    if (!red[i]) {
      keep.dims[k] = s->dims[i];
      keep.sym[k] = s->sym[i];
      map[k++] = i;
    }
  }
  keep.rank = k;
  r = ox_reshape_shape(cx, r, &keep);
  return ox_broadcast_shape(cx, r, s, map);
}

ir_id ox_broadcast_along(ox_ctx *cx, ir_id x, int rank, const int64_t *dims, int64_t dim) {
  if (x == IR_NONE) return IR_NONE;
  ir_shape t = ir_shape_make(IR_F32, rank, dims);
  return ox_broadcast_along_shape(cx, x, &t, dim);
}

/* ---- elementwise and tensor-op helpers ---- */

/* The common shape is built dimension by dimension with NumPy's rule, a
 * symbolic dimension taking part as its expression: equal expressions
 * agree, a static 1 stretches to anything. Any other pair (a symbol
 * against a static size other than 1, two different expressions) would
 * broadcast for some bindings only (a batch of 1 against 5) and fail for
 * the others, which needs a run-time check kiln does not generate:
 * refused, naming the dimension. */
bool ox_broadcast_all(ox_ctx *cx, const ox_node *n, ir_id *ids, int k) {
  int rank = 0;
  for (int j = 0; j < k; j++) {
    if (ids[j] == IR_NONE) return false;
    int r = ox_shape(cx, ids[j]).rank;
    if (r > rank) rank = r;
  }
  ir_shape t = ir_shape_make(IR_F32, 0, NULL);
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = 1, t.sym[i] = 0;
  int from[IR_MAX_RANK] = {0}; /* the input that set dimension i of t */
  for (int j = 0; j < k; j++) {
    const ir_shape s_v = ox_shape(cx, ids[j]), *s = &s_v;
    for (int i = 0; i < s->rank; i++) {
      int ti = rank - s->rank + i;
      int64_t v = s->dims[i], *d = &t.dims[ti];
      uint32_t vs = s->sym[i], *ds = &t.sym[ti];
      if ((v == *d && vs == *ds) || (v == 1 && !vs)) continue;
      if (*d != 1 || *ds) {
        char b1[160], b2[160], e1[96], e2[96];
        const ir_shape other = ox_shape(cx, ids[from[ti]]);
        ir_shape_str_m(cx->m, &other, b1, sizeof b1);
        ir_shape_str_m(cx->m, s, b2, sizeof b2);
        ox_dim_str(cx, &t, ti, e1, sizeof e1);
        ox_dim_str(cx, s, i, e2, sizeof e2);
        if (!vs && !*ds)
          return ox_error(cx, n, "shapes %s and %s do not broadcast (dimension %d: %s vs %s)", b1, b2, ti, e1, e2);
        return ox_unsupported(cx, n,
                              "shapes %s and %s: dimension %d is %s vs %s, which broadcast only for some values of "
                              "the symbolic dimension (that needs a run-time check kiln does not generate); fix it "
                              "with --input-shape",
                              b1, b2, ti, e1, e2);
      }
      *d = v;
      *ds = vs;
      from[ti] = j;
    }
  }
  for (int j = 0; j < k; j++) {
    ids[j] = ox_broadcast_to_shape(cx, n, ids[j], &t);
    if (ids[j] == IR_NONE) return false;
  }
  return true;
}

bool ox_legacy_broadcast(ox_ctx *cx, const ox_node *n, ir_id a, ir_id *b) {
  if (n->opset >= 7 || a == IR_NONE || *b == IR_NONE) return true;
  bool ok = true;
  int64_t bc = ox_attr_int(cx, n, "broadcast", 0, &ok);
  if (!ok) return false;
  if (!bc) return true;
  const ir_shape sa_v = ox_shape(cx, a), sb_v = ox_shape(cx, *b), *sa = &sa_v, *sb = &sb_v;
  int64_t axis = sa->rank - sb->rank;
  if (ox_attr(n, "axis")) {
    axis = ox_attr_int(cx, n, "axis", 0, &ok);
    if (!ok || !ox_axis(cx, n, axis, sa->rank, false, &axis)) return false;
  }
  /* A single-element b broadcasts whatever its rank. */
  if (ir_shape_elements(sb) == 1) return true;
  if (axis < 0 || axis + sb->rank > sa->rank) {
    char b1[160], b2[160];
    return ox_error(cx, n, "legacy broadcast: %s does not fit into %s at axis %lld", ir_shape_str(sb, b1, sizeof b1),
                    ir_shape_str(sa, b2, sizeof b2), (long long)axis);
  }
  int64_t dims[IR_MAX_RANK];
  for (int i = 0; i < sa->rank; i++) dims[i] = 1;
  for (int i = 0; i < sb->rank; i++) dims[axis + i] = sb->dims[i];
  *b = ox_reshape(cx, *b, sa->rank, dims);
  return *b != IR_NONE;
}

bool ox_need_float(ox_ctx *cx, const ox_node *n, ir_id v, const char *what) {
  if (v == IR_NONE) return false;
  ir_type t = ox_shape(cx, v).type;
  if (ir_type_is_float(t)) return true;
  return ox_unsupported(cx, n, "%s has type %s; this op takes floating-point types only", what, ir_type_name(t));
}

bool ox_need_8bit(ox_ctx *cx, const ox_node *n, ir_id v, const char *what) {
  ir_type t = ox_shape(cx, v).type;
  if (t != IR_U8 && t != IR_I8) return ox_error(cx, n, "input %s has type %s; u8 or i8 is needed", what, ir_type_name(t));
  return true;
}

ir_id ox_quant_param(ox_ctx *cx, const ox_node *n, ir_id v, ir_type t, int rank, const int64_t *dims, int axis,
                     const char *what) {
  if (v == IR_NONE) return IR_NONE;
  ir_shape s = ox_shape(cx, v);
  int64_t count = ir_shape_elements(&s);
  bool per_axis = axis >= 0 && s.rank == 1 && count == dims[axis] && count != 1;
  if (s.rank > 1 || (count != 1 && !per_axis)) {
    char buf[160];
    if (axis >= 0)
      ox_error(cx, n, "%s is %s; a scalar or %lld values (one per index of dimension %d) are needed", what,
               ir_shape_str(&s, buf, sizeof buf), (long long)dims[axis], axis);
    else
      ox_error(cx, n, "%s is %s; a scalar is needed", what, ir_shape_str(&s, buf, sizeof buf));
    return IR_NONE;
  }
  if (s.type != t) v = ir_convert(&cx->b, v, t);
  if (per_axis) return ox_broadcast_along(cx, v, rank, dims, axis);
  return ir_broadcast(&cx->b, ox_reshape(cx, v, 0, NULL), rank, dims, NULL);
}

ir_id ox_minus_zero_point(ox_ctx *cx, const ox_node *n, ir_id v, int zi, int axis, const char *what) {
  ir_shape s = ox_shape(cx, v);
  ir_id r = ir_convert(&cx->b, v, IR_I32);
  if (n->nin <= zi || n->in[zi] == IR_NONE) return r;
  ir_id zp = ox_quant_param(cx, n, n->in[zi], IR_I32, s.rank, s.dims, axis, what);
  return zp == IR_NONE ? IR_NONE : ir_binary(&cx->b, IR_OP_SUB, r, zp);
}

ir_id ox_qlinear_output(ox_ctx *cx, const ox_node *n, ir_id acc, int a_axis, int b_axis, const char *a, const char *b) {
  if (acc == IR_NONE) return IR_NONE;
  ir_shape ys = ox_shape(cx, acc);
  char what_a[64], what_b[64];
  snprintf(what_a, sizeof what_a, "input %s_scale", a);
  snprintf(what_b, sizeof what_b, "input %s_scale", b);
  ir_id as = ox_quant_param(cx, n, n->in[1], IR_F32, ys.rank, ys.dims, a_axis, what_a);
  ir_id bs = ox_quant_param(cx, n, n->in[4], IR_F32, ys.rank, ys.dims, b_axis, what_b);
  ir_id ysc = ox_quant_param(cx, n, n->in[6], IR_F32, ys.rank, ys.dims, -1, "input y_scale");
  ir_id yzp = ox_quant_param(cx, n, n->in[7], IR_I32, ys.rank, ys.dims, -1, "input y_zero_point");
  if (as == IR_NONE || bs == IR_NONE || ysc == IR_NONE || yzp == IR_NONE) return IR_NONE;
  ir_id scale = ir_binary(&cx->b, IR_OP_DIV, ir_binary(&cx->b, IR_OP_MUL, as, bs), ysc);
  return ox_requantize(cx, acc, scale, yzp, ox_shape(cx, n->in[7]).type);
}

ir_id ox_requantize(ox_ctx *cx, ir_id acc, ir_id scale, ir_id zero_point, ir_type out) {
  if (acc == IR_NONE || scale == IR_NONE) return IR_NONE;
  ir_id y = ir_unary(&cx->b, IR_OP_ROUND, ir_binary(&cx->b, IR_OP_MUL, ir_convert(&cx->b, acc, IR_F32), scale));
  y = ir_convert(&cx->b, y, IR_I32);
  if (zero_point != IR_NONE) y = ir_binary(&cx->b, IR_OP_ADD, y, zero_point);
  int bits = ir_type_bits(out);
  int64_t lo = ir_type_is_unsigned(out) ? 0 : -((int64_t)1 << (bits - 1));
  int64_t hi = ir_type_is_unsigned(out) ? ((int64_t)1 << bits) - 1 : ((int64_t)1 << (bits - 1)) - 1;
  y = ir_clamp(&cx->b, ir_constant_i(&cx->b, IR_I32, lo), y, ir_constant_i(&cx->b, IR_I32, hi));
  return ir_convert(&cx->b, y, out);
}

bool ox_dim_mul(ox_ctx *cx, const ox_node *n, int64_t a, int64_t b, int64_t *out) {
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, out))
    return ox_error(cx, n, "a result dimension overflows (%lld x %lld)", (long long)a, (long long)b);
  return true;
}

bool ox_check_size(ox_ctx *cx, const ox_node *n, ir_type t, int rank, const int64_t *dims) {
  ir_shape s = ir_shape_make(t, rank, dims);
  int64_t bytes = ir_shape_bytes(&s), prod = 1;
  bool overflow = bytes < 0 || bytes > ((int64_t)1 << 40);
  /* With a zero dimension the size is 0, but the other dimensions must
   * still multiply without overflow for later reshapes to be sound. */
  for (int i = 0; i < rank && !overflow; i++) overflow = dims[i] < 0 || (dims[i] && __builtin_mul_overflow(prod, dims[i], &prod));
  if (!overflow) return true;
  char b[200];
  return ox_error(cx, n, "the result %s would be too large (kiln accepts tensors up to 1 TiB)", ir_shape_str(&s, b, sizeof b));
}

ir_id ox_convert(ox_ctx *cx, ir_id x, ir_type t) {
  return x == IR_NONE || ox_shape(cx, x).type == t ? x : ir_convert(&cx->b, x, t);
}

/* ---- symbolic shapes (H4) ----
 *
 * The builder's broadcast and reshape take plain sizes, which would make a
 * symbolic dimension static at its bound (a wrong answer at every other
 * binding); these build the same instructions with the whole target shape,
 * expressions included, for ir_infer_shape to check. */

/* broadcast or reshape of x to s's dimensions. */
static ir_id build_shaped(ox_ctx *cx, ir_op op, ir_id x, const ir_shape *s, const int64_t *map) {
  if (x == IR_NONE) return IR_NONE;
  ir_inst p;
  memset(&p, 0, sizeof p);
  p.op = op;
  p.nops = 1;
  p.ops = &x;
  p.shape = *s;
  p.shape.type = IR_F32; /* the rules take the operand's type */
  if (op == IR_OP_BROADCAST) {
    int r = ox_shape(cx, x).rank;
    p.ndims = (uint32_t)r;
    for (int i = 0; i < r; i++) p.dims[i] = map[i];
  }
  return ir_build(&cx->b, &p);
}

ir_id ox_broadcast_shape(ox_ctx *cx, ir_id x, const ir_shape *s, const int64_t *map) {
  return build_shaped(cx, IR_OP_BROADCAST, x, s, map);
}

ir_id ox_reshape_shape(ox_ctx *cx, ir_id x, const ir_shape *s) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape xs = ox_shape(cx, x);
  if (xs.rank == s->rank && ir_shape_same_dims(&xs, s)) return x;
  return build_shaped(cx, IR_OP_RESHAPE, x, s, NULL);
}

ir_id ox_broadcast_to_shape(ox_ctx *cx, const ox_node *n, ir_id x, const ir_shape *t) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape s_v = ox_shape(cx, x), *s = &s_v;
  if (s->rank > t->rank) {
    ox_error(cx, n, "cannot broadcast rank %d to rank %d", s->rank, t->rank);
    return IR_NONE;
  }
  if (s->rank == t->rank && ir_shape_same_dims(s, t)) return x;
  int off = t->rank - s->rank;
  int64_t map[IR_MAX_RANK];
  ir_shape kept = *s;
  int k = 0;
  for (int i = 0; i < s->rank; i++) {
    if (s->dims[i] == t->dims[off + i] && s->sym[i] == t->sym[off + i]) {
      kept.dims[k] = s->dims[i];
      kept.sym[k] = s->sym[i];
      map[k++] = off + i;
    } else if (s->dims[i] != 1 || s->sym[i]) {
      char b1[160], e1[96], e2[96];
      ox_dim_str(cx, s, i, e1, sizeof e1);
      ox_dim_str(cx, t, off + i, e2, sizeof e2);
      ir_shape_str_m(cx->m, s, b1, sizeof b1);
      if (s->sym[i] || t->sym[off + i])
        ox_unsupported(cx, n, "cannot broadcast %s: dimension %d is %s, target is %s (symbolic dimensions broadcast only "
                       "to themselves; fix the dimension with --input-shape)", b1, i, e1, e2);
      else
        ox_error(cx, n, "cannot broadcast %s: dimension %d is %s, target is %s", b1, i, e1, e2);
      return IR_NONE;
    }
  }
  kept.rank = k;
  return ox_broadcast_shape(cx, ox_reshape_shape(cx, x, &kept), t, map);
}

ir_id ox_broadcast_along_shape(ox_ctx *cx, ir_id x, const ir_shape *t, int64_t dim) {
  if (x == IR_NONE) return IR_NONE;
  ir_shape xs = ox_shape(cx, x);
  if (xs.rank != 1) {
    int64_t d1 = ir_shape_elements(&xs);
    x = ox_reshape(cx, x, 1, &d1);
  }
  return ox_broadcast_shape(cx, x, t, &dim);
}

ir_id ox_get_dim(ox_ctx *cx, ir_id x, int dim, ir_type t) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape s = ox_shape(cx, x);
  if (!s.sym[dim]) return ox_scalar(cx, t, (double)s.dims[dim]);
  ir_inst p;
  memset(&p, 0, sizeof p);
  p.op = IR_OP_GET_DIMENSION_SIZE;
  p.nops = 1;
  p.ops = &x;
  p.index = dim;
  return ox_convert(cx, ir_build(&cx->b, &p), t);
}

ir_id ox_count_dims(ox_ctx *cx, ir_id x, int n, const int64_t *dims, ir_type t) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape s = ox_shape(cx, x);
  double fixed = 1;
  ir_id r = IR_NONE;
  for (int i = 0; i < n; i++) {
    if (!s.sym[dims[i]]) {
      fixed *= (double)s.dims[dims[i]];
      continue;
    }
    ir_id d = ox_get_dim(cx, x, (int)dims[i], t);
    r = r == IR_NONE ? d : ir_binary(&cx->b, IR_OP_MUL, r, d);
  }
  if (r == IR_NONE) return ox_scalar(cx, t, fixed);
  return fixed == 1 ? r : ir_binary(&cx->b, IR_OP_MUL, r, ox_scalar(cx, t, fixed));
}

bool ox_is_symbolic(const ir_shape *s) {
  for (int i = 0; i < s->rank; i++)
    if (s->sym[i]) return true;
  return false;
}

char *ox_dim_str(ox_ctx *cx, const ir_shape *s, int i, char *buf, size_t n) {
  if (s->sym[i]) return ir_dexpr_str(cx->m, s->sym[i], buf, n);
  snprintf(buf, n, "%lld", (long long)s->dims[i]);
  return buf;
}

bool ox_refuse_symbolic(ox_ctx *cx, const ox_node *n, ir_id v, int first, int last, const char *what,
                        const char *why) {
  const ir_shape s = ox_shape(cx, v);
  for (int i = first; i <= last && i < s.rank; i++) {
    if (!s.sym[i]) continue;
    char b[160], e[96];
    return ox_unsupported(cx, n, "%s is %s: dimension %d (%s) is symbolic, and %s; fix it with --input-shape", what,
                          ir_shape_str_m(cx->m, &s, b, sizeof b), i, ox_dim_str(cx, &s, i, e, sizeof e), why);
  }
  return true;
}
