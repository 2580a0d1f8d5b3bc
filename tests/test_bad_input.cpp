// Bad input across the public API, in one place: every case raises tg::Error whose message
// names the operation and the problem (shapes, dtypes, devices, parameters, files). A failed
// load changes nothing; a failed save leaves the previous file as it was.
#include <signal.h>
#include <sys/resource.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>

#include "data/io/io_test_helpers.h"
#include "test_helpers.h"

using namespace tg;
using tg::test::gzip_bytes;
using tg::test::idx_bytes;
using tg::test::read_bytes;
using tg::test::TempDir;
using tg::test::write_bytes;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A tensor that claims to live on cuda:0 over host memory: enough to reach the device checks,
// which come before any kernel runs.
Tensor on_fake_cuda(std::vector<float>& memory, const Shape& shape) {
  memory.assign(numel_of(shape), 0.0f);
  return from_blob(memory.data(), shape, TensorOptions(kFloat32).device(kCUDA));
}

// The raw bytes of every tensor of a state dict, in order: "changes nothing" is bitwise.
std::vector<std::string> bytes_of(const TensorDict& dict) {
  std::vector<std::string> out;
  for (const auto& [key, t] : dict) {
    const Tensor c = t.contiguous();
    out.emplace_back(static_cast<const char*>(c.raw_data()), c.numel() * dtype_size(c.dtype()));
  }
  return out;
}

// Runs `save` with the file size limited to `limit` bytes (writes past it fail with EFBIG) and
// returns the tg::Error message it raised ("" if none).
std::string message_of_save_with_file_limit(rlim_t limit, const std::function<void()>& save) {
  rlimit old{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);  // write() fails instead of the signal killing us
  rlimit small = old;
  small.rlim_cur = limit;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string message;
  try {
    save();
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  return message;
}

// Where the data of the first .npy entry of a stored .npz archive starts.
size_t first_npy_data(const std::string& archive) {
  const size_t npy = archive.find("\x93NUMPY");
  REQUIRE(npy != std::string::npos);
  const auto byte = [&](size_t i) { return static_cast<size_t>(static_cast<unsigned char>(archive[i])); };
  const size_t header_len = byte(npy + 8) | byte(npy + 9) << 8;
  return npy + 10 + header_len;
}

// Writes `content` as file `name` of `dir` and returns its path.
std::string bad_file(const TempDir& dir, const std::string& name, const std::string& content) {
  write_bytes(dir.file(name), content);
  return dir.file(name);
}

void put_le32(std::string& bytes, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Restores the active backend when a test case ends.
struct BackendScope {
  std::string backend = kernel::current_backend();
  ~BackendScope() { kernel::set_backend(backend); }
};

nn::Sequential small_mlp() { return nn::Sequential(nn::Linear(3, 4), nn::BatchNorm1d(4), nn::Linear(4, 2)); }

}  // namespace

TEST_CASE("elementwise ops: shape, dtype and device mismatches") {
  std::vector<float> memory;
  CHECK_THROWS_WITH_ALL(zeros({2, 3, 4}) + zeros({3, 5}), "add:", "[2, 3, 4]", "[3, 5]", "cannot be broadcast");
  CHECK_THROWS_WITH_ALL(div(ones({3}, kFloat64), ones({3})), "div:", "dtype mismatch", "float64[3]", "float32[3]");
  CHECK_THROWS_WITH_ALL(sub(on_fake_cuda(memory, {4}), ones({4})), "sub:", "device mismatch", "(cuda:0)", "(cpu)");
  CHECK_THROWS_WITH_ALL(log(arange(3.0, kInt64)), "log:", "expected a float32 or float64 tensor", "int64[3]");
}

TEST_CASE("int64 division never traps: a zero divisor and INT64_MIN / -1 raise tg::Error naming div") {
  // div is true division (as torch.div) and is registered for floating dtypes only; the
  // kernels themselves refuse integers too, so no path reaches a trapping integer divide.
  const BackendScope scope;
  const Tensor zero_divisor = tensor<int64_t>({0, 1}), min = tensor<int64_t>({std::numeric_limits<int64_t>::min()});
  for (const char* name : {"reference", "cpu"}) {
    CAPTURE(name);
    kernel::set_backend(name);
    CHECK_THROWS_WITH_ALL(tensor<int64_t>({4, 5}) / zero_divisor, "div:", "no kernel for int64");
    CHECK_THROWS_WITH_ALL(min / tensor<int64_t>({-1}), "div:", "no kernel for int64");
    CHECK_THROWS_WITH_ALL(arange(3.0, kInt64) / 0, "div:", "no kernel for int64");
    CHECK_THROWS_WITH_ALL(arange(3.0, kInt64) / int64_t{-1}, "div:", "no kernel for int64");
    const kernel::KernelTable& table = kernel::table_named(name);
    Tensor out = empty({2}, kInt64);
    CHECK_THROWS_WITH_ALL(table.div.fn(out, tensor<int64_t>({4, 5}), zero_divisor), "div:",
                          "integer division is not supported (int64 operands)", "true division");
    CHECK_THROWS_WITH_ALL(table.div.fn(out, min.expand({2}), tensor<int64_t>({-1, -1})), "div:",
                          "integer division is not supported");
  }
  CHECK((tensor<int64_t>({4, 5}).to(kFloat64) / zero_divisor.to(kFloat64)).to_vector<double>() ==
        std::vector<double>{INFINITY, 5.0});
  // A floating divisor promotes to float32 (as in PyTorch): true division, no integer divide.
  CHECK((tensor<int64_t>({4, -5}) / 0.0).to_vector<double>() == std::vector<double>{INFINITY, -INFINITY});
}

TEST_CASE("reductions: dims out of range or repeated, empty and integer inputs, bad correction") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_ALL(sum(x, {0, -2}), "sum:", "dim appears twice");
  CHECK_THROWS_WITH_ALL(mean(x, {2}), "mean:", "dimension out of range", "got 2");
  CHECK_THROWS_WITH_ALL(var(x, {1}, -1), "var", "correction must be non-negative, got -1");
  CHECK_THROWS_WITH_ALL(logsumexp(arange(3.0, kInt64), {0}), "int64[3]");
  CHECK_THROWS_WITH_ALL(min(zeros({0})), "min:", "cannot reduce an empty tensor", "[0]");
}

