#!/usr/bin/python3
"""Runs `kiln import` on every model of the malformed-model corpus (made
by make_bad_models.py into OUTDIR first) and checks that each one
  - exits with status 1 (a clean failure: not 0, not a crash or signal),
  - prints an error containing every expected substring,
  - leaves no sanitizer report (AddressSanitizer, LeakSanitizer, UBSan).
Then checks that each valid but unusual model of the corpus (GOOD) imports
with status 0 and, where GOOD gives data, that `kiln eval` computes the
expected outputs.

usage: check_bad_models.py KILN OUTDIR
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import make_bad_models  # noqa: E402
except ImportError as e:  # no onnx package: Meson's skip code
    print("skipping: %s (the corpus is made with the onnx Python package)" % e)
    sys.exit(77)

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kiln, out = sys.argv[1], sys.argv[2]
    make_bad_models.build(out)
    env = dict(os.environ)
    # Make UBSan findings visible and fatal-looking even when not configured.
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    failures = 0
    for name in sorted(make_bad_models.EXPECTED):
        path = os.path.join(out, name + ".onnx")
        p = subprocess.run([kiln, "import", path], capture_output=True, text=True, errors="replace", env=env,
                           timeout=120)
        text = p.stdout + p.stderr
        problems = []
        if p.returncode != 1:
            problems.append("exit status %d (want 1)" % p.returncode)
        for s in make_bad_models.EXPECTED[name]:
            if s not in text:
                problems.append("message lacks %r" % s)
        if any(m in text for m in SANITIZER_MARKS):
            problems.append("sanitizer report")
        if problems:
            failures += 1
            print("FAIL %s: %s" % (name, "; ".join(problems)))
            print("  output: " + text.strip().replace("\n", "\n          ")[:3000])
        else:
            first = text.strip().splitlines()[0] if text.strip() else ""
            print("ok   %-24s %s" % (name, first[:150]))
    print("%d of %d malformed models rejected as expected" % (len(make_bad_models.EXPECTED) - failures,
                                                               len(make_bad_models.EXPECTED)))
    bad_good = check_good(kiln, out, env)
    print("%d of %d valid but unusual models imported as expected" % (len(make_bad_models.GOOD) - bad_good,
                                                                       len(make_bad_models.GOOD)))
    return 1 if failures or bad_good else 0


def check_good(kiln, out, env):
    """Each valid but unusual model must import (exit 0, no sanitizer
    report) and, where GOOD gives data, evaluate to the expected outputs."""
    import numpy as np
    failures = 0
    for name in sorted(make_bad_models.GOOD):
        path = os.path.join(out, name + ".onnx")
        cmd = [kiln, "import", path]
        data = make_bad_models.GOOD[name]
        outdir = os.path.join(out, name + ".out")
        if data is not None:
            os.makedirs(outdir, exist_ok=True)
            cmd = [kiln, "eval", path, "--output-dir", outdir]
            for k, v in data[0].items():
                f = os.path.join(outdir, "in_" + k + ".npy")
                np.save(f, np.array(v, dtype=np.float32))
                cmd += ["--input", "%s=%s" % (k, f)]
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=env, timeout=120)
        text = p.stdout + p.stderr
        problems = []
        if p.returncode != 0:
            problems.append("exit status %d (want 0)" % p.returncode)
        if any(m in text for m in SANITIZER_MARKS):
            problems.append("sanitizer report")
        if not problems and data is not None:
            for k, want in data[1].items():
                got = np.load(os.path.join(outdir, k + ".npy"))
                want = np.array(want, dtype=np.float32)
                if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-6):
                    problems.append("output %s is %s, want %s" % (k, got.tolist(), want.tolist()))
        if problems:
            failures += 1
            print("FAIL %s: %s" % (name, "; ".join(problems)))
            print("  output: " + text.strip().replace("\n", "\n          ")[:3000])
        else:
            print("ok   %-24s %s" % (name, "imports" + (" and computes the expected outputs" if data else "")))
    return failures


if __name__ == "__main__":
    sys.exit(main())
