// Integration tests for what `partwatch run` keeps doing right while the
// world changes around it: a replication session that flaps (the hourly
// flood cap must hold across sessions), and a DEFAULT partition replaced by
// a `partwatch drain` run from the command line.  Real PostgreSQL
// (pg_harness.h), partwatch as a child process; every test asserts on
// database state, and waits for log lines or conditions, never for a fixed
// time.
#include <gtest/gtest.h>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

using std::chrono::seconds;

std::string Orders(int64_t threshold, const std::string& action = "create",
                   const std::string& extra = "") {
  return TableBlock("public.orders", threshold, action) + extra;
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
