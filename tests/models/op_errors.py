#!/usr/bin/python3
"""Error paths of the nn/reduce/resize/einsum lowerings.

usage: op_errors.py KILN WORKDIR

Each case is a one-node ONNX model that kiln must refuse: `kiln import`
must exit 1 (never crash, never succeed) and its message must name the node
(op type and opset) and contain the expected words about what is wrong.
Without python3-onnx the test is skipped (77).
"""
import os
import subprocess
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except Exception as e:
    print('SKIP: python3-onnx is not available (%s)' % e)
    sys.exit(77)

F = TensorProto.FLOAT
I64 = TensorProto.INT64


def model(op, ins, outs, opset=13, inits=(), **attrs):
    """ins/outs: (name, elem_type, shape); inits: (name, array)."""
    node = helper.make_node(op, [n for n, _, _ in ins], [n for n, _, _ in outs], name='the_node', **attrs)
    init_names = set(n for n, _ in inits)
    g = helper.make_graph([node], 'g',
                          [helper.make_tensor_value_info(n, t, s) for n, t, s in ins if n and n not in init_names],
                          [helper.make_tensor_value_info(n, t, s) for n, t, s in outs],
                          initializer=[numpy_helper.from_array(a, n) for n, a in inits])
    return helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])


def conv_w(o, i, *k):
    return np.zeros((o, i) + k, np.float32)


X4 = ('x', F, [1, 4, 6, 6])
Y = ('y', F, None)

