// Gradient checking by central finite differences in float64: the proof that an op's
// backward formula is its derivative (and, with gradgradcheck, that the backward formula's
// own derivative is right, which gradient penalties and create_graph rely on).
#pragma once

#include <functional>
#include <string>

#include "autograd/tensor.h"

namespace tg {

using DifferentiableFn = std::function<TensorList(const TensorList&)>;

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step: truncation error O(eps^2), rounding O(1e-16/eps)
  double atol = 1e-5;  // an entry passes when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-3;
  int64_t max_samples = 0;  // >0: check this many random input elements per input, not all
  uint64_t seed = 0;        // for the sampling and gradgradcheck's random grad_outputs
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  double max_rel_error = 0;
  int64_t checked = 0;  // Jacobian entries compared
  std::string message;  // on failure: input, element, analytic vs numeric, errors
};

// Compares the Jacobian of fn (every floating output w.r.t. every input that requires grad)
// from backward passes against central differences (f(x + eps) - f(x - eps)) / 2 eps.
// Inputs that require grad must be float64 leaves without overlapping memory; they may be
// non-contiguous. fn must be deterministic.
GradcheckResult gradcheck(const DifferentiableFn& fn, const TensorList& inputs,
                          const GradcheckOptions& options = {});

// gradcheck of the map (inputs, v) -> d<fn(inputs), v>/d(inputs), built with create_graph,
// for random v: checks the second derivative (double backward) of fn.
GradcheckResult gradgradcheck(const DifferentiableFn& fn, const TensorList& inputs,
                              const GradcheckOptions& options = {});

}  // namespace tg
