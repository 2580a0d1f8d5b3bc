#!/usr/bin/env bash
# Quality against PyTorch: trains one model with tapegrad and with examples/pytorch/train.py at the
# same settings on Fashion-MNIST, saves 2000 samples from each, and scores both with the tapegrad
# classifier (class histogram, entropy in bits, mean confidence). Runs one process at a time.
#
#   examples/pytorch/compare.sh BUILD_DIR OUT_DIR MODEL [flags for both sides...]
#   examples/pytorch/compare.sh build out/compare mlp_gan --epochs 3
#   TORCH_THREADS=1 examples/pytorch/compare.sh build out/compare dcgan --epochs 8 --limit 6400
#
# The classifier is trained once (3 epochs, full training set) into OUT_DIR/classifier, and scores
# 2000 real test images as the reference.
set -euo pipefail
build=$1 out=$2 model=$3
shift 3
root="$(cd "$(dirname "$0")/../.." && pwd)"
samples=2000
# PyTorch's threads (default 2, the machine's cores). On a machine shared with other jobs, 1 can be
# much faster: OpenMP threads that wait at barriers for a descheduled sibling spin.
torch_threads=${TORCH_THREADS:-2}
run() { echo "+ $*" >&2; nice -n 5 "$@"; }

classifier=$out/classifier
if [[ ! -f $classifier/classifier.npz ]]; then
  run "$build/examples/classifier/classifier" --epochs 3 --save-samples "$samples" --out "$classifier" | grep -E "^epoch|wrote"
  echo "== real test images"
  "$build/examples/classifier/classifier" --out "$classifier" --score "$classifier/samples.npy" | tee "$classifier/score.txt"
fi

extra=()
[[ $model == wgan_gp ]] && extra=(--data fashion-mnist)  # wgan_gp defaults to ring8
start=$(date +%s)
run "$build/examples/$model/$model" "${extra[@]}" "$@" --save-samples "$samples" --out "$out/tapegrad_$model" | grep -vE "^\s*$" | tail -n 4
echo "tapegrad $model: $(( $(date +%s) - start )) s" | tee "$out/tapegrad_$model/wall_time.txt"
start=$(date +%s)
run /usr/bin/python3 "$root/examples/pytorch/train.py" "$model" "${extra[@]}" "$@" --threads "$torch_threads" --save-samples "$samples" \
  --out "$out/pytorch_$model" | tail -n 3
echo "pytorch $model: $(( $(date +%s) - start )) s" | tee "$out/pytorch_$model/wall_time.txt"

for side in tapegrad pytorch; do
  echo "== $side $model"
  "$build/examples/classifier/classifier" --out "$classifier" --score "$out/${side}_$model/samples.npy" | tee "$out/${side}_$model/score.txt"
done
