"""Models declaring each opset from 18 to the newest kiln reads (26).

The first group uses ops whose newest version is at most 17, so a model of
any later opset must import them at that version: a small graph per opset,
each with several ops. The second group covers the ops whose versions after
17 only added element types (bfloat16 at 22, float8/int4/float4/float8e8m0/
int2 at 19 to 25, strings for Equal-19, float8 for IsNaN/IsInf-20): kiln
implements those versions (ox_op.max_version), and their results for the
types kiln reads are those of the older versions. Expected outputs are
NumPy, written from the operator specifications.
"""
from newer import case, helper, node, np

rng = np.random.default_rng(1825)
F = np.float32


def _f(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, shape).astype(F)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ---- ops unchanged since opset 17 or earlier, at every later opset ----

# Each opset gets a different little graph, so that together they cover a
# fair set of long-stable ops; every graph is checked at its own opset.
for opset in range(18, 27):
    k = opset % 4
    if k == 0:
        # MatMul-13, Add-14, Relu-14, Softmax-13
        a, w, b = _f(2, 3), _f(3, 4), _f(4)
        case("ceiling_mlp_opset%d" % opset, opset,
             [node("MatMul", ["a", "w"], ["m"]), node("Add", ["m", "b"], ["s"]), node("Relu", ["s"], ["r"]),
              node("Softmax", ["r"], ["y"], axis=-1)],
             {"a": a}, {"y": _softmax(np.maximum(a @ w + b, 0))}, consts={"w": w, "b": b})
    elif k == 1:
        # Mul-14, Sub-14, Div-14, Exp-13, Log-13, Abs-13, Sqrt-13, Neg-13
        x, z = _f(3, 4), _f(3, 4, lo=0.5, hi=2.0)
        case("ceiling_arith_opset%d" % opset, opset,
             [node("Mul", ["x", "z"], ["m"]), node("Sub", ["m", "z"], ["s"]), node("Div", ["s", "z"], ["d"]),
              node("Abs", ["d"], ["ab"]), node("Sqrt", ["ab"], ["sq"]), node("Exp", ["x"], ["e"]),
              node("Log", ["e"], ["l"]), node("Neg", ["l"], ["n"]), node("Add", ["sq", "n"], ["y"])],
             {"x": x, "z": z}, {"y": np.sqrt(np.abs((x * z - z) / z)) + -np.log(np.exp(x))})
    elif k == 2:
        # Concat-13, Gather-13, Tanh-13, Sigmoid-13, Where-16, Greater-13
        x, t = _f(2, 3), _f(2, 3)
        idx = np.array([3, 0, 2], dtype=np.int64)
        c = np.concatenate([x, t], axis=1)
        g = np.take(c, idx, axis=1)
        y = np.where(g > 0, np.tanh(g), 1 / (1 + np.exp(-g)))
        case("ceiling_select_opset%d" % opset, opset,
             [node("Concat", ["x", "t"], ["c"], axis=1), node("Gather", ["c", "idx"], ["g"], axis=1),
              node("Tanh", ["g"], ["th"]), node("Sigmoid", ["g"], ["sg"]), node("Greater", ["g", "zero"], ["p"]),
              node("Where", ["p", "th", "sg"], ["y"])],
             {"x": x, "t": t}, {"y": y.astype(F)}, consts={"idx": idx, "zero": np.array(0, dtype=F)})
    else:
        # Gemm-13, ReduceSum-13 (axes input), LeakyRelu-16, Expand-13, Tile-13, ArgMax-13
        a, w, c = _f(3, 4), _f(5, 4), _f(5)
        g = a @ w.T * 0.5 + c
        lr = np.where(g >= 0, g, 0.1 * g)
        rs = lr.sum(axis=1, keepdims=True)
        ex = np.broadcast_to(rs, (3, 2))
        ti = np.tile(ex, (1, 2))
        am = np.argmax(lr, axis=1).astype(np.int64)
        case("ceiling_gemm_opset%d" % opset, opset,
             [node("Gemm", ["a", "w", "c"], ["g"], alpha=0.5, transB=1), node("LeakyRelu", ["g"], ["lr"], alpha=0.1),
              node("ReduceSum", ["lr", "axes"], ["rs"], keepdims=1), node("Expand", ["rs", "shape"], ["ex"]),
              node("Tile", ["ex", "reps"], ["y"]), node("ArgMax", ["lr"], ["am"], axis=1, keepdims=0)],
             {"a": a}, {"y": ti.astype(F), "am": am},
             consts={"w": w, "c": c, "axes": np.array([1], dtype=np.int64), "shape": np.array([3, 2], dtype=np.int64),
                     "reps": np.array([1, 2], dtype=np.int64)})


