/*
 * Indexing and generator ONNX ops: Gather, GatherElements, GatherND,
 * ScatterElements (and its old name Scatter), ScatterND, Compress,
 * ReverseSequence, NonZero, OneHot, Trilu, EyeLike, Range, ConstantOfShape,
 * TensorScatter (24).
 *
 * Gathers and scatters become the IR's XLA-style gather/scatter with full
 * index vectors. Negative indices wrap once (i + dim) as ONNX says; indices
 * still out of range are not an error the importer can see (they are data):
 * the IR clamps gather windows into bounds and skips scatter updates that
 * fall outside, so nothing is ever read or written out of bounds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/literal.h"
#include "kiln/kiln.h"

static bool done(ox_node *n, ir_id r) {
  n->out[0] = r;
  return r != IR_NONE;
}

/* Refuses (naming the input and its symbolic dimension) a node whose
 * inputs have symbolic dimensions, for the lowerings below that build
 * iotas, masks and index vectors from static sizes. */
static bool static_inputs(ox_ctx *cx, const ox_node *n) {
  for (int i = 0; i < n->nin; i++) {
    if (n->in[i] == IR_NONE || ox_is_box(n->in[i])) continue;
    char what[32];
    snprintf(what, sizeof what, "input %d", i);
    if (!ox_refuse_symbolic(cx, n, n->in[i], 0, IR_MAX_RANK - 1, what,
                            "this op is lowered with static sizes only (symbolic shapes, issue 15)"))
      return false;
  }
  return true;
}

static bool need_int_indices(ox_ctx *cx, const ox_node *n, ir_id idx) {
  ir_type t = ox_shape(cx, idx).type;
  if (!ir_type_is_int(t)) return ox_error(cx, n, "indices must be int32 or int64, not %s", ir_type_name(t));
  return true;
}

/* idx (converted to i64) + dim where negative. `dims` is either one size
 * (n == 1: every index counts along it) or, for index vectors along the
 * last dimension, one size per vector component. */
static ir_id wrap_negative(ox_ctx *cx, ir_id idx, int n, const int64_t *dims) {
  idx = ir_convert(&cx->b, idx, IR_I64);
  if (idx == IR_NONE) return IR_NONE;
  ir_shape s_v = ox_shape(cx, idx);
  const ir_shape *s = &s_v;
  int rank = s->rank;
  int64_t sd[IR_MAX_RANK];
  memcpy(sd, s->dims, sizeof sd);
  ir_id d;
  if (n == 1) {
    d = ox_full_like(cx, idx, IR_I64, (double)dims[0]); /* exact: dims < 2^53 */
  } else {
    d = ox_broadcast_along(cx, ox_const_i64(cx, n, dims), rank, sd, rank - 1);
  }
  ir_id neg = ir_compare(&cx->b, IR_CMP_LT, idx, ox_full_like(cx, idx, IR_I64, 0));
  return ir_select(&cx->b, neg, ir_binary(&cx->b, IR_OP_ADD, idx, d), idx);
}

/* Index vectors for the Elements ops: [idx dims..., r] where component a is
 * the (wrapped) index for a == axis and the position along a otherwise. */
static ir_id element_indices(ox_ctx *cx, const ox_node *n, ir_id idx, int64_t axis, int64_t axis_dim) {
  ir_shape s_v = ox_shape(cx, idx);
  const ir_shape *s = &s_v;
  int r = s->rank;
  if (r + 1 > IR_MAX_RANK) {
    ox_unsupported(cx, n, "rank %d is too large for this op (kiln's maximum here is %d)", r, IR_MAX_RANK - 1);
    return IR_NONE;
  }
  int64_t dims[IR_MAX_RANK], one[IR_MAX_RANK];
  memcpy(dims, s->dims, sizeof dims);
  memcpy(one, s->dims, sizeof one);
  one[r] = 1;
  ir_id w = wrap_negative(cx, idx, 1, &axis_dim);
  ir_id comp[IR_MAX_RANK];
  for (int a = 0; a < r; a++) {
    ir_id c = a == axis ? w : ir_iota(&cx->b, ir_shape_make(IR_I64, r, dims), a);
    comp[a] = ox_reshape(cx, c, r + 1, one);
  }
  return r == 1 ? comp[0] : ir_concatenate(&cx->b, r, comp, r);
}

/* The elements of rank-r x at the full index vectors `full` (from
 * element_indices): one element per index vector. */
ir_id ox_gather_elements(ox_ctx *cx, ir_id x, ir_id full, int r) {
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = r;
  g.nstart_map = g.ncollapsed = r;
  for (int i = 0; i < r; i++) {
    g.start_index_map[i] = g.collapsed_slice_dims[i] = i;
    g.slice_sizes[i] = 1;
  }
  return ir_gather(&cx->b, x, full, &g);
}

/* The first `count` inputs of Gather, GatherElements and ScatterElements
 * (data, integer indices[, updates]) and their 'axis' attribute (default
 * 0), normalised against the data's rank; *sx and *si are the shapes of
 * data and indices. */
static bool axis_inputs(ox_ctx *cx, const ox_node *n, int count, int64_t *axis, ir_shape *sx, ir_shape *si) {
  if (!ox_need_inputs(cx, n, count) || !need_int_indices(cx, n, n->in[1])) return false;
  bool ok = true;
  *axis = ox_attr_int(cx, n, "axis", 0, &ok);
  *sx = ox_shape(cx, n->in[0]);
  *si = ox_shape(cx, n->in[1]);
  return ok && ox_axis(cx, n, *axis, sx->rank, false, axis);
}

/* Gather: out = x[..., idx[j...], ...] along axis; out dims are
 * x.dims[:axis] + idx.dims + x.dims[axis+1:]. */
