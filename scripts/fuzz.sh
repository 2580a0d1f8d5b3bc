#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/) with clang-14, AddressSanitizer and UBSan into
# build-fuzz/ and runs each for SECONDS (default 60) on a copy of its committed seed corpus
# (fuzz/corpus/<name>, never modified). Exits non-zero if any harness finds a crash, a
# sanitizer report, a leak, a timeout (10 s for one input), an out-of-memory or an allocation
# its input does not justify; the input that did it is kept in build-fuzz/fuzz-artifacts/.
#
#   bash scripts/fuzz.sh [SECONDS] [HARNESS...] [-- LIBFUZZER_FLAGS...]
#   bash scripts/fuzz.sh 60                      # CI: npy, npz, idx, checkpoint, 60 s each
#   bash scripts/fuzz.sh 0 npz -- -runs=10000000 # 0: no time limit; stop after 10M inputs
#   bash scripts/fuzz.sh --build-only
# Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages clang-14 libclang-rt-14-dev libomp-14-dev cmake pkg-config libxsimd-dev zlib1g-dev

build=${TAPEGRAD_FUZZ_BUILD:-build-fuzz}
all=(npy npz idx checkpoint)
build_only=0
seconds=60
harnesses=()
extra=()
if [ "${1:-}" = "--build-only" ]; then build_only=1; shift; fi
if [ $# -gt 0 ] && [ "$1" != "--" ]; then seconds=$1; shift; fi
while [ $# -gt 0 ] && [ "$1" != "--" ]; do harnesses+=("$1"); shift; done
if [ "${1:-}" = "--" ]; then shift; extra=("$@"); fi
[ ${#harnesses[@]} -eq 0 ] && harnesses=("${all[@]}")

start=$SECONDS
# -O1 with line tables: readable reports at a fraction of -O2's compile time on the whole
# library; the library is static so every reader's branch is in the harness's coverage map.
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DBUILD_SHARED_LIBS=OFF \
      -DTAPEGRAD_BUILD_FUZZERS=ON -DTAPEGRAD_BUILD_TESTS=OFF -DTAPEGRAD_BUILD_EXAMPLES=OFF \
      -DTAPEGRAD_BUILD_BENCH=OFF -DTAPEGRAD_CUDA=OFF >/dev/null
targets=(fuzz_make_seeds)
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
echo "== fuzz build: $((SECONDS - start)) s"
[ $build_only -eq 1 ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
artifacts="$PWD/$build/fuzz-artifacts"
# One thread per harness (the cpu backend's OpenMP), fatal UBSan reports with stacks. No
# detect_stack_use_after_return: it halves the speed, and scripts/test_sanitize.sh has it.
export OMP_NUM_THREADS=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1
failed=()
for h in "${harnesses[@]}"; do
  [ -d "fuzz/corpus/$h" ] || { echo "unknown harness '$h' (known: ${all[*]})"; exit 2; }
  mkdir -p "$work/$h" "$artifacts/$h"
  cp -r "fuzz/corpus/$h/." "$work/$h/"
  log="$work/$h.log"
  flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=128
         -max_len=8192 -dict="fuzz/dict/$h.dict" -artifact_prefix="$artifacts/$h/"
         -print_final_stats=1)
  echo "== fuzz_$h: ${seconds} s"
  status=0
  "$build/fuzz/fuzz_$h" "${flags[@]}" "${extra[@]}" "$work/$h" >"$log" 2>&1 || status=$?
  # libFuzzer's last status line and final counters: executions, speed, coverage.
  grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
  if [ $status -ne 0 ]; then
    tail -n 60 "$log"
    echo "== fuzz_$h FAILED (exit $status); reproducer in $artifacts/$h/"
    failed+=("$h")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "== fuzzing found problems in: ${failed[*]}"
  exit 1
fi
echo "== fuzzing: no crash, leak, timeout or oversized allocation in ${harnesses[*]}"
