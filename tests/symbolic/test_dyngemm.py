#!/usr/bin/python3
"""The run-time GEMM (codegen/cpu/cg_dyngemm.c, issue 15): dots whose M, N
or K is symbolic, as in attention with a symbolic sequence length,
compiled once (`kiln compile`) and called through kiln_NAME_run_shaped
(ctypes) at several bindings against NumPy (float64 products).

usage: test_dyngemm.py KILN WORKDIR

Per case: the unoptimized LLVM IR of the module must hold the run-time GEMM's tile
functions (kiln.dyntile: the kernel under test did run, not the loop
fallback); at every binding the output matches NumPy, its dimensions are
the actual ones, and nothing past the actual extent of the output buffer
(allocated at the bound, NaN-filled) is written. The bindings cover rows
and columns that are and are not multiples of the tile (6 rows, 16
columns on AVX2; 14 and 32 on AVX-512), a single row or column, K of 1,
and the bounds. Each binding runs twice: with the output buffer at the
bound (NaN-filled), and with inputs and output of exactly their actual
size, each followed by an inaccessible page (guard.py), which must give
the same output. Exits 77 without NumPy.
"""
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print('SKIP: NumPy is not installed')
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kirtest  # noqa: E402  (needs NumPy)

KILN, WORK = sys.argv[1], sys.argv[2]
# An optional third argument: the CPU to compile for (--cpu), e.g. the
# x86-64-v2 baseline, so the 4-lane tiles are tested on any machine.
FLAGS = ['--cpu=' + sys.argv[3]] if len(sys.argv) > 3 else []
os.makedirs(WORK, exist_ok=True)
check = kirtest.check
failures = kirtest.failures


def compile_kir(name, text):
    ll = os.path.join(WORK, name + '.ll')
    r, so = kirtest.compile_kir(KILN, WORK, name, text, extra=(ll,), flags=FLAGS)
    # -O0: the tile functions keep their names (O3 may inline them).
    e = subprocess.run([KILN, 'compile', os.path.join(WORK, name + '.kir'), '-O0', '--emit=llvm', '-o', ll, '--name',
                        name] + FLAGS, capture_output=True, text=True)
    llvm = open(ll).read() if e.returncode == 0 and os.path.exists(ll) else ''
    return r, so, llvm


rng = np.random.default_rng(1515)


def run_case(name, text, bound_out, bindings, make):
    """make(binding) -> (inputs, reference as float64)."""
    r, so, llvm = compile_kir(name, text)
    check(r.returncode == 0, '%s: kiln compile (%s)' % (name, r.stderr.strip()))
    if r.returncode != 0:
        return
    check('kiln.dyntile' in llvm, '%s: the run-time GEMM generated the dot (kiln.dyntile in the LLVM IR)' % name)
    art = kirtest.Artifact(so, name)
    for bnd in bindings:
        inputs, ref = make(*bnd)
        inputs = [np.ascontiguousarray(a, dtype=np.float32) for a in inputs]
        st, outs, ods = art.run_shaped(inputs, [bound_out])
        out, od = outs[0], ods[0]
        tag = '%s %s' % (name, 'x'.join(str(v) for v in bnd))
        check(st == 0, '%s: status %d' % (tag, st))
        if st != 0:
            continue
        check(list(od) == list(ref.shape), '%s: output dims %s (want %s)' % (tag, list(od), list(ref.shape)))
        n = ref.size
        got = out[:n].reshape(ref.shape).astype(np.float64)
        scale = max(1.0, float(np.abs(ref).max())) if n else 1.0
        err = float(np.abs(got - ref).max()) if n else 0.0
        check(err <= 1e-5 * scale and not np.isnan(got).any(), '%s: max error %.3g (scale %.3g)' % (tag, err, scale))
        check(bool(np.isnan(out[n:]).all()), '%s: output untouched past its actual extent' % tag)
        # Again with every buffer exactly its actual size, an inaccessible
        # page right after it (a read or write past it kills the test).
        st, g = kirtest.run_guarded(art, inputs, [ref.shape])
        check(st == 0 and np.array_equal(g[0].ravel(), out[:n]), '%s: exact-size guarded buffers, same output' % tag)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def f64(a):
    return a.astype(np.float64)


# Bindings: (b, s). s crosses 6 and 16 (the AVX2 tile), 14 and 32 (AVX-512).
BS = [(1, 1), (1, 5), (2, 6), (3, 7), (1, 16), (2, 17), (1, 31), (3, 40)]

