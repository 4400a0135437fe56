// The capture format: how `run` records the replication stream it consumes
// (src/capture/writer.h) so `replay` can read it back without a database
// (src/replay/capture_source.h).  Full description: docs/capture-format.md.
//
// A segment file is the 8-byte magic "PWCAP1\r\n" followed by records:
//
//   checksum (4) | length (4) | type (1) | header check (4) | payload (length)
//
// integers big-endian; checksums are the low 32 bits of XXH3-64 (xxHash).
// The header check covers length and type, so a damaged length is told
// apart from a torn tail before it is trusted; the checksum covers
// everything after it, so a flipped bit anywhere in a record is caught.  Payloads by type:
//   kHeader        JSON: format, system_identifier, timeline, slot,
//                  start_lsn, created, tables (the first record of a segment)
//   kSessionStart  start LSN (8): `run` (re)started streaming from there
//   kMessage       wal_start (8) | wal_end (8) | the pgoutput message bytes
//   kIdle          wal_end (8): the stream was idle (read, not written)
//   kTables        JSON: the table descriptions changed (a catalog refresh)
//
// Pure: bytes in, records out; no I/O.  Every length is checked against
// what is left (`n > remaining`) and against kMaxRecordLength before any
// allocation.  Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "decoder/lsn.h"

namespace partwatch::capture {

inline constexpr std::string_view kMagic{"PWCAP1\r\n", 8};
inline constexpr size_t kRecordHeaderSize = 13;
// pgoutput messages are below 1 GiB (PostgreSQL's MaxAllocSize); a larger
// length can only be damage.
inline constexpr uint32_t kMaxRecordLength = (1u << 30) + 64;

enum class RecordType : uint8_t {
  kHeader = 1,
  kSessionStart = 2,
  kMessage = 3,
  kIdle = 4,
  kTables = 5,
};

// "header", "session start", ... ("unknown" for anything else).
const char* RecordTypeName(uint8_t type);

// Appends one framed record to `*out`.
void AppendRecord(RecordType type, std::span<const std::byte> payload, std::string* out);
void AppendRecord(RecordType type, std::string_view payload, std::string* out);
// A kMessage record.
void AppendMessage(Lsn wal_start, Lsn wal_end, std::span<const std::byte> message,
                   std::string* out);
// A kSessionStart or kIdle record.
void AppendLsnRecord(RecordType type, Lsn lsn, std::string* out);

struct Record {
  uint8_t type = 0;
  std::span<const std::byte> payload;  // points into the reader's buffer
  size_t offset = 0;                   // of the record's first byte in the buffer
  size_t size = 0;                     // framed size
};

// A kMessage payload's parts.  False when it is shorter than 16 bytes.
bool ParseMessagePayload(std::span<const std::byte> payload, Lsn* wal_start, Lsn* wal_end,
                         std::span<const std::byte>* message);
// A kSessionStart or kIdle payload: exactly 8 bytes.
bool ParseLsnPayload(std::span<const std::byte> payload, Lsn* lsn);

// Reads records from a buffer holding a contiguous part of a segment after
// its magic.  `at_end`: the buffer reaches the end of the file, so a
// record cut short is a torn tail rather than one still to be read.
class RecordReader {
 public:
  enum class Status {
    kRecord,    // *record filled
    kNeedMore,  // the next record is incomplete and more bytes may come
    kEnd,       // the buffer ended exactly after a record
    kTorn,      // at_end and the last record is cut short (or zero filled)
    kCorrupt,   // a bad length or checksum; error() says which
  };
  RecordReader(std::span<const std::byte> data, bool at_end) : data_(data), at_end_(at_end) {}

  Status Next(Record* record);
  size_t position() const { return pos_; }  // bytes consumed
  const std::string& error() const { return error_; }

 private:
  std::span<const std::byte> data_;
  bool at_end_;
  size_t pos_ = 0;
  std::string error_;
};

// True when the bytes start with kMagic.
bool HasMagic(std::span<const std::byte> data);

}  // namespace partwatch::capture
