// Bad input and unfit servers: partwatch must exit non-zero with a message
// naming the problem, and must leave nothing behind (no slot, no
// publication, no partition).  Also: a second `run` on a slot in use, and
// passwords kept out of every log line.
#include <gtest/gtest.h>

#include <csignal>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

const std::string kOrders100 = TableBlock("public.orders", 100);

class ErrorsTest : public OrdersTest {
 protected:
  // Nothing of partwatch's exists in the database.
  void ExpectNothingCreated() const {
    EXPECT_EQ(Count(*db_,
                    "SELECT count(*) FROM pg_replication_slots "
                    "WHERE database = current_database()"),
              0);
    EXPECT_EQ(Count(*db_, "SELECT count(*) FROM pg_publication"), 0);
    EXPECT_EQ(Partitions(*db_, "public.orders").size(), 4u);
  }
};

TEST_F(ErrorsTest, UnknownConfigKeyIsNamed) {
  const CommandResult r = RunPartwatch({"run"}, Config(kOrders100 + "treshold = 5\n"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("table[1].treshold: unknown key"), std::string::npos) << r.err;
  const CommandResult source = RunPartwatch({"run"}, "[source]\ndns = \"host=x\"\n\n" + kOrders100);
  EXPECT_EQ(source.exit_code, 2) << source.err;
  EXPECT_NE(source.err.find("source.dns: unknown key"), std::string::npos) << source.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, WrongTypeNamesTheKey) {
  const CommandResult r =
      RunPartwatch({"run"}, Config("[[table]]\nname = \"public.orders\"\nthreshold = \"x\"\n"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("table[1].threshold: expected an integer"), std::string::npos) << r.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, MissingTableIsNamed) {
  const CommandResult r = RunPartwatch({"run"}, Config(TableBlock("public.no_such_table", 100)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("table 'public.no_such_table' does not exist"), std::string::npos) << r.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, UnpartitionedTableIsRejected) {
  db_->Exec("CREATE TABLE plain (id int, status text)");
  const CommandResult r = RunPartwatch({"run"}, Config(TableBlock("public.plain", 100)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("table 'public.plain' is not a partitioned table"), std::string::npos)
      << r.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, PartitionedTableWithoutDefaultIsRejected) {
  db_->Exec(
      "CREATE TABLE nodefault (id int, status text) PARTITION BY LIST (status);"
      "CREATE TABLE nodefault_a PARTITION OF nodefault FOR VALUES IN ('a');");
  const CommandResult r = RunPartwatch({"run"}, Config(TableBlock("public.nodefault", 100)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("table 'public.nodefault' has no DEFAULT partition"), std::string::npos)
      << r.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, RangeTableWithoutAnyIntervalSaysToSetOne) {
  // No partitions to infer from, no pg_partman, no interval in the config.
  db_->Exec(
      "CREATE TABLE ranged (id int, at date) PARTITION BY RANGE (at);"
      "CREATE TABLE ranged_default PARTITION OF ranged DEFAULT;");
  const CommandResult r = RunPartwatch({"run"}, Config(TableBlock("public.ranged", 100)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("table 'public.ranged': cannot tell the bucket interval"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("set interval"), std::string::npos) << r.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, RangeKeyOfAnUnsupportedTypeIsNamed) {
  db_->Exec(
      "CREATE TABLE ranged (id int, code text) PARTITION BY RANGE (code);"
      "CREATE TABLE ranged_default PARTITION OF ranged DEFAULT;");
  const CommandResult r = RunPartwatch({"run"}, Config(TableBlock("public.ranged", 100)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("RANGE key column \"code\" has type text"), std::string::npos) << r.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, HashPartitionedTableIsRejected) {
  db_->Exec("CREATE TABLE hashed (id int) PARTITION BY HASH (id);");
  const CommandResult r = RunPartwatch({"run"}, Config(TableBlock("public.hashed", 100)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("table 'public.hashed'"), std::string::npos) << r.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, UnreachableServerWithNoLoopExitsSayingCannotConnect) {
  const std::string dsn = "host=127.0.0.1 port=" + std::to_string(UnusedPort()) +
                          " user=postgres dbname=nowhere password=sekret123";
  const CommandResult r = RunPartwatch({"run", "--no-loop"}, MakeConfigForDsn(dsn, kOrders100));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot connect to PostgreSQL"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("password=********"), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find("sekret123"), std::string::npos) << r.err;

  const CommandResult status = RunPartwatch({"status"}, MakeConfigForDsn(dsn, kOrders100));
  EXPECT_EQ(status.exit_code, 1) << status.err;
  EXPECT_NE(status.err.find("cannot read status from PostgreSQL"), std::string::npos) << status.err;
  EXPECT_EQ((status.out + status.err).find("sekret123"), std::string::npos) << status.err;

  for (const char* command : {"setup", "teardown"}) {
    const CommandResult c = RunPartwatch({command}, MakeConfigForDsn(dsn, kOrders100));
    EXPECT_EQ(c.exit_code, 1) << command << ": " << c.err;
    EXPECT_NE(c.err.find("cannot connect to PostgreSQL"), std::string::npos) << c.err;
    EXPECT_EQ((c.out + c.err).find("sekret123"), std::string::npos) << c.err;
  }
}

// Without --no-loop, an unreachable server is waited for: run keeps retrying,
// says why, and still stops cleanly on SIGTERM.
TEST_F(ErrorsTest, UnreachableServerIsRetriedUntilStopped) {
  const std::string dsn = "host=127.0.0.1 port=" + std::to_string(UnusedPort()) +
                          " user=postgres dbname=nowhere password=sekret123";
  PartwatchProcess pw({"run"}, MakeConfigForDsn(dsn, kOrders100));
  ASSERT_TRUE(pw.WaitForLog("retrying in")) << pw.Log();
  EXPECT_TRUE(pw.running()) << pw.Log();
  EXPECT_NE(pw.Log().find("cannot connect to PostgreSQL"), std::string::npos) << pw.Log();
  EXPECT_EQ(pw.Stop(SIGTERM), 0) << pw.Log();
  EXPECT_NE(pw.Log().find("stopped on SIGTERM"), std::string::npos) << pw.Log();
  EXPECT_EQ(pw.Log().find("sekret123"), std::string::npos) << pw.Log();
}

TEST(ServerSettingsTest, WalLevelReplicaIsRejected) {
  PgServer server({"wal_level=replica"});
  pg::Connection admin = pg::Connection::Open(server.Conninfo());
  admin.Exec(kOrdersDdl);
  const CommandResult r = RunPartwatch({"run"}, MakeConfigForDsn(server.Conninfo(), kOrders100));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("wal_level = replica"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wal_level = logical"), std::string::npos) << r.err;
  EXPECT_EQ(admin.Exec("SELECT count(*) FROM pg_publication").text(0, 0), "0");
  EXPECT_EQ(admin.Exec("SELECT count(*) FROM pg_replication_slots").text(0, 0), "0");
}

TEST_F(ErrorsTest, RoleWithoutReplicationAttributeIsRejected) {
  db_->Exec(
      "DROP ROLE IF EXISTS pw_norepl;"
      "CREATE ROLE pw_norepl LOGIN;"
      "GRANT CREATE ON DATABASE " +
      db_->name() +
      " TO pw_norepl;"
      "ALTER TABLE orders OWNER TO pw_norepl;"
      "ALTER TABLE orders_other OWNER TO pw_norepl;");
  const CommandResult r =
      RunPartwatch({"run"}, MakeConfigForDsn(db_->Conninfo("pw_norepl"), kOrders100));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("role pw_norepl lacks the REPLICATION attribute"), std::string::npos)
      << r.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, RoleThatDoesNotOwnTheTableIsRejected) {
  db_->Exec("DROP ROLE IF EXISTS pw_notowner; CREATE ROLE pw_notowner LOGIN REPLICATION;");
  const CommandResult r =
      RunPartwatch({"run"}, MakeConfigForDsn(db_->Conninfo("pw_notowner"), kOrders100));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("role pw_notowner must own public.orders"), std::string::npos) << r.err;
  ExpectNothingCreated();
}

TEST_F(ErrorsTest, SecondRunWithNoLoopOnSlotInUseExitsAndFirstKeepsWorking) {
  const std::string config = Config(kOrders100);
  auto first = StartRun(config);
  ASSERT_TRUE(first->WaitForLog(kStreamingLine)) << first->Log();
  const std::string active_pid =
      db_->Scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'partwatch'");
  ASSERT_FALSE(active_pid.empty());

  const CommandResult second = RunPartwatch({"run", "--no-loop"}, config);
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("replication slot partwatch is in use"), std::string::npos)
      << second.err;
  EXPECT_TRUE(first->running()) << first->Log();
  EXPECT_EQ(
      db_->Scalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'partwatch'"),
      active_pid);

  db_->Exec(InsertOrders(101, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }))
      << first->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(first->Stop(), 0) << first->Log();
}

// Without --no-loop the second instance waits for the slot, takes over when
// the first stops, and counts on exactly from where the first left off.
TEST_F(ErrorsTest, SecondRunWaitsForBusySlotAndTakesOver) {
  const std::string config = Config(kOrders100);
  auto first = StartRun(config);
  ASSERT_TRUE(first->WaitForLog(kStreamingLine)) << first->Log();
  db_->Exec(InsertOrders(60, "returned"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << first->Log();

  auto second = StartRun(config);
  ASSERT_TRUE(second->WaitForLog("replication slot partwatch is in use")) << second->Log();
  EXPECT_TRUE(second->running()) << second->Log();
  EXPECT_EQ(second->Log().find(kStreamingLine), std::string::npos) << second->Log();

  EXPECT_EQ(first->Stop(SIGTERM), 0) << first->Log();
  ASSERT_TRUE(second->WaitForLog(kStreamingLine, std::chrono::seconds(30))) << second->Log();
  db_->Exec(InsertOrders(40, "returned"));  // 100
  ASSERT_TRUE(WaitCaughtUp(*db_)) << second->Log();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned")) << second->Log();
  db_->Exec(InsertOrders(1, "returned"));  // 101
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }))
      << second->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(second->Stop(), 0) << second->Log();
}

// A second `run` that finds the slot in use (and exits with --no-loop, or
// waits without it) must not change what the running instance streams.  Here
// the second config watches another table on the same slot and publication.
TEST_F(ErrorsTest, RefusedSecondRunLeavesThePublicationAlone) {
  db_->Exec(
      "CREATE TABLE tickets (id serial, kind text) PARTITION BY LIST (kind);"
      "CREATE TABLE tickets_default PARTITION OF tickets DEFAULT;");
  auto first = StartRun(Config(kOrders100));
  ASSERT_TRUE(first->WaitForLog(kStreamingLine)) << first->Log();
  const std::string members_sql =
      "SELECT string_agg(format('%s.%s %s', schemaname, tablename, attnames), ', ') "
      "FROM pg_publication_tables WHERE pubname = 'partwatch'";
  ASSERT_EQ(db_->Scalar(members_sql), "public.orders_other {status}");

  const CommandResult second =
      RunPartwatch({"run", "--no-loop"}, Config(TableBlock("public.tickets", 100)));
  EXPECT_EQ(second.exit_code, 1) << second.err;
  EXPECT_NE(second.err.find("in use"), std::string::npos) << second.err;
  EXPECT_EQ(db_->Scalar(members_sql), "public.orders_other {status}") << second.err;

  // The first instance still sees inserts into orders.
  db_->Exec(InsertOrders(101, "returned"));
  EXPECT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }))
      << first->Log();
  EXPECT_EQ(first->Stop(), 0) << first->Log();
}

// Slot names are global to the server, publications are per database: the
// default slot name "partwatch" can belong to another database's partwatch.
// `teardown` here must not drop it.
TEST_F(ErrorsTest, TeardownLeavesAnotherDatabasesSlotAlone) {
  TestDatabase other(db_->name().substr(0, 55) + "_other");
  other.Exec(kOrdersDdl);
  const std::string other_config = MakeConfig(other, kOrders100);
  ASSERT_EQ(RunPartwatch({"setup"}, other_config).exit_code, 0);
  ASSERT_EQ(Count(other,
                  "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'partwatch' "
                  "AND database = current_database()"),
            1);

  const CommandResult r = RunPartwatch({"teardown"}, Config(kOrders100));
  EXPECT_EQ(Count(other,
                  "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'partwatch' "
                  "AND database = current_database()"),
            1)
      << "teardown of database " << db_->name() << " dropped the slot of database " << other.name()
      << ":\n"
      << r.err;
  EXPECT_EQ(Count(other, "SELECT count(*) FROM pg_publication WHERE pubname = 'partwatch'"), 1);
  RunPartwatch({"teardown"}, other_config);
}

// ... `setup` here must not take it for its own ...
TEST_F(ErrorsTest, SetupDoesNotTakeAnotherDatabasesSlotForItsOwn) {
  TestDatabase other(db_->name().substr(0, 55) + "_other");
  other.Exec(kOrdersDdl);
  const std::string other_config = MakeConfig(other, kOrders100);
  ASSERT_EQ(RunPartwatch({"setup"}, other_config).exit_code, 0);

  const CommandResult r = RunPartwatch({"setup"}, Config(kOrders100));
  EXPECT_NE(r.exit_code, 0) << "setup reported success without a slot in this database:\n" << r.err;
  EXPECT_NE(r.err.find(other.name()), std::string::npos)
      << "the message does not name the database that owns the slot:\n"
      << r.err;
  RunPartwatch({"teardown"}, other_config);
}

// ... and `run` here must stop with a message naming the database that owns
// the slot: retrying cannot fix that (the operator must set source.slot).
TEST_F(ErrorsTest, RunRefusesAnotherDatabasesSlotByName) {
  TestDatabase other(db_->name().substr(0, 55) + "_other");
  other.Exec(kOrdersDdl);
  const std::string other_config = MakeConfig(other, kOrders100);
  ASSERT_EQ(RunPartwatch({"setup"}, other_config).exit_code, 0);

  const CommandResult r = RunPartwatch({"run"}, Config(kOrders100), std::chrono::seconds(15));
  EXPECT_EQ(r.exit_code, 1) << "run did not exit (-1: still retrying after 15 s):\n" << r.err;
  EXPECT_NE(r.err.find(other.name()), std::string::npos)
      << "the error does not name the database that owns the slot:\n"
      << r.err;
  EXPECT_EQ(Count(other,
                  "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'partwatch' "
                  "AND database = current_database()"),
            1);
  RunPartwatch({"teardown"}, other_config);
}

TEST_F(ErrorsTest, PasswordInDsnNeverAppearsInTheLog) {
  // Trust authentication ignores the password, so these connect.
  const std::string keyword_dsn = db_->Conninfo() + " password=sekret123";
  const std::string uri_dsn =
      "postgresql://postgres:sekret123@127.0.0.1:" + std::to_string(PgServer::Shared().port()) +
      "/" + db_->name();
  {
    auto pw = StartRun(MakeConfigForDsn(keyword_dsn, kOrders100));
    ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
    db_->Exec(InsertOrders(101, "returned"));
    ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }))
        << pw->Log();
    EXPECT_EQ(pw->Stop(), 0) << pw->Log();
    EXPECT_EQ(pw->Log().find("sekret123"), std::string::npos) << pw->Log();
  }
  ASSERT_TRUE(WaitSlotInactive(*db_));
  {
    auto pw = StartRun(MakeConfigForDsn(uri_dsn, kOrders100));
    ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
    db_->Exec(InsertOrders(101, "lost"));
    ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_lost"); })) << pw->Log();
    EXPECT_EQ(pw->Stop(), 0) << pw->Log();
    EXPECT_EQ(pw->Log().find("sekret123"), std::string::npos) << pw->Log();
  }
  for (const std::string& dsn : std::vector<std::string>{keyword_dsn, uri_dsn}) {
    for (const char* command : {"status", "setup", "teardown"}) {
      const CommandResult r = RunPartwatch({command}, MakeConfigForDsn(dsn, kOrders100));
      EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
      EXPECT_EQ((r.out + r.err).find("sekret123"), std::string::npos) << command << ": " << r.err;
    }
  }
  // An unreachable server with a URI dsn: the message shows the dsn, masked.
  const std::string bad_uri =
      "postgresql://postgres:sekret123@127.0.0.1:" + std::to_string(UnusedPort()) + "/x";
  const CommandResult r = RunPartwatch({"run", "--no-loop"}, MakeConfigForDsn(bad_uri, kOrders100));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot connect to PostgreSQL"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("sekret123"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace partwatch::testing
