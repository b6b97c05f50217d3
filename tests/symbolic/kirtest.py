"""Helpers shared by the tests of compiled symbolic modules (test_codegen.py,
test_dyngemm.py): checks that print and collect failures, compiling IR text
with `kiln compile`, and calling an artifact's run / run_shaped through
ctypes with output buffers at the bounds (NaN-filled) or exactly at the
actual size before an inaccessible page (guard.py).
"""
import ctypes
import os
import subprocess

import numpy as np

import guard

failures = []


def check(ok, what):
    print(('ok   ' if ok else 'FAIL ') + what)
    if not ok:
        failures.append(what)


def compile_kir(kiln, work, name, text, extra=(), flags=()):
    """Writes WORK/NAME.kir and compiles it to WORK/NAME.so with `flags`
    (files of an earlier run, and the paths in `extra`, removed first);
    returns the process and the .so path."""
    src = os.path.join(work, name + '.kir')
    so = os.path.join(work, name + '.so')
    with open(src, 'w') as f:
        f.write(text)
    for p in (so, so[:-3] + '.h') + tuple(extra):
        if os.path.exists(p):
            os.remove(p)
    r = subprocess.run([kiln, 'compile', src, '-o', so, '--name', name] + list(flags), capture_output=True, text=True)
    return r, so


def ptrs(arrays):
    return (ctypes.c_void_p * len(arrays))(*[a.ctypes.data if a is not None else None for a in arrays])


class Artifact:
    def __init__(self, so, name):
        self.lib = ctypes.CDLL(so)
        self.shaped = getattr(self.lib, 'kiln_%s_run_shaped' % name)
        self.shaped.restype = ctypes.c_int
        self.run_ = getattr(self.lib, 'kiln_%s_run' % name)
        self.run_.restype = ctypes.c_int

    def run_shaped(self, inputs, bound_shapes, in_dims=None):
        dims = in_dims if in_dims is not None else [np.array(a.shape, dtype=np.int64) for a in inputs]
        outs = [np.full(int(np.prod(s)), np.nan, dtype=np.float32) for s in bound_shapes]
        od = [np.full(len(s), -7, dtype=np.int64) for s in bound_shapes]
        st = self.shaped(ptrs(inputs), ptrs(dims), ptrs(outs), ptrs(od), None)
        return st, outs, od

    def run(self, inputs, bound_shapes):
        outs = [np.full(int(np.prod(s)), np.nan, dtype=np.float32) for s in bound_shapes]
        st = self.run_(ptrs(inputs), ptrs(outs), None)
        return st, outs


def run_guarded(art, inputs, out_shapes):
    """run_shaped with every input copied to, and every output placed in, a
    guarded buffer of exactly its actual size; returns status and outputs."""
    gin = [guard.guarded(a.shape, a.dtype, a) for a in inputs]
    gout = [guard.guarded(sh) for sh in out_shapes]
    dims = [np.array(a.shape, dtype=np.int64) for a in inputs]
    st = art.shaped(ptrs(gin), ptrs(dims), ptrs(gout), None, None)
    return st, gout
