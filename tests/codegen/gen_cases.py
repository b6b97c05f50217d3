#!/usr/bin/python3
"""Writes the code generator's own cases: tests/codegen/cases/<name>/.

Same layout as tests/ir/eval/cases (see tests/ir/eval/gen_cases.py): a kiln
IR program (model.kir), inputs in0.npy..., expected outputs out0.npy...,
computed here with NumPy from the semantics in docs/ir.md (in float64 and
rounded once to the result type per IR op). Nothing here runs kiln.

These cases are about what the tiny interpreter cases cannot reach: shapes
big enough for parallel loops and for rows split into blocks, vectorized
loop bodies with their remainders, buffer reuse over long chains, outputs
that alias parameters, constants or each other, zero-size arrays, large
sorts, and the accuracy of the math functions over wide ranges.

A case may have a file `tolerance` ("rtol atol  reason"): it replaces the
default float tolerances for every float output of that case; each says why.

Run with /usr/bin/python3; the output is deterministic (fixed seeds). With
--check it writes into a temporary folder instead and fails if the result
differs from the checked-in cases (the Meson test "codegen cases are up to
date"): models, inputs and tolerance files byte for byte, expected outputs
by value within the tolerance of tests/common/case_tree.py, since NumPy's
float results (the BLAS kernel of a float64 matmul, its SIMD exp, ...)
differ in the last bits between CPUs.
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
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import case_tree  # noqa: E402  (the --check comparison)

OUT = os.path.join(HERE, "cases")
F16, F32, F64 = np.float16, np.float32, np.float64
CASES = []


def case(name, kir, inputs, outputs, tol=None):
    CASES.append((name, kir.strip() + "\n", inputs, outputs, tol))


def f32(a):
    return np.asarray(a, dtype=F64).astype(F32)


def rng(seed):
    return np.random.RandomState(seed)


def eighths(r, shape):
    """Random f32 weights in [-1, 1), multiples of 1/8 (lit() prints them
    exactly)."""
    return (r.randint(-8, 8, shape) / 8).astype(F32)


def big_elementwise():
    r = rng(1)
    x = f32(r.uniform(-3, 3, (3, 9000)))        # rows of 9000: blocks of 4096 + a partial one
    b = f32(r.uniform(-1, 1, 9000))
    xi = r.randint(-10**6, 10**6, 30000).astype(np.int32)
    m = f32(x.astype(F64) * b.astype(F64)[None, :])
    y = f32(np.tanh(m.astype(F64)))
    e = f32(np.exp(x.astype(F64)))
    q = np.fmod(xi.astype(np.int64), 7).astype(np.int32)  # C remainder: sign of the dividend
    kir = """
module big_elementwise

ENTRY %main outputs={"y", "e", "r"} {
  %x = f32[3,9000] parameter(0)
  %b = f32[9000] parameter(1)
  %bb = f32[3,9000] broadcast(%b), dimensions={1}
  %m = f32[3,9000] mul(%x, %bb)
  %y = f32[3,9000] tanh(%m)
  %e = f32[3,9000] exp(%x)
  %xi = i32[30000] parameter(2)
  %c = i32[] constant(7)
  %cb = i32[30000] broadcast(%c), dimensions={}
  %r = i32[30000] rem(%xi, %cb)
  ROOT %t = (f32[3,9000], f32[3,9000], i32[30000]) tuple(%y, %e, %r)
}
"""
    case("big_elementwise", kir, [x, b, xi], [y, e, q])


def big_reduce():
    r = rng(2)
    x = f32(r.uniform(-1, 1, (16, 5000)))
    xi = r.randint(-2**31, 2**31, 30000, dtype=np.int64).astype(np.int32)
    h = r.uniform(-1, 1, 4096).astype(F16)
    rows = f32(x.astype(F64).sum(axis=1))
    mx = x.max(axis=1)
    cols = f32(x.astype(F64).sum(axis=0))
    isum = np.array(xi.astype(np.int64).sum() & 0xffffffff, dtype=np.uint64).astype(np.uint32).view(np.int32)
    hs = np.array(h.astype(F64).sum(), dtype=F64).astype(F16)
    kir = """
module big_reduce

ENTRY %main outputs={"rows", "max", "cols", "isum", "hsum"} {
  %x = f32[16,5000] parameter(0)
  %xi = i32[30000] parameter(1)
  %h = f16[4096] parameter(2)
  %rows = f32[16] reduce(%x), dimensions={1}, combiner=add
  %max = f32[16] reduce(%x), dimensions={1}, combiner=max
  %cols = f32[5000] reduce(%x), dimensions={0}, combiner=add
  %isum = i32[] reduce(%xi), dimensions={0}, combiner=add
  %hsum = f16[] reduce(%h), dimensions={0}, combiner=add
  ROOT %t = (f32[16], f32[16], f32[5000], i32[], f16[]) tuple(%rows, %max, %cols, %isum, %hsum)
}
"""
    case("big_reduce", kir, [x, xi, h], [rows, mx, cols, isum, hs],
         tol="1e-6 2e-4  float sums of up to 5000 terms in [-1,1] accumulate in float, not double")


def big_dot():
    r = rng(3)
    a = f32(r.uniform(-1, 1, (96, 300)))
    b = f32(r.uniform(-1, 1, (300, 80)))
    bias = f32(r.uniform(-1, 1, 80))
    d = f32(a.astype(F64) @ b.astype(F64))
    y = f32(np.maximum(f32(d.astype(F64) + bias.astype(F64)[None, :]), 0))
    p = f32(r.uniform(-1, 1, (6, 40, 70)))
    q = f32(r.uniform(-1, 1, (6, 70, 30)))
    bd = f32(np.einsum("bij,bjk->bik", p.astype(F64), q.astype(F64)))
    t = f32(r.uniform(-1, 1, (50, 300)))                 # rhs contracted on its dim 1: a @ t.T
    dt = f32(a.astype(F64) @ t.astype(F64).T)
    g = r.uniform(-1, 1, (50, 200))
    k = r.uniform(-1, 1, (200, 60))
    d64 = g @ k
    kir = """
module big_dot

