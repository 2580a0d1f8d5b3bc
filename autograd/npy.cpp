// .npy reading and writing: the NumPy format (versions 1.0, 2.0 and 3.0 read; 1.0 written).
//
// A file is: the magic "\x93NUMPY", a major and a minor version byte, the header length
// (uint16 little-endian in 1.0, uint32 in 2.0 / 3.0), an ASCII header that is a Python dict
// literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a
// final '\n' so the data starts at a multiple of 64 bytes, then the raw elements.
// Everything is validated before a tensor is allocated: a bad file is a tg::Error naming the
// file and the problem, never a crash or a huge allocation.
#include "autograd/npy.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "autograd/grad_mode.h"

namespace tg {
namespace {

static_assert(std::endian::native == std::endian::little,
              "tapegrad's .npy I/O assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;  // numpy aligns the data start to 64 bytes (ARRAY_ALIGN)

struct Header {
  DType dtype = kFloat32;
  Shape shape;
  bool fortran_order = false;
  size_t data_offset = 0;  // bytes from the start of the file to the first element
  size_t data_bytes = 0;
};

const char* descr_of(DType t) {
  switch (t) {
    case DType::Float32: return "<f4";
    case DType::Float64: return "<f8";
    case DType::Int64: return "<i8";
    case DType::UInt8: return "|u1";
    case DType::Bool: return "|b1";
  }
  return "?";
}

// '<f4', '=f4' (native is little-endian here) and, for one-byte types, any byte order.
DType dtype_from_descr(const std::string& descr, const std::string& what) {
  const char* kSupported = "supported: '<f4', '<f8', '<i8', '|u1', '|b1'";
  TG_CHECK(descr.size() >= 2, "load_npy", what, ": unsupported dtype '", descr, "' (", kSupported, ")");
  const char order = descr[0];
  const std::string kind = descr.substr(1);
  const bool one_byte = kind == "u1" || kind == "b1";
  TG_CHECK(order != '>' || one_byte, "load_npy", what, ": big-endian dtype '", descr,
           "' is not supported; save it with arr.astype('<", kind, "')");
  TG_CHECK(order == '<' || order == '|' || order == '=' || order == '>', "load_npy", what,
           ": unsupported dtype '", descr, "' (", kSupported, ")");
  if (kind == "f4" && order != '|') return kFloat32;
  if (kind == "f8" && order != '|') return kFloat64;
  if (kind == "i8" && order != '|') return kInt64;
  if (kind == "u1") return kUInt8;
  if (kind == "b1") return kBool;
  TG_ERROR("load_npy", what, ": unsupported dtype '", descr, "' (", kSupported, ")");
}

// A cursor over the header's dict literal. Only what numpy writes is accepted: string keys,
// and values that are strings, True / False, or tuples of non-negative integers.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& what) : s_(text), what_(what) {}

  Header parse() {
    std::optional<std::string> descr;
    std::optional<bool> fortran;
    std::optional<Shape> shape;
    expect('{');
    while (!consume('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        skip_space();
        if (peek() != '\'' && peek() != '"') fail("structured or non-string 'descr' (only plain dtypes are supported)");
        descr = string_literal();
      } else if (key == "fortran_order") {
        fortran = boolean();
      } else if (key == "shape") {
        shape = tuple();
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (!consume(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the dict");
    if (!descr || !fortran || !shape) fail("the header must have the keys 'descr', 'fortran_order' and 'shape'");
    Header h;
    h.dtype = dtype_from_descr(*descr, what_);
    h.fortran_order = *fortran;
    h.shape = *shape;
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    TG_ERROR("load_npy", what_, ": malformed header (", why, " at character ", pos_, "): ", s_);
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool consume(char c) {
    skip_space();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "'");
  }
  std::string string_literal() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    const size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string v = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return v;
  }
  bool boolean() {
    skip_space();
    for (bool value : {true, false}) {
      const std::string word = value ? "True" : "False";
      if (s_.compare(pos_, word.size(), word) == 0) {
        pos_ += word.size();
        return value;
      }
    }
    fail("expected True or False");
  }
  Shape tuple() {
    Shape out;
    expect('(');
    while (!consume(')')) {
      skip_space();
      int64_t v = 0;
      size_t digits = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        if (v > (INT64_MAX - 9) / 10) fail("dimension too large");
        v = v * 10 + (s_[pos_++] - '0');
        ++digits;
      }
      if (digits == 0) fail("expected a non-negative integer dimension");
      if (peek() == 'L') ++pos_;  // Python 2 long literal, e.g. (3L,)
      out.push_back(v);
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return out;
  }

  const std::string& s_;
  const std::string& what_;
  size_t pos_ = 0;
};

uint32_t read_le(const unsigned char* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

// Size of the preamble (magic, version, header length field) for the version at `p`
// (which holds at least 8 bytes).
size_t preamble_size(const unsigned char* p, const std::string& what) {
  TG_CHECK(std::memcmp(p, kMagic, kMagicLen) == 0, "load_npy", what,
           ": not a .npy file (wrong magic bytes; expected \\x93NUMPY)");
  const int major = p[6], minor = p[7];
  TG_CHECK((major == 1 || major == 2 || major == 3) && minor == 0, "load_npy", what,
           ": unsupported .npy format version ", major, ".", minor, " (supported: 1.0, 2.0, 3.0)");
  return major == 1 ? 10 : 12;
}

// Validates the preamble among the first `available` bytes (at least min(total, 12)) of a
// file of `total` bytes and returns where the header ends and the data starts.
size_t header_end(const unsigned char* p, size_t available, size_t total, const std::string& what) {
  TG_CHECK(available >= 8, "load_npy", what, ": truncated file (", total,
           " bytes; a .npy file starts with at least 10)");
  const size_t pre = preamble_size(p, what);
  TG_CHECK(available >= pre, "load_npy", what, ": truncated file (", total, " bytes, inside the preamble)");
  const size_t header_len = read_le(p + 8, pre - 8);
  TG_CHECK(header_len <= total - pre, "load_npy", what, ": the header declares ", header_len,
           " bytes but the file has only ", total - pre, " after the preamble (truncated or corrupt)");
  return pre + header_len;
}

// Parses the header in p[0, end) (end from header_end) and checks that the data fits the
// file exactly.
Header parse_header(const unsigned char* p, size_t end, size_t total, const std::string& what) {
  const size_t pre = preamble_size(p, what);
  const std::string text(reinterpret_cast<const char*>(p + pre), end - pre);
  Header h = HeaderParser(text, what).parse();
  h.data_offset = end;
  // Element count with overflow checks, then bytes; compared with what the file holds. The
  // strides multiply the dimensions other than 0 (an empty (0, 10^11, 10^11) has strides of
  // 10^22), so their product must fit in int64 too, as numpy requires.
  uint64_t n = 1;
  int64_t extent = 1;
  for (int64_t d : h.shape) {
    TG_CHECK(!__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n) &&
                 !__builtin_mul_overflow(extent, std::max<int64_t>(d, 1), &extent),
             "load_npy", what, ": shape ", shape_str(h.shape), " overflows");
  }
  uint64_t bytes = 0;
  TG_CHECK(!__builtin_mul_overflow(n, static_cast<uint64_t>(dtype_size(h.dtype)), &bytes), "load_npy",
           what, ": shape ", shape_str(h.shape), " overflows");
  const size_t remaining = total - h.data_offset;
  TG_CHECK(bytes <= remaining, "load_npy", what, ": truncated data: shape ", shape_str(h.shape), " ",
           dtype_name(h.dtype), " needs ", bytes, " bytes but the file has ", remaining);
  TG_CHECK(bytes == remaining, "load_npy", what, ": ", remaining - bytes, " unexpected bytes after the ",
           bytes, " data bytes of shape ", shape_str(h.shape), " ", dtype_name(h.dtype), " (corrupt file?)");
  h.data_bytes = static_cast<size_t>(bytes);
  return h;
}

// Allocates the tensor the header describes; fill(ptr) copies data_bytes bytes into ptr.
// Fortran-order data is read into the transposed layout and made contiguous (row-major).
template <typename Fill>
Tensor make_tensor(const Header& h, const std::string& what, Fill fill) {
  Tensor raw = empty(h.shape, h.dtype);
  if (h.fortran_order) {
    Shape reversed(h.shape.rbegin(), h.shape.rend());
    Shape st = contiguous_strides(reversed);
    raw = make_view(raw, h.shape, Shape(st.rbegin(), st.rend()), 0);
  }
  if (h.data_bytes > 0) fill(raw.raw_data());
  if (h.dtype == kBool) {
    const auto* b = static_cast<const unsigned char*>(raw.raw_data());
    for (size_t i = 0; i < h.data_bytes; ++i)
      TG_CHECK(b[i] <= 1, "load_npy", what, ": invalid bool value ", int(b[i]), " at byte ", i,
               " of the data (expected 0 or 1)");
  }
  NoGradGuard no_grad;
  return raw.contiguous();
}

// Shape as a Python tuple literal: (), (3,), (2, 3).
std::string tuple_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::vector<char> npy_bytes(const Tensor& t) {
  TG_CHECK(t.defined(), "save_npy", "the tensor is undefined");
  Tensor c;
  {
    NoGradGuard no_grad;
    c = t.detach().to(kCPU).contiguous();
  }
  std::string header = std::string("{'descr': '") + descr_of(c.dtype()) +
                       "', 'fortran_order': False, 'shape': " + tuple_str(c.shape()) + ", }";
  // As numpy.save (byte for byte): spare spaces so the first dim can grow in place to 21
  // digits, then padding to put the data at a multiple of 64 bytes (always >= 1 space).
  if (c.dim() > 0) header.append(21 - std::min<size_t>(21, std::to_string(c.size(0)).size()), ' ');
  // Version 1.0 stores the header length in 16 bits; only a rank in the thousands (which no
  // numpy can read, numpy allows 32 dims) would need more.
  TG_CHECK(10 + header.size() + kAlign < 65536, "save_npy", "the header of ", t.str(),
           " is too long for the .npy format 1.0 (rank ", c.dim(), ")");
  header.append(kAlign - (10 + header.size() + 1) % kAlign, ' ');
  header.push_back('\n');
  const size_t nbytes = static_cast<size_t>(c.numel()) * dtype_size(c.dtype());
  std::vector<char> out(10 + header.size() + nbytes);
  std::memcpy(out.data(), kMagic, kMagicLen);
  out[6] = 1;  // version 1.0
  out[7] = 0;
  out[8] = static_cast<char>(header.size() & 0xff);  // header length, little-endian uint16
  out[9] = static_cast<char>(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  if (nbytes > 0) std::memcpy(out.data() + 10 + header.size(), c.raw_data(), nbytes);
  return out;
}

Tensor npy_from_bytes(const char* data, size_t size, const std::string& what) {
  TG_CHECK(data != nullptr || size == 0, "load_npy", what, ": null data pointer");
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  Header h = parse_header(p, header_end(p, size, size, what), size, what);
  return make_tensor(h, what, [&](void* dst) { std::memcpy(dst, p + h.data_offset, h.data_bytes); });
}

void save_npy(const Tensor& t, const std::string& path) {
  const std::vector<char> bytes = npy_bytes(t);
  // Write a temporary file next to the target, flush it to disk, then rename it over the
  // target: rename is atomic, so readers see the old file or the new one, never a torn one.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  TG_CHECK(fd >= 0, "save_npy", "cannot create '", tmp, "' (for '", path, "'): ", errno_text());
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    written += static_cast<size_t>(w);
  }
  std::string failure;
  if (written != bytes.size()) failure = "write failed: " + errno_text();
  else if (::fsync(fd) != 0) failure = "fsync failed: " + errno_text();
  if (::close(fd) != 0 && failure.empty()) failure = "close failed: " + errno_text();
  if (failure.empty() && std::rename(tmp.c_str(), path.c_str()) != 0) failure = "rename failed: " + errno_text();
  if (!failure.empty()) {
    std::remove(tmp.c_str());
    TG_ERROR("save_npy", "cannot write '", path, "': ", failure, " (the previous file, if any, is unchanged)");
  }
}

Tensor load_npy(const std::string& path) {
  std::error_code ec;
  TG_CHECK(!std::filesystem::is_directory(path, ec), "load_npy", "'", path, "' is a directory, not a .npy file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  TG_CHECK(in.is_open(), "load_npy", "cannot open '", path, "': ", errno_text());
  const std::streamoff end = in.tellg();
  TG_CHECK(end >= 0, "load_npy", "'", path, "': cannot read the file size");
  const auto total = static_cast<size_t>(end);
  const std::string what = "'" + path + "'";
  // The preamble first (at most 12 bytes), then exactly the header it announces.
  std::vector<unsigned char> head(std::min<size_t>(total, 12));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  TG_CHECK(!in.fail(), "load_npy", what, ": read error");
  head.resize(header_end(head.data(), head.size(), total, what));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  TG_CHECK(!in.fail(), "load_npy", what, ": read error in the header");
  const Header h = parse_header(head.data(), head.size(), total, what);
  return make_tensor(h, what, [&](void* dst) {
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(h.data_bytes));
    TG_CHECK(in.gcount() == static_cast<std::streamsize>(h.data_bytes), "load_npy", what,
             ": read error in the data (file changed while reading?)");
  });
}

}  // namespace tg
