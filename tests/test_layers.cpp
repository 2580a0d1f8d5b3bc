// The layers: each forward is its op with the layer's options, gradients flow to inputs and
// parameters (float64 gradcheck through the module), training/eval behaviour, option and
// input errors, and a state-dict round trip for every layer.
#include <cmath>
#include <functional>

#include "test_helpers.h"

using namespace tg;
using namespace tg::nn;
namespace F = tg::nn::functional;
using tg::test::leaf;
using tg::test::max_abs_diff;

namespace {

// gradcheck of module(x) with respect to x and every parameter of the (float64) module.
template <typename Holder>
void check_module_gradients(Holder& module, const Tensor& x) {
  TensorList inputs{x};
  for (const Tensor& p : module->parameters()) inputs.push_back(p);
  CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{module->forward(in[0])}; }, inputs);
}

}  // namespace

TEST_CASE("Linear is x W^T + b on any leading dims, with gradients to x, W and b") {
  manual_seed(1);
  Linear fc(LinearOptions(5, 3));
  fc->to(kFloat64);
  Tensor x = leaf({2, 4, 5});
  Tensor want = matmul(x, fc->weight.t()) + fc->bias;
  CHECK(max_abs_diff(fc->forward(x), want) < 1e-15);
  check_module_gradients(fc, test::transposed_leaf({3, 5}));
  Linear no_bias(LinearOptions(5, 1).bias(false));
  no_bias->to(kFloat64);
  check_module_gradients(no_bias, leaf({1, 5}));
  CHECK_THROWS_WITH_ALL(fc->forward(leaf({2, 4})), "Linear", "last dimension 5", "[2, 4]");
  CHECK_THROWS_WITH_ALL(Linear(-1, 2), "Linear", "non-negative", "in_features=-1");
}

TEST_CASE("Conv2d forwards conv2d with its stride, padding, dilation and groups") {
  manual_seed(2);
  Conv2d conv(Conv2dOptions(4, 2, {3, 2}).stride({2, 1}).padding(1).dilation({1, 2}).groups(2));
  conv->to(kFloat64);
  CHECK(conv->weight.shape() == Shape{2, 2, 3, 2});
  Tensor x = leaf({1, 4, 5, 6});
  Tensor want = F::conv2d(x, conv->weight, conv->bias, {2, 1}, 1, {1, 2}, 2);
  CHECK(max_abs_diff(conv->forward(x), want) == 0.0);
  check_module_gradients(conv, x);
  CHECK_THROWS_WITH_ALL(Conv2d(Conv2dOptions(3, 4, 3).groups(2)), "Conv2d", "in_channels (3)", "groups (2)");
  CHECK_THROWS_WITH_ALL(Conv2d(Conv2dOptions(4, 3, 3).groups(2)), "Conv2d", "out_channels (3)", "groups (2)");
  CHECK_THROWS_WITH_ALL(Conv2d(Conv2dOptions(4, 2, 3).stride(0)), "Conv2d", "stride", "(0, 0)");
  CHECK_THROWS_WITH_ALL(Conv2d(Conv2dOptions(4, 2, 0)), "Conv2d", "kernel_size");
  CHECK_THROWS_WITH_ALL(conv->forward(leaf({1, 3, 5, 6})), "Conv2d", "[N, 4, H, W]", "[1, 3, 5, 6]");
  CHECK_THROWS_WITH_ALL(conv->forward(leaf({4, 5, 6})), "Conv2d", "[N, 4, H, W]");
}

TEST_CASE("ConvTranspose2d upsamples as PyTorch's and is the adjoint layer of Conv2d") {
  manual_seed(3);
  ConvTranspose2d up(ConvTranspose2dOptions(3, 2, 4).stride(2).padding(1).output_padding(1));
  up->to(kFloat64);
  CHECK(up->weight.shape() == Shape{3, 2, 4, 4});
  Tensor x = leaf({2, 3, 3, 2});
  // (H - 1) * stride - 2 * padding + kernel + output_padding.
  CHECK(up->forward(x).shape() == Shape{2, 2, 7, 5});
  Tensor want = F::conv_transpose2d(x, up->weight, up->bias, 2, 1, 1);
  CHECK(max_abs_diff(up->forward(x), want) == 0.0);
  check_module_gradients(up, leaf({1, 3, 2, 2}));
  CHECK_THROWS_WITH_ALL(ConvTranspose2d(ConvTranspose2dOptions(3, 2, 4).stride(2).output_padding(2)),
                        "ConvTranspose2d", "output_padding (2, 2)", "smaller than either stride");
}

