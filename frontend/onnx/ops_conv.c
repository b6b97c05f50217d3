/*
 * Convolution and pooling ONNX ops: Conv, ConvTranspose, the integer
 * convolutions ConvInteger and QLinearConv, MaxPool, AveragePool, LpPool,
 * the Global*Pool ops and MaxUnpool.
 *
 * All of them read the same window attributes (kernel_shape, strides,
 * dilations, pads, auto_pad, ceil_mode), resolved here into explicit
 * per-dimension padding once the input shape is known. Conv becomes one IR
 * convolution (NCHW: dim_labels bf01_oi01->bf01) plus a broadcast bias add;
 * ConvTranspose becomes a convolution over the input dilated by the stride
 * (lhs_dilate) with the kernel reversed and its feature dimensions swapped;
 * pools become reduce_window (whose padding contributes the combiner's
 * identity, as ONNX pooling ignores padding) or plain reductions.
 *
 * Symbolic dimensions (ir/symbolic.h): the batch and channel dimensions
 * pass through the IR window rules; a symbolic spatial size works where
 * the padding does not depend on it (explicit pads, VALID), and is refused
 * where it does (auto_pad SAME, ceil_mode, ConvTranspose's output_shape,
 * MaxPool's Indices, MaxUnpool), since those sizes are computed here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"

typedef enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } auto_pad;

/* Bound on window attribute values, so that sizes computed from them
 * (products of two or three of them) cannot overflow 64 bits. */
#define WIN_MAX ((int64_t)1 << 31)

/* The window attributes of one node, per spatial dimension. */
typedef struct win_attrs {
  int ns;
  int64_t k[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK];
  int64_t lo[IR_MAX_RANK], hi[IR_MAX_RANK];
  auto_pad ap;
  bool ceil;
} win_attrs;

static bool read_auto_pad(ox_ctx *cx, const ox_node *n, auto_pad *out) {
  static const char *const names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", NULL}; /* auto_pad's order */
  int k = ox_attr_choice(cx, n, "auto_pad", "NOTSET", names);
  if (k < 0) return false;
  *out = (auto_pad)k;
  return true;
}

/* Reads an ints attribute of exactly `count` entries, each >= min (the
 * default `dflt` for every entry when absent). */
static bool read_ints(ox_ctx *cx, const ox_node *n, const char *name, int count, int64_t dflt, int64_t min,
                      int64_t *out) {
  bool ok = true;
  int64_t v[2 * IR_MAX_RANK];
  int got = ox_attr_ints(cx, n, name, v, 2 * IR_MAX_RANK, &ok);
  if (!ok) return false;
  if (got < 0) {
    for (int i = 0; i < count; i++) out[i] = dflt;
    return true;
  }
  if (got != count)
    return ox_error(cx, n, "attribute '%s' has %d entries; %d are needed (one per spatial dimension%s)", name, got, count,
                    count > 0 && !strcmp(name, "pads") ? ", begins then ends" : "");
  for (int i = 0; i < count; i++) {
    if (v[i] < min) return ox_error(cx, n, "attribute '%s' entry %d is %lld; it must be >= %lld", name, i, (long long)v[i], (long long)min);
    if (v[i] > WIN_MAX) return ox_error(cx, n, "attribute '%s' entry %d is %lld; at most %lld is supported", name, i, (long long)v[i], (long long)WIN_MAX);
    out[i] = v[i];
  }
  return true;
}

/* Checks shared by every windowed op before import: auto_pad's value and
 * the attributes that do not depend on shapes. */
static bool check_window(ox_ctx *cx, const ox_node *n) {
  auto_pad ap;
  bool ok = read_auto_pad(cx, n, &ap);
  int64_t v[2 * IR_MAX_RANK];
  const char *names[] = {"kernel_shape", "strides", "dilations", "pads"};
  for (int i = 0; i < 4; i++) {
    bool aok = true;
    int got = ox_attr_ints(cx, n, names[i], v, 2 * IR_MAX_RANK, &aok);
    ok = ok && aok;
    for (int j = 0; aok && j < got; j++)
      if (v[j] < (i == 3 ? 0 : 1) || v[j] > WIN_MAX) {
        ok = ox_error(cx, n, "attribute '%s' entry %d is %lld; it must be in [%d, %lld]", names[i], j, (long long)v[j], i == 3 ? 0 : 1,
                      (long long)WIN_MAX);
        break;
      }
  }
  return ok;
}

/* Resolves the window of a node whose input spatial sizes are `in` and
 * kernel sizes `k` (from the weights, or NULL to read kernel_shape, which
 * is then required). Reads strides/dilations/pads/auto_pad, and ceil_mode
 * when `has_ceil`; computes explicit padding. */
