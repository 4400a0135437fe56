#include "policy/range.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "policy/naming.h"

namespace partwatch::policy {
namespace {

constexpr RangeKeyType kInt = RangeKeyType::kInteger;
constexpr RangeKeyType kDate = RangeKeyType::kDate;
constexpr RangeKeyType kTs = RangeKeyType::kTimestamp;
constexpr RangeKeyType kTsTz = RangeKeyType::kTimestampTz;
constexpr TzDomain kCivil = TzDomain::kCivil;
constexpr TzDomain kUtc = TzDomain::kUtc;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

constexpr RangeInterval Days(int64_t n) { return RangeInterval{.days = n}; }
constexpr RangeInterval Months(int64_t n) { return RangeInterval{.months = n}; }
constexpr RangeInterval Micros(int64_t n) { return RangeInterval{.micros = n}; }
constexpr RangeInterval Width(int64_t n) { return RangeInterval{.width = n}; }

// The oracle for civil points: std::chrono's calendar (no time zones), an
// implementation independent of range.cc's.
int64_t At(int y, unsigned m, unsigned d, int64_t hh = 0, int64_t mi = 0, int64_t ss = 0,
           int64_t us = 0) {
  const std::chrono::sys_days days{std::chrono::year{y} / std::chrono::month{m} /
                                   std::chrono::day{d}};
  return days.time_since_epoch().count() * kDay + hh * kHour + mi * kMinute + ss * kSecond + us;
}

std::string Bounds(const std::string& from, const std::string& to) {
  return "FOR VALUES FROM (" + from + ") TO (" + to + ")";
}

// "FOR VALUES FROM ('a') TO ('b')".
std::string Quoted(const std::string& from, const std::string& to) {
  return Bounds("'" + from + "'", "'" + to + "'");
}

Bucketer MakeBucketer(RangeKeyType type, RangeInterval interval,
                      std::vector<std::string> bounds = {},
                      std::optional<int64_t> origin = std::nullopt) {
  Result<Bucketer> b = Bucketer::Make(type, interval, origin, std::move(bounds));
  if (!b.ok()) ADD_FAILURE() << b.error().message;
  return std::move(b).value();  // throws (and fails the test) when !ok
}

Bucket B(int64_t lo, int64_t hi, std::string lo_literal, std::string hi_literal,
         bool clipped = false) {
  return Bucket{lo, hi, std::move(lo_literal), std::move(hi_literal), clipped};
}

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

// ---- pg_partman names ----

Bucket DateBucket(RangeKeyType type, RangeInterval interval, const std::string& value) {
  std::optional<Bucket> b = MakeBucketer(type, interval).BucketOf(value);
  if (!b) ADD_FAILURE() << value;
  return b.value_or(Bucket{});
}

TEST(RangePartmanNameTest, Version4Formats) {
  const Bucket daily = DateBucket(kDate, Days(1), "2026-11-26");
  EXPECT_EQ(PartmanName("events", "YYYY_MM_DD", daily, kDate), "events_p2026_11_26");
  EXPECT_EQ(PartmanName("events", "YYYY_MM", DateBucket(kDate, Months(1), "2026-11-26"), kDate),
            "events_p2026_11");
  EXPECT_EQ(PartmanName("events", "YYYY", DateBucket(kDate, Months(12), "2026-11-26"), kDate),
            "events_p2026");
  EXPECT_EQ(PartmanName("events", "YYYY\"q\"Q", DateBucket(kDate, Months(3), "2026-11-26"), kDate),
            "events_p2026q4");
  EXPECT_EQ(PartmanName("events", "IYYY\"w\"IW", DateBucket(kDate, Days(7), "2026-11-26"), kDate),
            "events_p2026w48");
  EXPECT_EQ(PartmanName("events", "YYYY_MM_DD_HH24MI",
                        DateBucket(kTs, Micros(kHour), "2026-11-26 13:45:07"), kTs),
            "events_p2026_11_26_1300");
}

TEST(RangePartmanNameTest, Version5Formats) {
  EXPECT_EQ(PartmanName("events", "YYYYMMDD", DateBucket(kDate, Days(1), "2026-11-26"), kDate),
            "events_p20261126");
  EXPECT_EQ(PartmanName("events", "YYYYMMDD_HH24MISS",
                        DateBucket(kTsTz, Micros(kHour), "2026-11-26 13:45:07+00"), kTsTz),
            "events_p20261126_130000");
}

TEST(RangePartmanNameTest, IsoWeekYearDiffersFromCalendarYear) {
  // 2027-01-01 is in ISO week 2026-W53; 2021-01-03 in 2020-W53.
  EXPECT_EQ(PartmanName("events", "IYYY\"w\"IW", DateBucket(kDate, Days(7), "2027-01-01"), kDate),
            "events_p2026w53");
  EXPECT_EQ(PartmanName("events", "IYYY\"w\"IW", DateBucket(kDate, Days(1), "2021-01-03"), kDate),
            "events_p2020w53");
  EXPECT_EQ(PartmanName("events", "IYYY\"w\"IW", DateBucket(kDate, Days(1), "1969-12-29"), kDate),
            "events_p1970w01");
}

TEST(RangePartmanNameTest, IntegersUseTheDecimalLo) {
  EXPECT_EQ(PartmanName("ids", "", DateBucket(kInt, Width(1000), "1234"), kInt), "ids_p1000");
  EXPECT_EQ(PartmanName("ids", "", DateBucket(kInt, Width(1000), "-5"), kInt), "ids_p-1000");
}

TEST(RangePartmanNameTest, LongParentIsCutTo63Bytes) {
  const Bucket daily = DateBucket(kDate, Days(1), "2026-11-26");
  const std::string parent(70, 'e');
  const std::string name = PartmanName(parent, "YYYY_MM_DD", daily, kDate);
  EXPECT_EQ(name.size(), kMaxIdentifierBytes);
  EXPECT_EQ(name, std::string(51, 'e') + "_p2026_11_26");
  // Exactly 63 bytes is left alone.
  EXPECT_EQ(PartmanName(std::string(51, 'e'), "YYYY_MM_DD", daily, kDate),
            std::string(51, 'e') + "_p2026_11_26");
  EXPECT_EQ(PartmanName(std::string(52, 'e'), "YYYY_MM_DD", daily, kDate),
            std::string(51, 'e') + "_p2026_11_26");
}

TEST(RangePartmanNameTest, CutDoesNotSplitAUtf8Character) {
  const Bucket daily = DateBucket(kDate, Days(1), "2026-11-26");
  // 50 ASCII bytes, then a 2-byte "é" across the 51-byte cut.
  const std::string parent = std::string(50, 'e') + "\xc3\xa9" + "tail";
  EXPECT_EQ(PartmanName(parent, "YYYY_MM_DD", daily, kDate), std::string(50, 'e') + "_p2026_11_26");
  // With room for the whole character it stays.
  EXPECT_EQ(PartmanName(std::string(49, 'e') + "\xc3\xa9" + "tail", "YYYY_MM_DD", daily, kDate),
            std::string(49, 'e') + "\xc3\xa9" + "_p2026_11_26");
}

// ---- Name templates ----

TEST(RangeNameTemplateTest, AcceptsValidTemplates) {
  for (const char* t : {"{parent}_p{from}", "{parent}_p{from:%Y_%m_%d}",
                        "{parent}_{from:%G}w{from:%V}", "p_{from:%Y%m%d_%H%M%S}_{to:%Y%m%d}",
                        "{from}", "{parent}_{from}_{to}", "{parent}_{from:%Yq%q}"}) {
    EXPECT_EQ(ValidateRangeNameTemplate(t), std::nullopt) << t;
  }
  EXPECT_EQ(ValidateRangeNameTemplate("{parent}_p{from}", kInt), std::nullopt);
}

TEST(RangeNameTemplateTest, RejectsNamingTheProblem) {
  const std::pair<const char*, const char*> cases[] = {
      {"{parent}_x", "{from"},
      {"{parent}_{to:%Y}", "{from"},
      {"{parent}-{from}", "'-'"},
      {"{parent}_{frm}", "{frm}"},
      {"{parent:x}_{from}", "{parent:x}"},
      {"{parent}_{from:%Y%j}", "%j"},
      {"{parent}_{from:%Y%}", "'%'"},
      {"{parent}_{from:}", "empty"},
      {"{parent}_{from:%Y-%m}", "'-'"},
      {"{parent}_{from", "'{'"},
      {"{parent}_from}", "'}'"},
      {"{parent}_P{from}", "'P'"},
  };
  for (const auto& [tmpl, needle] : cases) {
    const std::optional<std::string> error = ValidateRangeNameTemplate(tmpl);
    ASSERT_NE(error, std::nullopt) << tmpl;
    EXPECT_NE(error->find(needle), std::string::npos) << tmpl << ": " << *error;
  }
  const std::optional<std::string> int_fmt = ValidateRangeNameTemplate("{parent}_p{from:%Y}", kInt);
  ASSERT_NE(int_fmt, std::nullopt);
  EXPECT_NE(int_fmt->find("integer"), std::string::npos) << *int_fmt;
}

TEST(RangeNameTemplateTest, PlainFromIsTheReducedLiteral) {
  EXPECT_EQ(RangePartitionName("{parent}_{from}", "events",
                               DateBucket(kDate, Days(1), "2026-11-26"), kDate),
            "events_2026_11_26");
  EXPECT_EQ(RangePartitionName("{parent}_{from}", "events",
                               DateBucket(kTs, Days(1), "2026-11-26 10:00:00"), kTs),
            "events_2026_11_26_00_00_00");
  EXPECT_EQ(RangePartitionName("{parent}_{from}", "events",
                               DateBucket(kTsTz, Micros(kHour), "2026-11-26 10:30:00+01"), kTsTz),
            "events_2026_11_26_09_00_00_00");
  EXPECT_EQ(
      RangePartitionName("{parent}_p{from}", "ids", DateBucket(kInt, Width(1000), "-5"), kInt),
      "ids_pm1000");
  EXPECT_EQ(
      RangePartitionName("{parent}_p{from}_{to}", "ids", DateBucket(kInt, Width(1000), "5"), kInt),
      "ids_p0_1000");
}

TEST(RangeNameTemplateTest, FormatCodes) {
  const Bucket b = DateBucket(kTs, Micros(kHour), "2026-11-26 13:45:07");
  EXPECT_EQ(RangePartitionName("{parent}_{from:%Y_%m_%d_%H%M%S}_{to:%H}", "events", b, kTs),
            "events_2026_11_26_130000_14");
  EXPECT_EQ(RangePartitionName("{parent}_{from:%Gw%V_q%q}", "events", b, kTs), "events_2026w48_q4");
  // %G/%V use the ISO week-based year.
  EXPECT_EQ(RangePartitionName("{parent}_{from:%Gw%V}", "events",
                               DateBucket(kDate, Days(1), "2027-01-01"), kDate),
            "events_2026w53");
}

TEST(RangeNameTemplateTest, ParentIsReducedAndLeadingDigitGetsP) {
  const Bucket b = DateBucket(kDate, Days(1), "2026-11-26");
  EXPECT_EQ(RangePartitionName("{parent}_{from}", "Events Archive", b, kDate),
            "events_archive_2026_11_26");
  EXPECT_EQ(RangePartitionName("{from:%Y%m%d}_{parent}", "events", b, kDate), "p20261126_events");
  EXPECT_EQ(RangePartitionName("{from}", "events", b, kDate), "p2026_11_26");
}

TEST(RangeNameTemplateTest, ParentIsCutToKeep63Bytes) {
  const Bucket b = DateBucket(kDate, Days(1), "2026-11-26");
  const std::string name =
      RangePartitionName("{parent}_p{from:%Y_%m_%d}", std::string(70, 'e'), b, kDate);
  EXPECT_EQ(name, std::string(51, 'e') + "_p2026_11_26");
  EXPECT_EQ(RangePartitionName("{parent}_p{from:%Y_%m_%d}", std::string(51, 'e'), b, kDate),
            std::string(51, 'e') + "_p2026_11_26");
  // Each {parent} is cut alike: 2 * 26 + 10 = 62 bytes.
  EXPECT_EQ(RangePartitionName("{parent}_{parent}_{from:%Y%m%d}", std::string(40, 'e'), b, kDate),
            std::string(26, 'e') + "_" + std::string(26, 'e') + "_20261126");
}

TEST(RangeNameTemplateTest, DefaultTemplates) {
  EXPECT_EQ(DefaultRangeNameTemplate(kInt, Width(1000)), "{parent}_p{from}");
  EXPECT_EQ(DefaultRangeNameTemplate(kDate, Months(12)), "{parent}_p{from:%Y}");
  EXPECT_EQ(DefaultRangeNameTemplate(kDate, Months(24)), "{parent}_p{from:%Y}");
  EXPECT_EQ(DefaultRangeNameTemplate(kDate, Months(1)), "{parent}_p{from:%Y_%m}");
  EXPECT_EQ(DefaultRangeNameTemplate(kDate, Months(3)), "{parent}_p{from:%Y_%m}");
  EXPECT_EQ(DefaultRangeNameTemplate(kTs, Days(7)), "{parent}_p{from:%Y_%m_%d}");
  EXPECT_EQ(DefaultRangeNameTemplate(kTsTz, Micros(kHour)), "{parent}_p{from:%Y_%m_%d_%H%M}");
  EXPECT_EQ(DefaultRangeNameTemplate(kTsTz, Micros(30 * kSecond)),
            "{parent}_p{from:%Y_%m_%d_%H%M%S}");
  EXPECT_EQ(DefaultRangeNameTemplate(kTsTz, Micros(kSecond / 2)), "{parent}_p{from}");
  for (RangeKeyType type : {kInt, kDate, kTs, kTsTz}) {
    for (RangeInterval interval :
         {Width(10), Months(1), Days(1), Micros(kHour), Micros(kSecond / 2)}) {
      if (ValidateInterval(type, interval)) continue;
      EXPECT_EQ(ValidateRangeNameTemplate(DefaultRangeNameTemplate(type, interval), type),
                std::nullopt);
    }
  }
}

TEST(RangeNameTemplateTest, DefaultTemplatesMatchPartman4Names) {
  struct Case {
    RangeKeyType type;
    RangeInterval interval;
    const char* value;
    const char* partman_format;
  };
  for (const Case& c : {Case{kDate, Months(12), "2026-11-26", "YYYY"},
                        Case{kDate, Months(1), "2026-11-26", "YYYY_MM"},
                        Case{kTs, Days(1), "2026-11-26 10:00:00", "YYYY_MM_DD"},
                        Case{kTs, Micros(kHour), "2026-11-26 10:20:00", "YYYY_MM_DD_HH24MI"},
                        Case{kInt, Width(1000), "123456", ""}}) {
    const Bucket b = DateBucket(c.type, c.interval, c.value);
    EXPECT_EQ(RangePartitionName(DefaultRangeNameTemplate(c.type, c.interval), "events", b, c.type),
              PartmanName("events", c.partman_format, b, c.type))
        << c.value;
  }
}

}  // namespace
}  // namespace partwatch::policy
