"""Mode coverage of generated ring8 samples (samples.npy [N, 2] from examples/mlp_gan or
examples/wgan_gp with --data ring8 --save-samples N), as VEEGAN (Srivastava et al. 2017) and
PacGAN (Lin et al. 2018) measure it on the 8-Gaussian ring:

  high-quality sample: within 3 sigma of its nearest mode centre (sigma = 0.02, radius 2);
  mode covered: at least --min-share of all samples are high-quality samples of that mode.

    /usr/bin/python3 examples/pytorch/ring8_modes.py run_a/samples.npy run_b/samples.npy --png row.png

prints one line per file and, with --png, writes their scatter plots side by side (white
samples on black over [-3, 3]^2, the 8 centres marked in grey; --per-row wraps them into rows)."""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import png  # noqa: E402

RADIUS, SIGMA, MODES = 2.0, 0.02, 8
CENTRES = np.array([[RADIUS * math.cos(2 * math.pi * k / MODES), RADIUS * math.sin(2 * math.pi * k / MODES)]
                    for k in range(MODES)])


def coverage(points, min_share):
    """(modes covered, high-quality fraction, high-quality count per mode)."""
    d = np.linalg.norm(points[:, None, :] - CENTRES[None], axis=2)  # [N, 8]
    nearest = d.argmin(1)
    good = d[np.arange(len(points)), nearest] <= 3 * SIGMA
    per_mode = np.bincount(nearest[good], minlength=MODES)
    covered = int((per_mode >= min_share * len(points)).sum())
    return covered, good.mean(), per_mode


def picture(points, size, extent=3.0):
    image = png.scatter_image(points, size=size, extent=extent)
    for cx, cy in CENTRES:  # a grey + at each centre, drawn under the samples
        col = int((cx + extent) / (2 * extent) * size)
        row = size - 1 - int((cy + extent) / (2 * extent) * size)
        for k in range(-3, 4):
            for r, c in ((row + k, col), (row, col + k)):
                if image[r, c] == 0:
                    image[r, c] = 0.45
    return image


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("samples", nargs="+", help="samples.npy files, [N, 2] float")
    p.add_argument("--min-share", type=float, default=0.01, help="share of all samples a covered mode needs (default 0.01)")
    p.add_argument("--png", help="write the scatter plots side by side here")
    p.add_argument("--size", type=int, default=160, help="pixels per scatter plot (default 160)")
    p.add_argument("--per-row", type=int, default=0, help="plots per row of the picture (default: all in one row)")
    args = p.parse_args()
    pictures = []
    for path in args.samples:
        points = np.load(path).astype(np.float64).reshape(-1, 2)
        covered, hq, per_mode = coverage(points, args.min_share)
        print(f"{path}: {len(points)} samples, modes covered {covered}/8, high-quality {100 * hq:.1f}%, "
              f"per mode {per_mode.tolist()}")
        pictures.append(picture(points, args.size))
    if args.png:
        gap, cols = 4, args.per_row or len(pictures)
        rows = (len(pictures) + cols - 1) // cols
        step = args.size + gap
        sheet = np.full((rows * step - gap, cols * step - gap), 0.25)
        for i, image in enumerate(pictures):
            r, c = divmod(i, cols)
            sheet[r * step:r * step + args.size, c * step:c * step + args.size] = image
        png.write_png(args.png, png.to_bytes(sheet))
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
