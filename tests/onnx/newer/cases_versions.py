"""Newer versions of ops kiln already lowered at opset 17: one or more
models per changed operator version (Reduce*-18 and -20, Split-18, Pad-18,
-19 and the type-only later versions, Resize-18 and -19, ScatterElements /
ScatterND-18, LpPool-18, AveragePool-19, the pools' 22, DFT-20, Cast /
CastLike-19 to 25, TopK-24).

Every expected output is computed here with NumPy from the operator's
specification text (the formulas are written out below, never taken from
kiln).
"""
import math

from newer import TensorProto, case, helper, node, np

rng = np.random.default_rng(1807)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def i64(*v):
    return np.array(v, dtype=np.int64)


# ---- Reduce*: axes as an optional input from 18; bool for Max/Min at 20 ----

_REDUCE = {
    "ReduceMean": lambda x, ax, k: np.mean(x, axis=ax, keepdims=k),
    "ReduceMax": lambda x, ax, k: np.max(x, axis=ax, keepdims=k),
    "ReduceMin": lambda x, ax, k: np.min(x, axis=ax, keepdims=k),
    "ReduceProd": lambda x, ax, k: np.prod(x, axis=ax, keepdims=k),
    "ReduceL1": lambda x, ax, k: np.sum(np.abs(x), axis=ax, keepdims=k),
    "ReduceL2": lambda x, ax, k: np.sqrt(np.sum(x * x, axis=ax, keepdims=k)),
    "ReduceLogSum": lambda x, ax, k: np.log(np.sum(x, axis=ax, keepdims=k)),
    "ReduceLogSumExp": lambda x, ax, k: np.log(np.sum(np.exp(x), axis=ax, keepdims=k)),
    "ReduceSumSquare": lambda x, ax, k: np.sum(x * x, axis=ax, keepdims=k),
}

_rx = np.abs(f32(3, 4, 5)) + 0.5  # positive, so that ReduceLogSum is defined
for _op, _f in sorted(_REDUCE.items()):
    _name = _op[6:].lower()
    # axes as an initializer, one of them negative, kept dimensions
    case("kiln_reduce_%s_axes_input_18" % _name, 18,
         [node(_op, ["x", "axes"], ["y"], keepdims=1)],
         {"x": _rx}, {"y": _f(_rx.astype(np.float64), (0, 2), True).astype(np.float32)},
         consts={"axes": i64(0, -1)})
    # no axes input: every axis, dimensions dropped
    case("kiln_reduce_%s_all_18" % _name, 18,
         [node(_op, ["x"], ["y"], keepdims=0)],
         {"x": _rx}, {"y": np.array(_f(_rx.astype(np.float64), None, False), dtype=np.float32)})

# noop_with_empty_axes with an empty axes input: the input unchanged
case("kiln_reduce_max_noop_empty_axes_18", 18,
     [node("ReduceMax", ["x", "axes"], ["y"], keepdims=1, noop_with_empty_axes=1)],
     {"x": _rx}, {"y": _rx}, consts={"axes": np.zeros((0,), np.int64)})
# an empty axes input without noop: every axis
case("kiln_reduce_mean_empty_axes_18", 18,
     [node("ReduceMean", ["x", "axes"], ["y"], keepdims=0)],
     {"x": _rx}, {"y": np.array(np.mean(_rx.astype(np.float64)), dtype=np.float32)},
     consts={"axes": np.zeros((0,), np.int64)})
# integer input at opset 18
_ri = rng.integers(-20, 20, (4, 3)).astype(np.int32)
case("kiln_reduce_prod_int_18", 18, [node("ReduceProd", ["x", "axes"], ["y"], keepdims=0)],
     {"x": _ri}, {"y": np.prod(_ri, axis=1).astype(np.int32)}, consts={"axes": i64(1)})

# ReduceMax / ReduceMin 20: bool, True above False
_rb = rng.random((3, 4)) > 0.6
_rb[0] = False
_rb[1] = True
case("kiln_reduce_max_bool_20", 20, [node("ReduceMax", ["x", "axes"], ["y"], keepdims=0)],
     {"x": _rb}, {"y": np.any(_rb, axis=1)}, consts={"axes": i64(1)})
case("kiln_reduce_min_bool_20", 20, [node("ReduceMin", ["x", "axes"], ["y"], keepdims=1)],
     {"x": _rb}, {"y": np.all(_rb, axis=1, keepdims=True)}, consts={"axes": i64(-1)})
