/*
 * Resize (opsets 10, 11, 13, 18, 19) and Upsample (opsets 7 and 9).
 *
 * Shapes are static, so every sampling position is known at import time.
 * Interpolation is separable: each resized axis in turn (the last first,
 * which is the order in which ONNX's reference applies tf_crop_and_resize's
 * extrapolation) becomes a sum over a few taps of gathers along that axis
 * with constant indices, each times a constant weight vector broadcast
 * along the axis: 1 tap for nearest, 2 for linear, 4 for cubic. Nearest
 * upsampling by an integer factor is a broadcast and a reshape instead.
 *
 * Positions follow ONNX's reference (onnx/backend/test/case/node/resize.py):
 * x_original from the coordinate transformation, base = ceil(x) - 1 and
 * ratio = x - base in (0, 1], taps base-1..base+2 (cubic) or base..base+1,
 * indices clamped to the input (edge padding), exclude_outside zeroing and
 * renormalising the weights of taps outside it. Opset 10 Resize and
 * Upsample use the asymmetric transform; their nearest mode rounds down
 * when upsampling and up when downsampling (as ONNX Runtime does).
 *
 * Resize-18 adds `axes` (scales, sizes and roi name only those axes; the
 * others keep scale 1 and roi [0, 1]), keep_aspect_ratio_policy (with
 * sizes: one scale for all the named axes, the smallest or largest of
 * sizes / input, and sizes rounded half up from it) and antialias: when
 * linear or cubic interpolation downscales (scale < 1), the filter is
 * stretched by 1 / scale, so a tap at distance t from x_original weighs
 * filter(t * scale), over every tap where that is non-zero, renormalised
 * to sum 1. Resize-19 adds coordinate mode half_pixel_symmetric, which
 * shifts half_pixel so that the input's centre maps to the output's when
 * the output size was rounded down.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/literal.h"

typedef enum { M_NEAREST, M_LINEAR, M_CUBIC } rz_mode;
typedef enum {
  CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_HALF_PIXEL, CT_TF_CROP, CT_HALF_PIXEL_SYM,
} rz_coord;
typedef enum { KA_STRETCH, KA_NOT_LARGER, KA_NOT_SMALLER } rz_keep;
typedef enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE } rz_nearest;

typedef struct rz_attrs {
  rz_mode mode;
  rz_coord coord;
  rz_nearest nearest;
  double cubic_a, extrapolation;
  bool exclude_outside;
  bool antialias;
  rz_keep keep;
} rz_attrs;

/* Taps of one output position at most (antialiasing a scale of 1/64 takes
 * 2 * 64 for linear, 4 * 64 for cubic); each tap is a gather in the IR. */
#define RZ_MAX_TAPS 256

static int pick(const char *s, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(s, names[i])) return i;
  return -1;
}

/* Reads (and checks) the attributes; Upsample and opset 10 Resize have
 * only `mode`. */
