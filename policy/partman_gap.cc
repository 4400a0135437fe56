#include "policy/partman_gap.h"

#include <optional>

namespace partwatch::policy {

PartmanGapResult PartmanGap(const Bucketer& bucketer, int64_t newest_end, const KeyValue& value,
                            size_t max) {
  PartmanGapResult gap;
  if (value.is_null()) return gap;
  const std::optional<int64_t> created_lo = bucketer.ParsePoint(*value.text);
  if (!created_lo || *created_lo <= newest_end) return gap;
  int64_t point = newest_end;
  while (point < *created_lo) {
    if (gap.buckets.size() == max) {
      gap.truncated = true;
      break;
    }
    const std::optional<Bucket> b = bucketer.BucketOf(bucketer.FormatPoint(point));
    if (!b || b->lo >= *created_lo) break;
    gap.buckets.push_back(KeyValue::Of(b->lo_literal));
    point = b->hi;
  }
  return gap;
}

}  // namespace partwatch::policy
