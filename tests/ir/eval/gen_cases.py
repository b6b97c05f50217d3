#!/usr/bin/python3
"""Writes the interpreter's test cases: tests/ir/eval/cases/<name>/.

Each case is a kiln IR program (model.kir), its inputs (in0.npy, in1.npy,
...: one per entry parameter, in parameter order) and its expected outputs
(out0.npy, ...: one per output, in output order), computed here with NumPy
straight from the semantics in docs/ir.md. Nothing here runs kiln.

Arrays are stored in the physical order of their declared layout: a
parameter f32[2,3]{0,1} is saved as the [3,2] C-order array that is its
memory image (for row-major layouts this is the array itself).

The expected float values follow the IR's rule "compute in double, round
once to the result type": references are computed in float64 from the exact
input values and rounded once per IR op. bf16 is not a NumPy type; its
rounding is emulated in float64 (bf16_round below), and bf16 values cross
the program boundary as f32.

Run with /usr/bin/python3 (it has NumPy); the output is deterministic (fixed
seeds), so rerunning it on the same kind of machine leaves the checked-in
files unchanged. With --check it writes into a temporary folder instead and
fails if the result differs from the checked-in cases (the Meson test "ir
eval cases are up to date"): models and inputs byte for byte, expected
outputs by value within the tolerance of tests/common/case_tree.py, since
NumPy's float64 exp, log, sin, ... differ in the last bit between CPUs.
"""
import math
import os
import shutil
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("gen_cases.py: NumPy is missing (use Debian's /usr/bin/python3); skipped", file=sys.stderr)
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "common"))
import case_tree  # noqa: E402  (the --check comparison)

OUT = os.path.join(HERE, "cases")

F16, F32, F64 = np.float16, np.float32, np.float64
NP_OF = {"pred": np.bool_, "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
         "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64,
         "f16": F16, "f32": F32, "f64": F64}
INT_BITS = {"i8": 8, "i16": 16, "i32": 32, "i64": 64, "u8": 8, "u16": 16, "u32": 32, "u64": 64}

CASES = []


def case(name, kir, inputs, outputs, layouts=None):
    """Registers a case. layouts: optional {("in"|"out", i): minor_to_major}."""
    CASES.append((name, kir.strip() + "\n", inputs, outputs, layouts or {}))


def physical(a, m2m):
    """The memory image of logical array a in layout minor_to_major m2m."""
    major_to_minor = list(reversed(m2m))
    return np.ascontiguousarray(np.transpose(a, major_to_minor))


def write_all(out):
    if os.path.isdir(out):
        shutil.rmtree(out)
    for name, kir, ins, outs, lay in CASES:
        d = os.path.join(out, name)
        os.makedirs(d)
        with open(os.path.join(d, "model.kir"), "w") as f:
            f.write(kir)
        for i, a in enumerate(ins):
            a = np.asarray(a)
            if ("in", i) in lay:
                a = physical(a, lay[("in", i)])
            np.save(os.path.join(d, "in%d.npy" % i), np.array(a, order="C"))
        for i, a in enumerate(outs):
            a = np.asarray(a)
            if ("out", i) in lay:
                a = physical(a, lay[("out", i)])
            np.save(os.path.join(d, "out%d.npy" % i), np.array(a, order="C"))


# ---- text helpers -----------------------------------------------------------

def fmt_elem(v, t):
    if t == "pred":
        return "true" if v else "false"
    if t in INT_BITS:
        return str(int(v))
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0:
        return "-0" if math.copysign(1, v) < 0 else "0"
    return repr(v)  # exact decimal of the (already representable) value


def lit(a, t):
    a = np.asarray(a)
    if a.ndim == 0:
        return fmt_elem(a[()], t)
    return "{" + ", ".join(lit(x, t) for x in a) + "}"


def shp(t, dims, layout=None):
    s = "%s[%s]" % (t, ",".join(str(d) for d in dims))
    if layout is not None:
        s += "{%s}" % ",".join(str(d) for d in layout)
    return s


def entry_module(name, lines, onames, oshapes):
    """A module of one ENTRY computation: the instruction lines, then a ROOT
    tuple of the instructions named onames (of shapes oshapes), which are
    also the output names."""
    kir = f"module {name}\n\nENTRY %main outputs={{{', '.join(chr(34) + o + chr(34) for o in onames)}}} {{\n"
    kir += "\n".join(lines) + "\n"
    kir += f"  ROOT %t = ({', '.join(oshapes)}) tuple({', '.join('%' + o for o in onames)})\n}}\n"
    return kir


# ---- numeric helpers --------------------------------------------------------

def rnd(x, t):
    """Rounds float64 values once to type t; returns float64 (or the array of t)."""
    x = np.asarray(x, dtype=F64)
    if t == "bf16":
        return bf16_round(x)
    return x.astype(NP_OF[t]).astype(F64)


def bf16_round(x):
    """Round-to-nearest-even of float64 values to bfloat16 (8-bit significand,
    exponent range of f32), returned as float64."""
    x = np.asarray(x, dtype=F64)
    out = np.array(x, dtype=F64)
    fin = np.isfinite(x) & (x != 0)
    a = np.abs(x[fin])
    _, e = np.frexp(a)
    ex = np.maximum(e - 1, -126)
    q = np.ldexp(1.0, ex - 7)
    r = np.round(a / q) * q  # np.round rounds half to even
    r[r >= 2.0 ** 128] = np.inf
    out[fin] = np.copysign(r, x[fin])
    return out


def wrap(v, t):
    """Python int v wrapped to integer type t."""
    b = INT_BITS[t]
    v &= (1 << b) - 1
    if t.startswith("i") and v >= 1 << (b - 1):
        v -= 1 << b
    return v


def int_range(t):
    b = INT_BITS[t]
    return (-(1 << (b - 1)), (1 << (b - 1)) - 1) if t.startswith("i") else (0, (1 << b) - 1)


def to_int(x, t):
    """convert float -> integer type t: truncate, saturate, NaN -> 0."""
    lo, hi = int_range(t)
    out = []
    for v in np.asarray(x, dtype=F64).ravel():
        if math.isnan(v):
            out.append(0)
        elif v >= hi:
            out.append(hi)
        elif v <= lo:
            out.append(lo)
        else:
            out.append(int(math.trunc(v)))
    return np.array(out, dtype=NP_OF[t]).reshape(np.shape(x))


def rng(seed):
    return np.random.default_rng(seed)


def dyadic(r, shape, lo=-16, hi=16, den=8):
    """Random values k/den: exact in every float type, short in text."""
    return r.integers(lo, hi, size=shape).astype(F64) / den


def pmax(a, b):
    """max per docs/ir.md: NaN if either is NaN, else a > b ? a : b."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=F64), np.asarray(b, dtype=F64))
    return np.where(np.isnan(a) | np.isnan(b), np.nan, np.where(a > b, a, b))


def pmin(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=F64), np.asarray(b, dtype=F64))
    return np.where(np.isnan(a) | np.isnan(b), np.nan, np.where(a < b, a, b))


# ---- cases ------------------------------------------------------------------

def case_mlp():
    r = rng(1)
    x = dyadic(r, (2, 4)).astype(F32)
    w1 = dyadic(r, (4, 3))
    b1 = dyadic(r, (3,))
    w2 = dyadic(r, (3, 2))
    h = rnd(x.astype(F64) @ w1, "f32")
    h = rnd(h + b1[None, :], "f32")
    h = np.maximum(h, 0)
    y = rnd(h @ w2, "f32")
    y = rnd(1 / (1 + np.exp(-y)), "f32")
    kir = f"""
module mlp