static bool read_attrs(ox_ctx *cx, const ox_node *n, bool legacy, rz_attrs *a) {
  static const char *const modes[] = {"nearest", "linear", "cubic"};
  static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                       "tf_half_pixel_for_nn", "tf_crop_and_resize", "half_pixel_symmetric"};
  static const char *const keeps[] = {"stretch", "not_larger", "not_smaller", NULL};
  static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  bool ok = true;
  memset(a, 0, sizeof *a);
  const char *m = ox_attr_string(cx, n, "mode", "nearest", &ok);
  if (!ok) return false;
  int mi = pick(m, modes, 3);
  /* Upsample-7 spelled linear "bilinear" in some exporters. */
  if (mi < 0 && !strcmp(m, "bilinear")) mi = M_LINEAR;
  if (mi < 0 || (legacy && mi == M_CUBIC))
    return ox_error(cx, n, "attribute mode='%s' is not supported (%s)", m, legacy ? "nearest or linear" : "nearest, linear or cubic");
  a->mode = (rz_mode)mi;
  if (legacy) {
    a->coord = CT_ASYMMETRIC;
    a->nearest = NM_SIMPLE;
    return true;
  }
  const char *c = ox_attr_string(cx, n, "coordinate_transformation_mode", "half_pixel", &ok);
  const char *nm = ox_attr_string(cx, n, "nearest_mode", "round_prefer_floor", &ok);
  a->cubic_a = ox_attr_float(cx, n, "cubic_coeff_a", -0.75f, &ok);
  a->exclude_outside = ox_attr_int(cx, n, "exclude_outside", 0, &ok) != 0;
  a->extrapolation = ox_attr_float(cx, n, "extrapolation_value", 0.0f, &ok);
  int ki = 0;
  if (n->opset >= 18) {
    a->antialias = ox_attr_int(cx, n, "antialias", 0, &ok) != 0;
    ki = ox_attr_choice(cx, n, "keep_aspect_ratio_policy", "stretch", keeps);
  }
  if (!ok || ki < 0) return false;
  int ci = pick(c, coords, n->opset >= 19 ? 7 : 6), ni = pick(nm, nearests, 4);
  if (ci < 0 && !strcmp(c, "half_pixel_symmetric"))
    return ox_error(cx, n, "coordinate_transformation_mode 'half_pixel_symmetric' is defined from opset 19; the model "
                           "declares %d", n->opset);
  if (ci < 0) return ox_error(cx, n, "attribute coordinate_transformation_mode='%s' is not supported", c);
  a->keep = (rz_keep)ki;
  if (ni < 0) return ox_error(cx, n, "attribute nearest_mode='%s' is not supported", nm);
  a->coord = (rz_coord)ci;
  a->nearest = (rz_nearest)ni;
  return true;
}

static bool check_resize(ox_ctx *cx, const ox_node *n) {
  rz_attrs a;
  return read_attrs(cx, n, n->opset < 11, &a);
}

static bool check_upsample(ox_ctx *cx, const ox_node *n) {
  rz_attrs a;
  return read_attrs(cx, n, true, &a);
}

/* The taps of one resized axis: for output position o, tap t reads input
 * index idx[t * out + o] with weight w[t * out + o]; out-of-range
 * positions (tf_crop_and_resize) take the extrapolation value. */
typedef struct rz_axis {
  int taps;
  int64_t in, out;
  int64_t *idx;
  double *w;
  uint8_t *outside; /* pred data: 1 where out of range */
  bool any_outside;
} rz_axis;

static double x_original(const rz_attrs *a, double x, double scale, int64_t in, int64_t out, double roi_lo,
                         double roi_hi) {
  double len = scale * (double)in; /* as the reference: scale times input length */
  switch (a->coord) {
    case CT_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
    case CT_HALF_PIXEL_SYM: {
      /* half_pixel shifted by the part of the input's centre that rounding
       * the output size down moved: (in / 2) * (1 - out / len). */
      double offset = (double)in / 2 * (1 - (double)out / len);
      return offset + (x + 0.5) / scale - 0.5;
    }
    case CT_PYTORCH_HALF_PIXEL: return len > 1 ? (x + 0.5) / scale - 0.5 : 0;
    case CT_ALIGN_CORNERS: return len == 1 ? 0 : x * (double)(in - 1) / (len - 1);
    case CT_ASYMMETRIC: return x / scale;
    case CT_TF_HALF_PIXEL: return (x + 0.5) / scale;
    case CT_TF_CROP:
    default:
      if (len == 1) return (roi_hi - roi_lo) * (double)(in - 1) / 2 + roi_lo * (double)(in - 1);
      return x * (roi_hi - roi_lo) * (double)(in - 1) / (len - 1) + roi_lo * (double)(in - 1);
  }
}

