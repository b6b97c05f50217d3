/*
 * Sampling, regions of interest and image-to-column ops: GridSample (16,
 * 20, 22), AffineGrid (20), RoiAlign (10, 16, 22), MaxRoiPool (1, 22),
 * Col2Im (18), CenterCropPad (18) and DeformConv (19, 22).
 *
 * The sampling ops read the input at positions that depend on runtime
 * values (the grid, the regions). Each is lowered to one gather of "taps":
 * for every output position a fixed number K of (batch, spatial index)
 * tuples with a weight and a keep flag, all computed elementwise in the IR,
 * then one reduction over the taps (sum of weighted values, or max). K is
 * static: 2^r taps for linear, 4^r for cubic, 1 for nearest; for RoiAlign
 * 4 corners times the sampling grid of a bin. Indices are clamped into the
 * input before the gather, and taps that read outside it (zeros padding)
 * are masked, so no gather ever depends on the gather's own clamping.
 *
 * Where a count depends on runtime region coordinates (RoiAlign's adaptive
 * sampling_ratio=0), the regions must be known at import time: the counts
 * are then computed per region here and the sampling grid is sized by the
 * largest, the excess taps masked. MaxRoiPool's bins vary per region too,
 * but are bounded by the input: each bin is a max over the whole height
 * and width with the positions outside the bin masked (separably: along
 * the width, then along the height).
 *
 * Semantics are those of the ONNX specification and its reference
 * implementation (onnx/reference/ops/op_grid_sample.py, op_roi_align.py,
 * ...), which follow PyTorch and ONNX Runtime.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/literal.h"

/* ---- small elementwise helpers (operands of one shape) ---- */

static ir_type type_of(ox_ctx *cx, ir_id v) { return v == IR_NONE ? IR_F32 : ox_shape(cx, v).type; }

/* The scalar v broadcast to like's dimensions, in like's type. */
static ir_id kf(ox_ctx *cx, ir_id like, double v) { return ox_full_like(cx, like, type_of(cx, like), v); }
static ir_id add(ox_ctx *cx, ir_id a, ir_id b) { return ir_binary(&cx->b, IR_OP_ADD, a, b); }
static ir_id sub(ox_ctx *cx, ir_id a, ir_id b) { return ir_binary(&cx->b, IR_OP_SUB, a, b); }
static ir_id mul(ox_ctx *cx, ir_id a, ir_id b) { return ir_binary(&cx->b, IR_OP_MUL, a, b); }
static ir_id addk(ox_ctx *cx, ir_id a, double v) { return add(cx, a, kf(cx, a, v)); }
static ir_id mulk(ox_ctx *cx, ir_id a, double v) { return mul(cx, a, kf(cx, a, v)); }
static ir_id cmpk(ox_ctx *cx, ir_cmp dir, ir_id a, double v) { return ir_compare(&cx->b, dir, a, kf(cx, a, v)); }
static ir_id clampk(ox_ctx *cx, ir_id a, double lo, double hi) {
  return ir_binary(&cx->b, IR_OP_MIN, ir_binary(&cx->b, IR_OP_MAX, a, kf(cx, a, lo)), kf(cx, a, hi));
}
static ir_id floor_(ox_ctx *cx, ir_id a) { return ir_unary(&cx->b, IR_OP_FLOOR, a); }
static ir_id or_(ox_ctx *cx, ir_id a, ir_id b) { return ir_binary(&cx->b, IR_OP_OR, a, b); }
static ir_id and_(ox_ctx *cx, ir_id a, ir_id b) { return ir_binary(&cx->b, IR_OP_AND, a, b); }

/* Coordinate type: at least f32 (f16 positions would be too coarse). */
static ir_type coord_type(ir_type t) { return t == IR_F64 ? IR_F64 : IR_F32; }

/* x reflected into [lo, hi] as often as needed (period 2 * (hi - lo));
 * the identity inside. A zero-length range maps everything to lo. */
static ir_id reflect(ox_ctx *cx, ir_id x, double lo, double hi) {
  double rng = hi - lo;
  if (!(rng > 0)) return kf(cx, x, lo);
  ir_id t = addk(cx, x, -lo);
  ir_id per = kf(cx, t, 2 * rng);
  ir_id m = sub(cx, t, mul(cx, floor_(cx, ir_binary(&cx->b, IR_OP_DIV, t, per)), per));
  ir_id r = ir_select(&cx->b, cmpk(cx, IR_CMP_LE, m, rng), m, sub(cx, per, m));
  ir_id y = addk(cx, r, lo);
  /* Inside the range keep x itself: (x - lo) + lo need not round back. */
  ir_id out = or_(cx, cmpk(cx, IR_CMP_LT, x, lo), cmpk(cx, IR_CMP_GT, x, hi));
  return ir_select(&cx->b, out, y, x);
}

/* The 1-D values v[0..k) (each of dims [A]) side by side: [A, k]. */
static ir_id columns(ox_ctx *cx, int k, const ir_id *v) {
  ir_id cols[8];
  for (int i = 0; i < k; i++) {
    if (v[i] == IR_NONE) return IR_NONE;
    ir_shape s = ox_shape(cx, v[i]);
    int64_t d[IR_MAX_RANK];
    memcpy(d, s.dims, sizeof d);
    d[s.rank] = 1;
    cols[i] = ir_reshape(&cx->b, v[i], s.rank + 1, d);
  }
  if (k == 1) return cols[0];
  ir_shape s = ox_shape(cx, v[0]);
  return ir_concatenate(&cx->b, k, cols, s.rank);
}

/* The values of input x [N, C, S_1..S_r] at K taps per position: ids[0]
 * holds the batch index and ids[1..r] the spatial indices of each tap,
 * all [A, K] i32 and in range. Result [A, C, K]. */
static ir_id gather_taps(ox_ctx *cx, ir_id x, int r, const ir_id *ids) {
  ir_id parts[IR_MAX_RANK];
  for (int i = 0; i <= r; i++) {
    if (ids[i] == IR_NONE || x == IR_NONE) return IR_NONE;
    ir_shape s = ox_shape(cx, ids[i]);
    int64_t d[3] = {s.dims[0], s.dims[1], 1};
    parts[i] = ir_reshape(&cx->b, ir_convert(&cx->b, ids[i], IR_I32), 3, d);
  }
  ir_id iv = ir_concatenate(&cx->b, r + 1, parts, 2);
  ir_shape xs = ox_shape(cx, x);
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = 2;
  g.nstart_map = g.ncollapsed = r + 1;
  g.start_index_map[0] = g.collapsed_slice_dims[0] = 0;
  for (int i = 1; i <= r; i++) g.start_index_map[i] = g.collapsed_slice_dims[i] = i + 1;
  for (int i = 0; i < xs.rank; i++) g.slice_sizes[i] = i == 1 ? xs.dims[1] : 1;
  g.noffset = 1;
  g.offset_dims[0] = 1;
  return ir_gather(&cx->b, x, iv, &g);
}

/* Reduces gathered taps g [A, C, K] over K with comb: each value times its
 * weight w [A, K] (IR_NONE: 1), and taps whose keep [A, K] is false
 * (IR_NONE: all kept) left out (the combiner's identity). */
static ir_id reduce_taps(ox_ctx *cx, ir_id g, ir_id w, ir_id keep, ir_combiner comb) {
  if (g == IR_NONE) return IR_NONE;
  ir_shape s = ox_shape(cx, g);
  int64_t map[2] = {0, 2}, dim = 2;
  if (w != IR_NONE) g = mul(cx, g, ir_broadcast(&cx->b, ir_convert(&cx->b, w, s.type), 3, s.dims, map));
  if (keep != IR_NONE)
    g = ir_select(&cx->b, ir_broadcast(&cx->b, keep, 3, s.dims, map), g,
                  ox_full_like(cx, g, s.type, comb == IR_COMB_MAX ? -INFINITY : 0));
  return ir_reduce(&cx->b, g, 1, &dim, comb);
}

