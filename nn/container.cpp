// Sequential and Functional.
#include "nn/container.h"

#include <typeinfo>

#include "nn/activation.h"
#include "nn/conv.h"

namespace tg::nn {

Tensor SequentialImpl::forward(const Tensor& x) {
  TG_CHECK(!entries_.empty(), "Sequential", "forward on an empty Sequential");
  Tensor y = x;
  for (size_t i = 0; i < entries_.size(); ++i) {
    // A convolution followed by an activation runs as one fused op (autograd/ops/conv.h:
    // Activation): the two modules' values and gradients, one pass over the output less.
    if (i + 1 < entries_.size()) {
      const Module& conv = *entries_[i].module;
      const std::optional<Activation> act = fused_activation(*entries_[i + 1].module);
      if (act && typeid(conv) == typeid(Conv2dImpl)) {
        y = static_cast<Conv2dImpl&>(*entries_[i++].module).forward(y, *act);
        continue;
      }
      if (act && typeid(conv) == typeid(ConvTranspose2dImpl)) {
        y = static_cast<ConvTranspose2dImpl&>(*entries_[i++].module).forward(y, *act);
        continue;
      }
    }
    y = entries_[i].forward(y);
  }
  return y;
}

std::shared_ptr<Module> SequentialImpl::ptr(size_t index) const {
  TG_CHECK(index < entries_.size(), "Sequential", "index ", index, " is out of range for a Sequential of ",
           entries_.size(), " modules");
  return entries_[index].module;
}

FunctionalImpl::FunctionalImpl(Function function) : Module("Functional"), function_(std::move(function)) {
  TG_CHECK(function_ != nullptr, "Functional", "the function is empty");
}

Tensor FunctionalImpl::forward(const Tensor& x) { return function_(x); }

}  // namespace tg::nn
