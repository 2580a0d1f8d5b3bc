// .npy I/O: round trips, byte-identity with numpy.save, numpy-made files (Fortran order,
// version 2.0), and clear errors for corrupt, truncated and unsupported files.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "test_helpers.h"

using namespace tg;
namespace fs = std::filesystem;

namespace {

const std::string kNpyDir = std::string(TAPEGRAD_TEST_DATA) + "/core/npy/";

// A fresh, empty directory for one test, removed when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("tapegrad_npy_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.is_open());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string as_string(const std::vector<char>& v) { return std::string(v.begin(), v.end()); }

// Same dtype, shape and values (NaN-free inputs).
void check_same(const Tensor& a, const Tensor& b) {
  CHECK(a.dtype() == b.dtype());
  REQUIRE(a.shape() == b.shape());
  CHECK(a.to_vector<double>() == b.to_vector<double>());
}

// A well-formed file's bytes with the header text replaced (length field and padding fixed).
std::string with_header(const std::string& header_text, const std::string& data) {
  std::string h = header_text;
  h.append(64 - (10 + h.size() + 1) % 64, ' ');
  h.push_back('\n');
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(h.size() & 0xff));
  out.push_back(static_cast<char>(h.size() >> 8));
  return out + h + data;
}

}  // namespace

TEST_CASE("save_npy then load_npy round-trips every dtype and shape") {
  manual_seed(3);
  TempDir dir;
  const std::vector<Tensor> cases = {
      randn({2, 3}),
      randn({4, 1, 3}, kFloat64),
      tensor<int64_t>({-5, 0, 1LL << 50}, {3}),
      tensor<uint8_t>({0, 1, 200, 255}, {2, 2}),
      tensor<double>({1, 0, 0, 1, 1}, {5}).to(kBool),
      scalar_tensor(-1.25, kFloat64),
      zeros({0, 3}),
      randn({1, 1, 1, 7}, kFloat64),
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(i);
    const std::string path = dir.file(std::to_string(i).append(".npy"));
    save_npy(cases[i], path);
    check_same(load_npy(path), cases[i]);
    const std::vector<char> bytes = npy_bytes(cases[i]);
    check_same(npy_from_bytes(bytes.data(), bytes.size()), cases[i]);
  }
}

TEST_CASE("save_npy refuses a rank whose header does not fit the 1.0 format") {
  // 25000 dims of size 1 give a 75 kB shape tuple: more than 1.0's 16-bit header length.
  CHECK_THROWS_WITH_ALL(npy_bytes(full(Shape(25000, 1), 3.5, kFloat64)), "save_npy", "too long",
                        "rank 25000");
}