/* Broadcasts v (dims [A, T_i]) to [A, T_0, .., T_{r-1}] along axis 1 + i
 * and flattens the taps: [A, K]. */
static ir_id spread(ox_ctx *cx, ir_id v, int r, int i, int64_t a, const int64_t *t) {
  if (v == IR_NONE) return IR_NONE;
  int64_t d[IR_MAX_RANK], map[2] = {0, 1 + i}, k = 1;
  d[0] = a;
  for (int j = 0; j < r; j++) {
    d[1 + j] = t[j];
    k *= t[j];
  }
  int64_t flat[2] = {a, k};
  return ox_reshape(cx, ir_broadcast(&cx->b, v, r + 1, d, map), 2, flat);
}

/* ---- GridSample ---- */

typedef enum { GS_LINEAR, GS_NEAREST, GS_CUBIC } gs_mode;
typedef enum { GS_ZEROS, GS_BORDER, GS_REFLECTION } gs_pad;

static bool gs_attrs(ox_ctx *cx, const ox_node *n, gs_mode *mode, gs_pad *pad, bool *align) {
  /* GridSample-20 renamed bilinear/bicubic to linear/cubic (N-D). */
  static const char *const old_modes[] = {"bilinear", "nearest", "bicubic", NULL};
  static const char *const new_modes[] = {"linear", "nearest", "cubic", NULL};
  static const char *const pads[] = {"zeros", "border", "reflection", NULL};
  bool v20 = n->opset >= 20;
  int m = ox_attr_choice(cx, n, "mode", v20 ? "linear" : "bilinear", v20 ? new_modes : old_modes);
  int p = ox_attr_choice(cx, n, "padding_mode", "zeros", pads);
  bool ok = true;
  *align = ox_attr_int(cx, n, "align_corners", 0, &ok) != 0;
  if (m < 0 || p < 0 || !ok) return false;
  *mode = (gs_mode)m;
  *pad = (gs_pad)p;
  return true;
}

static bool check_grid_sample(ox_ctx *cx, const ox_node *n) {
  gs_mode m;
  gs_pad p;
  bool a;
  return gs_attrs(cx, n, &m, &p, &a);
}

/* One spatial axis of a GridSample: the taps' indices, weights and
 * validity (zeros padding), each [A, ntaps]. */
typedef struct gs_axis {
  int ntaps;
  ir_id idx, w, valid;
} gs_axis;

static void gs_taps(ox_ctx *cx, ir_id x, int64_t d, int r, gs_mode mode, gs_pad pad, bool align, gs_axis *ax);

static void gs_plan_axis(ox_ctx *cx, ir_id g, int64_t d, int r, gs_mode mode, gs_pad pad, bool align, gs_axis *ax) {
  double dd = (double)d;
  /* Denormalize [-1, 1] onto pixel centres (align_corners) or edges. */
  ir_id x = align ? mulk(cx, mulk(cx, addk(cx, g, 1), 0.5), dd - 1)
                  : mulk(cx, addk(cx, mulk(cx, addk(cx, g, 1), dd), -1), 0.5);
  gs_taps(cx, x, d, r, mode, pad, align, ax);
}

/* Rounds half away from zero (C's round(): Caffe's ROI pooling, PyTorch's 3-D grid sampling). */
static ir_id round_away(ox_ctx *cx, ir_id v) {
  return mul(cx, ir_unary(&cx->b, IR_OP_SIGN, v), floor_(cx, addk(cx, ir_unary(&cx->b, IR_OP_ABS, v), 0.5)));
}

/* The taps of pixel coordinate x [A] along an axis of d pixels. */
static void gs_taps(ox_ctx *cx, ir_id x, int64_t d, int r, gs_mode mode, gs_pad pad, bool align, gs_axis *ax) {
  double dd = (double)d;
  if (mode == GS_NEAREST) {
    if (r == 3) /* PyTorch's 3-D kernel rounds halves away from zero */
      x = round_away(cx, x);
    else /* the 2-D one (and the reference for other ranks) to even */
      x = ir_unary(&cx->b, IR_OP_ROUND, x);
  }
  double lo = align ? 0 : -0.5, hi = align ? dd - 1 : dd - 0.5;
  /* Positions outside [lo, hi] are moved in (border, reflection). */
  if (pad == GS_BORDER) {
    ir_id out = or_(cx, cmpk(cx, IR_CMP_LT, x, lo), cmpk(cx, IR_CMP_GT, x, hi));
    x = ir_select(&cx->b, out, clampk(cx, x, 0, dd - 1), x);
  } else if (pad == GS_REFLECTION) {
    x = reflect(cx, x, lo, hi);
  }
  ir_id base = x, f = IR_NONE;
  int first = 0;
  ir_id w[4] = {IR_NONE, IR_NONE, IR_NONE, IR_NONE};
  if (mode == GS_NEAREST) {
    ax->ntaps = 1;
  } else {
    base = floor_(cx, x);
    f = sub(cx, x, base);
    if (mode == GS_LINEAR) {
      ax->ntaps = 2;
      w[0] = sub(cx, kf(cx, f, 1), f);
      w[1] = f;
    } else {
      /* Keys' cubic convolution with A = -0.75, taps base-1 .. base+2. */
      const double A = -0.75;
      ax->ntaps = 4;
      first = -1;
      ir_id f1 = addk(cx, f, 1), s = sub(cx, kf(cx, f, 1), f), s1 = addk(cx, s, 1);
      w[0] = addk(cx, mul(cx, addk(cx, mul(cx, addk(cx, mulk(cx, f1, A), -5 * A), f1), 8 * A), f1), -4 * A);
      w[1] = addk(cx, mul(cx, mul(cx, addk(cx, mulk(cx, f, A + 2), -(A + 3)), f), f), 1);
      w[2] = addk(cx, mul(cx, mul(cx, addk(cx, mulk(cx, s, A + 2), -(A + 3)), s), s), 1);
      w[3] = addk(cx, mul(cx, addk(cx, mul(cx, addk(cx, mulk(cx, s1, A), -5 * A), s1), 8 * A), s1), -4 * A);
    }
  }
  ir_id idx[4] = {IR_NONE, IR_NONE, IR_NONE, IR_NONE}, valid[4] = {IR_NONE, IR_NONE, IR_NONE, IR_NONE};
  for (int t = 0; t < ax->ntaps; t++) {
    ir_id i = t + first ? addk(cx, base, t + first) : base;
    valid[t] = IR_NONE;
    if (pad == GS_ZEROS) valid[t] = and_(cx, cmpk(cx, IR_CMP_GE, i, 0), cmpk(cx, IR_CMP_LE, i, dd - 1));
    else if (pad == GS_REFLECTION) i = reflect(cx, i, lo, hi);
    /* Truncation (convert) as the reference's int(): reflected indices
     * of -0.5-based ranges may be -0.x. */
    idx[t] = ir_convert(&cx->b, clampk(cx, i, 0, dd - 1), IR_I32);
  }
  ax->idx = columns(cx, ax->ntaps, idx);
  ax->w = mode == GS_NEAREST ? IR_NONE : columns(cx, ax->ntaps, w);
  ax->valid = pad == GS_ZEROS ? columns(cx, ax->ntaps, valid) : IR_NONE;
}

