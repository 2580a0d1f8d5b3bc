#!/bin/sh
# SGEMM side by side: tapegrad's cpu backend (bench_gemm, square sizes, every ISA level, all
# threads) and PyTorch's torch.mm (bench/torch_workloads.py gemm), run alternately ROUNDS times
# in one session so both see the same machine load, with the FMA peak measured before and after
# (bench/peak_fma). Compare ratios, not absolute times.
#
#   bench/gemm_vs_torch.sh <build dir> [rounds]
#   (configure with -DTAPEGRAD_BUILD_BENCH=ON; build the targets bench_gemm and peak_fma)
set -eu
BUILD=${1:?usage: gemm_vs_torch.sh <build dir> [rounds]}
ROUNDS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
THREADS=$(nproc)

peak() { echo "## peak_fma ($1)"; "$BUILD/bench/peak_fma" --threads "$THREADS" --repeats 3; echo; }
torch_mm() {
  echo "## torch.mm, $THREADS threads"
  env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=Cooperlake MALLOC_MMAP_THRESHOLD_=33554432 \
      MALLOC_TRIM_THRESHOLD_=4294967296 /usr/bin/python3 "$HERE/torch_workloads.py" gemm \
      --threads "$THREADS" | grep -v '"meta"'
}
tapegrad_mm() {
  echo "## tapegrad cpu backend"
  "$BUILD/bench/bench_gemm" --benchmark_filter="float32/square/.*/cpu/.*/threads:$THREADS" \
      --benchmark_repetitions=3 --benchmark_report_aggregates_only=true 2>/dev/null |
      grep -E "median"
}

uptime
peak before
i=1
while [ "$i" -le "$ROUNDS" ]; do
  echo "# round $i"
  tapegrad_mm
  torch_mm
  i=$((i + 1))
done
peak after
uptime
