// Integration tests for what `partwatch run` keeps doing right while the
// world changes around it: a SIGHUP reload of its configuration, a
// replication session that flaps (the hourly flood cap must hold across
// sessions), and a DEFAULT partition replaced by a `partwatch drain` run
// from the command line.  Real PostgreSQL (pg_harness.h), partwatch as a
// child process; every test asserts on database state, and waits for log
// lines or conditions, never for a fixed time.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <fstream>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

using std::chrono::seconds;

// What `run` logs after applying a reloaded configuration, and after
// refusing one.
constexpr const char* kReloaded = "configuration reloaded from";
constexpr const char* kReloadRefused = "SIGHUP: nothing of the new file applies";

// Replaces the running process's configuration file in one rename, so a
// SIGHUP never reads half a file.
void RewriteConfig(const PartwatchProcess& pw, const std::string& toml) {
  const std::string tmp = pw.config_path() + ".new";
  std::ofstream(tmp) << toml;
  ASSERT_EQ(std::rename(tmp.c_str(), pw.config_path().c_str()), 0);
}

// Sends SIGHUP and waits until `needle` occurs once more in the log than
// before the signal.
bool ReloadAndWaitFor(PartwatchProcess& pw, const std::string& needle) {
  const int before = Occurrences(pw.Log(), needle);
  if (kill(pw.pid(), SIGHUP) != 0) return false;
  return WaitFor([&] { return Occurrences(pw.Log(), needle) > before; }, seconds(60));
}

std::string Orders(int64_t threshold, const std::string& action = "create",
                   const std::string& extra = "") {
  return TableBlock("public.orders", threshold, action) + extra;
}

// ---------------------------------------------------------------------------
// SIGHUP

using ReloadTest = OrdersTest;

