"""Sample grids side by side for the README: the first --rows rows of each 8-wide grid PNG (as the
example programs and train.py write them: 8 images per row, 2 pixels of padding), joined left to
right (or top to bottom with --vertical) with a grey gap.

    /usr/bin/python3 examples/pytorch/compose.py side_by_side.png tapegrad/samples_epoch003.png \\
        pytorch/samples_epoch003.png --rows 4"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import png  # noqa: E402

PADDING, PER_ROW = 2, 8


def first_rows(grid, rows):
    if grid.ndim == 3:  # RGB of grey images: one channel is enough
        grid = grid[:, :, 0]
    side = (grid.shape[1] - PADDING) // PER_ROW - PADDING  # one image's side
    return grid[:rows * (side + PADDING) + PADDING]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("grids", nargs="+")
    p.add_argument("--rows", type=int, default=4, help="rows of images kept from each grid (default 4)")
    p.add_argument("--gap", type=int, default=8)
    p.add_argument("--vertical", action="store_true", help="stack the grids top to bottom")
    args = p.parse_args()
    parts = [first_rows(png.read_png(g), args.rows) for g in args.grids]
    if args.vertical:
        parts = [part.T for part in parts]
    height = max(part.shape[0] for part in parts)
    sheet = np.full((height, sum(part.shape[1] for part in parts) + args.gap * (len(parts) - 1)), 128, np.uint8)
    x = 0
    for part in parts:
        sheet[:part.shape[0], x:x + part.shape[1]] = part
        x += part.shape[1] + args.gap
    if args.vertical:
        sheet = np.ascontiguousarray(sheet.T)
    png.write_png(args.out, sheet)
    print(f"wrote {args.out} ({sheet.shape[1]} x {sheet.shape[0]}, {os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
