"""Builds the newer-opset test cases (cases_*.py beside this file) and runs
them through `kiln test-onnx`; every case must pass.

usage: run_newer.py KILN OUTDIR ENGINE [--list]

ENGINE is test-onnx's engine (interp or compiled). --list prints the case
names and exits.
"""
import glob
import importlib
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import newer  # noqa: E402


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    kiln, outdir, engine = sys.argv[1:4]
    for path in sorted(glob.glob(os.path.join(here, "cases_*.py"))):
        importlib.import_module(os.path.basename(path)[:-3])
    names = newer.write_all(outdir)
    if "--list" in sys.argv[4:]:
        print("\n".join(names))
        return 0
    if not names:
        print("no newer-opset cases registered")
        return 1
    expect = os.path.join(outdir, "expected_pass.txt")
    with open(expect, "w") as f:
        # test-onnx names a case FOLDER/CASE
        base = os.path.basename(os.path.normpath(outdir))
        f.write("".join("%s/%s\n" % (base, n) for n in names))
    cmd = [kiln, "test-onnx", "--engine=" + engine, "--expect-pass", expect, outdir]
    print(" ".join(cmd), flush=True)
    rc = subprocess.call(cmd)
    print("%d newer-opset cases (%s), rc=%d" % (len(names), engine, rc))
    return rc


if __name__ == "__main__":
    sys.exit(main())