case("kiln_reduce_max_float_20", 20, [node("ReduceMax", ["x"], ["y"], keepdims=1)],
     {"x": _rx}, {"y": np.max(_rx, keepdims=True)})

# ---- Split-18: num_outputs (equal parts of ceil(d / n), the last smaller) ----

_sx = f32(7, 4)
case("kiln_split_num_outputs_uneven_18", 18,
     [node("Split", ["x"], ["a", "b", "c"], axis=0, num_outputs=3)],
     {"x": _sx}, {"a": _sx[0:3], "b": _sx[3:6], "c": _sx[6:7]})
_sy = f32(2, 6)
case("kiln_split_num_outputs_even_18", 18,
     [node("Split", ["x"], ["a", "b", "c"], axis=-1, num_outputs=3)],
     {"x": _sy}, {"a": _sy[:, 0:2], "b": _sy[:, 2:4], "c": _sy[:, 4:6]})
case("kiln_split_sizes_input_18", 18,
     [node("Split", ["x", "split"], ["a", "b"], axis=1)],
     {"x": _sy}, {"a": _sy[:, 0:1], "b": _sy[:, 1:6]}, consts={"split": i64(1, 5)})

# ---- Pad: axes input (18), wrap (19), type-only versions 21, 23, 24, 25 ----

_px = f32(2, 3, 4)


def np_pad_axes(x, pads, axes, mode, value=0.0):
    """Pad's pads for `axes` only ([begins, ends]), others unpadded."""
    r = x.ndim
    width = [(0, 0)] * r
    for i, a in enumerate(axes):
        width[a % r] = (pads[i], pads[len(axes) + i])
    if mode == "constant":
        return np.pad(x, width, mode="constant", constant_values=value)
    if mode == "wrap":
        return np_wrap(x, width)
    return np.pad(x, width, mode=mode)


def np_wrap(x, width):
    """Pad's 'wrap': the data as a torus, so padded position i of an axis
    of d elements reads element i mod d. (Written out: the np.pad 'wrap'
    of Debian's NumPy 1.24 is not periodic for pads wider than the axis.)"""
    for a, (lo, hi) in enumerate(width):
        d = x.shape[a]
        x = np.take(x, np.arange(-lo, d + hi) % d, axis=a)
    return x


case("kiln_pad_axes_constant_18", 18,
     [node("Pad", ["x", "pads", "value", "axes"], ["y"], mode="constant")],
     {"x": _px}, {"y": np_pad_axes(_px, [1, 2, 0, 3], [-1, 1], "constant", 1.5)},
     consts={"pads": i64(1, 2, 0, 3), "value": np.array(1.5, np.float32), "axes": i64(-1, 1)})
case("kiln_pad_axes_reflect_18", 18,
     [node("Pad", ["x", "pads", "", "axes"], ["y"], mode="reflect")],
     {"x": _px}, {"y": np_pad_axes(_px, [2, 1], [2], "reflect")},
     consts={"pads": i64(2, 1), "axes": i64(2)})
case("kiln_pad_axes_edge_18", 18,
     [node("Pad", ["x", "pads", "", "axes"], ["y"], mode="edge")],
     {"x": _px}, {"y": np_pad_axes(_px, [1, 2, 2, 0], [0, 2], "edge")},
     consts={"pads": i64(1, 2, 2, 0), "axes": i64(0, 2)})
# wrap: the pad repeats the axis periodically (np.pad 'wrap'); the begin
# pad of 6 along an axis of 4 wraps more than once
case("kiln_pad_wrap_19", 19,
     [node("Pad", ["x", "pads"], ["y"], mode="wrap")],
     {"x": _px}, {"y": np_wrap(_px, [(0, 1), (2, 1), (6, 3)])},
     consts={"pads": i64(0, 2, 6, 1, 1, 3)})
case("kiln_pad_wrap_axes_19", 19,
     [node("Pad", ["x", "pads", "", "axes"], ["y"], mode="wrap")],
     {"x": _px}, {"y": np_pad_axes(_px, [1, 2], [1], "wrap")},
     consts={"pads": i64(1, 2), "axes": i64(1)})
for _v in (21, 23, 24, 25):
    case("kiln_pad_constant_%d" % _v, _v,
         [node("Pad", ["x", "pads"], ["y"], mode="constant")],
         {"x": _px}, {"y": np.pad(_px, [(1, 0), (0, 0), (0, 2)])},
         consts={"pads": i64(1, 0, 0, 0, 0, 2)})

