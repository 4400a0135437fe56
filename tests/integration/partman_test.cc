// Integration tests: RANGE tables managed by pg_partman 4.x (Debian's
// postgresql-15-partman, scripts/install-deps.sh), after the second seed
// (seeds/003_99577b1cd6587f5e.txt) and its "DEFAULT partition problem":
// rows dated past pg_partman's newest child land in DEFAULT, and
// run_maintenance() then fails on the first child whose range DEFAULT holds
// rows of.  partwatch moves such rows at once whatever the threshold, names
// the children the way pg_partman does and keeps them contiguous, so
// pg_partman's maintenance and its view of the children keep working.
//
// pg_partman makes its children relative to now(): every date here is
// computed from the server's current_date, read in the transaction that ran
// create_parent().
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/integration/calendar.h"
#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

using nlohmann::json;
using std::chrono::days;
using std::chrono::sys_days;

int64_t Rows(const TestDatabase& db, const std::string& relation) {
  return Count(db, "SELECT count(*) FROM ONLY " + relation);
}

// "name: bound" per non-default partition of `parent`, one a line, by name.
std::string BoundsOf(const TestDatabase& db, const std::string& parent) {
  pg::Connection c = db.Connect();
  pg::QueryResult r = c.ExecParams(
      "SELECT c.relname || ': ' || pg_get_expr(c.relpartbound, c.oid) "
      "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = $1::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT' "
      "ORDER BY c.relname",
      {parent});
  std::string out;
  for (int i = 0; i < r.rows(); ++i) out += r.text(i, 0) + "\n";
  return out;
}

// The same for daily children named parent_pYYYY_MM_DD from `first` to
// `last`, both included.
std::string DailyBounds(const std::string& parent, sys_days first, sys_days last) {
  std::string out;
  for (sys_days d = first; d <= last; d += days{1}) {
    out += parent + "_p" + Underscored(d) + ": " + DateBound(d, d + days{1}) + "\n";
  }
  return out;
}

// Children as pg_partman's show_partitions() lists them, in its order.
std::vector<std::string> PartmanChildren(const TestDatabase& db, const std::string& parent) {
  pg::Connection c = db.Connect();
  pg::QueryResult r =
      c.ExecParams("SELECT partition_tablename FROM partman.show_partitions($1)", {parent});
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
  return out;
}

// Runs partman.run_maintenance() and returns its error ("" on success).
std::string RunMaintenance(const TestDatabase& db) {
  pg::Connection c = db.Connect();
  pg::QueryResult r = c.TryExec("SELECT partman.run_maintenance()");
  return r.ok() ? "" : r.error_message();
}

// True when the non-default children of `parent` cover one contiguous range
// (each lower bound is the previous upper bound).
bool Contiguous(const TestDatabase& db, const std::string& parent) {
  return db.Scalar(
             "WITH b AS (SELECT pg_get_expr(c.relpartbound, c.oid) AS e "
             "  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
             "  WHERE i.inhparent = '" +
             parent +
             "'::regclass), "
             "r AS (SELECT substring(e FROM 'FROM \\((.*)\\) TO') AS lo, "
             "  substring(e FROM 'TO \\((.*)\\)$') AS hi FROM b WHERE e <> 'DEFAULT') "
             "SELECT count(*) FILTER (WHERE lo IS NULL OR prev_hi <> lo) = 0 "
             "FROM (SELECT lo, hi, lag(hi) OVER (ORDER BY lo) AS prev_hi FROM r) s") == "t";
}

class PartmanTest : public PartwatchTest {
 protected:
  void SetUp() override {
    PartwatchTest::SetUp();
    pg::Connection c = db_->Connect();
    pg::QueryResult r =
        c.TryExec("CREATE SCHEMA partman; CREATE EXTENSION pg_partman SCHEMA partman");
    ASSERT_TRUE(r.ok()) << "pg_partman is not available to the test server "
                           "(apt-get install postgresql-15-partman; scripts/install-deps.sh): "
                        << r.error_message();
  }

