#include "policy/calendar.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

#include "tests/policy/range_test_util.h"

namespace partwatch::policy {
namespace {

// The expected values are calendar facts (and std::chrono's calendar, via
// At()), not this implementation's output.

TEST(CalendarTest, FloorDivAndFloorModRoundTowardsNegativeInfinity) {
  EXPECT_EQ(FloorDiv<int64_t>(7, 7), 1);
  EXPECT_EQ(FloorDiv<int64_t>(6, 7), 0);
  EXPECT_EQ(FloorDiv<int64_t>(0, 7), 0);
  EXPECT_EQ(FloorDiv<int64_t>(-1, 7), -1);
  EXPECT_EQ(FloorDiv<int64_t>(-7, 7), -1);
  EXPECT_EQ(FloorDiv<int64_t>(-8, 7), -2);
  EXPECT_EQ(FloorMod<int64_t>(-1, 7), 6);
  EXPECT_EQ(FloorMod<int64_t>(-7, 7), 0);
  EXPECT_EQ(FloorMod<int64_t>(-8, 7), 6);
  EXPECT_EQ(FloorMod<int64_t>(8, 7), 1);
  // One microsecond before the epoch is in the day before it, at its end.
  EXPECT_EQ(FloorDiv<int64_t>(-1, kDay), -1);
  EXPECT_EQ(FloorMod<int64_t>(-1, kDay), kDay - 1);
  EXPECT_EQ(FloorDiv<Int128>(Int128{kInt64Min}, 2), Int128{kInt64Min} / 2);
  EXPECT_EQ(FloorDiv<Int128>(Int128{kInt64Min} - 1, 2), Int128{kInt64Min} / 2 - 1);
}

TEST(CalendarTest, ToInt64ChecksTheRange) {
  EXPECT_EQ(ToInt64(Int128{kInt64Max}), kInt64Max);
  EXPECT_EQ(ToInt64(Int128{kInt64Min}), kInt64Min);
  EXPECT_EQ(ToInt64(Int128{kInt64Max} + 1), std::nullopt);
  EXPECT_EQ(ToInt64(Int128{kInt64Min} - 1), std::nullopt);
}

TEST(CalendarTest, DaysFromCivilKnownDays) {
  static_assert(DaysFromCivil(1970, 1, 1) == 0);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2000, 1, 1), 10957);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 10957 + 31 + 29);
  EXPECT_EQ(DaysFromCivil(1, 1, 1), -719162);
  EXPECT_EQ(kMinTimePoint, At(1, 1, 1));
}

TEST(CalendarTest, CivilDaysAgreeWithStdChronoFromYearOneTo3000) {
  const int64_t first = At(1, 1, 1) / kDay;
  const int64_t last = At(3000, 12, 31) / kDay;
  for (int64_t days = first; days <= last; ++days) {
    const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
    const CivilDate d = CivilFromDays(days);
    ASSERT_EQ(d.year, static_cast<int>(ymd.year())) << days;
    ASSERT_EQ(d.month, static_cast<unsigned>(ymd.month())) << days;
    ASSERT_EQ(d.day, static_cast<unsigned>(ymd.day())) << days;
    ASSERT_EQ(DaysFromCivil(d.year, d.month, d.day), days);
  }
}

TEST(CalendarTest, LeapYearsAndMonthLengths) {
  EXPECT_TRUE(IsLeapYear(2024));
  EXPECT_TRUE(IsLeapYear(2000));
  EXPECT_TRUE(IsLeapYear(1600));
  EXPECT_TRUE(IsLeapYear(4));
  EXPECT_FALSE(IsLeapYear(2023));
  EXPECT_FALSE(IsLeapYear(1900));
  EXPECT_FALSE(IsLeapYear(2100));
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2000, 2), 29);
  EXPECT_EQ(DaysInMonth(2023, 2), 28);
  EXPECT_EQ(DaysInMonth(1900, 2), 28);
  EXPECT_EQ(DaysInMonth(2026, 1), 31);
  EXPECT_EQ(DaysInMonth(2026, 4), 30);
  EXPECT_EQ(DaysInMonth(2026, 12), 31);
}

