#!/usr/bin/python3
"""Writes the example's model and its expected output (run once; both are
committed, so building and checking the example needs no Python).

  mlp.onnx             a small classifier, opset 13: probs = softmax(relu(x @ W1 + b1) @ W2 + b2),
                       x f32[2,64], W1 64x32, W2 32x10, random weights from a fixed seed
  x.npy                that input, for `kiln run mlp.onnx --input x=x.npy`
  expected_output.txt  NumPy's probs for the input the example program feeds:
                       x[i] = ((i mod 13) - 6) / 8 over the 128 elements in row-major order
                       (exact in float32, so C and NumPy start from the same bits)

usage: /usr/bin/python3 make_mlp.py   (needs python3-onnx and python3-numpy)
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    rng = np.random.default_rng(2024)
    w1 = (rng.standard_normal((64, 32)) * 0.2).astype(np.float32)
    b1 = (rng.standard_normal(32) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((32, 10)) * 0.3).astype(np.float32)
    b2 = (rng.standard_normal(10) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node('MatMul', ['x', 'w1'], ['h0'], name='fc1'),
        helper.make_node('Add', ['h0', 'b1'], ['h1'], name='fc1_bias'),
        helper.make_node('Relu', ['h1'], ['h'], name='relu'),
        helper.make_node('MatMul', ['h', 'w2'], ['z0'], name='fc2'),
        helper.make_node('Add', ['z0', 'b2'], ['z'], name='fc2_bias'),
        helper.make_node('Softmax', ['z'], ['probs'], name='softmax', axis=-1),
    ]
    graph = helper.make_graph(
        nodes, 'mlp',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 64])],
        [helper.make_tensor_value_info('probs', TensorProto.FLOAT, [2, 10])],
        initializer=[numpy_helper.from_array(a, n) for a, n in ((w1, 'w1'), (b1, 'b1'), (w2, 'w2'), (b2, 'b2'))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='kiln-example')
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, 'mlp.onnx'))

    x = (((np.arange(128) % 13) - 6) / 8.0).astype(np.float32).reshape(2, 64)
    np.save(os.path.join(HERE, 'x.npy'), x)
    # The reference in float64 from the float32 weights.
    h = np.maximum(x.astype(np.float64) @ w1 + b1, 0)
    z = h @ w2 + b2
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    with open(os.path.join(HERE, 'expected_output.txt'), 'w') as f:
        f.write('# probs of mlp.onnx for the example input, by NumPy (float64); see make_mlp.py\n')
        f.write('probs = ' + ' '.join('%.9g' % v for v in p.ravel()) + '\n')


if __name__ == '__main__':
    main()
