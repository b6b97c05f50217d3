#!/usr/bin/python3
"""kiln against ONNX Runtime and PyTorch on the project's model set.

usage: bench.py [--kiln PATH] [--out DIR] [--models a,b,...] [--threads 1,2]
                [--repeat N] [--rounds R] [--no-torch]

For each model: export it with PyTorch (tests/models/export_models.py:
random weights from a fixed seed, fixed inputs, PyTorch's outputs), compile
it with `kiln compile` (timed), run kiln, ONNX Runtime (onnxruntime-node,
CPU) and PyTorch on the same inputs, check that every engine's outputs agree
with PyTorch's (relative L2 error <= 1e-4), then time them.

Timing: every engine runs in its own process (PyTorch in this one), each
measurement is the median of N runs after warm-up; engines are interleaved
round by round (kiln, ORT, PyTorch, then the next round in rotated order) so
that the noise of a shared machine hits them alike, and the table reports
the median over R rounds. The kiln/ORT column is kiln's median divided by
ORT's: below 1 means kiln is faster.

Writes DIR/results.json and DIR/results.md and prints the table.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODELS_DIR = os.path.join(ROOT, 'tests', 'models')
DEFAULT_MODELS = ['resnet18', 'mobilenet_v2', 'squeezenet1_1', 'mobilenet_v3_small', 'efficientnet_b0',
                  'transformer', 'vit_tiny']


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError('%s failed (exit %d):\n%s%s' % (' '.join(cmd), r.returncode, r.stdout, r.stderr))
    return r


sys.path.insert(0, MODELS_DIR)
import modelio  # noqa: E402  (tests/models/modelio.py: io.txt of an exported model, kiln's arguments)


def rel_l2(a, b):
    """modelio.rel_l2, with a shape mismatch counting as infinitely far."""
    import numpy as np
    a, b = np.asarray(a), np.asarray(b)
    return float(modelio.rel_l2(a, b)) if a.shape == b.shape else float('inf')


def safe_name(n):
    return re.sub(r'[^A-Za-z0-9._-]', '_', n)


def kiln_time(kiln, so, ins, threads, repeat):
    r = run([kiln, 'run', so, '--threads', str(threads), '--repeat', str(repeat), '--print-limit', '0'] +
            modelio.input_args(ins))
    m = re.search(r'median ([0-9.]+) (ms|us|s)\b', r.stderr + r.stdout)
    if not m:
        raise RuntimeError('no median in kiln run output:\n' + r.stderr + r.stdout)
    return float(m.group(1)) * {'s': 1e3, 'ms': 1.0, 'us': 1e-3}[m.group(2)]


def ort_cmd(model, ins, threads, repeat, outdir=None):
    cmd = ['node', os.path.join(HERE, 'ort_run.js'), model, '--threads', str(threads), '--repeat', str(repeat),
           '--warmup', '3'] + modelio.input_args(ins)
    if outdir:
        cmd += ['--output-dir', outdir]
    return cmd


def ort_time(model, ins, threads, repeat):
    r = run(ort_cmd(model, ins, threads, repeat), cwd=HERE)
    return json.loads(r.stdout.strip().splitlines()[-1])['median_ms']


class TorchModel:
    """The PyTorch model exactly as exported (export_models.pytorch_model)."""

    def __init__(self, name):
        import export_models as em
        import torch
        self.torch = torch
        self.model, self.args, _ = em.pytorch_model(name, em.fixed_generator())

    def time(self, threads, repeat):
        torch = self.torch
        torch.set_num_threads(threads)
        with torch.no_grad():
            for _ in range(3):
                self.model(*self.args)
            ts = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                self.model(*self.args)
                ts.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--kiln', default=os.path.join(ROOT, 'build', 'tools', 'kiln'))
    ap.add_argument('--out', default=os.path.join(HERE, 'out'))
    ap.add_argument('--models', default=','.join(DEFAULT_MODELS))
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--repeat', type=int, default=20)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--no-torch', action='store_true', help='do not time PyTorch')
    a = ap.parse_args()
    import numpy as np

    if not os.path.exists(os.path.join(HERE, 'node_modules', 'onnxruntime-node')):
        sys.exit('onnxruntime-node is not installed: run "cd benchmarks && npm install" (or tools/install-deps.sh --bench)')
    models = a.models.split(',')
    threads = [int(t) for t in a.threads.split(',')]
    os.makedirs(a.out, exist_ok=True)
    mdir = os.path.join(a.out, 'models')
    print('exporting %s ...' % ', '.join(models), flush=True)
    run(['/usr/bin/python3', os.path.join(MODELS_DIR, 'export_models.py'), mdir] + models)

    results = []
    for name in models:
        d = os.path.join(mdir, name)
        onnx_path = os.path.join(d, 'model.onnx')
        ins, outs = modelio.read_io(d)
        so = os.path.join(a.out, name + '.so')
        t0 = time.perf_counter()
        run([a.kiln, 'compile', onnx_path, '-o', so, '--name', safe_name(name)])
        compile_s = time.perf_counter() - t0
        # Agreement with PyTorch's outputs, for kiln and for ORT.
        kout = os.path.join(a.out, 'kiln_out', name)
        oout = os.path.join(a.out, 'ort_out', name)
        run([a.kiln, 'run', so, '--output-dir', kout, '--print-limit', '0'] + modelio.input_args(ins))
        run(ort_cmd(onnx_path, ins, 1, 1, oout), cwd=HERE)
        err_kiln = max(rel_l2(np.load(os.path.join(kout, safe_name(n) + '.npy')), np.load(fn)) for n, fn in outs)
        err_ort = max(rel_l2(np.load(os.path.join(oout, safe_name(n) + '.npy')), np.load(fn)) for n, fn in outs)
        ok = bool(err_kiln <= 1e-4 and err_ort <= 1e-4)
        tm = None if a.no_torch else TorchModel(name)
        for t in threads:
            samples = {'kiln': [], 'ort': [], 'torch': []}
            engines = ['kiln', 'ort'] + ([] if tm is None else ['torch'])
            for r in range(a.rounds):
                order = engines[r % len(engines):] + engines[:r % len(engines)]
                for e in order:
                    if e == 'kiln':
                        samples[e].append(kiln_time(a.kiln, so, ins, t, a.repeat))
                    elif e == 'ort':
                        samples[e].append(ort_time(onnx_path, ins, t, a.repeat))
                    else:
                        samples[e].append(tm.time(t, a.repeat))
            row = {'model': name, 'threads': t, 'compile_s': compile_s, 'rel_l2_kiln': err_kiln,
                   'rel_l2_ort': err_ort, 'agree': ok}
            for e in engines:
                row[e + '_ms'] = statistics.median(samples[e])
                row[e + '_samples_ms'] = samples[e]
            row['kiln_over_ort'] = row['kiln_ms'] / row['ort_ms']
            results.append(row)
            print('%-18s %d thread%s  kiln %8.2f ms  ort %8.2f ms  %s  kiln/ort %.2f%s' % (
                name, t, '' if t == 1 else 's', row['kiln_ms'], row['ort_ms'],
                ('torch %8.2f ms' % row['torch_ms']) if 'torch_ms' in row else '',
                row['kiln_over_ort'], '' if ok else '  OUTPUTS DISAGREE'), flush=True)

    with open(os.path.join(a.out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    lines = ['| model | threads | kiln ms | ORT ms | PyTorch ms | kiln/ORT | compile s | rel L2 kiln / ORT vs PyTorch |',
             '|---|---|---|---|---|---|---|---|']
    for r in results:
        lines.append('| %s | %d | %.2f | %.2f | %s | %.2f | %.1f | %.1e / %.1e |' % (
            r['model'], r['threads'], r['kiln_ms'], r['ort_ms'],
            '%.2f' % r['torch_ms'] if 'torch_ms' in r else '-', r['kiln_over_ort'], r['compile_s'],
            r['rel_l2_kiln'], r['rel_l2_ort']))
    table = '\n'.join(lines)
    with open(os.path.join(a.out, 'results.md'), 'w') as f:
        f.write(table + '\n')
    print()
    print(table)
    print('\n(medians of %d rounds of %d runs each; reproduce with: benchmarks/run.sh --models %s --threads %s '
          '--repeat %d --rounds %d)' % (a.rounds, a.repeat, a.models, a.threads, a.repeat, a.rounds))
    return 0 if all(r['agree'] for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
