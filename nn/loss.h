// Loss modules (torch.nn.BCELoss / BCEWithLogitsLoss / MSELoss / L1Loss / CrossEntropyLoss /
// NLLLoss): options as PyTorch's, forward(input, target) through the tg:: loss ops. Class
// and positive weights are buffers, so they follow to() and appear in state dicts.
#pragma once

#include "autograd/ops/loss.h"
#include "nn/arg.h"
#include "nn/module.h"

namespace tg::nn {

struct BCELossOptions {
  TG_ARG(Tensor, weight);
  TG_ARG(Reduction, reduction) = Reduction::Mean;
};
class BCELossImpl : public Module {
 public:
  explicit BCELossImpl(const BCELossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  BCELossOptions options;
};
TG_MODULE(BCELoss);

struct BCEWithLogitsLossOptions {
  TG_ARG(Tensor, weight);
  TG_ARG(Tensor, pos_weight);
  TG_ARG(Reduction, reduction) = Reduction::Mean;
};
class BCEWithLogitsLossImpl : public Module {
 public:
  explicit BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  BCEWithLogitsLossOptions options;
};
TG_MODULE(BCEWithLogitsLoss);

struct MSELossOptions {
  TG_ARG(Reduction, reduction) = Reduction::Mean;
};
class MSELossImpl : public Module {
 public:
  explicit MSELossImpl(const MSELossOptions& options = {}) : Module("MSELoss"), options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  MSELossOptions options;
};
TG_MODULE(MSELoss);

struct L1LossOptions {
  TG_ARG(Reduction, reduction) = Reduction::Mean;
};
class L1LossImpl : public Module {
 public:
  explicit L1LossImpl(const L1LossOptions& options = {}) : Module("L1Loss"), options(options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
  L1LossOptions options;
};
TG_MODULE(L1Loss);

struct CrossEntropyLossOptions {
  TG_ARG(Tensor, weight);
  TG_ARG(Reduction, reduction) = Reduction::Mean;
};
// input [N, C] logits, target int64 [N].
class CrossEntropyLossImpl : public Module {
 public:
  explicit CrossEntropyLossImpl(const CrossEntropyLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  CrossEntropyLossOptions options;
};
TG_MODULE(CrossEntropyLoss);

struct NLLLossOptions {
  TG_ARG(Tensor, weight);
  TG_ARG(Reduction, reduction) = Reduction::Mean;
};
// input [N, C] log-probabilities, target int64 [N].
class NLLLossImpl : public Module {
 public:
  explicit NLLLossImpl(const NLLLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  NLLLossOptions options;
};
TG_MODULE(NLLLoss);

}  // namespace tg::nn