static bool lower_grid_sample(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  gs_mode mode;
  gs_pad pad;
  bool align;
  if (!gs_attrs(cx, n, &mode, &pad, &align)) return false;
  ir_id x = n->in[0], grid = n->in[1];
  ir_shape xs = ox_shape(cx, x), gsh = ox_shape(cx, grid);
  int r = xs.rank - 2;
  if (r < 1 || r > 6) return ox_unsupported(cx, n, "input X has rank %d; kiln samples 1 to 6 spatial dimensions", xs.rank);
  if (n->opset < 20 && r != 2)
    return ox_error(cx, n, "input X has rank %d; GridSample before opset 20 takes 4-D input", xs.rank);
  if (gsh.rank != r + 2 || gsh.dims[0] != xs.dims[0] || gsh.dims[r + 1] != r)
    return ox_error(cx, n, "input grid must have shape [N, D1_out..D%d_out, %d] with N = %lld (X's batch); it has rank %d", r, r,
                    (long long)xs.dims[0], gsh.rank);
  if (!ir_type_is_float(gsh.type)) return ox_error(cx, n, "input grid must be floating-point, not %s", ir_type_name(gsh.type));
  if (mode != GS_NEAREST && !ir_type_is_float(xs.type))
    return ox_unsupported(cx, n, "input X has type %s; kiln's %s interpolation needs a floating-point type",
                          ir_type_name(xs.type), mode == GS_LINEAR ? "linear" : "cubic");
  if (ir_type_is_pred(xs.type)) return ox_unsupported(cx, n, "input X has type pred; a numeric type is needed");
  int64_t N = xs.dims[0], C = xs.dims[1], P = 1;
  for (int i = 1; i <= r; i++) P *= gsh.dims[i];
  for (int i = 0; i < r; i++)
    if (xs.dims[2 + i] == 0 && N * P > 0)
      return ox_error(cx, n, "input X has an empty spatial dimension %d to sample from", 2 + i);
  int64_t od[IR_MAX_RANK];
  od[0] = N;
  od[1] = C;
  for (int i = 1; i <= r; i++) od[1 + i] = gsh.dims[i];
  if (!ox_check_size(cx, n, xs.type, r + 2, od)) return false;
  if (N * C * P == 0) {
    n->out[0] = ir_broadcast(&cx->b, ox_scalar(cx, xs.type, 0), r + 2, od, NULL);
    return n->out[0] != IR_NONE;
  }
  int64_t A = N * P, ad[2] = {A, r};
  ir_id g = ir_convert(&cx->b, ox_reshape(cx, grid, 2, ad), coord_type(gsh.type));
  gs_axis ax[IR_MAX_RANK];
  int64_t taps[IR_MAX_RANK], K = 1;
  for (int i = 0; i < r; i++) {
    /* The grid's last dimension lists x (the last spatial axis) first. */
    int64_t one = A;
    ir_id gi = ox_reshape(cx, ox_slice_axis(cx, g, 1, r - 1 - i, r - i, 1), 1, &one);
    gs_plan_axis(cx, gi, xs.dims[2 + i], r, mode, pad, align, &ax[i]);
    taps[i] = ax[i].ntaps;
    K *= taps[i];
  }
  ir_id ids[IR_MAX_RANK], w = IR_NONE, keep = IR_NONE;
  int64_t nd[2] = {N, P}, flat = A, ak[2] = {A, K}, map0 = 0;
  ir_id bi = ox_reshape(cx, ir_iota(&cx->b, ir_shape_make(IR_I32, 2, nd), 0), 1, &flat);
  ids[0] = ir_broadcast(&cx->b, bi, 2, ak, &map0);
  for (int i = 0; i < r; i++) {
    ids[1 + i] = spread(cx, ax[i].idx, r, i, A, taps);
    if (ax[i].w != IR_NONE) {
      ir_id wi = spread(cx, ax[i].w, r, i, A, taps);
      w = w == IR_NONE ? wi : mul(cx, w, wi);
    }
    if (ax[i].valid != IR_NONE) {
      ir_id vi = spread(cx, ax[i].valid, r, i, A, taps);
      keep = keep == IR_NONE ? vi : and_(cx, keep, vi);
    }
  }
  /* Zeros padding: a tap outside reads 0 (then weighted), which is the
   * sum's identity. */
  ir_id y = reduce_taps(cx, gather_taps(cx, x, r, ids), w, keep, IR_COMB_ADD);
  int64_t npc[3] = {N, P, C}, perm[3] = {0, 2, 1};
  y = ox_reshape(cx, ir_transpose(&cx->b, ox_reshape(cx, y, 3, npc), perm), r + 2, od);
  n->out[0] = y;
  return y != IR_NONE;
}

/* ---- AffineGrid ---- */

/* Normalized position of pixel i of s along one axis. */
static double affine_pos(int64_t i, int64_t s, bool align) {
  if (align) return s == 1 ? -1 : -1 + 2.0 * (double)i / (double)(s - 1);
  return -1 + (2.0 * (double)i + 1) / (double)s;
}

static bool lower_affine_grid(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  bool ok = true;
  bool align = ox_attr_int(cx, n, "align_corners", 0, &ok) != 0;
  if (!ok) return false;
  int64_t size[IR_MAX_RANK];
  int ns = ox_const_ints(cx, n, n->in[1], size, IR_MAX_RANK, "the 'size' input");
  if (ns < 0) return false;
  if (ns != 4 && ns != 5) return ox_error(cx, n, "the 'size' input has %d values; it must be [N, C, H, W] or [N, C, D, H, W]", ns);
  int r = ns - 2;
  ir_id theta = n->in[0];
  ir_shape ts = ox_shape(cx, theta);
  if (!ir_type_is_float(ts.type)) return ox_error(cx, n, "input theta must be floating-point, not %s", ir_type_name(ts.type));
  if (ts.rank != 3 || ts.dims[0] != size[0] || ts.dims[1] != r || ts.dims[2] != r + 1)
    return ox_error(cx, n, "input theta must have shape [%lld, %d, %d] for a size of %d values", (long long)size[0], r, r + 1, ns);
  int64_t od[IR_MAX_RANK], P = 1;
  od[0] = size[0];
  for (int i = 0; i < r; i++) {
    if (size[2 + i] < 0) return ox_error(cx, n, "size %d is %lld", 2 + i, (long long)size[2 + i]);
    od[1 + i] = size[2 + i];
    P *= size[2 + i];
  }
  od[1 + r] = r;
  if (!ox_check_size(cx, n, ts.type, r + 2, od)) return false;
  /* The base grid [P, r + 1]: (x, y[, z], 1) per output position, x
   * along the last spatial axis. */
  double *base = calloc((size_t)(P ? P : 1) * (size_t)(r + 1), sizeof *base);
  if (!base) return ox_error(cx, n, "out of memory");
  for (int64_t p = 0; p < P; p++) {
    int64_t rest = p;
    for (int i = r - 1; i >= 0; i--) { /* spatial axis i, innermost last */
      int64_t s = size[2 + i], k = rest % s;
      rest /= s;
      base[p * (r + 1) + (r - 1 - i)] = affine_pos(k, s, align);
    }
    base[p * (r + 1) + r] = 1;
  }
  int64_t bd[2] = {P, r + 1};
  ir_id bc = ir_convert(&cx->b, ir_constant(&cx->b, ir_shape_make(IR_F64, 2, bd), base), ts.type);
  free(base);
  ir_dot_dims dd;
  memset(&dd, 0, sizeof dd);
  dd.ncontract = 1;
  dd.lhs_contract[0] = 2;
  dd.rhs_contract[0] = 1;
  ir_id y = ir_dot(&cx->b, theta, bc, &dd, IR_TUPLE); /* [N, r, P] */
  int64_t perm[3] = {0, 2, 1};
  n->out[0] = ox_reshape(cx, ir_transpose(&cx->b, y, perm), r + 2, od);
  return n->out[0] != IR_NONE;
}

/* ---- RoiAlign ---- */

typedef struct ra_axis {
  ir_id idx, w; /* [R, P, G, 2]: the low and high corner and their weights */
  ir_id keep;   /* [R, P, G]: sample g is within the region's count (adaptive) */
} ra_axis;

/* One axis of the RoiAlign sampling: start, bin and count [R] (coordinate
 * type), P bins of G samples over an input axis of `size`. */
