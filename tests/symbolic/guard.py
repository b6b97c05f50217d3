"""Guarded buffers for tests of generated code: arrays that end exactly
where an inaccessible page begins, so an artifact reading or writing past
an input's or output's actual extent dies of SIGSEGV (and the test fails)
instead of touching memory silently. Linux (mmap/mprotect through ctypes).
"""
import ctypes
import os

import numpy as np

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_PAGE = os.sysconf('SC_PAGE_SIZE')
_keep = []


def guarded(shape, dtype=np.float32, fill=None):
    """A new array of `shape` (filled with `fill` when given) whose last byte
    is followed by a PROT_NONE page; it lives as long as the process."""
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    pages = (nbytes + _PAGE - 1) // _PAGE + 1
    base = _libc.mmap(None, pages * _PAGE, 3, 0x22, -1, 0)  # PROT_READ|WRITE, MAP_PRIVATE|ANONYMOUS
    assert base not in (None, ctypes.c_void_p(-1).value)
    assert _libc.mprotect(base + (pages - 1) * _PAGE, _PAGE, 0) == 0
    start = base + (pages - 1) * _PAGE - nbytes
    buf = (ctypes.c_char * max(nbytes, 1)).from_address(start)
    a = np.frombuffer(buf, dtype=dtype, count=int(np.prod(shape))).reshape(shape)
    if fill is not None:
        a[...] = fill
    _keep.append(buf)
    return a