TEST_CASE("matmul and linear: inner dimensions, features, dtype and device") {
  std::vector<float> memory;
  CHECK_THROWS_WITH_ALL(matmul(zeros({3, 2, 4}), zeros({3, 5, 2})), "matmul:", "(4 != 5)");
  CHECK_THROWS_WITH_ALL(matmul(zeros({2, 3}), zeros({3, 2}, kFloat64)), "matmul:", "dtype mismatch");
  CHECK_THROWS_WITH_ALL(linear(zeros({2, 3}), on_fake_cuda(memory, {4, 3})), "linear:", "device mismatch", "(cuda:0)");
  nn::Linear fc(4, 2);
  CHECK_THROWS_WITH_ALL(fc->forward(zeros({3, 5})), "Linear", "expected input with last dimension 4",
                        "float32[3, 5]");
}

TEST_CASE("conv2d and conv_transpose2d: shapes, dtypes and parameters") {
  Tensor x = zeros({1, 3, 8, 8}), w = zeros({4, 3, 3, 3});
  CHECK_THROWS_WITH_ALL(conv2d(x, zeros({4, 2, 3, 3})), "conv2d", "has 3 channels but weight");
  CHECK_THROWS_WITH_ALL(conv2d(x, zeros({4, 3, 3})), "conv2d", "weight must be 4-D", "[4, 3, 3]");
  CHECK_THROWS_WITH_ALL(conv2d(zeros({8, 8}), w), "conv2d", "input must be 3-D [C, H, W] or 4-D", "[8, 8]");
  CHECK_THROWS_WITH_ALL(conv2d(x, w, {}, {1, 0}), "conv2d", "stride must be positive");
  CHECK_THROWS_WITH_ALL(conv2d(x, w, {}, 1, -1), "conv2d", "padding must be non-negative");
  CHECK_THROWS_WITH_ALL(conv2d(x, w, {}, 1, 0, 0), "conv2d", "dilation must be positive");
  CHECK_THROWS_WITH_ALL(conv2d(x, zeros({4, 1, 3, 3}), {}, 1, 0, 1, 2), "conv2d", "3 channels");
  CHECK_THROWS_WITH_ALL(conv2d(zeros({1, 3, 2, 2}), w), "conv2d", "kernel size 3 x 3");
  CHECK_THROWS_WITH_ALL(conv2d(x, w, zeros({5})), "conv2d", "bias must be 1-D with C_out = 4");
  CHECK_THROWS_WITH_ALL(conv2d(x, zeros({4, 3, 3, 3}, kFloat64)), "conv2d", "dtype mismatch");
  CHECK_THROWS_WITH_ALL(conv2d(x, zeros({4, 3, 0, 3})), "conv2d", "empty kernel");
  CHECK_THROWS_WITH_ALL(conv_transpose2d(zeros({1, 4, 5, 5}), zeros({4, 2, 3, 3}), {}, 2, 0, 2), "conv_transpose2d",
                        "output_padding");
  nn::Conv2d conv(nn::Conv2dOptions(3, 8, 3));
  CHECK_THROWS_WITH_ALL(conv->forward(zeros({2, 1, 8, 8})), "Conv2d", "expected input of shape [N, 3, H, W]",
                        "[2, 1, 8, 8]");
  CHECK_THROWS_WITH_ALL(nn::Conv2d(nn::Conv2dOptions(3, 8, 3).groups(2)), "Conv2d", "divisible by groups");
}

