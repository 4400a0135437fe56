#include "decoder/wal/reader.h"

#include <algorithm>
#include <cstdio>

#include "decoder/wal/le_reader.h"

namespace partwatch::wal {
namespace {

constexpr uint16_t kAllPageFlags = 0x000F;
constexpr uint8_t kXlogSwitch = 0x40;
constexpr uint8_t kMinCustomRmgr = 128;

size_t MaxAlign(size_t n) { return (n + 7) & ~size_t{7}; }

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llX", static_cast<unsigned long long>(v));
  return buf;
}

bool AllZero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

Result<PageHeader> ParsePageHeader(std::span<const std::byte> bytes) {
  PageHeader h;
  LeReader r(bytes);
  uint64_t addr = 0;
  if (!r.Read(&h.magic) || !r.Read(&h.info) || !r.Read(&h.timeline) || !r.Read(&addr) ||
      !r.Read(&h.rem_len) || !r.Skip(4)) {
    return Error{Error::Kind::kTruncated, "page header: truncated"};
  }
  h.address = Lsn(addr);
  if (h.info & kPageLongHeader) {
    if (!r.Read(&h.system_identifier) || !r.Read(&h.segment_size) || !r.Read(&h.page_size)) {
      return Error{Error::Kind::kTruncated, "long page header: truncated"};
    }
  }
  return h;
}

std::string MagicVersion(uint16_t magic) {
  switch (magic) {
    case 0xD101:
      return "PostgreSQL 12";
    case 0xD106:
      return "PostgreSQL 13";
    case 0xD10D:
      return "PostgreSQL 14";
    case 0xD110:
      return "PostgreSQL 15";
    case 0xD113:
      return "PostgreSQL 16";
    case 0xD116:
      return "PostgreSQL 17";
    case 0xD118:
      return "PostgreSQL 18";
    default:
      return "";
  }
}

Error WalReader::Corrupt(uint64_t at, const std::string& what) const {
  return Error{Error::Kind::kCorrupt, "at " + Lsn(at).ToString() + ": " + what};
}

Result<bool> WalReader::BeginSegment(std::span<const std::byte> segment, uint32_t timeline,
                                     uint64_t segno) {
  if (ended_) {
    return Error{Error::Kind::kCorrupt, "the WAL already ended (" + end_reason_ + ")"};
  }
  Result<PageHeader> h = ParsePageHeader(segment);
  if (!h.ok()) return Error{Error::Kind::kCorrupt, "segment: " + h.error().message};
  if (h->magic != kPageMagic) {
    const std::string v = MagicVersion(h->magic);
    return Error{Error::Kind::kCorrupt,
                 "first page: magic " + Hex(h->magic) +
                     (v.empty() ? " is not a WAL page's" : " is " + v + "'s") +
                     "; this reader reads PostgreSQL 15 WAL (magic 0xD110)"};
  }
  if (!(h->info & kPageLongHeader)) {
    return Error{Error::Kind::kCorrupt, "first page has no long header: not a segment's start"};
  }
  if (!have_segment_) {
    const uint32_t s = h->segment_size;
    if (s < (1u << 20) || s > (1u << 30) || (s & (s - 1)) != 0) {
      return Error{Error::Kind::kCorrupt, "segment size " + std::to_string(s) +
                                              " in the long header is not a power of two "
                                              "between 1 MiB and 1 GiB"};
    }
    const uint32_t p = h->page_size;
    if (p < 1024 || p > 65536 || (p & (p - 1)) != 0) {
      return Error{Error::Kind::kCorrupt,
                   "WAL page size " + std::to_string(p) + " in the long header is impossible"};
    }
    sysid_ = h->system_identifier;
    seg_size_ = s;
    page_size_ = p;
  } else {
    if (h->system_identifier != sysid_) {
      return Error{Error::Kind::kCorrupt,
                   "system identifier " + std::to_string(h->system_identifier) +
                       ", but the segments before are of system " + std::to_string(sysid_)};
    }
    if (h->segment_size != seg_size_ || h->page_size != page_size_) {
      return Error{Error::Kind::kCorrupt, "segment or page size differs from the segments before"};
    }
    if (segno != segno_ + 1) {
      return Error{Error::Kind::kCorrupt, "segment " + std::to_string(segno) +
                                              " does not follow segment " + std::to_string(segno_)};
    }
  }
  if (segment.size() != seg_size_) {
    return Error{Error::Kind::kCorrupt, "the segment is " + std::to_string(segment.size()) +
                                            " bytes, the long header says " +
                                            std::to_string(seg_size_) + " (truncated?)"};
  }
  seg_ = segment;
  seg_start_ = segno * uint64_t{seg_size_};
  segno_ = segno;
  pos_ = 0;
  file_tli_ = timeline;
  have_segment_ = true;
  return true;
}

Result<WalReader::Step> WalReader::ReadPageHeader(bool* /*skip_continuation*/) {
  const uint64_t at = seg_start_ + pos_;
  const auto page = seg_.subspan(pos_, std::min<size_t>(page_size_, seg_.size() - pos_));
  if (page.size() < kShortPageHeaderSize || AllZero(page.first(kShortPageHeaderSize))) {
    ended_ = true;
    end_reason_ = "the page at " + Lsn(at).ToString() + " is empty";
    return Step::kEndOfWal;
  }
  Result<PageHeader> parsed = ParsePageHeader(page);
  if (!parsed.ok()) return Corrupt(at, parsed.error().message);
  const PageHeader& h = parsed.value();
  if (h.magic != kPageMagic) {
    const std::string v = MagicVersion(h.magic);
    return Corrupt(at, "page magic " + Hex(h.magic) +
                           (v.empty() ? " is not a WAL page's" : " is " + v + "'s") +
                           " (PostgreSQL 15's is 0xD110)");
  }
  if (h.info & ~kAllPageFlags) return Corrupt(at, "page flags " + Hex(h.info) + " are invalid");
  if (h.address.value() != at) {
    ended_ = true;
    end_reason_ = "the page at " + Lsn(at).ToString() + " holds WAL of " + h.address.ToString() +
                  " (left over from a recycled segment)";
    return Step::kEndOfWal;
  }
  if ((pos_ == 0) != ((h.info & kPageLongHeader) != 0)) {
    return Corrupt(at, pos_ == 0 ? "a segment's first page without a long header"
                                 : "a long page header inside a segment");
  }
  if (h.timeline > file_tli_) {
    return Corrupt(at, "page of timeline " + std::to_string(h.timeline) +
                           " in a segment of timeline " + std::to_string(file_tli_));
  }
  if (h.timeline < page_tli_) {
    return Corrupt(at, "page of timeline " + std::to_string(h.timeline) +
                           " after pages of timeline " + std::to_string(page_tli_));
  }
  page_tli_ = h.timeline;
  if (need_ > 0) {
    if (!(h.info & kPageFirstIsContRecord)) {
      if (h.info & kPageFirstIsOverwriteContRecord) {
        // The server lost the rest of that record in a crash and wrote over
        // it (XLOG_OVERWRITE_CONTRECORD follows): it never happened.
        need_ = 0;
        skipping_ = false;
        partial_.clear();
      } else {
        return Corrupt(at, "the record at " + Lsn(partial_lsn_).ToString() +
                               " continues onto this page, which does not continue it");
      }
    } else if (h.rem_len != need_) {
      return Corrupt(at, "the page continues a record with " + std::to_string(h.rem_len) +
                             " bytes, the record at " + Lsn(partial_lsn_).ToString() + " needs " +
                             std::to_string(need_));
    }
  } else if (h.info & kPageFirstIsContRecord) {
    if (started_) {
      return Corrupt(at, "the page continues a record, but none was begun");
    }
    // Reading starts inside a record begun in an earlier segment.
    if (h.rem_len == 0) return Corrupt(at, "a continuation of 0 bytes");
    skipping_ = true;
    need_ = h.rem_len;
    partial_lsn_ = at;
  }
  pos_ += h.size();
  return Step::kRecord;  // "go on"
}

Result<WalReader::Step> WalReader::Finish(std::span<const std::byte> bytes, Lsn lsn, Lsn end,
                                          Record* out) {
  const uint32_t stored = StoredCrc(bytes);
  const uint32_t computed = ComputeCrc(bytes);
  if (stored != computed) {
    return Corrupt(lsn.value(), "incorrect record checksum (stored " + Hex(stored) + ", computed " +
                                    Hex(computed) + ")");
  }
  const uint64_t prev = LoadLe<uint64_t>(bytes, 8);
  if (last_lsn_.valid() && prev != last_lsn_.value()) {
    return Corrupt(lsn.value(), "xl_prev " + Lsn(prev).ToString() +
                                    ", but the previous record is at " + last_lsn_.ToString());
  }
  Result<bool> d = DecodeRecord(bytes, lsn, end, out);
  if (!d.ok()) return d.error();
  last_lsn_ = lsn;
  started_ = true;
  if (out->rmid == kRmXlog && out->rmgr_info() == kXlogSwitch) {
    pos_ = seg_.size();  // the rest of the segment is unused
  }
  return Step::kRecord;
}

Result<WalReader::Step> WalReader::Next(Record* out) {
  if (ended_) return Step::kEndOfWal;
  if (!have_segment_) return Error{Error::Kind::kCorrupt, "no segment given"};
  while (true) {
    if (pos_ >= seg_.size()) return Step::kSegmentEnd;
    if (pos_ % page_size_ == 0) {
      bool unused = false;
      Result<Step> s = ReadPageHeader(&unused);
      if (!s.ok() || s.value() != Step::kRecord) return s;
      if (need_ > 0) {
        const size_t page_left = page_size_ - pos_ % page_size_;
        const size_t take = std::min<size_t>(need_, page_left);
        if (!skipping_) {
          const auto piece = seg_.subspan(pos_, take);
          partial_.insert(partial_.end(), piece.begin(), piece.end());
        }
        pos_ += take;
        need_ -= static_cast<uint32_t>(take);
        if (need_ > 0) continue;
        const uint64_t end = seg_start_ + pos_;
        pos_ = MaxAlign(pos_);
        if (skipping_) {
          skipping_ = false;
          started_ = true;
          continue;
        }
        return Finish(partial_, Lsn(partial_lsn_), Lsn(end), out);
      }
      if (pos_ >= seg_.size()) return Step::kSegmentEnd;
    }
    const uint64_t at = seg_start_ + pos_;
    const size_t page_left = page_size_ - pos_ % page_size_;
    if (page_left < 4) return Corrupt(at, "record start not aligned");
    const uint32_t tot_len = LoadLe<uint32_t>(seg_, pos_);
    if (tot_len == 0) {
      // Zeros where the next record would be: the server wrote no more.
      ended_ = true;
      end_reason_ = "no record at " + Lsn(at).ToString() + " (zeros)";
      return Step::kEndOfWal;
    }
    if (tot_len < kRecordHeaderSize || tot_len > kMaxRecordSize) {
      return Corrupt(at, "invalid record length " + std::to_string(tot_len));
    }
    if (page_left >= kRecordHeaderSize) {
      const uint8_t rmid = static_cast<uint8_t>(seg_[pos_ + 17]);
      if (rmid > kRmMaxId && rmid < kMinCustomRmgr) {
        return Corrupt(at, "invalid resource manager id " + std::to_string(rmid));
      }
    }
    if (tot_len <= page_left) {
      const auto bytes = seg_.subspan(pos_, tot_len);
      pos_ = MaxAlign(pos_ + tot_len);
      return Finish(bytes, Lsn(at), Lsn(at + tot_len), out);
    }
    const auto piece = seg_.subspan(pos_, page_left);
    partial_.assign(piece.begin(), piece.end());
    partial_.reserve(tot_len);
    need_ = tot_len - static_cast<uint32_t>(page_left);
    partial_lsn_ = at;
    pos_ += page_left;
  }
}

}  // namespace partwatch::wal
