/*
 * Signal-processing ONNX ops (opset 17): the Hann, Hamming and Blackman
 * windows and MelWeightMatrix, built as constants, and DFT and STFT, built from real matrix
 * products with cos and sin tables (O(N^2) per transform: fine for the
 * transform sizes of models, and it keeps the IR to dot).
 *
 * Complex values follow ONNX: a last dimension of 2 holds (real, imag); a
 * real input has a last dimension of 1.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/ox.h"
#include "ir/literal.h"

#define PI 3.14159265358979323846

static bool done(ox_node *n, ir_id r) {
  n->out[0] = r;
  return r != IR_NONE;
}

/* Hann, Hamming and Blackman windows (opset 17): size values
 * a0 - a1 cos(2 pi k / N) + a2 cos(4 pi k / N) with N = size (periodic) or
 * size - 1 (symmetric), built as a constant: size must be known. */
static bool window(ox_ctx *cx, ox_node *n, double a0, double a1, double a2) {
  if (!ox_need_inputs(cx, n, 1)) return false;
  bool ok = true;
  int64_t periodic = ox_attr_int(cx, n, "periodic", 1, &ok), dt = ox_attr_int(cx, n, "output_datatype", 1, &ok);
  int64_t size;
  int got = ok ? ox_const_ints(cx, n, n->in[0], &size, 1, "the 'size' input") : -1;
  if (got < 0) return false;
  if (got != 1) return ox_error(cx, n, "'size' must be a scalar");
  ir_type t;
  if (!ox_type_from_onnx((int32_t)dt, &t) || t == IR_PRED) return ox_unsupported(cx, n, "output_datatype %s is not supported", ox_onnx_type_name((int32_t)dt));
  if (size < 0 || size > (1 << 24)) return ox_error(cx, n, "window size %lld is out of range", (long long)size);
  ir_shape s = ir_shape_make(t, 1, &size);
  void *data = calloc((size_t)size + 1, ir_type_size(t));
  if (!data) return ox_error(cx, n, "out of memory");
  double N = periodic ? (double)size : (double)size - 1;
  for (int64_t k = 0; k < size; k++) {
    double x = N > 0 ? 2 * PI * (double)k / N : 0;
    ir_elem_set_f(t, data, k, a0 - a1 * cos(x) + a2 * cos(2 * x));
  }
  ir_id r = ir_constant(&cx->b, s, data);
  free(data);
  return done(n, r);
}

static bool lower_hann(ox_ctx *cx, ox_node *n) { return window(cx, n, 0.5, 0.5, 0); }
static bool lower_hamming(ox_ctx *cx, ox_node *n) { return window(cx, n, 25.0 / 46.0, 21.0 / 46.0, 0); }
static bool lower_blackman(ox_ctx *cx, ox_node *n) { return window(cx, n, 0.42, 0.5, 0.08); }

/* A [n, k] table of f(2 pi n k / N) (f = cos or sin) in type t. */
static ir_id dft_table(ox_ctx *cx, ir_type t, int64_t rows, int64_t cols, int64_t N, bool use_sin) {
  int64_t dims[2] = {rows, cols};
  ir_shape s = ir_shape_make(t, 2, dims);
  void *data = calloc((size_t)(rows * cols) + 1, ir_type_size(t));
  if (!data) return IR_NONE;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) {
      /* n k mod N keeps the angle small, so the table is exact to the
       * last bit of the type. */
      double a = 2 * PI * (double)((r * c) % N) / (double)N;
      ir_elem_set_f(t, data, r * cols + c, use_sin ? sin(a) : cos(a));
    }
  ir_id k = ir_constant(&cx->b, s, data);
  free(data);
  return k;
}

/* x (signal along axis) times a [N, K] table: the result has K in place of
 * the axis. */
static ir_id along_axis(ox_ctx *cx, ir_id x, int64_t axis, ir_id table) {
  ir_shape s = ox_shape(cx, x);
  ir_dot_dims d;
  memset(&d, 0, sizeof d);
  d.ncontract = 1;
  d.lhs_contract[0] = axis;
  d.rhs_contract[0] = 0;
  ir_id r = ir_dot(&cx->b, x, table, &d, IR_TUPLE);
  /* dot puts K last; move it back to axis. */
  int64_t perm[IR_MAX_RANK];
  for (int i = 0, j = 0; i < s.rank; i++) perm[i] = i == axis ? s.rank - 1 : j++;
  return ir_transpose(&cx->b, r, perm);
}

