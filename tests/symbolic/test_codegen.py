#!/usr/bin/python3
"""Code generation with run-time extents (issue 15, item 3): IR modules with
symbolic dimensions compiled once (`kiln compile`) to a shared
object, then called through kiln_NAME_run_shaped (ctypes) at several
bindings and compared with NumPy.

usage: test_codegen.py KILN WORKDIR

Checks, per case: every binding 1..bound chosen runs and matches NumPy;
the output dimensions written by run_shaped are the actual ones; nothing
past the actual extent of an output buffer is written (the buffers are
allocated at the bound and filled with NaN first); inputs and outputs of
exactly their actual size placed just before an inaccessible page (an
access past them would kill the test); an out-of-bound or
inconsistent shape returns KILN_ARTIFACT_ERR_SHAPE (6) and leaves the
outputs alone; NULL dimension arrays return KILN_ARTIFACT_ERR_ARGUMENT (1);
`run` (no shapes) runs at the bounds. Kernels this stage cannot run with a
symbolic dimension (a sort along it; a symbol no input binds) make `kiln
compile` fail with a message naming the instruction, and leave no output
file.
Exits 77 without NumPy.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import numpy as np
except ImportError:
    print('SKIP: NumPy is not installed')
    sys.exit(77)
import kirtest  # noqa: E402  (needs NumPy)

KILN, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
check = kirtest.check
failures = kirtest.failures
ptrs = kirtest.ptrs
Artifact = kirtest.Artifact
run_guarded = kirtest.run_guarded


def compile_kir(name, text):
    return kirtest.compile_kir(KILN, WORK, name, text)


def compare(case, b, outs, od, refs):
    for i, ref in enumerate(refs):
        n = ref.size
        check(list(od[i]) == list(ref.shape), '%s b=%d: output %d dims %s (want %s)' % (case, b, i, list(od[i]), list(ref.shape)))
        got = outs[i][:n].reshape(ref.shape)
        err = float(np.abs(got - ref).max()) if n else 0.0
        scale = max(1.0, float(np.abs(ref).max())) if n else 1.0
        check(err <= 1e-5 * scale, '%s b=%d: output %d max error %.3g' % (case, b, i, err))
        check(bool(np.isnan(outs[i][n:]).all()), '%s b=%d: output %d untouched past its actual extent' % (case, b, i))


rng = np.random.default_rng(15)

# 1. Elementwise, broadcast and a reduction over a static dimension of
#    f32[b,5,7]; two outputs of different dims (two loop nests).
EW = '''module ew
symbol b <= 8

ENTRY %main outputs={"y", "m"} {
  %x = f32[b,5,7]{2,1,0} parameter(0), io_name="x"
  %bias = f32[7]{0} parameter(1), io_name="bias"
  %bb = f32[b,5,7]{2,1,0} broadcast(%bias), dimensions={2}
  %sum = f32[b,5,7]{2,1,0} add(%x, %bb)
  %act = f32[b,5,7]{2,1,0} tanh(%sum)
  %m = f32[b,7]{1,0} reduce(%act), dimensions={1}, combiner=add
  ROOT %r = (f32[b,5,7]{2,1,0}, f32[b,7]{1,0}) tuple(%act, %m)
}
'''
r, so = compile_kir('ew', EW)
check(r.returncode == 0, 'ew: kiln compile (%s)' % r.stderr.strip())
if r.returncode == 0:
    art = Artifact(so, 'ew')
    bias = rng.standard_normal(7).astype(np.float32)
    for b in (1, 2, 3, 8):
        x = rng.standard_normal((b, 5, 7)).astype(np.float32)
        st, outs, od = art.run_shaped([x, bias], [(8, 5, 7), (8, 7)])
        check(st == 0, 'ew b=%d: status %d' % (b, st))
        y = np.tanh(x + bias)
        compare('ew', b, outs, od, [y, y.sum(axis=1)])
        st, g = run_guarded(art, [x, bias], [y.shape, (b, 7)])
        check(st == 0 and np.abs(g[0] - y).max() < 1e-5 and np.abs(g[1] - y.sum(axis=1)).max() < 1e-4,
              'ew b=%d: exact-size buffers before an inaccessible page' % b)
    x9 = rng.standard_normal((9, 5, 7)).astype(np.float32)
    st, outs, _ = art.run_shaped([x9, bias], [(9, 5, 7), (9, 7)])
    check(st == 6 and np.isnan(outs[0]).all(), 'ew: b=9 above the bound 8 refused with 6 (got %d), outputs untouched' % st)
    x0 = np.zeros((0, 5, 7), dtype=np.float32)
    st, _, _ = art.run_shaped([x0, bias], [(8, 5, 7), (8, 7)])
    check(st == 6, 'ew: b=0 below 1 refused with 6 (got %d)' % st)
    x3 = rng.standard_normal((3, 6, 7)).astype(np.float32)
    st, _, _ = art.run_shaped([x3, bias], [(8, 5, 7), (8, 7)])
    check(st == 6, 'ew: a static dimension that differs (6, not 5) refused with 6 (got %d)' % st)
    st = art.shaped(ptrs([x3, bias]), None, ptrs([x3, x3]), None, None)
    check(st == 1, 'ew: NULL input_dims refused with 1 (got %d)' % st)
    # run: at the bounds.
    x8 = rng.standard_normal((8, 5, 7)).astype(np.float32)
    st, outs = art.run([x8, bias], [(8, 5, 7), (8, 7)])
    y = np.tanh(x8 + bias)
    check(st == 0 and np.abs(outs[0].reshape(y.shape) - y).max() < 1e-5, 'ew: run (no shapes) runs at the bounds')

# 2. Two inputs bound by one symbol, a reshape that keeps it first, a
#    transpose of the static dimensions, and a symbolic expression
#    (2*b rows) checked against the other input.
TWO = '''module two
symbol b <= 6

ENTRY %main outputs={"z"} {
  %x = f32[b,4,3]{2,1,0} parameter(0), io_name="x"
  %w = f32[2*b,6]{1,0} parameter(1), io_name="w"
  %t = f32[b,3,4]{2,1,0} transpose(%x), dimensions={0,2,1}
  %f = f32[2*b,6]{1,0} reshape(%t)
  %z = f32[2*b,6]{1,0} mul(%f, %w)
  ROOT %r = (f32[2*b,6]{1,0}) tuple(%z)
}
'''
r, so = compile_kir('two', TWO)
if r.returncode != 0:
    # A symbolic expression as an input dimension may be refused (no input
    # binds b on its own would be refused; here x does): report it.
    check(False, 'two: kiln compile (%s)' % r.stderr.strip())
else:
    art = Artifact(so, 'two')
    for b in (1, 4, 6):
        x = rng.standard_normal((b, 4, 3)).astype(np.float32)
        w = rng.standard_normal((2 * b, 6)).astype(np.float32)
        st, outs, od = art.run_shaped([x, w], [(12, 6)])
        check(st == 0, 'two b=%d: status %d' % (b, st))
        compare('two', b, outs, od, [x.transpose(0, 2, 1).reshape(2 * b, 6) * w])
    x = rng.standard_normal((4, 4, 3)).astype(np.float32)
    w = rng.standard_normal((6, 6)).astype(np.float32)
    st, _, _ = art.run_shaped([x, w], [(12, 6)])
    check(st == 6, 'two: w with 6 rows where 2*b = 8 refused with 6 (got %d)' % st)

# 3. Symbolic dimensions anywhere: softmax over a symbolic minor-most
#    dimension, a reduction over the symbolic batch, concatenation, padding,
#    reversal and slicing along symbolic dimensions, a dot contracting one.
INNER = """module inner
symbol b <= 4
symbol s <= 6

