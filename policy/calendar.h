// Calendar arithmetic on time points: int64 microseconds since 1970-01-01
// 00:00 in the proleptic Gregorian calendar, with no time zones (a
// timestamptz point in the civil domain is simply its local civil time;
// see policy/range_key.h).  Civil dates, month indexes, ISO week dates, and
// two formatters: a subset of PostgreSQL's to_char() and a strftime-like
// subset for name templates.
//
// Pure and thread-safe.  Used by the RANGE files (range_bounds.cc,
// bucketer.cc, interval_inference.cc, range_naming.cc); not part of
// policy/range.h.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace partwatch::policy {

// 128-bit intermediates make every alignment formula overflow-free; results
// are range-checked back into int64 (ToInt64).  __extension__ keeps
// -Wpedantic quiet about the GCC/Clang type.
__extension__ using Int128 = __int128;

inline constexpr int64_t kMicrosPerSecond = 1'000'000;
inline constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

// Years beyond this are far outside int64 microseconds either way; the limit
// only keeps the day arithmetic below in range.
inline constexpr int64_t kMaxAbsYear = 1'000'000;

// Division rounding towards negative infinity, and the matching remainder
// (in [0, b)): FloorDiv(-1, 7) == -1, FloorMod(-1, 7) == 6.
template <typename T>
constexpr T FloorDiv(T a, T b) {  // REQUIRES: b > 0
  const T q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}

template <typename T>
constexpr T FloorMod(T a, T b) {  // REQUIRES: b > 0
  return a - FloorDiv(a, b) * b;
}

// `v` when it fits in int64, nullopt otherwise.
inline std::optional<int64_t> ToInt64(Int128 v) {
  if (v < std::numeric_limits<int64_t>::min() || v > std::numeric_limits<int64_t>::max()) {
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian,
// day 0 = 1970-01-01), http://howardhinnant.github.io/date_algorithms.html.
// REQUIRES: |year| <= kMaxAbsYear-ish (no overflow in int64).
constexpr int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const int64_t era = FloorDiv<int64_t>(year, 400);
  const int64_t yoe = year - era * 400;                                               // [0, 399]
  const int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;                          // [0, 146096]
  return era * 146097 + doe - 719468;
}

struct CivilDate {
  int64_t year;
  int64_t month;  // 1..12
  int64_t day;    // 1..31
};

// The inverse of DaysFromCivil.
constexpr CivilDate CivilFromDays(int64_t days) {
  days += 719468;
  const int64_t era = FloorDiv<int64_t>(days, 146097);
  const int64_t doe = days - era * 146097;                                    // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// The smallest time point: 0001-01-01 00:00 (there is no year 0, and BC
// literals are not produced).
inline constexpr int64_t kMinTimePoint = DaysFromCivil(1, 1, 1) * kMicrosPerDay;
static_assert(kMinTimePoint == -719162 * kMicrosPerDay);

// Gregorian leap years (divisible by 4, centuries only when divisible by 400).
bool IsLeapYear(int64_t year);

// 28..31.  REQUIRES: 1 <= month <= 12.
int64_t DaysInMonth(int64_t year, int64_t month);

struct CivilTime {
  CivilDate date;
  int64_t hour, minute, second, micros;
};

// The civil date and time of a point (points before 1970 floor down: -1 is
// 1969-12-31 23:59:59.999999).
CivilTime CivilFromPoint(int64_t point);

struct IsoWeekDate {
  int64_t year;  // the ISO week-numbering year: the year of the week's Thursday
  int64_t week;  // 1..53
};

// The ISO 8601 week date of a day (days since 1970-01-01): weeks start on
// Monday, and week 1 is the one containing the year's first Thursday.
IsoWeekDate IsoWeekOfDays(int64_t days);

// Month indexes count months from year 0: year * 12 + month - 1.
// The first instant (00:00) of month index `mi`, or nullopt when its year
// is beyond kMaxAbsYear or the point overflows int64.
std::optional<int64_t> MonthStart(Int128 mi);
// The month index of the date of a point.
int64_t MonthIndexOf(int64_t point);

// `v` in decimal, zero-padded to at least `width` digits (a '-' counts
// towards the width, as in printf's %0*lld).
std::string ZeroPad(int64_t v, int width);

// PostgreSQL's to_char(point, fmt) for the subset YYYY, IYYY (ISO year), MM,
// DD, HH24, MI, SS, IW (ISO week, 2 digits), Q and "double-quoted text" (\"
// inside is a quote), patterns matched in upper or lower case; every other
// character is copied as-is.  Years have at least 4 digits.
std::string ToChar(int64_t point, std::string_view fmt);

// The % codes Strftime knows: %Y year, %m month, %d day, %H hour, %M minute,
// %S second, %G ISO year, %V ISO week, %q quarter.
inline constexpr std::string_view kStrftimeCodes = "YmdHMSGVq";

// A strftime-like rendering of a point: each %c with c in kStrftimeCodes is
// replaced (zero-padded: 4 year digits, 2 for the others, 1 for the
// quarter); every other character is copied.  REQUIRES: every '%' is
// followed by a code in kStrftimeCodes.
std::string Strftime(int64_t point, std::string_view fmt);

}  // namespace partwatch::policy
