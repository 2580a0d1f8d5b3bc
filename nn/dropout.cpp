// Dropout layer: the probability check, then tg::dropout with the module's training flag.
#include "nn/dropout.h"

#include <sstream>

#include "autograd/ops.h"

namespace tg::nn {

DropoutImpl::DropoutImpl(const DropoutOptions& opts) : Module("Dropout"), options(opts) {
  TG_CHECK(options.p() >= 0 && options.p() <= 1, "Dropout",
           "dropout probability has to be between 0 and 1, but got ", options.p());
}

Tensor DropoutImpl::forward(const Tensor& x) { return dropout(x, options.p(), is_training()); }

std::string DropoutImpl::extra_repr() const {
  std::ostringstream os;
  os << "p=" << options.p() << ", inplace=False";
  return os.str();
}

}  // namespace tg::nn
