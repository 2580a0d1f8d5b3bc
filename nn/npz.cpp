// .npz archives: a zip (PKWARE APPNOTE 6.3) of .npy entries, stored or raw-deflated by zlib.
// The reader trusts no header field: every offset and size is checked against the file before
// it is used or allocated, and every entry's CRC-32 is verified after inflating.
#include "nn/npz.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "autograd/npy.h"

namespace tg {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kStored = 0;
constexpr uint16_t kDeflated = 8;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kFlagStrongEncryption = 0x0040;
constexpr uint16_t kFlagUtf8Name = 0x0800;
constexpr uint16_t kVersionNeeded = 20;             // 2.0: deflate
constexpr uint16_t kVersionMadeBy = (3 << 8) | 20;  // Unix host, so the mode below applies
constexpr uint32_t kUnixFileMode = 0100644u << 16;  // regular file, rw-r--r--
constexpr uint16_t kDosDate1980 = (0 << 9) | (1 << 5) | 1;  // fixed: equal dicts, equal files
constexpr uint64_t kMax16 = 0xFFFF;
constexpr uint64_t kMax32 = 0xFFFFFFFF;
constexpr uint64_t kEndRecordSize = 22;
constexpr uint64_t kCentralEntrySize = 46;  // without name, extra and comment
// Deflate codes at most 258 bytes (one match) in 2 bits, so a stream of n bytes inflates to at
// most 1032 n bytes; a larger declared size is a corrupt header, rejected before allocating.
constexpr uint64_t kMaxDeflateRatio = 1032;
// zlib counts in uInt (32 bits): longer buffers are fed in windows of this size.
constexpr uint64_t kZlibWindow = 1u << 30;

// ---- writing ----

void put_le(std::string& out, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t crc32_of(const char* data, uint64_t n) {
  return static_cast<uint32_t>(
      crc32_z(crc32(0, Z_NULL, 0), reinterpret_cast<const Bytef*>(data), static_cast<z_size_t>(n)));
}

std::string deflate_raw(const std::vector<char>& in, const std::string& path) {
  z_stream zs{};
  // windowBits -15: a raw deflate stream, no zlib header or trailer (zip supplies its own).
  TG_CHECK(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK,
           "save_npz", "'", path, "': zlib deflateInit2 failed");
  std::string out(deflateBound(&zs, in.size()), '\0');
  uint64_t in_done = 0, out_done = 0;
  int ret = Z_OK;
  while (ret == Z_OK) {
    const uInt ai = static_cast<uInt>(std::min<uint64_t>(in.size() - in_done, kZlibWindow));
    const uInt ao = static_cast<uInt>(std::min<uint64_t>(out.size() - out_done, kZlibWindow));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_done));
    zs.avail_in = ai;
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
    zs.avail_out = ao;
    ret = deflate(&zs, in.size() - in_done == ai ? Z_FINISH : Z_NO_FLUSH);
    in_done += ai - zs.avail_in;
    out_done += ao - zs.avail_out;
  }
  deflateEnd(&zs);
  TG_CHECK(ret == Z_STREAM_END, "save_npz", "'", path, "': zlib deflate failed (code ", ret, ")");
  out.resize(out_done);
  return out;
}

// The fields a local header and its central-directory entry share (APPNOTE 4.3.7, 4.3.12).
void put_common_fields(std::string& out, uint16_t flags, uint16_t method, uint32_t crc,
                       uint64_t csize, uint64_t usize, const std::string& name) {
  put_le(out, kVersionNeeded, 2);
  put_le(out, flags, 2);
  put_le(out, method, 2);
  put_le(out, 0, 2);  // time 00:00:00
  put_le(out, kDosDate1980, 2);
  put_le(out, crc, 4);
  put_le(out, csize, 4);
  put_le(out, usize, 4);
  put_le(out, name.size(), 2);
  put_le(out, 0, 2);  // extra field length
}

// ---- reading ----

// Bounds-checked little-endian reads over the archive's bytes; errors name the file and the
// record being read.
class ArchiveReader {
 public:
  ArchiveReader(const std::string& bytes, const std::string& path) : b_(bytes), path_(path) {}

  uint64_t size() const { return b_.size(); }
  uint64_t pos() const { return pos_; }
  const char* data(uint64_t pos) const { return b_.data() + pos; }

