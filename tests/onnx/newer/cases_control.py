"""Control flow: If, Loop and Scan (frontend/onnx/ops_control.c), at opset 17
and at newer opsets (If, Loop and Scan have new versions at 19, 21, 23, 24
and 25 that only add types).

Covered: If on a condition computed at run time (both ways), branches that
read outer values and give an outer value as an output, an If whose
condition is a constant (inlined); Loop with a trip count and a condition
that are graph inputs and a body condition that ends it early, a Loop with
only a condition, an If nested in a Loop body reading a main-graph value,
a Loop with scan outputs and a constant trip count (one of them an outer
value the body reads nowhere else); Scan forward and in
reverse, along other axes, with scan outputs appended and prepended.

Expected outputs are NumPy written from the operator specifications (each
step in float32, as the ops compute).
"""
from newer import TensorProto, case, helper, node, np

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
rng = np.random.default_rng(1410)


def vi(name, t, shape=None):
    return helper.make_tensor_value_info(name, t, shape)


def graph(nodes, name, ins, outs, inits=()):
    return helper.make_graph(nodes, name, ins, outs, initializer=list(inits))


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


# ---- If on a computed condition; branches read x and y from outside ----

def _if_computed(opset, x, y):
    then_g = graph([node("Add", ["x", "y"], ["t_sum"])], "then", [],
                   [vi("t_sum", F), vi("y", F)])  # an outer value as a branch output
    else_g = graph([node("Mul", ["x", "x"], ["e_sq"]), node("Sub", ["e_sq", "y"], ["e_out"]),
                    node("Neg", ["y"], ["e_neg"])], "else", [], [vi("e_out", F), vi("e_neg", F)])
    nodes = [node("ReduceSum", ["x"], ["s"], keepdims=0), node("Greater", ["s", "zero"], ["c"]),
             node("If", ["c"], ["r0", "r1"], then_branch=then_g, else_branch=else_g)]
    if x.sum(dtype=np.float32) > 0:
        r0, r1 = x + y, y
    else:
        r0, r1 = x * x - y, -y
    return nodes, {"x": x, "y": y}, {"r0": r0, "r1": r1}, {"zero": np.array(0, np.float32)}


for _opset in (17, 21, 25):
    for _way, _x in (("true", np.abs(f32(4)) + 0.5), ("false", -np.abs(f32(4)) - 0.5)):
        _n, _i, _o, _k = _if_computed(_opset, _x, f32(4))
        case("kiln_if_computed_%s_opset%d" % (_way, _opset), _opset, _n, _i, _o, _k)

# ---- If whose condition is known at import time: the branch is inlined ----

_x = f32(2, 3)
_then = graph([node("Relu", ["x"], ["t"])], "then", [], [vi("t", F)])
_else = graph([node("Neg", ["x"], ["e"])], "else", [], [vi("e", F)])
for _opset, _c in ((17, True), (23, False)):
    case("kiln_if_const_cond_%s_opset%d" % (str(_c).lower(), _opset), _opset,
         [node("If", ["c"], ["r"], then_branch=_then, else_branch=_else)], {"x": _x},
         {"r": np.maximum(_x, 0) if _c else -_x}, {"c": np.array(_c)})

# ---- Loop with a run-time trip count and condition ----
# acc <- acc * 1.5 + i; continue while sum(acc) < limit (limit: an outer
# initializer read by the body).

_body = graph([node("Cast", ["i"], ["fi"], to=F), node("Mul", ["acc", "k15"], ["a1"]),
               node("Add", ["a1", "fi"], ["acc2"]), node("ReduceSum", ["acc2"], ["s"], keepdims=0),
               node("Less", ["s", "limit"], ["c_out"])],
              "body", [vi("i", I64, []), vi("c_in", B, []), vi("acc", F)], [vi("c_out", B), vi("acc2", F)],
              [helper.make_tensor("k15", F, [], [1.5])])


def _loop_ref(M, c, acc, limit):
    acc = acc.copy()
    i = 0
    while i < M and c:
        acc = (acc * np.float32(1.5) + np.float32(i)).astype(np.float32)
        c = acc.sum(dtype=np.float64) < limit
        i += 1
    return acc


