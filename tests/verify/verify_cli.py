#!/usr/bin/python3
"""`kiln verify` end to end (issue 16's verify line of acceptance).

usage: verify_cli.py KILN SOURCE_DIR WORKDIR MODE [ARG]

MODE:
  model NAME   kiln verify passes (exit 0, every output PASS) on the PyTorch
               model NAME of tests/models/export_models.py (exported into
               WORKDIR), on its exported input (and, for resnet18 and
               transformer, on random inputs)
  perturb NAME with a fault planted in a kernel in the middle of NAME
               (--debug-perturb, test-only) kiln verify exits 1, names that
               kernel and its ONNX nodes (checked against the ONNX graph and
               the optimised IR's loc), writes the reproducer; replaying it
               as its README says fails the same way, and passes without
               the fault
  errors       bad usage and bad input give clear errors, exit 1 or 2, no crash
  ort          --reference=ort agrees with ONNX Runtime on a small model;
               skipped (77) with the reason when ONNX Runtime is missing

Prints one line per check; exits 0 when all pass, 1 otherwise, 77 when
skipped (torch missing for the model modes).
"""
import os
import re
import shutil
import subprocess
import sys

KILN, SRC, WORK = (os.path.abspath(a) for a in sys.argv[1:4])
MODE = sys.argv[4]
ARG = sys.argv[5] if len(sys.argv) > 5 else None
sys.path.insert(0, os.path.join(SRC, 'tests', 'models'))

failures = []


def check(name, cond, detail=''):
    print('%s %s%s' % ('ok  ' if cond else 'FAIL', name, '' if cond or not detail else ': ' + detail))
    if not cond:
        failures.append(name)
    return cond


def kiln(args, cwd=None):
    p = subprocess.run([KILN] + args, cwd=cwd or WORK, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=900)
    sanitizer = 'Sanitizer' in p.stderr or 'runtime error:' in p.stderr
    return p.returncode, p.stdout, p.stderr, sanitizer


def exported(name):
    """The folder with NAME's model.onnx, input_N.npy and io.txt, exported
    once (again when export_models.py is newer)."""
    import export_models  # exits 77 when torch is missing
    d = os.path.join(WORK, name)
    io = os.path.join(d, 'io.txt')
    script = os.path.join(SRC, 'tests', 'models', 'export_models.py')
    if not os.path.exists(io) or os.path.getmtime(io) < os.path.getmtime(script):
        export_models.export(name, WORK)
    return d


def input_args(d):
    from modelio import input_args as ia, read_io
    ins, _ = read_io(d)
    return ia(ins)


def mode_model(name):
    d = exported(name)
    model = os.path.join(d, 'model.onnx')
    runs = [('exported input', input_args(d))]
    # Random inputs too, on two models (one with image, one with token-id
    # input), to keep the suite's time modest.
    if name in ('resnet18', 'transformer'):
        runs.append(('random input, seed 1', ['--seed', '1']))
    for label, extra in runs:
        rc, out, err, san = kiln(['verify', model] + extra)
        npass = len(re.findall(r'^PASS ', out, re.M))
        check('%s, %s: exit 0, every output PASS' % (name, label), rc == 0 and npass > 0 and 'FAIL' not in out and not san,
              'exit %d\n%s%s' % (rc, out, err))


def entry_instructions(ir):
    """(name, op, loc name) of every entry instruction of IR text."""
    body = ir[ir.index('ENTRY'):]
    res = []
    for m in re.finditer(r'^  (?:ROOT )?%(\S+) = (?:\([^)]*\)|\S+) (\w+)\((.*)$', body, re.M):
        loc = re.search(r'loc=(?:[\w.]+:)?"([^"]*)"', m.group(3))
        res.append((m.group(1), m.group(2), loc.group(1) if loc else None))
    return res


def onnx_nodes(model):
    import onnx
    g = onnx.load(model, load_external_data=False).graph
    return {n.name: n.op_type for n in g.node}


