#include "policy/range_bounds.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include "policy/range_key.h"
#include "tests/policy/range_test_util.h"

namespace partwatch::policy {
namespace {

// ---- ValidateInterval ----

TEST(RangeIntervalTest, AcceptsOneFieldPerType) {
  EXPECT_EQ(ValidateInterval(kInt, Width(100)), std::nullopt);
  EXPECT_EQ(ValidateInterval(kDate, Days(1)), std::nullopt);
  EXPECT_EQ(ValidateInterval(kDate, Months(3)), std::nullopt);
  EXPECT_EQ(ValidateInterval(kTs, Micros(kHour)), std::nullopt);
  EXPECT_EQ(ValidateInterval(kTsTz, Micros(7 * kMinute)), std::nullopt);  // need not divide a day
  EXPECT_EQ(ValidateInterval(kTsTz, Months(12)), std::nullopt);
}

TEST(RangeIntervalTest, RejectsZeroSeveralOrNegativeFields) {
  EXPECT_NE(ValidateInterval(kDate, RangeInterval{}), std::nullopt);
  EXPECT_NE(ValidateInterval(kTs, RangeInterval{.months = 1, .days = 1}), std::nullopt);
  const std::optional<std::string> negative = ValidateInterval(kDate, Days(-1));
  ASSERT_NE(negative, std::nullopt);
  EXPECT_NE(negative->find("days"), std::string::npos) << *negative;
}

TEST(RangeIntervalTest, RejectsFieldsThatDoNotFitTheType) {
  EXPECT_NE(ValidateInterval(kInt, Days(1)), std::nullopt);
  EXPECT_NE(ValidateInterval(kDate, Width(10)), std::nullopt);
  EXPECT_NE(ValidateInterval(kTsTz, Width(10)), std::nullopt);
  const std::optional<std::string> date_hours = ValidateInterval(kDate, Micros(kHour));
  ASSERT_NE(date_hours, std::nullopt);
  EXPECT_NE(date_hours->find("date"), std::string::npos) << *date_hours;
}

TEST(RangeIntervalTest, DomainIsUtcOnlyForSubDayTimestamptz) {
  EXPECT_EQ(DomainFor(kTsTz, Micros(kHour)), kUtc);
  EXPECT_EQ(DomainFor(kTsTz, Days(1)), kCivil);
  EXPECT_EQ(DomainFor(kTsTz, Months(1)), kCivil);
  EXPECT_EQ(DomainFor(kTs, Micros(kHour)), kCivil);
  EXPECT_TRUE(Days(1).calendar());
  EXPECT_FALSE(Micros(kHour).calendar());
}

// ---- ParseRangePoint / FormatRangePoint ----

TEST(RangeParseTest, Integers) {
  EXPECT_EQ(ParseRangePoint(kInt, kCivil, "0"), 0);
  EXPECT_EQ(ParseRangePoint(kInt, kCivil, "42"), 42);
  EXPECT_EQ(ParseRangePoint(kInt, kCivil, "-10"), -10);
  EXPECT_EQ(ParseRangePoint(kInt, kCivil, "9223372036854775807"), kInt64Max);
  EXPECT_EQ(ParseRangePoint(kInt, kCivil, "-9223372036854775808"), kInt64Min);
}

TEST(RangeParseTest, IntegerRejects) {
  for (const char* text : {"", "-", "+1", "1.5", " 1", "1 ", "1e3", "0x10", "--1", "1-",
                           "9223372036854775808", "-9223372036854775809", "99999999999999999999"}) {
    EXPECT_EQ(ParseRangePoint(kInt, kCivil, text), std::nullopt) << text;
  }
}

TEST(RangeParseTest, Dates) {
  EXPECT_EQ(ParseRangePoint(kDate, kCivil, "1970-01-01"), 0);
  EXPECT_EQ(ParseRangePoint(kDate, kCivil, "2026-11-26"), At(2026, 11, 26));
  EXPECT_EQ(ParseRangePoint(kDate, kCivil, "1969-12-31"), -kDay);
  EXPECT_EQ(ParseRangePoint(kDate, kCivil, "2024-02-29"), At(2024, 2, 29));
  EXPECT_EQ(ParseRangePoint(kDate, kCivil, "0001-01-01"), -719162 * kDay);
  EXPECT_EQ(ParseRangePoint(kDate, kCivil, "12026-01-01"), At(12026, 1, 1));
}

TEST(RangeParseTest, DateRejects) {
  for (const char* text : {"2026-02-29",    "2100-02-29",  "2026-13-01", "2026-00-10",
                           "2026-04-31",    "2026-01-00",  "0000-01-01", "0001-01-01 BC",
                           "2026-01-01 BC", "infinity",    "-infinity",  "26-01-01",
                           "2026-1-01",     "2026-01-1",   "2026/01/01", "2026-01-01 00:00:00",
                           "2026-01-01x",   " 2026-01-01", "",           "5874897-12-31"}) {
    EXPECT_EQ(ParseRangePoint(kDate, kCivil, text), std::nullopt) << text;
  }
}

TEST(RangeParseTest, Timestamps) {
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "2026-11-26 13:45:07"), At(2026, 11, 26, 13, 45, 7));
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "1969-12-31 23:59:59"), -kSecond);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "12026-01-01 00:00:00"), At(12026, 1, 1));
}

