// The Tensor API: factories, seeding, views sharing storage, copies and conversions, element
// access and the printed form.
#include <cmath>
#include <limits>
#include <sstream>

#include "test_helpers.h"

using namespace tg;

namespace {

std::string printed(const Tensor& t) {
  std::ostringstream os;
  os << t;
  return os.str();
}

bool same_storage(const Tensor& a, const Tensor& b) { return a.impl()->storage == b.impl()->storage; }

}  // namespace

TEST_CASE("empty, zeros, ones and full make contiguous tensors of the asked shape and dtype") {
  Tensor e = empty({2, 3}, kFloat64);
  CHECK(e.shape() == Shape{2, 3});
  CHECK(e.strides() == Shape{3, 1});
  CHECK(e.dtype() == kFloat64);
  CHECK(e.device() == kCPU);
  CHECK(e.is_contiguous());
  CHECK(e.is_leaf());
  CHECK_FALSE(e.requires_grad());
  CHECK(zeros({3}).to_vector<double>() == std::vector<double>{0, 0, 0});
  CHECK(zeros({3}).dtype() == kFloat32);
  CHECK(ones({2, 1}, kInt64).to_vector<int64_t>() == std::vector<int64_t>{1, 1});
  CHECK(full({2}, -2.5, kFloat64).to_vector<double>() == std::vector<double>{-2.5, -2.5});
  CHECK(full({}, 7.0).dim() == 0);
  CHECK(full({}, 7.0).numel() == 1);
  CHECK(zeros({0, 4}).numel() == 0);
  CHECK(ones({1, 1, 2}, kBool).to_vector<double>() == std::vector<double>{1, 1});
  Tensor r = zeros({2}, TensorOptions(kFloat64).requires_grad());
  CHECK(r.requires_grad());
  CHECK(r.is_leaf());
  CHECK(scalar_tensor(3.0, kFloat64).item<double>() == 3.0);
}

