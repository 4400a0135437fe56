// RANGE-partition buckets: maps one partition-key value of a table
// partitioned BY RANGE on a single column to the *bucket* (the interval of
// key values) whose partition partwatch would create for it, clipped so it
// never overlaps an existing partition; plus the names of such partitions.
//
// Pure: no I/O, no clock, no libpq, no time-zone database.  Everything here
// works on PostgreSQL *output* text from a session where partwatch has set
// DateStyle = 'ISO, YMD' and TimeZone = <zone>, and on the texts of
// pg_get_expr(relpartbound, oid) from such a session.
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
// Thread-safety: all functions are pure; a Bucketer is immutable after
// Make(), so its const methods may be called from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decoder/result.h"
#include "policy/key_value.h"

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

// One bucket: [lo, hi) in points, and the literal contents (unquoted) of
// each end that the server reads back as the same point.
struct Bucket {
  int64_t lo = 0;
  int64_t hi = 0;
  std::string lo_literal;
  std::string hi_literal;
  bool clipped = false;  // lo or hi was moved to an existing partition's bound

  friend bool operator==(const Bucket&, const Bucket&) = default;
};

// Maps values to buckets for one table.
//
// Alignment: a bucket is aligned to an origin point (same domain):
//  - months N: on the first day, 00:00, of month om + floor((mi - om) / N) * N
//    where mi = year * 12 + month - 1 of the value and om that of the origin
//    (only the origin's year and month matter; default 1970-01);
//  - days N: day od + floor((d - od) / N) * N at 00:00, where d and od are
//    floor(point / 1 day) of the value and the origin (default 1970-01-05, a
//    Monday, so 7-day buckets are ISO weeks);
//  - micros N, width N: origin + floor((p - origin) / N) * N (default 0);
// and hi = lo + the interval.
// Clipping: with prev = the largest existing hi <= the value and next = the
// smallest existing lo > the value, lo = max(lo, prev), hi = min(hi, next).
// BucketOf(b.lo_literal) returns b again for every bucket b it returned.
//
// Limits (BucketOf returns nullopt): a bound that overflows int64 or, for
// time types, falls before 0001-01-01 (e.g. the 5-day bucket of 0001-01-01
// with the default origin starts in year 0).  For kCivil timestamptz, points are civil
// times, so a value in a repeated (fall-back) hour is compared with an
// existing bound in that same hour by civil time; a partition created from
// such a misjudged bucket would overlap and the server would refuse it.
class Bucketer {
 public:
  // Errors (kind kCorrupt): ValidateInterval's message; a bound text
  // ParsePartitionBound rejects; two partitions that overlap.
  // `origin` defaults as described above.  `partition_bound_texts` are the
  // pg_get_expr texts of the table's non-default partitions, any order.
  static Result<Bucketer> Make(RangeKeyType type, RangeInterval interval,
                               std::optional<int64_t> origin,
                               std::vector<std::string> partition_bound_texts);

  // The bucket of a value (PostgreSQL output text), or nullopt when the text
  // does not parse (ParsePoint), the value lies inside an existing
  // partition, or the bucket hits a limit above.  The policy counts values
  // under bucket.lo_literal.
  std::optional<Bucket> BucketOf(std::string_view value_text) const;
  // NULL -> nullopt.
  std::optional<Bucket> BucketOf(const KeyValue& value) const;
  // The same for a point of this bucketer's domain.
  std::optional<Bucket> BucketOfPoint(int64_t point) const;

  // Buckets (aligned, clipped) that would fill the holes between existing
  // partitions: for each pair of consecutive partitions with prev.hi <
  // next.lo, the buckets covering [prev.hi, next.lo) in order.  Nothing
  // before the first or after the last partition.  At most `limit` buckets.
  std::vector<Bucket> Gaps(size_t limit) const;

  // ParseRangePoint / FormatRangePoint in this bucketer's type and domain.
  std::optional<int64_t> ParsePoint(std::string_view text) const;
  std::string FormatPoint(int64_t point) const;

  RangeKeyType type() const { return type_; }
  const RangeInterval& interval() const { return interval_; }
  TzDomain domain() const { return domain_; }
  int64_t origin() const { return origin_; }
  // Sorted by lo; non-overlapping.
  const std::vector<ExistingPartition>& partitions() const { return partitions_; }

 private:
  Bucketer(RangeKeyType type, RangeInterval interval, int64_t origin,
           std::vector<ExistingPartition> partitions);

  // The aligned [lo, hi) of a point, or nullopt on overflow.
  std::optional<std::pair<int64_t, int64_t>> Align(int64_t point) const;

