// Numerical agreement with PyTorch 1.13 for the core ops: for each case folder under
// tests/data/core/agreement (made by tests/data/make_core_reference.py), the same function of
// the same inputs must give PyTorch's outputs and PyTorch's gradients of sum_k <out_k, cot_k>.
// Tolerance: float64 to 1e-12 relative, float32 to 1e-5 (different summation orders and
// libm implementations round differently).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>

#include "test_helpers.h"

using namespace tg;
namespace fs = std::filesystem;

namespace {

const fs::path kRoot = fs::path(TAPEGRAD_TEST_DATA) / "core" / "agreement";

using CaseFn = std::function<TensorList(const TensorList&)>;

Tensor one(const TensorList& t) { return t[0]; }

// The tapegrad side of every case, by folder name (see make_core_reference.py).
const std::map<std::string, CaseFn>& cases() {
  static const std::map<std::string, CaseFn> c = [] {
    std::map<std::string, CaseFn> m;
    for (const std::string sfx : {"", "_f32"}) {
      m["add_broadcast" + sfx] = [](const TensorList& t) { return TensorList{t[0] + t[1]}; };
      m["mul_broadcast" + sfx] = [](const TensorList& t) { return TensorList{t[0] * t[1]}; };
      m["div_broadcast" + sfx] = [](const TensorList& t) { return TensorList{t[0] / t[1]}; };
      m["exp" + sfx] = [](const TensorList& t) { return TensorList{exp(one(t))}; };
      m["log" + sfx] = [](const TensorList& t) { return TensorList{log(one(t))}; };
      m["sigmoid" + sfx] = [](const TensorList& t) { return TensorList{sigmoid(one(t))}; };
      m["tanh" + sfx] = [](const TensorList& t) { return TensorList{tanh(one(t))}; };
      m["softplus" + sfx] = [](const TensorList& t) { return TensorList{softplus(one(t))}; };
      m["pow_2_5" + sfx] = [](const TensorList& t) { return TensorList{pow(one(t), 2.5)}; };
      m["sum_dims" + sfx] = [](const TensorList& t) { return TensorList{sum(one(t), {0, 2})}; };
      m["var_dim" + sfx] = [](const TensorList& t) { return TensorList{var(one(t), {1})}; };
      m["logsumexp" + sfx] = [](const TensorList& t) { return TensorList{logsumexp(one(t), {1})}; };
      m["matmul_batched" + sfx] = [](const TensorList& t) { return TensorList{matmul(t[0], t[1])}; };
      m["linear" + sfx] = [](const TensorList& t) { return TensorList{linear(t[0], t[1], t[2])}; };
    }
    m["add_alpha"] = [](const TensorList& t) { return TensorList{add(t[0], t[1], -0.5)}; };
    m["sub_broadcast"] = [](const TensorList& t) { return TensorList{t[0] - t[1]}; };
    m["sub_alpha"] = [](const TensorList& t) { return TensorList{sub(t[0], t[1], 2.0)}; };
    m["scalar_forms"] = [](const TensorList& t) {
      const Tensor& x = t[0];
      return TensorList{(2.0 - x) * 3.0 + x / 4.0 + 1.5 / x - (x - 0.5) + 2.0 * x};
    };
    m["neg"] = [](const TensorList& t) { return TensorList{-one(t)}; };
    m["sqrt"] = [](const TensorList& t) { return TensorList{sqrt(one(t))}; };
    m["rsqrt"] = [](const TensorList& t) { return TensorList{rsqrt(one(t))}; };
    m["abs"] = [](const TensorList& t) { return TensorList{abs(one(t))}; };
    m["pow_neg_1_5"] = [](const TensorList& t) { return TensorList{pow(one(t), -1.5)}; };
    m["pow_3"] = [](const TensorList& t) { return TensorList{pow(one(t), 3.0)}; };
    m["clamp"] = [](const TensorList& t) { return TensorList{clamp(one(t), -0.5, 0.7)}; };
    m["clamp_min"] = [](const TensorList& t) { return TensorList{clamp_min(one(t), 0.1)}; };
    m["relu"] = [](const TensorList& t) { return TensorList{relu(one(t))}; };
    m["leaky_relu"] = [](const TensorList& t) { return TensorList{leaky_relu(one(t))}; };
    m["leaky_relu_0_2"] = [](const TensorList& t) { return TensorList{leaky_relu(one(t), 0.2)}; };
    m["softplus_beta"] = [](const TensorList& t) { return TensorList{softplus(one(t), 2.0, 3.0)}; };
    m["where"] = [](const TensorList& t) { return TensorList{where(t[0], t[1], t[2])}; };
    m["sum_all"] = [](const TensorList& t) { return TensorList{sum(one(t))}; };
    m["sum_keepdim"] = [](const TensorList& t) { return TensorList{sum(one(t), {-1}, true)}; };
    m["mean_all"] = [](const TensorList& t) { return TensorList{mean(one(t))}; };
    m["mean_dims"] = [](const TensorList& t) { return TensorList{mean(one(t), {0, 2}, true)}; };
    m["var_all_biased"] = [](const TensorList& t) { return TensorList{var(one(t), {}, 0)}; };
    m["var_keepdim"] = [](const TensorList& t) { return TensorList{var(one(t), {0, 2}, 1, true)}; };
    m["max_dim"] = [](const TensorList& t) {
      auto [v, i] = max(one(t), 1);
      return TensorList{v, i};
    };
    m["min_dim_keepdim"] = [](const TensorList& t) {
      auto [v, i] = min(one(t), 0, true);
      return TensorList{v, i};
    };
    m["max_all"] = [](const TensorList& t) { return TensorList{max(one(t))}; };
    m["min_all"] = [](const TensorList& t) { return TensorList{min(one(t))}; };
    m["logsumexp_keepdim"] = [](const TensorList& t) { return TensorList{logsumexp(one(t), {0, 2}, true)}; };
    m["matmul_2d"] = [](const TensorList& t) { return TensorList{matmul(t[0], t[1])}; };
    m["matmul_dot"] = [](const TensorList& t) { return TensorList{matmul(t[0], t[1])}; };
    m["matmul_matvec"] = [](const TensorList& t) { return TensorList{matmul(t[0], t[1])}; };
    m["matmul_vecmat"] = [](const TensorList& t) { return TensorList{matmul(t[0], t[1])}; };
    m["linear_no_bias"] = [](const TensorList& t) { return TensorList{linear(t[0], t[1])}; };
    m["cat"] = [](const TensorList& t) { return TensorList{cat(t, 1)}; };
    m["stack"] = [](const TensorList& t) { return TensorList{stack(t, -1)}; };
    m["views"] = [](const TensorList& t) {
      const Tensor& x = t[0];
      return TensorList{x.transpose(0, 2).flatten(1).narrow(1, 1, 3).unsqueeze(0).squeeze(0),
                        x.select(1, -1),
                        x.slice(2, 1, 4, 2),
                        x.unsqueeze(1).expand({2, 5, 3, 4}),
                        x.permute({1, 2, 0}).reshape({12, 2}),
                        x.view({6, 4})};
    };
    m["two_layer_net"] = [](const TensorList& t) {
      return TensorList{sigmoid(linear(tanh(linear(t[0], t[1], t[2])), t[3], t[4])).mean()};
    };
    return m;
  }();
  return c;
}

// Elementwise |got - want| <= rtol * (|want| + scale): relative, with `scale` (the largest
// |want| of the tensor) guarding entries that cancel to near zero.
void check_agrees(const Tensor& got, const Tensor& want, double rtol, const std::string& what) {
  INFO(what);
  REQUIRE(got.shape() == want.shape());
  CHECK(got.dtype() == want.dtype());
  std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double scale = 0;
  for (double v : w) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": tapegrad " << g[i] << " vs PyTorch " << w[i]);
    CHECK(std::abs(g[i] - w[i]) <= rtol * (std::abs(w[i]) + 1e-3 * scale));
  }
}

