#!/usr/bin/python3
"""The importer's opset ceiling and operator versions (frontend/onnx/
versions.c): a model declaring an opset above the newest kiln reads is
refused; a node of an op that does not exist yet at the model's opset is
refused naming the opset that added it; a node whose opset selects a
version newer than the op's lowering implements is refused naming both
versions; a node of an op kiln does not lower says why; and a model of the
newest opset using ops kiln implements there imports.

The newest opset and the refused versions are read from `kiln onnx-ops
--markdown` (the same tables), so the test follows the tables as they grow.

usage: check_op_versions.py KILN OUTDIR
"""
import os
import re
import subprocess
import sys

try:
    import onnx
    from onnx import TensorProto, helper
except ImportError as e:
    print("skipping: %s" % e)
    sys.exit(77)


def model(path, opset, nodes, inputs=("x",), outputs=("y",)):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2, 3]) for n in inputs],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    kiln, out = sys.argv[1:]
    os.makedirs(out, exist_ok=True)
    md = subprocess.run([kiln, "onnx-ops", "--markdown"], capture_output=True, text=True, check=True).stdout
    lo, newest = map(int, re.search(r"declare ai\.onnx opset (\d+) to (\d+)", md).groups())
    failures, checks = [], 0

    def expect(name, path, ok, *needles):
        nonlocal checks
        checks += 1
        before = len(failures)
        r = subprocess.run([kiln, "import", path], capture_output=True, text=True)
        if ok and r.returncode != 0:
            failures.append("%s: refused: %s" % (name, r.stderr.strip()))
        elif not ok and r.returncode == 0:
            failures.append("%s: imported, should be refused" % name)
        for n in needles:
            if n not in r.stderr:
                failures.append("%s: message lacks %r: %s" % (name, n, r.stderr.strip()))
        print("%s %s" % ("ok  " if len(failures) == before else "FAIL", name))

    p = lambda n: os.path.join(out, n + ".onnx")
    relu = [helper.make_node("Relu", ["x"], ["y"], name="r")]
    expect("newest_opset_imports", model(p("newest"), newest, relu), True)
    expect("newest_plus_one_refused", model(p("too_new"), newest + 1, relu), False,
           "the model uses ai.onnx opset %d" % (newest + 1), "kiln supports opsets %d to %d" % (lo, newest))
    # Gelu was added in opset 20.
    expect("op_before_it_exists", model(p("gelu19"), 19, [helper.make_node("Gelu", ["x"], ["y"], name="g")]), False,
           "node 'g' (Gelu, opset 19): operator Gelu does not exist at opset 19 (it was added in opset 20)")
    expect("not_an_onnx_op", model(p("fancy"), newest, [helper.make_node("FancyOp", ["x"], ["y"], name="f")]), False,
           "operator FancyOp is not supported (the ai.onnx domain has no such operator up to opset %d)" % newest)
    expect("not_lowered_says_why",
           model(p("random"), newest, [helper.make_node("RandomNormalLike", ["x"], ["y"], name="rn")]), False,
           "operator RandomNormalLike is not supported (random generator)")
    # Opset 26 (ONNX 1.21) added CumProd and BitCast; kiln lowers CumProd and
    # refuses BitCast, saying why.
    expect("cumprod_before_26", model(p("cumprod25"), 25, [helper.make_node("CumProd", ["x", "a"], ["y"], name="c")],
                                      inputs=("x", "a")), False,
           "node 'c' (CumProd, opset 25): operator CumProd does not exist at opset 25 (it was added in opset 26)")
    expect("bitcast_says_why",
           model(p("bitcast"), 26, [helper.make_node("BitCast", ["x"], ["y"], name="bc", to=TensorProto.INT32)]),
           False, "node 'bc' (BitCast, opset 26): operator BitCast is not supported (bit reinterpretation: the IR "
           "has no bitcast op)")

    # Every op with a version newer than its lowering implements: a node at
    # the opset that selects that version is refused naming both. The node
    # need not be well-formed: the version is checked whatever its inputs.
    refused = 0
    for row in md.splitlines():
        m = re.match(r"\| (\w+) \| [\d, ]+ \| opsets? \d+ to \d+ \| ([\d, ]+) \| newer versions refused: ([\d, ]+)", row)
        if not m:
            continue
        op, done, newer = m.group(1), m.group(2).split(", ")[-1], m.group(3).split(", ")[0]
        refused += 1
        expect("refused_%s_%s" % (op, newer),
               model(p("%s_%s" % (op, newer)), int(newer), [helper.make_node(op, ["x"], ["y"], name="n3")]), False,
               "node 'n3' (%s, opset %s): kiln implements %s up to version %s; this model's opset %s selects %s-%s"
               % (op, newer, op, done, newer, op, newer))
    print("%d ops with refused newer versions checked" % refused)

    # The table is searched by halves: names in strcmp order, each op's
    # versions ascending; every lowered op has an entry, and a sensible
    # max_version (what onnx-ops lists under "Problems in the tables").
    checks += 1
    rows = re.findall(r"^\| (\w+) \| ([\d, ]+) \|", md, re.M)
    names = [n for n, _ in rows]
    if names != sorted(names, key=lambda n: n.encode()) or len(set(names)) != len(names):
        failures.append("the version table is not sorted by name (or lists an op twice)")
    for n, vs in rows:
        v = [int(x) for x in vs.split(", ")]
        if v != sorted(set(v)) or v[-1] > newest:
            failures.append("%s: versions %s not ascending up to opset %d" % (n, vs, newest))
    if "Problems in the tables" in md:
        failures.append(md[md.index("Problems in the tables"):].strip())
    for f in failures:
        print("FAIL " + f)
    print("%d checks, %d failures" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