static void ra_plan_axis(ox_ctx *cx, ir_id start, ir_id bin, ir_id count, int64_t R, int64_t P, int64_t G, int64_t size,
                         bool adaptive, ra_axis *ax) {
  ir_type ct = type_of(cx, start);
  int64_t d[3] = {R, P, G}, m0 = 0;
  ir_shape s = ir_shape_make(ct, 3, d);
  ir_id p = ir_iota(&cx->b, s, 1), g = ir_iota(&cx->b, s, 2);
  ir_id st = ir_broadcast(&cx->b, start, 3, d, &m0), bn = ir_broadcast(&cx->b, bin, 3, d, &m0);
  ir_id cn = ir_broadcast(&cx->b, count, 3, d, &m0);
  ir_id pos = add(cx, add(cx, st, mul(cx, p, bn)), ir_binary(&cx->b, IR_OP_DIV, mul(cx, addk(cx, g, 0.5), bn), cn));
  double sz = (double)size;
  ir_id out = or_(cx, cmpk(cx, IR_CMP_LT, pos, -1), cmpk(cx, IR_CMP_GT, pos, sz));
  ir_id v = ir_binary(&cx->b, IR_OP_MAX, pos, kf(cx, pos, 0));
  ir_id lo = floor_(cx, v);
  ir_id edge = cmpk(cx, IR_CMP_GE, lo, sz - 1);
  ir_id last = kf(cx, lo, sz - 1);
  ir_id hi = ir_select(&cx->b, edge, last, addk(cx, lo, 1));
  lo = ir_select(&cx->b, edge, last, lo);
  v = ir_select(&cx->b, edge, lo, v);
  ir_id l = sub(cx, v, lo), h = sub(cx, kf(cx, l, 1), l);
  /* A sample outside [-1, size] contributes 0 (it still counts). */
  ir_id zero = kf(cx, l, 0);
  l = ir_select(&cx->b, out, zero, l);
  h = ir_select(&cx->b, out, zero, h);
  ir_id two[2] = {lo, hi}, ws[2] = {h, l};
  ax->idx = columns(cx, 2, two);
  ax->w = columns(cx, 2, ws);
  ax->keep = adaptive ? ir_compare(&cx->b, IR_CMP_LT, g, cn) : IR_NONE;
}

/* The sampling grid of each region for sampling_ratio=0: ceil(size / bins)
 * samples per bin along each axis, from the region coordinates known at
 * import time (in the coordinate type, as implementations compute them). */
static bool ra_adaptive_counts(ox_ctx *cx, const ox_node *n, ir_id rois, ir_type ct, double scale, double off, bool half,
                               int64_t oh, int64_t ow, double *gh, double *gw) {
  const void *data = ox_const_data(cx, n, rois, "the 'rois' input (needed at import time for sampling_ratio=0)");
  if (!data) return false;
  ir_shape s = ox_shape(cx, rois);
  for (int64_t r = 0; r < s.dims[0]; r++) {
    double c[4];
    for (int j = 0; j < 4; j++) c[j] = ir_elem_get_f(s.type, data, r * 4 + j) * scale - off;
    double rw = c[2] - c[0], rh = c[3] - c[1];
    if (ct == IR_F32) {
      rw = (float)((float)c[2] - (float)c[0]);
      rh = (float)((float)c[3] - (float)c[1]);
    }
    if (!half) {
      rw = rw > 1 ? rw : 1;
      rh = rh > 1 ? rh : 1;
    }
    gh[r] = ct == IR_F32 ? ceil((float)rh / (float)oh) : ceil(rh / (double)oh);
    gw[r] = ct == IR_F32 ? ceil((float)rw / (float)ow) : ceil(rw / (double)ow);
  }
  return true;
}

static bool ra_attrs(ox_ctx *cx, const ox_node *n, bool *is_max, bool *half) {
  static const char *const modes[] = {"avg", "max", NULL};
  static const char *const ctms[] = {"half_pixel", "output_half_pixel", NULL};
  int m = ox_attr_choice(cx, n, "mode", "avg", modes);
  /* RoiAlign-10 has no attribute: it is output_half_pixel. */
  int c = n->opset >= 16 ? ox_attr_choice(cx, n, "coordinate_transformation_mode", "half_pixel", ctms) : 1;
  if (m < 0 || c < 0) return false;
  *is_max = m == 1;
  *half = c == 0;
  return true;
}

static bool check_roi_align(ox_ctx *cx, const ox_node *n) {
  bool a, b;
  return ra_attrs(cx, n, &a, &b);
}

