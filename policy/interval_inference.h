// Interval inference: guesses a RANGE table's bucket interval and origin
// from the bounds of its existing partitions (for tables whose interval is
// neither configured nor known from pg_partman).
//
// Pure and thread-safe.  Part of policy/range.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/range_key.h"

namespace partwatch::policy {

struct InferredInterval {
  RangeInterval interval;
  int64_t origin = 0;  // the lo of the first partition with finite bounds
  friend bool operator==(const InferredInterval&, const InferredInterval&) = default;
};

// Infers the interval from the table's existing partitions (their
// pg_get_expr texts, as ParsePartitionBound reads them, any order): looking only at
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

}  // namespace partwatch::policy
