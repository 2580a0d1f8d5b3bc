// tg::save / tg::load of modules and optimizers, and nn::Checkpoint: a resumed GAN-style run
// continues bit for bit as if never stopped; a bad file restores nothing.
#include <filesystem>

#include "test_helpers.h"

using namespace tg;
using namespace tg::nn;
using tg::test::max_abs_diff;

namespace {

std::string temp_path(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / "tapegrad_test_checkpoint";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// Every layer kind with parameters or buffers, in one model.
struct ZooImpl : Module {
  ZooImpl() : Module("Zoo") {
    convs = register_module("convs", Sequential(Conv2d(Conv2dOptions(1, 2, 3).padding(1)), BatchNorm2d(2),
                                                 ConvTranspose2d(2, 1, 2), InstanceNorm2d(InstanceNormOptions(1).affine(true).track_running_stats(true))));
    head = register_module("head", Sequential(Flatten(), Linear(49, 4), BatchNorm1d(4), LayerNorm(Shape{4})));
    embed = register_module("embed", Embedding(EmbeddingOptions(3, 4).padding_idx(0)));
    loss = register_module("loss", CrossEntropyLoss(CrossEntropyLossOptions().weight(ones({4}))));
  }
  Tensor forward(const Tensor& x, const Tensor& labels) { return head->forward(convs->forward(x)) + embed->forward(labels); }
  Sequential convs{nullptr}, head{nullptr};
  Embedding embed{nullptr};
  CrossEntropyLoss loss{nullptr};
};
TG_MODULE(Zoo);

void check_same_state(const Module& a, const Module& b) {
  const TensorDict sa = a.state_dict(), sb = b.state_dict();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    INFO("key " << sa[i].first);
    CHECK(sa[i].first == sb[i].first);
    CHECK(sa[i].second.dtype() == sb[i].second.dtype());
    CHECK(max_abs_diff(sa[i].second, sb[i].second) == 0.0);
  }
}

// A tiny GAN-shaped training setup: random noise and dropout draw from the generator, batch
// norm moves buffers, Adam and SGD keep state, a scheduler moves the learning rate.
struct Run {
  Sequential g{Linear(2, 8), BatchNorm1d(8), ReLU(), Linear(8, 3)};
  Sequential d{Linear(3, 8), LeakyReLU(LeakyReLUOptions().negative_slope(0.2)), Dropout(0.3), Linear(8, 1)};
  optim::Adam opt_g{g->parameters(), optim::AdamOptions(1e-2).betas({0.5, 0.999})};
  optim::SGD opt_d{d->parameters(), optim::SGDOptions(0.05).momentum(0.9)};
  optim::StepLR sched{opt_g, 2, 0.5};

  Checkpoint checkpoint() {
    Checkpoint c;
    c.add("generator", g).add("discriminator", d).add("opt_g", opt_g).add("opt_d", opt_d).add("sched", sched);
    return c;
  }

  void step() {
    const Tensor real = randn({6, 3}) + 1.0;
    opt_d.zero_grad();
    const Tensor fake = g->forward(randn({6, 2}));
    BCEWithLogitsLoss bce;
    Tensor loss_d = bce(d->forward(real), ones({6, 1})) + bce(d->forward(fake.detach()), zeros({6, 1}));
    loss_d.backward();
    opt_d.step();
    opt_g.zero_grad();
    bce(d->forward(fake), ones({6, 1})).backward();
    opt_g.step();
    sched.step();
  }
};

}  // namespace

TEST_CASE("tg::save and tg::load round-trip every layer's parameters and buffers") {
  manual_seed(1);
  Zoo a;
  a->forward(randn({2, 1, 6, 6}), tensor<int64_t>({1, 2}));  // running statistics move
  const std::string path = temp_path("zoo.npz");
  save(a, path);
  manual_seed(2);
  Zoo b;
  load(b, path);
  check_same_state(*a, *b);
  a->eval();
  b->eval();
  Tensor x = randn({2, 1, 6, 6});
  Tensor labels = tensor<int64_t>({0, 2});
  CHECK(max_abs_diff(a->forward(x, labels), b->forward(x, labels)) == 0.0);
  CHECK(b->named_buffers().back().first == "loss.weight");
}