  // Moves to `pos` to read `what`; a later read past the end of the file names `what`.
  void at(uint64_t pos, std::string what) {
    what_ = std::move(what);
    if (pos > size()) corrupt(what_, " starts at byte ", pos, ", past the end of the file (", size(), " bytes)");
    pos_ = pos;
  }
  uint64_t le(int nbytes) {
    need(nbytes);
    uint64_t v = 0;
    for (int i = nbytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b_[pos_ + i]);
    pos_ += nbytes;
    return v;
  }
  uint16_t u16() { return static_cast<uint16_t>(le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(le(4)); }
  uint64_t u64() { return le(8); }
  std::string str(uint64_t n) {
    need(n);
    std::string s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void skip(uint64_t n) {
    need(n);
    pos_ += n;
  }

  template <typename... A>
  [[noreturn]] void fail(const A&... a) const {
    TG_ERROR("load_npz", "'", path_, "': ", a...);
  }
  template <typename... A>
  [[noreturn]] void corrupt(const A&... a) const {
    fail("truncated or corrupt file: ", a...);
  }

 private:
  void need(uint64_t n) const {
    if (n > size() - pos_) corrupt(what_, " at byte ", pos_, " runs past the end of the file (", size(), " bytes)");
  }

  const std::string& b_;
  const std::string& path_;
  uint64_t pos_ = 0;
  std::string what_;
};

struct EndRecord {
  uint64_t entries = 0;
  uint64_t cd_offset = 0;
  uint64_t cd_size = 0;
  uint64_t pos = 0;  // where the end records start: the central directory must end before
};

struct Entry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t csize = 0;
  uint64_t usize = 0;
  uint64_t local_offset = 0;
};

std::string printable_prefix(const std::string& bytes) {
  std::ostringstream os;
  for (size_t i = 0; i < std::min<size_t>(bytes.size(), 6); ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7F) os << c;
    else os << "\\x" << std::hex << std::setw(2) << std::setfill('0') << int(c) << std::dec;
  }
  return os.str();
}

void check_magic(const std::string& bytes, const ArchiveReader& r) {
  if (bytes.size() < 4) r.corrupt("the file is only ", bytes.size(), " bytes long");
  const bool entry_first = bytes.compare(0, 4, "PK\x03\x04", 4) == 0;
  const bool empty_archive = bytes.compare(0, 4, "PK\x05\x06", 4) == 0;
  if (!entry_first && !empty_archive) {
    r.fail("wrong magic: a zip archive starts with 'PK\\x03\\x04', this file with '",
           printable_prefix(bytes), "'", bytes.compare(0, 6, "\x93NUMPY") == 0 ? " (a .npy file: use load_npy)" : "");
  }
}

// The end of central directory record (APPNOTE 4.3.16), searched backwards past a comment of
// up to 64 KiB, and its zip64 counterpart (4.3.14, 4.3.15) when a field is saturated.
EndRecord read_end_record(ArchiveReader& r) {
  if (r.size() < kEndRecordSize) r.corrupt("the file is ", r.size(), " bytes, smaller than a zip end record");
  const uint64_t last = r.size() - kEndRecordSize;
  const uint64_t first = last > kMax16 ? last - kMax16 : 0;
  uint64_t pos = last + 1;
  for (uint64_t p = last + 1; p-- > first;) {
    if (std::memcmp(r.data(p), "PK\x05\x06", 4) != 0) continue;  // kEndSig, little-endian
    r.at(p + 20, "end of central directory record");
    if (p + kEndRecordSize + r.u16() <= r.size()) {
      pos = p;
      break;
    }
  }
  if (pos > last) r.corrupt("no end-of-central-directory record (the file is cut short or is not a zip archive)");

  r.at(pos + 4, "end of central directory record");
  uint64_t disk = r.u16(), cd_disk = r.u16(), entries_here = r.u16();
  EndRecord end;
  end.entries = r.u16();
  end.cd_size = r.u32();
  end.cd_offset = r.u32();
  end.pos = pos;
  const bool saturated = disk == kMax16 || cd_disk == kMax16 || entries_here == kMax16 ||
                         end.entries == kMax16 || end.cd_size == kMax32 || end.cd_offset == kMax32;
  if (saturated && pos >= 20) {
    r.at(pos - 20, "zip64 end of central directory locator");
    if (r.u32() == kZip64LocatorSig) {
      r.skip(4);
      const uint64_t record = r.u64();
      if (record > pos - 20) r.corrupt("zip64 end record offset ", record, " is past its locator at byte ", pos - 20);
      r.at(record, "zip64 end of central directory record");
      if (r.u32() != kZip64EndSig) r.corrupt("no zip64 end of central directory record at byte ", record);
      r.skip(12);  // record size, versions
      disk = r.u32();
      cd_disk = r.u32();
      entries_here = r.u64();
      end.entries = r.u64();
      end.cd_size = r.u64();
      end.cd_offset = r.u64();
      end.pos = record;
    }
  }
  if (disk != 0 || cd_disk != 0 || entries_here != end.entries)
    r.fail("multi-disk (spanned) zip archives are not supported");
  if (end.cd_offset > end.pos || end.cd_size > end.pos - end.cd_offset)
    r.corrupt("central directory (offset ", end.cd_offset, ", ", end.cd_size,
              " bytes) does not end before its end record at byte ", end.pos);
  if (end.entries > end.cd_size / kCentralEntrySize)
    r.corrupt("a central directory of ", end.cd_size, " bytes cannot hold the ", end.entries, " entries it declares");
  return end;
}

