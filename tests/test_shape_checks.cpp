// Shapes are checked once, where a tensor is made (check_shape via empty, from_blob and
// make_view): negative sizes, element counts past 2^63 - 1, byte counts past 2^63 - 1 and views
// whose strides or offset leave their storage are tg::Errors naming the op, never a wrapped
// count that a fill then writes past.
#include <cstdint>
#include <limits>
#include <new>
#include <string>

#include "test_helpers.h"

using namespace tg;

namespace {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t k2e62 = int64_t{1} << 62;
constexpr int64_t k2e40 = int64_t{1} << 40;
}  // namespace

TEST_CASE("factories refuse shapes whose element or byte count passes 2^63 - 1") {
  CHECK_THROWS_WITH_ALL(empty({kMax}), "empty:", "[9223372036854775807]", "float32", "bytes");
  CHECK_THROWS_WITH_ALL(zeros({k2e40, k2e40}), "zeros:", "[1099511627776, 1099511627776]", "too large");
  CHECK_THROWS_WITH_ALL(zeros({k2e62, 4}), "zeros:", "[4611686018427387904, 4]", "2^63 - 1");
  CHECK_THROWS_WITH_ALL(ones({4, k2e62}), "ones:", "[4, 4611686018427387904]");
  CHECK_THROWS_WITH_ALL(full({k2e62, 2, 2}, 1.0), "full:", "too large");
  CHECK_THROWS_WITH_ALL(empty({k2e62, 4}, kFloat64), "empty:", "too large");
  CHECK_THROWS_WITH_ALL(empty({int64_t{1} << 61}, kFloat64), "empty:", "float64", "bytes");
  CHECK_THROWS_WITH_ALL(rand({k2e62, 4}), "rand:", "too large");
  CHECK_THROWS_WITH_ALL(randn({k2e62, 4}), "randn:", "[4611686018427387904, 4]");
  CHECK_THROWS_WITH_ALL(randn({kMax}), "randn:", "bytes");
  CHECK_THROWS_WITH_ALL(randint(0, 5, {k2e62, 4}), "randint:", "too large");
  CHECK_THROWS_WITH_ALL(scalar_tensor(1.0).expand({k2e62, 4}), "expand:", "too large");
  float x = 0;
  CHECK_THROWS_WITH_ALL(from_blob(&x, {k2e62, 4}), "from_blob:", "too large");
  CHECK_THROWS_WITH_ALL(from_blob(&x, {kMax}), "from_blob:", "bytes");
}

// An allocator that has no memory to give.
struct ExhaustedAllocator final : Allocator {
  void* allocate(size_t) override { throw std::bad_alloc(); }
  void deallocate(void*, size_t) override {}
};

TEST_CASE("a failed allocation is a tg::Error naming the factory, the shape and the bytes") {
  Allocator& previous = allocator_for(kCPU);
  ExhaustedAllocator exhausted;
  set_allocator(kCPU, &exhausted);
  std::string message;
  try {
    zeros({3, 5}, kFloat64);
  } catch (const Error& e) {
    message = e.what();
  }
  set_allocator(kCPU, &previous);
  CHECK(message.find("zeros:") != std::string::npos);
  CHECK(message.find("out of memory") != std::string::npos);
  CHECK(message.find("[3, 5]") != std::string::npos);
  CHECK(message.find("120 bytes") != std::string::npos);
}

TEST_CASE("factories refuse negative sizes, naming the op and the shape") {
  CHECK_THROWS_WITH_ALL(empty({2, -3}), "empty:", "[2, -3]", "negative");
  CHECK_THROWS_WITH_ALL(zeros({-1}), "zeros:", "[-1]", "negative");
  CHECK_THROWS_WITH_ALL(randn({-2, 2}), "randn:", "[-2, 2]");
  CHECK_THROWS_WITH_ALL(randint(0, 2, {-4}), "randint:", "[-4]");
  // Two negative sizes whose product matches the values are still negative sizes.
  CHECK_THROWS_WITH_ALL(tensor<float>({1, 2, 3, 4, 5, 6}, {-2, -3}), "tensor:", "[-2, -3]", "negative");
  CHECK_THROWS_WITH_ALL(numel_of({3, -1}), "numel:", "[3, -1]");
}

TEST_CASE("a zero size makes an empty tensor, but the other sizes must still multiply within int64") {
  CHECK(zeros({0, k2e62}).numel() == 0);
  CHECK(zeros({k2e62, 0, 1}).numel() == 0);
  // [0, 2^62, 4]: numel 0, but flatten(1) or a contiguous stride would need 2^64.
  CHECK_THROWS_WITH_ALL(zeros({0, k2e62, 4}), "zeros:", "too large");
  const Tensor e = zeros({0, k2e62});
  CHECK(e.strides() == Shape{k2e62, 1});
  CHECK(e.flatten().shape() == Shape{0});
}