  // The seed's daily table, managed by pg_partman with premake 1 (and a
  // first child `start_days_ago` days back, when given).  Returns today as
  // create_parent() saw it.
  sys_days CreateDailyEvents(int premake, std::optional<int> start_days_ago = {}) {
    db_->Exec(
        "CREATE TABLE events (id bigserial, event_date date NOT NULL, payload text) "
        "PARTITION BY RANGE (event_date)");
    const std::string start = start_days_ago ? ", p_start_partition => (current_date - " +
                                                   std::to_string(*start_days_ago) + ")::text"
                                             : "";
    // One transaction: create_parent's now() and current_date agree.
    return ParseDay(db_->Scalar(
        "SELECT partman.create_parent(p_parent_table => 'public.events', "
        "p_control => 'event_date', p_type => 'native', p_interval => 'daily', p_premake => " +
        std::to_string(premake) + start + "); SELECT current_date"));
  }
};

std::string InsertDays(const std::string& table, const std::vector<sys_days>& rows) {
  std::string values;
  for (sys_days d : rows) values += (values.empty() ? "('" : ", ('") + Iso(d) + "')";
  return "INSERT INTO " + table + " (event_date) VALUES " + values;
}

// The seed's phases: premake 1, rows 5-7 days ahead in DEFAULT, maintenance
// failing on them; then partwatch (threshold 1000: pg_partman tables move
// rows after the newest child regardless) moves them, creating the days in
// between too, under pg_partman's names; maintenance works again and
// pg_partman lists the children as its own.
TEST_F(PartmanTest, FutureRowsInDefaultAreMovedAndMaintenanceWorksAgain) {
  const sys_days today = CreateDailyEvents(1);
  auto day = [&](int k) { return today + days{k}; };
  ASSERT_EQ(BoundsOf(*db_, "public.events"), DailyBounds("events", day(-1), day(1)));

  // Without partwatch: the DEFAULT partition problem.
  db_->Exec(InsertDays("events", {day(5), day(5), day(6), day(7)}));
  EXPECT_EQ(Count(*db_, "SELECT sum(count) FROM partman.check_default()"), 4);
  const std::string failure = RunMaintenance(*db_);
  EXPECT_NE(failure.find("updated partition constraint for default partition \"events_default\" "
                         "would be violated by some row"),
            std::string::npos)
      << failure;
  EXPECT_EQ(Rows(*db_, "events_default"), 4);
  EXPECT_EQ(BoundsOf(*db_, "public.events"), DailyBounds("events", day(-1), day(1)));

  // What `status` makes of it: pg_partman's interval and names, and every
  // bucket after the newest child due now, whatever the threshold.
  const std::string config = Config(TableBlock("public.events", 1000));
  const CommandResult status = RunPartwatch({"status", "--json"}, config);
  ASSERT_EQ(status.exit_code, 0) << status.out << status.err;
  const json t = json::parse(status.out)["tables"][0];
  EXPECT_EQ(t["pg_partman"], "4.7.2") << t.dump(2);
  EXPECT_EQ(t["interval_source"], "pg_partman") << t.dump(2);
  EXPECT_EQ(t["partitions_until"], Iso(day(2))) << t.dump(2);
  EXPECT_EQ(t["ahead_of_now"], "2") << t.dump(2);
  EXPECT_EQ(t["gaps"], json::array()) << t.dump(2);
  ASSERT_EQ(t["values"].size(), 3u) << t.dump(2);
  EXPECT_EQ(t["values"][0], json({{"value", Iso(day(5))},
                                  {"to", Iso(day(6))},
                                  {"rows", 2},
                                  {"would", "create"},
                                  {"partition", "public.events_p" + Underscored(day(5))}}))
      << t.dump(2);

  // partwatch, with DEFAULT already holding the rows at start-up.
  auto pw = StartRun(config);
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  ASSERT_TRUE(WaitFor([&] { return Rows(*db_, "events_default") == 0; }, std::chrono::seconds(10)))
      << pw->Log();
  ASSERT_TRUE(WaitFor(
      [&] { return BoundsOf(*db_, "public.events") == DailyBounds("events", day(-1), day(7)); },
      std::chrono::seconds(10)))
      << BoundsOf(*db_, "public.events") << pw->Log();
  EXPECT_EQ(Rows(*db_, "events_p" + Underscored(day(5))), 2);
  EXPECT_EQ(Rows(*db_, "events_p" + Underscored(day(6))), 1);
  EXPECT_EQ(Rows(*db_, "events_p" + Underscored(day(7))), 1);
  for (int k : {2, 3, 4}) EXPECT_EQ(Rows(*db_, "events_p" + Underscored(day(k))), 0) << k;

  // A row streamed while running: the same, for the next days.
  db_->Exec(InsertDays("events", {day(9)}));
  ASSERT_TRUE(WaitFor(
      [&] { return BoundsOf(*db_, "public.events") == DailyBounds("events", day(-1), day(9)); },
      std::chrono::seconds(10)))
      << BoundsOf(*db_, "public.events") << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_EQ(Rows(*db_, "events_p" + Underscored(day(9))), 1);
  EXPECT_EQ(Rows(*db_, "events_default"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), 5);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();

  // pg_partman again: maintenance succeeds, DEFAULT is clean, and its
  // children are partwatch's (plus what maintenance premade after them).
  EXPECT_EQ(RunMaintenance(*db_), "");
  EXPECT_EQ(Count(*db_, "SELECT coalesce(sum(count), 0) FROM partman.check_default()"), 0);
  const std::vector<std::string> listed = PartmanChildren(*db_, "public.events");
  for (int k = -1; k <= 9; ++k) {
    const std::string name = "events_p" + Underscored(day(k));
    EXPECT_NE(std::find(listed.begin(), listed.end(), name), listed.end())
        << name << " missing from show_partitions: " << ::testing::PrintToString(listed);
  }
  EXPECT_TRUE(Contiguous(*db_, "public.events")) << BoundsOf(*db_, "public.events");
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), 5);
}

