#include "policy/interval_inference.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/policy/range_test_util.h"

namespace partwatch::policy {
namespace {

// ---- InferInterval ----

TEST(RangeInferTest, Daily) {
  std::string error;
  const std::optional<InferredInterval> inferred =
      InferInterval(kDate,
                    {Quoted("2026-11-27", "2026-11-28"), Quoted("2026-11-25", "2026-11-26"),
                     Bounds("MINVALUE", "'2026-01-01'"), Quoted("2026-12-25", "2026-12-26")},
                    &error);
  ASSERT_TRUE(inferred) << error;
  EXPECT_EQ(*inferred, (InferredInterval{Days(1), At(2026, 11, 25)}));
}

TEST(RangeInferTest, Weekly) {
  const std::optional<InferredInterval> inferred = InferInterval(
      kDate, {Quoted("2026-11-23", "2026-11-30"), Quoted("2026-11-30", "2026-12-07")});
  ASSERT_TRUE(inferred);
  EXPECT_EQ(*inferred, (InferredInterval{Days(7), At(2026, 11, 23)}));
}

TEST(RangeInferTest, Monthly) {
  const std::optional<InferredInterval> inferred =
      InferInterval(kTs, {Quoted("2026-01-01 00:00:00", "2026-02-01 00:00:00"),
                          Quoted("2026-02-01 00:00:00", "2026-03-01 00:00:00"),
                          Quoted("2026-03-01 00:00:00", "2026-04-01 00:00:00")});
  ASSERT_TRUE(inferred);
  EXPECT_EQ(*inferred, (InferredInterval{Months(1), At(2026, 1, 1)}));
}

TEST(RangeInferTest, QuarterlyAndYearly) {
  const std::optional<InferredInterval> quarterly = InferInterval(
      kDate, {Quoted("2026-04-01", "2026-07-01"), Quoted("2026-01-01", "2026-04-01")});
  ASSERT_TRUE(quarterly);
  EXPECT_EQ(*quarterly, (InferredInterval{Months(3), At(2026, 1, 1)}));
  const std::optional<InferredInterval> yearly = InferInterval(
      kDate, {Quoted("2025-01-01", "2026-01-01"), Quoted("2027-01-01", "2028-01-01")});
  ASSERT_TRUE(yearly);
  EXPECT_EQ(*yearly, (InferredInterval{Months(12), At(2025, 1, 1)}));
}

TEST(RangeInferTest, DailyTimestamptzAcrossDstIsDaysInCivilTime) {
  const std::optional<InferredInterval> inferred =
      InferInterval(kTsTz, {Quoted("2026-03-28 00:00:00+01", "2026-03-29 00:00:00+01"),
                            Quoted("2026-03-29 00:00:00+01", "2026-03-30 00:00:00+02"),
                            Quoted("2026-10-25 00:00:00+02", "2026-10-26 00:00:00+01")});
  ASSERT_TRUE(inferred);
  EXPECT_EQ(*inferred, (InferredInterval{Days(1), At(2026, 3, 28)}));
}

TEST(RangeInferTest, HourlyTimestamptzAcrossDstIsMicrosInUtc) {
  const std::optional<InferredInterval> inferred =
      InferInterval(kTsTz, {Quoted("2026-03-29 01:00:00+01", "2026-03-29 03:00:00+02"),
                            Quoted("2026-03-29 03:00:00+02", "2026-03-29 04:00:00+02"),
                            Quoted("2026-03-29 00:00:00+01", "2026-03-29 01:00:00+01")});
  ASSERT_TRUE(inferred);
  EXPECT_EQ(*inferred, (InferredInterval{Micros(kHour), At(2026, 3, 28, 23)}));
}

TEST(RangeInferTest, HourlyTimestamp) {
  const std::optional<InferredInterval> inferred =
      InferInterval(kTs, {Quoted("2026-11-26 13:00:00", "2026-11-26 14:00:00"),
                          Quoted("2026-11-26 15:00:00", "2026-11-26 16:00:00")});
  ASSERT_TRUE(inferred);
  EXPECT_EQ(*inferred, (InferredInterval{Micros(kHour), At(2026, 11, 26, 13)}));
}

TEST(RangeInferTest, Integers) {
  const std::optional<InferredInterval> inferred = InferInterval(
      kInt, {Bounds("'-1000'", "0"), Bounds("0", "1000"), Bounds("1000", "MAXVALUE")});
  ASSERT_TRUE(inferred);
  EXPECT_EQ(*inferred, (InferredInterval{Width(1000), -1000}));
}

TEST(RangeInferTest, MixedWidthsAreNotInferred) {
  const std::string a = Quoted("2026-01-01", "2026-01-02");
  const std::string b = Quoted("2026-01-02", "2026-01-04");
  std::string error;
  EXPECT_EQ(InferInterval(kDate, {a, b}, &error), std::nullopt);
  EXPECT_NE(error.find(a), std::string::npos) << error;
  EXPECT_NE(error.find(b), std::string::npos) << error;
  EXPECT_EQ(InferInterval(kInt, {Bounds("0", "10"), Bounds("10", "30")}), std::nullopt);
  // Monthly widths in days differ, and one is not on the 1st.
  EXPECT_EQ(InferInterval(kTs, {Quoted("2026-01-01 00:00:00", "2026-02-01 00:00:00"),
                                Quoted("2026-02-01 00:00:00", "2026-03-02 00:00:00")}),
            std::nullopt);
}

TEST(RangeInferTest, NothingFiniteOrUnparsable) {
  std::string error;
  EXPECT_EQ(InferInterval(kDate, {}, &error), std::nullopt);
  EXPECT_NE(error.find("finite"), std::string::npos) << error;
  EXPECT_EQ(InferInterval(kDate,
                          {Bounds("MINVALUE", "'2026-01-01'"), Bounds("'2026-01-01'", "MAXVALUE")}),
            std::nullopt);
  EXPECT_EQ(InferInterval(kDate, {"DEFAULT"}, &error), std::nullopt);
  EXPECT_NE(error.find("DEFAULT"), std::string::npos) << error;
}

}  // namespace
}  // namespace partwatch::policy