static bool lower_gather(ox_ctx *cx, ox_node *n) {
  int64_t axis;
  ir_shape sx_v, si_v;
  if (!axis_inputs(cx, n, 2, &axis, &sx_v, &si_v)) return false;
  const ir_shape *sx = &sx_v, *si = &si_v;
  int r = sx->rank, q = si->rank;
  if (r - 1 + q > IR_MAX_RANK) return ox_unsupported(cx, n, "the result would have rank %d; kiln's maximum is %d", r - 1 + q, IR_MAX_RANK);
  int64_t out[IR_MAX_RANK];
  for (int i = 0; i < r - 1 + q; i++) out[i] = i < axis ? sx->dims[i] : i < axis + q ? si->dims[i - axis] : sx->dims[i - q + 1];
  if (!ox_check_size(cx, n, sx->type, r - 1 + q, out)) return false;
  ir_id idx;
  if (sx->sym[axis]) {
    /* A negative index counts from the axis' run-time size. */
    idx = ir_convert(&cx->b, n->in[1], IR_I64);
    ir_shape is = ox_shape(cx, idx);
    ir_id d = ox_get_dim(cx, n->in[0], (int)axis, IR_I64);
    if (is.rank) d = ox_broadcast_shape(cx, d, &is, NULL);
    ir_id neg = ir_compare(&cx->b, IR_CMP_LT, idx, ox_full_like(cx, idx, IR_I64, 0));
    idx = ir_select(&cx->b, neg, ir_binary(&cx->b, IR_OP_ADD, idx, d), idx);
  } else {
    idx = wrap_negative(cx, n->in[1], 1, &sx->dims[axis]);
  }
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = q;
  g.nstart_map = 1;
  g.start_index_map[0] = axis;
  g.ncollapsed = 1;
  g.collapsed_slice_dims[0] = axis;
  for (int i = 0; i < r; i++) {
    g.slice_sizes[i] = i == axis ? 1 : sx->dims[i];
    g.slice_sizes_sym[i] = i == axis ? 0 : sx->sym[i]; /* the whole of a symbolic dimension */
  }
  for (int i = 0; i < r; i++)
    if (i != axis) g.offset_dims[g.noffset++] = i < axis ? i : i - 1 + q;
  return done(n, ir_gather(&cx->b, n->in[0], idx, &g));
}

/* GatherElements: out[i, j, k] = x[i, idx[i, j, k], k] (axis 1); out dims
 * are the indices' dims. */
static bool lower_gather_elements(ox_ctx *cx, ox_node *n) {
  int64_t axis;
  ir_shape sx_v, si_v;
  if (!axis_inputs(cx, n, 2, &axis, &sx_v, &si_v)) return false;
  const ir_shape *sx = &sx_v, *si = &si_v;
  int r = sx->rank;
  if (!ox_refuse_symbolic(cx, n, n->in[0], 0, IR_MAX_RANK - 1, "the data", "GatherElements is lowered with static sizes") ||
      !ox_refuse_symbolic(cx, n, n->in[1], 0, IR_MAX_RANK - 1, "the indices", "GatherElements is lowered with static sizes"))
    return false;
  if (si->rank != r) return ox_error(cx, n, "indices have rank %d, data rank %d; they must agree", si->rank, r);
  for (int i = 0; i < r; i++)
    if (i != axis && si->dims[i] > sx->dims[i])
      return ox_error(cx, n, "indices dimension %d (%lld) exceeds the data's (%lld)", i, (long long)si->dims[i], (long long)sx->dims[i]);
  ir_id full = element_indices(cx, n, n->in[1], axis, sx->dims[axis]);
  return done(n, ox_gather_elements(cx, n->in[0], full, r));
}

/* TensorScatter (24), the KV-cache update: present = past with, for each
 * batch entry b, update's sequence_length entries along `axis` written at
 * write_indices[b] on (modulo max_sequence_length in mode 'circular').
 * Built as a gather rather than a scatter: each cache position p along
 * the axis reads update entry j = p - write_indices[b] (circular: mod L)
 * when 0 <= j < sequence_length and keeps the past value otherwise, so the
 * write indices may be run-time values. In mode 'linear' the spec requires
 * write_indices[b] + sequence_length <= L; entries a bad index would put
 * outside [0, L) are dropped (never written out of bounds). */
static bool lower_tensor_scatter(ox_ctx *cx, ox_node *n) {
  if (!static_inputs(cx, n)) return false;
  static const char *const modes[] = {"linear", "circular", NULL};
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", -2, &ok);
  int mode = ox_attr_choice(cx, n, "mode", "linear", modes);
  if (!ok || mode < 0 || !ox_need_inputs(cx, n, 2)) return false;
  ir_shape sc = ox_shape(cx, n->in[0]), su = ox_shape(cx, n->in[1]);
  int r = sc.rank;
  if (r < 2) return ox_error(cx, n, "past_cache has rank %d; it needs a batch and a sequence dimension", r);
  if (!ox_axis(cx, n, axis, r, false, &axis)) return false;
  if (axis == 0) return ox_error(cx, n, "axis is the batch dimension (0); the sequence axis must be another one");
  if (su.type != sc.type)
    return ox_error(cx, n, "update has type %s; past_cache has %s", ir_type_name(su.type), ir_type_name(sc.type));
  if (su.rank != r) return ox_error(cx, n, "update has rank %d; past_cache has %d", su.rank, r);
  for (int d = 0; d < r; d++)
    if (d != axis && su.dims[d] != sc.dims[d])
      return ox_error(cx, n, "update dimension %d is %lld; past_cache's is %lld (only the sequence axis %lld may differ)", d,
                      (long long)su.dims[d], (long long)sc.dims[d], (long long)axis);
  int64_t max_len = sc.dims[axis], len = su.dims[axis];
  if (len > max_len)
    return ox_error(cx, n, "update's sequence_length %lld exceeds past_cache's max_sequence_length %lld", (long long)len,
                    (long long)max_len);
  ir_id w = IR_NONE;
  if (n->in[2] != IR_NONE) {
    ir_shape sw = ox_shape(cx, n->in[2]);
    if (!ir_type_is_int(sw.type) || sw.type == IR_PRED)
      return ox_error(cx, n, "write_indices has type %s; it must be int64", ir_type_name(sw.type));
    if (sw.rank != 1 || sw.dims[0] != sc.dims[0])
      return ox_error(cx, n, "write_indices must have shape [%lld] (one index per batch entry)", (long long)sc.dims[0]);
    w = ox_broadcast_along(cx, ir_convert(&cx->b, n->in[2], IR_I64), r, sc.dims, 0);
  }
  if (len == 0) return done(n, n->in[0]); /* nothing to write */
  ir_id j = ir_iota(&cx->b, ir_shape_make(IR_I64, r, sc.dims), axis);
  if (w != IR_NONE) j = ir_binary(&cx->b, IR_OP_SUB, j, w);
  if (mode == 1) {
    /* rem truncates toward zero: (j rem L + L) rem L is j mod L. */
    ir_id l = ox_full_like(cx, j, IR_I64, (double)max_len);
    j = ir_binary(&cx->b, IR_OP_REM, ir_binary(&cx->b, IR_OP_ADD, ir_binary(&cx->b, IR_OP_REM, j, l), l), l);
  }
  ir_id in_update = ir_binary(&cx->b, IR_OP_AND, ir_compare(&cx->b, IR_CMP_GE, j, ox_full_like(cx, j, IR_I64, 0)),
                              ir_compare(&cx->b, IR_CMP_LT, j, ox_full_like(cx, j, IR_I64, (double)len)));
  j = ir_clamp(&cx->b, ox_full_like(cx, j, IR_I64, 0), j, ox_full_like(cx, j, IR_I64, (double)(len - 1)));
  ir_id full = element_indices(cx, n, j, axis, len);
  if (full == IR_NONE) return false;
  ir_id written = ox_gather_elements(cx, n->in[1], full, r);
  return done(n, ir_select(&cx->b, in_update, written, n->in[0]));
}

