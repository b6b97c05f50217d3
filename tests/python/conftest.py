"""Shared fixtures of the Python package's tests: the example model
(examples/jit/mlp.onnx: x f32[2,64] -> probs f32[2,10]) and its input."""
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MLP = os.path.join(ROOT, 'examples', 'jit', 'mlp.onnx')


@pytest.fixture
def mlp_path():
    return MLP


@pytest.fixture
def x():
    # The example's input (examples/jit/x.npy): exact in float32.
    return np.load(os.path.join(ROOT, 'examples', 'jit', 'x.npy'))


def mlp_reference(x):
    """probs of mlp.onnx for x, by NumPy in float64 from the ONNX file's own
    weights (read with the onnx package, independent of kiln)."""
    onnx = pytest.importorskip('onnx', reason='python3-onnx is needed to read the weights')
    from onnx import numpy_helper
    w = {t.name: numpy_helper.to_array(t) for t in onnx.load(MLP).graph.initializer}
    h = np.maximum(x.astype(np.float64) @ w['w1'] + w['b1'], 0)
    z = h @ w['w2'] + w['b2']
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