/* The transform of (xr, xi) (xi may be IR_NONE: a real signal) along
 * axis, which holds N samples: K outputs (K <= N), stacked as (re, im) on a
 * new last dimension. Forward: (xr cos + xi sin) + i (xi cos - xr sin);
 * inverse: the signs of the sin terms flip and the sums are divided by N. */
static ir_id transform(ox_ctx *cx, const ox_node *n, ir_id xr, ir_id xi, int64_t axis, int64_t N, int64_t K,
                       bool inverse) {
  ir_shape s = ox_shape(cx, xr);
  ir_id cosk = dft_table(cx, s.type, N, K, N, false), sink = dft_table(cx, s.type, N, K, N, true);
  if (cosk == IR_NONE || sink == IR_NONE) {
    ox_error(cx, n, "out of memory");
    return IR_NONE;
  }
  ir_id rc = along_axis(cx, xr, axis, cosk), rs = along_axis(cx, xr, axis, sink);
  ir_id re = rc, im = inverse ? rs : ir_unary(&cx->b, IR_OP_NEG, rs);
  if (xi != IR_NONE) {
    ir_id ic = along_axis(cx, xi, axis, cosk), is = along_axis(cx, xi, axis, sink);
    re = ir_binary(&cx->b, inverse ? IR_OP_SUB : IR_OP_ADD, re, is);
    im = ir_binary(&cx->b, IR_OP_ADD, im, ic);
  }
  if (inverse) {
    re = ir_binary(&cx->b, IR_OP_DIV, re, ox_full_like(cx, re, s.type, (double)N));
    im = ir_binary(&cx->b, IR_OP_DIV, im, ox_full_like(cx, im, s.type, (double)N));
  }
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, s.dims, sizeof dims);
  dims[axis] = K;
  dims[s.rank] = 1;
  ir_id parts[2] = {ox_reshape(cx, re, s.rank + 1, dims), ox_reshape(cx, im, s.rank + 1, dims)};
  return ir_concatenate(&cx->b, 2, parts, s.rank);
}

/* Splits [.., 1 or 2] into real and imaginary parts without the last
 * dimension (*xi = IR_NONE for a real input). */
static void split_complex(ox_ctx *cx, ir_id x, ir_id *xr, ir_id *xi) {
  ir_shape s = ox_shape(cx, x);
  int r = s.rank;
  *xr = ox_reshape(cx, ox_slice_axis(cx, x, r - 1, 0, 1, 1), r - 1, s.dims);
  *xi = s.dims[r - 1] == 2 ? ox_reshape(cx, ox_slice_axis(cx, x, r - 1, 1, 2, 1), r - 1, s.dims) : IR_NONE;
}

/* DFT(input [.., N, 1 or 2], dft_length?): along axis, Y[k] = sum_n x[n]
 * e^(-2 pi i n k / N) (inverse: e^(+...) / N). The signal is padded with
 * zeros or cut to dft_length; onesided keeps the first N/2 + 1 outputs. */
