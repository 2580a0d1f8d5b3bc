// make_dataset: --data names to tg::data sets, with the Fashion-MNIST fallback and --limit.
#include "data.h"

#include <filesystem>
#include <iostream>
#include <stdexcept>

namespace examples {
namespace {

// The first `size` examples of another data set.
class Prefix : public tg::data::Dataset {
 public:
  Prefix(std::shared_ptr<const tg::data::Dataset> base, int64_t size) : base_(std::move(base)), size_(size) {}
  int64_t size() const override { return size_; }
  tg::Shape example_shape() const override { return base_->example_shape(); }

 protected:
  int64_t load_example(int64_t index, float* out) const override { return base_->get(index, out); }

 private:
  std::shared_ptr<const tg::data::Dataset> base_;
  int64_t size_;
};

bool has_idx_files(const std::string& root) {
  namespace fs = std::filesystem;
  return fs::exists(root + "/train-images-idx3-ubyte.gz") || fs::exists(root + "/train-images-idx3-ubyte");
}

}  // namespace

std::shared_ptr<const tg::data::Dataset> make_dataset(const std::string& name, int64_t limit, uint64_t seed,
                                                      const DataOptions& options) {
  const int64_t procedural = limit > 0 ? limit : options.procedural_size;
  // Test examples of a procedural set come from another seed, so they are new draws.
  const uint64_t set_seed = options.split == tg::data::Split::Test ? seed + 1000003 : seed;
  auto mnist_options = tg::data::MNISTOptions().split(options.split).range(options.range).pad_to_32(options.pad_to_32);
  std::shared_ptr<const tg::data::Dataset> set;
  std::string chosen = name;
  if (chosen == "fashion-mnist" && !has_idx_files(tg::data::FashionMNIST::kDebianRoot)) {
    std::cerr << "fashion-mnist: no files in " << tg::data::FashionMNIST::kDebianRoot
              << " (install Debian's dataset-fashion-mnist package); using --data shapes instead\n";
    chosen = "shapes";
  }
  if (chosen == "fashion-mnist") {
    set = std::make_shared<tg::data::FashionMNIST>(mnist_options);
  } else if (chosen.rfind("mnist:", 0) == 0) {
    set = std::make_shared<tg::data::MNIST>(chosen.substr(6), mnist_options);
  } else if (chosen == "shapes" || chosen == "shapes-rgb") {
    const int64_t channels = chosen == "shapes" ? 1 : 3;  // grey, or coloured shapes
    return std::make_shared<tg::data::Shapes>(procedural, set_seed,
                                              tg::data::ShapesOptions().range(options.range).channels(channels));
  } else if (chosen == "ring8") {
    return std::make_shared<tg::data::Ring8>(procedural, set_seed);
  } else {
    throw std::runtime_error("--data: unknown data set '" + name + "' (fashion-mnist | mnist:DIR | shapes | shapes-rgb | ring8)");
  }
  if (limit > 0 && limit < set->size()) return std::make_shared<Prefix>(set, limit);
  return set;
}

}  // namespace examples
