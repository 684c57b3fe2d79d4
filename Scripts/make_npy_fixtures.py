#!/usr/bin/env python3
"""Writes the .npy files that Tests/NumPyIOTests/NumPyIOTests.swift reads, with NumPy itself.

Every array holds 0, 1, 2, ... in C (row-major) order, so the tests know the expected elements
without running this script: whatever order, byte order or format version the file uses, the
reader must return 0, 1, 2, ... in row-major order.

Run: $TORCH_PYTHON Scripts/make_npy_fixtures.py (NumPy is enough)
"""
import os

import numpy as np

from fixture_common import fixtures, write_provenance

OUT = fixtures("NumPyIOTests", "npy")
os.makedirs(OUT, exist_ok=True)


def save(name, array, version=None):
    with open(os.path.join(OUT, name + ".npy"), "wb") as f:
        if version is None:
            np.save(f, array)
        else:
            np.lib.format.write_array(f, array, version=version)


shape = (2, 3, 4)
for dtype in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
    c = np.arange(24).reshape(shape).astype("<" + dtype)
    save(f"c-{dtype}", c)
    save(f"fortran-{dtype}", np.asfortranarray(c))
    if dtype[1] != "1":
        save(f"big-{dtype}", c.astype(">" + dtype))
save("c-b1", (np.arange(24).reshape(shape) % 3 == 0))
save("v2-f4", np.arange(24, dtype="<f4").reshape(shape), version=(2, 0))
save("v3-f4", np.arange(24, dtype="<f4").reshape(shape), version=(3, 0))
save("zero-d-f8", np.array(0.0))
save("empty-f4", np.zeros((0, 3), dtype="<f4"))
save("fortran-big-f8", np.asfortranarray(np.arange(24).reshape(shape).astype(">f8")))
write_provenance(OUT, "make_npy_fixtures.py", {"numpy": np.__version__}, notes=[
    "Every array holds 0, 1, 2, ... in row-major order; the file name gives the layout",
    "(c, fortran, big-endian, format version) and the dtype."])
