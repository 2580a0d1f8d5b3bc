// Embedding (torch.nn.Embedding): a lookup table of num_embeddings rows of embedding_dim,
// indexed by int64 tensors of any shape (class labels of a conditional GAN).
#pragma once

#include <optional>

#include "nn/arg.h"
#include "nn/module.h"

namespace tg::nn {

struct EmbeddingOptions {
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  TG_ARG(int64_t, num_embeddings);
  TG_ARG(int64_t, embedding_dim);
  // The row at padding_idx gets no gradient (and starts at zero); negative counts from the end.
  TG_ARG(std::optional<int64_t>, padding_idx);
};

class EmbeddingImpl : public Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  explicit EmbeddingImpl(const EmbeddingOptions& options);

  // indices int64 [...] -> [..., embedding_dim].
  Tensor forward(const Tensor& indices);
  // weight ~ N(0, 1), padding row 0 (PyTorch's default).
  void reset_parameters();
  std::string extra_repr() const override;

  EmbeddingOptions options;
  Tensor weight;  // [num_embeddings, embedding_dim]
};
TG_MODULE(Embedding);

namespace functional {
// weight[indices] as a differentiable op in weight: one_hot(indices) @ weight, with the
// padding row detached so its gradient is zero.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = {});
}  // namespace functional

}  // namespace tg::nn
