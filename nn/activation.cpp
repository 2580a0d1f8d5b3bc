// Activation layers: forward to the tg:: activation ops.
#include "nn/activation.h"

#include <sstream>
#include <typeinfo>

#include "autograd/ops.h"

namespace tg::nn {

Tensor ReLUImpl::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLUImpl::forward(const Tensor& x) { return leaky_relu(x, options.negative_slope()); }
Tensor TanhImpl::forward(const Tensor& x) { return tanh(x); }
Tensor SigmoidImpl::forward(const Tensor& x) { return sigmoid(x); }

std::optional<Activation> fused_activation(const Module& module) {
  const std::type_info& type = typeid(module);
  if (type == typeid(ReLUImpl)) return Activation{Activation::relu};
  if (type == typeid(LeakyReLUImpl))
    return Activation{Activation::leaky_relu,
                      static_cast<const LeakyReLUImpl&>(module).options.negative_slope()};
  if (type == typeid(TanhImpl)) return Activation{Activation::tanh};
  if (type == typeid(SigmoidImpl)) return Activation{Activation::sigmoid};
  return std::nullopt;
}

std::string LeakyReLUImpl::extra_repr() const {
  std::ostringstream os;
  os << "negative_slope=" << options.negative_slope();
  return os.str();
}

}  // namespace tg::nn
