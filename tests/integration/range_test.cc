// Integration tests: RANGE-partitioned tables without pg_partman
// (policy/range.h's bucketing contract end to end): buckets of a configured
// or inferred interval, aligned and clipped to the existing partitions,
// timestamptz days in the configured zone across DST changes, integer
// widths, the max_future horizon, the hourly cap and `status --json`.
//
// Dates are computed from the server's current_date, read once per test
// (partwatch's horizon is relative to now()), except for the DST test,
// whose days are fixed and in the past.  Every test asserts on the
// partitions' bounds as pg_get_expr() prints them, on rows per partition,
// and on DEFAULT being empty of what was moved.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/calendar.h"
#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

using nlohmann::json;
using std::chrono::days;
using std::chrono::sys_days;

// Calendar helpers (the expected names and bounds): calendar.h.

// ---- Database probes ----

// pg_get_expr(relpartbound) of `relname`, printed in a session with
// TimeZone `zone` ("" = the server's).
std::string Bound(const TestDatabase& db, const std::string& relname,
                  const std::string& zone = "") {
  pg::Connection c = db.Connect();
  if (!zone.empty()) c.Exec("SET TimeZone = " + c.QuoteLiteral(zone));
  pg::QueryResult r = c.ExecParams(
      "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = to_regclass($1)", {relname});
  return r.rows() == 1 ? r.text(0, 0) : "(no relation " + relname + ")";
}

int64_t Rows(const TestDatabase& db, const std::string& relation) {
  return Count(db, "SELECT count(*) FROM ONLY " + relation);
}

// A config whose [source] also sets time_zone.
std::string ConfigWithZone(const TestDatabase& db, const std::string& tables,
                           const std::string& zone) {
  std::string config = MakeConfig(db, tables);
  const std::string anchor = "\n[log]";
  const size_t pos = config.find(anchor);
  if (pos == std::string::npos) throw std::runtime_error("unexpected config layout: " + config);
  config.insert(pos, "time_zone = \"" + zone + "\"\n");
  return config;
}

// A daily `date` table `name` (key event_date) with one partition per day
// in `days_with_partitions`, named like partwatch's default
// (name_pYYYY_MM_DD), and DEFAULT name_default.
std::string DailyDateTableDdl(const std::string& name,
                              const std::vector<sys_days>& partition_days) {
  std::string sql = "CREATE TABLE " + name +
                    " (id bigserial, event_date date, payload text) "
                    "PARTITION BY RANGE (event_date);\n"
                    "CREATE TABLE " +
                    name + "_default PARTITION OF " + name + " DEFAULT;\n";
  for (sys_days d : partition_days) {
    sql += "CREATE TABLE " + name + "_p" + Underscored(d) + " PARTITION OF " + name + " " +
           DateBound(d, d + days{1}) + ";\n";
  }
  return sql;
}

std::string InsertDays(const std::string& table, const std::vector<sys_days>& rows) {
  std::string values;
  for (sys_days d : rows) values += (values.empty() ? "('" : ", ('") + Iso(d) + "')";
  return "INSERT INTO " + table + " (event_date) VALUES " + values;
}

class RangeTest : public PartwatchTest {
 protected:
  void SetUp() override {
    PartwatchTest::SetUp();
    today_ = ParseDay(db_->Scalar("SELECT current_date"));
  }
  sys_days Day(int offset) const { return today_ + days{offset}; }

  sys_days today_;
};

