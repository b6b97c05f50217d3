#!/usr/bin/python3
"""JIT against AOT, bit for bit, on the PyTorch-exported models.

usage: jit_vs_aot_models.py JIT_VS_AOT WORKDIR MODEL...

Exports each model with tests/models/export_models.py (random weights from
a fixed seed, into WORKDIR), then runs the C checker JIT_VS_AOT
(tests/api/jit_vs_aot.c), which compiles each model by JIT and to a .so
and requires every output byte to be equal. Exits 77 (skipped) when torch
is missing, else the checker's status.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'models'))
import export_models  # noqa: E402  (exits 77 when torch is missing)


def main(argv):
    if len(argv) < 4:
        print(__doc__)
        return 2
    checker, workdir, names = argv[1], argv[2], argv[3:]
    for n in names:
        export_models.export(n, workdir)
    return subprocess.call([checker, '--models', workdir] + names)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
