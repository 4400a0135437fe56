// The commands besides `run`: `status` (text and --json), `setup` and
// `teardown`, checked against the catalog (pg_replication_slots,
// pg_publication, pg_publication_tables).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

using nlohmann::json;

constexpr const char* kTicketsDdl = R"sql(
CREATE TABLE tickets (id serial, kind text) PARTITION BY LIST (kind);
CREATE TABLE tickets_bug PARTITION OF tickets FOR VALUES IN ('bug');
CREATE TABLE tickets_default PARTITION OF tickets DEFAULT;
)sql";

int64_t SlotCount(const TestDatabase& db) {
  return Count(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'partwatch'");
}
int64_t PublicationCount(const TestDatabase& db) {
  return Count(db, "SELECT count(*) FROM pg_publication WHERE pubname = 'partwatch'");
}

// Rows of DEFAULT, a status, partwatch's view of them; status must report
// and never act.
class StatusTest : public OrdersTest {
 protected:
  void SetUp() override {
    OrdersTest::SetUp();
    db_->Exec(kTicketsDdl);
    db_->Exec(InsertOrders(150, "returned") + ";" + InsertOrders(20, "later") + ";" +
              InsertOrders(5, "new") +
              ";INSERT INTO tickets (kind) SELECT NULL FROM generate_series(1, 3);");
    config_ = Config(TableBlock("public.orders", 100) + TableBlock("public.tickets", 2, "alert"));
  }
  std::string config_;
};

// Counting DEFAULT per value sums the pieces' counts in a temporary table.
// A role that may not create one still gets exact counts, summed in
// partwatch's memory instead, and is told which grant would bound that.
TEST_F(StatusTest, WithoutTheTemporaryPrivilegeCountsStayExactAndTheGrantIsNamed) {
  db_->Exec(
      "DROP ROLE IF EXISTS pw_notemp; CREATE ROLE pw_notemp LOGIN;"
      "REVOKE TEMPORARY ON DATABASE " +
      db_->name() +
      " FROM PUBLIC;"
      "ALTER TABLE orders OWNER TO pw_notemp; ALTER TABLE orders_other OWNER TO pw_notemp;");
  ASSERT_EQ(db_->Scalar("SELECT has_database_privilege('pw_notemp', current_database(), 'TEMP')"),
            "f");
  const CommandResult r =
      RunPartwatch({"status", "--json"},
                   MakeConfigForDsn(db_->Conninfo("pw_notemp"), TableBlock("public.orders", 100)));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot create a temporary table"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("GRANT TEMPORARY ON DATABASE"), std::string::npos) << r.err;
  const json report = json::parse(r.out);
  const json& orders = report["tables"][0];
  EXPECT_EQ(orders["default_rows"], 170) << orders.dump(2);
  ASSERT_EQ(orders["values"].size(), 2u) << orders.dump(2);
  EXPECT_EQ(orders["values"][0]["value"], "returned");
  EXPECT_EQ(orders["values"][0]["rows"], 150);
  EXPECT_EQ(orders["values"][1]["value"], "later");
  EXPECT_EQ(orders["values"][1]["rows"], 20);
}

TEST_F(StatusTest, JsonReportsCountsThresholdAndWhatItWouldDo) {
  const CommandResult r = RunPartwatch({"status", "--json"}, config_);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json report = json::parse(r.out);  // stdout is the JSON document alone

  ASSERT_EQ(report["tables"].size(), 2u) << report.dump(2);
  const json& orders = report["tables"][0];
  EXPECT_EQ(orders["table"], "public.orders");
  EXPECT_EQ(orders["strategy"], "list");
  EXPECT_EQ(orders["key"], "status");
  EXPECT_EQ(orders["default_partition"], "public.orders_other");
  EXPECT_EQ(orders["partitions"], 3);
  EXPECT_EQ(orders["threshold"], 100);
  EXPECT_EQ(orders["action"], "create");
  EXPECT_EQ(orders["default_rows"], 170);
  ASSERT_EQ(orders["values"].size(), 2u) << orders.dump(2);
  EXPECT_EQ(orders["values"][0], json({{"value", "returned"},
                                       {"rows", 150},
                                       {"would", "create"},
                                       {"partition", "public.orders_returned"}}));
  EXPECT_EQ(orders["values"][1], json({{"value", "later"}, {"rows", 20}, {"would", "wait"}}));

  const json& tickets = report["tables"][1];
  EXPECT_EQ(tickets["table"], "public.tickets");
  EXPECT_EQ(tickets["threshold"], 2);
  EXPECT_EQ(tickets["action"], "alert");
  ASSERT_EQ(tickets["values"].size(), 1u) << tickets.dump(2);
  EXPECT_EQ(tickets["values"][0], json({{"value", nullptr}, {"rows", 3}, {"would", "alert"}}));

  EXPECT_TRUE(report["slot"].is_null()) << report.dump(2);
  EXPECT_EQ(report["publication"], json({{"name", "partwatch"}, {"exists", false}}));

  // status only reads.
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 170);
  EXPECT_EQ(SlotCount(*db_), 0);
  EXPECT_EQ(PublicationCount(*db_), 0);
}