ENTRY %main outputs={"sm", "cat", "pd", "rv", "sl", "tot", "att"} {
  %x = f32[b,s]{1,0} parameter(0), io_name="x"
  %y = f32[b,2]{1,0} parameter(1), io_name="y"
  %v = f32[s,3]{1,0} parameter(2), io_name="v"
  %mx = f32[b]{0} reduce(%x), dimensions={1}, combiner=max
  %mxb = f32[b,s]{1,0} broadcast(%mx), dimensions={0}
  %d = f32[b,s]{1,0} sub(%x, %mxb)
  %e = f32[b,s]{1,0} exp(%d)
  %se = f32[b]{0} reduce(%e), dimensions={1}, combiner=add
  %seb = f32[b,s]{1,0} broadcast(%se), dimensions={0}
  %sm = f32[b,s]{1,0} div(%e, %seb)
  %cat = f32[b,s+2]{1,0} concatenate(%x, %y), dimensions={1}
  %zero = f32[] constant(0)
  %pd = f32[b,s+3]{1,0} pad(%x, %zero), padding=0_0x1_2
  %rv = f32[b,s]{1,0} reverse(%x), dimensions={0,1}
  %sl = f32[b,s-1]{1,0} slice(%x), slice={[0:b], [1:s]}
  %tot = f32[s]{0} reduce(%x), dimensions={0}, combiner=add
  %att = f32[b,3]{1,0} dot(%sm, %v), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  ROOT %r = (f32[b,s]{1,0}, f32[b,s+2]{1,0}, f32[b,s+3]{1,0}, f32[b,s]{1,0}, f32[b,s-1]{1,0}, f32[s]{0}, f32[b,3]{1,0}) tuple(%sm, %cat, %pd, %rv, %sl, %tot, %att)
}
"""
r, so = compile_kir('inner', INNER)
check(r.returncode == 0, 'inner: kiln compile (%s)' % r.stderr.strip())
if r.returncode == 0:
    art = Artifact(so, 'inner')
    bounds = [(4, 6), (4, 8), (4, 9), (4, 6), (4, 5), (6,), (4, 3)]
    for b, n in ((1, 2), (2, 3), (3, 1), (4, 6)):
        x = rng.standard_normal((b, n)).astype(np.float32)
        y = rng.standard_normal((b, 2)).astype(np.float32)
        v = rng.standard_normal((n, 3)).astype(np.float32)
        st, outs, od = art.run_shaped([x, y, v], bounds)
        check(st == 0, 'inner b=%d s=%d: status %d' % (b, n, st))
        e = np.exp(x - x.max(axis=1, keepdims=True))
        sm = e / e.sum(axis=1, keepdims=True)
        refs = [sm, np.concatenate([x, y], axis=1), np.pad(x, ((0, 0), (1, 2))), x[::-1, ::-1], x[:, 1:],
                x.sum(axis=0), sm @ v]
        compare('inner s=%d' % n, b, outs, od, refs)
        st, g = run_guarded(art, [x, y, v], [r.shape for r in refs])
        check(st == 0 and all(np.abs(gi - r).max() < 1e-4 for gi, r in zip(g, refs) if r.size),
              'inner b=%d s=%d: exact-size buffers before an inaccessible page' % (b, n))
    x = rng.standard_normal((2, 3)).astype(np.float32)
    st, _, _ = art.run_shaped([x, rng.standard_normal((2, 2)).astype(np.float32),
                               rng.standard_normal((4, 3)).astype(np.float32)], bounds)
    check(st == 6, 'inner: v with 4 rows where s = 3 refused with 6 (got %d)' % st)

# 4. Regressions found in review: a concatenation whose result is static
#    over operands of symbolic size (the boundaries are run-time values, and
#    the buffer plan must not write the operands into static slices); two
#    slices whose starts are different symbolic expressions (kernels must
#    not be shared); an operand that is empty at some binding (s-1 at s=1)
#    read by a concatenation and a pad (never read, not even speculatively:
#    the exact-size buffers end at an inaccessible page).
REGRESS = """module regress
symbol s <= 7
symbol a <= 4
symbol c <= 4

