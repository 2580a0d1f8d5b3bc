#!/usr/bin/env python3
"""tapegrad against PyTorch, side by side, on the same workloads.

Runs bench/tapegrad_workloads (C++) and bench/torch_workloads.py (PyTorch) alternately,
ROUNDS times, each workload in its own process on both sides (a clean peak RSS per workload),
and prints one table: time per step on each side and their ratio (tapegrad / PyTorch, below 1
means tapegrad is faster), the achieved GFLOP/s from the shared FLOP model and tapegrad's share
of the machine's FMA peak, peak memory on each side and its ratio, and the issue's target for
the row where it sets one. The two sides compute the same FLOPs per step; a row where they
differ is flagged. The peak is measured by bench/peak_fma (built beside tapegrad_workloads)
before and after the comparison, on 1 thread and on --threads.

PyTorch runs at its best: OpenBLAS told its core type (OPENBLAS_CORETYPE=Cooperlake with
OPENBLAS_L2_SIZE unset; Debian's OpenBLAS 0.3.21 otherwise picks its SSE3 kernels on recent AMD
processors), glibc malloc kept from returning memory to the system between steps
(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_), --threads given explicitly (Debian's 1.13
starts with one thread), and the OpenMP OpenBLAS (libopenblas0-openmp, installed here when
missing).

Examples (run from anywhere; /usr/bin/python3 needs nothing beyond the standard library):
  /usr/bin/python3 bench/compare.py mlpgan vae gemm --rounds 3
  /usr/bin/python3 bench/compare.py dcgan32 --rounds 2 --json out/compare.json
  /usr/bin/python3 bench/compare.py conv convT --iters 5 --repeats 1
  /usr/bin/python3 bench/compare.py all --device cuda
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRAIN_STEPS = ("dcgan32", "dcgan32_logits", "dcgan64", "mlpgan", "vae")
OP_GROUPS = ("conv", "convT", "bn", "gemm")
TORCH_ENV = {"OPENBLAS_CORETYPE": "Cooperlake", "MALLOC_MMAP_THRESHOLD_": "33554432",
             "MALLOC_TRIM_THRESHOLD_": "4294967296"}
TORCH_ENV_UNSET = ("OPENBLAS_L2_SIZE",)


def target_for(name):
    """The issue's target for a row as (max time ratio tapegrad / PyTorch, how it reads)."""
    if name == "dcgan32":
        return 0.6, "<= 0.6"
    if name == "vae":
        return 0.7, "<= 0.7"
    if name == "mlpgan":
        return 0.9, "<= 0.9"
    if name.startswith("conv2d_"):  # the discriminator shapes, forward and forward+backward
        return 1.0, "<= 1.0"
    if name.startswith("conv_transpose2d_") and name.endswith("_fwdbwd"):  # generator shapes
        return 0.4, "<= 0.4 (2.5x)"
    if name in ("sgemm_1024", "sgemm_2048"):
        return 1.0, "<= 1.0"
    return None, ""


def expand(names):
    out = []
    for w in names:
        if w == "all":
            out += list(TRAIN_STEPS) + list(OP_GROUPS)
        elif w == "ops":
            out += list(OP_GROUPS)
        elif w in TRAIN_STEPS or w in OP_GROUPS:
            out.append(w)
        else:
            raise SystemExit(f"compare.py: unknown workload {w!r}; choose from "
                             f"{' '.join(TRAIN_STEPS + OP_GROUPS)} ops all")
    return list(dict.fromkeys(out))


def default_tapegrad():
    """build/bench/tapegrad_workloads, else the newest build*/bench/tapegrad_workloads."""
    first = REPO / "build" / "bench" / "tapegrad_workloads"
    if first.exists():
        return first
    found = sorted(REPO.glob("build*/bench/tapegrad_workloads"), key=lambda p: p.stat().st_mtime)
    if found:
        return found[-1]
    raise SystemExit("compare.py: no tapegrad_workloads binary found; build it with\n"
                     "  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DTAPEGRAD_BUILD_BENCH=ON\n"
                     "  cmake --build build --target tapegrad_workloads peak_fma\n"
                     "or pass --tapegrad PATH")