CASES = [
    ('conv_group', model('Conv', [X4, ('w', F, None)], [Y], inits=[('w', conv_w(6, 4, 3, 3))], group=3),
     'Conv, opset 13', 'group=3 must divide'),
    ('conv_kernel_shape', model('Conv', [X4, ('w', F, None)], [Y], inits=[('w', conv_w(6, 4, 3, 3))], kernel_shape=[2, 2]),
     'Conv, opset 13', "'kernel_shape' entry 0 is 2"),
    ('conv_huge_stride', model('Conv', [X4, ('w', F, None)], [Y], inits=[('w', conv_w(6, 4, 3, 3))], strides=[1, 1 << 62]),
     'Conv, opset 13', "'strides' entry 1 is 4611686018427387904"),
    ('conv_auto_pad', model('Conv', [X4, ('w', F, None)], [Y], inits=[('w', conv_w(6, 4, 3, 3))], auto_pad='SAME'),
     'Conv, opset 13', "auto_pad='SAME' is not one of"),
    ('conv_pads_count', model('Conv', [X4, ('w', F, None)], [Y], inits=[('w', conv_w(6, 4, 3, 3))], pads=[1, 1]),
     'Conv, opset 13', "'pads' has 2 entries; 4 are needed"),
    ('conv_window_too_big', model('Conv', [X4, ('w', F, None)], [Y], inits=[('w', conv_w(6, 4, 9, 3))]),
     'Conv, opset 13', 'larger than the padded input'),
    ('conv_rank', model('Conv', [('x', F, [4, 6]), ('w', F, None)], [Y], inits=[('w', conv_w(6, 4))]),
     'Conv, opset 13', 'with at least one spatial dimension'),
    ('conv_bias', model('Conv', [X4, ('w', F, None), ('b', F, None)], [Y],
                        inits=[('w', conv_w(6, 4, 3, 3)), ('b', np.zeros(5, np.float32))]),
     'Conv, opset 13', 'input B is f32[5]'),
    ('convtranspose_channels', model('ConvTranspose', [X4, ('w', F, None)], [Y], inits=[('w', conv_w(3, 2, 3, 3))]),
     'ConvTranspose, opset 13', 'W has 3 input channels; X has 4'),
    ('convtranspose_output_shape', model('ConvTranspose', [X4, ('w', F, None)], [Y], inits=[('w', conv_w(4, 2, 3, 3))],
                                         output_shape=[5]),
     'ConvTranspose, opset 13', "'output_shape' has 1 entries"),
    ('maxpool_no_kernel', model('MaxPool', [X4], [Y]), 'MaxPool, opset 13', "'kernel_shape' is required"),
    ('maxpool_storage_order', model('MaxPool', [X4], [Y], kernel_shape=[2, 2], storage_order=2),
     'MaxPool, opset 13', 'storage_order=2 must be 0 or 1'),
    ('avgpool_strides', model('AveragePool', [X4], [Y], kernel_shape=[2, 2], strides=[0, 1]),
     'AveragePool, opset 13', "'strides' entry 0 is 0"),
    ('lppool_p', model('LpPool', [X4], [Y], kernel_shape=[2, 2], p=0), 'LpPool, opset 13', 'p=0 must be >= 1'),
    ('batchnorm_training', model('BatchNormalization', [X4, ('s', F, [4]), ('b', F, [4]), ('m', F, [4]), ('v', F, [4])],
                                 [Y], opset=15, training_mode=1),
     'BatchNormalization, opset 15', 'training_mode=1 is not supported'),
    ('batchnorm_spatial', model('BatchNormalization', [X4, ('s', F, [4]), ('b', F, [4]), ('m', F, [4]), ('v', F, [4])],
                                [Y], opset=7, spatial=0),
     'BatchNormalization, opset 7', 'spatial=0'),
    ('batchnorm_channels', model('BatchNormalization', [X4, ('s', F, [3]), ('b', F, [4]), ('m', F, [4]), ('v', F, [4])],
                                 [Y]),
     'BatchNormalization, opset 13', 'input 1 (scale) is f32[3]'),
    ('layernorm_stash', model('LayerNormalization', [X4, ('s', F, [6])], [Y], opset=17, stash_type=8),
     'LayerNormalization, opset 17', 'stash_type=8'),
    ('softmax_int', model('Softmax', [('x', I64, [2, 3])], [('y', I64, None)]), 'Softmax, opset 13',
     'a floating-point type is needed'),
    ('softmax_axis', model('Softmax', [('x', F, [2, 3])], [Y], axis=2), 'Softmax, opset 13', 'axis 2 is out of range'),
    ('reduce_repeat', model('ReduceMean', [X4], [Y], axes=[1, -3]), 'ReduceMean, opset 13', 'axis 1 is listed twice'),
    ('reduce_sum_axes_input', model('ReduceSum', [X4, ('axes', I64, [1])], [Y], keepdims=0), 'ReduceSum, opset 13',
     "'axes' input must be known at compile time"),
    ('argmax_axis', model('ArgMax', [X4], [('y', I64, None)], axis=4), 'ArgMax, opset 13', 'axis 4 is out of range'),
    ('topk_k', model('TopK', [X4, ('k', I64, [1])], [Y, ('i', I64, None)], inits=[('k', np.array([7], np.int64))]),
     'TopK, opset 13', 'K=7 is outside [0, 6]'),
    ('cumsum_axis_float', model('CumSum', [X4, ('a', F, [])], [Y]), 'CumSum, opset 13',
     "the 'axis' input must hold one integer"),
    ('einsum_terms', model('Einsum', [('a', F, [2, 3])], [Y], opset=12, equation='ij,jk->ik'), 'Einsum, opset 12',
     'equation has 2 input term(s) but the node has 1 input(s)'),
    ('einsum_rank', model('Einsum', [('a', F, [2, 3])], [Y], opset=12, equation='ijk->i'), 'Einsum, opset 12',
     'names 3 dimension(s) but the input has rank 2'),
    ('einsum_char', model('Einsum', [('a', F, [2, 3])], [Y], opset=12, equation='i1->i'), 'Einsum, opset 12',
     "contains '1'"),
    ('einsum_arrows', model('Einsum', [('a', F, [2, 3])], [Y], opset=12, equation='ij->i->j'), 'Einsum, opset 12',
     "at most one '->'"),
    ('einsum_output_label', model('Einsum', [('a', F, [2, 3])], [Y], opset=12, equation='ij->k'), 'Einsum, opset 12',
     'appears in no input'),
    ('einsum_diagonal', model('Einsum', [('a', F, [2, 3])], [Y], opset=12, equation='ii->i'), 'Einsum, opset 12',
     'repeated label spans dimensions of sizes 2 and 3'),
    ('einsum_sizes', model('Einsum', [('a', F, [2, 3]), ('b', F, [4, 5])], [Y], opset=12, equation='ij,jk->ik'),
     'Einsum, opset 12', 'sizes 3 and 4'),
    ('einsum_ellipsis', model('Einsum', [('a', F, [2, 3])], [Y], opset=12, equation='......->'), 'Einsum, opset 12',
     'second ellipsis'),
    ('resize_mode', model('Resize', [X4, ('r', F, None), ('s', F, None)], [Y], inits=[('s', np.ones(4, np.float32))],
                          mode='area'),
     'Resize, opset 13', "mode='area' is not supported"),
    ('resize_coord', model('Resize', [X4, ('r', F, None), ('s', F, None)], [Y], inits=[('s', np.ones(4, np.float32))],
                           coordinate_transformation_mode='half'),
     'Resize, opset 13', "coordinate_transformation_mode='half'"),
    ('resize_scales_rank', model('Resize', [X4, ('', F, None), ('s', F, None)], [Y],
                                 inits=[('s', np.ones(3, np.float32))]),
     'Resize, opset 13', "'scales' input has 3 values; X has rank 4"),
    ('resize_nothing', model('Resize', [X4], [Y]), 'Resize, opset 13', "needs one of the 'scales' and 'sizes'"),
    ('resize_negative_scale', model('Resize', [X4, ('', F, None), ('s', F, None)], [Y],
                                    inits=[('s', np.array([1, 1, -2, 1], np.float32))]),
     'Resize, opset 13', 'scales must be positive'),
    ('upsample_scale', model('Upsample', [X4, ('s', F, None)], [Y], opset=9, inits=[('s', np.array([1, 1, 0.5, 1], np.float32))]),
     'Upsample, opset 9', 'needs scales >= 1'),
    ('gemm_inner', model('Gemm', [('a', F, [2, 3]), ('b', F, [4, 5])], [Y]), 'Gemm, opset 13', 'inner dimensions differ'),
    ('gemm_c', model('Gemm', [('a', F, [2, 3]), ('b', F, [3, 5]), ('c', F, [3])], [Y]), 'Gemm, opset 13',
     'cannot broadcast'),
    ('lrn_size', model('LRN', [X4], [Y]), 'LRN, opset 13', "'size' must be given"),
]


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    kiln, work = argv[1], argv[2]
    os.makedirs(work, exist_ok=True)
    failed = 0
    for name, m, where, words in CASES:
        path = os.path.join(work, name + '.onnx')
        onnx.save(m, path)
        p = subprocess.run([kiln, 'import', path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        err = p.stderr
        problems = []
        if p.returncode != 1:
            problems.append('exit status %d (expected 1)' % p.returncode)
        if "node 'the_node' (" + where + ')' not in err:
            problems.append("no message naming node 'the_node' (%s)" % where)
        if words not in err:
            problems.append('no message containing "%s"' % words)
        if 'Sanitizer' in err or 'runtime error' in err:
            problems.append('sanitizer report')
        if problems:
            failed += 1
            print('FAIL %-28s %s\n     kiln said: %s' % (name, '; '.join(problems), err.strip().replace('\n', '\n     ')))
        else:
            print('ok   %-28s %s' % (name, err.strip().splitlines()[0]))
    print('%d of %d error cases behaved' % (len(CASES) - failed, len(CASES)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