ENTRY %main outputs={"y", "batched", "trans", "d64"} {
  %a = f32[96,300] parameter(0)
  %b = f32[300,80] parameter(1)
  %bias = f32[80] parameter(2)
  %d = f32[96,80] dot(%a, %b), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %bb = f32[96,80] broadcast(%bias), dimensions={1}
  %s = f32[96,80] add(%d, %bb)
  %z = f32[] constant(0)
  %zb = f32[96,80] broadcast(%z), dimensions={}
  %y = f32[96,80] max(%s, %zb)
  %p = f32[6,40,70] parameter(3)
  %q = f32[6,70,30] parameter(4)
  %batched = f32[6,40,30] dot(%p, %q), lhs_batch_dims={0}, rhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_contracting_dims={1}
  %tt = f32[50,300] parameter(5)
  %trans = f32[96,50] dot(%a, %tt), lhs_contracting_dims={1}, rhs_contracting_dims={1}
  %g = f64[50,200] parameter(6)
  %k = f64[200,60] parameter(7)
  %d64 = f64[50,60] dot(%g, %k), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  ROOT %t = (f32[96,80], f32[6,40,30], f32[96,50], f64[50,60]) tuple(%y, %batched, %trans, %d64)
}
"""
    case("big_dot", kir, [a, b, bias, p, q, t, g, k], [y, bd, dt, d64],
         tol="2e-6 2e-5  products summed over up to 300 terms in float (f64: in double, far inside this)")


def conv_ref(x, w, stride, pad, dil, groups):
    """NCHW x OIHW, float64."""
    n, c, h, wd = x.shape
    o, ci, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ekh, ekw = (kh - 1) * dil + 1, (kw - 1) * dil + 1
    oh = (h + 2 * pad - ekh) // stride + 1
    ow = (wd + 2 * pad - ekw) // stride + 1
    y = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(kh):
            for j in range(kw):
                patch = xp[:, g * ci:(g + 1) * ci, i * dil:i * dil + stride * oh:stride, j * dil:j * dil + stride * ow:stride]
                y[:, oc] += np.einsum("nchw,c->nhw", patch, w[oc, :, i, j])
    return y


def big_conv():
    r = rng(4)
    x = f32(r.uniform(-1, 1, (2, 16, 18, 18)))
    w1 = f32(r.uniform(-1, 1, (32, 16, 3, 3)))
    w2 = f32(r.uniform(-1, 1, (8, 16, 5, 5)))
    wd = f32(r.uniform(-1, 1, (16, 1, 3, 3)))
    xd, w1d, w2d, wdd = (v.astype(F64) for v in (x, w1, w2, wd))
    y1 = f32(conv_ref(xd, w1d, 1, 1, 1, 1))
    y2 = f32(conv_ref(xd, w2d, 2, 2, 1, 1))
    y3 = f32(conv_ref(xd, wdd, 1, 2, 2, 16))          # depthwise, dilated
    xn = np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1)))     # NHWC
    wn = np.ascontiguousarray(np.transpose(w1, (2, 3, 1, 0)))    # HWIO
    y4 = np.ascontiguousarray(np.transpose(y1, (0, 2, 3, 1)))
    kir = """
module big_conv

ENTRY %main outputs={"same", "strided", "depthwise", "nhwc"} {
  %x = f32[2,16,18,18] parameter(0)
  %w1 = f32[32,16,3,3] parameter(1)
  %w2 = f32[8,16,5,5] parameter(2)
  %wd = f32[16,1,3,3] parameter(3)
  %same = f32[2,32,18,18] convolution(%x, %w1), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01
  %strided = f32[2,8,9,9] convolution(%x, %w2), window={size=5x5 stride=2x2 pad=2_2x2_2}, dim_labels=bf01_oi01->bf01
  %depthwise = f32[2,16,18,18] convolution(%x, %wd), window={size=3x3 pad=2_2x2_2 rhs_dilate=2x2}, dim_labels=bf01_oi01->bf01, feature_group_count=16
  %xn = f32[2,18,18,16] parameter(4)
  %wn = f32[3,3,16,32] parameter(5)
  %nhwc = f32[2,18,18,32] convolution(%xn, %wn), window={size=3x3 pad=1_1x1_1}, dim_labels=b01f_01io->b01f
  ROOT %t = (f32[2,32,18,18], f32[2,8,9,9], f32[2,16,18,18], f32[2,18,18,32]) tuple(%same, %strided, %depthwise, %nhwc)
}
"""
    case("big_conv", kir, [x, w1, w2, wd, xn, wn], [y1, y2, y3, y4],
         tol="2e-6 2e-5  products summed over up to 400 terms in float")


def outputs_alias():
    r = rng(5)
    x = f32(r.uniform(-1, 1, (4, 6)))
    y = f32(x.astype(F64) * 2)
    k = np.array([[1, 2, 3], [4, 5, 6]], dtype=F32)
    kir = """
module outputs_alias

ENTRY %main outputs={"x", "c", "y", "y_again", "x_flat", "x_copy", "c_flat"} {
  %x = f32[4,6] parameter(0)
  %c = f32[2,3] constant({{1, 2, 3}, {4, 5, 6}})
  %two = f32[] constant(2)
  %tb = f32[4,6] broadcast(%two), dimensions={}
  %y = f32[4,6] mul(%x, %tb)
  %x_flat = f32[24] reshape(%x)
  %x_copy = f32[4,6] copy(%x)
  %c_flat = f32[6] reshape(%c)
  ROOT %t = (f32[4,6], f32[2,3], f32[4,6], f32[4,6], f32[24], f32[4,6], f32[6]) tuple(%x, %c, %y, %y, %x_flat, %x_copy, %c_flat)
}
"""
    case("outputs_alias", kir, [x], [x, k, y, y, x.reshape(24), x, k.reshape(6)])


def zero_size():
    r = rng(6)
    e = np.zeros((0, 3), dtype=F32)
    v = f32(r.uniform(-1, 1, (2, 3)))
    kir = """
module zero_size

ENTRY %main outputs={"sum0", "neg", "cat", "padded", "dot0", "max0"} {
  %e = f32[0,3] parameter(0)
  %v = f32[2,3] parameter(1)
  %sum0 = f32[3] reduce(%e), dimensions={0}, combiner=add
  %neg = f32[0,3] neg(%e)
  %cat = f32[2,3] concatenate(%e, %v), dimensions={0}
  %pv = f32[] constant(5)
  %padded = f32[2,3] pad(%e, %pv), padding=1_1x0_0
  %et = f32[3,0] transpose(%e), dimensions={1,0}
  %ez = f32[2,0] slice(%v), slice={[0:2], [0:0]}
  %dot0 = f32[2,3] dot(%ez, %e), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %max0 = f32[3] reduce(%e), dimensions={0}, combiner=max
  ROOT %t = (f32[3], f32[0,3], f32[2,3], f32[2,3], f32[2,3], f32[3]) tuple(%sum0, %neg, %cat, %padded, %dot0, %max0)
}
"""
    case("zero_size", kir, [e, v],
         [np.zeros(3, F32), np.zeros((0, 3), F32), v, np.full((2, 3), 5, F32), np.zeros((2, 3), F32),
          np.full(3, -np.inf, F32)])


def buffer_reuse():
    """A long chain through several shapes: each value dies right after its
    user, so the workspace is reused many times."""
    r = rng(7)
    x = f32(r.uniform(-1, 1, (8, 12)))
    lines = ['  %x = f32[8,12] parameter(0)']
    cur, shape, v = "%x", (8, 12), x.astype(F64)
    for i in range(30):
        if i % 5 == 4:
            shape = (shape[1], shape[0])
            lines.append('  %%t%d = f32[%d,%d] transpose(%s), dimensions={1,0}' % (i, shape[0], shape[1], cur))
            v = v.T
        elif i % 5 == 2:
            flat = shape[0] * shape[1]
            lines.append('  %%t%d = f32[%d] reshape(%s)' % (i, flat, cur))
            lines.append('  %%u%d = f32[%d] sin(%%t%d)' % (i, flat, i))
            lines.append('  %%t%db = f32[%d,%d] reshape(%%u%d)' % (i, shape[0], shape[1], i))
            v = f32(np.sin(v)).astype(F64)
            cur = "%%t%db" % i
            continue
        else:
            c = 0.5 + 0.1 * i
            lines.append('  %%c%d = f32[] constant(%r)' % (i, c))
            lines.append('  %%cb%d = f32[%d,%d] broadcast(%%c%d), dimensions={}' % (i, shape[0], shape[1], i))
            lines.append('  %%t%d = f32[%d,%d] add(%s, %%cb%d)' % (i, shape[0], shape[1], cur, i))
            v = f32(v + float(f32(c))).astype(F64)
        cur = "%%t%d" % i
    kir = "module buffer_reuse\n\nENTRY %%main outputs={\"y\"} {\n%s\n  ROOT %%t = (f32[%d,%d]) tuple(%s)\n}\n" % (
        "\n".join(lines), shape[0], shape[1], cur)
    case("buffer_reuse", kir, [x], [f32(v)])


def buffers_in_place():
    """The buffer plan's in-place reuse and concatenation in place, taken
    and refused (passes/buffers.c): without passes each op is its own
    launch, so every decision shows; after the pipeline the fused kernels
    get them. Big enough for parallel loops, so that a kernel writing over
    its operand is split across threads."""
    r = rng(11)
    sh = (1, 8, 32, 32)
    x = f32(r.uniform(-1, 1, sh))
    y = f32(r.uniform(-1, 1, sh))
    X, Y = x.astype(F64), y.astype(F64)
    a = f32(np.tanh(X)).astype(F64)          # x is a parameter: not in place
    b = f32(a + Y).astype(F64)               # in place of a (dies here)
    c = f32(b * b).astype(F64)               # in place of b (read twice, same index)
    d = f32(np.sin(X)).astype(F64)
    e = f32(-c).astype(F64)
    cat = np.concatenate([d, e], axis=1)     # in place: d and e write into their slices
    g = f32(d + Y).astype(F64)               # reads d from its slice of cat
    h = f32(cat * 0.5).astype(F64)           # broadcast of a constant: in place of cat
    cat2 = np.concatenate([g, g], axis=1)    # refused: an operand appears twice
    cat3 = np.concatenate([x.astype(F64), g], axis=1)  # refused: a parameter
    p = f32(np.exp(X * 0 + Y)).astype(F64)
    q = f32(np.abs(X)).astype(F64)
    cat4 = np.concatenate([p, q], axis=1)    # an output: slices of the caller's buffer
    rr = f32(X - Y).astype(F64)
    ss = f32(X * Y).astype(F64)
    tt = f32(np.maximum(X, Y)).astype(F64)
    inner = np.concatenate([rr, ss], axis=1)
    outer = np.concatenate([inner, tt], axis=1)  # nested: inner is a slice of outer
    kir = """module buffers_in_place

