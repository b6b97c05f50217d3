"""Sequences and optionals (frontend/onnx/ops_sequence.c): kiln holds a
sequence as a list of tensors known at import time, so every case feeds
tensors as real graph inputs, builds sequences inside the model with
positions that are constants, and returns tensors.

Covered: SequenceConstruct + SequenceAt (positive and negative positions);
SequenceInsert in the middle, at the back (no position) and at a negative
position; SequenceErase at the front, by default (the last) and at a
negative position; SequenceLength (of a built-up SequenceEmpty too);
SplitToSequence without split (keepdims 1 and 0), with a scalar split that
leaves a shorter last piece and with a 1-D split; ConcatFromSequence along
an axis and with new_axis=1 (negative axis); SequenceMap over one and two
sequences plus a tensor, its body reading an outer value; a sequence made
in an If branch whose condition is a constant; Optional of a tensor and of
a sequence, empty Optionals, OptionalHasElement/OptionalGetElement at
versions 15 and 18 (18 also takes plain tensors and no input).

Expected outputs are NumPy written from the operator specifications.
"""
from newer import TensorProto, case, helper, node, np

F, I64 = TensorProto.FLOAT, TensorProto.INT64
rng = np.random.default_rng(1411)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def i64(v):
    return np.array(v, np.int64)


# ---- SequenceConstruct and SequenceAt ----

_x, _y, _z = f32(2, 3), f32(4, 3), f32(1, 3)
for _opset in (11, 25):
    case("kiln_sequence_construct_at_opset%d" % _opset, _opset,
         [node("SequenceConstruct", ["x", "y", "z"], ["s"]),
          node("SequenceAt", ["s", "one"], ["a"]),
          node("SequenceAt", ["s", "minus_one"], ["b"]),
          node("SequenceAt", ["s", "zero32"], ["c"])],
         {"x": _x, "y": _y, "z": _z}, {"a": _y, "b": _z, "c": _x},
         {"one": i64(1), "minus_one": i64(-1), "zero32": np.array(0, np.int32)})

# ---- SequenceInsert: middle, back (no position), negative ----

_x, _y, _t = f32(2, 3), f32(3, 3), f32(1, 3)
case("kiln_sequence_insert", 13,
     [node("SequenceConstruct", ["x", "y"], ["s"]),
      node("SequenceInsert", ["s", "t", "one"], ["s_mid"]),
      node("SequenceInsert", ["s", "t"], ["s_back"]),
      node("SequenceInsert", ["s", "t", "minus_two"], ["s_neg"]),
      node("ConcatFromSequence", ["s_mid"], ["mid"], axis=0),
      node("ConcatFromSequence", ["s_back"], ["back"], axis=0),
      node("ConcatFromSequence", ["s_neg"], ["neg"], axis=0),
      node("SequenceLength", ["s_mid"], ["len_mid"])],
     {"x": _x, "y": _y, "t": _t},
     {"mid": np.concatenate([_x, _t, _y]), "back": np.concatenate([_x, _y, _t]),
      "neg": np.concatenate([_t, _x, _y]), "len_mid": i64(3)},
     {"one": i64(1), "minus_two": i64(-2)})

# ---- SequenceErase: front, default (the last), negative ----

_x, _y, _z = f32(1, 2), f32(2, 2), f32(3, 2)
case("kiln_sequence_erase", 11,
     [node("SequenceConstruct", ["x", "y", "z"], ["s"]),
      node("SequenceErase", ["s", "zero"], ["s_front"]),
      node("SequenceErase", ["s"], ["s_last"]),
      node("SequenceErase", ["s", "minus_two"], ["s_neg"]),
      node("ConcatFromSequence", ["s_front"], ["front"], axis=0),
      node("ConcatFromSequence", ["s_last"], ["last"], axis=0),
      node("ConcatFromSequence", ["s_neg"], ["neg"], axis=0),
      node("SequenceLength", ["s_neg"], ["len_neg"])],
     {"x": _x, "y": _y, "z": _z},
     {"front": np.concatenate([_y, _z]), "last": np.concatenate([_x, _y]),
      "neg": np.concatenate([_x, _z]), "len_neg": i64(2)},
     {"zero": i64(0), "minus_two": i64(-2)})

