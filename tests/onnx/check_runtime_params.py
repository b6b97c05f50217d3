#!/usr/bin/python3
"""Slice and CumSum/CumProd whose parameters are run-time inputs (issue 14):
a Slice's starts, ends, axes and steps, a CumSum's axis, each a real graph
input (not frozen to values at import). Every model runs on several inputs
by three engines, the interpreter (`kiln eval`), the JIT (`kiln run
MODEL.onnx`) and a .so compiled once (`kiln compile`, then `kiln run
MODEL.so` for every input), compared with NumPy: basic slicing with the
the clamping rules of the spec's text (slice_ref), np.cumsum/np.cumprod
along the axis.

Slices: negative and out-of-range starts and ends, negative steps, empty
results, axes given (run-time, constant, negative) and omitted, steps
omitted, int32 parameters, data with an empty dimension. Two results are
kiln's choices for inputs ONNX calls invalid: a step of 0 gives an empty
dimension, a CumSum axis outside [-rank, rank) gives zeros. Reductions
with a run-time 'axes' input (keepdims; repeated or out-of-range axes
refused at run time; empty axes); LSTM's sequence_lens read from an input
(full lengths; a shorter one refused at run time). Trilu with k
a run-time input (upper and lower; k inside, beyond the matrix, negative,
INT64_MIN) against np.triu/np.tril.

Helpers (model building, the three engines, the comparison) come from
check_data_shapes.py.

usage: check_runtime_params.py KILN [OUTDIR]
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


def slice_ref(x, starts, ends, axes=None, steps=None):
    """ONNX Slice from the spec's text: negative starts/ends count from the
    end; a positive step clamps both into [0, dim], a negative one the start
    into [0, dim - 1] and the end into [-1, dim - 1] (unlike NumPy, a start
    before -dim then still reads element 0). Later entries for the same
    axis win (NumPy's overwrite; ONNX calls repeated axes invalid)."""
    if axes is None:
        axes = range(len(starts))
    if steps is None:
        steps = [1] * len(starts)
    idx = [np.arange(n) for n in x.shape]
    for s, e, a, k in zip(starts, ends, axes, steps):
        s, e, a, k, d = int(s), int(e), int(a) % x.ndim, int(k), x.shape[int(a) % x.ndim]
        s, e = s + d if s < 0 else s, e + d if e < 0 else e
        if k > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
        else:
            s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
        idx[a] = np.arange(s, e, k, dtype=np.int64) if k else np.zeros(0, np.int64)
    return x[np.ix_(*idx)]


def cum_ref(x, axis, exclusive, reverse, prod=False):
    y = np.flip(x, axis) if reverse else x
    c = (np.cumprod if prod else np.cumsum)(y, axis=axis, dtype=x.dtype)
    if exclusive:
        first = np.full_like(np.take(c, [0], axis=axis), 1 if prod else 0)
        c = np.concatenate([first, np.take(c, range(c.shape[axis] - 1), axis=axis)], axis=axis)
    return np.flip(c, axis) if reverse else c


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    kiln = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else tempfile.mkdtemp(prefix="kiln_runtime_params_")
    os.makedirs(out, exist_ok=True)
    d = os.path.join(out, "d")
    rng = np.random.default_rng(14)
    i64 = lambda v: np.array(v, np.int64)  # noqa: E731

    # Slice with every parameter an input (any dimension may be cut).
    m = cds.save_model(os.path.join(out, "slice_all.onnx"),
                       [helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])],
                       [vi("x", TP.FLOAT, [3, 4, 5])] + [vi(k, TP.INT64, [2]) for k in ("starts", "ends", "axes", "steps")],
                       [vi("y", TP.FLOAT, None)])
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    cases = [
        ("basic", [1, -3], [3, 100], [0, 2], [1, 2]),
        ("negative steps", [-1, 10], [-100, 0], [1, 2], [-1, -2]),
        ("negative axes", [0, -2], [5, 3], [-1, -3], [3, 1]),
        ("out-of-range starts", [-1000, 1000], [1000, -1000], [0, 1], [1, -1]),
        ("negative step from before -dim", [-1000, -1000], [-1000, -2], [0, 2], [-1, -1]),
        ("huge bounds", [-2**63, 2**63 - 1], [2**63 - 1, -2**63], [2, 1], [1, -1]),
        ("huge steps", [0, 4], [3, 0], [0, 2], [2**63 - 1, -2**63]),
        ("empty along one axis", [2, 0], [1, 4], [0, 1], [1, 1]),
        ("empty, start past the end", [5, 0], [7, 2], [2, 0], [1, 1]),
        ("empty, negative step upwards", [0, 0], [3, 5], [1, 2], [-1, -1]),
        ("whole", [0, 0], [3, 5], [0, 2], [1, 1]),
        ("one element", [2, 3], [3, 4], [0, 1], [1, 1]),
        ("same axis twice, the last wins", [0, 1], [3, 3], [1, 1], [1, 1]),
    ]
    for name, s, e, a, k in cases:
        cds.compare("Slice all inputs, %s" % name, kiln, m, d,
                    {"x": x, "starts": i64(s), "ends": i64(e), "axes": i64(a), "steps": i64(k)},
                    {"y": slice_ref(x, s, e, a, k)})
    # A step of 0 (invalid in ONNX): kiln makes that dimension empty.
    want = slice_ref(x, [0, 0], [3, 3], [0, 2], [0, 1])
    cds.check("reference of step 0: empty", want.shape == (0, 4, 3), str(want.shape))
    cds.compare("Slice step 0 gives an empty dimension", kiln, m, d,
                {"x": x, "starts": i64([0, 0]), "ends": i64([3, 3]), "axes": i64([0, 2]), "steps": i64([0, 1])},
                {"y": want})

    # Axes and steps omitted: the first len(starts) dimensions, step 1.
    m = cds.save_model(os.path.join(out, "slice_default.onnx"),
                       [helper.make_node("Slice", ["x", "starts", "ends"], ["y"])],
                       [vi("x", TP.INT64, [4, 6, 2]), vi("starts", TP.INT64, [2]), vi("ends", TP.INT64, [2])],
                       [vi("y", TP.INT64, None)])
    x = np.arange(48, dtype=np.int64).reshape(4, 6, 2)
    for s, e in (([1, 2], [3, -1]), ([-2, -100], [100, 3]), ([3, 0], [1, 6]), ([0, 0], [4, 6])):
        cds.compare("Slice axes and steps omitted %s:%s" % (s, e), kiln, m, d,
                    {"x": x, "starts": i64(s), "ends": i64(e)}, {"y": slice_ref(x, s, e)})

    # Constant axes (only those dimensions are cut), run-time int32
    # starts/ends/steps (Tind = int32).
    axes = helper.make_node("Constant", [], ["axes"],
                            value=helper.make_tensor("a", TP.INT32, [2], [-1, 0]))
    m = cds.save_model(os.path.join(out, "slice_const_axes.onnx"),
                       [axes, helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])],
                       [vi("x", TP.FLOAT, [5, 3, 6])] + [vi(k, TP.INT32, [2]) for k in ("starts", "ends", "steps")],
                       [vi("y", TP.FLOAT, None)])
    x = rng.standard_normal((5, 3, 6)).astype(np.float32)
    i32 = lambda v: np.array(v, np.int32)  # noqa: E731
    for s, e, k in (([5, 0], [0, 5], [-2, 2]), ([1, -4], [-1, 100], [1, 3]), ([0, 3], [6, 3], [1, 1])):
        cds.compare("Slice constant axes, int32 %s:%s:%s" % (s, e, k), kiln, m, d,
                    {"x": x, "starts": i32(s), "ends": i32(e), "steps": i32(k)},
                    {"y": slice_ref(x, s, e, [-1, 0], k)})

    # Data with an empty dimension: every result is empty, the other sizes
    # still follow the parameters.
    m = cds.save_model(os.path.join(out, "slice_empty_data.onnx"),
                       [helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["y"])],
                       [vi("x", TP.FLOAT, [3, 0, 4])] + [vi(k, TP.INT64, [2]) for k in ("starts", "ends", "axes")],
                       [vi("y", TP.FLOAT, None)])
    x = np.zeros((3, 0, 4), np.float32)
    for s, e, a in (([1, 0], [3, 2], [0, 1]), ([0, 1], [4, 3], [1, 2])):
        cds.compare("Slice of empty data %s:%s axes %s" % (s, e, a), kiln, m, d,
                    {"x": x, "starts": i64(s), "ends": i64(e), "axes": i64(a)}, {"y": slice_ref(x, s, e, a)})

    # CumSum with a run-time axis, every attribute combination.
    x = rng.integers(-4, 5, (2, 3, 4)).astype(np.float32)  # small integers: exact sums
    for excl in (0, 1):
        for rev in (0, 1):
            m = cds.save_model(os.path.join(out, "cumsum_%d%d.onnx" % (excl, rev)),
                               [helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=excl, reverse=rev)],
                               [vi("x", TP.FLOAT, [2, 3, 4]), vi("axis", TP.INT64, [])], [vi("y", TP.FLOAT, None)])
            for axis in (0, 1, 2, -1, -3):
                cds.compare("CumSum axis=%d exclusive=%d reverse=%d" % (axis, excl, rev), kiln, m, d,
                            {"x": x, "axis": i64(axis)}, {"y": cum_ref(x, axis, excl, rev)})
    # An int32 axis of one element, int32 data; an axis out of range (invalid
    # in ONNX) gives zeros.
    m = cds.save_model(os.path.join(out, "cumsum_i32.onnx"), [helper.make_node("CumSum", ["x", "axis"], ["y"])],
                       [vi("x", TP.INT32, [3, 5]), vi("axis", TP.INT32, [1])], [vi("y", TP.INT32, None)])
    xi = rng.integers(-9, 10, (3, 5)).astype(np.int32)
    for axis in (1, -2):
        cds.compare("CumSum int32 axis=[%d]" % axis, kiln, m, d, {"x": xi, "axis": i32([axis])},
                    {"y": cum_ref(xi, axis, 0, 0)})
    for axis in (2, -3):
        cds.compare("CumSum axis=[%d] out of range gives zeros" % axis, kiln, m, d, {"x": xi, "axis": i32([axis])},
                    {"y": np.zeros_like(xi)})

    # CumProd (opset 26) with a run-time axis.
    m = cds.save_model(os.path.join(out, "cumprod.onnx"),
                       [helper.make_node("CumProd", ["x", "axis"], ["y"], exclusive=1, reverse=1)],
                       [vi("x", TP.INT64, [3, 4]), vi("axis", TP.INT64, [])], [vi("y", TP.INT64, None)], opset=26)
    xp = rng.integers(-3, 4, (3, 4)).astype(np.int64)
    for axis in (0, 1, -1):
        cds.compare("CumProd exclusive reverse axis=%d" % axis, kiln, m, d, {"x": xp, "axis": i64(axis)},
                    {"y": cum_ref(xp, axis, 1, 1, prod=True)})

    # Trilu with k a run-time input (the mask is compared at run time):
    # upper and lower, k inside, at and beyond the matrix, negative.
    for upper in (1, 0):
        m = cds.save_model(os.path.join(out, "trilu%d.onnx" % upper),
                           [helper.make_node("Trilu", ["x", "k"], ["y"], upper=upper)],
                           [vi("x", TP.FLOAT, [2, 3, 5]), vi("k", TP.INT64, [])], [vi("y", TP.FLOAT, None)], opset=14)
        xt = rng.standard_normal((2, 3, 5)).astype(np.float32)
        for k in (0, 2, -1, 7, -9, np.iinfo(np.int64).min):
            want = np.triu(xt, int(max(k, -100))) if upper else np.tril(xt, int(max(k, -100)))
            cds.compare("Trilu upper=%d k=%d" % (upper, k), kiln, m, d, {"x": xt, "k": i64(k)}, {"y": want})

    # Reductions whose 'axes' input is a run-time value (keepdims): ReduceSum
    # at opset 13, ReduceMean/ReduceLogSumExp/ReduceMax at 18; repeated or
    # out-of-range axes stop the run (exit 1, nothing written). An empty
    # axes input reduces everything (or nothing, noop_with_empty_axes).
    xr = rng.standard_normal((2, 3, 4)).astype(np.float32)
    refs = {"ReduceSum": lambda a, ax: a.sum(axis=ax, keepdims=True),
            "ReduceMean": lambda a, ax: a.mean(axis=ax, keepdims=True),
            "ReduceMax": lambda a, ax: a.max(axis=ax, keepdims=True),
            "ReduceLogSumExp": lambda a, ax: np.log(np.exp(a.astype(np.float64)).sum(axis=ax, keepdims=True))}
    for op, ref in refs.items():
        opset = 13 if op == "ReduceSum" else 18
        m = cds.save_model(os.path.join(out, "%s_axes.onnx" % op.lower()),
                           [helper.make_node(op, ["x", "axes"], ["y"], keepdims=1)],
                           [vi("x", TP.FLOAT, [2, 3, 4]), vi("axes", TP.INT64, [2])], [vi("y", TP.FLOAT, None)],
                           opset=opset)
        for axes in ((0, 2), (-1, 1), (2, -3)):
            want = ref(xr, tuple(a % 3 for a in axes)).astype(np.float32)
            cds.compare("%s axes=%s (run time)" % (op, axes), kiln, m, d, {"x": xr, "axes": i64(list(axes))},
                        {"y": want}, rtol=1e-5)
    m = os.path.join(out, "reducesum_axes.onnx")
    for axes in ((1, 1), (0, 3), (-4, 0)):
        for engine in cds.ENGINES:
            r, outs = cds.run_eval(kiln, m, d, {"x": xr, "axes": i64(list(axes))}, engine)
            named = engine != "eval" or "distinct axes in [-3, 3)" in r.stderr
            cds.check("ReduceSum axes=%s refused at run time [%s]" % (axes, engine),
                      r.returncode == 1 and not outs and named, "exit %d: %s" % (r.returncode, r.stderr.strip()))
    for noop in (0, 1):
        m = cds.save_model(os.path.join(out, "reducesum_empty%d.onnx" % noop),
                           [helper.make_node("ReduceSum", ["x", "axes"], ["y"], keepdims=1, noop_with_empty_axes=noop)],
                           [vi("x", TP.FLOAT, [2, 3, 4]), vi("axes", TP.INT64, [0])], [vi("y", TP.FLOAT, None)])
        cds.compare("ReduceSum empty axes, noop_with_empty_axes=%d" % noop, kiln, m, d,
                    {"x": xr, "axes": np.zeros(0, np.int64)},
                    {"y": xr if noop else xr.sum(keepdims=True)}, rtol=1e-5)

    # LSTM with sequence_lens read from an input: full lengths give the LSTM
    # of ONNX's spec (gates i, o, f, c; sigmoid, tanh, tanh; no bias),
    # computed here in NumPy; a shorter length stops the run (kiln supports
    # full lengths only).
    T, B, I, H = 4, 2, 3, 5
    w = rng.standard_normal((1, 4 * H, I)).astype(np.float32) * 0.3
    rr = rng.standard_normal((1, 4 * H, H)).astype(np.float32) * 0.3
    xs = rng.standard_normal((T, B, I)).astype(np.float32)
    inits = [helper.make_tensor("W", TP.FLOAT, w.shape, w.ravel()), helper.make_tensor("R", TP.FLOAT, rr.shape, rr.ravel())]
    def lstm(path):
        g = helper.make_graph([helper.make_node("LSTM", ["x", "W", "R", "", "lens"], ["y"], hidden_size=H)], "g",
                              [vi("x", TP.FLOAT, [T, B, I]), vi("lens", TP.INT32, [B])],
                              [vi("y", TP.FLOAT, None)], inits)
        mm = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        mm.ir_version = 7
        with open(path, "wb") as f:
            f.write(mm.SerializeToString())
        return path
    lensm = lstm(os.path.join(out, "lstm_lens.onnx"))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h, c, ys = np.zeros((B, H)), np.zeros((B, H)), []
    for t in range(T):
        g = xs[t].astype(np.float64) @ w[0].T + h @ rr[0].T
        gi, go, gf, gc = (g[:, j * H:(j + 1) * H] for j in range(4))
        c = sig(gf) * c + sig(gi) * np.tanh(gc)
        h = sig(go) * np.tanh(c)
        ys.append(h)
    want = np.stack(ys)[:, None].astype(np.float32)  # [T, directions, B, H]
    cds.compare("LSTM sequence_lens = T (run time)", kiln, lensm, d, {"x": xs, "lens": np.full(B, T, np.int32)},
                {"y": want}, rtol=1e-5)
    for engine in cds.ENGINES:
        r, outs = cds.run_eval(kiln, lensm, d, {"x": xs, "lens": np.array([T, T - 1], np.int32)}, engine)
        named = engine != "eval" or "full-length sequences" in r.stderr
        cds.check("LSTM sequence_lens < T refused at run time [%s]" % engine, r.returncode == 1 and not outs and named,
                  "exit %d: %s" % (r.returncode, r.stderr.strip()))

    print("%d failure(s)" % cds.failures)
    return 1 if cds.failures else 0


if __name__ == "__main__":
    sys.exit(main())
