"""Newer-opset cases for the ops of frontend/onnx/ops_pointwise.c and
ops_norm.c: BitwiseAnd/Or/Xor/Not (18), Mish (18, 22), Gelu (20),
LpNormalization (1, 22), GroupNormalization (18, 21), RMSNormalization (23),
Det (11, 22) and RotaryEmbedding (23).

Expected outputs are NumPy written from the operator specifications (in
float64, then cast to the output type); Det is checked against
numpy.linalg.det.
"""
from newer import TensorProto, case, helper, node, np

rng = np.random.default_rng(2026)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---- bitwise (18): integers only, NumPy broadcasting ----

def _ints(dt, shape):
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, size=shape, dtype=dt, endpoint=True)


for _dt in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64):
    _n = np.dtype(_dt).name
    _a, _b = _ints(_dt, (2, 3, 4)), _ints(_dt, (3, 1))
    case("kiln_bitwise_and_%s" % _n, 18, [node("BitwiseAnd", ["a", "b"], ["y"])], {"a": _a, "b": _b},
         {"y": np.bitwise_and(_a, _b)})
    case("kiln_bitwise_or_%s" % _n, 18, [node("BitwiseOr", ["a", "b"], ["y"])], {"a": _a, "b": _b},
         {"y": np.bitwise_or(_a, _b)})
    case("kiln_bitwise_xor_%s" % _n, 18, [node("BitwiseXor", ["a", "b"], ["y"])], {"a": _a, "b": _b},
         {"y": np.bitwise_xor(_a, _b)})
    case("kiln_bitwise_not_%s" % _n, 18, [node("BitwiseNot", ["a"], ["y"])], {"a": _a}, {"y": np.invert(_a)})

# ---- Mish (18, 22): x * tanh(softplus(x)) ----

_x = np.concatenate([f32(20) * 4, np.array([-100, -20, 0, 20, 100], np.float32)])
_mish = lambda x: (x * np.tanh(np.log1p(np.exp(x)))).astype(x.dtype)  # noqa: E731
for _op in (18, 22):
    case("kiln_mish_opset%d" % _op, _op, [node("Mish", ["x"], ["y"])], {"x": _x},
         {"y": _mish(_x.astype(np.float64)).astype(np.float32)})
_xd = rng.standard_normal((3, 5)) * 3
case("kiln_mish_f64", 22, [node("Mish", ["x"], ["y"])], {"x": _xd}, {"y": _mish(_xd)})

# ---- Gelu (20): exact (erf) and tanh approximation ----

def _erf(x):
    from math import erf
    return np.vectorize(erf)(x)


_xg = np.concatenate([f32(30) * 3, np.array([-10, 0, 10], np.float32)]).reshape(3, 11)
_x64 = _xg.astype(np.float64)
_gelu = 0.5 * _x64 * (1 + _erf(_x64 / np.sqrt(2)))
_gelu_tanh = 0.5 * _x64 * (1 + np.tanh(np.sqrt(2 / np.pi) * (_x64 + 0.044715 * _x64 ** 3)))
case("kiln_gelu_opset20", 20, [node("Gelu", ["x"], ["y"])], {"x": _xg}, {"y": _gelu.astype(np.float32)})
case("kiln_gelu_none_opset20", 20, [node("Gelu", ["x"], ["y"], approximate="none")], {"x": _xg},
     {"y": _gelu.astype(np.float32)})
case("kiln_gelu_tanh_opset20", 20, [node("Gelu", ["x"], ["y"], approximate="tanh")], {"x": _xg},
     {"y": _gelu_tanh.astype(np.float32)})
case("kiln_gelu_tanh_f64", 20, [node("Gelu", ["x"], ["y"], approximate="tanh")], {"x": _x64},
     {"y": _gelu_tanh})

# ---- LpNormalization (1, 22): x / ||x||_p along axis ----

def _lpnorm(x, axis, p):
    x = x.astype(np.float64)
    norm = np.sum(np.abs(x) ** p, axis=axis, keepdims=True) ** (1.0 / p)
    return x / norm


_xl = f32(2, 3, 4)
case("kiln_lpnorm_default_opset17", 17, [node("LpNormalization", ["x"], ["y"])], {"x": _xl},
     {"y": _lpnorm(_xl, -1, 2).astype(np.float32)})
case("kiln_lpnorm_p1_axis1_opset22", 22, [node("LpNormalization", ["x"], ["y"], axis=1, p=1)], {"x": _xl},
     {"y": _lpnorm(_xl, 1, 1).astype(np.float32)})