ENTRY %main outputs={{"y", "hidden"}} {{
  %x = f32[2,4] parameter(0), io_name="x"
  %w1 = f32[4,3] constant({lit(w1, 'f32')})
  %b1 = f32[3] constant({lit(b1, 'f32')})
  %d1 = f32[2,3] dot(%x, %w1), lhs_contracting_dims={{1}}, rhs_contracting_dims={{0}}
  %bb = f32[2,3] broadcast(%b1), dimensions={{1}}
  %a1 = f32[2,3] add(%d1, %bb)
  %z = f32[] constant(0)
  %zb = f32[2,3] broadcast(%z), dimensions={{}}
  %h = f32[2,3] max(%a1, %zb)
  %w2 = f32[3,2] constant({lit(w2, 'f32')})
  %d2 = f32[2,2] dot(%h, %w2), lhs_contracting_dims={{1}}, rhs_contracting_dims={{0}}
  %y = f32[2,2] logistic(%d2)
  ROOT %t = (f32[2,2], f32[2,3]) tuple(%y, %h)
}}
"""
    case("mlp_f32", kir, [x], [y.astype(F32), h.astype(F32)])


UNARY_F = [
    ("neg", lambda x: -x, "x"), ("abs", np.abs, "x"), ("sign", None, "s"), ("exp", np.exp, "x"),
    ("expm1", np.expm1, "x"), ("log", np.log, "p"), ("log1p", np.log1p, "p"), ("tanh", np.tanh, "x"),
    ("logistic", lambda x: 1 / (1 + np.exp(-x)), "x"), ("sqrt", np.sqrt, "p"), ("rsqrt", lambda x: 1 / np.sqrt(x), "p"),
    ("erf", None, "x"), ("floor", np.floor, "s"), ("ceil", np.ceil, "s"), ("round", np.round, "s"),
    ("cos", np.cos, "x"), ("sin", np.sin, "x"), ("tan", np.tan, "x"), ("acos", np.arccos, "u"),
    ("asin", np.arcsin, "u"), ("atan", np.arctan, "x"), ("sinh", np.sinh, "x"), ("cosh", np.cosh, "x"),
    ("asinh", np.arcsinh, "x"), ("acosh", np.arccosh, "g"), ("atanh", np.arctanh, "u"), ("copy", lambda x: x, "s"),
]


def np_sign(x):
    # sign(+-0) = +-0, sign(NaN) = NaN
    return np.where(np.isnan(x) | (x == 0), x, np.sign(x))


def np_erf(x):
    return np.array([math.erf(v) for v in np.ravel(x)], dtype=F64).reshape(np.shape(x))


def unary_case(t, seed):
    r = rng(seed)
    n = 8
    inputs = {
        "x": r.uniform(-3, 3, n),
        "p": r.uniform(0.05, 6, n),
        "u": r.uniform(-0.95, 0.95, n),
        "g": r.uniform(1, 5, n),
        "s": np.array([-0.0, 0.5, 1.5, 2.5, -2.5, -0.5, np.inf, -np.inf, np.nan, 3.75, -1.25, 0.0], dtype=F64),
    }
    if t == "f16":  # keep exp/sinh/cosh inside f16's range
        inputs["x"] = r.uniform(-2, 2, n)
    for k in inputs:
        inputs[k] = rnd(inputs[k], t)
    names = ["x", "p", "u", "g", "s"]
    lines, outs, onames, oshapes = [], [], [], []
    for i, k in enumerate(names):
        lines.append(f"  %{k} = {shp(t, [len(inputs[k])])} parameter({i})")
    for op, fn, src in UNARY_F:
        v = inputs[src]
        if op == "sign":
            ref = np_sign(v)
        elif op == "erf":
            ref = np_erf(v)
        else:
            with np.errstate(all="ignore"):
                ref = fn(v)
        lines.append(f"  %{op} = {shp(t, [len(v)])} {op}(%{src})")
        outs.append(rnd(ref, t).astype(NP_OF[t]))
        onames.append(op)
        oshapes.append(shp(t, [len(v)]))
    lines.append(f"  %is_finite = {shp('pred', [12])} is_finite(%s)")
    outs.append(np.isfinite(inputs["s"]))
    onames.append("is_finite")
    oshapes.append(shp("pred", [12]))
    kir = entry_module(f"unary_{t}", lines, onames, oshapes)
    case("unary_" + t, kir, [inputs[k].astype(NP_OF[t]) for k in names], outs)


def case_binary_f(t, seed):
    r = rng(seed)
    a = np.concatenate([r.uniform(-4, 4, 8), [np.nan, 1.0, -0.0, np.inf, 2.0, -3.0, 0.0, 5.5]])
    b = np.concatenate([r.uniform(-4, 4, 8), [1.0, np.nan, 0.0, 2.0, np.inf, 0.0, -0.0, -2.0]])
    pa = r.uniform(0.1, 3, 16)  # pow with positive bases
    a, b, pa = rnd(a, t), rnd(b, t), rnd(pa, t)
    ops = [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
           ("div", lambda a, b: a / b), ("rem", np.fmod), ("max", pmax), ("min", pmin), ("atan2", np.arctan2)]
    lines = [f"  %a = {shp(t, [16])} parameter(0)", f"  %b = {shp(t, [16])} parameter(1)",
             f"  %pa = {shp(t, [16])} parameter(2)"]
    outs, onames, oshapes = [], [], []
    with np.errstate(all="ignore"):
        for op, fn in ops:
            lines.append(f"  %{op} = {shp(t, [16])} {op}(%a, %b)")
            outs.append(rnd(fn(a, b), t).astype(NP_OF[t]))
            onames.append(op)
            oshapes.append(shp(t, [16]))
        lines.append(f"  %pow = {shp(t, [16])} pow(%pa, %b)")
        outs.append(rnd(np.power(pa, b), t).astype(NP_OF[t]))
        onames.append("pow")
        oshapes.append(shp(t, [16]))
    for d, fn in [("EQ", np.equal), ("NE", np.not_equal), ("LT", np.less), ("LE", np.less_equal),
                  ("GT", np.greater), ("GE", np.greater_equal)]:
        lines.append(f"  %cmp{d} = {shp('pred', [16])} compare(%a, %b), direction={d}")
        outs.append(fn(a, b))
        onames.append("cmp" + d)
        oshapes.append(shp("pred", [16]))
    # select on the comparison, clamp with scalar bounds and with array bounds
    lines.append(f"  %sel = {shp(t, [16])} select(%cmpLT, %a, %b)")
    outs.append(np.where(a < b, a, b).astype(NP_OF[t]))
    lines.append(f"  %lo = {t}[] constant(-1)")
    lines.append(f"  %hi = {t}[] constant(2)")
    lines.append(f"  %clamp = {shp(t, [16])} clamp(%lo, %a, %hi)")
    outs.append(pmin(pmax(a, -1.0), 2.0).astype(NP_OF[t]))
    lines.append(f"  %clampv = {shp(t, [16])} clamp(%b, %a, %pa)")
    outs.append(pmin(pmax(a, b), pa).astype(NP_OF[t]))
    onames += ["sel", "clamp", "clampv"]
    oshapes += [shp(t, [16])] * 3
    kir = entry_module(f"binary_{t}", lines, onames, oshapes)
    case("binary_" + t, kir, [a.astype(NP_OF[t]), b.astype(NP_OF[t]), pa.astype(NP_OF[t])], outs)


def int_binary_ref(op, a, b, t):
    bits = INT_BITS[t]
    if op == "add":
        return wrap(a + b, t)
    if op == "sub":
        return wrap(a - b, t)
    if op == "mul":
        return wrap(a * b, t)
    if op == "div":
        if b == 0:
            return 0
        q = abs(a) // abs(b)
        return wrap(q if (a < 0) == (b < 0) else -q, t)  # truncation; INT_MIN/-1 wraps to INT_MIN
    if op == "rem":
        if b == 0:
            return a
        q = abs(a) // abs(b)
        q = q if (a < 0) == (b < 0) else -q
        return wrap(a - q * b, t)
    if op == "max":
        return max(a, b)
    if op == "min":
        return min(a, b)
    if op == "pow":
        if b < 0:
            return 1 if a == 1 else ((-1 if b % 2 else 1) if a == -1 else 0)
        return wrap(pow(a, b, 1 << bits), t)
    if op == "and":
        return wrap(a & b, t)
    if op == "or":
        return wrap(a | b, t)
    if op == "xor":
        return wrap(a ^ b, t)
    n = b & ((1 << bits) - 1)  # shift amount read as unsigned
    ua = a & ((1 << bits) - 1)
    if op == "shift_left":
        return 0 if n >= bits else wrap(ua << n, t)
    if op == "shift_right_logical":
        return 0 if n >= bits else wrap(ua >> n, t)
    if op == "shift_right_arithmetic":
        sa = ua - (1 << bits) if ua >> (bits - 1) else ua
        if n >= bits:
            return wrap(-1 if sa < 0 else 0, t)
        return wrap(sa >> n, t)  # Python >> is arithmetic
    raise ValueError(op)


def case_int(t, seed):
    r = rng(seed)
    lo, hi = int_range(t)
    bits = INT_BITS[t]
    special_a = [lo, lo, hi, -1 if lo < 0 else hi, 0, 7, -7 if lo < 0 else 7, 1, 2, 3, lo, 5]
    special_b = [-1 if lo < 0 else 1, 0, 0, 2, 0, 2, 2, bits, bits + 1, 1 if lo < 0 else bits - 1, 1, 3]
    n = 20
    ra = [int(v) for v in r.integers(max(lo, -1000), min(hi, 1000) + 1, n - len(special_a))]
    rb = [int(v) for v in r.integers(max(lo, -9), min(hi, 9) + 1, n - len(special_b))]
    a = special_a + ra
    b = special_b + rb
    if lo < 0:  # a negative shift amount is a huge unsigned one
        b[5] = -3
    pb = [abs(v) % 9 for v in b]  # small exponents (and some negative ones below)
    if lo < 0:
        pb[0:4] = [-1, -2, -3, 0]
        pb[5] = -2  # 7 ** -2 gives 0
        a_pow = [-1, -1, 1, 2] + a[4:]
    else:
        a_pow = a
    ops = ["add", "sub", "mul", "div", "rem", "max", "min", "and", "or", "xor",
           "shift_left", "shift_right_logical", "shift_right_arithmetic"]
    dt = NP_OF[t]
    lines = [f"  %a = {shp(t, [n])} parameter(0)", f"  %b = {shp(t, [n])} parameter(1)",
             f"  %pa = {shp(t, [n])} parameter(2)", f"  %pb = {shp(t, [n])} parameter(3)"]
    outs, onames, oshapes = [], [], []
    for op in ops:
        lines.append(f"  %{op} = {shp(t, [n])} {op}(%a, %b)")
        outs.append(np.array([int_binary_ref(op, x, y, t) for x, y in zip(a, b)], dtype=dt))
        onames.append(op)
    lines.append(f"  %pow = {shp(t, [n])} pow(%pa, %pb)")
    outs.append(np.array([int_binary_ref("pow", x, y, t) for x, y in zip(a_pow, pb)], dtype=dt))
    onames.append("pow")
    for op, fn in [("neg", lambda v: wrap(-v, t)), ("abs", lambda v: wrap(abs(v), t)),
                   ("sign", lambda v: (v > 0) - (v < 0)), ("not", lambda v: wrap(~v, t))]:
        lines.append(f"  %{op} = {shp(t, [n])} {op}(%a)")
        outs.append(np.array([fn(v) for v in a], dtype=dt))
        onames.append(op)
    oshapes = [shp(t, [n])] * len(onames)
    for d, fn in [("LT", lambda x, y: x < y), ("GE", lambda x, y: x >= y), ("EQ", lambda x, y: x == y)]:
        lines.append(f"  %cmp{d} = {shp('pred', [n])} compare(%a, %b), direction={d}")
        outs.append(np.array([fn(x, y) for x, y in zip(a, b)], dtype=np.bool_))
        onames.append("cmp" + d)
        oshapes.append(shp("pred", [n]))
    lines.append(f"  %lo = {t}[] constant({max(lo, -5)})")
    lines.append(f"  %hi = {t}[] constant({min(hi, 100)})")
    lines.append(f"  %clamp = {shp(t, [n])} clamp(%lo, %a, %hi)")
    outs.append(np.array([min(max(v, max(lo, -5)), min(hi, 100)) for v in a], dtype=dt))
    onames.append("clamp")
    oshapes.append(shp(t, [n]))
    kir = entry_module(f"int_{t}", lines, onames, oshapes)
    case("int_" + t, kir, [np.array(a, dt), np.array(b, dt), np.array(a_pow, dt), np.array(pb, dt)], outs)


def case_convert():
    src = np.array([0.0, -0.0, 1.5, -1.5, 2.5, -2.7, 127.9, 128.5, -129.0, 255.5, 256.0, 40000.0, -40000.0,
                    3e9, -3e9, 1e20, -1e20, np.inf, -np.inf, np.nan, 65519.0, 65520.0, 1e-8, 0.1], dtype=F32)
    n = len(src)
    lines = [f"  %x = {shp('f32', [n])} parameter(0)"]
    outs, onames, oshapes = [], [], []
    for t in ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"]:
        lines.append(f"  %to_{t} = {shp(t, [n])} convert(%x)")
        outs.append(to_int(src.astype(F64), t))
        onames.append("to_" + t)
        oshapes.append(shp(t, [n]))
    lines.append(f"  %to_pred = {shp('pred', [n])} convert(%x)")
    outs.append(src != 0)  # NaN != 0 is true
    lines.append(f"  %to_f16 = {shp('f16', [n])} convert(%x)")
    outs.append(src.astype(F64).astype(F16))
    lines.append(f"  %to_f64 = {shp('f64', [n])} convert(%x)")
    outs.append(src.astype(F64))
    lines.append(f"  %bf = {shp('bf16', [n])} convert(%x)")
    lines.append(f"  %bf_back = {shp('f32', [n])} convert(%bf)")
    outs.append(bf16_round(src.astype(F64)).astype(F32))
    onames += ["to_pred", "to_f16", "to_f64", "bf_back"]
    oshapes += [shp("pred", [n]), shp("f16", [n]), shp("f64", [n]), shp("f32", [n])]
    # integers to floats (correct rounding of large values), to narrower ints (wrap), to pred
    iv = [0, 1, -1, 2**31 - 1, -2**31, 2**53 + 1, 2**62 + 2**39 + 1, -(2**63), 2**63 - 1, 65504, 65519, 65520,
          300, -300, 2049, 4097]
    m = len(iv)
    lines.append(f"  %iv = {shp('i64', [m])} parameter(1)")
    for t in ["f32", "f16", "f64", "i8", "u16", "pred"]:
        lines.append(f"  %iv_{t} = {shp(t, [m])} convert(%iv)")
        onames.append("iv_" + t)
        oshapes.append(shp(t, [m]))
        if t in ("f32", "f16", "f64"):
            # Python's int -> float is correctly rounded to double; for the
            # narrower types go through exact rational rounding instead.
            outs.append(np.array([round_int_to(v, t) for v in iv], dtype=NP_OF[t]))
        elif t == "pred":
            outs.append(np.array([v != 0 for v in iv], dtype=np.bool_))
        else:
            outs.append(np.array([wrap(v, t) for v in iv], dtype=NP_OF[t]))
    lines.append(f"  %iv_bf16 = {shp('bf16', [m])} convert(%iv)")
    lines.append(f"  %iv_bf = {shp('f32', [m])} convert(%iv_bf16)")
    outs.append(np.array([round_int_to(v, "bf16") for v in iv], dtype=F32))
    onames.append("iv_bf")
    oshapes.append(shp("f32", [m]))
    # pred to numbers, u8 to i8 (wrap), f64 to f32 (round to nearest even)
    pv = np.array([True, False, True], dtype=np.bool_)
    lines.append(f"  %pv = {shp('pred', [3])} parameter(2)")
    lines.append(f"  %pv_f = {shp('f32', [3])} convert(%pv)")
    lines.append(f"  %pv_i = {shp('i32', [3])} convert(%pv)")
    outs += [pv.astype(F32), pv.astype(np.int32)]
    onames += ["pv_f", "pv_i"]
    oshapes += [shp("f32", [3]), shp("i32", [3])]
    dv = np.array([1 + 2.0**-24, 1 + 3 * 2.0**-24, 1 + 2.0**-24 + 2.0**-40, 3.4028235677973366e38, 1e39, -1e-50],
                  dtype=F64)
    lines.append(f"  %dv = {shp('f64', [6])} parameter(3)")
    lines.append(f"  %dv_f = {shp('f32', [6])} convert(%dv)")
    outs.append(dv.astype(F32))
    onames.append("dv_f")
    oshapes.append(shp("f32", [6]))
    kir = entry_module("convert", lines, onames, oshapes)
    with np.errstate(all="ignore"):
        case("convert", kir, [src, np.array(iv, dtype=np.int64), pv, dv], outs)


def round_int_to(v, t):
    """Correctly rounded conversion of Python int v to float type t (ties to
    even), computed exactly with integers."""
    # significand bits and largest exponent (integers are never subnormal)
    mant, emax = {"f16": (11, 15), "bf16": (8, 127), "f32": (24, 127), "f64": (53, 1023)}[t]
    if v == 0:
        return 0.0
    s = -1 if v < 0 else 1
    a = abs(v)
    e = a.bit_length() - 1
    shift = e - (mant - 1)
    if shift <= 0:
        r = a
    else:
        q, rem = divmod(a, 1 << shift)
        half = 1 << (shift - 1)
        if rem > half or (rem == half and q & 1):
            q += 1
        r = q << shift
    if r >= 1 << (emax + 1):
        return s * math.inf
    return s * float(r)


def case_bf16():
    r = rng(7)
    a = r.uniform(-10, 10, 12)
    b = r.uniform(-10, 10, 12)
    a32, b32 = a.astype(F32), b.astype(F32)
    ab, bb = bf16_round(a32.astype(F64)), bf16_round(b32.astype(F64))
    s = bf16_round(ab + bb)
    p = bf16_round(s * bb)
    e = bf16_round(np.exp(bf16_round(ab / 4)))
    red = bf16_round(np.sum(p))
    kir = """
