// DataLoader: the epoch order (a Philox-driven Fisher-Yates shuffle, a pure function of seed
// and epoch) and the one-slot producer/consumer hand-off with the background thread.
#include "nn/data/dataloader.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>
#include <utility>

#include "autograd/random.h"

namespace tg::data {

// One pass over the data. With prefetch, a worker thread builds batch k + 1 while the caller
// holds batch k: it waits until the one-slot hand-off is empty, builds the next batch, and
// puts it there; the caller takes it in advance(). Batches come in order, so the sequence is
// the same with or without the thread.
struct DataLoader::Epoch {
  Epoch(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> order, int64_t batch_size,
        int64_t batches, bool prefetch)
      : dataset(std::move(dataset)), order(std::move(order)), batch_size(batch_size), batches(batches) {
    if (prefetch) worker = std::thread([this] { produce(); });
  }
  Epoch(const Epoch&) = delete;
  Epoch& operator=(const Epoch&) = delete;
  ~Epoch() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    changed.notify_all();
    if (worker.joinable()) worker.join();
  }

  Batch make_batch(int64_t k) const {
    const int64_t first = k * batch_size;
    const int64_t last = std::min<int64_t>(first + batch_size, static_cast<int64_t>(order.size()));
    return dataset->get_batch(std::vector<int64_t>(order.begin() + first, order.begin() + last));
  }

  void produce() {
    for (int64_t k = 0; k < batches; ++k) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return stop || !ready; });
        if (stop) return;
      }
      std::optional<Batch> batch;
      std::exception_ptr failure;
      try {
        batch = make_batch(k);
      } catch (...) {
        failure = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex);
        ready = std::move(batch);
        error = failure;
        if (failure) finished = true;
      }
      changed.notify_all();
      if (failure) return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      finished = true;
    }
    changed.notify_all();
  }

  // Makes `current` the next batch, or empty at the end; rethrows a failure of the worker.
  void advance() {
    if (!worker.joinable()) {
      current.reset();
      if (next < batches) current = make_batch(next++);
      return;
    }
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, [&] { return ready || error || finished; });
    current = std::move(ready);
    ready.reset();
    if (std::exception_ptr e = std::exchange(error, nullptr)) std::rethrow_exception(e);
    lock.unlock();
    changed.notify_all();
  }

  std::shared_ptr<const Dataset> dataset;
  std::vector<int64_t> order;
  int64_t batch_size;
  int64_t batches;
  std::optional<Batch> current;
  int64_t next = 0;  // without prefetch: the next batch to build

  std::thread worker;
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<Batch> ready;  // the hand-off slot
  std::exception_ptr error;
  bool finished = false;
  bool stop = false;
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  TG_CHECK(dataset_ != nullptr, "DataLoader", "the data set is null");
  TG_CHECK(options.batch_size() >= 1, "DataLoader", "batch_size must be >= 1, got ", options.batch_size());
  TG_CHECK(dataset_->size() < (int64_t{1} << 32), "DataLoader", "data sets of 2^32 examples or more are not supported, got ",
           dataset_->size());
}

int64_t DataLoader::size() const {
  const int64_t n = dataset_->size(), b = options_.batch_size();
  return options_.drop_last() ? n / b : (n + b - 1) / b;
}

void DataLoader::set_epoch(int64_t epoch) {
  TG_CHECK(epoch >= 0, "DataLoader::set_epoch", "epoch must be >= 0, got ", epoch);
  epoch_ = epoch;
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  TG_CHECK(epoch >= 0, "DataLoader::order", "epoch must be >= 0, got ", epoch);
  std::vector<int64_t> idx(static_cast<size_t>(dataset_->size()));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  if (!options_.shuffle()) return idx;
  // Fisher-Yates (Knuth, TAOCP vol. 2, Algorithm P): position i swaps with a uniform j in
  // 0..i, drawn from the Philox block at counter (epoch, i) under key seed. A 64-bit draw
  // reduced mod i + 1 is biased by at most (i + 1) / 2^64.
  for (int64_t i = static_cast<int64_t>(idx.size()) - 1; i > 0; --i) {
    const auto w = philox4x32((static_cast<uint64_t>(epoch) << 32) | static_cast<uint64_t>(i), options_.seed());
    const uint64_t r = ((static_cast<uint64_t>(w[0]) << 32) | w[1]) % static_cast<uint64_t>(i + 1);
    std::swap(idx[i], idx[r]);
  }
  return idx;
}

DataLoader::Iterator DataLoader::begin() {
  auto epoch = std::make_shared<Epoch>(dataset_, order(epoch_), options_.batch_size(), size(), options_.prefetch());
  ++epoch_;
  epoch->advance();
  return Iterator(std::move(epoch));
}

Batch& DataLoader::Iterator::operator*() const {
  TG_CHECK(!at_end(), "DataLoader::Iterator", "dereferencing the end iterator");
  return *epoch_->current;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  TG_CHECK(!at_end(), "DataLoader::Iterator", "incrementing the end iterator");
  epoch_->advance();
  return *this;
}

bool DataLoader::Iterator::at_end() const { return !epoch_ || !epoch_->current; }

bool DataLoader::Iterator::operator==(const Iterator& other) const {
  if (at_end() || other.at_end()) return at_end() && other.at_end();
  return epoch_ == other.epoch_;
}

}  // namespace tg::data