ENTRY %main outputs={"h", "cat2", "cat3", "cat4", "outer"} {
  %x = f32[1,8,32,32] parameter(0)
  %y = f32[1,8,32,32] parameter(1)
  %a = f32[1,8,32,32] tanh(%x)
  %b = f32[1,8,32,32] add(%a, %y)
  %c = f32[1,8,32,32] mul(%b, %b)
  %d = f32[1,8,32,32] sin(%x)
  %e = f32[1,8,32,32] neg(%c)
  %cat = f32[1,16,32,32] concatenate(%d, %e), dimensions={1}
  %g = f32[1,8,32,32] add(%d, %y)
  %half = f32[] constant(0.5)
  %halfb = f32[1,16,32,32] broadcast(%half), dimensions={}
  %h = f32[1,16,32,32] mul(%cat, %halfb)
  %cat2 = f32[1,16,32,32] concatenate(%g, %g), dimensions={1}
  %cat3 = f32[1,16,32,32] concatenate(%x, %g), dimensions={1}
  %zero = f32[] constant(0)
  %zerob = f32[1,8,32,32] broadcast(%zero), dimensions={}
  %x0 = f32[1,8,32,32] mul(%x, %zerob)
  %x0y = f32[1,8,32,32] add(%x0, %y)
  %p = f32[1,8,32,32] exp(%x0y)
  %q = f32[1,8,32,32] abs(%x)
  %cat4 = f32[1,16,32,32] concatenate(%p, %q), dimensions={1}
  %rr = f32[1,8,32,32] sub(%x, %y)
  %ss = f32[1,8,32,32] mul(%x, %y)
  %tt = f32[1,8,32,32] max(%x, %y)
  %inner = f32[1,16,32,32] concatenate(%rr, %ss), dimensions={1}
  %outer = f32[1,24,32,32] concatenate(%inner, %tt), dimensions={1}
  ROOT %t = (f32[1,16,32,32], f32[1,16,32,32], f32[1,16,32,32], f32[1,16,32,32], f32[1,24,32,32]) tuple(%h, %cat2, %cat3, %cat4, %outer)
}
"""
    case("buffers_in_place", kir, [x, y], [f32(h), f32(cat2), f32(cat3), f32(cat4), f32(outer)])


def sort_key_asc(k):
    """Stable ascending order with NaN last."""
    return sorted(range(len(k)), key=lambda i: (math.isnan(k[i]), 0.0 if math.isnan(k[i]) else k[i]))


def sort_key_desc(k):
    """Descending, NaN first, equal keys in their original order."""
    return sorted(range(len(k)), key=lambda i: (not math.isnan(k[i]), 0.0 if math.isnan(k[i]) else -k[i]))


def big_sort():
    r = rng(8)
    k = f32(r.randint(-50, 50, (5, 1000)) * 0.5)      # many duplicates: stability matters
    k[1, ::37] = np.nan
    idx = np.tile(np.arange(1000, dtype=np.int32), (5, 1))
    ks, vs = np.empty_like(k), np.empty_like(idx)
    for row in range(5):
        p = sort_key_asc(list(k[row].astype(F64)))
        ks[row], vs[row] = k[row, p], idx[row, p]
    d = f32(r.uniform(-1, 1, (1001, 2)))
    d[500, 0] = np.nan
    dk = np.empty_like(d)
    for col in range(2):
        p = sort_key_desc(list(d[:, col].astype(F64)))
        dk[:, col] = d[p, col]
    kir = """
module big_sort

