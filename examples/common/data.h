// The training data named by --data (fashion-mnist | mnist:DIR | shapes | shapes-rgb | ring8),
// cut to --limit examples: one call for every example program.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tapegrad.h"

namespace examples {

struct DataOptions {
  bool pad_to_32 = false;                    // MNIST-format images zero-padded to 32 x 32 (DCGAN)
  tg::data::Range range = tg::data::Range::MinusOneOne;  // [-1, 1] for tanh, [0, 1] for sigmoid
  tg::data::Split split = tg::data::Split::Train;
  int64_t procedural_size = 10000;           // examples of shapes / ring8 without --limit
};

// Builds the data set; if the Fashion-MNIST files are missing, says so on stderr and falls back
// to shapes. limit > 0 keeps only the first `limit` examples. `seed` seeds the procedural sets.
std::shared_ptr<const tg::data::Dataset> make_dataset(const std::string& name, int64_t limit, uint64_t seed,
                                                      const DataOptions& options = {});

}  // namespace examples