TEST_CASE("pooling: kernel, stride, padding and input rank") {
  Tensor x = zeros({1, 2, 6, 6});
  CHECK_THROWS_WITH_ALL(max_pool2d(x, 0), "max_pool2d", "kernel_size must be positive");
  CHECK_THROWS_WITH_ALL(max_pool2d(x, 2, 2, 2), "max_pool2d", "padding");
  CHECK_THROWS_WITH_ALL(avg_pool2d(x, 2, Size2(0, 1)), "avg_pool2d", "stride must be positive");
  CHECK_THROWS_WITH_ALL(max_pool2d(x, 7), "max_pool2d", "larger than the padded input");
  CHECK_THROWS_WITH_ALL(avg_pool2d(zeros({6, 6}), 2), "avg_pool2d", "input must be 3-D", "[6, 6]");
  CHECK_THROWS_WITH_ALL(adaptive_avg_pool2d(x, {0, 2}), "adaptive_avg_pool2d", "output_size must be positive");
}

TEST_CASE("normalisation: statistics shapes, parameters and zero-sized batches") {
  Tensor x = zeros({4, 3});
  CHECK_THROWS_WITH_ALL(batch_norm(x, zeros({2}), ones({3})), "batch_norm", "running_mean", "[2]");
  CHECK_THROWS_WITH_ALL(batch_norm(x, zeros({3}), ones({3}), {}, {}, true, kNaN), "batch_norm", "momentum",
                        "nan");
  CHECK_THROWS_WITH_ALL(batch_norm(zeros({1, 3}), Tensor(), Tensor(), {}, {}, true), "batch_norm",
                        "Expected more than 1 value per channel when training");
  nn::BatchNorm2d bn(3);
  CHECK_THROWS_WITH_ALL(bn->forward(zeros({0, 3, 4, 4})), "batch_norm",
                        "Expected more than 1 value per channel when training");
  CHECK_THROWS_WITH_ALL(bn->forward(zeros({2, 3, 4})), "BatchNorm2d", "expected 4D input", "[2, 3, 4]");
  CHECK_THROWS_WITH_ALL(layer_norm(zeros({2, 5}), {4}), "layer_norm", "normalized_shape", "[2, 5]");
  CHECK_THROWS_WITH_ALL(instance_norm(zeros({2, 3, 4, 4}), {}, {}, ones({2})), "instance_norm", "weight");
}

