"""Newer-opset cases for small ops: Swish (24), TensorScatter (24) and
MelWeightMatrix (17, checked here with its inputs as initializers at a
later opset; ONNX 1.12's node/test_melweightmatrix feeds them as graph
inputs).

Expected outputs are NumPy written from the operator specifications:
Swish is x * sigmoid(alpha * x); TensorScatter follows the spec's
pseudocode loop over the batch and sequence positions; MelWeightMatrix
uses the spec's mel scale, 2595 log10(1 + f / 700), with the band edges
placed as ONNX's reference implementation (which made the backend data)
places them.
"""
from newer import TensorProto, case, node, np

rng = np.random.default_rng(1414)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---- Swish (24): x * sigmoid(alpha * x), alpha default 1.0 ----

def _swish(x, alpha=1.0):
    x64 = x.astype(np.float64)
    return (x64 / (1 + np.exp(-alpha * x64))).astype(x.dtype)


_x = np.concatenate([f32(30) * 4, np.array([-80, -10, 0, 10, 80], np.float32)])
case("kiln_swish", 24, [node("Swish", ["x"], ["y"])], {"x": _x}, {"y": _swish(_x)})
_x = f32(2, 3, 4) * 3
case("kiln_swish_alpha", 24, [node("Swish", ["x"], ["y"], alpha=0.5)], {"x": _x}, {"y": _swish(_x, 0.5)})
_x = (f32(3, 5) * 3).astype(np.float64)
case("kiln_swish_alpha_double", 24, [node("Swish", ["x"], ["y"], alpha=-1.75)], {"x": _x},
     {"y": _swish(_x, -1.75)})


# ---- TensorScatter (24): the KV-cache update ----

def _tensor_scatter(past, update, write_indices=None, axis=-2, mode="linear"):
    """The spec's pseudocode: for every prefix index (the dimensions before
    the axis) and every sequence position of the update, write the update's
    slice at write_indices[batch] + position (mod max_sequence_length in
    circular mode) along the axis."""
    axis = axis % past.ndim
    out = past.copy()
    if write_indices is None:
        write_indices = np.zeros(past.shape[0], np.int64)
    max_len, seq_len = past.shape[axis], update.shape[axis]
    for prefix in np.ndindex(*past.shape[:axis]):
        for s in range(seq_len):
            pos = int(write_indices[prefix[0]]) + s
            if mode == "circular":
                pos %= max_len
            out[prefix + (pos,)] = update[prefix + (s,)]
    return out


def _scatter_case(name, past, update, write_indices=None, **attrs):
    ins = {"past": past, "update": update}
    names = ["past", "update"]
    if write_indices is not None:
        ins["write_indices"] = write_indices
        names.append("write_indices")
    case(name, 24, [node("TensorScatter", names, ["present"], **attrs)], ins,
         {"present": _tensor_scatter(past, update, write_indices, **attrs)})


# Linear, default axis -2 of a (batch, heads, max_seq, head_dim) cache.
_scatter_case("kiln_tensor_scatter_linear", f32(2, 3, 5, 4), f32(2, 3, 2, 4), np.array([1, 3], np.int64))
# Without write_indices: written from position 0 (prefill).
_scatter_case("kiln_tensor_scatter_no_indices", f32(2, 3, 5, 4), f32(2, 3, 3, 4))
_scatter_case("kiln_tensor_scatter_no_indices_circular", f32(2, 2, 4, 3), f32(2, 2, 4, 3), mode="circular")
# Circular: positions wrap around max_sequence_length.
_scatter_case("kiln_tensor_scatter_circular", f32(2, 3, 5, 4), f32(2, 3, 3, 4), np.array([3, 4], np.int64),
              mode="circular")
# Circular with a write index past the end and a negative one (mod wraps both).
_scatter_case("kiln_tensor_scatter_circular_axis1", f32(3, 6, 2), f32(3, 4, 2), np.array([5, 13, -1], np.int64),
              axis=1, mode="circular")