/* Index vectors of GatherND/ScatterND: the last dimension of idx (k
 * entries, which the callers have checked against the data's rank)
 * indexes data dimensions b..b+k-1; batch_dims b prepends the positions
 * along the b leading (batch) dimensions. */
static ir_id nd_indices(ox_ctx *cx, ir_id idx, const ir_shape *sx, int64_t b) {
  ir_shape si_v = ox_shape(cx, idx);
  const ir_shape *si = &si_v;
  int q = si->rank;
  int64_t k = si->dims[q - 1];
  ir_id w = k ? wrap_negative(cx, idx, (int)k, sx->dims + b) : ir_convert(&cx->b, idx, IR_I64);
  if (!b) return w;
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, si->dims, sizeof dims);
  dims[q - 1] = 1;
  ir_id parts[IR_MAX_RANK + 1];
  for (int a = 0; a < b; a++) parts[a] = ir_iota(&cx->b, ir_shape_make(IR_I64, q, dims), a);
  parts[b] = w;
  return ir_concatenate(&cx->b, (int)b + 1, parts, q - 1);
}

static bool lower_gather_nd(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2) || !need_int_indices(cx, n, n->in[1])) return false;
  bool ok = true;
  int64_t b = n->opset >= 12 ? ox_attr_int(cx, n, "batch_dims", 0, &ok) : 0;
  ir_shape sx_v = ox_shape(cx, n->in[0]), si_v = ox_shape(cx, n->in[1]);
  const ir_shape *sx = &sx_v, *si = &si_v;
  if (!ok) return false;
  if (!ox_refuse_symbolic(cx, n, n->in[0], 0, IR_MAX_RANK - 1, "the data", "GatherND is lowered with static sizes") ||
      !ox_refuse_symbolic(cx, n, n->in[1], 0, IR_MAX_RANK - 1, "the indices", "GatherND is lowered with static sizes"))
    return false;
  int r = sx->rank, q = si->rank;
  if (q < 1 || r < 1) return ox_error(cx, n, "data and indices must have rank >= 1");
  if (b < 0 || b >= q || b >= r) return ox_error(cx, n, "batch_dims %lld must be less than both ranks", (long long)b);
  for (int i = 0; i < b; i++)
    if (si->dims[i] != sx->dims[i]) return ox_error(cx, n, "batch dimension %d differs between data and indices", i);
  int64_t k = si->dims[q - 1];
  if (k > r - b) return ox_error(cx, n, "index vectors have %lld entries; the data has only %lld dimensions after the batch ones", (long long)k, (long long)(r - b));
  int out_rank = q - 1 + r - (int)b - (int)k;
  if (out_rank > IR_MAX_RANK) return ox_unsupported(cx, n, "the result would have rank %d; kiln's maximum is %d", out_rank, IR_MAX_RANK);
  int64_t out[IR_MAX_RANK];
  for (int i = 0; i < out_rank; i++) out[i] = i < q - 1 ? si->dims[i] : sx->dims[b + k + i - (q - 1)];
  if (!ox_check_size(cx, n, sx->type, out_rank, out)) return false;
  ir_id full = nd_indices(cx, n->in[1], sx, b);
  if (full == IR_NONE) return false;
  int nv = (int)(b + k);
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = q - 1;
  g.nstart_map = g.ncollapsed = nv;
  for (int i = 0; i < nv; i++) g.start_index_map[i] = g.collapsed_slice_dims[i] = i;
  for (int i = 0; i < r; i++) g.slice_sizes[i] = i < nv ? 1 : sx->dims[i];
  for (int i = nv; i < r; i++) g.offset_dims[g.noffset++] = q - 1 + (i - nv);
  return done(n, ir_gather(&cx->b, n->in[0], full, &g));
}

/* ScatterElements' and ScatterND's 'reduction': none, add, mul from
 * opset 16; max and min from 18. */
