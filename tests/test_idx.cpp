// IDX files: every element type, raw and gzip, Fashion-MNIST's real files, and a tg::Error
// naming the file and the problem for truncated, corrupt, wrong-magic and oversized files.
#include <cstring>
#include <filesystem>

#include "data/io/io_test_helpers.h"
#include "test_helpers.h"

using namespace tg;
using tg::data::read_idx;
using tg::test::gzip_bytes;
using tg::test::idx_bytes;
using tg::test::TempDir;

namespace {

// Big-endian bytes of `values` as `nbytes`-wide integers (two's complement).
std::string be_ints(const std::vector<int64_t>& values, int nbytes) {
  std::string out;
  for (int64_t v : values)
    for (int shift = 8 * (nbytes - 1); shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<uint64_t>(v) >> shift) & 0xFF));
  return out;
}

template <typename F>
std::string be_floats(const std::vector<F>& values) {
  std::vector<int64_t> bits;
  for (F v : values) {
    std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t> u;
    std::memcpy(&u, &v, sizeof u);
    bits.push_back(static_cast<int64_t>(u));
  }
  return be_ints(bits, sizeof(F));
}

// read_idx of `bytes` written to dir/name; the error message, or "" when it loaded.
std::string idx_error(const TempDir& dir, const std::string& bytes, const std::string& name = "bad.idx") {
  tg::test::write_bytes(dir.file(name), bytes);
  try {
    read_idx(dir.file(name));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* kFashion = "/usr/share/datasets/fashion-mnist";

}  // namespace

TEST_CASE("read_idx reads every IDX element type, raw and gzip") {
  TempDir dir;
  struct Case {
    std::string bytes;
    DType dtype;
    Shape shape;
    std::vector<double> values;
  };
  std::string u8;
  for (int i = 0; i < 24; ++i) u8.push_back(static_cast<char>(i * 10));
  std::vector<double> u8_values;
  for (int i = 0; i < 24; ++i) u8_values.push_back(i * 10);
  const std::vector<Case> cases = {
      {idx_bytes(0x08, {2, 3, 4}, u8), kUInt8, {2, 3, 4}, u8_values},
      {idx_bytes(0x09, {5}, be_ints({-128, -1, 0, 1, 127}, 1)), kInt64, {5}, {-128, -1, 0, 1, 127}},
      {idx_bytes(0x0B, {2, 1, 2}, be_ints({-32768, -1, 32767, 5}, 2)), kInt64, {2, 1, 2}, {-32768, -1, 32767, 5}},
      {idx_bytes(0x0C, {3}, be_ints({-2147483648LL, 2147483647LL, -7}, 4)), kInt64, {3}, {-2147483648.0, 2147483647.0, -7}},
      {idx_bytes(0x0D, {1, 2}, be_floats<float>({1.5f, -0.25f})), kFloat32, {1, 2}, {1.5, -0.25}},
      {idx_bytes(0x0E, {2}, be_floats<double>({3.141592653589793, -1e300})), kFloat64, {2}, {3.141592653589793, -1e300}},
      {idx_bytes(0x08, {0, 28}, ""), kUInt8, {0, 28}, {}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    for (bool gz : {false, true}) {
      CAPTURE(i);
      CAPTURE(gz);
      const std::string path = dir.file("t.idx");
      tg::test::write_bytes(path, gz ? gzip_bytes(cases[i].bytes) : cases[i].bytes);
      const Tensor t = read_idx(path);
      CHECK(t.dtype() == cases[i].dtype);
      CHECK(t.shape() == cases[i].shape);
      CHECK(t.to_vector<double>() == cases[i].values);
    }
  }
}

TEST_CASE("gzip is recognised by content, not by the file name") {
  TempDir dir;
  const std::string raw = idx_bytes(0x08, {3}, "abc");
  tg::test::write_bytes(dir.file("raw.gz"), raw);
  tg::test::write_bytes(dir.file("zipped-ubyte"), gzip_bytes(raw));
  CHECK(read_idx(dir.file("raw.gz")).to_vector<double>() == std::vector<double>{97, 98, 99});
  CHECK(read_idx(dir.file("zipped-ubyte")).to_vector<double>() == std::vector<double>{97, 98, 99});
}

TEST_CASE("Fashion-MNIST's gzip files read with their documented shapes and labels") {
  if (!std::filesystem::exists(std::string(kFashion) + "/t10k-labels-idx1-ubyte.gz")) {
    MESSAGE("skipped: Fashion-MNIST is not installed at ", kFashion, " (Debian: dataset-fashion-mnist)");
    return;
  }
  const Tensor images = read_idx(std::string(kFashion) + "/train-images-idx3-ubyte.gz");
  const Tensor labels = read_idx(std::string(kFashion) + "/train-labels-idx1-ubyte.gz");
  CHECK(images.shape() == Shape{60000, 28, 28});
  CHECK(images.dtype() == kUInt8);
  CHECK(labels.shape() == Shape{60000});
  // The first labels and one image's pixel sum, as Python's gzip module reads them.
  CHECK(labels.slice(0, 0, 12).to_vector<double>() == std::vector<double>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9});
  CHECK(images.select(0, 0).to(kFloat64).sum().item<double>() == 76247.0);
  CHECK(images.at({0, 10, 13}) == 193.0);
  const Tensor test_labels = read_idx(std::string(kFashion) + "/t10k-labels-idx1-ubyte.gz");
  CHECK(test_labels.shape() == Shape{10000});
}

TEST_CASE("read_idx names a missing file, an empty file, a wrong magic and an unknown type") {
  TempDir dir;
  CHECK_THROWS_WITH_ALL(read_idx(dir.file("none-ubyte")), "read_idx", "none-ubyte", "cannot open");
  CHECK_THROWS_WITH_ALL(read_idx(dir.path().string()), "read_idx", "is a directory");
  CHECK(idx_error(dir, "").find("the file is empty") != std::string::npos);
  const std::string magic = idx_error(dir, "\x01\x02\x08\x01rest of it");
  CHECK(magic.find("bad.idx") != std::string::npos);
  CHECK(magic.find("wrong magic") != std::string::npos);
  CHECK(magic.find("0x01 0x02 0x08 0x01") != std::string::npos);
  CHECK(idx_error(dir, idx_bytes(0x0A, {1}, "x")).find("unknown IDX element type code 0x0a") != std::string::npos);
  CHECK(idx_error(dir, gzip_bytes(std::string("\0\0\x08", 3))).find("the gzip stream ends after 3 bytes, inside the magic number") !=
        std::string::npos);
  // A gzip stream that holds no IDX file.
  CHECK(idx_error(dir, gzip_bytes("PK\x03\x04 a zip")).find("wrong magic") != std::string::npos);
}

TEST_CASE("a raw IDX file cut at any length, or with bytes added, is rejected") {
  TempDir dir;
  const std::string good = idx_bytes(0x0B, {2, 3}, be_ints({1, 2, 3, 4, 5, 6}, 2));
  for (size_t n = 1; n < good.size(); ++n) {
    CAPTURE(n);
    const std::string msg = idx_error(dir, good.substr(0, n));
    CHECK(msg.find("bad.idx") != std::string::npos);
    CHECK(msg.find("truncated or corrupt file") != std::string::npos);
  }
  CHECK(idx_error(dir, good + "x").find("(24 bytes with the header) but the file has 25 bytes") != std::string::npos);
}

TEST_CASE("a gzip IDX file cut at any length is rejected; single-byte corruption never passes silently") {
  TempDir dir;
  std::string payload;
  for (int i = 0; i < 300; ++i) payload.push_back(static_cast<char>(i * 7));
  const std::string raw = idx_bytes(0x08, {3, 100}, payload);
  const std::string gz = gzip_bytes(raw);
  for (size_t n = 1; n < gz.size(); ++n) {
    CAPTURE(n);
    const std::string msg = idx_error(dir, gz.substr(0, n));
    CHECK(msg.find("bad.idx") != std::string::npos);
    CHECK(msg.find("truncated or corrupt file") != std::string::npos);
  }
  tg::test::write_bytes(dir.file("good.idx"), raw);
  const std::vector<double> want = read_idx(dir.file("good.idx")).to_vector<double>();
  for (size_t pos = 0; pos < gz.size(); ++pos) {
    std::string b = gz;
    b[pos] = static_cast<char>(b[pos] ^ 0x21);
    CAPTURE(pos);
    tg::test::write_bytes(dir.file("flip.idx"), b);
    try {
      // A flip in a field that carries no data (the gzip header's time or OS byte) may load.
      const Tensor t = read_idx(dir.file("flip.idx"));
      CHECK(t.to_vector<double>() == want);
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find("flip.idx") != std::string::npos);
    }
  }
}

