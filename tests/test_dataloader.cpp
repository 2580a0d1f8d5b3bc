// DataLoader: batch sizes and drop_last, every example once per epoch, seeded shuffles that are
// reproducible and uniform, the background thread, early exit, and errors reaching the caller.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>

#include "test_helpers.h"

using namespace tg;
using namespace tg::data;

namespace {

// Example i is a [2, 1, 3] image of the value i, labelled i; counts its loads and their threads,
// and fails on `bad_index`.
class Indexed : public Dataset {
 public:
  explicit Indexed(int64_t n, int64_t bad_index = -1) : n_(n), bad_index_(bad_index) {}
  int64_t size() const override { return n_; }
  Shape example_shape() const override { return {2, 1, 3}; }

  int64_t loads() const { return loads_; }
  std::set<std::thread::id> threads() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_;
  }

 protected:
  int64_t load_example(int64_t index, float* out) const override {
    TG_CHECK(index != bad_index_, "Indexed", "cannot load example ", index);
    std::fill(out, out + 6, static_cast<float>(index));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      threads_.insert(std::this_thread::get_id());
    }
    ++loads_;
    return index;
  }

 private:
  int64_t n_, bad_index_;
  mutable std::atomic<int64_t> loads_{0};
  mutable std::mutex mutex_;
  mutable std::set<std::thread::id> threads_;
};

// The labels of every batch of one epoch, batch by batch.
std::vector<std::vector<int64_t>> run_epoch(DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (Batch& b : loader) out.push_back(b.target.to_vector<int64_t>());
  return out;
}

std::vector<int64_t> flatten(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

}  // namespace

TEST_CASE("batches have batch_size examples, the last one fewer unless drop_last") {
  for (bool prefetch : {true, false}) {
    CAPTURE(prefetch);
    auto data = std::make_shared<Indexed>(10);
    DataLoader keep(data, DataLoaderOptions(3).prefetch(prefetch));
    DataLoader drop(data, DataLoaderOptions(3).drop_last(true).prefetch(prefetch));
    CHECK(keep.size() == 4);
    CHECK(drop.size() == 3);
    const auto kept = run_epoch(keep);
    CHECK(kept == std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}});
    CHECK(run_epoch(drop) == std::vector<std::vector<int64_t>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}});
    DataLoader exact(data, DataLoaderOptions(5).drop_last(true).prefetch(prefetch));
    CHECK(run_epoch(exact).size() == 2);
    DataLoader empty(std::make_shared<Indexed>(0), DataLoaderOptions(4).prefetch(prefetch));
    CHECK(empty.size() == 0);
    CHECK(empty.begin() == empty.end());
  }
}

TEST_CASE("a batch is float32 data [B, example shape] and int64 targets [B] that match") {
  DataLoader loader(std::make_shared<Indexed>(7), DataLoaderOptions(4).shuffle(true).seed(2));
  for (Batch& b : loader) {
    CHECK(b.data.dtype() == kFloat32);
    CHECK(b.target.dtype() == kInt64);
    CHECK(b.data.shape() == Shape{b.target.size(0), 2, 1, 3});
    const auto labels = b.target.to_vector<int64_t>();
    for (size_t i = 0; i < labels.size(); ++i)
      CHECK(b.data.select(0, static_cast<int64_t>(i)).contiguous().to_vector<float>() ==
            std::vector<float>(6, static_cast<float>(labels[i])));
  }
  DataLoader shapes(std::make_shared<Shapes>(5, 1, ShapesOptions().channels(3)), DataLoaderOptions(2));
  CHECK(shapes.begin()->data.shape() == Shape{2, 3, 32, 32});
}