def measure_peak(args, when):
    """peak_fma's best GFLOP/s over the ISAs, per thread count (1 and --threads), or None."""
    if args.peak_fma is None:
        return None
    cmd = [str(args.peak_fma), "--json", "--threads", str(args.threads)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"compare.py: peak_fma failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    peak = json.loads(proc.stdout.strip().splitlines()[-1])["peak_fma"]
    best = {int(t): g for t, g in peak["best"].items()}
    isas = {int(t): i for t, i in peak["best_isa"].items()}
    print(f"FMA peak {when}: " + ", ".join(f"{g:.1f} GFLOP/s on {t} thread{'s' if t > 1 else ''} ({isas[t]})"
                                           for t, g in sorted(best.items())), file=sys.stderr)
    return {"best": best, "best_isa": isas, "gflops": peak["gflops"]}


def peak_for_shares(before, after):
    """GFLOP/s per thread count the shares are taken of: the higher of the two measurements
    (a run only loses speed to load or a lower clock, so the higher is the ceiling)."""
    if not before or not after:
        return None
    best = {}
    for t in set(before["best"]) | set(after["best"]):
        best[t] = max(before["best"].get(t, 0), after["best"].get(t, 0))
    return best


def ensure_openblas_openmp(install):
    """The OpenMP build of OpenBLAS, as the PyTorch README asks; installed with scripts/deps.sh."""
    pkg = "libopenblas0-openmp"
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    if "install ok installed" in status.stdout:
        return
    if not install:
        raise SystemExit(f"compare.py: {pkg} is not installed (PyTorch would not run at its best); "
                         f"install it or drop --no-install")
    print(f"compare.py: installing {pkg}", file=sys.stderr)
    subprocess.run(["bash", "-c", f"source scripts/deps.sh && ensure_packages {pkg}"], cwd=REPO, check=True)


def common_flags(args):
    flags = ["--threads", str(args.threads), "--repeats", str(args.repeats), "--warmup", str(args.warmup),
             "--seed", str(args.seed), "--min-time", str(args.min_time), "--gemm-sizes", args.gemm_sizes]
    if args.iters:
        flags += ["--iters", str(args.iters)]
    if args.batch:
        flags += ["--batch", str(args.batch)]
    return flags


def side_command(side, workload, args):
    """(argv, env) of one process of one side."""
    if side == "tapegrad":
        cmd = [str(args.tapegrad), workload, *common_flags(args),
               "--backend", "cuda" if args.device == "cuda" else args.backend]
        if args.profile:
            cmd.append("--profile")
        return cmd, dict(os.environ)
    cmd = [args.python, str(args.torch_script), workload, *common_flags(args), "--device", args.device]
    if args.device == "cuda":
        cmd += ["--tf32", "off", "--cudnn-benchmark", "on"]
    env = {k: v for k, v in os.environ.items() if k not in TORCH_ENV_UNSET}
    env.update(TORCH_ENV)
    return cmd, env


def run_side(side, workload, args):
    """Runs one process; returns (meta, rows, wall seconds). Any failure stops the comparison."""
    cmd, env = side_command(side, workload, args)
    show_stderr = side == "tapegrad" and args.profile  # the per-op tables
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, timeout=args.timeout,
                              stderr=None if show_stderr else subprocess.PIPE)
    except subprocess.TimeoutExpired:
        raise SystemExit(f"compare.py: {side} {workload} ran past --timeout {args.timeout} s: {' '.join(cmd)}")
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        err = (proc.stderr or "").strip().splitlines()[-15:]
        raise SystemExit(f"compare.py: {side} failed on {workload} (exit {proc.returncode}): {' '.join(cmd)}\n"
                         + "\n".join(err))
    meta, rows = None, []
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            continue
        obj = json.loads(line)
        if "meta" in obj:
            meta = obj["meta"]
        else:
            rows.append(obj)
    if not rows:
        raise SystemExit(f"compare.py: {side} printed no rows for {workload}: {' '.join(cmd)}")
    return meta, rows, wall


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def peak_memory(row):
    """Peak memory figure of a row in MiB: CPU ru_maxrss, or CUDA's max allocated."""
    return row.get("peak_rss_mib", row.get("cuda_max_allocated_mib"))


