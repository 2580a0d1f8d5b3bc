// Activation layers: forward to the tg:: activation ops.
#include "nn/activation.h"

#include <sstream>

#include "autograd/ops.h"

namespace tg::nn {

Tensor ReLUImpl::forward(const Tensor& x) { return relu(x); }
Tensor LeakyReLUImpl::forward(const Tensor& x) { return leaky_relu(x, options.negative_slope()); }
Tensor TanhImpl::forward(const Tensor& x) { return tanh(x); }
Tensor SigmoidImpl::forward(const Tensor& x) { return sigmoid(x); }

std::string LeakyReLUImpl::extra_repr() const {
  std::ostringstream os;
  os << "negative_slope=" << options.negative_slope();
  return os.str();
}

}  // namespace tg::nn