static bool read_window(ox_ctx *cx, const ox_node *n, int ns, const int64_t *in, const int64_t *k, bool has_dilations,
                        bool has_ceil, win_attrs *w) {
  memset(w, 0, sizeof *w);
  w->ns = ns;
  bool ok = true;
  int64_t ks[IR_MAX_RANK];
  int nk = ox_attr_ints(cx, n, "kernel_shape", ks, IR_MAX_RANK, &ok);
  if (!ok) return false;
  if (k) {
    if (nk >= 0) {
      if (nk != ns) return ox_error(cx, n, "attribute 'kernel_shape' has %d entries; the weights have %d spatial dimensions", nk, ns);
      for (int i = 0; i < ns; i++)
        if (ks[i] != k[i])
          return ox_error(cx, n, "attribute 'kernel_shape' entry %d is %lld but the weights have %lld", i, (long long)ks[i], (long long)k[i]);
    }
    memcpy(w->k, k, sizeof(int64_t) * (size_t)ns);
  } else {
    if (nk < 0) return ox_error(cx, n, "attribute 'kernel_shape' is required");
    if (!read_ints(cx, n, "kernel_shape", ns, 1, 1, w->k)) return false;
  }
  if (!read_ints(cx, n, "strides", ns, 1, 1, w->s)) return false;
  if (has_dilations) {
    if (!read_ints(cx, n, "dilations", ns, 1, 1, w->d)) return false;
  } else {
    for (int i = 0; i < ns; i++) w->d[i] = 1;
  }
  int64_t pads[2 * IR_MAX_RANK];
  if (!read_ints(cx, n, "pads", 2 * ns, 0, 0, pads)) return false;
  if (!read_auto_pad(cx, n, &w->ap)) return false;
  if (has_ceil) {
    w->ceil = ox_attr_int(cx, n, "ceil_mode", 0, &ok) != 0;
    if (!ok) return false;
  }
  for (int i = 0; i < ns; i++) {
    int64_t eff = (w->k[i] - 1) * w->d[i] + 1;
    if (w->ap == PAD_SAME_UPPER || w->ap == PAD_SAME_LOWER) {
      int64_t out = (in[i] + w->s[i] - 1) / w->s[i];
      int64_t total = (out - 1) * w->s[i] + eff - in[i];
      if (total < 0) total = 0;
      w->lo[i] = w->ap == PAD_SAME_UPPER ? total / 2 : total - total / 2;
      w->hi[i] = total - w->lo[i];
    } else if (w->ap == PAD_NOTSET) {
      w->lo[i] = pads[i];
      w->hi[i] = pads[ns + i];
    }
    if (in[i] + w->lo[i] + w->hi[i] < eff)
      return ox_error(cx, n, "spatial dimension %d: the window (%lld with dilation) is larger than the padded input (%lld)", i,
                      (long long)eff, (long long)(in[i] + w->lo[i] + w->hi[i]));
  }
  return true;
}

/* Output size of a pooling window, with ceil_mode rounding up; a last
 * window that would start in the right padding is dropped (as PyTorch and
 * ONNX Runtime do). */
static int64_t pool_out(const win_attrs *w, int i, int64_t in) {
  int64_t eff = (w->k[i] - 1) * w->d[i] + 1;
  int64_t span = in + w->lo[i] + w->hi[i] - eff;
  int64_t out = (w->ceil ? (span + w->s[i] - 1) / w->s[i] : span / w->s[i]) + 1;
  if (w->ceil && (out - 1) * w->s[i] >= in + w->lo[i]) out--;
  return out;
}

/* The extra right padding that ceil_mode needs for its last window. */
static int64_t ceil_extra(const win_attrs *w, int i, int64_t in) {
  int64_t eff = (w->k[i] - 1) * w->d[i] + 1;
  int64_t need = (pool_out(w, i, in) - 1) * w->s[i] + eff;
  int64_t have = in + w->lo[i] + w->hi[i];
  return need > have ? need - have : 0;
}

/* Requires x to be [N, C, spatial...] with at least one spatial dimension. */
static bool nc_input(ox_ctx *cx, const ox_node *n, ir_id x, const char *what) {
  ir_shape s = ox_shape(cx, x);
  if (s.rank < 3) return ox_error(cx, n, "input %s has rank %d; [N, C, D1, ...] with at least one spatial dimension is needed", what, s.rank);
  return true;
}

/* Refuses a symbolic spatial size of x where the window computed here
 * from it (SAME padding, ceil_mode's last window) would hold only at the
 * bound. */
static bool static_window_input(ox_ctx *cx, const ox_node *n, ir_id x, const win_attrs *w) {
  if (w->ap == PAD_SAME_UPPER || w->ap == PAD_SAME_LOWER)
    return ox_refuse_symbolic(cx, n, x, 2, IR_MAX_RANK - 1, "input X",
                              "auto_pad SAME pads by an amount that depends on the size");
  if (w->ceil) return ox_refuse_symbolic(cx, n, x, 2, IR_MAX_RANK - 1, "input X", "ceil_mode=1 is not supported for it");
  return true;
}

/* ---- Conv ---- */

static bool check_conv(ox_ctx *cx, const ox_node *n) {
  bool ok = check_window(cx, n);
  bool gok = true;
  if (ox_attr_int(cx, n, "group", 1, &gok) < 1 && gok) ok = ox_error(cx, n, "attribute 'group' must be >= 1");
  return ok && gok;
}

/* Adds the bias B (shape [M]) along dimension 1 of y. */
static ir_id add_bias(ox_ctx *cx, const ox_node *n, ir_id y, int bi, int64_t m) {
  if (n->nin <= bi || n->in[bi] == IR_NONE || y == IR_NONE) return y;
  ir_id bias = n->in[bi];
  ir_shape bs = ox_shape(cx, bias), ys = ox_shape(cx, y);
  if (bs.rank != 1 || bs.dims[0] != m) {
    char buf[160];
    ox_error(cx, n, "input B is %s; a 1-D tensor of %lld values (one per output channel) is needed", ir_shape_str(&bs, buf, sizeof buf),
             (long long)m);
    return IR_NONE;
  }
  if (bs.type != ys.type) {
    ox_error(cx, n, "input B has type %s; X has %s", ir_type_name(bs.type), ir_type_name(ys.type));
    return IR_NONE;
  }
  return ir_binary(&cx->b, IR_OP_ADD, y, ox_broadcast_along_shape(cx, bias, &ys, 1));
}

static void nchw_dims(ir_conv_dims *cd, int ns) {
  memset(cd, 0, sizeof *cd);
  cd->nspatial = ns;
  cd->in_batch = cd->out_batch = 0;
  cd->in_feature = cd->out_feature = 1;
  cd->k_out = 0;
  cd->k_in = 1;
  for (int i = 0; i < ns; i++) cd->in_spatial[i] = cd->k_spatial[i] = cd->out_spatial[i] = i + 2;
}

/* The convolution of x [N, C, D...] with w [M, C/group, k...], checked
 * against the node's attributes. x and w are the node's X and W, or
 * their zero-point-adjusted i32 forms for the integer ops (`xname` and
 * `wname` name the inputs in messages). */