static bool lower_dft(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 1) || !ox_need_float(cx, n, n->in[0], "the input")) return false;
  bool ok = true;
  bool v20 = n->opset >= 20;
  int64_t axis = v20 ? -2 : ox_attr_int(cx, n, "axis", 1, &ok), inverse = ox_attr_int(cx, n, "inverse", 0, &ok);
  int64_t onesided = ox_attr_int(cx, n, "onesided", 0, &ok);
  if (!ok) return false;
  ir_shape s = ox_shape(cx, n->in[0]);
  int r = s.rank;
  if (v20) {
    /* DFT-20: no batch dimension ([signal..., 1 or 2]); the axis is the
     * optional scalar input 2, default -2, counted from the back when
     * negative, never the last (complex) dimension. */
    if (r < 2 || r > IR_MAX_RANK - 1 || (s.dims[r - 1] != 1 && s.dims[r - 1] != 2))
      return ox_error(cx, n, "the input must be [signal..., 1 or 2], rank 2 to %d", IR_MAX_RANK - 1);
    if (n->nin > 2 && n->in[2] != IR_NONE) {
      int got = ox_const_ints(cx, n, n->in[2], &axis, 1, "the 'axis' input");
      if (got < 0) return false;
      if (got != 1) return ox_error(cx, n, "the 'axis' input must hold one value");
    }
    int64_t given = axis;
    if (axis < 0) axis += r;
    if (axis < 0 || axis > r - 2)
      return ox_error(cx, n, "axis %lld is outside [-%d, -2] and [0, %d]", (long long)given, r, r - 2);
  } else {
    if (n->nin > 2 && n->in[2] != IR_NONE)
      return ox_error(cx, n, "has an 'axis' input, which DFT takes from opset 20; the model declares %d", n->opset);
    if (r < 3 || r > IR_MAX_RANK - 1 || (s.dims[r - 1] != 1 && s.dims[r - 1] != 2))
      return ox_error(cx, n, "the input must be [batch, signal..., 1 or 2], rank 3 to %d", IR_MAX_RANK - 1);
    if (!ox_axis(cx, n, axis, r - 1, false, &axis)) return false;
    if (axis == 0) return ox_error(cx, n, "axis 0 is the batch dimension");
  }
  bool complex_in = s.dims[r - 1] == 2;
  if (onesided && (inverse || complex_in)) return ox_unsupported(cx, n, "onesided is supported for forward transforms of real input only");
  int64_t N = s.dims[axis];
  if (n->nin > 1 && n->in[1] != IR_NONE) {
    int got = ox_const_ints(cx, n, n->in[1], &N, 1, "the 'dft_length' input");
    if (got < 0) return false;
    if (got != 1) return ox_error(cx, n, "dft_length must be one value");
  }
  if (N < 1 || N > 16384) return ox_unsupported(cx, n, "transform length %lld is not supported (1 to 16384 are)", (long long)N);
  ir_id xr, xi;
  split_complex(cx, n->in[0], &xr, &xi);
  if (s.dims[axis] != N) { /* pad with zeros or cut to N */
    int64_t lo[IR_MAX_RANK] = {0}, hi[IR_MAX_RANK] = {0}, in[IR_MAX_RANK] = {0};
    hi[axis] = N - s.dims[axis];
    ir_id zero = ox_scalar(cx, s.type, 0);
    xr = ir_pad(&cx->b, xr, zero, lo, hi, in);
    if (xi != IR_NONE) xi = ir_pad(&cx->b, xi, zero, lo, hi, in);
  }
  return done(n, transform(cx, n, xr, xi, axis, N, onesided ? N / 2 + 1 : N, inverse != 0));
}

/* STFT(signal [B, L, 1 or 2], frame_step, window?, frame_length?): the
 * transforms of the frames signal[f * step : f * step + length] (times the
 * window), [B, frames, K, 2]; onesided (default) keeps K = length/2 + 1. The
 * frames are a gather of constant positions. */