std::string file(const fs::path& dir, const std::string& stem, size_t k) {
  return (dir / (stem + std::to_string(k) + ".npy")).string();
}

void run_case(const fs::path& dir, const CaseFn& fn) {
  TensorList inputs;
  for (size_t i = 0; fs::exists(file(dir, "in", i)); ++i) {
    Tensor x = load_npy(file(dir, "in", i));
    if (is_floating(x.dtype())) x.requires_grad_();
    inputs.push_back(x);
  }
  REQUIRE_FALSE(inputs.empty());
  const bool f32 = inputs[0].dtype() == kFloat32 || (inputs.size() > 1 && inputs[1].dtype() == kFloat32);
  const double rtol = f32 ? 1e-5 : 1e-12;
  TensorList outs = fn(inputs);
  TensorList diff_outs, cots;
  for (size_t k = 0; k < outs.size(); ++k) {
    check_agrees(outs[k], load_npy(file(dir, "out", k)), rtol, "output " + std::to_string(k));
    if (is_floating(outs[k].dtype())) {
      diff_outs.push_back(outs[k]);
      cots.push_back(load_npy(file(dir, "cot", k)));
    }
  }
  CHECK_FALSE(fs::exists(file(dir, "out", outs.size())));  // PyTorch gave no more outputs
  TensorList diff_inputs;
  std::vector<size_t> index;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    diff_inputs.push_back(inputs[i]);
    index.push_back(i);
  }
  TensorList grads = autograd::grad(diff_outs, diff_inputs, cots);
  for (size_t j = 0; j < grads.size(); ++j)
    check_agrees(grads[j], load_npy(file(dir, "grad", index[j])), rtol, "gradient of input " + std::to_string(index[j]));
}

}  // namespace

TEST_CASE("core ops agree with PyTorch on the reference cases") {
  REQUIRE(fs::is_directory(kRoot));
  size_t ran = 0, f32 = 0;
  for (const auto& entry : fs::directory_iterator(kRoot)) {
    const std::string name = entry.path().filename().string();
    CAPTURE(name);
    auto it = cases().find(name);
    REQUIRE_MESSAGE(it != cases().end(), "no tapegrad function for the reference case " << name);
    run_case(entry.path(), it->second);
    ++ran;
    f32 += name.ends_with("_f32");
  }
  // Every case defined here has its reference files (the script and this test stay in step).
  CHECK(ran == cases().size());
  CHECK(f32 == 14);
}
