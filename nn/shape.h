// Shape layers (torch.nn.Flatten / Unflatten): views, no parameters.
#pragma once

#include "nn/arg.h"
#include "nn/module.h"

namespace tg::nn {

struct FlattenOptions {
  TG_ARG(int64_t, start_dim) = 1;
  TG_ARG(int64_t, end_dim) = -1;
};

// Merges dims start_dim..end_dim into one (keeps the batch dim by default).
class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(const FlattenOptions& options = {}) : Module("Flatten"), options(options) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  FlattenOptions options;
};
TG_MODULE(Flatten);

struct UnflattenOptions {
  UnflattenOptions(int64_t dim, Shape sizes) : dim_(dim), sizes_(std::move(sizes)) {}
  TG_ARG(int64_t, dim);
  TG_ARG(Shape, sizes);
};

// Splits dim into `sizes` (their product must equal the dim's size): [N, 64] -> [N, 4, 4, 4].
class UnflattenImpl : public Module {
 public:
  UnflattenImpl(int64_t dim, Shape sizes) : UnflattenImpl(UnflattenOptions(dim, std::move(sizes))) {}
  explicit UnflattenImpl(const UnflattenOptions& options);
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  UnflattenOptions options;
};
TG_MODULE(Unflatten);

}  // namespace tg::nn