TEST(RangeParseTest, FractionalSecondsHaveOneToSixDigits) {
  const int64_t base = At(2026, 11, 26, 13, 45, 7);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "2026-11-26 13:45:07.5"), base + 500'000);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "2026-11-26 13:45:07.12"), base + 120'000);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "2026-11-26 13:45:07.000001"), base + 1);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "2026-11-26 13:45:07.123456"), base + 123'456);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "1969-12-31 23:59:59.5"), -kSecond / 2);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "2026-11-26 13:45:07.1234567"), std::nullopt);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "2026-11-26 13:45:07."), std::nullopt);
}

TEST(RangeParseTest, TimestampRejects) {
  for (const char* text :
       {"2026-11-26", "2026-11-26 24:00:00", "2026-11-26 23:60:00", "2026-11-26 23:59:60",
        "2026-11-26T13:45:07", "2026-11-26 13:45", "2026-11-26 1:45:07", "2026-11-26 13:45:07+01",
        "2026-11-26 13:45:07 BC", "infinity", "-infinity", "0000-12-31 23:59:59",
        "2026-11-26 13:45:07 "}) {
    EXPECT_EQ(ParseRangePoint(kTs, kCivil, text), std::nullopt) << text;
  }
}

TEST(RangeParseTest, TimestamptzCivilIgnoresTheOffset) {
  const int64_t civil = At(2026, 3, 29, 3, 30);
  EXPECT_EQ(ParseRangePoint(kTsTz, kCivil, "2026-03-29 03:30:00+02"), civil);
  EXPECT_EQ(ParseRangePoint(kTsTz, kCivil, "2026-03-29 03:30:00+05:30"), civil);
  EXPECT_EQ(ParseRangePoint(kTsTz, kCivil, "2026-03-29 03:30:00-03:30"), civil);
  EXPECT_EQ(ParseRangePoint(kTsTz, kCivil, "2026-03-29 03:30:00+00:19:32"), civil);
  // How partwatch writes bounds: no offset, read in the session zone.
  EXPECT_EQ(ParseRangePoint(kTsTz, kCivil, "2026-03-29 03:30:00"), civil);
}

TEST(RangeParseTest, TimestamptzUtcSubtractsTheOffset) {
  EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, "2026-03-29 03:30:00+02"), At(2026, 3, 29, 1, 30));
  EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, "2026-03-29 03:30:00+05:30"), At(2026, 3, 28, 22, 0));
  EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, "2026-03-29 03:30:00-03:30"), At(2026, 3, 29, 7, 0));
  EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, "1920-01-01 00:00:00+00:19:32"),
            At(1919, 12, 31, 23, 40, 28));
  EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, "2026-03-29 03:30:00.25+00"),
            At(2026, 3, 29, 3, 30, 0, 250'000));
  // Without an offset the instant is unknown.
  EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, "2026-03-29 03:30:00"), std::nullopt);
}

