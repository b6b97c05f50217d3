"""Shared pieces of the end-to-end model tests (model_test.py, which runs
the reference interpreter, and tests/codegen/model_aot_test.py, which runs
compiled code) and of benchmarks/bench.py: their arguments and main loop,
reading the io.txt that export_models.py writes, passing its inputs to
kiln, and checking one output kiln wrote against PyTorch's.

io.txt has one line per model input or output: `input|output NAME FILE`
(FILE relative to the model's folder).
"""
import os

import numpy as np


def parse_args(args, op_names):
    """The arguments after KILN WORKDIR, `[--tol=T] MODEL ... | --ops`, as
    (tol, names): tol defaults to 1e-4, --ops adds op_names."""
    tol, names = 1e-4, []
    for a in args:
        if a.startswith('--tol='):
            tol = float(a[6:])
        elif a == '--ops':
            names += op_names
        else:
            names.append(a)
    return tol, names


def run_models(argv, doc, op_names, check):
    """The main of a model test, argv being `PROG KILN WORKDIR [--tol=T]
    MODEL ... | --ops`: runs check(kiln, workdir, name, tol) for each model,
    which returns True (passed), False (failed) or None (skipped), and
    prints a summary. Returns the exit status: 2 (usage, printing doc), 1
    when a model failed, 77 (Meson's "skipped") when none ran, else 0."""
    if len(argv) < 4:
        print(doc)
        return 2
    kiln, workdir = argv[1], argv[2]
    tol, names = parse_args(argv[3:], op_names)
    os.makedirs(workdir, exist_ok=True)
    results = [check(kiln, workdir, n, tol) for n in names]
    ran = [r for r in results if r is not None]
    print('%d of %d model(s) passed, %d skipped' % (sum(ran), len(ran), len(results) - len(ran)))
    if not all(ran):
        return 1
    return 0 if ran else 77


def read_io(d):
    """The (name, path) pairs of the inputs and of the outputs in folder d."""
    ins, outs = [], []
    with open(os.path.join(d, 'io.txt')) as f:
        for line in f:
            kind, name, fn = line.split()
            (ins if kind == 'input' else outs).append((name, os.path.join(d, fn)))
    return ins, outs


def input_args(ins):
    """The `--input NAME=FILE` arguments (of kiln eval, kiln run and
    benchmarks/ort_run.js) for the (name, path) pairs of read_io."""
    args = []
    for name, fn in ins:
        args += ['--input', '%s=%s' % (name, fn)]
    return args


def rel_l2(got, ref):
    """||got - ref|| / ||ref|| in float64 (the plain norm when ref is 0)."""
    got = got.astype(np.float64)
    ref = ref.astype(np.float64)
    den = np.linalg.norm(ref)
    num = np.linalg.norm(got - ref)
    return num / den if den > 0 else num


def compare(got, ref, tol):
    """(passed, what) for an output of the same dtype and shape as ref:
    integer and boolean outputs (indices, masks, quantized values) must be
    equal; float outputs must be finite and within relative L2 error tol."""
    if ref.dtype.kind in 'iub':
        bad = int(np.count_nonzero(got != ref))
        return bad == 0, '%d of %d elements differ' % (bad, ref.size)
    err = rel_l2(got, ref)
    return err <= tol and bool(np.all(np.isfinite(got))), 'rel L2 error %.3g (limit %g)' % (err, tol)


def check_output(outdir, name, ref_file, tol):
    """(passed, what) for output `name`, written by kiln as outdir/NAME.npy,
    against PyTorch's ref_file: it must exist, have PyTorch's dtype and
    shape, and pass compare()."""
    ref = np.load(ref_file)
    path = os.path.join(outdir, name + '.npy')
    if not os.path.exists(path):
        return False, 'was not written'
    got = np.load(path)
    if got.shape != ref.shape or got.dtype != ref.dtype:
        return False, 'is %s %s, PyTorch gives %s %s' % (got.dtype, got.shape, ref.dtype, ref.shape)
    return compare(got, ref, tol)