def summarize(runs, peak):
    """One summary per row name, in first-seen order, from every round's rows of both sides;
    `peak` (GFLOP/s per thread count, or None) gives each side's share of the FMA peak at the
    thread count its rows ran on."""
    by_name = {}
    for run in runs:
        for row in run["rows"]:
            entry = by_name.setdefault(row["workload"], {"tapegrad": {}, "torch": {}})
            entry[run["side"]][run["round"]] = row
    out = []
    for name, sides in by_name.items():
        tg, pt = sides["tapegrad"], sides["torch"]
        s = {"workload": name, "rounds": len(set(tg) & set(pt))}
        s["tapegrad_ms"] = median(r["ms_median"] for r in tg.values())
        s["torch_ms"] = median(r["ms_median"] for r in pt.values())
        # ratio per round (both sides measured back to back), then its median and range
        ratios = [tg[k]["ms_median"] / pt[k]["ms_median"] for k in sorted(set(tg) & set(pt))]
        s["time_ratio"] = median(ratios)
        s["time_ratio_range"] = [min(ratios), max(ratios)] if ratios else None
        gflop = {side: median(r.get("gflop_per_step") for r in rows.values()) for side, rows in sides.items()}
        s["gflop_per_step"] = gflop["tapegrad"] if gflop["tapegrad"] is not None else gflop["torch"]
        s["flop_mismatch"] = (gflop["tapegrad"] is not None and gflop["torch"] is not None
                              and abs(gflop["tapegrad"] - gflop["torch"]) > 1e-9)
        for side in ("tapegrad", "torch"):
            ms, g = s[f"{side}_ms"], gflop[side]
            s[f"{side}_gflops"] = round(g * 1e3 / ms, 2) if g and ms else None
            # memory-bound rows (batch norm) carry GB/s of their least traffic instead: GB per step
            # back from each row's rate and time, then the rate at the summary's time
            gbytes = median(r["gbytes_per_s_min_traffic"] * r["ms_median"] / 1e3
                            for r in sides[side].values() if "gbytes_per_s_min_traffic" in r)
            s[f"{side}_gbytes_s"] = round(gbytes * 1e3 / ms, 2) if gbytes and ms else None
            s[f"{side}_mem_mib"] = median(peak_memory(r) for r in sides[side].values())
            threads = next((r.get("threads") for r in sides[side].values()), None)
            on_cpu = all(r.get("device", "cpu") == "cpu" for r in sides[side].values())
            ceiling = peak.get(threads) if peak and on_cpu else None
            s[f"{side}_peak_share"] = round(s[f"{side}_gflops"] / ceiling, 4) if ceiling and s[f"{side}_gflops"] else None
        tm, pm = s["tapegrad_mem_mib"], s["torch_mem_mib"]
        s["mem_ratio"] = round(tm / pm, 3) if tm and pm else None
        limit, text = target_for(name)
        s["target"] = text or None
        s["target_met"] = None if limit is None or s["time_ratio"] is None else s["time_ratio"] <= limit
        out.append(s)
    return out


def fmt(v, digits=2):
    """A number with `digits` decimals (4 below 0.01, so small ratios keep their figures)."""
    if v is None:
        return "-"
    v = float(v)
    return f"{v:.{digits}f}" if abs(v) >= 0.01 or v == 0 else f"{v:.4f}"


