// Bucketer: maps one partition-key value of a table partitioned BY RANGE on
// a single column to the *bucket* (the interval of key values) whose
// partition partwatch would create for it, clipped so it never overlaps an
// existing partition.  Values and bounds are texts as policy/range_bounds.h
// reads them, mapped to points as policy/range_key.h describes.
//
// Pure: no I/O, no clock, no time-zone database.  Thread-safety: a
// Bucketer is immutable after Make(), so its const methods may be called
// from any number of threads.  Part of policy/range.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decoder/result.h"
#include "policy/key_value.h"
#include "policy/range_bounds.h"
#include "policy/range_key.h"

namespace partwatch::policy {

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

}  // namespace partwatch::policy
