// DatumText: the text PostgreSQL 15's output functions print for the key
// types partwatch reads from WAL, with DateStyle = 'ISO, YMD'
// (utils/adt/datetime.c EncodeDateOnly / EncodeDateTime / EncodeTimezone,
// date_out, timestamp_out, timestamptz_out, int2out..int8out, uuid_out,
// boolout).
//
// Stored forms (little-endian, as a Datum's bytes): int2, int4, int8 in
// their attlen; date an int4 of days since 2000-01-01; timestamp and
// timestamptz an int8 of microseconds since 2000-01-01 00:00:00 (UTC for
// timestamptz); bool one byte (nonzero is true); uuid 16 raw bytes; text,
// varchar and bpchar the varlena payload (bpchar keeps its padding, as
// bpcharout prints it).
//
// Text: dates "YYYY-MM-DD", timestamps "YYYY-MM-DD HH:MM:SS[.ffffff]" with
// the fraction's trailing zeros dropped, the year zero-padded to 4 digits and
// longer when it is, " BC" appended for years <= 0 (1 BC is year 0);
// timestamptz in the session time zone followed by its offset: "+00",
// "+05:30", "-03:30", "+00:19:32" (seconds only when there are some); the
// largest and smallest values are "infinity" and "-infinity".
//
// Pure: no time zone database, no clock; `utc_offset` is the caller's:
// given a UTC instant (microseconds since 2000-01-01), the session time
// zone's offset in seconds east of UTC.  It is called once, for finite
// timestamptz values only.  Thread-safe if `utc_offset` is.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "decoder/result.h"

namespace partwatch::wal {

enum class KeyType {
  kText,  // text, varchar, bpchar: the bytes as they are; bpchar keeps its padding
  kInt2,
  kInt4,
  kInt8,
  kDate,
  kTimestamp,
  kTimestamptz,
  kUuid,
  kBool,
};

// Errors (kCorrupt): a value whose size is not its type's; a date outside
// PostgreSQL's range (4714-11-24 BC .. 5874897-12-31) that is not an
// infinity; a timestamp whose day falls outside what timestamp_out accepts
// ("timestamp out of range").
Result<std::string> DatumText(KeyType type, std::span<const std::byte> value,
                              const std::function<int32_t(int64_t)>& utc_offset);

}  // namespace partwatch::wal