case("kiln_lpnorm_p2_axis0_opset22", 22, [node("LpNormalization", ["x"], ["y"], axis=0, p=2)], {"x": _xl},
     {"y": _lpnorm(_xl, 0, 2).astype(np.float32)})

# ---- GroupNormalization (18: scale/bias per group; 21: per channel) ----

def _groupnorm(x, g, scale, bias, eps, per_group):
    x64 = x.astype(np.float64)
    n, c = x.shape[:2]
    xg = x64.reshape(n, g, -1)
    mean = xg.mean(axis=2, keepdims=True)
    var = ((xg - mean) ** 2).mean(axis=2, keepdims=True)
    y = ((xg - mean) / np.sqrt(var + eps)).reshape(x.shape)
    if per_group:
        scale = np.repeat(scale, c // g)
        bias = np.repeat(bias, c // g)
    shp = (1, c) + (1,) * (x.ndim - 2)
    return (y * scale.reshape(shp) + bias.reshape(shp)).astype(x.dtype)


_xn = f32(2, 6, 3, 2) * 2 + 1
_sg, _bg = f32(3), f32(3)
_sc, _bc = f32(6), f32(6)
case("kiln_groupnorm_opset18", 18,
     [node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=3)], {"x": _xn, "s": _sg, "b": _bg},
     {"y": _groupnorm(_xn, 3, _sg, _bg, 1e-5, True)})
case("kiln_groupnorm_eps_opset18", 18,
     [node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=2, epsilon=0.5)],
     {"x": _xn, "s": _sg[:2], "b": _bg[:2]}, {"y": _groupnorm(_xn, 2, _sg[:2], _bg[:2], 0.5, True)})
case("kiln_groupnorm_opset21", 21,
     [node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=3)], {"x": _xn, "s": _sc, "b": _bc},
     {"y": _groupnorm(_xn, 3, _sc, _bc, 1e-5, False)})
case("kiln_groupnorm_stash_opset21", 21,
     [node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=6, epsilon=1e-3, stash_type=1)],
     {"x": _xn, "s": _sc, "b": _bc}, {"y": _groupnorm(_xn, 6, _sc, _bc, 1e-3, False)})
_x3 = f32(3, 4, 5)
case("kiln_groupnorm_3d_one_group_opset21", 21,
     [node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=1)], {"x": _x3, "s": _sc[:4], "b": _bc[:4]},
     {"y": _groupnorm(_x3, 1, _sc[:4], _bc[:4], 1e-5, False)})

# float16 X with the default stash_type (float): stage one in float32 then
# cast to float16, stage two (scale, bias) in float16.
_xh = (f32(2, 4, 3) * 3).astype(np.float16)
_sh, _bh = f32(4).astype(np.float16), f32(4).astype(np.float16)
_nh = _groupnorm(_xh.astype(np.float32), 2, np.ones(4), np.zeros(4), 1e-5, False).astype(np.float16)
case("kiln_groupnorm_f16_stash_opset21", 21,
     [node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=2)], {"x": _xh, "s": _sh, "b": _bh},
     {"y": _nh * _sh.reshape(1, 4, 1) + _bh.reshape(1, 4, 1)})

# ---- RMSNormalization (23) ----

def _rms(x, scale, axis, eps):
    x64 = x.astype(np.float64)
    axes = tuple(range(axis % x.ndim, x.ndim))
    rms = np.sqrt((x64 * x64).mean(axis=axes, keepdims=True) + eps)
    return (x64 / rms * scale).astype(scale.dtype)


_xr = f32(2, 3, 4, 5)
_s5, _s45, _s15 = f32(5), f32(4, 5), f32(1, 5)
case("kiln_rmsnorm_opset23", 23, [node("RMSNormalization", ["x", "s"], ["y"])], {"x": _xr, "s": _s5},
     {"y": _rms(_xr, _s5, -1, 1e-5)})
case("kiln_rmsnorm_axis2_opset23", 23, [node("RMSNormalization", ["x", "s"], ["y"], axis=2, epsilon=0.25)],
     {"x": _xr, "s": _s45}, {"y": _rms(_xr, _s45, 2, 0.25)})
case("kiln_rmsnorm_axis1_bcast_opset23", 23, [node("RMSNormalization", ["x", "s"], ["y"], axis=-3)],
     {"x": _xr, "s": _s15}, {"y": _rms(_xr, _s15, 1, 1e-5)})
_xr64 = rng.standard_normal((3, 8))
_s8 = rng.standard_normal(8)
case("kiln_rmsnorm_f64_stash11_opset23", 23, [node("RMSNormalization", ["x", "s"], ["y"], stash_type=11)],
     {"x": _xr64, "s": _s8}, {"y": _rms(_xr64, _s8, -1, 1e-5)})