static ir_id conv_core(ox_ctx *cx, const ox_node *n, ir_id x, ir_id w, const char *xname, const char *wname) {
  if (!nc_input(cx, n, x, xname)) return IR_NONE;
  ir_shape xs = ox_shape(cx, x), ws = ox_shape(cx, w);
  int ns = xs.rank - 2;
  bool ok = true;
  int64_t g = ox_attr_int(cx, n, "group", 1, &ok);
  if (!ok) return IR_NONE;
  if (ws.rank != xs.rank) {
    ox_error(cx, n, "input %s has rank %d; %s has rank %d", wname, ws.rank, xname, xs.rank);
    return IR_NONE;
  }
  int64_t c = xs.dims[1], m = ws.dims[0];
  if (g < 1 || c % g || m % g) {
    ox_error(cx, n, "attribute group=%lld must divide the input channels (%lld) and output channels (%lld)", (long long)g,
             (long long)c, (long long)m);
    return IR_NONE;
  }
  if (ws.dims[1] * g != c) {
    ox_error(cx, n, "input %s has %lld input channels per group; %s has %lld channels in %lld group(s)", wname,
             (long long)ws.dims[1], xname, (long long)c, (long long)g);
    return IR_NONE;
  }
  win_attrs wa;
  if (!read_window(cx, n, ns, xs.dims + 2, ws.dims + 2, true, false, &wa) || !static_window_input(cx, n, x, &wa))
    return IR_NONE;
  ir_window win;
  memset(&win, 0, sizeof win);
  win.rank = ns;
  for (int i = 0; i < ns; i++) win.d[i] = (ir_window_dim){wa.k[i], wa.s[i], wa.lo[i], wa.hi[i], 1, wa.d[i]};
  ir_conv_dims cd;
  nchw_dims(&cd, ns);
  return ir_convolution(&cx->b, x, w, &win, &cd, g, IR_TUPLE);
}

static bool lower_conv(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0], w = n->in[1];
  ir_shape xs = ox_shape(cx, x), ws = ox_shape(cx, w);
  if (ws.type != xs.type) return ox_error(cx, n, "input W has type %s; X has %s", ir_type_name(ws.type), ir_type_name(xs.type));
  if (!ir_type_is_float(xs.type)) return ox_error(cx, n, "input X has type %s; a floating-point type is needed", ir_type_name(xs.type));
  ir_id y = conv_core(cx, n, x, w, "X", "W");
  if (y == IR_NONE) return false;
  n->out[0] = add_bias(cx, n, y, 2, ws.dims[0]);
  return n->out[0] != IR_NONE;
}

/* ---- ConvInteger, QLinearConv ---- */

/* The i32 convolution of (x - x_zero_point) and (w - w_zero_point), the
 * latter per tensor or per output channel: ConvInteger's result and
 * QLinearConv's accumulator. x is input 0, w input wi, their zero points
 * inputs xz and wz. Subtracting first makes the zero padding mean "the
 * zero point". */
static ir_id conv_integer(ox_ctx *cx, const ox_node *n, int wi, int xz, int wz) {
  if (!ox_need_8bit(cx, n, n->in[0], "x") || !ox_need_8bit(cx, n, n->in[wi], "w") || !nc_input(cx, n, n->in[0], "x") ||
      !ox_refuse_symbolic(cx, n, n->in[0], 0, IR_MAX_RANK - 1, "input x", "the zero points are applied over static sizes"))
    return IR_NONE;
  ir_id x = ox_minus_zero_point(cx, n, n->in[0], xz, -1, "input x_zero_point");
  ir_id w = ox_minus_zero_point(cx, n, n->in[wi], wz, 0, "input w_zero_point");
  if (x == IR_NONE || w == IR_NONE) return IR_NONE;
  return conv_core(cx, n, x, w, "x", "w");
}

/* ConvInteger (opset 10). */
static bool lower_convinteger(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  n->out[0] = conv_integer(cx, n, 1, 2, 3);
  return n->out[0] != IR_NONE;
}

/* QLinearConv (opset 10): the ConvInteger accumulator plus the i32 bias,
 * requantized with x_scale * w_scale / y_scale (w_scale per tensor or per
 * output channel) and y_zero_point. */
static bool lower_qlinearconv(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 8)) return false;
  ir_id acc = conv_integer(cx, n, 3, 2, 5);
  if (acc == IR_NONE) return false;
  ir_shape ys = ox_shape(cx, acc);
  if (n->nin > 8 && n->in[8] != IR_NONE) {
    ir_type bt = ox_shape(cx, n->in[8]).type;
    if (bt != IR_I32) return ox_error(cx, n, "input B has type %s; i32 is needed", ir_type_name(bt));
    acc = add_bias(cx, n, acc, 8, ys.dims[1]);
  }
  n->out[0] = ox_qlinear_output(cx, n, acc, -1, 1, "x", "w");
  return n->out[0] != IR_NONE;
}

/* ---- ConvTranspose ---- */

/* The transposed convolution of X [N, C, D...] with W [C, M/g, k...] is the
 * convolution of X dilated by the stride (lhs_dilate) with W reversed in
 * its spatial dimensions and its feature roles swapped, padded by
 * (k-1)*d - pad on each side (plus output_padding at the end). */