TEST_CASE("BatchNorm2d in training normalises with batch statistics and updates the running ones") {
  manual_seed(4);
  BatchNorm2d bn(3);
  bn->to(kFloat64);
  Tensor x = randn({4, 3, 2, 5}, kFloat64) * 3.0 + 1.0;
  Tensor y = bn->forward(x);
  const Shape dims{0, 2, 3};
  CHECK(max_abs_diff(mean(y, dims), zeros({3}, kFloat64)) < 1e-12);
  CHECK(max_abs_diff(var(y, dims, 0), ones({3}, kFloat64)) < 1e-4);  // eps = 1e-5 in the denominator
  CHECK(max_abs_diff(bn->running_mean, mean(x, dims) * 0.1) < 1e-12);
  CHECK(max_abs_diff(bn->running_var, var(x, dims, 1) * 0.1 + 0.9) < 1e-12);  // unbiased
  CHECK(bn->num_batches_tracked.item<int64_t>() == 1);
  bn->eval();
  Tensor z = randn({2, 3, 2, 2}, kFloat64);
  Tensor want = (z - bn->running_mean.reshape({1, 3, 1, 1})) / sqrt(bn->running_var.reshape({1, 3, 1, 1}) + 1e-5);
  CHECK(max_abs_diff(bn->forward(z), want) < 1e-12);
  CHECK(bn->num_batches_tracked.item<int64_t>() == 1);  // eval does not count batches
  bn->train();
  check_module_gradients(bn, leaf({3, 3, 2, 2}));
  CHECK_THROWS_WITH_ALL(bn->forward(leaf({2, 3})), "BatchNorm2d", "4D", "[2, 3]");
  CHECK_THROWS_WITH_ALL(bn->forward(leaf({2, 4, 2, 2})), "BatchNorm2d", "3 channels", "[2, 4, 2, 2]");
}

TEST_CASE("BatchNorm momentum=None averages cumulatively; without tracking it has no buffers") {
  manual_seed(5);
  BatchNorm1d cumulative(BatchNormOptions(2).momentum(std::nullopt));
  cumulative->to(kFloat64);
  Tensor a = randn({5, 2}, kFloat64), b = randn({5, 2}, kFloat64);
  cumulative->forward(a);
  cumulative->forward(b);
  CHECK(max_abs_diff(cumulative->running_mean, (mean(a, {0}) + mean(b, {0})) * 0.5) < 1e-12);
  CHECK(cumulative->num_batches_tracked.item<int64_t>() == 2);

  BatchNorm1d untracked(BatchNormOptions(2).track_running_stats(false).affine(false));
  CHECK(untracked->buffers().empty());
  CHECK(untracked->parameters().empty());
  untracked->eval();  // still batch statistics: there are no running ones
  Tensor y = untracked->forward(a.to(kFloat32));
  CHECK(max_abs_diff(mean(y, {0}), zeros({2})) < 1e-6);
}

TEST_CASE("BatchNorm1d takes [N, C] and [N, C, L]") {
  manual_seed(6);
  BatchNorm1d bn(3);
  bn->to(kFloat64);
  Tensor x = leaf({4, 3, 5});
  BatchNorm2d bn2(3);
  bn2->to(kFloat64);
  CHECK(max_abs_diff(bn->forward(x), bn2->forward(x.unsqueeze(-1)).squeeze(-1)) < 1e-15);
  CHECK(max_abs_diff(bn->running_var, bn2->running_var) < 1e-15);
  check_module_gradients(bn, leaf({4, 3}));
  check_module_gradients(bn, test::strided_leaf({2, 3, 3}));
  CHECK_THROWS_WITH_ALL(bn->forward(leaf({2, 3, 4, 4})), "BatchNorm1d", "2D or 3D", "[2, 3, 4, 4]");
}

