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

(the default, compiled engine) must match it with a relative L2 error of
at most 1e-4. One shape also runs in the reference interpreter (`kiln
eval`, same flags). Then the model is compiled ONCE,

  kiln compile model.onnx --max-shape input_0=BOUND -o dyn.so --name dyn

and the shared object runs at every shape, each time against PyTorch:
called through kiln_dyn_run_shaped (include/kiln/artifact.h, ctypes),
which must write the actual output dimensions and leave the output
buffer past them untouched, and once more with the input and output of
exactly their actual size placed before an inaccessible page (an access
past them would kill the test); from the CLI (`kiln run dyn.so --input
...`); and from a C host program (host_run.c, built against dyn.h and
linked to dyn.so). A batch one past the bound must be refused by `kiln
run dyn.so`. The test fails when kiln refuses the model, exits non-zero,
or writes an output of the wrong shape or value. Exits 77 (skipped)
without torch (or torchvision, for the CNNs).
"""
import ctypes
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'symbolic'))
import export_models  # noqa: E402  (exits 77 when torch is missing)
from modelio import compare  # noqa: E402
import guard  # noqa: E402

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


def reference(case, model, gen, shape):
    """A random (seeded) input of `shape` and PyTorch's output for it."""
    x = case['input'](gen, shape)
    with torch.no_grad():
        return x, model(x).numpy()


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
    samples = []  # (shape, input, PyTorch's output), reused by the compiled-once checks
    for shape, cmd in runs:
        x, ref = reference(case, model, gen, shape)
        if cmd == 'run':
            samples.append((shape, x, ref))
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
    # Compiled once, run at every shape.
    so = os.path.join(work, 'dyn.so')
    t0 = time.time()
    p = subprocess.run([kiln, 'compile', path, '--max-shape', 'input_0=' + case['bound'], '-o', so, '--name', 'dyn'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    secs = time.time() - t0
    nshaped = len(case['shapes'])
    if p.returncode != 0:
        failed += nshaped
        print('FAIL %-12s kiln compile --max-shape exited %d after %.1f s:\n%s' % (name, p.returncode, secs,
                                                                              p.stderr.strip()))
    else:
        print('ok   %-12s kiln compile --max-shape %s: one .so in %.1f s' % (name, case['bound'], secs))
        failed += run_shaped_all(so, case, samples, name)
        failed += cli_and_host(kiln, so, case, samples, gen, name, work)
    total = len(runs) + 3 * nshaped + 1
    print('%d of %d check(s) of %s passed' % (total - failed, total, name))
    return 1 if failed else 0


def cli_and_host(kiln, so, case, samples, gen, name, work):
    """The compiled-once artifact at every shape from the CLI (kiln run
    dyn.so) and from a C host program (host_run.c against dyn.h, linking
    dyn.so), both against PyTorch; an out-of-bound batch refused by the CLI.
    Returns the number of failures."""
    failed = 0
    host = os.path.join(work, 'host_run')
    cc = shutil.which('cc')
    include = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'include')
    hp = subprocess.run([cc or 'cc', '-std=c17', '-Wall', '-Wextra', '-Werror', '-o', host,
                         os.path.join(HERE, 'host_run.c'), '-I' + work, '-I' + include, so, '-Wl,-rpath,' + work],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if hp.returncode != 0:
        print('FAIL %-12s host program does not build: %s' % (name, hp.stdout[:1500]))
        return len(case['shapes'])
    for shape, x, ref in samples:
        tag = 'x'.join(str(d) for d in shape)
        in_file = os.path.join(work, 'so_input_%s.npy' % tag)
        np.save(in_file, x.numpy())
        outdir = os.path.join(work, 'so_out_%s' % tag)
        p = subprocess.run([kiln, 'run', so, '--input', 'input_0=' + in_file, '--output-dir', outdir,
                            '--print-limit', '0'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True)
        out = os.path.join(outdir, 'output_0.npy')
        if p.returncode != 0 or not os.path.exists(out):
            failed += 1
            print('FAIL %-12s cli  %-12s kiln run dyn.so exited %d: %s' % (name, tag, p.returncode, p.stderr.strip()))
        else:
            got = np.load(out)
            good, res = compare(got, ref, TOL) if got.shape == ref.shape else (False, 'shape %s' % (got.shape,))
            failed += not good
            print('%s %-12s cli  %-12s output_0 %s' % ('ok  ' if good else 'FAIL', name, tag, res))
        raw_in = os.path.join(work, 'host_in_%s.bin' % tag)
        raw_out = os.path.join(work, 'host_out_%s.bin' % tag)
        np.ascontiguousarray(x.numpy()).tofile(raw_in)
        p = subprocess.run([host, raw_in, str(len(shape))] + [str(d) for d in shape] + [raw_out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        want = 'dims ' + ' '.join(str(d) for d in ref.shape)
        if p.returncode != 0 or p.stdout.strip() != want:
            failed += 1
            print('FAIL %-12s host %-12s exited %d: %s %s' % (name, tag, p.returncode, p.stdout.strip(),
                                                            p.stderr.strip()))
            continue
        got = np.fromfile(raw_out, dtype=np.float32).reshape(ref.shape)
        good, res = compare(got, ref, TOL)
        failed += not good
        print('%s %-12s host %-12s output_0 %s' % ('ok  ' if good else 'FAIL', name, tag, res))
    # One past the bound of the first dimension: refused, nothing written.
    bound = [int(d) for d in case['bound'].split('x')]
    big = (bound[0] + 1,) + tuple(case['shapes'][0][1:])
    bad = os.path.join(work, 'so_input_too_big.npy')
    np.save(bad, case['input'](gen, big).numpy())
    outdir = os.path.join(work, 'so_out_too_big')
    p = subprocess.run([kiln, 'run', so, '--input', 'input_0=' + bad, '--output-dir', outdir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    ok = p.returncode != 0 and 'above its bound' in p.stderr and not os.path.exists(os.path.join(outdir, 'output_0.npy'))
    failed += not ok
    print('%s %-12s cli  batch %d refused (exit %d): %s' % ('ok  ' if ok else 'FAIL', name, big[0], p.returncode,
                                                         p.stderr.strip()))
    return failed


def run_shaped_all(so, case, samples, name):
    """Calls kiln_dyn_run_shaped of the compiled-once artifact at every shape
    of the case; returns the number of failures."""
    lib = ctypes.CDLL(so)
    fn = lib.kiln_dyn_run_shaped
    fn.restype = ctypes.c_int
    bound = [int(d) for d in case['bound'].split('x')]
    failed = 0
    for shape, x, ref in samples:
        xin = np.ascontiguousarray(x.numpy())
        xdims = np.array(xin.shape, dtype=np.int64)
        # Room for the output at the bounds: its dims are the input's bound
        # dims followed by the model's static ones.
        room = int(np.prod(bound)) * int(np.prod(ref.shape[len(shape):]))
        out = np.full(room, np.nan, dtype=np.float32)
        odims = np.zeros(ref.ndim, dtype=np.int64)
        P = lambda arrs: (ctypes.c_void_p * len(arrs))(*[a.ctypes.data for a in arrs])
        t0 = time.time()
        st = fn(P([xin]), P([xdims]), P([out]), P([odims]), None)
        secs = time.time() - t0
        tag = 'x'.join(str(d) for d in shape)
        what = '%-12s .so  %-12s' % (name, tag)
        if st != 0:
            failed += 1
            print('FAIL %s run_shaped returned %d' % (what, st))
            continue
        if list(odims) != list(ref.shape):
            failed += 1
            print('FAIL %s output dims %s, PyTorch gives %s' % (what, list(odims), list(ref.shape)))
            continue
        got = out[:ref.size].reshape(ref.shape)
        good, res = compare(got, ref, TOL)
        if not np.isnan(out[ref.size:]).all():
            good, res = False, res + '; wrote past the actual output'
        # Again with the input and the output each exactly its actual size,
        # just before an inaccessible page: a read or write past them kills
        # the test.
        gx = guard.guarded(xin.shape, xin.dtype, xin)
        gy = guard.guarded(ref.shape)
        st = fn(P([gx]), P([xdims]), P([gy]), None, None)
        if st != 0 or not np.array_equal(gy, got):
            good, res = False, res + '; exact-size buffers gave status %d and %s output' % (
                st, 'the same' if st == 0 and np.array_equal(gy, got) else 'another')
        failed += not good
        print('%s %s output_0 %s; run_shaped %.3f s' % ('ok  ' if good else 'FAIL', what, res, secs))
    return failed


if __name__ == '__main__':
    sys.exit(main(sys.argv))