static bool lower_convtranspose(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0], w = n->in[1];
  if (!nc_input(cx, n, x, "X")) return false;
  ir_shape xs = ox_shape(cx, x), ws = ox_shape(cx, w);
  int ns = xs.rank - 2;
  bool ok = true;
  int64_t g = ox_attr_int(cx, n, "group", 1, &ok);
  if (!ok) return false;
  if (ws.rank != xs.rank) return ox_error(cx, n, "input W has rank %d; X has rank %d", ws.rank, xs.rank);
  if (ws.type != xs.type) return ox_error(cx, n, "input W has type %s; X has %s", ir_type_name(ws.type), ir_type_name(xs.type));
  if (!ir_type_is_float(xs.type)) return ox_error(cx, n, "input X has type %s; a floating-point type is needed", ir_type_name(xs.type));
  int64_t c = xs.dims[1];
  if (g < 1 || c % g) return ox_error(cx, n, "attribute group=%lld must divide the input channels (%lld)", (long long)g, (long long)c);
  if (ws.dims[0] != c)
    return ox_error(cx, n, "input W has %lld input channels; X has %lld", (long long)ws.dims[0], (long long)c);
  int64_t mg = ws.dims[1], m = mg * g;
  int64_t in[IR_MAX_RANK], k[IR_MAX_RANK];
  memcpy(in, xs.dims + 2, sizeof(int64_t) * (size_t)ns);
  memcpy(k, ws.dims + 2, sizeof(int64_t) * (size_t)ns);
  /* Padding here is over the output: read it without the input-size based
   * SAME rule of read_window, which is for forward windows. */
  win_attrs wa;
  int64_t pads[2 * IR_MAX_RANK], outpad[IR_MAX_RANK], oshape[IR_MAX_RANK + 2];
  memset(&wa, 0, sizeof wa);
  int nk = ox_attr_ints(cx, n, "kernel_shape", oshape, IR_MAX_RANK, &ok);
  if (!ok) return false;
  for (int i = 0; i < nk; i++)
    if (nk != ns || oshape[i] != k[i])
      return ox_error(cx, n, "attribute 'kernel_shape' does not match the weights' spatial dimensions");
  if (!read_ints(cx, n, "strides", ns, 1, 1, wa.s) || !read_ints(cx, n, "dilations", ns, 1, 1, wa.d) ||
      !read_ints(cx, n, "pads", 2 * ns, 0, 0, pads) || !read_ints(cx, n, "output_padding", ns, 0, 0, outpad) ||
      !read_auto_pad(cx, n, &wa.ap))
    return false;
  int no = ox_attr_ints(cx, n, "output_shape", oshape, IR_MAX_RANK + 2, &ok);
  if (!ok) return false;
  if (no >= 0 && no != ns && no != ns + 2)
    return ox_error(cx, n, "attribute 'output_shape' has %d entries; %d (the spatial dimensions) are needed", no, ns);
  const int64_t *os = no == ns + 2 ? oshape + 2 : oshape;
  if (no >= 0 && !ox_refuse_symbolic(cx, n, x, 2, IR_MAX_RANK - 1, "input X",
                                     "attribute 'output_shape' pads by an amount that depends on the size"))
    return false;
  if ((wa.ap == PAD_SAME_UPPER || wa.ap == PAD_SAME_LOWER) &&
      !ox_refuse_symbolic(cx, n, x, 2, IR_MAX_RANK - 1, "input X", "auto_pad SAME pads by an amount that depends on the size"))
    return false;
  for (int i = 0; i < no; i++)
    if (oshape[i] < 0 || oshape[i] > WIN_MAX) return ox_error(cx, n, "attribute 'output_shape' entry %d is %lld", i, (long long)oshape[i]);
  for (int i = 0; i < ns; i++) {
    int64_t eff = (k[i] - 1) * wa.d[i] + 1;
    int64_t full = wa.s[i] * (in[i] - 1) + outpad[i] + eff;
    int64_t want = -1;
    if (no >= 0) want = os[i];
    else if (wa.ap == PAD_SAME_UPPER || wa.ap == PAD_SAME_LOWER) want = in[i] * wa.s[i];
    if (want >= 0) {
      int64_t total = full - want;
      /* ONNX: the extra odd unit of padding goes at the end for
       * SAME_UPPER, at the beginning otherwise. Halves round toward
       * -inf: a negative total (output_shape larger than the natural
       * size) extends the end with zeros. */
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      wa.lo[i] = wa.ap == PAD_SAME_UPPER ? half : total - half;
      wa.hi[i] = total - wa.lo[i];
    } else if (wa.ap == PAD_NOTSET) {
      wa.lo[i] = pads[i];
      wa.hi[i] = pads[ns + i];
    }
    if (full - wa.lo[i] - wa.hi[i] < 1)
      return ox_error(cx, n, "spatial dimension %d: the output would have size %lld", i, (long long)(full - wa.lo[i] - wa.hi[i]));
  }
  ir_window win;
  memset(&win, 0, sizeof win);
  win.rank = ns;
  for (int i = 0; i < ns; i++) {
    int64_t span = (k[i] - 1) * wa.d[i];
    win.d[i] = (ir_window_dim){k[i], 1, span - wa.lo[i], span - wa.hi[i] + outpad[i], wa.s[i], wa.d[i]};
  }
  int64_t sp[IR_MAX_RANK];
  for (int i = 0; i < ns; i++) sp[i] = i + 2;
  ir_id kr = ir_reverse(&cx->b, w, ns, sp);
  ir_conv_dims cd;
  nchw_dims(&cd, ns);
  if (g == 1) {
    /* W is [C, M, k...]: C is the kernel's input feature dimension. */
    cd.k_in = 0;
    cd.k_out = 1;
  } else {
    /* [C, M/g, k] -> [g, C/g, M/g, k] -> [g, M/g, C/g, k] -> [M, C/g, k]. */
    int64_t d5[IR_MAX_RANK + 1], perm[IR_MAX_RANK + 1], d3[IR_MAX_RANK];
    d5[0] = g;
    d5[1] = c / g;
    d5[2] = mg;
    for (int i = 0; i < ns; i++) d5[3 + i] = k[i];
    perm[0] = 0;
    perm[1] = 2;
    perm[2] = 1;
    for (int i = 0; i < ns; i++) perm[3 + i] = 3 + i;
    if (ns + 3 > IR_MAX_RANK) return ox_unsupported(cx, n, "grouped transposed convolution of rank %d is not supported", ns + 2);
    kr = ox_reshape(cx, kr, ns + 3, d5);
    kr = ir_transpose(&cx->b, kr, perm);
    d3[0] = m;
    d3[1] = c / g;
    for (int i = 0; i < ns; i++) d3[2 + i] = k[i];
    kr = ox_reshape(cx, kr, ns + 2, d3);
  }
  ir_id y = ir_convolution(&cx->b, x, kr, &win, &cd, g, IR_TUPLE);
  n->out[0] = add_bias(cx, n, y, 2, m);
  return n->out[0] != IR_NONE;
}

