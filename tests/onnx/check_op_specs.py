#!/usr/bin/python3
"""Checks the op tables of frontend/onnx/ops_*.c against ONNX's operator
schemas (onnx.defs, from the onnx Python package): for every op kiln
lowers, the input and output counts and the attribute spec (names, types,
the opsets that define each) must be what the schemas say over the opsets
the lowering handles (its min_opset to 17). An op added with a guessed
spec, or a typo in one, fails here rather than refusing valid models.

onnx 1.12's schemas stop at opset 17, so what later opsets define is
checked only as far as it can be: attributes marked as defined from opset
18 on ("name:T@19-") are left out of the comparison, an attribute removed
after opset 17 ("@-17" .. "@-24") counts as defined through 17, the inputs
that versions after 17 added (LATER_INPUTS, from the ONNX changelog) count
when the row implements that version (its max_version), and ops that only
exist from opset 18 on are counted as skipped.

usage: check_op_specs.py SOURCE_ROOT
"""
import glob
import os
import re
import sys

try:
    import onnx.defs as defs
except ImportError as e:
    print("skipping: %s (the schemas come from the onnx Python package)" % e)
    sys.exit(77)

MAX_OPSET = 17  # the newest opset onnx 1.12's schemas cover
OX_MAX_IO = 64
T = defs.OpSchema.AttrType
LETTER = {T.FLOAT: "f", T.INT: "i", T.STRING: "s", T.TENSOR: "t", T.GRAPH: "g", T.SPARSE_TENSOR: "p",
          T.FLOATS: "F", T.INTS: "I", T.STRINGS: "S", T.TENSORS: "T", T.GRAPHS: "G", T.SPARSE_TENSORS: "P",
          T.TYPE_PROTO: "y"}

# A table entry: {"Op", MIN_OPSET, lower, check, {in_min, in_max}, {out_min, out_max}, "spec" or NULL,
# max_version}, where the spec may be split over several adjacent string literals and lines.
ENTRY = re.compile(r'\{"(\w+)", (\d+), \w+, \w+, \{(\d+), (\w+)\}, \{(\d+), (\w+)\},\s*((?:"[^"]*"\s*)+|NULL),'
                   r'\s*(\d+)\}', re.S)

# Ops whose versions after opset 17 take more inputs: op -> (the version
# that added them, the most inputs from then on). The Reduce ops' axes
# became an input at 18, Pad's axes at 18, DFT's axis at 20.
LATER_INPUTS = {op: (18, 2) for op in ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax",
                                      "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare")}
LATER_INPUTS.update({"Pad": (18, 4), "DFT": (20, 3)})
# Ops whose versions after opset 17 may take fewer inputs: op -> (the
# version, the fewest from then on). OptionalHasElement-18's is optional.
LATER_FEWER_INPUTS = {"OptionalHasElement": (18, 0)}


def expected(op, lo):
    """(in_min, in_max, out_min, out_max, {attr: (letter, from, to)}) from the schemas."""
    schemas = {}
    for v in range(lo, MAX_OPSET + 1):
        try:
            schemas[v] = defs.get_schema(op, v, "")
        except Exception:  # not defined yet at v
            pass
    if not schemas:
        return None
    cap = lambda n: min(n, OX_MAX_IO)
    attrs = {}
    for v, s in schemas.items():
        for name, a in s.attributes.items():
            letter, first, last = attrs.get(name, (LETTER[a.type], v, v))
            attrs[name] = (letter, min(first, v), max(last, v))
    first, last = min(schemas), max(schemas)
    attrs = {k: (t, 1 if a == first else a, MAX_OPSET if b == last else b) for k, (t, a, b) in attrs.items()}
    return (min(s.min_input for s in schemas.values()), cap(max(s.max_input for s in schemas.values())),
            min(s.min_output for s in schemas.values()), cap(max(s.max_output for s in schemas.values())), attrs)


def parse_spec(text):
    spec = "".join(re.findall(r'"([^"]*)"', text))
    attrs = {}
    for tok in spec.split():
        m = re.fullmatch(r"(\w+):([fistgpyFISTGP])(?:@(\d*)-(\d*))?", tok)
        if not m:
            raise ValueError("bad token %r" % tok)
        name, t, a, b = m.groups()
        a, b = int(a) if a else 1, min(int(b), MAX_OPSET) if b else MAX_OPSET
        if a > MAX_OPSET:
            continue  # defined from opset 18 on: beyond onnx 1.12's schemas
        attrs[name] = (t, a, b)
    return attrs


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems, count, skipped = [], 0, 0
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "frontend", "onnx", "ops_*.c"))):
        for m in ENTRY.finditer(open(path).read()):
            op, lo, newest = m.group(1), int(m.group(2)), int(m.group(8))
            if lo > MAX_OPSET:
                skipped += 1  # an op of opset 18 or later: onnx 1.12 has no schema for it
                continue
            io = [OX_MAX_IO if x == "OX_MAX_IO" else int(x) for x in m.group(3, 4, 5, 6)]
            try:
                attrs = {} if m.group(7) == "NULL" else parse_spec(m.group(7))
            except ValueError as e:
                problems.append("%s: %s" % (op, e))
                continue
            want = expected(op, lo)
            count += 1
            if want is None:
                problems.append("%s: onnx has no schema at opsets %d to %d" % (op, lo, MAX_OPSET))
                continue
            want = list(want)
            later = LATER_INPUTS.get(op)
            if later and newest >= later[0]:
                want[1] = max(want[1], later[1])
            fewer = LATER_FEWER_INPUTS.get(op)
            if fewer and newest >= fewer[0]:
                want[0] = min(want[0], fewer[1])
            if tuple(io) != tuple(want[:4]):
                problems.append("%s: arity %s, the schemas say %s" % (op, io, list(want[:4])))
            if attrs != want[4]:
                problems.append("%s: attributes %s, the schemas say %s" % (op, sorted(attrs.items()),
                                                                           sorted(want[4].items())))
    for p in problems:
        print("FAIL " + p)
    print("%d op table entries checked against onnx %s (%d of later opsets skipped), %d problems"
          % (count, defs.onnx_opset_version(), skipped, len(problems)))
    return 1 if problems or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