static bool reduction(ox_ctx *cx, const ox_node *n, ir_combiner *c) {
  static const char *const names[] = {"none", "add", "mul", "max", "min", NULL};
  static const ir_combiner combs[] = {IR_COMB_ASSIGN, IR_COMB_ADD, IR_COMB_MUL, IR_COMB_MAX, IR_COMB_MIN};
  int k = n->opset >= 16 ? ox_attr_choice(cx, n, "reduction", "none", names) : 0;
  if (k < 0) return false;
  if (k >= 3 && n->opset < 18)
    return ox_error(cx, n, "reduction='%s' is defined from opset 18; the model declares %d", names[k], n->opset);
  *c = combs[k];
  return true;
}

static bool check_reduction(ox_ctx *cx, const ox_node *n) {
  ir_combiner c;
  return reduction(cx, n, &c);
}

/* ScatterElements: out = x; out[i, idx[i, j, k], k] (op)= upd[i, j, k]. */
static bool lower_scatter_elements(ox_ctx *cx, ox_node *n) {
  if (!static_inputs(cx, n)) return false;
  int64_t axis;
  ir_combiner comb;
  ir_shape sx_v, si_v;
  if (!axis_inputs(cx, n, 3, &axis, &sx_v, &si_v) || !reduction(cx, n, &comb)) return false;
  ir_shape su_v = ox_shape(cx, n->in[2]);
  const ir_shape *sx = &sx_v, *si = &si_v, *su = &su_v;
  int r = sx->rank;
  if (si->rank != r || su->rank != r)
    return ox_error(cx, n, "data, indices and updates must have the same rank");
  for (int i = 0; i < r; i++)
    if (si->dims[i] != su->dims[i]) return ox_error(cx, n, "indices and updates must have the same shape");
  if (su->type != sx->type) return ox_error(cx, n, "updates type %s differs from the data's %s", ir_type_name(su->type), ir_type_name(sx->type));
  ir_id full = element_indices(cx, n, n->in[1], axis, sx->dims[axis]);
  ir_scatter_dims sd;
  memset(&sd, 0, sizeof sd);
  sd.index_vector_dim = r;
  sd.ninserted = sd.nscatter_map = r;
  for (int i = 0; i < r; i++) sd.inserted_window_dims[i] = sd.scatter_dims_to_operand_dims[i] = i;
  return done(n, ir_scatter(&cx->b, n->in[0], full, n->in[2], &sd, comb));
}

/* ScatterND: updates have dims idx.dims[:-1] + x.dims[k:]; each index
 * vector selects a slice x[i0, .., ik-1] that its update (op)= into. */
static bool lower_scatter_nd(ox_ctx *cx, ox_node *n) {
  if (!static_inputs(cx, n)) return false;
  if (!ox_need_inputs(cx, n, 3) || !need_int_indices(cx, n, n->in[1])) return false;
  ir_combiner comb;
  if (!reduction(cx, n, &comb)) return false;
  ir_shape sx_v = ox_shape(cx, n->in[0]), si_v = ox_shape(cx, n->in[1]), su_v = ox_shape(cx, n->in[2]);
  const ir_shape *sx = &sx_v, *si = &si_v, *su = &su_v;
  int r = sx->rank, q = si->rank;
  if (q < 1 || r < 1) return ox_error(cx, n, "data and indices must have rank >= 1");
  int64_t k = si->dims[q - 1];
  if (k > r) return ox_error(cx, n, "index vectors have %lld entries for data of rank %d", (long long)k, r);
  bool fits = su->rank == q - 1 + r - (int)k && su->type == sx->type;
  for (int i = 0; fits && i < su->rank; i++) fits = su->dims[i] == (i < q - 1 ? si->dims[i] : sx->dims[k + i - (q - 1)]);
  if (!fits) {
    char b1[160];
    return ox_error(cx, n, "updates %s do not have the shape indices.shape[:-1] + data.shape[%lld:] and the data's type",
                    ir_shape_str(su, b1, sizeof b1), (long long)k);
  }
  ir_id full = nd_indices(cx, n->in[1], sx, 0);
  ir_scatter_dims sd;
  memset(&sd, 0, sizeof sd);
  sd.index_vector_dim = q - 1;
  sd.ninserted = sd.nscatter_map = (int)k;
  for (int i = 0; i < k; i++) sd.inserted_window_dims[i] = sd.scatter_dims_to_operand_dims[i] = i;
  for (int i = (int)k; i < r; i++) sd.update_window_dims[sd.nwindow++] = q - 1 + (i - k);
  return done(n, ir_scatter(&cx->b, n->in[0], full, n->in[2], &sd, comb));
}

/* OneHot(indices, depth, values=[off, on]): a new dimension of size depth
 * at axis; out = on where the position equals the index (negative indices
 * count from depth; others out of range give all off). Non-integer indices
 * and depth are truncated as the reference does. */
static bool lower_one_hot(ox_ctx *cx, ox_node *n) {
  if (!static_inputs(cx, n)) return false;
  if (!ox_need_inputs(cx, n, 3)) return false;
  bool ok = true;
  int64_t axis = ox_attr_int(cx, n, "axis", -1, &ok);
  double depth_f;
  if (!ok || !ox_const_scalar_f(cx, n, n->in[1], &depth_f, "the 'depth' input")) return false;
  if (!(depth_f >= 1) || depth_f > (double)INT32_MAX) return ox_error(cx, n, "depth %g must be a positive number", depth_f);
  int64_t depth = (int64_t)depth_f;
  ir_shape si_v = ox_shape(cx, n->in[0]), sv_v = ox_shape(cx, n->in[2]);
  const ir_shape *si = &si_v, *sv = &sv_v;
  int q = si->rank;
  if (q + 1 > IR_MAX_RANK) return ox_unsupported(cx, n, "the result would have rank %d; kiln's maximum is %d", q + 1, IR_MAX_RANK);
  if (!ox_axis(cx, n, axis, q, true, &axis)) return false;
  if (ir_shape_elements(sv) != 2) return ox_error(cx, n, "'values' must hold two values, [off, on]");
  int64_t dims[IR_MAX_RANK], map[IR_MAX_RANK], two = 2;
  for (int i = 0, j = 0; i <= q; i++) {
    if (i == axis) {
      dims[i] = depth;
      continue;
    }
    dims[i] = si->dims[j];
    map[j++] = i;
  }
  if (!ox_check_size(cx, n, sv->type, q + 1, dims)) return false;
  ir_id idx = n->in[0];
  if (ox_shape(cx, idx).type == IR_PRED) return ox_error(cx, n, "indices must be numbers");
  idx = wrap_negative(cx, idx, 1, &depth);
  ir_id ib = ir_broadcast(&cx->b, idx, q + 1, dims, map);
  ir_id pos = ir_iota(&cx->b, ir_shape_make(IR_I64, q + 1, dims), axis);
  ir_id eq = ir_compare(&cx->b, IR_CMP_EQ, pos, ib);
  ir_id v = ox_reshape(cx, n->in[2], 1, &two);
  ir_id off = ox_reshape(cx, ox_slice_axis(cx, v, 0, 0, 1, 1), 0, NULL);
  ir_id on = ox_reshape(cx, ox_slice_axis(cx, v, 0, 1, 2, 1), 0, NULL);
  return done(n, ir_select(&cx->b, eq, ir_broadcast(&cx->b, on, q + 1, dims, NULL), ir_broadcast(&cx->b, off, q + 1, dims, NULL)));
}

