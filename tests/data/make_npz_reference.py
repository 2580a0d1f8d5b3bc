#!/usr/bin/python3
"""Writes the NumPy-made .npz files tests/test_npz.cpp loads (run from anywhere; rerun only if
the values below change, and update the test to match):

  io/numpy_savez.npz             np.savez (stored entries)
  io/numpy_savez_compressed.npz  np.savez_compressed (deflated entries)
  io/zip64_central.npz           stored entries whose sizes and offsets live only in zip64 extra
                                 fields, with a zip64 end record: the layout of archives > 4 GiB

numpy's own writers put zip64 extra fields in every local header (force_zip64=True), but in the
central directory only past 4 GiB; zip64_central.npz is built by hand (APPNOTE 4.3, 4.5.3) to
cover that case in a small file.
"""
import io
import os
import struct
import zipfile
import zlib

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "io")


def reference_arrays():
    return {
        "weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5,
        "bias": np.array([1.5, -2.25, 3.0], dtype=np.float64),
        "steps": np.arange(-3, 3, dtype=np.int64),
        "pixels": np.arange(0, 250, 50, dtype=np.uint8).reshape(5, 1),
        "mask": np.array([[True, False], [False, True]]),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
        "scalar": np.array(2.5),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "layer.0.weight": np.array([[1, 2], [3, 4]], dtype=np.float32),
    }


def npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def write_zip64_central(path, arrays):
    """Stored entries; every central-directory size and offset is 0xFFFFFFFF plus a zip64 extra."""
    out = bytearray()
    central = bytearray()
    for name, a in arrays.items():
        data = npy_bytes(a)
        fname = (name + ".npy").encode()
        crc = zlib.crc32(data)
        offset = len(out)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(fname), len(local_extra))
        out += fname + local_extra + data
        extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(fname), len(extra), 0, 0, 0, 0,
                               0xFFFFFFFF)
        central += fname + extra
    cd_offset = len(out)
    out += central
    zip64_end = len(out)
    n = len(arrays)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, zip64_end, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path, "wb") as f:
        f.write(out)


def main():
    os.makedirs(HERE, exist_ok=True)
    arrays = reference_arrays()
    np.savez(os.path.join(HERE, "numpy_savez.npz"), **arrays)
    np.savez_compressed(os.path.join(HERE, "numpy_savez_compressed.npz"), **arrays)
    small = {"a": np.arange(5, dtype=np.float32), "b": np.array([[7, -8]], dtype=np.int64)}
    zip64_path = os.path.join(HERE, "zip64_central.npz")
    write_zip64_central(zip64_path, small)
    # The hand-built archive must be one that Python's zipfile and numpy accept.
    assert zipfile.ZipFile(zip64_path).testzip() is None
    with np.load(zip64_path) as z:
        assert all(np.array_equal(z[k], v) for k, v in small.items())
    for name in ("numpy_savez.npz", "numpy_savez_compressed.npz"):
        with np.load(os.path.join(HERE, name)) as z:
            assert list(z.files) == list(arrays), z.files
            assert all(np.array_equal(z[k], v) for k, v in arrays.items())


if __name__ == "__main__":
    main()
