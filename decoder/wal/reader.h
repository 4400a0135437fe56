// WalReader: PostgreSQL 15 WAL segments in, records out.
//
// The caller hands over whole segments in order (BeginSegment), then calls
// Next until it says the segment is used up.  The reader checks each page
// header (magic 0xD110, flags, the page's own address, timeline, and on the
// first page of a segment the system identifier, segment and page size),
// joins records continued across pages and segments, checks every record's
// xl_prev and CRC-32C, and decodes its block references (record.h).
//
// Where the WAL ends it says so (kEndOfWal, with end_reason()): an all-zero
// page or record header, or a page left over from a recycled segment.  The
// caller decides whether that is the normal end (the last segment) or a
// hole (more segments follow).  Anything else that does not check out is an
// Error (kCorrupt) naming the LSN: a bad magic, a wrong CRC, an xl_prev that
// does not point at the previous record, a length that does not fit.
//
// The reader copies only records that cross a page boundary; the spans of a
// Record stay valid until the next call to Next or BeginSegment, and point
// into the segment given (which must stay alive that long) or into the
// reader.  Pure: no I/O.  Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decoder/lsn.h"
#include "decoder/result.h"
#include "decoder/wal/record.h"

namespace partwatch::wal {

inline constexpr uint16_t kPageMagic = 0xD110;  // XLOG_PAGE_MAGIC of PostgreSQL 15
inline constexpr uint16_t kPageFirstIsContRecord = 0x0001;
inline constexpr uint16_t kPageLongHeader = 0x0002;
inline constexpr uint16_t kPageBkpRemovable = 0x0004;
inline constexpr uint16_t kPageFirstIsOverwriteContRecord = 0x0008;
inline constexpr size_t kShortPageHeaderSize = 24;  // MAXALIGN(SizeOfXLogShortPHD)
inline constexpr size_t kLongPageHeaderSize = 40;   // MAXALIGN(SizeOfXLogLongPHD)

struct PageHeader {
  uint16_t magic = 0;
  uint16_t info = 0;
  uint32_t timeline = 0;
  Lsn address;
  uint32_t rem_len = 0;
  // Long headers (the first page of a segment) only:
  uint64_t system_identifier = 0;
  uint32_t segment_size = 0;
  uint32_t page_size = 0;
  size_t size() const {
    return (info & kPageLongHeader) ? kLongPageHeaderSize : kShortPageHeaderSize;
  }
};

// Parses a page header without judging it; kTruncated when `bytes` is too
// short for the header its flags announce.
Result<PageHeader> ParsePageHeader(std::span<const std::byte> bytes);

// For a message: "PostgreSQL 14" for 14's magic 0xD10D, and so on; "" for
// values that are no release's.
std::string MagicVersion(uint16_t magic);

class WalReader {
 public:
  enum class Step { kRecord, kSegmentEnd, kEndOfWal };

  // The next segment, `segno` on timeline `timeline` (from the file name).
  // The first call learns the system identifier, segment size and page
  // size from the long header; later ones must match, and must be the
  // segment after the previous one.  Errors name the segment's LSN.
  Result<bool> BeginSegment(std::span<const std::byte> segment, uint32_t timeline, uint64_t segno);

  // The next record into `*out` (kRecord); kSegmentEnd when the segment is
  // used up (a record may be continued by the next one); kEndOfWal when the
  // WAL ends inside it.  After kEndOfWal or an error, only BeginSegment may
  // be called (and reading does not resume).
  Result<Step> Next(Record* out);

  const std::string& end_reason() const { return end_reason_; }
  // Where the next record would start (for progress).
  Lsn position() const { return Lsn(seg_start_ + pos_); }
  uint64_t system_identifier() const { return sysid_; }
  uint32_t segment_size() const { return seg_size_; }
  // The position of the last record returned, and whether a record is
  // waiting for its continuation in the next segment.
  Lsn last_record() const { return last_lsn_; }
  bool in_partial_record() const { return need_ > 0; }

 private:
  Result<Step> ReadPageHeader(bool* skip_continuation);
  Result<Step> Finish(std::span<const std::byte> bytes, Lsn lsn, Lsn end, Record* out);
  Error Corrupt(uint64_t at, const std::string& what) const;

  std::span<const std::byte> seg_;
  uint64_t seg_start_ = 0;
  size_t pos_ = 0;
  bool have_segment_ = false;
  uint64_t segno_ = 0;
  uint32_t file_tli_ = 0;
  uint32_t page_tli_ = 0;
  uint64_t sysid_ = 0;
  uint32_t seg_size_ = 0;
  uint32_t page_size_ = 0;
  bool started_ = false;  // a record was read (or skipped past)
  bool ended_ = false;
  std::string end_reason_;
  Lsn last_lsn_;
  // A record being joined across pages: its bytes so far and how many more.
  std::vector<std::byte> partial_;
  uint32_t need_ = 0;
  uint64_t partial_lsn_ = 0;
  bool skipping_ = false;  // joining a record begun before the first segment: discard
};

}  // namespace partwatch::wal