# ---- versions after 17 that only add element types ----

# Opset 22 gave these a version for bfloat16; at the newest opset they
# import with the semantics of their previous version.
_x = _f(2, 5, lo=-0.9, hi=0.9)
_elementwise22 = {
    "Sin": np.sin(_x), "Cos": np.cos(_x), "Tan": np.tan(_x), "Asin": np.arcsin(_x), "Acos": np.arccos(_x),
    "Atan": np.arctan(_x), "Sinh": np.sinh(_x), "Cosh": np.cosh(_x), "Asinh": np.arcsinh(_x),
    "Atanh": np.arctanh(_x), "Round": np.round(_x * 3),
    "Elu": np.where(_x < 0, np.exp(_x) - 1, _x),
    "Selu": 1.0507009873554805 * np.where(_x > 0, _x, 1.6732632423543772 * (np.exp(_x) - 1)),
    "HardSigmoid": np.clip(0.2 * _x + 0.5, 0, 1),
    "HardSwish": _x * np.clip(_x / 6 + 0.5, 0, 1),
    "Softplus": np.log1p(np.exp(_x)),
    "Softsign": _x / (1 + np.abs(_x)),
    "ThresholdedRelu": np.where(_x > 0.25, _x, 0),
}
_nodes, _outs = [], {}
for _op, _want in _elementwise22.items():
    _in = "x3" if _op == "Round" else "x"
    _attrs = {"alpha": 0.25} if _op == "ThresholdedRelu" else {}
    _nodes.append(node(_op, [_in], ["y_" + _op], **_attrs))
    _outs["y_" + _op] = _want.astype(F)
# Acosh needs x >= 1.
_nodes.append(node("Add", ["x", "two"], ["x2"]))
_nodes.append(node("Acosh", ["x2"], ["y_Acosh"]))
_outs["y_Acosh"] = np.arccosh(_x + 2).astype(F)
_nodes.insert(0, node("Mul", ["x", "three"], ["x3"]))
for opset in (25, 26):
    case("ceiling_elementwise22_opset%d" % opset, opset, _nodes, {"x": _x}, _outs,
         consts={"three": np.array(3, dtype=F), "two": np.array(2, dtype=F)})


def _conv2d(x, w, b):
    n, c, h, wd = x.shape
    m, _, kh, kw = w.shape
    out = np.zeros((n, m, h - kh + 1, wd - kw + 1), dtype=np.float64)
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            patch = x[:, :, i:i + kh, j:j + kw]
            out[:, :, i, j] = np.einsum("nchw,mchw->nm", patch, w)
    return out + b.reshape(1, m, 1, 1)


def _conv_transpose2d(x, w):
    n, c, h, wd = x.shape
    _, m, kh, kw = w.shape
    out = np.zeros((n, m, h + kh - 1, wd + kw - 1), dtype=np.float64)
    for i in range(h):
        for j in range(wd):
            out[:, :, i:i + kh, j:j + kw] += np.einsum("nc,cmhw->nmhw", x[:, :, i, j], w)
    return out


# Conv, ConvTranspose, the global pools, InstanceNormalization, Dropout
# (inference: the identity) and EyeLike, all bfloat16-only at 22.
_img, _w, _b = _f(1, 2, 4, 4), _f(3, 2, 2, 2), _f(3)
_wt = _f(2, 3, 2, 2)
_scale, _bias = _f(2), _f(2)
_mean = _img.mean(axis=(2, 3), keepdims=True)
_var = _img.var(axis=(2, 3), keepdims=True)
_inorm = (_img - _mean) / np.sqrt(_var + 1e-5) * _scale.reshape(1, 2, 1, 1) + _bias.reshape(1, 2, 1, 1)
_sq = _f(3, 4)
for opset in (25, 26):
  case("ceiling_nn22_opset%d" % opset, opset,
     [node("Conv", ["img", "w", "b"], ["conv"]),
      node("ConvTranspose", ["img", "wt"], ["convt"]),
      node("GlobalAveragePool", ["img"], ["gap"]),
      node("GlobalMaxPool", ["img"], ["gmp"]),
      node("GlobalLpPool", ["img"], ["glp"], p=2),
      node("InstanceNormalization", ["img", "scale", "bias"], ["inorm"], epsilon=1e-5),
      node("Dropout", ["img"], ["drop"]),
      node("EyeLike", ["sq"], ["eye"], k=1)],
     {"img": _img, "sq": _sq},
     {"conv": _conv2d(_img, _w, _b).astype(F), "convt": _conv_transpose2d(_img, _wt).astype(F),
      "gap": _img.mean(axis=(2, 3), keepdims=True), "gmp": _img.max(axis=(2, 3), keepdims=True),
      "glp": np.sqrt((_img.astype(np.float64) ** 2).sum(axis=(2, 3), keepdims=True)).astype(F),
      "inorm": _inorm.astype(F), "drop": _img, "eye": np.eye(3, 4, k=1, dtype=F)},
     consts={"w": _w, "b": _b, "wt": _wt, "scale": _scale, "bias": _bias})