ENTRY %main outputs={"roll", "cat", "y1", "y2", "tail", "padded"} {
  %x = f32[8]{0} parameter(0), io_name="x"
  %t = f32[s]{0} parameter(1), io_name="t"
  %u = f32[8-s]{0} parameter(2), io_name="u"
  %p = f32[a]{0} parameter(3), io_name="p"
  %q = f32[c]{0} parameter(4), io_name="q"
  %h = f32[s]{0} slice(%x), slice={[0:s]}
  %l = f32[8-s]{0} slice(%x), slice={[s:8]}
  %roll = f32[8]{0} concatenate(%l, %h), dimensions={0}
  %e1 = f32[s]{0} exp(%t)
  %e2 = f32[8-s]{0} exp(%u)
  %cat = f32[8]{0} concatenate(%e1, %e2), dimensions={0}
  %pq = f32[a+c]{0} concatenate(%p, %q), dimensions={0}
  %s1 = f32[1]{0} slice(%pq), slice={[a-1:a]}
  %s2 = f32[1]{0} slice(%pq), slice={[c-1:c]}
  %y1 = f32[1]{0} exp(%s1)
  %y2 = f32[1]{0} exp(%s2)
  %rest = f32[s-1]{0} slice(%t), slice={[1:s]}
  %tail = f32[3*s-1]{0} concatenate(%rest, %e1, %e1), dimensions={0}
  %zero = f32[] constant(0)
  %padded = f32[s+2]{0} pad(%rest, %zero), padding=2_1
  ROOT %r = (f32[8]{0}, f32[8]{0}, f32[1]{0}, f32[1]{0}, f32[3*s-1]{0}, f32[s+2]{0}) tuple(%roll, %cat, %y1, %y2, %tail, %padded)
}
"""
r, so = compile_kir('regress', REGRESS)
check(r.returncode == 0, 'regress: kiln compile (%s)' % r.stderr.strip())
if r.returncode == 0:
    art = Artifact(so, 'regress')
    bounds = [(8,), (8,), (1,), (1,), (20,), (9,)]
    for n, na, nc in ((1, 4, 2), (3, 1, 4), (7, 2, 2)):
        x = rng.standard_normal(8).astype(np.float32)
        t = rng.standard_normal(n).astype(np.float32)
        u = rng.standard_normal(8 - n).astype(np.float32)
        p = rng.standard_normal(na).astype(np.float32)
        q = rng.standard_normal(nc).astype(np.float32)
        pq = np.concatenate([p, q])
        refs = [np.concatenate([x[n:], x[:n]]), np.exp(np.concatenate([t, u])), np.exp(pq[na - 1:na]),
                np.exp(pq[nc - 1:nc]), np.concatenate([t[1:], np.exp(t), np.exp(t)]), np.pad(t[1:], (2, 1))]
        st, outs, od = art.run_shaped([x, t, u, p, q], bounds)
        check(st == 0, 'regress s=%d a=%d c=%d: status %d' % (n, na, nc, st))
        compare('regress s=%d a=%d c=%d' % (n, na, nc), n, outs, od, refs)
        st, g = run_guarded(art, [x, t, u, p, q], [r_.shape for r_ in refs])
        check(st == 0 and all(np.abs(gi - r_).max() < 1e-5 for gi, r_ in zip(g, refs) if r_.size),
              'regress s=%d: exact-size buffers before an inaccessible page' % n)

# 5. Windows along a symbolic length: max pooling (stride 2, padded) and a
#    1-D convolution over a sequence (the loop kernel's taps read the
#    length from the binding; the convolution kernels decline it).
WIN = """module win
symbol s <= 9

