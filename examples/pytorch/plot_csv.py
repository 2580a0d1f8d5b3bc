"""Columns of one or more metrics.csv files (the example programs' and train.py's) as an SVG line
chart, without matplotlib: one series per (file, column), x = epoch, optional log10 y axis.

    /usr/bin/python3 examples/pytorch/plot_csv.py out/dcgan/metrics.csv --columns 'grad_norm/D.*' \\
        --log --title "DCGAN: gradient norms" --svg grad_norms.svg

--columns takes shell-style patterns; --label NAME=PATH names a file's series. A column keeps its
colour across files, each file has its own dash pattern."""
import argparse
import csv
import fnmatch
import math

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
DASHES = ["", "6,3", "2,2"]  # one per file


def read(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in rows[0]}


def nice_ticks(lo, hi, log):
    if log:
        return [10.0 ** e for e in range(math.floor(lo), math.ceil(hi) + 1)]
    step = 10 ** math.floor(math.log10(max(hi - lo, 1e-12)))
    for m in (1, 2, 5, 10):
        if (hi - lo) / (m * step) <= 6:
            step *= m
            break
    return [step * k for k in range(math.floor(lo / step), math.ceil(hi / step) + 1)]


def chart(series, title, log, width=640, height=360):
    """series: [(name, xs, ys, color, dash)] -> SVG text."""
    left, right, top, bottom = 60, 230, 30, 40
    tf = (lambda v: math.log10(max(v, 1e-30))) if log else (lambda v: v)
    xs = [x for _, sx, _, _, _ in series for x in sx]
    ys = [tf(y) for _, _, sy, _, _ in series for y in sy if not math.isnan(y)]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1e-12:
        y0, y1 = y0 - 1, y1 + 1
    yt = [t for t in nice_ticks(y0, y1, log)]
    y0, y1 = min(y0, tf(yt[0])), max(y1, tf(yt[-1]))
    px = lambda x: left + (x - x0) / max(x1 - x0, 1e-12) * (width - left - right)  # noqa: E731
    py = lambda y: height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2 - right / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>']
    for t in yt:
        y = py(tf(t))
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>')
    for e in sorted(set(xs)):
        out.append(f'<text x="{px(e):.1f}" y="{height - bottom + 14}" text-anchor="middle">{e:g}</text>')
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">epoch</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" fill="none" stroke="#888"/>')
    for i, (name, sx, sy, color, dash) in enumerate(series):
        pts = " ".join(f"{px(x):.1f},{py(tf(y)):.1f}" for x, y in zip(sx, sy) if not math.isnan(y))
        style = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.8"{style}/>')
        ly = top + 8 + 15 * i
        out.append(f'<line x1="{width - right + 10}" y1="{ly}" x2="{width - right + 30}" y2="{ly}" stroke="{color}" stroke-width="2"{style}/>')
        out.append(f'<text x="{width - right + 35}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("csv", nargs="+")
    p.add_argument("--columns", nargs="+", required=True, help="column names or patterns")
    p.add_argument("--label", action="append", default=[], help="NAME=PATH: prefix for that file's series")
    p.add_argument("--log", action="store_true", help="log10 y axis")
    p.add_argument("--title", default="")
    p.add_argument("--svg", required=True)
    args = p.parse_args()
    labels = dict(reversed(item.split("=", 1)) for item in args.label)
    series = []
    for f, path in enumerate(args.csv):
        data = read(path)
        names = [c for pattern in args.columns for c in data if fnmatch.fnmatch(c, pattern)]
        for k, name in enumerate(names):  # a column keeps its colour across files; a file its dash
            shown = name.replace("grad_norm/", "")
            if path in labels:
                shown = f"{labels[path]} {shown}"
            series.append((shown, data["epoch"], data[name], COLORS[k % len(COLORS)], DASHES[f % len(DASHES)]))
    if not series:
        raise SystemExit("no column matched " + " ".join(args.columns))
    with open(args.svg, "w") as out:
        out.write(chart(series, args.title, args.log))
    print(f"wrote {args.svg} ({len(series)} series)")


if __name__ == "__main__":
    main()
