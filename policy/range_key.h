// The vocabulary of RANGE partitioning on one column: the key types
// partwatch buckets, the interval (width) of a bucket, and the two ways a
// timestamptz value maps to a point.
//
// Points.  Every value maps to an int64 "point":
//  - smallint/integer/bigint: the value itself;
//  - date: microseconds from 1970-01-01 00:00 to that date's midnight;
//  - timestamp: civil microseconds since 1970-01-01 00:00;
//  - timestamptz: in the *civil* domain (calendar intervals: months, days)
//    the local civil time's microseconds, the UTC offset ignored, so a
//    23- or 25-hour DST day is still one daily bucket; in the *UTC* domain
//    (fixed micros intervals) civil time minus the offset.
// Time points run from 0001-01-01 00:00 (there is no year 0 and BC is not
// accepted) to INT64_MAX (in year 294247; larger years overflow and are
// rejected).  Years above 9999 are fine.
//
// Pure and thread-safe.  Part of policy/range.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace partwatch::policy {

enum class RangeKeyType { kInteger, kDate, kTimestamp, kTimestampTz };

// "integer", "date", "timestamp" or "timestamptz", for messages.
std::string_view RangeKeyTypeName(RangeKeyType type);

// The width of a bucket.  Valid intervals (ValidateInterval) have exactly
// one non-zero field, and it is positive.
struct RangeInterval {
  int64_t months = 0;  // calendar months (1 month, 3 = quarter, 12 = year)
  int64_t days = 0;    // calendar days (7 = week)
  int64_t micros = 0;  // fixed width in microseconds (hours, minutes)
  int64_t width = 0;   // integer keys only

  bool calendar() const { return months > 0 || days > 0; }
  friend bool operator==(const RangeInterval&, const RangeInterval&) = default;
};

// Returns an error message naming the problem, or nullopt when valid:
// exactly one positive field; integer keys take only `width` and only
// integer keys take it; date keys take months or days, not micros.
std::optional<std::string> ValidateInterval(RangeKeyType type, const RangeInterval& interval);

// How timestamptz text maps to points (other types have only one mapping,
// and ignore the domain).
enum class TzDomain {
  kCivil,  // local civil time; a literal without an offset is accepted
  kUtc,    // civil time minus offset; the offset is required
};

// The domain a Bucketer with this interval uses: kUtc for timestamptz with
// a fixed (micros) interval, kCivil otherwise.
TzDomain DomainFor(RangeKeyType type, const RangeInterval& interval);

}  // namespace partwatch::policy
