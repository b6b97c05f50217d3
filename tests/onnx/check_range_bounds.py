#!/usr/bin/python3
"""Range and ConstantOfShape of run-time inputs (issue 15 item 4): their
result sizes are computed symbols bounded by `--max-shape OUTPUT=DIMS`.

Range (float, int32, int64; positive and negative delta, an empty result, a
length equal to the bound) and ConstantOfShape (a zero entry, every entry
at its bound) are run by the interpreter (`kiln eval`), the JIT (`kiln run
MODEL.onnx`) and a .so compiled once per model (`kiln compile`, then `kiln
run MODEL.so`), each given the --max-shape bound, and compared with
np.arange and np.full. A length or entry above its bound, or a negative
entry, must be refused at run time by each engine with exit 1 and no
output. Then the import refusals: no bound (the message names the node,
its output and the flag to pass), a bound of the wrong rank, a --max-shape
entry that names nothing, and one naming an output that needs no bound.

usage: check_range_bounds.py KILN [OUTDIR]
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import numpy as np
    from onnx import TensorProto, helper
    import check_data_shapes as cds
except ImportError as e:
    print("skipping: %s" % e)
    sys.exit(77)

F, I32, I64 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64
NP = {F: np.float32, I32: np.int32, I64: np.int64}
vi, check, save_model, ENGINES = cds.vi, cds.check, cds.save_model, cds.ENGINES


def run(kiln, model, outdir, flags, inputs, engine):
    """Runs the model with `engine` and the import flags (check_data_shapes)."""
    return cds.run_eval(kiln, model, outdir, inputs, engine, flags)


def compare(name, kiln, model, outdir, flags, inputs, expected):
    """Every engine's outputs against `expected`: same dtype and shape,
    values equal (floats within 1e-6: kiln computes start + i * delta,
    NumPy's arange start + i * ((start + delta) - start))."""
    for engine in ENGINES:
        label = "%s [%s]" % (name, engine)
        r, outs = run(kiln, model, outdir, flags, inputs, engine)
        if r.returncode != 0:
            check(label, False, "exited %d: %s" % (r.returncode, r.stderr.strip()))
            continue
        for k, want in expected.items():
            got, want = outs.get(k), np.asarray(want)
            if got is None:
                check("%s: %s" % (label, k), False, "no output written")
                continue
            same = got.dtype == want.dtype and got.shape == want.shape
            same = same and (np.allclose(got, want, rtol=1e-6, atol=1e-6) if want.dtype.kind == "f"
                             else np.array_equal(got, want))
            check("%s: %s %s" % (label, k, want.shape), same, "got %s %s %s, want %s %s %s"
                  % (got.dtype, got.shape, got.tolist(), want.dtype, want.shape, want.tolist()))


def refused_at_run_time(name, kiln, model, outdir, flags, inputs, bound):
    """Each engine exits 1 naming the bound ("[0, B]"), writing nothing."""
    for engine in ENGINES:
        r, outs = run(kiln, model, outdir, flags, inputs, engine)
        msg = r.stderr.strip()
        check("%s refused at run time [%s]" % (name, engine),
              r.returncode == 1 and "[0, %d]" % bound in msg and not outs, "exit %d, stderr: %s" % (r.returncode, msg))


def refused_at_import(name, kiln, model, flags, wants):
    r = subprocess.run([kiln, "import", model] + flags, capture_output=True, text=True)
    msg = r.stderr.strip()
    missing = [w for w in wants if w not in msg]
    check("%s refused at import" % name, r.returncode == 1 and not missing,
          "exit %d, missing %s in: %s" % (r.returncode, missing, msg))


def range_model(path, t):
    return save_model(path, [helper.make_node("Range", ["s", "l", "d"], ["r"], name="rng")],
                      [vi("s", t, []), vi("l", t, []), vi("d", t, [])], [vi("r", t, None)], opset=11)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    kiln = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else tempfile.mkdtemp(prefix="kiln_range_bounds_")
    os.makedirs(out, exist_ok=True)
    d = os.path.join(out, "d")

    # Range, bound 8: positive and negative delta, empty (limit == start,
    # and limit on the wrong side), exactly the bound.
    cases = {
        F: [(1, 4, 0.5), (4, 1, -0.75), (1, 1, 0.5), (2, 1, 0.5), (0, 4, 0.5), (-1.5, 2.25, 1.25)],
        I32: [(10, -3, -4), (0, 8, 1), (3, 3, 1), (5, 0, 2), (1, 10, 3), (-7, 7, 2)],
        I64: [(-2, 5, 1), (0, 8, 1), (9, -6, -2), (4, 5, -1)],
    }
    flags = ["--max-shape", "r=8"]
    for t, rows in cases.items():
        m = range_model(os.path.join(out, "range_%s.onnx" % np.dtype(NP[t]).name), t)
        for s, l, dl in rows:
            ins = {"s": NP[t](s), "l": NP[t](l), "d": NP[t](dl)}
            ins = {k: np.array(v, NP[t]) for k, v in ins.items()}
            compare("Range %s (%s, %s, %s)" % (np.dtype(NP[t]).name, s, l, dl), kiln, m, d, flags, ins,
                    {"r": np.arange(ins["s"], ins["l"], ins["d"]).astype(NP[t])})
        # One element past the bound: refused by set_symbol in each engine.
        big = {F: (0, 4.5, 0.5), I32: (0, 9, 1), I64: (20, 3, -2)}[t]
        refused_at_run_time("Range %s %s" % (np.dtype(NP[t]).name, big), kiln, m, d, flags,
                            {k: np.array(v, NP[t]) for k, v in zip("sld", big)}, 8)
    # delta 0 at run time (ONNX leaves it undefined): kiln gives an empty
    # range (docs/onnx-import.md).
    m = os.path.join(out, "range_int64.onnx")
    compare("Range int64 delta=0", kiln, m, d, flags,
            {"s": np.array(0, np.int64), "l": np.array(3, np.int64), "d": np.array(0, np.int64)},
            {"r": np.zeros(0, np.int64)})
    # Extreme int64 values: limit - start does not fit int64; the length
    # is still exact (empty away from the limit, refused when too long,
    # never wrapped), and a last element near INT64_MAX.
    lo, hi = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    compare("Range int64 (INT64_MAX, INT64_MIN, 1) is empty", kiln, m, d, flags,
            {"s": np.array(hi, np.int64), "l": np.array(lo, np.int64), "d": np.array(1, np.int64)},
            {"r": np.zeros(0, np.int64)})
    refused_at_run_time("Range int64 (INT64_MIN, INT64_MAX, 1)", kiln, m, d, flags,
                        {"s": np.array(lo, np.int64), "l": np.array(hi, np.int64), "d": np.array(1, np.int64)}, 8)
    refused_at_run_time("Range int64 (0, INT64_MIN, -1)", kiln, m, d, flags,
                        {"s": np.array(0, np.int64), "l": np.array(lo, np.int64), "d": np.array(-1, np.int64)}, 8)
    compare("Range int64 (INT64_MIN, INT64_MAX, INT64_MAX) has 3 elements", kiln, m, d, flags,
            {"s": np.array(lo, np.int64), "l": np.array(hi, np.int64), "d": np.array(hi, np.int64)},
            {"r": np.array([lo, -1, hi - 1], np.int64)})

    # ConstantOfShape of a run-time shape, bound 4x5x3.
    m = save_model(os.path.join(out, "cos.onnx"),
                   [helper.make_node("ConstantOfShape", ["sh"], ["filled"], name="fill",
                                     value=helper.make_tensor("v", I32, [1], [7]))],
                   [vi("sh", I64, [3])], [vi("filled", I32, None)])
    flags = ["--max-shape", "filled=4x5x3"]
    for shape in ([2, 3, 1], [0, 5, 2], [4, 5, 3], [1, 1, 0]):
        compare("ConstantOfShape %s" % shape, kiln, m, d, flags, {"sh": np.array(shape, np.int64)},
                {"filled": np.full(shape, 7, np.int32)})
    refused_at_run_time("ConstantOfShape [1, 6, 1]", kiln, m, d, flags, {"sh": np.array([1, 6, 1], np.int64)}, 5)
    refused_at_run_time("ConstantOfShape [-1, 2, 2]", kiln, m, d, flags, {"sh": np.array([-1, 2, 2], np.int64)}, 4)

    # arange(seq): Range over a symbolic dimension, bounded as well.
    zero, one = helper.make_tensor("zero", I64, [], [0]), helper.make_tensor("one", I64, [], [1])
    g = helper.make_graph([helper.make_node("Shape", ["x"], ["shp"]),
                           helper.make_node("Gather", ["shp", "zero"], ["n"], axis=0),
                           helper.make_node("Range", ["zero", "n", "one"], ["r"], name="seq_range"),
                           helper.make_node("Relu", ["x"], ["y"], name="relu")],
                          "g", [vi("x", F, ["seq"])], [vi("r", I64, None), vi("y", F, None)], [zero, one])
    mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    mp.ir_version = 7
    seq = os.path.join(out, "seq.onnx")
    with open(seq, "wb") as f:
        f.write(mp.SerializeToString())
    x = np.linspace(-1, 1, 5).astype(np.float32)
    compare("Range over a symbolic dimension", kiln, seq, d, ["--max-shape", "x=8", "--max-shape", "r=8"], {"x": x},
            {"r": np.arange(5, dtype=np.int64), "y": np.maximum(x, 0)})

    # Import refusals.
    rf = os.path.join(out, "range_float32.onnx")
    refused_at_import("Range without a bound", kiln, rf, [],
                      ["node 'rng' (Range", "output 'r'", "--max-shape r=N", "graph input 's', 'l', 'd'"])
    refused_at_import("ConstantOfShape without a bound", kiln, m, [],
                      ["node 'fill' (ConstantOfShape", "output 'filled'", "--max-shape filled=NxNxN"])
    refused_at_import("Range bound of rank 2", kiln, rf, ["--max-shape", "r=4x4"],
                      ["gives 2 dimensions", "output 'r' has rank 1"])
    refused_at_import("--max-shape naming nothing", kiln, rf, ["--max-shape", "r=8", "--max-shape", "nope=3"],
                      ["--max-shape names 'nope', which is not an input of the model"])
    refused_at_import("--max-shape naming an output that needs no bound", kiln, seq,
                      ["--max-shape", "x=8", "--max-shape", "r=8", "--max-shape", "y=8"],
                      ["--max-shape names 'y', the output of node 'relu' (Relu)", "needs no bound"])
    refused_at_import("Range over a symbolic dimension without a bound", kiln, seq, ["--max-shape", "x=8"],
                      ["node 'seq_range' (Range", "--max-shape r=N"])
    m = os.path.join(out, "range_delta0.onnx")
    g = helper.make_graph([helper.make_node("Range", ["s", "l", "dz"], ["r"])], "g",
                          [vi("s", I64, []), vi("l", I64, [])], [vi("r", I64, None)],
                          [helper.make_tensor("dz", I64, [], [0])])
    mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 11)])
    mp.ir_version = 7
    with open(m, "wb") as f:
        f.write(mp.SerializeToString())
    refused_at_import("Range with a constant delta of 0", kiln, m, ["--max-shape", "r=8"], ["delta must not be 0"])

    print("%d failure(s)" % cds.failures)
    return 1 if cds.failures else 0


if __name__ == "__main__":
    sys.exit(main())