/* col - row (over the last two dimensions of dims) compared with k. */
static ir_id diagonal_mask(ox_ctx *cx, int rank, const int64_t *dims, ir_cmp dir, int64_t k) {
  /* Clamp k: beyond the matrix size every element is in or out alike. */
  int64_t lim = dims[rank - 1] + dims[rank - 2] + 1;
  k = k > lim ? lim : k < -lim ? -lim : k;
  ir_shape s = ir_shape_make(IR_I64, rank, dims);
  ir_id diff = ir_binary(&cx->b, IR_OP_SUB, ir_iota(&cx->b, s, rank - 1), ir_iota(&cx->b, s, rank - 2));
  ir_id kk = ir_broadcast(&cx->b, ir_constant_i(&cx->b, IR_I64, k), rank, dims, NULL);
  return ir_compare(&cx->b, dir, diff, kk);
}

/* Trilu: keeps the upper (col - row >= k) or lower (col - row <= k)
 * triangle of the last two dimensions, zeroing the rest. k only moves the
 * boundary, so a run-time k (not known at import) is compared at run time:
 * the shape does not depend on it. */
static bool lower_trilu(ox_ctx *cx, ox_node *n) {
  if (!static_inputs(cx, n)) return false;
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  int64_t upper = ox_attr_int(cx, n, "upper", 1, &ok), k = 0;
  if (!ok) return false;
  bool has_k = n->nin > 1 && n->in[1] != IR_NONE, runtime_k = has_k && !ox_is_const(cx, n->in[1]);
  if (has_k && !runtime_k && ox_const_ints(cx, n, n->in[1], &k, 1, "the 'k' input") < 0) return false;
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  if (s->rank < 2) return ox_error(cx, n, "the input must have rank >= 2");
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, s->dims, sizeof dims);
  ir_cmp dir = upper ? IR_CMP_GE : IR_CMP_LE;
  ir_id mask;
  if (runtime_k) {
    ir_shape ks = ox_shape(cx, n->in[1]);
    if (!ir_type_is_int(ks.type) || ks.type == IR_PRED || !ir_shape_is_static(&ks) || ir_shape_elements(&ks) != 1)
      return ox_error(cx, n, "the 'k' input must hold one integer");
    if (!ox_refuse_symbolic(cx, n, n->in[0], 0, s->rank - 1, "the input", "a run-time k is compared per element"))
      return false;
    /* Clamped as the constant k is (diagonal_mask): no overflow below. */
    int64_t lim = dims[s->rank - 1] + dims[s->rank - 2] + 1;
    ir_id kv = ir_clamp(&cx->b, ox_scalar(cx, IR_I64, (double)-lim),
                        ir_convert(&cx->b, ox_reshape(cx, n->in[1], 0, NULL), IR_I64), ox_scalar(cx, IR_I64, (double)lim));
    ir_shape is = ir_shape_make(IR_I64, s->rank, dims);
    ir_id diff = ir_binary(&cx->b, IR_OP_SUB, ir_iota(&cx->b, is, s->rank - 1), ir_iota(&cx->b, is, s->rank - 2));
    mask = ir_compare(&cx->b, dir, diff, ir_broadcast(&cx->b, kv, s->rank, dims, NULL));
  } else {
    mask = diagonal_mask(cx, s->rank, dims, dir, k);
  }
  return done(n, ir_select(&cx->b, mask, n->in[0], ox_full_like(cx, n->in[0], s->type, 0)));
}

static bool lower_eye_like(ox_ctx *cx, ox_node *n) {
  if (!static_inputs(cx, n)) return false;
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  ir_shape s_v = ox_shape(cx, n->in[0]);
  const ir_shape *s = &s_v;
  int64_t dt = ox_attr_int(cx, n, "dtype", -1, &ok), k = ox_attr_int(cx, n, "k", 0, &ok);
  if (!ok) return false;
  ir_type t = s->type;
  if (dt >= 0 && !ox_type_from_onnx((int32_t)dt, &t)) return ox_unsupported(cx, n, "dtype %s is not supported", ox_onnx_type_name((int32_t)dt));
  if (s->rank != 2) return ox_error(cx, n, "the input must have rank 2");
  int64_t dims[2] = {s->dims[0], s->dims[1]};
  return done(n, ir_convert(&cx->b, diagonal_mask(cx, 2, dims, IR_CMP_EQ, k), t));
}

/* Whether node n's output is a size that run-time values decide, to be
 * bounded by --max-shape: some input of `in` (IR_NONE: skipped) is not
 * known at import time and reads graph input values (their names go to
 * names), or, for `bounded_dims`, only dimensions decide it but the user
 * bounded the output anyway. Only in the entry computation (computed
 * sizes are set there); subgraphs keep the import-time paths. */