for _opset, _M, _c, _limit in ((17, 10, True, 40.0), (17, 3, True, 1e6), (17, 4, False, 1e6), (25, 10, True, 40.0),
                               (21, 0, True, 1e6)):
    _acc = np.array([1.0, 2.0, 0.5], np.float32)
    case("kiln_loop_runtime_M%d_%s_limit%d_opset%d" % (_M, str(_c).lower(), int(min(_limit, 99)), _opset), _opset,
         [node("Loop", ["M", "c", "acc0"], ["acc_final"], body=_body)],
         {"M": np.array(_M, np.int64), "c": np.array(_c), "acc0": _acc},
         {"acc_final": _loop_ref(_M, _c, _acc, _limit)}, {"limit": np.array(_limit, np.float32)})

# ---- Loop with only a condition (no trip count) ----

_body = graph([node("Add", ["v", "one"], ["v2"]), node("Less", ["v2", "stop"], ["c_out"])],
              "body", [vi("i", I64, []), vi("c_in", B, []), vi("v", F, [])], [vi("c_out", B), vi("v2", F)],
              [helper.make_tensor("one", F, [], [1.0])])
for _opset, _stop in ((17, 7.0), (24, 3.5)):
    _v = 0.0
    while True:  # the body runs at least once: cond starts true
        _v += 1.0
        if not _v < _stop:
            break
    case("kiln_loop_cond_only_opset%d" % _opset, _opset, [node("Loop", ["", "c", "v0"], ["v_final"], body=_body)],
         {"c": np.array(True), "v0": np.array(0.0, np.float32), "stop": np.array(_stop, np.float32)},
         {"v_final": np.array(_v, np.float32)})

# ---- An If nested in a Loop body, reading a main-graph input (w) ----

_then = graph([node("Mul", ["acc", "half"], ["t"])], "then", [], [vi("t", F)],
              [helper.make_tensor("half", F, [], [0.5])])
_else = graph([node("Add", ["acc", "w"], ["e"])], "else", [], [vi("e", F)])
_body = graph([node("ReduceSum", ["acc"], ["s"], keepdims=0), node("Greater", ["s", "ten"], ["big"]),
               node("If", ["big"], ["acc2"], then_branch=_then, else_branch=_else),
               node("Identity", ["c_in"], ["c_out"])],
              "body", [vi("i", I64, []), vi("c_in", B, []), vi("acc", F)], [vi("c_out", B), vi("acc2", F)],
              [helper.make_tensor("ten", F, [], [10.0])])


def _nested_ref(M, acc, w):
    for _ in range(M):
        acc = (acc * np.float32(0.5) if acc.sum(dtype=np.float64) > 10 else acc + w).astype(np.float32)
    return acc


for _opset, _M in ((17, 9), (25, 6)):
    _acc, _w = np.abs(f32(3)), np.abs(f32(3)) + 1
    case("kiln_loop_nested_if_opset%d" % _opset, _opset,
         [node("Loop", ["M", "", "acc0"], ["acc_final"], body=_body)],
         {"M": np.array(_M, np.int64), "acc0": _acc, "w": _w}, {"acc_final": _nested_ref(_M, _acc, _w)})

# ---- Loop with scan outputs and a constant trip count ----
# x <- x + y each iteration; scan output i * x.

_body = graph([node("Add", ["x", "y"], ["x2"]), node("Cast", ["i"], ["fi"], to=F), node("Mul", ["x2", "fi"], ["sc"]),
               node("Identity", ["c_in"], ["c_out"])],
              "body", [vi("i", I64, []), vi("c_in", B, []), vi("x", F)], [vi("c_out", B), vi("x2", F), vi("sc", F)])
for _opset in (17, 23):
    _x, _y = f32(2, 3), f32(2, 3)
    _xs, _scan = _x.copy(), []
    for _i in range(4):
        _xs = _xs + _y
        _scan.append(_xs * np.float32(_i))
    case("kiln_loop_scan_outputs_opset%d" % _opset, _opset,
         [node("Loop", ["M", "", "x0"], ["x_final", "xs"], body=_body)], {"x0": _x, "y": _y},
         {"x_final": _xs, "xs": np.stack(_scan)}, {"M": np.array(4, np.int64)})

# ---- Loop whose second scan output is an outer value the body reads
# nowhere else (its lookup adds a capture after the first scan output) ----

