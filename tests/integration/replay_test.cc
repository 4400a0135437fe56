// `partwatch replay` against what a real `run` captured and what a real
// slot retains: the decisions replayed equal the ones `run` made, a kill -9
// mid-capture counts every committed row exactly once after the restart, a
// slot is read without moving, and damaged captures are reported with the
// file and offset.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include "src/capture/segment_io.h"
#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class ReplayTest : public OrdersTest {
 protected:
  void SetUp() override {
    OrdersTest::SetUp();
    char tmpl[] = "/tmp/partwatch-capture-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string CaptureConfig(int64_t threshold, const std::string& extra = "") const {
    return Config(TableBlock("public.orders", threshold),
                  "[capture]\ndir = \"" + dir_ + "/cap\"\nsync_interval_ms = 20\n" + extra);
  }
  // The same configuration with a dsn nothing listens on: replaying a
  // capture needs no database.
  std::string Unreachable(int64_t threshold) const {
    return MakeConfigForDsn(
        "host=127.0.0.1 port=" + std::to_string(UnusedPort()) + " dbname=nowhere connect_timeout=2",
        TableBlock("public.orders", threshold));
  }
  static json Value(const json& report, const std::string& value) {
    for (const json& t : report.at("tables")) {
      for (const json& v : t.at("values")) {
        if (v.at("value").is_string() && v.at("value").get<std::string>() == value) return v;
      }
    }
    return json();
  }
  std::string dir_;
};

TEST_F(ReplayTest, ReplayOfACaptureMakesTheDecisionsRunMade) {
  auto pw = StartRun(CaptureConfig(100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(60, "returned"));
  db_->Exec(InsertOrders(41, "returned"));  // this commit crosses 100
  db_->Exec(InsertOrders(30, "lost"));
  db_->Exec("BEGIN; " + InsertOrders(500, "rolled_back") + "; ROLLBACK");
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); })) << pw->Log();
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  ASSERT_EQ(pw->Stop(), 0) << pw->Log();
  std::smatch m;
  const std::string log = pw->Log();
  ASSERT_TRUE(std::regex_search(
      log, m,
      std::regex(
          "value 'returned': 101 rows counted in DEFAULT after commit ([0-9A-F]+/[0-9A-F]+)")))
      << log;
  const std::string crossing_lsn = m[1];

  const CommandResult r = RunPartwatch(
      {"replay", "--json", "--threshold", "100,50,1000", dir_ + "/cap"}, Unreachable(100));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  const json returned = Value(report, "returned");
  ASSERT_FALSE(returned.is_null()) << r.out;
  EXPECT_EQ(returned.at("rows"), 101);
  ASSERT_EQ(returned.at("crossings").size(), 2u) << returned.dump();  // 1000 never crossed
  EXPECT_EQ(returned.at("crossings")[0].at("threshold"), 100);
  EXPECT_EQ(returned.at("crossings")[0].at("rows"), 101);
  EXPECT_EQ(returned.at("crossings")[0].at("lsn"), crossing_lsn);
  EXPECT_EQ(returned.at("crossings")[0].at("decision"), "create");
  EXPECT_EQ(returned.at("crossings")[1].at("threshold"), 50);
  EXPECT_EQ(returned.at("crossings")[1].at("rows"), 60);
  EXPECT_EQ(returned.at("decision"), "create");
  const json lost = Value(report, "lost");
  ASSERT_FALSE(lost.is_null()) << r.out;
  EXPECT_EQ(lost.at("rows"), 30);
  EXPECT_EQ(lost.at("crossings").size(), 0u);
  EXPECT_TRUE(Value(report, "rolled_back").is_null()) << r.out;
  EXPECT_EQ(report.at("sources")[0].at("kind"), "capture");

  // The text report and the HTML file, from the same capture.
  const CommandResult text =
      RunPartwatch({"replay", "--html", dir_ + "/report.html", dir_ + "/cap"}, Unreachable(100));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("returned"), std::string::npos) << text.out;
  std::ifstream html(dir_ + "/report.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("<svg"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
}

