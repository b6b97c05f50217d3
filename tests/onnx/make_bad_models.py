#!/usr/bin/python3
"""Writes a corpus of malformed or unsupported ONNX models into a folder.

Each model comes with the substrings kiln's error message must contain
(EXPECTED below); check_bad_models.py runs `kiln import` on each. Models are
built with the onnx package where it can express the defect, and by hand
(raw protobuf bytes) where it cannot (truncation, deep nesting).

usage: make_bad_models.py OUTDIR
"""
import os
import sys

import onnx
from onnx import TensorProto, helper

# name -> substrings that must all appear in kiln's error output.
EXPECTED = {
    "empty": ["empty file"],
    "not_protobuf": ["malformed protobuf"],
    "truncated": ["truncated"],
    "cycle": ["cycle"],
    "dangling_input": ["input 'nowhere' refers to no graph input"],
    "negative_dim": ["graph input 'x': dimension 1 is negative"],
    "absurd_dim_input": ["graph input 'x'", "too large"],
    "absurd_dim_initializer": ["initializer 'w'", "absurdly large"],
    "raw_data_size": ["initializer 'w'", "raw_data has 12 bytes", "need 16"],
    "missing_opset": ["imports no opset of the default domain"],
    "opset_99": ["opset 99", "kiln supports opsets"],
    "duplicate_names": ["'y' is defined twice"],
    "unknown_domain": ["domain 'com.example.secret' is not supported"],
    "many_unsupported": ["FancyOpA is not supported", "FancyOpB is not supported", "FancyOpC is not supported",
                         "3 nodes of the model cannot be imported"],
    "external_escape": ["outside the model's folder"],
    "external_missing": ["external data file 'weights_that_are_not_there.bin' not found"],
    "nul_in_name": ["NUL byte"],
    "deep_nesting": ["nested more than"],
    "wrong_attr_type": ["attribute 'perm' must be a list of ints"],
    "unbound_symbolic_dim": ["graph input 'x': dimension 0 ('batch') is symbolic", "--input-shape x="],
    "no_graph": ["has no graph"],
    "string_input": ["graph input 'x': element type STRING is not supported"],
    "bad_reshape": ["Reshape", "cannot reshape"],
    "broadcast_mismatch": ["(Add, opset 13)", "do not broadcast"],
    "unsupported_attr_and_op": ["node 'pad' (Pad, opset 13): pad mode 'wrap' is not supported",
                                "node 'fd' (FancyOpD, opset 13): operator FancyOpD is not supported",
                                "2 nodes of the model cannot be imported"],
}


def model(nodes, inputs, outputs, initializers=(), opset=13, **kw):
    g = helper.make_graph(nodes, "bad", inputs, outputs, initializer=list(initializers))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], **kw)


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def relu_model():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [vi("x", [2, 3])], [vi("y", [2, 3])])


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):
    """A length-delimited protobuf field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def deep_nesting(levels):
    """A model whose graph input type is a sequence of a sequence of ... of
    a float tensor, `levels` deep. Built outside-in in O(levels): each
    level's header needs the size of everything inside it."""
    inner = field(1, varint(1 << 3 | 0) + varint(1))  # TypeProto{tensor_type{elem_type: FLOAT}}
    # Per level: TypeProto.sequence_type (field 4) holding Sequence.elem_type
    # (field 1) holding the next TypeProto.
    sizes = []
    size = len(inner)
    for _ in range(levels):
        seq = len(varint(1 << 3 | 2)) + len(varint(size)) + size  # Sequence{elem_type}
        sizes.append((size, seq))
        size = len(varint(4 << 3 | 2)) + len(varint(seq)) + seq  # TypeProto{sequence_type}
    parts = []
    for inner_size, seq in reversed(sizes):
        parts.append(varint(4 << 3 | 2) + varint(seq) + varint(1 << 3 | 2) + varint(inner_size))
    type_bytes = b"".join(parts) + inner
    value_info = field(1, b"x") + field(2, type_bytes)
    graph = field(11, value_info) + field(2, b"deep")
    opset = field(1, b"") + varint(2 << 3 | 0) + varint(13)
    return varint(1 << 3 | 0) + varint(8) + field(7, graph) + field(8, opset)


