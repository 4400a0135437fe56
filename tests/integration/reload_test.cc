// Integration tests for what `partwatch run` keeps doing right while the
// world changes around it: a replication session that flaps (the hourly
// flood cap must hold across sessions).  Real PostgreSQL (pg_harness.h),
// partwatch as a child process; every test asserts on database state, and
// waits for log lines or conditions, never for a fixed time.
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

}  // namespace
}  // namespace partwatch::testing
