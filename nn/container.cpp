// Sequential and Functional.
#include "nn/container.h"

namespace tg::nn {

Tensor SequentialImpl::forward(const Tensor& x) {
  TG_CHECK(!entries_.empty(), "Sequential", "forward on an empty Sequential");
  Tensor y = x;
  for (const Entry& e : entries_) y = e.forward(y);
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