TEST(RangeParseTest, TimestamptzRejects) {
  for (const char* text :
       {"2026-03-29 03:30:00+16", "2026-03-29 03:30:00+5", "2026-03-29 03:30:00+05:3",
        "2026-03-29 03:30:00+05:60", "2026-03-29 03:30:00+05:30:1", "2026-03-29 03:30:00Z",
        "2026-03-29 03:30:00 +02", "2026-03-29 03:30:00+02 ", "2026-03-29 03:30:00+02 BC",
        "2026-03-29 03:30:00+", "infinity", "-infinity", "2026-03-29"}) {
    EXPECT_EQ(ParseRangePoint(kTsTz, kCivil, text), std::nullopt) << text;
    EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, text), std::nullopt) << text;
  }
}

TEST(RangeParseTest, OverflowIsRejected) {
  // INT64_MAX microseconds after 1970-01-01 is 294247-01-10 04:00:54.775807.
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "294247-01-10 04:00:54.775807"), kInt64Max);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "294247-01-10 04:00:54.775808"), std::nullopt);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "294248-01-01 00:00:00"), std::nullopt);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "999999999-01-01 00:00:00"), std::nullopt);
  EXPECT_EQ(ParseRangePoint(kTs, kCivil, "1000000000-01-01 00:00:00"), std::nullopt);
  EXPECT_EQ(ParseRangePoint(kDate, kCivil, "294248-01-01"), std::nullopt);
  // A negative offset can push a valid civil time past the end.
  EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, "294247-01-10 04:00:54-01"), std::nullopt);
}

TEST(RangeParseTest, UtcBeforeYearOneIsRejected) {
  EXPECT_EQ(ParseRangePoint(kTsTz, kCivil, "0001-01-01 00:00:00+05"), At(1, 1, 1));
  EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, "0001-01-01 00:00:00+05"), std::nullopt);
  EXPECT_EQ(ParseRangePoint(kTsTz, kUtc, "0001-01-01 00:00:00-05"), At(1, 1, 1, 5));
}

