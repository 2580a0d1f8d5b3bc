// The workloads of tapegrad_workloads, each printing its JSON rows (torch_workloads.py's
// names, keys and FLOP model, so the two sides' rows line up by name).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "measure.h"

namespace workloads {

// Training steps: dcgan32, dcgan32_logits, dcgan64, mlpgan, vae. batch 0: the workload's
// default (128; dcgan64: 64).
void run_train_step(const std::string& name, int64_t batch, const RunOptions& options);

// Per-op rows at every layer shape of dcgan32 (batch 128) and dcgan64 (batch 64): group is
// "conv", "convT" or "bn"; forward (no grad) and forward + backward rows for each shape.
void run_op_group(const std::string& group, const RunOptions& options);

// tg::matmul of two n x n float32 matrices for each n.
void run_gemm(const std::vector<int64_t>& sizes, const RunOptions& options);

}  // namespace workloads