/* The cubic convolution kernel with parameter A at distance t. */
static double cubic_kernel(double t, double A) {
  t = fabs(t);
  if (t <= 1) return ((A + 2) * t - (A + 3)) * t * t + 1;
  if (t < 2) return ((A * t - 5 * A) * t + 8 * A) * t - 4 * A;
  return 0;
}

/* The four cubic weights of the taps at -1, 0, 1, 2 around a point at
 * fraction r past tap 0. */
static void cubic_coeffs(double r, double A, double *c) {
  double s = 1 - r;
  c[0] = cubic_kernel(r + 1, A);
  c[1] = cubic_kernel(r, A);
  c[2] = cubic_kernel(s, A);
  c[3] = cubic_kernel(s + 1, A);
}

/* Antialiased linear or cubic interpolation when downscaling: the filter
 * (support 1 or 2) is stretched by 1 / scale. The taps are the
 * 2 * (1 - first) input positions nearest x_original = base + r, starting
 * at base + first with first = floor(-support / scale) + 1 (every position
 * where the stretched filter can be non-zero), each weighing
 * filter((i - x_original) * scale), normalised to sum 1. Returns the
 * number of taps. */
static int antialias_taps(const rz_attrs *a, double scale) {
  double support = a->mode == M_CUBIC ? 2 : 1;
  return 2 * (1 - (int)(floor(-support / scale) + 1));
}

/* Fills ax for one axis (taps per output position as computed by the
 * caller); false when out of memory. */
static bool plan_axis(const rz_attrs *a, int64_t in, int64_t out, double scale, double roi_lo, double roi_hi, int taps,
                      rz_axis *ax) {
  memset(ax, 0, sizeof *ax);
  ax->in = in;
  ax->out = out;
  ax->taps = taps;
  bool aa = taps > 4 || (a->antialias && a->mode != M_NEAREST && scale < 1);
  size_t cells = (size_t)ax->taps * (size_t)(out > 0 ? out : 1);
  ax->idx = calloc(cells, sizeof *ax->idx);
  ax->w = calloc(cells, sizeof *ax->w);
  ax->outside = calloc((size_t)(out > 0 ? out : 1), sizeof *ax->outside);
  if (!ax->idx || !ax->w || !ax->outside) return false;
  for (int64_t o = 0; o < out; o++) {
    double x = x_original(a, (double)o, scale, in, out, roi_lo, roi_hi);
    if (a->coord == CT_TF_CROP && (x < 0 || x > (double)(in - 1))) {
      ax->outside[o] = 1;
      ax->any_outside = true;
      x = 0;
    }
    if (a->nearest == NM_SIMPLE && a->mode == M_NEAREST) {
      int64_t i = scale < 1 ? (int64_t)ceil(x) : (int64_t)floor(x);
      ax->idx[o] = i < 0 ? 0 : i >= in ? in - 1 : i;
      ax->w[o] = 1;
      continue;
    }
    double base = ceil(x) - 1, r = x - base; /* r in (0, 1] */
    double c[RZ_MAX_TAPS];
    int first; /* offset of the first tap from base */
    if (aa) {
      first = 1 - taps / 2;
      double sum = 0;
      for (int t = 0; t < taps; t++) {
        double d = ((double)(first + t) - r) * scale;
        c[t] = a->mode == M_CUBIC ? cubic_kernel(d, a->cubic_a) : fmax(0, 1 - fabs(d));
        sum += c[t];
      }
      for (int t = 0; t < taps; t++) c[t] /= sum;
    } else if (a->mode == M_CUBIC) {
      cubic_coeffs(r, a->cubic_a, c);
      first = -1;
    } else {
      first = 0;
      if (a->mode == M_LINEAR) {
        c[0] = 1 - r;
        c[1] = r;
      } else {
        bool up;
        if (r == 1) up = true; /* x is an integer: the tap at base + 1 is x */
        else if (a->nearest == NM_ROUND_PREFER_FLOOR) up = r > 0.5;
        else if (a->nearest == NM_ROUND_PREFER_CEIL) up = r >= 0.5;
        else up = a->nearest == NM_CEIL;
        first = up ? 1 : 0;
        c[0] = 1;
      }
    }
    double total = 0;
    for (int t = 0; t < ax->taps; t++) {
      int64_t i = (int64_t)base + first + t;
      if (a->exclude_outside && (i < 0 || i >= in)) c[t] = 0;
      total += c[t];
      ax->idx[t * out + o] = i < 0 ? 0 : i >= in ? in - 1 : i;
    }
    for (int t = 0; t < ax->taps; t++) ax->w[t * out + o] = a->exclude_outside && total != 0 ? c[t] / total : c[t];
  }
  return true;
}

