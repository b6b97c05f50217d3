#!/usr/bin/python3
"""End-to-end test of symbolic shapes (issue 15): PyTorch models exported
with dynamic axes, imported once with a bound, run at many shapes.

usage: dynamic_test.py KILN WORKDIR MODEL

MODEL is one of CASES: a torchvision CNN with a dynamic batch axis
(resnet18, mobilenet_v2) or a transformer encoder with dynamic batch and
sequence axes (transformer). The model is exported once, with
torch.onnx.export's dynamic_axes (the ONNX graph input has dim_params
'batch' and 'seq'); then for every shape of the case, PyTorch computes
the reference on random (seeded) inputs, and

  kiln run model.onnx --max-shape input_0=BOUND --input input_0=FILE

(the default, compiled engine: the symbolic module is bound to the input's
shape, then compiled) must match it with a relative L2 error of at most
1e-4. One shape also runs in the reference interpreter (`kiln eval`, same
flags). The test fails when kiln refuses the model, exits non-zero, or
writes an output of the wrong shape or value. Exits 77 (skipped) without
torch (or torchvision, for the CNNs).
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export_models  # noqa: E402  (exits 77 when torch is missing)
from modelio import compare  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

TOL = 1e-4
MAX_SEQ = 128


class DynEncoder(export_models.TinyEncoder):
    """TinyEncoder whose positional table has MAX_SEQ rows and is sliced to
    the input's length (TinyEncoder adds its whole 32-row table, which
    fixes the sequence length). The slice exports as Shape -> Gather ->
    Slice, a shape subgraph kiln must turn into a symbolic slice bound."""

    def __init__(self):
        super().__init__(seq=MAX_SEQ)

    def forward(self, ids):
        return self.encode(self.tok(ids) + self.pos[:, :ids.shape[1]])


def vision_case(name):
    def make():
        import torchvision.models as tvm
        return getattr(tvm, name)(weights=None)
    return {
        'make': make,
        'example': lambda g: torch.randn(2, 3, 224, 224, generator=g),
        'input': lambda g, shape: torch.randn(*shape, generator=g),
        'axes': {'input_0': {0: 'batch'}, 'output_0': {0: 'batch'}},
        'bound': '8x3x224x224',
        'shapes': [(1, 3, 224, 224), (3, 3, 224, 224), (8, 3, 224, 224)],
        'interp': (3, 3, 224, 224),
    }


def token_input(g, shape):
    return torch.randint(0, 1000, shape, generator=g)


CASES = {
    'resnet18': vision_case('resnet18'),
    'mobilenet_v2': vision_case('mobilenet_v2'),
    'transformer': {
        'make': DynEncoder,
        'example': lambda g: token_input(g, (2, 16)),
        'input': token_input,
        'axes': {'input_0': {0: 'batch', 1: 'seq'}, 'output_0': {0: 'batch', 1: 'seq'}},
        'bound': '8x%d' % MAX_SEQ,
        # every batch with every length would be 9 compilations; these
        # cover each batch and each length, and both at their bounds
        'shapes': [(1, 7), (3, 64), (8, 128), (1, 128), (8, 7), (3, 7)],
        'interp': (3, 7),
    },
}


def run_kiln(kiln, cmd, model, bound, in_file, outdir):
    args = [kiln, cmd, model, '--max-shape', 'input_0=' + bound, '--input', 'input_0=' + in_file,
            '--output-dir', outdir, '--print-limit', '0']
    t0 = time.time()
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    return p, time.time() - t0


def main(argv):
    if len(argv) != 4 or argv[3] not in CASES:
        print(__doc__)
        return 2
    kiln, work, name = argv[1], os.path.join(argv[2], 'dynamic_' + argv[3]), argv[3]
    case = CASES[name]
    os.makedirs(work, exist_ok=True)
    gen = export_models.fixed_generator()
    try:
        model = case['make']()
    except ImportError as e:
        print('SKIP: %s cannot be made here (%s)' % (name, e))
        return 77
    with torch.no_grad():
        export_models.randomize_norms(model, gen)
    model.eval()
    path = os.path.join(work, 'model.onnx')
    export_models.export_dynamic(model, [case['example'](gen)], path, 13, case['axes'])
    runs = [(s, 'run') for s in case['shapes']] + [(case['interp'], 'eval')]
    failed = 0
    for shape, cmd in runs:
        x = case['input'](gen, shape)
        with torch.no_grad():
            ref = model(x).numpy()
        tag = 'x'.join(str(d) for d in shape)
        in_file = os.path.join(work, 'input_%s.npy' % tag)
        np.save(in_file, x.numpy())
        outdir = os.path.join(work, 'out_%s_%s' % (cmd, tag))
        p, secs = run_kiln(kiln, cmd, path, case['bound'], in_file, outdir)
        what = '%-12s %-4s %-12s' % (name, cmd, tag)
        if p.returncode != 0:
            failed += 1
            print('FAIL %s kiln %s exited %d after %.1f s:\n%s' % (what, cmd, p.returncode, secs, p.stderr.strip()))
            continue
        out = os.path.join(outdir, 'output_0.npy')
        if not os.path.exists(out):
            failed += 1
            print('FAIL %s output_0 was not written' % what)
            continue
        got = np.load(out)
        if got.shape != ref.shape or got.dtype != ref.dtype:
            failed += 1
            print('FAIL %s output_0 is %s %s, PyTorch gives %s %s' % (what, got.dtype, got.shape, ref.dtype, ref.shape))
            continue
        good, res = compare(got, ref, TOL)
        failed += not good
        print('%s %s output_0 %s; kiln %s %.1f s' % ('ok  ' if good else 'FAIL', what, res, cmd, secs))
    print('%d of %d shape(s) of %s passed' % (len(runs) - failed, len(runs), name))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