TEST_F(StatusTest, JsonReportsSlotAndPublicationAfterSetup) {
  ASSERT_EQ(RunPartwatch({"setup"}, config_).exit_code, 0);
  const CommandResult r = RunPartwatch({"status", "--json"}, config_);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const json report = json::parse(r.out);
  ASSERT_TRUE(report["slot"].is_object()) << report.dump(2);
  EXPECT_EQ(report["slot"]["name"], "partwatch");
  EXPECT_TRUE(report["slot"]["active_pid"].is_null());
  EXPECT_EQ(report["slot"]["confirmed_flush_lsn"],
            db_->Scalar("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                        "WHERE slot_name = 'partwatch'"));
  EXPECT_EQ(report["publication"], json({{"name", "partwatch"}, {"exists", true}}));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 170);
}

TEST_F(StatusTest, TextNamesTableValuesAndActions) {
  const CommandResult r = RunPartwatch({"status"}, config_);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("public.orders  (list on status)  DEFAULT public.orders_other: 170 row(s), "
                       "threshold 100, action create"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("'returned'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> create public.orders_returned"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'later'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> none (not over the threshold)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("public.tickets"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("-> alert"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("slot: does not exist"), std::string::npos) << r.out;
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_EQ(SlotCount(*db_), 0);
}

TEST_F(OrdersTest, SetupCreatesSlotAndInsertOnlyPublicationOfDefaultKeyColumn) {
  const std::string config = Config(TableBlock("public.orders", 100));
  const CommandResult r = RunPartwatch({"setup"}, config);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  EXPECT_EQ(db_->Scalar("SELECT format('%s|%s|%s|%s|%s', plugin, slot_type, database, temporary, "
                        "active) FROM pg_replication_slots WHERE slot_name = 'partwatch'"),
            "pgoutput|logical|" + db_->name() + "|f|f");
  EXPECT_EQ(db_->Scalar("SELECT format('%s|%s|%s|%s|%s|%s', puballtables, pubinsert, pubupdate, "
                        "pubdelete, pubtruncate, pubviaroot) FROM pg_publication "
                        "WHERE pubname = 'partwatch'"),
            "f|t|f|f|f|f");
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'partwatch'"),
            1);
  EXPECT_EQ(db_->Scalar("SELECT format('%s.%s %s', schemaname, tablename, attnames) "
                        "FROM pg_publication_tables WHERE pubname = 'partwatch'"),
            "public.orders_other {status}");

  // Idempotent: a second setup changes nothing.
  const std::string slot_before = db_->Scalar(
      "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'partwatch'");
  const CommandResult again = RunPartwatch({"setup"}, config);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(SlotCount(*db_), 1);
  EXPECT_EQ(PublicationCount(*db_), 1);
  EXPECT_EQ(db_->Scalar("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                        "WHERE slot_name = 'partwatch'"),
            slot_before);
}

// `run` on the slot `setup` made: rows inserted in between are counted
// (perhaps twice, never zero times).
TEST_F(OrdersTest, RunUsesTheSlotSetupCreated) {
  const std::string config = Config(TableBlock("public.orders", 100));
  ASSERT_EQ(RunPartwatch({"setup"}, config).exit_code, 0);
  db_->Exec(InsertOrders(101, "returned"));
  auto pw = StartRun(config);
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  EXPECT_NE(pw->Log().find("resuming replication slot partwatch"), std::string::npos) << pw->Log();
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(SlotCount(*db_), 1);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

TEST_F(OrdersTest, TeardownDropsSlotAndPublication) {
  const std::string config = Config(TableBlock("public.orders", 100));
  ASSERT_EQ(RunPartwatch({"setup"}, config).exit_code, 0);
  ASSERT_EQ(SlotCount(*db_), 1);
  ASSERT_EQ(PublicationCount(*db_), 1);

  const CommandResult r = RunPartwatch({"teardown"}, config);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(
      Count(*db_, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"),
      0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM pg_publication"), 0);
  // The tables are untouched.
  EXPECT_EQ(Partitions(*db_, "public.orders").size(), 4u);

  // Nothing left to drop is not an error.
  const CommandResult again = RunPartwatch({"teardown"}, config);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

TEST_F(OrdersTest, TeardownAfterRunLeavesNoSlotAndNoPublication) {
  const std::string config = Config(TableBlock("public.orders", 100));
  {
    auto pw = StartRun(config);
    ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
    ASSERT_EQ(pw->Stop(), 0) << pw->Log();
  }
  ASSERT_TRUE(WaitSlotInactive(*db_));
  const CommandResult r = RunPartwatch({"teardown"}, config);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(
      Count(*db_, "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"),
      0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM pg_publication"), 0);
}

TEST_F(OrdersTest, TeardownRefusesWhileRunIsActive) {
  const std::string config = Config(TableBlock("public.orders", 100));
  auto pw = StartRun(config);
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  const CommandResult r = RunPartwatch({"teardown"}, config);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  EXPECT_EQ(SlotCount(*db_), 1);
  EXPECT_EQ(PublicationCount(*db_), 1);
  // The running instance is unaffected.
  db_->Exec(InsertOrders(101, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
