// Loss modules: weights registered as buffers, forward to the tg:: losses.
#include "nn/loss.h"

#include "autograd/ops.h"

namespace tg::nn {

BCELossImpl::BCELossImpl(const BCELossOptions& opts) : Module("BCELoss"), options(opts) {
  if (options.weight().defined()) options.weight(register_buffer("weight", options.weight()));
}

Tensor BCELossImpl::forward(const Tensor& input, const Tensor& target) {
  return binary_cross_entropy(input, target, options.weight(), options.reduction());
}

BCEWithLogitsLossImpl::BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& opts)
    : Module("BCEWithLogitsLoss"), options(opts) {
  if (options.weight().defined()) options.weight(register_buffer("weight", options.weight()));
  if (options.pos_weight().defined()) options.pos_weight(register_buffer("pos_weight", options.pos_weight()));
}

Tensor BCEWithLogitsLossImpl::forward(const Tensor& input, const Tensor& target) {
  return binary_cross_entropy_with_logits(input, target, options.weight(), options.pos_weight(),
                                          options.reduction());
}

Tensor MSELossImpl::forward(const Tensor& input, const Tensor& target) {
  return mse_loss(input, target, options.reduction());
}

Tensor L1LossImpl::forward(const Tensor& input, const Tensor& target) {
  return l1_loss(input, target, options.reduction());
}

CrossEntropyLossImpl::CrossEntropyLossImpl(const CrossEntropyLossOptions& opts)
    : Module("CrossEntropyLoss"), options(opts) {
  if (options.weight().defined()) options.weight(register_buffer("weight", options.weight()));
}

Tensor CrossEntropyLossImpl::forward(const Tensor& input, const Tensor& target) {
  return cross_entropy(input, target, options.weight(), options.reduction());
}

NLLLossImpl::NLLLossImpl(const NLLLossOptions& opts) : Module("NLLLoss"), options(opts) {
  if (options.weight().defined()) options.weight(register_buffer("weight", options.weight()));
}

Tensor NLLLossImpl::forward(const Tensor& input, const Tensor& target) {
  return nll_loss(input, target, options.weight(), options.reduction());
}

}  // namespace tg::nn
