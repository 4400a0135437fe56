// LeReader: a bounds-checked cursor over little-endian bytes, for the WAL
// and heap page formats (PostgreSQL writes them in the host's byte order;
// partwatch reads WAL of x86-64 and ARM64 servers, both little-endian).
//
// Contract: as ByteReader (decoder/byte_reader.h): every Read* succeeds and
// advances, or returns false and leaves the cursor where it was; each check
// is `n > remaining()`.  The bytes must outlive the reader and its spans.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace partwatch::wal {

class LeReader {
 public:
  explicit LeReader(std::span<const std::byte> data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

  template <typename T>
  [[nodiscard]] bool Read(T* out) {
    static_assert(std::is_integral_v<T>);
    if (sizeof(T) > remaining()) return false;
    std::memcpy(out, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  [[nodiscard]] bool ReadBytes(size_t n, std::span<const std::byte>* out) {
    if (n > remaining()) return false;
    *out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  [[nodiscard]] bool Skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }

 private:
  std::span<const std::byte> data_;
  size_t pos_ = 0;
};

// Reads a T at `offset` of `bytes`; REQUIRES offset + sizeof(T) <= size.
template <typename T>
inline T LoadLe(std::span<const std::byte> bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

}  // namespace partwatch::wal