TEST_CASE("losses: target shape, dtype, class range and weights") {
  Tensor logits = zeros({4, 3});
  CHECK_THROWS_WITH_ALL(mse_loss(zeros({4, 3}), zeros({4, 2})), "mse_loss", "[4, 2]", "[4, 3]");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy_with_logits(logits, zeros({4, 3}), ones({5})),
                        "binary_cross_entropy_with_logits", "weight", "[5]", "cannot be broadcast");
  CHECK_THROWS_WITH_ALL(binary_cross_entropy(full({2}, 1.5), zeros({2})), "binary_cross_entropy",
                        "all elements of input");
  CHECK_THROWS_WITH_ALL(cross_entropy(logits, zeros({4})), "cross_entropy", "target must be an int64 tensor",
                        "float32[4]");
  CHECK_THROWS_WITH_ALL(cross_entropy(logits, tensor<int64_t>({0, 1, 3, 2})), "cross_entropy", "target value 3",
                        "index 2");
  CHECK_THROWS_WITH_ALL(cross_entropy(logits, tensor<int64_t>({0, 1})), "cross_entropy", "int64[2]");
  CHECK_THROWS_WITH_ALL(nll_loss(logits, tensor<int64_t>({0, 1, 2, 0}), ones({4})), "nll_loss", "weight",
                        "float32[4]");
  CHECK_THROWS_WITH_ALL(kl_normal(zeros({2, 3}), zeros({3, 2})), "kl_normal", "[2, 3]", "[3, 2]");
}

TEST_CASE("cat, stack, views and out-of-range dims") {
  Tensor x = zeros({2, 3, 4});
  CHECK_THROWS_WITH_ALL(cat({x, zeros({2, 4, 4})}, 2), "cat:", "sizes must match except in dimension 2",
                        "[2, 4, 4]");
  CHECK_THROWS_WITH_ALL(stack({x, zeros({2, 3})}), "stack:", "equal size", "[2, 3]");
  CHECK_THROWS_WITH_ALL(x.reshape({5, -1}), "view:", "[5, -1]", "invalid for input of size 24");
  CHECK_THROWS_WITH_ALL(x.permute({2, 0, 1}).view({24}), "view:", "not compatible", ".reshape");
  CHECK_THROWS_WITH_ALL(x.narrow(2, 3, 2), "narrow:", "start 3 + length 2 exceeds dimension 2 of size 4");
  CHECK_THROWS_WITH_ALL(softmax(zeros({2, 3}), 2), "softmax", "dimension out of range", "got 2");
  CHECK_THROWS_WITH_ALL(log_softmax(zeros({2, 3}), -3), "log_softmax", "got -3");
  CHECK_THROWS_WITH_ALL(x.unsqueeze(-5), "unsqueeze:", "[-4, 3]", "got -5");
}

TEST_CASE("empty tensors where an op needs values") {
  CHECK_THROWS_WITH_ALL(max(zeros({3, 0}), 1), "max:", "empty tensor", "[3, 0]");
  CHECK_THROWS_WITH_ALL(make_grid(zeros({0, 1, 4, 4})), "make_grid", "expected at least one image", "[0, 1, 4, 4]");
  CHECK_THROWS_WITH_ALL(adaptive_avg_pool2d(zeros({1, 2, 0, 4}), 1), "adaptive_avg_pool2d", "empty plane");
  CHECK_THROWS_WITH_ALL(data::DataLoader(std::make_shared<data::Ring8>(10, 1), data::DataLoaderOptions(0)),
                        "DataLoader", "batch_size must be >= 1, got 0");
}

TEST_CASE("optimizers refuse NaN learning rates and other NaN options, updating nothing") {
  Tensor w = ones({3}, kFloat64).requires_grad_();
  CHECK_THROWS_WITH_ALL(optim::SGD({w}, optim::SGDOptions(kNaN)), "SGD", "invalid learning rate: nan");
  CHECK_THROWS_WITH_ALL(optim::Adam({w}, optim::AdamOptions(kNaN)), "Adam", "invalid learning rate: nan");
  CHECK_THROWS_WITH_ALL(optim::AdamW({w}, optim::AdamWOptions(kNaN)), "AdamW", "invalid learning rate: nan");
  CHECK_THROWS_WITH_ALL(optim::RMSprop({w}, optim::RMSpropOptions(kNaN)), "RMSprop", "invalid learning rate: nan");
  CHECK_THROWS_WITH_ALL(optim::Adam({w}, optim::AdamOptions(0.1).betas({kNaN, 0.999})), "Adam",
                        "invalid beta parameter at index 0: nan");
  CHECK_THROWS_WITH_ALL(optim::clip_grad_norm_({w}, kNaN), "clip_grad_norm_", "max_norm must be non-negative, got nan");

  // A NaN reaching a group later (a scheduler's factor) is caught at step(), before any update.
  Tensor v = ones({2}, kFloat64).requires_grad_();
  optim::Adam adam({w, v}, optim::AdamOptions(0.1));
  optim::StepLR sched(adam, 1, kNaN);
  sched.step();
  w.set_grad(ones({3}, kFloat64));
  v.set_grad(ones({2}, kFloat64));
  CHECK_THROWS_WITH_ALL(adam.step(), "Adam", "invalid learning rate: nan");
  CHECK(w.to_vector<double>() == std::vector<double>{1, 1, 1});
  CHECK(adam.state(w) == nullptr);
  CHECK_THROWS_WITH_ALL(dropout(ones({2}), kNaN), "dropout", "between 0 and 1", "nan");
}

