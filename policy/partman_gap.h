// The pg_partman children missing between its newest child and a bucket
// partwatch is about to create.
//
// pg_partman's maintenance only ever extends its set after the newest
// child, so a child created further out leaves a gap maintenance never
// fills: partwatch creates the buckets in between too, oldest first, before
// the one it decided on.  Pure and thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "policy/key_value.h"
#include "policy/bucketer.h"

namespace partwatch::policy {

struct PartmanGapResult {
  std::vector<KeyValue> buckets;  // lower-bound keys, oldest first
  bool truncated = false;         // more than `max` were missing: the first `max`
};

// The buckets of `bucketer` from `newest_end` (the end of the last
// partition: no partition exists past it) up to, not including, the bucket
// starting at `value` (its lower-bound literal).  Empty when `value` is
// NULL, unparsable or not after newest_end.
PartmanGapResult PartmanGap(const Bucketer& bucketer, int64_t newest_end, const KeyValue& value,
                            size_t max);

}  // namespace partwatch::policy