module bf16_chain

ENTRY %main outputs={"p", "e", "sum"} {
  %a = f32[12] parameter(0)
  %b = f32[12] parameter(1)
  %ab = bf16[12] convert(%a)
  %bb = bf16[12] convert(%b)
  %s = bf16[12] add(%ab, %bb)
  %p = bf16[12] mul(%s, %bb)
  %four = bf16[] constant(4)
  %fb = bf16[12] broadcast(%four), dimensions={}
  %q = bf16[12] div(%ab, %fb)
  %e = bf16[12] exp(%q)
  %r = bf16[] reduce(%p), dimensions={0}, combiner=add
  %pf = f32[12] convert(%p)
  %ef = f32[12] convert(%e)
  %rf = f32[] convert(%r)
  ROOT %t = (f32[12], f32[12], f32[]) tuple(%pf, %ef, %rf)
}
"""
    case("bf16_chain", kir, [a32, b32], [p.astype(F32), e.astype(F32), np.array(red, dtype=F32)])


def case_pred():
    a = np.array([True, True, False, False])
    b = np.array([True, False, True, False])
    kir = """
module pred_ops

ENTRY %main outputs={"and", "or", "xor", "not", "eq", "lt", "sel", "all", "any"} {
  %a = pred[4] parameter(0)
  %b = pred[4] parameter(1)
  %and = pred[4] and(%a, %b)
  %or = pred[4] or(%a, %b)
  %xor = pred[4] xor(%a, %b)
  %not = pred[4] not(%a)
  %eq = pred[4] compare(%a, %b), direction=EQ
  %lt = pred[4] compare(%a, %b), direction=LT
  %sel = pred[4] select(%a, %b, %not)
  %all = pred[] reduce(%a), dimensions={0}, combiner=and
  %any = pred[] reduce(%b), dimensions={0}, combiner=or
  ROOT %t = (pred[4], pred[4], pred[4], pred[4], pred[4], pred[4], pred[4], pred[], pred[]) tuple(%and, %or, %xor, %not, %eq, %lt, %sel, %all, %any)
}
"""
    case("pred_ops", kir, [a, b], [a & b, a | b, a ^ b, ~a, a == b, (~a) & b, np.where(a, b, ~a),
                                   np.array(a.all()), np.array(b.any())])


def case_data_movement():
    x = np.arange(24, dtype=np.int32).reshape(2, 3, 4) * 3 - 20
    io = np.broadcast_to(np.arange(5, dtype=F32)[None, :], (3, 5))
    rs = x.reshape(4, 6)
    tr = np.transpose(x, (2, 0, 1))
    sl = x[1:2, 0:3:2, 1:4:2]
    y = np.arange(6, dtype=np.int32).reshape(2, 3) + 100
    cc = np.concatenate([x[:, :, :2].reshape(2, 6), y], axis=1)
    # pad: dim0 lo 1 hi -1 interior 1, dim1 lo -1 hi 2, dim2 lo 0 hi 0 interior 2
    pd = x
    for d, (lo, hi, interior) in enumerate([(1, -1, 1), (-1, 2, 0), (0, 0, 2)]):
        pd = dilate_pad(pd, d, interior + 1, lo, hi, -1)
    rv = x[::-1, :, ::-1]
    bc = np.broadcast_to(y[:, None, :], (2, 2, 3))
    # dynamic_slice with starts (1, -5, 3) -> clamped to (1, 0, 2) for sizes (1, 2, 2)
    ds = x[1:2, 0:2, 2:4]
    # dynamic_update_slice of a [2,2,2] block at (5, 1, -1) -> clamped to (0, 1, 0)
    u = np.full((2, 2, 2), 7, dtype=np.int32)
    dus = x.copy()
    dus[0:2, 1:3, 0:2] = u
    kir = """
