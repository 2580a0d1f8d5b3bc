#!/usr/bin/env bash
# Builds tapegrad, every test and every example with AddressSanitizer (LeakSanitizer included)
# and UndefinedBehaviorSanitizer into build-asan/, and runs the whole CTest suite there (the
# examples' smoke and resume runs too, and the CUDA suite on the emulator). The first report of either sanitizer fails its test, so
# the script exits non-zero. Called by .ci/run after scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake pkg-config libxsimd-dev doctest-dev zlib1g-dev python3-numpy

jobs=$(nproc)
sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
start=$SECONDS
# -O1 -g: line numbers in every report at about half the compile time of -O2.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
      -DCMAKE_CXX_FLAGS="$sanitize" -DCMAKE_EXE_LINKER_FLAGS="$sanitize" \
      -DCMAKE_SHARED_LINKER_FLAGS="$sanitize" -DTAPEGRAD_BUILD_TESTS=ON -DTAPEGRAD_BUILD_EXAMPLES=ON \
      -DTAPEGRAD_CUDA=OFF -DTAPEGRAD_CUDA_EMULATOR=ON
cmake --build build-asan -j"$jobs"
echo "== sanitizer build: $((SECONDS - start)) s"

# No suppressions: every report is a failure.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
start=$SECONDS
# The programs' --backend cuda runs are left to the Release build (scripts/test.sh): their
# host code is the cpu runs', and the emulated kernels run here in test_cuda.
ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 900 -E "^(example_.*|gradcheck)_cuda"
echo "== sanitizer tests: $((SECONDS - start)) s"