TEST_CASE("save_npy writes non-contiguous tensors in row-major order and leaves no temp file") {
  manual_seed(4);
  TempDir dir;
  Tensor base = randn({3, 4}, kFloat64);
  Tensor views[] = {base.t(), base.slice(1, 0, 4, 2), base.narrow(0, 1, 1).expand({5, 4})};
  for (const Tensor& v : views) {
    REQUIRE_FALSE(v.is_contiguous());
    save_npy(v, dir.file("v.npy"));
    Tensor back = load_npy(dir.file("v.npy"));
    CHECK(back.is_contiguous());
    check_same(back, v.contiguous());
  }
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("save_npy of a tensor that requires grad saves its values") {
  Tensor x = tensor<double>({1.5, -2.0}).requires_grad_();
  const std::vector<char> bytes = npy_bytes(x * 2.0);
  Tensor back = npy_from_bytes(bytes.data(), bytes.size());
  CHECK(back.to_vector<double>() == std::vector<double>{3.0, -4.0});
  CHECK_FALSE(back.requires_grad());
}

TEST_CASE("npy_bytes is byte-identical to numpy.save") {
  // Each file was written by numpy.save (tests/data/make_core_reference.py); reading it and
  // writing it again must give the same bytes, header padding included.
  for (const char* name : {"f4_2x3.npy", "f8_4.npy", "i8_3.npy", "u1_2x2.npy", "b1_4.npy",
                           "f8_scalar.npy", "f4_empty_0x3.npy"}) {
    CAPTURE(std::string(name));
    const std::string path = kNpyDir + name;
    CHECK(as_string(npy_bytes(load_npy(path))) == read_bytes(path));
  }
}

TEST_CASE("load_npy reads numpy's files with their values") {
  Tensor f4 = load_npy(kNpyDir + "f4_2x3.npy");
  CHECK(f4.dtype() == kFloat32);
  CHECK(f4.shape() == Shape{2, 3});
  CHECK(f4.to_vector<double>() == std::vector<double>{-0.5, -0.25, 0.0, 0.25, 0.5, 0.75});
  CHECK(load_npy(kNpyDir + "f8_4.npy").to_vector<double>() == std::vector<double>{0.1, -2.5, 1e-300, 3e300});
  Tensor i8 = load_npy(kNpyDir + "i8_3.npy");
  CHECK(i8.dtype() == kInt64);
  CHECK(i8.to_vector<int64_t>() == std::vector<int64_t>{-3, 0, 1LL << 40});
  Tensor u1 = load_npy(kNpyDir + "u1_2x2.npy");
  CHECK(u1.dtype() == kUInt8);
  CHECK(u1.to_vector<double>() == std::vector<double>{0, 255, 7, 128});
  Tensor b1 = load_npy(kNpyDir + "b1_4.npy");
  CHECK(b1.dtype() == kBool);
  CHECK(b1.to_vector<double>() == std::vector<double>{1, 0, 0, 1});
  Tensor s = load_npy(kNpyDir + "f8_scalar.npy");
  CHECK(s.dim() == 0);
  CHECK(s.item<double>() == 2.5);
  Tensor e = load_npy(kNpyDir + "f4_empty_0x3.npy");
  CHECK(e.shape() == Shape{0, 3});
}

TEST_CASE("load_npy reads Fortran-order files as row-major tensors") {
  Tensor f = load_npy(kNpyDir + "f8_fortran_3x4.npy");  // np.arange(12.).reshape(3, 4), order F
  CHECK(f.shape() == Shape{3, 4});
  CHECK(f.is_contiguous());
  check_same(f, arange(12.0, kFloat64).view({3, 4}));
  Tensor g = load_npy(kNpyDir + "i8_fortran_2x3x4.npy");
  check_same(g, arange(24.0, kInt64).view({2, 3, 4}));
}

TEST_CASE("load_npy reads version 2.0 and 3.0 headers") {
  std::string bytes = read_bytes(kNpyDir + "f4_v2_2x2.npy");
  REQUIRE(bytes[6] == 2);
  Tensor t = load_npy(kNpyDir + "f4_v2_2x2.npy");
  CHECK(t.dtype() == kFloat32);
  CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4});
  bytes[6] = 3;  // 3.0 differs from 2.0 only in allowing UTF-8 in the header
  CHECK(npy_from_bytes(bytes.data(), bytes.size()).to_vector<double>() == std::vector<double>{1, 2, 3, 4});
}

