// gradcheck / gradgradcheck: full (or sampled) Jacobians, analytic by one-hot backward passes,
// numeric by central differences, compared entry by entry.
#include "autograd/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "backends/kernels.h"

namespace tg {
namespace {

Shape unravel(int64_t flat, const Shape& shape) {
  Shape idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

// The element at row-major position `flat` of a tensor, any strides, as a 0-dim view (no
// autograd), so it is read and written the same way on any device.
Tensor element(const Tensor& t, int64_t flat) {
  Shape idx = unravel(flat, t.shape());
  int64_t off = t.storage_offset();
  for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[d];
  return make_view(t, {}, {}, off);
}

// Stores v in a 0-dim view with the fill kernel: like a plain store, it bumps no version.
void store(const Tensor& e, double v) { TG_KERNEL(fill, e)(e, v); }

std::vector<int64_t> chosen_elements(int64_t n, int64_t max_samples, std::mt19937_64& rng) {
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  if (max_samples <= 0 || max_samples >= n) return all;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(max_samples);
  std::sort(all.begin(), all.end());
  return all;
}

TensorList floating_outputs(const TensorList& outs) {
  TensorList r;
  for (const auto& o : outs)
    if (o.defined() && is_floating(o.dtype())) r.push_back(o);
  return r;
}

}  // namespace

GradcheckResult gradcheck(const DifferentiableFn& fn, const TensorList& inputs,
                          const GradcheckOptions& opt) {
  TensorList diff;  // inputs that require grad
  std::vector<size_t> diff_index;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    TG_CHECK(inputs[i].dtype() == kFloat64, "gradcheck", "input ", i, " is ", inputs[i].str(),
             "; finite differences need float64 inputs");
    TG_CHECK(inputs[i].is_leaf(), "gradcheck", "input ", i, " must be a leaf tensor");
    diff.push_back(inputs[i]);
    diff_index.push_back(i);
  }
  TG_CHECK(!diff.empty(), "gradcheck", "no input requires grad");

  TensorList outputs = floating_outputs(fn(inputs));
  std::mt19937_64 rng(opt.seed);
  GradcheckResult result;
  std::ostringstream failures;
  int reported = 0;

  for (size_t oi = 0; oi < outputs.size(); ++oi) {
    const Tensor& out = outputs[oi];
    const int64_t n_out = out.numel();
    // Analytic Jacobian rows: one backward pass per output element with a one-hot seed.
    std::vector<std::vector<double>> analytic(diff.size(), std::vector<double>());
    for (size_t k = 0; k < diff.size(); ++k) analytic[k].assign(n_out * diff[k].numel(), 0.0);
    if (out.requires_grad()) {
      for (int64_t j = 0; j < n_out; ++j) {
        Tensor seed = zeros_like(out);
        store(element(seed, j), 1.0);
        TensorList g = autograd::grad({out}, diff, {seed}, true, false, true);
        for (size_t k = 0; k < diff.size(); ++k) {
          if (!g[k].defined()) continue;
          std::vector<double> row = g[k].to_vector<double>();
          std::copy(row.begin(), row.end(), analytic[k].begin() + j * diff[k].numel());
        }
      }
    }
    // Numeric columns: perturb one input element at a time.
    for (size_t k = 0; k < diff.size(); ++k) {
      const Tensor& x = diff[k];
      for (int64_t e : chosen_elements(x.numel(), opt.max_samples, rng)) {
        const Tensor p = element(x, e);
        const double orig = p.item<double>();
        std::vector<double> plus, minus;
        // Grad mode stays on: gradgradcheck's fn itself runs a backward pass.
        store(p, orig + opt.eps);
        plus = floating_outputs(fn(inputs))[oi].to_vector<double>();
        store(p, orig - opt.eps);
        minus = floating_outputs(fn(inputs))[oi].to_vector<double>();
        store(p, orig);
        for (int64_t j = 0; j < n_out; ++j) {
          const double numeric = (plus[j] - minus[j]) / (2 * opt.eps);
          const double a = analytic[k][j * x.numel() + e];
          const double abs_err = std::abs(a - numeric);
          const double rel_err = abs_err / std::max(std::abs(numeric), 1e-12);
          ++result.checked;
          result.max_abs_error = std::max(result.max_abs_error, abs_err);
          // Relative error is only meaningful away from zero derivatives.
          if (std::abs(numeric) >= 1e-6) result.max_rel_error = std::max(result.max_rel_error, rel_err);
          if (!(abs_err <= opt.atol + opt.rtol * std::abs(numeric))) {  // NaN fails too
            result.ok = false;
            if (reported++ < 5) {
              failures << "input " << diff_index[k] << " (" << x.str() << ") element " << e
                       << " " << shape_str(unravel(e, x.shape())) << ", output " << oi
                       << " element " << j << ": analytic " << a << " vs numeric " << numeric
                       << " (abs error " << abs_err << ", rel error " << rel_err << "; atol "
                       << opt.atol << ", rtol " << opt.rtol << ")\n";
            }
          }
        }
      }
    }
  }
  if (!result.ok) result.message = "gradcheck failed:\n" + failures.str();
  return result;
}

GradcheckResult gradgradcheck(const DifferentiableFn& fn, const TensorList& inputs,
                              const GradcheckOptions& opt) {
  TensorList outputs = floating_outputs(fn(inputs));
  // Random, fixed cotangents v (float64, seeded), themselves differentiated.
  std::mt19937_64 rng(opt.seed + 1);
  std::normal_distribution<double> normal;
  TensorList vs;
  for (const auto& o : outputs) {
    std::vector<double> v(o.numel());
    for (double& x : v) x = normal(rng);
    vs.push_back(tensor<double>(v, o.shape()).to(o.device()).requires_grad_());
  }
  const size_t n_in = inputs.size();
  TensorList all = inputs;
  all.insert(all.end(), vs.begin(), vs.end());

  DifferentiableFn first_derivative = [fn, n_in](const TensorList& args) {
    TensorList xs(args.begin(), args.begin() + n_in), v(args.begin() + n_in, args.end());
    TensorList outs = floating_outputs(fn(xs));
    TensorList diff, used_outs, used_v;
    for (const auto& x : xs)
      if (x.defined() && x.requires_grad()) diff.push_back(x);
    for (size_t i = 0; i < outs.size(); ++i) {
      if (!outs[i].requires_grad()) continue;
      used_outs.push_back(outs[i]);
      used_v.push_back(v[i]);
    }
    TensorList grads(diff.size());
    if (!used_outs.empty())
      grads = autograd::grad(used_outs, diff, used_v, true, true, true);
    for (size_t i = 0; i < grads.size(); ++i)
      if (!grads[i].defined()) grads[i] = zeros_like(diff[i]);
    return grads;
  };
  return gradcheck(first_derivative, all, opt);
}

}  // namespace tg
