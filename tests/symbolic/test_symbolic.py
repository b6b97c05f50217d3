#!/usr/bin/python3
"""Symbolic dimensions from the command line (issue 15): ONNX models with
dim_params imported with --max-shape bounds, run at several bindings by
`kiln run` (the JIT: the model compiled once with its symbolic dimensions,
or, where code generation does not support them yet, made static at the
--input shapes and compiled) and by `kiln eval` (the reference
interpreter), each output compared with NumPy computing the same function
from the ONNX spec; artifacts compiled once with `kiln compile
--max-shape`, run by `kiln run` at several shapes and by a C program
linked against the generated header (host_shaped.c), refusing shapes out
of bound or inconsistent with a message naming input, dimension and bound; shape
subgraphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, the pattern
torch exports for x.view(x.size(0), -1) and for splitting heads) become
symbolic expressions; and every refusal says what is wrong and exits 1.

The models are built here with onnx.helper. Usage: test_symbolic.py KILN
Prints one line per check and "N passed, M failed"; exits 1 if any failed.
"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as oh
from onnx import numpy_helper as nh

KILN = os.path.abspath(sys.argv[1])
tmp = tempfile.mkdtemp(prefix="kiln-symbolic-test-")
passed, failed = 0, 0
rng = np.random.default_rng(15)


def run(args):
    p = subprocess.run([KILN] + args, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def report(name, why, args=None, out="", err=""):
    global passed, failed
    if not why:
        passed += 1
        print("ok    " + name)
        return
    failed += 1
    print("FAIL  " + name + ": " + "; ".join(why))
    if args is not None:
        print("      command: kiln " + " ".join(args))
        print("      stdout: " + out[:1500].replace("\n", "\n              "))
        print("      stderr: " + err[:1500].replace("\n", "\n              "))


def check(name, args, code, out=(), err=(), no_files=()):
    """Runs kiln; checks the exit code, text in stdout/stderr, absent files."""
    rc, o, e = run(args)
    why = []
    if rc != code:
        why.append("exit code %d, expected %d" % (rc, code))
    why += ["stdout lacks %r" % s for s in out if s not in o]
    why += ["stderr lacks %r" % s for s in err if s not in e]
    why += ["%s was left behind" % f for f in no_files if os.path.exists(os.path.join(tmp, f))]
    report(name, why, args, o, e)


def save(model_name, nodes, inputs, outputs, inits=(), opset=17):
    g = oh.make_graph(nodes, model_name, inputs, outputs, list(inits))
    path = os.path.join(tmp, model_name + ".onnx")
    onnx.save(oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)]), path)
    return path


def i64(name, v):
    return nh.from_array(np.array(v, dtype=np.int64), name)


def npy(name, a):
    path = os.path.join(tmp, name)
    np.save(path, a)
    return path


def output_problems(rc, outdir, expected):
    """What is wrong with a run that exited rc and wrote OUTDIR/NAME.npy,
    against expected ({name: array}, within 1e-5): a list of reasons."""
    why = [] if rc == 0 else ["exit code %d" % rc]
    for k, want in expected.items():
        if rc != 0:
            break
        got = np.load(os.path.join(outdir, k + ".npy"))
        if got.shape != want.shape:
            why.append("%s has shape %s, expected %s" % (k, got.shape, want.shape))
        elif not np.allclose(got, want, rtol=1e-5, atol=1e-5):
            why.append("%s differs from NumPy by up to %g" % (k, float(np.max(np.abs(got - want)))))
    return why


def run_and_compare(name, model, flags, inputs, expected):
    """kiln run (compiled) and kiln eval (interpreter) on `inputs`
    ({name: array}), each output compared with expected ({name: array})."""
    specs = []
    for k, a in inputs.items():
        specs += ["--input", "%s=%s" % (k, npy("%s_%s.npy" % (name, k), a))]
    for engine in ("run", "eval"):
        outdir = os.path.join(tmp, "out_%s_%s" % (name, engine))
        args = [engine, model] + flags + specs + ["--output-dir", outdir]
        rc, o, e = run(args)
        why = output_problems(rc, outdir, expected)
        report("%s (%s)" % (name, "compiled" if engine == "run" else "interpreter"), why, args, o, e)


# ---- a dynamic-batch MLP ----
W1 = rng.standard_normal((16, 32)).astype(np.float32)
B1 = rng.standard_normal(32).astype(np.float32)
W2 = rng.standard_normal((32, 4)).astype(np.float32)
MLP = save("mlp", [oh.make_node("MatMul", ["x", "W1"], ["h"]), oh.make_node("Add", ["h", "b1"], ["h1"]),
                   oh.make_node("Relu", ["h1"], ["h2"]), oh.make_node("MatMul", ["h2", "W2"], ["y"])],
           [oh.make_tensor_value_info("x", T.FLOAT, ["batch", 16])],
           [oh.make_tensor_value_info("y", T.FLOAT, ["batch", 4])],
           [nh.from_array(W1, "W1"), nh.from_array(B1, "b1"), nh.from_array(W2, "W2")])


def mlp_ref(x):
    return np.maximum(x @ W1 + B1, 0) @ W2


for b in (1, 3, 8):
    x = rng.standard_normal((b, 16)).astype(np.float32)
    run_and_compare("mlp batch %d" % b, MLP, ["--max-shape", "x=8x16"], {"x": x}, {"y": mlp_ref(x)})

check("import --max-shape prints the symbol and the symbolic shapes", ["import", MLP, "--max-shape", "x=8x16"], 0,
      out=["symbol batch <= 8", "f32[batch,16]", "f32[batch,4]"])
x5 = rng.standard_normal((5, 16)).astype(np.float32)
X5 = npy("x5.npy", x5)
rc, o, e = run(["run", MLP, "--input", "x=" + X5, "--output-dir", os.path.join(tmp, "out_nobound")])
ok = rc == 0 and np.allclose(np.load(os.path.join(tmp, "out_nobound", "y.npy")), mlp_ref(x5), rtol=1e-5, atol=1e-5)
report("run without --max-shape still takes the shape from the --input file", [] if ok else ["exit %d or wrong y" % rc],
       ["run", MLP, "--input", "x=" + X5], o, e)

# ---- refusals ----
check("a symbolic input with neither bound nor shape names both flags, with the static dimensions", ["import", MLP], 1,
      err=["graph input 'x': dimension 0 ('batch') is symbolic", "--max-shape x=64x16", "--input-shape x=1x16"])
X9 = npy("x9.npy", np.zeros((9, 16), np.float32))
for engine in ("run", "eval"):
    check("%s: an input beyond its bound is refused" % engine, [engine, MLP, "--max-shape", "x=8x16", "--input", "x=" + X9],
          1, err=["batch", "9", "8"])
check("a static dimension must equal the --max-shape entry", ["import", MLP, "--max-shape", "x=8x15"], 1,
      err=["graph input 'x': dimension 1 is 16 in the model"])
# A model code generation cannot compile with symbolic dimensions yet (a
# sort along the symbolic length: docs/codegen.md, "Symbolic dimensions"):
# kiln compile refuses it, naming the instruction and leaving no file; kiln
# run falls back to compiling it at the --input shapes. (When code
# generation learns sorts along symbolic dimensions, pick another kernel it
# still refuses.) IR text: the ONNX ops that sort refuse symbolic inputs at
# import already.
SORT = os.path.join(tmp, "sorts.kir")
with open(SORT, "w") as f:
    f.write("module sorts\nsymbol len <= 16\n\nENTRY %main outputs={\"y\"} {\n"
            "  %x = f32[1,1,len]{2,1,0} parameter(0), io_name=\"x\"\n"
            "  %y = f32[1,1,len]{2,1,0} sort(%x), dimensions={2}\n"
            "  ROOT %r = (f32[1,1,len]{2,1,0}) tuple(%y)\n}\n")
check("compile refuses a symbolic model it cannot compile yet and leaves no file",
      ["compile", SORT, "-o", "m.so"], 1,
      err=["code generation for symbolic dimensions does not support", "--input-shape"], no_files=["m.so", "m.h"])
p7 = rng.standard_normal((1, 1, 7)).astype(np.float32)
run_and_compare("a sort along the symbolic length (run falls back to the --input shapes)", SORT,
                [], {"x": p7}, {"y": np.sort(p7, axis=2)})
P7 = npy("p7.npy", p7)
check("run -v says when it compiled at the --input shapes instead",
      ["run", SORT, "--input", "x=" + P7, "-v"], 0,
      err=["not compiled with symbolic dimensions", "(sort): code generation for symbolic dimensions does not support",
           "compiling it bound to the --input shapes instead"])
rc, o, e = run(["run", SORT, "--input", "x=" + P7])
report("run without -v falls back silently", [] if rc == 0 and e == "" else ["exit %d, stderr %r" % (rc, e)])
check("run -v says when it compiled the symbolic model once",
      ["run", MLP, "--max-shape", "x=8x16", "--input", "x=" + X5, "-v"], 0,
      err=["compiled once with symbolic dimensions"])
check("--max-shape naming no input is refused", ["import", MLP, "--max-shape", "x=8x16", "--max-shape", "q=2"], 1,
      err=["--max-shape names 'q'"])
check("--input-shape and --max-shape for one input conflict (usage)",
      ["run", MLP, "--max-shape", "x=8x16", "--input-shape", "x=2x16", "--input", "x=" + X9], 2, err=["not both"])
check("--input-shape and --max-shape for one input conflict (importer)",
      ["import", MLP, "--max-shape", "x=8x16", "--input-shape", "x=2x16"], 1, err=["has both a fixed shape"])

# Two inputs sharing the batch symbol.
W3 = rng.standard_normal((16, 4)).astype(np.float32)
TWO = save("two", [oh.make_node("MatMul", ["x", "W3"], ["p"]), oh.make_node("Add", ["p", "z"], ["y"])],
           [oh.make_tensor_value_info("x", T.FLOAT, ["batch", 16]), oh.make_tensor_value_info("z", T.FLOAT, ["batch", 4])],
           [oh.make_tensor_value_info("y", T.FLOAT, ["batch", 4])], [nh.from_array(W3, "W3")])
x3, z3 = rng.standard_normal((3, 16)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
run_and_compare("two inputs, one batch", TWO, ["--max-shape", "x=8x16", "--max-shape", "z=8x4"], {"x": x3, "z": z3},
                {"y": x3 @ W3 + z3})
Z2 = npy("z2.npy", np.zeros((2, 4), np.float32))
X3 = npy("x3.npy", x3)
for engine in ("run", "eval"):
    check("%s: inputs disagreeing on the batch are refused" % engine,
          [engine, TWO, "--max-shape", "x=8x16", "--max-shape", "z=8x4", "--input", "x=" + X3, "--input", "z=" + Z2], 1,
          err=["batch"])
check("one symbol with two bounds is refused naming both inputs",
      ["import", TWO, "--max-shape", "x=8x16", "--max-shape", "z=4x4"], 1, err=["'batch'", "'x'", "'z'"])

# ---- shape subgraphs ----
# x.view(b, s, 2, 4).transpose(1, 2).view(x.size(0), -1), as torch exports it.
HEADS = save("heads", [
    oh.make_node("Shape", ["x"], ["sh"]),
    oh.make_node("Gather", ["sh", "i0"], ["b"], axis=0),
    oh.make_node("Gather", ["sh", "i1"], ["s"], axis=0),
    oh.make_node("Unsqueeze", ["b", "ax0"], ["bu"]),
    oh.make_node("Unsqueeze", ["s", "ax0"], ["su"]),
    oh.make_node("Concat", ["bu", "su", "hd"], ["shp"], axis=0),
    oh.make_node("Reshape", ["x", "shp"], ["xh"]),
    oh.make_node("Transpose", ["xh"], ["xt"], perm=[0, 2, 1, 3]),
    oh.make_node("Concat", ["bu", "m1"], ["shp2"], axis=0),
    oh.make_node("Reshape", ["xt", "shp2"], ["y"]),
], [oh.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 8])], [oh.make_tensor_value_info("y", T.FLOAT, ["batch", None])],
    [i64("i0", 0), i64("i1", 1), i64("ax0", [0]), i64("hd", [2, 4]), i64("m1", [-1])], opset=13)
for b, s in ((1, 1), (3, 5), (4, 16)):
    x = rng.standard_normal((b, s, 8)).astype(np.float32)
    run_and_compare("heads batch %d seq %d" % (b, s), HEADS, ["--max-shape", "x=4x16x8"], {"x": x},
                    {"y": x.reshape(b, s, 2, 4).transpose(0, 2, 1, 3).reshape(b, -1)})
check("import of the heads subgraph keeps symbolic shapes and drops the subgraph", ["import", HEADS, "--max-shape", "x=4x16x8"],
      0, out=["symbol batch <= 4", "symbol seq <= 16", "f32[batch,seq,2,4]", "f32[batch,2,seq,4]"])

BIAS = np.arange(8, dtype=np.float32) - 3.5
# Shape arithmetic: a Mul of a gathered size, ConstantOfShape of a symbolic
# shape, and Slice ends at INT64_MAX and at seq - 1.
ARITH = save("arith", [
    oh.make_node("Shape", ["x"], ["sh"]),
    oh.make_node("Gather", ["sh", "i0"], ["b"], axis=0),
    oh.make_node("Gather", ["sh", "i1"], ["s"], axis=0),
    oh.make_node("Mul", ["s", "k8"], ["s8"]),
    oh.make_node("Unsqueeze", ["b", "ax0"], ["bu"]),
    oh.make_node("Unsqueeze", ["s8", "ax0"], ["s8u"]),
    oh.make_node("Concat", ["bu", "s8u"], ["shp"], axis=0),
    oh.make_node("Reshape", ["x", "shp"], ["flat"]),
    oh.make_node("ConstantOfShape", ["sh"], ["ones"], value=nh.from_array(np.array([1.5], np.float32))),
    oh.make_node("Add", ["x", "ones"], ["plus"]),
    oh.make_node("Slice", ["x", "one", "big", "ax1"], ["tail"]),
    oh.make_node("Sub", ["s", "k1"], ["sm1"]),
    oh.make_node("Unsqueeze", ["sm1", "ax0"], ["sm1u"]),
    oh.make_node("Slice", ["x", "zero", "sm1u", "ax1"], ["head"]),
    # s * 8 / 2 (an exact division) and max(s, 1) (decided: s >= 1).
    oh.make_node("Div", ["s8", "k2"], ["s4"]),
    oh.make_node("Unsqueeze", ["s4", "ax0"], ["s4u"]),
    oh.make_node("Concat", ["bu", "s4u", "two"], ["shp4"], axis=0),
    oh.make_node("Reshape", ["x", "shp4"], ["pairs"]),
    oh.make_node("Max", ["s", "k1"], ["smax"]),
    oh.make_node("Unsqueeze", ["smax", "ax0"], ["smaxu"]),
    oh.make_node("Slice", ["x", "zero", "smaxu", "ax1"], ["whole"]),
    # Expand to Where(Equal(shape, -1), 1, shape), as torch exports expand().
    oh.make_node("Equal", ["sh", "m1x3"], ["eq"]),
    oh.make_node("Where", ["eq", "onex3", "sh"], ["shw"]),
    oh.make_node("Expand", ["bias", "shw"], ["bexp"]),
], [oh.make_tensor_value_info("x", T.FLOAT, ["batch", "seq", 8])],
    [oh.make_tensor_value_info(n, T.FLOAT, None) for n in ("flat", "plus", "tail", "head", "pairs", "whole", "bexp")],
    [i64("i0", 0), i64("i1", 1), i64("ax0", [0]), i64("ax1", [1]), i64("k8", 8), i64("k1", 1), i64("k2", 2),
     i64("one", [1]), i64("two", [2]), i64("zero", [0]), i64("big", [2**63 - 1]), i64("m1x3", [-1, -1, -1]),
     i64("onex3", [1, 1, 1]), nh.from_array(BIAS, "bias")], opset=13)
for b, s in ((2, 3), (4, 16)):
    x = rng.standard_normal((b, s, 8)).astype(np.float32)
    run_and_compare("shape arithmetic batch %d seq %d" % (b, s), ARITH, ["--max-shape", "x=4x16x8"], {"x": x},
                    {"flat": x.reshape(b, s * 8), "plus": x + np.float32(1.5), "tail": x[:, 1:], "head": x[:, :s - 1],
                     "pairs": x.reshape(b, s * 4, 2), "whole": x, "bexp": np.broadcast_to(BIAS, (b, s, 8))})

# A symbolic size where an op needs a number it cannot take as an
# expression (Pad's pads): refused naming symbolic dimensions, not input data.
PADS = save("pads", [
    oh.make_node("Shape", ["x"], ["sh"]),
    oh.make_node("Slice", ["sh", "zero", "two", "zero"], ["p"]),
    oh.make_node("Pad", ["x", "p"], ["y"]),
], [oh.make_tensor_value_info("x", T.FLOAT, [2, "seq"])], [oh.make_tensor_value_info("y", T.FLOAT, None)],
    [i64("zero", [0]), i64("two", [2])], opset=13)
check("pads computed from a symbolic size are refused as symbolic, not as input data",
      ["import", PADS, "--max-shape", "x=2x16"], 1, err=["'pads' input must be known at compile time", "symbolic dimensions"])

# A Range whose limit is a symbolic size is a data-dependent shape.
RANGE = save("range", [
    oh.make_node("Shape", ["x"], ["sh"]),
    oh.make_node("Gather", ["sh", "i1"], ["s"], axis=0),
    oh.make_node("Range", ["z", "s", "k1"], ["y"]),
], [oh.make_tensor_value_info("x", T.FLOAT, ["batch", "seq"])], [oh.make_tensor_value_info("y", T.INT64, None)],
    [i64("i1", 1), i64("z", 0), i64("k1", 1)], opset=13)
check("a Range up to a symbolic size is refused as a data-dependent shape", ["import", RANGE, "--max-shape", "x=2x16"], 1,
      err=["Range", "'limit' is seq", "data-dependent shape"])
check("a Range up to a symbolic size imports once the shapes are fixed", ["import", RANGE, "--input-shape", "x=2x5"], 0,
      out=["i64[5]", "constant({0, 1, 2, 3, 4})"])

# ---- compiled once: kiln compile --max-shape, then the artifact at any in-bound shape ----
check("compile --max-shape writes the .so and a header with the symbols",
      ["compile", MLP, "--max-shape", "x=8x16", "-o", "symmlp.so"], 0)
hpath = os.path.join(tmp, "symmlp.h")
hdr = open(hpath).read() if os.path.exists(hpath) else ""
report("the header shows the symbolic shapes, bounds and run_shaped",
       ["header lacks %r" % t for t in ('"x": f32[batch,16], batch in [1, 8]', '"y": f32[batch,4], batch in [1, 8]',
                                         "#define KILN_SYMMLP_BOUND_BATCH 8", "#define KILN_SYMMLP_OUTPUT0_MAX_BYTES 128",
                                         "int kiln_symmlp_run_shaped(") if t not in hdr])


def run_artifact(name, so, inputs, expected):
    """kiln run SO on inputs ({name: array}); outputs compared with expected."""
    outdir = os.path.join(tmp, "out_" + name.replace(" ", "_"))
    args = ["run", so, "--output-dir", outdir]
    for k, a in inputs.items():
        args += ["--input", "%s=%s" % (k, npy("%s_%s.npy" % (name.replace(" ", "_"), k), a))]
    rc, o, e = run(args)
    report(name, output_problems(rc, outdir, expected), args, o, e)


for b in (1, 3, 7, 8):
    x = rng.standard_normal((b, 16)).astype(np.float32)
    run_artifact("symmlp.so at batch %d" % b, "symmlp.so", {"x": x}, {"y": mlp_ref(x)})
check("the artifact refuses a batch above its bound, naming input, dimension and bound, and writes no output",
      ["run", "symmlp.so", "--input", "x=" + X9, "--output-dir", "out_refused"], 1,
      err=["input 'x' dimension 0 (batch) is 9, above its bound 8"], no_files=["out_refused/y.npy"])
X0 = npy("x0.npy", np.zeros((0, 16), np.float32))
check("the artifact refuses a batch of 0", ["run", "symmlp.so", "--input", "x=" + X0], 1,
      err=["input 'x' dimension 0 (batch) is 0, below 1"])
X3W = npy("x3w.npy", np.zeros((3, 15), np.float32))
check("the artifact refuses a wrong static dimension", ["run", "symmlp.so", "--input", "x=" + X3W], 1,
      err=["input 'x' dimension 1 is 15, but the executable takes 16 there (f32[batch,16])"])
check("a missing input names the symbolic shape and its range", ["run", "symmlp.so"], 2,
      err=["no value for input 'x' (f32[batch,16], batch in [1, 8])"])
check("info shows the symbols and the symbolic shapes", ["info", "symmlp.so"], 0,
      out=["symbols (1): batch in [1, 8]", "x: f32[batch,16], batch in [1, 8], at most 512 bytes",
           "y: f32[batch,4], batch in [1, 8], at most 128 bytes"])

check("compile --max-shape for two inputs sharing the batch",
      ["compile", TWO, "--max-shape", "x=8x16", "--max-shape", "z=8x4", "-o", "two.so"], 0)
run_artifact("two.so at batch 3", "two.so", {"x": x3, "z": z3}, {"y": x3 @ W3 + z3})
check("the artifact refuses inputs disagreeing on the batch",
      ["run", "two.so", "--input", "x=" + X3, "--input", "z=" + Z2], 1,
      err=["input 'z' dimension 0 (batch) is 2, but input 'x' dimension 0 gave batch = 3"])

# A dimension that is an expression of the symbol (IR text: z is f32[2*b,2]).
with open(os.path.join(tmp, "expr.kir"), "w") as f:
    f.write("""module expr