_xrh = (f32(3, 6) * 2).astype(np.float16)
_srh = f32(6).astype(np.float16)
case("kiln_rmsnorm_f16_opset23", 23, [node("RMSNormalization", ["x", "s"], ["y"])], {"x": _xrh, "s": _srh},
     {"y": _rms(_xrh.astype(np.float32), np.ones(6), -1, 1e-5).astype(np.float16) * _srh})

# ---- Det (11, 22): LU with partial pivoting vs numpy.linalg.det ----

_m3 = np.array([[0, 2, 1], [3, 1, 4], [1, 5, 9]], np.float32)  # needs a row swap
case("kiln_det_2d_opset11", 11, [node("Det", ["x"], ["y"])], {"x": _m3},
     {"y": np.array(np.linalg.det(_m3.astype(np.float64)), np.float32)})
_mb = (f32(2, 3, 4, 4) + 2 * np.eye(4, dtype=np.float32)).astype(np.float32)
case("kiln_det_batch_opset22", 22, [node("Det", ["x"], ["y"])], {"x": _mb},
     {"y": np.linalg.det(_mb.astype(np.float64)).astype(np.float32)})
_m1 = f32(5, 1, 1)
case("kiln_det_1x1_opset22", 22, [node("Det", ["x"], ["y"])], {"x": _m1},
     {"y": np.linalg.det(_m1.astype(np.float64)).astype(np.float32)})
# f64: a singular matrix (rows 0 + 1 = row 2), one with a zero column
# start, and well-conditioned random ones up to 9 x 9.
_ms = np.stack([
    np.array([[1, 2, 3, 4], [2, 1, 0, 5], [3, 3, 3, 9], [1, 0, 0, 1]], np.float64),
    np.array([[0, 1, 2, 3], [0, 4, 5, 6], [7, 8, 9, 1], [2, 3, 4, 8]], np.float64),
    rng.standard_normal((4, 4)),
])
_msd = np.linalg.det(_ms)
_msd[0] = 0.0  # exactly singular; LAPACK's rounding residue is not the answer
case("kiln_det_f64_singular_pivot", 22, [node("Det", ["x"], ["y"])], {"x": _ms}, {"y": _msd})
_m9 = rng.standard_normal((2, 9, 9)) + 3 * np.eye(9)
case("kiln_det_f64_9x9", 22, [node("Det", ["x"], ["y"])], {"x": _m9}, {"y": np.linalg.det(_m9)})

# ---- RotaryEmbedding (23) ----

def _rope(x, cos, sin, pos, interleaved, rdim, heads):
    """From the spec: X (B, H, S, D) or (B, S, H*D); caches (P, R/2) read at
    position_ids, or (B, S, R/2) without them."""
    shape = x.shape
    x = x.astype(np.float64)
    if x.ndim == 4:
        x = x.transpose(0, 2, 1, 3)  # (B, S, H, D)
    else:
        x = x.reshape(shape[0], shape[1], heads, -1)
    d = x.shape[3]
    r = rdim or d
    if pos is not None:
        cos, sin = cos[pos], sin[pos]
    cos = cos.astype(np.float64)[:, :, None, :]
    sin = sin.astype(np.float64)[:, :, None, :]
    xr, xp = x[..., :r], x[..., r:]
    if interleaved:
        x1, x2 = xr[..., 0::2], xr[..., 1::2]
    else:
        x1, x2 = xr[..., :r // 2], xr[..., r // 2:]
    real = cos * x1 - sin * x2
    imag = sin * x1 + cos * x2
    if interleaved:
        rot = np.stack([real, imag], axis=-1).reshape(xr.shape)
    else:
        rot = np.concatenate([real, imag], axis=-1)
    y = np.concatenate([rot, xp], axis=-1)
    y = y.transpose(0, 2, 1, 3) if len(shape) == 4 else y.reshape(shape)
    return y.astype(np.float32)


def _caches(npos, half):
    ang = rng.uniform(0, 2 * np.pi, (npos, half))
    return np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)


