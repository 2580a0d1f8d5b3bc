#!/usr/bin/env python3
"""Writes the seed files NumPy and Python's gzip make into fuzz/corpus (make_corpus.sh runs
this after tapegrad's own seeds): .npy in Fortran order and format versions 2.0 and 3.0,
np.savez / np.savez_compressed archives, IDX files of every element type, raw and gzip, and a
few broken files (truncated, bad CRC, unsupported dtype) whose errors the readers must report."""
import gzip
import io
import os
import struct
import sys

import numpy as np

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def write(sub, name, data):
    os.makedirs(os.path.join(root, sub), exist_ok=True)
    with open(os.path.join(root, sub, name), "wb") as f:
        f.write(data)


def npy(array, version=None):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, array, version=version, allow_pickle=False)
    return buf.getvalue()


def npz(compressed, **arrays):
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


a = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
write("npy", "numpy_fortran_2x3.npy", npy(np.asfortranarray(a)))
write("npy", "numpy_v2_float64.npy", npy(np.array([1.0, -2.0]), version=(2, 0)))
write("npy", "numpy_v3_int64.npy", npy(np.array([[7]], dtype=np.int64), version=(3, 0)))
write("npy", "numpy_big_endian.npy", npy(a.astype(">f4")))
write("npy", "numpy_complex.npy", npy(np.array([1 + 2j], dtype=np.complex64)))
write("npy", "numpy_truncated.npy", npy(a)[:-5])

archive = npz(False, w=a, b=np.array([True, False]), n=np.array(3, dtype=np.int64))
write("npz", "numpy_savez.npz", archive)
write("npz", "numpy_savez_compressed.npz", npz(True, w=a, v=np.zeros((0, 2))))
write("npz", "numpy_truncated.npz", archive[: len(archive) // 2])
# Flips the first data byte of the first entry: the CRC-32 no longer matches.
name_len, extra_len = struct.unpack("<HH", archive[26:30])
data_start = 30 + name_len + extra_len
flipped = bytes([archive[data_start] ^ 1])
write("npz", "numpy_bad_crc.npz", archive[:data_start] + flipped + archive[data_start + 1:])


def idx(values, code, fmt):
    header = struct.pack(">BBBB", 0, 0, code, values.ndim)
    header += struct.pack(">" + "I" * values.ndim, *values.shape)
    return header + values.astype(fmt).tobytes()


images = (np.arange(2 * 3 * 3) * 17 % 256).reshape(2, 3, 3)
labels = np.array([3, 1])
write("idx", "ubyte_images.idx3", idx(images, 0x08, ">u1"))
write("idx", "ubyte_labels.idx1", idx(labels, 0x08, ">u1"))
write("idx", "sbyte.idx", idx(np.array([-128, 0, 127]), 0x09, ">i1"))
write("idx", "int16.idx", idx(np.array([[-300, 2], [3, 32767]]), 0x0B, ">i2"))
write("idx", "int32.idx", idx(np.array([-70000, 1]), 0x0C, ">i4"))
write("idx", "float32.idx", idx(np.array([0.5, -1.25]), 0x0D, ">f4"))
write("idx", "float64.idx", idx(np.array([[1e300]]), 0x0E, ">f8"))
write("idx", "ubyte_images.idx3.gz", gzip.compress(idx(images, 0x08, ">u1"), mtime=0))
write("idx", "int16.idx.gz", gzip.compress(idx(np.array([[-300, 2], [3, 32767]]), 0x0B, ">i2"), mtime=0))
write("idx", "truncated.idx3", idx(images, 0x08, ">u1")[:-4])

# Regressions: inputs the fuzzers found (fuzz/README.md lists them), kept as seeds.
# An empty shape whose other dimensions overflow the strides: (0, 10^11, 10^11).
header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 99999999999, 99999999999), }"
header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
write("npy", "regression_zero_dim_overflow.npy",
      b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)
write("idx", "regression_zero_dim_overflow.idx",
      struct.pack(">BBBB5I", 0, 0, 0x08, 5, 2752528, 0, 3, 1048576, 5330333))


def read_entries(data):
    """fuzz_checkpoint's entry list: [name length: 1][name][.npy length: 2, LE][.npy]."""
    out, pos = [], 0
    while pos < len(data):
        n = data[pos]
        name = data[pos + 1:pos + 1 + n].decode()
        pos += 1 + n
        (m,) = struct.unpack("<H", data[pos:pos + 2])
        out.append((name, np.load(io.BytesIO(data[pos + 2:pos + 2 + m]))))
        pos += 2 + m
    return out


def entries(items):
    out = b""
    for name, array in items:
        data = npy(array)
        out += bytes([len(name)]) + name.encode() + struct.pack("<H", len(data)) + data
    return out


# Checkpoints one value away from the saved one (fuzz_make_seeds writes trained.entries first).
trained = read_entries(open(os.path.join(root, "checkpoint", "trained.entries"), "rb").read())
int64_max = np.iinfo(np.int64).max
for name, key, value in [("regression_opt_step_max", "opt.state.0.step", int64_max),
                         ("regression_last_epoch_max", "sched.last_epoch", int64_max),
                         ("regression_num_batches_tracked_max", "model.1.num_batches_tracked", int64_max)]:
    write("checkpoint", name + ".entries",
          entries([(k, np.array(value, dtype=a.dtype) if k == key else a) for k, a in trained]))
write("checkpoint", "regression_huge_state_index.entries",
      entries([(k.replace("opt.state.0.", "opt.state.99999999999999999999."), a) for k, a in trained]))