symbol b <= 8

ENTRY %main outputs={"y"} {
  %x = f32[b,4] parameter(0), io_name="x"
  %z = f32[2*b,2] parameter(1), io_name="z"
  %f = f32[2*b,2] reshape(%x)
  %y = f32[2*b,2] add(%f, %z)
  ROOT %t = (f32[2*b,2]) tuple(%y)
}
""")
check("compile a module whose input dimension is an expression", ["compile", "expr.kir", "-o", "expr.so"], 0)
ex, ez = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((6, 2)).astype(np.float32)
run_artifact("expr.so at b 3", "expr.so", {"x": ex, "z": ez}, {"y": ex.reshape(6, 2) + ez})
EZ7 = npy("ez7.npy", np.zeros((7, 2), np.float32))
EX3 = npy("ex3.npy", ex)
check("info shows an expression dimension", ["info", "expr.so"], 0, out=["z: f32[2*b,2], b in [1, 8]"])
check("an expression dimension that disagrees with the binding is refused with its value",
      ["run", "expr.so", "--input", "x=" + EX3, "--input", "z=" + EZ7], 1,
      err=["input 'z' dimension 0 is 7, but 2*b = 6 from the other inputs"])

# A C program against the generated header, linking symmlp.so directly.
cc = shutil.which("cc")
if cc is None:
    print("skip  host program: no cc")
elif not os.path.exists(os.path.join(tmp, "symmlp.so")):
    report("host program", ["symmlp.so was not compiled"])
else:
    here = os.path.dirname(os.path.abspath(__file__))
    include = os.path.join(os.path.dirname(os.path.dirname(here)), "include")
    for b in (1, 5):
        x = rng.standard_normal((b, 16)).astype(np.float32)
        x.tofile(os.path.join(tmp, "x_%d.bin" % b))
        mlp_ref(x).astype(np.float32).tofile(os.path.join(tmp, "y_%d.bin" % b))
    host = os.path.join(tmp, "host_shaped")
    p = subprocess.run([cc, "-std=c17", "-Wall", "-Wextra", "-Werror", "-o", host, os.path.join(here, "host_shaped.c"),
                        "-I" + tmp, "-I" + include, os.path.join(tmp, "symmlp.so"), "-Wl,-rpath," + tmp, "-lm"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if p.returncode != 0:
        report("host program builds against symmlp.h", ["cc failed: " + p.stdout.decode(errors="replace")[:1500]])
    else:
        p = subprocess.run([host, tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        report("host program: run_shaped at batches 1 and 5 against NumPy, bad shapes refused",
               [] if p.returncode == 0 else ["exit %d: %s" % (p.returncode, p.stdout.decode(errors="replace")[:1500])])

shutil.rmtree(tmp, ignore_errors=True)
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