// Threshold 0 ("premake" mode): one row for a day after the last partition
// creates that day's partition only; the days in between stay without
// partitions (no pg_partman to keep children contiguous for).
TEST_F(RangeTest, ThresholdZeroCreatesOnlyTheRowsDay) {
  db_->Exec(DailyDateTableDdl("events", {Day(-2), Day(-1), Day(0)}));
  db_->Exec(InsertDays("events", {Day(-2), Day(-1), Day(0)}));
  auto pw = StartRun(Config(TableBlock("public.events", 0)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();

  db_->Exec(InsertDays("events", {Day(3)}));
  const std::string created = "events_p" + Underscored(Day(3));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, created); }, std::chrono::seconds(10)))
      << pw->Log();
  EXPECT_EQ(Bound(*db_, created), DateBound(Day(3), Day(4)));
  EXPECT_EQ(Rows(*db_, created), 1);
  EXPECT_EQ(Rows(*db_, "events_default"), 0);
  EXPECT_EQ(Partitions(*db_, "public.events"),
            (std::vector<std::string>{"events_default", "events_p" + Underscored(Day(-2)),
                                      "events_p" + Underscored(Day(-1)),
                                      "events_p" + Underscored(Day(0)), created}));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), 4);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// A partition dropped while partwatch runs (pg_partman retention, an
// operator): rows for its range land in DEFAULT, but the catalog partwatch
// read still places them inside the old partition.  It notices, re-reads
// the partitions, recounts, and acts at the threshold as usual.
TEST_F(RangeTest, RowsForADroppedPartitionAreCountedAfterARefresh) {
  db_->Exec(DailyDateTableDdl("events", {Day(-3), Day(-2), Day(-1)}));
  auto pw = StartRun(Config(TableBlock("public.events", 2)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  const std::string dropped = "events_p" + Underscored(Day(-2));
  db_->Exec("DROP TABLE " + dropped);
  db_->Exec(InsertDays("events", {Day(-2), Day(-2), Day(-2)}));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, dropped); }, std::chrono::seconds(20)))
      << pw->Log();
  EXPECT_EQ(Bound(*db_, dropped), DateBound(Day(-2), Day(-1)));
  EXPECT_EQ(Rows(*db_, dropped), 3);
  EXPECT_EQ(Rows(*db_, "events_default"), 0);
  EXPECT_NE(pw->Log().find("no longer takes it"), std::string::npos) << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// No `interval` in the config: monthly partitions of a timestamp table give
