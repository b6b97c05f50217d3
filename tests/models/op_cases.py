"""Small single-op cases for the ops the ONNX node tests leave uncovered.

Each case is a tiny PyTorch module exported to ONNX (so the reference is
PyTorch's own output), or, for constructs PyTorch does not export as the
ONNX op in question, a hand-built ONNX node whose reference comes from an
independent PyTorch or NumPy computation. CASES maps a name to a function
(gen) -> (model, inputs, opset) for exported modules, BUILT to a function
(gen) -> (onnx.ModelProto, inputs, outputs) for hand-built ones; see
export_models.export.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Fn(nn.Module):
    """Wraps a function of (module, *inputs) with optional submodules."""

    def __init__(self, f, *mods):
        super().__init__()
        self.f = f
        self.mods = nn.ModuleList(mods)

    def forward(self, *a):
        return self.f(self, *a)


def rnd(gen, *shape):
    return torch.randn(*shape, generator=gen)


def exported(make, shapes, opset=13):
    """A case exporting make() on random inputs of the given shapes."""
    return lambda gen: (make(), [rnd(gen, *s) for s in shapes], opset)


CASES = {
    # Convolutions: 1-D/3-D, groups, dilation, stride, asymmetric kernels.
    'conv1d_groups_dilated': exported(lambda: nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2), [(2, 4, 11)]),
    'conv3d_strided': exported(lambda: nn.Conv3d(2, 4, (3, 2, 3), stride=(1, 2, 1), padding=(1, 0, 1)), [(1, 2, 5, 6, 4)]),
    'conv2d_depthwise': exported(lambda: nn.Conv2d(6, 12, 3, padding=1, groups=6, bias=False), [(1, 6, 7, 5)]),
    'convtranspose2d_groups': exported(
        lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2), [(1, 4, 5, 4)]),
    'convtranspose1d': exported(lambda: nn.ConvTranspose1d(3, 2, 4, stride=3, padding=2), [(2, 3, 7)]),
    'convtranspose3d': exported(lambda: nn.ConvTranspose3d(2, 3, (2, 3, 2), stride=(2, 1, 2), bias=False), [(1, 2, 3, 4, 3)]),
    # Pooling: ceil mode, padding, dilation, count_include_pad, 1-D and 3-D.
    'maxpool2d_ceil_dilated': exported(lambda: nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True), [(1, 3, 10, 9)]),
    'maxpool1d_ceil': exported(lambda: nn.MaxPool1d(2, stride=2, ceil_mode=True), [(2, 3, 7)]),
    'maxpool3d': exported(lambda: nn.MaxPool3d(2, stride=(1, 2, 2), padding=1), [(1, 2, 4, 5, 5)]),
    'avgpool2d_ceil_include_pad': exported(
        lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True), [(1, 2, 8, 7)]),
    'avgpool2d_ceil_exclude_pad': exported(
        lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), [(1, 2, 8, 7)]),
    'avgpool1d': exported(lambda: nn.AvgPool1d(3, stride=2, padding=1), [(2, 3, 9)]),
    'avgpool3d': exported(lambda: nn.AvgPool3d(2, stride=2), [(1, 2, 4, 6, 4)]),
    'global_max': exported(lambda: nn.AdaptiveMaxPool2d(1), [(2, 3, 5, 4)]),
    'global_avg_3d': exported(lambda: nn.AdaptiveAvgPool3d(1), [(1, 3, 2, 5, 4)]),
    # Normalisations.
    'batchnorm1d_2d_input': exported(lambda: nn.BatchNorm1d(5), [(3, 5)]),
    'instancenorm2d': exported(lambda: nn.InstanceNorm2d(3, affine=True), [(2, 3, 5, 4)]),
    'groupnorm': exported(lambda: nn.GroupNorm(2, 4), [(2, 4, 3, 3)]),
    'layernorm_2d_op17': exported(lambda: nn.LayerNorm((4, 5)), [(2, 3, 4, 5)], opset=17),
    # Softmax family before and from opset 13.
    'softmax_dim1_op11': exported(lambda: Fn(lambda s, x: F.softmax(x, 1)), [(2, 3, 4)], opset=11),
    'log_softmax_last_op11': exported(lambda: Fn(lambda s, x: F.log_softmax(x * 30, -1)), [(2, 3, 4)], opset=11),
    'softmax_dim0_op13': exported(lambda: Fn(lambda s, x: F.softmax(x * 50, 0)), [(3, 2, 4)]),
    # Reductions and arg reductions.
    'reduce_sum_mean': exported(lambda: Fn(lambda s, x: x.sum((1, 3), keepdim=True) + x.mean(2, keepdim=True)[:, :, :, :1]),
                                [(2, 3, 4, 5)]),
    'reduce_amax_amin_prod': exported(lambda: Fn(lambda s, x: (torch.amax(x, (0, 2)), torch.amin(x, 1), torch.prod(x, 2))),
                                      [(2, 3, 4)]),
    'reduce_norms_lse': exported(
        lambda: Fn(lambda s, x: (torch.norm(x, p=1, dim=1), torch.norm(x, p=2, dim=(0, 2)), torch.logsumexp(x * 40, 2))),
        [(2, 3, 4)]),
    'argmax_argmin': exported(lambda: Fn(lambda s, x: (torch.argmax(x, 1, keepdim=True), torch.argmin(x, 2))), [(2, 5, 4)]),
    'topk': exported(lambda: Fn(lambda s, x: torch.topk(x, 3, dim=1, largest=False) + torch.topk(x, 2, dim=-1)),
                     [(2, 6, 5)]),
    'cumsum': exported(lambda: Fn(lambda s, x: (torch.cumsum(x, 1), torch.cumsum(x, -1))), [(2, 4, 5)]),
    # Resize through F.interpolate.
    'interp_nearest_x2': exported(lambda: Fn(lambda s, x: F.interpolate(x, scale_factor=2, mode='nearest')), [(1, 2, 3, 4)]),
    'interp_nearest_size': exported(lambda: Fn(lambda s, x: F.interpolate(x, size=(7, 3), mode='nearest')), [(1, 2, 3, 4)]),
    'interp_bilinear': exported(
        lambda: Fn(lambda s, x: F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)), [(1, 2, 3, 4)]),
    'interp_bilinear_corners': exported(
        lambda: Fn(lambda s, x: F.interpolate(x, size=(5, 7), mode='bilinear', align_corners=True)), [(1, 2, 3, 4)]),
    'interp_bilinear_down': exported(
        lambda: Fn(lambda s, x: F.interpolate(x, size=(3, 2), mode='bilinear', align_corners=False)), [(1, 2, 6, 5)]),
    'interp_bicubic': exported(
        lambda: Fn(lambda s, x: F.interpolate(x, scale_factor=2, mode='bicubic', align_corners=False)), [(1, 1, 4, 4)]),
    'interp_linear_1d': exported(
        lambda: Fn(lambda s, x: F.interpolate(x, scale_factor=3, mode='linear', align_corners=False)), [(1, 2, 5)]),
    # Einsum forms.
    'einsum_matmul_batched': exported(lambda: Fn(lambda s, a, b: torch.einsum('bij,bjk->bik', a, b)), [(2, 3, 4), (2, 4, 5)],
                                      opset=12),
    'einsum_outer': exported(lambda: Fn(lambda s, a, b: torch.einsum('i,j->ij', a, b)), [(3,), (4,)], opset=12),
    'einsum_bilinear': exported(lambda: Fn(lambda s, a, w, b: torch.einsum('bn,anm,bm->ba', a, w, b)),
                                [(2, 3), (4, 3, 5), (2, 5)], opset=12),
    'einsum_ellipsis': exported(lambda: Fn(lambda s, a, b: torch.einsum('...ij,...jk->...ik', a, b)),
                                [(2, 3, 4, 5), (3, 5, 2)], opset=12),
    'einsum_trace_sum': exported(lambda: Fn(lambda s, a, b: (torch.einsum('ii', a), torch.einsum('ijk->', b))),
                                 [(4, 4), (2, 3, 4)], opset=12),
    'einsum_attention': exported(lambda: Fn(lambda s, q, k: torch.einsum('bhqd,bhkd->bhqk', q, k)),
                                 [(1, 2, 5, 8), (1, 2, 6, 8)], opset=12),
    # Recurrent layers (unrolled): bidirectional, stacked, batch-first, GRU's
    # linear_before_reset=1, RNN with ReLU.
    'lstm_bidirectional_2layers': exported(
        lambda: Fn(lambda s, x: s.mods[0](x)[0], nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True)),
        [(2, 7, 6)]),
    'gru_bidirectional': exported(lambda: Fn(lambda s, x: s.mods[0](x), nn.GRU(4, 6, bidirectional=True)), [(5, 3, 4)]),
    'rnn_relu': exported(lambda: Fn(lambda s, x, h: s.mods[0](x, h), nn.RNN(3, 4, nonlinearity='relu')), [(6, 2, 3), (1, 2, 4)]),
    # Gemm with alpha, beta and a broadcast C.
    'addmm': exported(lambda: Fn(lambda s, c, a, b: torch.addmm(c, a, b, beta=0.5, alpha=2.0)), [(1, 5), (3, 4), (4, 5)]),
}


# ---- hand-built ONNX nodes with independent references ----

def node_model(op, named, outputs, opset, consts=(), **attrs):
    """A one-node ONNX model; named/outputs are (name, array) pairs, those
    of named whose name is in consts become initializers. Returns the model,
    the arrays of its graph inputs and those of its outputs."""
    import onnx
    from onnx import helper, numpy_helper
    dt = {np.dtype(k): v for k, v in [('float32', onnx.TensorProto.FLOAT), ('int64', onnx.TensorProto.INT64),
                                      ('uint8', onnx.TensorProto.UINT8), ('int8', onnx.TensorProto.INT8),
                                      ('int32', onnx.TensorProto.INT32)]}
    node = helper.make_node(op, [n for n, _ in named], [n for n, _ in outputs], **attrs)
    g = helper.make_graph([node], op.lower(),
                          [helper.make_tensor_value_info(n, dt[a.dtype], a.shape) for n, a in named if n not in consts],
                          [helper.make_tensor_value_info(n, dt[a.dtype], a.shape) for n, a in outputs],
                          initializer=[numpy_helper.from_array(a, n) for n, a in named if n in consts])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', opset)])
    return m, [a for n, a in named if n not in consts], [a for _, a in outputs]


def built_lrn(gen):
    x = rnd(gen, 2, 7, 3, 4)
    y = F.local_response_norm(x, 5, alpha=2e-3, beta=0.6, k=1.5)
    return node_model('LRN', [('x', x.numpy())], [('y', y.numpy())], 13, size=5, alpha=2e-3, beta=0.6, bias=1.5)


def hardmax_ref(x, axis):
    """NumPy: one-hot of the first maximum along axis."""
    idx = np.expand_dims(np.argmax(x, axis=axis), axis)
    y = np.zeros_like(x)
    np.put_along_axis(y, idx, 1, axis=axis)
    return y


def built_hardmax_op11(gen):
    x = rnd(gen, 2, 3, 4).numpy()
    x[0, 1, :2] = x[0, 1].max() + 1  # a tie: the first one wins
    # Before opset 13: coerced to [2, 12] at axis 1.
    y = hardmax_ref(x.reshape(2, 12), 1).reshape(2, 3, 4)
    return node_model('Hardmax', [('x', x)], [('y', y)], 11, axis=1)


def built_hardmax_op13(gen):
    x = rnd(gen, 2, 3, 4).numpy()
    return node_model('Hardmax', [('x', x)], [('y', hardmax_ref(x, 1))], 13, axis=1)


def built_argmax_last(gen):
    x = torch.randint(0, 3, (3, 5), generator=gen).float().numpy()  # many ties
    last = x.shape[1] - 1 - np.argmax(np.flip(x, 1), axis=1)
    return node_model('ArgMax', [('x', x)], [('y', last.astype(np.int64))], 13, axis=1, keepdims=0, select_last_index=1)


def built_lppool(gen):
    x = rnd(gen, 1, 2, 6, 5)
    y = F.lp_pool2d(x, 2, (3, 2), stride=(2, 1))  # (sum of x^2)^(1/2) per window
    return node_model('LpPool', [('x', x.numpy())], [('y', y.numpy())], 11, kernel_shape=[3, 2], strides=[2, 1], p=2)


def built_global_lppool(gen):
    x = rnd(gen, 2, 3, 4, 5)
    y = (x.abs() ** 3).sum((2, 3), keepdim=True) ** (1 / 3)
    return node_model('GlobalLpPool', [('x', x.numpy())], [('y', y.numpy())], 13, p=3)


def built_cumsum_reverse_exclusive(gen):
    x = rnd(gen, 2, 5)
    rev = torch.flip(torch.cumsum(torch.flip(x, [1]), 1), [1])
    y = rev - x  # exclusive: without the element itself
    # The axis is an initializer (kiln needs it at compile time).
    return node_model('CumSum', [('x', x.numpy()), ('axis', np.array(1, np.int64))], [('y', y.numpy())], 14,
                      consts={'axis'}, exclusive=1, reverse=1)


def linear_asymmetric(x, scales):
    """NumPy reference of asymmetric linear resizing (Resize-10, Upsample):
    np.interp along each axis at x_original = x_out / scale, edges clamped."""
    for ax, sc in enumerate(scales):
        n_out = int(np.floor(x.shape[ax] * sc))
        pos = np.arange(n_out) / sc
        x = np.apply_along_axis(lambda r: np.interp(pos, np.arange(len(r)), r), ax, x)
    return x.astype(np.float32)


def built_upsample7_nearest(gen):
    x = rnd(gen, 1, 2, 2, 3).numpy()
    y = np.repeat(np.repeat(x, 2, axis=2), 3, axis=3)
    return node_model('Upsample', [('x', x)], [('y', y)], 7, mode='nearest', scales=[1.0, 1.0, 2.0, 3.0])


def built_upsample9_linear(gen):
    x = rnd(gen, 1, 2, 3, 4).numpy()
    sc = np.array([1, 1, 2, 1.5], np.float32)
    return node_model('Upsample', [('x', x), ('s', sc)], [('y', linear_asymmetric(x, sc))], 9, consts={'s'},
                      mode='linear')


def built_resize10_linear(gen):
    x = rnd(gen, 1, 1, 4, 5).numpy()
    sc = np.array([1, 1, 2.5, 2], np.float32)
    return node_model('Resize', [('x', x), ('s', sc)], [('y', linear_asymmetric(x, sc))], 10, consts={'s'},
                      mode='linear')


def built_qlinearconv_per_channel(gen):
    """Per-output-channel weight scales and zero points, an i32 bias, i8
    weights; reference: exact float64 convolution of the zero-point-adjusted
    integers (PyTorch), requantized with NumPy (round half to even)."""
    rs = np.random.RandomState(7)
    x = rs.randint(0, 256, (1, 3, 6, 5)).astype(np.uint8)
    w = rs.randint(-128, 128, (4, 3, 3, 3)).astype(np.int8)
    xs, xz = np.float32(0.02), np.uint8(120)
    ws = (rs.rand(4) * 0.01 + 0.002).astype(np.float32)
    wz = rs.randint(-5, 6, 4).astype(np.int8)
    ys, yz = np.float32(0.3), np.uint8(100)
    b = rs.randint(-500, 500, 4).astype(np.int32)
    xf = torch.tensor(x.astype(np.float64) - float(xz))
    wf = torch.tensor(w.astype(np.float64) - wz.astype(np.float64)[:, None, None, None])
    acc = F.conv2d(xf, wf, stride=2, padding=1).numpy() + b[None, :, None, None]
    mult = (xs * ws / ys).astype(np.float32)[None, :, None, None]
    y = np.clip(np.round(acc.astype(np.float32) * mult) + int(yz), 0, 255).astype(np.uint8)
    named = [('x', x), ('xs', np.array(xs)), ('xz', np.array(xz)), ('w', w), ('ws', ws), ('wz', wz), ('ys', np.array(ys)),
             ('yz', np.array(yz)), ('b', b)]
    return node_model('QLinearConv', named, [('y', y)], 10, consts={'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'b'},
                      strides=[2, 2], pads=[1, 1, 1, 1])


def built_matmulinteger_per_row(gen):
    """Per-row zero points of A, per-column of B; reference: NumPy int64."""
    rs = np.random.RandomState(8)
    a = rs.randint(0, 256, (2, 3, 5)).astype(np.uint8)
    b = rs.randint(0, 256, (5, 4)).astype(np.uint8)
    az = rs.randint(0, 256, 3).astype(np.uint8)
    bz = rs.randint(0, 256, 4).astype(np.uint8)
    y = ((a.astype(np.int64) - az[:, None]) @ (b.astype(np.int64) - bz[None, :])).astype(np.int32)
    return node_model('MatMulInteger', [('a', a), ('b', b), ('az', az), ('bz', bz)], [('y', y)], 10, consts={'az', 'bz'})


BUILT = {
    'qlinearconv_per_channel': built_qlinearconv_per_channel,
    'matmulinteger_per_row': built_matmulinteger_per_row,
    'upsample7_nearest': built_upsample7_nearest,
    'upsample9_linear': built_upsample9_linear,
    'resize10_linear': built_resize10_linear,
    'lrn': built_lrn,
    'hardmax_op11': built_hardmax_op11,
    'hardmax_op13': built_hardmax_op13,
    'argmax_select_last': built_argmax_last,
    'lppool': built_lppool,
    'global_lppool': built_global_lppool,
    'cumsum_reverse_exclusive': built_cumsum_reverse_exclusive,
}
