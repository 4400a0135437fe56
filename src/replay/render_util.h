// What the renderers (src/replay/render_*.cc) share: number and time
// formatting, the per-scenario decision counts, the crossing of a scenario.
// Internal to src/replay; pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/replay/report.h"

namespace partwatch::replay::internal {

inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr int64_t kMicrosPerDay = 86'400 * kMicrosPerSecond;

// a + b and a - b held to int64_t's range: times and counts come from the
// replayed data, which may be damaged or hostile.
int64_t SaturatingAdd(int64_t a, int64_t b);
int64_t SaturatingSub(int64_t a, int64_t b);

// 1234567 -> "1,234,567"; -1234 -> "-1,234".
std::string Thousands(int64_t n);

// A time broken down in UTC (proleptic Gregorian, no leap seconds).
struct CivilTime {
  int64_t year = 2000;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  int hour = 0;
  int minute = 0;
  int second = 0;
  int64_t micros = 0;  // 0..999999
};
CivilTime ToCivil(int64_t micros_since_2000);

// "2026-12-02 16:09:57": to the second, for tables read by people.
std::string ShortTime(int64_t micros_since_2000);
// "3 h 5 min", "42 s", "2 d 1 h": a span for people, to the second.
std::string Duration(int64_t micros);

// The crossing of the scenario with `threshold`, or nullptr if the value
// never crossed it.
const Crossing* CrossingAt(const ValueReport& value, size_t scenario);

// One DecisionCounts per threshold of `table`: TableReport::decisions when
// the engine filled it, otherwise counted from the crossings of `values`.
std::vector<DecisionCounts> ScenarioDecisions(const TableReport& table);
int64_t CountOf(const DecisionCounts& counts, DecisionKind kind);
inline constexpr DecisionKind kAllDecisionKinds[] = {
    DecisionKind::kCreate, DecisionKind::kAlert, DecisionKind::kMaxFuture, DecisionKind::kCapped};

// "threshold 100: 12 partitions would have been created, 2 alerts, 1 held
// by max_future, 0 capped".
std::string SummaryLine(int64_t threshold, const DecisionCounts& counts);

// `s` with control bytes and backslashes escaped as KeyValue::ForLog does
// (\n, \xNN), unquoted and uncut: for table and source names and warnings.
std::string Printable(std::string_view s);

// `s` with every byte sequence that is not UTF-8 (overlong forms,
// surrogates, stray continuation bytes) replaced by U+FFFD.
std::string ValidUtf8(std::string_view s);

// A value for a label: ForLog() of the value cut to at most `max_bytes` of
// its text (never inside a UTF-8 character), with "…" when cut.
std::string ValueLabel(const policy::KeyValue& value, size_t max_bytes);

}  // namespace partwatch::replay::internal