TEST_CASE("load_npy accepts header variants numpy has written over the years") {
  // Double quotes, keys in another order, no trailing comma, Python 2 long dims.
  const std::string bytes = with_header("{\"shape\": (2L, 3L), \"fortran_order\": False, \"descr\": \"|u1\"}",
                                        std::string("\x01\x02\x03\x04\x05\x06", 6));
  Tensor a = npy_from_bytes(bytes.data(), bytes.size());
  CHECK(a.shape() == Shape{2, 3});
  CHECK(a.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("load_npy rejects unsupported dtypes, naming the file and the dtype") {
  struct Bad {
    const char* file;
    const char* fragment;
  };
  for (const Bad& b : {Bad{"bad_big_endian.npy", "big-endian dtype '>f4'"},
                       Bad{"bad_complex.npy", "unsupported dtype '<c8'"},
                       Bad{"bad_int32.npy", "unsupported dtype '<i4'"},
                       Bad{"bad_object.npy", "unsupported dtype '|O'"},
                       Bad{"bad_structured.npy", "structured"}}) {
    CAPTURE(std::string(b.file));
    CHECK_THROWS_WITH_ALL(load_npy(kNpyDir + b.file), "load_npy", b.file, b.fragment);
  }
}

TEST_CASE("load_npy rejects corrupt and truncated files with the reason") {
  TempDir dir;
  const std::string good = read_bytes(kNpyDir + "f4_2x3.npy");  // 128-byte header + 24 data bytes
  REQUIRE(good.size() == 152);
  const std::string path = dir.file("bad.npy");
  auto check_bad = [&](const std::string& bytes, const char* fragment) {
    CAPTURE(std::string(fragment));
    write_bytes(path, bytes);
    CHECK_THROWS_WITH_ALL(load_npy(path), "load_npy", "bad.npy", fragment);
    CHECK_THROWS_WITH_ALL(npy_from_bytes(bytes.data(), bytes.size(), "entry.npy"), "load_npy",
                          "entry.npy", fragment);
  };
  check_bad("", "truncated file (0 bytes");
  check_bad(good.substr(0, 5), "truncated file (5 bytes");
  check_bad(good.substr(0, 9), "inside the preamble");
  std::string magic = good;
  magic[1] = 'X';
  check_bad(magic, "wrong magic");
  check_bad("PK\x03\x04 this is a zip, not an npy file", "wrong magic");
  std::string version = good;
  version[6] = 9;
  check_bad(version, "unsupported .npy format version 9.0");
  check_bad(good.substr(0, 100), "the header declares 118 bytes but the file has only 90");
  std::string huge_len = good;
  huge_len[8] = '\xff';
  huge_len[9] = '\xff';
  check_bad(huge_len, "the header declares 65535 bytes");
  check_bad(good.substr(0, 140), "truncated data: shape [2, 3] float32 needs 24 bytes but the file has 12");
  check_bad(good + "xyz", "3 unexpected bytes");
  check_bad(with_header("{'descr': '<f4', 'shape': (2,), }", std::string(8, '\0')), "keys");
  check_bad(with_header("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", std::string(8, '\0')),
            "expected True or False");
  check_bad(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }", std::string(8, '\0')),
            "non-negative integer");
  check_bad(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", std::string(8, '\0')),
            "unexpected key 'x'");
  check_bad(with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", std::string(8, '\0')),
            "malformed header");
  check_bad(with_header("{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }", std::string(8, '\0')),
            "malformed header");
  // Dims whose product overflows 64 bits must not wrap around to a small, plausible size.
  check_bad(with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", ""),
            "overflows");
  check_bad(with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,), }", ""),
            "dimension too large");
  // A huge declared shape with a small file is refused before anything is allocated.
  check_bad(with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", "12345678"),
            "needs 8000000000000 bytes but the file has 8");
  check_bad(with_header("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", std::string("\x01\x00\x07", 3)),
            "invalid bool value 7 at byte 2");
}

TEST_CASE("load_npy names a missing file or a directory") {
  TempDir dir;
  CHECK_THROWS_WITH_ALL(load_npy(dir.file("missing.npy")), "load_npy", "missing.npy", "cannot open");
  const std::string folder = dir.path.string();
  CHECK_THROWS_WITH_ALL(load_npy(folder), "load_npy", folder.c_str(), "is a directory");
}

TEST_CASE("save_npy errors name the path; a failed write keeps the previous file") {
  TempDir dir;
  CHECK_THROWS_WITH_ALL(save_npy(zeros({2}), dir.file("no/such/dir/x.npy")), "save_npy", "no/such/dir/x.npy");
  CHECK_THROWS_WITH_ALL(save_npy(Tensor(), dir.file("x.npy")), "save_npy", "undefined");

  // Write a good file, then make the next write fail half-way (file size limit) and check the
  // good file is untouched and no temporary file is left behind.
  const std::string path = dir.file("model.npy");
  Tensor good = arange(10.0, kFloat64);
  save_npy(good, path);
  const std::string before = read_bytes(path);
  rlimit old{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);  // so write() returns EFBIG instead of killing us
  rlimit small = old;
  small.rlim_cur = 4096;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string message;
  try {
    save_npy(zeros({100000}, kFloat64), path);
  } catch (const Error& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, old_handler);
  CHECK(message.find("save_npy") != std::string::npos);
  CHECK(message.find("model.npy") != std::string::npos);
  CHECK(message.find("write failed") != std::string::npos);
  CHECK(read_bytes(path) == before);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
  check_same(load_npy(path), good);
}
