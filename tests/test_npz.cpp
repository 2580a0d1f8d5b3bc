// .npz archives: round trips, interchange with NumPy both ways, zip64 fields, atomic writes,
// and a tg::Error naming the file and the problem (never a crash) for every bad archive.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zlib.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "data/io/io_test_helpers.h"
#include "test_helpers.h"

using namespace tg;
using tg::test::TempDir;

namespace {

void check_same(const TensorDict& got, const TensorDict& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("entry " << want[i].first);
    CHECK(got[i].first == want[i].first);
    CHECK(got[i].second.dtype() == want[i].second.dtype());
    CHECK(got[i].second.shape() == want[i].second.shape());
    CHECK(got[i].second.to_vector<double>() == want[i].second.to_vector<double>());
  }
}

// Every dtype, a 0-d tensor, an empty one, size-1 dims and non-contiguous views.
TensorDict sample_dict() {
  manual_seed(7);
  Tensor wide = randn({4, 6});
  return {{"conv.weight", randn({3, 2, 1, 5})},
          {"bias", randn({3}, kFloat64)},
          {"steps", tensor<int64_t>({-5, 0, 1LL << 40}, {3})},
          {"pixels", randint(0, 256, {2, 1, 3}).to(kUInt8)},
          {"mask", randn({5}) > 0.0},
          {"transposed", wide.t()},
          {"strided", wide.slice(1, 0, 6, 2)},
          {"scalar", scalar_tensor(3.25, kFloat64)},
          {"empty", zeros({0, 4})}};
}