TEST_CASE("every scheduler: a NaN learning rate stops the optimizer; NaN loaded base lrs are refused") {
  using namespace optim;
  using Make = std::function<std::unique_ptr<LRScheduler>(Optimizer&)>;
  // Each scheduler with a NaN in its formula: the lr it sets by epoch 1 is NaN.
  const std::vector<std::pair<std::string, Make>> schedulers = {
      {"StepLR", [](Optimizer& o) { return std::make_unique<StepLR>(o, 1, kNaN); }},
      {"ExponentialLR", [](Optimizer& o) { return std::make_unique<ExponentialLR>(o, kNaN); }},
      {"CosineAnnealingLR", [](Optimizer& o) { return std::make_unique<CosineAnnealingLR>(o, 4, kNaN); }},
      {"LambdaLR", [](Optimizer& o) {
         return std::make_unique<LambdaLR>(o, [](int64_t e) { return e == 0 ? 1.0 : kNaN; });
       }},
  };
  for (const auto& [name, make] : schedulers) {
    CAPTURE(name);
    Tensor w = ones({3}, kFloat64).requires_grad_();
    SGD opt({w}, SGDOptions(0.1));
    auto sched = make(opt);
    sched->step();
    w.set_grad(ones({3}, kFloat64));
    CHECK_THROWS_WITH_ALL(opt.step(), "SGD", "invalid learning rate: nan");
    CHECK(w.to_vector<double>() == std::vector<double>{1, 1, 1});
  }
  Tensor w = ones({3}, kFloat64).requires_grad_();
  SGD opt({w}, SGDOptions(0.1));
  CHECK_THROWS_WITH_ALL(LinearLR(opt, kNaN), "LinearLR", "start_factor", "nan");
  CHECK_THROWS_WITH_ALL(LinearLR(opt, 0.5, kNaN), "LinearLR", "end_factor", "nan");

  // A checkpoint whose scheduler state holds a NaN base lr loads nothing at all.
  TempDir dir;
  manual_seed(8);
  nn::Sequential model = small_mlp();
  Adam adam(model->parameters(), AdamOptions(1e-2));
  StepLR sched(adam, 2, 0.5);
  nn::Checkpoint checkpoint;
  checkpoint.add("model", model).add("opt", adam).add("sched", sched);
  checkpoint.save(dir.file("good.npz"), 1);
  TensorDict dict = load_npz(dir.file("good.npz"));
  for (auto& [key, t] : dict)
    if (key == "sched.base_lrs") t = tensor<double>({kNaN});
  save_npz(dict, dir.file("nan.npz"));
  adam.zero_grad();
  const Tensor y = model->forward(randn({5, 3}));
  (y * y).mean().backward();
  adam.step();
  sched.step();
  const std::vector<std::string> model_before = bytes_of(model->state_dict()), opt_before = bytes_of(adam.state_dict());
  CHECK_THROWS_WITH_ALL(checkpoint.load(dir.file("nan.npz")), "Checkpoint", "nothing was changed", "'sched'",
                        "base_lrs[0] must be a finite non-negative learning rate, got nan");
  CHECK(bytes_of(model->state_dict()) == model_before);
  CHECK(bytes_of(adam.state_dict()) == opt_before);
  CHECK(sched.last_epoch() == 1);
  CHECK(sched.get_last_lr() == std::vector<double>{1e-2});
}

