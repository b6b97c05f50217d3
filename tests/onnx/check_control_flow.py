#!/usr/bin/python3
"""Control flow compiled ahead of time (issue 14): `kiln compile model.onnx
-o m.so` on a model with a data-dependent Loop (trip count and condition
from graph inputs, the body ending the loop early) and on one with an If on
a computed condition, each .so run with `kiln run` on several inputs and
compared with NumPy written from the spec (the branch taken and the number
of iterations differ from input to input). Then what kiln refuses, with the
message naming the node, the subgraph and the value: branches of different
shapes, scan outputs of a loop whose trip count is known only at run time,
and an unsupported op inside a subgraph.

usage: check_control_flow.py KILN OUTDIR
"""
import os
import subprocess
import sys

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


def save_model(path, nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def check(name, ok, detail=""):
    global failures
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, (": " + detail) if detail and not ok else ""))
    if not ok:
        failures += 1


def run_so(kiln, so, outdir, inputs, out_names):
    os.makedirs(outdir, exist_ok=True)
    args = [kiln, "run", so, "--output-dir", outdir]
    for k, v in inputs.items():
        p = os.path.join(outdir, "in_%s.npy" % k)
        np.save(p, v)
        args += ["--input", "%s=%s" % (k, p)]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr
    return [np.load(os.path.join(outdir, n + ".npy")) for n in out_names], ""


def loop_model(path):
    # acc <- acc * 0.5 + i while i < M and sum(acc) < limit
    body = helper.make_graph(
        [helper.make_node("Cast", ["i"], ["fi"], to=F), helper.make_node("Mul", ["acc", "half"], ["a1"]),
         helper.make_node("Add", ["a1", "fi"], ["acc2"]), helper.make_node("ReduceSum", ["acc2"], ["s"], keepdims=0),
         helper.make_node("Less", ["s", "limit"], ["c_out"])],
        "body", [vi("i", I64, []), vi("c_in", B, []), vi("acc", F, [3])], [vi("c_out", B, []), vi("acc2", F, [3])],
        [helper.make_tensor("half", F, [], [0.5])])
    return save_model(path, [helper.make_node("Loop", ["M", "c", "acc0"], ["acc_final"], body=body)],
                      [vi("M", I64, []), vi("c", B, []), vi("acc0", F, [3]), vi("limit", F, [])],
                      [vi("acc_final", F, [3])])


def loop_ref(M, c, acc, limit):
    i = 0
    while i < M and c:
        acc = (acc * np.float32(0.5) + np.float32(i)).astype(np.float32)
        c = bool(acc.sum(dtype=np.float64) < limit)
        i += 1
    return acc


def if_model(path):
    then_g = helper.make_graph([helper.make_node("Mul", ["x", "w"], ["t"])], "then", [], [vi("t", F, [2, 3])])
    else_g = helper.make_graph([helper.make_node("Sub", ["x", "w"], ["e"])], "else", [], [vi("e", F, [2, 3])])
    return save_model(path, [helper.make_node("ReduceMax", ["x"], ["m"], keepdims=0),
                             helper.make_node("Greater", ["m", "zero"], ["c"]),
                             helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)],
                      [vi("x", F, [2, 3]), vi("w", F, [2, 3])], [vi("y", F, [2, 3])],
                      [helper.make_tensor("zero", F, [], [0.0])])