def print_table(summary):
    def rate(s, side):
        if s[f"{side}_gflops"] is not None:
            return fmt(s[f"{side}_gflops"], 1)
        return f"{fmt(s[f'{side}_gbytes_s'], 1)} GB/s" if s[f"{side}_gbytes_s"] is not None else "-"

    def share(s):
        return f"{100 * s['tapegrad_peak_share']:.1f}%" if s["tapegrad_peak_share"] is not None else "-"

    head = ["workload", "tapegrad ms", "PyTorch ms", "ratio", "ratio range", "tg GFLOP/s", "tg % peak",
            "PT GFLOP/s", "tg MiB", "PT MiB", "mem ratio", "target", "met"]
    rows = []
    for s in summary:
        rng = s["time_ratio_range"]
        met = {None: "", True: "met", False: "NOT met"}[s["target_met"]]
        rows.append([s["workload"] + (" (FLOPs differ!)" if s["flop_mismatch"] else ""),
                     fmt(s["tapegrad_ms"], 3), fmt(s["torch_ms"], 3), fmt(s["time_ratio"]),
                     f"{fmt(rng[0])}-{fmt(rng[1])}" if rng else "-", rate(s, "tapegrad"), share(s), rate(s, "torch"),
                     fmt(s["tapegrad_mem_mib"], 1), fmt(s["torch_mem_mib"], 1), fmt(s["mem_ratio"]),
                     s["target"] or "", met])
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                           for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    print(line(head))
    print("|" + "|".join(("-" * (w + 1) + ":") if i else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|")
    for r in rows:
        print(line(r))


def report(runs, rounds, load_before, load_after, peak_before=None, peak_after=None):
    """Prints the table and its notes; returns the summary rows."""
    peak = peak_for_shares(peak_before, peak_after)
    summary = summarize(runs, peak)
    print()
    print_table(summary)
    print(f"\nratio = tapegrad ms / PyTorch ms per round (median over {rounds} rounds; below 1: tapegrad faster); "
          f"ms = median of each side's per-round medians.\nMiB = peak RSS per process (a per-op group runs in one "
          f"process, so its rows share the group's peak). Load average before {load_before[0]:.2f}, after "
          f"{load_after[0]:.2f}: on a shared machine, compare ratios, not absolute times.")
    if peak:
        for when, p in (("before", peak_before), ("after", peak_after)):
            print(f"FMA peak {when} (bench/peak_fma, best ISA): " +
                  ", ".join(f"{p['best'][t]:.1f} GFLOP/s on {t} thread{'s' if t > 1 else ''} ({p['best_isa'][t]})"
                            for t in sorted(p["best"])))
        print("tg % peak = tapegrad GFLOP/s / the higher of the two at the row's thread count.")
    else:
        print("tg % peak: no FMA peak measured (--no-peak, no peak_fma binary, or --device cuda).")
    mismatches = [s["workload"] for s in summary if s["flop_mismatch"]]
    print("FLOP counts per step: " + (f"DIFFER on {', '.join(mismatches)}" if mismatches else
                                      f"identical on both sides for all {len(summary)} rows"))
    return summary


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*", default=["dcgan32", "mlpgan", "vae"],
                    help="dcgan32 dcgan32_logits dcgan64 mlpgan vae conv convT bn gemm ops all "
                         "(default: dcgan32 mlpgan vae)")
    ap.add_argument("--rounds", type=int, default=3, help="times each workload runs on each side, alternating")
    ap.add_argument("--tapegrad", type=Path, default=None,
                    help="tapegrad_workloads binary (default: build/bench/tapegrad_workloads, else the "
                         "newest build*/bench/tapegrad_workloads)")
    ap.add_argument("--torch-script", type=Path, default=REPO / "bench" / "torch_workloads.py",
                    help="PyTorch's side (default: bench/torch_workloads.py)")
    ap.add_argument("--peak-fma", type=Path, default=None,
                    help="the FMA-peak program (default: peak_fma beside the tapegrad_workloads binary)")
    ap.add_argument("--no-peak", action="store_true", help="do not measure the FMA peak (no %% of peak column)")
    ap.add_argument("--python", default="/usr/bin/python3", help="interpreter with PyTorch")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="cuda: tapegrad --backend cuda, PyTorch --device cuda --tf32 off --cudnn-benchmark on")
    ap.add_argument("--backend", choices=["cpu", "reference"], default="cpu", help="tapegrad's CPU backend")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=0, help="training-step batch (0: each workload's default)")
    ap.add_argument("--iters", type=int, default=0, help="timed iterations per repeat (0: auto from --min-time)")
    ap.add_argument("--min-time", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--gemm-sizes", default="256,512,1024,2048")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true",
                    help="tapegrad prints its per-op profile of the timed steps (its times then include "
                         "the profiler's cost)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds allowed per process")
    ap.add_argument("--json", type=Path, default=None, help="write settings, every row and the summary here")
    ap.add_argument("--no-install", action="store_true", help="fail instead of installing libopenblas0-openmp")
    ap.add_argument("--table-from", type=Path, default=None, metavar="FILE",
                    help="print the table of an earlier --json FILE instead of running anything")
    args = ap.parse_args()

    if args.table_from:
        doc = json.loads(args.table_from.read_text())
        peaks = doc.get("peak_fma") or {}
        for p in peaks.values():  # JSON made the thread counts strings
            for key in ("best", "best_isa"):
                p[key] = {int(t): v for t, v in p[key].items()}
        summary = report(doc["runs"], doc["settings"]["rounds"], doc["loadavg_before"], doc["loadavg_after"],
                         peaks.get("before"), peaks.get("after"))
        return 1 if any(s["flop_mismatch"] for s in summary) else 0

    if args.rounds < 1:
        raise SystemExit("compare.py: --rounds must be at least 1")
    workloads = expand(args.workloads)
    args.tapegrad = (args.tapegrad or default_tapegrad()).resolve()
    args.torch_script = args.torch_script.resolve()
    if not args.tapegrad.exists():
        raise SystemExit(f"compare.py: --tapegrad {args.tapegrad} does not exist")
    if not args.torch_script.exists():
        raise SystemExit(f"compare.py: torch script {args.torch_script} does not exist (pass --torch-script)")
    if args.device == "cpu":
        ensure_openblas_openmp(not args.no_install)
    if args.no_peak or args.device == "cuda":  # a GPU's rate against the CPU's FMA peak means nothing
        args.peak_fma = None
    else:
        args.peak_fma = (args.peak_fma or args.tapegrad.parent / "peak_fma").resolve()
        if not args.peak_fma.exists():
            raise SystemExit(f"compare.py: no FMA-peak program at {args.peak_fma}; build it with\n"
                             f"  cmake --build {args.tapegrad.parent.parent} --target peak_fma\n"
                             f"or pass --peak-fma PATH, or --no-peak")

    load_before = os.getloadavg()
    print(f"tapegrad: {args.tapegrad}\nPyTorch:  {args.python} {args.torch_script}\n"
          f"device {args.device}, {args.threads} threads, {args.rounds} rounds, load average "
          f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", file=sys.stderr)
    peak_before = measure_peak(args, "before")
    runs, metas = [], {}
    for rnd in range(1, args.rounds + 1):
        # alternate which side goes first, so neither always runs on a machine the other warmed
        order = ("tapegrad", "torch") if rnd % 2 else ("torch", "tapegrad")
        for w in workloads:
            for side in order:
                meta, rows, wall = run_side(side, w, args)
                metas.setdefault(side, meta)
                runs.append({"round": rnd, "side": side, "workload": w, "wall_s": round(wall, 2), "rows": rows})
                print(f"round {rnd}/{args.rounds}: {w:<15} {side:<8} {wall:7.1f} s", file=sys.stderr)
    load_after = os.getloadavg()
    peak_after = measure_peak(args, "after")

    summary = report(runs, args.rounds, load_before, load_after, peak_before, peak_after)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        doc = {"settings": settings, "workloads": workloads, "loadavg_before": load_before,
               "loadavg_after": load_after, "peak_fma": {"before": peak_before, "after": peak_after},
               "meta": metas, "runs": runs, "summary": summary}
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 1 if any(s["flop_mismatch"] for s in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
