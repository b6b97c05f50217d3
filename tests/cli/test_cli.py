#!/usr/bin/python3
"""The `kiln` command line as a new user meets it: one check for each rough
edge found in issue 9, so that none comes back unnoticed.

Each check runs the kiln binary and looks at its exit code (0 success,
1 the job failed, 2 bad usage: README.md) and at what it prints. Every check
prints its name and "ok" or what went wrong; the script ends with
"N passed, M failed" and exits 1 if any failed.

Usage: test_cli.py KILN SOURCE_DIR
"""
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading

KILN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
MODELS = os.path.join(SRC, "tests", "cli", "models")
SYM = os.path.join(MODELS, "sym.onnx")  # y = x + x, x: f32[N,4], N symbolic
HALF = os.path.join(MODELS, "half.kir")  # x: bf16[3]; y = x + x (bf16), h = f16(x)
MLP = os.path.join(SRC, "examples", "jit", "mlp.onnx")  # x: f32[2,64], static
MLP_X = os.path.join(SRC, "examples", "jit", "x.npy")

passed, failed = 0, 0
tmp = tempfile.mkdtemp(prefix="kiln-cli-test-")


def npy(name, descr, shape, data):
    """Writes a .npy file by hand (no NumPy needed), returns its path."""
    if len(shape) == 1:
        sh = "(%d,)" % shape[0]
    else:
        sh = "(" + ", ".join(str(d) for d in shape) + ")"
    d = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, sh)
    hl = (10 + len(d) + 1 + 63) // 64 * 64 - 10
    header = d + " " * (hl - len(d) - 1) + "\n"
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", hl) + header.encode() + data)
    return path


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def bf16(*v):
    """bfloat16 bit patterns: the top half of each f32 (exact for these values)."""
    return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", x))[0])[2:] for x in v)


