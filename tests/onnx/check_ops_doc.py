#!/usr/bin/python3
"""docs/onnx-ops.md is generated (`kiln onnx-ops --markdown`) from the
importer's own tables; this test regenerates it into the build folder and
fails, showing the difference and the command that refreshes the file,
when the checked-in copy is stale.

usage: check_ops_doc.py KILN DOCS/onnx-ops.md OUT.md
"""
import difflib
import subprocess
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    kiln, doc, out = sys.argv[1:]
    r = subprocess.run([kiln, "onnx-ops", "--markdown", "-o", out], capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL: kiln onnx-ops exited %d: %s" % (r.returncode, r.stderr.strip()))
        return 1
    new = open(out).read().splitlines(keepends=True)
    try:
        old = open(doc).read().splitlines(keepends=True)
    except OSError as e:
        old = []
        print("%s: %s" % (doc, e))
    if old == new:
        print("%s is up to date (%d lines)" % (doc, len(new)))
        return 0
    sys.stdout.writelines(list(difflib.unified_diff(old, new, doc, out))[:80])
    print("\nFAIL: %s is stale; refresh it with\n  %s onnx-ops --markdown -o %s" % (doc, kiln, doc))
    return 1


if __name__ == "__main__":
    sys.exit(main())
