// Linear: options check, PyTorch's default initialisation, forward through tg::linear.
#include "nn/linear.h"

#include <cmath>

#include "autograd/ops.h"
#include "nn/init.h"

namespace tg::nn {

LinearImpl::LinearImpl(const LinearOptions& opts) : Module("Linear"), options(opts) {
  TG_CHECK(options.in_features() >= 0 && options.out_features() >= 0, "Linear",
           "feature counts must be non-negative, got in_features=", options.in_features(),
           ", out_features=", options.out_features());
  weight = register_parameter("weight", empty({options.out_features(), options.in_features()}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_features()}));
  reset_parameters();
}

void LinearImpl::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const int64_t fan_in = options.in_features();
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor LinearImpl::forward(const Tensor& x) {
  TG_CHECK(x.dim() >= 1 && x.size(-1) == options.in_features(), "Linear",
           "expected input with last dimension ", options.in_features(), ", got ", x.str());
  return linear(x, weight, bias);
}

std::string LinearImpl::extra_repr() const {
  return "in_features=" + std::to_string(options.in_features()) +
         ", out_features=" + std::to_string(options.out_features()) +
         ", bias=" + (options.bias() ? "True" : "False");
}

}  // namespace tg::nn