TEST_CASE("LayerNorm normalises the trailing dims with elementwise affine parameters") {
  manual_seed(7);
  LayerNorm ln(LayerNormOptions({2, 3}).eps(1e-3));
  ln->to(kFloat64);
  init::normal_(ln->weight);
  init::normal_(ln->bias);
  Tensor x = leaf({4, 2, 3});
  Tensor want = (x - mean(x, {1, 2}, true)) / sqrt(var(x, {1, 2}, 0, true) + 1e-3) * ln->weight + ln->bias;
  CHECK(max_abs_diff(ln->forward(x), want) < 1e-12);
  check_module_gradients(ln, x);
  CHECK_THROWS_WITH_ALL(ln->forward(leaf({4, 3, 2})), "LayerNorm", "trailing dimensions [2, 3]", "[4, 3, 2]");
  CHECK_THROWS_WITH_ALL(LayerNorm(Shape{}), "LayerNorm", "at least one dimension");
}

TEST_CASE("InstanceNorm2d normalises each sample and channel over H, W") {
  manual_seed(8);
  InstanceNorm2d in(InstanceNormOptions(2).affine(true));
  in->to(kFloat64);
  Tensor x = leaf({3, 2, 4, 3});
  Tensor want = (x - mean(x, {2, 3}, true)) / sqrt(var(x, {2, 3}, 0, true) + 1e-5);
  CHECK(max_abs_diff(in->forward(x), want) < 1e-12);
  init::normal_(in->weight);
  check_module_gradients(in, x);
  InstanceNorm2d plain(2);
  CHECK(plain->parameters().empty());
  CHECK(plain->buffers().empty());
  CHECK_THROWS_WITH_ALL(plain->forward(leaf({3, 5, 4, 3})), "InstanceNorm2d", "2 channels");
  CHECK_THROWS_WITH_ALL(plain->forward(leaf({3, 2, 4})), "InstanceNorm2d", "4D");
}

TEST_CASE("activation layers are their ops") {
  Tensor x = tensor<double>({-2.0, -0.5, 0.0, 1.5});
  CHECK(max_abs_diff(ReLU()->forward(x), relu(x)) == 0.0);
  CHECK(max_abs_diff(LeakyReLU(LeakyReLUOptions().negative_slope(0.2))->forward(x), leaky_relu(x, 0.2)) == 0.0);
  CHECK(LeakyReLU()->options.negative_slope() == 0.01);
  CHECK(max_abs_diff(Tanh()->forward(x), tanh(x)) == 0.0);
  CHECK(max_abs_diff(Sigmoid()->forward(x), sigmoid(x)) == 0.0);
}

TEST_CASE("Dropout zeroes about p of the elements and scales the rest by 1 / (1 - p) in training") {
  manual_seed(9);
  Dropout drop(0.25);
  Tensor x = ones({10000});
  const auto y = drop->forward(x).to_vector<double>();
  int64_t zeros_seen = 0;
  for (double v : y) {
    if (v == 0.0) ++zeros_seen;
    else CHECK(v == doctest::Approx(1.0 / 0.75));
  }
  // Binomial(10000, 0.25): standard deviation 43, so 5 sigma is about 217.
  CHECK(std::abs(static_cast<double>(zeros_seen) - 2500.0) < 217.0);
  drop->eval();
  CHECK(max_abs_diff(drop->forward(x), x) == 0.0);
  CHECK_THROWS_WITH_ALL(Dropout(1.5), "Dropout", "between 0 and 1", "1.5");
}

TEST_CASE("Flatten and Unflatten reshape and pass gradients through") {
  Flatten flat;
  Tensor x = leaf({2, 3, 4, 5});
  CHECK(flat->forward(x).shape() == Shape{2, 60});
  CHECK(Flatten(FlattenOptions().start_dim(0).end_dim(1))->forward(x).shape() == Shape{6, 4, 5});
  Unflatten unflat(1, Shape{3, 4, 5});
  CHECK(max_abs_diff(unflat->forward(flat->forward(x)), x) == 0.0);
  CHECK(Unflatten(-1, Shape{5, 1})->forward(x).shape() == Shape{2, 3, 4, 5, 1});
  CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{unflat->forward(flat->forward(in[0]))}; },
                  TensorList{leaf({2, 3, 4, 5})});
  CHECK_THROWS_WITH_ALL(unflat->forward(leaf({2, 59})), "Unflatten", "multiply to 60", "has size 59");
  CHECK_THROWS_WITH_ALL(Unflatten(1, Shape{0, 3}), "Unflatten", "positive");
}