/* ---- pooling ---- */

/* The reduce_window of a pool over the spatial dimensions (N and C get
 * windows of 1), with ceil_mode's extra right padding. */
static void pool_window(const win_attrs *wa, const ir_shape *xs, ir_window *w, bool ceil_pad) {
  memset(w, 0, sizeof *w);
  w->rank = xs->rank;
  w->d[0] = w->d[1] = (ir_window_dim){1, 1, 0, 0, 1, 1};
  for (int i = 0; i < wa->ns; i++) {
    int64_t extra = ceil_pad ? ceil_extra(wa, i, xs->dims[2 + i]) : 0;
    w->d[2 + i] = (ir_window_dim){wa->k[i], wa->s[i], wa->lo[i], wa->hi[i] + extra, 1, wa->d[i]};
  }
}

static bool check_maxpool(ox_ctx *cx, const ox_node *n) {
  bool ok = check_window(cx, n);
  bool aok = true;
  int64_t so = n->opset >= 8 ? ox_attr_int(cx, n, "storage_order", 0, &aok) : 0;
  if (aok && so != 0 && so != 1) ok = ox_error(cx, n, "attribute storage_order=%lld must be 0 or 1", (long long)so);
  if (!ox_attr(n, "kernel_shape")) ok = ox_error(cx, n, "attribute 'kernel_shape' is required");
  return ok && aok;
}

static ir_id lowest_value(ox_ctx *cx, ir_type t) {
  if (ir_type_is_float(t)) return ox_scalar(cx, t, -INFINITY);
  if (ir_type_is_unsigned(t)) return ir_constant_i(&cx->b, t, 0);
  return ir_constant_i(&cx->b, t, ir_type_bits(t) == 64 ? INT64_MIN : -((int64_t)1 << (ir_type_bits(t) - 1)));
}

/* MaxPool's Indices output: the flat index (row-major over the whole
 * input, or column-major over each plane with storage_order=1) of the
 * first maximum of each window in scan order. The K window positions are
 * gathered as K strided slices of the padded input and of a matching index
 * tensor, stacked on a new leading dimension, and reduced. */
static ir_id maxpool_indices(ox_ctx *cx, const ox_node *n, ir_id x, const win_attrs *wa, const ir_shape *ys, int64_t so) {
  ir_shape xs = ox_shape(cx, x);
  int rank = xs.rank, ns = wa->ns;
  int64_t xd[IR_MAX_RANK];
  memcpy(xd, xs.dims, sizeof xd);
  ir_shape is = ir_shape_make(IR_I64, rank, xd);
  /* Flat index from iotas: sum of index(dim) * stride(dim). */
  int64_t stride[IR_MAX_RANK];
  int64_t plane = 1;
  for (int i = 2; i < rank; i++) plane *= xd[i];
  stride[0] = xd[1] * plane;
  stride[1] = plane;
  int64_t acc = 1;
  if (so == 0) {
    for (int i = rank - 1; i >= 2; i--) stride[i] = acc, acc *= xd[i];
  } else {
    for (int i = 2; i < rank; i++) stride[i] = acc, acc *= xd[i];
  }
  ir_id idx = IR_NONE;
  for (int i = 0; i < rank; i++) {
    ir_id t = ir_iota(&cx->b, is, i);
    if (stride[i] != 1) t = ir_binary(&cx->b, IR_OP_MUL, t, ox_full_like(cx, t, IR_I64, (double)stride[i]));
    idx = idx == IR_NONE ? t : ir_binary(&cx->b, IR_OP_ADD, idx, t);
  }
  int64_t lo[IR_MAX_RANK] = {0}, hi[IR_MAX_RANK] = {0}, in0[IR_MAX_RANK] = {0};
  for (int i = 0; i < ns; i++) {
    lo[2 + i] = wa->lo[i];
    hi[2 + i] = wa->hi[i] + ceil_extra(wa, i, xd[2 + i]);
  }
  ir_id xp = ir_pad(&cx->b, x, lowest_value(cx, xs.type), lo, hi, in0);
  ir_id ip = ir_pad(&cx->b, idx, ir_constant_i(&cx->b, IR_I64, -1), lo, hi, in0);
  int64_t kcount = 1;
  for (int i = 0; i < ns; i++) kcount *= wa->k[i];
  if (kcount > 4096) {
    ox_unsupported(cx, n, "the Indices output is supported for windows of up to 4096 elements (this one has %lld)", (long long)kcount);
    return IR_NONE;
  }
  ir_id *vs_ = malloc(sizeof(ir_id) * 2 * (size_t)kcount);
  if (!vs_) {
    ox_error(cx, n, "out of memory");
    return IR_NONE;
  }
  ir_id *is_ = vs_ + kcount;
  int64_t od[IR_MAX_RANK + 1];
  od[0] = 1;
  for (int i = 0; i < rank; i++) od[i + 1] = ys->dims[i];
  int64_t off[IR_MAX_RANK] = {0};
  for (int64_t kk = 0; kk < kcount; kk++) {
    int64_t r = kk;
    for (int i = ns - 1; i >= 0; i--) {
      off[i] = r % wa->k[i];
      r /= wa->k[i];
    }
    int64_t st[IR_MAX_RANK], li[IR_MAX_RANK], sd[IR_MAX_RANK];
    for (int i = 0; i < rank; i++) {
      st[i] = 0;
      li[i] = xd[i];
      sd[i] = 1;
    }
    for (int i = 0; i < ns; i++) {
      st[2 + i] = off[i] * wa->d[i];
      li[2 + i] = st[2 + i] + (ys->dims[2 + i] - 1) * wa->s[i] + 1;
      sd[2 + i] = wa->s[i];
    }
    vs_[kk] = ox_reshape(cx, ir_slice(&cx->b, xp, st, li, sd), rank + 1, od);
    is_[kk] = ox_reshape(cx, ir_slice(&cx->b, ip, st, li, sd), rank + 1, od);
  }
  ir_id vstack = ir_concatenate(&cx->b, (int)kcount, vs_, 0);
  ir_id istack = ir_concatenate(&cx->b, (int)kcount, is_, 0);
  free(vs_);
  if (vstack == IR_NONE) return IR_NONE;
  /* First maximum along the stacked dimension (positions in scan order). */
  int64_t zero = 0;
  ir_id mx = ox_reduce(cx, vstack, 1, &zero, IR_COMB_MAX, false);
  ir_id hit = ir_compare(&cx->b, IR_CMP_EQ, vstack, ox_unreduce(cx, mx, vstack, 1, &zero));
  if (ir_type_is_float(xs.type)) hit = ir_binary(&cx->b, IR_OP_OR, hit, ir_compare(&cx->b, IR_CMP_NE, vstack, vstack));
  if (vstack == IR_NONE || istack == IR_NONE) return IR_NONE;
  ir_shape vs = ox_shape(cx, vstack);
  ir_id kio = ir_iota(&cx->b, ir_shape_make(IR_I64, vs.rank, vs.dims), 0);
  ir_id first = ox_reduce(cx, ir_select(&cx->b, hit, kio, ox_full_like(cx, kio, IR_I64, (double)kcount)), 1, &zero, IR_COMB_MIN, false);
  ir_id pick = ir_compare(&cx->b, IR_CMP_EQ, kio, ox_unreduce(cx, first, kio, 1, &zero));
  return ox_reduce(cx, ir_select(&cx->b, pick, istack, ox_full_like(cx, istack, IR_I64, -1)), 1, &zero, IR_COMB_MAX, false);
}