# 1. Scores as attention computes them from Q and K: Kᵀ not materialized,
#    rhs [b, s, d] contracting its last dim (B[k][n] at n·K + k: gathered).
QKT = '''module qkt
symbol b <= 3
symbol s <= 40

ENTRY %main outputs={"y"} {
  %q = f32[b,s,32]{2,1,0} parameter(0), io_name="q"
  %k = f32[b,s,32]{2,1,0} parameter(1), io_name="k"
  %y = f32[b,s,s]{2,1,0} dot(%q, %k), lhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_batch_dims={0}, rhs_contracting_dims={2}
  ROOT %r = (f32[b,s,s]{2,1,0}) tuple(%y)
}
'''


def make_qkt(b, s):
    q, k = randn(b, s, 32), randn(b, s, 32)
    return [q, k], np.einsum('bmk,bnk->bmn', f64(q), f64(k))


run_case('qkt', QKT, (3, 40, 40), BS, make_qkt)

# 2. The same with Kᵀ materialized (what kiln's transformer import makes
#    today): rhs [b, d, s], rows contiguous along N, read in place.
QK = QKT.replace('module qkt', 'module qk').replace('%k = f32[b,s,32]', '%k = f32[b,32,s]').replace(
    'rhs_contracting_dims={2}', 'rhs_contracting_dims={1}')


def make_qk(b, s):
    q, k = randn(b, s, 32), randn(b, 32, s)
    return [q, k], np.einsum('bmk,bkn->bmn', f64(q), f64(k))


run_case('qk', QK, (3, 40, 40), BS, make_qk)

# 3. Probabilities times values: K symbolic, N static and not a multiple
#    of the column panel (24).
PV = '''module pv
symbol b <= 3
symbol s <= 40

ENTRY %main outputs={"y"} {
  %p = f32[b,s,s]{2,1,0} parameter(0), io_name="p"
  %v = f32[b,s,24]{2,1,0} parameter(1), io_name="v"
  %y = f32[b,s,24]{2,1,0} dot(%p, %v), lhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_batch_dims={0}, rhs_contracting_dims={1}
  ROOT %r = (f32[b,s,24]{2,1,0}) tuple(%y)
}
'''


def make_pv(b, s):
    p, v = randn(b, s, s), randn(b, s, 24)
    return [p, v], np.einsum('bmk,bkn->bmn', f64(p), f64(v))


run_case('pv', PV, (3, 40, 24), BS, make_pv)

# 3b. A K whose bound makes B's column panel too large for the stack
#     buffer (1100 · 16 floats on AVX2, over 32 KB): B is read in place, masked at the
#     column edge.
PVL = PV.replace('module pv', 'module pvl').replace('symbol b <= 3\nsymbol s <= 40', 'symbol b <= 2\nsymbol s <= 1100')
run_case('pvl', PVL, (2, 1100, 24), [(1, 1), (2, 7), (1, 33), (1, 1100)], make_pv)

# 4. K of 1 (an outer product) with M and N symbolic, and lhs stored
#    [b, K, M] (contracting dim first: A[m][k] at k·M + m).
OUTER = '''module outer
symbol b <= 2
symbol s <= 20

ENTRY %main outputs={"y"} {
  %x = f32[b,1,s]{2,1,0} parameter(0), io_name="x"
  %w = f32[b,1,s]{2,1,0} parameter(1), io_name="w"
  %y = f32[b,s,s]{2,1,0} dot(%x, %w), lhs_batch_dims={0}, lhs_contracting_dims={1}, rhs_batch_dims={0}, rhs_contracting_dims={1}
  ROOT %r = (f32[b,s,s]{2,1,0}) tuple(%y)
}
'''


def make_outer(b, s):
    x, w = randn(b, 1, s), randn(b, 1, s)
    return [x, w], np.einsum('bkm,bkn->bmn', f64(x), f64(w))


run_case('outer', OUTER, (2, 20, 20), [(1, 1), (2, 5), (1, 13), (2, 20)], make_outer)

# 5. No batch dims, two lhs free dims (M = s·b) and a symbolic K and N:
#    x [s, b, t] · w [t, s] -> [s, b, s], with a single column at s = 1.
FLAT = '''module flat
symbol b <= 3
symbol s <= 18
symbol t <= 9

ENTRY %main outputs={"y"} {
  %x = f32[s,b,t]{2,1,0} parameter(0), io_name="x"
  %w = f32[t,s]{1,0} parameter(1), io_name="w"
  %y = f32[s,b,s]{2,1,0} dot(%x, %w), lhs_contracting_dims={2}, rhs_contracting_dims={0}
  ROOT %r = (f32[s,b,s]{2,1,0}) tuple(%y)
}
'''


def make_flat(b, s, t):
    x, w = randn(s, b, t), randn(t, s)
    return [x, w], np.einsum('mbk,kn->mbn', f64(x), f64(w))