TEST_CASE("a shuffled epoch visits every example once, in an order fixed by (seed, epoch)") {
  auto data = std::make_shared<Indexed>(23);
  DataLoader a(data, DataLoaderOptions(4).shuffle(true).seed(11));
  DataLoader b(data, DataLoaderOptions(4).shuffle(true).seed(11));
  DataLoader c(data, DataLoaderOptions(4).shuffle(true).seed(12));
  const auto a0 = flatten(run_epoch(a)), a1 = flatten(run_epoch(a));
  const auto b0 = flatten(run_epoch(b));
  const auto c0 = flatten(run_epoch(c));
  CHECK(a.epoch() == 2);
  CHECK(a0 == b0);
  CHECK(a0 != c0);
  CHECK(a0 != a1);
  CHECK(a0 == a.order(0));
  CHECK(a1 == a.order(1));
  for (const auto& order : {a0, a1, c0}) {
    std::vector<int64_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int64_t> all(23);
    std::iota(all.begin(), all.end(), 0);
    CHECK(sorted == all);
  }
  // Resuming at epoch 1 repeats epoch 1.
  DataLoader resumed(data, DataLoaderOptions(4).shuffle(true).seed(11));
  resumed.set_epoch(1);
  CHECK(flatten(run_epoch(resumed)) == a1);
  CHECK_THROWS_WITH_ALL(resumed.set_epoch(-2), "set_epoch", "-2");
}

TEST_CASE("the shuffle puts each example first equally often") {
  DataLoader loader(std::make_shared<Indexed>(8), DataLoaderOptions(8).shuffle(true).seed(5));
  std::map<int64_t, int> first;
  constexpr int kEpochs = 8000;
  for (int e = 0; e < kEpochs; ++e) ++first[loader.order(e)[0]];
  REQUIRE(first.size() == 8);
  // 1000 expected per example; the binomial's sigma is 29.6, so 150 is 5 sigma.
  for (const auto& [example, n] : first) CHECK(std::abs(n - 1000) < 150);
}

TEST_CASE("prefetching gives the same batches as loading on the caller's thread") {
  auto data = std::make_shared<Indexed>(50);
  DataLoader threaded(data, DataLoaderOptions(7).shuffle(true).seed(3));
  DataLoader inline_(data, DataLoaderOptions(7).shuffle(true).seed(3).prefetch(false));
  for (int epoch = 0; epoch < 3; ++epoch) CHECK(run_epoch(threaded) == run_epoch(inline_));
}

TEST_CASE("the background thread prepares the next batch, and only that one, while the current is used") {
  auto data = std::make_shared<Indexed>(100);
  DataLoader loader(data, DataLoaderOptions(10));
  auto it = loader.begin();
  CHECK(it->target.to_vector<int64_t>()[0] == 0);
  // Batch 1 is built while batch 0 is held.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (data->loads() < 20 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(data->loads() == 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(data->loads() == 20);  // and not batch 2: the hand-off holds one batch
  CHECK(data->threads().size() == 1);  // one worker thread, not the caller's
  CHECK(data->threads().count(std::this_thread::get_id()) == 0);
  ++it;
  CHECK(it->target.to_vector<int64_t>()[0] == 10);
}

TEST_CASE("leaving the loop early stops the epoch; the next loop starts a new one") {
  auto data = std::make_shared<Indexed>(1000);
  DataLoader loader(data, DataLoaderOptions(10).shuffle(true).seed(1));
  for (Batch& b : loader) {
    CHECK(b.target.size(0) == 10);
    break;
  }
  CHECK(data->loads() <= 30);
  CHECK(loader.epoch() == 1);
  CHECK(flatten(run_epoch(loader)) == loader.order(1));
}

TEST_CASE("a data set's error reaches the caller as tg::Error, with or without prefetch") {
  for (bool prefetch : {true, false}) {
    CAPTURE(prefetch);
    DataLoader loader(std::make_shared<Indexed>(20, 13), DataLoaderOptions(4).prefetch(prefetch));
    int batches = 0;
    CHECK_THROWS_WITH_ALL(
        [&] {
          for (Batch& b : loader) batches += static_cast<int>(b.target.size(0) > 0);
        }(),
        "Indexed", "cannot load example 13");
    CHECK(batches == 3);  // batches 0, 1, 2 came before the one holding example 13
  }
}

TEST_CASE("DataLoader checks its options and its iterators") {
  CHECK_THROWS_WITH_ALL(DataLoader(std::make_shared<Indexed>(4), DataLoaderOptions(0)), "DataLoader",
                        "batch_size must be >= 1", "0");
  CHECK_THROWS_WITH_ALL(DataLoader(nullptr), "DataLoader", "null");
  DataLoader loader(std::make_shared<Indexed>(4), DataLoaderOptions(2));
  CHECK_THROWS_WITH_ALL(*loader.end(), "DataLoader::Iterator", "end iterator");
  CHECK_THROWS_WITH_ALL(loader.order(-1), "DataLoader::order", "-1");
}
