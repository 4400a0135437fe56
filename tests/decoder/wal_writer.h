// A test-only writer of PostgreSQL 15 WAL: page headers, records placed
// and continued as the server places them, CRC-32C filled in.  Lets the
// reader's tests build segments of any shape (records across pages and
// segments, a switch, damage) without a server.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "decoder/wal/crc32c.h"
#include "decoder/wal/reader.h"
#include "decoder/wal/record.h"

namespace partwatch::wal::testing {

class WalWriter {
 public:
  static constexpr uint32_t kPage = 8192;
  WalWriter(uint32_t segment_size, uint64_t first_segno, uint64_t sysid = 7000000000000000001ull)
      : seg_size_(segment_size), sysid_(sysid), pos_(first_segno * segment_size) {
    start_ = pos_;
  }

  // A record of `rmid`/`info` with `xid`, main data `main`, and optionally
  // one block reference (block 0 of rnode, with `data`).  Returns its LSN.
  uint64_t Add(uint8_t rmid, uint8_t info, uint32_t xid, std::span<const std::byte> main,
               const RelFileNode* rnode = nullptr, std::span<const std::byte> data = {}) {
    std::vector<std::byte> body;
    auto put = [&](const void* p, size_t n) {
      const auto* b = static_cast<const std::byte*>(p);
      body.insert(body.end(), b, b + n);
    };
    if (rnode != nullptr) {
      const uint8_t id = 0;
      const uint8_t fork_flags = data.empty() ? 0 : 0x20;
      const uint16_t len = static_cast<uint16_t>(data.size());
      put(&id, 1);
      put(&fork_flags, 1);
      put(&len, 2);
      put(rnode, 12);
      const uint32_t block = 0;
      put(&block, 4);
    }
    if (!main.empty()) {
      if (main.size() < 256) {
        const uint8_t id = 255, len = static_cast<uint8_t>(main.size());
        put(&id, 1);
        put(&len, 1);
      } else {
        const uint8_t id = 254;
        const uint32_t len = static_cast<uint32_t>(main.size());
        put(&id, 1);
        put(&len, 4);
      }
    }
    if (rnode != nullptr) put(data.data(), data.size());
    put(main.data(), main.size());
    std::vector<std::byte> rec(kRecordHeaderSize);
    const uint32_t tot = static_cast<uint32_t>(kRecordHeaderSize + body.size());
    std::memcpy(rec.data(), &tot, 4);
    std::memcpy(rec.data() + 4, &xid, 4);
    std::memcpy(rec.data() + 8, &prev_, 8);
    rec[16] = std::byte{info};
    rec[17] = std::byte{rmid};
    rec.insert(rec.end(), body.begin(), body.end());
    const uint32_t crc = ComputeCrc(rec);
    std::memcpy(rec.data() + 20, &crc, 4);
    return Place(rec);
  }

  // Zero padding up to the end of the current segment (after a switch).
  void FinishSegment() {
    while (pos_ % seg_size_ != 0) {
      if (pos_ % kPage == 0) Header(0);
      const size_t n = kPage - pos_ % kPage;
      Grow(pos_ + n);
      pos_ += n;
    }
  }

  // Segments written so far (the last one zero-filled to its end).
  std::vector<std::vector<std::byte>> Segments() const {
    std::vector<std::byte> all = bytes_;
    const uint64_t end = ((start_ + all.size() + seg_size_ - 1) / seg_size_) * seg_size_;
    all.resize(end - start_);
    std::vector<std::vector<std::byte>> out;
    for (size_t off = 0; off < all.size(); off += seg_size_) {
      out.emplace_back(all.begin() + off, all.begin() + off + seg_size_);
    }
    return out;
  }
  uint64_t position() const { return pos_; }
  uint64_t first_segno() const { return start_ / seg_size_; }

 private:
  void Grow(uint64_t upto) {
    if (upto - start_ > bytes_.size()) bytes_.resize(upto - start_);
  }
  void Header(uint32_t rem_len) {
    const bool is_long = pos_ % seg_size_ == 0;
    const size_t size = is_long ? kLongPageHeaderSize : kShortPageHeaderSize;
    Grow(pos_ + size);
    std::byte* p = bytes_.data() + (pos_ - start_);
    const uint16_t magic = kPageMagic;
    uint16_t info = (rem_len ? kPageFirstIsContRecord : 0) | (is_long ? kPageLongHeader : 0);
    const uint32_t tli = 1;
    std::memcpy(p, &magic, 2);
    std::memcpy(p + 2, &info, 2);
    std::memcpy(p + 4, &tli, 4);
    std::memcpy(p + 8, &pos_, 8);
    std::memcpy(p + 16, &rem_len, 4);
    if (is_long) {
      const uint32_t page = kPage;
      std::memcpy(p + 24, &sysid_, 8);
      std::memcpy(p + 32, &seg_size_, 4);
      std::memcpy(p + 36, &page, 4);
    }
    pos_ += size;
  }
  uint64_t Place(const std::vector<std::byte>& rec) {
    if (pos_ % kPage == 0) Header(0);
    const uint64_t lsn = pos_;
    size_t done = 0;
    while (done < rec.size()) {
      if (pos_ % kPage == 0) Header(static_cast<uint32_t>(rec.size() - done));
      const size_t n = std::min<size_t>(rec.size() - done, kPage - pos_ % kPage);
      Grow(pos_ + n);
      std::memcpy(bytes_.data() + (pos_ - start_), rec.data() + done, n);
      pos_ += n;
      done += n;
    }
    pos_ = (pos_ + 7) & ~uint64_t{7};
    Grow(pos_);
    prev_ = lsn;
    return lsn;
  }

  uint32_t seg_size_;
  uint64_t sysid_;
  uint64_t pos_;
  uint64_t start_;
  uint64_t prev_ = 0;
  std::vector<std::byte> bytes_;
};

}  // namespace partwatch::wal::testing