TEST_CASE(".npy files: wrong magic, truncated, oversized declarations, corrupt header, unknown dtype") {
  TempDir dir;
  const std::string good = dir.file("good.npy");
  save_npy(arange(6.0, kFloat32).reshape({2, 3}), good);
  const std::string bytes = read_bytes(good);
  CHECK_THROWS_WITH_ALL(load_npy(bad_file(dir, "magic.npy", "PK" + bytes.substr(2))), "load_npy", "magic.npy",
                        "wrong magic");
  CHECK_THROWS_WITH_ALL(load_npy(bad_file(dir, "cut.npy", bytes.substr(0, bytes.size() - 5))), "load_npy", "cut.npy",
                        "truncated data", "needs 24 bytes but the file has 19");
  CHECK_THROWS_WITH_ALL(load_npy(bad_file(dir, "empty.npy", "")), "load_npy", "empty.npy", "truncated file");
  std::string huge = bytes;
  const size_t shape_at = huge.find("(2, 3)");
  REQUIRE(shape_at != std::string::npos);
  huge.replace(shape_at, 6, "(1<<40)");
  CHECK_THROWS_WITH_ALL(load_npy(bad_file(dir, "malformed.npy", huge)), "load_npy", "malformed.npy",
                        "malformed header");
  huge = bytes;
  huge.replace(shape_at, 6, "(9999999999999,)");
  huge.erase(huge.find('\n') - 10, 10);  // keep the header length as declared
  CHECK_THROWS_WITH_ALL(load_npy(bad_file(dir, "huge.npy", huge)), "load_npy", "huge.npy", "[9999999999999]",
                        "truncated data");
  std::string complex = bytes;
  complex.replace(complex.find("<f4"), 3, "<c8");
  CHECK_THROWS_WITH_ALL(load_npy(bad_file(dir, "complex.npy", complex)), "load_npy", "complex.npy",
                        "unsupported dtype '<c8'");
}

TEST_CASE(".npz files: wrong magic, truncated, bad CRC, oversized declarations") {
  TempDir dir;
  const std::string good = dir.file("good.npz");
  save_npz({{"w", arange(64.0)}, {"b", ones({3})}}, good, /*compress=*/false);
  const std::string bytes = read_bytes(good);
  CHECK_THROWS_WITH_ALL(load_npz(bad_file(dir, "text.npz", "w,b\n1,2\n")), "load_npz", "text.npz", "wrong magic");
  CHECK_THROWS_WITH_ALL(load_npz(bad_file(dir, "half.npz", bytes.substr(0, bytes.size() / 2))), "load_npz", "half.npz",
                        "truncated or corrupt file");
  std::string flipped = bytes;
  flipped[first_npy_data(bytes) + 5] ^= 0x40;
  CHECK_THROWS_WITH_ALL(load_npz(bad_file(dir, "crc.npz", flipped)), "load_npz", "crc.npz", "entry 'w.npy'",
                        "bad CRC-32");
  std::string oversized = bytes;
  const size_t central = oversized.find("PK\x01\x02");
  REQUIRE(central != std::string::npos);
  put_le32(oversized, central + 20, 0x7FFFFFF0);  // compressed size
  put_le32(oversized, central + 24, 0x7FFFFFF0);  // uncompressed size
  CHECK_THROWS_WITH_ALL(load_npz(bad_file(dir, "oversized.npz", oversized)), "load_npz", "oversized.npz",
                        "declares 2147483632 bytes", "but the file has only");
}