def refused(kiln, name, path, words):
    r = subprocess.run([kiln, "import", path], capture_output=True, text=True)
    ok = r.returncode != 0 and all(w in r.stderr for w in words)
    check(name, ok, "exit %d, stderr: %s" % (r.returncode, r.stderr.strip()[:600]))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kiln, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(14)

    # A data-dependent Loop, compiled once and run on several inputs.
    so = os.path.join(out, "loop.so")
    r = subprocess.run([kiln, "compile", loop_model(os.path.join(out, "loop.onnx")), "-o", so],
                       capture_output=True, text=True)
    check("compile_loop", r.returncode == 0, r.stderr.strip())
    if r.returncode == 0:
        for k, (M, c, limit) in enumerate(((0, True, 1e9), (1, True, 1e9), (6, True, 1e9), (50, True, 20.0),
                                           (8, False, 1e9), (50, True, -1.0))):
            acc = (rng.standard_normal(3) * 4).astype(np.float32)
            ins = {"M": np.array(M, np.int64), "c": np.array(c), "acc0": acc, "limit": np.array(limit, np.float32)}
            got, err = run_so(kiln, so, os.path.join(out, "loop_run%d" % k), ins, ["acc_final"])
            want = loop_ref(M, c, acc, limit)
            check("loop_run%d (M=%d cond=%s limit=%g)" % (k, M, c, limit),
                  got is not None and got[0].shape == want.shape and np.allclose(got[0], want, rtol=1e-5, atol=1e-6),
                  err or "got %s, want %s" % (got, want))

    # An If on a condition computed from an input.
    so = os.path.join(out, "if.so")
    r = subprocess.run([kiln, "compile", if_model(os.path.join(out, "if.onnx")), "-o", so], capture_output=True, text=True)
    check("compile_if", r.returncode == 0, r.stderr.strip())
    if r.returncode == 0:
        for k, sign in enumerate((1, -1, 1, -1)):
            x = (np.abs(rng.standard_normal((2, 3))) * sign).astype(np.float32)
            w = rng.standard_normal((2, 3)).astype(np.float32)
            got, err = run_so(kiln, so, os.path.join(out, "if_run%d" % k), {"x": x, "w": w}, ["y"])
            want = x * w if x.max() > 0 else x - w
            check("if_run%d (%s branch)" % (k, "then" if sign > 0 else "else"),
                  got is not None and np.array_equal(got[0], want), err or "got %s, want %s" % (got, want))

    # Refused, naming what is in the way.
    then_g = helper.make_graph([helper.make_node("Identity", ["x"], ["t"])], "then", [], [vi("t", F)])
    else_g = helper.make_graph([helper.make_node("Concat", ["x", "x"], ["e"], axis=0)], "else", [], [vi("e", F)])
    refused(kiln, "if_branch_shapes_differ",
            save_model(os.path.join(out, "if_shapes.onnx"),
                       [helper.make_node("If", ["c"], ["y"], name="pick", then_branch=then_g, else_branch=else_g)],
                       [vi("c", B, []), vi("x", F, [2])], [vi("y", F)]),
            ["'pick'", "output 0 ('y')", "f32[2]", "f32[4]", "same type and static shape"])
    body = helper.make_graph([helper.make_node("Identity", ["c_in"], ["c_out"]), helper.make_node("Identity", ["i"], ["o"])],
                             "body", [vi("i", I64, []), vi("c_in", B, [])], [vi("c_out", B), vi("o", I64)])
    refused(kiln, "loop_scan_output_runtime_trip_count",
            save_model(os.path.join(out, "loop_scan_rt.onnx"),
                       [helper.make_node("Loop", ["M", ""], ["ys"], name="lp", body=body)], [vi("M", I64, [])],
                       [vi("ys", I64)]),
            ["'lp'", "scan outputs", "trip count M known at import time"])
    body = helper.make_graph([helper.make_node("Less", ["i", "three"], ["c_out"]), helper.make_node("Identity", ["i"], ["o"])],
                             "body", [vi("i", I64, []), vi("c_in", B, [])], [vi("c_out", B), vi("o", I64)],
                             [helper.make_tensor("three", I64, [], [3])])
    refused(kiln, "loop_scan_output_early_exit",
            save_model(os.path.join(out, "loop_scan_exit.onnx"),
                       [helper.make_node("Loop", ["M", ""], ["ys"], name="lp", body=body)], [], [vi("ys", I64)],
                       [helper.make_tensor("M", I64, [], [5])]),
            ["'lp'", "scan outputs", "end it before the trip count"])
    body = helper.make_graph([helper.make_node("Identity", ["c_in"], ["c_out"]),
                              helper.make_node("Concat", ["v", "v"], ["v2"], axis=0)],
                             "body", [vi("i", I64, []), vi("c_in", B, []), vi("v", F, [3])], [vi("c_out", B), vi("v2", F)])
    refused(kiln, "loop_carried_shape_changes",
            save_model(os.path.join(out, "loop_grow.onnx"),
                       [helper.make_node("Loop", ["M", "", "v0"], ["v"], name="lp", body=body)],
                       [vi("M", I64, []), vi("v0", F, [3])], [vi("v", F)]),
            ["node 'lp' (Loop", "loop-carried value 'v0' starts as f32[3]{0} but the body makes it f32[6]{0}"])
    body = helper.make_graph([helper.make_node("Identity", ["c_in"], ["c_out"]),
                              helper.make_node("Unique", ["v"], ["v2"], name="uq")],
                             "body", [vi("i", I64, []), vi("c_in", B, []), vi("v", F, [3])], [vi("c_out", B), vi("v2", F)])
    refused(kiln, "unsupported_op_in_body",
            save_model(os.path.join(out, "loop_unique.onnx"),
                       [helper.make_node("Loop", ["M", "", "v0"], ["v"], name="lp", body=body)],
                       [vi("M", I64, []), vi("v0", F, [3])], [vi("v", F)]),
            ["in attribute 'body' of node 'lp' (Loop)", "node 'uq' (Unique", "not supported"])

    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