TEST_CASE("dimensions larger than the file are rejected before allocating") {
  TempDir dir;
  const std::string overflow = idx_error(dir, idx_bytes(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, ""));
  CHECK(overflow.find("more elements than any file can hold") != std::string::npos);
  const std::string raw = idx_error(dir, idx_bytes(0x08, {100000, 28, 28}, "tiny"));
  CHECK(raw.find("declares [100000, 28, 28] unsigned byte values") != std::string::npos);
  CHECK(raw.find("the file has 20 bytes") != std::string::npos);
  const std::string gz = idx_error(dir, gzip_bytes(idx_bytes(0x08, {100000, 28, 28}, "tiny")));
  CHECK(gz.find("declares [100000, 28, 28]") != std::string::npos);
  CHECK(gz.find("gzip trailer says 20 bytes") != std::string::npos);
  // A trailer forged to agree with the header: zlib finds that the stream disagrees with it.
  std::string forged = gzip_bytes(idx_bytes(0x08, {1000}, "0123456789"));
  const uint32_t isize = 1008;
  for (int i = 0; i < 4; ++i) forged[forged.size() - 4 + i] = static_cast<char>((isize >> (8 * i)) & 0xFF);
  const std::string short_stream = idx_error(dir, forged);
  CHECK(short_stream.find("corrupt gzip data (zlib: incorrect length check)") != std::string::npos);
}

TEST_CASE("bytes after the gzip stream are rejected") {
  TempDir dir;
  const std::string raw = idx_bytes(0x08, {2}, "ab");  // 10 bytes
  // Four bytes that repeat the trailer's size, so only the trailing data is wrong.
  const std::string msg = idx_error(dir, gzip_bytes(raw) + std::string("\x0a\0\0\0", 4));
  CHECK(msg.find("bad.idx") != std::string::npos);
  CHECK(msg.find("4 bytes follow the gzip stream") != std::string::npos);
}