static bool runtime_size(ox_ctx *cx, const ox_node *n, int k, const ir_id *in, bool bounded_dims, char *names,
                         size_t len) {
  if (cx->c != ir_module_entry(cx->m)) return false;
  bool later = false, data = false;
  for (int i = 0; i < k; i++) {
    if (in[i] == IR_NONE || ox_is_const(cx, in[i])) continue;
    later = true;
    data = ox_reads_data(cx, in[i], names, len) || data;
  }
  const char *out = n->p->n_output > 0 ? n->p->output[0] : "";
  return data || (later && bounded_dims && out[0] && ox_output_bound(cx, out));
}

/* Range(start, limit, delta): max(ceil((limit - start) / delta), 0)
 * elements start + i * delta. Scalars known at import time give a static
 * length; run-time ones a computed length bounded by --max-shape (also
 * when only dimensions decide them: arange(seq) with a bound). */
static bool lower_range(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  ir_type t = ox_shape(cx, n->in[0]).type;
  for (int i = 1; i < 3; i++)
    if (ox_shape(cx, n->in[i]).type != t) return ox_error(cx, n, "start, limit and delta must have the same type");
  if (t == IR_PRED) return ox_error(cx, n, "bool is not a valid type here");
  char names[512] = "";
  if (runtime_size(cx, n, 3, n->in, true, names, sizeof names)) {
    double d;
    if (ox_is_const(cx, n->in[2])) {
      if (!ox_const_scalar_f(cx, n, n->in[2], &d, "'delta'")) return false;
      if (d == 0) return ox_error(cx, n, "delta must not be 0");
    }
    int64_t bound;
    return ox_value_bound(cx, n, 1, &bound, names) && ox_range_dynamic(cx, n, t, bound);
  }
  /* start, limit or delta computed from symbolic dimensions (arange(seq)):
   * the length is then a run-time value, a data-dependent shape. */
  for (int i = 0; i < 3; i++) {
    if (ox_is_const(cx, n->in[i]) || !ir_type_is_int(t)) continue;
    const char *what = i == 0 ? "'start'" : i == 1 ? "'limit'" : "'delta'";
    ir_dexpr e;
    if (ox_const_dexprs(cx, n, n->in[i], &e, 1, what) != 1) return false;
    char b[96];
    const char *out = n->p->n_output > 0 && n->p->output[0][0] ? n->p->output[0] : "NAME";
    return ox_unsupported(cx, n, "%s is %s, computed from symbolic dimensions, so the range's length is known only at "
                          "run time (a data-dependent shape); bound it with --max-shape %s=N (N: the most elements it "
                          "may have), or fix the shapes with --input-shape", what, ir_dexpr_str(cx->m, e, b, sizeof b), out);
  }
  int64_t len;
  if (ir_type_is_float(t)) {
    double v[3];
    for (int i = 0; i < 3; i++)
      if (!ox_const_scalar_f(cx, n, n->in[i], &v[i], i == 0 ? "'start'" : i == 1 ? "'limit'" : "'delta'")) return false;
    if (v[2] == 0 || !isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2])) return ox_error(cx, n, "start, limit and delta must be finite and delta nonzero");
    double c = ceil((v[1] - v[0]) / v[2]);
    if (c > (double)(1 << 30)) return ox_error(cx, n, "the range has %g elements; too many", c);
    len = c > 0 ? (int64_t)c : 0;
  } else {
    int64_t v[3];
    for (int i = 0; i < 3; i++) {
      int got = ox_const_ints(cx, n, n->in[i], &v[i], 1, i == 0 ? "'start'" : i == 1 ? "'limit'" : "'delta'");
      if (got < 0) return false;
      if (got != 1) return ox_error(cx, n, "start, limit and delta must be scalars");
    }
    if (v[2] == 0) return ox_error(cx, n, "delta must not be 0");
    /* In long double: limit - start may overflow int64. */
    long double c = ceill(((long double)v[1] - (long double)v[0]) / (long double)v[2]);
    if (c > (long double)(1 << 30)) return ox_error(cx, n, "the range has too many elements");
    len = c > 0 ? (int64_t)c : 0;
  }
  ir_shape s = ir_shape_make(t, 1, &len);
  ir_id i = ir_iota(&cx->b, s, 0);
  ir_id start = ir_broadcast(&cx->b, ox_reshape(cx, n->in[0], 0, NULL), 1, &len, NULL);
  ir_id delta = ir_broadcast(&cx->b, ox_reshape(cx, n->in[2], 0, NULL), 1, &len, NULL);
  return done(n, ir_binary(&cx->b, IR_OP_ADD, start, ir_binary(&cx->b, IR_OP_MUL, i, delta)));
}

/* ConstantOfShape's 'value' attribute as a scalar constant (default f32
 * 0); IR_NONE after reporting. */
static ir_id fill_value(ox_ctx *cx, const ox_node *n) {
  const Onnx__AttributeProto *a = ox_attr(n, "value");
  if (!a) return ox_scalar(cx, IR_F32, 0);
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t) {
    ox_error(cx, n, "attribute 'value' must be a tensor");
    return IR_NONE;
  }
  ir_shape s;
  void *data;
  int rc = ox_tensor_data(a->t, cx->base_dir, "attribute 'value'", &s, &data, cx->d);
  if (rc != 0) {
    cx->unsupported = rc == KILN_ERR_UNSUPPORTED; /* e.g. a string value */
    return IR_NONE;
  }
  if (ir_shape_elements(&s) != 1) {
    free(data);
    ox_error(cx, n, "attribute 'value' must hold exactly one element");
    return IR_NONE;
  }
  ir_id v = ir_constant(&cx->b, ir_shape_scalar(s.type), data);
  free(data);
  return v;
}

/* ConstantOfShape of a shape read from run-time values (static length r):
 * entry i is a computed size bounded by dims[i] of the output's
 * --max-shape entry (a negative entry is refused at run time, as any size
 * outside [0, bound]); the value broadcast to those sizes. */
