// The losses. binary_cross_entropy, binary_cross_entropy_with_logits and cross_entropy are
// fused (own forward and backward kernels); mse_loss, l1_loss, nll_loss and kl_normal are
// composites of ops. Fused backward: the kernel in a plain backward, the same formula in
// differentiable ops under create_graph (so second derivatives work).
#include "autograd/ops/op_utils.h"

namespace tg {
namespace {

using autograd::BackwardContext;
using kernel::OpId;

void check_reduction(Reduction r, const char* op) {
  const int v = static_cast<int>(r);
  TG_CHECK(v >= 0 && v <= 2, op, "reduction must be Reduction::None, Mean or Sum, got ", v);
}

Tensor reduce(const Tensor& loss, Reduction r) {
  if (r == Reduction::Mean) return mean(loss);
  if (r == Reduction::Sum) return sum(loss);
  return loss;
}

// input and target: defined, same dtype (floating) and device, same shape.
void check_pair(const Tensor& input, const Tensor& target, const char* op, const char* target_name = "target") {
  detail::check_floating(input, op);
  detail::check_defined(target, op, target_name);
  TG_CHECK(target.dtype() == input.dtype() && target.device() == input.device(), op, target_name, " ",
           target.str(), " must have the dtype and device of input ", input.str());
  TG_CHECK(target.shape() == input.shape(), op, target_name, " ", target.str(),
           " must have the same shape as input ", input.str());
}

// An optional weight: undefined, or input's dtype and device and broadcastable to its shape.
void check_weight(const Tensor& w, const Tensor& input, const char* op, const char* what) {
  if (!w.defined()) return;
  TG_CHECK(w.dtype() == input.dtype() && w.device() == input.device(), op, what, " ", w.str(),
           " must have the dtype and device of input ", input.str());
  bool fits = w.dim() <= input.dim();
  for (int64_t i = 1; fits && i <= w.dim(); ++i)
    fits = w.size(-i) == 1 || w.size(-i) == input.size(-i);
  TG_CHECK(fits, op, what, " ", w.str(), " cannot be broadcast to input ", input.str());
}

template <typename Fn>
auto kernel_for(kernel::Slot<Fn> kernel::KernelTable::*slot, OpId id, const Tensor& t) {
  return kernel::lookup(kernel::table_for(t.device()).*slot, id, t.dtype(), t.device());
}

// ---- binary cross-entropy on probabilities (Logits = false) or logits (Logits = true) ----

template <bool Logits>
Tensor binary_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                   const Tensor& pos_weight, Reduction r);

// log(1 + e^-x), exactly: bce_with_logits with target 1 and no weights (differentiable).
Tensor softplus_neg(const Tensor& x) { return binary_loss<true>(x, ones_like(x), {}, {}, Reduction::None); }

// d loss / d input in ops, with gw = g * weight (* 1/n for mean), for create_graph:
//   probabilities: gw (x - y) / max(x (1 - x), 1e-12f)   (PyTorch's EPSILON, a float)
//   logits:        gw (lw s(x) - pw y),  lw = 1 + (pw - 1) y   (gw (s(x) - y) without pw)
template <bool Logits>
Tensor input_grad(const Tensor& gw, const Tensor& x, const Tensor& y, const Tensor& pw) {
  if constexpr (Logits) {
    if (!pw.defined()) return gw * (sigmoid(x) - y);
    return gw * ((1.0 + (pw - 1.0) * y) * sigmoid(x) - pw * y);
  }
  return gw * (x - y) / clamp_min(x * (1.0 - x), static_cast<double>(1e-12f));
}

// d loss / d target:
//   probabilities: loss = (y - 1) max(log(1 - x), -100) - y max(log x, -100), linear in y
//   logits:        loss = (1 - y) x + lw log(1 + e^-x)  ->  -x + (pw - 1) log(1 + e^-x)
template <bool Logits>
Tensor target_grad(const Tensor& gw, const Tensor& x, const Tensor& pw) {
  if constexpr (Logits) {
    if (!pw.defined()) return -(gw * x);
    return gw * ((pw - 1.0) * softplus_neg(x) - x);
  }
  return gw * (clamp_min(log(1.0 - x), -100.0) - clamp_min(log(x), -100.0));
}

template <bool Logits>
Tensor binary_loss(const Tensor& input, const Tensor& target, const Tensor& weight,
                   const Tensor& pos_weight, Reduction r) {
  const char* op = Logits ? "binary_cross_entropy_with_logits" : "binary_cross_entropy";
  check_reduction(r, op);
  check_pair(input, target, op);
  check_weight(weight, input, op, "weight");
  check_weight(pos_weight, input, op, "pos_weight");
  const Shape shape = input.shape();
  Tensor out = detail::empty_with(r == Reduction::None ? shape : Shape{}, input);
  {
    NoGradGuard no_grad;  // the range check and the broadcast views are not on the tape
    if (!Logits && input.numel() > 0) {
      const double lo = min(input).item<double>(), hi = max(input).item<double>();
      TG_CHECK(lo >= 0 && hi <= 1, op, "all elements of input ", input.str(),
               " must be probabilities in [0, 1], got values in [", lo, ", ", hi, "]");
    }
    Tensor w = weight.defined() ? weight.expand(shape) : Tensor();
    Tensor pw = pos_weight.defined() ? pos_weight.expand(shape) : Tensor();
    if constexpr (Logits) {
      kernel_for(&kernel::KernelTable::bce_with_logits, OpId::bce_with_logits, input)(
          out, input, target, w, pw, static_cast<int>(r));
    } else {
      kernel_for(&kernel::KernelTable::binary_cross_entropy, OpId::binary_cross_entropy, input)(
          out, input, target, w, pw, static_cast<int>(r));
    }
  }
  autograd::record(Logits ? "BinaryCrossEntropyWithLogitsBackward" : "BinaryCrossEntropyBackward",
                   {input, target, weight, pos_weight}, {out}, {input, target, weight, pos_weight},
                   [r](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &x = c.saved[0], &y = c.saved[1], &w = c.saved[2], &pw = c.saved[3];
    // Every per-element gradient carries g (0-dim unless Reduction::None), 1/n for mean and w.
    const Tensor gs = r == Reduction::Mean ? g / static_cast<double>(x.numel()) : g;
    const Tensor gw = w.defined() ? gs * w : gs;
    const Shape shape = x.shape();
    TensorList grads(4);
    if (c.needs(0) && GradMode::is_enabled()) {
      grads[0] = input_grad<Logits>(gw, x, y, pw);
    } else if (c.needs(0)) {
      grads[0] = detail::empty_with(shape, x);
      Tensor we = w.defined() ? w.expand(shape) : Tensor(), pwe = pw.defined() ? pw.expand(shape) : Tensor();
      if constexpr (Logits) {
        kernel_for(&kernel::KernelTable::bce_with_logits_backward, OpId::bce_with_logits_backward, x)(
            grads[0], g, x, y, we, pwe, static_cast<int>(r));
      } else {
        kernel_for(&kernel::KernelTable::binary_cross_entropy_backward, OpId::binary_cross_entropy_backward, x)(
            grads[0], g, x, y, we, pwe, static_cast<int>(r));
      }
    }
    if (c.needs(1)) grads[1] = target_grad<Logits>(gw, x, pw);
    // loss = w * (the unweighted loss), so d loss / d w is that loss (summed over broadcasts).
    if (c.needs(2)) grads[2] = sum_to_size(gs * binary_loss<Logits>(x, y, {}, pw, Reduction::None), w.shape());
    // d loss / d pw = y log(1 + e^-x) (pos_weight exists only with logits).
    if (c.needs(3)) grads[3] = sum_to_size(gw * y * softplus_neg(x), pw.shape());
    return grads;
  });
  return out;
}

// ---- class-index losses ----

// input [N, C] floating, target int64 [N] with values in [0, C), weight undefined or [C].
void check_class_problem(const Tensor& input, const Tensor& target, const Tensor& weight, const char* op) {
  detail::check_floating(input, op);
  TG_CHECK(input.dim() == 2, op, "input must be 2-D [N, C] (batch, classes), got ", input.str());
  detail::check_defined(target, op, "target");
  TG_CHECK(target.dtype() == kInt64, op, "target must be an int64 tensor of class indices, got ",
           target.str(), "; convert it with .to(tg::kInt64)");
  TG_CHECK(target.device() == input.device(), op, "target ", target.str(), " must be on the device of input ",
           input.str());
  TG_CHECK(target.dim() == 1 && target.size(0) == input.size(0), op, "target ", target.str(),
           " must be 1-D with one class index per row of input ", input.str());
  const int64_t classes = input.size(1);
  if (weight.defined()) {
    TG_CHECK(weight.dtype() == input.dtype() && weight.device() == input.device(), op, "weight ",
             weight.str(), " must have the dtype and device of input ", input.str());
    TG_CHECK(weight.dim() == 1 && weight.size(0) == classes, op, "weight ", weight.str(),
             " must be 1-D with one weight per class of input ", input.str(), " (", classes, ")");
  }
  const std::vector<int64_t> t = target.to_vector<int64_t>();
  for (size_t i = 0; i < t.size(); ++i) {
    TG_CHECK(t[i] >= 0 && t[i] < classes, op, "target value ", t[i], " at index ", i,
             " is out of range for input ", input.str(), " with ", classes, " classes (expected [0, ",
             classes - 1, "])");
  }
}

// mask[i, c] = (c == target[i]): the one-hot rows of the targets, bool [N, C].
Tensor class_mask(const Tensor& target, int64_t classes) {
  Tensor c = arange(static_cast<double>(classes), TensorOptions(kInt64).device(target.device()));
  return eq(c.view({1, classes}), target.reshape({-1, 1}));
}

// w[target[i]] for each row, [N] (the class weight each row's loss is scaled by).
Tensor row_weights(const Tensor& mask, const Tensor& weight) { return sum(where(mask, weight, 0.0), {1}); }

}  // namespace

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction r) {
  return binary_loss<false>(input, target, weight, {}, r);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction r) {
  return binary_loss<true>(input, target, weight, pos_weight, r);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction r) {
  const char* op = "cross_entropy";
  check_reduction(r, op);
  check_class_problem(input, target, weight, op);
  Tensor out = detail::empty_with(r == Reduction::None ? Shape{input.size(0)} : Shape{}, input);
  kernel_for(&kernel::KernelTable::cross_entropy, OpId::cross_entropy, input)(out, input, target, weight, Tensor(),
                                                                              static_cast<int>(r));
  autograd::record("CrossEntropyBackward", {input, weight}, {out}, {input, target, weight, out},
                   [r](const BackwardContext& c) {
    const Tensor &g = c.grads[0], &x = c.saved[0], &t = c.saved[1], &w = c.saved[2], &loss = c.saved[3];
    const Tensor mask = class_mask(t, x.size(1)), onehot = mask.to(x.dtype());
    const Tensor wt = w.defined() ? row_weights(mask, w) : Tensor();
    // Mean divides the weighted sum by W = sum_i w[t_i] (N without weights).
    const Tensor gs = r != Reduction::Mean ? g : (wt.defined() ? g / sum(wt) : g / static_cast<double>(x.size(0)));
    const Tensor g_rows = r == Reduction::None ? gs.unsqueeze(1) : gs;  // broadcasts over classes
    TensorList grads(2);
    if (c.needs(0) && GradMode::is_enabled()) {
      // d/dx_ic of w[t_i] (logsumexp(x_i) - x_i[t_i]) = w[t_i] (softmax(x_i)_c - [c = t_i]).
      const Tensor scale = wt.defined() ? g_rows * wt.unsqueeze(1) : g_rows;
      grads[0] = scale * (softmax(x, 1) - onehot);
    } else if (c.needs(0)) {
      grads[0] = detail::empty_with(x.shape(), x);
      kernel_for(&kernel::KernelTable::cross_entropy_backward, OpId::cross_entropy_backward, x)(
          grads[0], g, x, t, w, Tensor(), static_cast<int>(r));
    }
    if (c.needs(1)) {
      // With l_i = logsumexp(x_i) - x_i[t_i] (unweighted), d/dw_c sums over the rows of class c:
      //   none: g_i l_i;  sum: g l_i;  mean (L = sum w[t_i] l_i / W): g (l_i - L) / W.
      const Tensor l = logsumexp(x, {1}) - sum(onehot * x, {1});
      const Tensor per_row = r == Reduction::Mean ? l - loss : l;
      grads[1] = sum(onehot * (per_row * gs).unsqueeze(1), {0});
    }
    return grads;
  });
  return out;
}