static bool lower_roi_align(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  bool is_max, half, ok = true;
  if (!ra_attrs(cx, n, &is_max, &half)) return false;
  int64_t oh = ox_attr_int(cx, n, "output_height", 1, &ok), ow = ox_attr_int(cx, n, "output_width", 1, &ok);
  int64_t sr = ox_attr_int(cx, n, "sampling_ratio", 0, &ok);
  double scale = ox_attr_float(cx, n, "spatial_scale", 1.0f, &ok);
  if (!ok) return false;
  if (oh < 1 || ow < 1) return ox_error(cx, n, "output_height and output_width must be positive (%lld, %lld)", (long long)oh, (long long)ow);
  if (sr < 0) return ox_error(cx, n, "sampling_ratio is %lld; it must be >= 0", (long long)sr);
  ir_id x = n->in[0], rois = n->in[1], bidx = n->in[2];
  ir_shape xs = ox_shape(cx, x), rs = ox_shape(cx, rois), bs = ox_shape(cx, bidx);
  if (xs.rank != 4) return ox_error(cx, n, "input X must be 4-D [N, C, H, W]; it has rank %d", xs.rank);
  if (!ox_need_float(cx, n, x, "input X") || !ox_need_float(cx, n, rois, "input rois")) return false;
  if (rs.rank != 2 || rs.dims[1] != 4) return ox_error(cx, n, "input rois must have shape [num_rois, 4]");
  if (bs.rank != 1 || bs.dims[0] != rs.dims[0] || !ir_type_is_int(bs.type))
    return ox_error(cx, n, "input batch_indices must be an integer tensor of shape [%lld]", (long long)rs.dims[0]);
  int64_t R = rs.dims[0], C = xs.dims[1], H = xs.dims[2], W = xs.dims[3];
  int64_t od[4] = {R, C, oh, ow};
  if (!ox_check_size(cx, n, xs.type, 4, od)) return false;
  if (R * C == 0) {
    n->out[0] = ir_broadcast(&cx->b, ox_scalar(cx, xs.type, 0), 4, od, NULL);
    return n->out[0] != IR_NONE;
  }
  if (H == 0 || W == 0) return ox_error(cx, n, "input X has an empty spatial dimension to sample from");
  ir_type ct = coord_type(xs.type);
  double off = half ? 0.5 : 0;
  bool adaptive = sr == 0;
  double *gh = calloc((size_t)R, sizeof *gh), *gw = calloc((size_t)R, sizeof *gw);
  if (!gh || !gw) {
    free(gh);
    free(gw);
    return ox_error(cx, n, "out of memory");
  }
  bool any_empty = false;
  int64_t Gh = sr, Gw = sr;
  if (adaptive) {
    if (!ox_is_const(cx, rois)) {
      free(gh);
      free(gw);
      return ox_unsupported(cx, n,
                            "sampling_ratio=0 (adaptive) needs the 'rois' input known at import time: the number of "
                            "samples then differs per region; give sampling_ratio > 0 or constant rois");
    }
    if (!ra_adaptive_counts(cx, n, rois, ct, scale, off, half, oh, ow, gh, gw)) {
      free(gh);
      free(gw);
      return false;
    }
    Gh = Gw = 1;
    for (int64_t r = 0; r < R; r++) {
      if (gh[r] <= 0 || gw[r] <= 0) any_empty = true;
      if (gh[r] > (double)Gh) Gh = (int64_t)gh[r];
      if (gw[r] > (double)Gw) Gw = (int64_t)gw[r];
    }
    if (Gh > 4096 || Gw > 4096) {
      free(gh);
      free(gw);
      return ox_unsupported(cx, n, "a region needs %lld x %lld samples per bin; kiln takes at most 4096 per axis",
                            (long long)Gh, (long long)Gw);
    }
  } else {
    for (int64_t r = 0; r < R; r++) gh[r] = gw[r] = (double)sr;
  }
  int64_t K = Gh * Gw * 4, A = R * oh * ow, full[7] = {R, oh, ow, Gh, Gw, 2, 2};
  int64_t tap_dims[3] = {A, C, K};
  if (!ox_check_size(cx, n, xs.type, 3, tap_dims)) {
    free(gh);
    free(gw);
    return false;
  }
  /* Per-region counts, and the divisor of avg: max(gh * gw, 1). */
  double *cnt = calloc((size_t)R, sizeof *cnt);
  uint8_t *empty = calloc((size_t)R, 1);
  if (!cnt || !empty) {
    free(gh);
    free(gw);
    free(cnt);
    free(empty);
    return ox_error(cx, n, "out of memory");
  }
  for (int64_t r = 0; r < R; r++) {
    double c = gh[r] * gw[r];
    cnt[r] = c > 1 ? c : 1;
    empty[r] = gh[r] <= 0 || gw[r] <= 0;
  }
  ir_shape r1 = ir_shape_make(IR_F64, 1, &R);
  ir_id gh_c = ir_convert(&cx->b, ir_constant(&cx->b, r1, gh), ct);
  ir_id gw_c = ir_convert(&cx->b, ir_constant(&cx->b, r1, gw), ct);
  ir_id cnt_c = ir_convert(&cx->b, ir_constant(&cx->b, r1, cnt), xs.type);
  ir_id empty_c = any_empty ? ir_constant(&cx->b, ir_shape_make(IR_PRED, 1, &R), empty) : IR_NONE;
  free(gh);
  free(gw);
  free(cnt);
  free(empty);

  ir_id rc = ir_convert(&cx->b, rois, ct);
  ir_id c[4];
  for (int j = 0; j < 4; j++) c[j] = addk(cx, mulk(cx, ox_reshape(cx, ox_slice_axis(cx, rc, 1, j, j + 1, 1), 1, &R), scale), -off);
  ir_id rw = sub(cx, c[2], c[0]), rh = sub(cx, c[3], c[1]);
  if (!half) { /* output_half_pixel: malformed regions become 1 x 1 */
    rw = ir_binary(&cx->b, IR_OP_MAX, rw, kf(cx, rw, 1));
    rh = ir_binary(&cx->b, IR_OP_MAX, rh, kf(cx, rh, 1));
  }
  ir_id bin_h = ir_binary(&cx->b, IR_OP_DIV, rh, kf(cx, rh, (double)oh));
  ir_id bin_w = ir_binary(&cx->b, IR_OP_DIV, rw, kf(cx, rw, (double)ow));
  ra_axis ay, ax;
  ra_plan_axis(cx, c[1], bin_h, gh_c, R, oh, Gh, H, adaptive, &ay);
  ra_plan_axis(cx, c[0], bin_w, gw_c, R, ow, Gw, W, adaptive, &ax);
  int64_t ymap[4] = {0, 1, 3, 5}, xmap[4] = {0, 2, 4, 6}, ak[2] = {A, K}, m0 = 0;
  ir_id ids[3];
  ids[0] = ox_reshape(cx, ir_broadcast(&cx->b, bidx, 7, full, &m0), 2, ak);
  ids[1] = ox_reshape(cx, ir_broadcast(&cx->b, ay.idx, 7, full, ymap), 2, ak);
  ids[2] = ox_reshape(cx, ir_broadcast(&cx->b, ax.idx, 7, full, xmap), 2, ak);
  ir_id w = ox_reshape(cx, mul(cx, ir_broadcast(&cx->b, ay.w, 7, full, ymap), ir_broadcast(&cx->b, ax.w, 7, full, xmap)), 2, ak);
  ir_id keep = IR_NONE;
  if (adaptive) {
    int64_t ykm[3] = {0, 1, 3}, xkm[3] = {0, 2, 4};
    keep = ox_reshape(cx, and_(cx, ir_broadcast(&cx->b, ay.keep, 7, full, ykm), ir_broadcast(&cx->b, ax.keep, 7, full, xkm)), 2, ak);
  }
  /* max mode takes the largest weighted corner value of every sample, as
   * ONNX Runtime and the reference do. */
  ir_id y = reduce_taps(cx, gather_taps(cx, x, 2, ids), w, keep, is_max ? IR_COMB_MAX : IR_COMB_ADD);
  int64_t rhwc[4] = {R, oh, ow, C}, perm[4] = {0, 3, 1, 2};
  y = ox_reshape(cx, y, 4, rhwc);
  if (!is_max) y = ir_binary(&cx->b, IR_OP_DIV, y, ir_broadcast(&cx->b, cnt_c, 4, rhwc, &m0));
  else if (empty_c != IR_NONE) /* no samples: 0 */
    y = ir_select(&cx->b, ir_broadcast(&cx->b, empty_c, 4, rhwc, &m0), ox_full_like(cx, y, xs.type, 0), y);
  n->out[0] = ir_transpose(&cx->b, y, perm);
  return n->out[0] != IR_NONE;
}

/* ---- MaxRoiPool ---- */

/* The bins of one axis: for region r and bin p, which of the `size`
 * positions lie in [start, end) ([R, P, size] pred), and whether the bin
 * is empty ([R, P]). lo, hi [R] are the region's rounded ends. */
static ir_id mrp_axis(ox_ctx *cx, ir_id lo, ir_id hi, int64_t R, int64_t P, int64_t size, ir_id *empty) {
  ir_type ct = type_of(cx, lo);
  int64_t d2[2] = {R, P}, d3[3] = {R, P, size}, m0 = 0, m01[2] = {0, 1};
  ir_id len = ir_binary(&cx->b, IR_OP_MAX, addk(cx, sub(cx, hi, lo), 1), kf(cx, lo, 1));
  ir_id bin = ir_binary(&cx->b, IR_OP_DIV, len, kf(cx, len, (double)P));
  ir_id p = ir_iota(&cx->b, ir_shape_make(ct, 2, d2), 1);
  ir_id b2 = ir_broadcast(&cx->b, bin, 2, d2, &m0), l2 = ir_broadcast(&cx->b, lo, 2, d2, &m0);
  double sz = (double)size;
  ir_id st = clampk(cx, add(cx, floor_(cx, mul(cx, p, b2)), l2), 0, sz);
  ir_id en = clampk(cx, add(cx, ir_unary(&cx->b, IR_OP_CEIL, mul(cx, addk(cx, p, 1), b2)), l2), 0, sz);
  *empty = ir_compare(&cx->b, IR_CMP_LE, en, st);
  ir_id h = ir_iota(&cx->b, ir_shape_make(ct, 3, d3), 2);
  ir_id s3 = ir_broadcast(&cx->b, st, 3, d3, m01), e3 = ir_broadcast(&cx->b, en, 3, d3, m01);
  return and_(cx, ir_compare(&cx->b, IR_CMP_GE, h, s3), ir_compare(&cx->b, IR_CMP_LT, h, e3));
}

