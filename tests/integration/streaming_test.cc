// Large transactions that the server streams before they end (pgoutput
// protocol v2, "streaming" on): partwatch must count only what commits, per
// sub-transaction.  logical_decoding_work_mem (a per-session setting) is set
// to its minimum, 64kB, through the dsn's `options`, so only partwatch's
// walsender streams and the shared server is left as it is; each test checks
// in pg_stat_replication_slots that streaming really happened while the
// transaction was still open.
#include <gtest/gtest.h>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

class StreamedTransactionTest : public OrdersTest {
 protected:
  std::string StreamingConfig(int64_t threshold) const {
    return MakeConfigForDsn(db_->Conninfo() + " options='-c logical_decoding_work_mem=64kB'",
                            TableBlock("public.orders", threshold));
  }
  // How many times the server has streamed a part of an in-progress
  // transaction to partwatch's slot.
  int64_t StreamCount() const {
    return Count(*db_,
                 "SELECT COALESCE((SELECT stream_count FROM pg_stat_replication_slots "
                 "WHERE slot_name = 'partwatch'), 0)");
  }
};

TEST_F(StreamedTransactionTest, AbortedStreamedTransactionIsNotCounted) {
  auto pw = StartRun(StreamingConfig(100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  const int64_t streamed_before = StreamCount();
  {
    pg::Connection c = db_->Connect();
    c.Exec("BEGIN");
    c.Exec(InsertOrders(10000, "big"));
    c.Exec("SAVEPOINT s");
    c.Exec(InsertOrders(5000, "big"));
    c.Exec("ROLLBACK TO SAVEPOINT s");
    c.Exec(InsertOrders(5000, "big"));
    ASSERT_TRUE(WaitFor([&] { return StreamCount() > streamed_before; }))
        << "the server did not stream the open transaction\n"
        << pw->Log();
    c.Exec("ROLLBACK");
  }
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_big"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders WHERE status = 'big'"), 0);
  EXPECT_EQ(Occurrences(pw->Log(), "decided to"), 0) << pw->Log();

  // Nothing of the aborted transaction lingers in the count.
  db_->Exec(InsertOrders(100, "big"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_big"));
  EXPECT_EQ(Occurrences(pw->Log(), "decided to"), 0) << pw->Log();
  db_->Exec(InsertOrders(1, "big"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_big"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_big"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// Released savepoints survive, rolled-back ones (including one released into
// a savepoint that is then rolled back) do not.  The survivors add up to
// exactly the threshold: one more row must create the partition, and no
// decision may be made before it.
TEST_F(StreamedTransactionTest, StreamedCommitCountsOnlySurvivingSubtransactions) {
  auto pw = StartRun(StreamingConfig(10000));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  const int64_t streamed_before = StreamCount();
  {
    pg::Connection c = db_->Connect();
    c.Exec("BEGIN");
    c.Exec(InsertOrders(4000, "big"));  // top level: survives
    c.Exec("SAVEPOINT a");
    c.Exec(InsertOrders(3000, "big"));  // released: survives
    c.Exec("RELEASE SAVEPOINT a");
    c.Exec("SAVEPOINT b");
    c.Exec(InsertOrders(6000, "big"));  // rolled back
    c.Exec("SAVEPOINT c");
    c.Exec(InsertOrders(6000, "big"));  // released into b, rolled back with it
    c.Exec("RELEASE SAVEPOINT c");
    c.Exec("ROLLBACK TO SAVEPOINT b");
    c.Exec(InsertOrders(3000, "big"));  // in b's successor: survives
    ASSERT_TRUE(WaitFor([&] { return StreamCount() > streamed_before; }))
        << "the server did not stream the open transaction\n"
        << pw->Log();
    c.Exec("COMMIT");
  }
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'big'"), 10000);
  EXPECT_FALSE(RelationExists(*db_, "public.orders_big"));
  EXPECT_EQ(Occurrences(pw->Log(), "decided to"), 0) << pw->Log();

  db_->Exec(InsertOrders(1, "big"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_big"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_big"), 10001);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_NE(pw->Log().find("value 'big': 10001 rows counted in DEFAULT"), std::string::npos)
      << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// A streamed transaction whose survivors alone cross the threshold: the
// partition holds exactly the surviving rows.
TEST_F(StreamedTransactionTest, StreamedCommitOverThresholdMovesExactlyTheSurvivors) {
  auto pw = StartRun(StreamingConfig(100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  const int64_t streamed_before = StreamCount();
  {
    pg::Connection c = db_->Connect();
    c.Exec("BEGIN");
    c.Exec(InsertOrders(10000, "big"));
    c.Exec("SAVEPOINT s");
    c.Exec(InsertOrders(10000, "big"));
    c.Exec("ROLLBACK TO SAVEPOINT s");
    c.Exec(InsertOrders(123, "big"));
    ASSERT_TRUE(WaitFor([&] { return StreamCount() > streamed_before; }))
        << "the server did not stream the open transaction\n"
        << pw->Log();
    c.Exec("COMMIT");
  }
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_big"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_big"), 10123);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders WHERE status = 'big'"), 10123);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_NE(pw->Log().find("value 'big': 10123 rows counted in DEFAULT"), std::string::npos)
      << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