static void free_axis(rz_axis *ax) {
  free(ax->idx);
  free(ax->w);
  free(ax->outside);
}

/* x gathered along `axis` at the constant indices idx[0..out). */
static ir_id take(ox_ctx *cx, ir_id x, int axis, const int64_t *idx, int64_t out) {
  ir_shape s = ox_shape(cx, x);
  ir_id iv = ox_const_i64(cx, (int)out, idx);
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = 1;
  g.nstart_map = 1;
  g.start_index_map[0] = axis;
  g.ncollapsed = 1;
  g.collapsed_slice_dims[0] = axis;
  for (int i = 0; i < s.rank; i++) {
    g.slice_sizes[i] = i == axis ? 1 : s.dims[i];
    if (i != axis) g.offset_dims[g.noffset++] = i;
  }
  return ir_gather(&cx->b, x, iv, &g);
}

/* Repeats every element of x along `axis` k times: [.., I, ..] ->
 * [.., I, k, ..] -> [.., I*k, ..]. */
static ir_id repeat(ox_ctx *cx, ir_id x, int axis, int64_t k) {
  ir_shape s = ox_shape(cx, x);
  int64_t bd[IR_MAX_RANK + 1], map[IR_MAX_RANK], rd[IR_MAX_RANK];
  int r = s.rank;
  if (r + 1 > IR_MAX_RANK) return IR_NONE;
  for (int i = 0, j = 0; i < r; i++) {
    bd[j] = s.dims[i];
    map[i] = j++;
    if (i == axis) bd[j++] = k;
  }
  memcpy(rd, s.dims, sizeof rd);
  rd[axis] *= k;
  return ox_reshape(cx, ir_broadcast(&cx->b, x, r + 1, bd, map), r, rd);
}

/* Applies one planned axis to x. */
static ir_id apply_axis(ox_ctx *cx, ir_id x, int axis, const rz_axis *ax, const rz_attrs *a) {
  ir_shape s = ox_shape(cx, x);
  ir_type t = s.type;
  int64_t out = ax->out, in = ax->in;
  int64_t od[IR_MAX_RANK];
  memcpy(od, s.dims, sizeof od);
  od[axis] = out;
  ir_id y = IR_NONE;
  for (int tp = 0; tp < ax->taps; tp++) {
    const int64_t *idx = ax->idx + tp * out;
    const double *w = ax->w + tp * out;
    bool all_zero = true, all_one = true, ident = out == in, rep = out > in && in > 0 && out % in == 0;
    int64_t k = rep ? out / in : 1;
    for (int64_t o = 0; o < out; o++) {
      all_zero = all_zero && w[o] == 0;
      all_one = all_one && w[o] == 1;
      ident = ident && idx[o] == o;
      rep = rep && idx[o] == o / k;
    }
    if (all_zero) continue;
    ir_id g = ident ? x : rep ? repeat(cx, x, axis, k) : take(cx, x, axis, idx, out);
    if (!all_one) {
      ir_id wc = ir_convert(&cx->b, ir_constant(&cx->b, ir_shape_make(IR_F64, 1, &out), w), t);
      g = ir_binary(&cx->b, IR_OP_MUL, g, ox_broadcast_along(cx, wc, s.rank, od, axis));
    }
    y = y == IR_NONE ? g : ir_binary(&cx->b, IR_OP_ADD, y, g);
  }
  if (y == IR_NONE) y = ox_full_like(cx, take(cx, x, axis, ax->idx, out), t, 0); /* every weight zero */
  if (ax->any_outside) {
    ir_id mk = ir_constant(&cx->b, ir_shape_make(IR_PRED, 1, &out), ax->outside);
    y = ir_select(&cx->b, ox_broadcast_along(cx, mk, s.rank, od, axis), ox_full_like(cx, y, t, a->extrapolation), y);
  }
  return y;
}

