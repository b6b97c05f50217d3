#!/usr/bin/python3
"""Single-op lowerings with symbolic dimensions (issue 15).

usage: dynamic_ops.py KILN WORKDIR

Each RUN case is a one-node ONNX model whose inputs have dim_params
(symbolic dimensions). It is run by `kiln run` (compiled) and `kiln eval`
(interpreter) with --max-shape bounds at two or more bindings, and each
output must match NumPy's result for those inputs (rel-L2 <= 1e-5; integer
outputs equal). The cases pick what a lowering computes from sizes: a mean
over a symbolic axis (the divisor is a run-time value), a pooled count, a
legacy softmax coerced to 2-D, batch broadcasting of MatMul, a sentinel
for ArgMax, a Gemm bias.

Each REFUSE case must be refused by `kiln import --max-shape ...` (exit 1,
no crash) with a message naming the node and saying why: what a symbolic
dimension cannot do there (broadcast against a static size, SAME padding,
ceil_mode, a scan window, a per-channel count, an op whose lowering does
not handle symbols). Skipped (77) without python3-onnx.
"""
import os
import subprocess
import sys

try:
    import numpy as np
    from onnx import TensorProto, helper, save
except Exception as e:
    print('SKIP: python3-onnx is not available (%s)' % e)
    sys.exit(77)

F = TensorProto.FLOAT
I64 = TensorProto.INT64
TOL = 1e-5


def model(op, ins, outs, opset=13, **attrs):
    """ins/outs: (name, elem_type, shape with str entries for dim_params)."""
    node = helper.make_node(op, [n for n, _, _ in ins], [n for n, _, _ in outs], name='the_node', **attrs)
    g = helper.make_graph([node], 'g', [helper.make_tensor_value_info(n, t, s) for n, t, s in ins],
                          [helper.make_tensor_value_info(n, t, s) for n, t, s in outs])
    return helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])


