#include "policy/interval_inference.h"

#include <algorithm>
#include <limits>

#include "policy/calendar.h"
#include "policy/range_bounds.h"

namespace partwatch::policy {

std::optional<InferredInterval> InferInterval(RangeKeyType type,
                                              const std::vector<std::string>& partition_bound_texts,
                                              std::string* error) {
  auto fail = [error](std::string message) -> std::optional<InferredInterval> {
    if (error != nullptr) *error = std::move(message);
    return std::nullopt;
  };
  // The partitions with two finite bounds, sorted by lo, with their texts.
  struct Finite {
    int64_t lo, hi;
    const std::string* text;
  };
  auto finite_partitions = [&](TzDomain domain,
                               std::vector<Finite>* out) -> std::optional<std::string> {
    for (const std::string& text : partition_bound_texts) {
      Result<ExistingPartition> part = ParsePartitionBound(type, domain, text);
      if (!part) return part.error().message;
      if (part->lo != kMinValuePoint && part->hi != kMaxValuePoint) {
        out->push_back({part->lo, part->hi, &text});
      }
    }
    std::sort(out->begin(), out->end(),
              [](const Finite& a, const Finite& b) { return a.lo < b.lo; });
    return std::nullopt;
  };
  // True when `width_of` gives every partition the same positive width.
  auto same_width = [](const std::vector<Finite>& parts, auto width_of) {
    const std::optional<Int128> first = width_of(parts[0]);
    if (!first || *first <= 0 || *first > std::numeric_limits<int64_t>::max()) return false;
    for (const Finite& p : parts) {
      if (width_of(p) != first) return false;
    }
    return true;
  };
  // Names the first two partitions whose widths in micros (or units) differ.
  auto differ = [](const std::vector<Finite>& parts) {
    for (const Finite& p : parts) {
      if (Int128{p.hi} - p.lo != Int128{parts[0].hi} - parts[0].lo) {
        return "partitions have different widths: \"" + *parts[0].text + "\" and \"" + *p.text +
               "\"";
      }
    }
    return std::string("partitions do not share a common interval");
  };

  std::vector<Finite> civil;
  if (std::optional<std::string> e = finite_partitions(TzDomain::kCivil, &civil)) return fail(*e);
  if (civil.empty()) return fail("no partition with finite bounds to infer an interval from");
  const int64_t first_lo = civil[0].lo;

  auto micros_width = [](const Finite& p) -> std::optional<Int128> { return Int128{p.hi} - p.lo; };
  if (type == RangeKeyType::kInteger) {
    if (!same_width(civil, micros_width)) return fail(differ(civil));
    return InferredInterval{RangeInterval{.width = civil[0].hi - civil[0].lo}, first_lo};
  }

  auto months_width = [](const Finite& p) -> std::optional<Int128> {
    if (FloorMod(p.lo, kMicrosPerDay) != 0 || FloorMod(p.hi, kMicrosPerDay) != 0) return {};
    if (CivilFromDays(FloorDiv(p.lo, kMicrosPerDay)).day != 1) return {};
    if (CivilFromDays(FloorDiv(p.hi, kMicrosPerDay)).day != 1) return {};
    return Int128{MonthIndexOf(p.hi)} - MonthIndexOf(p.lo);
  };
  if (same_width(civil, months_width)) {
    return InferredInterval{RangeInterval{.months = static_cast<int64_t>(*months_width(civil[0]))},
                            first_lo};
  }
  auto days_width = [](const Finite& p) -> std::optional<Int128> {
    if (FloorMod(p.lo, kMicrosPerDay) != 0 || FloorMod(p.hi, kMicrosPerDay) != 0) return {};
    return (Int128{p.hi} - p.lo) / kMicrosPerDay;
  };
  if (same_width(civil, days_width)) {
    return InferredInterval{RangeInterval{.days = static_cast<int64_t>(*days_width(civil[0]))},
                            first_lo};
  }
  if (type == RangeKeyType::kDate) return fail(differ(civil));

  // Fixed widths: timestamptz in UTC, where a DST day is 23 or 25 hours.
  std::vector<Finite> fixed;
  if (type == RangeKeyType::kTimestampTz) {
    if (std::optional<std::string> e = finite_partitions(TzDomain::kUtc, &fixed)) return fail(*e);
    if (fixed.empty()) return fail("no partition with finite bounds to infer an interval from");
  } else {
    fixed = civil;
  }
  if (!same_width(fixed, micros_width)) return fail(differ(fixed));
  return InferredInterval{RangeInterval{.micros = fixed[0].hi - fixed[0].lo}, fixed[0].lo};
}

}  // namespace partwatch::policy
