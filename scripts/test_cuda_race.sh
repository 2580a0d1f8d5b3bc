#!/usr/bin/env bash
# Runs the CUDA suite on the emulator under ThreadSanitizer (build-tsan/): every emulated CUDA
# thread is a TSan thread ordered only by __syncthreads, __syncwarp and the ends of blocks, so
# a missing barrier in a kernel is a race report naming the kernel, block and thread. Also
# checks that a kernel written with a missing barrier is reported (cuda_emulator_race_report).
# Called by .ci/run; scripts/test_sanitize.sh runs the same suite under ASan and UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_packages g++ cmake pkg-config libxsimd-dev doctest-dev zlib1g-dev

jobs=$(nproc)
start=$SECONDS
tsan="-fsanitize=thread"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
      -DCMAKE_CXX_FLAGS="$tsan" -DCMAKE_EXE_LINKER_FLAGS="$tsan" -DCMAKE_SHARED_LINKER_FLAGS="$tsan" \
      -DTAPEGRAD_CUDA=OFF -DTAPEGRAD_CUDA_EMULATOR=ON -DTAPEGRAD_BUILD_TESTS=ON -DTAPEGRAD_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target test_cuda test_cuda_emulator
echo "== race-check build: $((SECONDS - start)) s"

# One OpenMP thread: libgomp is not instrumented, and the CPU side of these tests is not what
# is checked here. Every report fails its test.
export OMP_NUM_THREADS=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
start=$SECONDS
ctest --test-dir build-tsan --output-on-failure -j"$jobs" --timeout 900 -R "^(test_cuda|test_cuda_emulator|cuda_emulator_race_report)$"
echo "== race-check tests: $((SECONDS - start)) s"