// Monthly (timestamptz) and yearly (date) pg_partman tables: children named
// with datetime_string YYYY_MM and YYYY, and the months / years between the
// newest child and the row's created as well.
// `partwatch drain` on a pg_partman table with rows days ahead: the days in
// between get children too, so the set stays contiguous and maintenance
// works afterwards.
// The pg_partman RANGE scenario captured by `run` and replayed without the
// database: every decision `run` logged (value and crossing commit) is in
// the replay, and no other.
TEST_F(PartmanTest, CaptureReplayMakesTheDecisionsRunMade) {
  const sys_days today = CreateDailyEvents(1);
  auto day = [&](int k) { return today + days{k}; };
  char tmpl[] = "/tmp/partwatch-capture-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto pw =
      StartRun(Config(TableBlock("public.events", 1000), "[capture]\ndir = \"" + dir + "\"\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertDays("events", {day(5), day(5), day(6)}));
  db_->Exec(InsertDays("events", {day(0), day(7), day(9)}));
  ASSERT_TRUE(WaitFor([&] { return Rows(*db_, "events_default") == 0; }, std::chrono::seconds(10)))
      << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  ASSERT_EQ(pw->Stop(), 0) << pw->Log();

  std::set<std::pair<std::string, std::string>> logged;  // (bucket, crossing commit)
  const std::string log = pw->Log();
  const std::regex decided(
      "value '([0-9-]+)': [0-9]+ rows counted in DEFAULT after commit ([0-9A-F]+/[0-9A-F]+)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), decided);
       it != std::sregex_iterator(); ++it) {
    logged.emplace((*it)[1], (*it)[2]);
  }
  // Days 5 and 6 at the first commit, 7 and 9 at the second (day 0 lands in
  // today's partition; days 2-4 and 8 are gap fills, not decisions).
  ASSERT_EQ(logged.size(), 4u) << log;

  const CommandResult r =
      RunPartwatch({"replay", "--json", dir},
                   MakeConfigForDsn("host=127.0.0.1 port=" + std::to_string(UnusedPort()) +
                                        " dbname=none connect_timeout=2",
                                    TableBlock("public.events", 1000)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::pair<std::string, std::string>> replayed;
  const json report = json::parse(r.out);
  for (const json& v : report["tables"][0]["values"]) {
    for (const json& c : v["crossings"]) {
      EXPECT_EQ(c["decision"], "create") << v.dump();
      EXPECT_EQ(c["threshold"], 0) << v.dump();  // after the newest child: at once
      EXPECT_EQ(v["decision"], "create") << v.dump();
      replayed.emplace(v["value"].get<std::string>(), c["lsn"].get<std::string>());
    }
  }
  EXPECT_EQ(replayed, logged) << r.out << r.err;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST_F(PartmanTest, DrainFillsTheGapBeforeTheBucketsItMoves) {
  const sys_days today = CreateDailyEvents(1);
  auto day = [&](int k) { return today + days{k}; };
  db_->Exec(InsertDays("events", {day(5), day(5), day(7)}));
  ASSERT_NE(RunMaintenance(*db_), "");
  const CommandResult r = RunPartwatch({"drain", "--table", "public.events", "--all"},
                                       Config(TableBlock("public.events", 1000)));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(BoundsOf(*db_, "public.events"), DailyBounds("events", day(-1), day(7))) << r.err;
  EXPECT_TRUE(Contiguous(*db_, "public.events"));
  EXPECT_EQ(Rows(*db_, "events_default"), 0);
  EXPECT_EQ(Rows(*db_, "events_p" + Underscored(day(5))), 2);
  EXPECT_EQ(Rows(*db_, "events_p" + Underscored(day(7))), 1);
  EXPECT_EQ(RunMaintenance(*db_), "");
}

TEST_F(PartmanTest, MonthlyAndYearlyChildrenFollowPartmanNaming) {
  // pg_partman and partwatch both work in the session's zone: UTC here,
  // whatever the machine's, so the bounds below read "+00".
  db_->Exec("ALTER DATABASE " + db_->name() + " SET TimeZone = 'UTC'");
  db_->Exec(
      "CREATE TABLE monthly (id bigserial, created_at timestamptz NOT NULL) "
      "PARTITION BY RANGE (created_at); "
      "CREATE TABLE yearly (id bigserial, stat_year date NOT NULL) "
      "PARTITION BY RANGE (stat_year)");
  const sys_days today = ParseDay(
      db_->Scalar("SELECT partman.create_parent(p_parent_table => 'public.monthly', p_control => "
                  "'created_at', p_type => 'native', p_interval => 'monthly', p_premake => 1); "
                  "SELECT partman.create_parent(p_parent_table => 'public.yearly', p_control => "
                  "'stat_year', p_type => 'native', p_interval => 'yearly', p_premake => 1); "
                  "SELECT current_date"));
  auto month_name = [&](int k) {
    return "monthly_p" + Underscored(MonthStart(today, k)).substr(0, 7);
  };
  const int year = YearOf(today);
  ASSERT_EQ(
      Partitions(*db_, "public.monthly"),
      (std::vector<std::string>{"monthly_default", month_name(-1), month_name(0), month_name(1)}));
  ASSERT_EQ(Partitions(*db_, "public.yearly"),
            (std::vector<std::string>{"yearly_default", "yearly_p" + std::to_string(year - 1),
                                      "yearly_p" + std::to_string(year),
                                      "yearly_p" + std::to_string(year + 1)}));

  // Year+3 starts more than the default max_future (1 year) from now.
  auto pw = StartRun(Config(TableBlock("public.monthly", 1000) + TableBlock("public.yearly", 1000) +
                            "max_future = \"5 years\"\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec("INSERT INTO monthly (created_at) VALUES ('" + Iso(MonthStart(today, 4) + days{14}) +
            " 12:00:00+00')");
  db_->Exec("INSERT INTO yearly (stat_year) VALUES ('" + std::to_string(year + 3) + "-06-30')");
  ASSERT_TRUE(WaitFor(
      [&] {
        return Partitions(*db_, "public.monthly").size() == 7 &&
               Partitions(*db_, "public.yearly").size() == 6;
      },
      std::chrono::seconds(10)))
      << BoundsOf(*db_, "public.monthly") << BoundsOf(*db_, "public.yearly") << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();

  std::string monthly;
  for (int k = -1; k <= 4; ++k) {
    monthly += month_name(k) + ": FOR VALUES FROM ('" + Iso(MonthStart(today, k)) +
               " 00:00:00+00') TO ('" + Iso(MonthStart(today, k + 1)) + " 00:00:00+00')\n";
  }
  EXPECT_EQ(BoundsOf(*db_, "public.monthly"), monthly);
  std::string yearly;
  for (int y = year - 1; y <= year + 3; ++y) {
    yearly += "yearly_p" + std::to_string(y) + ": FOR VALUES FROM ('" + std::to_string(y) +
              "-01-01') TO ('" + std::to_string(y + 1) + "-01-01')\n";
  }
  EXPECT_EQ(BoundsOf(*db_, "public.yearly"), yearly);
  EXPECT_EQ(Rows(*db_, month_name(4)), 1);
  EXPECT_EQ(Rows(*db_, "yearly_p" + std::to_string(year + 3)), 1);
  EXPECT_EQ(Rows(*db_, "monthly_default"), 0);
  EXPECT_EQ(Rows(*db_, "yearly_default"), 0);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();

  EXPECT_EQ(RunMaintenance(*db_), "");
  EXPECT_TRUE(Contiguous(*db_, "public.monthly")) << BoundsOf(*db_, "public.monthly");
  EXPECT_TRUE(Contiguous(*db_, "public.yearly")) << BoundsOf(*db_, "public.yearly");
  EXPECT_EQ(PartmanChildren(*db_, "public.monthly").size(),
            Partitions(*db_, "public.monthly").size() - 1);
  EXPECT_EQ(
      Count(*db_, "SELECT count(*) FROM monthly") + Count(*db_, "SELECT count(*) FROM yearly"), 2);
}

// The children partwatch creates to keep pg_partman's set contiguous are
// partitions it creates: the flood guard (max_new_partitions_per_hour,
// "once this process created that many partitions for the table within the
// last hour, it logs an ALERT ... instead of creating") bounds them too.  A
// row ten days past the newest child needs nine children (eight to fill,
// one for the row); with the cap at 3, partwatch must not create nine.
TEST_F(PartmanTest, GapFillCountsAgainstTheHourlyCap) {
  const sys_days today = CreateDailyEvents(1);
  auto day = [&](int k) { return today + days{k}; };
  ASSERT_EQ(Partitions(*db_, "public.events").size(), 4u);
  auto pw =
      StartRun(Config(TableBlock("public.events", 1000) + "max_new_partitions_per_hour = 3\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertDays("events", {day(10)}));
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string log = pw->Log();
        return log.find("ALERT table public.events") != std::string::npos ||
               log.find("and moved") != std::string::npos;
      },
      std::chrono::seconds(10)))
      << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  const size_t created = Partitions(*db_, "public.events").size() - 4;
  EXPECT_LE(created, 3u) << BoundsOf(*db_, "public.events") << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), 1);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// The log names the threshold that applied: a bucket after pg_partman's
// newest child is due at its first row (threshold 0), so "1 rows counted
// ..., more than the threshold 1000" would contradict itself.
TEST_F(PartmanTest, LogNamesTheThresholdThatApplied) {
  const sys_days today = CreateDailyEvents(1);
  auto pw = StartRun(Config(TableBlock("public.events", 1000)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertDays("events", {today + days{2}}));
  ASSERT_TRUE(pw->WaitForLog("and moved", std::chrono::seconds(10))) << pw->Log();
  EXPECT_EQ(Rows(*db_, "events_p" + Underscored(today + days{2})), 1);
  const std::string log = pw->Log();
  // The start-up line names the configured threshold; the decision and the
  // move name the one that applied.
  EXPECT_NE(log.find("more than the threshold 0: decided to create"), std::string::npos) << log;
  EXPECT_NE(log.find("(attempt 1; threshold 0,"), std::string::npos) << log;
  EXPECT_EQ(log.find("more than the threshold 1000"), std::string::npos) << log;
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// A day in the past without a child (a hole behind pg_partman's newest
// child, here a dropped one) is an ordinary bucket: the threshold applies.
TEST_F(PartmanTest, PastHoleUsesTheThreshold) {
  const sys_days today = CreateDailyEvents(1, 5);
  auto day = [&](int k) { return today + days{k}; };
  ASSERT_EQ(BoundsOf(*db_, "public.events"), DailyBounds("events", day(-5), day(1)));
  const std::string hole = "events_p" + Underscored(day(-3));
  db_->Exec("DROP TABLE " + hole);

  auto pw = StartRun(Config(TableBlock("public.events", 2)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertDays("events", {day(-3), day(-3)}));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, hole));
  EXPECT_EQ(Rows(*db_, "events_default"), 2);

  db_->Exec(InsertDays("events", {day(-3)}));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, hole); }, std::chrono::seconds(10)))
      << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_EQ(BoundsOf(*db_, "public.events"), DailyBounds("events", day(-5), day(1)));
  EXPECT_EQ(Rows(*db_, hole), 3);
  EXPECT_EQ(Rows(*db_, "events_default"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), 3);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
