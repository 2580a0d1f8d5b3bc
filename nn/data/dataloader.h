// DataLoader: batches of a Dataset in order or in a seeded shuffle, with a background thread
// that prepares the next batch while the caller trains on the current one.
//
//   tg::data::DataLoader loader(std::make_shared<tg::data::FashionMNIST>(),
//                               tg::data::DataLoaderOptions(64).shuffle(true).seed(1));
//   for (tg::data::Batch& batch : loader) { ... batch.data, batch.target ... }  // one epoch
#pragma once

#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "nn/arg.h"
#include "nn/data/datasets.h"

namespace tg::data {

struct DataLoaderOptions {
  DataLoaderOptions() = default;
  explicit DataLoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}
  TG_ARG(int64_t, batch_size) = 1;
  TG_ARG(bool, shuffle) = false;
  TG_ARG(uint64_t, seed) = 0;       // with shuffle: the order is a function of (seed, epoch)
  TG_ARG(bool, drop_last) = false;  // drop a last batch smaller than batch_size
  TG_ARG(bool, prefetch) = true;    // false: build each batch on the caller's thread
};

class DataLoader {
  struct Epoch;

 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});

  // An input iterator over one epoch's batches; copies share the epoch.
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = Batch*;
    using reference = Batch&;

    Batch& operator*() const;
    Batch* operator->() const { return &**this; }
    Iterator& operator++();
    bool operator==(const Iterator& other) const;

   private:
    friend class DataLoader;
    Iterator() = default;
    explicit Iterator(std::shared_ptr<Epoch> epoch) : epoch_(std::move(epoch)) {}
    bool at_end() const;
    std::shared_ptr<Epoch> epoch_;  // null for end()
  };

  // Starts epoch epoch() (its first batch is ready on return) and advances epoch() by one.
  // Leaving the loop early stops the background thread.
  Iterator begin();
  Iterator end() const { return Iterator(); }

  int64_t size() const;                     // batches per epoch
  int64_t epoch() const { return epoch_; }  // the epoch the next begin() runs, from 0
  void set_epoch(int64_t epoch);            // e.g. to resume a run from a checkpoint
  // The example indices epoch `epoch` visits, in order (batch k is elements k * B .. k * B + B - 1).
  std::vector<int64_t> order(int64_t epoch) const;

  const Dataset& dataset() const { return *dataset_; }
  const DataLoaderOptions& options() const { return options_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  int64_t epoch_ = 0;
};

}  // namespace tg::data