TEST_CASE("view and reshape check the target's product instead of letting it wrap to the input's numel") {
  // 2^62 * 4 wraps to 0 in int64 arithmetic: it must not match an empty input.
  CHECK_THROWS_WITH_ALL(zeros({0}).view({k2e62, 4}), "view:", "[4611686018427387904, 4]", "too large");
  CHECK_THROWS_WITH_ALL(zeros({0}).reshape({4, k2e62}), "view:", "too large");
  CHECK_THROWS_WITH_ALL(zeros({0}).view({k2e62, 4, -1}), "view:", "too large");
  CHECK_THROWS_WITH_ALL(zeros({6}).view({-2, -3}), "view:", "-2", "[-2, -3]");
  CHECK_THROWS_WITH_ALL(zeros({6}).view({-1, -1}), "view:", "only one dimension can be inferred");
  CHECK(zeros({6}).view({-1, 3}).shape() == Shape{2, 3});
  CHECK(zeros({0}).view({0, 5}).shape() == Shape{0, 5});
}

TEST_CASE("expand accepts sizes >= 0 and -1 (keep), nothing else") {
  const Tensor row = ones({1, 3});
  CHECK_THROWS_WITH_ALL(row.expand({-5, 3}), "expand:", "invalid size -5", "[-5, 3]");
  CHECK_THROWS_WITH_ALL(row.expand({2, -2}), "expand:", "invalid size -2");
  CHECK_THROWS_WITH_ALL(row.expand({-3, 1, 3}), "expand:", "invalid size -3");
  CHECK_THROWS_WITH_ALL(row.expand({-1, 1, 3}), "expand:", "new leading dimension");
  CHECK(row.expand({-1, 3}).shape() == Shape{1, 3});
  CHECK(row.expand({4, -1}).shape() == Shape{4, 3});
  CHECK(row.expand({0, 3}).numel() == 0);
  CHECK(row.expand({2, 4, 3}).sum().item<double>() == 24.0);
}

TEST_CASE("slice and narrow with extreme steps and lengths stay in bounds") {
  const Tensor x = arange(10.0);
  CHECK(x.slice(0, 0, 10, kMax).to_vector<double>() == std::vector<double>{0});
  CHECK(x.slice(0, 3, 10, k2e62).to_vector<double>() == std::vector<double>{3});
  CHECK(x.slice(0, 1, 10, 4).to_vector<double>() == std::vector<double>{1, 5, 9});
  CHECK(x.slice(0, 7, kMax).to_vector<double>() == std::vector<double>{7, 8, 9});
  CHECK(x.slice(0, 10, 10, kMax).numel() == 0);
  CHECK_THROWS_WITH_ALL(x.narrow(0, 2, kMax), "narrow:", "exceeds dimension 0 of size 10");
  CHECK_THROWS_WITH_ALL(x.narrow(0, kMax, 1), "narrow:");
  // A slice of an expanded (stride 0) tensor: stride times step stays 0.
  const Tensor wide = scalar_tensor(2.0).expand({5});
  CHECK(wide.slice(0, 0, 5, 2).to_vector<double>() == std::vector<double>{2, 2, 2});
}

TEST_CASE("make_view refuses layouts that leave the storage or overflow") {
  const Tensor base = arange(12.0);
  CHECK(make_view(base, {3, 4}, {4, 1}, 0).at({2, 3}) == 11.0);
  CHECK(make_view(base, {2, 2}, {1, 10}, 0).at({1, 1}) == 11.0);
  CHECK_THROWS_WITH_ALL(make_view(base, {3, 5}, {4, 1}, 0), "make_view:", "reaches element 12",
                        "storage of 12");
  CHECK_THROWS_WITH_ALL(make_view(base, {2}, {1}, 11), "make_view:", "reaches element 12");
  CHECK_THROWS_WITH_ALL(make_view(base, {2}, {1}, -1), "make_view:", "offset -1");
  CHECK_THROWS_WITH_ALL(make_view(base, {2, 2}, {-1, 1}, 4), "make_view:", "negative stride");
  CHECK_THROWS_WITH_ALL(make_view(base, {2}, {1, 1}, 0), "make_view:", "differ in rank");
  CHECK_THROWS_WITH_ALL(make_view(base, {3}, {k2e62}, 0), "make_view:", "beyond 2^63 - 1");
  CHECK_THROWS_WITH_ALL(make_view(base, {2}, {1}, kMax), "make_view:", "beyond 2^63 - 1");
  CHECK_THROWS_WITH_ALL(make_view(base, {-2}, {1}, 0), "make_view:", "negative");
  // An empty view reaches no element: any offset past the end is fine.
  CHECK(make_view(base, {0, 3}, {3, 1}, 40).numel() == 0);
}

TEST_CASE("arange refuses counts no tensor can hold") {
  CHECK_THROWS_WITH_ALL(arange(0.0, 1e300), "arange:", "more than a tensor can hold");
  CHECK_THROWS_WITH_ALL(arange(0.0, std::numeric_limits<double>::infinity()), "arange:");
}