def run(args, cwd=None):
    p = subprocess.run([KILN] + args, cwd=cwd or tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def check(name, args, rc, out=(), err=(), not_out=(), cwd=None):
    """Runs kiln ARGS; the exit code must be rc, stdout must contain every
    string of out (and none of not_out), stderr every string of err."""
    global passed, failed
    got_rc, o, e = run(args, cwd)
    why = []
    if got_rc != rc:
        why.append("exit code %d, expected %d" % (got_rc, rc))
    why += ["stdout lacks %r" % s for s in out if s not in o]
    why += ["stdout has %r" % s for s in not_out if s in o]
    why += ["stderr lacks %r" % s for s in err if s not in e]
    # In a sanitizer build an error exits 1, like a failed job: look for it.
    if "Sanitizer" in e or "runtime error:" in e:
        why.append("a sanitizer reported an error")
    report(name, why, args, o, e)
    return o, e


def report(name, why, args=None, o="", e=""):
    global passed, failed
    if not why:
        passed += 1
        print("ok    " + name)
        return
    failed += 1
    print("FAIL  " + name + ": " + "; ".join(why))
    if args is not None:
        print("      command: kiln " + " ".join(args))
        print("      stdout: " + o[:1500].replace("\n", "\n              "))
        print("      stderr: " + e[:1500].replace("\n", "\n              "))


x34 = npy("x34.npy", "<f4", (3, 4), f32(*range(12)))

# ---- 1. --input-shape wherever a model is read ----
check("opt: a symbolic input without a shape says to use --max-shape or --input-shape", ["opt", SYM], 1,
      err=["--max-shape x=64x4", "--input-shape x=1x4", "sym.onnx"])
check("opt accepts --input-shape", ["opt", SYM, "--input-shape", "x=2x4"], 0, out=["f32[2,4]"])
check("import accepts --input-shape", ["import", SYM, "--input-shape=x=5x4"], 0, out=["f32[5,4]"])
check("compile --emit=ir accepts --input-shape", ["compile", SYM, "--input-shape", "x=6x4", "--emit=ir"], 0,
      out=["f32[6,4]"])
check("eval accepts --input-shape", ["eval", SYM, "--input-shape", "x=3x4", "--input", "x=" + x34], 0,
      out=["y: f32[3,4] = [0, 2, 4, 6"])
check("run accepts --input-shape", ["run", SYM, "--input-shape", "x=3x4", "--input", "x=" + x34], 0,
      out=["y: f32[3,4] = [0, 2, 4, 6"])
check("opt: --input-shape naming no input is refused",
      ["opt", SYM, "--input-shape", "x=2x4", "--input-shape", "nosuch=2x4"], 1, err=["nosuch", "not an input"])
check("opt: --input-shape for IR text must agree with it", ["opt", HALF, "--input-shape", "x=4"], 1,
      err=["half.kir", "'x'"])

# ---- 2. shapes from the .npy files when --input-shape is absent ----
check("eval takes a symbolic input's shape from its .npy", ["eval", SYM, "--input", "x=" + x34], 0,
      out=["y: f32[3,4] = [0, 2, 4, 6, 8"], err=["shape [3,4] taken from"])
check("run (JIT) takes a symbolic input's shape from its .npy", ["run", SYM, "--input", "x=" + x34], 0,
      out=["y: f32[3,4] = [0, 2, 4, 6, 8"])
x14 = npy("x14.npy", "<f4", (1, 4), f32(1, 2, 3, 4))
check("run: --input-shape wins over the .npy, and a mismatch is an error",
      ["run", SYM, "--input-shape", "x=3x4", "--input", "x=" + x14], 1, err=["f32[3,4]", "f32[1,4]"])
check("eval of a static model: a wrong .npy shape is still an error", ["eval", MLP, "--input", "x=" + x14], 1,
      err=["f32[2,64]", "f32[1,4]"])

# ---- 3. strict numbers; exit 2 for every kind of bad usage ----
for flag, val in [("--threads", "abc"), ("--threads", "0"), ("--threads", "1.5"), ("--threads", "4x"),
                  ("--threads", ""), ("--threads", "99999999999999999999"), ("--repeat", "abc"),
                  ("--repeat", "0"), ("--print-limit", "abc"), ("--print-limit", "-1"), ("--print-limit", " 3")]:
    check("run %s %r is bad usage" % (flag, val), ["run", MLP, "--input", "x=" + MLP_X, flag, val], 2,
          err=[flag + " takes a whole number"])
check("eval --print-limit abc is bad usage", ["eval", MLP, "--input", "x=" + MLP_X, "--print-limit", "abc"], 2,
      err=["--print-limit takes a whole number"])
check("run --print-limit 2 prints two values", ["run", MLP, "--input", "x=" + MLP_X, "--print-limit", "2"], 0,
      out=["probs: f32[2,10] = ["])
for cmd in ["opt", "import", "eval", "compile", "run", "test-onnx"]:
    check(cmd + ": an unknown option is bad usage", [cmd, MLP, "--no-such-option"], 2, err=["unknown option"])
for cmd in ["opt", "import", "eval", "compile", "run", "test-onnx"]:
    check(cmd + ": a missing positional argument is bad usage", [cmd], 2, err=["kiln: error:"])
for cmd in ["opt", "import", "eval", "compile", "run"]:
    check(cmd + ": an extra positional argument is bad usage", [cmd, MLP, MLP], 2, err=["more than one"])
check("a missing option value is bad usage", ["opt", MLP, "-o"], 2, err=["-o needs a value"])
check("a repeated option is bad usage", ["compile", MLP, "-o", "a.so", "-o", "b.so"], 2, err=["-o is given twice"])
check("--header with --no-header is bad usage", ["compile", MLP, "--header", "a.h", "--no-header"], 2,
      err=["conflict"])
check("-O1 with -O2 is bad usage", ["compile", MLP, "-O1", "-O2"], 2, err=["conflict"])
check("--emit with --header is bad usage", ["compile", MLP, "--emit=ir", "--header", "a.h"], 2,
      err=["--header applies to the shared object"])
check("--input without NAME= is bad usage", ["run", MLP, "--input", MLP_X], 2, err=["--input needs NAME=FILE.npy"])
check("--input naming no input is bad usage", ["run", MLP, "--input", "nosuch=" + MLP_X], 2,
      err=["no input named 'nosuch'"])
check("a missing --input is bad usage", ["eval", MLP], 2, err=["no value for input 'x'"])
check("an input given twice is bad usage", ["eval", MLP, "--input", "x=" + MLP_X, "--input", "x=" + MLP_X], 2,
      err=["given twice"])
check("a malformed --input-shape is bad usage", ["opt", SYM, "--input-shape", "x=2xq"], 2, err=["NAME=DIMS"])
check("an unknown command is bad usage", ["frobnicate"], 2, err=["unknown command"])
check("help for an unknown command is bad usage", ["help", "frobnicate"], 2, err=["unknown command"])

# ---- 4. flags that do not apply are refused ----
so = os.path.join(tmp, "mlp.so")
check("compile mlp.onnx -o mlp.so", ["compile", MLP, "-o", so], 0)
for flags in (["--input-shape", "x=2x64"], ["-O2"], ["--passes=default"], ["--disable-pass=fold"], ["--time"]):
    check("run ARTIFACT.so refuses %s" % flags[0], ["run", so, "--input", "x=" + MLP_X] + flags, 2,
          err=["applies only when kiln run compiles a model", "mlp.so"])
check("run ARTIFACT.so runs", ["run", so, "--input", "x=" + MLP_X, "--threads", "1"], 0, out=["probs: f32[2,10]"])
check("compile: --elide-constants without --emit is refused", ["compile", MLP, "--elide-constants"], 2,
      err=["--elide-constants applies to --emit"])
check("compile: --elide-constants with --emit=obj is refused",
      ["compile", MLP, "--elide-constants", "--emit=obj", "-o", "x.o"], 2, err=["--elide-constants applies"])

# ---- 5. the default output keeps the model's base name ----
work = os.path.join(tmp, "names")
os.mkdir(work)
shutil.copy(MLP, os.path.join(work, "my-model.v2.onnx"))
shutil.copy(MLP, os.path.join(work, "1st model.onnx"))
check("compile my-model.v2.onnx", ["compile", "my-model.v2.onnx"], 0, cwd=work)
why = [f + " was not written" for f in ("my-model.v2.so", "my-model.v2.h") if not os.path.exists(os.path.join(work, f))]
if not why:
    with open(os.path.join(work, "my-model.v2.h")) as f:
        if "kiln_my_model_v2_run(" not in f.read():
            why.append("my-model.v2.h does not declare kiln_my_model_v2_run")
report("the default output is my-model.v2.so / .h, the C name my_model_v2", why)
check("compile '1st model.onnx'", ["compile", "1st model.onnx"], 0, cwd=work)
why = []
if not os.path.exists(os.path.join(work, "1st model.h")):
    why.append("'1st model.h' was not written")
elif "kiln__1st_model_run(" not in open(os.path.join(work, "1st model.h")).read():
    why.append("'1st model.h' does not declare kiln__1st_model_run")
report("a leading digit gets a '_', a space becomes '_'", why)

# ---- 6. the output path is checked before compiling ----
# The model does not exist either: the output path must be the first complaint.
check("compile: a missing output folder fails fast, naming the path",
      ["compile", "no-such-model.onnx", "-o", "/nonexistent-dir/x.so"], 1, err=["/nonexistent-dir/x.so"])
check("compile: an output that is a folder fails fast", ["compile", "no-such-model.onnx", "-o", tmp], 1,
      err=["is a folder"])
check("compile: a missing header folder fails fast",
      ["compile", "no-such-model.onnx", "-o", "x.so", "--header", "/nonexistent-dir/x.h"], 1,
      err=["/nonexistent-dir/x.h"])
check("compile --emit=llvm: a missing output folder fails fast",
      ["compile", "no-such-model.onnx", "--emit=llvm", "-o", "/nonexistent-dir/x.ll"], 1, err=["/nonexistent-dir/x.ll"])
check("opt -o: a missing output folder fails fast", ["opt", "no-such-model.kir", "-o", "/nonexistent-dir/x.kir"], 1,
      err=["/nonexistent-dir/x.kir"])

# ---- 7. --elide-constants and --dump-after for compile ----
full_ir, _ = check("compile --emit=ir", ["compile", MLP, "--emit=ir"], 0)
short_ir, _ = check("compile --emit=ir --elide-constants", ["compile", MLP, "--emit=ir", "--elide-constants"], 0,
                    out=["{...}"])
full_ll, _ = check("compile --emit=llvm", ["compile", MLP, "--emit=llvm"], 0)
short_ll, _ = check("compile --emit=llvm --elide-constants", ["compile", MLP, "--emit=llvm", "--elide-constants"], 0,
                    out=["kiln: --elide-constants", "[8192 x i8] <elided>"])
short_s, _ = check("compile --emit=asm --elide-constants", ["compile", MLP, "--emit=asm", "--elide-constants"], 0,
                   out=["kiln: --elide-constants", ".ascii <elided 8192 bytes>"])
why = []
if not len(short_ir) < len(full_ir) / 2:
    why.append("the elided IR is %d bytes, the full one %d" % (len(short_ir), len(full_ir)))
if not len(short_ll) < len(full_ll) - 20000:
    why.append("the elided LLVM IR is %d bytes, the full one %d" % (len(short_ll), len(full_ll)))
if any(len(line) > 400 and ' x i8] c"' in line for line in short_ll.splitlines()):
    why.append("constant bytes (c\"...\") of over 400 characters are left in the elided LLVM IR")
if any(len(line) > 400 and ".ascii" in line for line in short_s.splitlines()):
    why.append("an .ascii directive of over 400 characters is left in the elided assembly")
report("--elide-constants makes the text much shorter", why)
check("compile --dump-after=all", ["compile", MLP, "--emit=header", "--dump-after=all"], 0,
      err=["// ---- IR after"])

# ---- 8. f16 and bf16 as numbers; bf16 through .npy ----
xv2 = npy("x_v2.npy", "<V2", (3,), bf16(1.0, -1.5, 0.25))
xbf = npy("x_bf16.npy", "bfloat16", (3,), bf16(1.0, -1.5, 0.25))
for label, path in (("'<V2' (what np.save writes for ml_dtypes' bfloat16)", xv2), ("'bfloat16'", xbf)):
    check("eval reads a bf16 input with descr " + label, ["eval", HALF, "--input", "x=" + path], 0,
          out=["y: bf16[3] = [2, -3, 0.5]", "h: f16[3] = [1, -1.5, 0.25]"])
check("run (JIT) prints bf16 and f16 outputs as numbers", ["run", HALF, "--input", "x=" + xv2], 0,
      out=["y: bf16[3] = [2, -3, 0.5]", "h: f16[3] = [1, -1.5, 0.25]"])
xv2_2x64 = npy("x_v2_2x64.npy", "<V2", (2, 64), bf16(*([0.5] * 128)))
check("an untyped '<V2' file for an f32 input is refused as ambiguous", ["run", MLP, "--input", "x=" + xv2_2x64], 1,
      err=["untyped 2-byte", "x_v2_2x64.npy"])
check("import --input-value refuses an untyped '<V2' file", ["import", SYM, "--input-value", "x=" + xv2], 1,
      err=["untyped 2-byte"])
outdir = os.path.join(tmp, "out_half")
check("eval --output-dir writes bf16 and f16 outputs", ["eval", HALF, "--input", "x=" + xbf, "--output-dir", outdir], 0)
why = []
for fname, descr, data in (("y.npy", "'descr': 'bfloat16'", bf16(2.0, -3.0, 0.5)),
                           ("h.npy", "'descr': '<f2'", struct.pack("<3e", 1.0, -1.5, 0.25))):
    try:
        with open(os.path.join(outdir, fname), "rb") as f:
            b = f.read()
        if descr.encode() not in b[:128]:
            why.append("%s: header %r lacks %s" % (fname, b[10:80], descr))
        if not b.endswith(data):
            why.append("%s: data %r, expected %r" % (fname, b[-len(data):], data))
    except OSError as ex:
        why.append(str(ex))
report("bf16 is written with descr 'bfloat16', f16 with '<f2'", why)
check("a written bf16 .npy reads back", ["eval", HALF, "--input", "x=" + os.path.join(outdir, "y.npy")], 0,
      out=["y: bf16[3] = [4, -6, 1]"])

# ---- 9. the input kind is told by content; errors name the file ----
pb = os.path.join(tmp, "model.pb")
shutil.copy(SYM, pb)
check("an ONNX model named .pb is imported as ONNX", ["opt", pb, "--input-shape", "x=2x4"], 0, out=["f32[2,4]"])
kir_as_onnx = os.path.join(tmp, "ir-text.onnx")
shutil.copy(HALF, kir_as_onnx)
check("IR text named .onnx is parsed as IR text", ["opt", kir_as_onnx], 0, out=["module half"])
check("an artifact given as a model is named as such", ["opt", so], 1, err=["mlp.so", "ELF"])
bad = os.path.join(tmp, "broken.onnx")
with open(bad, "wb") as f:
    f.write(b"\x08\x07\x12\xff\xff\xff\xff\x0f")
check("a broken protobuf: the error names the file", ["opt", bad], 1, err=["broken.onnx"])
empty = os.path.join(tmp, "empty.onnx")
open(empty, "wb").close()
check("an empty file: the error names the file", ["eval", empty], 1, err=["empty.onnx", "empty"])
check("a missing model: the error names the file", ["compile", "no-such-model.onnx", "--emit=ir"], 1,
      err=["no-such-model.onnx"])
check("import of IR text says it is not ONNX", ["import", kir_as_onnx], 1, err=["ir-text.onnx", "not an ONNX model"])

# ---- 10. the target the passes decide for (issue 10) ----
X86 = ["opt", "--print-target", "--target=x86_64-linux-gnu"]
check("opt --print-target --cpu=x86-64-v3: AVX2 facts", X86 + ["--cpu=x86-64-v3"], 0,
      out=["x86-64-v3", "8 f32 lanes", "16 registers", "GEMM tile 6x2"])
check("opt --print-target --cpu=skylake-avx512: AVX-512 facts", X86 + ["--cpu=skylake-avx512"], 0,
      out=["skylake-avx512", "16 f32 lanes", "32 registers", "GEMM tile 14x2"])
check("opt --print-target --cpu=x86-64: 4 lanes", X86 + ["--cpu=x86-64"], 0, out=["4 f32 lanes"])
check("opt --print-target --cpu=portable: weights packed at run time", X86 + ["--cpu=portable"], 0,
      out=["weights packed at run time"], not_out=["prepacked weights"])
check("opt --print-target --cpu=nosuchcpu fails, naming the CPU", X86 + ["--cpu=nosuchcpu"], 1, err=["nosuchcpu"])
check("opt --print-target takes no model", ["opt", "--print-target", HALF], 2, err=["--print-target"])
check("opt: --cpu without passes does not apply", ["opt", HALF, "--cpu=x86-64-v3"], 2, err=["--cpu applies when"])
check("opt --remarks names the target first", ["opt", HALF, "--cpu=x86-64-v3", "--remarks"], 0,
      err=["remark: target: ", "x86-64-v3"])
check("opt --passes with an unknown CPU fails before any pass", ["opt", HALF, "--cpu=nosuchcpu", "--passes=dce"], 1,
      err=["nosuchcpu"])
check("compile with an unknown CPU fails, naming it", ["compile", HALF, "--cpu=nosuchcpu", "--emit=ir"], 1,
      err=["nosuchcpu"])

# ---- 11. an output that is not a regular file is written into, not replaced ----
# (-o /dev/null once renamed a regular file over /dev/null.) A FIFO stands in
# for the device. This process holds its read end and a write end of its own
# (so the reader sees end-of-file only once kiln is done too), and a thread
# drains it while kiln writes.
def through_fifo(name, args, expect_in):
    fifo = os.path.join(tmp, "out.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    wfd = os.open(fifo, os.O_WRONLY)
    os.set_blocking(rfd, True)
    got = []

    def drain():
        while True:
            b = os.read(rfd, 65536)
            if not b:
                break
            got.append(b)

    reader = threading.Thread(target=drain)
    reader.start()
    rc, o, e = run(args + ["-o", fifo])
    os.close(wfd)
    reader.join()
    os.close(rfd)
    data = b"".join(got)
    why = []
    if rc != 0:
        why.append("exit code %d" % rc)
    if not stat.S_ISFIFO(os.lstat(fifo).st_mode):
        why.append("the FIFO was replaced by a regular file")
    if expect_in not in data:
        why.append("the reader did not get the output")
    report(name, why, args + ["-o", fifo], o, e)

through_fifo("compile --emit=ir -o FIFO writes into the FIFO", ["compile", MLP, "--emit=ir"], b"ENTRY")
through_fifo("compile -o FIFO writes the .so into the FIFO", ["compile", MLP, "--header", os.path.join(tmp, "f.h")],
             b"\x7fELF")

shutil.rmtree(tmp, ignore_errors=True)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
