#!/usr/bin/env bash
# The one command for a machine with a GPU, in two halves, because the GPU machine may have no
# network and no compiler:
#
#   bash scripts/gpu_check.sh build        # here, with nvcc: build-gpu/ (sm_90 machine code + PTX)
#   bash scripts/gpu_check.sh run OUT_DIR  # there, from the repository root with build-gpu/ beside
#                                          # it: at most about 8 minutes, one JSON file in OUT_DIR
#
# `run` executes, in order (each step's time and status go into OUT_DIR/gpu_check.json, its
# output into OUT_DIR/gpu_check.log):
#   1. test_cuda on the real GPU (every case: the kernels against the reference, float64
#      gradchecks and gradgradchecks, a DCGAN step against the CPU, the allocator);
#   2. compute-sanitizer memcheck, racecheck, synccheck and initcheck on a reduced case set
#      (GEMM, reductions, softmax, batch norm: the kernels with shared memory and shuffles);
#   3. bench/compare.py --device cuda: dcgan32 at batch 128 and 1024, mlpgan, vae and sgemm
#      2048 against PyTorch on the same GPU (TF32 off, cudnn.benchmark on).
# The kernels were proven on the CPU first: CI runs the same suite on the CUDA emulator
# (scripts/test.sh, test_sanitize.sh, test_cuda_race.sh), so GPU minutes go to what only a GPU
# shows: speed, the real memory model, compute-sanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TAPEGRAD_GPU_BUILD:-build-gpu}

case "${1:-}" in
build)
  source scripts/deps.sh
  ensure_packages g++ cmake pkg-config libxsimd-dev doctest-dev libbenchmark-dev zlib1g-dev
  nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
  [ -x "$nvcc" ] || { echo "gpu_check build: nvcc not found (set CUDACXX)"; exit 2; }
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$nvcc" -DTAPEGRAD_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES="90-real;90-virtual" -DTAPEGRAD_BUILD_TESTS=ON -DTAPEGRAD_BUILD_BENCH=ON \
        -DTAPEGRAD_BUILD_EXAMPLES=OFF
  cmake --build "$build" -j"$(nproc)" --target test_cuda tapegrad_workloads
  # The CUDA runtime travels with the build: the GPU machine's driver is all it needs.
  mkdir -p "$build/lib"
  cudart=$(dirname "$nvcc")/../lib64/libcudart.so
  cp -L "$cudart".* "$build/lib/" 2>/dev/null || cp -L "$cudart" "$build/lib/"
  echo "gpu_check build: $build is ready; carry it with the repository and run"
  echo "  bash scripts/gpu_check.sh run OUT_DIR"
  ;;
run)
  out=${2:?usage: gpu_check.sh run OUT_DIR}
  mkdir -p "$out"
  [ -x "$build/tests/test_cuda" ] || { echo "gpu_check run: no $build/tests/test_cuda; run 'gpu_check.sh build' first"; exit 2; }
  export LD_LIBRARY_PATH="$PWD/$build/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  log="$out/gpu_check.log"
  : >"$log"
  steps=()
  # step NAME SECONDS COMMAND...: runs it with a time limit, records name, status and seconds.
  step() {
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS status=0
    echo "== $name" | tee -a "$log"
    timeout "$limit" "$@" >>"$log" 2>&1 || status=$?
    local took=$((SECONDS - start))
    echo "   $name: exit $status, $took s" | tee -a "$log"
    steps+=("{\"step\": \"$name\", \"exit\": $status, \"seconds\": $took}")
  }
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >>"$log" 2>&1 || true
  step test_cuda 120 "$build/tests/test_cuda"
  sanitize_cases='matmul*,sum*,max and min*,softmax*,batch_norm*,pooling*'
  if command -v compute-sanitizer >/dev/null; then
    for tool in memcheck racecheck synccheck initcheck; do
      step "compute-sanitizer $tool" 90 compute-sanitizer --tool "$tool" --error-exitcode 1 \
           "$build/tests/test_cuda" -ts=gpu -tc="$sanitize_cases"
    done
  else
    echo "compute-sanitizer not found: sanitizer steps skipped" | tee -a "$log"
  fi
  python=${TAPEGRAD_TORCH_PYTHON:-python3}
  for batch in 128 1024; do
    step "compare dcgan32 b$batch" 120 "$python" bench/compare.py dcgan32 --device cuda --batch "$batch" \
         --rounds 1 --tapegrad "$build/bench/tapegrad_workloads" --python "$python" --no-install \
         --json "$out/compare_dcgan32_b$batch.json"
  done
  step "compare mlpgan vae gemm" 150 "$python" bench/compare.py mlpgan vae gemm --gemm-sizes 2048 --device cuda \
       --rounds 1 --tapegrad "$build/bench/tapegrad_workloads" --python "$python" --no-install \
       --json "$out/compare_small.json"
  {
    echo "{\"device\": \"$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)\","
    echo " \"steps\": [$(IFS=,; echo "${steps[*]}")],"
    echo " \"compare\": {"
    first=1
    for f in "$out"/compare_*.json; do
      [ -f "$f" ] || continue
      [ $first -eq 1 ] || echo ","
      first=0
      printf '  "%s": %s' "$(basename "$f" .json)" "$(cat "$f")"
    done
    echo "}}"
  } >"$out/gpu_check.json"
  echo "gpu_check run: $out/gpu_check.json, log in $log"
  ;;
*)
  echo "usage: bash scripts/gpu_check.sh build | run OUT_DIR"
  exit 2
  ;;
esac
