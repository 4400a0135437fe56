// Calendar helpers for the RANGE and pg_partman integration tests: the
// expected partition names and bounds for dates computed from the server's
// current_date.  std::chrono's civil calendar, independent of policy/range.
#pragma once

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace partwatch::testing {

// "2026-11-26" -> that day.
inline std::chrono::sys_days ParseDay(const std::string& iso) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (std::sscanf(iso.c_str(), "%d-%u-%u", &y, &m, &d) != 3) {
    throw std::runtime_error("not a date: " + iso);
  }
  return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
}

// "2026-11-26"
inline std::string Iso(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// "2026_11_26": the daily name suffix (pg_partman 4.x's YYYY_MM_DD).
inline std::string Underscored(std::chrono::sys_days day) {
  std::string s = Iso(day);
  for (char& c : s) {
    if (c == '-') c = '_';
  }
  return s;
}

// The first day of the month `k` months after the month of `day`.
inline std::chrono::sys_days MonthStart(std::chrono::sys_days day, int k) {
  const std::chrono::year_month_day ymd{day};
  const std::chrono::year_month ym =
      std::chrono::year_month{ymd.year(), ymd.month()} + std::chrono::months{k};
  return std::chrono::sys_days{ym / std::chrono::day{1}};
}

inline int YearOf(std::chrono::sys_days day) {
  return static_cast<int>(std::chrono::year_month_day{day}.year());
}

// pg_get_expr's text for a date range.
inline std::string DateBound(std::chrono::sys_days lo, std::chrono::sys_days hi) {
  return "FOR VALUES FROM ('" + Iso(lo) + "') TO ('" + Iso(hi) + "')";
}

}  // namespace partwatch::testing
