#include "src/capture/segment_io.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <zstd.h>

namespace partwatch::capture {

namespace {

constexpr std::string_view kPrefix = "capture-";
constexpr std::string_view kPlain = ".pwcap";
constexpr std::string_view kZstd = ".pwcap.zst";

}  // namespace

std::string SegmentName(uint64_t seq, bool zstd) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%08llu", static_cast<unsigned long long>(seq));
  return std::string(kPrefix) + digits + std::string(zstd ? kZstd : kPlain);
}

bool ParseSegmentName(const std::string& name, uint64_t* seq, bool* zstd) {
  if (name.rfind(kPrefix, 0) != 0) return false;
  std::string_view rest(name);
  rest.remove_prefix(kPrefix.size());
  const size_t digits = std::min(rest.size(), rest.find_first_not_of("0123456789"));
  if (digits == 0 || digits > 18) return false;
  const std::string_view suffix = rest.substr(digits);
  if (suffix != kPlain && suffix != kZstd) return false;
  *seq = std::stoull(std::string(rest.substr(0, digits)));
  *zstd = suffix == kZstd;
  return true;
}

std::vector<SegmentFile> ListSegments(const std::string& dir) {
  std::vector<SegmentFile> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    SegmentFile f;
    if (!entry.is_regular_file() ||
        !ParseSegmentName(entry.path().filename().string(), &f.seq, &f.zstd)) {
      continue;
    }
    f.path = entry.path().string();
    f.size = entry.file_size();
    out.push_back(std::move(f));
  }
  if (ec)
    throw std::runtime_error("cannot read the capture directory " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.seq < b.seq; });
  return out;
}

struct SegmentReader::Zstd {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  std::string in;
  size_t in_pos = 0;
  size_t last_hint = 0;  // 0: the last frame ended
  ~Zstd() { ZSTD_freeDCtx(ctx); }
};

SegmentReader::SegmentReader(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr)
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  std::error_code ec;
  file_size_ = std::filesystem::file_size(path, ec);
  uint64_t seq = 0;
  bool zstd = false;
  if ((ParseSegmentName(std::filesystem::path(path).filename().string(), &seq, &zstd) && zstd) ||
      path.ends_with(".zst")) {
    zstd_ = std::make_unique<Zstd>();
  }
}

SegmentReader::~SegmentReader() {
  if (file_ != nullptr) std::fclose(file_);
}

bool SegmentReader::Read(size_t max, std::string* out) {
  if (!zstd_) {
    if (eof_) return false;
    const size_t old = out->size();
    out->resize(old + max);
    const size_t n = std::fread(out->data() + old, 1, max, file_);
    out->resize(old + n);
    file_bytes_read_ += n;
    if (n == 0) {
      if (std::ferror(file_))
        throw std::runtime_error("cannot read " + path_ + ": " + std::strerror(errno));
      eof_ = true;
      return false;
    }
    return true;
  }
  Zstd& z = *zstd_;
  const size_t start = out->size();
  while (out->size() - start < max) {
    if (z.in_pos == z.in.size()) {
      if (eof_) break;
      z.in.resize(1 << 17);
      const size_t n = std::fread(z.in.data(), 1, z.in.size(), file_);
      z.in.resize(n);
      z.in_pos = 0;
      file_bytes_read_ += n;
      if (n == 0) {
        if (std::ferror(file_))
          throw std::runtime_error("cannot read " + path_ + ": " + std::strerror(errno));
        eof_ = true;
        truncated_frame_ = z.last_hint != 0;
        break;
      }
    }
    const size_t old = out->size();
    out->resize(old + ZSTD_DStreamOutSize());
    ZSTD_outBuffer ob{out->data() + old, ZSTD_DStreamOutSize(), 0};
    ZSTD_inBuffer ib{z.in.data(), z.in.size(), z.in_pos};
    const size_t hint = ZSTD_decompressStream(z.ctx, &ob, &ib);
    out->resize(old + ob.pos);
    z.in_pos = ib.pos;
    if (ZSTD_isError(hint)) {
      throw std::runtime_error(path_ + ": offset " +
                               std::to_string(file_bytes_read_ - (z.in.size() - z.in_pos)) +
                               " (compressed): zstd: " + ZSTD_getErrorName(hint));
    }
    z.last_hint = hint;
  }
  return out->size() > start;
}

}  // namespace partwatch::capture
