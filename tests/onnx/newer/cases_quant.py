"""QuantizeLinear and DequantizeLinear at their versions after opset 17:
19 (float16/bfloat16 scales; DequantizeLinear's output takes the scale's
type), 21 (blocked quantization with block_size, int16/uint16, Quantize's
output_dtype), 23 (Quantize's precision, Dequantize's output_dtype), 24
and 25 (only element types kiln does not have: float8e8m0 scales, int2).

Expected outputs are computed here with NumPy from the specification text:
    QuantizeLinear:   y = saturate(round_half_even(x / y_scale) + y_zero_point)
                      (the division in y_scale's type, or in `precision`)
    DequantizeLinear: y = (x - x_zero_point) * x_scale, in float32, then
                      converted to the output type
with the scale and zero point repeated over x per tensor, per axis, or in
blocks of block_size along `axis` (the last block cut to what remains).
NumPy has no bfloat16: the bfloat16 cases cast float32 inputs to bfloat16
inside the model and their results back to float32, and round to bfloat16
here with the IEEE rule (nearest, ties to even) on the float32 bits.
"""
from newer import TensorProto, case, node, np

rng = np.random.default_rng(2113)

RANGES = {np.uint8: (0, 255), np.int8: (-128, 127), np.uint16: (0, 65535), np.int16: (-32768, 32767)}


def expand(p, shape, axis, block):
    """The scale or zero point p repeated to x's shape."""
    p = np.asarray(p)
    if p.size == 1:
        return np.broadcast_to(p.reshape(()), shape)
    if not block:  # per axis: a 1-D tensor along `axis`
        dims = [1] * len(shape)
        dims[axis] = p.size
        return np.broadcast_to(p.reshape(dims), shape)
    rep = np.repeat(p, block, axis=axis)  # blocked
    return np.take(rep, np.arange(shape[axis]), axis=axis)


def quantize(x, scale, zp, qtype, axis=1, block=0, div=None):
    div = div or scale.dtype
    s = expand(scale, x.shape, axis, block)
    q = np.rint((x.astype(div) / s.astype(div)).astype(np.float64))
    if zp is not None:
        q = q + expand(zp, x.shape, axis, block).astype(np.float64)
    lo, hi = RANGES[qtype]
    return np.clip(q, lo, hi).astype(qtype)


def dequantize(x, scale, zp, out, axis=1, block=0):
    d = x.astype(np.float32)
    if zp is not None:
        d = d - expand(zp, x.shape, axis, block).astype(np.float32)
    return (d * expand(scale, x.shape, axis, block).astype(np.float32)).astype(out)


def bf16(a):
    """float32 values rounded to bfloat16 (nearest, ties to even), as float32."""
    a = np.asarray(a, np.float32)
    u = a.reshape(-1).view(np.uint32).astype(np.uint64)
    u = (u + np.uint64(0x7FFF) + ((u >> np.uint64(16)) & np.uint64(1))) & np.uint64(0xFFFF0000)
    return u.astype(np.uint32).view(np.float32).reshape(a.shape)


def q_input(shape, spread):
    return (rng.standard_normal(shape) * spread).astype(np.float32)


def ints(dtype, shape):
    lo, hi = RANGES[dtype]
    return rng.integers(lo, hi + 1, size=shape).astype(dtype)


# ---- QuantizeLinear ----

# 19: a float16 x and scale, the division in float16; exact ties (k + 0.5)
# round to even and out-of-range values saturate.
_x = np.array([[0.5, 1.5, 2.5, -0.5, -1.5], [-2.5, 300.0, -300.0, 7.25, 100.0]], np.float16)
_s, _z = np.float16(0.5), np.int8(-3)
case("kiln_quantizelinear_f16_per_tensor_19", 19, [node("QuantizeLinear", ["x", "s", "z"], ["y"])],
     {"x": _x}, {"y": quantize(_x, _s, _z, np.int8)}, consts={"s": _s, "z": _z})
