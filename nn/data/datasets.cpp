// The Dataset interface's checked access: one example, or a batch stacked along dim 0.
#include "nn/data/datasets.h"

namespace tg::data {

int64_t Dataset::get(int64_t index, float* out) const {
  TG_CHECK(index >= 0 && index < size(), "Dataset::get", "index ", index,
           " is out of range for a data set of ", size(), " examples");
  TG_CHECK(out != nullptr, "Dataset::get", "the output pointer is null");
  return load_example(index, out);
}

Batch Dataset::get_batch(const std::vector<int64_t>& indices) const {
  const int64_t n = static_cast<int64_t>(indices.size());
  for (int64_t index : indices)
    TG_CHECK(index >= 0 && index < size(), "Dataset::get_batch", "index ", index,
             " is out of range for a data set of ", size(), " examples");
  const Shape example = example_shape();
  Shape shape{n};
  shape.insert(shape.end(), example.begin(), example.end());
  Batch batch{empty(shape, kFloat32), empty({n}, kInt64)};
  float* data = batch.data.data_ptr<float>();
  int64_t* target = batch.target.data_ptr<int64_t>();
  const int64_t stride = numel_of(example);
  for (int64_t i = 0; i < n; ++i) target[i] = load_example(indices[i], data + i * stride);
  return batch;
}

}  // namespace tg::data