# ---- Resize-18 (axes, keep_aspect_ratio_policy, antialias), -19 ----


def _cubic(t, a):
    t = abs(t)
    if t <= 1:
        return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1
    if t < 2:
        return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a
    return 0.0


def _x_original(coord, o, scale, n_in, n_out):
    """Resize's coordinate transformation (spec of Resize-19)."""
    if coord == "half_pixel":
        return (o + 0.5) / scale - 0.5
    if coord == "half_pixel_symmetric":
        adjustment = n_out / (scale * n_in)
        center = n_in / 2
        offset = center * (1 - adjustment)
        return offset + (o + 0.5) / scale - 0.5
    if coord == "pytorch_half_pixel":
        return (o + 0.5) / scale - 0.5 if n_out > 1 else 0.0
    if coord == "align_corners":
        return 0.0 if n_out == 1 else o * (n_in - 1) / (n_out - 1)
    if coord == "asymmetric":
        return o / scale
    raise ValueError(coord)


def _resize_axis(x, axis, n_out, scale, mode, coord, cubic_a, exclude_outside, antialias):
    """Interpolates x along one axis, as Resize's spec defines it: the
    neighbours of x_original weighted by the filter (triangle for linear,
    the cubic kernel with cubic_coeff_a for cubic), indices outside the
    input clamped to its edge; with antialias and scale < 1 the filter is
    stretched by 1 / scale (its argument multiplied by scale) and the
    weights renormalised; exclude_outside drops the taps outside the input
    and renormalises."""
    x = np.moveaxis(x, axis, 0)
    n_in = x.shape[0]
    out = np.zeros((n_out,) + x.shape[1:], dtype=np.float64)
    for o in range(n_out):
        xo = _x_original(coord, o, scale, n_in, n_out)
        if mode == "nearest":
            i = int(math.floor(xo)) if xo - math.floor(xo) <= 0.5 else int(math.floor(xo)) + 1
            out[o] = x[min(max(i, 0), n_in - 1)]
            continue
        support = 1.0 if mode == "linear" else 2.0
        stretch = 1.0 / scale if antialias and scale < 1 else 1.0
        lo = int(math.floor(xo - support * stretch)) - 1
        hi = int(math.ceil(xo + support * stretch)) + 1
        taps, weights = [], []
        for i in range(lo, hi + 1):
            t = (i - xo) / stretch
            w = max(0.0, 1 - abs(t)) if mode == "linear" else _cubic(t, cubic_a)
            if abs(t) >= support or w == 0:
                continue
            if exclude_outside and (i < 0 or i >= n_in):
                continue
            taps.append(min(max(i, 0), n_in - 1))
            weights.append(w)
        weights = np.array(weights)
        if antialias and scale < 1 or exclude_outside:
            weights = weights / weights.sum()
        for i, w in zip(taps, weights):
            out[o] += w * x[i]
    return np.moveaxis(out, 0, axis)


def resize_ref(x, out_sizes, scales, mode="nearest", coord="half_pixel", cubic_a=-0.75,
               exclude_outside=False, antialias=False):
    y = x.astype(np.float64)
    for d in range(x.ndim):
        if out_sizes[d] == x.shape[d] and scales[d] == 1:
            continue
        y = _resize_axis(y, d, out_sizes[d], scales[d], mode, coord, cubic_a, exclude_outside, antialias)
    return y.astype(x.dtype)


