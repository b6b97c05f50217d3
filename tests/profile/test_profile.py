#!/usr/bin/python3
"""`kiln profile` (issue 16): the table, the Chrome trace, the HTML and SVG
pictures, AOT artifacts and the errors a user can meet.

usage: test_profile.py KILN SOURCE_DIR WORKDIR [--resnet18]

Without --resnet18 it profiles examples/jit/mlp.onnx (needs nothing but
python3); with it, ResNet-18 as tests/models/export_models.py exports it
(skipped, exit 77, without torch/torchvision), which is the acceptance
line: the kernels' medians sum to within 10 % of the median end-to-end
latency, and the trace names every kernel.

Timing figures are only checked for presence and sign (machines are
noisy): GFLOP/s, % of peak and GB/s positive where a kernel does work.
Each check prints its name and "ok" or what went wrong; the script ends
with "N passed, M failed" and exits 1 if any failed.
"""
import json
import os
import re
import struct
import subprocess
import sys
from html.parser import HTMLParser

KILN, SRC, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
RESNET = "--resnet18" in sys.argv[4:]
MLP = os.path.join(SRC, "examples", "jit", "mlp.onnx")  # x: f32[2,64] -> probs: f32[2,10]
MLP_X = os.path.join(SRC, "examples", "jit", "x.npy")
os.makedirs(WORK, exist_ok=True)

passed, failed = 0, 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + detail) if detail else ""))
    return ok


def run(args, timeout=600):
    p = subprocess.run([KILN] + args, cwd=WORK, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def npy_f32(name, shape, values):
    """A .npy file written by hand (no NumPy needed)."""
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join("%d," % s for s in shape)
    hl = (10 + len(d) + 1 + 63) // 64 * 64 - 10
    path = os.path.join(WORK, name)
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", hl) + (d + " " * (hl - len(d) - 1) + "\n").encode())
        f.write(struct.pack("<%df" % len(values), *values))
    return path


NUMS = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)%$")


def parse_table(out):
    """The rows of the table (dicts) and the figures of the totals. The
    text columns are cut at the header's positions (ONNX node lists hold
    no spaces, but a shape may); the figures are split on blanks."""
    lines = out.splitlines()
    rows, totals = [], {}
    try:
        h = next(i for i, l in enumerate(lines) if l.startswith("kernel "))
    except StopIteration:
        return None, None
    head = lines[h]
    c_nodes, c_kind, c_shape, c_figs = (head.index("onnx nodes"), head.index("kind"), head.index("shape"),
                                        head.index("shape") + 26)
    for l in lines[h + 1:]:
        if not l.strip():
            break
        m = NUMS.match(l[c_figs:].strip())
        if not m:
            return None, "cannot parse row %r" % l
        g = m.groups()
        rows.append(dict(kernel=l[:c_nodes].strip(), nodes=l[c_nodes:c_kind].strip(), kind=l[c_kind:c_shape].strip(),
                         shape=l[c_shape:c_figs].strip(), flops=g[0], gflops=g[1], peak=g[2], bytes=g[3], gbs=g[4],
                         ms=float(g[5]), share=float(g[6])))
    m = re.search(r"sum of kernel medians ([\d.]+) ms; end-to-end median ([\d.]+) ms", out)
    if m:
        totals["sum"], totals["e2e"] = float(m.group(1)), float(m.group(2))
    m = re.search(r"kernels cover ([\d.]+)% of the end-to-end time", out)
    if m:
        totals["coverage"] = float(m.group(1)) / 100
    m = re.search(r"peak ([\d.]+) GFLOP/s per core \(f32 FMA, (\S+), measured\)", out)
    if m:
        totals["peak"], totals["isa"] = float(m.group(1)), m.group(2)
    m = re.search(r"workspace \(the buffer plan's peak\) (\S+)B", out)
    if m:
        totals["workspace"] = m.group(1)
    m = re.search(r"idle share (-|[\d.]+%)", out)
    if m:
        totals["idle"] = m.group(1)
    return rows, totals


def si_value(s):
    mult = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    return float(s[:-1]) * mult[s[-1]] if s[-1] in mult else float(s)