def build(out):
    m = {}
    m["empty"] = b""
    m["not_protobuf"] = b"this is a text file, not an ONNX model\n"
    full = relu_model().SerializeToString()
    m["truncated"] = full[: len(full) // 2]

    m["cycle"] = model([helper.make_node("Relu", ["b"], ["a"], name="first"),
                        helper.make_node("Relu", ["a"], ["b"], name="second")],
                       [vi("x", [2])], [vi("b", [2])])
    m["dangling_input"] = model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")],
                                [vi("x", [2])], [vi("y", [2])])
    m["negative_dim"] = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2, -3])], [vi("y", [2, 3])])
    m["absurd_dim_input"] = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [10**15, 1000])],
                                  [vi("y", [10**15, 1000])])
    big = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[10**15], raw_data=b"")
    m["absurd_dim_initializer"] = model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [1])],
                                        [vi("y", [1])], [big])
    short = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"\0" * 12)
    m["raw_data_size"] = model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [4])], [vi("y", [4])], [short])
    mo = relu_model()
    del mo.opset_import[:]
    m["missing_opset"] = mo
    m["opset_99"] = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [2])], [vi("y", [2])], opset=99)
    m["duplicate_names"] = model([helper.make_node("Relu", ["x"], ["y"], name="one"),
                                  helper.make_node("Neg", ["x"], ["y"], name="two")],
                                 [vi("x", [2])], [vi("y", [2])])
    m["unknown_domain"] = model([helper.make_node("Secret", ["x"], ["y"], domain="com.example.secret")],
                                [vi("x", [2])], [vi("y", [2])])
    m["many_unsupported"] = model([helper.make_node("FancyOpA", ["x"], ["a"], name="fa"),
                                   helper.make_node("Relu", ["a"], ["b"], name="fine"),
                                   helper.make_node("FancyOpB", ["b"], ["c"], name="fb"),
                                   helper.make_node("FancyOpC", ["c"], ["y"], name="fc")],
                                  [vi("x", [2])], [vi("y", [2])])
    for name, location in (("external_escape", "../../../../../../../../../../etc/passwd"),
                           ("external_missing", "weights_that_are_not_there.bin")):
        t = TensorProto()
        t.name = "w"
        t.data_type = TensorProto.FLOAT
        t.dims.append(4)
        t.data_location = TensorProto.EXTERNAL
        e = t.external_data.add()
        e.key, e.value = "location", location
        m[name] = model([helper.make_node("Add", ["x", "w"], ["y"])], [vi("x", [4])], [vi("y", [4])], [t])
    m["nul_in_name"] = model([helper.make_node("Relu", ["x"], ["y"], name="re\0lu")], [vi("x", [2])], [vi("y", [2])])
    m["deep_nesting"] = deep_nesting(100000)
    wrong = helper.make_node("Transpose", ["x"], ["y"], name="tr")
    wrong.attribute.append(helper.make_attribute("perm", [1.0, 0.0]))
    m["wrong_attr_type"] = model([wrong], [vi("x", [2, 3])], [vi("y", [3, 2])])
    m["unbound_symbolic_dim"] = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["batch", 3])],
                                      [vi("y", ["batch", 3])])
    m["no_graph"] = onnx.ModelProto(ir_version=8, opset_import=[helper.make_opsetid("", 13)])
    m["string_input"] = model([helper.make_node("Identity", ["x"], ["y"])], [vi("x", [2], TensorProto.STRING)],
                              [vi("y", [2], TensorProto.STRING)])
    shape = helper.make_tensor("s", TensorProto.INT64, [2], [5, 5])
    m["bad_reshape"] = model([helper.make_node("Reshape", ["x", "s"], ["y"], name="rs")], [vi("x", [2, 3])],
                             [vi("y", [5, 5])], [shape])
    m["broadcast_mismatch"] = model([helper.make_node("Add", ["x", "z"], ["y"], name="add")],
                                    [vi("x", [2, 3]), vi("z", [4])], [vi("y", [2, 3])])

    pads = helper.make_tensor("p", TensorProto.INT64, [4], [0, 1, 0, 1])
    m["unsupported_attr_and_op"] = model([helper.make_node("Pad", ["x", "p"], ["a"], name="pad", mode="wrap"),
                                          helper.make_node("FancyOpD", ["a"], ["y"], name="fd")],
                                         [vi("x", [2, 3])], [vi("y", [2, 5])], [pads])

    assert set(m) == set(EXPECTED), set(m) ^ set(EXPECTED)
    os.makedirs(out, exist_ok=True)
    for name, v in m.items():
        data = v if isinstance(v, bytes) else v.SerializeToString()
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(sys.argv[1])
