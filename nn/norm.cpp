// BatchNorm1d/2d, LayerNorm and InstanceNorm2d layers over the tg:: normalisation ops.
#include "nn/norm.h"

#include <sstream>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/init.h"

namespace tg::nn {
namespace {

const char* py_bool(bool b) { return b ? "True" : "False"; }

void check_features(int64_t n, const char* op) {
  TG_CHECK(n > 0, op, "num_features must be positive, got ", n);
}

void check_channels(const Tensor& x, int64_t channels, const char* op, const char* layout) {
  TG_CHECK(x.size(1) == channels, op, "expected ", channels, " channels (input ", layout, "), got ",
           x.str());
}

}  // namespace

BatchNormImplBase::BatchNormImplBase(const BatchNormOptions& opts, const char* type_name)
    : Module(type_name), options(opts) {
  check_features(options.num_features(), type_name);
  TG_CHECK(options.eps() >= 0, type_name, "eps must be non-negative, got ", options.eps());
  const int64_t c = options.num_features();
  if (options.affine()) {
    weight = register_parameter("weight", empty({c}));
    bias = register_parameter("bias", empty({c}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
  reset_parameters();
}

void BatchNormImplBase::reset_running_stats() {
  if (!options.track_running_stats()) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  NoGradGuard no_grad;
  num_batches_tracked.zero_();
}

void BatchNormImplBase::reset_parameters() {
  reset_running_stats();
  if (!options.affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor BatchNormImplBase::normalize(const Tensor& x) {
  check_channels(x, options.num_features(), name().c_str(), "[N, C, ...]");
  double factor = options.momentum().value_or(0.0);
  if (is_training() && options.track_running_stats()) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1);
    if (!options.momentum()) factor = 1.0 / num_batches_tracked.item<double>();
  }
  // Batch statistics in training and whenever there are no running statistics; the running
  // statistics are passed (and so updated) in training only when tracked.
  const bool use_batch_stats = is_training() || !running_mean.defined();
  return batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, factor, options.eps());
}

std::string BatchNormImplBase::extra_repr() const {
  std::ostringstream os;
  os << options.num_features() << ", eps=" << options.eps() << ", momentum=";
  if (options.momentum()) os << *options.momentum();
  else os << "None";
  os << ", affine=" << py_bool(options.affine())
     << ", track_running_stats=" << py_bool(options.track_running_stats());
  return os.str();
}

Tensor BatchNorm1dImpl::forward(const Tensor& x) {
  TG_CHECK(x.defined() && (x.dim() == 2 || x.dim() == 3), "BatchNorm1d",
           "expected 2D or 3D input ([N, C] or [N, C, L]), got ", x.str());
  if (x.dim() == 2) return normalize(x);
  return normalize(x.unsqueeze(-1)).squeeze(-1);  // [N, C, L] as [N, C, L, 1]
}

Tensor BatchNorm2dImpl::forward(const Tensor& x) {
  TG_CHECK(x.defined() && x.dim() == 4, "BatchNorm2d", "expected 4D input ([N, C, H, W]), got ",
           x.str());
  return normalize(x);
}

LayerNormImpl::LayerNormImpl(const LayerNormOptions& opts) : Module("LayerNorm"), options(opts) {
  const Shape& s = options.normalized_shape();
  TG_CHECK(!s.empty(), "LayerNorm", "normalized_shape must have at least one dimension");
  for (int64_t d : s)
    TG_CHECK(d > 0, "LayerNorm", "normalized_shape must be positive, got ", shape_str(s));
  if (options.elementwise_affine()) {
    weight = register_parameter("weight", empty(s));
    bias = register_parameter("bias", empty(s));
  }
  reset_parameters();
}

void LayerNormImpl::reset_parameters() {
  if (!options.elementwise_affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor LayerNormImpl::forward(const Tensor& x) {
  const Shape& s = options.normalized_shape();
  const auto k = static_cast<int64_t>(s.size());
  bool fits = x.defined() && x.dim() >= k;
  for (int64_t i = 0; fits && i < k; ++i) fits = x.size(x.dim() - k + i) == s[i];
  TG_CHECK(fits, "LayerNorm", "expected input with trailing dimensions ", shape_str(s), ", got ",
           x.str());
  return layer_norm(x, s, weight, bias, options.eps());
}

std::string LayerNormImpl::extra_repr() const {
  std::ostringstream os;
  const Shape& s = options.normalized_shape();
  os << "(";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << (s.size() == 1 ? ",)" : ")") << ", eps=" << options.eps()
     << ", elementwise_affine=" << py_bool(options.elementwise_affine());
  return os.str();
}

InstanceNorm2dImpl::InstanceNorm2dImpl(const InstanceNormOptions& opts)
    : Module("InstanceNorm2d"), options(opts) {
  check_features(options.num_features(), "InstanceNorm2d");
  TG_CHECK(options.eps() >= 0, "InstanceNorm2d", "eps must be non-negative, got ", options.eps());
  const int64_t c = options.num_features();
  if (options.affine()) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

Tensor InstanceNorm2dImpl::forward(const Tensor& x) {
  TG_CHECK(x.defined() && x.dim() == 4, "InstanceNorm2d", "expected 4D input ([N, C, H, W]), got ",
           x.str());
  check_channels(x, options.num_features(), "InstanceNorm2d", "[N, C, H, W]");
  // As PyTorch's _InstanceNorm: running statistics are used only in eval when tracked
  // (num_batches_tracked is kept for state-dict compatibility, never advanced).
  const bool use_input_stats = is_training() || !options.track_running_stats();
  return instance_norm(x, running_mean, running_var, weight, bias, use_input_stats,
                       options.momentum(), options.eps());
}

std::string InstanceNorm2dImpl::extra_repr() const {
  std::ostringstream os;
  os << options.num_features() << ", eps=" << options.eps() << ", momentum=" << options.momentum()
     << ", affine=" << py_bool(options.affine())
     << ", track_running_stats=" << py_bool(options.track_running_stats());
  return os.str();
}

}  // namespace tg::nn