TEST(CalendarTest, CivilFromPointFloorsBeforeTheEpoch) {
  const CivilTime t = CivilFromPoint(-1);
  EXPECT_EQ(t.date.year, 1969);
  EXPECT_EQ(t.date.month, 12);
  EXPECT_EQ(t.date.day, 31);
  EXPECT_EQ(t.hour, 23);
  EXPECT_EQ(t.minute, 59);
  EXPECT_EQ(t.second, 59);
  EXPECT_EQ(t.micros, 999'999);
  const CivilTime u = CivilFromPoint(At(2026, 11, 26, 13, 45, 7, 250'000));
  EXPECT_EQ(u.date.year, 2026);
  EXPECT_EQ(u.date.month, 11);
  EXPECT_EQ(u.date.day, 26);
  EXPECT_EQ(u.hour, 13);
  EXPECT_EQ(u.minute, 45);
  EXPECT_EQ(u.second, 7);
  EXPECT_EQ(u.micros, 250'000);
}

TEST(CalendarTest, MonthStepsOverFebruary29AndYearEnds) {
  EXPECT_EQ(MonthIndexOf(At(1970, 1, 1)), 1970 * 12);
  EXPECT_EQ(MonthIndexOf(-1), 1969 * 12 + 11);  // 1969-12-31 23:59:59.999999
  EXPECT_EQ(MonthIndexOf(At(2024, 2, 29, 23, 59)), 2024 * 12 + 1);
  // The month after one with a 29th of February, a 31st, and a December.
  EXPECT_EQ(MonthStart(MonthIndexOf(At(2024, 2, 29)) + 1), At(2024, 3, 1));
  EXPECT_EQ(MonthStart(MonthIndexOf(At(2024, 1, 31)) + 1), At(2024, 2, 1));
  EXPECT_EQ(MonthStart(MonthIndexOf(At(2026, 12, 31, 23)) + 1), At(2027, 1, 1));
  // A year after 2024-02 is 2025-02 (no 29th); backwards over a year end.
  EXPECT_EQ(MonthStart(MonthIndexOf(At(2024, 2, 29)) + 12), At(2025, 2, 1));
  EXPECT_EQ(MonthStart(MonthIndexOf(At(1970, 1, 1)) - 1), At(1969, 12, 1));
  EXPECT_EQ(MonthStart(MonthIndexOf(At(1970, 1, 1)) - 13), At(1968, 12, 1));
}

TEST(CalendarTest, MonthStartOverflowIsNullopt) {
  // INT64_MAX microseconds after the epoch is 294247-01-10 04:00:54.775807.
  // (std::chrono's years stop at 32767, so At() cannot say it.)
  EXPECT_EQ(MonthStart(Int128{294247} * 12),
            kInt64Max - (9 * kDay + 4 * kHour + 54 * kSecond + 775'807));
  EXPECT_EQ(MonthStart(Int128{294247} * 12 + 1), std::nullopt);
  EXPECT_EQ(MonthStart(Int128{kMaxAbsYear + 1} * 12), std::nullopt);
  EXPECT_EQ(MonthStart(Int128{kInt64Max} * 12), std::nullopt);
}

TEST(CalendarTest, IsoWeekDatesIncludingWeek53) {
  using YW = std::pair<int64_t, int64_t>;  // ISO year, week
  auto iso = [](int y, unsigned m, unsigned d) {
    const IsoWeekDate w = IsoWeekOfDays(At(y, m, d) / kDay);
    return YW(w.year, w.week);
  };
  // 2026 starts on a Thursday: it has a week 53, which runs into 2027.
  EXPECT_EQ(iso(2026, 1, 1), YW(2026, 1));
  EXPECT_EQ(iso(2026, 12, 31), YW(2026, 53));
  EXPECT_EQ(iso(2027, 1, 3), YW(2026, 53));
  EXPECT_EQ(iso(2027, 1, 4), YW(2027, 1));
  // ISO 8601's examples: 2008-12-29 is 2009-W01-1, 2010-01-03 is 2009-W53-7,
  // 2005-01-01 is 2004-W53-6.
  EXPECT_EQ(iso(2008, 12, 29), YW(2009, 1));
  EXPECT_EQ(iso(2010, 1, 3), YW(2009, 53));
  EXPECT_EQ(iso(2005, 1, 1), YW(2004, 53));
  // 1970-01-01 was a Thursday, so the Monday before it starts 1970-W01.
  EXPECT_EQ(iso(1970, 1, 1), YW(1970, 1));
  EXPECT_EQ(iso(1969, 12, 29), YW(1970, 1));
  EXPECT_EQ(iso(1969, 12, 28), YW(1969, 52));
}

TEST(CalendarTest, LongIsoYearsStartOnThursdayOrAreLeapAndStartOnWednesday) {
  using std::chrono::Thursday, std::chrono::Wednesday;
  for (int y = 1901; y <= 2400; ++y) {
    const std::chrono::weekday jan1{std::chrono::sys_days{std::chrono::year{y} / 1 / 1}};
    const bool leap = std::chrono::year{y}.is_leap();
    const int64_t weeks = (jan1 == Thursday || (leap && jan1 == Wednesday)) ? 53 : 52;
    // 28 December is always in the year's last ISO week.
    const IsoWeekDate last = IsoWeekOfDays(At(y, 12, 28) / kDay);
    ASSERT_EQ(last.year, y);
    ASSERT_EQ(last.week, weeks) << y;
  }
}

TEST(CalendarTest, ZeroPad) {
  EXPECT_EQ(ZeroPad(5, 2), "05");
  EXPECT_EQ(ZeroPad(42, 1), "42");
  EXPECT_EQ(ZeroPad(12026, 4), "12026");
  EXPECT_EQ(ZeroPad(-5, 4), "-005");
}

TEST(CalendarTest, ToCharSubset) {
  const int64_t t = At(2026, 11, 26, 13, 45, 7);
  EXPECT_EQ(ToChar(t, "YYYY-MM-DD HH24:MI:SS"), "2026-11-26 13:45:07");
  EXPECT_EQ(ToChar(t, "yyyy_mm_dd"), "2026_11_26");
  EXPECT_EQ(ToChar(t, "YYYY\"q\"Q"), "2026q4");
  EXPECT_EQ(ToChar(t, "IYYY\"w\"IW"), "2026w48");
  EXPECT_EQ(ToChar(At(2027, 1, 1), "IYYY\"w\"IW"), "2026w53");
  EXPECT_EQ(ToChar(t, "\"a\\\"b\"YYYY"), "a\"b2026");  // \" inside quotes
  EXPECT_EQ(ToChar(At(999, 1, 1), "YYYY"), "0999");
}

TEST(CalendarTest, StrftimeSubset) {
  const int64_t t = At(2026, 11, 26, 13, 45, 7);
  EXPECT_EQ(Strftime(t, "%Y%m%d_%H%M%S"), "20261126_134507");
  EXPECT_EQ(Strftime(t, "%Yq%q"), "2026q4");
  EXPECT_EQ(Strftime(At(2027, 1, 1), "%Gw%V"), "2026w53");
  EXPECT_EQ(Strftime(At(2026, 1, 5), "%G_%V"), "2026_02");
  EXPECT_EQ(kStrftimeCodes.size(), 9u);
}

}  // namespace
}  // namespace partwatch::policy
