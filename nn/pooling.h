// Pooling layers (torch.nn.MaxPool2d / AvgPool2d): stride defaults to kernel_size.
#pragma once

#include <optional>

#include "autograd/ops/conv.h"
#include "nn/arg.h"
#include "nn/module.h"

namespace tg::nn {

struct MaxPool2dOptions {
  MaxPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size) {}  // NOLINT
  TG_ARG(Size2, kernel_size);
  TG_ARG(std::optional<Size2>, stride);
  TG_ARG(Size2, padding) = 0;
  TG_ARG(bool, ceil_mode) = false;
};

class MaxPool2dImpl : public Module {
 public:
  explicit MaxPool2dImpl(Size2 kernel_size) : MaxPool2dImpl(MaxPool2dOptions(kernel_size)) {}
  explicit MaxPool2dImpl(const MaxPool2dOptions& options) : Module("MaxPool2d"), options(options) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  MaxPool2dOptions options;
};
TG_MODULE(MaxPool2d);

struct AvgPool2dOptions {
  AvgPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size) {}  // NOLINT
  TG_ARG(Size2, kernel_size);
  TG_ARG(std::optional<Size2>, stride);
  TG_ARG(Size2, padding) = 0;
  TG_ARG(bool, ceil_mode) = false;
  TG_ARG(bool, count_include_pad) = true;
};

class AvgPool2dImpl : public Module {
 public:
  explicit AvgPool2dImpl(Size2 kernel_size) : AvgPool2dImpl(AvgPool2dOptions(kernel_size)) {}
  explicit AvgPool2dImpl(const AvgPool2dOptions& options) : Module("AvgPool2d"), options(options) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  AvgPool2dOptions options;
};
TG_MODULE(AvgPool2d);

}  // namespace tg::nn