module data_movement

ENTRY %main outputs={"iota", "reshape", "transpose", "slice", "concat", "pad", "reverse", "bcast", "dslice", "dus"} {
  %x = i32[2,3,4] parameter(0)
  %y = i32[2,3] parameter(1)
  %s0 = i64[] parameter(2)
  %s1 = i32[] parameter(3)
  %s2 = u8[] parameter(4)
  %iota = f32[3,5] iota(), iota_dimension=1
  %reshape = i32[4,6] reshape(%x)
  %transpose = i32[4,2,3] transpose(%x), dimensions={2,0,1}
  %slice = i32[1,2,2] slice(%x), slice={[1:2], [0:3:2], [1:4:2]}
  %xs = i32[2,3,2] slice(%x), slice={[0:2], [0:3], [0:2]}
  %xr = i32[2,6] reshape(%xs)
  %concat = i32[2,9] concatenate(%xr, %y), dimensions={1}
  %m1 = i32[] constant(-1)
  %pad = i32[3,4,10] pad(%x, %m1), padding=1_-1_1x-1_2x0_0_2
  %reverse = i32[2,3,4] reverse(%x), dimensions={0,2}
  %bcast = i32[2,2,3] broadcast(%y), dimensions={0,2}
  %dslice = i32[1,2,2] dynamic_slice(%x, %s0, %s1, %s2), dynamic_slice_sizes={1,2,2}
  %seven = i32[] constant(7)
  %u = i32[2,2,2] broadcast(%seven), dimensions={}
  %five = i64[] constant(5)
  %one = i32[] constant(1)
  %mone = i8[] constant(-1)
  %dus = i32[2,3,4] dynamic_update_slice(%x, %u, %five, %one, %mone)
  ROOT %t = (f32[3,5], i32[4,6], i32[4,2,3], i32[1,2,2], i32[2,9], i32[3,4,10], i32[2,3,4], i32[2,2,3], i32[1,2,2], i32[2,3,4]) tuple(%iota, %reshape, %transpose, %slice, %concat, %pad, %reverse, %bcast, %dslice, %dus)
}
"""
    case("data_movement", kir,
         [x, y, np.array(1, np.int64), np.array(-5, np.int32), np.array(3, np.uint8)],
         [io.astype(F32), rs, tr, sl, cc, pd, rv, bc, ds, dus])


# ---- gather / scatter references (XLA semantics, written from the spec) ----

def gather_ref(x, idx, offset_dims, collapsed, start_map, ivd, slice_sizes):
    if ivd == idx.ndim:
        idx = idx[..., None]
    batch_shape = [d for i, d in enumerate(idx.shape) if i != ivd]
    off_sizes = [slice_sizes[d] for d in range(x.ndim) if d not in collapsed]
    out_rank = len(batch_shape) + len(off_sizes)
    out_shape = []
    bi = oi = 0
    for i in range(out_rank):
        if i in offset_dims:
            out_shape.append(off_sizes[oi])
            oi += 1
        else:
            out_shape.append(batch_shape[bi])
            bi += 1
    out = np.zeros(out_shape, dtype=x.dtype)
    for o in np.ndindex(*out_shape):
        b = [o[i] for i in range(out_rank) if i not in offset_dims]
        offs = [o[i] for i in offset_dims]
        start = [0] * x.ndim
        for k, d in enumerate(start_map):
            pos = list(b)
            pos.insert(ivd, k)
            start[d] = int(idx[tuple(pos)])
        full = []
        oi = 0
        for d in range(x.ndim):
            s = min(max(start[d], 0), x.shape[d] - slice_sizes[d])
            if d in collapsed:
                full.append(s)
            else:
                full.append(s + offs[oi])
                oi += 1
        out[o] = x[tuple(full)]
    return out


def scatter_ref(x, idx, upd, upd_window, inserted, sd2od, ivd, comb):
    out = x.copy()
    if ivd == idx.ndim:
        idx = idx[..., None]
    wdims = [d for d in range(x.ndim) if d not in inserted]
    wsize = [1] * x.ndim
    for j, ud in enumerate(upd_window):
        wsize[wdims[j]] = upd.shape[ud]
    for u in np.ndindex(*upd.shape):
        g = [u[i] for i in range(upd.ndim) if i not in upd_window]
        start = [0] * x.ndim
        for k, d in enumerate(sd2od):
            pos = list(g)
            pos.insert(ivd, k)
            start[d] = int(idx[tuple(pos)])
        if any(start[d] < 0 or start[d] + wsize[d] > x.shape[d] for d in range(x.ndim)):
            continue  # the whole window is skipped
        full = list(start)
        for j, ud in enumerate(upd_window):
            full[wdims[j]] += u[ud]
        t = tuple(full)
        old, new = out[t], upd[u]
        if comb == "assign":
            out[t] = new
        elif comb == "add":
            out[t] = old + new
        elif comb == "mul":
            out[t] = old * new
        elif comb == "max":
            out[t] = max(old, new) if not (np.isnan(old) or np.isnan(new)) else np.nan
        elif comb == "min":
            out[t] = min(old, new) if not (np.isnan(old) or np.isnan(new)) else np.nan
    return out


def case_gather():
    r = rng(21)
    emb = dyadic(r, (6, 4)).astype(F32)
    ids = np.array([[0, 5, 2], [7, -1, 3]], dtype=np.int32)  # 7 and -1 clamp to 5 and 0
    g1 = gather_ref(emb, ids, [2], [0], [0], 2, [1, 4])
    x = np.arange(60, dtype=np.int64).reshape(3, 4, 5)
    # index vectors along dim 0 of idx (index_vector_dim=0), mapped to operand dims (2, 0)
    idx = np.array([[[0, 4], [2, 1]], [[1, 0], [3, 2]]], dtype=np.int64)  # [2(vec), 2, 2]
    g2 = gather_ref(x, idx, [1, 3], [1], [2, 0], 0, [2, 1, 3])
    # u16 indices with an implicit index vector (index_vector_dim = rank) and a full slice
    ui = np.array([2, 0, 9], dtype=np.uint16)
    g3 = gather_ref(x, ui, [1, 2], [0], [0], 1, [1, 4, 5])
    kir = f"""
module gather

ENTRY %main outputs={{"embed", "general", "rows"}} {{
  %emb = f32[6,4] constant({lit(emb, 'f32')})
  %ids = i32[2,3] parameter(0)
  %embed = f32[2,3,4] gather(%emb, %ids), offset_dims={{2}}, collapsed_slice_dims={{0}}, start_index_map={{0}}, index_vector_dim=2, slice_sizes={{1,4}}
  %x = i64[3,4,5] parameter(1)
  %idx = i64[2,2,2] parameter(2)
  %general = i64[2,2,2,3] gather(%x, %idx), offset_dims={{1,3}}, collapsed_slice_dims={{1}}, start_index_map={{2,0}}, index_vector_dim=0, slice_sizes={{2,1,3}}
  %ui = u16[3] parameter(3)
  %rows = i64[3,4,5] gather(%x, %ui), offset_dims={{1,2}}, collapsed_slice_dims={{0}}, start_index_map={{0}}, index_vector_dim=1, slice_sizes={{1,4,5}}
  ROOT %t = (f32[2,3,4], i64[2,2,2,3], i64[3,4,5]) tuple(%embed, %general, %rows)
}}
"""
    case("gather", kir, [ids, x, idx, ui], [g1, g2, g3])


def case_scatter():
    r = rng(22)
    base = dyadic(r, (5, 3)).astype(F32)
    idx = np.array([[1], [4], [1], [6], [-1], [0]], dtype=np.int32)  # 6 and -1 are out of bounds
    upd = dyadic(r, (6, 3)).astype(F32)
    outs = []
    for comb in ["add", "assign", "max", "min", "mul"]:
        outs.append(scatter_ref(base.astype(F64), idx, upd.astype(F64), [1], [0], [0], 1, comb).astype(F32))
    # windows of 2x2 into a 4x5 i32 operand; index vectors along dim 1; a window at column 4 does not fit
    xi = np.arange(20, dtype=np.int32).reshape(4, 5)
    wi = np.array([[0, 0], [2, 3], [1, 4], [2, 3]], dtype=np.int64)
    wu = (np.arange(16, dtype=np.int32).reshape(4, 2, 2) + 1) * 10
    outs.append(scatter_ref(xi, wi, wu, [1, 2], [], [0, 1], 1, "add"))
    # update window dims before the scatter dim: updates [3(window), 2(scatter)] into a [4,3] u8 operand
    xu = np.zeros((3, 4), dtype=np.uint8)
    ci = np.array([3, 0], dtype=np.uint32)
    cu = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.uint8) * 50
    outs.append(scatter_ref(xu, ci, cu, [0], [1], [1], 1, "add").astype(np.uint8))
    kir = """
