// Integration tests: partwatch against a real PostgreSQL 15 started by the
// harness (tests/integration/pg_harness.h).  Every test asserts on database
// state; log lines are checked only where the log is the product (alerts).
#include <gtest/gtest.h>

#include "tests/integration/pg_harness.h"

namespace partwatch::testing {
namespace {

constexpr const char* kOrdersDdl = R"sql(
CREATE TABLE orders (
    id SERIAL,
    customer_name TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMP DEFAULT NOW()
) PARTITION BY LIST (status);
CREATE TABLE orders_new PARTITION OF orders FOR VALUES IN ('new');
CREATE TABLE orders_processing PARTITION OF orders FOR VALUES IN ('processing');
CREATE TABLE orders_done PARTITION OF orders FOR VALUES IN ('done');
CREATE TABLE orders_other PARTITION OF orders DEFAULT;
)sql";

constexpr const char* kOrdersTable = R"toml(
[[table]]
name = "public.orders"
threshold = 100
)toml";

std::string InsertReturned(int n, const std::string& status = "returned") {
  return "INSERT INTO orders (customer_name, status) SELECT 'Customer ' || i, '" + status +
         "' FROM generate_series(1, " + std::to_string(n) + ") AS i";
}

bool RelationExists(const TestDatabase& db, const std::string& name) {
  return db.Scalar("SELECT to_regclass('" + name + "') IS NOT NULL") == "t";
}

// Waits until partwatch has confirmed every WAL position up to now: all
// commits so far have been counted and decided.
bool WaitCaughtUp(const TestDatabase& db) {
  const std::string lsn = db.Scalar("SELECT pg_current_wal_lsn()");
  return WaitFor([&] {
    return db.Scalar("SELECT confirmed_flush_lsn >= '" + lsn +
                     "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'partwatch'") == "t";
  });
}

class OrdersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    db_ = std::make_unique<TestDatabase>(std::string("t_") + info->name());
    db_->Exec(kOrdersDdl);
  }
  std::unique_ptr<PartwatchProcess> StartRun(const std::string& tables = kOrdersTable,
                                             const std::string& extra = "") {
    auto p = std::make_unique<PartwatchProcess>(std::vector<std::string>{"run"},
                                                MakeConfig(*db_, tables, extra));
    EXPECT_TRUE(p->WaitForLog("streaming from slot")) << p->Log();
    return p;
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_F(OrdersTest, HundredAndOneRowsCreateThePartition) {
  auto pw = StartRun();
  db_->Exec(InsertReturned(101));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }))
      << pw->Log();
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM orders_returned"), "101");
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM orders_other"), "0");
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM orders WHERE status = 'returned'"), "101");
  EXPECT_EQ(db_->Scalar("SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
                        "WHERE relname = 'orders_returned'"),
            "FOR VALUES IN ('returned')");
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(OrdersTest, HundredRowsCreateNothingAndOneMoreDoes) {
  auto pw = StartRun();
  db_->Exec(InsertReturned(100));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM orders_other"), "100");
  db_->Exec(InsertReturned(1));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }))
      << pw->Log();
  EXPECT_EQ(db_->Scalar("SELECT count(*) FROM orders_returned"), "101");
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