# Linear along the last axis of a rank-3 cache, integer data.
_scatter_case("kiln_tensor_scatter_axis_last_int32", rng.integers(-100, 100, (2, 3, 6), dtype=np.int32),
              rng.integers(-100, 100, (2, 3, 2), dtype=np.int32), np.array([4, 0], np.int64), axis=-1)
# Linear along axis 1 of a rank-4 cache (not the default -2).
_scatter_case("kiln_tensor_scatter_axis1_rank4", f32(2, 5, 3, 2), f32(2, 1, 3, 2), np.array([0, 4], np.int64),
              axis=1)
# An update as long as the cache replaces it.
_scatter_case("kiln_tensor_scatter_full", f32(1, 4, 3), f32(1, 4, 3), np.array([0], np.int64), axis=1)


# ---- MelWeightMatrix (17) ----

def _mel_weight_matrix(num_mel_bins, dft_length, sample_rate, lower_edge_hertz, upper_edge_hertz, dtype):
    """Triangular filters of peak 1 evenly spaced on the mel scale
    mel(f) = 2595 log10(1 + f / 700). Band edges: num_mel_bins + 2 points
    k * (mel(upper) - mel(lower)) / (num_mel_bins + 2) + mel(lower), the
    mel values in the edge frequencies' own type, each mapped back to hertz
    and to spectrogram bin floor((dft_length + 1) * hz / sample_rate);
    band i rises from edge i to 1 at edge i + 1 and falls to edge i + 2."""
    lo, hi = lower_edge_hertz, upper_edge_hertz  # NumPy scalars: their type decides the precision
    lo_mel = 2595 * np.log10(1 + lo / 700)
    hi_mel = 2595 * np.log10(1 + hi / 700)
    step = (hi_mel - lo_mel) / (num_mel_bins + 2)
    mels = np.arange(num_mel_bins + 2, dtype=np.float64) * np.float64(step) + np.float64(lo_mel)
    hz = 700 * (np.power(10.0, mels / 2595) - 1)
    edges = np.floor_divide((dft_length + 1) * hz, float(sample_rate)).astype(np.int64)
    out = np.zeros((dft_length // 2 + 1, num_mel_bins), np.float64)
    for i in range(num_mel_bins):
        left, center, right = edges[i], edges[i + 1], edges[i + 2]
        if center == left:
            out[center, i] = 1
        else:
            for j in range(left, center + 1):
                out[j, i] = (j - left) / (center - left)
        for j in range(center, right):
            out[j, i] = (right - j) / (right - center)
    return out.astype(dtype)


def _mel_case(name, opset, m, n, sr, lo, hi, int_type, output_datatype=None, out_dtype=np.float32):
    consts = {"num_mel_bins": np.array(m, int_type), "dft_length": np.array(n, int_type),
              "sample_rate": np.array(sr, int_type), "lower_edge_hertz": lo, "upper_edge_hertz": hi}
    attrs = {} if output_datatype is None else {"output_datatype": output_datatype}
    want = _mel_weight_matrix(m, n, sr, lo, hi, out_dtype)
    # A graph input gives the model one: the matrix is added to it.
    zero = np.zeros(want.shape, out_dtype)
    case(name, opset, [node("MelWeightMatrix", list(consts), ["w"], **attrs), node("Add", ["w", "zero"], ["y"])],
         {"zero": zero}, {"y": want}, consts=consts)


_mel_case("kiln_mel_weight_matrix", 18, 8, 64, 16000, np.float32(0), np.float32(8000), np.int64)
_mel_case("kiln_mel_weight_matrix_band", 24, 5, 50, 22050, np.float32(125.5), np.float32(7600), np.int32)
_mel_case("kiln_mel_weight_matrix_double", 18, 10, 128, 8000, np.float64(50), np.float64(3900), np.int64,
          output_datatype=TensorProto.DOUBLE, out_dtype=np.float64)
_mel_case("kiln_mel_weight_matrix_float16", 18, 4, 31, 8000, np.float32(20), np.float32(3000), np.int32,
          output_datatype=TensorProto.FLOAT16, out_dtype=np.float16)
