// IDX reading: the header is parsed from the raw bytes or from a gzip stream inflated by zlib
// piece by piece, and checked against the file's size before the values are allocated.
#include "nn/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <iomanip>
#include <sstream>
#include <vector>

#include "nn/npz.h"

namespace tg::data {
namespace {

struct IdxType {
  uint8_t code;
  const char* name;
  uint64_t size;
  DType dtype;
};
constexpr IdxType kTypes[] = {{0x08, "unsigned byte", 1, kUInt8}, {0x09, "signed byte", 1, kInt64},
                              {0x0B, "int16", 2, kInt64},         {0x0C, "int32", 4, kInt64},
                              {0x0D, "float32", 4, kFloat32},     {0x0E, "float64", 8, kFloat64}};

constexpr uint64_t kGzipMinSize = 18;  // 10-byte header + 8-byte trailer (RFC 1952)
// A deflate stream of n bytes inflates to at most 1032 n bytes (one 258-byte match per 2 bits).
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint64_t kZlibWindow = 1u << 30;  // zlib counts in 32-bit uInt
// Caps the element count while multiplying dimensions, so count * 8 bytes cannot overflow
// (and the strides stay far inside int64).
constexpr uint64_t kMaxElements = uint64_t{1} << 59;

uint64_t big_endian(const uint8_t* p, int nbytes) {
  uint64_t v = 0;
  for (int i = 0; i < nbytes; ++i) v = (v << 8) | p[i];
  return v;
}

std::string hex_bytes(const uint8_t* p, size_t n) {
  std::ostringstream os;
  for (size_t i = 0; i < n; ++i) os << (i ? " " : "") << "0x" << std::hex << std::setw(2) << std::setfill('0') << int(p[i]);
  return os.str();
}

// The bytes of an IDX file in order: the file itself, or the gzip stream inside it.
class IdxStream {
 public:
  IdxStream(std::string bytes, const std::string& path) : bytes_(std::move(bytes)), path_(path) {
    const auto* b = reinterpret_cast<const uint8_t*>(bytes_.data());
    gzip_ = bytes_.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b;
    if (!gzip_) return;
    if (bytes_.size() < kGzipMinSize) corrupt("a gzip file of ", bytes_.size(), " bytes is cut short");
    // windowBits 15 + 16: zlib parses the gzip header and checks the CRC-32 and size trailer.
    if (inflateInit2(&zs_, 15 + 16) != Z_OK) fail("zlib inflateInit2 failed");
    zs_.next_in = reinterpret_cast<Bytef*>(bytes_.data());
  }
  IdxStream(const IdxStream&) = delete;
  IdxStream& operator=(const IdxStream&) = delete;
  ~IdxStream() {
    if (gzip_) inflateEnd(&zs_);
  }

  bool empty() const { return bytes_.empty(); }

  // Reads exactly n bytes of `what` into dst.
  void read(void* dst, uint64_t n, const char* what) {
    if (n == 0) return;
    if (!gzip_) {
      if (n > bytes_.size() - pos_)
        corrupt(what, " needs ", n, " bytes at byte ", pos_, " but the file has ", bytes_.size(), " bytes");
      std::memcpy(dst, bytes_.data() + pos_, n);
      pos_ += n;
      return;
    }
    if (inflate_into(static_cast<char*>(dst), n) != n)
      corrupt("the gzip stream ends after ", zs_.total_out, " bytes, inside ", what);
  }

  // Rejects a header that implies `total` bytes of IDX data the file cannot hold.
  void expect_total(uint64_t total, const std::string& declared) {
    if (!gzip_) {
      if (total != bytes_.size())
        corrupt("the header declares ", declared, " (", total, " bytes with the header) but the file has ",
                bytes_.size(), " bytes");
      return;
    }
    // The gzip trailer's ISIZE is the inflated size mod 2^32 (RFC 1952).
    const auto* tail = reinterpret_cast<const uint8_t*>(bytes_.data() + bytes_.size() - 4);
    const uint64_t isize = uint64_t{tail[0]} | uint64_t{tail[1]} << 8 | uint64_t{tail[2]} << 16 | uint64_t{tail[3]} << 24;
    if (total / kMaxDeflateRatio > bytes_.size() || (total & 0xFFFFFFFF) != isize)
      corrupt("the header declares ", declared, " (", total, " bytes with the header) but the gzip trailer says ",
              isize, " bytes (", bytes_.size(), " compressed)");
  }

  // Checks that nothing follows the values.
  void expect_end() {
    if (!gzip_) return;
    char extra;
    if (inflate_into(&extra, 1) != 0 || !ended_) corrupt("the gzip stream holds more bytes than the header declares");
    if (zs_.avail_in != 0)
      corrupt(zs_.avail_in, " bytes follow the gzip stream (concatenated gzip members are not supported)");
  }

  template <typename... A>
  [[noreturn]] void fail(const A&... a) const {
    TG_ERROR("read_idx", "'", path_, "': ", a...);
  }
  template <typename... A>
  [[noreturn]] void corrupt(const A&... a) const {
    fail("truncated or corrupt file: ", a...);
  }

