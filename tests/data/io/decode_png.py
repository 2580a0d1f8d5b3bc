#!/usr/bin/python3
"""An independent PNG decoder (zlib and struct only) for tests/test_image.cpp:
decode_png.py PNG EXPECTED_RAW. Checks the signature, that chunks are IHDR, IDAT..., IEND with
valid CRC-32s, an 8-bit non-interlaced grey or RGB header, undoes the five scanline filters
(PNG spec section 9), and compares the pixels with EXPECTED_RAW (row-major, channels
interleaved). Prints "OK width height channels" and exits 0, or prints why and exits 1."""
import struct
import sys
import zlib


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def decode(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("bad signature")
    pos, chunks = 8, []
    while pos < len(data):
        length, = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError("bad CRC in chunk %r" % kind)
        chunks.append((kind, body))
        pos += 12 + length
    kinds = [k for k, _ in chunks]
    if kinds[0] != b"IHDR" or kinds[-1] != b"IEND" or set(kinds[1:-1]) != {b"IDAT"}:
        raise ValueError("chunk order %r" % kinds)
    width, height, depth, color, comp, filt, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or color not in (0, 2) or comp or filt or interlace:
        raise ValueError("unsupported IHDR %r" % (chunks[0][1],))
    channels = 1 if color == 0 else 3
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise ValueError("%d inflated bytes, expected %d" % (len(raw), height * (stride + 1)))
    out, prev = bytearray(), bytearray(stride)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride if ftype else 0):  # filter 0 (None) leaves the bytes as they are
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
            line[i] = (line[i] + pred) & 0xFF
        out += line
        prev = line
    return width, height, channels, bytes(out)


def main(png, expected):
    try:
        width, height, channels, pixels = decode(open(png, "rb").read())
    except (ValueError, IndexError, struct.error, zlib.error) as e:
        print("invalid PNG:", e)
        return 1
    want = open(expected, "rb").read()
    if pixels != want:
        diff = next(i for i in range(min(len(pixels), len(want))) if pixels[i] != want[i]) \
            if len(pixels) == len(want) else None
        print("pixels differ (%d vs %d bytes, first difference at %r)" % (len(pixels), len(want), diff))
        return 1
    print("OK", width, height, channels)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
