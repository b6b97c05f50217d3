#!/usr/bin/python3
"""Checks tests/common/case_tree.py, the comparison behind the generators'
--check: last-bit float differences pass, anything larger fails with a
message naming the case, the file and the worst element; integer and bool
outputs, models and inputs compare exactly. Exits 77 without NumPy."""
import os
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("case_tree_test.py: NumPy is missing (use Debian's /usr/bin/python3); skipped", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import case_tree  # noqa: E402

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)


def ulps(a, k):
    """a moved by k ulp (of a's dtype) away from zero."""
    out = np.array(a)
    for _ in range(k):
        out = np.nextafter(out, np.copysign(np.inf, out).astype(out.dtype))
    return out


def main():
    cmp = case_tree.compare_output
    x = np.array([0.5, -3.25, 7.0, 1e-3, np.nan, np.inf, 0.0], dtype=np.float64)
    expect(cmp(x.copy(), x) is None, "identical f64 arrays agree")
    expect(cmp(ulps(x, 1), x) is None, "f64 off by 1 ulp agrees")
    expect(cmp(ulps(x, case_tree.ULPS_ELEM), x) is None, "f64 off by ULPS_ELEM ulp agrees")
    y = x.copy()
    y[3] = 1.001e-3
    m = cmp(y, x)
    expect(m is not None and "worst element [3]" in m, "f64 off by 1e-6 relative fails naming element 3: %r" % m)
    y = x.copy()
    y[4] = 1.0
    m = cmp(y, x)
    expect(m is not None and "worst element [4]" in m, "NaN expected, number got fails: %r" % m)
    y = x.copy()
    y[0] = np.nan
    expect(cmp(y, x) is not None, "number expected, NaN got fails")
    y = x.copy()
    y[5] = -np.inf
    expect(cmp(y, x) is not None, "inf sign flip fails")
    # A sum that cancels: a small element may be off by a few ulp of the scale.
    s = np.array([100.0, 1e-12], dtype=np.float64)
    t = s.copy()
    t[1] += 2 * np.spacing(100.0)
    expect(cmp(t, s) is None, "small element within ULPS_SCALE ulp of the output's scale agrees")
    t[1] = 1e-12 + 64 * np.spacing(100.0)
    m = cmp(t, s)
    expect(m is not None and "worst element [1]" in m, "small element far off fails: %r" % m)
    f = np.array([[1.5, 2.0], [3.0, -0.25]], dtype=np.float32)
    g = f.copy()
    g[1, 0] = np.float32(3.001)
    m = cmp(g, f)
    expect(m is not None and "worst element [1, 0]" in m, "f32 message names the 2-d index: %r" % m)
    expect(cmp(ulps(f, 1), f) is None, "f32 off by 1 ulp agrees")
    h = np.array([1.0, 2.0], dtype=np.float16)
    expect(cmp(ulps(h, 1), h) is None, "f16 off by 1 ulp agrees")
    i = np.array([1, 2, 3], dtype=np.int32)
    j = i.copy()
    j[2] = 4
    m = cmp(j, i)
    expect(m is not None and "[2]" in m, "int32 compares exactly: %r" % m)
    b = np.array([True, False])
    expect(cmp(~b, b) is not None, "bool compares exactly")
    expect(cmp(x.astype(np.float32), x) is not None, "dtype change fails")
    expect(cmp(x[:3], x) is not None, "shape change fails")

    # Whole trees: an input byte, an output beyond tolerance, a missing file.
    with tempfile.TemporaryDirectory() as tmp:
        old, new = os.path.join(tmp, "old", "c"), os.path.join(tmp, "new", "c")
        for d in (old, new):
            os.makedirs(d)
            with open(os.path.join(d, "model.kir"), "w") as fh:
                fh.write("module c\n")
            np.save(os.path.join(d, "in0.npy"), x)
            np.save(os.path.join(d, "out0.npy"), x)
        np.save(os.path.join(new, "out0.npy"), ulps(x, 1))
        problems, within = case_tree.tree_diff(os.path.dirname(new), os.path.dirname(old))
        expect(problems == [] and within == ["c/out0.npy"], "1-ulp output is reported as within: %r %r"
               % (problems, within))
        np.save(os.path.join(new, "in0.npy"), ulps(x, 1))
        np.save(os.path.join(new, "out0.npy"), x * 1.5)
        np.save(os.path.join(new, "out1.npy"), x)
        problems, _ = case_tree.tree_diff(os.path.dirname(new), os.path.dirname(old))
        text = "\n".join(problems)
        expect(len(problems) == 3, "three problems: %r" % problems)
        expect("c/in0.npy: differs" in text, "an input differing in the last bit is stale: %r" % text)
        expect("case c, out0.npy:" in text and "worst element" in text, "output message names case and file: %r"
               % text)
        expect("c/out1.npy: written by the generator but not checked in" in text, "new file reported: %r" % text)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
