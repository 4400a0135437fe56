#include "policy/calendar.h"

#include <cstdio>

#include "policy/internal.h"

namespace partwatch::policy {

using internal::AsciiUpper;

bool IsLeapYear(int64_t year) {
  return FloorMod<int64_t>(year, 4) == 0 &&
         (FloorMod<int64_t>(year, 100) != 0 || FloorMod<int64_t>(year, 400) == 0);
}

int64_t DaysInMonth(int64_t year, int64_t month) {
  static constexpr int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

CivilTime CivilFromPoint(int64_t point) {
  const int64_t days = FloorDiv(point, kMicrosPerDay);
  int64_t rest = FloorMod(point, kMicrosPerDay);
  CivilTime t{CivilFromDays(days), 0, 0, 0, 0};
  t.hour = rest / kMicrosPerHour;
  rest %= kMicrosPerHour;
  t.minute = rest / kMicrosPerMinute;
  rest %= kMicrosPerMinute;
  t.second = rest / kMicrosPerSecond;
  t.micros = rest % kMicrosPerSecond;
  return t;
}

IsoWeekDate IsoWeekOfDays(int64_t days) {
  // ISO weekday 1 (Monday) .. 7; day 0 (1970-01-01) was a Thursday.
  const int64_t weekday = FloorMod<int64_t>(days + 3, 7) + 1;
  // The ISO year is the year of the week's Thursday.
  const int64_t thursday = days - weekday + 4;
  const int64_t year = CivilFromDays(thursday).year;
  return IsoWeekDate{year, (thursday - DaysFromCivil(year, 1, 1)) / 7 + 1};
}

std::optional<int64_t> MonthStart(Int128 mi) {
  const Int128 year = FloorDiv<Int128>(mi, 12);
  if (year > kMaxAbsYear || year < -kMaxAbsYear) return std::nullopt;
  const int64_t month = static_cast<int64_t>(FloorMod<Int128>(mi, 12)) + 1;
  return ToInt64(Int128{DaysFromCivil(static_cast<int64_t>(year), month, 1)} * kMicrosPerDay);
}

int64_t MonthIndexOf(int64_t point) {
  const CivilDate d = CivilFromDays(FloorDiv(point, kMicrosPerDay));
  return d.year * 12 + d.month - 1;
}

std::string ZeroPad(int64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%0*lld", width, static_cast<long long>(v));
  return buf;
}

std::string ToChar(int64_t point, std::string_view fmt) {
  const CivilTime t = CivilFromPoint(point);
  const IsoWeekDate iso = IsoWeekOfDays(FloorDiv(point, kMicrosPerDay));
  std::string out;
  auto at = [&fmt](size_t i, std::string_view pattern) {
    if (fmt.size() - i < pattern.size()) return false;
    for (size_t k = 0; k < pattern.size(); ++k) {
      if (AsciiUpper(fmt[i + k]) != pattern[k]) return false;
    }
    return true;
  };
  size_t i = 0;
  // Appends `value` zero-padded to `width` digits and skips a pattern of
  // `length` bytes.
  auto emit = [&out, &i](int64_t value, int width, size_t length) {
    out += ZeroPad(value, width);
    i += length;
  };
  while (i < fmt.size()) {
    if (fmt[i] == '"') {
      // Quoted text is copied; inside it, \" is a quote (as in to_char).
      for (++i; i < fmt.size() && fmt[i] != '"'; ++i) {
        if (fmt[i] == '\\' && i + 1 < fmt.size()) ++i;
        out += fmt[i];
      }
      ++i;
    } else if (at(i, "IYYY")) {
      emit(iso.year, 4, 4);
    } else if (at(i, "YYYY")) {
      emit(t.date.year, 4, 4);
    } else if (at(i, "HH24")) {
      emit(t.hour, 2, 4);
    } else if (at(i, "MM")) {
      emit(t.date.month, 2, 2);
    } else if (at(i, "MI")) {
      emit(t.minute, 2, 2);
    } else if (at(i, "DD")) {
      emit(t.date.day, 2, 2);
    } else if (at(i, "SS")) {
      emit(t.second, 2, 2);
    } else if (at(i, "IW")) {
      emit(iso.week, 2, 2);
    } else if (at(i, "Q")) {
      emit((t.date.month - 1) / 3 + 1, 1, 1);
    } else {
      out += fmt[i++];
    }
  }
  return out;
}

std::string Strftime(int64_t point, std::string_view fmt) {
  const CivilTime t = CivilFromPoint(point);
  const IsoWeekDate iso = IsoWeekOfDays(FloorDiv(point, kMicrosPerDay));
  std::string out;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%' || i + 1 == fmt.size()) {
      out += fmt[i];
      continue;
    }
    switch (fmt[++i]) {
      case 'Y':
        out += ZeroPad(t.date.year, 4);
        break;
      case 'm':
        out += ZeroPad(t.date.month, 2);
        break;
      case 'd':
        out += ZeroPad(t.date.day, 2);
        break;
      case 'H':
        out += ZeroPad(t.hour, 2);
        break;
      case 'M':
        out += ZeroPad(t.minute, 2);
        break;
      case 'S':
        out += ZeroPad(t.second, 2);
        break;
      case 'G':
        out += ZeroPad(iso.year, 4);
        break;
      case 'V':
        out += ZeroPad(iso.week, 2);
        break;
      case 'q':
        out += ZeroPad((t.date.month - 1) / 3 + 1, 1);
        break;
      default:
        out += fmt[i];
        break;
    }
  }
  return out;
}

}  // namespace partwatch::policy