run_case('flat', FLAT, (18, 3, 18), [(1, 1, 1), (2, 1, 9), (3, 7, 4), (1, 17, 2), (3, 18, 9)], make_flat)

# 6. A fused epilogue (scale, an additive mask, then max with a floor)
#    over the scores of case 1.
EPI = '''module epi
symbol b <= 3
symbol s <= 40

ENTRY %main outputs={"y"} {
  %q = f32[b,s,32]{2,1,0} parameter(0), io_name="q"
  %k = f32[b,s,32]{2,1,0} parameter(1), io_name="k"
  %m = f32[b,s,s]{2,1,0} parameter(2), io_name="mask"
  %d = f32[b,s,s]{2,1,0} dot(%q, %k), lhs_batch_dims={0}, lhs_contracting_dims={2}, rhs_batch_dims={0}, rhs_contracting_dims={2}
  %c = f32[] constant(0.125)
  %cb = f32[b,s,s]{2,1,0} broadcast(%c), dimensions={}
  %sc = f32[b,s,s]{2,1,0} mul(%d, %cb)
  %am = f32[b,s,s]{2,1,0} add(%sc, %m)
  %f = f32[] constant(-1)
  %fb = f32[b,s,s]{2,1,0} broadcast(%f), dimensions={}
  %y = f32[b,s,s]{2,1,0} max(%am, %fb)
  ROOT %r = (f32[b,s,s]{2,1,0}) tuple(%y)
}
'''


def make_epi(b, s):
    q, k, m = randn(b, s, 32), randn(b, s, 32), randn(b, s, s)
    return [q, k, m], np.maximum(np.einsum('bmk,bnk->bmn', f64(q), f64(k)) * 0.125 + f64(m), -1.0)


run_case('epi', EPI, (3, 40, 40), BS, make_epi)

# 7. Weights the layout pass stores in column panels (the transformer's
#    projections, x [b, s, K] · W with M = b·s over two symbolic dims):
#    W [K, N] with a tanh epilogue, and W [N, K] (ONNX Gemm with transB)
#    with a bias; K = 40 and N = 72 are not multiples of the unrolling (4)
#    or of the column panel. The IR after the passes must show the panel
#    layout (the kernel reads W where it is).
def literal(a):
    return '{' + ', '.join('{' + ', '.join('%.6g' % v for v in row) + '}' for row in a) + '}'


def weights_case(name, transposed):
    w = rng.standard_normal((72, 40) if transposed else (40, 72)).astype(np.float32)
    w = np.array([[float('%.6g' % v) for v in row] for row in w], dtype=np.float32)
    bias = rng.standard_normal(72).astype(np.float32)
    bias = np.array([float('%.6g' % v) for v in bias], dtype=np.float32)
    wt = 'f32[72,40]' if transposed else 'f32[40,72]'
    text = """module %s
symbol b <= 3
symbol s <= 20

ENTRY %%main outputs={"y"} {
  %%x = f32[b,s,40]{2,1,0} parameter(0), io_name="x"
  %%w = %s{1,0} constant(%s)
  %%c = f32[72]{0} constant({%s})
  %%d = f32[b,s,72]{2,1,0} dot(%%x, %%w), lhs_contracting_dims={2}, rhs_contracting_dims={%d}
  %%cb = f32[b,s,72]{2,1,0} broadcast(%%c), dimensions={2}
  %%e = f32[b,s,72]{2,1,0} add(%%d, %%cb)
  %%y = f32[b,s,72]{2,1,0} tanh(%%e)
  ROOT %%r = (f32[b,s,72]{2,1,0}) tuple(%%y)
}
""" % (name, wt, literal(w), ', '.join('%.6g' % v for v in bias), 1 if transposed else 0)
    src = os.path.join(WORK, name + '_ir.kir')
    with open(src, 'w') as f:
        f.write(text)
    ir = subprocess.run([KILN, 'compile', src, '--emit=ir', '--elide-constants'] + FLAGS, capture_output=True, text=True)
    check(':P(' in ir.stdout, '%s: the weight is stored in panels after the passes' % name)
    wm = f64(w).T if transposed else f64(w)

    def make(b, s):
        x = randn(b, s, 40)
        return [x], np.tanh(np.einsum('bsk,kn->bsn', f64(x), wm) + f64(bias))

    run_case(name, text, (3, 20, 72), [(1, 1), (2, 3), (1, 6), (3, 7), (2, 16), (3, 20)], make)


weights_case('fc', False)
weights_case('fct', True)

print('%d failure(s)' % len(failures))
sys.exit(1 if failures else 0)