# the same with ties after the division: x / 0.5 = k + 0.5 only for x = k/2 + 1/4
_x = np.array([0.25, 0.75, 1.25, -0.25, -0.75, -1.25, 63.75, 64.25], np.float16)
case("kiln_quantizelinear_f16_ties_19", 19, [node("QuantizeLinear", ["x", "s", "z"], ["y"])],
     {"x": _x, "s": np.float16(0.5), "z": np.uint8(10)}, {"y": quantize(_x, np.float16(0.5), np.uint8(10), np.uint8)})

# 21: per axis with a negative axis, scale and zero point as graph inputs.
_x = q_input((2, 3, 4), 40)
_s = np.array([0.5, 0.25, 2.0], np.float32)
_z = np.array([128, 0, 250], np.uint8)
case("kiln_quantizelinear_per_axis_negative_axis_21", 21,
     [node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=-2)],
     {"x": _x, "s": _s, "z": _z}, {"y": quantize(_x, _s, _z, np.uint8, axis=1)})

# 21: blocked along axis 1 with a block size (3) that does not divide the
# dimension (7): scale and zero point [3, ceil(7/3)].
_x = q_input((3, 7), 20)
_s = (np.abs(q_input((3, 3), 1)) + 0.1).astype(np.float32)
_z = ints(np.int8, (3, 3)) // 4
case("kiln_quantizelinear_blocked_21", 21,
     [node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=1, block_size=3)],
     {"x": _x}, {"y": quantize(_x, _s, _z, np.int8, axis=1, block=3)}, consts={"s": _s, "z": _z})

# 25: blocked along axis 0 (given as -3) into int16, block 2 over 5.
# Two values saturate.
_x = q_input((5, 2, 2), 200)
_x[0, 0, :] = [1e6, -1e6]
_s = (np.abs(q_input((3, 2, 2), 1)) + 0.5).astype(np.float32)
_z = rng.integers(-300, 300, (3, 2, 2)).astype(np.int16)
case("kiln_quantizelinear_blocked_int16_25", 25,
     [node("QuantizeLinear", ["x", "s", "z"], ["y"], axis=-3, block_size=2)],
     {"x": _x, "s": _s, "z": _z}, {"y": quantize(_x, _s, _z, np.int16, axis=0, block=2)})

# 21: output_dtype without a zero point decides the type (int8, uint16).
_x = q_input((4, 6), 200)
_x[0, :2] = [1e9, -1e9]
case("kiln_quantizelinear_output_dtype_int8_21", 21,
     [node("QuantizeLinear", ["x", "s"], ["y"], output_dtype=TensorProto.INT8)],
     {"x": _x}, {"y": quantize(_x, np.float32(1.5), None, np.int8)}, consts={"s": np.float32(1.5)})
case("kiln_quantizelinear_output_dtype_uint16_21", 21,
     [node("QuantizeLinear", ["x", "s"], ["y"], output_dtype=TensorProto.UINT16)],
     {"x": _x}, {"y": quantize(_x, np.float32(1.0), None, np.uint16)}, consts={"s": np.float32(1.0)})
# both given (equal): the zero point's type, uint16
_z = np.uint16(300)
case("kiln_quantizelinear_output_dtype_and_zero_point_23", 23,
     [node("QuantizeLinear", ["x", "s", "z"], ["y"], output_dtype=TensorProto.UINT16)],
     {"x": _x}, {"y": quantize(_x, np.float32(1.0), _z, np.uint16)}, consts={"s": np.float32(1.0), "z": _z})

# 23: precision=FLOAT divides float16 operands in float32. The inputs are
# chosen so that the float16 division rounds differently somewhere, or the
# case would not tell the two apart.
_x = (rng.uniform(-38, 38, 64)).astype(np.float16)
_s = np.float16(0.3)
_want = quantize(_x, _s, None, np.int8, div=np.float32)
assert (_want != quantize(_x, _s, None, np.int8, div=np.float16)).any()
case("kiln_quantizelinear_precision_float_23", 23,
     [node("QuantizeLinear", ["x", "s"], ["y"], output_dtype=TensorProto.INT8, precision=TensorProto.FLOAT)],
     {"x": _x}, {"y": _want}, consts={"s": _s})
