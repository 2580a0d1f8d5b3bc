"""Pictures without matplotlib or PIL: torchvision's make_grid layout, an 8-bit PNG writer and
reader (ISO/IEC 15948: signature, IHDR, IDAT, IEND) and the 2-D scatter picture the tapegrad
programs draw for ring8, so both sides write byte-comparable files."""
import struct
import zlib

import numpy as np


def make_grid(images, nrow=8, padding=2, value_range=None):
    """images [B, H, W] or [B, 1, H, W] -> one grey image [H', W'] in [0, 1], as
    torchvision.utils.make_grid(..., normalize=bool(value_range), value_range=value_range)
    with pad value 0. Without value_range the values are taken as already in [0, 1]."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4:
        images = images[:, 0]
    if value_range is not None:
        lo, hi = value_range
        images = (np.clip(images, lo, hi) - lo) / max(hi - lo, 1e-5)
    b, h, w = images.shape
    cols = min(nrow, b)
    rows = (b + cols - 1) // cols
    grid = np.zeros((rows * (h + padding) + padding, cols * (w + padding) + padding))
    for k in range(b):
        y = (k // cols) * (h + padding) + padding
        x = (k % cols) * (w + padding) + padding
        grid[y:y + h, x:x + w] = images[k]
    return grid


def to_bytes(image01):
    """torchvision.utils.save_image's rounding: floor(clamp(255 v + 0.5, 0, 255))."""
    return np.floor(np.clip(255.0 * np.asarray(image01) + 0.5, 0, 255)).astype(np.uint8)


def write_png(path, pixels):
    """pixels uint8 [H, W] (grey) or [H, W, 3] (RGB)."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w = pixels.shape[:2]
    color_type = 2 if pixels.ndim == 3 else 0
    rows = pixels.reshape(h, -1)
    raw = b"".join(b"\x00" + rows[i].tobytes() for i in range(h))  # filter type 0 per row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def read_png(path):
    """An 8-bit grey or RGB, non-interlaced PNG (what write_png and tapegrad's save_image write) as
    uint8 [H, W] or [H, W, 3]; the five row filters of ISO/IEC 15948 section 9 undone."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG file")
    pos, idat = 8, b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color_type not in (0, 2) or interlace:
                raise ValueError(f"{path}: only 8-bit grey or RGB non-interlaced PNGs are read")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = 3 if color_type == 2 else 1
    stride = w * channels
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, stride + 1)
    out = np.zeros((h, stride), dtype=np.int32)
    for y in range(h):
        kind, row = raw[y, 0], raw[y, 1:].astype(np.int32)
        up = out[y - 1] if y else np.zeros(stride, dtype=np.int32)
        if kind in (0, 2):
            out[y] = (row + (up if kind == 2 else 0)) & 0xFF
        else:  # sub, average, Paeth: each byte depends on the reconstructed byte to its left
            for x in range(stride):
                left = out[y, x - channels] if x >= channels else 0
                upleft = up[x - channels] if x >= channels else 0
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + up[x]) // 2
                else:
                    p = left + up[x] - upleft
                    pa, pb, pc = abs(p - left), abs(p - up[x]), abs(p - upleft)
                    pred = left if pa <= pb and pa <= pc else (up[x] if pb <= pc else upleft)
                out[y, x] = (row[x] + pred) & 0xFF
    pixels = out.astype(np.uint8)
    return pixels.reshape(h, w, 3) if channels == 3 else pixels


def save_grid(images, path, value_range=None, nrow=8):
    write_png(path, to_bytes(make_grid(images, nrow=nrow, value_range=value_range)))


def scatter_image(points, size=128, extent=3.0):
    """2-D points as white pixels on black, [size, size] in [0, 1], showing [-extent, extent]^2
    (y up, truncating as the C++ cast does): the picture examples/wgan_gp draws for ring8."""
    image = np.zeros((size, size))
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    col = np.trunc((pts[:, 0] + extent) / (2 * extent) * size).astype(np.int64)
    row = size - 1 - np.trunc((pts[:, 1] + extent) / (2 * extent) * size).astype(np.int64)
    keep = (col >= 0) & (col < size) & (row >= 0) & (row < size)
    image[row[keep], col[keep]] = 1.0
    return image