// kill -9 between writing capture records and fsyncing them, in the middle
// of large transactions: after the restart (which cuts the partial
// transaction off and streams it again), replay counts every committed row
// exactly once.
TEST_F(ReplayTest, KillNineMidCaptureCountsEveryRowOnce) {
  {
    auto pw = std::make_unique<PartwatchProcess>(
        std::vector<std::string>{"run"}, CaptureConfig(1'000'000),
        std::vector<std::pair<std::string, std::string>>{
            {"PARTWATCH_FAULT", "capture.written@40=kill"}});
    ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
    for (int i = 0; i < 8; ++i) db_->Exec(InsertOrders(2000, "v" + std::to_string(i)));
    ASSERT_EQ(pw->Wait(std::chrono::seconds(60)), -1) << "killed by SIGKILL: " << pw->Log();
  }
  auto pw = StartRun(CaptureConfig(1'000'000));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(7, "after"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  ASSERT_EQ(pw->Stop(), 0) << pw->Log();
  EXPECT_GE(capture::ListSegments(dir_ + "/cap").size(), 2u);
  // The kill nearly always comes between a transaction's records, which the
  // restart cuts off ("a transaction left open" in the log); the unit test
  // CaptureWriterTest.TheNextSessionCutsOffATransactionLeftOpen covers that
  // path deterministically.  What matters here is the count below.

  const CommandResult r =
      RunPartwatch({"replay", "--json", "--values", "0", dir_ + "/cap"}, Unreachable(1'000'000));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  for (int i = 0; i < 8; ++i) {
    const json v = Value(report, "v" + std::to_string(i));
    ASSERT_FALSE(v.is_null()) << "v" << i << ": " << r.out.substr(0, 2000);
    EXPECT_EQ(v.at("rows"), 2000) << "v" << i;
  }
  EXPECT_EQ(Value(report, "after").at("rows"), 7);
  EXPECT_EQ(report.at("tables")[0].at("rows"), 8 * 2000 + 7);
}

// A stopped partwatch's slot still holds what was committed since: replay
// --slot reports it, and the slot has not moved.
TEST_F(ReplayTest, SlotPeekReportsWhatTheSlotRetainsWithoutMovingIt) {
  {
    auto pw = StartRun(Config(TableBlock("public.orders", 1000)));
    ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
    ASSERT_EQ(pw->Stop(), 0) << pw->Log();
  }
  ASSERT_TRUE(WaitSlotInactive(*db_));
  db_->Exec(InsertOrders(25, "while_stopped"));
  db_->Exec(InsertOrders(3, "say \"hi\", \\ ok"));
  db_->Exec("BEGIN; " + InsertOrders(9, "while_stopped") + "; SAVEPOINT s; " +
            InsertOrders(100, "gone") + "; ROLLBACK TO s; COMMIT");
  db_->Exec("BEGIN; " + InsertOrders(50, "while_stopped") + "; ROLLBACK");
  const std::string before = db_->Scalar(
      "SELECT confirmed_flush_lsn::text || ' ' || restart_lsn::text FROM pg_replication_slots "
      "WHERE slot_name = 'partwatch'");
  const CommandResult r =
      RunPartwatch({"replay", "--json", "--slot", "partwatch", "--threshold", "20"},
                   Config(TableBlock("public.orders", 1000)));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  EXPECT_EQ(Value(report, "while_stopped").at("rows"), 34) << r.out;
  EXPECT_EQ(Value(report, "while_stopped").at("crossings")[0].at("rows"), 25);
  EXPECT_EQ(Value(report, "say \"hi\", \\ ok").at("rows"), 3) << r.out;
  EXPECT_TRUE(Value(report, "gone").is_null());
  EXPECT_EQ(report.at("sources")[0].at("kind"), "slot");
  EXPECT_EQ(
      db_->Scalar(
          "SELECT confirmed_flush_lsn::text || ' ' || restart_lsn::text FROM pg_replication_slots "
          "WHERE slot_name = 'partwatch'"),
      before);
  // The rows are where they were: replay changes nothing.
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_other WHERE status = 'while_stopped'"), 34);
}

TEST_F(ReplayTest, ASlotInUseIsRefusedWithTheReason) {
  auto pw = StartRun(Config(TableBlock("public.orders", 1000)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  const CommandResult r =
      RunPartwatch({"replay", "--slot", "partwatch"}, Config(TableBlock("public.orders", 1000)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("in use by process"), std::string::npos) << r.err;
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// Damage in the middle of a capture is an error naming the file and offset;
// --skip-bad reports what it skipped.  A torn tail is a warning.
TEST_F(ReplayTest, DamagedCapturesAreReportedWithFileAndOffset) {
  auto pw = StartRun(CaptureConfig(1'000'000));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  for (int i = 0; i < 20; ++i) db_->Exec(InsertOrders(50, "d"));
  ASSERT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  ASSERT_EQ(pw->Stop(), 0) << pw->Log();
  const auto segments = capture::ListSegments(dir_ + "/cap");
  ASSERT_EQ(segments.size(), 1u);
  const std::string seg = segments[0].path;
  std::string bytes;
  {
    std::ifstream f(seg, std::ios::binary);
    bytes.assign((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }
  ASSERT_GT(bytes.size(), 4000u);

  // Torn tail: cut in the middle of the last record.
  fs::create_directories(dir_ + "/torn");
  std::ofstream(dir_ + "/torn/" + fs::path(seg).filename().string(), std::ios::binary)
      << bytes.substr(0, bytes.size() - 5);
  CommandResult r = RunPartwatch({"replay", "--json", dir_ + "/torn"}, Unreachable(1'000'000));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("cut short at offset"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(fs::path(seg).filename().string()), std::string::npos) << r.err;

  // A flipped byte in the middle.
  std::string bad = bytes;
  bad[bytes.size() / 2] = static_cast<char>(bad[bytes.size() / 2] ^ 0x5a);
  fs::create_directories(dir_ + "/bad");
  std::ofstream(dir_ + "/bad/" + fs::path(seg).filename().string(), std::ios::binary) << bad;
  r = RunPartwatch({"replay", dir_ + "/bad"}, Unreachable(1'000'000));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("offset"), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.find("checksum") != std::string::npos ||
              r.err.find("length") != std::string::npos)
      << r.err;
  r = RunPartwatch({"replay", "--json", "--skip-bad", dir_ + "/bad"}, Unreachable(1'000'000));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  EXPECT_EQ(report.at("sources")[0].at("skipped"), 1);
  EXPECT_LT(Value(report, "d").at("rows").get<int64_t>(), 1000);

  // Not a capture at all.
  std::ofstream(dir_ + "/bad/capture-00000099.pwcap", std::ios::binary) << "PWCAP9\r\nxxxxxxxxxxxx";
  r = RunPartwatch({"replay", dir_ + "/bad/capture-00000099.pwcap"}, Unreachable(1'000'000));
  EXPECT_EQ(r.exit_code, 1);
}

}  // namespace
}  // namespace partwatch::testing

namespace partwatch::testing {
namespace {

// What pg_recvlogical with wal2json records, replayed: the counts equal the
// SQL ground truth (rolled-back transactions and savepoints, a NULL key and
// hostile values included), and the same changes peeked from the wal2json
// slot give the same counts without moving it.
class Wal2JsonReplayTest : public ReplayTest {
 protected:
  static std::map<std::string, int64_t> Counts(const json& report, const std::string& table) {
    std::map<std::string, int64_t> out;
    for (const json& t : report.at("tables")) {
      if (t.at("name") != table) continue;
      for (const json& v : t.at("values")) {
        out[v.at("value").is_null() ? "<NULL>" : v.at("value").get<std::string>()] = v.at("rows");
      }
    }
    return out;
  }
  std::map<std::string, int64_t> Truth(const std::string& sql) const {
    std::map<std::string, int64_t> out;
    pg::Connection c = db_->Connect();
    pg::QueryResult r = c.Exec(sql);
    for (int i = 0; i < r.rows(); ++i)
      out[r.is_null(i, 0) ? "<NULL>" : r.text(i, 0)] = r.int64(i, 1);
    return out;
  }
};

TEST_F(Wal2JsonReplayTest, RecordedFileAndSlotPeekMatchTheDatabase) {
  db_->Exec(
      "CREATE TABLE tags (id serial, tag text, at timestamptz DEFAULT now()) PARTITION BY LIST "
      "(tag);"
      "CREATE TABLE tags_a PARTITION OF tags FOR VALUES IN ('a');"
      "CREATE TABLE tags_default PARTITION OF tags DEFAULT;");
  const std::string bin = "/usr/lib/postgresql/15/bin/pg_recvlogical";
  const std::string conn = "'" + db_->Conninfo() + "'";
  std::string out;
  ASSERT_EQ(RunCommand(bin + " -d " + conn + " --slot w2j --create-slot -P wal2json", &out), 0)
      << out;
  // Recorded by the real client, for the file source.
  const std::string file = dir_ + "/changes.jsonl";
  const pid_t rec = fork();
  if (rec == 0) {
    execl(bin.c_str(), bin.c_str(), "-d", db_->Conninfo().c_str(), "--slot", "w2j_file",
          "--create-slot", "--start", "-P", "wal2json", "-o", "format-version=2", "-o",
          "include-timestamp=1", "-o", "include-lsn=1", "-o", "include-xids=1", "-F", "1", "-s",
          "1", "-f", file.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_TRUE(WaitFor([&] {
    return db_->Scalar(
               "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'w2j_file' AND "
               "active") == "1";
  }));

  db_->Exec(InsertOrders(150, "returned"));
  db_->Exec(InsertOrders(3, "say \"hi\", \\ ok"));
  db_->Exec(InsertOrders(2, "tab\there"));
  db_->Exec("BEGIN; " + InsertOrders(40, "kept") + "; SAVEPOINT s; " +
            InsertOrders(70, "rolled_back_sp") + "; ROLLBACK TO s; " + InsertOrders(2, "kept") +
            "; COMMIT");
  db_->Exec("BEGIN; " + InsertOrders(90, "rolled_back") + "; ROLLBACK");
  db_->Exec(
      "COPY orders (customer_name, status) FROM PROGRAM 'seq 1 25 | sed s/$/,copied/' WITH (FORMAT "
      "csv)");
  db_->Exec(
      "UPDATE orders SET status = 'moved_in' WHERE id IN (SELECT id FROM orders WHERE status = "
      "'new' LIMIT 5)");
  db_->Exec(
      "INSERT INTO orders (customer_name, status) SELECT 'n', 'new' FROM generate_series(1, 5)");
  db_->Exec("UPDATE orders SET status = 'moved_in' WHERE status = 'new'");
  db_->Exec("INSERT INTO tags (tag) VALUES (NULL), (NULL), ('b'), ('a')");

  ASSERT_TRUE(WaitCaughtUp(*db_, "w2j_file"));
  kill(rec, SIGINT);
  int status = 0;
  waitpid(rec, &status, 0);

  const std::string tables = TableBlock("public.orders", 100) + TableBlock("public.tags", 1000);
  const auto orders_truth = Truth("SELECT status, count(*) FROM orders_other GROUP BY 1");
  const auto tags_truth = Truth("SELECT tag, count(*) FROM tags_default GROUP BY 1");
  ASSERT_EQ(orders_truth.at("moved_in"), 5);

  const CommandResult r = RunPartwatch({"replay", "--json", "--values", "0", file}, Config(tables));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  EXPECT_EQ(report.at("sources")[0].at("kind"), "wal2json");
  EXPECT_EQ(Counts(report, "public.orders"), orders_truth) << r.out.substr(0, 3000);
  EXPECT_EQ(Counts(report, "public.tags"), tags_truth) << r.out.substr(0, 3000);
  const json returned = Value(report, "returned");
  ASSERT_EQ(returned.at("crossings").size(), 1u);
  EXPECT_EQ(returned.at("crossings")[0].at("rows"), 150);
  EXPECT_TRUE(returned.at("crossings")[0].at("time").is_string());

  // The same history from the wal2json slot created before the workload.
  const std::string before = db_->Scalar(
      "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'w2j'");
  const CommandResult s =
      RunPartwatch({"replay", "--json", "--values", "0", "--slot", "w2j"}, Config(tables));
  ASSERT_EQ(s.exit_code, 0) << s.err;
  const json peeked = json::parse(s.out);
  EXPECT_EQ(Counts(peeked, "public.orders"), orders_truth) << s.out.substr(0, 3000);
  EXPECT_EQ(Counts(peeked, "public.tags"), tags_truth);
  EXPECT_EQ(
      db_->Scalar(
          "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'w2j'"),
      before);
  db_->Exec("SELECT pg_drop_replication_slot('w2j'); SELECT pg_drop_replication_slot('w2j_file')");
}

// A line that is not wal2json stops the replay with the file and line;
// --skip-bad counts it and goes on.
TEST_F(Wal2JsonReplayTest, ABadLineIsNamedByFileAndLine) {
  const std::string file = dir_ + "/bad.jsonl";
  std::ofstream(file)
      << "{\"action\":\"B\",\"xid\":1}\n"
      << "{\"action\":\"I\",\"schema\":\"public\",\"table\":\"orders_other\",\"columns\":"
         "[{\"name\":\"status\",\"type\":\"text\",\"value\":\"x\"}]}\n"
      << "this is not json\n"
      << "{\"action\":\"C\",\"xid\":1}\n";
  CommandResult r = RunPartwatch({"replay", file}, Config(TableBlock("public.orders", 100)));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.jsonl:3"), std::string::npos) << r.err;
  r = RunPartwatch({"replay", "--json", "--skip-bad", file},
                   Config(TableBlock("public.orders", 100)));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const json report = json::parse(r.out);
  EXPECT_EQ(report.at("sources")[0].at("skipped"), 1);
  EXPECT_EQ(Value(report, "x").at("rows"), 1);
}

}  // namespace
}  // namespace partwatch::testing
