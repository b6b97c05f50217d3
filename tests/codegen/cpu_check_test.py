#!/usr/bin/env python3
"""Artifacts that know their CPU (issue 9): the CPU check and --cpu=portable.

usage: cpu_check_test.py MODE KILN CPU_HOST WORKDIR MODEL...

MODE
  newer     an artifact built for a CPU newer than this one (sapphirerapids,
            or x86-64-v4 where that is enough) fails cleanly: `kiln run`
            exits 1 naming the missing features, and run called through
            the ABI (CPU_HOST, tests/codegen/cpu_host.c) returns
            KILN_ARTIFACT_ERR_CPU instead of dying of SIGILL. Skipped
            (exit 77) on a CPU that has every feature sapphirerapids implies.
  portable  a --cpu=portable artifact picks the best level this CPU has and
            computes what the native artifact computes; `kiln run` takes it.
  qemu      under `qemu-x86_64 -cpu Nehalem` (SSE4.2, no AVX: below
            x86-64-v3) the portable artifact runs its x86-64-v2 kernels and
            matches the native artifact run on this machine, and an AVX2
            artifact (--cpu=x86-64-v3) returns KILN_ARTIFACT_ERR_CPU naming
            avx, avx2 and fma. Skipped (exit 77) without qemu-x86_64
            (Debian: qemu-user).

MODEL: a .kir or .onnx file, optionally followed by @NAME=FILE.npy,... the
inputs `kiln run` gets (without them only CPU_HOST runs it; CPU_HOST fills
inputs with a fixed pattern).
"""
import os
import shutil
import struct
import subprocess
import sys

SKIP = 77
failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def compile_model(kiln, model, out, *flags):
    r = run([kiln, "compile", model, "-o", out, *flags])
    if r.returncode != 0:
        sys.exit("kiln compile %s %s failed:\n%s" % (model, " ".join(flags), r.stderr))
    return out


def host(cpu_host, so, out=None, qemu_cpu=None):
    cmd = [cpu_host, so] + ([out] if out else [])
    if qemu_cpu:
        cmd = ["qemu-x86_64", "-cpu", qemu_cpu] + cmd
    r = run(cmd)
    fields = dict(kv.split("=", 1) for kv in r.stdout.strip().split(" ", 2) if "=" in kv) if r.stdout else {}
    return r.returncode, fields, r.stderr


def floats(path):
    data = open(path, "rb").read()
    return struct.unpack("%df" % (len(data) // 4), data[: len(data) // 4 * 4])


def close(a, b, rtol=1e-4, atol=1e-5):
    """Outputs of two artifacts (float32 bytes): the levels sum in other orders."""
    if len(a) != len(b):
        return False
    return all(abs(x - y) <= atol + rtol * abs(y) for x, y in zip(a, b))


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    mode, kiln, cpu_host, work = sys.argv[1:5]
    models = sys.argv[5:]
    os.makedirs(work, exist_ok=True)
    # Every model here has only f32 outputs (floats() reads them as such).
    for spec in models:
        model, _, given = spec.partition("@")
        inputs = [x for i in given.split(",") if i for x in ("--input", i)]
        stem = os.path.join(work, mode + "_" + os.path.splitext(os.path.basename(model))[0])
        native = compile_model(kiln, model, stem + "_native.so")
        rc, f, err = host(cpu_host, native, stem + "_native.bin")
        check(rc == 0 and f.get("missing") == "(none)", "%s: the native artifact runs here (%s)" % (model, f or err))
        ref = floats(stem + "_native.bin")

        if mode == "newer":
            new = compile_model(kiln, model, stem + "_spr.so", "--cpu=sapphirerapids")
            rc, f, err = host(cpu_host, new)
            if rc == 0:
                print("SKIP: this CPU has every feature sapphirerapids implies; nothing newer to refuse")
                return SKIP
            check(rc == 3 and f.get("status") == "5", "%s: run returns KILN_ARTIFACT_ERR_CPU (5), no SIGILL: %s" % (model, f or err))
            check("avx512" in f.get("missing", "") or "avxvnni" in f.get("missing", "") or "gfni" in f.get("missing", ""),
                  "%s: missing_features names what this CPU lacks: %s" % (model, f.get("missing")))
            check(f.get("selected") == "(none)", "%s: selected_cpu is NULL" % model)
            r = run([kiln, "run", new] + inputs)
            check(r.returncode == 1, "%s: kiln run exits 1 (got %d)" % (model, r.returncode))
            check("this CPU lacks" in r.stderr and f.get("missing", "?").split(",")[0] in r.stderr
                  and "built for sapphirerapids" in r.stderr, "%s: kiln run names the features: %s" % (model, r.stderr.strip()))
        elif mode == "portable":
            port = compile_model(kiln, model, stem + "_portable.so", "--cpu=portable")
            rc, f, err = host(cpu_host, port, stem + "_portable.bin")
            check(rc == 0, "%s: the portable artifact runs here (%s)" % (model, f or err))
            # The best level this CPU has: the highest whose own artifact runs here.
            best = "x86-64-v2"
            for lvl in ("x86-64-v3", "x86-64-v4"):
                rc2, _, _ = host(cpu_host, compile_model(kiln, model, stem + "_" + lvl + ".so", "--cpu=" + lvl))
                if rc2 == 0:
                    best = lvl
            check(f.get("selected") == best, "%s: it picked %s (best here: %s)" % (model, f.get("selected"), best))
            check(rc == 0 and close(floats(stem + "_portable.bin"), ref), "%s: its outputs match the native artifact's" % model)
            if inputs:
                r, rn = run([kiln, "run", port] + inputs), run([kiln, "run", native] + inputs)
                check(r.returncode == 0 and rn.returncode == 0, "%s: kiln run takes it (%s)" % (model, r.stderr.strip()[:300]))
            s1, s2 = os.path.getsize(port), os.path.getsize(native)
            print("size: portable %d bytes, native %d bytes" % (s1, s2))
        elif mode == "qemu":
            if not shutil.which("qemu-x86_64"):
                print("SKIP: qemu-x86_64 not found (Debian package qemu-user; tools/install-deps.sh installs it)")
                return SKIP
            port = compile_model(kiln, model, stem + "_portable.so", "--cpu=portable")
            rc, f, err = host(cpu_host, port, stem + "_qemu.bin", qemu_cpu="Nehalem")
            check(rc == 0 and f.get("selected") == "x86-64-v2",
                  "%s: portable under Nehalem runs its x86-64-v2 kernels (%s)" % (model, f or err))
            check(rc == 0 and close(floats(stem + "_qemu.bin"), ref), "%s: and matches the native artifact run here" % model)
            v3 = compile_model(kiln, model, stem + "_v3.so", "--cpu=x86-64-v3")
            rc, f, err = host(cpu_host, v3, qemu_cpu="Nehalem")
            miss = [m.strip() for m in f.get("missing", "").split(",")]
            check(rc == 3 and f.get("status") == "5", "%s: the AVX2 artifact under Nehalem returns KILN_ARTIFACT_ERR_CPU (%s)" % (model, f or err))
            check(all(m in miss for m in ("avx", "avx2", "fma")), "%s: naming avx, avx2, fma: %s" % (model, f.get("missing")))
        else:
            sys.exit("unknown mode " + mode)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
