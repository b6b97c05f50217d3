#!/usr/bin/python3
"""Checks the op tables of frontend/onnx/ops_*.c against ONNX's operator
schemas (onnx.defs, from the onnx Python package): for every op kiln
lowers, the input and output counts and the attribute spec (names, types,
the opsets that define each) must be what the schemas say over the opsets
the lowering handles (its min_opset to 17). An op added with a guessed
spec, or a typo in one, fails here rather than refusing valid models.

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

MAX_OPSET = 17  # OX_MAX_OPSET in frontend/onnx/ox.h
OX_MAX_IO = 64
T = defs.OpSchema.AttrType
LETTER = {T.FLOAT: "f", T.INT: "i", T.STRING: "s", T.TENSOR: "t", T.GRAPH: "g", T.SPARSE_TENSOR: "p",
          T.FLOATS: "F", T.INTS: "I", T.STRINGS: "S", T.TENSORS: "T", T.GRAPHS: "G", T.SPARSE_TENSORS: "P"}

# A table entry: {"Op", MIN_OPSET, lower, check, {in_min, in_max}, {out_min, out_max}, "spec" or NULL},
# where the spec may be split over several adjacent string literals and lines.
ENTRY = re.compile(r'\{"(\w+)", (\d+), \w+, \w+, \{(\d+), (\w+)\}, \{(\d+), (\w+)\},\s*((?:"[^"]*"\s*)+|NULL)\}',
                   re.S)


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
        m = re.fullmatch(r"(\w+):([fistgpFISTGP])(?:@(\d*)-(\d*))?", tok)
        if not m:
            raise ValueError("bad token %r" % tok)
        name, t, a, b = m.groups()
        attrs[name] = (t, int(a) if a else 1, int(b) if b else MAX_OPSET)
    return attrs


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems, count = [], 0
    for path in sorted(glob.glob(os.path.join(sys.argv[1], "frontend", "onnx", "ops_*.c"))):
        for m in ENTRY.finditer(open(path).read()):
            op, lo = m.group(1), int(m.group(2))
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
            if tuple(io) != want[:4]:
                problems.append("%s: arity %s, the schemas say %s" % (op, io, list(want[:4])))
            if attrs != want[4]:
                problems.append("%s: attributes %s, the schemas say %s" % (op, sorted(attrs.items()),
                                                                           sorted(want[4].items())))
    for p in problems:
        print("FAIL " + p)
    print("%d op table entries checked against onnx %s, %d problems" % (count, defs.onnx_opset_version(),
                                                                        len(problems)))
    return 1 if problems or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