TEST_F(ReloadTest, LoweredThresholdActsOnRowsAlreadyInDefault) {
  auto pw = StartRun(Config(Orders(100)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(50, "backlog"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  ASSERT_FALSE(RelationExists(*db_, "public.orders_backlog"));

  RewriteConfig(*pw, Config(Orders(20)));
  ASSERT_TRUE(ReloadAndWaitFor(*pw, kReloaded)) << pw->Log();
  EXPECT_NE(pw->Log().find("table[1] public.orders: threshold 100 -> 20"), std::string::npos)
      << pw->Log();
  // No commit touches 'backlog' after the reload: the reload itself decides
  // (not the re-check every 30 s, which would log "at the periodic
  // re-check").
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_backlog"); }, seconds(60)))
      << pw->Log();
  EXPECT_NE(pw->Log().find("value 'backlog': 50 rows counted in DEFAULT after the configuration "
                           "reload, more than the threshold 20: decided to create"),
            std::string::npos)
      << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_backlog"), 50);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_TRUE(pw->running()) << pw->Log();
  EXPECT_EQ(Occurrences(pw->Log(), kStreamingLine), 1) << pw->Log();  // same session
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// Reloads `new_file`, which lowers the threshold to 10 but does not load
// (the log names `error`): it is rejected whole, the process keeps running
// with the old threshold (100).
void ExpectBadFileKeepsTheOldConfiguration(PartwatchProcess& pw, const TestDatabase& db,
                                           const std::string& new_file, const std::string& error) {
  RewriteConfig(pw, new_file);
  ASSERT_TRUE(ReloadAndWaitFor(pw, error)) << pw.Log();
  EXPECT_NE(pw.Log().find("configuration error: "), std::string::npos) << pw.Log();
  EXPECT_NE(pw.Log().find(kReloadRefused), std::string::npos) << pw.Log();
  ASSERT_TRUE(pw.running()) << pw.Log();
  // Under the new file's threshold 'under' (50 rows) would be moved; under
  // the old one only 'over' (101).  Decisions are carried out in order, so
  // once 'over' has its partition, one for 'under' would exist already.
  db.Exec(InsertOrders(50, "under"));
  db.Exec(InsertOrders(101, "over"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(db, "public.orders_over"); }, seconds(60)))
      << pw.Log();
  ASSERT_TRUE(WaitCaughtUp(db)) << pw.Log();
  EXPECT_EQ(Count(db, "SELECT count(*) FROM orders_over"), 101);
  EXPECT_FALSE(RelationExists(db, "public.orders_under")) << pw.Log();
  EXPECT_EQ(Count(db, "SELECT count(*) FROM ONLY orders_other WHERE status = 'under'"), 50);
}

TEST_F(ReloadTest, FileWithASyntaxErrorIsRejectedAndTheOldThresholdStays) {
  auto pw = StartRun(Config(Orders(100)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  ExpectBadFileKeepsTheOldConfiguration(
      *pw, *db_, Config(Orders(10)) + "[executor\nlock_timeout_ms = 5\n", "TOML syntax error");
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(ReloadTest, FileWithAnUnknownKeyIsRejectedAndTheOldThresholdStays) {
  auto pw = StartRun(Config(Orders(100)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  ExpectBadFileKeepsTheOldConfiguration(*pw, *db_, Config(Orders(10, "create", "threshhold = 5\n")),
                                        "table[1].threshhold: unknown key");
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(ReloadTest, ChangedSlotIsRefusedAndStreamingGoesOnOnTheOldSlot) {
  auto pw = StartRun(Config(Orders(100)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  const std::string walsender =
      db_->Scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'partwatch'");
  ASSERT_FALSE(walsender.empty());

  // The new file also lowers the threshold: nothing of it may apply.
  const std::string next = Config(Orders(10), "");
  RewriteConfig(*pw, "[source]\nslot = \"other\"\n" + next.substr(next.find('\n') + 1));
  ASSERT_TRUE(ReloadAndWaitFor(*pw, kReloadRefused)) << pw->Log();
  const std::string log = pw->Log();
  EXPECT_NE(log.find("source.slot changed ('partwatch' -> 'other')"), std::string::npos) << log;
  EXPECT_NE(log.find("restart"), std::string::npos) << log;
  ASSERT_TRUE(pw->running()) << log;

  db_->Exec(InsertOrders(50, "under"));
  db_->Exec(InsertOrders(101, "over"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_over"); }, seconds(60)))
      << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_, "partwatch")) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_under")) << pw->Log();
  // Still the same walsender on the same slot; no slot of the new name.
  EXPECT_EQ(
      db_->Scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'partwatch'"),
      walsender);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'other'"), 0);
  EXPECT_EQ(Occurrences(pw->Log(), kStreamingLine), 1) << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(ReloadTest, SwitchToAlertMakesTheNextCrossingAlert) {
  auto pw = StartRun(Config(Orders(100)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(101, "created"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_created"); }, seconds(60)))
      << pw->Log();

  RewriteConfig(*pw, Config(Orders(100, "alert")));
  ASSERT_TRUE(ReloadAndWaitFor(*pw, kReloaded)) << pw->Log();
  EXPECT_NE(pw->Log().find("action create -> alert"), std::string::npos) << pw->Log();
  db_->Exec(InsertOrders(101, "alerted"));
  ASSERT_TRUE(
      pw->WaitForLog("ALERT table public.orders value 'alerted': 101 rows in DEFAULT", seconds(60)))
      << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_alerted"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'alerted'"), 101);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// A decision still queued when a reload switches the table to "alert" is
// carried out as an alert: the executor takes the action in force, not the
// one the decision was made under.  The executor is held on an earlier
// value by a lock the test takes (its move needs SHARE on the parent), so
// the second value's decision waits in the queue across the reload; the
// action in flight finishes as it started.
TEST_F(ReloadTest, ADecisionQueuedAcrossASwitchToAlertAlerts) {
  const std::string executor =
      "[executor]\nlock_timeout_ms = 100\nmax_attempts = 1000\nretry_base_delay_ms = 50\n";
  auto pw = StartRun(Config(Orders(100), executor));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  pg::Connection blocker = db_->Connect();
  blocker.Exec("BEGIN");
  blocker.Exec("LOCK TABLE orders IN ROW EXCLUSIVE MODE");
  db_->Exec(InsertOrders(101, "first"));
  ASSERT_TRUE(pw->WaitForLog("value 'first': attempt 1/1000 rolled back", seconds(60)))
      << pw->Log();
  db_->Exec(InsertOrders(101, "second"));
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string log = pw->Log();
        return log.find("value 'second': 101 rows counted in DEFAULT after commit") !=
               std::string::npos;
      },
      seconds(60)))
      << pw->Log();
  RewriteConfig(*pw, Config(Orders(100, "alert"), executor));
  ASSERT_TRUE(ReloadAndWaitFor(*pw, kReloaded)) << pw->Log();
  blocker.Exec("ROLLBACK");

  ASSERT_TRUE(
      pw->WaitForLog("ALERT table public.orders value 'second': 101 rows in DEFAULT", seconds(60)))
      << pw->Log();
  EXPECT_TRUE(RelationExists(*db_, "public.orders_first")) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_second")) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'second'"), 101);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// ---------------------------------------------------------------------------
// The hourly flood cap across sessions

using SessionFlapTest = OrdersTest;

TEST_F(SessionFlapTest, HourlyCapHoldsAcrossAReconnect) {
  auto pw = StartRun(Config(Orders(100, "create", "max_new_partitions_per_hour = 1\n")));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(101, "first"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_first"); }, seconds(60)))
      << pw->Log();

  // End the session from the server side: partwatch reconnects, with a new
  // Executor.
  ASSERT_EQ(db_->Scalar("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                        "WHERE slot_name = 'partwatch' AND active_pid IS NOT NULL"),
            "t");
  ASSERT_TRUE(WaitFor([&] { return Occurrences(pw->Log(), kStreamingLine) >= 2; }, seconds(60)))
      << pw->Log();

  db_->Exec(InsertOrders(101, "second"));
  ASSERT_TRUE(pw->WaitForLog("ALERT table public.orders value 'second'", seconds(60))) << pw->Log();
  EXPECT_NE(pw->Log().find("max_new_partitions_per_hour = 1"), std::string::npos) << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_second"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'second'"), 101);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// ---------------------------------------------------------------------------
// A DEFAULT partition replaced outside `run`

using ReplacedDefaultTest = OrdersTest;

// `partwatch drain` swaps in a new DEFAULT (same name, new oid) while run
// streams; run must then act on the new one, here through the online drain
// (online_above_mb = 0), which refuses a table described with the old one.
TEST_F(ReplacedDefaultTest, ListTableActsAfterACliDrainReplacedItsDefault) {
  const std::string config = Config(Orders(100), "[drain]\nonline_above_mb = 0\n");
  db_->Exec(InsertOrders(50, "legacy"));
  auto pw = StartRun(config);
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  const std::string old_oid = db_->Scalar("SELECT 'orders_other'::regclass::oid");

  const CommandResult drain =
      RunPartwatch({"drain", "--table", "public.orders", "--all"}, config, seconds(120));
  ASSERT_EQ(drain.exit_code, 0) << drain.out << drain.err;
  ASSERT_EQ(Count(*db_, "SELECT count(*) FROM orders_legacy"), 50);
  ASSERT_NE(db_->Scalar("SELECT 'orders_other'::regclass::oid"), old_oid);

  db_->Exec(InsertOrders(101, "fresh"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_fresh"); }, seconds(60)))
      << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_fresh"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders"), 151);
  EXPECT_EQ(Occurrences(pw->Log(), "action failed"), 0) << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
