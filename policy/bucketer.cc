#include "policy/bucketer.h"

#include <algorithm>

#include "policy/calendar.h"
#include "policy/internal.h"

namespace partwatch::policy {

using internal::Corrupt;

int64_t DefaultOrigin(const RangeInterval& interval) {
  // 1970-01-05 was a Monday: 7-day buckets are ISO weeks.
  return interval.days > 0 ? 4 * kMicrosPerDay : 0;
}

Bucketer::Bucketer(RangeKeyType type, RangeInterval interval, int64_t origin,
                   std::vector<ExistingPartition> partitions)
    : type_(type),
      interval_(interval),
      domain_(DomainFor(type, interval)),
      origin_(origin),
      partitions_(std::move(partitions)) {}

Result<Bucketer> Bucketer::Make(RangeKeyType type, RangeInterval interval,
                                std::optional<int64_t> origin,
                                std::vector<std::string> partition_bound_texts) {
  if (std::optional<std::string> error = ValidateInterval(type, interval)) {
    return Corrupt(std::move(*error));
  }
  const TzDomain domain = DomainFor(type, interval);
  std::vector<std::pair<ExistingPartition, size_t>> parsed;  // partition, index of its text
  parsed.reserve(partition_bound_texts.size());
  for (size_t i = 0; i < partition_bound_texts.size(); ++i) {
    Result<ExistingPartition> part = ParsePartitionBound(type, domain, partition_bound_texts[i]);
    if (!part) return part.error();
    parsed.emplace_back(std::move(part).value(), i);
  }
  std::sort(parsed.begin(), parsed.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first.lo, a.first.hi) < std::pair(b.first.lo, b.first.hi);
  });
  std::vector<ExistingPartition> partitions;
  partitions.reserve(parsed.size());
  for (size_t i = 0; i < parsed.size(); ++i) {
    // The clipping search relies on this; the server guarantees it.
    if (i > 0 && parsed[i - 1].first.hi > parsed[i].first.lo) {
      return Corrupt("partitions \"" + partition_bound_texts[parsed[i - 1].second] + "\" and \"" +
                     partition_bound_texts[parsed[i].second] + "\" overlap");
    }
    partitions.push_back(std::move(parsed[i].first));
  }
  return Bucketer(type, interval, origin.value_or(DefaultOrigin(interval)), std::move(partitions));
}

std::optional<std::pair<int64_t, int64_t>> Bucketer::Align(int64_t point) const {
  Int128 lo = 0, hi = 0;
  if (interval_.months > 0) {
    const Int128 mi = MonthIndexOf(point);
    const Int128 om = MonthIndexOf(origin_);
    const Int128 n = interval_.months;
    const Int128 lo_mi = om + FloorDiv<Int128>(mi - om, n) * n;
    const std::optional<int64_t> lo_point = MonthStart(lo_mi);
    const std::optional<int64_t> hi_point = MonthStart(lo_mi + n);
    if (!lo_point || !hi_point) return std::nullopt;
    return std::pair(*lo_point, *hi_point);
  }
  if (interval_.days > 0) {
    const Int128 d = FloorDiv(point, kMicrosPerDay);
    const Int128 od = FloorDiv(origin_, kMicrosPerDay);
    const Int128 n = interval_.days;
    const Int128 lo_day = od + FloorDiv<Int128>(d - od, n) * n;
    lo = lo_day * kMicrosPerDay;
    hi = (lo_day + n) * kMicrosPerDay;
  } else {
    const Int128 n = interval_.micros > 0 ? interval_.micros : interval_.width;
    lo = Int128{origin_} + FloorDiv<Int128>(Int128{point} - origin_, n) * n;
    hi = lo + n;
  }
  const std::optional<int64_t> lo64 = ToInt64(lo);
  const std::optional<int64_t> hi64 = ToInt64(hi);
  if (!lo64 || !hi64) return std::nullopt;
  return std::pair(*lo64, *hi64);
}

std::optional<Bucket> Bucketer::BucketOfPoint(int64_t point) const {
  const std::optional<std::pair<int64_t, int64_t>> aligned = Align(point);
  if (!aligned) return std::nullopt;
  Bucket b;
  b.lo = aligned->first;
  b.hi = aligned->second;
  // Partitions are sorted and disjoint: the one before `next` has the
  // largest lo <= point and, of those, the largest hi.
  const auto next =
      std::upper_bound(partitions_.begin(), partitions_.end(), point,
                       [](int64_t p, const ExistingPartition& part) { return p < part.lo; });
  const ExistingPartition* prev = next == partitions_.begin() ? nullptr : &*(next - 1);
  if (prev != nullptr && point < prev->hi) return std::nullopt;  // inside a partition
  if (prev != nullptr && prev->hi > b.lo) {
    b.lo = prev->hi;
    b.lo_literal = prev->hi_literal;
    b.clipped = true;
  }
  if (next != partitions_.end() && next->lo < b.hi) {
    b.hi = next->lo;
    b.hi_literal = next->lo_literal;
    b.clipped = true;
  }
  if (type_ != RangeKeyType::kInteger && b.lo < kMinTimePoint) return std::nullopt;
  if (b.lo_literal.empty()) b.lo_literal = FormatPoint(b.lo);
  if (b.hi_literal.empty()) b.hi_literal = FormatPoint(b.hi);
  return b;
}

std::optional<Bucket> Bucketer::BucketOf(std::string_view value_text) const {
  const std::optional<int64_t> point = ParsePoint(value_text);
  if (!point) return std::nullopt;
  return BucketOfPoint(*point);
}

std::optional<Bucket> Bucketer::BucketOf(const KeyValue& value) const {
  if (value.is_null()) return std::nullopt;
  return BucketOf(*value.text);
}

std::vector<Bucket> Bucketer::Gaps(size_t limit) const {
  std::vector<Bucket> gaps;
  for (size_t i = 1; i < partitions_.size() && gaps.size() < limit; ++i) {
    const int64_t end = partitions_[i].lo;
    int64_t point = partitions_[i - 1].hi;
    while (point < end && gaps.size() < limit) {
      std::optional<Bucket> b = BucketOfPoint(point);
      if (!b) break;  // cannot happen for a point between two partitions
      point = b->hi;  // > point, and <= end since partition i clips it
      gaps.push_back(std::move(*b));
    }
  }
  return gaps;
}

std::optional<int64_t> Bucketer::ParsePoint(std::string_view text) const {
  return ParseRangePoint(type_, domain_, text);
}

std::string Bucketer::FormatPoint(int64_t point) const {
  return FormatRangePoint(type_, domain_, point);
}

}  // namespace partwatch::policy
