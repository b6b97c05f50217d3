"""Opset 26 (ONNX 1.21): CumProd-26, and ops unchanged since earlier opsets
imported at 26.

ONNX 1.21's opset 26 adds two ops, BitCast and CumProd, and gives no other
op a new version. kiln lowers CumProd; BitCast is refused (the IR has no
bit reinterpretation; tests/onnx/check_op_versions.py checks the message).
Expected outputs are NumPy, written from the CumProd specification: y[i] is
the product of x[0..i] along `axis` (inclusive), of x[0..i-1] with
exclusive=1 (the first element is 1), and of the suffix with reverse=1.
"""
from newer import case, node, np

rng = np.random.default_rng(2026)
F = np.float32


def _cumprod(x, axis, exclusive=0, reverse=0):
    x = np.asarray(x)
    if reverse:
        x = np.flip(x, axis)
    y = np.cumprod(x, axis=axis, dtype=x.dtype)
    if exclusive:
        # shift by one along the axis, the first element becoming 1
        ones = np.ones_like(np.take(y, [0], axis=axis))
        y = np.concatenate([ones, np.take(y, range(0, y.shape[axis] - 1), axis=axis)], axis=axis)
    if reverse:
        y = np.flip(y, axis)
    return y.astype(x.dtype)


_x = rng.uniform(0.5, 1.5, (3, 4)).astype(F)
for excl in (0, 1):
    for rev in (0, 1):
        case("opset26_cumprod_f32_axis1_e%d_r%d" % (excl, rev), 26,
             [node("CumProd", ["x", "axis"], ["y"], exclusive=excl, reverse=rev)],
             {"x": _x}, {"y": _cumprod(_x, 1, excl, rev)},
             consts={"axis": np.array(1, dtype=np.int64)})

# Axis 0 given negatively, as an int32 tensor (the spec allows int32 or int64).
_x3 = rng.uniform(-1.5, 1.5, (3, 2, 2)).astype(F)
case("opset26_cumprod_f32_axis_neg3", 26,
     [node("CumProd", ["x", "axis"], ["y"])],
     {"x": _x3}, {"y": _cumprod(_x3, 0)},
     consts={"axis": np.array(-3, dtype=np.int32)})

# Doubles along the last axis, reversed.
_xd = rng.uniform(-2.0, 2.0, (2, 5)).astype(np.float64)
case("opset26_cumprod_f64_last_reverse", 26,
     [node("CumProd", ["x", "axis"], ["y"], reverse=1)],
     {"x": _xd}, {"y": _cumprod(_xd, 1, 0, 1)},
     consts={"axis": np.array(-1, dtype=np.int64)})

# Integers: exact products, negative factors and a zero.
_xi = np.array([[2, -3, 1, 4], [5, 0, -2, 3]], dtype=np.int64)
case("opset26_cumprod_i64_axis1", 26,
     [node("CumProd", ["x", "axis"], ["y"])],
     {"x": _xi}, {"y": _cumprod(_xi, 1)},
     consts={"axis": np.array(1, dtype=np.int64)})
_xi32 = np.array([[1, 2, 3], [-1, 4, 2], [3, -2, 2]], dtype=np.int32)
case("opset26_cumprod_i32_axis0_exclusive", 26,
     [node("CumProd", ["x", "axis"], ["y"], exclusive=1)],
     {"x": _xi32}, {"y": _cumprod(_xi32, 0, 1, 0)},
     consts={"axis": np.array(0, dtype=np.int64)})
_xi1 = np.array([3, -1, 2, 2, -5], dtype=np.int32)
case("opset26_cumprod_i32_1d_exclusive_reverse", 26,
     [node("CumProd", ["x", "axis"], ["y"], exclusive=1, reverse=1)],
     {"x": _xi1}, {"y": _cumprod(_xi1, 0, 1, 1)},
     consts={"axis": np.array(0, dtype=np.int64)})

# CumProd next to ops unchanged at 26 (CumSum-14, Mul-14, Softmax-13): a
# model of opset 26 imports them at their older versions.
_a = rng.uniform(0.5, 1.5, (2, 3)).astype(F)
_cs = np.cumsum(_a, axis=1, dtype=F)
_cp = _cumprod(_a, 1)
_m = (_cs * _cp).astype(F)
_e = np.exp(_m - _m.max(axis=1, keepdims=True))
case("opset26_cumprod_with_older_ops", 26,
     [node("CumSum", ["a", "axis"], ["cs"]), node("CumProd", ["a", "axis"], ["cp"]),
      node("Mul", ["cs", "cp"], ["m"]), node("Softmax", ["m"], ["y"], axis=1)],
     {"a": _a}, {"y": (_e / _e.sum(axis=1, keepdims=True)).astype(F), "cp": _cp},
     consts={"axis": np.array(1, dtype=np.int64)})

# Div-14 at opset 26. ONNX 1.21 spelled out that integer Div truncates toward
# zero (-11 / 3 is -3, not Python's -4); that wording gave Div no new version.
_na = np.array([8, -8, 7, -7, -11, 11], dtype=np.int64)
_nb = np.array([-3, 3, -2, 2, 3, -3], dtype=np.int64)
case("opset26_div_int_truncates", 26,
     [node("Div", ["a", "b"], ["y"])],
     {"a": _na, "b": _nb}, {"y": (np.trunc(_na / _nb)).astype(np.int64)})
