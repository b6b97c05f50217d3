#!/usr/bin/python3
"""kiln against ONNX Runtime and PyTorch on the project's model set.

usage: bench.py [--kiln PATH] [--baseline-kiln PATH [--aa-control]] [--out DIR]
                [--models a,b,...] [--threads 1,2] [--repeat N] [--rounds R] [--no-torch]
                [--workspace-only]

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

Before/after (--baseline-kiln PATH): a second kiln binary (an older build)
compiles the same models and is timed in the same rounds, interleaved with
the others. The table then gives both kiln latencies, after/before (the
current kiln's median over the baseline's: above 1 is slower) with its
range over the rounds (each round's pair ran back to back), and the noise:
the larger of the two kilns' spreads, a spread being the largest round
median over the smallest. A row whose after/before is above the noise is
marked "slower", one below 1/noise "faster". --aa-control also times the
baseline's artifact a second time as an engine of its own in the same
rounds: its ratio to the first (A/A) is the noise of identical code under
the same conditions, and counts in the noise. (Running the whole benchmark
with the same binary on both sides measures the same thing.) A second table
gives each artifact's workspace (KILN_<NAME>_WORKSPACE_SIZE in the header
kiln compile writes) for both binaries.

--workspace-only: compile with both binaries (or only --kiln without
--baseline-kiln) and print the workspace table; nothing is run or timed.

Writes DIR/results.json and DIR/results.md (DIR/workspace.json and
DIR/workspace.md with --workspace-only) and prints the tables; a timing run
also draws the kiln/peer latency ratios as a bar chart, DIR/ratios.svg and
DIR/ratios.png (skipped, saying why, without matplotlib). Exit status:
1 when outputs disagree with PyTorch's or a workspace grew, else 0; a
"slower" row does not change it (judge it against the noise).
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


def workspace_size(so):
    """The workspace size in bytes of artifact `so`, from the header kiln
    compile wrote beside it (KILN_<NAME>_WORKSPACE_SIZE)."""
    h = so[:-3] + '.h'
    with open(h) as f:
        m = re.search(r'^#define KILN_\w+_WORKSPACE_SIZE (\d+)', f.read(), re.M)
    if not m:
        raise RuntimeError('%s: no KILN_<NAME>_WORKSPACE_SIZE' % h)
    return int(m.group(1))


def compile_model(kiln, onnx_path, so, cname):
    """Compiles with `kiln`: (seconds taken, workspace bytes)."""
    t0 = time.perf_counter()
    run([kiln, 'compile', onnx_path, '-o', so, '--name', cname])
    return time.perf_counter() - t0, workspace_size(so)


def kiln_error(kiln, so, ins, outs, outdir):
    """The largest relative L2 error of kiln's outputs against PyTorch's."""
    import numpy as np
    run([kiln, 'run', so, '--output-dir', outdir, '--print-limit', '0'] + modelio.input_args(ins))
    return max(rel_l2(np.load(os.path.join(outdir, safe_name(n) + '.npy')), np.load(fn)) for n, fn in outs)


def spread(samples):
    """Largest over smallest of the round medians (1.0: no spread seen)."""
    return max(samples) / min(samples)


def fmt_bytes(n):
    return '{:,}'.format(n)


def workspace_table(rows, baseline):
    """Markdown: the workspace of each model's artifact, before and after
    when there is a baseline."""
    if not baseline:
        lines = ['| model | workspace bytes |', '|---|---|']
        lines += ['| %s | %s |' % (r['model'], fmt_bytes(r['ws_after'])) for r in rows]
        return '\n'.join(lines)
    lines = ['| model | workspace before (bytes) | after (bytes) | change |', '|---|---|---|---|']
    for r in rows:
        b, f = r['ws_before'], r['ws_after']
        change = '0'
        if f != b:
            change = '{:+,}'.format(f - b) + (' (%+.1f %%)' % (100.0 * (f - b) / b) if b else '')
        if f > b:
            change += ' GREW'
        lines.append('| %s | %s | %s | %s |' % (r['model'], fmt_bytes(b), fmt_bytes(f), change))
    return '\n'.join(lines)


def export_models(mdir, models):
    print('exporting %s ...' % ', '.join(models), flush=True)
    run(['/usr/bin/python3', os.path.join(MODELS_DIR, 'export_models.py'), mdir] + models)


def workspace_only(a, models):
    """--workspace-only: compile each model with both binaries, no runs."""
    mdir = os.path.join(a.out, 'models')
    export_models(mdir, models)
    rows = []
    for name in models:
        onnx_path = os.path.join(mdir, name, 'model.onnx')
        row = {'model': name}
        _, row['ws_after'] = compile_model(a.kiln, onnx_path, os.path.join(a.out, name + '.so'), safe_name(name))
        if a.baseline_kiln:
            _, row['ws_before'] = compile_model(a.baseline_kiln, onnx_path, os.path.join(a.out, name + '.base.so'),
                                                safe_name(name))
        rows.append(row)
        print('%-18s workspace %s%s' % (name, fmt_bytes(row['ws_after']),
                                        ' (before %s)' % fmt_bytes(row['ws_before']) if a.baseline_kiln else ''),
              flush=True)
    with open(os.path.join(a.out, 'workspace.json'), 'w') as f:
        json.dump(rows, f, indent=1)
    table = workspace_table(rows, bool(a.baseline_kiln))
    with open(os.path.join(a.out, 'workspace.md'), 'w') as f:
        f.write(table + '\n')
    print()
    print(table)
    grew = [r['model'] for r in rows if a.baseline_kiln and r['ws_after'] > r['ws_before']]
    if a.baseline_kiln:
        print('\nworkspace grew: %s' % (', '.join(grew) or 'none'))
    return 1 if grew else 0


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


def timing_table(results, baseline):
    """Markdown: the timing table; with a baseline, before and after."""
    if not baseline:
        lines = ['| model | threads | kiln ms | ORT ms | PyTorch ms | kiln/ORT | compile s | '
                 'rel L2 kiln / ORT vs PyTorch |',
                 '|---|---|---|---|---|---|---|---|']
        for r in results:
            lines.append('| %s | %d | %.2f | %.2f | %s | %.2f | %.1f | %.1e / %.1e |' % (
                r['model'], r['threads'], r['kiln_ms'], r['ort_ms'],
                '%.2f' % r['torch_ms'] if 'torch_ms' in r else '-', r['kiln_over_ort'], r['compile_s'],
                r['rel_l2_kiln'], r['rel_l2_ort']))
        return '\n'.join(lines)
    lines = ['| model | threads | kiln before ms | kiln after ms | after/before | per round | A/A | noise | verdict | '
             'ORT ms | kiln/ORT before | kiln/ORT after | PyTorch ms | compile s before / after | '
             'rel L2 after / before / ORT vs PyTorch |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in results:
        lines.append('| %s | %d | %.2f | %.2f | %.3f | %.3f-%.3f | %s | %.3f | %s | %.2f | %.2f | %.2f | %s | '
                     '%.1f / %.1f | %.1e / %.1e / %.1e |' % (
                         r['model'], r['threads'], r['base_ms'], r['kiln_ms'], r['after_over_before'],
                         min(r['round_ratios']), max(r['round_ratios']),
                         '%.3f' % r['aa_ratio'] if 'aa_ratio' in r else '-', r['noise'], r['verdict'], r['ort_ms'],
                         r['base_over_ort'], r['kiln_over_ort'],
                         '%.2f' % r['torch_ms'] if 'torch_ms' in r else '-', r['compile_s_base'], r['compile_s'],
                         r['rel_l2_kiln'], r['rel_l2_base'], r['rel_l2_ort']))
    return '\n'.join(lines)


def plot_ratios(results, out_dir, formats=('svg', 'png')):
    """Draws the kiln/peer latency ratios of `results` (rows as main()
    builds them: model, threads, kiln_ms, ort_ms, kiln_over_ort, optionally
    torch_ms) as a bar chart, one group of bars per model, one bar per peer
    and thread count, and a line at 1 (below it kiln is faster). Writes
    out_dir/ratios.<format> for each format and returns the paths; without
    matplotlib it prints why and returns []."""
    try:
        import matplotlib
        matplotlib.use('Agg')  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        print('no plot: matplotlib is not installed (apt-get install python3-matplotlib)', flush=True)
        return []
    models = list(dict.fromkeys(r['model'] for r in results))
    threads = sorted({r['threads'] for r in results})
    peers = [('ORT', 'ort_ms')] + ([('PyTorch', 'torch_ms')] if any('torch_ms' in r for r in results) else [])
    series = [(p, key, t) for p, key in peers for t in threads]
    by_key = {(r['model'], r['threads']): r for r in results}
    width = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(3.0 + max(4.0, 0.35 * len(models) * len(series)), 4.5))
    for i, (peer, key, t) in enumerate(series):
        xs, ys = [], []
        for j, m in enumerate(models):
            r = by_key.get((m, t))
            if r and r.get(key):
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(r['kiln_ms'] / r[key])
        ax.bar(xs, ys, width, label='kiln/%s, %d thread%s' % (peer, t, '' if t == 1 else 's'),
               hatch='//' if peer != 'ORT' else None)
    ax.axhline(1.0, color='black', linewidth=0.8)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(models, rotation=20, ha='right')
    ax.set_ylabel('kiln latency / peer latency (below 1: kiln faster)')
    ax.set_title('kiln against its peers (median latency ratio)')
    ax.legend(fontsize='small', loc='upper left', bbox_to_anchor=(1.01, 1.0))  # beside the bars, never on them
    fig.tight_layout()
    paths = []
    for fmt in formats:
        path = os.path.join(out_dir, 'ratios.' + fmt)
        fig.savefig(path, format=fmt)
        paths.append(path)
    plt.close(fig)
    return paths


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--kiln', default=os.path.join(ROOT, 'build', 'tools', 'kiln'))
    ap.add_argument('--baseline-kiln', metavar='PATH',
                    help='an older kiln binary to compare against (before/after tables)')
    ap.add_argument('--aa-control', action='store_true',
                    help='with --baseline-kiln: also time the baseline a second time (A/A noise)')
    ap.add_argument('--out', default=os.path.join(HERE, 'out'))
    ap.add_argument('--models', default=','.join(DEFAULT_MODELS))
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--repeat', type=int, default=20)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--no-torch', action='store_true', help='do not time PyTorch')
    ap.add_argument('--workspace-only', action='store_true',
                    help='only compile and print the workspace table (no runs, no timing)')
    a = ap.parse_args()
    if a.aa_control and not a.baseline_kiln:
        ap.error('--aa-control needs --baseline-kiln')
    models = a.models.split(',')
    os.makedirs(a.out, exist_ok=True)
    if a.workspace_only:
        return workspace_only(a, models)
    import numpy as np

    if not os.path.exists(os.path.join(HERE, 'node_modules', 'onnxruntime-node')):
        sys.exit('onnxruntime-node is not installed: run "cd benchmarks && npm install" (or tools/install-deps.sh --bench)')
    threads = [int(t) for t in a.threads.split(',')]
    base = a.baseline_kiln
    if base and a.rounds < 3 and not a.aa_control:
        print('note: with %d round(s) and no --aa-control the noise estimate means little' % a.rounds, flush=True)
    mdir = os.path.join(a.out, 'models')
    export_models(mdir, models)

    results, ws_rows = [], []
    for name in models:
        d = os.path.join(mdir, name)
        onnx_path = os.path.join(d, 'model.onnx')
        ins, outs = modelio.read_io(d)
        so = os.path.join(a.out, name + '.so')
        so_base = os.path.join(a.out, name + '.base.so')
        compile_s, ws_after = compile_model(a.kiln, onnx_path, so, safe_name(name))
        ws = {'model': name, 'ws_after': ws_after}
        if base:
            compile_s_base, ws['ws_before'] = compile_model(base, onnx_path, so_base, safe_name(name))
        ws_rows.append(ws)
        # Agreement with PyTorch's outputs, for each kiln and for ORT.
        err_kiln = kiln_error(a.kiln, so, ins, outs, os.path.join(a.out, 'kiln_out', name))
        err_base = kiln_error(base, so_base, ins, outs, os.path.join(a.out, 'base_out', name)) if base else 0.0
        oout = os.path.join(a.out, 'ort_out', name)
        run(ort_cmd(onnx_path, ins, 1, 1, oout), cwd=HERE)
        err_ort = max(rel_l2(np.load(os.path.join(oout, safe_name(n) + '.npy')), np.load(fn)) for n, fn in outs)
        ok = bool(err_kiln <= 1e-4 and err_base <= 1e-4 and err_ort <= 1e-4)
        tm = None if a.no_torch else TorchModel(name)
        for t in threads:
            timers = {'kiln': lambda: kiln_time(a.kiln, so, ins, t, a.repeat)}
            if base:
                timers['base'] = lambda: kiln_time(base, so_base, ins, t, a.repeat)
            if a.aa_control:
                timers['base_again'] = timers['base']
            timers['ort'] = lambda: ort_time(onnx_path, ins, t, a.repeat)
            if tm is not None:
                timers['torch'] = lambda: tm.time(t, a.repeat)
            engines = list(timers)
            samples = {e: [] for e in engines}
            for r in range(a.rounds):
                order = engines[r % len(engines):] + engines[:r % len(engines)]
                for e in order:
                    samples[e].append(timers[e]())
            row = {'model': name, 'threads': t, 'compile_s': compile_s, 'rel_l2_kiln': err_kiln,
                   'rel_l2_ort': err_ort, 'agree': ok, 'workspace_bytes': ws_after}
            for e in engines:
                row[e + '_ms'] = statistics.median(samples[e])
                row[e + '_samples_ms'] = samples[e]
                row[e + '_spread'] = spread(samples[e])
            row['kiln_over_ort'] = row['kiln_ms'] / row['ort_ms']
            if base:
                row.update(compile_s_base=compile_s_base, rel_l2_base=err_base, workspace_bytes_base=ws['ws_before'])
                row['after_over_before'] = row['kiln_ms'] / row['base_ms']
                row['round_ratios'] = [k / b for k, b in zip(samples['kiln'], samples['base'])]
                row['noise'] = max(row['kiln_spread'], row['base_spread'])
                if a.aa_control:
                    aa = row['base_again_ms'] / row['base_ms']
                    row['aa_ratio'] = aa
                    row['noise'] = max(row['noise'], aa, 1 / aa)
                row['base_over_ort'] = row['base_ms'] / row['ort_ms']
                ratio = row['after_over_before']
                row['verdict'] = ('slower' if ratio > row['noise'] else
                                  'faster' if ratio < 1 / row['noise'] else 'within noise')
            results.append(row)
            torch_s = ('torch %8.2f ms  ' % row['torch_ms']) if 'torch_ms' in row else ''
            if base:
                print('%-18s %d thread%s  before %8.2f ms  after %8.2f ms  after/before %.3f (noise %.3f, %s)  '
                      'ort %8.2f ms  %skiln/ort %.2f%s' % (
                          name, t, '' if t == 1 else 's', row['base_ms'], row['kiln_ms'], row['after_over_before'],
                          row['noise'], row['verdict'], row['ort_ms'], torch_s, row['kiln_over_ort'],
                          '' if ok else '  OUTPUTS DISAGREE'), flush=True)
            else:
                print('%-18s %d thread%s  kiln %8.2f ms  ort %8.2f ms  %skiln/ort %.2f%s' % (
                    name, t, '' if t == 1 else 's', row['kiln_ms'], row['ort_ms'], torch_s,
                    row['kiln_over_ort'], '' if ok else '  OUTPUTS DISAGREE'), flush=True)

    with open(os.path.join(a.out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    text = timing_table(results, bool(base))
    # When run.sh built the baseline from a commit (BASELINE_REV), name the
    # commit rather than the path of that build.
    rev = os.environ.get('BENCH_BASELINE_REV') if base and base == os.environ.get('BENCH_BASELINE_KILN') else None
    reproduce = ('%sbenchmarks/run.sh --models %s --threads %s --repeat %d --rounds %d%s%s%s' % (
        'BASELINE_REV=%s ' % rev if rev else '', a.models, a.threads, a.repeat, a.rounds,
        ' --no-torch' if a.no_torch else '', ' --baseline-kiln ' + base if base and not rev else '',
        ' --aa-control' if a.aa_control else ''))
    note = '(medians of %d rounds of %d runs each; reproduce with: %s)' % (a.rounds, a.repeat, reproduce)
    grew = []
    if base:
        text += ('\n\nafter/before: the current kiln\'s median over the baseline\'s (above 1: slower); per round: '
                 'its range over the rounds; A/A (with --aa-control): the baseline timed twice, second over first; '
                 'noise: the larger of the two kilns\' spreads (largest round median over the smallest) and of the '
                 'A/A deviation; "slower" when after/before exceeds the noise.\n\n')
        text += workspace_table(ws_rows, True)
        grew = [r['model'] for r in ws_rows if r['ws_after'] > r['ws_before']]
    with open(os.path.join(a.out, 'results.md'), 'w') as f:
        f.write(text + '\n\n' + note + '\n')
    print()
    print(text)
    print('\n' + note)
    for path in plot_ratios(results, a.out):
        print('wrote %s' % path)
    if base:
        slower = ['%s/%d' % (r['model'], r['threads']) for r in results if r['verdict'] == 'slower']
        print('slower than the noise: %s' % (', '.join(slower) or 'none'))
        print('workspace grew: %s' % (', '.join(grew) or 'none'))
    return 0 if all(r['agree'] for r in results) and not grew else 1


if __name__ == '__main__':
    sys.exit(main())
