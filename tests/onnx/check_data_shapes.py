#!/usr/bin/python3
"""ONNX ops whose output sizes depend on input values (issue 15 item 4):
NonZero, TopK with K a graph input, Compress with a run-time condition,
Unique (sorted and not, with and without an axis) and NonMaxSuppression,
each imported with those inputs as real run-time inputs and run on several
inputs whose results have different sizes by three engines: the
interpreter (`kiln eval`), the JIT (`kiln run MODEL.onnx`) and a .so
compiled once (`kiln compile`, then `kiln run MODEL.so` for every input),
compared with NumPy references written here from the spec. Then a TopK
whose K exceeds the axis must be refused at run time by each engine,
naming the size and its bound, with exit 1.

usage: check_data_shapes.py KILN [OUTDIR]
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from onnx import TensorProto, helper
except ImportError as e:
    print("skipping: %s" % e)
    sys.exit(77)

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
failures = 0


def vi(name, t, shape=None):
    return helper.make_tensor_value_info(name, t, shape)


def save_model(path, nodes, inputs, outputs, opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def check(name, ok, detail=""):
    global failures
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail and not ok else ""))
    if not ok:
        failures += 1


ENGINES = ("eval", "run", "so")
compiled = {}


def engine_cmd(kiln, model, engine, flags=()):
    """The command that runs model with `engine` and the import `flags`;
    the .so is compiled once per model and flags (None when that fails:
    reported)."""
    flags = list(flags)
    if engine == "eval":
        return [kiln, "eval", model] + flags
    if engine == "run":
        return [kiln, "run", model] + flags
    key = (model, tuple(flags))
    if key not in compiled:
        so = "%s_%d.so" % (model[:-5], len(compiled))
        r = subprocess.run([kiln, "compile", model, "-o", so] + flags, capture_output=True, text=True)
        check("%s %s: kiln compile" % (os.path.basename(model), " ".join(flags)), r.returncode == 0, r.stderr.strip())
        compiled[key] = so if r.returncode == 0 else None
    return [kiln, "run", compiled[key]] if compiled[key] else None


def run_eval(kiln, model, outdir, inputs, engine="eval", flags=()):
    """Runs the model with `engine`; returns (process, {output name: array})."""
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        os.remove(os.path.join(outdir, f))
    cmd = engine_cmd(kiln, model, engine, flags)
    if cmd is None:
        return subprocess.CompletedProcess([], 99, "", "not compiled"), {}
    args = cmd + ["--output-dir", outdir]
    for k, v in inputs.items():
        p = os.path.join(outdir, "in_%s.npy" % k)
        np.save(p, v)
        args += ["--input", "%s=%s" % (k, p)]
    r = subprocess.run(args, capture_output=True, text=True)
    outs = {}
    if r.returncode == 0:
        for f in os.listdir(outdir):
            if f.endswith(".npy") and not f.startswith("in_"):
                outs[f[:-4]] = np.load(os.path.join(outdir, f))
    return r, outs


def compare(name, kiln, model, outdir, inputs, expected, rtol=0.0):
    """Every engine's outputs against `expected`: same dtype and shape, the
    values equal (floats within rtol of the expected magnitude when given:
    computed reductions sum in another order than NumPy)."""
    for engine in ENGINES:
        compare_one("%s [%s]" % (name, engine), kiln, model, outdir, inputs, expected, engine, rtol)


def compare_one(name, kiln, model, outdir, inputs, expected, engine, rtol=0.0):
    r, outs = run_eval(kiln, model, outdir, inputs, engine)
    if r.returncode != 0:
        check(name, False, "exited %d: %s" % (r.returncode, r.stderr.strip()))
        return
    for k, want in expected.items():
        got = outs.get(k)
        if got is None:
            check("%s: %s" % (name, k), False, "no output written")
            continue
        want = np.asarray(want)
        same = (got.dtype == want.dtype and got.shape == want.shape
                and (np.array_equal(got, want, equal_nan=want.dtype.kind == "f") if not rtol else
                     np.allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True)))
        check("%s: %s %s" % (name, k, want.shape), same,
              "got %s %s %s, want %s %s %s"
              % (got.dtype, got.shape, got.tolist(), want.dtype, want.shape, want.tolist()))


def topk_ref(x, k, axis, largest):
    # Stable: equal values keep increasing indices (ONNX TopK).
    order = np.argsort(-x if largest else x, axis=axis, kind="stable")
    idx = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, idx, axis=axis), idx.astype(np.int64)


def unique_ref(x, axis, sorted_):
    y, idx, inv, cnt = np.unique(x, return_index=True, return_inverse=True, return_counts=True, axis=axis)
    inv = inv.reshape(-1)
    if not sorted_:
        # First-occurrence order, as ONNX's reference recovers it.
        order = np.argsort(idx, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        idx, cnt, inv = idx[order], cnt[order], rank[inv]
        y = np.take(x if axis is not None else x.reshape(-1), idx, axis=axis if axis is not None else 0)
    return y, idx.astype(np.int64), inv.astype(np.int64), cnt.astype(np.int64)


def iou(a, b, center):
    if center:
        a = [a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2]
        b = [b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2]
    ay0, ay1 = min(a[0], a[2]), max(a[0], a[2])
    ax0, ax1 = min(a[1], a[3]), max(a[1], a[3])
    by0, by1 = min(b[0], b[2]), max(b[0], b[2])
    bx0, bx1 = min(b[1], b[3]), max(b[1], b[3])
    ih = max(0.0, min(ay1, by1) - max(ay0, by0))
    iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    inter = ih * iw
    union = (ay1 - ay0) * (ax1 - ax0) + (by1 - by0) * (bx1 - bx0) - inter
    return inter / union if union > 0 else 0.0


def nms_ref(boxes, scores, max_out, iou_thr, score_thr, center=0):
    sel = []
    for b in range(scores.shape[0]):
        for c in range(scores.shape[1]):
            order = np.argsort(-scores[b, c], kind="stable")
            kept = []
            for i in order:
                if len(kept) >= max_out:
                    break
                if score_thr is not None and not scores[b, c, i] > score_thr:
                    continue
                if all(iou(boxes[b, i], boxes[b, j], center) <= iou_thr for j in kept):
                    kept.append(i)
            sel += [[b, c, i] for i in kept]
    return np.array(sel, dtype=np.int64).reshape(-1, 3)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    kiln = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else tempfile.mkdtemp(prefix="kiln_data_shapes_")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(15)

    # NonZero of a 3-D input with zeros: the count differs per input.
    m = save_model(os.path.join(out, "nonzero.onnx"), [helper.make_node("NonZero", ["x"], ["y"])],
                   [vi("x", F, [2, 3, 4])], [vi("y", I64, None)])
    for t, x in enumerate([rng.integers(-1, 2, (2, 3, 4)).astype(np.float32), np.zeros((2, 3, 4), np.float32),
                           np.ones((2, 3, 4), np.float32)]):
        compare("NonZero #%d" % t, kiln, m, os.path.join(out, "d"), {"x": x}, {"y": np.array(np.nonzero(x), np.int64)})

    # TopK with K an input: 0, in between, the whole axis; largest and smallest.
    for largest in (1, 0):
        m = save_model(os.path.join(out, "topk%d.onnx" % largest),
                       [helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=1, largest=largest)],
                       [vi("x", F, [3, 5]), vi("k", I64, [1])], [vi("v", F, None), vi("i", I64, None)])
        x = rng.integers(0, 4, (3, 5)).astype(np.float32)  # repeated values: ties keep index order
        for k in (0, 2, 5):
            v, i = topk_ref(x, k, 1, largest)
            compare("TopK largest=%d k=%d" % (largest, k), kiln, m, os.path.join(out, "d"),
                    {"x": x, "k": np.array([k], np.int64)}, {"v": v, "i": i})
    # K larger than the axis, or negative: refused at run time by every
    # engine (the interpreter also names the value), no output written.
    for engine in ENGINES:
        for k in (6, -1):
            d = os.path.join(out, "d")
            r, outs = run_eval(kiln, os.path.join(out, "topk1.onnx"), d,
                               {"x": np.zeros((3, 5), np.float32), "k": np.array([k], np.int64)}, engine)
            msg = r.stderr.strip()
            named = "[0, 5]" in msg and (engine != "eval" or str(k) in msg)
            check("TopK k=%d refused at run time [%s]" % (k, engine), r.returncode == 1 and named and not outs,
                  "exit %d, stderr: %s" % (r.returncode, msg))

    # Compress with a run-time condition, with an axis and flattened; a
    # condition shorter than the axis.
    m = save_model(os.path.join(out, "compress.onnx"), [helper.make_node("Compress", ["x", "c"], ["y"], axis=1)],
                   [vi("x", F, [2, 4, 3]), vi("c", B, [3])], [vi("y", F, None)])
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    for c in ([True, False, True], [False, False, False], [True, True, True]):
        c = np.array(c)
        compare("Compress axis=1 %s" % c.astype(int).tolist(), kiln, m, os.path.join(out, "d"), {"x": x, "c": c},
                {"y": np.compress(c, x, axis=1)})
    m = save_model(os.path.join(out, "compress_flat.onnx"), [helper.make_node("Compress", ["x", "c"], ["y"])],
                   [vi("x", F, [2, 3]), vi("c", B, [6])], [vi("y", F, None)])
    x = rng.standard_normal((2, 3)).astype(np.float32)
    c = np.array([0, 1, 1, 0, 0, 1], bool)
    compare("Compress flattened", kiln, m, os.path.join(out, "d"), {"x": x, "c": c}, {"y": np.compress(c, x)})

    # Unique, repeated values, sorted and not, with and without an axis.
    names = ["y", "indices", "inverse", "counts"]
    for sorted_ in (1, 0):
        m = save_model(os.path.join(out, "unique%d.onnx" % sorted_),
                       [helper.make_node("Unique", ["x"], names, sorted=sorted_)], [vi("x", F, [3, 4])],
                       [vi("y", F, None)] + [vi(nm, I64, None) for nm in names[1:]], opset=11)
        for t, x in enumerate([rng.integers(0, 5, (3, 4)).astype(np.float32), np.full((3, 4), 7, np.float32),
                               np.arange(12, 0, -1, dtype=np.float32).reshape(3, 4)]):
            compare("Unique sorted=%d #%d" % (sorted_, t), kiln, m, os.path.join(out, "d"), {"x": x},
                    dict(zip(names, unique_ref(x, None, sorted_))))
        m = save_model(os.path.join(out, "unique_axis%d.onnx" % sorted_),
                       [helper.make_node("Unique", ["x"], names, sorted=sorted_, axis=1)], [vi("x", I64, [2, 5, 2])],
                       [vi("y", I64, None)] + [vi(nm, I64, None) for nm in names[1:]], opset=11)
        x = rng.integers(0, 2, (2, 5, 2)).astype(np.int64)
        compare("Unique sorted=%d axis=1" % sorted_, kiln, m, os.path.join(out, "d"), {"x": x},
                dict(zip(names, unique_ref(x, 1, sorted_))))

    # NonMaxSuppression with run-time boxes and scores.
    m = save_model(os.path.join(out, "nms.onnx"),
                   [helper.make_node("NonMaxSuppression", ["boxes", "scores", "max", "iou", "score"], ["sel"])],
                   [vi("boxes", F, [2, 6, 4]), vi("scores", F, [2, 2, 6]), vi("max", I64, [1]), vi("iou", F, [1]),
                    vi("score", F, [1])], [vi("sel", I64, None)], opset=11)
    for t in range(3):
        corner = rng.uniform(0, 4, (2, 6, 2)).astype(np.float32)
        boxes = np.concatenate([corner, corner + rng.uniform(0.5, 3, (2, 6, 2)).astype(np.float32)], axis=2)
        scores = rng.uniform(0, 1, (2, 2, 6)).astype(np.float32)
        mx, it, st = [3, 6, 1][t], [0.3, 0.5, 0.0][t], [0.2, 0.0, 0.5][t]
        compare("NonMaxSuppression #%d" % t, kiln, m, os.path.join(out, "d"),
                {"boxes": boxes, "scores": scores, "max": np.array([mx], np.int64),
                 "iou": np.array([it], np.float32), "score": np.array([st], np.float32)},
                {"sel": nms_ref(boxes, scores, mx, it, st)})

    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
