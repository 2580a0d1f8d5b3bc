// Linear (torch.nn.Linear): y = x W^T + b, W [out_features, in_features].
#pragma once

#include "nn/arg.h"
#include "nn/module.h"

namespace tg::nn {

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  TG_ARG(int64_t, in_features);
  TG_ARG(int64_t, out_features);
  TG_ARG(bool, bias) = true;
};

class LinearImpl : public Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features)
      : LinearImpl(LinearOptions(in_features, out_features)) {}
  explicit LinearImpl(const LinearOptions& options);

  Tensor forward(const Tensor& x);
  // PyTorch's default: W ~ kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(in), 1/sqrt(in)),
  // and b ~ U(-1/sqrt(in), 1/sqrt(in)).
  void reset_parameters();
  std::string extra_repr() const override;

  LinearOptions options;
  Tensor weight;
  Tensor bias;  // undefined with bias(false)
};
TG_MODULE(Linear);

}  // namespace tg::nn