/* The common part: x resized to `out` (one size per dimension) with the
 * per-dimension scales used by the coordinate transformation. */
static bool resize(ox_ctx *cx, ox_node *n, const rz_attrs *a, const int64_t *out, const double *scales, const double *roi) {
  ir_id x = n->in[0];
  ir_shape s = ox_shape(cx, x);
  if (a->mode != M_NEAREST && !ir_type_is_float(s.type))
    return ox_unsupported(cx, n, "input X has type %s; kiln's %s interpolation needs a floating-point type", ir_type_name(s.type),
                    a->mode == M_LINEAR ? "linear" : "cubic");
  if (ir_type_is_pred(s.type)) return ox_error(cx, n, "input X has type pred; a numeric type is needed");
  int r = s.rank;
  for (int d = r - 1; d >= 0; d--) {
    if (out[d] < 0) return ox_error(cx, n, "the output size of dimension %d would be %lld", d, (long long)out[d]);
    /* An axis that maps every position to itself (scale 1 in most modes)
     * comes out of apply_axis unchanged: its one tap of weight 1 is the
     * identity and the zero-weight taps are dropped. */
    if (s.dims[d] == 0) return ox_error(cx, n, "cannot resize the empty dimension %d to %lld", d, (long long)out[d]);
    if (out[d] == 0) {
      x = ox_slice_axis(cx, x, d, 0, 0, 1); /* an empty result: any slice of length 0 */
      continue;
    }
    int taps = a->mode == M_CUBIC ? 4 : a->mode == M_LINEAR ? 2 : 1;
    if (a->antialias && a->mode != M_NEAREST && scales[d] < 1) {
      /* The first test keeps the tap count within an int. */
      if (scales[d] * RZ_MAX_TAPS < 1 || (taps = antialias_taps(a, scales[d])) > RZ_MAX_TAPS)
        return ox_unsupported(cx, n, "antialiased downscaling of dimension %d by %g would take more than %d taps", d,
                              scales[d], RZ_MAX_TAPS);
    }
    rz_axis ax;
    bool planned = plan_axis(a, s.dims[d], out[d], scales[d], roi ? roi[d] : 0, roi ? roi[r + d] : 1, taps, &ax);
    if (!planned) {
      free_axis(&ax);
      return ox_error(cx, n, "out of memory");
    }
    x = apply_axis(cx, x, d, &ax, a);
    free_axis(&ax);
    if (x == IR_NONE) return false;
  }
  n->out[0] = x;
  return true;
}

/* Reads scales (floats, one per dimension) from input i. Returns the count
 * (0 for an empty tensor) or -1. */
static int read_floats(ox_ctx *cx, const ox_node *n, int i, double *out, int max, const char *what) {
  const void *data = ox_const_data(cx, n, n->in[i], what);
  if (!data) return -1;
  ir_shape s = ox_shape(cx, n->in[i]);
  if (!ir_type_is_float(s.type)) {
    ox_error(cx, n, "%s must be a floating-point tensor, not %s", what, ir_type_name(s.type));
    return -1;
  }
  int64_t cnt = ir_shape_elements(&s);
  if (s.rank > 1 || cnt > max) {
    ox_error(cx, n, "%s must be a 1-D tensor of at most %d values", what, max);
    return -1;
  }
  for (int64_t k = 0; k < cnt; k++) out[k] = ir_elem_get_f(s.type, data, k);
  return (int)cnt;
}

