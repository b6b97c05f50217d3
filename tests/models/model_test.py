#!/usr/bin/python3
"""End-to-end model test: export PyTorch models, run them in kiln, compare.

usage: model_test.py KILN WORKDIR [--tol=1e-4] MODEL ... | --ops

For each MODEL (--ops: every case of op_cases.py), export_models.py writes the ONNX model, inputs and
PyTorch's outputs to WORKDIR/MODEL; `KILN eval` runs the model in the
reference interpreter; each output must match PyTorch's with a relative L2
error ||kiln - torch|| / ||torch|| of at most the tolerance (1e-4: float32
through a long chain of ops, computed in a different order); integer and
boolean outputs must be equal. Prints one line
per output with the error and the time kiln took. Exits 0 when every model
passes, 1 otherwise, 77 (skipped) when torch (or, for every model named,
torchvision) is missing.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export_models  # noqa: E402  (exits 77 when torch is missing)
from modelio import check_output, input_args, read_io, run_models  # noqa: E402


def check(kiln, workdir, name, tol):
    d = os.path.join(workdir, name)
    t0 = time.time()
    try:
        export_models.export(name, workdir)
    except ImportError as e:  # e.g. torchvision missing: the model cannot be made here
        print('SKIP %-20s %s' % (name, e))
        return None
    except Exception as e:  # an exporter failure is this test's failure, with its reason
        print('FAIL %-20s export failed: %s: %s' % (name, type(e).__name__, e))
        return False
    t_export = time.time() - t0
    ins, outs = read_io(d)
    outdir = os.path.join(d, 'kiln_out')
    cmd = [kiln, 'eval', os.path.join(d, 'model.onnx'), '--output-dir', outdir, '--print-limit', '0'] + input_args(ins)
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    t_kiln = time.time() - t0
    if p.returncode != 0:
        print('FAIL %-20s kiln eval exited %d after %.1f s:\n%s' % (name, p.returncode, t_kiln, p.stderr.strip()))
        return False
    ok = True
    for n, fn in outs:
        good, what = check_output(outdir, n, fn, tol)
        ok = ok and good
        print('%s %-20s %-10s %s; kiln eval %.2f s, export %.1f s' % ('ok  ' if good else 'FAIL', name, n, what, t_kiln, t_export))
    return ok


if __name__ == '__main__':
    sys.exit(run_models(sys.argv, __doc__, export_models.OPS, check))