# without precision the same float16 model divides in float16
case("kiln_quantizelinear_precision_default_f16_23", 23,
     [node("QuantizeLinear", ["x", "s"], ["y"], output_dtype=TensorProto.INT8)],
     {"x": _x}, {"y": quantize(_x, _s, None, np.int8, div=np.float16)}, consts={"s": _s})

# 23: a float32 x with a float16 scale divides in float16 ("the type of
# y_scale determines the precision of the division"), x rounded to float16
# first; the inputs make that differ from a float32 division somewhere.
_x = rng.uniform(-38, 38, 64).astype(np.float32)
_want = quantize(_x, _s, None, np.int8, div=np.float16)
assert (_want != quantize(_x, _s, None, np.int8, div=np.float32)).any()
case("kiln_quantizelinear_f32_x_f16_scale_23", 23,
     [node("QuantizeLinear", ["x", "s"], ["y"], output_dtype=TensorProto.INT8)],
     {"x": _x}, {"y": _want}, consts={"s": _s})

# 23: an int32 x with a float32 scale (x and the scale may differ from 23).
_x = rng.integers(-2600, 2600, 12).astype(np.int32)
case("kiln_quantizelinear_int32_x_23", 23,
     [node("QuantizeLinear", ["x", "s", "z"], ["y"])],
     {"x": _x}, {"y": quantize(_x, np.float32(20.0), np.int8(5), np.int8)},
     consts={"s": np.float32(20.0), "z": np.int8(5)})

# 19: bfloat16 x and scale (a power of two, so the bfloat16 division is
# exact); x's values are bfloat16 values.
_x = bf16(q_input((3, 4), 60))
_x[0, :4] = [0.5, 1.5, -2.5, 1000.0]  # ties and saturation, all exact in bfloat16
case("kiln_quantizelinear_bf16_19", 19,
     [node("Cast", ["xf"], ["x"], to=TensorProto.BFLOAT16), node("Cast", ["sf"], ["s"], to=TensorProto.BFLOAT16),
      node("QuantizeLinear", ["x", "s", "z"], ["y"])],
     {"xf": _x}, {"y": quantize(_x, np.float32(0.5), np.uint8(100), np.uint8)},
     consts={"sf": np.float32(0.5), "z": np.uint8(100)})

# ---- DequantizeLinear ----

# 19: a float16 scale gives a float16 output.
_x = ints(np.int8, (2, 4))
_s, _z = np.float16(0.0999), np.int8(-7)
case("kiln_dequantizelinear_f16_scale_19", 19, [node("DequantizeLinear", ["x", "s", "z"], ["y"])],
     {"x": _x}, {"y": dequantize(_x, _s, _z, np.float16)}, consts={"s": _s, "z": _z})

# 21: per axis along a negative axis, scale and zero point as inputs.
_x = ints(np.uint8, (2, 3, 4))
_s = (np.abs(q_input((4,), 1)) + 0.01).astype(np.float32)
_z = ints(np.uint8, (4,))
case("kiln_dequantizelinear_per_axis_negative_axis_21", 21,
     [node("DequantizeLinear", ["x", "s", "z"], ["y"], axis=-1)],
     {"x": _x, "s": _s, "z": _z}, {"y": dequantize(_x, _s, _z, np.float32, axis=2)})

# 21: blocked along axis 1, block 2 over 5 (a last block of one), float16.
_x = ints(np.int8, (4, 5))
_s = (np.abs(q_input((4, 3), 1)) + 0.01).astype(np.float16)
_z = ints(np.int8, (4, 3))
case("kiln_dequantizelinear_blocked_f16_21", 21,
     [node("DequantizeLinear", ["x", "s", "z"], ["y"], axis=1, block_size=2)],
     {"x": _x}, {"y": dequantize(_x, _s, _z, np.float16, axis=1, block=2)}, consts={"s": _s, "z": _z})