/* Output sizes from scales: floor(scale * input size). */
static bool sizes_from_scales(ox_ctx *cx, const ox_node *n, int rank, const int64_t *in, const double *scales, int64_t *out) {
  for (int d = 0; d < rank; d++) {
    if (!(scales[d] > 0) || !isfinite(scales[d]))
      return ox_error(cx, n, "scale %d is %g; scales must be positive", d, scales[d]);
    double o = floor(scales[d] * (double)in[d]);
    if (o > (double)INT32_MAX) return ox_error(cx, n, "scale %d makes dimension %d too large", d, d);
    out[d] = (int64_t)o;
  }
  return true;
}

static bool lower_resize(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  rz_attrs a;
  bool legacy = n->opset < 11;
  if (!read_attrs(cx, n, legacy, &a)) return false;
  ir_shape s = ox_shape(cx, n->in[0]);
  int r = s.rank;
  double scales[IR_MAX_RANK + 1], roi[2 * IR_MAX_RANK + 2], vs[IR_MAX_RANK + 1], vroi[2 * IR_MAX_RANK + 2];
  int64_t out[IR_MAX_RANK], vz[IR_MAX_RANK + 1];
  /* axes (opset 18): which dimensions the scales, sizes and roi values
   * name, in their order; all of them by default. */
  int64_t axes[IR_MAX_RANK + 1];
  int na = -1;
  bool ok = true;
  if (n->opset >= 18) na = ox_attr_ints(cx, n, "axes", axes, IR_MAX_RANK + 1, &ok);
  if (!ok) return false;
  bool all_axes = na < 0;
  if (all_axes) {
    na = r;
    for (int d = 0; d < r; d++) axes[d] = d;
  } else {
    bool seen[IR_MAX_RANK] = {false};
    if (na > r) return ox_error(cx, n, "attribute 'axes' has %d values; X has rank %d", na, r);
    for (int i = 0; i < na; i++) {
      if (!ox_axis(cx, n, axes[i], r, false, &axes[i])) return false;
      if (seen[axes[i]]) return ox_error(cx, n, "axis %lld is listed twice in attribute 'axes'", (long long)axes[i]);
      seen[axes[i]] = true;
    }
  }
  int si = legacy ? 1 : 2, zi = 3;
  bool have_scales = n->nin > si && n->in[si] != IR_NONE;
  bool have_sizes = !legacy && n->nin > zi && n->in[zi] != IR_NONE;
  int ns = 0, nz = 0;
  if (have_scales && (ns = read_floats(cx, n, si, vs, IR_MAX_RANK + 1, "the 'scales' input")) < 0) return false;
  if (have_sizes && (nz = ox_const_ints(cx, n, n->in[zi], vz, IR_MAX_RANK + 1, "the 'sizes' input")) < 0) return false;
  if (ns > 0 && nz > 0) return ox_error(cx, n, "only one of 'scales' and 'sizes' may be given");
  for (int d = 0; d < r; d++) {
    scales[d] = 1;
    out[d] = s.dims[d];
  }
  if (ns > 0) {
    if (ns != na && all_axes) return ox_error(cx, n, "the 'scales' input has %d values; X has rank %d", ns, r);
    if (ns != na) return ox_error(cx, n, "the 'scales' input has %d values for the %d axes of attribute 'axes'", ns, na);
    for (int i = 0; i < na; i++) scales[axes[i]] = vs[i];
    if (!sizes_from_scales(cx, n, r, s.dims, scales, out)) return false;
  } else if (nz > 0) {
    if (nz != na && all_axes) return ox_error(cx, n, "the 'sizes' input has %d values; X has rank %d", nz, r);
    if (nz != na) return ox_error(cx, n, "the 'sizes' input has %d values for the %d axes of attribute 'axes'", nz, na);
    for (int i = 0; i < na; i++) {
      int64_t d = axes[i];
      if (vz[i] < 0 || vz[i] > INT32_MAX) return ox_error(cx, n, "size %d is %lld", i, (long long)vz[i]);
      out[d] = vz[i];
      scales[d] = s.dims[d] ? (double)out[d] / (double)s.dims[d] : 1;
    }
    if (a.keep != KA_STRETCH && na > 0) {
      /* One scale for every named axis, the output sizes rounded half up
       * from it. */
      double k = scales[axes[0]];
      for (int i = 1; i < na; i++)
        k = a.keep == KA_NOT_LARGER ? fmin(k, scales[axes[i]]) : fmax(k, scales[axes[i]]);
      for (int i = 0; i < na; i++) {
        int64_t d = axes[i];
        scales[d] = k;
        out[d] = (int64_t)floor(k * (double)s.dims[d] + 0.5);
      }
    }
  } else {
    return ox_error(cx, n, "needs one of the 'scales' and 'sizes' inputs (non-empty)");
  }
  bool have_roi = false;
  if (!legacy && a.coord == CT_TF_CROP) {
    int nr = n->nin > 1 && n->in[1] != IR_NONE ? read_floats(cx, n, 1, vroi, 2 * IR_MAX_RANK + 2, "the 'roi' input") : 0;
    if (nr < 0) return false;
    if (nr != 2 * na)
      return ox_error(cx, n, "tf_crop_and_resize needs a 'roi' input of %d values (starts, then ends)", 2 * na);
    for (int d = 0; d < r; d++) {
      roi[d] = 0;
      roi[r + d] = 1;
    }
    for (int i = 0; i < na; i++) {
      roi[axes[i]] = vroi[i];
      roi[r + axes[i]] = vroi[na + i];
    }
    have_roi = true;
  }
  return resize(cx, n, &a, out, scales, have_roi ? roi : NULL);
}

