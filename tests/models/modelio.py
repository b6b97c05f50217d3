"""Shared pieces of the end-to-end model tests (model_test.py, which runs
the reference interpreter, and tests/codegen/model_aot_test.py, which runs
compiled code): their arguments, reading the io.txt that export_models.py
writes, and checking one output kiln wrote against PyTorch's.

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


def read_io(d):
    """The (name, path) pairs of the inputs and of the outputs in folder d."""
    ins, outs = [], []
    with open(os.path.join(d, 'io.txt')) as f:
        for line in f:
            kind, name, fn = line.split()
            (ins if kind == 'input' else outs).append((name, os.path.join(d, fn)))
    return ins, outs


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