// monthly buckets on the 1st at 00:00.  A table whose partitions differ in
// width takes its interval from the config ("1 year"), aligned on 1 January.
TEST_F(RangeTest, MonthlyIntervalInferredAndYearlyFromConfig) {
  const sys_days m0 = MonthStart(today_, 0);
  std::string ddl =
      "CREATE TABLE readings (id bigserial, taken_at timestamp NOT NULL, v int) "
      "PARTITION BY RANGE (taken_at);\n"
      "CREATE TABLE readings_default PARTITION OF readings DEFAULT;\n";
  for (int k = -3; k <= -1; ++k) {
    const sys_days lo = MonthStart(m0, k);
    const sys_days hi = MonthStart(m0, k + 1);
    ddl += "CREATE TABLE readings_p" + Underscored(lo).substr(0, 7) +
           " PARTITION OF readings FOR VALUES FROM ('" + Iso(lo) + "') TO ('" + Iso(hi) + "');\n";
  }
  const int year = YearOf(today_);
  const std::string y = std::to_string(year);
  const std::string y_1 = std::to_string(year - 1);
  const std::string y_2 = std::to_string(year - 2);
  const std::string y1 = std::to_string(year + 1);
  const std::string y2 = std::to_string(year + 2);
  ddl +=
      "CREATE TABLE yearly (id bigserial, stat_year date NOT NULL) "
      "PARTITION BY RANGE (stat_year);\n"
      "CREATE TABLE yearly_default PARTITION OF yearly DEFAULT;\n"
      "CREATE TABLE yearly_p" +
      y_2 + " PARTITION OF yearly FOR VALUES FROM ('" + y_2 + "-01-01') TO ('" + y_1 +
      "-01-01');\n"
      "CREATE TABLE yearly_h" +
      y_1 + " PARTITION OF yearly FOR VALUES FROM ('" + y_1 + "-01-01') TO ('" + y_1 +
      "-07-01');\n";
  db_->Exec(ddl);

  auto pw = StartRun(Config(TableBlock("public.readings", 0) + TableBlock("public.yearly", 0) +
                            "interval = \"1 year\"\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();

  // Mid-month, with a fraction: the bucket still starts on the 1st.
  const sys_days m1 = MonthStart(m0, 1);
  db_->Exec("INSERT INTO readings (taken_at, v) VALUES ('" + Iso(m1 + days{16}) +
            " 13:45:10.5', 1)");
  db_->Exec("INSERT INTO yearly (stat_year) VALUES ('" + y1 + "-05-06')");

  const std::string monthly = "readings_p" + Underscored(m1).substr(0, 7);
  const std::string yearly = "yearly_p" + y1;
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, monthly) && RelationExists(*db_, yearly); },
                      std::chrono::seconds(10)))
      << pw->Log();
  EXPECT_EQ(Bound(*db_, monthly), "FOR VALUES FROM ('" + Iso(m1) + " 00:00:00') TO ('" +
                                      Iso(MonthStart(m0, 2)) + " 00:00:00')");
  EXPECT_EQ(Bound(*db_, yearly), "FOR VALUES FROM ('" + y1 + "-01-01') TO ('" + y2 + "-01-01')");
  EXPECT_EQ(Rows(*db_, monthly), 1);
  EXPECT_EQ(Rows(*db_, yearly), 1);
  EXPECT_EQ(Rows(*db_, "readings_default"), 0);
  EXPECT_EQ(Rows(*db_, "yearly_default"), 0);
  // Only the rows' buckets: not this month, not this year.
  EXPECT_EQ(Partitions(*db_, "public.readings").size(), 5u);
  EXPECT_EQ(
      Partitions(*db_, "public.yearly"),
      (std::vector<std::string>{"yearly_default", "yearly_h" + y_1, "yearly_p" + y_2, yearly}));
  EXPECT_FALSE(RelationExists(*db_, "yearly_p" + y));
  EXPECT_EQ(
      Count(*db_, "SELECT count(*) FROM readings") + Count(*db_, "SELECT count(*) FROM yearly"), 2);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// timestamptz days follow source.time_zone's calendar: the 23-hour spring
