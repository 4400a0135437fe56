// ByteReader: a bounds-checked cursor over a byte span, reading the
// big-endian (network order) integers and NUL-terminated strings of
// PostgreSQL's wire protocol.
//
// Contract: every Read* either succeeds and advances the cursor, or returns
// false and leaves the cursor where it was.  Nothing is read outside the span.
// Each bounds check compares the bytes needed against remaining(), which
// cannot overflow.  The reader does not own the bytes: REQUIRES they outlive
// the reader and every span ReadBytes returned.
//
// Thread-safety: thread-compatible.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>

namespace partwatch {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  bool empty() const { return remaining() == 0; }

  [[nodiscard]] bool ReadU8(uint8_t* out) { return ReadBigEndian(out); }
  [[nodiscard]] bool ReadU16(uint16_t* out) { return ReadBigEndian(out); }
  [[nodiscard]] bool ReadU32(uint32_t* out) { return ReadBigEndian(out); }
  [[nodiscard]] bool ReadU64(uint64_t* out) { return ReadBigEndian(out); }
  [[nodiscard]] bool ReadI16(int16_t* out) { return ReadBigEndian(out); }
  [[nodiscard]] bool ReadI32(int32_t* out) { return ReadBigEndian(out); }
  [[nodiscard]] bool ReadI64(int64_t* out) { return ReadBigEndian(out); }

  // Reads the bytes before the next NUL and consumes the NUL too.  Fails when
  // no NUL is left in the input.
  [[nodiscard]] bool ReadCString(std::string* out) {
    const auto rest = data_.subspan(pos_);
    const auto nul = std::find(rest.begin(), rest.end(), std::byte{0});
    if (nul == rest.end()) return false;
    const size_t length = static_cast<size_t>(nul - rest.begin());
    out->assign(reinterpret_cast<const char*>(rest.data()), length);
    pos_ += length + 1;
    return true;
  }

  // Returns a view of the next `n` bytes (pointing into the input).
  [[nodiscard]] bool ReadBytes(size_t n, std::span<const std::byte>* out) {
    if (n > remaining()) return false;
    *out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }

  // Like ReadBytes, but copies the bytes into a string.
  [[nodiscard]] bool ReadBytes(size_t n, std::string* out) {
    std::span<const std::byte> bytes;
    if (!ReadBytes(n, &bytes)) return false;
    out->assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return true;
  }

 private:
  template <typename T>
  bool ReadBigEndian(T* out) {
    static_assert(std::is_integral_v<T>);
    using Unsigned = std::make_unsigned_t<T>;
    if (sizeof(T) > remaining()) return false;
    Unsigned value = 0;
    for (size_t i = 0; i < sizeof(T); ++i) {
      // Shifting a one-byte value by 8 is fine: it is promoted to int first.
      value = static_cast<Unsigned>((value << 8) | std::to_integer<uint8_t>(data_[pos_ + i]));
    }
    *out = static_cast<T>(value);  // modular since C++20: two's complement
    pos_ += sizeof(T);
    return true;
  }

  std::span<const std::byte> data_;
  size_t pos_ = 0;
};

// Describes a discriminator byte for an error message: "'z' (0x7a)" when
// printable ASCII, else "0x01".
inline std::string DescribeByte(uint8_t byte) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex = {'0', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
  if (byte >= 0x20 && byte < 0x7f) {
    return std::string{'\'', static_cast<char>(byte), '\'', ' ', '('} + hex + ")";
  }
  return hex;
}

}  // namespace partwatch