TEST_CASE("pooling layers default their stride to the kernel size") {
  manual_seed(10);
  Tensor x = leaf({1, 2, 6, 5});
  CHECK(max_abs_diff(MaxPool2d(2)->forward(x), F::max_pool2d(x, 2, Size2(2))) == 0.0);
  CHECK(MaxPool2d(MaxPool2dOptions(3).stride(1).padding(1))->forward(x).shape() == Shape{1, 2, 6, 5});
  CHECK(max_abs_diff(AvgPool2d(AvgPool2dOptions({2, 3}).ceil_mode(true))->forward(x),
                     F::avg_pool2d(x, {2, 3}, Size2(2, 3), 0, true)) == 0.0);
  AvgPool2d avg(2);
  CHECK_GRADCHECK([&](const TensorList& in) { return TensorList{avg->forward(in[0])}; }, TensorList{x});
}

TEST_CASE("Embedding looks rows up, sums the gradients of repeated indices, and skips padding") {
  manual_seed(11);
  Embedding emb(5, 3);
  emb->to(kFloat64);
  Tensor ids = tensor<int64_t>({4, 0, 4, 2, 1, 4}, {2, 3});
  Tensor out = emb->forward(ids);
  REQUIRE(out.shape() == Shape{2, 3, 3});
  CHECK(max_abs_diff(out.select(0, 0).select(0, 0), emb->weight.select(0, 4)) == 0.0);
  CHECK(max_abs_diff(out.select(0, 1).select(0, 1), emb->weight.select(0, 1)) == 0.0);
  out.sum().backward();
  // Row r's gradient is (uses of r) times ones.
  CHECK(emb->weight.grad().sum({1}).to_vector<double>() == std::vector<double>{3, 3, 3, 0, 9});
  CHECK_GRADCHECK([&](const TensorList&) { return TensorList{emb->forward(ids) * emb->forward(ids)}; },
                  TensorList{emb->weight});
  CHECK(emb->forward(tensor<int64_t>({2}, {})).shape() == Shape{3});  // a 0-dim index

  Embedding padded(EmbeddingOptions(4, 2).padding_idx(1));
  padded->to(kFloat64);
  init::constant_(padded->weight.select(0, 1), 7.0);  // forward still returns the row's values
  Tensor p = padded->forward(tensor<int64_t>({1, 3, 1}));
  CHECK(p.select(0, 0).to_vector<double>() == std::vector<double>{7.0, 7.0});
  (p * p).sum().backward();
  CHECK(padded->weight.grad().select(0, 1).abs().sum().item<double>() == 0.0);
  CHECK(padded->weight.grad().select(0, 3).abs().sum().item<double>() > 0.0);

  CHECK_THROWS_WITH_ALL(emb->forward(tensor<int64_t>({5})), "embedding", "index 5", "5 embeddings");
  CHECK_THROWS_WITH_ALL(emb->forward(tensor<int64_t>({-1})), "embedding", "index -1");
  CHECK_THROWS_WITH_ALL(emb->forward(tensor<double>({1.0})), "embedding", "int64", "float64");
  CHECK_THROWS_WITH_ALL(Embedding(EmbeddingOptions(4, 2).padding_idx(4)), "Embedding", "padding_idx 4");
  CHECK_THROWS_WITH_ALL(Embedding(0, 2), "Embedding", "positive");
}

TEST_CASE("loss modules are their functional forms, with weights kept as buffers") {
  manual_seed(12);
  Tensor p = sigmoid(randn({4, 3}, kFloat64)), t = rand({4, 3}, kFloat64);
  Tensor w = rand({3}, kFloat64);
  CHECK(max_abs_diff(BCELoss()(p, t), F::binary_cross_entropy(p, t)) == 0.0);
  BCELoss weighted(BCELossOptions().weight(w).reduction(Reduction::Sum));
  CHECK(max_abs_diff(weighted(p, t), F::binary_cross_entropy(p, t, w, Reduction::Sum)) == 0.0);
  CHECK(weighted->named_buffers()[0].first == "weight");
  Tensor logits = randn({4, 3}, kFloat64);
  BCEWithLogitsLoss with_logits(BCEWithLogitsLossOptions().pos_weight(w).reduction(Reduction::None));
  CHECK(max_abs_diff(with_logits(logits, t), F::binary_cross_entropy_with_logits(logits, t, {}, w, Reduction::None)) == 0.0);
  CHECK(with_logits->named_buffers()[0].first == "pos_weight");
  CHECK(max_abs_diff(MSELoss()(logits, t), mean((logits - t) * (logits - t))) < 1e-15);
  CHECK(max_abs_diff(L1Loss(L1LossOptions().reduction(Reduction::Sum))(logits, t), sum(abs(logits - t))) < 1e-14);
  Tensor labels = tensor<int64_t>({0, 2, 1, 2});
  CrossEntropyLoss ce(CrossEntropyLossOptions().weight(w));
  CHECK(max_abs_diff(ce(logits, labels), F::cross_entropy(logits, labels, w)) == 0.0);
  CHECK(max_abs_diff(NLLLoss()(F::log_softmax(logits, 1), labels), CrossEntropyLoss()(logits, labels)) < 1e-15);
  ce->to(kFloat32);
  CHECK(ce->options.weight().dtype() == kFloat32);  // the option and the buffer are one tensor
}

