// Dropout (torch.nn.Dropout): zeroes elements with probability p in training, scaling the
// rest by 1 / (1 - p); the identity in eval.
#pragma once

#include "nn/arg.h"
#include "nn/module.h"

namespace tg::nn {

struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: DropoutOptions(0.3) and Dropout(0.3)
  TG_ARG(double, p);
};

class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& x);
  std::string extra_repr() const override;
  DropoutOptions options;
};
TG_MODULE(Dropout);

}  // namespace tg::nn
