// nn::Module: registration, dotted names as PyTorch's, traversal, train/eval, to(dtype),
// zero_grad, apply, state dicts (and their errors), printing, holders and containers.
#include <fstream>
#include <sstream>

#include "test_helpers.h"

using namespace tg;
using tg::test::max_abs_diff;

namespace {

// PyTorch's DCGAN example generator, small (tests/data/make_optim_reference.py builds the same).
struct GeneratorImpl : nn::Module {
  explicit GeneratorImpl(int64_t nz = 8, int64_t ngf = 4, int64_t nc = 1) : Module("Generator") {
    using nn::ConvTranspose2dOptions;
    main = register_module(
        "main", nn::Sequential(nn::ConvTranspose2d(ConvTranspose2dOptions(nz, ngf * 4, 4).bias(false)),
                               nn::BatchNorm2d(ngf * 4), nn::ReLU(),
                               nn::ConvTranspose2d(ConvTranspose2dOptions(ngf * 4, ngf * 2, 4).stride(2).padding(1).bias(false)),
                               nn::BatchNorm2d(ngf * 2), nn::ReLU(),
                               nn::ConvTranspose2d(ConvTranspose2dOptions(ngf * 2, nc, 4).stride(2).padding(1).bias(false)),
                               nn::Tanh()));
  }
  Tensor forward(const Tensor& z) { return main->forward(z); }
  nn::Sequential main{nullptr};
};
TG_MODULE(Generator);

std::string read_text(const std::string& name) {
  std::ifstream in(std::string(TAPEGRAD_TEST_DATA) + "/optim/" + name);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nn::Sequential small_mlp() {
  return nn::Sequential(nn::Linear(3, 4), nn::Tanh(), nn::Linear(4, 2));
}

}  // namespace

TEST_CASE("named_parameters and state_dict keys of a DCGAN generator match PyTorch's") {
  Generator g;
  std::ostringstream ours;  // shape_str prints as Python's list(shape): "[8, 16, 4, 4]", "[]"
  for (const auto& [name, p] : g->named_parameters()) ours << "param " << name << " " << shape_str(p.shape()) << "\n";
  for (const auto& [name, t] : g->state_dict()) ours << "state " << name << " " << shape_str(t.shape()) << "\n";
  CHECK(ours.str() == read_text("dcgan_state_dict.txt"));
}

TEST_CASE("printing a module gives PyTorch's repr") {
  Generator g;
  std::ostringstream os;
  os << g << "\n";
  CHECK(os.str() == read_text("dcgan_repr.txt"));

  // Every layer with non-default options (only printed, as in make_optim_reference.py).
  using namespace nn;
  Sequential zoo(
      Conv2d(Conv2dOptions(1, 4, 4).stride(2).padding(1).bias(false)),
      LeakyReLU(LeakyReLUOptions().negative_slope(0.2)),
      Conv2d(Conv2dOptions(4, 6, {3, 5}).stride({2, 1}).padding({0, 2}).dilation({1, 2}).groups(2)),
      InstanceNorm2d(6), MaxPool2d(2), AvgPool2d(2), Flatten(), Dropout(0.3), Linear(6, 8),
      BatchNorm1d(BatchNormOptions(8).momentum(std::nullopt).affine(false)), LayerNorm(Shape{8}), Sigmoid(),
      Unflatten(1, Shape{2, 4}), Embedding(EmbeddingOptions(10, 3).padding_idx(0)),
      LayerNorm(LayerNormOptions({4, 3}).eps(1e-3).elementwise_affine(false)),
      Linear(LinearOptions(3, 1).bias(false)),
      ConvTranspose2d(ConvTranspose2dOptions(2, 4, 3).stride(2).padding(1).output_padding(1)));
  std::ostringstream zs;
  zs << zoo << "\n";
  CHECK(zs.str() == read_text("zoo_repr.txt"));
}

TEST_CASE("registration names must be non-empty, dot-free and unique") {
  nn::Module m("Custom");
  m.register_parameter("w", zeros({2}));
  CHECK_THROWS_WITH_ALL(m.register_parameter("w", zeros({2})), "register_parameter", "'w'", "already registered");
  CHECK_THROWS_WITH_ALL(m.register_buffer("w", zeros({2})), "register_buffer", "'w'", "already registered");
  CHECK_THROWS_WITH_ALL(m.register_parameter("a.b", zeros({2})), "register_parameter", "dot", "'a.b'");
  CHECK_THROWS_WITH_ALL(m.register_buffer("", zeros({2})), "register_buffer", "empty");
  CHECK_THROWS_WITH_ALL(m.register_module("w", nn::Linear(2, 2)), "register_module", "'w'", "already");
  CHECK_THROWS_WITH_ALL(m.register_parameter("u", Tensor()), "register_parameter", "'u'", "undefined");
  Tensor leaf = ones({2}, kFloat64).requires_grad_();
  CHECK_THROWS_WITH_ALL(m.register_parameter("v", leaf * 2.0), "register_parameter", "leaf", "MulBackward");
  CHECK_THROWS_WITH_ALL(m.register_module("empty", nn::Linear(nullptr)), "register_module", "'empty'", "null");
}

TEST_CASE("registered tensors are shared handles; parameters require grad, buffers need not") {
  nn::Module m("Custom");
  Tensor w = zeros({3});
  Tensor handle = m.register_parameter("w", w);
  CHECK(handle.is_same(w));
  CHECK(w.requires_grad());
  Tensor frozen = m.register_parameter("frozen", zeros({1}), false);
  CHECK_FALSE(frozen.requires_grad());
  Tensor b = m.register_buffer("b", zeros({2}, kInt64));
  CHECK(m.parameters().size() == 2);
  CHECK(m.buffers().size() == 1);
  CHECK(m.buffers()[0].is_same(b));
}

TEST_CASE("traversal: children, named_modules, parameters and buffers in registration order") {
  Generator g;
  auto children = g->named_children();
  REQUIRE(children.size() == 1);
  CHECK(children[0].first == "main");
  CHECK(g->children()[0].get() == g->main.ptr().get());
  auto names = g->named_modules();
  REQUIRE(names.size() == 10);  // root, main, 8 layers
  CHECK(names[0].first == "");
  CHECK(names[1].first == "main");
  CHECK(names[2].first == "main.0");
  CHECK(names[9].first == "main.7");
  CHECK(names[9].second->name() == "Tanh");
  CHECK(g->modules().size() == 10);
  CHECK(g->parameters().size() == 7);
  CHECK(g->parameters(false).empty());
  auto buffers = g->named_buffers();
  REQUIRE(buffers.size() == 6);
  CHECK(buffers[0].first == "main.1.running_mean");
  CHECK(buffers[2].first == "main.1.num_batches_tracked");
  CHECK(buffers[2].second.dtype() == kInt64);

  GeneratorImpl on_stack;
  CHECK_THROWS_WITH_ALL(on_stack.named_modules(), "named_modules", "Generator", "shared_ptr");
}

TEST_CASE("train and eval reach every descendant") {
  Generator g;
  CHECK(g->is_training());
  g->eval();
  for (auto& m : g->modules()) CHECK_FALSE(m->is_training());
  g->train();
  for (auto& m : g->modules()) CHECK(m->is_training());
  nn::Dropout d(0.5);
  d->eval();
  Tensor x = ones({100});
  CHECK(max_abs_diff(d->forward(x), x) == 0.0);
}

TEST_CASE("to(dtype) converts parameters, buffers and gradients in place for every handle") {
  manual_seed(1);
  nn::Linear fc(3, 2);
  nn::BatchNorm1d bn(2);
  Tensor w = fc->weight;  // a handle taken before the conversion
  const auto before = w.to_vector<double>();
  (fc->forward(ones({1, 3})).sum()).backward();
  fc->to(kFloat64);
  bn->to(kFloat64);
  CHECK(w.dtype() == kFloat64);
  CHECK(fc->weight.dtype() == kFloat64);
  CHECK(fc->named_parameters()[0].second.dtype() == kFloat64);
  CHECK(w.to_vector<double>() == before);
  CHECK(w.requires_grad());
  CHECK(w.grad().dtype() == kFloat64);
  CHECK(bn->running_mean.dtype() == kFloat64);
  CHECK(bn->num_batches_tracked.dtype() == kInt64);  // integer buffers keep their dtype
  Tensor y = fc->forward(ones({1, 3}, kFloat64));
  CHECK(y.dtype() == kFloat64);
  fc->to(kCPU, kFloat32);
  CHECK(w.dtype() == kFloat32);
  CHECK_THROWS_WITH_ALL(fc->to(kInt64), "Module::to", "floating", "int64");
}

TEST_CASE("zero_grad drops gradients by default and zeroes them with set_to_none=false") {
  nn::Linear fc(3, 2);
  fc->forward(ones({2, 3})).sum().backward();
  REQUIRE(fc->weight.grad().defined());
  fc->zero_grad(false);
  CHECK(fc->weight.grad().defined());
  CHECK(fc->weight.grad().abs().sum().item<double>() == 0.0);
  fc->zero_grad();
  CHECK_FALSE(fc->weight.grad().defined());
  CHECK_FALSE(fc->bias.grad().defined());
}

TEST_CASE("apply visits the module and every descendant, parents first") {
  Generator g;
  std::vector<std::string> seen;
  g->apply([&](nn::Module& m) { seen.push_back(m.name()); });
  REQUIRE(seen.size() == 10);
  CHECK(seen[0] == "Generator");
  CHECK(seen[1] == "Sequential");
  CHECK(seen[2] == "ConvTranspose2d");
  CHECK(seen[3] == "BatchNorm2d");
}

TEST_CASE("load_state_dict copies a state dict into another module of the same layout") {
  manual_seed(2);
  Generator a, b;
  a->main->forward(randn({2, 8, 1, 1}));  // moves a's running statistics
  REQUIRE(max_abs_diff(a->main->at<nn::BatchNorm2dImpl>(1).running_mean,
                       b->main->at<nn::BatchNorm2dImpl>(1).running_mean) > 0);
  Tensor handle = b->main->at<nn::ConvTranspose2dImpl>(0).weight;
  const uint32_t version = handle.version();
  b->load_state_dict(a->state_dict());
  auto sa = a->state_dict(), sb = b->state_dict();
  for (size_t i = 0; i < sa.size(); ++i) CHECK(max_abs_diff(sa[i].second, sb[i].second) == 0.0);
  CHECK(handle.version() > version);  // loaded in place: the same tensors, new values
  CHECK(handle.is_same(b->main->at<nn::ConvTranspose2dImpl>(0).weight));
}

TEST_CASE("a failed load_state_dict names every problem and changes nothing") {
  nn::Sequential m = small_mlp();
  const TensorDict before = m->state_dict();
  std::vector<std::vector<double>> values;
  for (const auto& [k, t] : before) values.push_back(t.to_vector<double>());

  TensorDict bad;
  bad.emplace_back("0.weight", zeros({4, 3}));  // good
  bad.emplace_back("0.bias", zeros({5}));       // wrong shape
  bad.emplace_back("2.weight", zeros({2, 4}, kFloat64));  // wrong dtype
  bad.emplace_back("extra.weight", zeros({1}));  // unexpected; 2.bias missing
  CHECK_THROWS_WITH_ALL(m->load_state_dict(bad), "load_state_dict", "nothing was changed",
                        "missing keys: [2.bias]", "unexpected keys: [extra.weight]",
                        "size mismatch for 0.bias: expected [4], got [5]",
                        "dtype mismatch for 2.weight: expected float32, got float64");
  const TensorDict after = m->state_dict();
  for (size_t i = 0; i < after.size(); ++i) CHECK(after[i].second.to_vector<double>() == values[i]);

  TensorDict dup = before;
  dup.push_back(before[0]);
  CHECK_THROWS_WITH_ALL(m->load_state_dict(dup), "load_state_dict", "duplicate keys: [0.weight]");
}

TEST_CASE("summary lists every layer with its options and parameter counts") {
  nn::Sequential m = small_mlp();
  const std::string s = nn::summary(*m);
  INFO(s);
  CHECK(s.find("Linear(in_features=3, out_features=4, bias=True)") != std::string::npos);
  CHECK(s.find("Tanh()") != std::string::npos);
  CHECK(s.find("16") != std::string::npos);  // 3 * 4 + 4
  CHECK(s.find("10") != std::string::npos);  // 4 * 2 + 2
  CHECK(s.find("Total params: 26") != std::string::npos);
  CHECK(s.find("Trainable params: 26") != std::string::npos);
  m->ptr(0)->parameters()[0].requires_grad_(false);
  CHECK(nn::summary(*m).find("Non-trainable params: 12") != std::string::npos);
}

TEST_CASE("module holders: value syntax, forward through operator(), empty holders") {
  nn::Linear fc(nn::LinearOptions(3, 4).bias(false));
  CHECK_FALSE(fc->bias.defined());
  CHECK(fc->parameters().size() == 1);
  Tensor x = ones({2, 3});
  CHECK(max_abs_diff(fc(x), fc->forward(x)) == 0.0);
  nn::Linear empty{nullptr};
  CHECK(empty.is_empty());
  CHECK_FALSE(static_cast<bool>(empty));
  CHECK_THROWS_WITH_ALL(empty->forward(x), "ModuleHolder", "empty");
  nn::Linear shared = fc;  // copies share the module
  CHECK(shared.ptr() == fc.ptr());
}

TEST_CASE("Sequential: push_back, indexing, typed access and errors") {
  nn::Sequential seq;
  CHECK(seq->is_empty());
  CHECK_THROWS_WITH_ALL(seq->forward(ones({1, 3})), "Sequential", "empty");
  seq->push_back(nn::Linear(3, 4));
  seq->push_back("act", nn::ReLU());
  seq->push_back(std::make_shared<nn::LinearImpl>(4, 2));
  CHECK(seq->size() == 3);
  auto names = seq->named_children();
  CHECK(names[0].first == "0");
  CHECK(names[1].first == "act");
  CHECK(names[2].first == "2");
  CHECK((*seq)[1]->name() == "ReLU");
  CHECK(seq->at<nn::LinearImpl>(2).options.out_features() == 2);
  CHECK_THROWS_WITH_ALL(seq->at<nn::LinearImpl>(1), "Sequential::at", "module 1 is a ReLU");
  CHECK_THROWS_WITH_ALL(seq->ptr(3), "Sequential", "index 3", "3 modules");
  Tensor x = randn({5, 3});
  auto& l0 = seq->at<nn::LinearImpl>(0);
  auto& l2 = seq->at<nn::LinearImpl>(2);
  Tensor want = l2.forward(relu(l0.forward(x)));
  CHECK(max_abs_diff(seq->forward(x), want) == 0.0);
  nn::Sequential nested(seq, nn::Sigmoid());
  CHECK(max_abs_diff(nested->forward(x), sigmoid(want)) == 0.0);
  CHECK(nested->named_parameters()[0].first == "0.0.weight");
}

TEST_CASE("Functional wraps a function, with bound extra arguments") {
  nn::Functional f(tg::leaky_relu, 0.2);
  Tensor x = tensor<double>({-1.0, 2.0});
  CHECK(f(x).to_vector<double>() == std::vector<double>{-0.2, 2.0});
  nn::Functional twice([](const Tensor& t) { return t * 2.0; });
  CHECK(twice(x).to_vector<double>() == std::vector<double>{-2.0, 4.0});
  CHECK(twice->parameters().empty());
  nn::Sequential seq(nn::Linear(2, 2), nn::Functional(tg::relu));
  CHECK(seq->forward(ones({1, 2})).shape() == Shape{1, 2});
  CHECK_THROWS_WITH_ALL(nn::Functional(nn::FunctionalImpl::Function()), "Functional", "empty");
}
