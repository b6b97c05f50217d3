#!/usr/bin/python3
"""Reshape, Unsqueeze, Squeeze and Split whose shape-deciding inputs are
run-time values (issue 14): a Reshape's shape, an Unsqueeze's or Squeeze's
axes and a Split's sizes, each a real graph input (not frozen to values at
import), so that the result's dimensions are computed sizes. Every model
runs on several inputs by three engines, the interpreter (`kiln eval`), the
JIT (`kiln run MODEL.onnx`) and a .so compiled once (`kiln compile`, then
`kiln run MODEL.so` for every input), compared with NumPy: np.reshape with
ONNX's 0 (copy, unless allowzero) and -1 rules, np.expand_dims, np.squeeze
and np.split at the running offsets.

Covered: 0 and -1 entries, allowzero, empty data (reordered dimensions
with allowzero, a leading 0 copied without it), ranks up and down, a
scalar result; negative axes; Split with zero sizes and empty data. Then
the inputs ONNX calls invalid must be refused at run time by every engine
with exit 1 and no output written, the interpreter's message carrying the
node's check: a Reshape shape of another element count, two -1s, a
negative entry, a 0 copying a dimension the data lacks; an Unsqueeze or
Squeeze axis out of range or repeated, a squeezed dimension that is not 1;
Split sizes not adding up to the axis or negative.

Helpers (model building, the three engines, the comparison) come from
check_data_shapes.py.

usage: check_runtime_shapes.py KILN [OUTDIR]
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_data_shapes as cds  # noqa: E402  (exits 77 without numpy/onnx)

np = cds.np
helper = cds.helper
TP = cds.TensorProto
vi = cds.vi

RESHAPE_MSG = "(Reshape): the shape input gives another element count than the data's %d"
AXES_MSG = "(%s): the axes input names an axis out of range"
SPLIT_MSG = "(Split): the split sizes are negative or do not add up to %d"


def reshape_ref(x, shape, allowzero=0):
    """ONNX Reshape: 0 copies the input's dimension unless allowzero, -1 is
    inferred (NumPy's reshape does the rest, and the count check)."""
    shape = [x.shape[i] if v == 0 and not allowzero else int(v) for i, v in enumerate(shape)]
    return x.reshape(shape)


def unsqueeze_ref(x, axes):
    r = x.ndim + len(axes)
    return np.expand_dims(x, tuple(a + r if a < 0 else a for a in axes))


def split_ref(x, sizes, axis):
    return np.split(x, np.cumsum(sizes)[:-1].astype(np.int64), axis=axis)


def refuse(name, kiln, model, d, inputs, msg):
    """Every engine exits 1 without writing an output; the interpreter's
    message contains msg."""
    for engine in cds.ENGINES:
        r, outs = cds.run_eval(kiln, model, d, inputs, engine)
        err = r.stderr.strip()
        named = engine != "eval" or msg in err
        cds.check("%s refused at run time [%s]" % (name, engine), r.returncode == 1 and named and not outs,
                  "exit %d, outputs %s, stderr: %s" % (r.returncode, sorted(outs), err))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    kiln = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else tempfile.mkdtemp(prefix="kiln_runtime_shapes_")
    os.makedirs(out, exist_ok=True)
    d = os.path.join(out, "d")
    rng = np.random.default_rng(14)
    i64 = lambda v: np.array(v, np.int64)  # noqa: E731

    def model(name, nodes, inputs, outputs, opset=13):
        return cds.save_model(os.path.join(out, name + ".onnx"), nodes, inputs, outputs, opset)

    # ---- Reshape ----
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    for rank, shapes in ((3, ([4, 3, 2], [0, -1, 2], [24, 1, 1], [0, 0, -1], [1, -1, 1], [-1, 1, 6])),
                         (1, ([24], [-1])),
                         (2, ([-1, 6], [0, 12], [3, -1], [24, 1])),
                         (5, ([0, 0, 0, 1, 1], [1, 2, 1, -1, 3], [2, 1, 3, 1, 4]))):
        m = model("reshape%d" % rank, [helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")],
                  [vi("x", TP.FLOAT, [2, 3, 4]), vi("shape", TP.INT64, [rank])], [vi("y", TP.FLOAT, None)])
        for shape in shapes:
            cds.compare("Reshape [2,3,4] to %s" % shape, kiln, m, d, {"x": x, "shape": i64(shape)},
                        {"y": reshape_ref(x, shape)})
    # int32 data, an int32 shape is not allowed by ONNX (int64 only): the
    # data type only.
    xi = np.arange(12, dtype=np.int32).reshape(3, 4)
    m = model("reshape_i32", [helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")],
              [vi("x", TP.INT32, [3, 4]), vi("shape", TP.INT64, [3])], [vi("y", TP.INT32, None)])
    for shape in ([2, -1, 3], [0, 2, 2], [12, 1, 1]):
        cds.compare("Reshape int32 [3,4] to %s" % shape, kiln, m, d, {"x": xi, "shape": i64(shape)},
                    {"y": reshape_ref(xi, shape)})
    # allowzero=1 (opset 14): 0 is a size, on empty data (reordered
    # dimensions) and on data with elements (-1 inferred).
    m = model("reshape_allowzero", [helper.make_node("Reshape", ["x", "shape"], ["y"], name="rz", allowzero=1)],
              [vi("x", TP.FLOAT, [0, 3, 4]), vi("shape", TP.INT64, [3])], [vi("y", TP.FLOAT, None)], opset=14)
    e = np.zeros((0, 3, 4), np.float32)
    for shape in ([3, 4, 0], [4, 0, 3], [0, 1, 4], [0, 0, 0]):
        cds.compare("Reshape allowzero empty to %s" % shape, kiln, m, d, {"x": e, "shape": i64(shape)},
                    {"y": reshape_ref(e, shape, 1)})
    m2 = model("reshape_allowzero2", [helper.make_node("Reshape", ["x", "shape"], ["y"], name="rz", allowzero=1)],
               [vi("x", TP.FLOAT, [2, 3, 4]), vi("shape", TP.INT64, [2])], [vi("y", TP.FLOAT, None)], opset=14)
    for shape in ([-1, 4], [6, -1]):
        cds.compare("Reshape allowzero [2,3,4] to %s" % shape, kiln, m2, d, {"x": x, "shape": i64(shape)},
                    {"y": reshape_ref(x, shape, 1)})
    # Without allowzero on empty data: a 0 copies the data's 0.
    m3 = model("reshape_empty", [helper.make_node("Reshape", ["x", "shape"], ["y"], name="re")],
               [vi("x", TP.FLOAT, [0, 3, 4]), vi("shape", TP.INT64, [3])], [vi("y", TP.FLOAT, None)])
    for shape in ([0, 4, 3], [0, 1, 4], [0, 3, 4]):
        cds.compare("Reshape empty (no allowzero) to %s" % shape, kiln, m3, d, {"x": e, "shape": i64(shape)},
                    {"y": reshape_ref(e, shape)})
    # Refusals.
    m = os.path.join(out, "reshape3.onnx")
    for why, shape in (("another element count", [5, 5, 1]), ("two -1s", [-1, -1, 6]),
                       ("negative entries", [-2, -3, -4]), ("a -2", [-2, -3, 4]), ("too many elements", [24, 24, 1])):
        refuse("Reshape %s %s" % (why, shape), kiln, m, d, {"x": x, "shape": i64(shape)}, RESHAPE_MSG % 24)
    refuse("Reshape a 0 past the data's rank", kiln, os.path.join(out, "reshape5.onnx"), d,
           {"x": x, "shape": i64([2, 3, 4, 1, 0])}, RESHAPE_MSG % 24)
    refuse("Reshape allowzero: a -1 beside a 0", kiln, os.path.join(out, "reshape_allowzero.onnx"), d,
           {"x": e, "shape": i64([0, -1, 4])}, RESHAPE_MSG % 0)

    # ---- Unsqueeze ----
    x = rng.standard_normal((3, 4)).astype(np.float32)
    m = model("unsqueeze", [helper.make_node("Unsqueeze", ["x", "axes"], ["y"], name="u")],
              [vi("x", TP.FLOAT, [3, 4]), vi("axes", TP.INT64, [2])], [vi("y", TP.FLOAT, None)])
    for axes in ([0, 1], [-1, 0], [1, -2], [3, 0], [2, 1], [-4, -1]):
        cds.compare("Unsqueeze [3,4] axes %s" % axes, kiln, m, d, {"x": x, "axes": i64(axes)},
                    {"y": unsqueeze_ref(x, axes)})
    for why, axes in (("a repeated axis", [0, 0]), ("the same axis twice, one negative", [3, -1]),
                      ("an axis past the rank", [4, 0]), ("an axis before -rank", [-5, 0])):
        refuse("Unsqueeze %s %s" % (why, axes), kiln, m, d, {"x": x, "axes": i64(axes)}, AXES_MSG % "Unsqueeze")
    m = model("unsqueeze_scalar", [helper.make_node("Unsqueeze", ["x", "axes"], ["y"], name="u")],
              [vi("x", TP.INT64, []), vi("axes", TP.INT64, [1])], [vi("y", TP.INT64, None)])
    for axes in ([0], [-1]):
        cds.compare("Unsqueeze a scalar axes %s" % axes, kiln, m, d, {"x": i64(7), "axes": i64(axes)},
                    {"y": i64([7])})

    # ---- Squeeze ----
    x = rng.standard_normal((1, 3, 1, 2)).astype(np.float32)
    m = model("squeeze", [helper.make_node("Squeeze", ["x", "axes"], ["y"], name="s")],
              [vi("x", TP.FLOAT, [1, 3, 1, 2]), vi("axes", TP.INT64, [2])], [vi("y", TP.FLOAT, None)])
    for axes in ([0, 2], [-2, 0], [-4, -2], [2, 0]):
        cds.compare("Squeeze [1,3,1,2] axes %s" % axes, kiln, m, d, {"x": x, "axes": i64(axes)},
                    {"y": np.squeeze(x, tuple(axes))})
    m1 = model("squeeze1", [helper.make_node("Squeeze", ["x", "axes"], ["y"], name="s")],
               [vi("x", TP.FLOAT, [1, 3, 1, 2]), vi("axes", TP.INT64, [1])], [vi("y", TP.FLOAT, None)])
    for axes in ([0], [-2]):
        cds.compare("Squeeze [1,3,1,2] axes %s" % axes, kiln, m1, d, {"x": x, "axes": i64(axes)},
                    {"y": np.squeeze(x, tuple(axes))})
    for why, axes in (("a dimension of size 3", [1, 0]), ("a repeated axis", [0, 0]),
                      ("the same axis twice, one negative", [2, -2]), ("an axis past the rank", [0, 4]),
                      ("an axis before -rank", [-5, 0])):
        refuse("Squeeze %s %s" % (why, axes), kiln, m, d, {"x": x, "axes": i64(axes)}, AXES_MSG % "Squeeze")
    refuse("Squeeze a dimension of size 2", kiln, m1, d, {"x": x, "axes": i64([-1])}, AXES_MSG % "Squeeze")
    m = model("squeeze_scalar", [helper.make_node("Squeeze", ["x", "axes"], ["y"], name="s")],
              [vi("x", TP.INT32, [1, 1]), vi("axes", TP.INT64, [2])], [vi("y", TP.INT32, None)])
    xs = np.array([[5]], np.int32)
    for axes in ([0, 1], [-1, -2]):
        cds.compare("Squeeze [1,1] to a scalar, axes %s" % axes, kiln, m, d, {"x": xs, "axes": i64(axes)},
                    {"y": np.array(5, np.int32)})
    refuse("Squeeze [1,1] a repeated axis", kiln, m, d, {"x": xs, "axes": i64([1, -1])}, AXES_MSG % "Squeeze")

    # ---- Split ----
    x = rng.standard_normal((5, 4)).astype(np.float32)
    m = model("split", [helper.make_node("Split", ["x", "split"], ["a", "b", "c"], name="sp", axis=0)],
              [vi("x", TP.FLOAT, [5, 4]), vi("split", TP.INT64, [3])], [vi(k, TP.FLOAT, None) for k in "abc"])
    for sizes in ([2, 3, 0], [0, 0, 5], [1, 1, 3], [5, 0, 0], [0, 5, 0]):
        cds.compare("Split [5,4] axis 0 sizes %s" % sizes, kiln, m, d, {"x": x, "split": i64(sizes)},
                    dict(zip("abc", split_ref(x, sizes, 0))))
    for why, sizes in (("adding up to 6", [2, 2, 2]), ("adding up to 4", [1, 1, 2]), ("a negative size", [-1, 3, 3]),
                       ("a negative size, beyond the axis", [6, -1, 0]), ("huge sizes", [2**62, 2**62, 2**63 - 1])):
        refuse("Split %s %s" % (why, sizes), kiln, m, d, {"x": x, "split": i64(sizes)}, SPLIT_MSG % 5)
    m = model("split_last", [helper.make_node("Split", ["x", "split"], ["a", "b"], name="sp", axis=-1)],
              [vi("x", TP.INT64, [2, 6]), vi("split", TP.INT64, [2])], [vi(k, TP.INT64, None) for k in "ab"], opset=18)
    xl = np.arange(12, dtype=np.int64).reshape(2, 6)
    for sizes in ([2, 4], [6, 0], [0, 6]):
        cds.compare("Split [2,6] axis -1 sizes %s (opset 18)" % sizes, kiln, m, d, {"x": xl, "split": i64(sizes)},
                    dict(zip("ab", split_ref(xl, sizes, 1))))
    m = model("split_empty", [helper.make_node("Split", ["x", "split"], ["a", "b"], name="sp", axis=1)],
              [vi("x", TP.FLOAT, [0, 4]), vi("split", TP.INT64, [2])], [vi(k, TP.FLOAT, None) for k in "ab"])
    xe = np.zeros((0, 4), np.float32)
    for sizes in ([1, 3], [4, 0]):
        cds.compare("Split empty [0,4] axis 1 sizes %s" % sizes, kiln, m, d, {"x": xe, "split": i64(sizes)},
                    dict(zip("ab", split_ref(xe, sizes, 1))))
    refuse("Split empty data, sizes adding up to 3", kiln, m, d, {"x": xe, "split": i64([1, 2])}, SPLIT_MSG % 4)

    # Refused at import, with the reason: a run-time reshape whose planned
    # buffers (bound^rank) would be too large, a rank-8 result (the index
    # needs one dimension more), and reductions of a scalar over run-time axes.
    import_refusals = [
        ("Reshape f32[4096] to a run-time rank-3 shape", "big",
         [helper.make_node("Reshape", ["x", "shape"], ["y"])], [vi("x", TP.FLOAT, [4096]), vi("shape", TP.INT64, [3])],
         "too large", 13),
        ("Unsqueeze f32[2,3,4] with 5 run-time axes (rank 8)", "us8",
         [helper.make_node("Unsqueeze", ["x", "axes"], ["y"])], [vi("x", TP.FLOAT, [2, 3, 4]), vi("axes", TP.INT64, [5])],
         "result of rank 8", 13),
        ("ReduceSum of a scalar over run-time axes", "rs0",
         [helper.make_node("ReduceSum", ["x", "axes"], ["y"])], [vi("x", TP.FLOAT, []), vi("axes", TP.INT64, [1])],
         "the data is a scalar", 13),
    ]
    for name, stem, nodes, ins, want, opset in import_refusals:
        m = model(stem, nodes, ins, [vi("y", TP.FLOAT, None)], opset)
        r = cds.subprocess.run([kiln, "import", m], capture_output=True, text=True)
        cds.check("%s: refused at import" % name, r.returncode != 0 and want in r.stderr and "Sanitizer" not in r.stderr,
                  "exit %d: %s" % (r.returncode, r.stderr.strip()))

    print("%d failure(s)" % cds.failures)
    return 1 if cds.failures else 0


if __name__ == "__main__":
    sys.exit(main())