static bool lower_max_roi_pool(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  bool ok = true;
  int64_t ps[3];
  int np = ox_attr_ints(cx, n, "pooled_shape", ps, 3, &ok);
  double scale = ox_attr_float(cx, n, "spatial_scale", 1.0f, &ok);
  if (!ok) return false;
  if (np != 2 || ps[0] < 1 || ps[1] < 1) return ox_error(cx, n, "attribute pooled_shape must be two positive ints");
  ir_id x = n->in[0], rois = n->in[1];
  ir_shape xs = ox_shape(cx, x), rs = ox_shape(cx, rois);
  if (xs.rank != 4) return ox_error(cx, n, "input X must be 4-D [N, C, H, W]; it has rank %d", xs.rank);
  if (!ox_need_float(cx, n, x, "input X") || !ox_need_float(cx, n, rois, "input rois")) return false;
  if (rs.rank != 2 || rs.dims[1] != 5) return ox_error(cx, n, "input rois must have shape [num_rois, 5]");
  int64_t R = rs.dims[0], C = xs.dims[1], H = xs.dims[2], W = xs.dims[3], PH = ps[0], PW = ps[1];
  int64_t od[4] = {R, C, PH, PW};
  if (!ox_check_size(cx, n, xs.type, 4, od)) return false;
  int64_t big[5] = {R, C, H, PW, W};
  if (!ox_check_size(cx, n, xs.type, 5, big)) return false;
  if (R * C == 0 || H == 0 || W == 0) {
    n->out[0] = ir_broadcast(&cx->b, ox_scalar(cx, xs.type, 0), 4, od, NULL);
    return n->out[0] != IR_NONE;
  }
  ir_type ct = coord_type(xs.type);
  ir_id rc = ir_convert(&cx->b, rois, ct);
  ir_id c[5];
  for (int j = 0; j < 5; j++) c[j] = ox_reshape(cx, ox_slice_axis(cx, rc, 1, j, j + 1, 1), 1, &R);
  for (int j = 1; j < 5; j++) c[j] = round_away(cx, mulk(cx, c[j], scale));
  ir_id ew, eh;
  ir_id mw = mrp_axis(cx, c[1], c[3], R, PW, W, &ew); /* [R, PW, W] */
  ir_id mh = mrp_axis(cx, c[2], c[4], R, PH, H, &eh); /* [R, PH, H] */
  /* Each region's image: X[batch] ([R, C, H, W]). */
  ir_id b = ir_convert(&cx->b, c[0], IR_I32);
  int64_t b2[2] = {R, 1};
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = 1;
  g.nstart_map = g.ncollapsed = 1;
  g.slice_sizes[0] = 1;
  g.slice_sizes[1] = C;
  g.slice_sizes[2] = H;
  g.slice_sizes[3] = W;
  g.noffset = 3;
  g.offset_dims[0] = 1;
  g.offset_dims[1] = 2;
  g.offset_dims[2] = 3;
  ir_id xb = ir_gather(&cx->b, x, ox_reshape(cx, b, 2, b2), &g);
  ir_id lowest = ox_scalar(cx, xs.type, -INFINITY);
  /* Along the width: [R, C, H, PW, W] -> [R, C, H, PW]. */
  int64_t mwm[3] = {0, 3, 4}, xbm[4] = {0, 1, 2, 4}, d4 = 4;
  ir_id t = ir_select(&cx->b, ir_broadcast(&cx->b, mw, 5, big, mwm), ir_broadcast(&cx->b, xb, 5, big, xbm),
                      ir_broadcast(&cx->b, lowest, 5, big, NULL));
  t = ir_reduce(&cx->b, t, 1, &d4, IR_COMB_MAX);
  /* Along the height: [R, C, PH, PW, H] -> [R, C, PH, PW]. */
  int64_t perm[4] = {0, 1, 3, 2}, big2[5] = {R, C, PH, PW, H}, mhm[3] = {0, 2, 4}, tm[4] = {0, 1, 3, 4};
  t = ir_transpose(&cx->b, t, perm); /* [R, C, PW, H] */
  ir_id u = ir_select(&cx->b, ir_broadcast(&cx->b, mh, 5, big2, mhm), ir_broadcast(&cx->b, t, 5, big2, tm),
                      ir_broadcast(&cx->b, lowest, 5, big2, NULL));
  u = ir_reduce(&cx->b, u, 1, &d4, IR_COMB_MAX);
  /* An empty bin is 0. */
  int64_t rp[3] = {R, PH, PW}, ehm[2] = {0, 1}, ewm[2] = {0, 2}, em[3] = {0, 2, 3};
  ir_id e = or_(cx, ir_broadcast(&cx->b, eh, 3, rp, ehm), ir_broadcast(&cx->b, ew, 3, rp, ewm));
  u = ir_select(&cx->b, ir_broadcast(&cx->b, e, 4, od, em), ox_full_like(cx, u, xs.type, 0), u);
  n->out[0] = u;
  return u != IR_NONE;
}

/* ---- Col2Im ---- */

/* The sum over block positions k of the column slice for k, placed into
 * the padded image with holes of stride - 1 between sliding positions:
 * each is one pad (negative edges crop the image's own padding away). */
