// `partwatch drain` as a process: killed with SIGKILL at random moments and
// run again, stopped with SIGINT, and `run` draining a fat DEFAULT online
// at start-up.  The library-level drain tests (concurrent writers, lock
// bounds, terminated backends) are in drain_test.cc.
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

// The table's fingerprint: row count, distinct ids and sum of ids, through
// the parent (what a reader sees).
std::string Fingerprint(const TestDatabase& db) {
  return db.Scalar("SELECT count(*) || ':' || count(DISTINCT id) || ':' || sum(id) FROM orders");
}

class DrainCliTest : public OrdersTest {
 protected:
  // `n` rows in DEFAULT, split over three statuses partwatch does not know.
  void LoadBacklog(int64_t n) {
    db_->Exec(
        "INSERT INTO orders (customer_name, status) SELECT 'Old ' || i, "
        "(ARRAY['legacy_a', 'legacy_b', 'legacy_c'])[1 + i % 3] "
        "FROM generate_series(1, " +
        std::to_string(n) + ") AS i");
  }

  // No scratch object of a drain is left in the schema.
  int64_t ScratchObjects() const {
    return Count(*db_, "SELECT count(*) FROM pg_class WHERE relname LIKE '%\\_pwd\\_%'");
  }

  std::string DrainConfig() const {
    return Config(TableBlock("public.orders", 100), "[drain]\nbatch_rows = 5000\n");
  }
};

// kill -9 at each named step of a drain (src/fault.h): the same steps are
// interrupted on any machine, fast or slow.  After each kill every row is
// in exactly one place; one more run finishes the job and cleans up.
TEST_F(DrainCliTest, KilledAtEveryStepLosesNothingAndARerunFinishes) {
  LoadBacklog(300'000);
  const std::string before = Fingerprint(*db_);
  // In the order a drain reaches them; @N: the N-th time (a later piece).
  const std::vector<std::string> points = {
      "drain.prepared",           "drain.triggers",       "drain.copy.piece@1",
      "drain.copy.committed@3",   "drain.replay",         "drain.swap.locked",
      "drain.swap.before_commit", "drain.swap.committed", "drain.cleanup"};
  bool swapped = false;
  for (const std::string& point : points) {
    PartwatchProcess drain({"drain", "--table", "public.orders", "--all"}, DrainConfig(),
                           {{"PARTWATCH_FAULT", point + "=kill"}});
    drain.Wait(std::chrono::seconds(120));
    const std::string name = point.substr(0, point.find('@'));
    // Once the swap committed, a rerun only cleans up: the later points of
    // the copy are never reached again.
    if (!swapped) {
      EXPECT_NE(drain.Log().find("fault point " + name + " reached"), std::string::npos)
          << point << "\n"
          << drain.Log();
    }
    // Every row exactly once, visible through the parent, after every kill.
    EXPECT_EQ(Fingerprint(*db_), before) << point << "\n" << drain.Log();
    if (name == "drain.swap.before_commit") {
      EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 300'000) << point;
    }
    if (name == "drain.swap.committed") {
      EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0) << point;
      swapped = true;
    }
  }
  // Whatever the kills left, one more run finishes the job and cleans up.
  const CommandResult last = RunPartwatch({"drain", "--table", "public.orders", "--all"},
                                          DrainConfig(), std::chrono::seconds(120));
  EXPECT_EQ(last.exit_code, 0) << last.err;
  EXPECT_EQ(Fingerprint(*db_), before);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_legacy_a"), 100'000);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_legacy_b"), 100'000);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_legacy_c"), 100'000);
  EXPECT_EQ(ScratchObjects(), 0);
  // No trigger of the drain is left on the application's write path.
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'partwatch%'"), 0);
}

