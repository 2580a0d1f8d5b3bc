// Dropout: zeroes each element with probability p and scales the rest by 1 / (1 − p)
// (inverted dropout, so the expected value is unchanged and eval mode is the identity).
#include "autograd/ops/op_utils.h"

namespace tg {

Tensor dropout(const Tensor& x, double p, bool training) {
  detail::check_floating(x, "dropout");
  TG_CHECK(p >= 0 && p <= 1, "dropout", "dropout probability has to be between 0 and 1, but got ", p);
  if (!training || p == 0) return x;
  if (p == 1) return x * 0.0;  // every element dropped; no 1 / (1 − p) = inf, so no 0·inf = NaN

  // mask = [u < 1 − p] / (1 − p) with u ~ U[0, 1) from the default generator, so a seeded
  // run draws the same mask; y = x·mask and dy/dx = mask (the same mask in backward).
  Tensor mask;
  Tensor y;
  {
    NoGradGuard no_grad;
    Tensor u = rand(x.shape(), TensorOptions(x.dtype()).device(x.device()));
    mask = (u < 1.0 - p).to(x.dtype()) * (1.0 / (1.0 - p));
    y = x * mask;
  }
  autograd::record("DropoutBackward", {x}, {y}, {mask}, [](const autograd::BackwardContext& c) {
    return TensorList{c.grads[0] * c.saved[0]};
  });
  return y;
}

}  // namespace tg
