#!/usr/bin/python3
"""Writes the small models the fault-injection test runs (run at test time;
nothing is committed). Each is small so that one full pipeline takes
milliseconds, but between them they reach the importer's main paths, the
passes (fusion, conv rewrites, folding) and every kind of kernel the code
generator has (conv, GEMM, elementwise, reductions):

  cnn.onnx   x f32[1,3,12,12]: Conv+bias, Relu, MaxPool, depthwise Conv,
             Conv 1x1, GlobalAveragePool, Flatten, Gemm, Softmax (opset 13)
  attn.onnx  x f32[1,6,16]: one self-attention block with a layer norm:
             MatMul, Transpose, Mul, Softmax, Add, ReduceMean, Sub, Sqrt,
             Div, Reshape, Concat, Slice, Gather, Tanh (opset 13)

The third model of the test is examples/jit/mlp.onnx (MatMul, Add, Relu,
Softmax), already in the repository.

usage: /usr/bin/python3 make_models.py OUTDIR   (needs python3-onnx, python3-numpy)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def init(rng, name, shape, scale=0.3):
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def save(model, path):
    onnx.checker.check_model(model)
    onnx.save(model, path)


def cnn(rng):
    inits = [
        init(rng, 'w1', (8, 3, 3, 3)), init(rng, 'b1', (8,), 0.1),
        init(rng, 'wd', (8, 1, 3, 3)), init(rng, 'w2', (12, 8, 1, 1)), init(rng, 'b2', (12,), 0.1),
        init(rng, 'wf', (10, 12)), init(rng, 'bf', (10,), 0.1),
    ]
    nodes = [
        helper.make_node('Conv', ['x', 'w1', 'b1'], ['c1'], name='conv1', pads=[1, 1, 1, 1]),
        helper.make_node('Relu', ['c1'], ['r1'], name='relu1'),
        helper.make_node('MaxPool', ['r1'], ['p1'], name='pool1', kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node('Conv', ['p1', 'wd'], ['cd'], name='dwconv', group=8, pads=[1, 1, 1, 1]),
        helper.make_node('Conv', ['cd', 'w2', 'b2'], ['c2'], name='conv2'),
        helper.make_node('Relu', ['c2'], ['r2'], name='relu2'),
        helper.make_node('GlobalAveragePool', ['r2'], ['g'], name='gap'),
        helper.make_node('Flatten', ['g'], ['f'], name='flatten'),
        helper.make_node('Gemm', ['f', 'wf', 'bf'], ['z'], name='fc', transB=1),
        helper.make_node('Softmax', ['z'], ['probs'], name='softmax', axis=-1),
    ]
    graph = helper.make_graph(nodes, 'cnn', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 12, 12])],
                              [helper.make_tensor_value_info('probs', TensorProto.FLOAT, [1, 10])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='kiln-faultinject')


def attn(rng):
    d = 16
    inits = [
        init(rng, 'wq', (d, d)), init(rng, 'wk', (d, d)), init(rng, 'wv', (d, d)),
        numpy_helper.from_array(np.array(1.0 / np.sqrt(d), dtype=np.float32), 'scale'),
        numpy_helper.from_array(np.array(1e-5, dtype=np.float32), 'eps'),
        numpy_helper.from_array(np.array([1, 6, 2, 8], dtype=np.int64), 'split_shape'),
        numpy_helper.from_array(np.array([1, 6, 16], dtype=np.int64), 'join_shape'),
        numpy_helper.from_array(np.array([0], dtype=np.int64), 'starts'),
        numpy_helper.from_array(np.array([4], dtype=np.int64), 'ends'),
        numpy_helper.from_array(np.array([3], dtype=np.int64), 'axes'),
        numpy_helper.from_array(np.array([0, 5], dtype=np.int64), 'rows'),
    ]
    nodes = [
        helper.make_node('MatMul', ['x', 'wq'], ['q'], name='q'),
        helper.make_node('MatMul', ['x', 'wk'], ['k'], name='k'),
        helper.make_node('MatMul', ['x', 'wv'], ['v'], name='v'),
        helper.make_node('Transpose', ['k'], ['kt'], name='kt', perm=[0, 2, 1]),
        helper.make_node('MatMul', ['q', 'kt'], ['s0'], name='scores'),
        helper.make_node('Mul', ['s0', 'scale'], ['s'], name='scaled'),
        helper.make_node('Softmax', ['s'], ['a'], name='softmax', axis=-1),
        helper.make_node('MatMul', ['a', 'v'], ['o'], name='attend'),
        helper.make_node('Add', ['o', 'x'], ['res'], name='residual'),
        helper.make_node('ReduceMean', ['res'], ['mean'], name='mean', axes=[-1]),
        helper.make_node('Sub', ['res', 'mean'], ['cen'], name='center'),
        helper.make_node('Mul', ['cen', 'cen'], ['sq'], name='square'),
        helper.make_node('ReduceMean', ['sq'], ['var'], name='var', axes=[-1]),
        helper.make_node('Add', ['var', 'eps'], ['vare'], name='var_eps'),
        helper.make_node('Sqrt', ['vare'], ['std'], name='std'),
        helper.make_node('Div', ['cen', 'std'], ['ln'], name='norm'),
        helper.make_node('Reshape', ['ln', 'split_shape'], ['heads'], name='split_heads'),
        helper.make_node('Slice', ['heads', 'starts', 'ends', 'axes'], ['h0'], name='slice'),
        helper.make_node('Slice', ['heads', 'starts', 'ends', 'axes'], ['h1'], name='slice_again'),
        helper.make_node('Concat', ['h0', 'h1'], ['hc'], name='concat', axis=3),
        helper.make_node('Reshape', ['hc', 'join_shape'], ['joined'], name='join_heads'),
        helper.make_node('Tanh', ['joined'], ['t'], name='tanh'),
        helper.make_node('Gather', ['t', 'rows'], ['y'], name='gather', axis=1),
    ]
    graph = helper.make_graph(nodes, 'attn', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 6, d])],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 2, d])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='kiln-faultinject')


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(9)
    save(cnn(rng), os.path.join(out, 'cnn.onnx'))
    save(attn(rng), os.path.join(out, 'attn.onnx'))


if __name__ == '__main__':
    main()