TEST_CASE("loading a file into a module of another layout fails and changes nothing") {
  const std::string path = temp_path("linear.npz");
  save(Linear(3, 4), path);
  Linear other(3, 5);
  const std::vector<double> before = other->weight.to_vector<double>();
  CHECK_THROWS_WITH_ALL(load(other, path), "load_state_dict", "size mismatch for weight: expected [5, 3], got [4, 3]",
                        "size mismatch for bias");
  CHECK(other->weight.to_vector<double>() == before);
  CHECK_THROWS_WITH_ALL(load(other, temp_path("no_such_file.npz")), "no_such_file.npz");
}

TEST_CASE("tg::save and tg::load carry an optimizer's state") {
  Tensor w = ones({3}, kFloat64).requires_grad_();
  optim::Adam a({w}, optim::AdamOptions(0.1).amsgrad(true));
  w.set_grad(tensor<double>({1.0, -2.0, 3.0}));
  a.step();
  const std::string path = temp_path("adam.npz");
  save(a, path);
  optim::Adam b({w}, optim::AdamOptions(0.5));
  load(b, path);
  CHECK(b.state(w)->step == 1);
  CHECK(optim::options_of<optim::AdamOptions>(b.param_groups()[0]).amsgrad());
  for (const char* name : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"})
    CHECK(max_abs_diff(b.state(w)->buffers.at(name), a.state(w)->buffers.at(name)) == 0.0);
}

TEST_CASE("a resumed run continues exactly as an uninterrupted one") {
  const std::string path = temp_path("run.npz");
  manual_seed(3);
  Run uninterrupted;
  for (int s = 0; s < 3; ++s) uninterrupted.step();
  uninterrupted.checkpoint().save(path, 3);
  for (int s = 0; s < 3; ++s) uninterrupted.step();

  manual_seed(99);  // other initial weights and another random stream
  Run resumed;
  resumed.step();
  Checkpoint c = resumed.checkpoint();
  CHECK(c.load(path) == 3);
  for (int s = 0; s < 3; ++s) resumed.step();
  check_same_state(*uninterrupted.g, *resumed.g);
  check_same_state(*uninterrupted.d, *resumed.d);
  CHECK(resumed.sched.last_epoch() == 6);
  CHECK(resumed.opt_g.param_groups()[0].options().get_lr() == uninterrupted.opt_g.param_groups()[0].options().get_lr());
  const auto a = uninterrupted.opt_g.state_dict(), b = resumed.opt_g.state_dict();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(max_abs_diff(a[i].second, b[i].second) == 0.0);
}

TEST_CASE("a checkpoint that does not fit restores nothing, naming every problem") {
  const std::string path = temp_path("partial.npz");
  manual_seed(4);
  Run source;
  source.step();
  Checkpoint only_g;
  only_g.add("generator", source.g).add("extra", source.opt_d);
  only_g.save(path, 1);

  manual_seed(5);
  Run target;
  const TensorDict g_before = target.g->state_dict();
  std::vector<std::vector<double>> values;
  for (const auto& [k, t] : g_before) values.push_back(t.to_vector<double>());
  const GeneratorState rng_before = get_rng_state();
  Checkpoint c = target.checkpoint();
  CHECK_THROWS_WITH_ALL(c.load(path), "Checkpoint", "nothing was changed", "unexpected key extra.",
                        "'discriminator'", "missing keys", "'opt_g'", "missing key param_groups.0.lr");
  const TensorDict g_after = target.g->state_dict();
  for (size_t i = 0; i < g_after.size(); ++i) CHECK(g_after[i].second.to_vector<double>() == values[i]);
  CHECK(get_rng_state().offset == rng_before.offset);
  CHECK(target.opt_g.state(target.g->parameters()[0]) == nullptr);
}

TEST_CASE("checkpoint prefixes are checked") {
  Linear a(1, 1), b(1, 1);
  Checkpoint c;
  c.add("a", a);
  CHECK_THROWS_WITH_ALL(c.add("a", b), "Checkpoint", "'a' is already used");
  CHECK_THROWS_WITH_ALL(c.add("a.b", b), "Checkpoint", "'a.b'", "without dots");
  CHECK_THROWS_WITH_ALL(c.add("rng", b), "Checkpoint", "'rng'");
  CHECK_THROWS_WITH_ALL(c.add("", b), "Checkpoint", "non-empty");
}