static bool constant_of_shape_dynamic(ox_ctx *cx, ox_node *n, const char *names) {
  ir_id shape = n->in[0];
  ir_shape ss = ox_shape(cx, shape);
  if (ss.rank != 1 || !ir_shape_is_static(&ss) || !ir_type_is_int(ss.type))
    return ox_error(cx, n, "the 'shape' input must be a 1-D integer tensor of a static length");
  if (ss.dims[0] > IR_MAX_RANK)
    return ox_unsupported(cx, n, "the 'shape' input has %lld entries; kiln's maximum rank is %d",
                          (long long)ss.dims[0], IR_MAX_RANK);
  int r = (int)ss.dims[0];
  int64_t bound[IR_MAX_RANK];
  ir_id v = fill_value(cx, n);
  if (v == IR_NONE || (r > 0 && !ox_value_bound(cx, n, r, bound, names))) return false;
  ir_shape t = ir_shape_make(ox_shape(cx, v).type, r, bound);
  if (!ox_check_size(cx, n, t.type, r, bound)) return false;
  for (int i = 0; i < r; i++) {
    char suffix[16];
    snprintf(suffix, sizeof suffix, "d%d", i);
    ir_dexpr e = ox_computed_size(cx, n, ox_slice_axis(cx, shape, 0, i, i + 1, 1), bound[i], suffix);
    if (!e || !ox_set_dim(cx, n, &t, i, e, "the result shape")) return false;
  }
  return done(n, ox_broadcast_shape(cx, v, &t, NULL));
}

/* ConstantOfShape(shape) filled with the one-element 'value' tensor
 * (default f32 0). A shape known at import time or computed from
 * dimensions gives a static or symbolic result; one read from input values
 * a result of computed sizes (above). */
static bool lower_constant_of_shape(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  char names[512] = "";
  if (runtime_size(cx, n, 1, n->in, false, names, sizeof names)) return constant_of_shape_dynamic(cx, n, names);
  int64_t dims[IR_MAX_RANK];
  ir_dexpr want[IR_MAX_RANK];
  int k = ox_const_dexprs(cx, n, n->in[0], want, IR_MAX_RANK, "the 'shape' input");
  if (k < 0) return false;
  /* A shape computed from symbolic dimensions gives a symbolic result. */
  bool symbolic = !ox_dexprs_all_const(cx, want, k, dims);
  ir_shape t = ir_shape_make(IR_F32, k, NULL);
  for (int i = 0; i < k; i++) {
    if (ir_dexpr_lower(cx->m, want[i]) < 0) return ox_error(cx, n, "shape entry %d is or may be negative", i);
    if (symbolic && !ox_set_dim(cx, n, &t, i, want[i], "the result shape")) return false;
    if (symbolic) dims[i] = t.dims[i];
  }
  if (!ox_check_size(cx, n, IR_F64, k, dims)) return false;
  ir_id v = fill_value(cx, n);
  if (v == IR_NONE) return false;
  if (symbolic) {
    t.type = ox_shape(cx, v).type;
    return done(n, ox_broadcast_shape(cx, v, &t, NULL));
  }
  return done(n, ir_broadcast(&cx->b, v, k, dims, NULL));
}

/* Compress(x, condition, axis): the slices along axis (of the flattened
 * x without an axis) whose condition is true; a condition shorter than the
 * axis drops the rest. The condition decides the result's size: known at
 * import time, the result is a gather of those positions; otherwise the
 * count is a computed size (ops_datashape.c). */
static bool lower_compress(ox_ctx *cx, ox_node *n) {
  if (!static_inputs(cx, n)) return false;
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0];
  ir_shape s_v = ox_shape(cx, x);
  const ir_shape *s = &s_v;
  bool ok = true, has_axis = ox_attr(n, "axis") != NULL;
  int64_t axis = ox_attr_int(cx, n, "axis", 0, &ok);
  if (!ok) return false;
  if (!has_axis) {
    int64_t all = ir_shape_elements(s);
    x = ox_reshape(cx, x, 1, &all);
    s_v = ox_shape(cx, x);
  } else if (!ox_axis(cx, n, axis, s->rank, false, &axis)) {
    return false;
  }
  ir_shape sc_v = ox_shape(cx, n->in[1]);
  const ir_shape *sc = &sc_v;
  if (sc->rank != 1 || sc->type != IR_PRED) return ox_error(cx, n, "the condition must be a 1-D bool tensor");
  if (!ox_is_const(cx, n->in[1])) return ox_compress_dynamic(cx, n, x, (int)axis);
  const uint8_t *c = ox_const_data(cx, n, n->in[1], "the 'condition' input");
  if (!c) return false;
  int64_t d = s->dims[axis], len = sc->dims[0] < d ? sc->dims[0] : d, k = 0;
  int64_t *pos = malloc((size_t)(len + 1) * sizeof *pos);
  if (!pos) return ox_error(cx, n, "out of memory");
  for (int64_t i = 0; i < len; i++)
    if (c[i]) pos[k++] = i;
  ir_id idx = ir_constant(&cx->b, ir_shape_make(IR_I64, 1, &k), pos);
  free(pos);
  ir_gather_dims g;
  ox_gather_axis_dims(s, (int)axis, &g);
  return done(n, ir_gather(&cx->b, x, idx, &g));
}

/* ReverseSequence: for each batch entry b, the first lens[b] steps along
 * the time axis are reversed. A gather whose index vectors are (time,
 * batch) with time' = t < len ? len - 1 - t : t; the lengths may be known
 * only at run time. */
