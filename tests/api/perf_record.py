#!/usr/bin/python3
"""`perf record` of a JIT run names kiln's kernels (issue 16).

usage: perf_record.py KILN WORKDIR

Records `KILN run --perf-map examples/jit/mlp.onnx --repeat N` with perf,
then requires `perf report` to attribute samples to at least one kernel
(a `kiln.kernel.*` symbol) of the map file that run wrote, and to more
than a trace of the samples to JIT'd code. Without the map perf would only
see anonymous memory. Exits 77, saying why, where perf is not installed
or may not record here (perf_event_paranoid, a container's seccomp
policy): `perf record -o F -- true` is tried first.
"""
import glob
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, '..', '..', 'examples', 'jit')


def main(kiln, work):
    perf = shutil.which('perf')
    if not perf:
        print('SKIP: perf is not installed (Debian: linux-perf)')
        return 77
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, 'perf.data')
    p = subprocess.run([perf, 'record', '-q', '-o', data, '--', 'true'], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    if p.returncode != 0:
        try:
            with open('/proc/sys/kernel/perf_event_paranoid') as f:
                paranoid = f.read().strip()
        except OSError:
            paranoid = 'unknown'
        print('SKIP: perf cannot record here (perf_event_paranoid %s): %s' % (paranoid, p.stdout.strip()[-300:]))
        return 77

    model, x = os.path.join(EXAMPLE, 'mlp.onnx'), os.path.join(EXAMPLE, 'x.npy')
    # One thread: the samples of the pool's workers would name the same
    # kernels, but one thread keeps the run short and the profile simple.
    # 100,000 runs of ~2 us: well over perf's default 4 kHz sampling.
    cmd = [perf, 'record', '-q', '-o', data, '--', kiln, 'run', '--perf-map', '--threads', '1', model,
           '--input', 'x=' + x, '--repeat', '100000', '--print-limit', '1']
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if p.returncode != 0:
        print('FAIL: %s exited %d:\n%s' % (' '.join(cmd), p.returncode, p.stdout))
        return 1
    report = subprocess.run([perf, 'report', '--stdio', '-i', data, '--sort', 'pid,sym'], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    # perf reads the map of the recorded process at report time: its pid
    # is in the report ("pid:comm" column); our map is that pid's.
    pids = set(re.findall(r'^\s*[\d.]+%\s+(\d+):kiln\b', report.stdout, re.M))
    maps = [m for pid in pids for m in glob.glob('/tmp/perf-%s.map' % pid)]
    try:
        names = set()
        for m in maps:
            with open(m) as f:
                names |= {line.split()[2] for line in f if len(line.split()) == 3}
        kernels = sorted(n for n in names if n.startswith('kiln.kernel.'))
        if not kernels:
            print('FAIL: no map with kernel names for the recorded process (pids %s, maps %s)' % (sorted(pids), maps))
            print(report.stdout[-3000:])
            return 1
        share = 0.0
        seen = []
        for line in report.stdout.splitlines():
            f = line.split()
            if len(f) >= 3 and f[0].endswith('%') and f[-1] in names:
                share += float(f[0][:-1])
                seen.append('%s %s' % (f[0], f[-1]))
        print('map kernels: %s' % ', '.join(kernels))
        print('perf report, JIT symbols:\n  ' + '\n  '.join(seen))
        if not any(s.split()[1].startswith('kiln.kernel.') for s in seen):
            print('FAIL: perf report names no kernel of the map')
            print(report.stdout[-3000:])
            return 1
        # Most of the time of 100,000 runs is in the JIT'd code; 5 % is a
        # floor well below that which samples in unnamed memory would miss.
        if share < 5.0:
            print('FAIL: only %.1f %% of the samples are in named JIT code' % share)
            return 1
        print('ok: %.1f %% of the samples in JIT code named from the map' % share)
        return 0
    finally:
        for m in maps:
            os.unlink(m)
        os.unlink(data)


if __name__ == '__main__':
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
