#include "policy/bucketer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/policy/range_test_util.h"

namespace partwatch::policy {
namespace {

TEST(RangeBucketerTest, MakeRejectsBadIntervalsBoundsAndOverlaps) {
  Result<Bucketer> bad_interval = Bucketer::Make(kDate, Micros(kHour), std::nullopt, {});
  ASSERT_FALSE(bad_interval.ok());
  EXPECT_NE(bad_interval.error().message.find("interval"), std::string::npos);

  Result<Bucketer> bad_bound = Bucketer::Make(kDate, Days(1), std::nullopt, {"DEFAULT"});
  ASSERT_FALSE(bad_bound.ok());
  EXPECT_NE(bad_bound.error().message.find("DEFAULT"), std::string::npos);

  const std::string a = Quoted("2026-01-01", "2026-01-10");
  const std::string b = Quoted("2026-01-05", "2026-01-20");
  Result<Bucketer> overlap = Bucketer::Make(kDate, Days(1), std::nullopt, {b, a});
  ASSERT_FALSE(overlap.ok());
  EXPECT_NE(overlap.error().message.find("overlap"), std::string::npos);
  EXPECT_NE(overlap.error().message.find(a), std::string::npos);
  EXPECT_NE(overlap.error().message.find(b), std::string::npos);
}

TEST(RangeBucketerTest, PartitionsAreSortedAndAccessorsReportTheConfig) {
  const Bucketer b =
      MakeBucketer(kDate, Days(1),
                   {Quoted("2026-01-05", "2026-01-06"), Bounds("MINVALUE", "'2026-01-01'"),
                    Quoted("2026-01-02", "2026-01-03")});
  ASSERT_EQ(b.partitions().size(), 3u);
  EXPECT_EQ(b.partitions()[0].lo, kMinValuePoint);
  EXPECT_EQ(b.partitions()[1].lo, At(2026, 1, 2));
  EXPECT_EQ(b.partitions()[2].lo, At(2026, 1, 5));
  EXPECT_EQ(b.type(), kDate);
  EXPECT_EQ(b.interval(), Days(1));
  EXPECT_EQ(b.domain(), kCivil);
  EXPECT_EQ(b.origin(), At(1970, 1, 5));
  EXPECT_EQ(b.ParsePoint("2026-01-05"), At(2026, 1, 5));
  EXPECT_EQ(b.FormatPoint(At(2026, 1, 5)), "2026-01-05");
}

// ---- Alignment ----

TEST(RangeAlignTest, DailyDate) {
  const Bucketer b = MakeBucketer(kDate, Days(1));
  EXPECT_EQ(b.BucketOf("2026-11-26"),
            B(At(2026, 11, 26), At(2026, 11, 27), "2026-11-26", "2026-11-27"));
  EXPECT_EQ(b.BucketOf("2024-02-28")->hi_literal, "2024-02-29");
  EXPECT_EQ(b.BucketOf("2026-12-31")->hi_literal, "2027-01-01");
}

TEST(RangeAlignTest, DailyTimestampIsTheCivilDay) {
  const Bucketer b = MakeBucketer(kTs, Days(1));
  EXPECT_EQ(b.BucketOf("2026-11-26 13:45:07.25"),
            B(At(2026, 11, 26), At(2026, 11, 27), "2026-11-26 00:00:00", "2026-11-27 00:00:00"));
  EXPECT_EQ(b.BucketOf("2026-11-26 00:00:00")->lo, At(2026, 11, 26));
  EXPECT_EQ(b.BucketOf("2026-11-26 23:59:59.999999")->lo, At(2026, 11, 26));
}

TEST(RangeAlignTest, DaysBefore1970FloorDown) {
  const Bucketer b = MakeBucketer(kTs, Days(1));
  EXPECT_EQ(b.BucketOf("1969-12-31 23:59:59"),
            B(At(1969, 12, 31), 0, "1969-12-31 00:00:00", "1970-01-01 00:00:00"));
  EXPECT_EQ(b.BucketOf("1969-12-31 00:00:00")->lo, At(1969, 12, 31));
  EXPECT_EQ(b.BucketOf("1900-06-15 12:00:00")->lo_literal, "1900-06-15 00:00:00");
}

TEST(RangeAlignTest, Monthly) {
  const Bucketer b = MakeBucketer(kDate, Months(1));
  EXPECT_EQ(b.BucketOf("2026-11-26"),
            B(At(2026, 11, 1), At(2026, 12, 1), "2026-11-01", "2026-12-01"));
  EXPECT_EQ(b.BucketOf("2026-12-31"),
            B(At(2026, 12, 1), At(2027, 1, 1), "2026-12-01", "2027-01-01"));
  EXPECT_EQ(b.BucketOf("1969-03-15"),
            B(At(1969, 3, 1), At(1969, 4, 1), "1969-03-01", "1969-04-01"));
  EXPECT_EQ(b.BucketOf("2026-02-01")->lo, At(2026, 2, 1));
}

TEST(RangeAlignTest, Quarterly) {
  const Bucketer b = MakeBucketer(kTs, Months(3));
  EXPECT_EQ(b.BucketOf("2026-11-26 10:00:00"),
            B(At(2026, 10, 1), At(2027, 1, 1), "2026-10-01 00:00:00", "2027-01-01 00:00:00"));
  EXPECT_EQ(b.BucketOf("2026-01-01 00:00:00")->lo, At(2026, 1, 1));
  EXPECT_EQ(b.BucketOf("2026-03-31 23:59:59")->hi, At(2026, 4, 1));
  EXPECT_EQ(b.BucketOf("1969-02-10 00:00:00")->lo, At(1969, 1, 1));
  EXPECT_EQ(b.BucketOf("1969-02-10 00:00:00")->hi, At(1969, 4, 1));
}

TEST(RangeAlignTest, QuartersFromAnOrigin) {
  // Fiscal quarters starting in February; only the origin's month counts.
  const Bucketer b = MakeBucketer(kDate, Months(3), {}, At(2020, 2, 17, 5));
  EXPECT_EQ(b.BucketOf("2026-01-15"),
            B(At(2025, 11, 1), At(2026, 2, 1), "2025-11-01", "2026-02-01"));
  EXPECT_EQ(b.BucketOf("2026-02-01")->lo, At(2026, 2, 1));
}

TEST(RangeAlignTest, Yearly) {
  const Bucketer b = MakeBucketer(kDate, Months(12));
  EXPECT_EQ(b.BucketOf("2026-11-26"),
            B(At(2026, 1, 1), At(2027, 1, 1), "2026-01-01", "2027-01-01"));
  EXPECT_EQ(b.BucketOf("1969-12-31")->lo, At(1969, 1, 1));
  EXPECT_EQ(b.BucketOf("12026-05-05"),
            B(At(12026, 1, 1), At(12027, 1, 1), "12026-01-01", "12027-01-01"));
  EXPECT_EQ(b.BucketOf("9999-12-31")->hi_literal, "10000-01-01");
}

TEST(RangeAlignTest, WeeklyDefaultsToIsoWeeks) {
  const Bucketer b = MakeBucketer(kDate, Days(7));
  // 2026-11-26 is a Thursday; its ISO week starts Monday 2026-11-23.
  EXPECT_EQ(b.BucketOf("2026-11-26"),
            B(At(2026, 11, 23), At(2026, 11, 30), "2026-11-23", "2026-11-30"));
  EXPECT_EQ(b.BucketOf("2026-11-23")->lo, At(2026, 11, 23));
  EXPECT_EQ(b.BucketOf("2026-11-29")->lo, At(2026, 11, 23));
  // 1970-01-01 was a Thursday: its week starts in 1969.
  EXPECT_EQ(b.BucketOf("1970-01-01"),
            B(At(1969, 12, 29), At(1970, 1, 5), "1969-12-29", "1970-01-05"));
}

TEST(RangeAlignTest, DaysFromAnOrigin) {
  const Bucketer b = MakeBucketer(kDate, Days(10), {}, At(2026, 1, 1));
  EXPECT_EQ(b.BucketOf("2026-01-25"),
            B(At(2026, 1, 21), At(2026, 1, 31), "2026-01-21", "2026-01-31"));
  EXPECT_EQ(b.BucketOf("2025-12-31")->lo, At(2025, 12, 22));
}

TEST(RangeAlignTest, Hourly) {
  const Bucketer b = MakeBucketer(kTs, Micros(kHour));
  EXPECT_EQ(b.BucketOf("2026-11-26 13:45:07"), B(At(2026, 11, 26, 13), At(2026, 11, 26, 14),
                                                 "2026-11-26 13:00:00", "2026-11-26 14:00:00"));
  EXPECT_EQ(b.BucketOf("1969-12-31 23:30:00")->lo, -kHour);
}

TEST(RangeAlignTest, FifteenMinutesFromAnOrigin) {
  const Bucketer b = MakeBucketer(kTs, Micros(15 * kMinute), {}, At(2026, 1, 1, 0, 5));
  EXPECT_EQ(b.BucketOf("2026-11-26 13:01:00")->lo_literal, "2026-11-26 12:50:00");
  EXPECT_EQ(b.BucketOf("2026-11-26 13:05:00")->lo_literal, "2026-11-26 13:05:00");
  EXPECT_EQ(b.BucketOf("2026-11-26 13:05:00")->hi_literal, "2026-11-26 13:20:00");
}

TEST(RangeAlignTest, IntegerWidthIncludingNegatives) {
  const Bucketer b = MakeBucketer(kInt, Width(1000));
  EXPECT_EQ(b.BucketOf("1234"), B(1000, 2000, "1000", "2000"));
  EXPECT_EQ(b.BucketOf("0"), B(0, 1000, "0", "1000"));
  EXPECT_EQ(b.BucketOf("-1"), B(-1000, 0, "-1000", "0"));
  EXPECT_EQ(b.BucketOf("-1000"), B(-1000, 0, "-1000", "0"));
  EXPECT_EQ(b.BucketOf("-1001"), B(-2000, -1000, "-2000", "-1000"));
}

TEST(RangeAlignTest, IntegerWidthFromAnOrigin) {
  const Bucketer b = MakeBucketer(kInt, Width(10), {}, 5);
  EXPECT_EQ(b.BucketOf("4"), B(-5, 5, "-5", "5"));
  EXPECT_EQ(b.BucketOf("5"), B(5, 15, "5", "15"));
}

TEST(RangeAlignTest, IntegerOverflowHasNoBucket) {
  const Bucketer b = MakeBucketer(kInt, Width(1000));
  EXPECT_EQ(b.BucketOf("9223372036854775807"), std::nullopt);   // hi would overflow
  EXPECT_EQ(b.BucketOf("-9223372036854775808"), std::nullopt);  // lo would overflow
  EXPECT_EQ(b.BucketOf("9223372036854774999")->hi, 9223372036854775000);
  // A power of two reaches INT64_MIN exactly.
  const Bucketer pow2 = MakeBucketer(kInt, Width(1024));
  EXPECT_EQ(pow2.BucketOf("-9223372036854775808"),
            B(kInt64Min, kInt64Min + 1024, "-9223372036854775808", "-9223372036854774784"));
  const Bucketer huge = MakeBucketer(kInt, Width(kInt64Max), {}, kInt64Min);
  EXPECT_EQ(huge.BucketOf("-1")->lo, -1);
  EXPECT_EQ(huge.BucketOf("-1")->hi, kInt64Max - 1);
  EXPECT_EQ(huge.BucketOf("9223372036854775806"), std::nullopt);
}

TEST(RangeAlignTest, TimeOverflowAndYearOneLimits) {
  const Bucketer daily = MakeBucketer(kTs, Days(1));
  EXPECT_EQ(daily.BucketOf("294247-01-10 04:00:54"), std::nullopt);  // hi past INT64_MAX
  EXPECT_EQ(daily.BucketOf("294247-01-09 04:00:54")->hi_literal, "294247-01-10 00:00:00");
  EXPECT_EQ(daily.BucketOf("0001-01-01 00:00:00")->lo_literal, "0001-01-01 00:00:00");
  // 5-day buckets from 1970-01-05: the one holding 0001-01-01 starts in year 0.
  const Bucketer five = MakeBucketer(kDate, Days(5));
  EXPECT_EQ(five.BucketOf("0001-01-01"), std::nullopt);
  EXPECT_EQ(five.BucketOf("0001-01-06"), B(At(1, 1, 2), At(1, 1, 7), "0001-01-02", "0001-01-07"));
  const Bucketer huge_months = MakeBucketer(kDate, Months(kInt64Max));
  EXPECT_EQ(huge_months.BucketOf("2026-01-01"), std::nullopt);
}

TEST(RangeAlignTest, RejectedValuesHaveNoBucket) {
  const Bucketer b = MakeBucketer(kDate, Days(1));
  EXPECT_EQ(b.BucketOf("infinity"), std::nullopt);
  EXPECT_EQ(b.BucketOf("-infinity"), std::nullopt);
  EXPECT_EQ(b.BucketOf("2026-01-01 BC"), std::nullopt);
  EXPECT_EQ(b.BucketOf("garbage"), std::nullopt);
  EXPECT_EQ(b.BucketOf(KeyValue::Null()), std::nullopt);
  EXPECT_EQ(b.BucketOf(KeyValue::Of("2026-01-01")), b.BucketOf("2026-01-01"));
}

TEST(RangeAlignTest, Year2100OutlierGetsExactlyItsDay) {
  const Bucketer b =
      MakeBucketer(kDate, Days(1),
                   {Quoted("2026-11-25", "2026-11-26"), Quoted("2026-11-26", "2026-11-27"),
                    Quoted("2026-11-27", "2026-11-28")});
  EXPECT_EQ(b.BucketOf("2100-01-01"),
            B(At(2100, 1, 1), At(2100, 1, 2), "2100-01-01", "2100-01-02"));
  const Bucketer tz =
      MakeBucketer(kTsTz, Days(1), {Quoted("2026-11-26 00:00:00+01", "2026-11-27 00:00:00+01")});
  EXPECT_EQ(tz.BucketOf("2100-01-01 00:00:00+01"),
            B(At(2100, 1, 1), At(2100, 1, 2), "2100-01-01 00:00:00", "2100-01-02 00:00:00"));
}

// ---- timestamptz across the Europe/Berlin DST changes (2026-03-29 02:00
// +01 -> 03:00 +02; 2026-10-25 03:00 +02 -> 02:00 +01) ----

TEST(RangeDstTest, DailyBucketsAreTheCivilDayInSpring) {
  const Bucketer b = MakeBucketer(kTsTz, Days(1));
  const Bucket day =
      B(At(2026, 3, 29), At(2026, 3, 30), "2026-03-29 00:00:00", "2026-03-30 00:00:00");
  EXPECT_EQ(b.BucketOf("2026-03-29 01:59:59+01"), day);
  EXPECT_EQ(b.BucketOf("2026-03-29 03:00:00+02"), day);
  EXPECT_EQ(b.BucketOf("2026-03-29 00:00:00+01"), day);
  EXPECT_EQ(b.BucketOf("2026-03-29 23:59:59+02"), day);
}

TEST(RangeDstTest, DailyBucketsAreTheCivilDayInAutumn) {
  const Bucketer b = MakeBucketer(kTsTz, Days(1));
  const Bucket day =
      B(At(2026, 10, 25), At(2026, 10, 26), "2026-10-25 00:00:00", "2026-10-26 00:00:00");
  EXPECT_EQ(b.BucketOf("2026-10-25 02:30:00+02"), day);
  EXPECT_EQ(b.BucketOf("2026-10-25 02:30:00+01"), day);
  EXPECT_EQ(b.BucketOf("2026-10-25 23:59:59+01"), day);
}

TEST(RangeDstTest, DstDayPartitionIsOneCivilDay) {
  // The 23-hour day as the server prints it, and its neighbours.
  const Bucketer b =
      MakeBucketer(kTsTz, Days(1), {Quoted("2026-03-29 00:00:00+01", "2026-03-30 00:00:00+02")});
  EXPECT_EQ(b.BucketOf("2026-03-29 03:00:00+02"), std::nullopt);
  EXPECT_EQ(b.BucketOf("2026-03-30 00:00:00+02"),
            B(At(2026, 3, 30), At(2026, 3, 31), "2026-03-30 00:00:00", "2026-03-31 00:00:00"));
  EXPECT_EQ(b.BucketOf("2026-03-28 23:59:59+01")->hi_literal, "2026-03-29 00:00:00");
  EXPECT_FALSE(b.BucketOf("2026-03-28 23:59:59+01")->clipped);
}

TEST(RangeDstTest, MonthlyBucketSpansTheChange) {
  const Bucketer b = MakeBucketer(kTsTz, Months(1));
  EXPECT_EQ(b.BucketOf("2026-03-01 00:00:00+01"), b.BucketOf("2026-03-31 23:59:59+02"));
  EXPECT_EQ(b.BucketOf("2026-03-29 03:00:00+02")->lo_literal, "2026-03-01 00:00:00");
}

TEST(RangeDstTest, HourlyBucketsAreUtcInSpring) {
  const Bucketer b = MakeBucketer(kTsTz, Micros(kHour));
  EXPECT_EQ(b.BucketOf("2026-03-29 01:59:59+01"),
            B(At(2026, 3, 29, 0), At(2026, 3, 29, 1), "2026-03-29 00:00:00+00",
              "2026-03-29 01:00:00+00"));
  // The next instant after 01:59:59+01 is 03:00:00+02: the next hour.
  EXPECT_EQ(b.BucketOf("2026-03-29 03:00:00+02"),
            B(At(2026, 3, 29, 1), At(2026, 3, 29, 2), "2026-03-29 01:00:00+00",
              "2026-03-29 02:00:00+00"));
}

TEST(RangeDstTest, HourlyBucketsSeparateTheTwoAutumn0230s) {
  const Bucketer b = MakeBucketer(kTsTz, Micros(kHour));
  const std::optional<Bucket> first = b.BucketOf("2026-10-25 02:30:00+02");
  const std::optional<Bucket> second = b.BucketOf("2026-10-25 02:30:00+01");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, B(At(2026, 10, 25, 0), At(2026, 10, 25, 1), "2026-10-25 00:00:00+00",
                      "2026-10-25 01:00:00+00"));
  EXPECT_EQ(*second, B(At(2026, 10, 25, 1), At(2026, 10, 25, 2), "2026-10-25 01:00:00+00",
                       "2026-10-25 02:00:00+00"));
  EXPECT_NE(first->lo_literal, second->lo_literal);
}

TEST(RangeDstTest, HourlyBucketsAgainstServerPrintedPartitions) {
  // Hourly partitions as the server prints them in Europe/Berlin.
  const Bucketer b = MakeBucketer(kTsTz, Micros(kHour),
                                  {Quoted("2026-10-25 02:00:00+02", "2026-10-25 02:00:00+01"),
                                   Quoted("2026-10-25 03:00:00+01", "2026-10-25 04:00:00+01")});
  EXPECT_EQ(b.BucketOf("2026-10-25 02:30:00+02"), std::nullopt);
  EXPECT_EQ(b.BucketOf("2026-10-25 02:30:00+01"),
            B(At(2026, 10, 25, 1), At(2026, 10, 25, 2), "2026-10-25 01:00:00+00",
              "2026-10-25 02:00:00+00"));
}

// ---- Gaps ----

TEST(RangeGapsTest, FillsHolesBetweenPartitionsOnly) {
  const Bucketer b =
      MakeBucketer(kDate, Days(1),
                   {Quoted("2026-11-01", "2026-11-03"), Quoted("2026-11-05", "2026-11-06"),
                    Quoted("2026-11-06", "2026-11-07"), Quoted("2026-11-09", "2026-11-10")});
  const std::vector<Bucket> gaps = b.Gaps(100);
  ASSERT_EQ(gaps.size(), 4u);
  EXPECT_EQ(gaps[0], B(At(2026, 11, 3), At(2026, 11, 4), "2026-11-03", "2026-11-04"));
  EXPECT_EQ(gaps[1], B(At(2026, 11, 4), At(2026, 11, 5), "2026-11-04", "2026-11-05"));
  EXPECT_EQ(gaps[2], B(At(2026, 11, 7), At(2026, 11, 8), "2026-11-07", "2026-11-08"));
  EXPECT_EQ(gaps[3], B(At(2026, 11, 8), At(2026, 11, 9), "2026-11-08", "2026-11-09"));
}

TEST(RangeGapsTest, StopsAtTheLimit) {
  const Bucketer b = MakeBucketer(
      kDate, Days(1), {Quoted("2000-01-01", "2000-01-02"), Quoted("2100-01-01", "2100-01-02")});
  const std::vector<Bucket> gaps = b.Gaps(3);
  ASSERT_EQ(gaps.size(), 3u);
  EXPECT_EQ(gaps[2].lo_literal, "2000-01-04");
  EXPECT_TRUE(b.Gaps(0).empty());
}

TEST(RangeGapsTest, GapBucketsAreClipped) {
  const Bucketer b = MakeBucketer(kTs, Days(1),
                                  {Bounds("MINVALUE", "'2026-11-02 12:00:00'"),
                                   Quoted("2026-11-04 06:00:00", "2026-11-05 00:00:00"),
                                   Bounds("'2026-11-06 00:00:00'", "MAXVALUE")});
  const std::vector<Bucket> gaps = b.Gaps(100);
  ASSERT_EQ(gaps.size(), 4u);
  EXPECT_EQ(gaps[0], B(At(2026, 11, 2, 12), At(2026, 11, 3), "2026-11-02 12:00:00",
                       "2026-11-03 00:00:00", true));
  EXPECT_EQ(gaps[1],
            B(At(2026, 11, 3), At(2026, 11, 4), "2026-11-03 00:00:00", "2026-11-04 00:00:00"));
  EXPECT_EQ(gaps[2], B(At(2026, 11, 4), At(2026, 11, 4, 6), "2026-11-04 00:00:00",
                       "2026-11-04 06:00:00", true));
  EXPECT_EQ(gaps[3],
            B(At(2026, 11, 5), At(2026, 11, 6), "2026-11-05 00:00:00", "2026-11-06 00:00:00"));
}

TEST(RangeGapsTest, NoPartitionsOrContiguousPartitionsHaveNoGaps) {
  EXPECT_TRUE(MakeBucketer(kDate, Days(1)).Gaps(10).empty());
  EXPECT_TRUE(
      MakeBucketer(kInt, Width(10), {Bounds("0", "10"), Bounds("10", "20")}).Gaps(10).empty());
}

}  // namespace
}  // namespace partwatch::policy
