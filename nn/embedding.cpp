// Embedding as a composite: rows picked by a one-hot matrix product, so the gradient with
// respect to the table is one_hot^T @ grad (each row sums the gradients of its uses).
#include "nn/embedding.h"

#include "autograd/ops.h"
#include "nn/init.h"

namespace tg::nn {
namespace {

int64_t wrap_padding(std::optional<int64_t> padding_idx, int64_t num, const char* op) {
  const int64_t p = *padding_idx;
  TG_CHECK(p >= -num && p < num, op, "padding_idx ", p, " must be within num_embeddings (", num, ")");
  return p < 0 ? p + num : p;
}

}  // namespace

namespace functional {

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
  TG_CHECK(indices.defined() && indices.dtype() == kInt64, "embedding",
           "indices must be an int64 tensor, got ", indices.str());
  TG_CHECK(weight.defined() && weight.dim() == 2 && is_floating(weight.dtype()), "embedding",
           "weight must be a 2-D float tensor [num_embeddings, embedding_dim], got ", weight.str());
  const int64_t num = weight.size(0), dim = weight.size(1);
  for (int64_t i : indices.to_vector<int64_t>())
    TG_CHECK(i >= 0 && i < num, "embedding", "index ", i, " is out of range for ", num, " embeddings");
  const Tensor ids = arange(static_cast<double>(num), TensorOptions(kInt64).device(weight.device()));
  Tensor table = weight;
  if (padding_idx) {
    const int64_t p = wrap_padding(padding_idx, num, "embedding");
    table = where((ids == static_cast<double>(p)).unsqueeze(1), weight.detach(), weight);
  }
  // [n, num] one-hot rows times the [num, dim] table.
  Tensor one_hot = eq(indices.reshape({-1, 1}), ids.unsqueeze(0)).to(weight.dtype());
  Shape out_shape = indices.shape();
  out_shape.push_back(dim);
  return matmul(one_hot, table).reshape(out_shape);
}

}  // namespace functional

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& opts) : Module("Embedding"), options(opts) {
  TG_CHECK(options.num_embeddings() > 0 && options.embedding_dim() > 0, "Embedding",
           "num_embeddings and embedding_dim must be positive, got ", options.num_embeddings(), " and ",
           options.embedding_dim());
  if (options.padding_idx())
    options.padding_idx(wrap_padding(options.padding_idx(), options.num_embeddings(), "Embedding"));
  weight = register_parameter("weight", empty({options.num_embeddings(), options.embedding_dim()}));
  reset_parameters();
}

void EmbeddingImpl::reset_parameters() {
  init::normal_(weight);
  if (options.padding_idx()) init::zeros_(weight.select(0, *options.padding_idx()));
}

Tensor EmbeddingImpl::forward(const Tensor& indices) {
  return functional::embedding(indices, weight, options.padding_idx());
}

std::string EmbeddingImpl::extra_repr() const {
  std::string s = std::to_string(options.num_embeddings()) + ", " + std::to_string(options.embedding_dim());
  if (options.padding_idx()) s += ", padding_idx=" + std::to_string(*options.padding_idx());
  return s;
}

}  // namespace tg::nn