TEST(RangeParseTest, FormatIsCanonical) {
  EXPECT_EQ(FormatRangePoint(kInt, kCivil, -10), "-10");
  EXPECT_EQ(FormatRangePoint(kInt, kCivil, kInt64Min), "-9223372036854775808");
  EXPECT_EQ(FormatRangePoint(kDate, kCivil, At(2026, 11, 26)), "2026-11-26");
  EXPECT_EQ(FormatRangePoint(kDate, kCivil, At(999, 1, 1)), "0999-01-01");
  EXPECT_EQ(FormatRangePoint(kDate, kCivil, At(12026, 1, 1)), "12026-01-01");
  EXPECT_EQ(FormatRangePoint(kTs, kCivil, At(2026, 11, 26)), "2026-11-26 00:00:00");
  EXPECT_EQ(FormatRangePoint(kTs, kCivil, At(1969, 12, 31, 23, 59, 59, 500'000)),
            "1969-12-31 23:59:59.5");
  EXPECT_EQ(FormatRangePoint(kTs, kCivil, At(2026, 1, 1, 0, 0, 0, 1)),
            "2026-01-01 00:00:00.000001");
  EXPECT_EQ(FormatRangePoint(kTsTz, kCivil, At(2026, 3, 29)), "2026-03-29 00:00:00");
  EXPECT_EQ(FormatRangePoint(kTsTz, kUtc, At(2026, 3, 29, 1)), "2026-03-29 01:00:00+00");
  EXPECT_EQ(FormatRangePoint(kTs, kCivil, kInt64Max), "294247-01-10 04:00:54.775807");
}

TEST(RangeParseTest, FormatThenParseRoundTripsRandomPoints) {
  std::mt19937_64 rng(20261126);
  const int64_t min_time = At(1, 1, 1);
  std::uniform_int_distribution<int64_t> any_time(min_time, kInt64Max);
  std::uniform_int_distribution<int64_t> near_now(At(1900, 1, 1), At(2100, 1, 1));
  std::uniform_int_distribution<int64_t> any_int(kInt64Min, kInt64Max);
  for (int i = 0; i < 20'000; ++i) {
    const int64_t t = (i % 2 == 0) ? any_time(rng) : near_now(rng);
    for (const auto& [type, domain] :
         {std::pair{kTs, kCivil}, std::pair{kTsTz, kCivil}, std::pair{kTsTz, kUtc}}) {
      const std::string text = FormatRangePoint(type, domain, t);
      ASSERT_EQ(ParseRangePoint(type, domain, text), t) << text;
    }
    const int64_t midnight = t - ((t % kDay) + kDay) % kDay;
    const std::string date = FormatRangePoint(kDate, kCivil, midnight);
    ASSERT_EQ(ParseRangePoint(kDate, kCivil, date), midnight) << date;
    const int64_t n = any_int(rng);
    ASSERT_EQ(ParseRangePoint(kInt, kCivil, FormatRangePoint(kInt, kCivil, n)), n);
  }
}

// ---- Partition bounds ----

TEST(RangeBoundTest, ParsesQuotedAndBareValues) {
  Result<ExistingPartition> p =
      ParsePartitionBound(kDate, kCivil, Quoted("2026-11-26", "2026-11-27"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p.value(),
            (ExistingPartition{At(2026, 11, 26), At(2026, 11, 27), "2026-11-26", "2026-11-27"}));
  Result<ExistingPartition> ints = ParsePartitionBound(kInt, kCivil, Bounds("0", "1000"));
  ASSERT_TRUE(ints.ok()) << ints.error().message;
  EXPECT_EQ(ints->lo, 0);
  EXPECT_EQ(ints->hi, 1000);
}

TEST(RangeBoundTest, NegativeIntegersQuotedOrNot) {
  Result<ExistingPartition> bare = ParsePartitionBound(kInt, kCivil, Bounds("-10", "1000"));
  Result<ExistingPartition> quoted = ParsePartitionBound(kInt, kCivil, Bounds("'-10'", "1000"));
  ASSERT_TRUE(bare.ok() && quoted.ok());
  EXPECT_EQ(bare.value(), quoted.value());
  EXPECT_EQ(bare->lo, -10);
  EXPECT_EQ(bare->lo_literal, "-10");
}

TEST(RangeBoundTest, MinValueAndMaxValue) {
  Result<ExistingPartition> low =
      ParsePartitionBound(kTs, kCivil, Bounds("MINVALUE", "'2026-01-01 00:00:00'"));
  ASSERT_TRUE(low.ok()) << low.error().message;
  EXPECT_EQ(low->lo, kMinValuePoint);
  EXPECT_EQ(low->lo_literal, "");
  EXPECT_EQ(low->hi, At(2026, 1, 1));
  Result<ExistingPartition> high =
      ParsePartitionBound(kTsTz, kCivil, Bounds("'12026-01-01 00:00:00+01'", "MAXVALUE"));
  ASSERT_TRUE(high.ok()) << high.error().message;
  EXPECT_EQ(high->lo, At(12026, 1, 1));
  EXPECT_EQ(high->hi, kMaxValuePoint);
}

TEST(RangeBoundTest, InfinityActsAsMinOrMaxValue) {
  Result<ExistingPartition> p =
      ParsePartitionBound(kDate, kCivil, Quoted("-infinity", "2020-01-01"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->lo, kMinValuePoint);
  Result<ExistingPartition> q =
      ParsePartitionBound(kDate, kCivil, Quoted("2030-01-01", "infinity"));
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_EQ(q->hi, kMaxValuePoint);
  // Legal in PostgreSQL and holds no finite value: accepted, empty.
  Result<ExistingPartition> empty =
      ParsePartitionBound(kDate, kCivil, Bounds("'infinity'", "MAXVALUE"));
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->lo, empty->hi);
  // Integers have no infinity.
  EXPECT_FALSE(ParsePartitionBound(kInt, kCivil, Quoted("-infinity", "0")).ok());
}

TEST(RangeBoundTest, TimestamptzBoundsByDomain) {
  const std::string text = Quoted("2026-03-29 00:00:00+01", "2026-03-30 00:00:00+02");
  Result<ExistingPartition> civil = ParsePartitionBound(kTsTz, kCivil, text);
  ASSERT_TRUE(civil.ok()) << civil.error().message;
  EXPECT_EQ(civil->lo, At(2026, 3, 29));
  EXPECT_EQ(civil->hi, At(2026, 3, 30));
  EXPECT_EQ(civil->lo_literal, "2026-03-29 00:00:00+01");  // kept: tells the server the instant
  Result<ExistingPartition> utc = ParsePartitionBound(kTsTz, kUtc, text);
  ASSERT_TRUE(utc.ok()) << utc.error().message;
  EXPECT_EQ(utc->lo, At(2026, 3, 28, 23));
  EXPECT_EQ(utc->hi, At(2026, 3, 29, 22));
  EXPECT_EQ(utc->lo_literal, "2026-03-28 23:00:00+00");
}

TEST(RangeBoundTest, AcceptsCastsAndSpacing) {
  const int64_t lo = At(2026, 1, 1);
  for (const std::string& text :
       {Bounds("'2026-01-01 00:00:00+01'::timestamp with time zone", "MAXVALUE"),
        Bounds("'2026-01-01 00:00:00+01'::timestamptz", "MAXVALUE"),
        Bounds("'2026-01-01 00:00:00+01'::timestamp(6) with time zone", "MAXVALUE"),
        Bounds("'2026-01-01 00:00:00+01'::pg_catalog.timestamptz", "MAXVALUE"),
        std::string("FOR VALUES FROM ( '2026-01-01 00:00:00+01' ) TO ( MAXVALUE )"),
        std::string("for values from ('2026-01-01 00:00:00+01') to (maxvalue)")}) {
    Result<ExistingPartition> p = ParsePartitionBound(kTsTz, kCivil, text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.error().message;
    EXPECT_EQ(p->lo, lo) << text;
  }
  Result<ExistingPartition> ints =
      ParsePartitionBound(kInt, kCivil, Bounds("'-5'::integer", "5::bigint"));
  ASSERT_TRUE(ints.ok()) << ints.error().message;
  EXPECT_EQ(ints->lo, -5);
  EXPECT_EQ(ints->hi, 5);
}

TEST(RangeBoundTest, RejectsOtherBoundsNamingTheText) {
  for (const std::string& text : {
           std::string("DEFAULT"),
           std::string("FOR VALUES IN ('a', 'b')"),
           std::string("FOR VALUES WITH (modulus 4, remainder 0)"),
           std::string("FOR VALUES FROM ('2026-01-01 00:00:00', 1) TO ('2026-02-01 00:00:00', "
                       "MAXVALUE)"),
           Quoted("2026-01-01 00:00:00", "2026-02-01 00:00:00") + " extra",
           std::string("FOR VALUES FROM ('2026-01-01 00:00:00) TO (MAXVALUE)"),
           Quoted("2026-02-01 00:00:00", "2026-01-01 00:00:00"),
           Quoted("2026-01-01 00:00:00", "2026-01-01 00:00:00"),
           Quoted("2026-01-01", "2026-02-01 00:00:00"),
           Quoted("it''s", "2026-02-01 00:00:00"),
           Bounds("MAXVALUE", "MINVALUE"),
           Bounds("'2026-01-01 00:00:00'::", "MAXVALUE"),
           std::string(""),
       }) {
    Result<ExistingPartition> p = ParsePartitionBound(kTs, kCivil, text);
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.error().kind, Error::Kind::kCorrupt);
    EXPECT_NE(p.error().message.find("\"" + text + "\""), std::string::npos) << p.error().message;
  }
}

TEST(RangeBoundTest, QuoteEscapesAreUnescapedBeforeParsing) {
  Result<ExistingPartition> p = ParsePartitionBound(kTs, kCivil, Quoted("it''s", "x"));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("'it's'"), std::string::npos) << p.error().message;
}

}  // namespace
}  // namespace partwatch::policy