// day and the 25-hour autumn day of Europe/Berlin are one bucket each, from
// local midnight to local midnight.  A row half an hour into the next local
// day (still the same day in UTC) stays out: with UTC days all three rows
// would share a bucket.
TEST_F(RangeTest, TimestamptzDaysFollowTheConfiguredZoneAcrossDst) {
  // Sessions default to UTC whatever the machine's zone: only the config
  // can make the days Berlin's.
  db_->Exec("ALTER DATABASE " + db_->name() + " SET TimeZone = 'UTC'");
  db_->Exec(R"sql(
SET TimeZone = 'Europe/Berlin';
CREATE TABLE spring (id bigserial, at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE spring_default PARTITION OF spring DEFAULT;
CREATE TABLE spring_p2026_03_26 PARTITION OF spring FOR VALUES FROM ('2026-03-26') TO ('2026-03-27');
CREATE TABLE spring_p2026_03_27 PARTITION OF spring FOR VALUES FROM ('2026-03-27') TO ('2026-03-28');
CREATE TABLE spring_p2026_03_28 PARTITION OF spring FOR VALUES FROM ('2026-03-28') TO ('2026-03-29');
CREATE TABLE fall (id bigserial, at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE fall_default PARTITION OF fall DEFAULT;
CREATE TABLE fall_p2026_10_22 PARTITION OF fall FOR VALUES FROM ('2026-10-22') TO ('2026-10-23');
CREATE TABLE fall_p2026_10_23 PARTITION OF fall FOR VALUES FROM ('2026-10-23') TO ('2026-10-24');
CREATE TABLE fall_p2026_10_24 PARTITION OF fall FOR VALUES FROM ('2026-10-24') TO ('2026-10-25');
)sql");
  ASSERT_EQ(db_->Scalar("SHOW TimeZone"), "UTC");
  auto pw = StartRun(ConfigWithZone(
      *db_, TableBlock("public.spring", 1) + TableBlock("public.fall", 1), "Europe/Berlin"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();

  // 01:30 CET and 03:30 CEST, around the skipped hour; then 00:30 CEST on
  // the 30th (22:30 UTC on the 29th).
  db_->Exec(
      "INSERT INTO spring (at) VALUES ('2026-03-29 01:30:00+01'), ('2026-03-29 03:30:00+02'), "
      "('2026-03-30 00:30:00+02')");
  // 02:30 twice (CEST, then CET); then 00:30 CET on the 26th (23:30 UTC on
  // the 25th).
  db_->Exec(
      "INSERT INTO fall (at) VALUES ('2026-10-25 02:30:00+02'), ('2026-10-25 02:30:00+01'), "
      "('2026-10-26 00:30:00+01')");
  ASSERT_TRUE(WaitFor(
      [&] {
        return RelationExists(*db_, "spring_p2026_03_29") &&
               RelationExists(*db_, "fall_p2026_10_25");
      },
      std::chrono::seconds(10)))
      << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();

  EXPECT_EQ(Bound(*db_, "spring_p2026_03_29", "Europe/Berlin"),
            "FOR VALUES FROM ('2026-03-29 00:00:00+01') TO ('2026-03-30 00:00:00+02')");
  EXPECT_EQ(Count(*db_,
                  "SELECT (extract(epoch FROM '2026-03-30 00:00:00+02'::timestamptz - "
                  "'2026-03-29 00:00:00+01'::timestamptz) / 3600)::int"),
            23);  // the bucket is one 23-hour local day
  EXPECT_EQ(Rows(*db_, "spring_p2026_03_29"), 2);
  EXPECT_EQ(Rows(*db_, "spring_default"), 1);  // the 30th: one row, threshold 1
  EXPECT_EQ(Count(*db_,
                  "SELECT count(*) FROM spring_default WHERE at = "
                  "'2026-03-30 00:30:00+02'"),
            1);

  EXPECT_EQ(Bound(*db_, "fall_p2026_10_25", "Europe/Berlin"),
            "FOR VALUES FROM ('2026-10-25 00:00:00+02') TO ('2026-10-26 00:00:00+01')");
  EXPECT_EQ(Rows(*db_, "fall_p2026_10_25"), 2);
  EXPECT_EQ(Rows(*db_, "fall_default"), 1);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM fall_default WHERE at = '2026-10-26 00:30:00+01'"),
            1);

  EXPECT_EQ(Partitions(*db_, "public.spring").size(), 5u);
  EXPECT_EQ(Partitions(*db_, "public.fall").size(), 5u);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM spring"), 3);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM fall"), 3);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// Weekly buckets (ISO weeks: the partitions differ in width, so the
// configured interval aligns on Mondays) are cut at the neighbouring
// partitions' bounds: a three-day hole inside one week gets a three-day
// partition, and the week after the last partition starts where it ends.
TEST_F(RangeTest, WeeklyBucketIsClippedToTheGapBetweenPartitions) {
  const unsigned weekday = std::chrono::weekday{today_}.iso_encoding();  // 1 = Monday
  const sys_days w = today_ - days{weekday - 1} - days{21};              // a Monday
  std::string ddl =
      "CREATE TABLE visits (id bigserial, event_date date NOT NULL) "
      "PARTITION BY RANGE (event_date);\n"
      "CREATE TABLE visits_default PARTITION OF visits DEFAULT;\n"
      "CREATE TABLE visits_a PARTITION OF visits " +
      DateBound(w, w + days{9}) +  // Monday to the Wednesday after
      ";\nCREATE TABLE visits_b PARTITION OF visits " + DateBound(w + days{12}, w + days{19}) +
      ";\n";  // Saturday to Saturday
  db_->Exec(ddl);
  auto pw = StartRun(Config(TableBlock("public.visits", 0) + "interval = \"1 week\"\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();

  db_->Exec(InsertDays("visits", {w + days{10}, w + days{20}}));
  const std::string hole = "visits_p" + Underscored(w + days{9});
  const std::string after = "visits_p" + Underscored(w + days{19});
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, hole) && RelationExists(*db_, after); },
                      std::chrono::seconds(10)))
      << pw->Log();
  EXPECT_EQ(Bound(*db_, hole), DateBound(w + days{9}, w + days{12}));
  EXPECT_EQ(Bound(*db_, after), DateBound(w + days{19}, w + days{21}));
  EXPECT_EQ(Rows(*db_, hole), 1);
  EXPECT_EQ(Rows(*db_, after), 1);
  EXPECT_EQ(Rows(*db_, "visits_default"), 0);
  EXPECT_EQ(Partitions(*db_, "public.visits").size(), 5u);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM visits"), 2);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// Integer keys: [k*1000, (k+1)*1000), the width from the config (the
// partitions differ in width) or inferred (they do not); negative buckets
// are named with 'm'.
TEST_F(RangeTest, IntegerBucketsOfWidthThousand) {
  db_->Exec(R"sql(
CREATE TABLE ids_cfg (id bigint NOT NULL, note text) PARTITION BY RANGE (id);
CREATE TABLE ids_cfg_default PARTITION OF ids_cfg DEFAULT;
CREATE TABLE ids_cfg_p0 PARTITION OF ids_cfg FOR VALUES FROM (0) TO (1000);
CREATE TABLE ids_cfg_p1000 PARTITION OF ids_cfg FOR VALUES FROM (1000) TO (1500);
CREATE TABLE ids_inf (id bigint, note text) PARTITION BY RANGE (id);
CREATE TABLE ids_inf_default PARTITION OF ids_inf DEFAULT;
CREATE TABLE ids_inf_p0 PARTITION OF ids_inf FOR VALUES FROM (0) TO (1000);
CREATE TABLE ids_inf_p1000 PARTITION OF ids_inf FOR VALUES FROM (1000) TO (2000);
)sql");
  auto pw = StartRun(Config(TableBlock("public.ids_cfg", 2) + "interval = 1000\n" +
                            TableBlock("public.ids_inf", 0)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();

  // 5000..5999: three rows, over the threshold 2; 6000 is the next bucket.
  db_->Exec("INSERT INTO ids_cfg (id) VALUES (5001), (5500), (5999), (6000)");
  db_->Exec("INSERT INTO ids_inf (id) VALUES (-1), (123456)");
  ASSERT_TRUE(WaitFor(
      [&] {
        return RelationExists(*db_, "ids_cfg_p5000") && RelationExists(*db_, "ids_inf_pm1000") &&
               RelationExists(*db_, "ids_inf_p123000");
      },
      std::chrono::seconds(10)))
      << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_EQ(Bound(*db_, "ids_cfg_p5000"), "FOR VALUES FROM ('5000') TO ('6000')");
  EXPECT_EQ(Rows(*db_, "ids_cfg_p5000"), 3);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ids_cfg_default WHERE id = 6000"), 1);
  EXPECT_EQ(Rows(*db_, "ids_cfg_default"), 1);
  EXPECT_FALSE(RelationExists(*db_, "ids_cfg_p6000"));
  EXPECT_EQ(Bound(*db_, "ids_inf_pm1000"), "FOR VALUES FROM ('-1000') TO ('0')");
  EXPECT_EQ(Bound(*db_, "ids_inf_p123000"), "FOR VALUES FROM ('123000') TO ('124000')");
  EXPECT_EQ(Rows(*db_, "ids_inf_pm1000"), 1);
  EXPECT_EQ(Rows(*db_, "ids_inf_p123000"), 1);
  EXPECT_EQ(Rows(*db_, "ids_inf_default"), 0);
  EXPECT_EQ(Partitions(*db_, "public.ids_cfg").size(), 4u);
  EXPECT_EQ(Partitions(*db_, "public.ids_inf").size(), 5u);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ids_cfg"), 4);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ids_inf"), 2);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// pg_partman issue #462: one row dated 2100 made it create a daily partition
// for every day up to 2100.  partwatch considers the one bucket the row falls
// in, finds it beyond max_future, alerts and creates nothing; a near-future
// row still gets its partition.
TEST_F(RangeTest, YearTwentyOneHundredIsAlertedNotCreated) {
  db_->Exec(DailyDateTableDdl("events", {Day(-1), Day(0)}));
  auto pw = StartRun(Config(TableBlock("public.events", 0) + "max_future = \"90 days\"\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();

  db_->Exec(InsertDays("events", {ParseDay("2100-01-01")}));
  ASSERT_TRUE(pw->WaitForLog("ALERT", std::chrono::seconds(10))) << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  const std::string log = pw->Log();
  EXPECT_NE(log.find("max_future"), std::string::npos) << log;
  EXPECT_EQ(Occurrences(log, "ALERT"), 1) << log;
  EXPECT_EQ(Occurrences(log, "ALERT table public.events bucket '2100-01-01'"), 1) << log;
  // One bucket considered: no other day of 2099/2100 appears anywhere.
  EXPECT_EQ(Occurrences(log, "2099-"), 0) << log;
  EXPECT_EQ(Occurrences(log, "2100-01-02"), 0) << log;
  EXPECT_EQ(Partitions(*db_, "public.events").size(), 3u);
  EXPECT_FALSE(RelationExists(*db_, "events_p2100_01_01"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events_default WHERE event_date = '2100-01-01'"), 1);

  db_->Exec(InsertDays("events", {Day(10)}));
  const std::string near = "events_p" + Underscored(Day(10));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, near); }, std::chrono::seconds(10)))
      << pw->Log();
  EXPECT_EQ(Bound(*db_, near), DateBound(Day(10), Day(11)));
  EXPECT_EQ(Rows(*db_, near), 1);
  EXPECT_EQ(Partitions(*db_, "public.events").size(), 4u);
  EXPECT_EQ(Rows(*db_, "events_default"), 1);  // the 2100 row, untouched
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), 2);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// The horizon alert is an alert like the flood guard's: raised once for the
// bucket, not again for every further row of it (the flood guard's alerts
// are at most once per value per hour; docs/configuration.md).
TEST_F(RangeTest, HorizonAlertIsNotRepeatedForMoreRowsOfTheSameBucket) {
  db_->Exec(DailyDateTableDdl("events", {Day(-1), Day(0)}));
  auto pw = StartRun(Config(TableBlock("public.events", 0) + "max_future = \"90 days\"\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertDays("events", {ParseDay("2100-01-01")}));
  ASSERT_TRUE(pw->WaitForLog("ALERT", std::chrono::seconds(10))) << pw->Log();
  db_->Exec(InsertDays("events", {ParseDay("2100-01-01")}));
  db_->Exec(InsertDays("events", {ParseDay("2100-01-01")}));
  // One executor acts on decisions in order: once this row's partition
  // exists, whatever the 2100 rows above caused has been done.
  db_->Exec(InsertDays("events", {Day(10)}));
  const std::string near = "events_p" + Underscored(Day(10));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, near); }, std::chrono::seconds(10)))
      << pw->Log();
  EXPECT_EQ(Occurrences(pw->Log(), "ALERT"), 1) << pw->Log();
  EXPECT_EQ(Partitions(*db_, "public.events").size(), 4u);
  EXPECT_EQ(Rows(*db_, "events_default"), 3);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// max_new_partitions_per_hour counts RANGE buckets like LIST values: with
