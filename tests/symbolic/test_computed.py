"""Computed symbols (issue 15, item 4: sizes that values decide): IR
modules whose output sizes come from set_symbol, run by the interpreter
(`kiln eval`), the JIT (`kiln run MODEL.kir`) and a compiled .so called
through kiln_NAME_run_shaped (buffers at the bounds, each ending before an
inaccessible page), against NumPy; the empty result (count 0) and the full
one; values outside [0, bound] refused at run time by every engine with a
message naming the size (no crash: ASan runs this too); the text form
round trip; the verifier's refusals (a size used before set_symbol sets it,
set twice, set_symbol of an ordinary symbol or of a non-scalar); the
default pass pipeline keeping set_symbol ahead of the instructions that
read its size.

usage: test_computed.py KILN WORKDIR. Exits 77 without NumPy.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import numpy as np
except ImportError:
    print('SKIP: NumPy is not installed')
    sys.exit(77)
import guard  # noqa: E402  (needs NumPy)
import kirtest  # noqa: E402

KILN, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
check = kirtest.check
failures = kirtest.failures
ptrs = kirtest.ptrs

# The positive entries of x (in order), their positions, their sum, and the
# positions of the negative ones doubled: two computed sizes, one of them
# read by a reduction and an elementwise op after it.
COUNT = '''module count
symbol n <= 8, computed
symbol m <= 8, computed

ENTRY %main outputs={"pos", "idx", "total", "neg2"} {
  %x = f32[8]{0} parameter(0), io_name="x"
  %zero = f32[] constant(0)
  %z = f32[8]{0} broadcast(%zero), dimensions={}
  %p = pred[8]{0} compare(%x, %z), direction=GT
  %pi = i64[8]{0} convert(%p)
  %cnt = i64[] reduce(%pi), dimensions={0}, combiner=add
  %n = i64[] set_symbol(%cnt), index=0
  %io = i64[8]{0} iota(), iota_dimension=0
  %big = i64[] constant(100)
  %bigs = i64[8]{0} broadcast(%big), dimensions={}
  %off = i64[8]{0} add(%io, %bigs)
  %key = i64[8]{0} select(%p, %io, %off)
  %sorted = (i64[8]{0}, f32[8]{0}) sort(%key, %x), dimensions={0}
  %ks = i64[8]{0} get_tuple_element(%sorted), index=0
  %xs = f32[8]{0} get_tuple_element(%sorted), index=1
  %pos = f32[n]{0} slice(%xs), slice={[0:n]}
  %idx = i64[n]{0} slice(%ks), slice={[0:n]}
  %total = f32[] reduce(%pos), dimensions={0}, combiner=add
  %q = pred[8]{0} compare(%x, %z), direction=LT
  %qi = i32[8]{0} convert(%q)
  %cm = i32[] reduce(%qi), dimensions={0}, combiner=add
  %m = i64[] set_symbol(%cm), index=1
  %im = i64[m]{0} iota(), iota_dimension=0
  %two = i64[] constant(2)
  %twos = i64[m]{0} broadcast(%two), dimensions={}
  %neg2 = i64[m]{0} mul(%im, %twos)
  ROOT %r = (f32[n]{0}, i64[n]{0}, f32[], i64[m]{0}) tuple(%pos, %idx, %total, %neg2)
}
'''

# k given as an input (TopK's K): the first k entries of x.
FIRSTK = '''module firstk
symbol k <= 6, computed

ENTRY %main outputs={"y"} {
  %x = f32[6]{0} parameter(0), io_name="x"
  %kin = i64[] parameter(1), io_name="k"
  %k = i64[] set_symbol(%kin), index=0
  %y = f32[k]{0} slice(%x), slice={[0:k]}
  ROOT %r = (f32[k]{0}) tuple(%y)
}
'''


def write(name, text):
    path = os.path.join(WORK, name + '.kir')
    with open(path, 'w') as f:
        f.write(text)
    return path


def save(name, a):
    path = os.path.join(WORK, name + '.npy')
    np.save(path, a)
    return path


def count_refs(x):
    pos = np.nonzero(x > 0)[0]
    return [x[pos], pos.astype(np.int64), np.float32(x[pos].sum()), (2 * np.arange((x < 0).sum())).astype(np.int64)]


def load_outputs(d, names):
    return [np.load(os.path.join(d, nm + '.npy')) for nm in names]


def same(got, ref):
    return got.shape == ref.shape and got.dtype == ref.dtype and np.allclose(got, ref, rtol=1e-6, atol=1e-6)


r, so = kirtest.compile_kir(KILN, WORK, 'count', COUNT)
count_kir = so[:-3] + '.kir'
check(r.returncode == 0, 'count: compiles (%s)' % r.stderr.strip()[-300:])
art = kirtest.Artifact(so, 'count') if r.returncode == 0 else None

# The header says which sizes the run computes.
hdr = so[:-3] + '.h'
text = open(hdr).read() if os.path.exists(hdr) else ''
check('n in [0, 8] (computed)' in text, 'count: the header describes n as computed, in [0, 8]')

info = subprocess.run([KILN, 'info', so], capture_output=True, text=True)
check('n in [0, 8] (computed by the run from values)' in info.stdout, 'count: kiln info says n is computed by the run')

names = ['pos', 'idx', 'total', 'neg2']
cases = {
    'mixed': np.array([1.5, -2, 3, 0, 5, -1, 7, 2], dtype=np.float32),
    'none positive': -np.arange(1, 9, dtype=np.float32),
    'all positive': np.arange(1, 9, dtype=np.float32),
    'zeros': np.zeros(8, dtype=np.float32),
}
for case, x in cases.items():
    refs = count_refs(x)
    xp = save('x_' + case.replace(' ', '_'), x)
    # Interpreter and JIT through the CLI, outputs written as .npy.
    for engine, cmd in (('eval', [KILN, 'eval', count_kir]), ('run (JIT)', [KILN, 'run', count_kir])):
        out = os.path.join(WORK, 'out_%s_%s' % (engine.split()[0], case.replace(' ', '_')))
        r = subprocess.run(cmd + ['--input', 'x=' + xp, '--output-dir', out], capture_output=True, text=True)
        check(r.returncode == 0, 'count %s, %s: exit 0 (%s)' % (engine, case, r.stderr.strip()[-200:]))
        if r.returncode == 0:
            got = load_outputs(out, names)
            for i, nm in enumerate(names):
                check(same(got[i], refs[i]), 'count %s, %s: %s = %s (want %s)' % (engine, case, nm, got[i], refs[i]))
    # The .so: buffers at the bounds, guarded; output_dims reported.
    if art:
        bound_shapes = [(8,), (8,), (), (8,)]
        dtypes = [np.float32, np.int64, np.float32, np.int64]
        outs = [guard.guarded(s, dt) for s, dt in zip(bound_shapes, dtypes)]
        od = [np.full(max(1, len(s)), -7, dtype=np.int64) for s in bound_shapes]
        gx = guard.guarded(x.shape, np.float32, x)
        dims = [np.array(x.shape, dtype=np.int64)]
        st = art.shaped(ptrs([gx]), ptrs(dims), ptrs(outs), ptrs(od), None)
        check(st == 0, 'count .so, %s: run_shaped returns 0 (got %d)' % (case, st))
        for i, nm in enumerate(names):
            ref = refs[i]
            if ref.ndim:
                check(int(od[i][0]) == ref.shape[0], 'count .so, %s: %s has %d elements (want %d)' %
                      (case, nm, int(od[i][0]), ref.shape[0]))
            got = outs[i].reshape(-1)[:ref.size].reshape(ref.shape)
            check(same(got, ref), 'count .so, %s: %s = %s (want %s)' % (case, nm, got, ref))
        # kiln_count_run (no dims) runs too.
        st = art.run_(ptrs([gx]), ptrs(outs), None)
        check(st == 0, 'count .so, %s: run returns 0 (got %d)' % (case, st))

# k as an input: in range, 0 and the bound work; outside [0, 6] is refused.
r, so2 = kirtest.compile_kir(KILN, WORK, 'firstk', FIRSTK)
firstk = so2[:-3] + '.kir'
check(r.returncode == 0, 'firstk: compiles (%s)' % r.stderr.strip()[-300:])
x6 = np.arange(10, 16, dtype=np.float32)
xp6 = save('x6', x6)
for k in (0, 3, 6, 7, -1):
    kp = save('k%d' % (k + 10), np.array(k, dtype=np.int64))
    ok = 0 <= k <= 6
    for engine, cmd in (('eval', [KILN, 'eval', firstk]), ('run (JIT)', [KILN, 'run', firstk]), ('run .so', [KILN, 'run', so2])):
        out = os.path.join(WORK, 'outk_%s_%d' % (engine.split()[-1].strip('().'), k + 10))
        r = subprocess.run(cmd + ['--input', 'x=' + xp6, '--input', 'k=' + kp, '--output-dir', out], capture_output=True,
                           text=True)
        if ok:
            got = np.load(os.path.join(out, 'y.npy')) if r.returncode == 0 else None
            check(r.returncode == 0 and same(got, x6[:k]), 'firstk %s, k=%d: y = first %d (%s)' %
                  (engine, k, k, (r.stderr.strip() or str(got))[-200:]))
        else:
            check(r.returncode == 1 and 'Traceback' not in r.stderr and 'Sanitizer' not in r.stderr,
                  'firstk %s, k=%d: refused with exit 1 (got %d)' % (engine, k, r.returncode))
            if engine == 'eval':
                check("'k'" in r.stderr and 'outside [0, 6]' in r.stderr,
                      'firstk eval, k=%d: the message names the size and its range (%s)' % (k, r.stderr.strip()[-200:]))
            check(not os.path.exists(os.path.join(out, 'y.npy')), 'firstk %s, k=%d: no output written' % (engine, k))
if os.path.exists(so2):
    lib = kirtest.Artifact(so2, 'firstk')
    for k, want in ((4, 0), (7, 6), (-3, 6)):
        kk = np.array(k, dtype=np.int64)
        y = guard.guarded((6,), np.float32)
        od = [np.full(1, -7, dtype=np.int64)]
        dims = [np.array([6], dtype=np.int64), np.zeros(0, dtype=np.int64)]
        st = lib.shaped(ptrs([x6, kk]), ptrs(dims), ptrs([y]), ptrs(od), None)
        check(st == want, 'firstk .so, k=%d: run_shaped returns %d (got %d)' % (k, want, st))
        if want == 0:
            check(int(od[0][0]) == k and same(y[:k], x6[:k]), 'firstk .so, k=%d: y and its dims' % k)

# kiln verify compares the outputs at the sizes each side computed;
# bisection, whose kernel buffers are sized for the bounds, refuses.
xp = os.path.join(WORK, 'x_mixed.npy')
r = subprocess.run([KILN, 'verify', count_kir, '--input', 'x=' + xp], capture_output=True, text=True)
check(r.returncode == 0 and 'PASS pos f32[5]' in r.stdout and 'PASS neg2 i64[2]' in r.stdout,
      'count: kiln verify passes at the actual sizes (%s)' % (r.stdout + r.stderr).strip()[-300:])
r = subprocess.run([KILN, 'verify', '--kernels', count_kir, '--input', 'x=' + xp], capture_output=True, text=True)
check(r.returncode == 1 and 'does not support sizes the run computes from values' in r.stderr,
      'count: kiln verify --kernels refuses with exit 1 (%d, %s)' % (r.returncode, r.stderr.strip()[-200:]))

# assert: a check of values that decide sizes; when it fails, every engine
# stops with exit 1 and writes nothing (the interpreter gives the message).
ASSERT = '''module checked
symbol n <= 12, computed

ENTRY %main outputs={"y"} {
  %x = f32[12]{0} parameter(0), io_name="x"
  %a = i64[] parameter(1), io_name="a"
  %b = i64[] parameter(2), io_name="b"
  %p = i64[] mul(%a, %b)
  %twelve = i64[] constant(12)
  %ok = pred[] compare(%p, %twelve), direction=EQ
  %ac = i64[] assert(%ok, %a), message="a*b must be 12 (the element count)"
  %n = i64[] set_symbol(%ac), index=0
  %y = f32[n]{0} slice(%x), slice={[0:n]}
  ROOT %r = (f32[n]{0}) tuple(%y)
}
'''
r, so3 = kirtest.compile_kir(KILN, WORK, 'checked', ASSERT)
check(r.returncode == 0, 'checked: compiles (%s)' % r.stderr.strip()[-300:])
chk = so3[:-3] + '.kir'
x12 = np.arange(12, dtype=np.float32)
xp12 = save('x12', x12)
for a, b in ((3, 4), (12, 1), (5, 2), (0, 12)):
    ap, bp = save('a%d' % a, np.array(a, np.int64)), save('b%d' % b, np.array(b, np.int64))
    ok = a * b == 12
    for engine, cmd in (('eval', [KILN, 'eval', chk]), ('run (JIT)', [KILN, 'run', chk]), ('run .so', [KILN, 'run', so3])):
        out = os.path.join(WORK, 'outc_%s_%d_%d' % (engine.split()[-1].strip('().'), a, b))
        r = subprocess.run(cmd + ['--input', 'x=' + xp12, '--input', 'a=' + ap, '--input', 'b=' + bp, '--output-dir', out],
                           capture_output=True, text=True)
        if ok:
            got = np.load(os.path.join(out, 'y.npy')) if r.returncode == 0 else None
            check(r.returncode == 0 and same(got, x12[:a]), 'checked %s, a=%d b=%d: y = first %d' % (engine, a, b, a))
        else:
            check(r.returncode == 1 and not os.path.exists(os.path.join(out, 'y.npy')),
                  'checked %s, a=%d b=%d: refused with exit 1, nothing written (%d)' % (engine, a, b, r.returncode))
            if engine == 'eval':
                check('a*b must be 12' in r.stderr, 'checked eval, a=%d b=%d: the message is the assert\'s (%s)' %
                      (a, b, r.stderr.strip()[-200:]))

# The text form round trips.
r1 = subprocess.run([KILN, 'opt', count_kir], capture_output=True, text=True)
p1 = write('count_printed', r1.stdout)
r2 = subprocess.run([KILN, 'opt', p1], capture_output=True, text=True)
check(r1.returncode == 0 and r1.stdout == r2.stdout and 'symbol n <= 8, computed' in r1.stdout,
      'count: printed text parses back to the same text')

# The default pipeline keeps each set_symbol ahead of what reads its size
# (the verifier runs after every pass in this build) and the result agrees.
r = subprocess.run([KILN, 'opt', count_kir, '--passes=default'], capture_output=True, text=True)
check(r.returncode == 0, 'count: the default passes verify (%s)' % r.stderr.strip()[-300:])
if r.returncode == 0:
    lines = r.stdout.splitlines()
    entry = next((i for i, l in enumerate(lines) if l.startswith('ENTRY')), 0)
    lines = lines[entry:]
    at = {nm: next((i for i, l in enumerate(lines) if l.strip().startswith('%' + nm + ' =')), -1) for nm in ('n', 'm')}
    users_n = [i for i, l in enumerate(lines) if '[n]' in l and ' = ' in l]
    users_m = [i for i, l in enumerate(lines) if '[m]' in l and ' = ' in l]
    check(at['n'] >= 0 and all(u > at['n'] for u in users_n), 'count, optimized: set_symbol n precedes its users')
    check(at['m'] >= 0 and all(u > at['m'] for u in users_m), 'count, optimized: set_symbol m precedes its users')

# The verifier's refusals.
BAD = {
    'used before set': ('''module b1
symbol n <= 4, computed
ENTRY %main outputs={"y"} {
  %x = i64[] parameter(0), io_name="x"
  %y = i64[n]{0} iota(), iota_dimension=0
  %n = i64[] set_symbol(%x), index=0
  ROOT %r = (i64[n]{0}) tuple(%y)
}
''', 'uses computed symbol n before a set_symbol'),
    'set twice': ('''module b2
symbol n <= 4, computed
ENTRY %main outputs={"y", "a", "b"} {
  %x = i64[] parameter(0), io_name="x"
  %n = i64[] set_symbol(%x), index=0
  %n2 = i64[] set_symbol(%x), index=0
  %y = i64[n]{0} iota(), iota_dimension=0
  ROOT %r = (i64[n]{0}, i64[], i64[]) tuple(%y, %n, %n2)
}
''', 'is set twice'),
    'ordinary symbol': ('''module b3
symbol b <= 4
ENTRY %main outputs={"y", "n"} {
  %x = f32[b]{0} parameter(0), io_name="x"
  %c = i64[] constant(2)
  %n = i64[] set_symbol(%c), index=0
  ROOT %r = (f32[b]{0}, i64[]) tuple(%x, %n)
}
''', 'no computed symbol'),
    'not a scalar': ('''module b4
symbol n <= 4, computed
ENTRY %main outputs={"y"} {
  %x = i64[2]{0} parameter(0), io_name="x"
  %n = i64[] set_symbol(%x), index=0
  ROOT %r = (i64[]) tuple(%n)
}
''', 'integer scalar'),
    'input sized by a computed symbol': ('''module b6
symbol n <= 4, computed
ENTRY %main outputs={"y"} {
  %c = i64[] constant(2)
  %n = i64[] set_symbol(%c), index=0
  %x = f32[n]{0} parameter(0), io_name="x"
  ROOT %r = (f32[n]{0}) tuple(%x)
}
''', "an input's shape uses computed symbol n"),
    'bad keyword': ('''module b5
symbol n <= 4, computd
ENTRY %main outputs={"y"} {
  %x = i64[] parameter(0), io_name="x"
  ROOT %r = (i64[]) tuple(%x)
}
''', "expected 'computed'"),
}
for case, (text, want) in BAD.items():
    r = subprocess.run([KILN, 'opt', write('bad_' + case.replace(' ', '_'), text)], capture_output=True, text=True)
    check(r.returncode != 0 and want in r.stderr, 'refused, %s: exit %d, message has "%s" (%s)' %
          (case, r.returncode, want, r.stderr.strip()[-200:]))

if failures:
    print('%d check(s) failed' % len(failures))
    sys.exit(1)
print('all checks passed')