static bool lower_maxpool(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  if (!nc_input(cx, n, x, "X")) return false;
  ir_shape xs = ox_shape(cx, x);
  if (ir_type_is_pred(xs.type)) return ox_error(cx, n, "input X has type pred; a numeric type is needed");
  win_attrs wa;
  if (!read_window(cx, n, xs.rank - 2, xs.dims + 2, NULL, n->opset >= 10, n->opset >= 10, &wa) ||
      !static_window_input(cx, n, x, &wa))
    return false;
  ir_window w;
  pool_window(&wa, &xs, &w, true);
  ir_id y = ir_reduce_window(&cx->b, x, &w, IR_COMB_MAX);
  n->out[0] = y;
  if (y == IR_NONE) return false;
  if (n->nout > 1 && n->p->output[1][0]) {
    bool ok = true;
    int64_t so = ox_attr_int(cx, n, "storage_order", 0, &ok);
    if (!ok || !ox_refuse_symbolic(cx, n, x, 0, IR_MAX_RANK - 1, "input X", "the Indices output is computed from static sizes"))
      return false;
    ir_shape ys = ox_shape(cx, y);
    n->out[1] = maxpool_indices(cx, n, x, &wa, &ys, so);
    return n->out[1] != IR_NONE;
  }
  return true;
}

/* AveragePool, LpPool and MaxUnpool: the window checks, and the kernel
 * shape is required. */
static bool check_kernel_window(ox_ctx *cx, const ox_node *n) {
  bool ok = check_window(cx, n);
  if (!ox_attr(n, "kernel_shape")) ok = ox_error(cx, n, "attribute 'kernel_shape' is required");
  return ok;
}

/* AveragePool: a windowed sum divided by the number of elements counted:
 * the window's elements inside the input (count_include_pad=0), or inside
 * the input and its explicit padding (=1); ceil_mode's extra padding never
 * counts. The divisor depends only on shapes: it is computed from a
 * constant of ones over one [1, 1, D...] plane and broadcast. */
static bool lower_avgpool(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  if (!nc_input(cx, n, x, "X")) return false;
  ir_shape xs = ox_shape(cx, x);
  ir_type t = xs.type;
  if (!ir_type_is_float(t)) return ox_error(cx, n, "input X has type %s; a floating-point type is needed", ir_type_name(t));
  bool ok = true;
  int64_t cip = n->opset >= 7 ? ox_attr_int(cx, n, "count_include_pad", 0, &ok) : 0;
  if (!ok) return false;
  win_attrs wa;
  /* dilations from opset 19 */
  if (!read_window(cx, n, xs.rank - 2, xs.dims + 2, NULL, n->opset >= 19, n->opset >= 10, &wa) ||
      !static_window_input(cx, n, x, &wa))
    return false;
  ir_window w;
  pool_window(&wa, &xs, &w, true);
  ir_id sum = ir_reduce_window(&cx->b, x, &w, IR_COMB_ADD);
  if (sum == IR_NONE) return false;
  int rank = xs.rank;
  ir_shape plane = xs; /* [1, 1, D...]: spatial sizes symbolic or not */
  plane.dims[0] = plane.dims[1] = 1;
  plane.sym[0] = plane.sym[1] = 0;
  ir_id ones = ox_broadcast_shape(cx, ox_scalar(cx, t, 1.0), &plane, NULL);
  ir_window cw = w;
  cw.d[0] = cw.d[1] = (ir_window_dim){1, 1, 0, 0, 1, 1};
  if (cip) {
    /* Count the explicit padding as elements: pad the ones with ones. */
    int64_t lo[IR_MAX_RANK] = {0}, hi[IR_MAX_RANK] = {0}, in0[IR_MAX_RANK] = {0};
    for (int i = 0; i < wa.ns; i++) {
      lo[2 + i] = wa.lo[i];
      hi[2 + i] = wa.hi[i];
      cw.d[2 + i].pad_lo = 0;
      cw.d[2 + i].pad_hi -= wa.hi[i]; /* leaves ceil_mode's extra */
    }
    ones = ir_pad(&cx->b, ones, ox_scalar(cx, t, 1.0), lo, hi, in0);
  }
  ir_id count = ir_reduce_window(&cx->b, ones, &cw, IR_COMB_ADD);
  ir_shape ss = ox_shape(cx, sum);
  if (count == IR_NONE) return false;
  int64_t map[IR_MAX_RANK];
  ir_shape cs = ss; /* the spatial dimensions of the result */
  int k = 0;
  for (int i = 2; i < rank; i++) {
    cs.dims[k] = ss.dims[i];
    cs.sym[k] = ss.sym[i];
    map[k++] = i;
  }
  cs.rank = k;
  count = ox_reshape_shape(cx, count, &cs);
  n->out[0] = ir_binary(&cx->b, IR_OP_DIV, sum, ox_broadcast_shape(cx, count, &ss, map));
  return n->out[0] != IR_NONE;
}

