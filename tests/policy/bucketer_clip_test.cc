#include "policy/bucketer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "tests/policy/range_test_util.h"

namespace partwatch::policy {
namespace {

// ---- Clipping ----

TEST(RangeClipTest, ClippedOnBothSides) {
  const Bucketer b = MakeBucketer(kTs, Days(1),
                                  {Quoted("2026-11-20 00:00:00", "2026-11-26 12:00:00"),
                                   Quoted("2026-11-26 18:00:00", "2026-11-30 00:00:00")});
  const Bucket gap = B(At(2026, 11, 26, 12), At(2026, 11, 26, 18), "2026-11-26 12:00:00",
                       "2026-11-26 18:00:00", true);
  EXPECT_EQ(b.BucketOf("2026-11-26 15:00:00"), gap);
  EXPECT_EQ(b.BucketOf("2026-11-26 12:00:00"), gap);  // a partition's hi is outside it
  EXPECT_EQ(b.BucketOf("2026-11-26 17:59:59.999999"), gap);
}

TEST(RangeClipTest, ValueInsideAPartitionHasNoBucket) {
  const Bucketer b = MakeBucketer(kTs, Days(1),
                                  {Quoted("2026-11-20 00:00:00", "2026-11-26 12:00:00"),
                                   Quoted("2026-11-26 18:00:00", "2026-11-30 00:00:00")});
  EXPECT_EQ(b.BucketOf("2026-11-26 06:00:00"), std::nullopt);
  EXPECT_EQ(b.BucketOf("2026-11-20 00:00:00"), std::nullopt);  // lo is inside
  EXPECT_EQ(b.BucketOf("2026-11-26 18:00:00"), std::nullopt);
  EXPECT_EQ(b.BucketOf("2026-11-29 23:59:59"), std::nullopt);
  EXPECT_EQ(b.BucketOf("2026-11-30 00:00:00")->lo, At(2026, 11, 30));
}

TEST(RangeClipTest, ClippedOnOneSide) {
  const Bucketer b =
      MakeBucketer(kTs, Days(1), {Quoted("2026-11-20 00:00:00", "2026-11-26 12:00:00")});
  EXPECT_EQ(b.BucketOf("2026-11-26 20:00:00"),
            B(At(2026, 11, 26, 12), At(2026, 11, 27), "2026-11-26 12:00:00", "2026-11-27 00:00:00",
              true));
  EXPECT_EQ(b.BucketOf("2026-11-19 20:00:00"),
            B(At(2026, 11, 19), At(2026, 11, 20), "2026-11-19 00:00:00", "2026-11-20 00:00:00"));
}

TEST(RangeClipTest, AlignedNeighboursDoNotClip) {
  const Bucketer b = MakeBucketer(
      kDate, Days(1), {Quoted("2026-11-25", "2026-11-26"), Quoted("2026-11-27", "2026-11-28")});
  EXPECT_EQ(b.BucketOf("2026-11-26"),
            B(At(2026, 11, 26), At(2026, 11, 27), "2026-11-26", "2026-11-27"));
}

TEST(RangeClipTest, MinValueAndMaxValuePartitions) {
  const Bucketer b =
      MakeBucketer(kInt, Width(1000), {Bounds("MINVALUE", "'-10'"), Bounds("1500", "MAXVALUE")});
  EXPECT_EQ(b.BucketOf("-5"), B(-10, 0, "-10", "0", true));
  EXPECT_EQ(b.BucketOf("-10"), B(-10, 0, "-10", "0", true));
  EXPECT_EQ(b.BucketOf("1200"), B(1000, 1500, "1000", "1500", true));
  EXPECT_EQ(b.BucketOf("500"), B(0, 1000, "0", "1000"));
  EXPECT_EQ(b.BucketOf("-11"), std::nullopt);
  EXPECT_EQ(b.BucketOf("-9223372036854775808"), std::nullopt);
  EXPECT_EQ(b.BucketOf("1500"), std::nullopt);
  EXPECT_EQ(b.BucketOf("9223372036854775807"), std::nullopt);
}

TEST(RangeClipTest, TimestamptzClipKeepsTheServersOffset) {
  // A bound inside the repeated autumn hour: without its offset the server
  // could not tell which 02:30 is meant.
  const Bucketer b =
      MakeBucketer(kTsTz, Months(1), {Quoted("2026-10-01 00:00:00+02", "2026-10-25 02:30:00+01")});
  EXPECT_EQ(b.BucketOf("2026-10-27 10:00:00+01"),
            B(At(2026, 10, 25, 2, 30), At(2026, 11, 1), "2026-10-25 02:30:00+01",
              "2026-11-01 00:00:00", true));
  EXPECT_EQ(b.BucketOf("2026-10-25 02:30:00+01"), b.BucketOf("2026-10-27 10:00:00+01"));
}

TEST(RangeClipTest, ClippedBucketRoundTripsThroughItsLoLiteral) {
  const Bucketer b = MakeBucketer(kTs, Days(1),
                                  {Quoted("2026-11-20 00:00:00", "2026-11-26 12:00:00"),
                                   Quoted("2026-11-26 18:00:00", "2026-11-30 00:00:00")});
  const std::optional<Bucket> gap = b.BucketOf("2026-11-26 15:00:00");
  ASSERT_TRUE(gap);
  EXPECT_EQ(b.BucketOf(gap->lo_literal), gap);
}

// For every value with a bucket: lo <= value < hi, BucketOf(lo_literal)
// returns the same bucket, the bucket overlaps no partition, it lies in the
// aligned bucket, and values just outside it are elsewhere.
void CheckRoundTrips(const Bucketer& b, int64_t min_point, int64_t max_point, uint64_t seed,
                     const std::string& suffix = "") {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> dist(min_point, max_point);
  int bucketed = 0, clipped = 0, inside = 0;
  for (int i = 0; i < 5'000; ++i) {
    int64_t point = dist(rng);
    if (b.type() == kDate) point -= ((point % kDay) + kDay) % kDay;
    const std::string text = b.FormatPoint(point) + suffix;
    const std::optional<Bucket> bucket = b.BucketOf(text);
    if (!bucket) {
      ++inside;
      bool in_partition = false;
      for (const ExistingPartition& p : b.partitions()) {
        in_partition = in_partition || (p.lo <= point && point < p.hi);
      }
      ASSERT_TRUE(in_partition) << text;
      continue;
    }
    ++bucketed;
    clipped += bucket->clipped ? 1 : 0;
    ASSERT_LE(bucket->lo, point) << text;
    ASSERT_LT(point, bucket->hi) << text;
    ASSERT_EQ(b.BucketOf(bucket->lo_literal), bucket) << text << " -> " << bucket->lo_literal;
    ASSERT_EQ(b.ParsePoint(bucket->lo_literal), bucket->lo) << bucket->lo_literal;
    ASSERT_EQ(b.ParsePoint(bucket->hi_literal), bucket->hi) << bucket->hi_literal;
    ASSERT_NE(b.BucketOfPoint(bucket->hi), bucket) << text;
    if (bucket->lo > kInt64Min) {
      ASSERT_NE(b.BucketOfPoint(bucket->lo - 1), bucket) << text;
    }
    for (const ExistingPartition& p : b.partitions()) {
      ASSERT_TRUE(bucket->hi <= p.lo || p.hi <= bucket->lo) << text << " overlaps a partition";
    }
    const std::optional<Bucket> unclipped =
        MakeBucketer(b.type(), b.interval(), {}, b.origin()).BucketOfPoint(point);
    ASSERT_TRUE(unclipped) << text;
    ASSERT_LE(unclipped->lo, bucket->lo);
    ASSERT_GE(unclipped->hi, bucket->hi);
    ASSERT_EQ(bucket->clipped, *unclipped != *bucket);
  }
  EXPECT_GT(bucketed, 100);
  EXPECT_GT(clipped, 10);
  EXPECT_GT(inside, 10);
}

TEST(RangeClipTest, RoundTripPropertyIntegers) {
  const Bucketer b = MakeBucketer(kInt, Width(100),
                                  {Bounds("MINVALUE", "'-937'"), Bounds("-450", "-333"),
                                   Bounds("5", "17"), Bounds("250", "300"), Bounds("301", "302"),
                                   Bounds("777", "1013"), Bounds("1999", "MAXVALUE")});
  CheckRoundTrips(b, -1200, 2200, 1);
}

TEST(RangeClipTest, RoundTripPropertyDailyTimestamp) {
  const Bucketer b = MakeBucketer(kTs, Days(1),
                                  {Quoted("2026-11-02 06:00:00", "2026-11-03 07:30:00"),
                                   Quoted("2026-11-05 00:00:00", "2026-11-06 00:00:00"),
                                   Quoted("2026-11-07 23:59:59.5", "2026-11-08 00:00:00.25"),
                                   Quoted("2026-11-10 12:00:00", "2026-11-20 12:00:00")});
  CheckRoundTrips(b, At(2026, 10, 30), At(2026, 11, 23), 2);
}

TEST(RangeClipTest, RoundTripPropertyWeeklyDate) {
  const Bucketer b =
      MakeBucketer(kDate, Days(7),
                   {Quoted("1969-12-30", "1970-01-02"), Quoted("2026-01-07", "2026-01-08"),
                    Quoted("2026-01-20", "2026-02-13")});
  CheckRoundTrips(b, At(1969, 12, 1), At(1970, 2, 1), 3);
  CheckRoundTrips(b, At(2025, 12, 20), At(2026, 3, 1), 4);
}

TEST(RangeClipTest, RoundTripPropertyMonthlyTimestamptzCivil) {
  const Bucketer b = MakeBucketer(kTsTz, Months(1),
                                  {Quoted("2026-02-10 00:00:00+01", "2026-03-29 03:00:00+02"),
                                   Quoted("2026-05-01 00:00:00+02", "2026-06-01 00:00:00+02"),
                                   Quoted("2026-10-20 00:00:00+02", "2026-10-25 02:30:00+01"),
                                   Quoted("2026-12-24 00:00:00+01", "2027-01-07 00:00:00+01")});
  CheckRoundTrips(b, At(2026, 1, 1), At(2027, 2, 1), 5, "+01");
}

TEST(RangeClipTest, RoundTripPropertyHourlyTimestamptzUtc) {
  const Bucketer b = MakeBucketer(kTsTz, Micros(kHour),
                                  {Quoted("2026-03-29 01:30:00+01", "2026-03-29 03:15:00+02"),
                                   Quoted("2026-03-29 05:00:00+02", "2026-03-29 06:00:00+02"),
                                   Quoted("2026-03-29 11:20:00+05:30", "2026-03-29 09:00:00+02")});
  CheckRoundTrips(b, At(2026, 3, 28, 22), At(2026, 3, 29, 9), 6);
}

}  // namespace
}  // namespace partwatch::policy
