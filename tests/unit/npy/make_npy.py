#!/usr/bin/python3
"""Writes the .npy files that tests/unit/test_npy.c reads, with NumPy itself,
so that kiln's reader is checked against files it did not write. The files
are committed; run this again (with Debian's /usr/bin/python3, which has
numpy) only to regenerate them:

    /usr/bin/python3 tests/unit/npy/make_npy.py tests/unit/npy

good_*.npy must be read; the values are restated by hand in test_npy.c.
bad_*.npy are valid NumPy files that kiln refuses on purpose.
"""
import os
import sys

import numpy as np
from numpy.lib import format as npf


def write(path, arr, version=None):
    with open(path, "wb") as f:
        if version is None:
            np.save(f, arr, allow_pickle=True)
        else:
            npf.write_array(f, arr, version=version, allow_pickle=True)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    good = {
        # name: (array, format version or None for np.save's default 1.0)
        "good_v1_f32_2x3": (np.arange(6, dtype="<f4").reshape(2, 3) / 2, None),
        "good_v2_i16_3": (np.array([-1, 2, -32768], dtype="<i2"), (2, 0)),
        "good_v3_u8_2x2": (np.array([[1, 2], [254, 255]], dtype="u1"), (3, 0)),
        "good_bool_4": (np.array([True, False, False, True]), None),
        "good_f16_3": (np.array([1.0, -2.5, 65504.0], dtype="<f2"), None),
        "good_u64_2": (np.array([0, 2**64 - 1], dtype="<u8"), None),
        "good_i64_2": (np.array([-(2**63), 2**63 - 1], dtype="<i8"), None),
        "good_i8_2x1x2": (np.array([[[-128, 127]], [[0, -1]]], dtype="i1"), None),
        "good_u16_2": (np.array([0, 65535], dtype="<u2"), None),
        "good_i32_2": (np.array([-2147483648, 2147483647], dtype="<i4"), None),
        "good_u32_1": (np.array([4294967295], dtype="<u4"), None),
        "good_f64_scalar": (np.array(3.25, dtype="<f8"), None),
        "good_f32_empty_0x3": (np.zeros((0, 3), dtype="<f4"), None),
        "good_u8_rank8": (np.arange(2, dtype="u1").reshape(1, 1, 1, 1, 1, 1, 1, 2), None),
    }
    bad = {
        "bad_fortran": np.asfortranarray(np.arange(4, dtype="<f4").reshape(2, 2)),
        "bad_bigendian": np.array([1.0, 2.0], dtype=">f4"),
        "bad_structured": np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]),
        "bad_complex": np.array([1 + 2j], dtype="<c8"),
        "bad_object": np.array([1, "x"], dtype=object),
        "bad_rank9": np.zeros((1,) * 9, dtype="u1"),
        "bad_unicode": np.array(["ab"], dtype="<U2"),
    }
    for name, (arr, version) in good.items():
        write(os.path.join(out, name + ".npy"), arr, version)
    for name, arr in bad.items():
        write(os.path.join(out, name + ".npy"), arr)


if __name__ == "__main__":
    main()