uint32_t get_le32(const std::string& b, size_t pos) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[pos + i]);
  return v;
}
void put_le(std::string& b, size_t pos, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; ++i) b[pos + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// A small archive of two tensors and the offsets of its zip records, for surgery.
struct Archive {
  std::string bytes;
  size_t central;  // the first central directory entry
  size_t end;      // the end of central directory record
};
Archive small_archive(const TempDir& dir, bool compress) {
  const std::string path = dir.file("small.npz");
  save_npz({{"ab", arange(6.0).reshape({2, 3})}, {"ac", tensor<int64_t>({1, 2})}}, path, compress);
  Archive a{tg::test::read_bytes(path), 0, 0};
  a.central = a.bytes.find("PK\x01\x02");
  a.end = a.bytes.rfind("PK\x05\x06");
  REQUIRE(a.central != std::string::npos);
  REQUIRE(a.end != std::string::npos);
  return a;
}

// load_npz on `bytes` written to a file; the error message, or "" if it loaded.
std::string load_error(const TempDir& dir, const std::string& bytes) {
  const std::string path = dir.file("bad.npz");
  tg::test::write_bytes(path, bytes);
  try {
    load_npz(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("save_npz then load_npz gives the same names, order, dtypes, shapes and values") {
  TempDir dir;
  const TensorDict dict = sample_dict();
  for (bool compress : {true, false}) {
    CAPTURE(compress);
    save_npz(dict, dir.file("d.npz"), compress);
    check_same(load_npz(dir.file("d.npz")), dict);
  }
  save_npz({}, dir.file("none.npz"));
  CHECK(load_npz(dir.file("none.npz")).empty());
}

TEST_CASE("equal dicts give byte-identical archives, and deflate makes redundant data smaller") {
  TempDir dir;
  const TensorDict dict = {{"zeros", zeros({64, 64})}};
  save_npz(dict, dir.file("a.npz"));
  save_npz(dict, dir.file("b.npz"));
  save_npz(dict, dir.file("stored.npz"), false);
  const std::string a = tg::test::read_bytes(dir.file("a.npz"));
  CHECK(a == tg::test::read_bytes(dir.file("b.npz")));
  CHECK(a.size() * 20 < tg::test::read_bytes(dir.file("stored.npz")).size());
}

TEST_CASE("numpy.load reads what save_npz writes") {
  if (!tg::test::python_has("numpy")) {
    MESSAGE("skipped: /usr/bin/python3 with numpy is not available (Debian: python3-numpy)");
    return;
  }
  TempDir dir;
  const TensorDict dict = sample_dict();
  std::ofstream manifest(dir.file("manifest.txt"));
  for (const auto& [name, t] : dict) {
    const Tensor c = t.contiguous();
    const std::string raw = dir.file(name + ".raw");
    tg::test::write_bytes(raw, std::string(static_cast<const char*>(c.raw_data()), c.numel() * dtype_size(c.dtype())));
    std::string shape;
    for (int64_t d : t.shape()) {
      if (!shape.empty()) shape += ',';
      shape += std::to_string(d);
    }
    manifest << name << " " << dtype_name(t.dtype()) << " " << (shape.empty() ? "-" : shape) << " " << raw << "\n";
  }
  manifest.close();
  for (bool compress : {true, false}) {
    CAPTURE(compress);
    save_npz(dict, dir.file("ours.npz"), compress);
    const auto r = tg::test::run_command("/usr/bin/python3 " + tg::test::io_data("check_npz.py") + " " +
                                         dir.file("ours.npz") + " " + dir.file("manifest.txt"));
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(r.output.find("OK 9") != std::string::npos);
  }
}

TEST_CASE("load_npz reads numpy.savez and numpy.savez_compressed archives") {
  // The values tests/data/make_npz_reference.py wrote.
  std::vector<float> weight;
  for (int i = 0; i < 12; ++i) weight.push_back(static_cast<float>(i) / 8.0f - 0.5f);
  const TensorDict want = {
      {"weight", tensor<float>(weight, {3, 4})},
      {"bias", tensor<double>({1.5, -2.25, 3.0})},
      {"steps", tensor<int64_t>({-3, -2, -1, 0, 1, 2})},
      {"pixels", tensor<uint8_t>({0, 50, 100, 150, 200}, {5, 1})},
      {"mask", tensor<double>({1, 0, 0, 1}, {2, 2}) > 0.5},
      {"fortran", arange(6.0, kFloat64).reshape({2, 3})},
      {"scalar", scalar_tensor(2.5, kFloat64)},
      {"empty", zeros({0, 4})},
      {"layer.0.weight", tensor<float>({1, 2, 3, 4}, {2, 2})}};
  for (const char* file : {"numpy_savez.npz", "numpy_savez_compressed.npz"}) {
    CAPTURE(file);
    check_same(load_npz(tg::test::io_data(file)), want);
  }
}

TEST_CASE("load_npz reads sizes and offsets from zip64 extra fields and the zip64 end record") {
  check_same(load_npz(tg::test::io_data("zip64_central.npz")),
             {{"a", arange(5.0)}, {"b", tensor<int64_t>({7, -8}, {1, 2})}});
}

TEST_CASE("a killed save leaves the previous archive whole") {
  TempDir dir;
  const std::string path = dir.file("ckpt.npz");
  manual_seed(3);
  const TensorDict first = {{"w", randn({1024, 1024})}};
  const TensorDict second = {{"w", randn({1024, 1024})}};
  const auto first_values = first[0].second.to_vector<double>();
  const auto second_values = second[0].second.to_vector<double>();
  save_npz(first, path, false);
  const auto start = std::chrono::steady_clock::now();
  save_npz(first, path, false);
  const auto save_time = std::chrono::steady_clock::now() - start;  // slower under sanitizers
  // Kill a process that saves in a loop at varying moments until one kill lands inside a write
  // (its temporary file is left behind); every time, the archive must load as one of the two.
  int interrupted_writes = 0;
  for (int trial = 0; trial < 40 && interrupted_writes < 3; ++trial) {
    CAPTURE(trial);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      for (int i = 0;; ++i) save_npz(i % 2 ? first : second, path, false);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(2000) + save_time * trial / 8);
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    const TensorDict loaded = load_npz(path);
    REQUIRE(loaded.size() == 1);
    const auto v = loaded[0].second.to_vector<double>();
    CHECK((v == first_values || v == second_values));
    for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
      if (f.path() != path) {
        ++interrupted_writes;
        std::filesystem::remove(f.path());
      }
    }
  }
  CHECK(interrupted_writes > 0);
}

TEST_CASE("write_file_atomically replaces the file and names the path when it cannot write") {
  TempDir dir;
  const std::string path = dir.file("f.bin");
  write_file_atomically(path, "old");
  write_file_atomically(path, "new contents");
  CHECK(tg::test::read_bytes(path) == "new contents");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);  // no temporary left
  CHECK_THROWS_WITH_ALL(write_file_atomically(dir.file("missing/f.bin"), "x"), "write_file_atomically",
                        "missing/f.bin", "temporary file");
  CHECK_THROWS_WITH_ALL(save_npz({{"a", zeros({1})}}, dir.file("missing/a.npz")), "missing/a.npz");
}

TEST_CASE("save_npz rejects duplicate, empty and undefined entries") {
  TempDir dir;
  const std::string path = dir.file("x.npz");
  CHECK_THROWS_WITH_ALL(save_npz({{"a", zeros({1})}, {"a", ones({1})}}, path), "save_npz", "x.npz",
                        "duplicate entry 'a'");
  CHECK_THROWS_WITH_ALL(save_npz({{"", zeros({1})}}, path), "save_npz", "invalid tensor name");
  CHECK_THROWS_WITH_ALL(save_npz({{"u", Tensor()}}, path), "save_npz", "'u' is undefined");
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("load_npz names a missing file, a folder, and a file that is not a zip") {
  TempDir dir;
  CHECK_THROWS_WITH_ALL(load_npz(dir.file("nope.npz")), "load_npz", "nope.npz", "cannot open");
  CHECK_THROWS_WITH_ALL(load_npz(dir.path().string()), "load_npz", "is a directory");
  save_npy(arange(3.0), dir.file("t.npy"));
  CHECK_THROWS_WITH_ALL(load_npz(dir.file("t.npy")), "load_npz", "t.npy", "wrong magic", "\\x93NUMPY",
                        "use load_npy");
  CHECK(load_error(dir, "hello world, not a zip at all").find("wrong magic") != std::string::npos);
  CHECK(load_error(dir, "PK").find("truncated or corrupt file") != std::string::npos);
}

TEST_CASE("load_npz rejects an archive cut at any length") {
  TempDir dir;
  for (bool compress : {true, false}) {
    const Archive a = small_archive(dir, compress);
    for (size_t n = 0; n < a.bytes.size(); ++n) {
      CAPTURE(n);
      const std::string msg = load_error(dir, a.bytes.substr(0, n));
      CHECK(msg.find("bad.npz") != std::string::npos);
      CHECK((msg.find("truncated or corrupt") != std::string::npos || msg.find("wrong magic") != std::string::npos));
    }
  }
}

TEST_CASE("load_npz survives every single-byte corruption: it loads or raises tg::Error") {
  TempDir dir;
  for (bool compress : {true, false}) {
    const Archive a = small_archive(dir, compress);
    for (size_t pos = 0; pos < a.bytes.size(); ++pos) {
      for (uint8_t flip : {0x01, 0x80, 0xFF}) {
        std::string b = a.bytes;
        b[pos] = static_cast<char>(b[pos] ^ flip);
        CAPTURE(pos);
        try {
          load_npz((tg::test::write_bytes(dir.file("f.npz"), b), dir.file("f.npz")));
        } catch (const Error& e) {
          CHECK(std::string(e.what()).find("f.npz") != std::string::npos);
        }
      }
    }
  }
}

TEST_CASE("a changed byte in a stored entry is a bad CRC-32") {
  TempDir dir;
  Archive a = small_archive(dir, false);
  a.bytes[a.bytes.find("NUMPY") + 100] ^= 0x10;  // inside the first entry's values
  const std::string msg = load_error(dir, a.bytes);
  CHECK(msg.find("entry 'ab.npy' has a bad CRC-32") != std::string::npos);
  CHECK(msg.find("bad.npz") != std::string::npos);
}

TEST_CASE("corrupt deflate data is named as such") {
  TempDir dir;
  Archive a = small_archive(dir, true);
  const size_t data = 30 + std::string("ab.npy").size();
  for (size_t i = 0; i < 8; ++i) a.bytes[data + i] = static_cast<char>(0xFF);
  const std::string msg = load_error(dir, a.bytes);
  CHECK((msg.find("corrupt deflate data") != std::string::npos || msg.find("bad CRC-32") != std::string::npos ||
         msg.find("does not end") != std::string::npos));
}

TEST_CASE("a duplicate entry name is rejected") {
  TempDir dir;
  Archive a = small_archive(dir, true);
  // Rename every "ac.npy" to "ab.npy": names are outside the CRC, so only the duplicate is wrong.
  for (size_t p = a.bytes.find("ac.npy"); p != std::string::npos; p = a.bytes.find("ac.npy", p)) a.bytes[p + 1] = 'b';
  CHECK(load_error(dir, a.bytes).find("duplicate entry 'ab.npy'") != std::string::npos);
}

TEST_CASE("declared sizes far larger than the file are rejected before allocating") {
  TempDir dir;
  for (bool compress : {true, false}) {
    CAPTURE(compress);
    Archive a = small_archive(dir, compress);
    std::string usize = a.bytes, csize = a.bytes, entries = a.bytes, cd_size = a.bytes;
    put_le(usize, a.central + 24, 0xFFFFFFF0u, 4);      // inflated size: 4 GiB
    put_le(csize, a.central + 20, 0xFFFFFFF0u, 4);      // compressed size: 4 GiB
    put_le(entries, a.end + 8, 0xFFFE, 2);              // entries on this disk
    put_le(entries, a.end + 10, 0xFFFE, 2);             // entries in total
    put_le(cd_size, a.end + 12, 0x7FFFFFFF, 4);         // central directory size
    const std::string m1 = load_error(dir, usize), m2 = load_error(dir, csize);
    const std::string m3 = load_error(dir, entries), m4 = load_error(dir, cd_size);
    CHECK(m1.find(compress ? "more than" : "declares") != std::string::npos);
    CHECK(m1.find("4294967280") != std::string::npos);
    CHECK(m2.find("4294967280") != std::string::npos);
    CHECK(m2.find("the file has only") != std::string::npos);
    CHECK(m3.find("cannot hold the 65534 entries") != std::string::npos);
    CHECK(m4.find("central directory") != std::string::npos);
    for (const std::string& m : {m1, m2, m3, m4}) CHECK(m.find("truncated or corrupt file") != std::string::npos);
  }
}

TEST_CASE("encrypted entries, unknown methods, spanned archives and non-.npy entries are refused") {
  TempDir dir;
  Archive a = small_archive(dir, true);
  std::string encrypted = a.bytes, bzip2 = a.bytes, spanned = a.bytes, text = a.bytes;
  put_le(encrypted, a.central + 8, 1, 2);
  put_le(bzip2, a.central + 10, 12, 2);
  put_le(spanned, a.end + 4, 1, 2);
  for (size_t p = text.find("ab.npy"); p != std::string::npos; p = text.find("ab.npy", p)) text.replace(p, 6, "ab.txt");
  CHECK(load_error(dir, encrypted).find("entry 'ab.npy' is encrypted") != std::string::npos);
  CHECK(load_error(dir, bzip2).find("compression method 12") != std::string::npos);
  CHECK(load_error(dir, spanned).find("multi-disk") != std::string::npos);
  CHECK(load_error(dir, text).find("entry 'ab.txt' is not a .npy file") != std::string::npos);
}

TEST_CASE("a corrupt .npy inside a valid archive names the archive and the entry") {
  TempDir dir;
  Archive a = small_archive(dir, false);
  // Break the .npy magic and fix the CRC, so the zip layer passes it on.
  const size_t magic = a.bytes.find("\x93NUMPY");
  a.bytes[magic + 1] = 'X';
  const size_t start = magic, len = get_le32(a.bytes, 22);
  put_le(a.bytes, a.central + 16, crc32(crc32(0, Z_NULL, 0), reinterpret_cast<const Bytef*>(a.bytes.data() + start), len), 4);
  const std::string msg = load_error(dir, a.bytes);
  CHECK(msg.find("bad.npz: entry 'ab.npy'") != std::string::npos);
}
