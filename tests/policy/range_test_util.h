// Helpers shared by the RANGE unit tests (calendar_test.cc,
// range_bounds_test.cc, bucketer_test.cc, bucketer_clip_test.cc,
// interval_inference_test.cc, range_naming_test.cc):
// short names for key types, domains, units and intervals, a std::chrono
// oracle for civil points, and bound-text and Bucketer builders.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/range.h"

namespace partwatch::policy {

inline constexpr RangeKeyType kInt = RangeKeyType::kInteger;
inline constexpr RangeKeyType kDate = RangeKeyType::kDate;
inline constexpr RangeKeyType kTs = RangeKeyType::kTimestamp;
inline constexpr RangeKeyType kTsTz = RangeKeyType::kTimestampTz;
inline constexpr TzDomain kCivil = TzDomain::kCivil;
inline constexpr TzDomain kUtc = TzDomain::kUtc;

inline constexpr int64_t kSecond = 1'000'000;
inline constexpr int64_t kMinute = 60 * kSecond;
inline constexpr int64_t kHour = 60 * kMinute;
inline constexpr int64_t kDay = 24 * kHour;
inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

inline constexpr RangeInterval Days(int64_t n) { return RangeInterval{.days = n}; }
inline constexpr RangeInterval Months(int64_t n) { return RangeInterval{.months = n}; }
inline constexpr RangeInterval Micros(int64_t n) { return RangeInterval{.micros = n}; }
inline constexpr RangeInterval Width(int64_t n) { return RangeInterval{.width = n}; }

// The oracle for civil points: std::chrono's calendar (no time zones), an
// implementation independent of policy/calendar.cc's.
inline int64_t At(int y, unsigned m, unsigned d, int64_t hh = 0, int64_t mi = 0, int64_t ss = 0,
                  int64_t us = 0) {
  const std::chrono::sys_days days{std::chrono::year{y} / std::chrono::month{m} /
                                   std::chrono::day{d}};
  return days.time_since_epoch().count() * kDay + hh * kHour + mi * kMinute + ss * kSecond + us;
}

inline std::string Bounds(const std::string& from, const std::string& to) {
  return "FOR VALUES FROM (" + from + ") TO (" + to + ")";
}

// "FOR VALUES FROM ('a') TO ('b')".
inline std::string Quoted(const std::string& from, const std::string& to) {
  return Bounds("'" + from + "'", "'" + to + "'");
}

inline Bucketer MakeBucketer(RangeKeyType type, RangeInterval interval,
                             std::vector<std::string> bounds = {},
                             std::optional<int64_t> origin = std::nullopt) {
  Result<Bucketer> b = Bucketer::Make(type, interval, origin, std::move(bounds));
  if (!b.ok()) ADD_FAILURE() << b.error().message;
  return std::move(b).value();  // throws (and fails the test) when !ok
}

inline Bucket B(int64_t lo, int64_t hi, std::string lo_literal, std::string hi_literal,
                bool clipped = false) {
  return Bucket{lo, hi, std::move(lo_literal), std::move(hi_literal), clipped};
}

}  // namespace partwatch::policy