TEST_F(DrainCliTest, SigintStopsBetweenBatchesAndLeavesEveryRowInDefault) {
  LoadBacklog(400'000);
  const std::string before = Fingerprint(*db_);
  // Small batches: the copy takes seconds, and SIGINT lands in it.
  PartwatchProcess drain({"drain", "--table", "public.orders", "--all"},
                         Config(TableBlock("public.orders", 100), "[drain]\nbatch_rows = 500\n"));
  ASSERT_TRUE(drain.WaitForLog("progress: copy", std::chrono::seconds(20))) << drain.Log();
  const int code = drain.Stop(SIGINT, std::chrono::seconds(30));
  EXPECT_EQ(code, 1) << drain.Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 400'000) << drain.Log();
  EXPECT_EQ(ScratchObjects(), 0) << drain.Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'partwatch%'"), 0);
  EXPECT_EQ(Fingerprint(*db_), before);
}

TEST_F(DrainCliTest, RunRemovesTheCaptureTriggerOfAKilledDrain) {
  LoadBacklog(300'000);
  PartwatchProcess drain(
      {"drain", "--table", "public.orders", "--all"},
      Config(TableBlock("public.orders", 1'000'000), "[drain]\nbatch_rows = 500\n"));
  ASSERT_TRUE(drain.WaitForLog("progress: copy", std::chrono::seconds(20))) << drain.Log();
  ::kill(drain.pid(), SIGKILL);
  drain.Wait(std::chrono::seconds(10));
  ASSERT_TRUE(WaitFor([&] {
    return Count(*db_,
                 "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                 "'partwatch drain'") == 0;
  }));
  // The trigger outlived its drain: every write to DEFAULT still logs.
  EXPECT_GT(Count(*db_, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'partwatch%'"), 0);
  auto run = StartRun(Config(TableBlock("public.orders", 1'000'000)));
  ASSERT_TRUE(run->WaitForLog(kStreamingLine)) << run->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'partwatch%'"), 0);
  EXPECT_EQ(ScratchObjects(), 0);
  EXPECT_NE(run->Log().find("left by an interrupted drain"), std::string::npos) << run->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 300'000);
  EXPECT_EQ(run->Stop(), 0);
}

TEST_F(DrainCliTest, WithoutAllItDrainsOnlyValuesOverTheThreshold) {
  db_->Exec(InsertOrders(500, "big") + ";" + InsertOrders(50, "small"));
  const CommandResult r =
      RunPartwatch({"drain", "--table", "public.orders"}, Config(TableBlock("public.orders", 100)));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(RelationExists(*db_, "public.orders_big"));
  EXPECT_FALSE(RelationExists(*db_, "public.orders_small"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'small'"), 50);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_big"), 500);
}

TEST_F(DrainCliTest, AlertTablesNeedAnExplicitChoice) {
  // run never moves rows of an alert-mode table, so neither does a bare drain.
  db_->Exec(InsertOrders(500, "big"));
  const std::string config = Config(TableBlock("public.orders", 100, "alert"));
  const CommandResult bare = RunPartwatch({"drain", "--table", "public.orders"}, config);
  EXPECT_EQ(bare.exit_code, 2) << bare.err;
  EXPECT_NE(bare.err.find("--value"), std::string::npos) << bare.err;
  EXPECT_FALSE(RelationExists(*db_, "public.orders_big"));
  const CommandResult named =
      RunPartwatch({"drain", "--table", "public.orders", "--value", "big"}, config);
  EXPECT_EQ(named.exit_code, 0) << named.err;
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_big"), 500);
}

TEST_F(DrainCliTest, UnknownTableIsNamed) {
  const CommandResult r =
      RunPartwatch({"drain", "--table", "public.nope"}, Config(TableBlock("public.orders", 100)));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--table public.nope: not a configured table"), std::string::npos) << r.err;
}

TEST_F(DrainCliTest, RunDrainsAFatDefaultOnlineAtStartUp) {
  // 150,000 rows over the threshold are already in DEFAULT when run starts;
  // with online_above_mb = 0 run uses the drain, not the locked move.
  LoadBacklog(150'000);
  const std::string before = Fingerprint(*db_);
  auto run = StartRun(Config(TableBlock("public.orders", 100), "[drain]\nonline_above_mb = 0\n"));
  ASSERT_TRUE(run->WaitForLog(kStreamingLine)) << run->Log();
  ASSERT_TRUE(WaitFor([&] { return Count(*db_, "SELECT count(*) FROM ONLY orders_other") == 0; },
                      std::chrono::seconds(90)))
      << run->Log();
  EXPECT_EQ(Fingerprint(*db_), before);
  EXPECT_EQ(Partitions(*db_, "public.orders").size(), 7u);  // 4 + legacy_a/b/c
  const std::string log = run->Log();
  EXPECT_NE(log.find("draining 3 value(s) over the threshold online"), std::string::npos) << log;
  // The streamed inserts keep counting into the new DEFAULT after the swap.
  db_->Exec(InsertOrders(101, "after_swap"));
  EXPECT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_after_swap"); },
                      std::chrono::seconds(30)))
      << run->Log();
  EXPECT_EQ(run->Stop(), 0);
}

}  // namespace
}  // namespace partwatch::testing