module scatter

ENTRY %main outputs={"add", "assign", "max", "min", "mul", "windows", "columns"} {
  %base = f32[5,3] parameter(0)
  %idx = i32[6,1] parameter(1)
  %upd = f32[6,3] parameter(2)
  %add = f32[5,3] scatter(%base, %idx, %upd), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, combiner=add
  %assign = f32[5,3] scatter(%base, %idx, %upd), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, combiner=assign
  %max = f32[5,3] scatter(%base, %idx, %upd), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, combiner=max
  %min = f32[5,3] scatter(%base, %idx, %upd), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, combiner=min
  %mul = f32[5,3] scatter(%base, %idx, %upd), update_window_dims={1}, inserted_window_dims={0}, scatter_dims_to_operand_dims={0}, index_vector_dim=1, combiner=mul
  %xi = i32[4,5] parameter(3)
  %wi = i64[4,2] parameter(4)
  %wu = i32[4,2,2] parameter(5)
  %windows = i32[4,5] scatter(%xi, %wi, %wu), update_window_dims={1,2}, inserted_window_dims={}, scatter_dims_to_operand_dims={0,1}, index_vector_dim=1, combiner=add
  %xu = u8[3,4] parameter(6)
  %ci = u32[2] parameter(7)
  %cu = u8[3,2] parameter(8)
  %columns = u8[3,4] scatter(%xu, %ci, %cu), update_window_dims={0}, inserted_window_dims={1}, scatter_dims_to_operand_dims={1}, index_vector_dim=1, combiner=add
  ROOT %t = (f32[5,3], f32[5,3], f32[5,3], f32[5,3], f32[5,3], i32[4,5], u8[3,4]) tuple(%add, %assign, %max, %min, %mul, %windows, %columns)
}
"""
    case("scatter", kir, [base, idx, upd, xi, wi, wu, xu, ci, cu], outs)


def case_reduce():
    r = rng(31)
    x = r.uniform(-2, 2, (3, 4, 5)).astype(F32)
    x[2, 1, 3] = np.nan
    xd = x.astype(F64)
    outs = [rnd(np.sum(xd, axis=(0, 2)), "f32"), rnd(np.prod(xd[:, :, :2], axis=2), "f32"),
            np.max(xd, axis=1), np.min(xd, axis=(0, 1, 2)), rnd(np.sum(xd[0], axis=()), "f32")]
    outs = [np.asarray(o).astype(F32) for o in outs]
    xi = r.integers(-100, 100, (4, 6)).astype(np.int16)
    xi[0, 0] = 32767
    xi[0, 1] = 32767  # the sum wraps
    outs.append(np.array([wrap(int(v), "i16") for v in xi.astype(np.int64).sum(axis=1)], dtype=np.int16))
    outs.append(xi.max(axis=0))
    outs.append(xi.min(axis=0))
    xu = r.integers(0, 2**32, (5,), dtype=np.uint64).astype(np.uint32)
    outs.append(np.array(np.bitwise_or.reduce(xu), dtype=np.uint32))
    outs.append(np.array(np.bitwise_and.reduce(xu), dtype=np.uint32))
    xe = np.zeros((2, 0), dtype=F32)
    outs.append(np.array([-np.inf, -np.inf], dtype=F32))  # max over an empty dimension: the identity
    kir = """
module reduce

ENTRY %main outputs={"sum", "prod", "max", "min", "none", "isum", "imax", "imin", "uor", "uand", "empty"} {
  %x = f32[3,4,5] parameter(0)
  %sum = f32[4] reduce(%x), dimensions={0,2}, combiner=add
  %x2 = f32[3,4,2] slice(%x), slice={[0:3], [0:4], [0:2]}
  %prod = f32[3,4] reduce(%x2), dimensions={2}, combiner=mul
  %max = f32[3,5] reduce(%x), dimensions={1}, combiner=max
  %min = f32[] reduce(%x), dimensions={0,1,2}, combiner=min
  %x0 = f32[1,4,5] slice(%x), slice={[0:1], [0:4], [0:5]}
  %x0r = f32[4,5] reshape(%x0)
  %none = f32[4,5] reduce(%x0r), dimensions={}, combiner=add
  %xi = i16[4,6] parameter(1)
  %isum = i16[4] reduce(%xi), dimensions={1}, combiner=add
  %imax = i16[6] reduce(%xi), dimensions={0}, combiner=max
  %imin = i16[6] reduce(%xi), dimensions={0}, combiner=min
  %xu = u32[5] parameter(2)
  %uor = u32[] reduce(%xu), dimensions={0}, combiner=or
  %uand = u32[] reduce(%xu), dimensions={0}, combiner=and
  %xe = f32[2,0] parameter(3)
  %empty = f32[2] reduce(%xe), dimensions={1}, combiner=max
  ROOT %t = (f32[4], f32[3,4], f32[3,5], f32[], f32[4,5], i16[4], i16[6], i16[6], u32[], u32[], f32[2]) tuple(%sum, %prod, %max, %min, %none, %isum, %imax, %imin, %uor, %uand, %empty)
}
"""
    case("reduce", kir, [x, xi, xu, xe], outs)


def dilate_pad(a, d, dil, lo, hi, fill):
    """Along dimension d of a: dil - 1 holes between elements, then lo and
    hi elements of padding at the ends (negative: cropping); holes and
    padding hold `fill`."""
    n = a.shape[d]
    dn = (n - 1) * dil + 1 if n else 0
    shape = list(a.shape)
    shape[d] = dn
    dilated = np.full(shape, fill, dtype=a.dtype)
    idx = [slice(None)] * a.ndim
    idx[d] = slice(0, dn, dil)
    dilated[tuple(idx)] = a
    shape[d] = dn + lo + hi
    padded = np.full(shape, fill, dtype=a.dtype)
    src = [slice(None)] * a.ndim
    dst = [slice(None)] * a.ndim
    src[d] = slice(max(-lo, 0), dn - max(-hi, 0))
    dst[d] = slice(max(lo, 0), max(lo, 0) + (dn - max(-lo, 0) - max(-hi, 0)))
    padded[tuple(dst)] = dilated[tuple(src)]
    return padded


def window_ref(x, size, stride, pad, lhs, rhs, comb):
    """reduce_window from the definition: dilate with identity holes, pad with
    the identity (negative padding crops), combine each window."""
    ident = {"add": 0.0, "mul": 1.0, "max": -np.inf, "min": np.inf}[comb]
    xd = x.astype(F64)
    for d in range(x.ndim):
        xd = dilate_pad(xd, d, lhs[d], pad[d][0], pad[d][1], ident)
    eff = [(size[d] - 1) * rhs[d] + 1 for d in range(x.ndim)]
    out_shape = [max(0, (xd.shape[d] - eff[d]) // stride[d] + 1) if xd.shape[d] >= eff[d] else 0
                 for d in range(x.ndim)]
    acc = np.full(out_shape, ident)
    for k in np.ndindex(*size):
        sl = tuple(slice(k[d] * rhs[d], k[d] * rhs[d] + (out_shape[d] - 1) * stride[d] + 1, stride[d])
                   for d in range(x.ndim))
        v = xd[sl]
        if comb == "add":
            acc = acc + v
        elif comb == "mul":
            acc = acc * v
        elif comb == "max":
            acc = np.maximum(acc, v)
        else:
            acc = np.minimum(acc, v)
    return acc


def case_pooling():
    r = rng(41)
    x = r.uniform(-3, 3, (1, 2, 7, 7)).astype(F32)
    mp = window_ref(x, [1, 1, 3, 3], [1, 1, 2, 2], [(0, 0), (0, 0), (1, 1), (1, 1)], [1] * 4, [1] * 4, "max")
    sp = window_ref(x, [1, 1, 2, 2], [1, 1, 2, 2], [(0, 0), (0, 0), (0, 1), (0, 1)], [1] * 4, [1] * 4, "add")
    ap = rnd(rnd(sp, "f32") / 4.0, "f32")
    y = r.uniform(-1, 1, (5, 6)).astype(F32)
    dl = window_ref(y, [2, 3], [1, 2], [(1, -1), (2, 1)], [2, 1], [1, 2], "add")
    yi = r.integers(-50, 50, (4, 4)).astype(np.int8)
    mi = window_ref(yi, [2, 2], [2, 1], [(0, 0), (1, 0)], [1, 1], [1, 1], "min")
    mi = mi.astype(np.int8)  # the identity (127) survives only in padding-only windows; there are none
    kir = """
module pooling

