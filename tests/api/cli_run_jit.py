#!/usr/bin/python3
"""`kiln run` on a model (the JIT) and on a .so, from the command line.

usage: cli_run_jit.py KILN WORKDIR

Runs `KILN run examples/jit/mlp.onnx --input x=x.npy --output-dir` (JIT),
compares the probabilities with examples/jit/expected_output.txt (NumPy),
then compiles the same model with `KILN compile` and requires `KILN run`
on the .so to give the same bytes. Exits 77 without NumPy.
"""
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print('SKIP: numpy is not available')
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, '..', '..', 'examples', 'jit')


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        print('FAIL: %s exited %d:\n%s%s' % (' '.join(cmd), p.returncode, p.stdout, p.stderr))
        sys.exit(1)
    return p


def main(kiln, work):
    os.makedirs(work, exist_ok=True)
    model, x = os.path.join(EXAMPLE, 'mlp.onnx'), os.path.join(EXAMPLE, 'x.npy')
    jit_out, aot_out, so = os.path.join(work, 'jit'), os.path.join(work, 'aot'), os.path.join(work, 'mlp.so')
    p = run([kiln, 'run', model, '--input', 'x=' + x, '--output-dir', jit_out, '--time'])
    print(p.stdout + p.stderr, end='')
    with open(os.path.join(EXAMPLE, 'expected_output.txt')) as f:
        want = [float(v) for line in f if line.startswith('probs = ') for v in line.split()[2:]]
    got = np.load(os.path.join(jit_out, 'probs.npy'))
    if got.shape != (2, 10) or got.dtype != np.float32:
        print('FAIL: probs.npy is %s %s, expected float32 (2, 10)' % (got.dtype, got.shape))
        return 1
    if not np.allclose(got.ravel(), np.array(want), rtol=1e-5, atol=1e-6):
        print('FAIL: JIT output %s differs from NumPy %s' % (got.ravel(), want))
        return 1
    run([kiln, 'compile', model, '-o', so, '--no-header'])
    run([kiln, 'run', so, '--input', 'x=' + x, '--output-dir', aot_out])
    aot = np.load(os.path.join(aot_out, 'probs.npy'))
    if aot.tobytes() != got.tobytes():
        print('FAIL: the .so gives %s, the JIT %s' % (aot.ravel(), got.ravel()))
        return 1
    print('ok: kiln run (JIT) matches NumPy, and the .so gives the same bytes')
    return 0


if __name__ == '__main__':
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