// The zip64 extended information extra field (APPNOTE 4.5.3): 64-bit values for exactly those
// of usize, csize and offset whose 32-bit fields hold 0xFFFFFFFF, in that order.
void read_zip64_extra(ArchiveReader& r, uint64_t extra_len, Entry& e) {
  const uint64_t end = r.pos() + extra_len;
  bool found = false;
  while (end - r.pos() >= 4) {
    const uint16_t id = r.u16();
    const uint16_t len = r.u16();
    if (len > end - r.pos()) r.corrupt("extra field of entry '", e.name, "' runs past its declared length");
    const uint64_t next = r.pos() + len;
    if (id == kZip64ExtraId) {
      found = true;
      uint64_t left = len;
      for (uint64_t* field : {&e.usize, &e.csize, &e.local_offset}) {
        if (*field != kMax32) continue;
        if (left < 8) r.corrupt("zip64 extra field of entry '", e.name, "' is too short");
        *field = r.u64();
        left -= 8;
      }
    }
    r.at(next, "extra field of entry '" + e.name + "'");
  }
  r.at(end, "central directory");
  if (!found && (e.usize == kMax32 || e.csize == kMax32 || e.local_offset == kMax32))
    r.corrupt("entry '", e.name, "' has saturated 32-bit sizes but no zip64 extra field");
}

// The central directory (APPNOTE 4.3.12): names, sizes, CRCs and where each entry starts.
std::vector<Entry> read_central_directory(ArchiveReader& r, const EndRecord& end) {
  std::vector<Entry> entries;
  entries.reserve(end.entries);
  std::set<std::string> names;
  r.at(end.cd_offset, "central directory");
  for (uint64_t i = 0; i < end.entries; ++i) {
    const uint64_t start = r.pos();
    if (r.u32() != kCentralSig) r.corrupt("central directory entry ", i, " at byte ", start, " has a bad signature");
    Entry e;
    r.skip(4);  // versions
    e.flags = r.u16();
    e.method = r.u16();
    r.skip(4);  // time, date
    e.crc = r.u32();
    e.csize = r.u32();
    e.usize = r.u32();
    const uint16_t name_len = r.u16(), extra_len = r.u16(), comment_len = r.u16();
    r.skip(8);  // disk number, internal and external attributes
    e.local_offset = r.u32();
    e.name = r.str(name_len);
    read_zip64_extra(r, extra_len, e);
    r.skip(comment_len);
    if (r.pos() > end.cd_offset + end.cd_size)
      r.corrupt("central directory entry '", e.name, "' runs past the directory's declared size");
    if (e.flags & (kFlagEncrypted | kFlagStrongEncryption))
      r.fail("entry '", e.name, "' is encrypted; encrypted archives are not supported");
    if (e.method != kStored && e.method != kDeflated)
      r.fail("entry '", e.name, "' uses compression method ", e.method,
             "; only stored (0) and deflate (8) are supported");
    if (!names.insert(e.name).second) r.fail("duplicate entry '", e.name, "'");
    entries.push_back(std::move(e));
  }
  return entries;
}

