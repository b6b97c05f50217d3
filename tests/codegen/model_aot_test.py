#!/usr/bin/python3
"""End-to-end models through the AOT compiler: export, compile, run, compare.

usage: model_aot_test.py [--cpu=NAME [--features=LIST]] KILN WORKDIR [--tol=1e-4] MODEL ... | --ops

Like tests/models/model_test.py (which runs the reference interpreter), but
each model goes through `KILN compile` (passes, code generation, linking)
to a shared object that `KILN run` loads and runs. The models, inputs and
PyTorch outputs come from tests/models/export_models.py. Float outputs must
match PyTorch within a relative L2 error of the tolerance (1e-4), integer
and boolean outputs exactly. Exits 0 when every model passes, 1 otherwise,
77 (skipped) when torch is missing.

--cpu and --features are passed to `kiln compile` (code for that CPU instead
of this machine's: x86-64-v2 tests the kernels' generic paths). Meson runs
those variants behind tests/common/cpu_gate, which skips them on a machine
that cannot run the code; give each variant its own WORKDIR.
"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'models'))
import export_models  # noqa: E402  (exits 77 when torch is missing)
from modelio import check_output, input_args, read_io, run_models  # noqa: E402


# `kiln compile` options taken from the command line (--cpu, --features).
TARGET = []


def check(kiln, workdir, name, tol):
    d = os.path.join(workdir, name)
    try:
        export_models.export(name, workdir)
    except Exception as e:
        print('FAIL %-22s export failed: %s: %s' % (name, type(e).__name__, e))
        return False
    ins, outs = read_io(d)
    so = os.path.join(d, 'aot.so')
    t0 = time.time()
    p = subprocess.run([kiln, 'compile', os.path.join(d, 'model.onnx'), '-o', so, '--no-header'] + TARGET,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    t_compile = time.time() - t0
    if p.returncode != 0:
        print('FAIL %-22s kiln compile exited %d:\n%s' % (name, p.returncode, p.stderr.strip()))
        return False
    outdir = os.path.join(d, 'aot_out')
    cmd = [kiln, 'run', so, '--output-dir', outdir, '--print-limit', '0'] + input_args(ins)
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    t_run = time.time() - t0
    if p.returncode != 0:
        print('FAIL %-22s kiln run exited %d:\n%s' % (name, p.returncode, p.stderr.strip()))
        return False
    ok = True
    for n, fn in outs:
        good, what = check_output(outdir, n, fn, tol)
        ok = ok and good
        print('%s %-22s %-10s %s; compile %.2f s, run %.2f s' % ('ok  ' if good else 'FAIL', name, n, what,
                                                                 t_compile, t_run))
    return ok


if __name__ == '__main__':
    argv = [sys.argv[0]]
    for a in sys.argv[1:]:
        if a.startswith('--cpu=') or a.startswith('--features='):
            TARGET.append(a)
        else:
            argv.append(a)
    if TARGET:
        print('kiln compile %s' % ' '.join(TARGET))
    sys.exit(run_models(argv, __doc__, export_models.OPS, check))
