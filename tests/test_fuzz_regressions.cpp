// What fuzzing the readers (fuzz/) found, one case per bug, plus the in-memory entry points the
// harnesses call agreeing with the path-based ones. fuzz/README.md lists the bugs.
#include <cmath>
#include <limits>

#include "data/io/io_test_helpers.h"
#include "test_helpers.h"

using namespace tg;
using tg::test::TempDir;

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// A .npy file (format 1.0, no data) whose header is `dict`, padded as numpy pads it.
std::string npy_header_only(const std::string& dict) {
  std::string header = dict;
  header.append(63 - (10 + header.size()) % 64, ' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY\x01";
  out.push_back('\0');
  out.push_back(static_cast<char>(header.size() & 0xFF));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header;
}

// A parameter with Adam state after one step, and its optimizer's state dict.
struct TrainedAdam {
  Tensor p = tensor<float>({1.f, 2.f}, {2}).requires_grad_();
  optim::Adam opt{std::vector<Tensor>{p}, optim::AdamOptions(0.1)};
  TrainedAdam() {
    sum(square(p)).backward();
    opt.step();
  }
  TensorDict with(const std::string& key, const Tensor& value, const std::string& new_key = "") const {
    TensorDict dict = opt.state_dict();
    for (auto& [k, t] : dict)
      if (k == key) {
        t = value;
        if (!new_key.empty()) k = new_key;
      }
    return dict;
  }
};

}  // namespace

TEST_CASE("npy: an empty shape whose other dimensions overflow the strides is a tg::Error") {
  // (0, 10^11, 10^11) holds no element, but its first stride would be 10^22.
  const std::string bytes =
      npy_header_only("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 99999999999, 99999999999), }");
  CHECK_THROWS_WITH_ALL(npy_from_bytes(bytes.data(), bytes.size(), "zero.npy"), "zero.npy", "overflows");
  const std::string fine =
      npy_header_only("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 99999999999), }");
  CHECK(npy_from_bytes(fine.data(), fine.size()).shape() == Shape{0, 99999999999});
}

TEST_CASE("idx: an empty shape whose other dimensions overflow the strides is a tg::Error") {
  // ubyte, rank 5: 2752528 x 0 x 3 x 1048576 x 5330333 (the fuzzer's input).
  const std::string bytes(
      "\x00\x00\x08\x05\x00\x2a\x00\x10\x00\x00\x00\x00\x00\x00\x00\x03\x00\x10\x00\x00\x00\x51\x55\x9d", 24);
  CHECK_THROWS_WITH_ALL(data::idx_from_bytes(bytes, "zero.idx"), "zero.idx",
                        "more elements than any file can hold");
  const std::string fine("\x00\x00\x08\x02\x00\x00\x00\x00\xff\xff\xff\xff", 12);
  CHECK(data::idx_from_bytes(fine).shape() == Shape{0, 4294967295});
}

TEST_CASE("npz_from_bytes and idx_from_bytes read what load_npz and read_idx read") {
  TempDir dir;
  const TensorDict dict{{"w", tensor<float>({1.f, -2.f, 3.f}, {3})}, {"n", tensor<int64_t>({7}, {})}};
  save_npz(dict, dir.file("a.npz"));
  const TensorDict from_bytes = npz_from_bytes(read_file(dir.file("a.npz"), "test"));
  REQUIRE(from_bytes.size() == 2);
  CHECK(from_bytes[0].first == "w");
  CHECK(from_bytes[0].second.to_vector<float>() == std::vector<float>{1.f, -2.f, 3.f});
  CHECK(from_bytes[1].second.item<int64_t>() == 7);
  CHECK_THROWS_WITH_ALL(npz_from_bytes("PK\x03\x04 cut", "mem.npz"), "load_npz", "'mem.npz'",
                        "truncated or corrupt");

  const std::string idx("\x00\x00\x08\x01\x00\x00\x00\x02\x05\xfa", 10);
  tg::test::write_bytes(dir.file("a.idx"), idx);
  CHECK(data::read_idx(dir.file("a.idx")).to_vector<int64_t>() == std::vector<int64_t>{5, 250});
  CHECK(data::idx_from_bytes(idx).to_vector<int64_t>() == std::vector<int64_t>{5, 250});
}