static bool lower_stft(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 2) || !ox_need_float(cx, n, n->in[0], "the signal")) return false;
  bool ok = true;
  int64_t onesided = ox_attr_int(cx, n, "onesided", 1, &ok), step, len = -1;
  if (!ok) return false;
  ir_shape s = ox_shape(cx, n->in[0]);
  if (s.rank != 3 || (s.dims[2] != 1 && s.dims[2] != 2)) return ox_error(cx, n, "the signal must be [batch, length, 1 or 2]");
  int got = ox_const_ints(cx, n, n->in[1], &step, 1, "the 'frame_step' input");
  if (got < 0) return false;
  if (got != 1 || step < 1) return ox_error(cx, n, "frame_step must be one positive value");
  ir_id window = n->nin > 2 ? n->in[2] : IR_NONE;
  if (n->nin > 3 && n->in[3] != IR_NONE) {
    got = ox_const_ints(cx, n, n->in[3], &len, 1, "the 'frame_length' input");
    if (got < 0) return false;
    if (got != 1) return ox_error(cx, n, "frame_length must be one value");
  }
  if (window != IR_NONE) {
    ir_shape ws = ox_shape(cx, window);
    if (ws.rank != 1 || ws.type != s.type || (len >= 0 && ws.dims[0] != len))
      return ox_error(cx, n, "the window must be 1-D, of the signal's type and frame_length long");
    len = ws.dims[0];
  }
  if (len < 1 || len > s.dims[1] || len > 16384)
    return ox_error(cx, n, "the frame length (%lld) must be given (frame_length or a window) and fit the signal", (long long)len);
  if (s.dims[2] == 2 && onesided) return ox_unsupported(cx, n, "onesided is supported for real signals only");
  int64_t frames = 1 + (s.dims[1] - len) / step;
  if (!ox_check_size(cx, n, IR_I64, 2, (int64_t[]){frames, len})) return false;
  int64_t *pos = malloc((size_t)(frames * len) * sizeof *pos), pd[2] = {frames, len};
  if (!pos) return ox_error(cx, n, "out of memory");
  for (int64_t f = 0; f < frames; f++)
    for (int64_t j = 0; j < len; j++) pos[f * len + j] = f * step + j;
  ir_id idx = ir_constant(&cx->b, ir_shape_make(IR_I64, 2, pd), pos);
  free(pos);
  ir_id xr, xi;
  split_complex(cx, n->in[0], &xr, &xi); /* [B, L] */
  ir_gather_dims g;
  memset(&g, 0, sizeof g);
  g.index_vector_dim = 2;
  g.nstart_map = g.ncollapsed = 1;
  g.start_index_map[0] = g.collapsed_slice_dims[0] = 1;
  g.slice_sizes[0] = s.dims[0];
  g.slice_sizes[1] = 1;
  g.noffset = 1;
  g.offset_dims[0] = 0; /* [B, frames, len] */
  ir_id parts[2] = {xr, xi};
  int64_t fd[3] = {s.dims[0], frames, len};
  for (int k = 0; k < 2 && parts[k] != IR_NONE; k++) {
    parts[k] = ir_gather(&cx->b, parts[k], idx, &g);
    if (window != IR_NONE) parts[k] = ir_binary(&cx->b, IR_OP_MUL, parts[k], ox_broadcast_along(cx, window, 3, fd, 2));
  }
  return done(n, transform(cx, n, parts[0], parts[1], 2, len, onesided ? len / 2 + 1 : len, false));
}

/* Python's float floor division a // b (what NumPy's // does on floats):
 * floor of the exact quotient, computed through fmod so that a quotient
 * that rounds up to an integer is not taken for it. */
static double floor_div(double a, double b) {
  double mod = fmod(a, b), div = (a - mod) / b;
  if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;
  double f = floor(div);
  return div - f > 0.5 ? f + 1 : f;
}

/* MelWeightMatrix (17): a [dft_length / 2 + 1, num_mel_bins] matrix of
 * triangular filters, peak 1, evenly spaced on the mel scale
 * mel(f) = 2595 log10(1 + f / 700) between lower_edge_hertz and
 * upper_edge_hertz. Its shape comes from two inputs, so all five must be
 * known at import time and the matrix is built here as a constant.
 *
 * The spec gives the mel scale; the band edges are those of ONNX's
 * reference implementation (which produced the backend test data):
 * num_mel_bins + 2 edges k = 0, 1, ... at mel low + k (high - low) /
 * (num_mel_bins + 2), each turned into the spectrogram bin
 * floor((dft_length + 1) hz / sample_rate). Band i rises linearly from
 * edge i to 1 at edge i + 1 and falls to 0 at edge i + 2. The mel values
 * of the edges and the step are in the edge frequencies' type there
 * (float32 unless they are double), the rest double, as here, so that
 * edges landing on a bin boundary agree. */