static bool lower_upsample(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, n->opset >= 9 ? 2 : 1)) return false;
  rz_attrs a;
  if (!read_attrs(cx, n, true, &a)) return false;
  ir_shape s = ox_shape(cx, n->in[0]);
  int r = s.rank;
  double scales[IR_MAX_RANK + 1];
  int ns;
  if (n->opset >= 9) {
    ns = read_floats(cx, n, 1, scales, IR_MAX_RANK + 1, "the 'scales' input");
    if (ns < 0) return false;
  } else {
    bool ok = true;
    float f[IR_MAX_RANK + 1];
    ns = ox_attr_floats(cx, n, "scales", f, IR_MAX_RANK + 1, &ok);
    if (!ok) return false;
    if (ns < 0) return ox_error(cx, n, "attribute 'scales' is required");
    for (int i = 0; i < ns; i++) scales[i] = f[i];
  }
  if (ns != r) return ox_error(cx, n, "scales has %d values; X has rank %d", ns, r);
  for (int d = 0; d < r; d++)
    if (scales[d] < 1) return ox_error(cx, n, "scale %d is %g; Upsample needs scales >= 1", d, scales[d]);
  int64_t out[IR_MAX_RANK];
  if (!sizes_from_scales(cx, n, r, s.dims, scales, out)) return false;
  return resize(cx, n, &a, out, scales, NULL);
}

const ox_op ox_ops_resize[] = {
    {"Resize", 10, lower_resize, check_resize, {1, 4}, {1, 1},
         "antialias:i@18- axes:I@18- coordinate_transformation_mode:s@11- cubic_coeff_a:f@11- exclude_outside:i@11- "
         "extrapolation_value:f@11- keep_aspect_ratio_policy:s@18- mode:s nearest_mode:s@11-", 19},
    {"Upsample", 7, lower_upsample, check_upsample, {1, 2}, {1, 1}, "mode:s scales:F@-8", 0},
    {0},
};
