#!/usr/bin/python3
"""Checks an .npz archive with numpy.load against raw dumps: check_npz.py ARCHIVE MANIFEST.

Each MANIFEST line is "name dtype shape raw_file" (shape comma-separated, "-" for a 0-d
array); raw_file holds the expected values, C order. Prints OK and exits 0 when numpy.load
gives the same names in the same order, dtypes, shapes and values; otherwise prints why and
exits 1."""
import sys

import numpy as np


def main(archive, manifest):
    expected = []
    with open(manifest) as f:
        for line in f:
            name, dtype, shape, raw = line.split()
            shape = () if shape == "-" else tuple(int(d) for d in shape.split(","))
            expected.append((name, np.fromfile(raw, dtype=dtype).reshape(shape)))
    with np.load(archive) as z:
        if list(z.files) != [name for name, _ in expected]:
            print("names differ:", z.files)
            return 1
        for name, want in expected:
            got = z[name]
            if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
                print("entry", name, "differs:", got.dtype, got.shape, "expected", want.dtype, want.shape)
                return 1
    print("OK", len(expected))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