  RangeKeyType type_;
  RangeInterval interval_;
  TzDomain domain_;
  int64_t origin_;
  std::vector<ExistingPartition> partitions_;
};

// The default origin for an interval (see Bucketer): 1970-01-01 for months,
// 1970-01-05 for days, 0 otherwise.
int64_t DefaultOrigin(const RangeInterval& interval);

struct InferredInterval {
  RangeInterval interval;
  int64_t origin = 0;  // the lo of the first partition with finite bounds
  friend bool operator==(const InferredInterval&, const InferredInterval&) = default;
};

// Infers the interval from the table's existing partitions: looking only at
// partitions with two finite bounds, if all are the same whole number of
// months wide with both bounds on the 1st at 00:00 -> months N; else if all
// are the same whole number of days wide with both bounds at midnight ->
// days N (timestamptz: both checks on civil times); else, for timestamp
// and timestamptz, if all have the same width in microseconds (timestamptz:
// in UTC) -> micros N; integers: the same width -> width N.  nullopt when a
// text does not parse, no partition has finite bounds, or the widths
// differ; then *error (when given) says which.
std::optional<InferredInterval> InferInterval(RangeKeyType type,
                                              const std::vector<std::string>& partition_bound_texts,
                                              std::string* error = nullptr);

// ---- Naming ----

// pg_partman's child-table name: parent + "_p" + suffix, where the suffix is
// the decimal lo for integer keys and to_char(lo, datetime_string) for time
// keys, implementing the subset YYYY, IYYY (ISO year), MM, DD, HH24, MI, SS,
// IW (ISO week, 2 digits), Q and "double-quoted text" (upper or lower case);
// every other character is copied as-is.  Like pg_partman's
// check_name_length(), when the name would pass 63 bytes the parent part is
// cut (at a UTF-8 character boundary) to fit.  The parent is not reduced:
// callers quote the name.  For kUtc timestamptz buckets the time is UTC,
// which matches pg_partman's (session-zone) names only in a UTC session.
// pg_partman 4.x defaults: yearly YYYY, quarterly YYYY"q"Q, monthly YYYY_MM,
// weekly IYYY"w"IW, daily YYYY_MM_DD, hourly YYYY_MM_DD_HH24MI; 5.x: YYYY,
// YYYYMMDD, YYYYMMDD_HH24MISS, ...
std::string PartmanName(std::string_view parent_relname, std::string_view datetime_string,
                        const Bucket& bucket, RangeKeyType type);

// Name templates for tables pg_partman does not manage.  Placeholders:
//   {parent}            the parent's unqualified name, lower-cased, every
//                       byte outside [a-z0-9_] replaced by '_';
//   {from}, {to}        the bucket's lo / hi literal reduced the same way,
//                       a leading '-' (negative integer) written 'm';
//   {from:FMT}, {to:FMT}  lo / hi formatted with FMT, strftime-like: %Y
//                       year, %m month, %d day, %H hour, %M minute, %S
//                       second, %G ISO year, %V ISO week, %q quarter, and
//                       characters in [a-z0-9_]; time keys only.
// Returns an error message naming the problem, or nullopt when valid: the
// template must contain {from or {from:...}; characters outside
// placeholders must be in [a-z0-9_]; unknown placeholders and % codes are
// named.  With `type` given, FMT on an integer key is an error too.
std::optional<std::string> ValidateRangeNameTemplate(std::string_view name_template,
                                                     std::optional<RangeKeyType> type = {});

// REQUIRES: ValidateRangeNameTemplate(name_template, type) returned nullopt.
// The result is at most 63 bytes: the {parent} parts are cut to fit (and
// only when that is not enough, the end).  A name that would start with a
// digit gets a "p" prefix, so it is a valid unquoted identifier.  Names
// are distinct for distinct buckets only when FMT is at least as fine as
// the interval; a clipped bucket may get the name of the partition it was
// clipped to (e.g. monthly %Y_%m, clipped lo on the 15th): callers must
// still expect that the name may exist.
std::string RangePartitionName(std::string_view name_template, std::string_view parent_relname,
                               const Bucket& bucket, RangeKeyType type);

// The default template: integer {parent}_p{from}; months, a multiple of 12:
// {parent}_p{from:%Y}; other months {parent}_p{from:%Y_%m}; days
// {parent}_p{from:%Y_%m_%d}; micros, whole minutes {parent}_p{from:%Y_%m_%d_%H%M};
// whole seconds {parent}_p{from:%Y_%m_%d_%H%M%S}; otherwise {parent}_p{from}.
// (The pg_partman 4.x names.)
std::string DefaultRangeNameTemplate(RangeKeyType type, const RangeInterval& interval);

}  // namespace partwatch::policy
