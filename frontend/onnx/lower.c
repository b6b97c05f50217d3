/*
 * Helpers shared by the op lowerings: required inputs, compile-time
 * constants, scalars, NumPy broadcasting, axis normalisation.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/literal.h"

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
  const ir_shape s_v = ox_shape(cx, like), *s = &s_v;
  int64_t dims[IR_MAX_RANK];
  int r = s->rank;
  memcpy(dims, s->dims, sizeof dims);
  ir_id k = ox_scalar(cx, t, v);
  return r ? ir_broadcast(&cx->b, k, r, dims, NULL) : k;
}

ir_id ox_reshape(ox_ctx *cx, ir_id x, int rank, const int64_t *dims) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape s_v = ox_shape(cx, x), *s = &s_v;
  if (s->rank == rank && (rank == 0 || !memcmp(s->dims, dims, (size_t)rank * sizeof *dims))) return x;
  return ir_reshape(&cx->b, x, rank, dims);
}

ir_id ox_slice_axis(ox_ctx *cx, ir_id x, int axis, int64_t start, int64_t limit, int64_t stride) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape s = ox_shape(cx, x);
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
  const ir_shape s_v = ox_shape(cx, x), *s = &s_v;
  if (s->rank > rank) {
    ox_error(cx, n, "cannot broadcast rank %d to rank %d", s->rank, rank);
    return IR_NONE;
  }
  if (s->rank == rank && (rank == 0 || !memcmp(s->dims, dims, (size_t)rank * sizeof *dims))) return x;
  int off = rank - s->rank;
  int64_t kept[IR_MAX_RANK], map[IR_MAX_RANK];
  int k = 0;
  for (int i = 0; i < s->rank; i++) {
    int64_t want = dims[off + i];
    if (s->dims[i] == want) {
      kept[k] = want;
      map[k++] = off + i;
    } else if (s->dims[i] != 1) {
      char b1[160];
      ox_error(cx, n, "cannot broadcast %s: dimension %d is %lld, target is %lld", ir_shape_str(s, b1, sizeof b1), i,
               (long long)s->dims[i], (long long)want);
      return IR_NONE;
    }
  }
  ir_id r = ox_reshape(cx, x, k, kept);
  return ir_broadcast(&cx->b, r, rank, dims, map);
}

bool ox_broadcast_pair(ox_ctx *cx, const ox_node *n, ir_id *a, ir_id *b) {
  if (*a == IR_NONE || *b == IR_NONE) return false;
  const ir_shape sa_v = ox_shape(cx, *a), sb_v = ox_shape(cx, *b), *sa = &sa_v, *sb = &sb_v;
  int rank = sa->rank > sb->rank ? sa->rank : sb->rank;
  int64_t dims[IR_MAX_RANK];
  for (int i = 0; i < rank; i++) {
    int ia = i - (rank - sa->rank), ib = i - (rank - sb->rank);
    int64_t da = ia >= 0 ? sa->dims[ia] : 1, db = ib >= 0 ? sb->dims[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char b1[160], b2[160];
      return ox_error(cx, n, "shapes %s and %s do not broadcast (dimension %d: %lld vs %lld)",
                      ir_shape_str(sa, b1, sizeof b1), ir_shape_str(sb, b2, sizeof b2), i, (long long)da, (long long)db);
    }
    dims[i] = da == 1 ? db : da;
  }
  *a = ox_broadcast_to(cx, n, *a, rank, dims);
  *b = ox_broadcast_to(cx, n, *b, rank, dims);
  return *a != IR_NONE && *b != IR_NONE;
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
  int64_t kept[IR_MAX_RANK];
  int rank = s->rank;
  for (int i = 0; i < rank; i++) kept[i] = red[i] ? 1 : s->dims[i];
  ir_id r = ir_reduce(&cx->b, x, k, sorted, comb);
  return keepdims ? ox_reshape(cx, r, rank, kept) : r;
}

ir_id ox_unreduce(ox_ctx *cx, ir_id r, ir_id like, int n, const int64_t *dims) {
  if (r == IR_NONE || like == IR_NONE) return IR_NONE;
  const ir_shape s_v = ox_shape(cx, like), *s = &s_v;
  bool red[IR_MAX_RANK] = {false};
  for (int i = 0; i < n; i++) red[dims[i]] = true;
  int64_t keep[IR_MAX_RANK], map[IR_MAX_RANK], all[IR_MAX_RANK];
  int k = 0, rank = s->rank;
  for (int i = 0; i < rank; i++) {
    all[i] = s->dims[i];
    if (!red[i]) {
      keep[k] = s->dims[i];
      map[k++] = i;
    }
  }
  r = ox_reshape(cx, r, k, keep);
  return ir_broadcast(&cx->b, r, rank, all, map);
}

ir_id ox_broadcast_along(ox_ctx *cx, ir_id x, int rank, const int64_t *dims, int64_t dim) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape xs = ox_shape(cx, x);
  int64_t d1 = ir_shape_elements(&xs);
  x = ox_reshape(cx, x, 1, &d1);
  return ir_broadcast(&cx->b, x, rank, dims, &dim);
}

/* ---- elementwise and tensor-op helpers ---- */

bool ox_broadcast_all(ox_ctx *cx, const ox_node *n, ir_id *ids, int k) {
  int rank = 0;
  int64_t dims[IR_MAX_RANK];
  for (int j = 0; j < k; j++) {
    if (ids[j] == IR_NONE) return false;
    int r = ox_shape(cx, ids[j]).rank;
    if (r > rank) rank = r;
  }
  for (int i = 0; i < rank; i++) dims[i] = 1;
  for (int j = 0; j < k; j++) {
    const ir_shape s_v = ox_shape(cx, ids[j]), *s = &s_v;
    for (int i = 0; i < s->rank; i++) {
      int64_t *d = &dims[rank - s->rank + i], v = s->dims[i];
      if (v == *d || v == 1) continue;
      if (*d != 1) {
        char b1[160];
        return ox_error(cx, n, "input %d (%s) does not broadcast with the others: dimension %d is %lld, others have %lld",
                        j, ir_shape_str(s, b1, sizeof b1), i, (long long)v, (long long)*d);
      }
      *d = v;
    }
  }
  for (int j = 0; j < k; j++) {
    ids[j] = ox_broadcast_to(cx, n, ids[j], rank, dims);
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
