/*
 * Helpers shared by the op lowerings: required inputs, compile-time
 * constants, scalars, NumPy broadcasting, axis normalisation.
 */
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
  const ir_shape *s = ox_shape(cx, v);
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
  const ir_shape *s = ox_shape(cx, v);
  if (ir_shape_elements(s) != 1) return ox_error(cx, n, "%s must hold exactly one value", what);
  *out = ir_elem_get_f(s->type, data, 0);
  return true;
}

ir_id ox_scalar(ox_ctx *cx, ir_type t, double v) { return ir_constant_f(&cx->b, t, v); }

ir_id ox_const_i64(ox_ctx *cx, int n, const int64_t *v) {
  int64_t d = n;
  return ir_constant(&cx->b, ir_shape_make(IR_I64, 1, &d), v);
}

ir_id ox_full_like(ox_ctx *cx, ir_id like, ir_type t, double v) {
  if (like == IR_NONE) return IR_NONE;
  const ir_shape *s = ox_shape(cx, like);
  int64_t dims[IR_MAX_RANK];
  int r = s->rank;
  memcpy(dims, s->dims, sizeof dims);
  ir_id k = ox_scalar(cx, t, v);
  return r ? ir_broadcast(&cx->b, k, r, dims, NULL) : k;
}

ir_id ox_reshape(ox_ctx *cx, ir_id x, int rank, const int64_t *dims) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape *s = ox_shape(cx, x);
  if (s->rank == rank && !memcmp(s->dims, dims, (size_t)rank * sizeof *dims)) return x;
  return ir_reshape(&cx->b, x, rank, dims);
}

/* NumPy broadcasting: align trailing dimensions; a size-1 dimension
 * stretches. Done as reshape (dropping the size-1 dims that stretch) then
 * an explicit IR broadcast. */
ir_id ox_broadcast_to(ox_ctx *cx, const ox_node *n, ir_id x, int rank, const int64_t *dims) {
  if (x == IR_NONE) return IR_NONE;
  const ir_shape *s = ox_shape(cx, x);
  if (s->rank > rank) {
    ox_error(cx, n, "cannot broadcast rank %d to rank %d", s->rank, rank);
    return IR_NONE;
  }
  if (s->rank == rank && !memcmp(s->dims, dims, (size_t)rank * sizeof *dims)) return x;
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
  const ir_shape *sa = ox_shape(cx, *a), *sb = ox_shape(cx, *b);
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
  ir_type ta = ox_shape(cx, a)->type, tb = ox_shape(cx, b)->type;
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
