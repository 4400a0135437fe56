#include "policy/range_naming.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "policy/naming.h"
#include "tests/policy/range_test_util.h"

namespace partwatch::policy {
namespace {

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