_B, _H, _S, _D = 2, 3, 4, 8
_xq = f32(_B, _H, _S, _D)
_cos, _sin = _caches(10, _D // 2)
_pos = rng.integers(0, 10, (_B, _S)).astype(np.int64)
for _il in (0, 1):
    case("kiln_rotary_4d_pos_interleaved%d" % _il, 23,
         [node("RotaryEmbedding", ["x", "c", "s", "p"], ["y"], interleaved=_il)],
         {"x": _xq, "c": _cos, "s": _sin, "p": _pos}, {"y": _rope(_xq, _cos, _sin, _pos, _il, 0, 0)})
_cosp, _sinp = _caches(10, 2)
for _il in (0, 1):
    case("kiln_rotary_4d_partial_interleaved%d" % _il, 23,
         [node("RotaryEmbedding", ["x", "c", "s", "p"], ["y"], interleaved=_il, rotary_embedding_dim=4)],
         {"x": _xq, "c": _cosp, "s": _sinp, "p": _pos}, {"y": _rope(_xq, _cosp, _sinp, _pos, _il, 4, 0)})
_x3r = f32(_B, _S, _H * _D)
_c3 = np.cos(rng.uniform(0, 6, (_B, _S, _D // 2))).astype(np.float32)
_s3 = np.sin(rng.uniform(0, 6, (_B, _S, _D // 2))).astype(np.float32)
for _il in (0, 1):
    case("kiln_rotary_3d_nopos_interleaved%d" % _il, 23,
         [node("RotaryEmbedding", ["x", "c", "s"], ["y"], interleaved=_il, num_heads=_H)],
         {"x": _x3r, "c": _c3, "s": _s3}, {"y": _rope(_x3r, _c3, _s3, None, _il, 0, _H)})
_c6, _s6 = _caches(10, 3)
case("kiln_rotary_3d_pos_partial", 23,
     [node("RotaryEmbedding", ["x", "c", "s", "p"], ["y"], num_heads=_H, rotary_embedding_dim=6)],
     {"x": _x3r, "c": _c6, "s": _s6, "p": _pos}, {"y": _rope(_x3r, _c6, _s6, _pos, 0, 6, _H)})

# ---- Attention (23, 24) ----

def _attention(q, k, v, mask=None, past_k=None, past_v=None, nonpad=None, scale=None, causal=0, qh=0, kvh=0,
               softcap=0.0):
    """From the spec text: returns Y, present_key, present_value, Q'K'^T and
    the softmax, all in float64."""
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    three = q.ndim == 3

    def heads(a, h):
        return a.reshape(a.shape[0], a.shape[1], h, -1).transpose(0, 2, 1, 3)

    if three:
        q, k, v = heads(q, qh), heads(k, kvh), heads(v, kvh)
    b, nq, lq, d = q.shape
    past = 0
    if past_k is not None:
        past = past_k.shape[2]
        k = np.concatenate([past_k.astype(np.float64), k], axis=2)
        v = np.concatenate([past_v.astype(np.float64), v], axis=2)
    present_k, present_v = k, v
    total = k.shape[2]
    s = np.sqrt(scale if scale is not None else 1 / np.sqrt(d))
    rep = nq // k.shape[1]
    kr, vr = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
    qk = (q * s) @ (kr * s).transpose(0, 1, 3, 2)
    bias = np.zeros((1, 1, lq, total))
    if mask is not None:
        m = mask
        if m.shape[-1] < total:
            padv = False if m.dtype == np.bool_ else -np.inf
            m = np.concatenate([m, np.full(m.shape[:-1] + (total - m.shape[-1],), padv, m.dtype)], axis=-1)
        bias = bias + (np.where(m, 0.0, -np.inf) if m.dtype == np.bool_ else m.astype(np.float64))
    i = np.arange(lq).reshape(1, 1, lq, 1)
    j = np.arange(total).reshape(1, 1, 1, total)
    if nonpad is not None:
        bias = bias + np.where(j < nonpad.reshape(b, 1, 1, 1), 0.0, -np.inf)
    if causal:
        off = nonpad.reshape(b, 1, 1, 1) - lq if (nonpad is not None and past_k is None) else past
        bias = bias + np.where(j <= i + off, 0.0, -np.inf)
    sc = softcap * np.tanh(qk / softcap) if softcap > 0 else qk
    x = sc + bias
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    y = p @ vr
    if three:
        y = y.transpose(0, 2, 1, 3).reshape(b, lq, -1)
    return y, present_k, present_v, qk, p


def _dyadic(*shape):
    """Values k/8 in [-2, 2]: their products and short sums are exact in
    float32, so Q'K'^T (with scale 0.25) compares exactly."""
    return (rng.integers(-16, 17, shape) / 8).astype(np.float32)


_f = np.float32
_qa, _ka, _va = f32(2, 3, 4, 8), f32(2, 3, 6, 8), f32(2, 3, 6, 5)
case("kiln_attention_4d_opset23", 23, [node("Attention", ["q", "k", "v"], ["y"])], {"q": _qa, "k": _ka, "v": _va},
     {"y": _attention(_qa, _ka, _va)[0].astype(_f)})
_mb = rng.random((4, 6)) > 0.3
_mb[:, 0] = True  # every query attends at least one key
case("kiln_attention_bool_mask_scale_opset23", 23,
     [node("Attention", ["q", "k", "v", "m"], ["y"], scale=0.3)], {"q": _qa, "k": _ka, "v": _va, "m": _mb},
     {"y": _attention(_qa, _ka, _va, mask=_mb, scale=0.3)[0].astype(_f)})
_mf = (f32(2, 1, 4, 6) * 2).astype(_f)
case("kiln_attention_float_mask_causal_opset23", 23,
     [node("Attention", ["q", "k", "v", "m"], ["y"], is_causal=1)],
     {"q": _qa, "k": _ka[:, :, :4], "v": _va[:, :, :4], "m": _mf[..., :4]},
     {"y": _attention(_qa, _ka[:, :, :4], _va[:, :, :4], mask=_mf[..., :4], causal=1)[0].astype(_f)})
_ms = (f32(4, 4)).astype(_f)  # shorter than the 6 keys: padded with -inf
case("kiln_attention_short_mask_opset23", 23,
     [node("Attention", ["q", "k", "v", "m"], ["y"])], {"q": _qa, "k": _ka, "v": _va, "m": _ms},
     {"y": _attention(_qa, _ka, _va, mask=_ms)[0].astype(_f)})
# 3-D inputs, grouped-query attention (4 query heads over 2 kv heads), causal.
_q3, _k3, _v3 = f32(2, 5, 4 * 6), f32(2, 5, 2 * 6), f32(2, 5, 2 * 3)
case("kiln_attention_3d_gqa_causal_opset23", 23,
     [node("Attention", ["q", "k", "v"], ["y"], q_num_heads=4, kv_num_heads=2, is_causal=1)],
     {"q": _q3, "k": _k3, "v": _v3},
     {"y": _attention(_q3, _k3, _v3, causal=1, qh=4, kvh=2)[0].astype(_f)})
# KV cache inside the op: past + 2 new tokens, causal offset by the past;
# every output, qk_matmul_output in mode 0 (exact with dyadic inputs).
_qp, _kp, _vp = _dyadic(1, 4, 2, 8), _dyadic(1, 2, 2, 8), _dyadic(1, 2, 2, 8)
_pk, _pv = _dyadic(1, 2, 3, 8), _dyadic(1, 2, 3, 8)
_r = _attention(_qp, _kp, _vp, past_k=_pk, past_v=_pv, causal=1, scale=0.25)
case("kiln_attention_past_causal_outputs_opset23", 23,
     [node("Attention", ["q", "k", "v", "", "pk", "pv"], ["y", "present_k", "present_v", "qk"], is_causal=1, scale=0.25)],
     {"q": _qp, "k": _kp, "v": _vp, "pk": _pk, "pv": _pv},
     {"y": _r[0].astype(_f), "present_k": _r[1].astype(_f), "present_v": _r[2].astype(_f), "qk": _r[3].astype(_f)})
# softcap without a mask; qk_matmul_output mode 3 (the softmax); softmax in double.
_r = _attention(_qa, _ka, _va, softcap=2.0)
case("kiln_attention_softcap_mode3_opset23", 23,
     [node("Attention", ["q", "k", "v"], ["y", "", "", "p"], softcap=2.0, qk_matmul_output_mode=3,
           softmax_precision=TensorProto.DOUBLE)],
     {"q": _qa, "k": _ka, "v": _va}, {"y": _r[0].astype(_f), "p": _r[4].astype(_f)})
# nonpad_kv_seqlen (24): padding mask, and with is_causal the frontier
# offset by nonpad - q length.
_np = np.array([3, 6], np.int64)
for _c in (0, 1):
    case("kiln_attention_nonpad_causal%d_opset24" % _c, 24,
         [node("Attention", ["q", "k", "v", "", "", "", "n"], ["y"], is_causal=_c)],
         {"q": _qa[:, :, :2], "k": _ka, "v": _va, "n": _np},
         {"y": _attention(_qa[:, :, :2], _ka, _va, nonpad=_np, causal=_c)[0].astype(_f)})
_qd = rng.standard_normal((1, 2, 3, 4))
_kd = rng.standard_normal((1, 1, 3, 4))
_vd = rng.standard_normal((1, 1, 3, 4))
case("kiln_attention_f64_mqa_opset24", 24, [node("Attention", ["q", "k", "v"], ["y"])], {"q": _qd, "k": _kd, "v": _vd},
     {"y": _attention(_qd, _kd, _vd)[0]})