def layernorm(x, w, b, eps=1e-5):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def softmax(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def groupnorm(x, g, scale, bias, eps=1e-5):
    """GroupNormalization-18: scale and bias one value per group."""
    n, c = x.shape[:2]
    xg = x.reshape(n, g, -1)
    m = xg.mean(-1, keepdims=True)
    v = ((xg - m) ** 2).mean(-1, keepdims=True)
    y = ((xg - m) / np.sqrt(v + eps)).reshape(x.shape)
    per = np.repeat(np.arange(g), c // g)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return y * scale[per].reshape(shape) + bias[per].reshape(shape)


def avgpool2(x):
    """2x2 average pooling, stride 2, no padding (floor: odd edges dropped)."""
    n, c, h, w = x.shape
    x = x[:, :, :h // 2 * 2, :w // 2 * 2]
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean((3, 5))


W43 = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
G3 = np.array([0.5, 1.0, 2.0, 1.5], np.float32)
B3 = np.array([0.1, -0.2, 0.3, 0.0], np.float32)


def const_input(name, value):
    """A Constant node feeding `name` (weights baked into the model)."""
    return helper.make_node('Constant', [], [name], value=helper.make_tensor(name, F, value.shape, value.flatten()))


def with_consts(m, consts):
    """m with Constant nodes for consts ({name: array}) placed first, and those names dropped from the inputs."""
    g = m.graph
    nodes = [const_input(k, v) for k, v in consts.items()] + list(g.node)
    ins = [i for i in g.input if i.name not in consts]
    g2 = helper.make_graph(nodes, 'g', ins, list(g.output))
    return helper.make_model(g2, opset_imports=list(m.opset_import))


# name, model, bounds {input: dims}, shapes per binding [{input: shape}], numpy reference f(inputs) -> outputs
RUN = [
    ('reducemean_symbolic_axis',
     model('ReduceMean', [('x', F, ['b', 's'])], [('y', F, None)], axes=[1]),
     {'x': (4, 9)}, [{'x': (2, 3)}, {'x': (4, 9)}, {'x': (1, 1)}],
     lambda x: [x.mean(1, keepdims=True)]),
    ('reducemean_all',
     model('ReduceMean', [('x', F, ['b', 3, 's'])], [('y', F, None)], keepdims=0),
     {'x': (4, 3, 9)}, [{'x': (2, 3, 5)}, {'x': (4, 3, 9)}],
     lambda x: [np.array(x.mean(), np.float32)]),
    ('global_avgpool_symbolic_hw',
     model('GlobalAveragePool', [('x', F, [1, 2, 'h', 'w'])], [('y', F, None)]),
     {'x': (1, 2, 8, 8)}, [{'x': (1, 2, 3, 5)}, {'x': (1, 2, 8, 8)}],
     lambda x: [x.mean((2, 3), keepdims=True)]),
    ('avgpool_symbolic_hw',
     model('AveragePool', [('x', F, ['b', 2, 'h', 'w'])], [('y', F, None)], kernel_shape=[2, 2], strides=[2, 2]),
     {'x': (3, 2, 9, 9)}, [{'x': (1, 2, 4, 6)}, {'x': (3, 2, 9, 7)}],
     lambda x: [avgpool2(x)]),
    ('softmax_legacy_2d',
     model('Softmax', [('x', F, ['b', 3, 4])], [('y', F, None)], opset=11, axis=1),
     {'x': (5, 3, 4)}, [{'x': (2, 3, 4)}, {'x': (5, 3, 4)}],
     lambda x: [softmax(x.reshape(x.shape[0], 12), 1).reshape(x.shape)]),
    ('softmax_symbolic_axis',
     model('Softmax', [('x', F, ['b', 's'])], [('y', F, None)], axis=-1),
     {'x': (4, 16)}, [{'x': (3, 5)}, {'x': (4, 16)}],
     lambda x: [softmax(x, -1)]),
    ('matmul_symbolic_rows',
     with_consts(model('MatMul', [('x', F, ['b', 's', 4]), ('w', F, [4, 3])], [('y', F, None)]), {'w': W43}),
     {'x': (3, 6, 4)}, [{'x': (2, 5, 4)}, {'x': (3, 6, 4)}],
     lambda x: [x @ W43]),
    ('matmul_batched_symbolic',
     model('MatMul', [('a', F, ['b', 's', 3]), ('c', F, ['b', 3, 's'])], [('y', F, None)]),
     {'a': (3, 5, 3), 'c': (3, 3, 5)}, [{'a': (2, 4, 3), 'c': (2, 3, 4)}, {'a': (3, 1, 3), 'c': (3, 3, 1)}],
     lambda a, c: [a @ c]),
    ('gemm_symbolic_m',
     with_consts(model('Gemm', [('a', F, ['m', 4]), ('w', F, [3, 4]), ('bias', F, [3])], [('y', F, None)],
                       transB=1, alpha=0.5), {'w': W43.T.copy(), 'bias': B3[:3].copy()}),
     {'a': (6, 4)}, [{'a': (1, 4)}, {'a': (6, 4)}],
     lambda a: [0.5 * (a @ W43) + B3[:3]]),
    ('layernorm_symbolic_rows',
     with_consts(model('LayerNormalization', [('x', F, ['b', 's', 4]), ('g', F, [4]), ('bb', F, [4])],
                       [('y', F, None)], opset=17, axis=-1), {'g': G3, 'bb': B3}),
     {'x': (2, 7, 4)}, [{'x': (1, 3, 4)}, {'x': (2, 7, 4)}],
     lambda x: [layernorm(x, G3, B3)]),
    ('mvn_symbolic_batch',
     model('MeanVarianceNormalization', [('x', F, ['b', 2, 3, 3])], [('y', F, None)]),
     {'x': (4, 2, 3, 3)}, [{'x': (1, 2, 3, 3)}, {'x': (4, 2, 3, 3)}],
     lambda x: [(x - x.mean((0, 2, 3), keepdims=True)) /
                (np.sqrt((x ** 2).mean((0, 2, 3), keepdims=True) - x.mean((0, 2, 3), keepdims=True) ** 2) + 1e-9)]),
    ('rmsnorm_symbolic_axes',
     with_consts(model('RMSNormalization', [('x', F, ['b', 's', 4]), ('g', F, [4])], [('y', F, None)], opset=23,
                       axis=1), {'g': G3}),
     {'x': (3, 6, 4)}, [{'x': (1, 2, 4)}, {'x': (3, 6, 4)}],
     lambda x: [x / np.sqrt((x ** 2).mean((1, 2), keepdims=True) + 1e-5) * G3]),
    ('groupnorm_symbolic_batch',
     with_consts(model('GroupNormalization', [('x', F, ['b', 4, 3]), ('g', F, [2]), ('bb', F, [2])],
                       [('y', F, None)], opset=18, num_groups=2), {'g': G3[:2].copy(), 'bb': B3[:2].copy()}),
     {'x': (5, 4, 3)}, [{'x': (2, 4, 3)}, {'x': (5, 4, 3)}],
     lambda x: [groupnorm(x, 2, G3[:2], B3[:2])]),
    ('argmax_symbolic_axis',
     model('ArgMax', [('x', F, ['b', 's'])], [('y', I64, None)], axis=1, keepdims=0),
     {'x': (3, 10)}, [{'x': (2, 4)}, {'x': (3, 10)}],
     lambda x: [x.argmax(1).astype(np.int64)]),
    ('add_broadcast_symbolic',
     model('Add', [('x', F, ['b', 1, 's']), ('y', F, [1, 3, 's'])], [('z', F, None)]),
     {'x': (4, 1, 6), 'y': (1, 3, 6)}, [{'x': (2, 1, 5), 'y': (1, 3, 5)}, {'x': (4, 1, 6), 'y': (1, 3, 6)}],
     lambda x, y: [x + y]),
]

# name, model, bounds, node description, words the message must contain
REFUSE = [
    ('broadcast_symbolic_vs_static',
     model('Add', [('x', F, ['b', 4]), ('y', F, [3, 4])], [('z', F, None)]), {'x': (8, 4)},
     'Add, opset 13', 'broadcast only for some values of the symbolic dimension'),
    ('matmul_batch_symbolic_vs_static',
     model('MatMul', [('a', F, ['b', 2, 3]), ('c', F, [5, 3, 4])], [('y', F, None)]), {'a': (8, 2, 3)},
     'MatMul, opset 13', 'broadcast only for some values of the symbolic dimension'),
    ('conv_same_symbolic',
     model('Conv', [('x', F, [1, 2, 'h', 'w']), ('k', F, [3, 2, 3, 3])], [('y', F, None)], auto_pad='SAME_UPPER'),
     {'x': (1, 2, 16, 16)}, 'Conv, opset 13', 'auto_pad SAME pads by an amount that depends on the size'),
    ('maxpool_ceil_symbolic',
     model('MaxPool', [('x', F, [1, 2, 'h', 'w'])], [('y', F, None)], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
     {'x': (1, 2, 16, 16)}, 'MaxPool, opset 13', 'ceil_mode=1 is not supported for it'),
    ('cumsum_symbolic_axis',
     model('CumSum', [('x', F, ['b', 's']), ('ax', I64, [])], [('y', F, None)]),
     {'x': (4, 8)}, 'CumSum, opset 13', "dimension 1 (s) is symbolic, and the scan's window spans the whole axis"),
    ('batchnorm_symbolic_channels',
     model('BatchNormalization', [('x', F, [1, 'c', 4]), ('s', F, [4]), ('bb', F, [4]), ('m', F, [4]),
                                  ('v', F, [4])], [('y', F, None)]),
     {'x': (1, 4, 4)}, 'BatchNormalization, opset 13', 'the per-channel parameters need a static channel count'),
    ('topk_symbolic_axis',
     model('TopK', [('x', F, ['b', 's']), ('k', I64, [1])], [('y', F, None), ('i', I64, None)]),
     {'x': (4, 8)}, 'TopK, opset 13', 'may exceed the size s of axis 1'),
    ('unreviewed_op_symbolic',
     model('Det', [('x', F, ['b', 3, 3])], [('y', F, None)]), {'x': (4, 3, 3)},
     'Det, opset 13', "this op's lowering does not handle symbolic dimensions yet"),
]


def fix_inputs(m, consts):
    """m with the inputs named in consts ({name: array}; CumSum's axis,
    TopK's K) made initializers."""
    from onnx import numpy_helper
    g = m.graph
    g2 = helper.make_graph(list(g.node), 'g', [i for i in g.input if i.name not in consts], list(g.output),
                           initializer=[numpy_helper.from_array(v, k) for k, v in consts.items()])
    return helper.make_model(g2, opset_imports=list(m.opset_import))


REFUSE_CONSTS = {
    'cumsum_symbolic_axis': {'ax': np.array(1, np.int64)},
    'topk_symbolic_axis': {'k': np.array([2], np.int64)},
}


def bound_args(bounds):
    args = []
    for name, dims in bounds.items():
        args += ['--max-shape', '%s=%s' % (name, 'x'.join(str(d) for d in dims))]
    return args


def rel_l2(got, ref):
    got, ref = got.astype(np.float64), ref.astype(np.float64)
    den = np.linalg.norm(ref)
    return np.linalg.norm(got - ref) / den if den > 0 else np.linalg.norm(got - ref)


def run_case(kiln, work, name, m, bounds, shapes, ref_fn):
    path = os.path.join(work, name + '.onnx')
    save(m, path)
    in_names = [i.name for i in m.graph.input]
    rng = np.random.default_rng(7)
    problems = []
    for k, shape_of in enumerate(shapes):
        arrays = [rng.standard_normal(shape_of[n]).astype(np.float32) for n in in_names]
        refs = ref_fn(*arrays)
        args = bound_args(bounds)
        for n, a in zip(in_names, arrays):
            f = os.path.join(work, '%s_%d_%s.npy' % (name, k, n))
            np.save(f, a)
            args += ['--input', '%s=%s' % (n, f)]
        for cmd in ('run', 'eval'):
            outdir = os.path.join(work, '%s_%d_%s' % (name, k, cmd))
            p = subprocess.run([kiln, cmd, path, '--output-dir', outdir, '--print-limit', '0'] + args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
            where = '%s at %s' % (cmd, shape_of)
            if p.returncode != 0:
                problems.append('%s: exit %d: %s' % (where, p.returncode, p.stderr.strip()))
                continue
            for o, ref in zip(m.graph.output, refs):
                f = os.path.join(outdir, o.name + '.npy')
                if not os.path.exists(f):
                    problems.append('%s: output %s not written' % (where, o.name))
                    continue
                got = np.load(f)
                ref = np.asarray(ref)
                if got.shape != ref.shape:
                    problems.append('%s: output %s has shape %s, NumPy gives %s' % (where, o.name, got.shape, ref.shape))
                elif ref.dtype.kind in 'iu':
                    if not np.array_equal(got, ref):
                        problems.append('%s: output %s differs from NumPy' % (where, o.name))
                elif not rel_l2(got, ref) <= TOL:
                    problems.append('%s: output %s rel L2 error %.3g' % (where, o.name, rel_l2(got, ref)))
    return problems


def refuse_case(kiln, work, name, m, bounds, where, words):
    path = os.path.join(work, name + '.onnx')
    save(fix_inputs(m, REFUSE_CONSTS.get(name, {})), path)
    p = subprocess.run([kiln, 'import', path] + bound_args(bounds), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    err, problems = p.stderr, []
    if p.returncode != 1:
        problems.append('exit status %d (expected 1)' % p.returncode)
    if "node 'the_node' (" + where + ')' not in err:
        problems.append("no message naming node 'the_node' (%s)" % where)
    if words not in err:
        problems.append('no message containing "%s"' % words)
    if 'Sanitizer' in err or 'runtime error' in err:
        problems.append('sanitizer report')
    if problems:
        problems.append('kiln said: ' + err.strip())
    return problems


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    kiln, work = argv[1], argv[2]
    os.makedirs(work, exist_ok=True)
    failed = 0
    for name, m, bounds, shapes, ref_fn in RUN:
        problems = run_case(kiln, work, name, m, bounds, shapes, ref_fn)
        failed += bool(problems)
        print('%s %-34s %s' % ('FAIL' if problems else 'ok  ', name,
                               '\n     '.join(problems) if problems else 'run and eval at %d shapes' % len(shapes)))
    for name, m, bounds, where, words in REFUSE:
        problems = refuse_case(kiln, work, name, m, bounds, where, words)
        failed += bool(problems)
        print('%s %-34s %s' % ('FAIL' if problems else 'ok  ', name, '\n     '.join(problems) if problems else 'refused'))
    total = len(RUN) + len(REFUSE)
    print('%d of %d symbolic op cases behaved' % (total - failed, total))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
