"""Test cases for ONNX opsets newer than the onnx package Debian ships.

Debian bookworm's python3-onnx is 1.12 (opsets up to 17), so its backend
test data stops there. The cases for later opsets are built here with
onnx.helper, declaring the opset by hand, and their expected outputs are
computed with NumPy from the operator's specification text (never from
kiln). Each case is written in the layout of ONNX's backend test data
(CASE/model.onnx, CASE/test_data_set_0/{input,output}_N.pb), so that
`kiln test-onnx` runs them exactly as it runs ONNX's own cases.

A cases_*.py module in this folder registers its cases with case(); the
runner (run_newer.py) imports every such module.
"""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from onnx.mapping import NP_TYPE_TO_TENSOR_TYPE

# name -> (ModelProto, [input arrays], [output arrays])
CASES = {}

# The IR version written into the models: 8 is what onnx 1.12 writes, and
# every opset kiln reads may be declared under it (ONNX ties no opset to
# an IR version in a model's header).
IR_VERSION = 8


def _value_info(name, arr):
    return helper.make_tensor_value_info(name, NP_TYPE_TO_TENSOR_TYPE[arr.dtype], list(arr.shape))


def case(name, opset, nodes, inputs, outputs, consts=None, output_types=None):
    """Registers test case `name` (a folder name; "test_" is prepended).

    opset: the ai.onnx opset the model declares.
    nodes: the graph's NodeProtos (onnx.helper.make_node).
    inputs: {name: array} fed as real graph inputs, in this order.
    outputs: {name: expected array} computed with NumPy from the spec.
    consts: {name: array} stored as initializers (not graph inputs).
    output_types: {name: (TensorProto type, shape)} to declare an output
        whose expected array cannot say it (rarely needed).
    """
    full = "test_" + name
    if full in CASES:
        raise ValueError("duplicate newer-opset case " + full)
    inputs = {k: np.asarray(v) for k, v in inputs.items()}
    outputs = {k: np.asarray(v) for k, v in outputs.items()}
    consts = {k: np.asarray(v) for k, v in (consts or {}).items()}
    g_in = [_value_info(k, v) for k, v in inputs.items()]
    g_out = []
    for k, v in outputs.items():
        if output_types and k in output_types:
            t, shape = output_types[k]
            g_out.append(helper.make_tensor_value_info(k, t, shape))
        else:
            g_out.append(_value_info(k, v))
    inits = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    graph = helper.make_graph(nodes, full, g_in, g_out, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="kiln-tests")
    model.ir_version = IR_VERSION
    CASES[full] = (model, [(k, v) for k, v in inputs.items()], [(k, v) for k, v in outputs.items()])


def write_all(outdir):
    """Writes every registered case under outdir; returns their names."""
    os.makedirs(outdir, exist_ok=True)
    for name, (model, ins, outs) in sorted(CASES.items()):
        d = os.path.join(outdir, name)
        ds = os.path.join(d, "test_data_set_0")
        os.makedirs(ds, exist_ok=True)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(model.SerializeToString())
        for kind, arrs in (("input", ins), ("output", outs)):
            for i, (k, v) in enumerate(arrs):
                with open(os.path.join(ds, "%s_%d.pb" % (kind, i)), "wb") as f:
                    f.write(numpy_helper.from_array(v, k).SerializeToString())
    return sorted(CASES)


def node(op, ins, outs, **attrs):
    """onnx.helper.make_node, shorter."""
    return helper.make_node(op, ins, outs, **attrs)


# Re-exported for the case modules.
__all__ = ["case", "node", "helper", "np", "TensorProto", "write_all", "CASES"]