def resize_case(name, opset, x, scales=None, sizes=None, axes=None, **attrs):
    """A Resize case: expected sizes and scales worked out from the spec
    (scales: floor(scale * in); sizes: scale = size / in, or with a
    keep_aspect_ratio_policy one scale for every named axis, the smallest
    (not_larger) or largest (not_smaller), and sizes rounded half up)."""
    r = x.ndim
    ax = list(range(r)) if axes is None else [a % r for a in axes]
    full_scales = [1.0] * r
    full_sizes = list(x.shape)
    if scales is not None:
        for i, a in enumerate(ax):
            full_scales[a] = float(np.float32(scales[i]))
            full_sizes[a] = int(math.floor(full_scales[a] * x.shape[a]))
    else:
        for i, a in enumerate(ax):
            full_sizes[a] = sizes[i]
            full_scales[a] = sizes[i] / x.shape[a]
        policy = attrs.get("keep_aspect_ratio_policy", "stretch")
        if policy != "stretch":
            pick = min if policy == "not_larger" else max
            k = pick(full_scales[a] for a in ax)
            for a in ax:
                full_scales[a] = k
                full_sizes[a] = int(math.floor(k * x.shape[a] + 0.5))
    y = resize_ref(x, full_sizes, full_scales, attrs.get("mode", "nearest"),
                   attrs.get("coordinate_transformation_mode", "half_pixel"),
                   attrs.get("cubic_coeff_a", -0.75), bool(attrs.get("exclude_outside", 0)),
                   bool(attrs.get("antialias", 0)))
    if axes is not None:
        attrs["axes"] = axes
    consts = {}
    if scales is not None:
        consts["scales"] = np.array(scales, np.float32)
        ins = ["x", "", "scales"]
    else:
        consts["sizes"] = np.array(sizes, np.int64)
        ins = ["x", "", "", "sizes"]
    case(name, opset, [node("Resize", ins, ["y"], **attrs)], {"x": x}, {"y": y}, consts=consts)


_img = f32(1, 2, 6, 8)
resize_case("kiln_resize_axes_scales_linear_18", 18, _img, scales=[2.0, 0.5], axes=[2, 3], mode="linear")
resize_case("kiln_resize_axes_sizes_cubic_18", 18, _img, sizes=[9], axes=[-1], mode="cubic")
resize_case("kiln_resize_not_larger_18", 18, _img, sizes=[9, 9], axes=[2, 3], mode="linear",
            keep_aspect_ratio_policy="not_larger")
resize_case("kiln_resize_not_smaller_18", 18, _img, sizes=[9, 9], axes=[2, 3], mode="nearest",
            keep_aspect_ratio_policy="not_smaller")
resize_case("kiln_resize_not_larger_full_rank_18", 18, _img, sizes=[1, 2, 4, 4], mode="linear",
            keep_aspect_ratio_policy="not_larger")
resize_case("kiln_resize_antialias_linear_down_18", 18, _img, scales=[1.0, 1.0, 0.6, 0.5], mode="linear",
            antialias=1)
resize_case("kiln_resize_antialias_cubic_down_18", 18, _img, scales=[1.0, 1.0, 0.5, 0.375], mode="cubic",
            antialias=1)
resize_case("kiln_resize_antialias_cubic_exclude_18", 18, _img, sizes=[3, 3], axes=[2, 3], mode="cubic",
            antialias=1, exclude_outside=1, cubic_coeff_a=-0.5)
resize_case("kiln_resize_antialias_linear_up_18", 18, _img, scales=[1.0, 1.0, 1.5, 0.75], mode="linear",
            antialias=1)
resize_case("kiln_resize_antialias_align_corners_18", 18, _img, sizes=[1, 2, 3, 5], mode="linear",
            antialias=1, coordinate_transformation_mode="align_corners")
resize_case("kiln_resize_half_pixel_symmetric_down_19", 19, _img, scales=[1.0, 1.0, 0.7, 0.6], mode="linear",
            coordinate_transformation_mode="half_pixel_symmetric")
resize_case("kiln_resize_half_pixel_symmetric_up_19", 19, _img, scales=[1.0, 1.0, 1.7, 2.3], mode="cubic",
            coordinate_transformation_mode="half_pixel_symmetric")
resize_case("kiln_resize_half_pixel_symmetric_nearest_19", 19, _img, sizes=[5, 11], axes=[2, 3],
            mode="nearest", coordinate_transformation_mode="half_pixel_symmetric")

# ---- ScatterElements / ScatterND 18: reduction max and min ----

_sd = f32(3, 4)
_si = np.array([[0, 1, 0, 3], [2, 1, 0, 3]], np.int64)  # repeats within rows
_su = f32(2, 4)
for _red, _fn in (("max", np.maximum), ("min", np.minimum)):
    _exp = _sd.copy()
    for _i in range(_si.shape[0]):
        for _j in range(_si.shape[1]):
            _exp[_i, _si[_i, _j]] = _fn(_exp[_i, _si[_i, _j]], _su[_i, _j])
    case("kiln_scatter_elements_%s_18" % _red, 18,
         [node("ScatterElements", ["data", "indices", "updates"], ["y"], axis=1, reduction=_red)],
         {"data": _sd, "indices": _si, "updates": _su}, {"y": _exp})