# The tensor ops whose versions 19/21/23/24/25 only added element types
# (float8, int4, float4, float8e8m0, int2), at opsets where each of those
# versions is the one in effect (26 changed none of them).
for opset in (19, 21, 23, 24, 25, 26):
    _t = _f(2, 6)
    _r = _t.reshape(3, 4).T.reshape(1, 4, 3)  # Reshape, Transpose, Unsqueeze
    _fl = _r[0].reshape(4, 3)                  # Squeeze, Flatten(axis=1)
    _c = np.array([[1.5, -2.0, 0.25]], dtype=F)
    case("ceiling_tensor_ops_opset%d" % opset, opset,
         [node("Reshape", ["t", "shape"], ["rs"]),
          node("Transpose", ["rs"], ["tr"], perm=[1, 0]),
          node("Unsqueeze", ["tr", "ax0"], ["us"]),
          node("Squeeze", ["us", "ax0"], ["sq"]),
          node("Flatten", ["sq"], ["fl"], axis=1),
          node("Identity", ["fl"], ["id"]),
          node("Constant", [], ["k"], value=helper.make_tensor(
              "k", 1, [1, 3], _c.ravel().tolist())),
          node("Add", ["id", "k"], ["y"]),
          node("Shape", ["t"], ["shp"]),
          node("Size", ["t"], ["size"]),
          node("ConstantOfShape", ["shp"], ["fill"], value=helper.make_tensor(
              "v", 1, [1], [2.5])),
          node("Mul", ["t", "fill"], ["scaled"])],
         {"t": _t},
         {"y": (_fl + _c).astype(F), "us": _r, "shp": np.array([2, 6], dtype=np.int64),
          "size": np.array(12, dtype=np.int64), "scaled": (_t * 2.5).astype(F)},
         consts={"shape": np.array([3, 4], dtype=np.int64), "ax0": np.array([0], dtype=np.int64)})

# Equal-19 added strings; IsNaN-20 and IsInf-20 float8 types.
_p = np.array([1.0, np.nan, -np.inf, np.inf, 0.0, -3.0], dtype=F)
_q = np.array([1.0, 2.0, -np.inf, 0.0, 0.0, 3.0], dtype=F)
for opset in (25, 26):
  case("ceiling_equal_isnan_isinf_opset%d" % opset, opset,
     [node("Equal", ["p", "q"], ["eq"]), node("IsNaN", ["p"], ["nan"]), node("IsInf", ["p"], ["inf"]),
      node("IsInf", ["p"], ["neginf"], detect_positive=0)],
     {"p": _p, "q": _q},
     {"eq": _p == _q, "nan": np.isnan(_p), "inf": np.isinf(_p), "neginf": np.isneginf(_p)})

# QuantizeLinear-19 added float8 outputs and `saturate`, which applies to
# float8 only: for int8 and uint8 the result is that of version 13.
_qx = np.array([[-300.0, -1.5, -0.5, 0.0], [0.5, 1.5, 2.5, 400.0]], dtype=F)
_qs = np.array(0.5, dtype=F)
_qz = np.array(-3, dtype=np.int8)
_qu = np.array(10, dtype=np.uint8)
case("ceiling_quantize_opset19", 19,
     [node("QuantizeLinear", ["x", "s", "z"], ["q"], saturate=1), node("QuantizeLinear", ["x", "s", "zu"], ["qu"])],
     {"x": _qx},
     {"q": np.clip(np.round(_qx / _qs) + _qz, -128, 127).astype(np.int8),
      "qu": np.clip(np.round(_qx / _qs) + _qu, 0, 255).astype(np.uint8)},
     consts={"s": _qs, "z": _qz, "zu": _qu})
