#!/usr/bin/python3
"""Exports the end-to-end test models from PyTorch to ONNX.

usage: export_models.py OUTDIR [MODEL ...]

For each model (all the models, not the op cases, when none is named;
op_cases.py has the single-op cases) this writes OUTDIR/MODEL/:
  model.onnx       the exported model (random weights from a fixed seed, eval mode)
  input_N.npy      the inputs, in the order of the model's graph inputs
  output_N.npy     PyTorch's outputs for those inputs (the reference)
  io.txt           one line per input or output: "input|output NAME FILE"

Weights are random but fixed: each model is built after torch.manual_seed,
and batch-normalisation statistics (which a fresh model holds at mean 0,
variance 1) are randomised too, so that the folded per-channel scale and
shift are not trivial. Needs Debian's python3-torch and python3-torchvision
(torch 1.13, torchvision 0.14); exits with 77 (Meson's "skipped") when
torch cannot be imported.
"""
import os
import sys


def skip(msg):
    print('SKIP: ' + msg)
    sys.exit(77)


try:
    import numpy as np
    import torch
    import torch.nn as nn
except Exception as e:  # ImportError, or a broken torch install
    skip('PyTorch is not available (%s); install python3-torch' % e)

import op_cases  # noqa: E402  (needs torch)


def randomize_norms(model, gen):
    """Gives every BatchNorm random running statistics and affine terms."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
                m.bias.data.copy_(torch.randn(c, generator=gen) * 0.2)


class TinyEncoder(nn.Module):
    """A small pre-norm transformer encoder: token and positional
    embeddings, `layers` blocks of multi-head self-attention and a GELU MLP,
    a final LayerNorm and a vocabulary projection."""

    def __init__(self, vocab=1000, d_model=128, heads=4, layers=2, seq=32, mlp=512):
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.randn(1, seq, d_model) * 0.02)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict({
                'ln1': nn.LayerNorm(d_model),
                'attn': nn.MultiheadAttention(d_model, heads, batch_first=True),
                'ln2': nn.LayerNorm(d_model),
                'fc1': nn.Linear(d_model, mlp),
                'act': nn.GELU(),
                'fc2': nn.Linear(mlp, d_model),
            }))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, ids):
        return self.encode(self.tok(ids) + self.pos)

    def encode(self, x):
        """The blocks and the head, from the embedded tokens."""
        for b in self.blocks:
            h = b['ln1'](x)
            a, _ = b['attn'](h, h, h, need_weights=False)
            x = x + a
            x = x + b['fc2'](b['act'](b['fc1'](b['ln2'](x))))
        return self.head(self.ln(x))


class TinyViT(nn.Module):
    """A small vision transformer: patch embedding by a strided
    convolution, a class token, transformer blocks from nn, and a head."""

    def __init__(self, image=64, patch=8, d_model=96, heads=3, layers=2, classes=10):
        super().__init__()
        self.embed = nn.Conv2d(3, d_model, patch, stride=patch)
        n = (image // patch) ** 2
        self.cls = nn.Parameter(torch.randn(1, 1, d_model) * 0.02)
        self.pos = nn.Parameter(torch.randn(1, n + 1, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout=0.0, activation='gelu',
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, classes)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        x = self.encoder(x)
        return self.head(self.ln(x[:, 0]))


def vision(name):
    import torchvision.models as tvm
    return lambda: getattr(tvm, name)(weights=None)


# name -> (constructor, input maker, opset)
def image_input(gen, size=224):
    return [torch.randn(1, 3, size, size, generator=gen)]


def token_input(gen):
    return [torch.randint(0, 1000, (1, 32), generator=gen)]


MODELS = {
    'resnet18': (vision('resnet18'), image_input, 13),
    'mobilenet_v2': (vision('mobilenet_v2'), image_input, 13),
    'transformer': (TinyEncoder, token_input, 13),
    'transformer_op17': (TinyEncoder, token_input, 17),
    'squeezenet1_1': (vision('squeezenet1_1'), image_input, 13),
    'mobilenet_v3_small': (vision('mobilenet_v3_small'), image_input, 13),
    'efficientnet_b0': (vision('efficientnet_b0'), image_input, 13),
    'vit_tiny': (TinyViT, lambda g: image_input(g, 64), 13),
}


def write_io(d, in_names, ins, out_names, outs):
    with open(os.path.join(d, 'io.txt'), 'w') as f:
        for i, (n, a) in enumerate(zip(in_names, ins)):
            np.save(os.path.join(d, 'input_%d.npy' % i), a)
            f.write('input %s input_%d.npy\n' % (n, i))
        for i, (n, a) in enumerate(zip(out_names, outs)):
            np.save(os.path.join(d, 'output_%d.npy' % i), a)
            f.write('output %s output_%d.npy\n' % (n, i))


def fixed_generator():
    """Seeds torch's global generator (the weights) and returns the
    generator the inputs, BatchNorm statistics and op-case data are drawn
    from: the same on every call."""
    torch.manual_seed(0)
    return torch.Generator().manual_seed(1234)


def pytorch_model(name, gen):
    """(module in eval mode, inputs, opset) for a model of MODELS or an
    exported case of op_cases.CASES, drawn from gen (fixed_generator(): the
    model export() exports, which bench.py rebuilds to time PyTorch)."""
    if name in MODELS:
        make, inputs, opset = MODELS[name]
        model = make()
        with torch.no_grad():
            randomize_norms(model, gen)
        args = inputs(gen)
    else:
        model, args, opset = op_cases.CASES[name](gen)
    return model.eval(), args, opset


def export(name, outdir):
    """Writes OUTDIR/NAME/{model.onnx, input_N.npy, output_N.npy, io.txt}."""
    gen = fixed_generator()
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    if name in op_cases.BUILT:
        import onnx
        proto, ins, outs = op_cases.BUILT[name](gen)
        onnx.save(proto, os.path.join(d, 'model.onnx'))
        inits = set(t.name for t in proto.graph.initializer)
        in_names = [i.name for i in proto.graph.input if i.name not in inits]
        write_io(d, in_names, [np.asarray(a) for a in ins], [o.name for o in proto.graph.output],
                 [np.asarray(a) for a in outs])
        return
    model, args, opset = pytorch_model(name, gen)
    with torch.no_grad():
        ref = model(*args)
    refs = list(ref) if isinstance(ref, (tuple, list)) else [ref]
    in_names = ['input_%d' % i for i in range(len(args))]
    out_names = ['output_%d' % i for i in range(len(refs))]
    torch.onnx.export(model, tuple(args), os.path.join(d, 'model.onnx'), opset_version=opset,
                      input_names=in_names, output_names=out_names, do_constant_folding=True)
    write_io(d, in_names, [a.numpy() for a in args], out_names, [r.numpy() for r in refs])


def export_dynamic(model, args, path, opset, dynamic_axes):
    """Exports model (in eval mode) traced on args to path with the given
    dynamic_axes ({'input_0': {0: 'batch'}, ...}: those dimensions become
    ONNX dim_params); inputs are named input_N and outputs output_N, as
    export() names them. Returns (input names, output names)."""
    with torch.no_grad():
        ref = model(*args)
    nout = len(ref) if isinstance(ref, (tuple, list)) else 1
    in_names = ['input_%d' % i for i in range(len(args))]
    out_names = ['output_%d' % i for i in range(nout)]
    torch.onnx.export(model, tuple(args), path, opset_version=opset, input_names=in_names, output_names=out_names,
                      dynamic_axes=dynamic_axes, do_constant_folding=True)
    return in_names, out_names


# The single-op cases, in the order `model_test.py --ops` runs them.
OPS = list(op_cases.CASES) + list(op_cases.BUILT)


def known():
    return list(MODELS) + OPS


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    names = argv[2:] or list(MODELS)
    for n in names:
        if n not in known():
            print('unknown model %s (known: %s)' % (n, ', '.join(known())))
            return 2
    for n in names:
        export(n, argv[1])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
