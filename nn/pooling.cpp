// MaxPool2d and AvgPool2d layers over the tg:: pooling ops; reprs as PyTorch prints them.
#include "nn/pooling.h"

#include <sstream>

#include "autograd/ops.h"

namespace tg::nn {
namespace {

// PyTorch prints an int for a square size and a tuple otherwise.
std::string size_str(Size2 s) {
  std::ostringstream os;
  if (s.h == s.w) os << s.h;
  else os << "(" << s.h << ", " << s.w << ")";
  return os.str();
}

}  // namespace

Tensor MaxPool2dImpl::forward(const Tensor& x) {
  return max_pool2d(x, options.kernel_size(), options.stride(), options.padding(), options.ceil_mode());
}

std::string MaxPool2dImpl::extra_repr() const {
  return "kernel_size=" + size_str(options.kernel_size()) +
         ", stride=" + size_str(options.stride().value_or(options.kernel_size())) +
         ", padding=" + size_str(options.padding()) +
         ", dilation=1, ceil_mode=" + (options.ceil_mode() ? "True" : "False");
}

Tensor AvgPool2dImpl::forward(const Tensor& x) {
  return avg_pool2d(x, options.kernel_size(), options.stride(), options.padding(), options.ceil_mode(),
                    options.count_include_pad());
}

std::string AvgPool2dImpl::extra_repr() const {
  return "kernel_size=" + size_str(options.kernel_size()) +
         ", stride=" + size_str(options.stride().value_or(options.kernel_size())) +
         ", padding=" + size_str(options.padding());
}

}  // namespace tg::nn
