// Anomaly detection (as torch.autograd.detect_anomaly): while a DetectAnomalyGuard is alive,
// every recorded forward op and every backward node is checked for NaN / Inf, and the first
// one found raises tg::Error naming the op, its output shape, and — for a backward node —
// the forward op it belongs to and where that op was created. Off by default; when off the
// cost is one flag test per op.
#pragma once

#include <string>

#include "autograd/tensor.h"

namespace tg::autograd {

class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool enabled = true);
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool prev_;
};
bool anomaly_detection_enabled();

// Names the code that creates ops in a scope ("D/main.2", "gradient penalty"); nested scopes
// join with '/'. Recorded as each node's creation site while anomaly detection is on.
class CreationSiteGuard {
 public:
  explicit CreationSiteGuard(const std::string& site);
  ~CreationSiteGuard();
  CreationSiteGuard(const CreationSiteGuard&) = delete;
  CreationSiteGuard& operator=(const CreationSiteGuard&) = delete;
};
std::string current_creation_site();

// Marks the engine running a backward node: its formula's ops are then not checked one by one
// (the node's result is checked as a whole, so the error names the backward node).
class BackwardNodeScope {
 public:
  BackwardNodeScope();
  ~BackwardNodeScope();
  BackwardNodeScope(const BackwardNodeScope&) = delete;
  BackwardNodeScope& operator=(const BackwardNodeScope&) = delete;

 private:
  bool prev_;
};
bool in_backward_node();

// Number of NaN and Inf elements of t (any device; float dtypes, else 0).
int64_t count_non_finite(const Tensor& t);

}  // namespace tg::autograd
