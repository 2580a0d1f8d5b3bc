// Conv2d and ConvTranspose2d (torch.nn.Conv2d / ConvTranspose2d) with PyTorch's options,
// defaults and initialisation.
#pragma once

#include "autograd/ops/conv.h"
#include "nn/arg.h"
#include "nn/module.h"

namespace tg::nn {

struct Conv2dOptions {
  Conv2dOptions(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TG_ARG(int64_t, in_channels);
  TG_ARG(int64_t, out_channels);
  TG_ARG(Size2, kernel_size);
  TG_ARG(Size2, stride) = 1;
  TG_ARG(Size2, padding) = 0;
  TG_ARG(Size2, dilation) = 1;
  TG_ARG(int64_t, groups) = 1;
  TG_ARG(bool, bias) = true;
};

struct ConvTranspose2dOptions {
  ConvTranspose2dOptions(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  TG_ARG(int64_t, in_channels);
  TG_ARG(int64_t, out_channels);
  TG_ARG(Size2, kernel_size);
  TG_ARG(Size2, stride) = 1;
  TG_ARG(Size2, padding) = 0;
  TG_ARG(Size2, output_padding) = 0;
  TG_ARG(int64_t, groups) = 1;
  TG_ARG(bool, bias) = true;
  TG_ARG(Size2, dilation) = 1;
};

// x [N, in_channels, H, W] -> [N, out_channels, H', W']; weight [out, in / groups, kH, kW].
class Conv2dImpl : public Module {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : Conv2dImpl(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  explicit Conv2dImpl(const Conv2dOptions& options);

  Tensor forward(const Tensor& x);
  // forward followed by `activation`, fused into the convolution (Sequential uses it).
  Tensor forward(const Tensor& x, Activation activation);
  // kaiming_uniform_(a = sqrt(5)) weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) bias.
  void reset_parameters();
  std::string extra_repr() const override;

  Conv2dOptions options;
  Tensor weight;
  Tensor bias;
};
TG_MODULE(Conv2d);

// The adjoint of Conv2d in x; weight [in, out / groups, kH, kW] (fan_in from that shape, as
// PyTorch computes it).
class ConvTranspose2dImpl : public Module {
 public:
  ConvTranspose2dImpl(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : ConvTranspose2dImpl(ConvTranspose2dOptions(in_channels, out_channels, kernel_size)) {}
  explicit ConvTranspose2dImpl(const ConvTranspose2dOptions& options);

  Tensor forward(const Tensor& x);
  // forward followed by `activation`, fused into the convolution (Sequential uses it).
  Tensor forward(const Tensor& x, Activation activation);
  void reset_parameters();
  std::string extra_repr() const override;

  ConvTranspose2dOptions options;
  Tensor weight;
  Tensor bias;
};
TG_MODULE(ConvTranspose2d);

}  // namespace tg::nn