ENTRY %main outputs={"maxpool", "avgpool", "dilated", "imin"} {
  %x = f32[1,2,7,7] parameter(0)
  %maxpool = f32[1,2,4,4] reduce_window(%x), window={size=1x1x3x3 stride=1x1x2x2 pad=0_0x0_0x1_1x1_1}, combiner=max
  %s = f32[1,2,4,4] reduce_window(%x), window={size=1x1x2x2 stride=1x1x2x2 pad=0_0x0_0x0_1x0_1}, combiner=add
  %four = f32[] constant(4)
  %fb = f32[1,2,4,4] broadcast(%four), dimensions={}
  %avgpool = f32[1,2,4,4] div(%s, %fb)
  %y = f32[5,6] parameter(1)
  %dilated = f32[8,3] reduce_window(%y), window={size=2x3 stride=1x2 pad=1_-1x2_1 lhs_dilate=2x1 rhs_dilate=1x2}, combiner=add
  %yi = i8[4,4] parameter(2)
  %imin = i8[2,4] reduce_window(%yi), window={size=2x2 stride=2x1 pad=0_0x1_0}, combiner=min
  ROOT %t = (f32[1,2,4,4], f32[1,2,4,4], f32[8,3], i8[2,4]) tuple(%maxpool, %avgpool, %dilated, %imin)
}
"""
    case("pooling", kir, [x, y, yi], [mp.astype(F32), ap.astype(F32), rnd(dl, "f32").astype(F32), mi])


def conv_ref(x, w, stride, pad, lhs, rhs, groups):
    """Convolution on canonical orders: x [N, C, S...], w [O, I, K...] ->
    [N, O, P...], from the definition (zero padding and dilation holes)."""
    ns = x.ndim - 2
    xd = x.astype(F64) if x.dtype.kind == "f" else x.astype(object)
    wd = w.astype(F64) if w.dtype.kind == "f" else w.astype(object)
    for s in range(ns):
        xd = dilate_pad(xd, s + 2, lhs[s], pad[s][0], pad[s][1], 0)
    N, C = x.shape[:2]
    O, I = w.shape[:2]
    K = w.shape[2:]
    eff = [(K[s] - 1) * rhs[s] + 1 for s in range(ns)]
    P = [(xd.shape[2 + s] - eff[s]) // stride[s] + 1 for s in range(ns)]
    Og = O // groups
    out = np.zeros([N, O] + P, dtype=xd.dtype)
    for n in range(N):
        for o in range(O):
            g = o // Og
            for p in np.ndindex(*P):
                acc = 0
                for i in range(I):
                    for k in np.ndindex(*K):
                        pos = tuple(p[s] * stride[s] + k[s] * rhs[s] for s in range(ns))
                        acc += wd[(o, i) + k] * xd[(n, g * I + i) + pos]
                out[(n, o) + p] = acc
    return out


def case_conv():
    r = rng(51)
    # a conv block: NCHW conv 3x3 pad 1 + bias + relu
    x = dyadic(r, (1, 3, 5, 5)).astype(F32)
    w = dyadic(r, (4, 3, 3, 3)).astype(F32)
    b = dyadic(r, (4,)).astype(F32)
    c = rnd(conv_ref(x, w, [1, 1], [(1, 1), (1, 1)], [1, 1], [1, 1], 1), "f32")
    c = rnd(c + b[None, :, None, None], "f32")
    y1 = np.maximum(c, 0).astype(F32)
    # NHWC with HWIO kernel, groups 2, stride 2, kernel dilation 2, asymmetric padding
    xh = r.uniform(-1, 1, (2, 7, 6, 4)).astype(F32)
    wh = r.uniform(-1, 1, (3, 2, 2, 6)).astype(F32)  # [kh, kw, I=2, O=6]
    xc = np.transpose(xh, (0, 3, 1, 2))
    wc = np.transpose(wh, (3, 2, 0, 1))
    y2 = conv_ref(xc, wc, [2, 2], [(1, 2), (0, 1)], [1, 1], [2, 2], 2)
    y2 = rnd(np.transpose(y2, (0, 2, 3, 1)), "f32").astype(F32)
    # transposed conv: lhs dilation 2 and negative padding, kernel in io01 order
    xt = r.uniform(-1, 1, (1, 2, 3, 3)).astype(F32)
    wt = r.uniform(-1, 1, (2, 3, 3, 3)).astype(F32)  # [I=2, O=3, kh, kw] (io01)
    y3 = conv_ref(xt, np.transpose(wt, (1, 0, 2, 3)), [1, 1], [(2, 2), (-1, 1)], [2, 2], [1, 1], 1)
    y3 = rnd(y3, "f32").astype(F32)
    # depthwise 1D over i8 with an i32 result, spatial-first labels 0bf
    xi = r.integers(-128, 128, (9, 1, 3)).astype(np.int8)  # [W, N, C]
    wi = r.integers(-128, 128, (3, 1, 3)).astype(np.int8)  # [K, I=1, O=3]
    xic = np.transpose(xi, (1, 2, 0))
    wic = np.transpose(wi, (2, 1, 0))
    y4 = conv_ref(xic, wic, [2], [(1, 1)], [1], [1], 3)
    y4 = np.transpose(y4, (2, 0, 1)).astype(np.int64).astype(np.int32)
    kir = f"""
module conv

ENTRY %main outputs={{"block", "nhwc_grouped", "transposed", "depthwise_i8"}} {{
  %x = f32[1,3,5,5] parameter(0)
  %w = f32[4,3,3,3] constant({lit(w, 'f32')})
  %b = f32[4] constant({lit(b, 'f32')})
  %c = f32[1,4,5,5] convolution(%x, %w), window={{size=3x3 pad=1_1x1_1}}, dim_labels=bf01_oi01->bf01
  %bb = f32[1,4,5,5] broadcast(%b), dimensions={{1}}
  %cb = f32[1,4,5,5] add(%c, %bb)
  %z = f32[] constant(0)
  %zb = f32[1,4,5,5] broadcast(%z), dimensions={{}}
  %block = f32[1,4,5,5] max(%cb, %zb)
  %xh = f32[2,7,6,4] parameter(1)
  %wh = f32[3,2,2,6] parameter(2)
  %nhwc_grouped = f32[2,3,3,6] convolution(%xh, %wh), window={{size=3x2 stride=2x2 pad=1_2x0_1 rhs_dilate=2x2}}, dim_labels=b01f_01io->b01f, feature_group_count=2
  %xt = f32[1,2,3,3] parameter(3)
  %wt = f32[2,3,3,3] parameter(4)
  %transposed = f32[1,3,7,3] convolution(%xt, %wt), window={{size=3x3 pad=2_2x-1_1 lhs_dilate=2x2}}, dim_labels=bf01_io01->bf01
  %xi = i8[9,1,3] parameter(5)
  %wi = i8[3,1,3] parameter(6)
  %depthwise_i8 = i32[5,1,3] convolution(%xi, %wi), window={{size=3 stride=2 pad=1_1}}, dim_labels=0bf_0io->0bf, feature_group_count=3
  ROOT %t = (f32[1,4,5,5], f32[2,3,3,6], f32[1,3,7,3], i32[5,1,3]) tuple(%block, %nhwc_grouped, %transposed, %depthwise_i8)
}}
"""
    case("conv", kir, [x, xh, wh, xt, wt, xi, wi], [y1, y2, y3, y4])


def case_dot():
    r = rng(61)
    a = r.uniform(-1, 1, (2, 3, 4)).astype(F32)  # [B, M, K]
    b = r.uniform(-1, 1, (2, 4, 5)).astype(F32)  # [B, K, N]
    d1 = rnd(np.einsum("bmk,bkn->bmn", a.astype(F64), b.astype(F64)), "f32").astype(F32)
    # unusual orders: lhs [K, B, M], rhs [N, B, K]; two contracting dims on a second pair
    a2 = np.transpose(a, (2, 0, 1)).copy()
    b2 = np.transpose(b, (2, 0, 1)).copy()
    d2 = d1  # same product, result [B, M, N]
    c = r.uniform(-1, 1, (3, 2, 4)).astype(F64)
    e = r.uniform(-1, 1, (4, 3, 2)).astype(F64)
    d3 = np.einsum("ijk,kij->", c, e)
    h = rnd(r.uniform(-2, 2, (3, 8)), "f16").astype(F16)
    g = rnd(r.uniform(-2, 2, (8, 2)), "f16").astype(F16)
    d4 = rnd(h.astype(F64) @ g.astype(F64), "f32").astype(F32)
    qi = r.integers(-128, 128, (2, 16)).astype(np.int8)
    ki = r.integers(-128, 128, (16, 3)).astype(np.int8)
    d5 = (qi.astype(np.int64) @ ki.astype(np.int64)).astype(np.int32)
    ua = r.integers(0, 256, (2, 3)).astype(np.uint8)
    ub = r.integers(0, 256, (3, 2)).astype(np.uint8)
    d6 = np.array([[wrap(int(v), "u8") for v in row] for row in (ua.astype(np.int64) @ ub.astype(np.int64))],
                  dtype=np.uint8)
    kir = """
module dot

ENTRY %main outputs={"batched", "permuted", "full", "f16_to_f32", "i8_to_i32", "u8_wrap"} {
  %a = f32[2,3,4] parameter(0)
  %b = f32[2,4,5] parameter(1)
  %batched = f32[2,3,5] dot(%a, %b), lhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_batch_dims={0}, rhs_contracting_dims={1}
  %a2 = f32[4,2,3] parameter(2)
  %b2 = f32[5,2,4] parameter(3)
  %permuted = f32[2,3,5] dot(%a2, %b2), lhs_batch_dims={1}, lhs_contracting_dims={0}, rhs_batch_dims={1}, rhs_contracting_dims={2}
  %c = f64[3,2,4] parameter(4)
  %e = f64[4,3,2] parameter(5)
  %full = f64[] dot(%c, %e), lhs_contracting_dims={0,1,2}, rhs_contracting_dims={1,2,0}
  %h = f16[3,8] parameter(6)
  %g = f16[8,2] parameter(7)
  %f16_to_f32 = f32[3,2] dot(%h, %g), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %qi = i8[2,16] parameter(8)
  %ki = i8[16,3] parameter(9)
  %i8_to_i32 = i32[2,3] dot(%qi, %ki), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %ua = u8[2,3] parameter(10)
  %ub = u8[3,2] parameter(11)
  %u8_wrap = u8[2,2] dot(%ua, %ub), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  ROOT %t = (f32[2,3,5], f32[2,3,5], f64[], f32[3,2], i32[2,3], u8[2,2]) tuple(%batched, %permuted, %full, %f16_to_f32, %i8_to_i32, %u8_wrap)
}
"""
    case("dot", kir, [a, b, a2, b2, c, e, h, g, qi, ki, ua, ub], [d1, d2, np.array(d3), d4, d5, d6])


def case_attention():
    r = rng(71)
    q = r.uniform(-1, 1, (2, 4, 8)).astype(F32)
    k = r.uniform(-1, 1, (2, 4, 8)).astype(F32)
    v = r.uniform(-1, 1, (2, 4, 8)).astype(F32)
    f = lambda a: rnd(a, "f32")
    s = f(np.einsum("bqd,bkd->bqk", q.astype(F64), k.astype(F64)))
    scale = float(np.float32(1 / math.sqrt(8)))
    s = f(s * scale)
    m = np.max(s, axis=2)
    e = f(np.exp(f(s - m[:, :, None])))
    z = f(np.sum(e, axis=2))
    p = f(e / z[:, :, None])
    o = f(np.einsum("bqk,bkd->bqd", p, v.astype(F64)))
    kir = f"""