ENTRY %main outputs={"p", "c"} {
  %x = f32[2,s]{1,0} parameter(0), io_name="x"
  %p = f32[2,(s+1)/2]{1,0} reduce_window(%x), window={size=1x2 stride=1x2 pad=0_0x0_1}, combiner=max
  %v = f32[2,3,s]{2,1,0} parameter(1), io_name="v"
  %k = f32[4,3,3]{2,1,0} parameter(2), io_name="k"
  %c = f32[2,4,s]{2,1,0} convolution(%v, %k), window={size=3 pad=1_1}, dim_labels=bf0_oi0->bf0
  ROOT %r = (f32[2,(s+1)/2]{1,0}, f32[2,4,s]{2,1,0}) tuple(%p, %c)
}
"""
r, so = compile_kir('win', WIN)
check(r.returncode == 0, 'win: kiln compile (%s)' % r.stderr.strip())
if r.returncode == 0:
    art = Artifact(so, 'win')
    for n in (1, 2, 5, 9):
        x = rng.standard_normal((2, n)).astype(np.float32)
        v = rng.standard_normal((2, 3, n)).astype(np.float32)
        kk = rng.standard_normal((4, 3, 3)).astype(np.float32)
        xp = np.pad(x, ((0, 0), (0, 1)), constant_values=-np.inf)
        pool = np.maximum(xp[:, 0:2 * ((n + 1) // 2):2], xp[:, 1:2 * ((n + 1) // 2) + 1:2])
        vp = np.pad(v, ((0, 0), (0, 0), (1, 1)))
        conv = np.einsum('bcnk,ock->bon', np.stack([vp[:, :, t:t + 3] for t in range(n)], axis=2), kk)
        refs = [pool, conv]
        st, outs, od = art.run_shaped([x, v, kk], [(2, 5), (2, 4, 9)])
        check(st == 0, 'win s=%d: status %d' % (n, st))
        compare('win', n, outs, od, refs)
        st, g = run_guarded(art, [x, v, kk], [r_.shape for r_ in refs])
        check(st == 0 and all(np.abs(gi - r_).max() < 1e-4 for gi, r_ in zip(g, refs)),
              'win s=%d: exact-size buffers before an inaccessible page' % n)

# 5b. Sorts along a static dimension of arrays with symbolic ones (a run-time
#     number of rows): two operands sorted together, descending (TopK's
#     form), and symbolic dimensions on both sides of the sorted one.
SORTS = '''module sorts
symbol b <= 6
symbol s <= 5

ENTRY %main outputs={"v", "i", "z"} {
  %x = f32[b,7]{1,0} parameter(0), io_name="x"
  %w = f32[b,4,s]{2,1,0} parameter(1), io_name="w"
  %io = i32[b,7]{1,0} iota(), iota_dimension=1
  %st = (f32[b,7]{1,0}, i32[b,7]{1,0}) sort(%x, %io), dimensions={1}, descending=true
  %v = f32[b,7]{1,0} get_tuple_element(%st), index=0
  %i = i32[b,7]{1,0} get_tuple_element(%st), index=1
  %z = f32[b,4,s]{2,1,0} sort(%w), dimensions={1}
  ROOT %r = (f32[b,7]{1,0}, i32[b,7]{1,0}, f32[b,4,s]{2,1,0}) tuple(%v, %i, %z)
}
'''
r, so = compile_kir('sorts', SORTS)
check(r.returncode == 0, 'sorts: kiln compile (%s)' % r.stderr.strip())
if r.returncode == 0:
    art = Artifact(so, 'sorts')
    for b, n in ((1, 1), (2, 5), (6, 3)):
        x = rng.standard_normal((b, 7)).astype(np.float32)
        x[:, 3] = x[:, 1]  # a tie: the stable order keeps the lower index first
        w = rng.standard_normal((b, 4, n)).astype(np.float32)
        order = np.argsort(-x, axis=1, kind='stable')
        refs = [np.take_along_axis(x, order, axis=1), order.astype(np.int32), np.sort(w, axis=1)]
        st, g = run_guarded(art, [x, w], [r_.shape for r_ in refs])
        same = st == 0 and all(np.array_equal(gi.view(r_.dtype).reshape(r_.shape) if gi.dtype != r_.dtype else gi, r_)
                               for gi, r_ in zip(g, refs))
        check(same, 'sorts b=%d s=%d: rows sorted at run-time extents, exact-size buffers (status %d)' % (b, n, st))

# 6. What this stage refuses, by name, leaving no file behind.
REFUSED = {
    'sort_s': ("""module sort_s
symbol s <= 8

ENTRY %main outputs={"y"} {
  %x = f32[3,s]{1,0} parameter(0), io_name="x"
  %y = f32[3,s]{1,0} sort(%x), dimensions={1}
  ROOT %r = (f32[3,s]{1,0}) tuple(%y)
}
""", 'does not support this kernel'),
    'nob': ("""module nob
symbol b <= 8

ENTRY %main outputs={"y"} {
  %x = f32[2*b,3]{1,0} parameter(0), io_name="x"
  %y = f32[2*b,3]{1,0} exp(%x)
  ROOT %r = (f32[2*b,3]{1,0}) tuple(%y)
}
""", "is no input's dimension on its own"),
}
for name, (text, why) in REFUSED.items():
    r, so = compile_kir(name, text)
    check(r.returncode != 0 and why in r.stderr and ('symbolic' in r.stderr or 'symbol ' in r.stderr),
          '%s: refused naming "%s" (exit %d: %s)' % (name, why, r.returncode, r.stderr.strip()))
    check(not os.path.exists(so) and not os.path.exists(so[:-3] + '.h'), '%s: no output file left' % name)

if failures:
    print('%d check(s) failed' % len(failures))
    sys.exit(1)
print('all checks passed')