// Inflates a raw deflate stream that must produce exactly `usize` bytes.
std::string inflate_raw(const char* src, const Entry& e, const ArchiveReader& r) {
  std::string out(e.usize, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) r.fail("zlib inflateInit2 failed");
  uint64_t in_done = 0, out_done = 0;
  int ret = Z_OK;
  bool progress = true;
  while (ret == Z_OK && progress) {
    const uInt ai = static_cast<uInt>(std::min<uint64_t>(e.csize - in_done, kZlibWindow));
    const uInt ao = static_cast<uInt>(std::min<uint64_t>(e.usize - out_done, kZlibWindow));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(src + in_done));
    zs.avail_in = ai;
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + out_done);
    zs.avail_out = ao;
    ret = inflate(&zs, Z_NO_FLUSH);
    in_done += ai - zs.avail_in;
    out_done += ao - zs.avail_out;
    progress = zs.avail_in != ai || zs.avail_out != ao;
  }
  const std::string zmsg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (ret == Z_DATA_ERROR) r.corrupt("entry '", e.name, "': corrupt deflate data (zlib: ", zmsg, ")");
  if (ret == Z_STREAM_END && out_done != e.usize)
    r.corrupt("entry '", e.name, "' inflates to ", out_done, " bytes, the directory declares ", e.usize);
  if (ret != Z_STREAM_END)
    r.corrupt("entry '", e.name, "': the deflate stream does not end within its ", e.csize,
              " bytes and declared ", e.usize, " inflated bytes");
  return out;
}

// Checks the local header (APPNOTE 4.3.7) and returns the entry's inflated, CRC-checked bytes.
std::string read_entry(ArchiveReader& r, const Entry& e) {
  r.at(e.local_offset, "local header of entry '" + e.name + "'");
  if (r.u32() != kLocalSig) r.corrupt("entry '", e.name, "' has no local header at byte ", e.local_offset);
  r.skip(22);  // versions, flags, method, time, date, crc, sizes: the central directory's count
  const uint16_t name_len = r.u16(), extra_len = r.u16();
  if (r.str(name_len) != e.name) r.corrupt("the local header of entry '", e.name, "' names another file");
  r.skip(extra_len);
  const uint64_t start = r.pos();
  if (e.csize > r.size() - start)
    r.corrupt("entry '", e.name, "' declares ", e.csize, " bytes at byte ", start,
              " but the file has only ", r.size(), " bytes");
  if (e.method == kStored && e.usize != e.csize)
    r.corrupt("stored entry '", e.name, "' declares ", e.csize, " stored and ", e.usize, " inflated bytes");
  if (e.method == kDeflated && e.usize / kMaxDeflateRatio > e.csize)
    r.corrupt("entry '", e.name, "' declares ", e.usize, " inflated bytes, more than ", e.csize,
              " deflated bytes can hold");
  std::string bytes = e.method == kStored ? r.str(e.csize) : inflate_raw(r.data(start), e, r);
  const uint32_t crc = crc32_of(bytes.data(), bytes.size());
  if (crc != e.crc) {
    std::ostringstream os;
    os << std::hex << "stored 0x" << e.crc << ", computed 0x" << crc;
    r.corrupt("entry '", e.name, "' has a bad CRC-32 (", os.str(), ")");
  }
  return bytes;
}

}  // namespace