def check_table(what, out, nruns):
    rows, totals = parse_table(out)
    if not check(what + ": the table parses", rows is not None and isinstance(totals, dict),
                 totals if isinstance(totals, str) else out[-2000:]):
        return None, None
    check(what + ": has kernels", len(rows) > 0, out[-2000:])
    check(what + ": sorted by time, slowest first", all(rows[i]["ms"] >= rows[i + 1]["ms"] for i in range(len(rows) - 1)))
    check(what + ": header line names the runs", "%d runs after" % nruns in out, out[:300])
    check(what + ": measured peak present and positive, with its ISA", totals.get("peak", 0) > 0 and totals.get("isa"),
          str(totals))
    bad = [r for r in rows if si_value(r["flops"]) > 0 and r["ms"] > 0
           and not (float(r["gflops"]) > 0 and float(r["peak"].rstrip("%")) > 0)]
    check(what + ": GFLOP/s and %peak positive for kernels with FLOPs", not bad, str(bad[:3]))
    bad = [r for r in rows if si_value(r["bytes"]) > 0 and r["ms"] > 0 and not float(r["gbs"]) > 0]
    check(what + ": GB/s positive for kernels that move bytes", not bad, str(bad[:3]))
    check(what + ": every kernel has a kind and a shape", all(r["kind"] and "[" in r["shape"] for r in rows),
          str(rows[:3]))
    share = sum(r["share"] for r in rows)
    check(what + ": shares add up to 100%", abs(share - 100) < 0.1 * len(rows) + 0.5, "%.1f" % share)
    check(what + ": totals (sum, end-to-end, workspace, idle share) printed",
          all(k in totals for k in ("sum", "e2e", "coverage", "workspace", "idle")), str(totals))
    return rows, totals


def check_trace(what, path, kernels):
    """The trace loads as JSON and has the structure Chrome/Perfetto read."""
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        check(what + ": trace loads as JSON", False, str(e))
        return
    check(what + ": trace loads as JSON", True)
    ev = doc.get("traceEvents") if isinstance(doc, dict) else None
    if not check(what + ": trace has a traceEvents list", isinstance(ev, list) and ev, str(doc)[:300]):
        return
    spans = [e for e in ev if e.get("ph") == "X"]
    meta = [e for e in ev if e.get("ph") == "M"]
    check(what + ": only complete (X) and metadata (M) events", len(spans) + len(meta) == len(ev))
    bad = [e for e in spans if not all(k in e for k in ("ph", "ts", "dur", "pid", "tid", "name"))
           or not isinstance(e["ts"], (int, float)) or not isinstance(e["dur"], (int, float)) or e["dur"] < 0
           or not isinstance(e["tid"], int) or not isinstance(e["pid"], int)]
    check(what + ": every span has ph/ts/dur/pid/tid/name, dur >= 0", not bad, str(bad[:2]))
    bad = [e for e in meta if e.get("name") not in ("process_name", "thread_name") or "name" not in e.get("args", {})]
    check(what + ": metadata events name the process and threads", meta and not bad, str(bad[:2]))
    runs = [e for e in spans if e.get("cat") == "run"]
    ks = [e for e in spans if e.get("cat") == "kernel"]
    work = [e for e in spans if e.get("cat") == "work"]
    if not check(what + ": one run span", len(runs) == 1, str(runs)):
        return
    run = runs[0]
    eps = 0.002  # ts/dur are printed with 3 decimals (ns)
    check(what + ": kernel spans are on the run's thread, inside the run span",
          ks and all(e["tid"] == run["tid"] and e["ts"] >= run["ts"] - eps
                     and e["ts"] + e["dur"] <= run["ts"] + run["dur"] + eps for e in ks))
    ks_sorted = sorted(ks, key=lambda e: e["ts"])
    check(what + ": kernel spans do not overlap",
          all(a["ts"] + a["dur"] <= b["ts"] + eps for a, b in zip(ks_sorted, ks_sorted[1:])))
    names = set(e["name"] for e in ks)
    missing = [k for k in kernels if k not in names]
    check(what + ": each kernel of the table appears in the trace", not missing, str(missing[:5]))
    check(what + ": kernel spans carry kind, ONNX nodes and shape",
          all(all(k in e.get("args", {}) for k in ("kind", "onnx_nodes", "shape")) for e in ks))
    # A thread's share of a parallel loop lies inside that kernel's span
    # (same clock on every thread), whichever thread ran it.
    outside = []
    for w in work:
        if not any(k["name"] == w["name"] and k["ts"] - eps <= w["ts"] and w["ts"] + w["dur"] <= k["ts"] + k["dur"] + eps
                   for k in ks):
            outside.append(w)
    check(what + ": work spans nest inside their kernel's span", not outside, str(outside[:2]))
    tids = sorted(set(e["tid"] for e in work))
    check(what + ": work spans name their thread (0 the run's)", all(t >= 0 for t in tids), str(tids))
    return tids


class Page(HTMLParser):
    """Collects the tags and the bars of the breakdown; checks nesting."""
    VOID = {"meta", "br", "link", "img", "input", "hr", "rect", "path", "line", "circle"}

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.tags, self.bars, self.cells = [], [], [], [], []
        self.in_svg = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "svg":
            self.in_svg += 1
        if tag == "rect" and a.get("class") == "bar":
            self.bars.append((a.get("data-kernel"), self.in_svg > 0))
        if tag == "script":
            self.errors.append("a <script> (the page must be self-contained, no scripts)")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
            return
        self.stack.pop()
        if tag == "svg":
            self.in_svg -= 1