# 25: int16 blocked along axis 0 (given as -2), block 4 over 6.
_x = ints(np.int16, (6, 3))
_s = (np.abs(q_input((2, 3), 1)) + 0.01).astype(np.float32)
_z = ints(np.int16, (2, 3))
case("kiln_dequantizelinear_blocked_int16_25", 25,
     [node("DequantizeLinear", ["x", "s", "z"], ["y"], axis=-2, block_size=4)],
     {"x": _x, "s": _s, "z": _z}, {"y": dequantize(_x, _s, _z, np.float32, axis=0, block=4)})

# 21: a block size larger than the dimension: one scale along the axis.
_x = ints(np.uint8, (2, 3))
_s = np.array([[0.5], [2.0]], np.float32)
case("kiln_dequantizelinear_block_larger_than_axis_21", 21,
     [node("DequantizeLinear", ["x", "s"], ["y"], axis=1, block_size=5)],
     {"x": _x}, {"y": dequantize(_x, _s, None, np.float32, axis=1, block=5)}, consts={"s": _s})

# 21: uint16 per tensor, no zero point.
_x = ints(np.uint16, (3, 5))
case("kiln_dequantizelinear_uint16_21", 21, [node("DequantizeLinear", ["x", "s"], ["y"])],
     {"x": _x}, {"y": dequantize(_x, np.float32(0.001), None, np.float32)}, consts={"s": np.float32(0.001)})

# 23: output_dtype float16 with a float32 scale.
_x = ints(np.int8, (3, 4))
_s = np.array([0.013, 0.2, 1.7], np.float32)
case("kiln_dequantizelinear_output_dtype_f16_23", 23,
     [node("DequantizeLinear", ["x", "s"], ["y"], axis=0, output_dtype=TensorProto.FLOAT16)],
     {"x": _x}, {"y": dequantize(_x, _s, None, np.float16, axis=0)}, consts={"s": _s})

# 25: int32 x (no zero point).
_x = rng.integers(-100000, 100000, (2, 3)).astype(np.int32)
case("kiln_dequantizelinear_int32_25", 25, [node("DequantizeLinear", ["x", "s"], ["y"])],
     {"x": _x}, {"y": dequantize(_x, np.float32(0.125), None, np.float32)}, consts={"s": np.float32(0.125)})

# 19: a bfloat16 scale gives a bfloat16 output (cast back to float32 here).
_x = ints(np.int8, (2, 5))
_s = bf16(np.float32(0.0371))
_z = np.int8(3)
case("kiln_dequantizelinear_bf16_scale_19", 19,
     [node("Cast", ["sf"], ["s"], to=TensorProto.BFLOAT16), node("DequantizeLinear", ["x", "s", "z"], ["yb"]),
      node("Cast", ["yb"], ["y"], to=TensorProto.FLOAT)],
     {"x": _x}, {"y": bf16(dequantize(_x, _s, _z, np.float32))}, consts={"sf": _s, "z": _z})

# 25: quantize then dequantize, blocked, as a weight-only quantized model
# stores its weights (float32 out: the scale's type).
_w = q_input((4, 8), 2)
_s = (np.abs(q_input((4, 2), 0.05)) + 0.01).astype(np.float32)
_z = ints(np.int8, (4, 2)) // 16
case("kiln_quantize_dequantize_blocked_roundtrip_25", 25,
     [node("QuantizeLinear", ["w", "s", "z"], ["q"], axis=1, block_size=4),
      node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=1, block_size=4)],
     {"w": _w}, {"y": dequantize(quantize(_w, _s, _z, np.int8, axis=1, block=4), _s, _z, np.float32, axis=1, block=4)},
     consts={"s": _s, "z": _z})
