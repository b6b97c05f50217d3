#!/usr/bin/python3
"""Writes a corpus of malformed or unsupported ONNX models into a folder.

Each model comes with the substrings kiln's error message must contain
(EXPECTED below); check_bad_models.py runs `kiln import` on each. GOOD
lists valid but unusual models written beside them, which must import. Models are
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
    "empty": ["empty.onnx", "empty"],
    "not_protobuf": ["not_protobuf.onnx", "not an ONNX model"],
    "bad_field_tag": ["bad_field_tag.onnx", "malformed protobuf (bad field tag at byte 2)"],
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
    "wrong_attr_type": ["node 'tr' (Transpose, opset 13)", "attribute 'perm' of Transpose must be INTS, not FLOATS"],
    "unbound_symbolic_dim": ["graph input 'x': dimension 0 ('batch') is symbolic", "--input-shape x="],
    "no_graph": ["has no graph"],
    "string_input": ["graph input 'x': element type STRING is not supported"],
    "bad_reshape": ["Reshape", "cannot reshape"],
    "broadcast_mismatch": ["(Add, opset 13)", "do not broadcast"],
    "unsupported_attr_and_op": ["node 'pad' (Pad, opset 13): pad mode 'wrap' is defined from opset 19; the model declares 13",
                                "node 'fd' (FancyOpD, opset 13): operator FancyOpD is not supported",
                                "2 nodes of the model cannot be imported"],
    # Structural rules (frontend/onnx/check.c): issue 9's corpus and more.
    "relu_two_inputs": ["node 'relu' (Relu, opset 13)", "has 2 inputs; Relu takes 1"],
    "add_one_input": ["node 'add' (Add, opset 13)", "has 1 input; Add takes 2"],
    "relu_two_outputs": ["node 'relu' (Relu, opset 13)", "has 2 outputs; Relu defines at most 1"],
    "topk_one_output": ["node 'topk' (TopK, opset 13)", "has 1 output; TopK has 2"],
    "no_outputs": ["node 'sink'", "has no outputs"],
    "unnamed_outputs": ["node #0 (Relu, opset 13)", "none of the node's 1 outputs has a name"],
    "raw_and_typed_data": ["initializer 'w'", "both in raw_data and in float_data"],
    "wrong_typed_field": ["initializer 'w'", "data_type FLOAT keeps typed values in float_data", "int64_data"],
    "initializer_vs_input_dims": ["graph input 'w'", "declares dimension 0 as 3", "its initializer is f32[4]"],
    "initializer_vs_input_type": ["graph input 'w'", "element type INT64", "its initializer is f32[4]"],
    "initializer_vs_input_rank": ["graph input 'w'", "rank 2", "its initializer is f32[4]"],
    "attr_type_vs_field": ["node 'tr' (Transpose, opset 13)", "attribute 'perm' is declared INTS",
                           "a value is in field 'f'"],
    "attr_two_fields": ["node 'lr' (LeakyRelu, opset 13)", "attribute 'alpha' is declared FLOAT",
                        "a value is in field 'i'"],
    "attr_no_type": ["node 'lr'", "attribute 'alpha' has no type"],
    "attr_tensor_missing": ["node 'c' (Constant, opset 13)", "attribute 'value' is declared TENSOR but holds no value"],
    "duplicate_attr": ["node 'lr' (LeakyRelu, opset 13)", "attribute 'alpha' is given twice"],
    "empty_attr_name": ["node 'relu' (Relu, opset 13)", "attribute #0 has an empty name"],
    "unknown_attr": ["node 'relu' (Relu, opset 13)", "attribute 'foo' is not defined by Relu",
                     "attributes of Relu at opset 13: none"],
    "removed_attr": ["node 'bn' (BatchNormalization, opset 13)", "attribute 'spatial'", "removed in opset 9"],
    "consumed_inputs_opset7": ["node 'relu' (Relu, opset 7)", "attribute 'consumed_inputs'", "removed in opset 6"],
    "added_attr": ["node 'am' (ArgMax, opset 11)", "attribute 'select_last_index'", "added in opset 12"],
    "attr_schema_type": ["node 'lr' (LeakyRelu, opset 13)", "attribute 'alpha' of LeakyRelu must be FLOAT, not INT"],
    "ref_attr_outside_function": ["node 'lr'", "attribute 'alpha' refers to a function attribute ('a')"],
    "duplicate_default_opset": ["opset_import lists domain 'ai.onnx' twice", "'' and 'ai.onnx' are the same domain"],
    "duplicate_other_opset": ["opset_import lists domain 'com.example' twice"],
    "ir_version_0": ["ir_version 0 is not a valid ONNX IR version", "kiln reads IR versions 3 to 13"],
    "ir_version_missing": ["ir_version 0 is not a valid ONNX IR version"],
    "ir_version_99": ["ir_version 99 is newer than any ONNX release", "kiln reads IR versions 3 to 13"],
    "ir3_initializer_not_input": ["initializer 'w' is not a graph input", "IR version 3"],
    "if_dangling_outer": ["node 'if' (If, opset 13)", "attribute 'then_branch'", "node #0 'use' (Add) reads 'ghost'",
                          "defined neither in that graph nor in an enclosing one"],
    "if_nested_dangling": ["node 'if' (If, opset 13)", "attribute 'else_branch', node #0 'inner', attribute "
                           "'then_branch'", "reads 'ghost2'"],
    "if_branch_output_dangling": ["node 'if' (If, opset 13)", "attribute 'else_branch'", "graph output 'nothing'"],
    "graph_output_no_name": ["graph output #0 has no name"],
    "value_info_vs_initializer": ["value_info 'w'", "declares dimension 0 as 5", "the initializer is f32[4]"],
    "value_info_vs_input": ["value_info 'x'", "element type INT32", "the graph input is f32[4]"],
    "undeclared_domain": ["node 'sec' (com.example.secret.Secret", "domain 'com.example.secret' is not in the "
                          "model's opset_import list"],
    "sparse_initializer": ["sparse initializer 'w'", "not supported"],
    "constant_negative_dim": ["node 'c' (Constant, opset 13)", "attribute 'value': dimension 0 is negative (-1)"],
    "constant_string_tensor": ["node 'c' (Constant, opset 13)", "attribute 'value'", "STRING"],
    "string_initializer": ["initializer 's'", "element type STRING (8) is not supported"],
    "unknown_data_type": ["initializer 'w'", "element type unknown (99) is not supported"],
    "input_listed_twice": ["graph input 'x' is listed twice"],
    "initializer_no_name": ["initializer #0 has no name"],
    "value_info_no_name": ["value_info #0 has no name"],
}

# Valid but unusual models: each must import (exit 0). For some, `kiln
# eval` must also compute the given outputs from the given inputs: name ->
# ({input: values}, {output: expected values}) or None (import only).
GOOD = {
    "good_initializer_not_input": ({"x": [1, 1, 1, 1]}, {"y": [2, 3, 4, 5]}),
    "good_empty_optional_input": ({"x": [-1, 0, 0.25, 2]}, {"y": [-1, 0, 0.25, 0.5]}),
    "good_defaults_spelled_out": ({"x": [[-1, 2], [3, -4]]}, {"y": [[-0.01, 2], [3, -0.04]]}),
    "good_ai_onnx_domain": ({"x": [-1, 2]}, {"y": [0, 2]}),
    "good_opset5_consumed_inputs": ({"x": [-1, 2]}, {"y": [0, 2]}),
    "good_opset7_bn_spatial": ({"x": [[[1, 2, 3], [0, 1, 5]]]},
                               {"y": [[[1, 1 + 1 / (1 + 1e-5) ** 0.5, 1 + 2 / (1 + 1e-5) ** 0.5],
                                       [1 - 1 / (1 + 1e-5) ** 0.5, 1, 1 + 4 / (1 + 1e-5) ** 0.5]]]}),
    "good_nodes_out_of_order": ({"x": [-1, 2]}, {"y": [0, -2]}),
    # alpha left out means alpha = 0.0 (the proto default), not Relu's 0.01.
    "good_scalar_attr_default_omitted": ({"x": [-1, 2]}, {"y": [0, 2]}),
    "good_initializer_symbolic_input": None,
    "good_value_info_intermediate": ({"x": [-1, 2]}, {"y": [0, -2]}),
    "good_ir_version_12": None,
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


def attr(name, type_, **fields):
    """An AttributeProto written field by field, so it can be wrong."""
    a = onnx.AttributeProto(name=name)
    if type_ is not None:
        a.type = type_
    for k, v in fields.items():
        if isinstance(v, list):
            getattr(a, k).extend(v)
        elif isinstance(v, onnx.TensorProto):
            getattr(a, k).CopyFrom(v)
        else:
            setattr(a, k, v)
    return a


def node(op, ins, outs, name, attrs=(), **kw):
    n = helper.make_node(op, ins, outs, name=name, **kw)
    n.attribute.extend(attrs)
    return n


def unary(n, opset=13, shape=(2,)):
    """A model of the single node n from x to y."""
    return model([n], [vi("x", list(shape))], [vi("y", list(shape))], opset=opset)


def branch(nodes, outputs, name):
    return helper.make_graph(nodes, name, [], [vi(o, [2]) for o in outputs])


def build_structural(m):
    """The models breaking the structural rules of frontend/onnx/check.c."""
    m["relu_two_inputs"] = unary(node("Relu", ["x", "x"], ["y"], "relu"))
    m["add_one_input"] = unary(node("Add", ["x"], ["y"], "add"))
    m["relu_two_outputs"] = model([node("Relu", ["x"], ["y", "z"], "relu")], [vi("x", [2])], [vi("y", [2])])
    m["topk_one_output"] = model([node("TopK", ["x", "k"], ["y"], "topk")], [vi("x", [4])], [vi("y", [2])],
                                 [helper.make_tensor("k", TensorProto.INT64, [1], [2])])
    m["no_outputs"] = model([node("Relu", ["x"], [], "sink"), node("Neg", ["x"], ["y"], "neg")],
                            [vi("x", [2])], [vi("y", [2])])
    m["unnamed_outputs"] = model([node("Relu", ["x"], [""], ""), node("Neg", ["x"], ["y"], "neg")],
                                 [vi("x", [2])], [vi("y", [2])])
    both = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"\0" * 16, float_data=[1, 2, 3, 4])
    m["raw_and_typed_data"] = model([node("Add", ["x", "w"], ["y"], "add")], [vi("x", [4])], [vi("y", [4])], [both])
    wrong = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], int64_data=[1, 2, 3, 4])
    m["wrong_typed_field"] = model([node("Add", ["x", "w"], ["y"], "add")], [vi("x", [4])], [vi("y", [4])], [wrong])
    w4 = helper.make_tensor("w", TensorProto.FLOAT, [4], [1, 2, 3, 4])
    for name, decl in (("initializer_vs_input_dims", vi("w", [3])),
                       ("initializer_vs_input_type", vi("w", [4], TensorProto.INT64)),
                       ("initializer_vs_input_rank", vi("w", [2, 2]))):
        m[name] = model([node("Add", ["x", "w"], ["y"], "add")], [vi("x", [4]), decl], [vi("y", [4])], [w4])
    m["attr_type_vs_field"] = model([node("Transpose", ["x"], ["y"], "tr",
                                          [attr("perm", onnx.AttributeProto.INTS, f=1.0)])],
                                    [vi("x", [2, 3])], [vi("y", [3, 2])])
    m["attr_two_fields"] = unary(node("LeakyRelu", ["x"], ["y"], "lr",
                                      [attr("alpha", onnx.AttributeProto.FLOAT, f=0.5, i=2)]))
    m["attr_no_type"] = unary(node("LeakyRelu", ["x"], ["y"], "lr", [attr("alpha", None, f=0.5)]))
    m["attr_tensor_missing"] = model([node("Constant", [], ["y"], "c", [attr("value", onnx.AttributeProto.TENSOR)])],
                                     [], [vi("y", [2])])
    m["duplicate_attr"] = unary(node("LeakyRelu", ["x"], ["y"], "lr", [helper.make_attribute("alpha", 0.5),
                                                                       helper.make_attribute("alpha", 0.25)]))
    m["empty_attr_name"] = unary(node("Relu", ["x"], ["y"], "relu", [attr("", onnx.AttributeProto.INT, i=1)]))
    m["unknown_attr"] = unary(node("Relu", ["x"], ["y"], "relu", foo=1))
    bn_in = ["x", "s", "b", "mean", "var"]
    bn_init = [helper.make_tensor(n, TensorProto.FLOAT, [2], [1, 1]) for n in bn_in[1:]]
    m["removed_attr"] = model([node("BatchNormalization", bn_in, ["y"], "bn", spatial=1)], [vi("x", [1, 2, 3])],
                              [vi("y", [1, 2, 3])], bn_init)
    m["consumed_inputs_opset7"] = unary(node("Relu", ["x"], ["y"], "relu", consumed_inputs=[0]), opset=7)
    m["added_attr"] = model([node("ArgMax", ["x"], ["y"], "am", select_last_index=1)], [vi("x", [2, 3])],
                            [vi("y", [1, 3], TensorProto.INT64)], opset=11)
    m["attr_schema_type"] = unary(node("LeakyRelu", ["x"], ["y"], "lr", alpha=1))
    m["ref_attr_outside_function"] = unary(node("LeakyRelu", ["x"], ["y"], "lr",
                                                [attr("alpha", onnx.AttributeProto.FLOAT, ref_attr_name="a")]))
    mo = relu_model()
    mo.opset_import.append(helper.make_opsetid("ai.onnx", 13))
    m["duplicate_default_opset"] = mo
    mo = relu_model()
    mo.opset_import.extend([helper.make_opsetid("com.example", 1), helper.make_opsetid("com.example", 2)])
    m["duplicate_other_opset"] = mo
    for name, version in (("ir_version_0", 0), ("ir_version_99", 99)):
        mo = relu_model()
        mo.ir_version = version
        m[name] = mo
    mo = relu_model()
    mo.ClearField("ir_version")
    m["ir_version_missing"] = mo
    mo = model([node("Add", ["x", "w"], ["y"], "add")], [vi("x", [4])], [vi("y", [4])], [w4])
    mo.ir_version = 3
    m["ir3_initializer_not_input"] = mo
    cond = helper.make_tensor("cond", TensorProto.BOOL, [], [True])
    then_b = branch([node("Add", ["ghost", "x"], ["t"], "use")], ["t"], "then")
    else_b = branch([node("Neg", ["x"], ["e"], "neg")], ["e"], "else")
    m["if_dangling_outer"] = model([node("If", ["cond"], ["y"], "if", then_branch=then_b, else_branch=else_b)],
                                   [vi("x", [2])], [vi("y", [2])], [cond])
    inner = node("If", ["cond"], ["e"], "inner",
                 then_branch=branch([node("Neg", ["ghost2"], ["t2"], "deep")], ["t2"], "then2"),
                 else_branch=branch([node("Neg", ["x"], ["e2"], "fine")], ["e2"], "else2"))
    m["if_nested_dangling"] = model([node("If", ["cond"], ["y"], "if", then_branch=else_b,
                                          else_branch=branch([inner], ["e"], "outer_else"))],
                                    [vi("x", [2])], [vi("y", [2])], [cond])
    m["if_branch_output_dangling"] = model([node("If", ["cond"], ["y"], "if", then_branch=else_b,
                                                 else_branch=branch([], ["nothing"], "empty"))],
                                           [vi("x", [2])], [vi("y", [2])], [cond])
    mo = relu_model()
    mo.graph.output[0].name = ""
    m["graph_output_no_name"] = mo
    mo = model([node("Add", ["x", "w"], ["y"], "add")], [vi("x", [4])], [vi("y", [4])], [w4])
    mo.graph.value_info.append(vi("w", [5]))
    m["value_info_vs_initializer"] = mo
    mo = model([node("Relu", ["x"], ["y"], "relu")], [vi("x", [4])], [vi("y", [4])])
    mo.graph.value_info.append(vi("x", [4], TensorProto.INT32))
    m["value_info_vs_input"] = mo
    m["undeclared_domain"] = unary(node("Secret", ["x"], ["y"], "sec", domain="com.example.secret"))
    mo = relu_model()
    sp = mo.graph.sparse_initializer.add()
    sp.values.CopyFrom(helper.make_tensor("w", TensorProto.FLOAT, [1], [1.0]))
    sp.indices.CopyFrom(helper.make_tensor("w_idx", TensorProto.INT64, [1], [0]))
    sp.dims.append(4)
    m["sparse_initializer"] = mo
    neg = TensorProto(name="v", data_type=TensorProto.FLOAT, dims=[-1])
    m["constant_negative_dim"] = model([node("Constant", [], ["y"], "c", value=neg)], [], [vi("y", [2])])
    st = helper.make_tensor("v", TensorProto.STRING, [1], [b"a"])
    m["constant_string_tensor"] = model([node("Constant", [], ["y"], "c", value=st)], [], [vi("y", [1])])
    s1 = helper.make_tensor("s", TensorProto.STRING, [1], [b"1"])
    m["string_initializer"] = model([node("Add", ["x", "s"], ["y"], "add")], [vi("x", [1])], [vi("y", [1])], [s1])
    odd = TensorProto(name="w", data_type=99, dims=[1], raw_data=b"\0" * 4)
    m["unknown_data_type"] = model([node("Add", ["x", "w"], ["y"], "add")], [vi("x", [1])], [vi("y", [1])], [odd])
    m["input_listed_twice"] = model([node("Relu", ["x"], ["y"], "relu")], [vi("x", [2]), vi("x", [2])],
                                    [vi("y", [2])])
    noname = helper.make_tensor("", TensorProto.FLOAT, [2], [1, 2])
    m["initializer_no_name"] = model([node("Relu", ["x"], ["y"], "relu")], [vi("x", [2])], [vi("y", [2])], [noname])
    mo = relu_model()
    mo.graph.value_info.append(vi("", [2, 3]))
    m["value_info_no_name"] = mo


def build_good():
    """Valid but unusual models, which must import."""
    g = {}
    w4 = helper.make_tensor("w", TensorProto.FLOAT, [4], [1, 2, 3, 4])
    # IR >= 4: an initializer need not be a graph input.
    g["good_initializer_not_input"] = model([node("Add", ["x", "w"], ["y"], "add")], [vi("x", [4])], [vi("y", [4])],
                                            [w4])
    # An optional input left out with '' before a given one (Clip's min).
    mx = helper.make_tensor("mx", TensorProto.FLOAT, [], [0.5])
    g["good_empty_optional_input"] = model([node("Clip", ["x", "", "mx"], ["y"], "clip")], [vi("x", [4])],
                                           [vi("y", [4])], [mx])
    g["good_defaults_spelled_out"] = model(
        [node("LeakyRelu", ["x"], ["a"], "lr", alpha=0.01),
         node("Gemm", ["a", "m"], ["y"], "gemm", alpha=1.0, beta=1.0, transA=0, transB=0)],
        [vi("x", [2, 2])], [vi("y", [2, 2])], [helper.make_tensor("m", TensorProto.FLOAT, [2, 2], [1, 0, 0, 1])])
    mo = model([node("Relu", ["x"], ["y"], "relu", domain="ai.onnx")], [vi("x", [2])], [vi("y", [2])])
    mo.opset_import[0].domain = "ai.onnx"
    g["good_ai_onnx_domain"] = mo
    # Attributes of old opsets, at those opsets.
    g["good_opset5_consumed_inputs"] = unary(node("Relu", ["x"], ["y"], "relu", consumed_inputs=[0]), opset=5)
    bn_in = ["x", "s", "b", "mean", "var"]
    bn_init = [helper.make_tensor(n, TensorProto.FLOAT, [2], [1, 1]) for n in bn_in[1:]]
    g["good_opset7_bn_spatial"] = model([node("BatchNormalization", bn_in, ["y"], "bn", spatial=1)],
                                        [vi("x", [1, 2, 3])], [vi("y", [1, 2, 3])], bn_init, opset=7)
    # ONNX wants nodes in topological order; kiln sorts them, as ONNX
    # Runtime does, rather than refuse a model whose meaning is clear.
    g["good_nodes_out_of_order"] = model([node("Neg", ["a"], ["y"], "second"), node("Relu", ["x"], ["a"], "first")],
                                         [vi("x", [2])], [vi("y", [2])])
    # proto3 writers leave out a scalar equal to its default (alpha = 0.0).
    g["good_scalar_attr_default_omitted"] = unary(node("LeakyRelu", ["x"], ["y"], "lr",
                                                       [attr("alpha", onnx.AttributeProto.FLOAT)]))
    g["good_initializer_symbolic_input"] = model([node("Add", ["x", "w"], ["y"], "add")],
                                                 [vi("x", [4]), vi("w", ["n"])], [vi("y", [4])], [w4])
    mo = model([node("Relu", ["x"], ["a"], "relu"), node("Neg", ["a"], ["y"], "neg")], [vi("x", [2])],
               [vi("y", [2])])
    mo.graph.value_info.append(vi("a", [2]))
    g["good_value_info_intermediate"] = mo
    mo = relu_model()
    mo.ir_version = 12
    g["good_ir_version_12"] = mo
    return g


# Sequences and optionals (frontend/onnx/ops_sequence.c) exist only at
# import time: what would need one at run time is refused, naming it.
EXPECTED.update({
    "seq_runtime_position": ["node 'at' (SequenceAt, opset 17)", "input 'position' ('p') is not known at import time"],
    "seq_runtime_split": ["node 'split' (SplitToSequence, opset 17)", "input 'split' ('p') is not known at import time"],
    "seq_position_out_of_range": ["node 'ins' (SequenceInsert, opset 17)",
                                  "position 3 is out of range for a sequence of 2 elements"],
    "seq_graph_input": ["graph input 's' is a sequence"],
    "optional_graph_input": ["graph input 'o' is an optional"],
    "seq_graph_output": ["graph output 's' is a sequence"],
    "seq_into_relu": ["node 'relu' (Relu, opset 17)", "input 0 ('s') is a sequence"],
    "seq_loop_state": ["node 'loop' (Loop, opset 17)", "input 2 ('e') is a sequence", "Loop or Scan"],
    "seq_outer_in_if": ["attribute 'then_branch' of node 'if' (If)", "'s' is a sequence of an enclosing graph"],
    "seq_from_runtime_if": ["attribute 'then_branch' of node 'if' (If)", "graph output 'ts' is a sequence"],
    "optional_get_empty": ["node 'get' (OptionalGetElement, opset 18)", "the optional ('o') is empty"],
})


def build_sequences(m):
    x, c = vi("x", [2, 3]), vi("c", [], TensorProto.BOOL)
    p = vi("p", [], TensorProto.INT64)
    zero = helper.make_tensor("zero", TensorProto.INT64, [], [0])
    three = helper.make_tensor("three", TensorProto.INT64, [], [3])
    pair = helper.make_node("SequenceConstruct", ["x", "x"], ["s"], name="pair")
    seq_vi = helper.make_tensor_sequence_value_info

    def sub(nodes, outputs, name):  # a branch with declared outputs
        return helper.make_graph(nodes, name, [], outputs)

    m["seq_runtime_position"] = model([pair, helper.make_node("SequenceAt", ["s", "p"], ["y"], name="at")], [x, p],
                                      [vi("y", [2, 3])], opset=17)
    m["seq_runtime_split"] = model([helper.make_node("SplitToSequence", ["x", "p"], ["s"], name="split", axis=1),
                                    helper.make_node("SequenceAt", ["s", "zero"], ["y"], name="at")], [x, p],
                                   [vi("y", None)], [zero], opset=17)
    m["seq_position_out_of_range"] = model([pair, helper.make_node("SequenceInsert", ["s", "x", "three"], ["s2"], name="ins"),
                                            helper.make_node("SequenceAt", ["s2", "zero"], ["y"], name="at")], [x],
                                           [vi("y", [2, 3])], [zero, three], opset=17)
    m["seq_graph_input"] = model([helper.make_node("SequenceAt", ["s", "zero"], ["y"], name="at")],
                                 [seq_vi("s", TensorProto.FLOAT, [2, 3])], [vi("y", [2, 3])], [zero], opset=17)
    opt = helper.make_value_info("o", helper.make_optional_type_proto(helper.make_tensor_type_proto(TensorProto.FLOAT, [2])))
    m["optional_graph_input"] = model([helper.make_node("OptionalHasElement", ["o"], ["y"], name="has")], [opt],
                                      [vi("y", [], TensorProto.BOOL)], opset=15)
    m["seq_graph_output"] = model([pair], [x], [seq_vi("s", TensorProto.FLOAT, None)], opset=17)
    m["seq_into_relu"] = model([pair, helper.make_node("Relu", ["s"], ["y"], name="relu")], [x], [vi("y", [2, 3])],
                               opset=17)
    body = helper.make_graph([helper.make_node("Identity", ["ci"], ["co"]),
                              helper.make_node("SequenceInsert", ["si", "x"], ["so"])], "body",
                             [vi("i", [], TensorProto.INT64), vi("ci", [], TensorProto.BOOL),
                              seq_vi("si", TensorProto.FLOAT, None)],
                             [vi("co", [], TensorProto.BOOL), seq_vi("so", TensorProto.FLOAT, None)])
    m["seq_loop_state"] = model([helper.make_node("SequenceEmpty", [], ["e"], name="empty"),
                                 helper.make_node("Loop", ["three", "", "e"], ["r"], name="loop", body=body),
                                 helper.make_node("ConcatFromSequence", ["r"], ["y"], name="cat", axis=0)],
                                [x], [vi("y", None)], [three], opset=17)
    at = sub([helper.make_node("SequenceAt", ["s", "zero"], ["t"])], [vi("t", None)], "then")
    neg = sub([helper.make_node("Neg", ["x"], ["e"])], [vi("e", None)], "else")
    m["seq_outer_in_if"] = model([pair, helper.make_node("If", ["c"], ["y"], name="if", then_branch=at, else_branch=neg)],
                                 [x, c], [vi("y", [2, 3])], [zero], opset=17)
    ts = sub([helper.make_node("SequenceConstruct", ["x"], ["ts"])], [seq_vi("ts", TensorProto.FLOAT, None)], "then")
    es = sub([helper.make_node("SequenceConstruct", ["x", "x"], ["es"])], [seq_vi("es", TensorProto.FLOAT, None)],
                "else")
    m["seq_from_runtime_if"] = model([helper.make_node("If", ["c"], ["s"], name="if", then_branch=ts, else_branch=es),
                                      helper.make_node("SequenceLength", ["s"], ["y"], name="len")], [x, c],
                                     [vi("y", [], TensorProto.INT64)], opset=17)
    empty = helper.make_node("Optional", [], ["o"], name="none", type=helper.make_tensor_type_proto(TensorProto.FLOAT, [2, 3]))
    m["optional_get_empty"] = model([empty, helper.make_node("OptionalGetElement", ["o"], ["y"], name="get")], [x],
                                    [vi("y", [2, 3])], opset=18)


def build(out):
    m = {}
    m["empty"] = b""
    m["not_protobuf"] = b"this is a text file, not an ONNX model\n"
    full = relu_model().SerializeToString()
    m["truncated"] = full[: len(full) // 2]
    m["bad_field_tag"] = varint(1 << 3 | 0) + varint(8) + b"\0\0"  # ir_version 8, then field number 0

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
    m["unknown_domain"].opset_import.append(helper.make_opsetid("com.example.secret", 1))
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

    build_structural(m)
    build_sequences(m)
    good = build_good()
    assert set(m) == set(EXPECTED), set(m) ^ set(EXPECTED)
    assert set(good) == set(GOOD), set(good) ^ set(GOOD)
    m.update(good)
    os.makedirs(out, exist_ok=True)
    for name, v in m.items():
        data = v if isinstance(v, bytes) else v.SerializeToString()
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build(sys.argv[1])
