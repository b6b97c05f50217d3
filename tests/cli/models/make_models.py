#!/usr/bin/python3
"""Writes the small ONNX models of tests/cli (checked in; run again only to
change them): sym.onnx, y = x + x with x of shape [N, 4] (N symbolic).

Usage: /usr/bin/python3 make_models.py  (needs python3-onnx)
"""
import os

import onnx
from onnx import TensorProto, helper

here = os.path.dirname(os.path.abspath(__file__))
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"], name="double")], "sym", [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="kiln tests/cli")
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, os.path.join(here, "sym.onnx"))