# ---- SequenceEmpty built up, SequenceLength ----

_x, _y = f32(3), f32(3)
case("kiln_sequence_empty_length", 16,
     [node("SequenceEmpty", [], ["e"], dtype=F),
      node("SequenceLength", ["e"], ["len0"]),
      node("SequenceInsert", ["e", "x"], ["s1"]),
      node("SequenceInsert", ["s1", "y", "zero"], ["s2"]),
      node("SequenceLength", ["s2"], ["len2"]),
      node("ConcatFromSequence", ["s2"], ["yx"], axis=0, new_axis=1)],
     {"x": _x, "y": _y}, {"len0": i64(0), "len2": i64(2), "yx": np.stack([_y, _x])},
     {"zero": i64(0)})

# ---- SplitToSequence ----

_x = f32(6, 4)
case("kiln_split_to_sequence_default", 11,
     [node("SplitToSequence", ["x"], ["s_keep"], axis=1),
      node("SplitToSequence", ["x"], ["s_drop"], axis=1, keepdims=0),
      node("SequenceLength", ["s_keep"], ["n"]),
      node("SequenceAt", ["s_keep", "two"], ["keep2"]),
      node("SequenceAt", ["s_drop", "minus_one"], ["drop_last"]),
      # stacking the keepdims=0 pieces back along axis 1 gives x again
      node("ConcatFromSequence", ["s_drop"], ["restacked"], axis=1, new_axis=1)],
     {"x": _x}, {"n": i64(4), "keep2": _x[:, 2:3], "drop_last": _x[:, 3], "restacked": _x},
     {"two": i64(2), "minus_one": i64(-1)})

case("kiln_split_to_sequence_scalar_split", 24,
     [node("SplitToSequence", ["x", "four"], ["s"], axis=0),
      node("SequenceLength", ["s"], ["n"]),
      node("SequenceAt", ["s", "zero"], ["first"]),
      node("SequenceAt", ["s", "minus_one"], ["last"])],
     {"x": _x}, {"n": i64(2), "first": _x[0:4], "last": _x[4:6]},
     {"four": i64(4), "zero": i64(0), "minus_one": i64(-1)})

case("kiln_split_to_sequence_list_split", 18,
     [node("SplitToSequence", ["x", "lens"], ["s"], axis=-2, keepdims=0),  # keepdims ignored with split
      node("SequenceAt", ["s", "one"], ["mid"]),
      node("SequenceAt", ["s", "two"], ["tail"]),
      node("ConcatFromSequence", ["s"], ["whole"], axis=0)],
     {"x": _x}, {"mid": _x[1:4], "tail": _x[4:6], "whole": _x},
     {"lens": np.array([1, 3, 2], np.int32), "one": i64(1), "two": i64(2)})

# ---- ConcatFromSequence ----

_a, _b, _c = f32(2, 3), f32(2, 3), f32(2, 3)
_d = f32(2, 5)
case("kiln_concat_from_sequence", 17,
     [node("SequenceConstruct", ["a", "b", "c"], ["s"]),
      node("ConcatFromSequence", ["s"], ["stack_last"], axis=-1, new_axis=1),
      node("ConcatFromSequence", ["s"], ["stack_first"], axis=0, new_axis=1),
      node("SequenceInsert", ["s", "d"], ["s2"]),
      node("ConcatFromSequence", ["s2"], ["cat1"], axis=1)],
     {"a": _a, "b": _b, "c": _c, "d": _d},
     {"stack_last": np.stack([_a, _b, _c], axis=-1), "stack_first": np.stack([_a, _b, _c], axis=0),
      "cat1": np.concatenate([_a, _b, _c, _d], axis=1)})

# ---- SequenceMap: the body applied to each element ----

