// Integration tests: partwatch against a real PostgreSQL 15 started by the
// harness (tests/integration/pg_harness.h).  Every test asserts on database
// state; log lines are checked only where the log is the product (alerts) or
// as extra evidence of what partwatch counted (a "decided to" line is logged
// before the commit that caused it is confirmed, so after WaitCaughtUp() its
// absence is a fact, not a race).
//
// This file: the seed's orders scenario, counting across and within
// transactions, alert mode, the application's own UPDATE/DELETE, shutdown and
// restart.
#include <gtest/gtest.h>

#include <cctype>
#include <csignal>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

const std::string kOrders100 = TableBlock("public.orders", 100);

// The policy logs this for every decision it hands to the executor.
constexpr const char* kDecided = "decided to";

// The log line holding `text` carries the warning level ("warn"/"warning",
// any case) before it.
bool LoggedAtWarningLevel(const std::string& log, const std::string& text) {
  const size_t pos = log.find(text);
  if (pos == std::string::npos) return false;
  const size_t line = log.rfind('\n', pos);
  std::string prefix = log.substr(line == std::string::npos ? 0 : line + 1,
                                  pos - (line == std::string::npos ? 0 : line + 1));
  for (char& c : prefix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return prefix.find("warn") != std::string::npos;
}

TEST_F(OrdersTest, HundredAndOneRowsCreateThePartition) {
  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(101, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_other"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders WHERE status = 'returned'"), 101);
  EXPECT_EQ(db_->Scalar("SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
                        "WHERE relname = 'orders_returned'"),
            "FOR VALUES IN ('returned')");
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(OrdersTest, HundredRowsCreateNothingAndOneMoreDoes) {
  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(100, "returned"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_other"), 100);
  EXPECT_EQ(Occurrences(pw->Log(), kDecided), 0) << pw->Log();
  db_->Exec(InsertOrders(1, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(OrdersTest, CountsAccumulateAcrossTransactions) {
  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(40, "returned"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  db_->Exec(InsertOrders(40, "returned"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'returned'"), 80);
  EXPECT_EQ(Occurrences(pw->Log(), kDecided), 0) << pw->Log();

  db_->Exec(InsertOrders(21, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  // The crossing commit saw exactly 101: nothing was counted twice or lost.
  EXPECT_NE(pw->Log().find("value 'returned': 101 rows counted in DEFAULT"), std::string::npos)
      << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(OrdersTest, RolledBackTransactionIsNotCounted) {
  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  {
    pg::Connection c = db_->Connect();
    c.Exec("BEGIN");
    c.Exec(InsertOrders(200, "returned"));
    c.Exec("ROLLBACK");
  }
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(Occurrences(pw->Log(), kDecided), 0) << pw->Log();

  db_->Exec(InsertOrders(100, "returned"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(Occurrences(pw->Log(), kDecided), 0) << pw->Log();

  db_->Exec(InsertOrders(1, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(OrdersTest, RolledBackSavepointIsNotCounted) {
  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  {
    pg::Connection c = db_->Connect();
    c.Exec("BEGIN");
    c.Exec("SAVEPOINT s");
    c.Exec(InsertOrders(200, "returned"));
    c.Exec("ROLLBACK TO SAVEPOINT s");
    c.Exec(InsertOrders(50, "returned"));
    c.Exec("COMMIT");
  }
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'returned'"), 50);
  EXPECT_EQ(Occurrences(pw->Log(), kDecided), 0) << pw->Log();

  db_->Exec(InsertOrders(51, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_NE(pw->Log().find("value 'returned': 101 rows counted in DEFAULT"), std::string::npos)
      << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// An UPDATE that changes the key so the row moves from a known partition into
// DEFAULT is, for logical decoding, an insert into DEFAULT.
TEST_F(OrdersTest, UpdateMovingRowsIntoDefaultCountsAsInserts) {
  db_->Exec(InsertOrders(101, "new"));
  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec("UPDATE orders SET status = 'returned' WHERE status = 'new'");
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_new"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(DISTINCT id) FROM orders"), 101);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// The seed's table has no primary key and no replica identity: if partwatch
// published UPDATE or DELETE, the application's own statements would fail.
TEST_F(OrdersTest, ApplicationUpdateAndDeleteKeepWorkingWhileRunning) {
  db_->Exec(InsertOrders(10, "new"));
  db_->Exec(InsertOrders(10, "done"));
  db_->Exec(InsertOrders(50, "returned"));
  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();

  // Each statement touches the published DEFAULT partition or moves rows
  // across partitions.
  db_->Exec("UPDATE orders SET customer_name = 'renamed' WHERE status = 'returned'");
  db_->Exec("DELETE FROM orders WHERE status = 'returned' AND id % 2 = 0");
  db_->Exec("UPDATE orders SET status = 'processing' WHERE status = 'new'");
  db_->Exec("DELETE FROM orders WHERE status = 'done'");
  db_->Exec("UPDATE orders_other SET customer_name = 'direct' WHERE status = 'returned'");
  db_->Exec("DELETE FROM orders_other WHERE customer_name = 'nobody'");

  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders WHERE status = 'returned'"), 25);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders WHERE customer_name = 'direct'"), 25);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_processing"), 10);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_done"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_new"), 0);

  // The stream is still healthy: partwatch still acts.
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_TRUE(pw->running()) << pw->Log();
  db_->Exec(InsertOrders(101, "lost"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_lost"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_lost"), 101);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// Deletes from DEFAULT are not streamed, so partwatch's count runs high; the
// executor's exact count must stop it from creating the partition early, and
// the count it reports back must let the real 101st row trigger it.
TEST_F(OrdersTest, DeletedRowsAreRecountedBeforeActing) {
  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(80, "returned"));
  db_->Exec("DELETE FROM orders WHERE status = 'returned' AND id <= 30");
  db_->Exec(InsertOrders(30, "returned"));  // streamed 110, really 80
  ASSERT_TRUE(pw->WaitForLog("DEFAULT holds 80 row(s), not more than the threshold 100"))
      << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 80);

  db_->Exec(InsertOrders(20, "returned"));  // really 100
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));

  db_->Exec(InsertOrders(1, "returned"));  // really 101
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(OrdersTest, AlertModeLogsOnceAndLeavesRowsInDefault) {
  auto pw = StartRun(Config(TableBlock("public.orders", 100, "alert")));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(101, "returned"));
  const std::string alert =
      "ALERT table public.orders value 'returned': 101 rows in DEFAULT partition "
      "public.orders_other (threshold 100)";
  ASSERT_TRUE(pw->WaitForLog(alert)) << pw->Log();
  EXPECT_TRUE(LoggedAtWarningLevel(pw->Log(), alert)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(
      Partitions(*db_, "public.orders"),
      (std::vector<std::string>{"orders_done", "orders_new", "orders_other", "orders_processing"}));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'returned'"), 101);

  // Once per value per run: more rows raise no second alert.
  db_->Exec(InsertOrders(50, "returned"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_EQ(Occurrences(pw->Log(), "value 'returned': 101 rows counted"), 1) << pw->Log();
  EXPECT_EQ(Occurrences(pw->Log(), "decided to alert"), 1) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'returned'"), 151);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
  EXPECT_EQ(Occurrences(pw->Log(), "ALERT table"), 1) << pw->Log();
}

// A move that cannot get its locks (an application transaction holds the
// parent) gives up after max_attempts; documented: the next commit touching
// the value decides again, and then the move succeeds.
TEST_F(OrdersTest, MoveThatGaveUpOnLocksIsRetriedAtTheNextCommit) {
  auto pw = StartRun(Config(kOrders100,
                            "[executor]\nlock_timeout_ms = 100\nmax_attempts = 2\n"
                            "retry_base_delay_ms = 50\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  pg::Connection blocker = db_->Connect();
  blocker.Exec("BEGIN");
  blocker.Exec(InsertOrders(1, "new"));  // holds ROW EXCLUSIVE on orders
  db_->Exec(InsertOrders(101, "returned"));
  ASSERT_TRUE(pw->WaitForLog("action failed")) << pw->Log();
  EXPECT_NE(pw->Log().find("gave up after 2 attempt(s)"), std::string::npos) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'returned'"), 101);
  blocker.Exec("COMMIT");

  db_->Exec(InsertOrders(1, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 102);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_new"), 1);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// Flood guard: past max_new_partitions_per_hour partitions for a table,
// partwatch alerts instead of creating.
TEST_F(OrdersTest, FloodGuardAlertsInsteadOfCreatingPastTheHourlyCap) {
  auto pw = StartRun(Config(TableBlock("public.orders", 2) + "max_new_partitions_per_hour = 1\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(3, "first"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_first"); })) << pw->Log();
  db_->Exec(InsertOrders(3, "second"));
  ASSERT_TRUE(pw->WaitForLog("ALERT table public.orders value 'second'")) << pw->Log();
  EXPECT_NE(pw->Log().find("max_new_partitions_per_hour = 1"), std::string::npos) << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_second"));
  EXPECT_EQ(Partitions(*db_, "public.orders").size(), 5u);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_first"), 3);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'second'"), 3);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(OrdersTest, SigtermStopsCleanlyAndConfirmsWhatWasCounted) {
  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(60, "returned"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  const std::string lsn = db_->Scalar("SELECT pg_current_wal_lsn()");
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
  EXPECT_NE(pw->Log().find("stopped on SIGTERM"), std::string::npos) << pw->Log();
  EXPECT_EQ(pw->Log().find(" ERROR "), std::string::npos) << pw->Log();
  ASSERT_TRUE(WaitSlotInactive(*db_)) << pw->Log();
  // The slot survives the stop and has confirmed everything counted.
  EXPECT_EQ(db_->Scalar("SELECT confirmed_flush_lsn >= '" + lsn +
                        "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'partwatch'"),
            "t");
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 60);
}

// Restart exactness: rows counted before the stop, rows inserted while
// partwatch was down, and rows after the restart add up to exactly the
// threshold before the partition appears.
TEST_F(OrdersTest, RestartContinuesCountingExactly) {
  {
    auto pw = StartRun(Config(kOrders100));
    ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
    db_->Exec(InsertOrders(60, "returned"));
    ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
    ASSERT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
    ASSERT_TRUE(WaitSlotInactive(*db_)) << pw->Log();
  }
  db_->Exec(InsertOrders(30, "returned"));  // while partwatch is down

  auto pw = StartRun(Config(kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  EXPECT_NE(pw->Log().find("resuming replication slot partwatch"), std::string::npos) << pw->Log();
  db_->Exec(InsertOrders(10, "returned"));  // 100 in DEFAULT
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  // The start-up count (90) plus the re-streamed 30 cross the threshold; the
  // executor's exact count must find no more than 100 and do nothing.
  ASSERT_TRUE(pw->WaitForLog("not more than the threshold 100; nothing to do")) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned")) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'returned'"), 100);

  db_->Exec(InsertOrders(1, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