TEST_CASE("arange and linspace follow PyTorch's values") {
  CHECK(arange(4.0).to_vector<double>() == std::vector<double>{0, 1, 2, 3});
  CHECK(arange(4.0).dtype() == kFloat32);
  CHECK(arange(1.0, 2.0, 0.25, kFloat64).to_vector<double>() == std::vector<double>{1, 1.25, 1.5, 1.75});
  CHECK(arange(0.0, -1.0, -0.5).to_vector<double>() == std::vector<double>{0, -0.5});
  CHECK(arange(0.0, 1.0, 0.3).numel() == 4);  // ceil((end - start) / step)
  CHECK(arange(3.0, 3.0).numel() == 0);
  CHECK(arange(5.0, kInt64).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(linspace(0.0, 1.0, 5, kFloat64).to_vector<double>() == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  // The last value is exactly `end`, the first exactly `start`, even when the step rounds.
  std::vector<double> l = linspace(-1.0, 0.7, 11, kFloat64).to_vector<double>();
  CHECK(l.front() == -1.0);
  CHECK(l.back() == 0.7);
  CHECK(linspace(2.0, 5.0, 1).to_vector<double>() == std::vector<double>{2.0});
  CHECK(linspace(2.0, 5.0, 0).numel() == 0);
}

TEST_CASE("rand and randn are seeded by manual_seed and have the right distribution") {
  manual_seed(42);
  Tensor a = rand({1000}, kFloat64);
  Tensor b = randn({3, 4});
  manual_seed(42);
  CHECK(rand({1000}, kFloat64).to_vector<double>() == a.to_vector<double>());
  CHECK(randn({3, 4}).to_vector<double>() == b.to_vector<double>());
  // A later draw continues the stream rather than repeating it.
  CHECK(randn({3, 4}).to_vector<double>() != b.to_vector<double>());
  // get/set_rng_state replays a stream.
  GeneratorState s = get_rng_state();
  Tensor c = randn({5}, kFloat64);
  set_rng_state(s);
  CHECK(randn({5}, kFloat64).to_vector<double>() == c.to_vector<double>());

  for (double v : a.to_vector<double>()) CHECK((v >= 0.0 && v < 1.0));
  manual_seed(7);
  std::vector<double> n = randn({20000}, kFloat64).to_vector<double>();
  double mean = 0, sq = 0;
  for (double v : n) mean += v, sq += v * v;
  mean /= n.size();
  const double var = sq / n.size() - mean * mean;
  // Standard error of the mean of 20000 N(0, 1) draws is 0.007; of the variance 0.01.
  CHECK(std::abs(mean) < 0.03);
  CHECK(std::abs(var - 1.0) < 0.04);
  Tensor i = randint(-2, 3, {200});
  CHECK(i.dtype() == kInt64);
  for (int64_t v : i.to_vector<int64_t>()) CHECK((v >= -2 && v < 3));
  CHECK(rand({2}, kFloat32).dtype() == kFloat32);
}

TEST_CASE("randint draws over any [low, high), the full int64 range included") {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  manual_seed(3);
  // The full range: high - low = 2^64 - 1 overflows int64. 4000 draws of a uniform over
  // [-2^63, 2^63 - 1) fall in each of the 8 equal slices about 500 times (standard deviation 21);
  // half are negative.
  const std::vector<int64_t> full = randint(kMin, kMax, {4000}).to_vector<int64_t>();
  std::vector<int> slices(8, 0);
  int64_t negative = 0, distinct_top_bits = 0;
  std::vector<bool> seen(256, false);
  for (int64_t v : full) {
    CHECK(v < kMax);
    const auto u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);  // order-preserving: kMin -> 0
    ++slices[u >> 61];
    negative += v < 0;
    if (!seen[u >> 56]) seen[u >> 56] = true, ++distinct_top_bits;
  }
  for (int count : slices) CHECK((count > 400 && count < 600));
  CHECK((negative > 1850 && negative < 2150));
  CHECK(distinct_top_bits > 250);  // of 256 byte values, 4000 draws leave ~0 unseen

  // Ranges across zero and past 2^63 - 1 in width, a width of one, and the edges.
  for (int64_t v : randint(-5, kMax, {500}).to_vector<int64_t>()) CHECK(v >= -5);
  for (int64_t v : randint(kMin, kMin + 3, {200}).to_vector<int64_t>()) CHECK((v >= kMin && v < kMin + 3));
  for (int64_t v : randint(kMax - 1, kMax, {50}).to_vector<int64_t>()) CHECK(v == kMax - 1);
  const std::vector<int64_t> dice = randint(1, 7, {6000}).to_vector<int64_t>();
  std::vector<int> faces(7, 0);
  for (int64_t v : dice) ++faces[v];
  for (int f = 1; f <= 6; ++f) CHECK((faces[f] > 850 && faces[f] < 1150));  // 1000 +- 29 each
  CHECK(randint(0, 10, {3}, kFloat64).dtype() == kFloat64);
  // Seeded like every random factory.
  manual_seed(11);
  const std::vector<int64_t> first = randint(kMin, kMax, {16}).to_vector<int64_t>();
  manual_seed(11);
  CHECK(randint(kMin, kMax, {16}).to_vector<int64_t>() == first);
}

TEST_CASE("tensor() copies values and from_blob wraps memory without copying") {
  std::vector<double> v{1, 2, 3, 4, 5, 6};
  Tensor t = tensor<double>(v, {2, 3});
  v[0] = 100;
  CHECK(t.at({0, 0}) == 1.0);
  CHECK(tensor<float>({1, 2, 3}).shape() == Shape{3});
  CHECK(tensor<int64_t>({7}, {}).dim() == 0);
  CHECK(tensor<uint8_t>({1, 2}).dtype() == kUInt8);

  float buffer[6] = {0, 1, 2, 3, 4, 5};
  Tensor b = from_blob(buffer, {3, 2});
  CHECK(b.raw_data() == static_cast<void*>(buffer));
  buffer[5] = -1;
  CHECK(b.at({2, 1}) == -1.0);
  {
    NoGradGuard g;
    b.fill_(9.0);
  }
  CHECK(buffer[0] == 9.0f);
  Tensor d = from_blob(v.data(), {6}, kFloat64);
  CHECK(d.at({0}) == 100.0);
}

TEST_CASE("the *_like factories copy shape, dtype and device, not values or grad state") {
  manual_seed(1);
  Tensor x = randn({2, 3}, kFloat64).requires_grad_();
  for (const Tensor& l : {empty_like(x), zeros_like(x), ones_like(x), full_like(x, 2.0), rand_like(x), randn_like(x)}) {
    CHECK(l.shape() == x.shape());
    CHECK(l.dtype() == kFloat64);
    CHECK(l.device() == x.device());
    CHECK_FALSE(l.requires_grad());
  }
  CHECK(full_like(x, 2.0).to_vector<double>() == std::vector<double>(6, 2.0));
  CHECK(zeros_like(x.t()).is_contiguous());
}

TEST_CASE("views share storage with their base (no copy) and writes show through") {
  Tensor base = arange(24.0, kFloat64).view({2, 3, 4});
  const std::vector<Tensor> views = {
      base.view({6, 4}),         base.reshape({4, 6}),     base.transpose(0, 2),
      base.permute({1, 2, 0}),   base.narrow(2, 1, 2),     base.slice(1, 0, 3, 2),
      base.select(0, 1),         base.unsqueeze(1),        base.narrow(0, 0, 1).squeeze(),
      base.narrow(0, 0, 1).squeeze(0), base.flatten(),    base.flatten(1, 2),
      base.select(2, 0).unsqueeze(-1).expand({2, 3, 5}), base.detach(), base.contiguous()};
  for (const Tensor& v : views) CHECK(same_storage(v, base));
  Tensor col = base.select(2, 3);  // [2, 3], elements 3, 7, 11, 15, 19, 23
  CHECK(col.storage_offset() == 3);
  CHECK(col.strides() == Shape{12, 4});
  {
    NoGradGuard g;
    col.fill_(-1.0);
  }
  CHECK(base.at({1, 2, 3}) == -1.0);
  CHECK(base.at({1, 2, 2}) == 22.0);
  CHECK(base.transpose(0, 2).at({3, 1, 0}) == -1.0);
  // A view bumps the shared version counter seen by every other view.
  CHECK(col.version() == base.version());
  // reshape of a non-contiguous tensor cannot be a view: it copies.
  Tensor t = base.transpose(0, 1);
  CHECK_FALSE(same_storage(t.reshape({-1}), base));
  CHECK(t.reshape({-1}).to_vector<double>() == t.contiguous().view({-1}).to_vector<double>());
}

TEST_CASE("contiguous, clone and to(dtype) copy exactly when they must") {
  manual_seed(2);
  Tensor x = randn({3, 4}, kFloat64);
  CHECK(x.contiguous().is_same(x));
  Tensor xt = x.t();
  Tensor c = xt.contiguous();
  CHECK(c.is_contiguous());
  CHECK_FALSE(same_storage(c, x));
  CHECK(c.to_vector<double>() == xt.to_vector<double>());
  Tensor k = x.clone();
  CHECK_FALSE(same_storage(k, x));
  CHECK(k.to_vector<double>() == x.to_vector<double>());
  CHECK(x.to(kFloat64).is_same(x));
  CHECK(x.to(kCPU).is_same(x));

  Tensor f = tensor<double>({-1.7, -0.2, 0.0, 0.6, 2.9});
  CHECK(f.to(kInt64).to_vector<int64_t>() == std::vector<int64_t>{-1, 0, 0, 0, 2});  // toward zero
  CHECK(f.to(kBool).to_vector<double>() == std::vector<double>{1, 1, 0, 1, 1});
  CHECK(f.to(kFloat32).to_vector<float>() == std::vector<float>{-1.7f, -0.2f, 0.0f, 0.6f, 2.9f});
  CHECK(tensor<uint8_t>({255, 3}).to(kFloat32).to_vector<double>() == std::vector<double>{255, 3});

  // Copies are differentiable; the gradient of to(dtype) comes back in the input's dtype.
  Tensor leaf = tensor<double>({1.0, 2.0}).requires_grad_();
  Tensor y = leaf.to(kFloat32);
  CHECK(y.grad_fn_name() == "ToCopyBackward");
  (y * y).sum().backward();
  CHECK(leaf.grad().dtype() == kFloat64);
  CHECK(leaf.grad().to_vector<double>() == std::vector<double>{2.0, 4.0});
  CHECK(leaf.clone().grad_fn_name() == "CloneBackward");
  CHECK_GRADCHECK([](const TensorList& in) { return TensorList{in[0].t().contiguous() * 2.0}; },
                  TensorList{test::leaf({2, 3})});
}

TEST_CASE("item, at and to_vector read values of any layout and dtype") {
  Tensor x = arange(6.0, kFloat64).view({2, 3});
  CHECK(x.at({1, 2}) == 5.0);
  CHECK(x.at({-1, -3}) == 3.0);
  CHECK(x.t().at({2, 0}) == 2.0);
  CHECK(x.select(1, 1).to_vector<double>() == std::vector<double>{1, 4});
  CHECK(x.t().to_vector<double>() == std::vector<double>{0, 3, 1, 4, 2, 5});
  CHECK(x.narrow(1, 2, 1).narrow(0, 1, 1).item<double>() == 5.0);
  CHECK(tensor<int64_t>({1LL << 40}).item<int64_t>() == 1LL << 40);
  CHECK(scalar_tensor(0.5).item<float>() == 0.5f);
  CHECK(tensor<double>({0.0}).to(kBool).item<bool>() == false);
  CHECK(x.to_vector<float>() == std::vector<float>{0, 1, 2, 3, 4, 5});
  Tensor s = scalar_tensor(2.0, kFloat64);
  CHECK(s.at({}) == 2.0);
}

TEST_CASE("operator<< prints like PyTorch's repr") {
  CHECK(printed(tensor<double>({0.1, -1.2, 3, 4}, {2, 2})) ==
        "tensor([[ 0.1000, -1.2000],\n"
        "        [ 3.0000,  4.0000]], dtype=float64)");
  CHECK(printed(tensor<float>({1, 2.5f})) == "tensor([1.0000, 2.5000])");
  CHECK(printed(tensor<int64_t>({-1, 10, 3})) == "tensor([-1, 10,  3])");
  CHECK(printed(tensor<uint8_t>({1, 200})) == "tensor([  1, 200], dtype=uint8)");
  CHECK(printed(tensor<double>({1, 0}).to(kBool)) == "tensor([ True, False])");
  CHECK(printed(scalar_tensor(2.5)) == "tensor(2.5000)");
  CHECK(printed(zeros({0, 3})) == "tensor([], size=[0, 3])");
  CHECK(printed(tensor<double>({1e-5, 1.0, 123456.0})) ==
        "tensor([1.0000e-05, 1.0000e+00, 1.2346e+05], dtype=float64)");
  CHECK(printed(tensor<float>({NAN, INFINITY, -1})) == "tensor([    nan,     inf, -1.0000])");
  CHECK(printed(arange(8.0).view({2, 2, 2})) ==
        "tensor([[[0.0000, 1.0000],\n"
        "         [2.0000, 3.0000]],\n"
        "\n"
        "        [[4.0000, 5.0000],\n"
        "         [6.0000, 7.0000]]])");
  Tensor x = tensor<double>({1, 2}).requires_grad_();
  CHECK(printed(x) == "tensor([1.0000, 2.0000], dtype=float64, requires_grad=True)");
  CHECK(printed(x * x) == "tensor([1.0000, 4.0000], dtype=float64, grad_fn=<MulBackward>)");
  CHECK(printed(arange(2000.0)) ==
        "tensor([   0.0000,    1.0000,    2.0000, ..., 1997.0000, 1998.0000, 1999.0000], size=[2000])");
  CHECK(printed(Tensor()) == "tensor(undefined)");
  CHECK(zeros({2, 3}, kFloat64).str() == "float64[2, 3] (cpu)");
}

TEST_CASE("requires_grad_, detach and grad_fn describe the autograd state") {
  Tensor x = ones({2}, kFloat64);
  CHECK_FALSE(x.requires_grad());
  x.requires_grad_();
  CHECK(x.requires_grad());
  CHECK(x.is_leaf());
  Tensor y = x * 2.0;
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn() != nullptr);
  Tensor d = y.detach();
  CHECK(d.is_leaf());
  CHECK_FALSE(d.requires_grad());
  CHECK(same_storage(d, y));
  x.requires_grad_(false);
  CHECK_FALSE(x.requires_grad());
}