module attention

ENTRY %main outputs={{"out", "probs"}} {{
  %q = f32[2,4,8] parameter(0), io_name="query"
  %k = f32[2,4,8] parameter(1), io_name="key"
  %v = f32[2,4,8] parameter(2), io_name="value"
  %s = f32[2,4,4] dot(%q, %k), lhs_batch_dims={{0}}, lhs_contracting_dims={{2}}, rhs_batch_dims={{0}}, rhs_contracting_dims={{2}}
  %scale = f32[] constant({fmt_elem(scale, 'f32')})
  %sb = f32[2,4,4] broadcast(%scale), dimensions={{}}
  %ss = f32[2,4,4] mul(%s, %sb)
  %m = f32[2,4] reduce(%ss), dimensions={{2}}, combiner=max
  %mb = f32[2,4,4] broadcast(%m), dimensions={{0,1}}
  %d = f32[2,4,4] sub(%ss, %mb)
  %e = f32[2,4,4] exp(%d)
  %z = f32[2,4] reduce(%e), dimensions={{2}}, combiner=add
  %zb = f32[2,4,4] broadcast(%z), dimensions={{0,1}}
  %p = f32[2,4,4] div(%e, %zb)
  %o = f32[2,4,8] dot(%p, %v), lhs_batch_dims={{0}}, lhs_contracting_dims={{2}}, rhs_batch_dims={{0}}, rhs_contracting_dims={{1}}
  ROOT %t = (f32[2,4,8], f32[2,4,4]) tuple(%o, %p)
}}
"""
    case("attention", kir, [q, k, v], [o.astype(F32), p.astype(F32)])


def stable_order(keys, descending):
    def key(i):
        v = keys[i]
        if isinstance(v, float) and math.isnan(v):
            return (0, 0) if descending else (1, 0)
        return (1, -v) if descending else (0, v)
    return sorted(range(len(keys)), key=key)  # Python's sort is stable


def case_sort():
    k = np.array([3.0, np.nan, -1.0, 3.0, np.inf, -0.0, 0.0, np.nan, -np.inf, 2.0], dtype=F32)
    vals = np.arange(10, dtype=np.int32)
    kl = [float(x) for x in k]
    asc = stable_order(kl, False)
    desc = stable_order(kl, True)
    ki = np.array([[5, -3, 5, 0], [2, 2, -7, 9], [-1, 4, 4, -1]], dtype=np.int64)  # sort along dim 0
    idx = np.zeros_like(ki, dtype=np.int32)
    for j in range(4):
        idx[:, j] = np.arange(3)
    ki_sorted = ki.copy()
    idx_sorted = idx.copy()
    for j in range(4):
        o = stable_order([int(v) for v in ki[:, j]], True)
        ki_sorted[:, j] = ki[o, j]
        idx_sorted[:, j] = idx[o, j]
    ku = np.array([200, 3, 255, 3, 0], dtype=np.uint8)
    ku_sorted = ku[stable_order([int(v) for v in ku], False)]
    kir = """
module sort

ENTRY %main outputs={"keys_asc", "vals_asc", "keys_desc", "vals_desc", "cols_desc", "cols_idx", "u8_asc"} {
  %k = f32[10] parameter(0)
  %v = i32[10] parameter(1)
  %asc = (f32[10], i32[10]) sort(%k, %v), dimensions={0}
  %keys_asc = f32[10] get_tuple_element(%asc), index=0
  %vals_asc = i32[10] get_tuple_element(%asc), index=1
  %desc = (f32[10], i32[10]) sort(%k, %v), dimensions={0}, descending=true
  %keys_desc = f32[10] get_tuple_element(%desc), index=0
  %vals_desc = i32[10] get_tuple_element(%desc), index=1
  %ki = i64[3,4] parameter(2)
  %idx = i32[3,4] iota(), iota_dimension=0
  %cols = (i64[3,4], i32[3,4]) sort(%ki, %idx), dimensions={0}, descending=true
  %cols_desc = i64[3,4] get_tuple_element(%cols), index=0
  %cols_idx = i32[3,4] get_tuple_element(%cols), index=1
  %ku = u8[5] parameter(3)
  %u8_asc = u8[5] sort(%ku), dimensions={0}
  ROOT %t = (f32[10], i32[10], f32[10], i32[10], i64[3,4], i32[3,4], u8[5]) tuple(%keys_asc, %vals_asc, %keys_desc, %vals_desc, %cols_desc, %cols_idx, %u8_asc)
}
"""
    case("sort", kir, [k, vals, ki, ku],
         [k[asc], vals[asc], k[desc], vals[desc], ki_sorted, idx_sorted, ku_sorted])


def case_fusion():
    r = rng(81)
    x = dyadic(r, (3, 4)).astype(F32)
    y = dyadic(r, (3, 4)).astype(F32)
    f = lambda a: rnd(a, "f32")
    # inner: gelu-ish tanh(x*y) + x; outer loop fusion calls inner and adds 1
    inner = f(f(np.tanh(f(x.astype(F64) * y))) + x)
    outer = f(inner + 1.0)
    # multi-output fusion: (sum over dim 1 of x*y, max(x, y))
    prod = f(x.astype(F64) * y)
    red = f(np.sum(prod, axis=1))
    mx = np.maximum(x, y)
    kir = """
module fusion

%fused_inner {
  %p0 = f32[3,4] parameter(0)
  %p1 = f32[3,4] parameter(1)
  %m = f32[3,4] mul(%p0, %p1)
  %th = f32[3,4] tanh(%m)
  ROOT %a = f32[3,4] add(%th, %p0)
}

%fused_outer {
  %q0 = f32[3,4] parameter(0)
  %q1 = f32[3,4] parameter(1)
  %in = f32[3,4] fusion(%q0, %q1), kind=loop, calls=%fused_inner
  %one = f32[] constant(1)
  %ob = f32[3,4] broadcast(%one), dimensions={}
  ROOT %r = f32[3,4] add(%in, %ob)
}

%fused_multi {
  %r0 = f32[3,4] parameter(0)
  %r1 = f32[3,4] parameter(1)
  %pr = f32[3,4] mul(%r0, %r1)
  %sm = f32[3] reduce(%pr), dimensions={1}, combiner=add
  %mx = f32[3,4] max(%r0, %r1)
  ROOT %tt = (f32[3], f32[3,4]) tuple(%sm, %mx)
}

ENTRY %main outputs={"outer", "rowsum", "max"} {
  %x = f32[3,4] parameter(0)
  %y = f32[3,4] parameter(1)
  %outer = f32[3,4] fusion(%x, %y), kind=loop, calls=%fused_outer
  %multi = (f32[3], f32[3,4]) fusion(%x, %y), kind=input, calls=%fused_multi
  %rowsum = f32[3] get_tuple_element(%multi), index=0
  %max = f32[3,4] get_tuple_element(%multi), index=1
  ROOT %t = (f32[3,4], f32[3], f32[3,4]) tuple(%outer, %rowsum, %max)
}
"""
    case("fusion", kir, [x, y], [outer.astype(F32), red.astype(F32), mx])


def case_custom_call():
    # The test runner registers "kiln.test.axpy": out = a * in0 + in1 with the
    # scalar a parsed from backend_config, computed in double and rounded once.
    r = rng(91)
    x = dyadic(r, (2, 3)).astype(F32)
    y = dyadic(r, (2, 3)).astype(F32)
    z = rnd(2.5 * x.astype(F64) + y, "f32")
    n = rnd(-z, "f32")
    kir = """
module custom_call

ENTRY %main outputs={"axpy", "neg"} {
  %x = f32[2,3] parameter(0)
  %y = f32[2,3] parameter(1)
  %z = f32[2,3] custom_call(%x, %y), custom_call_target="kiln.test.axpy", backend_config="2.5"
  %n = f32[2,3] neg(%z)
  ROOT %t = (f32[2,3], f32[2,3]) tuple(%z, %n)
}
"""
    case("custom_call", kir, [x, y], [z.astype(F32), n.astype(F32)])


def case_dimension_size():
    # get_dimension_size reads the logical dimension, whatever the layout:
    # x is column-major here. The sizes are the shapes written below.
    r = rng(95)
    x = dyadic(r, (3, 5)).astype(F32)
    y = np.arange(24, dtype=np.int32).reshape(2, 1, 4, 3)
    scaled = rnd(x.astype(F64) * 5.0, "f32")
    kir = """
