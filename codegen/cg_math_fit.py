#!/usr/bin/python3
"""Derives the coefficients of the inline f32 math in codegen/cg_math.c.

Fits, in double precision with NumPy, minimax approximations by Lawson's
iteratively reweighted least squares (the weights converge to the
equioscillation points), and prints them with their maximum error:

  exp:  e^r = 1 + r + r^2 P(r),        r in [-ln2/2, ln2/2]   (EXP_P, 5 terms)
  tanh: tanh(x) = x + x^3 P(x^2),      x in [0, 0.55]         (TANH_P, 5 terms)
  erf:  erf(x) = x P(x^2) / Q(x^2),     x in [0, 2]            (ERF_P, ERF_Q, 4/4)
        erf(x) = x 2/sqrt(pi) + x z S(z)/Q(z), S = (P - P(0) Q)/z (ERF_S)
        erfc(x) e^(x^2) = R(1/x),      x in [2, 3.92]         (ERFC_R, 6 terms)
  log:  uses the series of 2 atanh(s) (no fit needed).

Run with Debian's /usr/bin/python3 (NumPy); the reference values come from
Python's math module (exp, tanh, erf, erfc: correctly rounded or within an
ulp in double, far below the float errors that matter here). Nothing at
build time runs this: it documents where the numbers come from.
"""
import math

import numpy as np


def lawson(basis, xs, target, rel_to, iters=150):
    """Coefficients c minimizing max |sum c_k basis_k - target| / rel_to."""
    a = np.stack([f(xs) for f in basis], axis=1)
    w = np.ones_like(xs) / len(xs)
    for _ in range(iters):
        sw = np.sqrt(w) / rel_to
        c, *_ = np.linalg.lstsq(a * sw[:, None], target * sw, rcond=None)
        e = np.abs(a @ c - target) / rel_to
        w = w * e
        w /= w.sum()
    return c, e.max()


def rational(xs, y, dp, dq, iters=60):
    """x P(z) / Q(z) ~ y (z = x^2, Q(0) = 1), minimax in relative error:
    linearized P x - y Q = 0, reweighted by the previous Q and the error."""
    z = xs * xs
    w = np.ones_like(xs)
    qprev = np.ones_like(xs)
    best = None
    for _ in range(iters):
        a = np.concatenate([np.stack([xs * z**k for k in range(dp + 1)], 1),
                            np.stack([-y * z**k for k in range(1, dq + 1)], 1)], 1)
        sc = np.sqrt(w) / (np.abs(qprev) * np.abs(y))
        c, *_ = np.linalg.lstsq(a * sc[:, None], y * sc, rcond=None)
        p, q = c[:dp + 1], np.concatenate([[1.0], c[dp + 1:]])
        pz = sum(p[k] * z**k for k in range(dp + 1))
        qz = sum(q[k] * z**k for k in range(dq + 1))
        e = np.abs(xs * pz / qz - y) / np.abs(y)
        if best is None or e.max() < best[0]:
            best = (e.max(), p, q)
        qprev = qz
        w = w * (e + 1e-30)
        w /= w.sum()
    return best


def main():
    ln2 = math.log(2.0)
    r = np.cos(np.linspace(0, np.pi, 4000)) * ln2 / 2
    c, _ = lawson([lambda t, k=k: t**(k + 2) for k in range(5)], r, np.expm1(r) - r, np.exp(r))
    print("EXP_P  ", list(c), "rel err %.2g" % np.max(np.abs(1 + r + sum(ck * r**(k + 2) for k, ck in enumerate(c)) - np.exp(r)) / np.exp(r)))

    x = np.linspace(1e-4, 0.55, 4000)
    c, e = lawson([lambda t, k=k: t**(2 * k + 3) for k in range(5)], x, np.tanh(x) - x, np.tanh(x))
    print("TANH_P ", list(c), "rel err %.2g" % e)

    verf = np.vectorize(math.erf)
    x = np.unique(np.concatenate([np.linspace(1e-3, 2.0, 6000), np.cos(np.linspace(0, np.pi / 2, 3000)) * 2.0]))
    x = x[x > 0]
    e, p, q = rational(x, verf(x), 4, 4)
    print("ERF_P  ", list(p))
    print("ERF_Q  ", list(q), "rel err %.2g" % e)
    c0 = 2 / math.sqrt(math.pi)
    print("ERF_S  ", [p[k] - c0 * q[k] for k in range(1, 5)])

    x = np.linspace(1.95, 3.95, 3000)
    rx = np.array([math.erfc(v) * math.exp(v * v) for v in x])
    c, e = lawson([lambda t, k=k: (1 / t)**k for k in range(6)], x, rx, rx)
    print("ERFC_R ", list(c), "rel err %.2g" % e)


if __name__ == "__main__":
    main()
