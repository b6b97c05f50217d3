#!/usr/bin/python3
"""Symbolic shapes against static shapes (issue 15, item 6): is an artifact
compiled once for a range of shapes as fast as one compiled for each shape?

usage: symbolic.py [--kiln PATH] [--models resnet18,mobilenet_v2,transformer]
                   [--repeat N] [--rounds R] [--threads T] [--out DIR]

For each model (exported by tests/models/dynamic_test.py's cases, with
dynamic axes: batch for the CNNs, batch and sequence for the transformer):
  - one symbolic artifact: kiln compile --max-shape input_0=BOUND
  - one static artifact per measured shape: kiln compile --input-shape
Both are loaded into this process (ctypes) and called on the same input:
the static one through kiln_NAME_run, the symbolic one through
kiln_NAME_run_shaped. Their outputs must agree (relative L2 <= 1e-5).
Timing: each measurement is the median of N calls after two warm-up calls;
the two artifacts of a shape alternate round by round, and the table gives
the median over R rounds and symbolic/static (above 1: the symbolic
artifact is slower). Writes DIR/symbolic.md and DIR/symbolic.json.
"""
import argparse
import ctypes
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'models'))

import numpy as np  # noqa: E402

SHAPES = {
    'resnet18': [(1, 3, 224, 224), (8, 3, 224, 224)],
    'mobilenet_v2': [(1, 3, 224, 224), (8, 3, 224, 224)],
    'transformer': [(1, 128), (8, 128), (1, 16), (8, 16)],
}


def cpu_name():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    name = line.split(':', 1)[1].strip()
                    flags = open('/proc/cpuinfo').read()
                    return name + (' (AVX-512)' if 'avx512f' in flags else ' (AVX2, no AVX-512)')
    except OSError:
        pass
    return platform.processor()


class Art:
    def __init__(self, so, name, threads):
        self.lib = ctypes.CDLL(so)
        self.run = getattr(self.lib, 'kiln_%s_run' % name)
        self.shaped = getattr(self.lib, 'kiln_%s_run_shaped' % name)
        self.run.restype = self.shaped.restype = ctypes.c_int
        getattr(self.lib, 'kiln_%s_set_num_threads' % name)(threads)
        ws = getattr(self.lib, 'kiln_%s_workspace_size' % name)
        ws.restype = ctypes.c_size_t
        self.ws = np.zeros(ws() + 64, dtype=np.uint8)
        off = (-self.ws.ctypes.data) % 64
        self.wsp = ctypes.c_void_p(self.ws.ctypes.data + off)


def ptrs(arrays):
    return (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])


def median_call(fn, repeat):
    fn()
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--kiln', default=os.path.join(ROOT, 'build-release', 'tools', 'kiln'))
    ap.add_argument('--models', default='resnet18,mobilenet_v2,transformer')
    ap.add_argument('--repeat', type=int, default=10)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--out', default=os.path.join(HERE, 'out', 'symbolic'))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    import dynamic_test as dt
    import export_models
    import torch
    rows = []
    for name in a.models.split(','):
        case = dt.CASES[name]
        gen = export_models.fixed_generator()
        model = case['make']()
        with torch.no_grad():
            export_models.randomize_norms(model, gen)
        model.eval()
        work = os.path.join(a.out, name)
        os.makedirs(work, exist_ok=True)
        onnx = os.path.join(work, 'model.onnx')
        export_models.export_dynamic(model, [case['example'](gen)], onnx, 13, case['axes'])
        sym_so = os.path.join(work, 'sym.so')
        t0 = time.time()
        subprocess.run([a.kiln, 'compile', onnx, '--max-shape', 'input_0=' + case['bound'], '-o', sym_so,
                        '--name', 'sym'], check=True)
        print('%s: symbolic artifact in %.1f s' % (name, time.time() - t0), flush=True)
        sym = Art(sym_so, 'sym', a.threads)
        for shape in SHAPES[name]:
            tag = 'x'.join(str(d) for d in shape)
            st_so = os.path.join(work, 'static_%s.so' % tag)
            subprocess.run([a.kiln, 'compile', onnx, '--input-shape', 'input_0=' + tag, '-o', st_so, '--name',
                            'st_' + tag], check=True)
            st = Art(st_so, 'st_' + tag, a.threads)
            x = np.ascontiguousarray(case['input'](gen, shape).numpy())
            with torch.no_grad():
                ref_shape = model(torch.from_numpy(x)).shape
            n = int(np.prod(ref_shape))
            out_s = np.zeros(n, dtype=np.float32)
            out_y = np.zeros(n, dtype=np.float32)
            xd = np.array(x.shape, dtype=np.int64)
            od = np.zeros(len(ref_shape), dtype=np.int64)
            inp, ind, o_s, o_y, odp = ptrs([x]), ptrs([xd]), ptrs([out_s]), ptrs([out_y]), ptrs([od])

            def run_static():
                if st.run(inp, o_s, st.wsp) != 0:
                    raise SystemExit('static run failed')

            def run_sym():
                if sym.shaped(inp, ind, o_y, odp, sym.wsp) != 0:
                    raise SystemExit('run_shaped failed')

            run_static()
            run_sym()
            err = float(np.linalg.norm(out_s - out_y) / max(np.linalg.norm(out_s), 1e-30))
            if err > 1e-5 or list(od) != list(ref_shape):
                raise SystemExit('%s %s: symbolic and static outputs differ (rel L2 %.3g, dims %s)' %
                                 (name, tag, err, list(od)))
            ts, ty = [], []
            for r in range(a.rounds):
                order = [(run_static, ts), (run_sym, ty)]
                if r % 2:
                    order.reverse()
                for fn, acc in order:
                    acc.append(median_call(fn, a.repeat))
            ms, my = statistics.median(ts) * 1e3, statistics.median(ty) * 1e3
            row = {'model': name, 'shape': tag, 'bound': case['bound'], 'static_ms': ms, 'symbolic_ms': my,
                   'ratio': my / ms, 'rel_l2': err}
            rows.append(row)
            print('%-13s %-12s static %8.2f ms  symbolic %8.2f ms  symbolic/static %.3f' %
                  (name, tag, ms, my, my / ms), flush=True)
    head = ('Symbolic vs static artifacts, %s, %s thread(s), median of %d calls, median of %d rounds.\n'
            'Reproduce: benchmarks/symbolic.py --models %s --repeat %d --rounds %d --threads %d\n\n'
            % (cpu_name(), a.threads or 'all', a.repeat, a.rounds, a.models, a.repeat, a.rounds, a.threads))
    md = head + '| model | shape | bound | static ms | symbolic ms | symbolic/static |\n|---|---|---|---|---|---|\n'
    for r in rows:
        md += '| %s | %s | %s | %.2f | %.2f | %.3f |\n' % (r['model'], r['shape'], r['bound'], r['static_ms'],
                                                       r['symbolic_ms'], r['ratio'])
    with open(os.path.join(a.out, 'symbolic.md'), 'w') as f:
        f.write(md)
    with open(os.path.join(a.out, 'symbolic.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    print()
    print(md)


if __name__ == '__main__':
    main()