static bool lower_mel_weight_matrix(ox_ctx *cx, ox_node *n) {
  if (!ox_need_inputs(cx, n, 5)) return false;
  bool ok = true;
  int64_t dt = ox_attr_int(cx, n, "output_datatype", 1, &ok);
  if (!ok) return false;
  static const char *const names[] = {"the 'num_mel_bins' input", "the 'dft_length' input", "the 'sample_rate' input",
                                      "the 'lower_edge_hertz' input", "the 'upper_edge_hertz' input"};
  double v[5];
  /* Every input is checked before giving up, so that one message names
   * every graph input that would have to be frozen. */
  for (int i = 0; i < 5; i++) ok = ox_const_scalar_f(cx, n, n->in[i], &v[i], names[i]) && ok;
  if (!ok) return false;
  for (int i = 0; i < 3; i++)
    if (!ir_type_is_int(ox_shape(cx, n->in[i]).type)) return ox_error(cx, n, "%s must be an integer (int32 or int64)", names[i]);
  ir_type t;
  if (!ox_type_from_onnx((int32_t)dt, &t)) return ox_unsupported(cx, n, "output_datatype %s is not supported", ox_onnx_type_name((int32_t)dt));
  if (!ir_type_is_float(t))
    return ox_error(cx, n, "output_datatype %s is not a floating-point type (float, float16, double, bfloat16)", ox_onnx_type_name((int32_t)dt));
  if (v[0] < 1 || v[0] > (1 << 16)) return ox_error(cx, n, "num_mel_bins %.0f is out of range [1, 65536]", v[0]);
  if (v[1] < 1 || v[1] > (1 << 24)) return ox_error(cx, n, "dft_length %.0f is out of range [1, 2^24]", v[1]);
  if (v[2] <= 0) return ox_error(cx, n, "sample_rate %.0f must be positive", v[2]);
  int64_t mels = (int64_t)v[0], dft = (int64_t)v[1], dims[2] = {dft / 2 + 1, mels};
  if (!ox_check_size(cx, n, t, 2, dims)) return false;
  double lo = v[3], hi = v[4], lo_mel, hi_mel, step;
  if (ox_shape(cx, n->in[3]).type == IR_F64) {
    lo_mel = 2595 * log10(1 + lo / 700);
    hi_mel = 2595 * log10(1 + hi / 700);
    step = (hi_mel - lo_mel) / (double)(mels + 2);
  } else {
    float lm = 2595.0f * log10f(1.0f + (float)lo / 700.0f), hm = 2595.0f * log10f(1.0f + (float)hi / 700.0f);
    lo_mel = lm;
    hi_mel = hm;
    step = (float)(hm - lm) / (float)(mels + 2);
  }
  int64_t *edge = malloc((size_t)(mels + 2) * sizeof *edge);
  void *data = calloc((size_t)(dims[0] * dims[1]), ir_type_size(t));
  if (!edge || !data) {
    free(edge);
    free(data);
    return ox_error(cx, n, "out of memory");
  }
  for (int64_t k = 0; k < mels + 2; k++) {
    double hz = 700 * (pow(10, ((double)k * step + lo_mel) / 2595) - 1);
    double bin = floor_div((double)(dft + 1) * hz, v[2]);
    edge[k] = isfinite(bin) && fabs(bin) < 1e15 ? (int64_t)bin : INT64_MIN;
  }
  for (int64_t i = 0; i < mels && ok; i++) {
    int64_t l = edge[i], c = edge[i + 1], h = edge[i + 2];
    /* The rising side [l, c] (just c when l == c), then the falling side
     * [c, h), each value written where the reference writes one. */
    for (int64_t j = l == c ? c : l; ok && j <= c; j++) {
      if (j < 0 || j >= dims[0]) ok = false;
      else ir_elem_set_f(t, data, j * mels + i, l == c ? 1.0 : (double)(j - l) / (double)(c - l));
    }
    for (int64_t j = c; ok && j < h; j++) {
      if (j < 0 || j >= dims[0]) ok = false;
      else ir_elem_set_f(t, data, j * mels + i, (double)(h - j) / (double)(h - c));
    }
  }
  free(edge);
  if (!ok) {
    free(data);
    return ox_error(cx, n, "the mel bands from %g Hz to %g Hz at sample rate %.0f reach beyond the %lld bins of a %lld-point DFT's spectrum (the edges must lie within [0, sample_rate / 2])",
                    lo, hi, v[2], (long long)dims[0], (long long)dft);
  }
  ir_id r = ir_constant(&cx->b, ir_shape_make(t, 2, dims), data);
  free(data);
  return done(n, r);
}

const ox_op ox_ops_signal[] = {
    {"HannWindow", 17, lower_hann, NULL, {1, 1}, {1, 1}, "output_datatype:i periodic:i", 0},
    {"HammingWindow", 17, lower_hamming, NULL, {1, 1}, {1, 1}, "output_datatype:i periodic:i", 0},
    {"BlackmanWindow", 17, lower_blackman, NULL, {1, 1}, {1, 1}, "output_datatype:i periodic:i", 0},
    {"DFT", 17, lower_dft, NULL, {1, 3}, {1, 1}, "axis:i@-19 inverse:i onesided:i", 20},
    {"STFT", 17, lower_stft, NULL, {2, 4}, {1, 1}, "onesided:i", 0},
    {"MelWeightMatrix", 17, lower_mel_weight_matrix, NULL, {5, 5}, {1, 1}, "output_datatype:i", 0},
    {0},
};
