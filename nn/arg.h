// TG_ARG: an option field with a chaining setter and a getter, as libtorch's TORCH_ARG:
//   struct LinearOptions { TG_ARG(bool, bias) = true; };  LinearOptions(3, 4).bias(false).bias()
#pragma once

#include <utility>

#define TG_ARG(T, name)                                          \
 public:                                                         \
  auto name(const T& new_##name)->decltype(*this) {              \
    this->name##_ = new_##name;                                  \
    return *this;                                                \
  }                                                              \
  auto name(T&& new_##name)->decltype(*this) {                   \
    this->name##_ = std::move(new_##name);                       \
    return *this;                                                \
  }                                                              \
  const T& name() const noexcept { return this->name##_; }       \
  T& name() noexcept { return this->name##_; }                   \
                                                                 \
 private:                                                        \
  T name##_