_body = graph([node("Add", ["x", "y"], ["x2"]), node("Identity", ["x2"], ["x3"]), node("Identity", ["c_in"], ["c_out"])],
              "body", [vi("i", I64, []), vi("c_in", B, []), vi("x", F)], [vi("c_out", B), vi("x2", F), vi("x3", F),
                                                                          vi("w", F)])
_x, _y, _w = f32(2, 3), f32(2, 3), f32(3)
_xs, _scan = _x.copy(), []
for _i in range(3):
    _xs = _xs + _y
    _scan.append(_xs)
case("kiln_loop_scan_output_outer_value_opset21", 21,
     [node("Loop", ["M", "", "x0"], ["x_final", "xs", "ws"], body=_body)], {"x0": _x, "y": _y, "w": _w},
     {"x_final": _xs, "xs": np.stack(_scan), "ws": np.stack([_w] * 3)}, {"M": np.array(3, np.int64)})

# ---- Scan: two scan inputs (one along axis 1, one reversed), two scan
# outputs (one along axis 1 and prepended) ----

_body = graph([node("Mul", ["a", "b"], ["ab"]), node("Add", ["s", "ab"], ["s2"]), node("Identity", ["s2"], ["o"]),
               node("Sub", ["a", "b"], ["d"])],
              "body", [vi("s", F, [2]), vi("a", F, [2]), vi("b", F, [2])],
              [vi("s2", F, [2]), vi("o", F, [2]), vi("d", F, [2])])
for _opset in (11, 17, 25):
    _s, _xa, _xb = f32(2), f32(2, 5), f32(5, 2)
    _st, _o1, _o2 = _s.copy(), np.zeros((5, 2), np.float32), np.zeros((2, 5), np.float32)
    for _t in range(5):
        _a, _b = _xa[:, _t], _xb[4 - _t, :]
        _st = _st + _a * _b
        _o1[_t] = _st
        _o2[:, 4 - _t] = _a - _b
    case("kiln_scan_axes_directions_opset%d" % _opset, _opset,
         [node("Scan", ["s0", "xa", "xb"], ["s_final", "o1", "o2"], body=_body, num_scan_inputs=2,
               scan_input_axes=[1, 0], scan_input_directions=[0, 1], scan_output_axes=[0, 1],
               scan_output_directions=[0, 1])],
         {"s0": _s, "xa": _xa, "xb": _xb}, {"s_final": _st, "o1": _o1, "o2": _o2})

# A plain forward scan (running sum over axis 0), negative output axis.
_body = graph([node("Add", ["s", "a"], ["s2"]), node("Identity", ["s2"], ["o"])],
              "body", [vi("s", F, [3]), vi("a", F, [3])], [vi("s2", F, [3]), vi("o", F, [3])])
_x = f32(4, 3)
case("kiln_scan_running_sum_opset19", 19,
     [node("Scan", ["s0", "x"], ["s_final", "sums"], body=_body, num_scan_inputs=1, scan_output_axes=[-1])],
     {"s0": np.zeros(3, np.float32), "x": _x}, {"s_final": _x.sum(0, dtype=np.float32), "sums": np.cumsum(_x, 0).T})

# A Scan body reading a main-graph input (w, threaded into the state) and an
# outer initializer (k, copied in as a constant).
_body = graph([node("Mul", ["a", "w"], ["aw"]), node("Add", ["s", "aw"], ["s1"]), node("Mul", ["s1", "k"], ["s2"]),
               node("Identity", ["s2"], ["o"])],
              "body", [vi("s", F, [3]), vi("a", F, [3])], [vi("s2", F, [3]), vi("o", F, [3])])
_x, _w = f32(5, 3), f32(3)
_s, _outs = np.zeros(3, np.float32), []
for _t in range(5):
    _s = ((_s + _x[_t] * _w) * np.float32(0.75)).astype(np.float32)
    _outs.append(_s)
case("kiln_scan_outer_values_opset21", 21,
     [node("Scan", ["s0", "x"], ["s_final", "ss"], body=_body, num_scan_inputs=1)],
     {"s0": np.zeros(3, np.float32), "x": _x, "w": _w}, {"s_final": _s, "ss": np.stack(_outs)},
     {"k": np.array(0.75, np.float32)})