static bool lower_reverse_sequence(ox_ctx *cx, ox_node *n) {
  if (!static_inputs(cx, n)) return false;
  if (!ox_need_inputs(cx, n, 2) || !need_int_indices(cx, n, n->in[1])) return false;
  bool ok = true;
  int64_t bax = ox_attr_int(cx, n, "batch_axis", 1, &ok), tax = ox_attr_int(cx, n, "time_axis", 0, &ok);
  if (!ok) return false;
  ir_shape s_v = ox_shape(cx, n->in[0]), sl_v = ox_shape(cx, n->in[1]);
  const ir_shape *s = &s_v, *sl = &sl_v;
  if (s->rank < 2 || !((bax == 0 && tax == 1) || (bax == 1 && tax == 0)))
    return ox_error(cx, n, "needs rank >= 2 and batch_axis, time_axis one of (0, 1) and (1, 0)");
  if (s->rank + 1 > IR_MAX_RANK) return ox_unsupported(cx, n, "rank %d is too large for this op", s->rank);
  if (sl->rank != 1 || sl->dims[0] != s->dims[bax]) return ox_error(cx, n, "sequence_lens must hold one length per batch entry");
  int64_t d2[3] = {s->dims[0], s->dims[1], 1};
  ir_shape is = ir_shape_make(IR_I64, 2, d2);
  ir_id t = ir_iota(&cx->b, is, tax), b = ir_iota(&cx->b, is, bax);
  ir_id len = ox_broadcast_along(cx, ir_convert(&cx->b, n->in[1], IR_I64), 2, d2, bax);
  ir_id rev = ir_binary(&cx->b, IR_OP_SUB, ir_binary(&cx->b, IR_OP_SUB, len, t), ox_full_like(cx, t, IR_I64, 1));
  ir_id tt = ir_select(&cx->b, ir_compare(&cx->b, IR_CMP_LT, t, len), rev, t);
  ir_id parts[2] = {ox_reshape(cx, tt, 3, d2), ox_reshape(cx, b, 3, d2)};
  ir_id idx = ir_concatenate(&cx->b, 2, parts, 2);
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = 2;
  g.nstart_map = g.ncollapsed = 2;
  g.start_index_map[0] = tax;
  g.start_index_map[1] = bax;
  g.collapsed_slice_dims[0] = 0;
  g.collapsed_slice_dims[1] = 1;
  for (int i = 0; i < s->rank; i++) g.slice_sizes[i] = i < 2 ? 1 : s->dims[i];
  for (int i = 2; i < s->rank; i++) g.offset_dims[g.noffset++] = i;
  return done(n, ir_gather(&cx->b, n->in[0], idx, &g));
}

/* NonZero: the [rank, count] indices (row-major order) of the nonzero
 * elements. An input known at import time gives a constant; otherwise the
 * count is a computed size (ops_datashape.c). */
static bool lower_non_zero(ox_ctx *cx, ox_node *n) {
  if (!static_inputs(cx, n)) return false;
  if (!ox_need_inputs(cx, n, 1)) return false;
  if (!ox_is_const(cx, n->in[0])) return ox_nonzero_dynamic(cx, n);
  ir_shape s = ox_shape(cx, n->in[0]);
  const void *data = ox_const_data(cx, n, n->in[0], "the input (NonZero's result size depends on its values)");
  if (!data) return false;
  int64_t total = ir_shape_elements(&s), count = 0, strides[IR_MAX_RANK];
  for (int64_t i = 0; i < total; i++) count += ir_elem_get_f(s.type, data, i) != 0;
  int64_t rank = s.rank > 0 ? s.rank : 1, dims[2] = {rank, count};
  int64_t *idx = malloc((size_t)(rank * count + 1) * sizeof *idx);
  if (!idx) return ox_error(cx, n, "out of memory");
  ir_shape_strides(&s, strides);
  for (int64_t i = 0, k = 0; i < total; i++) {
    if (ir_elem_get_f(s.type, data, i) == 0) continue;
    for (int d = 0; d < s.rank; d++) idx[d * count + k] = (i / strides[d]) % s.dims[d];
    if (!s.rank) idx[k] = 0; /* a scalar counts as [1] */
    k++;
  }
  ir_id r = ir_constant(&cx->b, ir_shape_make(IR_I64, 2, dims), idx);
  free(idx);
  return done(n, r);
}

const ox_op ox_ops_index[] = {
    {"NonZero", 9, lower_non_zero, NULL, {1, 1}, {1, 1}, NULL, 0},
    {"Compress", 9, lower_compress, NULL, {2, 2}, {1, 1}, "axis:i", 0},
    {"ReverseSequence", 10, lower_reverse_sequence, NULL, {2, 2}, {1, 1}, "batch_axis:i time_axis:i", 0},
    {"Gather", 1, lower_gather, NULL, {2, 2}, {1, 1}, "axis:i", 0},
    {"GatherElements", 11, lower_gather_elements, NULL, {2, 2}, {1, 1}, "axis:i", 0},
    {"GatherND", 11, lower_gather_nd, NULL, {2, 2}, {1, 1}, "batch_dims:i@12-", 0},
    {"Scatter", 9, lower_scatter_elements, NULL, {3, 3}, {1, 1}, "axis:i", 0},
    {"ScatterElements", 11, lower_scatter_elements, check_reduction, {3, 3}, {1, 1}, "axis:i reduction:s@16-", 18},
    {"ScatterND", 11, lower_scatter_nd, check_reduction, {3, 3}, {1, 1}, "reduction:s@16-", 18},
    {"OneHot", 9, lower_one_hot, NULL, {3, 3}, {1, 1}, "axis:i", 0},
    {"Trilu", 14, lower_trilu, NULL, {1, 2}, {1, 1}, "upper:i", 0},
    {"EyeLike", 9, lower_eye_like, NULL, {1, 1}, {1, 1}, "dtype:i k:i", 22},
    {"Range", 11, lower_range, NULL, {3, 3}, {1, 1}, NULL, 0},
    {"ConstantOfShape", 9, lower_constant_of_shape, NULL, {1, 1}, {1, 1}, "value:t", 25},
    {"TensorScatter", 24, lower_tensor_scatter, NULL, {2, 3}, {1, 1}, "axis:i mode:s", 24},
    {0},
};