_x, _y, _w, _bias = f32(2, 3), f32(4, 3), f32(3), f32(3)
_u, _v = f32(2, 3), f32(4, 3)
_body = helper.make_graph(
    [node("Mul", ["e", "w_in"], ["m"]),
     node("Add", ["m", "bias"], ["o0"]),  # `bias` is read from the outer graph
     node("Sub", ["o0", "f"], ["o1"]),
     node("Shape", ["e"], ["o2"])],
    "body",
    [helper.make_tensor_value_info("e", F, None), helper.make_tensor_value_info("f", F, None),
     helper.make_tensor_value_info("w_in", F, [3])],
    [helper.make_tensor_value_info("o0", F, None), helper.make_tensor_value_info("o1", F, None),
     helper.make_tensor_value_info("o2", I64, [2])])
for _opset in (17, 25):
    case("kiln_sequence_map_opset%d" % _opset, _opset,
         [node("SequenceConstruct", ["x", "y"], ["s"]),
          node("SequenceConstruct", ["u", "v"], ["t"]),
          node("SequenceMap", ["s", "t", "w"], ["r0", "r1", "r2"], body=_body),
          node("SequenceAt", ["r0", "zero"], ["a0"]),
          node("SequenceAt", ["r0", "one"], ["b0"]),
          node("SequenceAt", ["r1", "one"], ["b1"]),
          node("ConcatFromSequence", ["r2"], ["shapes"], axis=0, new_axis=1)],
         {"x": _x, "y": _y, "u": _u, "v": _v, "w": _w},
         {"a0": _x * _w + _bias, "b0": _y * _w + _bias, "b1": _y * _w + _bias - _v,
          "shapes": np.array([[2, 3], [4, 3]], np.int64)},
         {"bias": _bias, "zero": i64(0), "one": i64(1)})

# ---- a sequence from an If whose condition is a constant (inlined) ----

_x, _y = f32(3), f32(2)
_then = helper.make_graph([node("SequenceConstruct", ["x", "y"], ["ts"])], "then", [],
                          [helper.make_tensor_sequence_value_info("ts", F, None)])
_else = helper.make_graph([node("SequenceConstruct", ["y"], ["es"])], "else", [],
                          [helper.make_tensor_sequence_value_info("es", F, None)])
case("kiln_sequence_from_constant_if", 16,
     [node("If", ["yes"], ["s"], then_branch=_then, else_branch=_else),
      node("SequenceLength", ["s"], ["n"]),
      node("ConcatFromSequence", ["s"], ["xy"], axis=0)],
     {"x": _x, "y": _y}, {"n": i64(2), "xy": np.concatenate([_x, _y])},
     {"yes": np.array(True)})

# ---- optionals ----

_x, _y = f32(2, 2), f32(3)
_empty_type = helper.make_tensor_type_proto(F, [2, 2])
case("kiln_optional_opset15", 15,
     [node("Optional", ["x"], ["o"]),
      node("Optional", [], ["none"], type=_empty_type),
      node("OptionalHasElement", ["o"], ["has"]),
      node("OptionalHasElement", ["none"], ["has_none"]),
      node("OptionalGetElement", ["o"], ["got"]),
      node("Relu", ["got"], ["relu"]),
      node("SequenceConstruct", ["x"], ["s"]),
      node("Optional", ["s"], ["os"]),
      node("OptionalGetElement", ["os"], ["s_back"]),
      node("SequenceAt", ["s_back", "zero"], ["first"])],
     {"x": _x},
     {"has": np.array(True), "has_none": np.array(False), "relu": np.maximum(_x, 0), "first": _x},
     {"zero": i64(0)})

case("kiln_optional_opset18", 18,
     [node("OptionalHasElement", [""], ["has_absent"]),  # no input: empty
      node("OptionalHasElement", ["x"], ["has_tensor"]),  # a tensor is present
      node("OptionalGetElement", ["y"], ["y_back"]),  # a tensor passes through
      node("Optional", ["x"], ["o"]),
      node("OptionalGetElement", ["o"], ["x_back"]),
      node("Add", ["x_back", "x_back"], ["twice"])],
     {"x": _x, "y": _y},
     {"has_absent": np.array(False), "has_tensor": np.array(True), "y_back": _y, "twice": _x + _x})