std::string read_file(const std::string& path, const char* op) {
  namespace fs = std::filesystem;
  std::error_code ec;
  TG_CHECK(!fs::is_directory(path, ec), op, "'", path, "' is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  TG_CHECK(in.is_open(), op, "cannot open '", path, "': ", std::strerror(errno));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  TG_CHECK(size >= 0, op, "cannot determine the size of '", path, "'");
  in.seekg(0, std::ios::beg);
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), size);
  TG_CHECK(in.gcount() == size, op, "'", path, "': read ", in.gcount(), " of ", size, " bytes");
  return bytes;
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  const char* op = "write_file_atomically";
  const fs::path target(path);
  TG_CHECK(!target.filename().empty(), op, "'", path, "' names a directory, not a file");
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmp_name = target.filename().string();
  tmp_name.insert(0, 1, '.');
  tmp_name.append(".tmp.XXXXXX");  // a hidden sibling; mkstemp fills in the X's
  std::string tmp = (dir / tmp_name).string();
  const int fd = mkstemp(tmp.data());
  TG_CHECK(fd >= 0, op, "cannot create a temporary file in '", dir.string(), "' to write '", path,
           "': ", std::strerror(errno));
  // Keep an existing file's permissions; a new one gets rw-r--r-- (mkstemp makes it rw-------).
  struct stat st {};
  const mode_t mode = ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0644;
  const auto fail = [&](const char* what) {
    const std::string reason = std::strerror(errno);
    ::close(fd);
    ::unlink(tmp.c_str());
    TG_ERROR(op, "'", path, "': ", what, " failed: ", reason);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write");
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) fail("fchmod");
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    TG_ERROR(op, "'", path, "': close failed: ", reason);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    TG_ERROR(op, "cannot rename the temporary file to '", path, "': ", reason);
  }
  // Make the rename itself durable; a directory that cannot be synced (some filesystems)
  // leaves the new file in place all the same.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void save_npz(const TensorDict& tensors, const std::string& path, bool compress) {
  TG_CHECK(tensors.size() < kMax16, "save_npz", "'", path, "': ", tensors.size(),
           " tensors need a zip64 archive, which save_npz does not write");
  std::set<std::string> names;
  for (const auto& [name, t] : tensors) {
    TG_CHECK(!name.empty() && name.find('\0') == std::string::npos && name.size() + 4 < kMax16,
             "save_npz", "'", path, "': invalid tensor name '", name, "'");
    TG_CHECK(names.insert(name).second, "save_npz", "'", path, "': duplicate entry '", name, "'");
    TG_CHECK(t.defined(), "save_npz", "'", path, "': tensor '", name, "' is undefined");
  }
  std::string archive, central;
  for (const auto& [name, t] : tensors) {
    const std::string file = name + ".npy";
    const std::vector<char> npy = npy_bytes(t);
    const uint32_t crc = crc32_of(npy.data(), npy.size());
    const std::string data = compress ? deflate_raw(npy, path) : std::string(npy.begin(), npy.end());
    const uint64_t offset = archive.size();
    TG_CHECK(npy.size() < kMax32 && data.size() < kMax32 && offset + data.size() < kMax32, "save_npz",
             "'", path, "': tensor '", name, "' (", t.str(),
             ") would put the archive past 4 GiB, which needs zip64; save it with save_npy");
    const bool ascii = std::all_of(file.begin(), file.end(), [](char c) { return (c & 0x80) == 0; });
    const uint16_t flags = ascii ? 0 : kFlagUtf8Name;
    const uint16_t method = compress ? kDeflated : kStored;

    put_le(archive, kLocalSig, 4);
    put_common_fields(archive, flags, method, crc, data.size(), npy.size(), file);
    archive += file;
    archive += data;

    put_le(central, kCentralSig, 4);
    put_le(central, kVersionMadeBy, 2);
    put_common_fields(central, flags, method, crc, data.size(), npy.size(), file);
    put_le(central, 0, 2);  // comment length
    put_le(central, 0, 2);  // disk number
    put_le(central, 0, 2);  // internal attributes
    put_le(central, kUnixFileMode, 4);
    put_le(central, offset, 4);
    central += file;
  }
  const uint64_t cd_offset = archive.size();
  TG_CHECK(cd_offset + central.size() < kMax32, "save_npz", "'", path,
           "': the archive would pass 4 GiB, which needs zip64");
  archive += central;
  put_le(archive, kEndSig, 4);
  put_le(archive, 0, 2);  // this disk
  put_le(archive, 0, 2);  // disk with the central directory
  put_le(archive, tensors.size(), 2);
  put_le(archive, tensors.size(), 2);
  put_le(archive, central.size(), 4);
  put_le(archive, cd_offset, 4);
  put_le(archive, 0, 2);  // comment length
  write_file_atomically(path, archive);
}

TensorDict load_npz(const std::string& path) { return npz_from_bytes(read_file(path, "load_npz"), path); }

TensorDict npz_from_bytes(const std::string& bytes, const std::string& what) {
  ArchiveReader r(bytes, what);
  check_magic(bytes, r);
  const EndRecord end = read_end_record(r);
  TensorDict out;
  for (const Entry& e : read_central_directory(r, end)) {
    const std::string entry = read_entry(r, e);
    const bool npy = e.name.size() > 4 && e.name.compare(e.name.size() - 4, 4, ".npy") == 0;
    if (!npy) r.fail("entry '", e.name, "' is not a .npy file");
    out.emplace_back(e.name.substr(0, e.name.size() - 4),
                     npy_from_bytes(entry.data(), entry.size(), what + ": entry '" + e.name + "'"));
  }
  return out;
}

}  // namespace tg