_nd = f32(4, 3)
_ni = np.array([[1], [3], [1], [0]], np.int64)  # row 1 twice
_nu = f32(4, 3)
for _red, _fn in (("max", np.maximum), ("min", np.minimum)):
    _exp = _nd.copy()
    for _k in range(_ni.shape[0]):
        _exp[_ni[_k, 0]] = _fn(_exp[_ni[_k, 0]], _nu[_k])
    case("kiln_scatter_nd_%s_18" % _red, 18,
         [node("ScatterND", ["data", "indices", "updates"], ["y"], reduction=_red)],
         {"data": _nd, "indices": _ni, "updates": _nu}, {"y": _exp})

# ---- pools: LpPool-18 (ceil_mode, dilations), AveragePool-19 (dilations), 22 ----


def pool2d_ref(x, kernel, strides, dilations, pads, ceil_mode, reduce):
    """A 2-D pool as the spec defines it: windows of kernel positions spaced
    by dilations, starting every stride on the input padded by pads
    ([top, left, bottom, right]); output size floor (or ceil with
    ceil_mode) of (in + pads - ((k - 1) * d + 1)) / s + 1, a last window
    that would start in the end padding dropped. reduce(values, inside)
    gets the window's values and a mask of which are inside the input."""
    n, c, h, w = x.shape
    outs = []
    for a in range(2):
        size = (h, w)[a]
        eff = (kernel[a] - 1) * dilations[a] + 1
        span = size + pads[a] + pads[a + 2] - eff
        o = (math.ceil if ceil_mode else math.floor)(span / strides[a]) + 1
        if ceil_mode and (o - 1) * strides[a] >= size + pads[a]:
            o -= 1
        outs.append(o)
    y = np.zeros((n, c, outs[0], outs[1]), np.float64)
    for i in range(outs[0]):
        for j in range(outs[1]):
            vals, inside = [], []
            for ki in range(kernel[0]):
                for kj in range(kernel[1]):
                    r = i * strides[0] - pads[0] + ki * dilations[0]
                    q = j * strides[1] - pads[1] + kj * dilations[1]
                    ok = 0 <= r < h and 0 <= q < w
                    inside.append(ok)
                    vals.append(x[:, :, r, q] if ok else np.zeros((n, c)))
            y[:, :, i, j] = reduce(np.stack(vals, -1), np.array(inside))
    return y.astype(x.dtype)


_pool_x = f32(1, 2, 8, 7)
case("kiln_lppool_ceil_dilations_18", 18,
     [node("LpPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], dilations=[2, 1], ceil_mode=1, p=2)],
     {"x": _pool_x},
     {"y": pool2d_ref(_pool_x, [2, 2], [2, 2], [2, 1], [0, 0, 0, 0], True,
                      lambda v, m: np.sqrt(np.sum(v * v, -1)))})
case("kiln_lppool_p3_pads_18", 18,
     [node("LpPool", ["x"], ["y"], kernel_shape=[3, 2], pads=[1, 0, 1, 1], p=3)],
     {"x": _pool_x},
     {"y": pool2d_ref(_pool_x, [3, 2], [1, 1], [1, 1], [1, 0, 1, 1], False,
                      lambda v, m: np.sum(np.abs(v) ** 3, -1) ** (1 / 3))})
case("kiln_averagepool_dilations_19", 19,
     [node("AveragePool", ["x"], ["y"], kernel_shape=[2, 3], dilations=[2, 2], pads=[1, 1, 1, 1],
           count_include_pad=0)],
     {"x": _pool_x},
     {"y": pool2d_ref(_pool_x, [2, 3], [1, 1], [2, 2], [1, 1, 1, 1], False,
                      lambda v, m: np.sum(v, -1) / m.sum())})
# count_include_pad: every window lies in the padded input, so it divides by 4
case("kiln_averagepool_dilations_include_pad_19", 19,
     [node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2], strides=[2, 2],
           count_include_pad=1, pads=[0, 1, 0, 1])],
     {"x": _pool_x},
     {"y": pool2d_ref(_pool_x, [2, 2], [2, 2], [2, 2], [0, 1, 0, 1], False, lambda v, m: np.sum(v, -1) / 4)})
case("kiln_averagepool_22", 22,
     [node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
     {"x": _pool_x},
     {"y": pool2d_ref(_pool_x, [2, 2], [2, 2], [1, 1], [0, 0, 0, 0], False, lambda v, m: np.mean(v, -1))})
case("kiln_maxpool_22", 22,
     [node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], dilations=[1, 2])],
     {"x": _pool_x},
     {"y": pool2d_ref(_pool_x, [3, 3], [2, 2], [1, 2], [0, 0, 0, 0], False, lambda v, m: np.max(v, -1))})
