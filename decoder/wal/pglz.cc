#include "decoder/wal/pglz.h"

#include <cstdint>
#include <string>

namespace partwatch::wal {
namespace {

Error PglzError(Error::Kind kind, const std::string& what, size_t src_pos) {
  return Error{kind, "pglz: " + what + " at source byte " + std::to_string(src_pos)};
}

}  // namespace

Result<size_t> PglzDecompress(std::span<const std::byte> src, std::span<std::byte> dst,
                              bool check_complete) {
  size_t sp = 0;  // next source byte
  size_t dp = 0;  // next output byte
  while (sp < src.size() && dp < dst.size()) {
    uint8_t control = std::to_integer<uint8_t>(src[sp++]);
    for (int item = 0; item < 8 && sp < src.size() && dp < dst.size(); ++item, control >>= 1) {
      if ((control & 1) == 0) {
        dst[dp++] = src[sp++];
        continue;
      }
      const size_t tag_pos = sp;
      if (2 > src.size() - sp) {
        return PglzError(Error::Kind::kTruncated, "tag cut off", tag_pos);
      }
      const uint8_t b0 = std::to_integer<uint8_t>(src[sp]);
      const uint8_t b1 = std::to_integer<uint8_t>(src[sp + 1]);
      sp += 2;
      size_t length = (b0 & 0x0f) + 3;
      const size_t offset = (static_cast<size_t>(b0 & 0xf0) << 4) | b1;
      if (length == 18) {
        if (1 > src.size() - sp) {
          return PglzError(Error::Kind::kTruncated, "tag length byte cut off", tag_pos);
        }
        length += std::to_integer<uint8_t>(src[sp++]);
      }
      if (offset == 0 || offset > dp) {
        return PglzError(Error::Kind::kCorrupt,
                         "tag offset " + std::to_string(offset) + " reaches before the output (" +
                             std::to_string(dp) + " bytes written)",
                         tag_pos);
      }
      if (length > dst.size() - dp) {
        if (check_complete) {
          return PglzError(Error::Kind::kCorrupt,
                           "tag copies " + std::to_string(length) + " bytes with only " +
                               std::to_string(dst.size() - dp) + " left in the output",
                           tag_pos);
        }
        length = dst.size() - dp;  // a prefix: cut the copy at the end of the output
      }
      // Byte by byte: when offset < length the copy reads what it just wrote.
      for (size_t i = 0; i < length; ++i, ++dp) dst[dp] = dst[dp - offset];
    }
  }
  if (check_complete) {
    if (sp != src.size()) {
      return PglzError(Error::Kind::kCorrupt,
                       std::to_string(src.size() - sp) + " source bytes left after filling " +
                           std::to_string(dst.size()) + " output bytes",
                       sp);
    }
    if (dp != dst.size()) {
      return PglzError(Error::Kind::kTruncated,
                       "source ended after " + std::to_string(dp) + " of " +
                           std::to_string(dst.size()) + " output bytes",
                       sp);
    }
  }
  return dp;
}

}  // namespace partwatch::wal
