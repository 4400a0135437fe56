// Partition-bound literals of RANGE tables: parsing PostgreSQL output text
// to points and formatting points back as literals, per key type and
// domain (policy/range_key.h), and parsing pg_get_expr(relpartbound, oid)
// texts into existing partitions.
//
// Everything here works on PostgreSQL *output* text from a session where
// partwatch has set DateStyle = 'ISO, YMD' and TimeZone = <zone>, and on
// the texts of pg_get_expr(relpartbound, oid) from such a session.
//
// Pure and thread-safe.  Part of policy/range.h.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "decoder/result.h"
#include "policy/range_key.h"

namespace partwatch::policy {

// Parses PostgreSQL output text (DateStyle ISO):
//  - integer: -?[0-9]+ within int64;
//  - date: YYYY-MM-DD (4 or more year digits);
//  - timestamp: YYYY-MM-DD HH:MM:SS, optionally .f with 1-6 digits;
//  - timestamptz: as timestamp plus an offset +HH, +HH:MM or +HH:MM:SS (or
//    '-'), hours at most 15; the offset may be omitted only in kCivil.
// Returns nullopt for anything else: 'infinity', '-infinity', " BC", year 0,
// an impossible date or time, surrounding spaces, trailing text, overflow,
// and a point before 0001-01-01 00:00 (possible in kUtc with a positive
// offset).
std::optional<int64_t> ParseRangePoint(RangeKeyType type, TzDomain domain, std::string_view text);

// The canonical literal contents (unquoted) of a point, read back by
// ParseRangePoint and by the server as the same point: integer: decimal;
// date: YYYY-MM-DD; timestamp and kCivil timestamptz: YYYY-MM-DD HH:MM:SS,
// plus .ffffff with trailing zeros trimmed when the microseconds are not
// zero; kUtc timestamptz: the same plus "+00".  Years have at least 4
// digits.
// REQUIRES: for time types, point >= the point of 0001-01-01 00:00 (what
// ParseRangePoint returns); for dates, a midnight (the time is dropped).
std::string FormatRangePoint(RangeKeyType type, TzDomain domain, int64_t point);

// Sentinels for unbounded partition bounds.
inline constexpr int64_t kMinValuePoint = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kMaxValuePoint = std::numeric_limits<int64_t>::max();

// One existing (non-default) partition, [lo, hi) in points.
struct ExistingPartition {
  int64_t lo = 0;  // kMinValuePoint for MINVALUE (and '-infinity')
  int64_t hi = 0;  // kMaxValuePoint for MAXVALUE (and 'infinity')
  // The literal contents a bucket clipped to this bound uses: the text as
  // the server printed it for kCivil timestamptz (its offset tells the
  // server which of two repeated DST hours is meant), FormatRangePoint
  // otherwise.  Empty for MINVALUE/MAXVALUE/infinite bounds.
  std::string lo_literal;
  std::string hi_literal;

  friend bool operator==(const ExistingPartition&, const ExistingPartition&) = default;
};

// Parses one pg_get_expr(relpartbound, oid) text:
//   FOR VALUES FROM (<x>) TO (<y>)
// where <x>, <y> are MINVALUE, MAXVALUE, a number, or a single-quoted
// literal ('' escapes a quote), a number or literal optionally followed by
// ::typename.  Literals go through ParseRangePoint, except that 'infinity'
// and '-infinity' (allowed for dates and timestamps) mean the same as
// MAXVALUE and MINVALUE for every finite value and map to the sentinels.
// Errors (kind kCorrupt, message naming the text): DEFAULT, FOR VALUES IN /
// WITH, multi-column bounds, unparsable literals, lo >= hi.
Result<ExistingPartition> ParsePartitionBound(RangeKeyType type, TzDomain domain,
                                              std::string_view bound_text);

}  // namespace partwatch::policy