ENTRY %main outputs={"keys", "perm", "desc"} {
  %k = f32[5,1000] parameter(0)
  %i = i32[5,1000] iota(), iota_dimension=1
  %s = (f32[5,1000], i32[5,1000]) sort(%k, %i), dimensions={1}
  %keys = f32[5,1000] get_tuple_element(%s), index=0
  %perm = i32[5,1000] get_tuple_element(%s), index=1
  %d = f32[1001,2] parameter(1)
  %desc = f32[1001,2] sort(%d), dimensions={0}, descending=true
  ROOT %t = (f32[5,1000], i32[5,1000], f32[1001,2]) tuple(%keys, %perm, %desc)
}
"""
    case("big_sort", kir, [k, d], [ks, vs, dk])


MATH = [
    # name, IR op, numpy (float64) function, input range
    ("exp", "exp", np.exp, (-80, 80)),
    ("log", "log", np.log, (1e-30, 1e30)),
    ("tanh", "tanh", np.tanh, (-12, 12)),
    ("logistic", "logistic", lambda v: 1 / (1 + np.exp(-v)), (-60, 60)),
    ("erf", "erf", np.vectorize(math.erf), (-5, 5)),
    ("sin", "sin", np.sin, (-100, 100)),
    ("cos", "cos", np.cos, (-100, 100)),
    ("tan", "tan", np.tan, (-1.5, 1.5)),
    ("atan", "atan", np.arctan, (-1e4, 1e4)),
    ("sinh", "sinh", np.sinh, (-80, 80)),
    ("cosh", "cosh", np.cosh, (-80, 80)),
    ("asinh", "asinh", np.arcsinh, (-1e6, 1e6)),
    ("expm1", "expm1", np.expm1, (-20, 20)),
    ("log1p", "log1p", np.log1p, (-0.999, 1e6)),
    ("sqrt", "sqrt", np.sqrt, (0, 1e30)),
    ("rsqrt", "rsqrt", lambda v: 1 / np.sqrt(v), (1e-30, 1e30)),
]


def math_f32():
    r = rng(9)
    n = 4000
    ins, outs, lines, names, shapes = [], [], [], [], []
    for i, (name, op, fn, (lo, hi)) in enumerate(MATH):
        if lo > 0 and hi / lo > 1e6:  # log-uniform over wide positive ranges
            x = np.exp(r.uniform(math.log(lo), math.log(hi), n))
        else:
            x = r.uniform(lo, hi, n)
        x = f32(x)
        ins.append(x)
        with np.errstate(over="ignore"):
            outs.append(f32(fn(x.astype(F64))))
        lines.append("  %%x%d = f32[%d] parameter(%d)" % (i, n, i))
        lines.append("  %%%s = f32[%d] %s(%%x%d)" % (name, n, op, i))
        names.append(name)
        shapes.append("f32[%d]" % n)
    kir = "module math_f32\n\nENTRY %%main outputs={%s} {\n%s\n  ROOT %%t = (%s) tuple(%s)\n}\n" % (
        ", ".join('"%s"' % s for s in names), "\n".join(lines), ", ".join(shapes),
        ", ".join("%" + s for s in names))
    case("math_f32", kir, ins, outs,
         tol="3e-7 1e-37  glibc's float functions (and logistic as 1/(1+exp(-x)) in float) are within ~2 ulp")


def big_int():
    r = rng(10)
    n = 8000
    a = r.randint(-2**31, 2**31, n, dtype=np.int64)
    b = r.randint(-40, 40, n, dtype=np.int64)
    a[:8] = [-2**31, -2**31, 7, -7, 0, 5, 2**31 - 1, -1]
    b[:8] = [-1, 0, 0, 2, 0, -3, -1, 33]

    def wrap32(v):
        return ((np.asarray(v, dtype=object) + 2**31) % 2**32 - 2**31).astype(np.int64)

    q = np.array([0 if y == 0 else (abs(x) // abs(y)) * (1 if (x < 0) == (y < 0) else -1) for x, y in zip(a, b)],
                 dtype=object)
    div = wrap32(q)
    rem = wrap32(np.array([x if y == 0 else x - qq * y for x, y, qq in zip(a, b, q)], dtype=object))
    un = b.astype(np.uint32).astype(np.int64)            # shift amounts read as unsigned
    shl = wrap32(np.array([0 if s >= 32 else (int(x) << int(s)) for x, s in zip(a, un)], dtype=object))
    sra = np.array([(-1 if x < 0 else 0) if s >= 32 else (int(x) >> int(s)) for x, s in zip(a, un)], dtype=np.int64)
    srl = np.array([0 if s >= 32 else ((int(x) & 0xffffffff) >> int(s)) for x, s in zip(a, un)], dtype=np.int64)
    srl = wrap32(srl)
    e = r.randint(-3, 13, n, dtype=np.int64)
    base = r.randint(-9, 10, n, dtype=np.int64)

    def ipow(x, k):
        if k < 0:
            return 1 if x == 1 else ((-1 if k % 2 else 1) if x == -1 else 0)
        return int(x) ** int(k)

    pw = wrap32(np.array([ipow(x, k) for x, k in zip(base, e)], dtype=object))
    i32 = lambda v: np.asarray(v, dtype=np.int64).astype(np.int32)
    kir = """
module big_int

ENTRY %%main outputs={"div", "rem", "shl", "sra", "srl", "pow"} {
  %%a = i32[%d] parameter(0)
  %%b = i32[%d] parameter(1)
  %%base = i32[%d] parameter(2)
  %%e = i32[%d] parameter(3)
  %%div = i32[%d] div(%%a, %%b)
  %%rem = i32[%d] rem(%%a, %%b)
  %%shl = i32[%d] shift_left(%%a, %%b)
  %%sra = i32[%d] shift_right_arithmetic(%%a, %%b)
  %%srl = i32[%d] shift_right_logical(%%a, %%b)
  %%pow = i32[%d] pow(%%base, %%e)
  ROOT %%t = (i32[%d], i32[%d], i32[%d], i32[%d], i32[%d], i32[%d]) tuple(%%div, %%rem, %%shl, %%sra, %%srl, %%pow)
}
""" % tuple([n] * 16)
    case("big_int", kir, [i32(a), i32(b), i32(base), i32(e)],
         [i32(div), i32(rem), i32(shl), i32(sra), i32(srl), i32(pw)])


def layouts_fused():
    """A fusion whose parameters and result have non-default layouts, fed by
    and feeding kernels with other layouts."""
    r = rng(11)
    a = f32(r.uniform(-1, 1, (6, 5)))                  # logical [6,5], stored column-major
    b = f32(r.uniform(-1, 1, (5, 6)))
    s = f32(np.exp(f32(a.astype(F64) + b.T.astype(F64)).astype(F64)))
    w = f32(r.uniform(-1, 1, (5, 4)))
    d = f32(s.astype(F64) @ w.astype(F64))
    kir = """
module layouts_fused

%f {
  %p = f32[6,5] parameter(0)
  %q = f32[5,6] parameter(1)
  %qt = f32[6,5] transpose(%q), dimensions={1,0}
  %pq = f32[6,5] add(%p, %qt)
  ROOT %e = f32[6,5] exp(%pq)
}

