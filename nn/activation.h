// Activation layers (torch.nn.ReLU / LeakyReLU / Tanh / Sigmoid): no parameters.
#pragma once

#include <optional>

#include "autograd/ops/conv.h"
#include "nn/arg.h"
#include "nn/module.h"

namespace tg::nn {

class ReLUImpl : public Module {
 public:
  ReLUImpl() : Module("ReLU") {}
  Tensor forward(const Tensor& x);
};
TG_MODULE(ReLU);

struct LeakyReLUOptions {
  TG_ARG(double, negative_slope) = 0.01;
};

class LeakyReLUImpl : public Module {
 public:
  explicit LeakyReLUImpl(const LeakyReLUOptions& options = {}) : Module("LeakyReLU"), options(options) {}
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  LeakyReLUOptions options;
};
TG_MODULE(LeakyReLU);

class TanhImpl : public Module {
 public:
  TanhImpl() : Module("Tanh") {}
  Tensor forward(const Tensor& x);
};
TG_MODULE(Tanh);

class SigmoidImpl : public Module {
 public:
  SigmoidImpl() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x);
};
TG_MODULE(Sigmoid);

// The fused-activation form of one of the modules above (exactly that type, not a subclass that
// may change forward), or nothing for any other module.
std::optional<Activation> fused_activation(const Module& module);

}  // namespace tg::nn
