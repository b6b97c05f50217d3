"""Newer-opset cases for the sampling, region and image-to-column ops:
GridSample (16, 20, 22), AffineGrid (20), RoiAlign (10, 16, 22),
MaxRoiPool (1, 22), Col2Im (18) and CenterCropPad (18).

Each expected output comes from a small NumPy reference below, written
from the operator's specification text (loops over output positions, in
float64), not from kiln."""
import itertools
import math

from newer import case, node, np

rng = np.random.default_rng(2026)


def _f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---- GridSample ----

def _reflect(x, lo, hi):
    """Reflects x by the nearer border until it lies in [lo, hi]."""
    span = hi - lo
    if span <= 0:
        return lo
    if x < lo:
        d = lo - x
        k, rest = int(d // span), d - int(d // span) * span
        return lo + rest if k % 2 == 0 else hi - rest
    if x > hi:
        d = x - hi
        k, rest = int(d // span), d - int(d // span) * span
        return hi - rest if k % 2 == 0 else lo + rest
    return x


def _cubic(t):
    a = -0.75
    s = 1 - t
    return [((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
            ((a + 2) * t - (a + 3)) * t * t + 1,
            ((a + 2) * s - (a + 3)) * s * s + 1,
            ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a]


def grid_sample_ref(X, grid, mode, padding, align):
    """mode: linear, nearest or cubic; the grid's last axis is (x, y, ...),
    x indexing X's last axis."""
    N, C = X.shape[:2]
    S = X.shape[2:]
    r = len(S)
    out = np.zeros((N, C) + grid.shape[1:-1], dtype=np.float64)
    for n in range(N):
        for pos in np.ndindex(*grid.shape[1:-1]):
            g = grid[(n,) + pos][::-1].astype(np.float64)
            xs = []
            for i in range(r):
                d = S[i]
                x = (g[i] + 1) / 2 * (d - 1) if align else ((g[i] + 1) * d - 1) / 2
                if mode == "nearest":
                    # 3-D (5-D input): half away from zero; else half to even
                    x = math.floor(abs(x) + 0.5) * np.sign(x) if r == 3 else np.rint(x)
                lo, hi = (0.0, d - 1.0) if align else (-0.5, d - 0.5)
                if x < lo or x > hi:
                    if padding == "border":
                        x = min(max(x, 0.0), d - 1.0)
                    elif padding == "reflection":
                        x = _reflect(x, lo, hi)
                xs.append(x)
            taps = []
            for i, x in enumerate(xs):
                if mode == "nearest":
                    taps.append([(int(x), 1.0)])
                elif mode == "linear":
                    b = math.floor(x)
                    taps.append([(b, 1 - (x - b)), (b + 1, x - b)])
                else:
                    b = math.floor(x)
                    taps.append(list(zip(range(b - 1, b + 3), _cubic(x - b))))
            val = np.zeros(C)
            for combo in itertools.product(*taps):
                idx, w = [], 1.0
                inside = True
                for i, (k, wk) in enumerate(combo):
                    d = S[i]
                    lo, hi = (0.0, d - 1.0) if align else (-0.5, d - 0.5)
                    if padding == "zeros":
                        inside = inside and 0 <= k < d
                    elif padding == "border":
                        k = min(max(k, 0), d - 1)
                    else:
                        k = int(_reflect(k, lo, hi))
                    idx.append(k)
                    w *= wk
                if inside:
                    val += w * X[(n, slice(None)) + tuple(idx)]
            out[(n, slice(None)) + pos] = val
    return out.astype(X.dtype)


def _grid(*shape):
    # mostly inside [-1, 1], some outside to exercise the padding modes
    return rng.uniform(-1.3, 1.3, shape).astype(np.float32)


def gs_case(name, opset, X, grid, mode, padding, align, attr_mode=None):
    attrs = {"mode": attr_mode or mode, "padding_mode": padding, "align_corners": align}
    case(name, opset, [node("GridSample", ["X", "grid"], ["Y"], **attrs)], {"X": X, "grid": grid},
         {"Y": grid_sample_ref(X, grid, mode, padding, align)})


# opset 16: 4-D only, modes spelled bilinear/bicubic
gs_case("kiln_gridsample16_bilinear_reflection", 16, _f32(2, 3, 4, 5), _grid(2, 3, 4, 2), "linear", "reflection", 0,
        "bilinear")
gs_case("kiln_gridsample16_bicubic_border_aligned", 16, _f32(1, 2, 5, 4), _grid(1, 4, 3, 2), "cubic", "border", 1,
        "bicubic")
# opset 20: linear/nearest/cubic, N-D
gs_case("kiln_gridsample20_linear_5d_zeros", 20, _f32(2, 2, 3, 4, 5), _grid(2, 2, 3, 2, 3), "linear", "zeros", 0)
gs_case("kiln_gridsample20_cubic_reflection_aligned", 20, _f32(1, 2, 4, 6), _grid(1, 3, 5, 2), "cubic",
        "reflection", 1)
gs_case("kiln_gridsample20_cubic_zeros", 20, _f32(1, 1, 5, 5), _grid(1, 4, 4, 2), "cubic", "zeros", 0)
# 5-D nearest: grid values exactly on halves (x = 2g + 2 with align_corners
# over 5 pixels), which 3-D sampling rounds away from zero
_g5 = np.array([0.25, -0.75, 0.25, 0.75, 0.25, -0.25, -1.25, 1.25, 0.5, 0.1, -0.3, 0.9],
               dtype=np.float32).reshape(1, 1, 2, 2, 3)
gs_case("kiln_gridsample20_nearest_5d_halves", 20, _f32(1, 2, 5, 5, 5), _g5, "nearest", "border", 1)
# 4-D nearest on halves rounds to even; zeros padding
_g4 = np.array([0.25, -0.75, 0.75, 0.25, -1.25, 0.5, 0.1, -0.3, 1.5, 0.0], dtype=np.float32).reshape(1, 1, 5, 2)
gs_case("kiln_gridsample20_nearest_4d_halves", 20, _f32(1, 3, 5, 5), _g4, "nearest", "zeros", 1)
gs_case("kiln_gridsample20_linear_3d_border", 20, _f32(2, 3, 7), _grid(2, 5, 1), "linear", "border", 0)
gs_case("kiln_gridsample22_linear_border", 22, _f32(2, 2, 4, 4), _grid(2, 3, 3, 2), "linear", "border", 0)
gs_case("kiln_gridsample22_nearest_reflection", 22, _f32(1, 2, 4, 3), _grid(1, 3, 4, 2), "nearest", "reflection", 0)

# other element types: nearest moves integers as they are; f64 throughout
gs_case("kiln_gridsample20_nearest_int32", 20, rng.integers(-50, 50, (1, 2, 3, 4)).astype(np.int32), _grid(1, 2, 3, 2),
        "nearest", "border", 0)
gs_case("kiln_gridsample22_linear_f64", 22, rng.standard_normal((1, 2, 4, 4)), rng.uniform(-1.2, 1.2, (1, 3, 2, 2)),
        "linear", "zeros", 1)


# ---- AffineGrid ----

def affine_grid_ref(theta, size, align):
    spatial = size[2:]
    axes = []
    for s in spatial:
        if align:
            axes.append(np.array([-1.0]) if s == 1 else -1 + 2 * np.arange(s) / (s - 1))
        else:
            axes.append(-1 + (2 * np.arange(s) + 1) / s)
    mesh = np.meshgrid(*axes, indexing="ij")       # one array per spatial axis (D, H, W order)
    coords = [m.reshape(-1) for m in mesh][::-1]   # x (W) first
    base = np.stack(coords + [np.ones_like(coords[0])], axis=1)  # [P, r + 1]
    out = np.einsum("nij,pj->npi", theta.astype(np.float64), base)
    return out.reshape((size[0],) + tuple(spatial) + (len(spatial),)).astype(theta.dtype)


def ag_case(name, theta, size, align):
    case(name, 20, [node("AffineGrid", ["theta", "size"], ["grid"], align_corners=align)], {"theta": theta},
         {"grid": affine_grid_ref(theta, size, align)}, consts={"size": np.array(size, dtype=np.int64)})


ag_case("kiln_affinegrid20_2d", _f32(2, 2, 3), [2, 3, 4, 5], 0)
ag_case("kiln_affinegrid20_2d_aligned", _f32(1, 2, 3), [1, 1, 3, 1], 1)
ag_case("kiln_affinegrid20_3d_aligned", _f32(2, 3, 4), [2, 1, 2, 3, 4], 1)
ag_case("kiln_affinegrid20_3d", _f32(1, 3, 4), [1, 2, 3, 2, 2], 0)


# ---- RoiAlign ----

def roi_align_ref(X, rois, bidx, oh, ow, sr, scale, mode, half):
    N, C, H, W = X.shape
    R = rois.shape[0]
    out = np.zeros((R, C, oh, ow))
    off = 0.5 if half else 0.0
    for r in range(R):
        x1, y1, x2, y2 = [float(v) * scale - off for v in rois[r]]
        rw, rh = x2 - x1, y2 - y1
        if not half:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / oh, rw / ow
        gh = sr if sr > 0 else int(math.ceil(rh / oh))
        gw = sr if sr > 0 else int(math.ceil(rw / ow))
        count = max(gh * gw, 1)
        img = X[int(bidx[r])].astype(np.float64)
        for ph in range(oh):
            for pw in range(ow):
                vals = []
                for iy in range(gh):
                    y = y1 + ph * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        x = x1 + pw * bw + (ix + 0.5) * bw / gw
                        if y < -1 or y > H or x < -1 or x > W:
                            vals.append([np.zeros(C)] * 4)
                            continue
                        yy, xx = max(y, 0.0), max(x, 0.0)
                        yl, xl = int(yy), int(xx)
                        if yl >= H - 1:
                            yl = yh = H - 1
                            yy = float(yl)
                        else:
                            yh = yl + 1
                        if xl >= W - 1:
                            xl = xh = W - 1
                            xx = float(xl)
                        else:
                            xh = xl + 1
                        ly, lx = yy - yl, xx - xl
                        hy, hx = 1 - ly, 1 - lx
                        vals.append([hy * hx * img[:, yl, xl], hy * lx * img[:, yl, xh],
                                     ly * hx * img[:, yh, xl], ly * lx * img[:, yh, xh]])
                if not vals:
                    continue
                if mode == "avg":
                    out[r, :, ph, pw] = sum(sum(v) for v in vals) / count
                else:
                    out[r, :, ph, pw] = np.max([np.max(v, axis=0) for v in vals], axis=0)
    return out.astype(X.dtype)


def _rois(R, H, W):
    x1 = rng.uniform(-1, W - 2, R)
    y1 = rng.uniform(-1, H - 2, R)
    return np.stack([x1, y1, x1 + rng.uniform(0.5, W * 0.8, R), y1 + rng.uniform(0.5, H * 0.8, R)], 1).astype(np.float32)


def ra_case(name, opset, X, rois, bidx, oh, ow, sr, scale, mode, half, const_rois=False):
    attrs = {"output_height": oh, "output_width": ow, "sampling_ratio": sr, "spatial_scale": scale, "mode": mode}
    if opset >= 16:
        attrs["coordinate_transformation_mode"] = "half_pixel" if half else "output_half_pixel"
    nd = node("RoiAlign", ["X", "rois", "batch_indices"], ["Y"], **attrs)
    ins = {"X": X, "batch_indices": bidx}
    consts = None
    if const_rois:
        consts = {"rois": rois}
    else:
        ins = {"X": X, "rois": rois, "batch_indices": bidx}
    case(name, opset, [nd], ins, {"Y": roi_align_ref(X, rois, bidx, oh, ow, sr, scale, mode, half)}, consts=consts)


_Xr = _f32(2, 3, 8, 10)
_rr = _rois(5, 16, 20)  # in input coordinates at spatial_scale 0.5
_bi = np.array([0, 1, 1, 0, 1], dtype=np.int64)
ra_case("kiln_roialign10_avg", 10, _Xr, _rr, _bi, 3, 2, 2, 0.5, "avg", False)
ra_case("kiln_roialign10_max", 10, _Xr, _rr, _bi, 2, 2, 3, 0.5, "max", False)
ra_case("kiln_roialign16_avg_half_pixel", 16, _Xr, _rr, _bi, 3, 4, 2, 0.5, "avg", True)
ra_case("kiln_roialign16_max_half_pixel", 16, _Xr, _rr, _bi, 2, 3, 1, 0.5, "max", True)
# adaptive sampling (sampling_ratio=0) needs the regions at import time
ra_case("kiln_roialign22_avg_adaptive_const_rois", 22, _Xr, _rr, _bi, 2, 2, 0, 0.5, "avg", True, const_rois=True)
ra_case("kiln_roialign22_max_adaptive_const_rois", 22, _Xr, _rr, _bi, 3, 2, 0, 0.5, "max", False, const_rois=True)


# ---- MaxRoiPool ----

def max_roi_pool_ref(X, rois, pooled, scale):
    N, C, H, W = X.shape
    PH, PW = pooled
    out = np.zeros((rois.shape[0], C, PH, PW), dtype=X.dtype)

    def rnd(v):  # half away from zero
        return int(math.floor(abs(v) + 0.5) * (1 if v >= 0 else -1))

    for r, roi in enumerate(rois):
        b = int(roi[0])
        sw, sh, ew, eh = [rnd(float(v) * scale) for v in roi[1:]]
        rh, rw = max(eh - sh + 1, 1), max(ew - sw + 1, 1)
        bh, bw = rh / PH, rw / PW
        for ph in range(PH):
            hs = min(max(int(math.floor(ph * bh)) + sh, 0), H)
            he = min(max(int(math.ceil((ph + 1) * bh)) + sh, 0), H)
            for pw in range(PW):
                ws = min(max(int(math.floor(pw * bw)) + sw, 0), W)
                we = min(max(int(math.ceil((pw + 1) * bw)) + sw, 0), W)
                if he <= hs or we <= ws:
                    continue
                out[r, :, ph, pw] = X[b, :, hs:he, ws:we].max(axis=(1, 2))
    return out


_Xm = _f32(2, 3, 6, 7)
_rm = np.array([[0, 0, 0, 6, 5], [1, 1.4, 2.6, 4.5, 4.49], [1, -3, -2, 2, 3], [0, 5, 4, 12, 9], [1, 9, 9, 12, 12],
                [0, 3, 1, 3, 1]], dtype=np.float32)
case("kiln_maxroipool1", 12, [node("MaxRoiPool", ["X", "rois"], ["Y"], pooled_shape=[2, 3])], {"X": _Xm, "rois": _rm},
     {"Y": max_roi_pool_ref(_Xm, _rm, (2, 3), 1.0)})
_rm2 = _rm.copy()
_rm2[:, 1:] *= 2
case("kiln_maxroipool22_scaled", 22,
     [node("MaxRoiPool", ["X", "rois"], ["Y"], pooled_shape=[3, 2], spatial_scale=0.5)], {"X": _Xm, "rois": _rm2},
     {"Y": max_roi_pool_ref(_Xm, _rm2, (3, 2), 0.5)})


# ---- Col2Im ----

def _window_attrs(dil, pads, strides):
    """The dilations/pads/strides attributes that are given (not None/empty)."""
    attrs = {}
    for k, v in (("dilations", dil), ("pads", pads), ("strides", strides)):
        if v:
            attrs[k] = v
    return attrs


def col2im_ref(x, image, block, dil, pads, strides):
    r = len(image)
    N, CK, L = x.shape
    K = int(np.prod(block))
    C = CK // K
    padded = [image[i] + pads[i] + pads[r + i] for i in range(r)]
    nl = [(padded[i] - (dil[i] * (block[i] - 1) + 1)) // strides[i] + 1 for i in range(r)]
    out = np.zeros((N, C) + tuple(padded), dtype=np.float64)
    xr = x.reshape(N, C, K, L)
    for k, kk in enumerate(np.ndindex(*block)):
        for l, ll in enumerate(np.ndindex(*nl)):
            pos = tuple(ll[i] * strides[i] + kk[i] * dil[i] for i in range(r))
            out[(slice(None), slice(None)) + pos] += xr[:, :, k, l]
    crop = tuple(slice(pads[i], pads[i] + image[i]) for i in range(r))
    return out[(slice(None), slice(None)) + crop].astype(x.dtype)


def c2i_case(name, N, C, image, block, dil=None, pads=None, strides=None):
    r = len(image)
    d, p, s = dil or [1] * r, pads or [0] * (2 * r), strides or [1] * r
    padded = [image[i] + p[i] + p[r + i] for i in range(r)]
    L = int(np.prod([(padded[i] - (d[i] * (block[i] - 1) + 1)) // s[i] + 1 for i in range(r)]))
    x = _f32(N, C * int(np.prod(block)), L)
    attrs = _window_attrs(dil, pads, strides)
    case(name, 18, [node("Col2Im", ["x", "image_shape", "block_shape"], ["y"], **attrs)], {"x": x},
         {"y": col2im_ref(x, image, block, d, p, s)},
         consts={"image_shape": np.array(image, dtype=np.int64), "block_shape": np.array(block, dtype=np.int64)})


c2i_case("kiln_col2im18_2d", 1, 1, [5, 5], [1, 5])
c2i_case("kiln_col2im18_2d_strides_pads_dilations", 2, 3, [6, 7], [2, 3], dil=[2, 1], pads=[1, 0, 2, 1],
         strides=[2, 3])
c2i_case("kiln_col2im18_3d", 1, 2, [3, 4, 3], [2, 2, 1], strides=[1, 2, 1])
c2i_case("kiln_col2im18_1d_pads", 2, 2, [8], [3], pads=[2, 1], strides=[2])


# ---- CenterCropPad ----

def center_crop_pad_ref(x, shape, axes):
    out = x
    for a, s in zip(axes, shape):
        d = out.shape[a]
        if s < d:
            st = (d - s) // 2
            out = np.take(out, range(st, st + s), axis=a)
        elif s > d:
            st = (s - d) // 2
            new = list(out.shape)
            new[a] = s
            z = np.zeros(new, dtype=out.dtype)
            sl = [slice(None)] * out.ndim
            sl[a] = slice(st, st + d)
            z[tuple(sl)] = out
            out = z
    return out


def ccp_case(name, x, shape, axes=None):
    attrs = {"axes": axes} if axes is not None else {}
    ax = [a % x.ndim for a in axes] if axes is not None else list(range(x.ndim))
    case(name, 18, [node("CenterCropPad", ["x", "shape"], ["y"], **attrs)], {"x": x},
         {"y": center_crop_pad_ref(x, shape, ax)}, consts={"shape": np.array(shape, dtype=np.int64)})


ccp_case("kiln_centercroppad18_crop_and_pad", _f32(5, 6, 3), [2, 9, 3])
ccp_case("kiln_centercroppad18_axes", _f32(3, 7, 4), [6, 2], axes=[-1, 1])
ccp_case("kiln_centercroppad18_int_odd", rng.integers(-9, 9, (4, 5)).astype(np.int32), [7, 4])


# ---- DeformConv ----

def _interp(img, pos):
    """Multilinear interpolation of img (C, S...) at pixel coordinates pos,
    zero outside."""
    val = np.zeros(img.shape[0])
    lows = [math.floor(p) for p in pos]
    for corner in itertools.product((0, 1), repeat=len(pos)):
        idx = [lows[i] + corner[i] for i in range(len(pos))]
        if not all(0 <= idx[i] < img.shape[1 + i] for i in range(len(pos))):
            continue
        w = 1.0
        for i in range(len(pos)):
            f = pos[i] - lows[i]
            w *= f if corner[i] else 1 - f
        val += w * img[(slice(None),) + tuple(idx)]
    return val


def deform_conv_ref(X, W, offset, B, mask, dil, group, og, pads, strides):
    N, C = X.shape[:2]
    r = X.ndim - 2
    OC = W.shape[0]
    ks = W.shape[2:]
    K = int(np.prod(ks))
    outs = offset.shape[2:]
    off = offset.reshape((N, og, K, r) + outs).astype(np.float64)
    m = np.ones((N, og, K) + outs) if mask is None else mask.reshape((N, og, K) + outs)
    cpg, ocpg, cpog = C // group, OC // group, C // og
    res = np.zeros((N, OC) + outs)
    for n in range(N):
        for o in np.ndindex(*outs):
            # sampled columns: [C, K]
            col = np.zeros((C, K))
            for k, kk in enumerate(np.ndindex(*ks)):
                for b in range(og):
                    pos = [o[i] * strides[i] - pads[i] + kk[i] * dil[i] + off[(n, b, k, i) + o] for i in range(r)]
                    col[b * cpog:(b + 1) * cpog, k] = m[(n, b, k) + o] * _interp(X[n, b * cpog:(b + 1) * cpog], pos)
            for oc in range(OC):
                g = oc // ocpg
                res[(n, oc) + o] = np.sum(W[oc].reshape(cpg, K) * col[g * cpg:(g + 1) * cpg]) + (B[oc] if B is not None else 0)
    return res.astype(X.dtype)


def dc_case(name, opset, xs, oc, ks, group=1, og=1, dil=None, pads=None, strides=None, bias=False, mask=False):
    r = len(xs) - 2
    d, p, s = dil or [1] * r, pads or [0] * (2 * r), strides or [1] * r
    outs = [(xs[2 + i] + p[i] + p[r + i] - ((ks[i] - 1) * d[i] + 1)) // s[i] + 1 for i in range(r)]
    K = int(np.prod(ks))
    X = _f32(*xs)
    W = _f32(oc, xs[1] // group, *ks)
    off = (rng.standard_normal([xs[0], og * K * r] + outs) * 1.5).astype(np.float32)
    B = _f32(oc) if bias else None
    M = rng.uniform(0, 1, [xs[0], og * K] + outs).astype(np.float32) if mask else None
    attrs = dict(group=group, offset_group=og, **_window_attrs(dil, pads, strides))
    ins = {"X": X, "W": W, "offset": off}
    names = ["X", "W", "offset"]
    if bias or mask:
        names.append("B" if bias else "")
        if bias:
            ins["B"] = B
    if mask:
        names.append("mask")
        ins["mask"] = M
    case(name, opset, [node("DeformConv", names, ["Y"], kernel_shape=list(ks), **attrs)], ins,
         {"Y": deform_conv_ref(X, W, off, B, M, d, group, og, p, s)})


dc_case("kiln_deformconv19_basic", 19, [1, 2, 5, 5], 3, [2, 2])
dc_case("kiln_deformconv19_bias_mask_pads_strides", 19, [2, 4, 6, 5], 4, [3, 2], group=2, og=2, pads=[1, 0, 1, 1],
        strides=[2, 1], bias=True, mask=True)
dc_case("kiln_deformconv22_mask_no_bias_dilation", 22, [1, 3, 7, 6], 2, [2, 3], og=3, dil=[2, 1], mask=True)
dc_case("kiln_deformconv22_1d", 22, [2, 2, 9], 2, [3], strides=[2], bias=True)