case("kiln_lppool_22", 22,
     [node("LpPool", ["x"], ["y"], kernel_shape=[2, 2], p=1)],
     {"x": _pool_x},
     {"y": pool2d_ref(_pool_x, [2, 2], [1, 1], [1, 1], [0, 0, 0, 0], False, lambda v, m: np.sum(np.abs(v), -1))})

# ---- DFT-20: axis as an optional input (default -2), no batch dimension ----


def as_complex(x):
    return x[..., 0] + 1j * x[..., 1] if x.shape[-1] == 2 else x[..., 0].astype(np.complex128)


def from_complex(z, dtype=np.float32):
    return np.stack([z.real, z.imag], -1).astype(dtype)


_dr = f32(3, 6, 1)
case("kiln_dft_default_axis_20", 20, [node("DFT", ["x"], ["y"])],
     {"x": _dr}, {"y": from_complex(np.fft.fft(as_complex(_dr), axis=1))})
_dc = f32(5, 4, 2)
case("kiln_dft_axis_input_20", 20, [node("DFT", ["x", "", "axis"], ["y"])],
     {"x": _dc}, {"y": from_complex(np.fft.fft(as_complex(_dc), axis=0))},
     consts={"axis": np.array(0, np.int64)})
case("kiln_dft_inverse_length_20", 20, [node("DFT", ["x", "len", "axis"], ["y"], inverse=1)],
     {"x": _dc}, {"y": from_complex(np.fft.ifft(as_complex(_dc), n=6, axis=1))},
     consts={"len": np.array(6, np.int64), "axis": np.array(-2, np.int64)})
_dr2 = f32(2, 7, 3, 1)
case("kiln_dft_onesided_20", 20, [node("DFT", ["x", "", "axis"], ["y"], onesided=1)],
     {"x": _dr2}, {"y": from_complex(np.fft.rfft(_dr2[..., 0].astype(np.float64), axis=1))},
     consts={"axis": np.array(-3, np.int64)})

# ---- Cast / CastLike 19 to 25 (saturate, round_mode: float8 only) ----

_cx = np.array([[-2.75, -1.5, 0.0, 0.25], [1.5, 2.5, 100.75, -7.0]], np.float32)
case("kiln_cast_saturate_19", 19, [node("Cast", ["x"], ["y"], to=TensorProto.INT32, saturate=1)],
     {"x": _cx}, {"y": np.trunc(_cx).astype(np.int32)})
case("kiln_cast_21", 21, [node("Cast", ["x"], ["y"], to=TensorProto.FLOAT16)],
     {"x": _cx}, {"y": _cx.astype(np.float16)})
case("kiln_cast_round_mode_25", 25,
     [node("Cast", ["x"], ["y"], to=TensorProto.DOUBLE, round_mode="up", saturate=0)],
     {"x": _cx}, {"y": _cx.astype(np.float64)})
case("kiln_castlike_23", 23, [node("CastLike", ["x", "like"], ["y"], saturate=1)],
     {"x": _cx, "like": np.zeros((1,), np.int64)}, {"y": np.trunc(_cx).astype(np.int64)})
case("kiln_castlike_25", 25, [node("CastLike", ["x", "like"], ["y"])],
     {"x": _cx.astype(np.float64), "like": np.zeros((2,), np.float32)}, {"y": _cx})

# ---- TopK-24 (only new element types) ----

_tx = np.array([[3.0, 1.0, 4.0, 1.5, 5.0], [9.0, 2.0, 6.0, 5.5, 3.0]], np.float32)
case("kiln_topk_24", 24, [node("TopK", ["x", "k"], ["v", "i"], axis=1, largest=1)],
     {"x": _tx}, {"v": -np.sort(-_tx, axis=1)[:, :3], "i": np.argsort(-_tx, axis=1, kind="stable")[:, :3]},
     consts={"k": i64(3)})
case("kiln_topk_smallest_24", 24, [node("TopK", ["x", "k"], ["v", "i"], axis=-1, largest=0)],
     {"x": _tx}, {"v": np.sort(_tx, axis=1)[:, :2], "i": np.argsort(_tx, axis=1, kind="stable")[:, :2]},
     consts={"k": i64(2)})
