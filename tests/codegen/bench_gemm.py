#!/usr/bin/python3
"""GEMM throughput of kiln's generated kernels (not a test: prints numbers).

usage: bench_gemm.py KILN [--threads N] [--repeat N] [--conv] [MxNxK ...]

For each shape, writes a .kir with y = x · W (x [M,K] an input, W [K,N] a
constant, so W is packed at compile time as for real weights), compiles it
with `KILN compile`, runs it with `KILN run --repeat`, checks one run
against NumPy, and prints the minimum time and GFLOP/s (2·M·N·K / time).
With --conv, the shapes are convolutions instead: CxHxW:CoutxKhxKw[/stride].
The default shapes are those of the team's notes, ../shared/CPU_KERNELS.md.
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

from gen_cases import eighths, lit

SHAPES = ["64x3136x576", "128x784x1152", "256x196x2304", "512x49x4608", "128x2304x768", "197x768x3072",
          "1024x1024x1024"]
CONVS = ["64x56x56:64x3x3", "128x28x28:128x3x3", "256x14x14:256x3x3", "3x224x224:64x7x7/2"]


def run(kiln, kir, inputs, threads, repeat, tmp, name):
    path = os.path.join(tmp, name + ".kir")
    with open(path, "w") as f:
        f.write(kir)
    so = os.path.join(tmp, name + ".so")
    subprocess.run([kiln, "compile", path, "-o", so, "--no-header"], check=True)
    args = [kiln, "run", so, "--repeat", str(repeat), "--print-limit", "0", "--output-dir", os.path.join(tmp, name)]
    if threads:
        args += ["--threads", str(threads)]
    for i, a in enumerate(inputs):
        p = os.path.join(tmp, "%s_in%d.npy" % (name, i))
        np.save(p, a)
        args += ["--input", "x=%s" % p]
    p = subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    m = re.search(r"min ([0-9.]+) (ms|us)", p.stderr)  # the minimum: least disturbed by other load
    t = float(m.group(1)) / (1e3 if m.group(2) == "ms" else 1e6)
    return t, np.load(os.path.join(tmp, name, "y.npy"))


def main():
    kiln, threads, repeat, conv, shapes = sys.argv[1], 0, 10, False, []
    it = iter(sys.argv[2:])
    for a in it:
        if a == "--threads":
            threads = int(next(it))
        elif a == "--repeat":
            repeat = int(next(it))
        elif a == "--conv":
            conv = True
        else:
            shapes.append(a)
    shapes = shapes or (CONVS if conv else SHAPES)
    r = np.random.RandomState(0)
    with tempfile.TemporaryDirectory() as tmp:
        for s in shapes:
            if not conv:
                M, N, K = (int(v) for v in s.split("x"))
                x = r.uniform(-1, 1, (M, K)).astype(np.float32)
                w = eighths(r, (K, N))
                kir = ("module g\nENTRY %%main outputs={\"y\"} {\n  %%x = f32[%d,%d] parameter(0), io_name=\"x\"\n"
                       "  %%w = f32[%d,%d] constant(%s)\n"
                       "  %%y = f32[%d,%d] dot(%%x, %%w), lhs_contracting_dims={1}, rhs_contracting_dims={0}\n"
                       "  ROOT %%t = (f32[%d,%d]) tuple(%%y)\n}\n") % (M, K, K, N, lit(w), M, N, M, N)
                ref = x.astype(np.float64) @ w.astype(np.float64)
                flops = 2.0 * M * N * K
            else:
                a, b = s.split(":")
                stride = 1
                if "/" in b:
                    b, st = b.split("/")
                    stride = int(st)
                C, H, W = (int(v) for v in a.split("x"))
                O, KH, KW = (int(v) for v in b.split("x"))
                pad = KH // 2
                OH, OW = (H + 2 * pad - KH) // stride + 1, (W + 2 * pad - KW) // stride + 1
                x = r.uniform(-1, 1, (1, C, H, W)).astype(np.float32)
                w = eighths(r, (O, C, KH, KW))
                kir = ("module g\nENTRY %%main outputs={\"y\"} {\n  %%x = f32[1,%d,%d,%d] parameter(0), io_name=\"x\"\n"
                       "  %%w = f32[%d,%d,%d,%d] constant(%s)\n"
                       "  %%y = f32[1,%d,%d,%d] convolution(%%x, %%w), window={size=%dx%d stride=%dx%d pad=%d_%dx%d_%d}, "
                       "dim_labels=bf01_oi01->bf01\n  ROOT %%t = (f32[1,%d,%d,%d]) tuple(%%y)\n}\n") % (
                    C, H, W, O, C, KH, KW, lit(w), O, OH, OW, KH, KW, stride, stride, pad, pad, pad, pad, O, OH, OW)
                xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
                ref = np.zeros((1, O, OH, OW))
                for i in range(KH):
                    for j in range(KW):
                        ref[0] += np.einsum("chw,oc->ohw", xp[0, :, i:i + stride * OH:stride, j:j + stride * OW:stride],
                                            w[:, :, i, j].astype(np.float64))
                flops = 2.0 * O * OH * OW * C * KH * KW
            t, got = run(kiln, kir, [x], threads, repeat, tmp, "g")
            err = np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30)
            print("%-22s %9.3f ms %8.1f GFLOP/s   max rel err %.1e" % (s, t * 1e3, flops / t / 1e9, err))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