// the cap at 2, rows for five future days create two partitions and alert
// for the other three.
TEST_F(RangeTest, HourlyCapLimitsNewBuckets) {
  db_->Exec(DailyDateTableDdl("events", {Day(-1), Day(0)}));
  auto pw = StartRun(Config(TableBlock("public.events", 0) + "max_new_partitions_per_hour = 2\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();

  db_->Exec(InsertDays("events", {Day(2), Day(4), Day(6), Day(8), Day(10)}));
  ASSERT_TRUE(
      WaitFor([&] { return Occurrences(pw->Log(), "max_new_partitions_per_hour = 2") >= 3; },
              std::chrono::seconds(10)))
      << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  const std::vector<std::string> parts = Partitions(*db_, "public.events");
  EXPECT_EQ(parts.size(), 5u) << ::testing::PrintToString(parts);
  int64_t moved = 0;
  for (int k : {2, 4, 6, 8, 10}) {
    const std::string name = "events_p" + Underscored(Day(k));
    if (!RelationExists(*db_, name)) continue;
    EXPECT_EQ(Bound(*db_, name), DateBound(Day(k), Day(k + 1)));
    EXPECT_EQ(Rows(*db_, name), 1);
    ++moved;
  }
  EXPECT_EQ(moved, 2);
  EXPECT_EQ(Rows(*db_, "events_default"), 3);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), 5);
  EXPECT_EQ(Occurrences(pw->Log(), "ALERT table public.events"), 3) << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// `status --json` for a RANGE table: per-bucket rows with their upper bound,
// what would happen, the holes between partitions, and how far partitions
// reach.  It only reads.
TEST_F(RangeTest, StatusJsonReportsBucketsGapsAndPartitionsUntil) {
  db_->Exec(DailyDateTableDdl("events", {Day(-6), Day(-5), Day(-2), Day(-1)}));
  db_->Exec(InsertDays("events", {Day(2), Day(2), Day(2), Day(5), Day(-6)}) +
            "; INSERT INTO events (event_date) VALUES (NULL)");
  const CommandResult r =
      RunPartwatch({"status", "--json"}, Config(TableBlock("public.events", 2)));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json report = json::parse(r.out);
  ASSERT_EQ(report["tables"].size(), 1u) << report.dump(2);
  const json& t = report["tables"][0];
  EXPECT_EQ(t["table"], "public.events");
  EXPECT_EQ(t["strategy"], "range");
  EXPECT_EQ(t["key"], "event_date");
  EXPECT_EQ(t["partitions"], 4);
  EXPECT_EQ(t["interval_source"], "inferred");
  EXPECT_TRUE(t["pg_partman"].is_null()) << t.dump(2);
  EXPECT_EQ(t["default_rows"], 4);
  EXPECT_EQ(t["default_rows_total"], 5);  // the NULL key fits no partition
  ASSERT_EQ(t["values"].size(), 2u) << t.dump(2);
  EXPECT_EQ(t["values"][0], json({{"value", Iso(Day(2))},
                                  {"to", Iso(Day(3))},
                                  {"rows", 3},
                                  {"would", "create"},
                                  {"partition", "public.events_p" + Underscored(Day(2))}}))
      << t.dump(2);
  EXPECT_EQ(t["values"][1],
            json({{"value", Iso(Day(5))}, {"to", Iso(Day(6))}, {"rows", 1}, {"would", "wait"}}))
      << t.dump(2);
  EXPECT_EQ(t["gaps"], json::array({json({{"from", Iso(Day(-4))}, {"to", Iso(Day(-3))}}),
                                    json({{"from", Iso(Day(-3))}, {"to", Iso(Day(-2))}})}))
      << t.dump(2);
  EXPECT_EQ(t["partitions_until"], Iso(Day(0))) << t.dump(2);
  EXPECT_EQ(t["ahead_of_now"], "0") << t.dump(2);  // date - date: days

  EXPECT_EQ(Partitions(*db_, "public.events").size(), 5u);
  EXPECT_EQ(Rows(*db_, "events_default"), 5);
}

}  // namespace
}  // namespace partwatch::testing