def check_pictures(what, rows, html, svg):
    with open(html, encoding="utf-8") as f:
        text = f.read()
    p = Page()
    p.feed(text)
    p.close()
    check(what + ": HTML parses with every element closed in order", not p.errors and not p.stack,
          str(p.errors[:3] + p.stack))
    check(what + ": HTML has an <svg> and a <table>", "svg" in p.tags and "table" in p.tags)
    check(what + ": no resource from the net", "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
          and "https://" not in text)
    listed = [b for b, in_svg in p.bars if in_svg]
    top = [r["kernel"] for r in rows[:20]]
    expect = top + (["other"] if len(rows) > 20 else [])
    check(what + ": one bar per charted kernel (top 20 and 'other'), slowest first", listed == expect,
          "bars %s, expected %s" % (listed[:6], expect[:6]))
    import xml.dom.minidom
    try:
        doc = xml.dom.minidom.parse(svg)
        rects = [r for r in doc.getElementsByTagName("rect") if r.getAttribute("class") == "bar"]
        check(what + ": the SVG is XML with the same bars", doc.documentElement.tagName == "svg" and
              [r.getAttribute("data-kernel") for r in rects] == expect)
    except Exception as e:  # a parse error is this check's failure
        check(what + ": the SVG is XML with the same bars", False, str(e))


def mlp_suite():
    trace, html, svg = (os.path.join(WORK, "mlp." + e) for e in ("json", "html", "svg"))
    rc, out, err = run(["profile", MLP, "--runs", "3", "--warmup", "1", "--threads", "2", "--seed", "7",
                        "--trace", trace, "--html", html, "--svg", svg])
    if not check("mlp: profile exits 0", rc == 0, err):
        return
    rows, _ = check_table("mlp", out, 3)
    if not rows:
        return
    check("mlp: the ONNX nodes are named", any("fc1" in r["nodes"] for r in rows), str(rows))
    check_trace("mlp", trace, [r["kernel"] for r in rows])
    check_pictures("mlp", rows, html, svg)

    rc, out2, err = run(["profile", MLP, "--runs", "2", "--threads", "1", "--input", "x=" + MLP_X])
    check("mlp: --threads 1 is used", rc == 0 and "(JIT), 1 thread," in out2, out2[:200])
    rows2, _ = parse_table(out2) if rc == 0 else (None, None)
    check("mlp: --input FILE.npy works and gives the same kernels", rc == 0 and rows2 and
          sorted(r["kernel"] for r in rows2) == sorted(r["kernel"] for r in rows), err)

    # Shapes: a symbolic input is bound by --input-shape (random inputs of that shape).
    sym = os.path.join(SRC, "tests", "cli", "models", "sym.onnx")  # y = x + x, x: f32[N,4]
    rc, out5, err = run(["profile", sym, "--runs", "2", "--input-shape", "x=3x4"])
    rows5, _ = parse_table(out5) if rc == 0 else (None, None)
    check("shapes: --input-shape binds a symbolic input", rc == 0 and rows5 and rows5[0]["shape"].startswith("f32[3,4]"),
          err + out5[-300:])
    rc, out5, err = run(["profile", sym, "--runs", "2"])
    check("shapes: a symbolic input without --input-shape: exit 1, says to bind it",
          rc == 1 and "--input-shape x=" in err and not out5, err)

    # AOT: an instrumented artifact has the JIT's kernels; a plain one is refused.
    so_i, so_p = os.path.join(WORK, "mlp_instr.so"), os.path.join(WORK, "mlp_plain.so")
    rc, _, err = run(["compile", MLP, "--instrument", "-o", so_i])
    if check("aot: kiln compile --instrument", rc == 0, err):
        rc, out3, err = run(["profile", so_i, "--runs", "2", "--warmup", "1"])
        rows3, _ = parse_table(out3) if rc == 0 else (None, None)
        check("aot: profile of the instrumented artifact exits 0 with the JIT's kernel names",
              rc == 0 and rows3 and sorted(r["kernel"] for r in rows3) == sorted(r["kernel"] for r in rows),
              err + out3[-500:])
        check("aot: the header says AOT artifact", "(AOT artifact)" in out3)
        rc, _, err = run(["profile", so_i, "--input-shape", "x=2x64"])
        check("aot: a JIT-only option on an artifact is bad usage (2)", rc == 2 and "applies only" in err, err)
    rc, _, err = run(["compile", MLP, "-o", so_p])
    if check("aot: plain kiln compile", rc == 0, err):
        rc, out4, err = run(["profile", so_p])
        check("aot: an uninstrumented artifact: exit 1, says it has no kernel table and names --instrument",
              rc == 1 and "without instrumentation" in err and "--instrument" in err and not out4, err)

    # Errors a user can make: a clear message, the right exit code, no crash.
    wrong = npy_f32("wrong.npy", [3], [1.0, 2.0, 3.0])
    cases = [
        ("missing model file", ["profile", os.path.join(WORK, "nope.onnx")], 1, "cannot open"),
        ("missing input file", ["profile", MLP, "--input", "x=" + os.path.join(WORK, "nope.npy")], 1, "cannot open"),
        ("wrong input shape", ["profile", MLP, "--input", "x=" + wrong], 1, "takes f32[2,64]"),
        ("unknown input name", ["profile", MLP, "--input", "y=" + wrong], 2, "no input named 'y'"),
        ("--runs 0", ["profile", MLP, "--runs", "0"], 2, "--runs takes"),
        ("--seed with --input", ["profile", MLP, "--seed", "1", "--input", "x=" + MLP_X], 2, "--seed"),
        ("unknown option", ["profile", MLP, "--bogus"], 2, "unknown option"),
        ("no model", ["profile"], 2, "no model"),
        ("trace into a missing folder", ["profile", MLP, "--trace", os.path.join(WORK, "no", "t.json")], 1, "t.json"),
    ]
    for name, args, code, msg in cases:
        rc, out, err = run(args)
        check("error: %s -> exit %d with a message" % (name, code),
              rc == code and msg in err and "kiln: error:" in err and not out, "rc %d, stderr %r" % (rc, err[-300:]))