TEST_CASE("a Conv -> LeakyReLU -> Linear critic is twice differentiable (WGAN-GP)") {
  manual_seed(13);
  Sequential critic(Conv2d(Conv2dOptions(1, 2, 3).stride(2)), LeakyReLU(LeakyReLUOptions().negative_slope(0.2)),
                    Flatten(), Linear(8, 1));
  critic->to(kFloat64);
  Tensor x = leaf({1, 1, 5, 5});
  TensorList inputs{x};
  for (const Tensor& p : critic->parameters()) inputs.push_back(p);
  CHECK_GRADGRADCHECK([&](const TensorList& in) { return TensorList{critic->forward(in[0])}; }, inputs);
}

TEST_CASE("a state dict round trip reproduces every layer") {
  using Factory = std::function<std::shared_ptr<Module>()>;
  const std::vector<std::pair<Factory, Shape>> layers = {
      {[] { return Linear(4, 3).ptr(); }, {2, 4}},
      {[] { return Conv2d(Conv2dOptions(2, 4, 3).padding(1)).ptr(); }, {1, 2, 4, 4}},
      {[] { return ConvTranspose2d(ConvTranspose2dOptions(2, 3, 4).stride(2).padding(1)).ptr(); }, {1, 2, 3, 3}},
      {[] { return BatchNorm1d(4).ptr(); }, {3, 4}},
      {[] { return BatchNorm2d(2).ptr(); }, {3, 2, 2, 2}},
      {[] { return LayerNorm(Shape{4}).ptr(); }, {2, 4}},
      {[] { return InstanceNorm2d(InstanceNormOptions(2).affine(true).track_running_stats(true)).ptr(); }, {2, 2, 3, 3}},
      {[] { return Sequential(Linear(4, 5), ReLU(), Dropout(0.1), Linear(5, 2)).ptr(); }, {3, 4}},
  };
  for (size_t i = 0; i < layers.size(); ++i) {
    INFO("layer " << i);
    auto run = [&](const std::shared_ptr<Module>& m, const Tensor& x) {
      if (auto* s = dynamic_cast<SequentialImpl*>(m.get())) return s->forward(x);
      if (auto* l = dynamic_cast<LinearImpl*>(m.get())) return l->forward(x);
      if (auto* c = dynamic_cast<Conv2dImpl*>(m.get())) return c->forward(x);
      if (auto* c = dynamic_cast<ConvTranspose2dImpl*>(m.get())) return c->forward(x);
      if (auto* b = dynamic_cast<BatchNorm1dImpl*>(m.get())) return b->forward(x);
      if (auto* b = dynamic_cast<BatchNorm2dImpl*>(m.get())) return b->forward(x);
      if (auto* n = dynamic_cast<LayerNormImpl*>(m.get())) return n->forward(x);
      return dynamic_cast<InstanceNorm2dImpl&>(*m).forward(x);
    };
    manual_seed(100 + i);
    auto a = layers[i].first();
    for (const Tensor& p : a->parameters()) init::normal_(p);  // not the defaults
    run(a, randn(layers[i].second));  // training moves running statistics
    auto b = layers[i].first();
    b->load_state_dict(a->state_dict());
    a->eval();
    b->eval();
    Tensor x = randn(layers[i].second);
    CHECK(max_abs_diff(run(a, x), run(b, x)) == 0.0);
    const TensorDict sa = a->state_dict(), sb = b->state_dict();
    REQUIRE(sa.size() == sb.size());
    for (size_t k = 0; k < sa.size(); ++k) {
      CHECK(sa[k].first == sb[k].first);
      CHECK(max_abs_diff(sa[k].second, sb[k].second) == 0.0);
    }
  }
}
