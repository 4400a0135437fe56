#include "decoder/wal/page_image.h"

#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "decoder/wal/pglz.h"

namespace partwatch::wal {
namespace {

uint16_t LoadU16(std::span<const std::byte> page, size_t at) {
  return static_cast<uint16_t>(std::to_integer<uint16_t>(page[at]) |
                               (std::to_integer<uint16_t>(page[at + 1]) << 8));
}

uint32_t LoadU32(std::span<const std::byte> page, size_t at) {
  return std::to_integer<uint32_t>(page[at]) | (std::to_integer<uint32_t>(page[at + 1]) << 8) |
         (std::to_integer<uint32_t>(page[at + 2]) << 16) |
         (std::to_integer<uint32_t>(page[at + 3]) << 24);
}

Error ImageError(const std::string& what) {
  return Error{Error::Kind::kCorrupt, "block image: " + what};
}

const char* LpFlagsName(uint32_t flags) {
  switch (flags) {
    case 0:
      return "LP_UNUSED";
    case 1:
      return "LP_NORMAL";
    case 2:
      return "LP_REDIRECT";
    default:
      return "LP_DEAD";
  }
}

}  // namespace

Result<std::monostate> RestoreBlockImage(const BlockImage& image,
                                         std::span<std::byte, kBlockSize> page) {
  const size_t hole_offset = image.hole_offset;
  const size_t hole_length = image.hole_length;
  if (hole_offset + hole_length > kBlockSize) {  // two uint16_t: no overflow
    return ImageError("hole at " + std::to_string(hole_offset) + " of " +
                      std::to_string(hole_length) + " bytes passes the end of the page");
  }
  const size_t image_length = kBlockSize - hole_length;
  const std::span<std::byte> out = std::span<std::byte>(page).first(image_length);
  const std::span<const std::byte> src = image.bytes;
  switch (image.compression) {
    case BlockImage::Compression::kNone:
      if (src.size() != image_length) {
        return ImageError("uncompressed image of " + std::to_string(src.size()) +
                          " bytes, expected " + std::to_string(image_length));
      }
      std::copy(src.begin(), src.end(), out.begin());
      break;
    case BlockImage::Compression::kPglz: {
      auto written = PglzDecompress(src, out, true);
      if (!written.ok()) return ImageError(written.error().message);
      break;
    }
    case BlockImage::Compression::kLz4: {
      // Images are below 8 KiB; anything larger cannot be one.
      if (src.size() > kBlockSize * 2) {
        return ImageError("lz4 image of " + std::to_string(src.size()) + " bytes");
      }
      const int written = LZ4_decompress_safe(
          reinterpret_cast<const char*>(src.data()), reinterpret_cast<char*>(out.data()),
          static_cast<int>(src.size()), static_cast<int>(out.size()));
      if (written < 0) {
        return ImageError("lz4 data is corrupt (" + std::to_string(src.size()) + " bytes)");
      }
      if (static_cast<size_t>(written) != image_length) {
        return ImageError("lz4 gave " + std::to_string(written) + " bytes, expected " +
                          std::to_string(image_length));
      }
      break;
    }
    case BlockImage::Compression::kZstd: {
      const size_t written = ZSTD_decompress(out.data(), out.size(), src.data(), src.size());
      if (ZSTD_isError(written)) {
        return ImageError(std::string("zstd: ") + ZSTD_getErrorName(written));
      }
      if (written != image_length) {
        return ImageError("zstd gave " + std::to_string(written) + " bytes, expected " +
                          std::to_string(image_length));
      }
      break;
    }
    default:
      return ImageError("unknown compression " +
                        std::to_string(static_cast<int>(image.compression)));
  }
  // The image is the page without its hole: move what follows the hole into
  // place, then zero the hole.
  if (hole_length > 0) {
    std::memmove(page.data() + hole_offset + hole_length, page.data() + hole_offset,
                 image_length - hole_offset);
    std::memset(page.data() + hole_offset, 0, hole_length);
  }
  return std::monostate{};
}

Result<HeapTupleRef> HeapTupleFromPage(std::span<const std::byte, kBlockSize> page,
                                       uint16_t offnum) {
  const std::string where = "line pointer " + std::to_string(offnum);
  auto corrupt = [&where](const std::string& what) {
    return Error{Error::Kind::kCorrupt, where + ": " + what};
  };
  if (offnum < 1) return corrupt("offset numbers start at 1");
  const size_t pd_lower = LoadU16(page, 12);
  if (pd_lower < kPageHeaderSize || pd_lower > kBlockSize) {
    return corrupt("pd_lower " + std::to_string(pd_lower) + " outside " +
                   std::to_string(kPageHeaderSize) + ".." + std::to_string(kBlockSize));
  }
  const size_t item = kPageHeaderSize + (static_cast<size_t>(offnum) - 1) * 4;
  if (4 > pd_lower || item > pd_lower - 4) {
    return corrupt("beyond pd_lower " + std::to_string(pd_lower) + " (" +
                   std::to_string((pd_lower - kPageHeaderSize) / 4) + " line pointers)");
  }
  const uint32_t word = LoadU32(page, item);
  const size_t lp_off = word & 0x7FFF;
  const uint32_t lp_flags = (word >> 15) & 0x03;
  const size_t lp_len = word >> 17;
  if (lp_flags != kLpNormal) return corrupt(std::string("is ") + LpFlagsName(lp_flags));
  if (lp_len < kHeapTupleHeaderSize) {
    return corrupt("tuple of " + std::to_string(lp_len) + " bytes, shorter than its header");
  }
  // lp_off has 15 bits and may exceed the page: compare it first, so that
  // kBlockSize - lp_off cannot wrap.
  if (lp_off < kPageHeaderSize || lp_off > kBlockSize || lp_len > kBlockSize - lp_off) {
    return corrupt("tuple at " + std::to_string(lp_off) + " of " + std::to_string(lp_len) +
                   " bytes is not within the page");
  }
  const std::span<const std::byte> tuple = page.subspan(lp_off, lp_len);
  return HeapTupleRef{LoadU16(tuple, 18), LoadU16(tuple, 20), std::to_integer<uint8_t>(tuple[22]),
                      tuple.subspan(kHeapTupleHeaderSize)};
}

}  // namespace partwatch::wal
