#include "policy/range_key.h"

#include <utility>

namespace partwatch::policy {

std::string_view RangeKeyTypeName(RangeKeyType type) {
  switch (type) {
    case RangeKeyType::kInteger:
      return "integer";
    case RangeKeyType::kDate:
      return "date";
    case RangeKeyType::kTimestamp:
      return "timestamp";
    case RangeKeyType::kTimestampTz:
      return "timestamptz";
  }
  return "?";
}

std::optional<std::string> ValidateInterval(RangeKeyType type, const RangeInterval& interval) {
  const std::pair<std::string_view, int64_t> fields[] = {{"months", interval.months},
                                                         {"days", interval.days},
                                                         {"micros", interval.micros},
                                                         {"width", interval.width}};
  std::string_view set;
  int count = 0;
  for (const auto& [name, value] : fields) {
    if (value < 0) return "range interval: " + std::string(name) + " must be positive";
    if (value > 0) {
      set = name;
      ++count;
    }
  }
  if (count != 1) {
    return "range interval: exactly one of months, days, micros, width must be set (" +
           std::to_string(count) + " are)";
  }
  const std::string key = " for a " + std::string(RangeKeyTypeName(type)) + " key";
  if (type == RangeKeyType::kInteger && set != "width") {
    return "range interval: " + std::string(set) + key + " (integer keys need a width)";
  }
  if (type != RangeKeyType::kInteger && set == "width") {
    return "range interval: width" + key + " (width is for integer keys only)";
  }
  if (type == RangeKeyType::kDate && set == "micros") {
    return "range interval: a fixed sub-day width" + key + " (dates need months or days)";
  }
  return std::nullopt;
}

TzDomain DomainFor(RangeKeyType type, const RangeInterval& interval) {
  return type == RangeKeyType::kTimestampTz && interval.micros > 0 ? TzDomain::kUtc
                                                                   : TzDomain::kCivil;
}

}  // namespace partwatch::policy