 private:
  // Inflates up to n bytes into dst; returns how many came before the stream's end.
  uint64_t inflate_into(char* dst, uint64_t n) {
    uint64_t done = 0;
    while (done < n && !ended_) {
      if (zs_.avail_in == 0) {
        const uint64_t used = static_cast<uint64_t>(reinterpret_cast<char*>(zs_.next_in) - bytes_.data());
        zs_.avail_in = static_cast<uInt>(std::min<uint64_t>(bytes_.size() - used, kZlibWindow));
      }
      const uInt ao = static_cast<uInt>(std::min<uint64_t>(n - done, kZlibWindow));
      zs_.next_out = reinterpret_cast<Bytef*>(dst + done);
      zs_.avail_out = ao;
      const uInt ai = zs_.avail_in;
      const int ret = inflate(&zs_, Z_NO_FLUSH);
      done += ao - zs_.avail_out;
      if (ret == Z_STREAM_END) ended_ = true;
      else if (ret == Z_DATA_ERROR) corrupt("corrupt gzip data (zlib: ", zs_.msg ? zs_.msg : "", ")");
      else if (ret != Z_OK && ret != Z_BUF_ERROR) fail("zlib inflate failed (code ", ret, ")");
      else if (zs_.avail_in == ai && zs_.avail_out == ao) corrupt("the gzip stream is cut short");
    }
    return done;
  }

  std::string bytes_;
  const std::string& path_;
  bool gzip_ = false;
  bool ended_ = false;
  uint64_t pos_ = 0;
  z_stream zs_{};
};

// Converts n big-endian values of `type` to the tensor's dtype.
void decode_values(const uint8_t* src, uint64_t n, const IdxType& type, const Tensor& out) {
  if (type.dtype == kInt64) {
    int64_t* dst = out.data_ptr<int64_t>();
    const int bits = static_cast<int>(8 * type.size);
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t u = big_endian(src + i * type.size, static_cast<int>(type.size));
      // Two's complement: a value with its top bit set is u - 2^bits.
      dst[i] = (u >> (bits - 1)) ? static_cast<int64_t>(u) - (int64_t{1} << bits) : static_cast<int64_t>(u);
    }
  } else if (type.dtype == kFloat32) {
    float* dst = out.data_ptr<float>();
    for (uint64_t i = 0; i < n; ++i) {
      const auto u = static_cast<uint32_t>(big_endian(src + 4 * i, 4));
      std::memcpy(dst + i, &u, 4);
    }
  } else {
    double* dst = out.data_ptr<double>();
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t u = big_endian(src + 8 * i, 8);
      std::memcpy(dst + i, &u, 8);
    }
  }
}

}  // namespace

Tensor read_idx(const std::string& path) { return idx_from_bytes(read_file(path, "read_idx"), path); }

Tensor idx_from_bytes(std::string bytes, const std::string& what) {
  IdxStream in(std::move(bytes), what);
  if (in.empty()) in.corrupt("the file is empty");
  uint8_t magic[4] = {0, 0, 0, 0};
  in.read(magic, 4, "the magic number");
  if (magic[0] != 0 || magic[1] != 0)
    in.fail("wrong magic: an IDX file starts with 0x00 0x00 <type> <rank> (or is gzip: 0x1f 0x8b), this one with ",
            hex_bytes(magic, 4));
  const IdxType* type = nullptr;
  for (const IdxType& t : kTypes)
    if (t.code == magic[2]) type = &t;
  if (!type)
    in.fail("unknown IDX element type code ", hex_bytes(magic + 2, 1),
            " (known: 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)");

  const int rank = magic[3];
  std::vector<uint8_t> dims(4 * static_cast<size_t>(rank));
  in.read(dims.data(), dims.size(), "the dimensions");
  Shape shape;
  uint64_t count = 1;
  uint64_t extent = 1;  // the product of the dimensions other than 0, which the strides reach
  for (int i = 0; i < rank; ++i) {
    const uint64_t d = big_endian(dims.data() + 4 * i, 4);
    shape.push_back(static_cast<int64_t>(d));
    if (extent > kMaxElements / std::max<uint64_t>(d, 1))
      in.corrupt("dimension ", i, " (", d, ") makes more elements than any file can hold");
    extent *= std::max<uint64_t>(d, 1);
    count *= d;
  }
  const uint64_t payload = count * type->size;
  in.expect_total(4 + dims.size() + payload, shape_str(shape) + " " + type->name + " values");

  Tensor out = empty(shape, type->dtype);
  if (type->dtype == kUInt8) {
    in.read(out.raw_data(), payload, "the values");
  } else {
    std::vector<uint8_t> raw(payload);
    in.read(raw.data(), payload, "the values");
    decode_values(raw.data(), count, *type, out);
  }
  in.expect_end();
  return out;
}

}  // namespace tg::data
