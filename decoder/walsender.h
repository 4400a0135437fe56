// The streaming-replication framing around logical messages: what arrives in
// CopyData from the walsender (XLogData 'w', Primary keepalive 'k') and what
// partwatch sends back (Standby status update 'r').  Formats: PostgreSQL's
// "Streaming Replication Protocol", summarised in docs/protocol.md.
//
// Pure: no I/O.  Bounds-checked like decoder/pgoutput.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include "decoder/lsn.h"
#include "decoder/result.h"

namespace partwatch::walsender {

struct XLogData {  // 'w'
  Lsn wal_start;
  Lsn wal_end;
  int64_t send_time = 0;               // microseconds since 2000-01-01
  std::span<const std::byte> payload;  // points into the input buffer
};

struct PrimaryKeepalive {  // 'k'
  Lsn wal_end;
  int64_t send_time = 0;
  bool reply_requested = false;
};

using CopyMessage = std::variant<XLogData, PrimaryKeepalive>;

// Parses one CopyData payload from the walsender.  REQUIRES: `data` outlives
// the returned XLogData::payload.
Result<CopyMessage> DecodeCopyMessage(std::span<const std::byte> data);

struct StandbyStatusUpdate {  // 'r'
  Lsn written;
  Lsn flushed;
  Lsn applied;
  int64_t send_time = 0;
  bool reply_requested = false;
};

// Encodes a standby status update (34 bytes, 'r' first).
std::string EncodeStandbyStatusUpdate(const StandbyStatusUpdate& update);

// Microseconds since the PostgreSQL epoch (2000-01-01 00:00:00 UTC) for a
// Unix time in microseconds.
constexpr int64_t kPostgresEpochOffsetMicros = 946684800LL * 1000000LL;
inline int64_t UnixMicrosToPostgres(int64_t unix_micros) {
  return unix_micros - kPostgresEpochOffsetMicros;
}

}  // namespace partwatch::walsender
