// The catalogue of gradient checks the gradcheck program runs: one small, representative
// case per op (float64 inputs, away from kinks), with whether double backward is checked.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tapegrad.h"

struct OpCase {
  std::string op;
  std::function<tg::TensorList()> make_inputs;  // seeded by the caller
  tg::DifferentiableFn fn;
  bool second_order;  // also run gradgradcheck
};

std::vector<OpCase> op_cases();
