"""`kiln test-onnx` with and without --freeze-shape-inputs, on three of
ONNX 1.12's backend cases: node/test_abs (plain inputs), and
node/test_expand_dim_changed and node/test_melweightmatrix, whose shape-
deciding values ('new_shape'; every MelWeightMatrix input) are graph inputs
(values that only bound a result, as a Reshape's shape, are read at run
time instead).

By default every input is a real input: the two are skipped, naming the
inputs they need frozen, --list-passing lists only test_abs, an expected-
pass list naming them fails, and the summary says how many would pass
frozen. With --freeze-shape-inputs all three pass and the summary gives the
count without freezing.

usage: check_freeze_modes.py KILN   (exit 77, skipped, without the data)
"""
import os
import subprocess
import sys
import tempfile

DATA = "/usr/share/libonnx-testdata/data/node"
CASES = ["test_abs", "test_expand_dim_changed", "test_melweightmatrix"]
failures = []


def run(args):
    p = subprocess.run([sys.argv[1], "test-onnx"] + args + [os.path.join(DATA, c) for c in CASES],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout, p.stderr


def check(what, cond, detail):
    print("%s: %s" % ("ok" if cond else "FAILED", what))
    if not cond:
        print(detail)
        failures.append(what)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    if not all(os.path.isdir(os.path.join(DATA, c)) for c in CASES):
        print("ONNX backend test data not found in %s (apt-get install libonnx-testdata): skipping" % DATA)
        return 77

    rc, out, err = run(["--engine=interp", "-v"])
    detail = out + err
    check("default: exit 0 (a skip is no failure)", rc == 0, detail)
    check("default: summary counts the frozen passes apart",
          "1 passed, 0 failed, 2 skipped (3 would pass with --freeze-shape-inputs)" in out, detail)
    check("default: Expand is skipped naming its 'new_shape' input",
          "SKIP node/test_expand_dim_changed: needs frozen shape inputs: 'new_shape' (passes with "
          "--freeze-shape-inputs)" in out, detail)
    check("default: MelWeightMatrix is skipped naming all five inputs",
          "SKIP node/test_melweightmatrix: needs frozen shape inputs: 'num_mel_bins', 'dft_length', "
          "'sample_rate', 'lower_edge_hertz', 'upper_edge_hertz'" in out, detail)

    rc, out, err = run(["--engine=interp", "--list-passing"])
    check("default: --list-passing lists only the real-input pass",
          rc == 0 and out.split() == ["node/test_abs"], out + err)

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join("node/%s\n" % c for c in CASES))
        expect = f.name
    try:
        rc, out, err = run(["--engine=interp", "--expect-pass", expect])
        check("default: an expected-pass list naming the frozen cases fails", rc == 1 and
              "expected to pass, but skipped: node/test_expand_dim_changed" in out, out + err)
        rc, out, err = run(["--engine=interp", "--freeze-shape-inputs", "--expect-pass", expect])
        check("--freeze-shape-inputs: the same list passes", rc == 0, out + err)
        # --expect-unfrozen: a listed case that needed its inputs frozen
        # fails the run even in freeze mode; test_abs alone passes.
        rc, out, err = run(["--engine=interp", "--freeze-shape-inputs", "--expect-pass", expect,
                            "--expect-unfrozen", expect])
        check("--expect-unfrozen: a listed case that needs frozen inputs fails the run", rc == 1 and
              "expected to pass without frozen inputs, but needed frozen shape inputs: "
              "node/test_expand_dim_changed" in out and "inputs, but did not pass: node/test_abs" not in out and
              "frozen shape inputs: node/test_abs" not in out, out + err)
        with open(expect, "w") as f:
            f.write("node/test_abs\n")
        rc, out, err = run(["--engine=interp", "--freeze-shape-inputs", "--expect-unfrozen", expect])
        check("--expect-unfrozen: a list of real-input passes passes", rc == 0, out + err)
    finally:
        os.unlink(expect)

    rc, out, err = run(["--freeze-shape-inputs", "-v"])
    detail = out + err
    check("--freeze-shape-inputs (compiled): all pass, the summary gives the count without freezing",
          rc == 0 and "3 passed, 0 failed, 0 skipped (1 pass without --freeze-shape-inputs; 2 need frozen "
          "shape inputs)" in out, detail)
    check("--freeze-shape-inputs: -v marks the frozen passes",
          "PASS node/test_expand_dim_changed" in out and "shape inputs frozen)" in out, detail)
    rc, out, err = run(["--freeze-shape-inputs", "--list-passing"])
    check("--freeze-shape-inputs: --list-passing lists all three",
          rc == 0 and out.split() == ["node/" + c for c in CASES], out + err)

    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
