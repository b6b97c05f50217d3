"""Compares a freshly generated tree of test cases with the checked-in one.

Used by the --check mode of tests/ir/eval/gen_cases.py and
tests/codegen/gen_cases.py ("... cases are up to date"). Each case folder
holds a model (model.kir), inputs (inN.npy), expected outputs (outN.npy) and
maybe a `tolerance` file.

Models, inputs and every other file are compared byte for byte: the
generators make them from seeded random numbers and exact arithmetic, so
they are the same on every machine.

Expected outputs are compared by value, because NumPy's float results
depend on the CPU it runs on (its SIMD code paths for exp, log, sin, ...
and the BLAS kernel behind a float64 matmul differ in the last bits between
an AVX2 and an AVX-512 machine). An output agrees when dtype and shape are
the same and
  - integer and bool outputs: every element is equal;
  - float outputs: NaN exactly where NaN is checked in, infinities equal,
    and otherwise |new - old| <= ULPS_ELEM * ulp(old) + ULPS_SCALE * ulp(S),
    where ulp is measured in the output's own dtype and S is the largest
    finite magnitude in the checked-in output. The first term allows the
    last-bit differences of transcendental functions (measured: 1 ulp); the
    second allows sums that cancel, such as a BLAS dot product, which are
    only that accurate relative to the output's scale (measured: 5 ulp of
    S between a sequential and a blocked float64 sum of 200 terms).
A real change to a generator moves results by far more than this.
"""
import filecmp
import os

import numpy as np

ULPS_ELEM = 4
ULPS_SCALE = 8
RULE = "%d ulp of the element + %d ulp of the output's largest magnitude" % (ULPS_ELEM, ULPS_SCALE)


def _files(root):
    """Relative paths of the regular files under root."""
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def _ulp(x, dtype):
    """ulp of |x| (float64 values) in dtype, as float64."""
    return np.spacing(np.abs(x).astype(dtype)).astype(np.float64)


def compare_output(new, old):
    """Compares two arrays (fresh, checked in). Returns None when they
    agree under the rule above, else a message naming the worst element."""
    if new.dtype != old.dtype:
        return "dtype %s, checked in %s" % (new.dtype, old.dtype)
    if new.shape != old.shape:
        return "shape %s, checked in %s" % (new.shape, old.shape)
    if new.dtype.kind in "biu":
        bad = np.flatnonzero(new.ravel() != old.ravel())
        if bad.size == 0:
            return None
        i = int(bad[0])
        idx = [int(k) for k in np.unravel_index(i, old.shape)] if old.ndim else []
        return "%d of %d elements differ (%s compares exactly); first at %s: new %s, checked in %s" % (
            bad.size, new.size, new.dtype, idx, new.ravel()[i], old.ravel()[i])
    if new.dtype.kind != "f":
        return None if new.tobytes() == old.tobytes() else "bytes differ (%s compares exactly)" % new.dtype
    a = new.ravel().astype(np.float64)
    b = old.ravel().astype(np.float64)
    nan_b, nan_a = np.isnan(b), np.isnan(a)
    fin = np.isfinite(b)
    bad = (nan_a != nan_b) | (np.isinf(b) & (a != b))
    if fin.any():
        s = float(np.max(np.abs(b[fin])))
        allowed = ULPS_ELEM * _ulp(b, old.dtype) + ULPS_SCALE * _ulp(np.float64(s), old.dtype)
        with np.errstate(invalid="ignore"):
            excess = np.where(fin, np.abs(a - b) / allowed, 0.0)
        excess = np.where(np.isnan(excess), np.inf, excess)  # a finite value became NaN or inf
        bad |= fin & (excess > 1)
    else:
        s, excess = 0.0, np.zeros_like(b)
    n = int(np.count_nonzero(bad))
    if n == 0:
        return None
    # The worst element: a NaN/inf mismatch first, else the largest excess.
    special = np.flatnonzero(bad & ~fin)
    i = int(special[0]) if special.size else int(np.argmax(np.where(bad, excess, -1.0)))
    idx = [int(k) for k in np.unravel_index(i, old.shape)] if old.ndim else []
    if not fin[i]:
        return "%d of %d elements beyond tolerance; worst element %s: new %r, checked in %r" % (
            n, new.size, idx, float(a[i]), float(b[i]))
    d = abs(a[i] - b[i])
    here = ULPS_ELEM * _ulp(b[i], old.dtype) + ULPS_SCALE * _ulp(np.float64(s), old.dtype)
    return ("%d of %d elements beyond tolerance; worst element %s: new %r, checked in %r "
            "(off by %.3g = %.3g ulp of the element; allowed %s = %.3g here)") % (
        n, new.size, idx, float(a[i]), float(b[i]), d, d / _ulp(b[i], old.dtype), RULE, here)


def is_output(rel):
    name = os.path.basename(rel)
    return name.startswith("out") and name.endswith(".npy")


def tree_diff(fresh, checked_in):
    """Compares trees. Returns (problems, within): problems is a list of
    "relative/path: reason" for files missing on one side, models, inputs
    and other files that differ in any byte, and outputs beyond tolerance;
    within lists the outputs that differ in bytes but agree by value."""
    a, b = _files(fresh), _files(checked_in)
    problems, within = [], []
    for rel in sorted(a - b):
        problems.append("%s: written by the generator but not checked in" % rel)
    for rel in sorted(b - a):
        problems.append("%s: checked in but no longer written by the generator" % rel)
    for rel in sorted(a & b):
        pa, pb = os.path.join(fresh, rel), os.path.join(checked_in, rel)
        if filecmp.cmp(pa, pb, shallow=False):
            continue
        if not is_output(rel):
            problems.append("%s: differs (models and inputs must be identical byte for byte)" % rel)
            continue
        try:
            why = compare_output(np.load(pa), np.load(pb))
        except (ValueError, OSError) as e:
            why = "cannot read: %s" % e
        if why:
            case, f = os.path.split(rel)
            problems.append("case %s, %s: %s" % (case, f, why))
        else:
            within.append(rel)
    return problems, within


def check(fresh, checked_in, regen):
    """Runs tree_diff and reports on stderr. Returns the exit status: 0 when
    the trees agree, 1 otherwise. regen: the command that rewrites them."""
    import sys
    problems, within = tree_diff(fresh, checked_in)
    for p in problems:
        print("stale: %s (rerun %s)" % (p, regen), file=sys.stderr)
    if within:
        print("%d output file(s) differ from the checked-in bytes only within tolerance (%s), as NumPy's "
              "float results do between CPUs: %s" % (len(within), RULE, ", ".join(within)), file=sys.stderr)
    return 1 if problems else 0