/* |x|^p summed, then the p-th root: p=1 and p=2 avoid pow. */
static ir_id lp_pre(ox_ctx *cx, const ox_node *n, ir_id x, int64_t p) {
  if (x == IR_NONE) return IR_NONE;
  if (p == 1) return ir_unary(&cx->b, IR_OP_ABS, x);
  if (p == 2) return ir_binary(&cx->b, IR_OP_MUL, x, x);
  return ox_binary(cx, n, IR_OP_POW, ir_unary(&cx->b, IR_OP_ABS, x), ox_scalar(cx, ox_shape(cx, x).type, (double)p));
}

static ir_id lp_post(ox_ctx *cx, const ox_node *n, ir_id s, int64_t p) {
  if (s == IR_NONE) return IR_NONE;
  if (p == 1) return s;
  if (p == 2) return ir_unary(&cx->b, IR_OP_SQRT, s);
  return ox_binary(cx, n, IR_OP_POW, s, ox_scalar(cx, ox_shape(cx, s).type, 1.0 / (double)p));
}

static bool read_p(ox_ctx *cx, const ox_node *n, int64_t *p) {
  bool ok = true;
  *p = ox_attr_int(cx, n, "p", 2, &ok);
  if (ok && *p < 1) return ox_error(cx, n, "attribute p=%lld must be >= 1", (long long)*p);
  return ok;
}

static bool check_lppool(ox_ctx *cx, const ox_node *n) {
  int64_t p;
  bool ok = check_kernel_window(cx, n);
  return read_p(cx, n, &p) && ok;
}

static bool lower_lppool(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  int64_t p;
  if (!nc_input(cx, n, x, "X") || !read_p(cx, n, &p)) return false;
  ir_shape xs = ox_shape(cx, x);
  if (!ir_type_is_float(xs.type)) return ox_error(cx, n, "input X has type %s; a floating-point type is needed", ir_type_name(xs.type));
  win_attrs wa;
  /* ceil_mode and dilations from opset 18; the extra right padding of
   * ceil_mode adds zeros, which add nothing to the sum of |x|^p. */
  bool v18 = n->opset >= 18;
  if (!read_window(cx, n, xs.rank - 2, xs.dims + 2, NULL, v18, v18, &wa) || !static_window_input(cx, n, x, &wa)) return false;
  ir_window w;
  pool_window(&wa, &xs, &w, v18);
  n->out[0] = lp_post(cx, n, ir_reduce_window(&cx->b, lp_pre(cx, n, x, p), &w, IR_COMB_ADD), p);
  return n->out[0] != IR_NONE;
}

/* Global pools: reductions over every spatial dimension, kept as size 1. */
static bool global_pool(ox_ctx *cx, ox_node *n, int kind) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  ir_id x = n->in[0];
  if (!nc_input(cx, n, x, "X")) return false;
  ir_shape xs = ox_shape(cx, x);
  int rank = xs.rank;
  int64_t red[IR_MAX_RANK];
  for (int i = 2; i < rank; i++) red[i - 2] = i;
  ir_type t = xs.type;
  if (kind != 1 && !ir_type_is_float(t)) return ox_error(cx, n, "input X has type %s; a floating-point type is needed", ir_type_name(t));
  if (kind == 1) {
    if (ir_type_is_pred(t)) return ox_error(cx, n, "input X has type pred; a numeric type is needed");
    n->out[0] = ox_reduce(cx, x, rank - 2, red, IR_COMB_MAX, true);
  } else if (kind == 0) {
    ir_id s = ox_reduce(cx, x, rank - 2, red, IR_COMB_ADD, true);
    /* the count is a run-time value when a spatial size is symbolic */
    n->out[0] = ox_binary(cx, n, IR_OP_DIV, s, ox_count_dims(cx, x, rank - 2, red, t));
  } else {
    int64_t p;
    if (!read_p(cx, n, &p)) return false;
    n->out[0] = lp_post(cx, n, ox_reduce(cx, lp_pre(cx, n, x, p), rank - 2, red, IR_COMB_ADD, true), p);
  }
  return n->out[0] != IR_NONE;
}

static bool lower_global_avg(ox_ctx *cx, ox_node *n) { return global_pool(cx, n, 0); }
static bool lower_global_max(ox_ctx *cx, ox_node *n) { return global_pool(cx, n, 1); }
static bool lower_global_lp(ox_ctx *cx, ox_node *n) { return global_pool(cx, n, 2); }

/* MaxUnpool: zeros of the unpooled shape, (in - 1) * stride + kernel - pads
 * per spatial dimension, with X's values written at the flat positions I
 * holds (MaxPool's Indices): one scatter into the flattened output. An
 * output_shape input pads (or crops) that result at the end of each
 * dimension, the indices still referring to the unpooled shape, as ONNX's
 * test data expects. */