// loss_i = -w[t_i] input[i, t_i]; mean divides by sum_i w[t_i], as PyTorch.
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, Reduction r) {
  const char* op = "nll_loss";
  check_reduction(r, op);
  check_class_problem(input, target, weight, op);
  const Tensor mask = class_mask(target, input.size(1));
  const Tensor picked = sum(where(mask, input, 0.0), {1});
  if (!weight.defined()) return reduce(-picked, r);
  const Tensor wt = row_weights(mask, weight);
  const Tensor loss = -(wt * picked);
  return r == Reduction::Mean ? sum(loss) / sum(wt) : reduce(loss, r);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r) {
  check_reduction(r, "mse_loss");
  check_pair(input, target, "mse_loss");
  const Tensor d = input - target;
  return reduce(d * d, r);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r) {
  check_reduction(r, "l1_loss");
  check_pair(input, target, "l1_loss");
  return reduce(abs(input - target), r);  // subgradient 0 where input == target, as PyTorch
}

// KL(N(mu, s^2) || N(0, 1)) = -1/2 (1 + log s^2 - mu^2 - s^2) per element, s^2 = exp(logvar).
Tensor kl_normal(const Tensor& mu, const Tensor& logvar, Reduction r) {
  check_reduction(r, "kl_normal");
  check_pair(mu, logvar, "kl_normal", "logvar");
  return reduce((1.0 + logvar - mu * mu - exp(logvar)) * -0.5, r);
}

}  // namespace tg