def resnet_suite():
    sys.path.insert(0, os.path.join(SRC, "tests", "models"))
    import export_models  # exits 77 (skipped, with the reason) when torch is missing
    try:
        export_models.export("resnet18", WORK)
    except ImportError as e:
        print("SKIP resnet18: %s" % e)
        sys.exit(77)
    model = os.path.join(WORK, "resnet18", "model.onnx")
    trace, html = os.path.join(WORK, "resnet18.json"), os.path.join(WORK, "resnet18.html")
    rc, out, err = run(["profile", model, "--runs", "7", "--warmup", "2", "--trace", trace, "--html", html])
    if not check("resnet18: profile exits 0", rc == 0, err):
        return
    print(out)
    rows, totals = check_table("resnet18", out, 7)
    if not rows:
        return
    # The acceptance line, run by run: a run's kernel times against that
    # run's end-to-end latency (the median over the runs), so that a run
    # another process slowed counts on both sides alike.
    cov = totals.get("coverage", 0)
    check("resnet18: kernel times sum to within 10%% of the end-to-end latency (median coverage %.3f; "
          "sum of medians %.3f ms, end-to-end median %.3f ms)" % (cov, totals.get("sum", 0), totals.get("e2e", 0)),
          abs(cov - 1) <= 0.10)
    check("resnet18: convolutions are named after their ONNX Conv nodes",
          any(r["kind"] == "conv" and "Conv" in r["nodes"] for r in rows), str(rows[:3]))
    tids = check_trace("resnet18", trace, [r["kernel"] for r in rows])
    threads = int(re.search(r"(\d+) threads?,", out).group(1))
    if threads > 1 and tids is not None:
        check("resnet18: more than one thread has work spans", len(tids) > 1, str(tids))
    # The idle share as documented, recomputed from the trace of a single
    # timed run: 1 - (sum of work spans) / (threads x wall of the kernels
    # that have work spans).
    trace1 = os.path.join(WORK, "resnet18-1.json")
    rc, out1, err = run(["profile", model, "--runs", "1", "--warmup", "1", "--trace", trace1])
    m = re.search(r"idle share ([\d.]+)%", out1)
    if check("resnet18: one run: idle share printed", rc == 0 and m, err + out1[-500:]):
        with open(trace1) as f:
            ev = json.load(f)["traceEvents"]
        work = [e for e in ev if e.get("cat") == "work"]
        busy = sum(e["dur"] for e in work)
        par = set(e["name"] for e in work)
        wall = sum(e["dur"] for e in ev if e.get("cat") == "kernel" and e["name"] in par)
        n = int(re.search(r"(\d+) threads?,", out1).group(1))
        idle = 100 * (1 - busy / (n * wall)) if wall else -1
        check("resnet18: idle share %s%% = 1 - busy / (threads x wall) from the trace (%.1f%%)" % (m.group(1), idle),
              abs(float(m.group(1)) - idle) < 0.15)

    # The HTML page once (the SVG is the same drawing, checked by the mlp suite).
    p = Page()
    with open(html, encoding="utf-8") as f:
        p.feed(f.read())
    check("resnet18: HTML well formed, one bar per charted kernel",
          not p.errors and not p.stack and [b for b, s in p.bars] ==
          [r["kernel"] for r in rows[:20]] + (["other"] if len(rows) > 20 else []), str(p.errors[:3]))


if __name__ == "__main__":
    if RESNET:
        resnet_suite()
    else:
        mlp_suite()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