static bool lower_col2im(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  int64_t img[IR_MAX_RANK], blk[IR_MAX_RANK];
  int r = ox_const_ints(cx, n, n->in[1], img, IR_MAX_RANK, "the 'image_shape' input");
  if (r < 0) return false;
  int rb = ox_const_ints(cx, n, n->in[2], blk, IR_MAX_RANK, "the 'block_shape' input");
  if (rb < 0) return false;
  if (r < 1 || r + 2 > IR_MAX_RANK || rb != r)
    return ox_error(cx, n, "image_shape (%d values) and block_shape (%d values) must have the same, non-zero length", r, rb);
  bool ok = true;
  int64_t dil[IR_MAX_RANK], st[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
  int nd = ox_attr_ints(cx, n, "dilations", dil, IR_MAX_RANK, &ok);
  int ns = ox_attr_ints(cx, n, "strides", st, IR_MAX_RANK, &ok);
  int npd = ox_attr_ints(cx, n, "pads", pads, 2 * IR_MAX_RANK, &ok);
  if (!ok) return false;
  if ((nd >= 0 && nd != r) || (ns >= 0 && ns != r) || (npd >= 0 && npd != 2 * r))
    return ox_error(cx, n, "dilations and strides need %d values and pads %d", r, 2 * r);
  for (int i = 0; i < r; i++) {
    if (nd < 0) dil[i] = 1;
    if (ns < 0) st[i] = 1;
    if (npd < 0) pads[i] = pads[r + i] = 0;
    if (dil[i] < 1 || st[i] < 1 || blk[i] < 1 || img[i] < 1 || pads[i] < 0 || pads[r + i] < 0)
      return ox_error(cx, n, "axis %d: image size, block size, dilation and stride must be positive and pads >= 0", i);
  }
  ir_id x = n->in[0];
  ir_shape xs = ox_shape(cx, x);
  if (ir_type_is_pred(xs.type)) return ox_unsupported(cx, n, "input has type pred; Col2Im sums a numeric type");
  if (xs.rank != 3) return ox_error(cx, n, "input must be 3-D [N, C * prod(block_shape), L]; it has rank %d", xs.rank);
  int64_t K = 1, L = 1, nl[IR_MAX_RANK];
  for (int i = 0; i < r; i++) {
    K *= blk[i];
    int64_t span = dil[i] * (blk[i] - 1) + 1, padded = img[i] + pads[i] + pads[r + i];
    if (padded < span) return ox_error(cx, n, "axis %d: the block (%lld with dilation) exceeds the padded image (%lld)", i, (long long)span, (long long)padded);
    nl[i] = (padded - span) / st[i] + 1;
    L *= nl[i];
  }
  if (xs.dims[1] % K != 0 || xs.dims[2] != L)
    return ox_error(cx, n, "input has shape [%lld, %lld, %lld]; it needs C * %lld columns of %lld sliding positions",
                    (long long)xs.dims[0], (long long)xs.dims[1], (long long)xs.dims[2], (long long)K, (long long)L);
  int64_t N = xs.dims[0], C = xs.dims[1] / K;
  int64_t xd[3] = {N * C, K, L}, od[IR_MAX_RANK], sd[IR_MAX_RANK];
  od[0] = sd[0] = N;
  od[1] = sd[1] = C;
  for (int i = 0; i < r; i++) {
    od[2 + i] = img[i];
    sd[2 + i] = nl[i];
  }
  if (!ox_check_size(cx, n, xs.type, r + 2, od)) return false;
  ir_id xr = ox_reshape(cx, x, 3, xd);
  ir_id zero = ox_scalar(cx, xs.type, 0), y = IR_NONE;
  for (int64_t k = 0; k < K; k++) {
    int64_t lo[IR_MAX_RANK] = {0}, hi[IR_MAX_RANK] = {0}, in[IR_MAX_RANK] = {0}, rest = k;
    for (int i = r - 1; i >= 0; i--) {
      int64_t ki = rest % blk[i];
      rest /= blk[i];
      lo[2 + i] = ki * dil[i] - pads[i];
      in[2 + i] = st[i] - 1;
      hi[2 + i] = img[i] - (lo[2 + i] + (nl[i] - 1) * st[i] + 1);
    }
    ir_id s = ox_reshape(cx, ox_slice_axis(cx, xr, 1, k, k + 1, 1), r + 2, sd);
    ir_id p = ir_pad(&cx->b, s, zero, lo, hi, in);
    y = y == IR_NONE ? p : add(cx, y, p);
  }
  n->out[0] = y;
  return y != IR_NONE;
}

/* ---- CenterCropPad ---- */

/* One pad: a negative edge crops. The crop or pad is centred, its odd
 * element at the end. */
static bool lower_center_crop_pad(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0];
  ir_shape xs = ox_shape(cx, x);
  int rank = xs.rank;
  int64_t shape[IR_MAX_RANK], axes[IR_MAX_RANK];
  int ns = ox_const_ints(cx, n, n->in[1], shape, IR_MAX_RANK, "the 'shape' input");
  if (ns < 0) return false;
  bool ok = true;
  int na = ox_attr_ints(cx, n, "axes", axes, IR_MAX_RANK, &ok);
  if (!ok) return false;
  if (na < 0) {
    na = rank;
    for (int i = 0; i < rank; i++) axes[i] = i;
  }
  if (ns != na) return ox_error(cx, n, "the 'shape' input has %d values for %d axes", ns, na);
  int64_t lo[IR_MAX_RANK] = {0}, hi[IR_MAX_RANK] = {0}, in[IR_MAX_RANK] = {0}, od[IR_MAX_RANK];
  bool seen[IR_MAX_RANK] = {false};
  memcpy(od, xs.dims, sizeof od);
  for (int i = 0; i < na; i++) {
    int64_t a;
    if (!ox_axis(cx, n, axes[i], rank, false, &a)) return false;
    if (seen[a]) return ox_error(cx, n, "axis %lld is listed twice", (long long)a);
    seen[a] = true;
    if (shape[i] < 0) return ox_error(cx, n, "shape %d is %lld", i, (long long)shape[i]);
    int64_t d = xs.dims[a], s = shape[i];
    lo[a] = s < d ? -((d - s) / 2) : (s - d) / 2;
    hi[a] = s - d - lo[a];
    od[a] = s;
  }
  if (!ox_check_size(cx, n, xs.type, rank, od)) return false;
  n->out[0] = ir_pad(&cx->b, x, ox_scalar(cx, xs.type, 0), lo, hi, in);
  return n->out[0] != IR_NONE;
}

/* ---- DeformConv ---- */

/* A convolution whose kernel taps read X at positions moved by the
 * per-output `offset` input: each tap is a linear interpolation of X at
 * (pixel coordinates, zeros outside), times the optional mask. The
 * sampled columns [N, positions, C * kernel] then meet the weights in one
 * grouped dot. Channels are split into offset_group blocks, each with its
 * own offsets: X is viewed as [N * offset_group, C / offset_group, ...] so
 * that a block's gather index is n * offset_group + block. */