static bool lower_maxunpool(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2)) return false;
  ir_id x = n->in[0], idx = n->in[1];
  if (!nc_input(cx, n, x, "X")) return false;
  if (!ox_refuse_symbolic(cx, n, x, 0, IR_MAX_RANK - 1, "input X", "the output is sized and indexed from static sizes"))
    return false;
  ir_shape xs = ox_shape(cx, x), is = ox_shape(cx, idx);
  if (!ir_type_is_int(is.type) || is.rank != xs.rank)
    return ox_error(cx, n, "input I must be an integer tensor of X's shape");
  for (int i = 0; i < xs.rank; i++)
    if (is.dims[i] != xs.dims[i]) return ox_error(cx, n, "input I must have X's shape");
  int ns = xs.rank - 2;
  win_attrs wa;
  memset(&wa, 0, sizeof wa);
  int64_t pads[2 * IR_MAX_RANK];
  if (!ox_attr(n, "kernel_shape")) return ox_error(cx, n, "attribute 'kernel_shape' is required");
  if (!read_ints(cx, n, "kernel_shape", ns, 1, 1, wa.k) || !read_ints(cx, n, "strides", ns, 1, 1, wa.s) ||
      !read_ints(cx, n, "pads", 2 * ns, 0, 0, pads))
    return false;
  int64_t od[IR_MAX_RANK];
  od[0] = xs.dims[0];
  od[1] = xs.dims[1];
  for (int i = 0; i < ns; i++) od[2 + i] = (xs.dims[2 + i] - 1) * wa.s[i] + wa.k[i] - pads[i] - pads[ns + i];
  int64_t want[IR_MAX_RANK];
  memcpy(want, od, sizeof want);
  if (n->nin > 2 && n->in[2] != IR_NONE) {
    int got = ox_const_ints(cx, n, n->in[2], want, IR_MAX_RANK, "the 'output_shape' input");
    if (got < 0) return false;
    if (got != xs.rank) return ox_error(cx, n, "the 'output_shape' input has %d values; X has rank %d", got, xs.rank);
    if (want[0] != od[0] || want[1] != od[1]) return ox_error(cx, n, "the 'output_shape' input must keep X's N and C");
  }
  int64_t total = 1, m = ir_shape_elements(&xs);
  for (int i = 0; i < xs.rank; i++) {
    if (od[i] < 0) return ox_error(cx, n, "the output dimension %d would be %lld", i, (long long)od[i]);
    total *= od[i];
  }
  ir_id flat = ir_broadcast(&cx->b, ox_scalar(cx, xs.type, 0), 1, &total, NULL);
  int64_t m1[2] = {m, 1};
  ir_id iv = ox_reshape(cx, idx, 2, m1);
  ir_id upd = ox_reshape(cx, x, 1, &m);
  ir_scatter_dims sd;
  memset(&sd, 0, sizeof sd);
  sd.ninserted = 1;
  sd.inserted_window_dims[0] = 0;
  sd.nscatter_map = 1;
  sd.scatter_dims_to_operand_dims[0] = 0;
  sd.index_vector_dim = 1;
  ir_id y = ir_scatter(&cx->b, flat, iv, upd, &sd, IR_COMB_ASSIGN);
  y = ox_reshape(cx, y, xs.rank, od);
  int64_t lo[IR_MAX_RANK] = {0}, hi[IR_MAX_RANK] = {0}, in0[IR_MAX_RANK] = {0};
  bool same = true;
  for (int i = 0; i < xs.rank; i++) {
    if (want[i] < 0) return ox_error(cx, n, "the 'output_shape' input has a negative entry");
    hi[i] = want[i] - od[i];
    same = same && hi[i] == 0;
  }
  n->out[0] = same ? y : ir_pad(&cx->b, y, ox_scalar(cx, xs.type, 0), lo, hi, in0);
  return n->out[0] != IR_NONE;
}

const ox_op ox_ops_conv[] = {
    {"ConvInteger", 10, lower_convinteger, check_conv, {2, 4}, {1, 1},
         "auto_pad:s dilations:I group:i kernel_shape:I pads:I strides:I", 0},
    {"QLinearConv", 10, lower_qlinearconv, check_conv, {8, 9}, {1, 1},
         "auto_pad:s dilations:I group:i kernel_shape:I pads:I strides:I", 0},
    {"MaxUnpool", 9, lower_maxunpool, check_kernel_window, {2, 3}, {1, 1}, "kernel_shape:I pads:I strides:I", 22},
    {"Conv", 1, lower_conv, check_conv, {2, 3}, {1, 1},
         "auto_pad:s dilations:I group:i kernel_shape:I pads:I strides:I", 22},
    {"ConvTranspose", 1, lower_convtranspose, check_conv, {2, 3}, {1, 1},
         "auto_pad:s dilations:I group:i kernel_shape:I output_padding:I output_shape:I pads:I strides:I", 22},
    {"MaxPool", 1, lower_maxpool, check_maxpool, {1, 1}, {1, 2},
         "auto_pad:s ceil_mode:i@10- dilations:I@10- kernel_shape:I pads:I storage_order:i@8- strides:I", 22},
    /* The pools' version 22 only adds bfloat16. */
    {"AveragePool", 1, lower_avgpool, check_kernel_window, {1, 1}, {1, 1},
         "auto_pad:s ceil_mode:i@10- count_include_pad:i@7- dilations:I@19- kernel_shape:I pads:I strides:I", 22},
    {"LpPool", 2, lower_lppool, check_lppool, {1, 1}, {1, 1},
         "auto_pad:s ceil_mode:i@18- dilations:I@18- kernel_shape:I p:i pads:I strides:I", 22},
    {"GlobalAveragePool", 1, lower_global_avg, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"GlobalMaxPool", 1, lower_global_max, NULL, {1, 1}, {1, 1}, NULL, 22},
    {"GlobalLpPool", 2, lower_global_lp, NULL, {1, 1}, {1, 1}, "p:i", 22},
    {0},
};