TEST_CASE("IDX files, raw and gzip: wrong magic, unknown type, truncated, oversized declarations") {
  TempDir dir;
  const std::string pixels(2 * 3 * 3, '\x7f');
  const std::string raw = idx_bytes(0x08, {2, 3, 3}, pixels);
  const auto read = [&](const std::string& name, const std::string& content) {
    return data::read_idx(bad_file(dir, name, content));
  };
  CHECK_THROWS_WITH_ALL(read("magic.idx", "\x01\x00" + raw.substr(2)), "read_idx", "magic.idx", "wrong magic");
  CHECK_THROWS_WITH_ALL(read("type.idx", idx_bytes(0x0A, {2}, "ab")), "read_idx", "type.idx",
                        "unknown IDX element type code");
  CHECK_THROWS_WITH_ALL(read("cut.idx", raw.substr(0, raw.size() - 4)), "read_idx", "cut.idx",
                        "truncated or corrupt file", "the header declares");
  CHECK_THROWS_WITH_ALL(read("huge.idx", idx_bytes(0x08, {60000, 60000, 60000}, pixels)), "read_idx", "huge.idx",
                        "truncated or corrupt file");
  const std::string gz = gzip_bytes(raw);
  CHECK_THROWS_WITH_ALL(read("cut.idx.gz", gz.substr(0, gz.size() - 12)), "read_idx", "cut.idx.gz",
                        "truncated or corrupt file");
  CHECK_THROWS_WITH_ALL(read("huge.idx.gz", gzip_bytes(idx_bytes(0x08, {70000, 28, 28}, pixels))), "read_idx",
                        "huge.idx.gz", "the header declares", "the gzip trailer says");
  std::string corrupt = gz;
  corrupt[gz.size() - 8] ^= 0x01;  // the CRC-32 of the gzip trailer
  CHECK_THROWS_WITH_ALL(read("corrupt.idx.gz", corrupt), "read_idx", "corrupt.idx.gz", "corrupt gzip data",
                        "incorrect data check");
}

TEST_CASE("checkpoints and state dicts: a failed load names the problem and changes nothing") {
  TempDir dir;
  manual_seed(5);
  nn::Sequential model = small_mlp();
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-2));
  nn::Checkpoint checkpoint;
  checkpoint.add("model", model).add("opt", opt);

  // The files: a checkpoint of a model with one more layer, ours cut short, ours without its
  // step, a PNG, and the model's weights in float64.
  nn::Sequential other = small_mlp();
  other->push_back(nn::Linear(2, 2));
  optim::Adam other_opt(other->parameters(), optim::AdamOptions(1e-2));
  nn::Checkpoint theirs;
  theirs.add("model", other).add("opt", other_opt);
  const std::string ckpt = dir.file("other.ckpt.npz");
  theirs.save(ckpt, 4);
  checkpoint.save(dir.file("mine.npz"), 3);
  const std::string bytes = read_bytes(dir.file("mine.npz"));
  write_bytes(dir.file("cut.npz"), bytes.substr(0, bytes.size() - 100));
  write_bytes(dir.file("png.npz"), encode_png(zeros({2, 2}, kUInt8)));
  TensorDict stepless = load_npz(dir.file("mine.npz"));
  REQUIRE(stepless.front().first == "step");
  stepless.erase(stepless.begin());
  save_npz(stepless, dir.file("stepless.npz"));
  nn::Sequential wide = small_mlp();
  wide->to(kFloat64);
  save(wide, dir.file("float64.npz"));

  // One step, so the optimizer has state (step counts, moments) that a failed load must keep.
  opt.zero_grad();
  const Tensor y = model->forward(randn({5, 3}));
  (y * y).mean().backward();
  opt.step();
  REQUIRE(opt.state(model->parameters()[0]) != nullptr);
  const std::vector<std::string> before = bytes_of(model->state_dict()), opt_before = bytes_of(opt.state_dict());
  const GeneratorState rng = get_rng_state();
  const auto unchanged = [&] {
    CHECK(bytes_of(model->state_dict()) == before);
    CHECK(bytes_of(opt.state_dict()) == opt_before);
    CHECK(get_rng_state().offset == rng.offset);
  };
  CHECK_THROWS_WITH_ALL(checkpoint.load(ckpt), "Checkpoint", "nothing was changed", "'model'",
                        "unexpected keys: [3.bias, 3.weight]", "'opt'", "do not match the optimizer's 6 parameters");
  unchanged();
  CHECK_THROWS_WITH_ALL(load(model, ckpt), "load_state_dict", "missing keys: [0.weight",
                        "unexpected keys: [model.0.bias");
  unchanged();
  CHECK_THROWS_WITH_ALL(checkpoint.load(dir.file("cut.npz")), "load_npz", "cut.npz", "truncated or corrupt file");
  unchanged();
  CHECK_THROWS_WITH_ALL(checkpoint.load(dir.file("png.npz")), "load_npz", "png.npz", "wrong magic");
  unchanged();
  CHECK_THROWS_WITH_ALL(checkpoint.load(dir.file("stepless.npz")), "Checkpoint", "missing int64 scalar 'step'");
  unchanged();
  TensorDict extra = model->state_dict();
  extra.emplace_back("2.scale", ones({2}));
  CHECK_THROWS_WITH_ALL(model->load_state_dict(extra), "load_state_dict", "unexpected keys: [2.scale]");
  unchanged();
  CHECK_THROWS_WITH_ALL(load(model, dir.file("float64.npz")), "load_state_dict",
                        "dtype mismatch for 0.weight: expected float32, got float64");
  unchanged();
  CHECK_THROWS_WITH_ALL(load(opt, dir.file("float64.npz")), "Adam", "nothing was changed");
  unchanged();
}