static bool lower_deform_conv(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 3)) return false;
  ir_id x = n->in[0], wt = n->in[1], off = n->in[2];
  ir_id bias = n->nin > 3 ? n->in[3] : IR_NONE, mask = n->nin > 4 ? n->in[4] : IR_NONE;
  if (!ox_need_float(cx, n, x, "input X") || !ox_need_float(cx, n, wt, "input W") || !ox_need_float(cx, n, off, "input offset"))
    return false;
  ir_shape xs = ox_shape(cx, x), ws = ox_shape(cx, wt), os = ox_shape(cx, off);
  int r = xs.rank - 2;
  if (r < 1 || r > 3) return ox_unsupported(cx, n, "input X has rank %d; kiln's DeformConv takes 1 to 3 spatial dimensions", xs.rank);
  if (ws.rank != xs.rank || os.rank != xs.rank || os.dims[0] != xs.dims[0])
    return ox_error(cx, n, "inputs W and offset must have X's rank %d (offset: [N, offset_group * kernel size * %d, output...])", xs.rank, r);
  if (ws.type != xs.type) return ox_error(cx, n, "inputs X and W must have one type (%s, %s)", ir_type_name(xs.type), ir_type_name(ws.type));
  bool ok = true;
  int64_t G = ox_attr_int(cx, n, "group", 1, &ok), OG = ox_attr_int(cx, n, "offset_group", 1, &ok);
  int64_t dil[IR_MAX_RANK], st[IR_MAX_RANK], pads[2 * IR_MAX_RANK], ks[IR_MAX_RANK];
  int nd = ox_attr_ints(cx, n, "dilations", dil, IR_MAX_RANK, &ok), ns = ox_attr_ints(cx, n, "strides", st, IR_MAX_RANK, &ok);
  int np = ox_attr_ints(cx, n, "pads", pads, 2 * IR_MAX_RANK, &ok), nk = ox_attr_ints(cx, n, "kernel_shape", ks, IR_MAX_RANK, &ok);
  if (!ok) return false;
  if ((nd >= 0 && nd != r) || (ns >= 0 && ns != r) || (np >= 0 && np != 2 * r) || (nk >= 0 && nk != r))
    return ox_error(cx, n, "dilations, strides and kernel_shape need %d values and pads %d", r, 2 * r);
  int64_t N = xs.dims[0], C = xs.dims[1], OC = ws.dims[0], K = 1, P = 1;
  for (int i = 0; i < r; i++) {
    if (nd < 0) dil[i] = 1;
    if (ns < 0) st[i] = 1;
    if (np < 0) pads[i] = pads[r + i] = 0;
    if (nk >= 0 && ks[i] != ws.dims[2 + i])
      return ox_error(cx, n, "kernel_shape[%d] is %lld but W's dimension %d is %lld", i, (long long)ks[i], 2 + i, (long long)ws.dims[2 + i]);
    ks[i] = ws.dims[2 + i];
    if (dil[i] < 1 || st[i] < 1 || ks[i] < 1 || pads[i] < 0 || pads[r + i] < 0)
      return ox_error(cx, n, "axis %d: kernel size, dilation and stride must be positive and pads >= 0", i);
    int64_t o = (xs.dims[2 + i] + pads[i] + pads[r + i] - ((ks[i] - 1) * dil[i] + 1)) / st[i] + 1;
    if (o != os.dims[2 + i])
      return ox_error(cx, n, "offset's spatial dimension %d is %lld; the convolution's output has %lld", 2 + i,
                      (long long)os.dims[2 + i], (long long)o);
    K *= ks[i];
    P *= o;
  }
  if (G < 1 || OG < 1 || C % G || OC % G || ws.dims[1] != C / G || C % OG)
    return ox_error(cx, n, "group=%lld and offset_group=%lld must divide X's %lld channels (and W's %lld outputs, W's "
                    "dimension 1 = C / group)", (long long)G, (long long)OG, (long long)C, (long long)OC);
  if (os.dims[1] != OG * K * r)
    return ox_error(cx, n, "input offset has %lld channels; it needs offset_group * kernel size * %d = %lld", (long long)os.dims[1], r,
                    (long long)(OG * K * r));
  if (mask != IR_NONE) {
    ir_shape ms = ox_shape(cx, mask);
    if (ms.rank != xs.rank || ms.dims[0] != N || ms.dims[1] != OG * K || ir_shape_elements(&ms) != N * OG * K * P)
      return ox_error(cx, n, "input mask must have shape [N, offset_group * kernel size, output...]");
  }
  if (bias != IR_NONE) {
    ir_shape bs = ox_shape(cx, bias);
    if (bs.rank != 1 || bs.dims[0] != OC) return ox_error(cx, n, "input B must be 1-D of %lld values", (long long)OC);
  }
  int64_t od[IR_MAX_RANK];
  od[0] = N;
  od[1] = OC;
  for (int i = 0; i < r; i++) od[2 + i] = os.dims[2 + i];
  if (!ox_check_size(cx, n, xs.type, r + 2, od)) return false;
  int64_t Cg = C / OG, A = N * OG * K * P, T = 1 << r;
  int64_t tap_dims[3] = {A, Cg, T};
  if (!ox_check_size(cx, n, xs.type, 3, tap_dims)) return false;
  if (A == 0 || C == 0 || OC == 0) {
    n->out[0] = ir_broadcast(&cx->b, ox_scalar(cx, xs.type, 0), r + 2, od, NULL);
    return n->out[0] != IR_NONE;
  }
  for (int i = 0; i < r; i++)
    if (xs.dims[2 + i] == 0) return ox_error(cx, n, "input X has an empty spatial dimension %d", 2 + i);
  ir_type ct = coord_type(xs.type);
  /* The undeformed tap positions [K, P] per axis, known at import time. */
  double *base = calloc((size_t)(K * P), sizeof *base);
  if (!base) return ox_error(cx, n, "out of memory");
  int64_t d5[5] = {N, OG, K, r, P}, d4[4] = {N, OG, K, P}, m23[2] = {2, 3}, kp[2] = {K, P};
  ir_id offr = ir_convert(&cx->b, ox_reshape(cx, off, 5, d5), ct);
  gs_axis ax[IR_MAX_RANK];
  int64_t taps[IR_MAX_RANK];
  for (int i = 0; i < r; i++) {
    for (int64_t k = 0; k < K; k++)
      for (int64_t p = 0; p < P; p++) {
        int64_t kr = k, pr = p, ki = 0, oi = 0;
        for (int j = r - 1; j >= i; j--) {
          ki = kr % ks[j];
          kr /= ks[j];
          oi = pr % os.dims[2 + j];
          pr /= os.dims[2 + j];
        }
        base[k * P + p] = (double)(oi * st[i] - pads[i] + ki * dil[i]);
      }
    ir_id bc = ir_convert(&cx->b, ir_constant(&cx->b, ir_shape_make(IR_F64, 2, kp), base), ct);
    ir_id oi = ox_reshape(cx, ox_slice_axis(cx, offr, 3, i, i + 1, 1), 4, d4);
    ir_id pos = ox_reshape(cx, add(cx, ir_broadcast(&cx->b, bc, 4, d4, m23), oi), 1, &A);
    gs_taps(cx, pos, xs.dims[2 + i], r, GS_LINEAR, GS_ZEROS, true, &ax[i]);
    taps[i] = 2;
  }
  free(base);
  /* X as [N * OG, Cg, S...]; the gather index of a tap is n * OG + og. */
  int64_t xd[IR_MAX_RANK];
  xd[0] = N * OG;
  xd[1] = Cg;
  for (int i = 0; i < r; i++) xd[2 + i] = xs.dims[2 + i];
  ir_id xv = ox_reshape(cx, x, r + 2, xd);
  int64_t bd[2] = {N * OG, K * P}, ak[2] = {A, T}, m0 = 0;
  ir_id bi = ox_reshape(cx, ir_iota(&cx->b, ir_shape_make(IR_I32, 2, bd), 0), 1, &A);
  ir_id ids[IR_MAX_RANK], w = IR_NONE, keep = IR_NONE;
  ids[0] = ir_broadcast(&cx->b, bi, 2, ak, &m0);
  for (int i = 0; i < r; i++) {
    ids[1 + i] = spread(cx, ax[i].idx, r, i, A, taps);
    ir_id wi = spread(cx, ax[i].w, r, i, A, taps), vi = spread(cx, ax[i].valid, r, i, A, taps);
    w = w == IR_NONE ? wi : mul(cx, w, wi);
    keep = keep == IR_NONE ? vi : and_(cx, keep, vi);
  }
  ir_id col = reduce_taps(cx, gather_taps(cx, xv, r, ids), w, keep, IR_COMB_ADD); /* [A, Cg] */
  int64_t acg[2] = {A, Cg};
  if (mask != IR_NONE)
    col = mul(cx, col, ir_broadcast(&cx->b, ir_convert(&cx->b, ox_reshape(cx, mask, 1, &A), xs.type), 2, acg, &m0));
  /* [N, OG, K, P, Cg] -> [N, P, OG, Cg, K] -> [N * P, G, C / G * K]. */
  int64_t c5[5] = {N, OG, K, P, Cg}, perm5[5] = {0, 3, 1, 4, 2}, c3[3] = {N * P, G, C / G * K};
  col = ox_reshape(cx, ir_transpose(&cx->b, ox_reshape(cx, col, 5, c5), perm5), 3, c3);
  int64_t w3[3] = {G, OC / G, C / G * K};
  ir_dot_dims dd;
  memset(&dd, 0, sizeof dd);
  dd.nbatch = dd.ncontract = 1;
  dd.lhs_batch[0] = 0;
  dd.rhs_batch[0] = 1;
  dd.lhs_contract[0] = 2;
  dd.rhs_contract[0] = 2;
  ir_id y = ir_dot(&cx->b, ox_reshape(cx, wt, 3, w3), col, &dd, IR_TUPLE); /* [G, OC / G, N * P] */
  int64_t onp[3] = {OC, N, P}, perm3[3] = {1, 0, 2}, nop[3] = {N, OC, P}, m1 = 1;
  y = ir_transpose(&cx->b, ox_reshape(cx, y, 3, onp), perm3);
  if (bias != IR_NONE) y = add(cx, y, ir_broadcast(&cx->b, ir_convert(&cx->b, bias, xs.type), 3, nop, &m1));
  n->out[0] = ox_reshape(cx, y, r + 2, od);
  return n->out[0] != IR_NONE;
}

const ox_op ox_ops_spatial[] = {
    {"GridSample", 16, lower_grid_sample, check_grid_sample, {2, 2}, {1, 1}, "align_corners:i mode:s padding_mode:s", 22},
    {"AffineGrid", 20, lower_affine_grid, NULL, {2, 2}, {1, 1}, "align_corners:i", 20},
    {"RoiAlign", 10, lower_roi_align, check_roi_align, {3, 3}, {1, 1},
     "coordinate_transformation_mode:s@16- mode:s output_height:i output_width:i sampling_ratio:i spatial_scale:f", 22},
    {"MaxRoiPool", 1, lower_max_roi_pool, NULL, {2, 2}, {1, 1}, "pooled_shape:I spatial_scale:f", 22},
    {"Col2Im", 18, lower_col2im, NULL, {3, 3}, {1, 1}, "dilations:I pads:I strides:I", 18},
    {"CenterCropPad", 18, lower_center_crop_pad, NULL, {2, 2}, {1, 1}, "axes:I", 18},
    {"DeformConv", 19, lower_deform_conv, NULL, {3, 5}, {1, 1},
     "dilations:I group:i kernel_shape:I offset_group:i pads:I strides:I", 22},
    {0},
};
