#include "src/replay/wal_files.h"

#include <lz4frame.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "src/replay/source.h"

namespace partwatch::replay {
namespace {

bool IsHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

[[noreturn]] void Fail(const WalFileName& f, const std::string& what) {
  throw ReplayError(f.path + ": " + what);
}

File OpenRaw(const WalFileName& f) {
  File file(std::fopen(f.path.c_str(), "rb"));
  if (!file) Fail(f, std::string("cannot open: ") + std::strerror(errno));
  return file;
}

// Room for `n` more bytes at the end of `out` (which holds `total`): the
// buffer grows in steps, so a limit far above the real size (the first
// segment, before its header gave the size) costs nothing.
std::byte* Room(std::vector<std::byte>* out, size_t total, size_t n) {
  if (out->size() < total + n)
    out->resize(std::max(total + n, std::min<size_t>(2 * out->size(), total + n + (64u << 20))));
  return out->data() + total;
}

constexpr size_t kChunk = 1u << 20;

void ReadPlain(const WalFileName& f, size_t limit, std::vector<std::byte>* out) {
  File file = OpenRaw(f);
  size_t total = 0;
  while (total < limit + 1) {
    const size_t want = std::min(kChunk, limit + 1 - total);
    const size_t n = std::fread(Room(out, total, want), 1, want, file.get());
    total += n;
    if (n < want) break;
  }
  if (std::ferror(file.get())) Fail(f, std::string("read error: ") + std::strerror(errno));
  out->resize(total);
}

void ReadGzip(const WalFileName& f, size_t limit, std::vector<std::byte>* out) {
  gzFile gz = gzopen(f.path.c_str(), "rb");
  if (gz == nullptr) Fail(f, "cannot open");
  size_t total = 0;
  while (total < limit + 1) {
    const unsigned want = static_cast<unsigned>(std::min(kChunk, limit + 1 - total));
    const int n = gzread(gz, Room(out, total, want), want);
    if (n < 0) {
      int err = 0;
      const std::string msg = gzerror(gz, &err);
      gzclose(gz);
      Fail(f, "gzip: " + msg);
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  gzclose(gz);
  out->resize(total);
}

void ReadLz4(const WalFileName& f, size_t limit, std::vector<std::byte>* out) {
  File file = OpenRaw(f);
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION))) Fail(f, "lz4: no memory");
  std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> guard(
      dctx, &LZ4F_freeDecompressionContext);
  size_t total = 0;
  std::vector<char> in(1 << 16);
  size_t ret = 1;
  size_t got = 0, off = 0;
  bool full = false;  // the output chunk filled: more may be waiting
  while (total < limit + 1) {
    if (off == got && !full) {
      got = std::fread(in.data(), 1, in.size(), file.get());
      off = 0;
      if (got == 0) break;
    }
    size_t src = got - off;
    const size_t room = std::min(kChunk, limit + 1 - total);
    size_t dst = room;
    ret = LZ4F_decompress(dctx, Room(out, total, room), &dst, in.data() + off, &src, nullptr);
    if (LZ4F_isError(ret)) Fail(f, std::string("lz4: ") + LZ4F_getErrorName(ret));
    off += src;
    total += dst;
    full = dst == room;
    if (ret == 0) break;  // the frame is decoded and flushed (one frame per file)
  }
  if (ret != 0 && total <= limit) Fail(f, "lz4: the compressed file is cut short");
  out->resize(total);
}

void ReadZstd(const WalFileName& f, size_t limit, std::vector<std::byte>* out) {
  File file = OpenRaw(f);
  std::unique_ptr<ZSTD_DStream, decltype(&ZSTD_freeDStream)> ds(ZSTD_createDStream(),
                                                                &ZSTD_freeDStream);
  if (!ds) Fail(f, "zstd: no memory");
  size_t total = 0;
  std::vector<char> in(ZSTD_DStreamInSize());
  size_t ret = 1;
  ZSTD_inBuffer ib{in.data(), 0, 0};
  bool full = false;  // the output chunk filled: more may be waiting
  while (total < limit + 1) {
    if (ib.pos == ib.size && !full) {
      const size_t got = std::fread(in.data(), 1, in.size(), file.get());
      if (got == 0) break;
      ib = ZSTD_inBuffer{in.data(), got, 0};
    }
    const size_t room = std::min(kChunk, limit + 1 - total);
    ZSTD_outBuffer ob{Room(out, total, room), room, 0};
    ret = ZSTD_decompressStream(ds.get(), &ob, &ib);
    if (ZSTD_isError(ret)) Fail(f, std::string("zstd: ") + ZSTD_getErrorName(ret));
    total += ob.pos;
    // ret 0: a frame ended, flushed (more frames may follow in the input).
    full = ob.pos == ob.size && ret != 0;
  }
  if (ret != 0 && total <= limit) Fail(f, "zstd: the compressed file is cut short");
  out->resize(total);
}

}  // namespace

std::optional<WalFileName> ParseWalFileName(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  if (name.size() < 24) return std::nullopt;
  const std::string hex = name.substr(0, 24);
  if (!IsHex(hex)) return std::nullopt;
  std::string rest = name.substr(24);
  WalFileName f;
  f.path = path;
  if (rest.rfind(".partial", 0) == 0) {
    f.partial = true;
    rest = rest.substr(8);
  }
  if (rest.empty()) {
  } else if (rest == ".gz") {
    f.compression = "gz";
  } else if (rest == ".lz4") {
    f.compression = "lz4";
  } else if (rest == ".zst" || rest == ".zstd") {
    f.compression = "zst";
  } else {
    return std::nullopt;  // .history, .backup, ...
  }
  f.timeline = static_cast<uint32_t>(std::stoul(hex.substr(0, 8), nullptr, 16));
  f.log = static_cast<uint32_t>(std::stoul(hex.substr(8, 8), nullptr, 16));
  f.seg = static_cast<uint32_t>(std::stoul(hex.substr(16, 8), nullptr, 16));
  if (f.timeline == 0) return std::nullopt;
  return f;
}

std::vector<WalFileName> ListWalDir(const std::string& dir) {
  std::vector<WalFileName> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) throw ReplayError(dir + ": cannot read the directory: " + ec.message());
  for (const auto& entry : it) {
    if (!entry.is_regular_file(ec)) continue;
    if (auto f = ParseWalFileName(entry.path().string())) out.push_back(std::move(*f));
  }
  std::sort(out.begin(), out.end(), [](const WalFileName& a, const WalFileName& b) {
    return std::filesystem::path(a.path).filename() < std::filesystem::path(b.path).filename();
  });
  return out;
}

void ReadWalFile(const WalFileName& file, size_t limit, std::vector<std::byte>* out) {
  if (file.compression.empty()) {
    ReadPlain(file, limit, out);
  } else if (file.compression == "gz") {
    ReadGzip(file, limit, out);
  } else if (file.compression == "lz4") {
    ReadLz4(file, limit, out);
  } else {
    ReadZstd(file, limit, out);
  }
}

}  // namespace partwatch::replay