TEST_CASE("item<int64_t> and to_vector<int64_t> read int64 values exactly and check conversions") {
  // Through a double, 2^62 + 1 would round and 2^63 - 1 would overflow the conversion back.
  const std::vector<int64_t> values{kInt64Max, (int64_t{1} << 62) + 1, std::numeric_limits<int64_t>::min()};
  const Tensor big = tensor<int64_t>(values, {3});
  CHECK(big.to_vector<int64_t>() == values);
  CHECK(big.select(0, 0).item<int64_t>() == kInt64Max);
  CHECK(tensor<double>({-0x1p63}, {}).item<int64_t>() == std::numeric_limits<int64_t>::min());
  CHECK(tensor<float>({-2.75f}, {}).item<int64_t>() == -2);
  CHECK_THROWS_WITH_ALL(tensor<double>({0x1p63}, {}).item<int64_t>(), "cannot be converted to int64");
  CHECK_THROWS_WITH_ALL(tensor<float>({1e30f}, {}).item<int64_t>(), "cannot be converted to int64");
  CHECK_THROWS_WITH_ALL(tensor<double>({std::nan("")}, {}).to_vector<int64_t>(),
                        "cannot be converted to int64");
  CHECK(tensor<double>({std::nan("")}, {}).item<bool>());
}

TEST_CASE("int64 add, sub and mul wrap around on every backend, as in NumPy") {
  const std::string before = kernel::current_backend();
  for (const std::string& backend : kernel::available_backends()) {
    CAPTURE(backend);
    kernel::set_backend(backend);
    const Tensor max = tensor<int64_t>({kInt64Max}, {1});
    const Tensor min = tensor<int64_t>({std::numeric_limits<int64_t>::min()}, {1});
    CHECK(add(max, tensor<int64_t>({1}, {1})).item<int64_t>() == std::numeric_limits<int64_t>::min());
    CHECK(sub(min, tensor<int64_t>({1}, {1})).item<int64_t>() == kInt64Max);
    CHECK(mul(max, tensor<int64_t>({2}, {1})).item<int64_t>() == -2);
    Tensor counter = tensor<int64_t>({kInt64Max}, {});
    counter.add_(1);  // BatchNorm's num_batches_tracked, loaded at the maximum
    CHECK(counter.item<int64_t>() == std::numeric_limits<int64_t>::min());
  }
  kernel::set_backend(before);
}

TEST_CASE("an optimizer state dict with an index too long for int64 is a tg::Error") {
  TrainedAdam a;
  CHECK_THROWS_WITH_ALL(a.opt.load_state_dict(a.with("state.0.step", tensor<int64_t>({1}, {}),
                                                     "state.99999999999999999999.step")),
                        "Adam", "unexpected key state.99999999999999999999.step");
}

TEST_CASE("a step count that the next step() would overflow is a tg::Error") {
  TrainedAdam a;
  CHECK_THROWS_WITH_ALL(a.opt.load_state_dict(a.with("state.0.step", tensor<int64_t>({kInt64Max}, {}))),
                        "Adam", "state.0.step", "below 2^63 - 1");
  CHECK_NOTHROW(a.opt.load_state_dict(a.with("state.0.step", tensor<int64_t>({kInt64Max - 1}, {}))));
  a.opt.step();  // the last countable step

  optim::StepLR sched(a.opt, 2);
  TensorDict state = sched.state_dict();
  state[0].second = tensor<int64_t>({kInt64Max}, {});
  CHECK_THROWS_WITH_ALL(sched.load_state_dict(state), "LRScheduler", "last_epoch", "below 2^63 - 1");
}

TEST_CASE("Checkpoint::load of a dict already read restores as load of its file does") {
  TempDir dir;
  nn::Linear fc(2, 3);
  nn::Checkpoint saved;
  saved.add("fc", fc);
  saved.save(dir.file("ck.npz"), 42);
  nn::Linear other(2, 3);
  nn::Checkpoint loaded;
  loaded.add("fc", other);
  CHECK(loaded.load(load_npz(dir.file("ck.npz")), "in memory") == 42);
  CHECK(other->weight.to_vector<float>() == fc->weight.to_vector<float>());
  CHECK_THROWS_WITH_ALL(loaded.load(TensorDict{}, "in memory"), "Checkpoint", "cannot load in memory",
                        "missing int64 scalar 'step'");
}