ENTRY %main outputs={"s", "d"} {
  %a = f32[6,5]{0,1} parameter(0)
  %b = f32[5,6]{1,0} parameter(1)
  %s = f32[6,5]{0,1} fusion(%a, %b), kind=loop, calls=%f
  %w = f32[5,4]{0,1} parameter(2)
  %d = f32[6,4]{0,1} dot(%s, %w), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  ROOT %t = (f32[6,5]{0,1}, f32[6,4]{0,1}) tuple(%s, %d)
}
"""
    col = lambda v: np.ascontiguousarray(v.T)          # memory image of layout {0,1}
    case("layouts_fused", kir, [col(a), b, col(w)], [col(s), col(d)])


def lit(a):
    """A kiln literal of an array whose values print exactly (multiples of 1/8)."""
    if a.ndim == 0:
        return "%g" % a
    return "{" + ", ".join(lit(v) for v in a) + "}"


def conv_dilated_input(x, w, pad, lhs_dil):
    """Transposed-style convolution: the input dilated by lhs_dil (holes are
    zeros), then a stride-1 convolution with padding pad."""
    n, c, h, wd = x.shape
    xd = np.zeros((n, c, (h - 1) * lhs_dil + 1, (wd - 1) * lhs_dil + 1))
    xd[:, :, ::lhs_dil, ::lhs_dil] = x
    return conv_ref(xd, w, 1, pad, 1, 1)


def gemm_const():
    """Constant weights take the packed-at-compile-time path of the GEMM
    kernels: on the A side (convolution kernels, a dot's constant lhs) and
    the B side (a dot's constant rhs), with row and column remainders,
    groups, 1x1 kernels, strides and input dilation."""
    r = rng(12)
    x = f32(r.uniform(-1, 1, (1, 6, 13, 11)))
    wg = eighths(r, (10, 3, 3, 3))                    # groups=2: 5 output features per group
    w1 = eighths(r, (16, 6, 1, 1))
    xt = f32(r.uniform(-1, 1, (1, 4, 6, 6)))
    wt = eighths(r, (5, 4, 3, 3))
    a = f32(r.uniform(-1, 1, (20, 40)))
    wr = eighths(r, (40, 37))
    wl = eighths(r, (17, 30))
    b = f32(r.uniform(-1, 1, (30, 50)))
    pb = f32(r.uniform(-1, 1, (3, 24, 16)))
    wb = eighths(r, (3, 16, 40))
    # A constant lhs with its batch dim in the middle: the layout pass puts
    # the batch outside the row panels ({2,0,1:P(0,6)} on AVX2); an add of
    # it to an input (not folded away) reads that layout element by element
    # (cg_offset).
    wbl = eighths(r, (13, 2, 20))
    pbl = f32(r.uniform(-1, 1, (2, 20, 33)))
    sbl = f32(r.uniform(-1, 1, (13, 2, 20)))
    xd = x.astype(F64)
    y_groups = f32(conv_ref(xd, wg.astype(F64), 1, 1, 1, 2))
    y_1x1 = f32(conv_ref(xd, w1.astype(F64), 1, 0, 1, 1))
    y_t = f32(conv_dilated_input(xt.astype(F64), wt.astype(F64), 1, 2))
    d_r = f32(a.astype(F64) @ wr.astype(F64))
    d_l = f32(wl.astype(F64) @ b.astype(F64))
    d_b = f32(np.einsum("bij,bjk->bik", pb.astype(F64), wb.astype(F64)))
    d_bl = f32(np.einsum("mbk,bkn->bmn", wbl.astype(F64), pbl.astype(F64)))
    kir = """
module gemm_const

ENTRY %%main outputs={"groups", "pointwise", "dilated_input", "rhs_const", "lhs_const", "batched", "batched_lhs", "wbl_add"} {
  %%x = f32[1,6,13,11] parameter(0)
  %%wg = f32[10,3,3,3] constant(%s)
  %%groups = f32[1,10,13,11] convolution(%%x, %%wg), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01, feature_group_count=2
  %%w1 = f32[16,6,1,1] constant(%s)
  %%pointwise = f32[1,16,13,11] convolution(%%x, %%w1), window={size=1x1}, dim_labels=bf01_oi01->bf01
  %%xt = f32[1,4,6,6] parameter(1)
  %%wt = f32[5,4,3,3] constant(%s)
  %%dilated_input = f32[1,5,11,11] convolution(%%xt, %%wt), window={size=3x3 pad=1_1x1_1 lhs_dilate=2x2}, dim_labels=bf01_oi01->bf01
  %%a = f32[20,40] parameter(2)
  %%wr = f32[40,37] constant(%s)
  %%rhs_const = f32[20,37] dot(%%a, %%wr), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %%wl = f32[17,30] constant(%s)
  %%b = f32[30,50] parameter(3)
  %%lhs_const = f32[17,50] dot(%%wl, %%b), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %%pb = f32[3,24,16] parameter(4)
  %%wb = f32[3,16,40] constant(%s)
  %%batched = f32[3,24,40] dot(%%pb, %%wb), lhs_batch_dims={0}, rhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_contracting_dims={1}
  %%wbl = f32[13,2,20] constant(%s)
  %%pbl = f32[2,20,33] parameter(5)
  %%batched_lhs = f32[2,13,33] dot(%%wbl, %%pbl), lhs_batch_dims={1}, rhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_contracting_dims={1}
  %%sbl = f32[13,2,20] parameter(6)
  %%wbl_add = f32[13,2,20] add(%%wbl, %%sbl)
  ROOT %%t = (f32[1,10,13,11], f32[1,16,13,11], f32[1,5,11,11], f32[20,37], f32[17,50], f32[3,24,40], f32[2,13,33], f32[13,2,20]) tuple(%%groups, %%pointwise, %%dilated_input, %%rhs_const, %%lhs_const, %%batched, %%batched_lhs, %%wbl_add)
}
""" % (lit(wg), lit(w1), lit(wt), lit(wr), lit(wl), lit(wb), lit(wbl))
    case("gemm_const", kir, [x, xt, a, b, pb, pbl, sbl], [y_groups, y_1x1, y_t, d_r, d_l, d_b, d_bl, f32(wbl + sbl)],
         tol="2e-6 1e-5  products summed over up to 40 terms in float")


def panel_weights():
    """Weights stored in the GEMM's packed panels (panel layouts written in
    the IR, as the layout pass writes them for AVX2's 6x2 tile, docs/ir.md):
    the GEMM reads them as its packed operand where its tile matches (x86-64-v3)
    and packs them from the panels otherwise (other levels); an elementwise
    op reads the same constants through the layout (the last panel is
    zero-padded in memory, never read as a value)."""
    r = rng(17)
    x = f32(r.uniform(-1, 1, (1, 5, 9, 7)))
    w = eighths(r, (10, 5, 3, 3))                     # 10 rows: a full panel of 6 and a cut one of 4
    a = f32(r.uniform(-1, 1, (20, 40)))
    wr = eighths(r, (40, 37))                         # 37 columns: panels of 16, 16 and a cut 5
    wl = eighths(r, (17, 30))
    b = f32(r.uniform(-1, 1, (30, 50)))
    y = f32(conv_ref(x.astype(F64), w.astype(F64), 1, 1, 1, 1))
    d_r = f32(a.astype(F64) @ wr.astype(F64))
    d_l = f32(wl.astype(F64) @ b.astype(F64))
    kir = """
module panel_weights

ENTRY %%main outputs={"conv", "w_sq", "rhs_const", "wr_twice", "lhs_const", "wl_neg"} {
  %%x = f32[1,5,9,7] parameter(0)
  %%w = f32[10,5,3,3]{3,2,1,0:P(0,6)} constant(%s)
  %%conv = f32[1,10,9,7] convolution(%%x, %%w), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01
  %%w_sq = f32[10,5,3,3] mul(%%w, %%w)
  %%a = f32[20,40] parameter(1)
  %%wr = f32[40,37]{0,1:P(1,16)} constant(%s)
  %%rhs_const = f32[20,37] dot(%%a, %%wr), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %%wr_twice = f32[40,37] add(%%wr, %%wr)
  %%wl = f32[17,30]{1,0:P(0,6)} constant(%s)
  %%b = f32[30,50] parameter(2)
  %%lhs_const = f32[17,50] dot(%%wl, %%b), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %%wl_neg = f32[17,30] neg(%%wl)
  ROOT %%t = (f32[1,10,9,7], f32[10,5,3,3], f32[20,37], f32[40,37], f32[17,50], f32[17,30]) tuple(%%conv, %%w_sq, %%rhs_const, %%wr_twice, %%lhs_const, %%wl_neg)
}
""" % (lit(w), lit(wr), lit(wl))
    case("panel_weights", kir, [x, a, b], [y, f32(w.astype(F64) ** 2), d_r, f32(wr.astype(F64) * 2), d_l, -wl],
         tol="2e-6 1e-5  products summed over up to 45 terms in float")


def gemm_swap():
    """Shapes for which the GEMM kernels take the transposed tile (vectors
    along the output features, the positions broadcast; cg_gemm.c
    choose_tiles): 60 output features (a cut row panel) by 25 positions (a
    cut column panel with 16-wide vectors) and K >= 256, with B packed by
    each of its paths: the vector im2col (3x3 "same"), in place (a 1x1
    convolution), the segmented im2col (1-D) and the elemental packing
    (input dilation); with bias + relu and residual epilogues when fused.
    The dots of the same shapes keep the normal tile (dots are not
    transposed) and check its cut panels."""
    r = rng(13)
    x3 = f32(r.uniform(-1, 1, (1, 40, 5, 5)))
    w3 = eighths(r, (60, 40, 3, 3))
    bias = eighths(r, (60,))
    x1 = f32(r.uniform(-1, 1, (1, 300, 5, 5)))
    w1 = eighths(r, (60, 300, 1, 1))
    res = f32(r.uniform(-1, 1, (1, 60, 5, 5)))
    xl = f32(r.uniform(-1, 1, (1, 40, 25)))
    wl = eighths(r, (60, 40, 9))
    a = f32(r.uniform(-1, 1, (60, 300)))
    wr = eighths(r, (300, 25))
    wa = eighths(r, (60, 300))
    b = f32(r.uniform(-1, 1, (300, 25)))
    bt = f32(r.uniform(-1, 1, (25, 300)))
    xd = f32(r.uniform(-1, 1, (1, 40, 3, 3)))
    y_d = f32(conv_dilated_input(xd.astype(F64), w3.astype(F64), 1, 2))
    c3 = f32(conv_ref(x3.astype(F64), w3.astype(F64), 1, 1, 1, 1))
    y3 = f32(np.maximum(f32(c3.astype(F64) + bias.astype(F64)[None, :, None, None]), 0))
    c1 = f32(conv_ref(x1.astype(F64), w1.astype(F64), 1, 0, 1, 1))
    y1 = f32(c1.astype(F64) + res.astype(F64))
    xlp = np.pad(xl.astype(F64), ((0, 0), (0, 0), (4, 4)))
    yl = f32(np.einsum("cnk,ock->on", np.stack([xlp[0, :, t:t + 9] for t in range(25)], axis=1), wl.astype(F64))[None])
    d_r = f32(a.astype(F64) @ wr.astype(F64))
    d_l = f32(wa.astype(F64) @ b.astype(F64))
    d_t = f32(wa.astype(F64) @ bt.astype(F64).T)
    kir = """
module gemm_swap

ENTRY %%main outputs={"same", "pointwise", "conv1d", "rhs_const", "lhs_const", "rhs_transposed", "dilated"} {
  %%x3 = f32[1,40,5,5] parameter(0)
  %%w3 = f32[60,40,3,3] constant(%s)
  %%c3 = f32[1,60,5,5] convolution(%%x3, %%w3), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01
  %%bias = f32[60] constant(%s)
  %%bb = f32[1,60,5,5] broadcast(%%bias), dimensions={1}
  %%cb = f32[1,60,5,5] add(%%c3, %%bb)
  %%zero = f32[] constant(0)
  %%zb = f32[1,60,5,5] broadcast(%%zero), dimensions={}
  %%same = f32[1,60,5,5] max(%%cb, %%zb)
  %%x1 = f32[1,300,5,5] parameter(1)
  %%w1 = f32[60,300,1,1] constant(%s)
  %%c1 = f32[1,60,5,5] convolution(%%x1, %%w1), window={size=1x1}, dim_labels=bf01_oi01->bf01
  %%res = f32[1,60,5,5] parameter(2)
  %%pointwise = f32[1,60,5,5] add(%%c1, %%res)
  %%xl = f32[1,40,25] parameter(3)
  %%wl = f32[60,40,9] constant(%s)
  %%conv1d = f32[1,60,25] convolution(%%xl, %%wl), window={size=9 pad=4_4}, dim_labels=bf0_oi0->bf0
  %%a = f32[60,300] parameter(4)
  %%wr = f32[300,25] constant(%s)
  %%rhs_const = f32[60,25] dot(%%a, %%wr), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %%wa = f32[60,300] constant(%s)
  %%b = f32[300,25] parameter(5)
  %%lhs_const = f32[60,25] dot(%%wa, %%b), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %%bt = f32[25,300] parameter(6)
  %%rhs_transposed = f32[60,25] dot(%%wa, %%bt), lhs_contracting_dims={1}, rhs_contracting_dims={1}
  %%xd = f32[1,40,3,3] parameter(7)
  %%dilated = f32[1,60,5,5] convolution(%%xd, %%w3), window={size=3x3 pad=1_1x1_1 lhs_dilate=2x2}, dim_labels=bf01_oi01->bf01
  ROOT %%t = (f32[1,60,5,5], f32[1,60,5,5], f32[1,60,25], f32[60,25], f32[60,25], f32[60,25], f32[1,60,5,5]) tuple(%%same, %%pointwise, %%conv1d, %%rhs_const, %%lhs_const, %%rhs_transposed, %%dilated)
}
""" % (lit(w3), lit(bias), lit(w1), lit(wl), lit(wr), lit(wa))
    case("gemm_swap", kir, [x3, x1, res, xl, a, b, bt, xd], [y3, y1, yl, d_r, d_l, d_t, y_d],
         tol="2e-6 2e-5  products summed over up to 360 terms in float")


def conv2d_ref(x, w, stride, pads):
    """NCHW x OIHW, float64, per-dimension strides (sh, sw) and paddings
    ((top, bottom), (left, right))."""
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    kh, kw = w.shape[2:]
    oh = (xp.shape[2] - kh) // stride[0] + 1
    ow = (xp.shape[3] - kw) // stride[1] + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + stride[0] * oh:stride[0], j:j + stride[1] * ow:stride[1]]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return y


def conv_windows():
    """Convolution windows at the edges of the vector im2col (b_panel_flat):
    kernels longer than 16 taps in one dimension (1x25, 25x1) and strides
    above 2 (4x4 stride 4, 3x3 stride 3) on an input computed at run time.
    They once overran its per-tap tables (wrong values) and its row-span
    table (a stack overflow while compiling)."""
    r = rng(14)
    x = f32(r.uniform(-1, 1, (1, 8, 28, 40)))
    wr, wc, w4, w3 = eighths(r, (16, 8, 1, 25)), eighths(r, (16, 8, 25, 1)), eighths(r, (16, 8, 4, 4)), eighths(r, (16, 8, 3, 3))
    xd = x.astype(F64)
    y_row = f32(conv2d_ref(xd, wr.astype(F64), (1, 1), ((0, 0), (12, 12))))
    y_col = f32(conv2d_ref(xd, wc.astype(F64), (1, 1), ((12, 12), (0, 0))))
    y_s4 = f32(conv2d_ref(xd, w4.astype(F64), (4, 4), ((0, 0), (0, 0))))
    y_s3 = f32(conv2d_ref(xd, w3.astype(F64), (3, 3), ((0, 0), (0, 0))))
    kir = """
module conv_windows

ENTRY %%main outputs={"row25", "col25", "stride4", "stride3"} {
  %%x = f32[1,8,28,40] parameter(0)
  %%wr = f32[16,8,1,25] constant(%s)
  %%row25 = f32[1,16,28,40] convolution(%%x, %%wr), window={size=1x25 pad=0_0x12_12}, dim_labels=bf01_oi01->bf01
  %%wc = f32[16,8,25,1] constant(%s)
  %%col25 = f32[1,16,28,40] convolution(%%x, %%wc), window={size=25x1 pad=12_12x0_0}, dim_labels=bf01_oi01->bf01
  %%w4 = f32[16,8,4,4] constant(%s)
  %%stride4 = f32[1,16,7,10] convolution(%%x, %%w4), window={size=4x4 stride=4x4}, dim_labels=bf01_oi01->bf01
  %%w3 = f32[16,8,3,3] constant(%s)
  %%stride3 = f32[1,16,9,13] convolution(%%x, %%w3), window={size=3x3 stride=3x3}, dim_labels=bf01_oi01->bf01
  ROOT %%t = (f32[1,16,28,40], f32[1,16,28,40], f32[1,16,7,10], f32[1,16,9,13]) tuple(%%row25, %%col25, %%stride4, %%stride3)
}
""" % (lit(wr), lit(wc), lit(w4), lit(w3))
    case("conv_windows", kir, [x], [y_row, y_col, y_s4, y_s3],
         tol="2e-6 2e-5  products summed over up to 200 terms in float")


def pow_const():
    """pow with a constant exponent 2 is emitted as x * x; other constant
    exponents and other types keep the general path."""
    x = f32([0.0, -0.0, 1.5, -3.25, 1e20, 1e-30, np.inf, -np.inf, np.nan, 7.0, -2.0, 0.1])
    h = x.astype(F16)
    sq = f32(x.astype(F64) ** 2)
    cube = f32(x.astype(F64) ** 3)
    with np.errstate(over="ignore", invalid="ignore"):
        hsq = (h.astype(F64) ** 2).astype(F16)
    kir = """
module pow_const

ENTRY %main outputs={"square", "cube", "half_square"} {
  %x = f32[12] parameter(0)
  %two = f32[] constant(2)
  %tb = f32[12] broadcast(%two), dimensions={}
  %square = f32[12] pow(%x, %tb)
  %three = f32[12] constant({3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3})
  %cube = f32[12] pow(%x, %three)
  %h = f16[12] parameter(1)
  %htwo = f16[] constant(2)
  %htb = f16[12] broadcast(%htwo), dimensions={}
  %half_square = f16[12] pow(%h, %htb)
  ROOT %t = (f32[12], f32[12], f16[12]) tuple(%square, %cube, %half_square)
}
"""
    case("pow_const", kir, [x, h], [sq, cube, hsq])


def epilogues():
    """Dot and convolution with the elementwise epilogues the fusion pass
    puts into their kernels (run unfused by the plain test and fused by
    the --passes one): bias + residual + relu6 after a GEMM convolution with
    row and column remainder tiles and two images, bias + hard-swish after a
    strided depthwise convolution (the row kernel), swish after a grouped
    GEMM convolution, bias + GELU (erf) after a dot with constant weights,
    tanh after a batched dot; the reductions of softmax and layer
    normalisation (input fusions); depthwise convolutions of both vector
    forms (5x5 on wide rows, 3x3 at stride 2); a per-channel scale computed
    while packing a 1x1 convolution's input (EfficientNet's squeeze-
    excitation); the row-vector im2col (output rows a multiple of 16 wide)
    at stride 2 and at stride 1 without padding."""
    r = rng(13)
    x = f32(r.uniform(-1, 1, (2, 6, 13, 11)))
    w = eighths(r, (20, 6, 3, 3))
    b = eighths(r, (20,))
    res = f32(r.uniform(-1, 1, (2, 20, 13, 11)))
    wd = eighths(r, (6, 1, 3, 3))
    bd = eighths(r, (6,))
    wg = eighths(r, (10, 3, 3, 3))
    a = f32(r.uniform(-1, 1, (37, 50)))
    wa = eighths(r, (50, 45))
    ba = eighths(r, (45,))
    p = f32(r.uniform(-1, 1, (3, 24, 16)))
    pw = f32(r.uniform(-1, 1, (3, 16, 40)))
    s = f32(r.uniform(-4, 4, (20, 70)))
    xw = f32(r.uniform(-1, 1, (2, 4, 40, 37)))
    w5 = eighths(r, (4, 1, 5, 5))
    w3 = eighths(r, (4, 1, 3, 3))
    xd = x.astype(F64)
    dw5 = f32(np.maximum(conv_ref(xw.astype(F64), w5.astype(F64), 1, 2, 1, 4), 0))
    dw3s2 = f32(conv_ref(xw.astype(F64), w3.astype(F64), 2, 1, 1, 4))
    xs = f32(r.uniform(-1, 1, (2, 24, 13, 11)))
    sc = f32(r.uniform(0, 1, 24))
    wp = eighths(r, (40, 24, 1, 1))
    se = f32(conv_ref(f32(xs.astype(F64) * sc.astype(F64)[None, :, None, None]).astype(F64), wp.astype(F64), 1, 0, 1, 1))
    xi = f32(r.uniform(-1, 1, (1, 3, 64, 66)))
    wi3 = eighths(r, (16, 3, 3, 3))
    stem3 = f32(conv_ref(xi[:, :, :, :64].astype(F64), wi3.astype(F64), 2, 1, 1, 1))
    valid3 = f32(conv_ref(xi[:, :, :, :34].astype(F64), wi3.astype(F64), 1, 0, 1, 1))
    c1 = conv_ref(xd, w.astype(F64), 1, 1, 1, 1) + b.astype(F64)[None, :, None, None] + res.astype(F64)
    relu6 = f32(np.minimum(np.maximum(c1, 0), 6))
    c2 = conv_ref(xd, wd.astype(F64), 2, 1, 1, 6) + bd.astype(F64)[None, :, None, None]
    hswish = f32(c2 * np.minimum(np.maximum(c2 + 3, 0), 6) / 6)
    c3 = conv_ref(xd, wg.astype(F64), 1, 1, 1, 2)
    swish = f32(c3 / (1 + np.exp(-c3)))
    d = a.astype(F64) @ wa.astype(F64) + ba.astype(F64)
    gelu = f32(0.5 * d * (1 + np.vectorize(math.erf)(d / math.sqrt(2))))
    bt = f32(np.tanh(np.einsum("bij,bjk->bik", p.astype(F64), pw.astype(F64))))
    sd = s.astype(F64)
    e = np.exp(sd - sd.max(axis=1, keepdims=True))
    soft = f32(e / e.sum(axis=1, keepdims=True))
    mu = sd.mean(axis=1, keepdims=True)
    var = ((sd - mu) ** 2).mean(axis=1, keepdims=True)
    ln = f32((sd - mu) / np.sqrt(var + 1e-5))
    kir = """
module epilogues

ENTRY %%main outputs={"relu6", "hswish", "swish", "gelu", "tanh", "softmax", "layernorm", "dw5", "dw3s2", "se", "stem3", "valid3"} {
  %%x = f32[2,6,13,11] parameter(0)
  %%w = f32[20,6,3,3] constant(%s)
  %%conv = f32[2,20,13,11] convolution(%%x, %%w), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01
  %%b = f32[20] constant(%s)
  %%bb = f32[2,20,13,11] broadcast(%%b), dimensions={1}
  %%biased = f32[2,20,13,11] add(%%conv, %%bb)
  %%res = f32[2,20,13,11] parameter(1)
  %%sum = f32[2,20,13,11] add(%%res, %%biased)
  %%zero = f32[] constant(0)
  %%six = f32[] constant(6)
  %%relu6 = f32[2,20,13,11] clamp(%%zero, %%sum, %%six)
  %%wd = f32[6,1,3,3] constant(%s)
  %%dw = f32[2,6,7,6] convolution(%%x, %%wd), window={size=3x3 stride=2x2 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01, feature_group_count=6
  %%bd = f32[6] constant(%s)
  %%bdb = f32[2,6,7,6] broadcast(%%bd), dimensions={1}
  %%dwb = f32[2,6,7,6] add(%%dw, %%bdb)
  %%three = f32[] constant(3)
  %%threeb = f32[2,6,7,6] broadcast(%%three), dimensions={}
  %%shift = f32[2,6,7,6] add(%%dwb, %%threeb)
  %%gate = f32[2,6,7,6] clamp(%%zero, %%shift, %%six)
  %%gated = f32[2,6,7,6] mul(%%dwb, %%gate)
  %%sixb = f32[2,6,7,6] broadcast(%%six), dimensions={}
  %%hswish = f32[2,6,7,6] div(%%gated, %%sixb)
  %%wg = f32[10,3,3,3] constant(%s)
  %%gconv = f32[2,10,13,11] convolution(%%x, %%wg), window={size=3x3 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01, feature_group_count=2
  %%sig = f32[2,10,13,11] logistic(%%gconv)
  %%swish = f32[2,10,13,11] mul(%%gconv, %%sig)
  %%a = f32[37,50] parameter(2)
  %%wa = f32[50,45] constant(%s)
  %%dot = f32[37,45] dot(%%a, %%wa), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %%ba = f32[45] constant(%s)
  %%bab = f32[37,45] broadcast(%%ba), dimensions={1}
  %%dotb = f32[37,45] add(%%bab, %%dot)
  %%r2 = f32[] constant(1.4142135)
  %%r2b = f32[37,45] broadcast(%%r2), dimensions={}
  %%scaled = f32[37,45] div(%%dotb, %%r2b)
  %%erf = f32[37,45] erf(%%scaled)
  %%one = f32[] constant(1)
  %%oneb = f32[37,45] broadcast(%%one), dimensions={}
  %%erf1 = f32[37,45] add(%%erf, %%oneb)
  %%prod = f32[37,45] mul(%%dotb, %%erf1)
  %%half = f32[] constant(0.5)
  %%halfb = f32[37,45] broadcast(%%half), dimensions={}
  %%gelu = f32[37,45] mul(%%prod, %%halfb)
  %%p = f32[3,24,16] parameter(3)
  %%pw = f32[3,16,40] parameter(4)
  %%bdot = f32[3,24,40] dot(%%p, %%pw), lhs_batch_dims={0}, rhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_contracting_dims={1}
  %%tanh = f32[3,24,40] tanh(%%bdot)
  %%s = f32[20,70] parameter(5)
  %%mx = f32[20] reduce(%%s), dimensions={1}, combiner=max
  %%mxb = f32[20,70] broadcast(%%mx), dimensions={0}
  %%sh = f32[20,70] sub(%%s, %%mxb)
  %%ex = f32[20,70] exp(%%sh)
  %%es = f32[20] reduce(%%ex), dimensions={1}, combiner=add
  %%esb = f32[20,70] broadcast(%%es), dimensions={0}
  %%softmax = f32[20,70] div(%%ex, %%esb)
  %%n = f32[] constant(70)
  %%nb = f32[20] broadcast(%%n), dimensions={}
  %%ssum = f32[20] reduce(%%s), dimensions={1}, combiner=add
  %%mean = f32[20] div(%%ssum, %%nb)
  %%meanb = f32[20,70] broadcast(%%mean), dimensions={0}
  %%dev = f32[20,70] sub(%%s, %%meanb)
  %%sq = f32[20,70] mul(%%dev, %%dev)
  %%vsum = f32[20] reduce(%%sq), dimensions={1}, combiner=add
  %%var = f32[20] div(%%vsum, %%nb)
  %%eps = f32[] constant(1e-05)
  %%epsb = f32[20] broadcast(%%eps), dimensions={}
  %%ve = f32[20] add(%%var, %%epsb)
  %%rs = f32[20] rsqrt(%%ve)
  %%rsb = f32[20,70] broadcast(%%rs), dimensions={0}
  %%layernorm = f32[20,70] mul(%%dev, %%rsb)
  %%xw = f32[2,4,40,37] parameter(6)
  %%w5 = f32[4,1,5,5] constant(%s)
  %%c5 = f32[2,4,40,37] convolution(%%xw, %%w5), window={size=5x5 pad=2_2x2_2}, dim_labels=bf01_oi01->bf01, feature_group_count=4
  %%z5 = f32[2,4,40,37] broadcast(%%zero), dimensions={}
  %%dw5 = f32[2,4,40,37] max(%%c5, %%z5)
  %%w3 = f32[4,1,3,3] constant(%s)
  %%dw3s2 = f32[2,4,20,19] convolution(%%xw, %%w3), window={size=3x3 stride=2x2 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01, feature_group_count=4
  %%xs = f32[2,24,13,11] parameter(7)
  %%sc = f32[24] parameter(8)
  %%scb = f32[2,24,13,11] broadcast(%%sc), dimensions={1}
  %%sescaled = f32[2,24,13,11] mul(%%xs, %%scb)
  %%wp = f32[40,24,1,1] constant(%s)
  %%se = f32[2,40,13,11] convolution(%%sescaled, %%wp), window={size=1x1}, dim_labels=bf01_oi01->bf01
  %%xi = f32[1,3,64,66] parameter(9)
  %%wi3 = f32[16,3,3,3] constant(%s)
  %%xis = f32[1,3,64,64] slice(%%xi), slice={[0:1], [0:3], [0:64], [0:64]}
  %%stem3 = f32[1,16,32,32] convolution(%%xis, %%wi3), window={size=3x3 stride=2x2 pad=1_1x1_1}, dim_labels=bf01_oi01->bf01
  %%xin = f32[1,3,64,34] slice(%%xi), slice={[0:1], [0:3], [0:64], [0:34]}
  %%valid3 = f32[1,16,62,32] convolution(%%xin, %%wi3), window={size=3x3}, dim_labels=bf01_oi01->bf01
  ROOT %%t = (f32[2,20,13,11], f32[2,6,7,6], f32[2,10,13,11], f32[37,45], f32[3,24,40], f32[20,70], f32[20,70], f32[2,4,40,37], f32[2,4,20,19], f32[2,40,13,11], f32[1,16,32,32], f32[1,16,62,32]) tuple(%%relu6, %%hswish, %%swish, %%gelu, %%tanh, %%softmax, %%layernorm, %%dw5, %%dw3s2, %%se, %%stem3, %%valid3)
}
""" % (lit(w), lit(b), lit(wd), lit(bd), lit(wg), lit(wa), lit(ba), lit(w5), lit(w3), lit(wp), lit(wi3))
    case("epilogues", kir, [x, res, a, p, pw, s, xw, xs, sc, xi], [relu6, hswish, swish, gelu, bt, soft, ln, dw5, dw3s2, se, stem3, valid3],
         tol="3e-6 2e-5  products summed over up to 54 terms in float; exp, erf and tanh within a few ulp")


def write_all(out):
    if os.path.isdir(out):
        shutil.rmtree(out)
    for name, kir, ins, outs, tol in CASES:
        d = os.path.join(out, name)
        os.makedirs(d)
        with open(os.path.join(d, "model.kir"), "w") as f:
            f.write(kir)
        for i, a in enumerate(ins):
            np.save(os.path.join(d, "in%d.npy" % i), np.asarray(a))
        for i, a in enumerate(outs):
            np.save(os.path.join(d, "out%d.npy" % i), np.asarray(a))
        if tol:
            with open(os.path.join(d, "tolerance"), "w") as f:
                f.write(tol + "\n")


def main():
    for gen in (big_elementwise, big_reduce, big_dot, big_conv, outputs_alias, zero_size, buffer_reuse, buffers_in_place, big_sort,
                math_f32, big_int, layouts_fused, gemm_const, panel_weights, gemm_swap, conv_windows, pow_const, epilogues):
        gen()
    if sys.argv[1:] == ["--check"]:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = os.path.join(tmp, "cases")
            write_all(fresh)
            sys.exit(case_tree.check(fresh, OUT, "tests/codegen/gen_cases.py"))
    write_all(OUT)
    print("wrote %d cases to %s" % (len(CASES), OUT))


if __name__ == "__main__":
    main()