TEST_CASE("a failed save leaves the previous file as it was") {
  TempDir dir;
  manual_seed(6);
  nn::Sequential model = small_mlp();
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  nn::Checkpoint checkpoint;
  checkpoint.add("model", model).add("opt", opt);
  const std::string weights = dir.file("weights.npz"), ckpt = dir.file("checkpoint.npz"), image = dir.file("grid.png");
  save(model, weights);
  checkpoint.save(ckpt, 1);
  save_image(rand({4, 1, 8, 8}), image);
  const std::string weights_before = read_bytes(weights), ckpt_before = read_bytes(ckpt),
                    image_before = read_bytes(image);

  // The disk fills up (a file size limit) half-way through each writer's next save.
  nn::Sequential big(nn::Linear(256, 256), nn::Linear(256, 256));
  nn::Checkpoint big_checkpoint;
  big_checkpoint.add("model", big);
  const rlim_t limit = 4096;
  const std::string weights_message = message_of_save_with_file_limit(limit, [&] { save(big, weights); });
  CHECK(weights_message.find("weights.npz") != std::string::npos);
  CHECK(weights_message.find("write failed") != std::string::npos);
  CHECK(read_bytes(weights) == weights_before);
  const std::string ckpt_message = message_of_save_with_file_limit(limit, [&] { big_checkpoint.save(ckpt, 2); });
  CHECK(ckpt_message.find("checkpoint.npz") != std::string::npos);
  CHECK(ckpt_message.find("write failed") != std::string::npos);
  CHECK(read_bytes(ckpt) == ckpt_before);
  const std::string image_message =
      message_of_save_with_file_limit(limit, [&] { save_image(rand({64, 3, 32, 32}), image); });
  CHECK(image_message.find("grid.png") != std::string::npos);
  CHECK(read_bytes(image) == image_before);
  const std::string npy = dir.file("tensor.npy");
  save_npy(ones({3}), npy);
  const std::string npy_before = read_bytes(npy);
  const std::string npy_message = message_of_save_with_file_limit(limit, [&] { save_npy(zeros({64, 64}), npy); });
  CHECK(npy_message.find("tensor.npy") != std::string::npos);
  CHECK(npy_message.find("write failed") != std::string::npos);
  CHECK(read_bytes(npy) == npy_before);

  // Refused before writing: a duplicate entry, a NaN pixel, a folder in the way, no folder.
  CHECK_THROWS_WITH_ALL(save_npz({{"a", ones({1})}, {"a", ones({1})}}, weights), "save_npz", "duplicate entry 'a'");
  CHECK(read_bytes(weights) == weights_before);
  CHECK_THROWS_WITH_ALL(save_image(full({1, 4, 4}, kNaN), image), "save_image", "the image contains NaN");
  CHECK(read_bytes(image) == image_before);
  std::filesystem::create_directories(dir.file("folder.npz"));
  CHECK_THROWS_WITH_ALL(save(model, dir.file("folder.npz")), "folder.npz");
  CHECK(std::filesystem::is_directory(dir.file("folder.npz")));
  CHECK_THROWS_WITH_ALL(save_npy(ones({2}), dir.file("folder.npz")), "save_npy", "folder.npz", "rename failed",
                        "the previous file, if any, is unchanged");
  CHECK(std::filesystem::is_directory(dir.file("folder.npz")));
  CHECK_THROWS_WITH_ALL(checkpoint.save(dir.file("no/such/dir/checkpoint.npz"), 3), "cannot create a temporary file",
                        "no/such/dir");
  // No temporary file is left behind by any failure.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 5);
}
