// Normalisation layers (torch.nn.BatchNorm1d / BatchNorm2d / LayerNorm / InstanceNorm2d)
// with PyTorch's options, defaults (eps 1e-5, momentum 0.1), buffers and initialisation.
#pragma once

#include <optional>

#include "nn/arg.h"
#include "nn/module.h"

namespace tg::nn {

struct BatchNormOptions {
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT
  TG_ARG(int64_t, num_features);
  TG_ARG(double, eps) = 1e-5;
  // Running-average factor; nullopt averages cumulatively (1 / num_batches_tracked).
  TG_ARG(std::optional<double>, momentum) = 0.1;
  TG_ARG(bool, affine) = true;
  TG_ARG(bool, track_running_stats) = true;
};

// The shared part of BatchNorm1d and BatchNorm2d: weight 1 and bias 0 (affine), buffers
// running_mean 0, running_var 1, num_batches_tracked 0 (int64), as PyTorch.
class BatchNormImplBase : public Module {
 public:
  BatchNormImplBase(const BatchNormOptions& options, const char* type_name);
  void reset_running_stats();
  void reset_parameters();
  std::string extra_repr() const override;

  BatchNormOptions options;
  Tensor weight, bias;                                   // undefined without affine
  Tensor running_mean, running_var, num_batches_tracked;  // undefined without tracking

 protected:
  // x [N, C] or [N, C, H, W]: batch statistics in training (or when not tracking),
  // running statistics in eval; running stats updated in training.
  Tensor normalize(const Tensor& x);
};

// x [N, C] or [N, C, L].
class BatchNorm1dImpl : public BatchNormImplBase {
 public:
  explicit BatchNorm1dImpl(const BatchNormOptions& options) : BatchNormImplBase(options, "BatchNorm1d") {}
  Tensor forward(const Tensor& x);
};
TG_MODULE(BatchNorm1d);

// x [N, C, H, W].
class BatchNorm2dImpl : public BatchNormImplBase {
 public:
  explicit BatchNorm2dImpl(const BatchNormOptions& options) : BatchNormImplBase(options, "BatchNorm2d") {}
  Tensor forward(const Tensor& x);
};
TG_MODULE(BatchNorm2d);

struct LayerNormOptions {
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT
  TG_ARG(Shape, normalized_shape);
  TG_ARG(double, eps) = 1e-5;
  TG_ARG(bool, elementwise_affine) = true;
};

// Normalises over the trailing normalized_shape dims; weight 1, bias 0 of that shape.
class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  Tensor forward(const Tensor& x);
  void reset_parameters();
  std::string extra_repr() const override;

  LayerNormOptions options;
  Tensor weight, bias;
};
TG_MODULE(LayerNorm);

struct InstanceNormOptions {
  InstanceNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT
  TG_ARG(int64_t, num_features);
  TG_ARG(double, eps) = 1e-5;
  TG_ARG(double, momentum) = 0.1;
  TG_ARG(bool, affine) = false;
  TG_ARG(bool, track_running_stats) = false;
};

// Per-sample, per-channel statistics over (H, W) of x [N, C, H, W].
class InstanceNorm2dImpl : public Module {
 public:
  explicit InstanceNorm2dImpl(const InstanceNormOptions& options);
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;

  InstanceNormOptions options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
TG_MODULE(InstanceNorm2d);

}  // namespace tg::nn