module dimension_size

ENTRY %main outputs={"n0", "n1", "n2", "scaled"} {
  %x = f32[3,5]{0,1} parameter(0)
  %y = i32[2,1,4,3] parameter(1)
  %n0 = i64[] get_dimension_size(%x), index=0
  %n1 = i64[] get_dimension_size(%x), index=1
  %n2 = i64[] get_dimension_size(%y), index=2
  %c = f32[] convert(%n1)
  %cb = f32[3,5] broadcast(%c), dimensions={}
  %scaled = f32[3,5] mul(%x, %cb)
  ROOT %t = (i64[], i64[], i64[], f32[3,5]) tuple(%n0, %n1, %n2, %scaled)
}
"""
    case("dimension_size", kir, [x, y],
         [np.array(3, np.int64), np.array(5, np.int64), np.array(4, np.int64), scaled.astype(F32)],
         layouts={("in", 0): [0, 1]})


def case_set_symbol():
    # A size that values decide: n = the number of positive entries; the
    # sum of the first n entries of x and an n-long iota's sum are static
    # results of it (the outputs keep static shapes: the case files hold
    # one shape per output).
    x = np.array([3, -1, 2, 0, 5, 7, -4, 1], dtype=F32)
    n = int((x > 0).sum())
    head = x[:n].astype(F64).sum()
    kir = """
module set_symbol
symbol n <= 8, computed

ENTRY %main outputs={"n", "head", "tri"} {
  %x = f32[8] parameter(0)
  %zero = f32[] constant(0)
  %z = f32[8] broadcast(%zero), dimensions={}
  %p = pred[8] compare(%x, %z), direction=GT
  %pi = i32[8] convert(%p)
  %cnt = i32[] reduce(%pi), dimensions={0}, combiner=add
  %n = i64[] set_symbol(%cnt), index=0
  %xs = f32[n] slice(%x), slice={[0:n]}
  %head = f32[] reduce(%xs), dimensions={0}, combiner=add
  %io = i64[n] iota(), iota_dimension=0
  %tri = i64[] reduce(%io), dimensions={0}, combiner=add
  ROOT %t = (i64[], f32[], i64[]) tuple(%n, %head, %tri)
}
"""
    case("set_symbol", kir, [x],
         [np.array(n, np.int64), np.array(head, F32), np.array(n * (n - 1) // 2, np.int64)])


def case_assert():
    # assert(ok, x) is x when ok holds (a failing one is tested in
    # tests/symbolic/test_computed.py: the run must stop).
    x = np.array([[1.5, -2, 0.25], [4, 5, -6]], dtype=F32)
    kir = """
module assert_pass

ENTRY %main outputs={"y", "n"} {
  %x = f32[2,3] parameter(0)
  %zero = f32[] constant(0)
  %s = f32[] reduce(%x), dimensions={0,1}, combiner=add
  %ok = pred[] compare(%s, %zero), direction=GT
  %y = f32[2,3] assert(%ok, %x), message="the sum must be positive"
  %c = i64[] constant(6)
  %n = i64[] assert(%ok, %c), message="again"
  ROOT %t = (f32[2,3], i64[]) tuple(%y, %n)
}
"""
    case("assert", kir, [x], [x, np.array(6, np.int64)])


def case_layouts():
    r = rng(101)
    a = dyadic(r, (2, 3)).astype(F32)  # declared {0,1}: column-major in memory
    b = dyadic(r, (3, 2, 4)).astype(F32)  # declared {0,2,1}
    s = rnd(a.astype(F64) + 1.0, "f32").astype(F32)
    t = np.transpose(b, (1, 0, 2))  # [2,3,4]
    kir = """
module layouts

ENTRY %main outputs={"sum", "trans", "same"} {
  %a = f32[2,3]{0,1} parameter(0)
  %b = f32[3,2,4]{0,2,1} parameter(1)
  %one = f32[] constant(1)
  %ob = f32[2,3]{1,0} broadcast(%one), dimensions={}
  %sum = f32[2,3]{0,1} add(%a, %ob)
  %trans = f32[2,3,4]{1,2,0} transpose(%b), dimensions={1,0,2}
  ROOT %t = (f32[2,3]{0,1}, f32[2,3,4]{1,2,0}, f32[3,2,4]{0,2,1}) tuple(%sum, %trans, %b)
}
"""
    case("layouts", kir, [a, b], [s, t, b],
         layouts={("in", 0): [0, 1], ("in", 1): [0, 2, 1], ("out", 0): [0, 1], ("out", 1): [1, 2, 0],
                  ("out", 2): [0, 2, 1]})


def case_f16_block():
    r = rng(111)
    x = rnd(r.uniform(-2, 2, (2, 8)), "f16").astype(F16)
    w = rnd(r.uniform(-1, 1, (8, 4)), "f16").astype(F16)
    f = lambda a: rnd(a, "f16")
    d = f(x.astype(F64) @ w.astype(F64))
    m = np.max(d, axis=1)
    e = f(np.exp(f(d - m[:, None])))
    s = f(np.sum(e, axis=1))
    p = f(e / s[:, None])
    ln = np.log(p.astype(F64))
    ln = f(ln)
    kir = """
module f16_softmax

ENTRY %main outputs={"probs", "logprobs"} {
  %x = f16[2,8] parameter(0)
  %w = f16[8,4] parameter(1)
  %d = f16[2,4] dot(%x, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %m = f16[2] reduce(%d), dimensions={1}, combiner=max
  %mb = f16[2,4] broadcast(%m), dimensions={0}
  %c = f16[2,4] sub(%d, %mb)
  %e = f16[2,4] exp(%c)
  %s = f16[2] reduce(%e), dimensions={1}, combiner=add
  %sb = f16[2,4] broadcast(%s), dimensions={0}
  %p = f16[2,4] div(%e, %sb)
  %l = f16[2,4] log(%p)
  ROOT %t = (f16[2,4], f16[2,4]) tuple(%p, %l)
}
"""
    case("f16_softmax", kir, [x, w], [p.astype(F16), ln.astype(F16)])


def case_control_flow():
    # while with a trip count from an input; in its body a conditional on
    # the running sum (halve above 10, else add 3). Values are dyadic, so
    # every step is exact in f32.
    kir = """
module control_flow

%cond {
  %ci = i32[] parameter(0)
  %cn = i32[] parameter(1)
  %cx = f32[4] parameter(2)
  ROOT %clt = pred[] compare(%ci, %cn), direction=LT
}

%halve {
  %hx = f32[4] parameter(0)
  %half = f32[] constant(0.5)
  %hb = f32[4] broadcast(%half), dimensions={}
  %hm = f32[4] mul(%hx, %hb)
  ROOT %ht = (f32[4]) tuple(%hm)
}

%grow {
  %gx = f32[4] parameter(0)
  %three = f32[] constant(3)
  %gb = f32[4] broadcast(%three), dimensions={}
  %ga = f32[4] add(%gx, %gb)
  ROOT %gt = (f32[4]) tuple(%ga)
}

%body {
  %bi = i32[] parameter(0)
  %bn = i32[] parameter(1)
  %bx = f32[4] parameter(2)
  %one = i32[] constant(1)
  %bi1 = i32[] add(%bi, %one)
  %s = f32[] reduce(%bx), dimensions={0}, combiner=add
  %ten = f32[] constant(10)
  %big = pred[] compare(%s, %ten), direction=GT
  %c = (f32[4]) conditional(%big, %bx), true_computation=%halve, false_computation=%grow
  %nx = f32[4] get_tuple_element(%c), index=0
  ROOT %bt = (i32[], i32[], f32[4]) tuple(%bi1, %bn, %nx)
}

ENTRY %main outputs={"x", "iters"} {
  %n = i32[] parameter(0)
  %x0 = f32[4] parameter(1)
  %zero = i32[] constant(0)
  %w = (i32[], i32[], f32[4]) while(%zero, %n, %x0), condition=%cond, body=%body
  %x = f32[4] get_tuple_element(%w), index=2
  %iters = i32[] get_tuple_element(%w), index=0
  ROOT %t = (f32[4], i32[]) tuple(%x, %iters)
}
"""
    r = rng(91)
    for name, n in (("control_flow", 7), ("control_flow_no_trip", -2)):
        x0 = dyadic(r, (4,)).astype(F32)
        x = x0.astype(F64)
        for _ in range(max(n, 0)):
            x = x * 0.5 if x.sum() > 10 else x + 3.0
        case(name, kir, [np.array(n, np.int32), x0], [x.astype(F32), np.array(max(n, 0), np.int32)])


def main():
    np.seterr(all="ignore")
    case_mlp()
    for i, t in enumerate(["f32", "f64", "f16"]):
        unary_case(t, 100 + i)
    for i, t in enumerate(["f32", "f64", "f16"]):
        case_binary_f(t, 200 + i)
    for i, t in enumerate(["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"]):
        case_int(t, 300 + i)
    case_convert()
    case_bf16()
    case_pred()
    case_data_movement()
    case_gather()
    case_scatter()
    case_reduce()
    case_pooling()
    case_conv()
    case_dot()
    case_attention()
    case_sort()
    case_fusion()
    case_custom_call()
    case_dimension_size()
    case_set_symbol()
    case_assert()
    case_layouts()
    case_f16_block()
    case_control_flow()
    if sys.argv[1:] == ["--check"]:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = os.path.join(tmp, "cases")
            write_all(fresh)
            sys.exit(case_tree.check(fresh, OUT, "tests/ir/eval/gen_cases.py"))
    write_all(OUT)
    print("wrote %d cases to %s" % (len(CASES), OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