def mode_perturb(name):
    d = exported(name)
    model = os.path.join(d, 'model.onnx')
    rc, ir, err, _ = kiln(['opt', model, '--passes=default', '--elide-constants'])
    if not check('%s: kiln opt --passes=default' % name, rc == 0, err):
        return
    # A kernel in the middle: the middle fusion of the entry computation.
    fusions = [(n, loc) for n, op, loc in entry_instructions(ir) if op == 'fusion']
    if not check('%s has fusions' % name, len(fusions) >= 3):
        return
    kernel, loc = fusions[len(fusions) // 2]
    print('planting a fault in %%%s (loc %s, fusion %d of %d)' % (kernel, loc, len(fusions) // 2 + 1, len(fusions)))
    repro = os.path.join(WORK, 'repro-' + name)
    shutil.rmtree(repro, ignore_errors=True)
    args = ['verify', model, '--debug-perturb=' + kernel, '--repro-dir', repro] + input_args(d)
    rc, out, err, san = kiln(args)
    check('perturbed %s: exit 1' % name, rc == 1 and not san, 'exit %d\n%s%s' % (rc, out, err))
    check('perturbed %s: an output FAILs' % name, re.search(r'^FAIL ', out, re.M) is not None, out)
    m = re.search(r'^first kernel that differs: %(\S+) ', out, re.M)
    check('perturbed %s: names the kernel %%%s' % (name, kernel), m is not None and m.group(1) == kernel, out)
    # Its ONNX nodes: real nodes of the model, including the one the IR's loc names.
    m = re.search(r'^  ONNX nodes: (.*)$', out, re.M)
    nodes = m.group(1).split(',') if m else []
    graph = onnx_nodes(model)
    check('perturbed %s: ONNX nodes are named' % name, len(nodes) > 0 and all(n in graph for n in nodes),
          'reported %s' % nodes)
    check('perturbed %s: the nodes include the loc %s' % (name, loc), loc in nodes, 'reported %s' % nodes)
    m = re.search(r'^  ONNX ops: (.*)$', out, re.M)
    ops = m.group(1).split(',') if m else []
    check('perturbed %s: ONNX ops match the nodes' % name,
          len(ops) == len(nodes) and all(graph.get(n) == o for n, o in zip(nodes, ops)), 'ops %s' % ops)
    check('perturbed %s: fused instructions listed' % name, re.search(r'^  fused instructions: %', out, re.M) is not None,
          out)
    # The reproducer.
    files = sorted(os.listdir(repro)) if os.path.isdir(repro) else []
    check('reproducer has kernel.kir, README.txt, expected_%s.npy' % kernel,
          {'kernel.kir', 'README.txt', 'expected_%s.npy' % kernel} <= set(files), 'files %s' % files)
    inputs = [f for f in files if f.endswith('.npy') and not f.startswith('expected_')]
    check('reproducer has the kernel\'s inputs as .npy', len(inputs) > 0, 'files %s' % files)
    readme = open(os.path.join(repro, 'README.txt')).read() if 'README.txt' in files else ''
    m = re.search(r'^  kiln verify (.*)$', readme, re.M)
    if not check('README.txt gives the kiln verify replay command', m is not None, readme):
        return
    replay = m.group(1).split()
    check('the replay command repeats the fault', '--debug-perturb=' + kernel in replay, m.group(0))
    rc, out2, err2, san = kiln(['verify'] + replay + ['--repro-dir', repro + '-2'])
    m2 = re.search(r'^first kernel that differs: %(\S+) ', out2, re.M)
    check('replay with the fault: exit 1, same kernel', rc == 1 and not san and m2 is not None and m2.group(1) == kernel,
          'exit %d\n%s%s' % (rc, out2, err2))
    # Same error figures: the first element off by one, as in the model.
    e1 = re.search(r'^  output \S+:\n    max abs err (\S+),', out, re.M)
    e2 = re.search(r'^  output \S+:\n    max abs err (\S+),', out2, re.M)
    check('replay with the fault: the same max abs error', e1 is not None and e2 is not None and
          abs(float(e1.group(1).rstrip(',')) - float(e2.group(1).rstrip(','))) < 1e-3,
          '%s vs %s' % (e1 and e1.group(1), e2 and e2.group(1)))
    clean = [a for a in replay if not a.startswith('--debug-perturb')]
    rc, out3, err3, san = kiln(['verify'] + clean)
    check('replay without the fault: exit 0, PASS', rc == 0 and not san and re.search(r'^PASS ', out3, re.M) is not None,
          'exit %d\n%s%s' % (rc, out3, err3))
    # kiln eval on the reproducer gives the expected output.
    m = re.search(r'^  kiln eval (.*)$', readme, re.M)
    if m:
        import numpy as np
        outdir = os.path.join(repro, 'eval-out')
        rc, out4, err4, _ = kiln(['eval'] + m.group(1).split() + ['--print-limit', '0'])
        got = os.path.join(outdir, kernel + '.npy')
        same = rc == 0 and os.path.exists(got) and np.array_equal(np.load(got), np.load(
            os.path.join(repro, 'expected_%s.npy' % kernel)))
        check('kiln eval of the reproducer gives expected_%s.npy' % kernel, same, 'exit %d %s' % (rc, err4))


def mode_errors():
    mlp = os.path.join(SRC, 'examples', 'jit', 'mlp.onnx')
    x = os.path.join(SRC, 'examples', 'jit', 'x.npy')  # f32[2,64]
    bad_shape = os.path.join(WORK, 'x_bad_shape.npy')
    with open(bad_shape, 'wb') as f:  # f32[3,64] written by hand
        hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 64), }"
        hdr += ' ' * (64 - 10 - len(hdr) - 1) + '\n'
        f.write(b'\x93NUMPY\x01\x00' + bytes([len(hdr), 0]) + hdr.encode() + b'\0' * (3 * 64 * 4))
    cases = [
        ('missing model file', ['verify', os.path.join(WORK, 'no-such-model.onnx')], 1, 'no-such-model.onnx'),
        ('missing input file', ['verify', mlp, '--input', 'x=' + os.path.join(WORK, 'none.npy')], 1, 'none.npy'),
        ('wrong input shape', ['verify', mlp, '--input', 'x=' + bad_shape], 1, 'f32[2,64]'),
        ('unknown input name', ['verify', mlp, '--input', 'y=' + x], 2, "no input named 'y'"),
        ('unknown --reference', ['verify', mlp, '--reference=tf'], 2, '--reference takes interp or ort'),
        ('bad --rtol', ['verify', mlp, '--rtol=abc'], 2, '--rtol takes a non-negative number'),
        ('--seed with --input', ['verify', mlp, '--seed', '3', '--input', 'x=' + x], 2, '--seed'),
        ('no model', ['verify'], 2, 'model'),
        ('unknown kernel for --debug-perturb', ['verify', mlp, '--debug-perturb=no.such.kernel'], 1, 'no.such.kernel'),
        ('ort on IR text', ['verify', os.path.join(SRC, 'examples', 'mlp.kir'), '--reference=ort'], 2, 'needs an ONNX model'),
    ]
    for label, args, want_rc, want_msg in cases:
        rc, out, err, san = kiln(args)
        check('%s: exit %d, says %r' % (label, want_rc, want_msg), rc == want_rc and want_msg in err and not san,
              'exit %d\nstdout: %s\nstderr: %s' % (rc, out, err))
    # A good run on a given input, and a tolerance of 0 on random inputs still
    # reports the figures it used.
    rc, out, err, san = kiln(['verify', mlp, '--input', 'x=' + x])
    check('mlp with --input: exit 0', rc == 0 and 'PASS probs' in out and not san, out + err)
    rc, out, err, san = kiln(['verify', mlp, '--rtol=0.5', '--atol=0.25'])
    check('--rtol/--atol are the tolerance printed', rc == 0 and '<= 0.25 + 0.5 * |ref|' in out, out + err)


def mode_ort():
    have_node = shutil.which('node') and os.path.isdir(os.path.join(SRC, 'benchmarks', 'node_modules', 'onnxruntime-node'))
    have_py = subprocess.run(['/usr/bin/python3', '-c', 'import onnxruntime'], stderr=subprocess.DEVNULL).returncode == 0
    if not have_node and not have_py:
        print('SKIP: ONNX Runtime is not installed (tools/install-deps.sh --bench installs onnxruntime-node for '
              'benchmarks/ort_run.js; or pip install onnxruntime)')
        sys.exit(77)
    mlp = os.path.join(SRC, 'examples', 'jit', 'mlp.onnx')
    rc, out, err, san = kiln(['verify', mlp, '--reference=ort'])
    check('mlp against ONNX Runtime: exit 0, PASS', rc == 0 and 'PASS probs' in out and 'ONNX Runtime' in out and not san,
          'exit %d\n%s%s' % (rc, out, err))
    rc, out, err, san = kiln(['verify', mlp, '--reference=ort', '--debug-perturb=add.13'])
    check('mlp with a fault against ONNX Runtime: exit 1', rc == 1 and 'FAIL probs' in out and not san,
          'exit %d\n%s%s' % (rc, out, err))


def main():
    os.makedirs(WORK, exist_ok=True)
    if MODE == 'model':
        mode_model(ARG)
    elif MODE == 'perturb':
        mode_perturb(ARG)
    elif MODE == 'errors':
        mode_errors()
    elif MODE == 'ort':
        mode_ort()
    else:
        print(__doc__)
        return 2
    print('%d check(s) failed' % len(failures) if failures else 'all checks passed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
