// Fault-injection tests: partwatch against a real PostgreSQL 15 that the
// tests kill, restart, cut off and starve.  Every test ends on database
// state: rows counted per value and in total, id sets (count(*) ==
// count(DISTINCT id), ids unchanged), the partitions in pg_class /
// pg_inherits and the slot in pg_replication_slots.  Log lines serve only to
// know when partwatch has finished reacting (so that "no partition" is a fact,
// not a race) and as evidence in failure messages.
//
// Each test gets a PostgreSQL of its own (not the shared one of
// integration_tests): the tests restart servers, fill WAL and read
// pg_stat_replication_slots.  The servers run with synchronous_commit = on so
// that an immediate shutdown loses no commit the test was told about.
//
// CI-short variants by default (the suite takes about 4 minutes on 2 cores);
// PARTWATCH_LONG_TESTS=1 selects the long ones: 100 kill rounds instead of
// 8, 200 crossings instead of 30, 2 GB of unrelated WAL instead of 200 MB,
// 5 million distinct values instead of 1 million, a 20-million-row
// transaction instead of 5 million.  KillNineDuringMoves kills at named
// fault points (src/fault.h), not at random moments.
//
// Numbers worth reporting (peak RSS, retained WAL, takeover time, sizes and
// durations) are printed as "[ fault    ] ..." lines and recorded as gtest
// properties.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/fixture.h"
#include "tests/integration/pg_harness.h"

namespace partwatch::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// ---------------------------------------------------------------------------
// Settings and reporting

bool LongTests() {
  const char* v = std::getenv("PARTWATCH_LONG_TESTS");
  return v && *v && std::string(v) != "0";
}

template <typename T>
T ShortOrLong(T short_value, T long_value) {
  return LongTests() ? long_value : short_value;
}

// A measured number: printed and recorded in the gtest XML output.
void Note(const std::string& key, const std::string& value) {
  std::cout << "[ fault    ] " << key << " = " << value << std::endl;
  ::testing::Test::RecordProperty(key, value);
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string Fixed(double v, int decimals = 1) {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(decimals);
  os << v;
  return os.str();
}

// ---------------------------------------------------------------------------
// Schema, config, SQL

// kOrdersDdl, kStreamingLine, InsertOrders and Occurrences: fixture.h.
constexpr const char* kDecisionLine = "decided to";
// What the executor logs when a decision is finished, one per decision (the
// flood guard's ALERT is logged once per value per hour; no test here reaches
// the guard).
const std::vector<std::string> kOutcomeLines = {"nothing to do", "created partition",
                                                "action failed", "ALERT table"};

// The log of the current session: everything after the last streaming line
// ("" when there is none yet).
std::string CurrentSession(const std::string& log) {
  const size_t pos = log.rfind(kStreamingLine);
  return pos == std::string::npos ? std::string() : log.substr(pos);
}

// The peak and current resident set of a live process, in KiB (from
// /proc/PID/status); -1 when unreadable.
struct Memory {
  int64_t hwm_kib = -1;
  int64_t rss_kib = -1;
};
Memory ProcessMemory(pid_t pid) {
  Memory m;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    auto field = [&](const char* name, int64_t* out) {
      if (line.rfind(name, 0) == 0) *out = std::stoll(line.substr(std::string(name).size()));
    };
    field("VmHWM:", &m.hwm_kib);
    field("VmRSS:", &m.rss_kib);
  }
  return m;
}

// ---------------------------------------------------------------------------
// A database on a server of the test's own.  Every call opens its own
// connection, so the helpers work across server restarts.

class FaultDb {
 public:
  FaultDb(PgServer& server, std::string name) : server_(server), name_(std::move(name)) {
    pg::Connection admin = pg::Connection::Open(server_.Conninfo());
    admin.Exec("CREATE DATABASE " + admin.QuoteIdent(name_));
  }
  std::string Conninfo() const { return server_.Conninfo(name_); }
  pg::Connection Connect() const { return pg::Connection::Open(Conninfo()); }

  void Exec(const std::string& sql) const { Connect().Exec(sql); }
  std::string Scalar(const std::string& sql) const {
    pg::Connection c = Connect();
    pg::QueryResult r = c.Exec(sql);
    if (r.rows() == 0 || r.columns() == 0 || r.is_null(0, 0)) return "";
    return r.text(0, 0);
  }
  int64_t Int(const std::string& sql) const {
    const std::string v = Scalar(sql);
    if (v.empty()) throw std::runtime_error("no value from: " + sql);
    return std::stoll(v);
  }
  // As Scalar(), nullopt when the server cannot be reached or the query
  // fails (for polling while the server restarts).
  std::optional<std::string> TryScalar(const std::string& sql) const {
    try {
      return Scalar(sql);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  // The first row, all columns, as text ("" for NULL).
  std::vector<std::string> Row(const std::string& sql) const {
    pg::Connection c = Connect();
    pg::QueryResult r = c.Exec(sql);
    std::vector<std::string> out;
    if (r.rows() == 0) return out;
    for (int i = 0; i < r.columns(); ++i) out.push_back(r.is_null(0, i) ? "" : r.text(0, i));
    return out;
  }
  // Runs `sql`, retrying for up to `timeout` while the server refuses
  // connections (just after a restart).
  void ExecRetrying(const std::string& sql, milliseconds timeout = seconds(60)) const {
    std::string last;
    const bool ok = WaitFor(
        [&] {
          try {
            Exec(sql);
            return true;
          } catch (const std::exception& e) {
            last = e.what();
            return false;
          }
        },
        timeout);
    if (!ok) throw std::runtime_error("could not run `" + sql + "`: " + last);
  }

 private:
  PgServer& server_;
  std::string name_;
};

// Where the rows of one value are.
struct ValuePlacement {
  bool table_exists = false;   // a relation of the partition's name exists
  bool attached = false;       // ... and is a partition of orders
  std::string bound;           // its FOR VALUES clause
  int64_t in_default = 0;      // rows of the value in ONLY orders_other
  int64_t in_partition = 0;    // rows in the partition (0 when none)
  int64_t through_parent = 0;  // rows of the value seen through orders
};

// The id set of one value's rows: inserted by InsertOrders as ids
// first..first+n-1 with customer 'Customer <id - first + 1>'.
struct IdCheck {
  int64_t rows = 0, distinct = 0, min = 0, max = 0, intact = 0;
};

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<PgServer>(std::vector<std::string>{"synchronous_commit=on"});
    db_ = std::make_unique<FaultDb>(*server_, "fault");
    db_->Exec(kOrdersDdl);
  }
  void TearDown() override {
    db_.reset();
    server_.reset();  // pgtmp stop
  }

  // partwatch's config for public.orders; `table_extra` adds keys to the
  // [[table]] block.
  std::string Config(int64_t threshold, const std::string& table_extra = "") const {
    return "[source]\ndsn = \"" + db_->Conninfo() +
           "\"\nstatus_interval_ms = 200\nslot_check_interval_ms = 1000\n\n"
           "[log]\nlevel = \"debug\"\n\n[[table]]\nname = \"public.orders\"\nthreshold = " +
           std::to_string(threshold) + "\naction = \"create\"\n" + table_extra;
  }

  // `env`: extra environment for partwatch (PARTWATCH_FAULT, src/fault.h).
  std::unique_ptr<PartwatchProcess> Start(
      const std::string& config, const std::vector<std::pair<std::string, std::string>>& env = {}) {
    return std::make_unique<PartwatchProcess>(std::vector<std::string>{"run"}, config, env);
  }
  // Start() and wait until it streams.
  std::unique_ptr<PartwatchProcess> StartStreaming(
      const std::string& config, const std::vector<std::pair<std::string, std::string>>& env = {}) {
    auto pw = Start(config, env);
    EXPECT_TRUE(pw->WaitForLog(kStreamingLine, seconds(30))) << pw->Log();
    return pw;
  }

  // The slot's confirmed_flush_lsn has passed the WAL position of the call.
  bool WaitCaughtUp(milliseconds timeout = seconds(60)) {
    const std::string lsn = db_->Scalar("SELECT pg_current_wal_lsn()");
    return WaitFor(
        [&] {
          return db_->TryScalar("SELECT confirmed_flush_lsn >= '" + lsn +
                                "'::pg_lsn FROM pg_replication_slots "
                                "WHERE slot_name = 'partwatch'") == "t";
        },
        timeout);
  }
  // Every decision of the current session has an outcome line.  Together
  // with WaitCaughtUp() (decisions are logged before their commit is
  // confirmed) this means partwatch has finished reacting to every commit so
  // far.
  static bool WaitExecutorIdle(PartwatchProcess& pw, milliseconds timeout = seconds(60)) {
    return WaitFor(
        [&] {
          const std::string s = CurrentSession(pw.Log());
          if (s.empty()) return false;
          int outcomes = 0;
          for (const auto& o : kOutcomeLines) outcomes += Occurrences(s, o);
          return outcomes >= Occurrences(s, kDecisionLine);
        },
        timeout);
  }
  bool Quiesce(PartwatchProcess& pw, milliseconds timeout = seconds(60)) {
    return WaitCaughtUp(timeout) && WaitExecutorIdle(pw, timeout);
  }

  // No backend of any partwatch process is left (after a kill -9 the
  // server notices the dead client only when it next reads or writes).
  bool WaitNoPartwatchBackends(milliseconds timeout = seconds(60)) {
    return WaitFor(
        [&] {
          return db_->TryScalar(
                     "SELECT (SELECT count(*) FROM pg_stat_activity "
                     "        WHERE application_name LIKE 'partwatch%') + "
                     "       (SELECT count(*) FROM pg_replication_slots WHERE active)") == "0";
        },
        timeout);
  }

  ValuePlacement Placement(const std::string& value) const {
    ValuePlacement p;
    const std::string rel = "orders_" + value;
    const auto row = db_->Row(
        "SELECT c.relispartition, COALESCE(pg_get_expr(c.relpartbound, c.oid), ''), "
        "       EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid "
        "               AND i.inhparent = 'orders'::regclass) "
        "FROM pg_class c WHERE c.relname = '" +
        rel + "' AND c.relnamespace = 'public'::regnamespace");
    if (!row.empty()) {
      p.table_exists = true;
      p.attached = row[0] == "t" && row[2] == "t";
      p.bound = row[1];
    }
    p.in_default =
        db_->Int("SELECT count(*) FROM ONLY orders_other WHERE status = '" + value + "'");
    if (p.table_exists) p.in_partition = db_->Int("SELECT count(*) FROM " + rel);
    p.through_parent = db_->Int("SELECT count(*) FROM orders WHERE status = '" + value + "'");
    return p;
  }

  bool WaitPartition(const std::string& value, int64_t rows, milliseconds timeout = seconds(60)) {
    return WaitFor(
        [&] {
          try {
            const ValuePlacement p = Placement(value);
            return p.attached && p.in_partition == rows && p.in_default == 0;
          } catch (const std::exception&) {
            return false;
          }
        },
        timeout);
  }

  IdCheck Ids(const std::string& value, int64_t first_id) const {
    const auto r = db_->Row(
        "SELECT count(*), count(DISTINCT id), COALESCE(min(id), 0), COALESCE(max(id), 0), "
        "       count(*) FILTER (WHERE customer_name = 'Customer ' || (id - " +
        std::to_string(first_id) + " + 1)) FROM orders WHERE status = '" + value + "'");
    return IdCheck{std::stoll(r[0]), std::stoll(r[1]), std::stoll(r[2]), std::stoll(r[3]),
                   std::stoll(r[4])};
  }

  // The whole table: rows == distinct ids == `total`.  (Ids need not be
  // 1..total: a sequence skips values after a crash.)
  void ExpectWholeTable(int64_t total) const {
    const auto r = db_->Row("SELECT count(*), count(DISTINCT id) FROM orders");
    EXPECT_EQ(std::stoll(r[0]), total) << "rows in orders";
    EXPECT_EQ(std::stoll(r[1]), total) << "distinct ids in orders";
  }

  // The rows of `value` with id <= max_id, as one digest of (id, customer,
  // created_at) in id order, plus their count: equal before and after a move
  // means the same rows, none lost, doubled or altered.
  std::string Fingerprint(const std::string& value, int64_t max_id) const {
    const auto r = db_->Row(
        "SELECT count(*) || ':' || md5(COALESCE(string_agg(id || '/' || customer_name || '/' "
        "|| created_at, ',' ORDER BY id), '')) FROM orders WHERE status = '" +
        value + "' AND id <= " + std::to_string(max_id));
    return r.at(0);
  }
  int64_t MaxId(const std::string& value) const {
    return db_->Int("SELECT COALESCE(max(id), 0) FROM orders WHERE status = '" + value + "'");
  }

  // No ordinary table in public that is not a partition: a half-created
  // partition would be one.
  int64_t StandaloneTables() const {
    return db_->Int(
        "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind = 'r' AND NOT relispartition AND relname LIKE 'orders%'");
  }

  // Partitions of orders whose bound lists `value` (to prove "exactly once").
  int64_t PartitionsFor(const std::string& value) const {
    return db_->Int(
        "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'orders'::regclass "
        "AND pg_get_expr(c.relpartbound, c.oid) = 'FOR VALUES IN (''" +
        value + "'')'");
  }

  // DEFAULT holds exactly `threshold` rows of `value`: once partwatch has
  // reacted to every commit, no partition may exist.  Then one more row: the
  // partition must appear holding all threshold + 1 rows, the same rows.
  void ExpectCrossingAtNextRow(PartwatchProcess& pw, const std::string& value, int64_t threshold) {
    ASSERT_TRUE(Quiesce(pw)) << pw.Log();
    const ValuePlacement p = Placement(value);
    ASSERT_FALSE(p.table_exists) << "created at " << threshold << " rows\n" << pw.Log();
    ASSERT_EQ(p.in_default, threshold) << pw.Log();
    const int64_t max_id = MaxId(value);
    const std::string before = Fingerprint(value, max_id);
    db_->Exec(InsertOrders(1, value));
    ASSERT_TRUE(WaitPartition(value, threshold + 1)) << pw.Log();
    EXPECT_EQ(Fingerprint(value, max_id), before);
    EXPECT_EQ(PartitionsFor(value), 1);
    EXPECT_EQ(db_->Int("SELECT count(DISTINCT id) FROM orders WHERE status = '" + value + "'"),
              threshold + 1);
  }

  std::string ReadServerLog() const {
    std::ifstream in(server_->dir() + "/server.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::optional<std::string> WalsenderPid() const {
    auto v =
        db_->TryScalar("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'partwatch'");
    if (!v || v->empty()) return std::nullopt;
    return v;
  }

  std::unique_ptr<PgServer> server_;
  std::unique_ptr<FaultDb> db_;
};

// ---------------------------------------------------------------------------
// 1. kill -9 at every step of a move.
//
// Each round kills partwatch at a named step of the executor (src/fault.h),
// in turn: after it took the decision (before the exact count), holding the
// move's lock, with the move done but not committed, just after COMMIT.
// The same steps are interrupted on any machine, fast or slow.  After each
// kill: nothing lost or doubled, the value in exactly one place, no
// half-created table; the kill after COMMIT finds the value moved, the
// others untouched.  Then partwatch is started and killed again at the next
// step (its start-up recount decides), and finally started once more to
// complete the move.

TEST_F(FaultTest, KillNineDuringMoves) {
  const int rounds = ShortOrLong(8, 100);
  // Small enough for the one-transaction move (the online drain's kills are
  // drain_cli_test.cc's).
  const int64_t rows = 5'000;
  const std::vector<std::string> points = {"executor.decided", "executor.move.locked",
                                           "executor.move.before_commit",
                                           "executor.move.committed"};
  Note("kill9.rounds", std::to_string(rounds));
  const std::string config = Config(1000);
  const auto started = Clock::now();
  int64_t total = 0;

  // Where each kill landed: rows moved, decided but not moved (the move's
  // transaction, if it had begun, was rolled back).
  int moved_n = 0, decided_not_moved_n = 0;

  // After a kill: nothing lost or doubled, and the value is in exactly one
  // place; moved exactly when the kill came after COMMIT.
  auto check_after_kill = [&](const std::string& value, int64_t first_id, const std::string& point,
                              const std::string& log) {
    EXPECT_NE(log.find("fault point " + point + " reached"), std::string::npos) << log;
    EXPECT_TRUE(WaitNoPartwatchBackends()) << log;
    ExpectWholeTable(total);
    const IdCheck ids = Ids(value, first_id);
    EXPECT_EQ(ids.rows, rows) << log;
    EXPECT_EQ(ids.distinct, rows) << log;
    EXPECT_EQ(ids.min, first_id) << log;
    EXPECT_EQ(ids.max, first_id + rows - 1) << log;
    EXPECT_EQ(ids.intact, rows) << log;
    const ValuePlacement p = Placement(value);
    const bool untouched = !p.table_exists && p.in_default == rows;
    const bool moved = p.attached && p.in_partition == rows && p.in_default == 0 &&
                       p.bound == "FOR VALUES IN ('" + value + "')";
    EXPECT_EQ(moved, point == "executor.move.committed")
        << "value " << value << " killed at " << point << ": table_exists=" << p.table_exists
        << " attached=" << p.attached << " bound=" << p.bound << " in_default=" << p.in_default
        << " in_partition=" << p.in_partition << "\n"
        << log;
    EXPECT_TRUE(untouched || moved) << log;
    EXPECT_EQ(p.through_parent, rows);
    EXPECT_EQ(StandaloneTables(), 0) << "a half-created partition was left behind\n" << log;
    // Everything of earlier rounds was moved: DEFAULT holds only this value.
    EXPECT_EQ(db_->Int("SELECT count(*) FROM ONLY orders_other"), p.in_default);
    (moved ? moved_n : decided_not_moved_n)++;
  };
  auto start_with_fault = [&](const std::string& point, bool streaming) {
    const std::vector<std::pair<std::string, std::string>> env = {
        {"PARTWATCH_FAULT", point + "=kill"}};
    return streaming ? StartStreaming(config, env) : Start(config, env);
  };

  for (int round = 1; round <= rounds; ++round) {
    const std::string value = "k" + std::to_string(round);
    const std::string point = points[(round - 1) % points.size()];
    SCOPED_TRACE("round " + std::to_string(round) + " value " + value + " kill at " + point);
    const int64_t first_id = total + 1;

    // a) partwatch streaming; the insert commits; partwatch kills itself at
    //    `point`.
    {
      auto pw = start_with_fault(point, true);
      ASSERT_TRUE(pw->running()) << pw->Log();
      db_->Exec(InsertOrders(rows, value));
      total += rows;
      pw->Wait(seconds(120));
      check_after_kill(value, first_id, point, pw->Log());
      if (HasFailure()) return;
    }
    // b) a restarted partwatch decides at start-up (its recount is over the
    //    threshold); it kills itself at the next step.
    if (Placement(value).in_default > 0) {
      const std::string next = points[round % points.size()];
      auto pw = start_with_fault(next, false);
      pw->Wait(seconds(120));
      check_after_kill(value, first_id, next, pw->Log());
      if (HasFailure()) return;
    }
    // c) started once more, partwatch completes the pending action.
    {
      auto pw = Start(config);
      ASSERT_TRUE(WaitPartition(value, rows)) << pw->Log();
      ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
      EXPECT_EQ(PartitionsFor(value), 1) << pw->Log();
      const IdCheck ids = Ids(value, first_id);
      EXPECT_EQ(ids.rows, rows);
      EXPECT_EQ(ids.distinct, rows);
      EXPECT_EQ(ids.intact, rows);
      ExpectWholeTable(total);
      EXPECT_EQ(db_->Int("SELECT count(*) FROM ONLY orders_other"), 0);
      EXPECT_TRUE(pw->running()) << pw->Log();
      EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
      if (HasFailure()) return;
    }
  }
  // The slot survived every kill: one slot, not active.
  ASSERT_TRUE(WaitNoPartwatchBackends());
  EXPECT_EQ(db_->Int("SELECT count(*) FROM pg_replication_slots"), 1);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM pg_inherits WHERE inhparent = 'orders'::regclass"),
            4 + rounds);
  Note("kill9.kills_after_move_committed", std::to_string(moved_n));
  Note("kill9.kills_before_commit", std::to_string(decided_not_moved_n));
  // The server logs each executor backend whose client vanished inside the
  // move's transaction (rolled back).
  const std::string server_log = ReadServerLog();
  int in_transaction = 0;
  std::istringstream lines(server_log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("partwatch executor") != std::string::npos &&
        line.find("with an open transaction") != std::string::npos) {
      ++in_transaction;
    }
  }
  Note("kill9.kills_inside_the_move_transaction", std::to_string(in_transaction));
  Note("kill9.seconds", Fixed(SecondsSince(started)));
}

// ---------------------------------------------------------------------------
// 1b. The commit that crosses the threshold must be seen by the exact count.
//
// With synchronous_commit = on (PostgreSQL's default) a commit record is
// flushed, and so can be decoded and sent to partwatch, a moment before the
// committing backend leaves the proc array, i.e. before the commit is
// visible to new snapshots.  An executor that counts at once may miss the
// very rows that crossed the threshold.  Many crossings by exactly one row
// make that window show.

TEST_F(FaultTest, CrossingCommitIsSeenByTheExactCount) {
  const int values = ShortOrLong(30, 200);
  // More partitions than the flood guard's default 60 per hour.
  auto pw = StartStreaming(Config(100, "max_new_partitions_per_hour = 1000\n"));
  std::string all;
  for (int i = 1; i <= values; ++i) {
    all += (all.empty() ? "" : ", ") + std::string("('c") + std::to_string(i) + "')";
  }
  db_->Exec(
      "INSERT INTO orders (customer_name, status) SELECT 'Customer ' || i, v "
      "FROM (VALUES " +
      all + ") AS s(v), generate_series(1, 100) AS i");
  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
  ASSERT_EQ(Occurrences(pw->Log(), kDecisionLine), 0) << pw->Log();

  std::vector<std::string> missed;
  for (int i = 1; i <= values; ++i) {
    const std::string value = "c" + std::to_string(i);
    db_->Exec(InsertOrders(1, value));  // the 101st row, alone in its commit
    ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
    if (!Placement(value).attached) missed.push_back(value);
  }
  Note("crossing.values", std::to_string(values));
  Note("crossing.missed", std::to_string(missed.size()));
  std::string list;
  for (const auto& v : missed) list += " " + v;
  EXPECT_TRUE(missed.empty()) << missed.size() << " of " << values
                              << " values have 101 rows in DEFAULT and no partition:" << list
                              << "\n"
                              << pw->Log();
  ExpectWholeTable(values * 101);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// The same window held open: with a synchronous standby, a commit is flushed
// (and decoded for logical walsenders, which do not wait for standbys in
// PostgreSQL 15) but stays invisible until the standby confirms it.  Here
// partwatch's own walsender is named the synchronous standby, so each
// crossing commit becomes visible only after partwatch has confirmed it,
// i.e. after it has decided.  A physical synchronous replica a few
// milliseconds away opens the same window in production.
TEST_F(FaultTest, CrossingCommitIsSeenByTheExactCountUnderSynchronousReplication) {
  const int values = 5;
  auto pw = StartStreaming(Config(100));
  for (int i = 1; i <= values; ++i) db_->Exec(InsertOrders(100, "s" + std::to_string(i)));
  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
  db_->Exec("ALTER SYSTEM SET synchronous_standby_names = 'partwatch'");
  db_->Exec("SELECT pg_reload_conf()");
  ASSERT_TRUE(WaitFor([&] {
    return db_->Scalar(
               "SELECT sync_state FROM pg_stat_replication "
               "WHERE application_name = 'partwatch'") == "sync";
  })) << pw->Log();

  std::vector<std::string> missed;
  for (int i = 1; i <= values; ++i) {
    const std::string value = "s" + std::to_string(i);
    db_->Exec(InsertOrders(1, value));  // returns once partwatch confirmed it
    ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
    if (!WaitPartition(value, 101, seconds(5))) missed.push_back(value);
  }
  db_->Exec("ALTER SYSTEM RESET synchronous_standby_names");
  db_->Exec("SELECT pg_reload_conf()");
  Note("crossing_syncrep.missed", std::to_string(missed.size()));
  std::string list;
  for (const auto& v : missed) list += " " + v;
  EXPECT_TRUE(missed.empty()) << missed.size() << " of " << values
                              << " values have 101 rows in DEFAULT and no partition:" << list
                              << "\n"
                              << pw->Log();
  ExpectWholeTable(values * 101);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// ---------------------------------------------------------------------------
// 2. The server restarts under a streaming partwatch.

class ServerRestartTest : public FaultTest {
 protected:
  void RunRestart(const std::string& mode) {
    auto pw = StartStreaming(Config(100));
    // A crossing before the restart works as usual.
    db_->Exec(InsertOrders(101, "early"));
    ASSERT_TRUE(WaitPartition("early", 101)) << pw->Log();

    db_->Exec(InsertOrders(60, "returned"));
    ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
    const std::string pid_before = WalsenderPid().value_or("");

    const auto t0 = Clock::now();
    server_->Restart(mode);
    Note("restart." + mode + ".pg_ctl_seconds", Fixed(SecondsSince(t0), 2));
    // Right away, before partwatch is back (it retries after 0.5 s at the
    // earliest): 40 more, so DEFAULT holds exactly the threshold.
    db_->ExecRetrying(InsertOrders(40, "returned"));
    const bool inserted_before_reconnect = Occurrences(pw->Log(), kStreamingLine) == 1;
    Note("restart." + mode + ".rows_inserted_before_reconnect",
         inserted_before_reconnect ? "yes" : "no");

    ASSERT_TRUE(pw->WaitForLog(std::string("resuming replication slot"), seconds(60))) << pw->Log();
    ASSERT_TRUE(WaitFor([&] { return Occurrences(pw->Log(), kStreamingLine) >= 2; }, seconds(60)))
        << pw->Log();
    Note("restart." + mode + ".reconnected_after_seconds", Fixed(SecondsSince(t0), 2));
    EXPECT_TRUE(pw->running()) << pw->Log();
    EXPECT_NE(WalsenderPid().value_or(""), pid_before);

    ExpectCrossingAtNextRow(*pw, "returned", 100);
    if (HasFatalFailure()) return;

    // A value that first appears after the restart.
    db_->Exec(InsertOrders(101, "late"));
    ASSERT_TRUE(WaitPartition("late", 101)) << pw->Log();

    ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
    EXPECT_EQ(PartitionsFor("early"), 1);
    EXPECT_EQ(PartitionsFor("late"), 1);
    EXPECT_EQ(StandaloneTables(), 0);
    ExpectWholeTable(101 + 101 + 101);
    EXPECT_EQ(db_->Int("SELECT count(*) FROM ONLY orders_other"), 0);
    EXPECT_EQ(db_->Int("SELECT count(*) FROM pg_replication_slots"), 1);
    EXPECT_TRUE(pw->running()) << pw->Log();
    EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
  }
};

TEST_F(ServerRestartTest, PostgresRestartFastWhileStreaming) { RunRestart("fast"); }

TEST_F(ServerRestartTest, PostgresRestartImmediateWhileStreaming) { RunRestart("immediate"); }

// The server crashes (immediate shutdown) while a move is under way: rows
// copied and deleted, the transaction not committed.  partwatch is paused at
// that named step (drain.max_lock_ms is raised so that the server's
// idle-in-transaction timeout does not end the session first); recovery
// rolls the move back, and once resumed partwatch finds its connection
// gone, reconnects, recounts and moves again, exactly once.
TEST_F(ServerRestartTest, PostgresRestartImmediateDuringMove) {
  const int64_t rows = 5'000;
  auto pw = StartStreaming(Config(1000) + "\n[drain]\nmax_lock_ms = 600000\n",
                           {{"PARTWATCH_FAULT", "executor.move.before_commit=pause"}});
  db_->Exec(InsertOrders(rows, "big"));
  ASSERT_TRUE(pw->WaitForLog("fault point executor.move.before_commit reached", seconds(60)))
      << pw->Log();
  ASSERT_NE(pw->Log().find("moving 5000 row(s) in one transaction"), std::string::npos)
      << pw->Log();
  server_->Restart("immediate");
  ::kill(pw->pid(), SIGCONT);
  ASSERT_TRUE(WaitFor([&] { return Occurrences(pw->Log(), kStreamingLine) >= 2; }, seconds(60)))
      << pw->Log();
  ASSERT_TRUE(WaitPartition("big", rows, seconds(120))) << pw->Log();
  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
  EXPECT_EQ(Occurrences(pw->Log(), "created partition"), 1) << pw->Log();
  EXPECT_EQ(PartitionsFor("big"), 1);
  const IdCheck ids = Ids("big", 1);
  EXPECT_EQ(ids.rows, rows);
  EXPECT_EQ(ids.distinct, rows);
  EXPECT_EQ(ids.intact, rows);
  EXPECT_EQ(ids.max, rows);
  EXPECT_EQ(StandaloneTables(), 0);
  ExpectWholeTable(rows);
  EXPECT_TRUE(pw->running()) << pw->Log();
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// ---------------------------------------------------------------------------
// 3. pg_terminate_backend on partwatch's connections.

TEST_F(FaultTest, TerminateBothConnections) {
  auto pw = StartStreaming(Config(100));
  db_->Exec(InsertOrders(60, "returned"));
  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
  ASSERT_TRUE(WaitFor([&] {
    return db_->Int(
               "SELECT count(*) FROM pg_stat_activity "
               "WHERE application_name = 'partwatch executor'") == 1;
  })) << pw->Log();
  const std::string walsender = WalsenderPid().value_or("");
  const std::string executor =
      db_->Scalar("SELECT pid FROM pg_stat_activity WHERE application_name = 'partwatch executor'");
  ASSERT_FALSE(walsender.empty());

  // a) The walsender and the executor's backend at once.
  EXPECT_EQ(db_->Int("SELECT count(*) FROM pg_stat_activity WHERE pid IN (" + walsender + ", " +
                     executor + ") AND pg_terminate_backend(pid)"),
            2);
  ASSERT_TRUE(WaitFor([&] { return Occurrences(pw->Log(), kStreamingLine) >= 2; }, seconds(60)))
      << pw->Log();
  ASSERT_TRUE(WaitFor([&] {
    const auto pid = WalsenderPid();
    return pid && *pid != walsender &&
           db_->TryScalar(
               "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
               "'partwatch executor' AND pid <> " +
               executor) == "1";
  })) << pw->Log();
  EXPECT_TRUE(pw->running()) << pw->Log();

  db_->Exec(InsertOrders(40, "returned"));  // exactly the threshold
  ExpectCrossingAtNextRow(*pw, "returned", 100);
  if (HasFatalFailure()) return;

  // b) Only the executor's (idle) backend: partwatch finds out at the next
  //    decision, which must still be carried out.
  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
  EXPECT_EQ(db_->Int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                     "WHERE application_name = 'partwatch executor'"),
            1);
  db_->Exec(InsertOrders(101, "second"));
  ASSERT_TRUE(WaitPartition("second", 101)) << pw->Log();

  // c) Every backend partwatch has (walsender, catalog, executor, monitor).
  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
  const int sessions_before = Occurrences(pw->Log(), kStreamingLine);
  EXPECT_GE(db_->Int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                     "WHERE application_name LIKE 'partwatch%'"),
            3);
  ASSERT_TRUE(WaitFor([&] { return Occurrences(pw->Log(), kStreamingLine) > sessions_before; },
                      seconds(60)))
      << pw->Log();
  db_->Exec(InsertOrders(100, "third"));
  ExpectCrossingAtNextRow(*pw, "third", 100);
  if (HasFatalFailure()) return;

  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
  EXPECT_EQ(PartitionsFor("returned"), 1);
  EXPECT_EQ(PartitionsFor("second"), 1);
  EXPECT_EQ(PartitionsFor("third"), 1);
  EXPECT_EQ(StandaloneTables(), 0);
  ExpectWholeTable(303);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM pg_replication_slots"), 1);
  EXPECT_TRUE(pw->running()) << pw->Log();
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// ---------------------------------------------------------------------------
// 4. The slot is dropped between two sessions.

TEST_F(FaultTest, SlotDroppedUnderPartwatch) {
  auto pw = StartStreaming(Config(100));
  db_->Exec(InsertOrders(60, "returned"));
  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();

  // Terminate the walsender, then drop the slot before partwatch is back;
  // should partwatch win the race, terminate it again.
  int attempts = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        ++attempts;
        pg::Connection c = db_->Connect();
        c.TryExec(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
            "WHERE slot_name = 'partwatch' AND active_pid IS NOT NULL");
        return c.TryExec("SELECT pg_drop_replication_slot('partwatch')").ok();
      },
      seconds(30)))
      << pw->Log();
  Note("slot_drop.attempts", std::to_string(attempts));

  db_->Exec(InsertOrders(40, "returned"));  // exactly the threshold
  ASSERT_TRUE(WaitFor(
      [&] {
        return Occurrences(pw->Log(), "created replication slot partwatch") == 2 &&
               Occurrences(pw->Log(), kStreamingLine) >= 2;
      },
      seconds(60)))
      << pw->Log();
  EXPECT_TRUE(pw->running()) << pw->Log();
  EXPECT_EQ(db_->Int("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'partwatch' "
                     "AND plugin = 'pgoutput' AND active"),
            1);

  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
  // The new slot's exported snapshot makes the recount exact: no decision
  // at all for 100 rows.
  EXPECT_EQ(Occurrences(CurrentSession(pw->Log()), kDecisionLine), 0) << pw->Log();
  ExpectCrossingAtNextRow(*pw, "returned", 100);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
  EXPECT_NE(pw->Log().find("value 'returned': 101 rows counted in DEFAULT"), std::string::npos)
      << pw->Log();
  EXPECT_EQ(PartitionsFor("returned"), 1);
  ExpectWholeTable(101);
  EXPECT_EQ(StandaloneTables(), 0);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// ---------------------------------------------------------------------------
// 5. Two `partwatch run` on one config.

TEST_F(FaultTest, CompetingInstance) {
  const std::string config = Config(100);
  auto first = StartStreaming(config);
  const std::string first_walsender = WalsenderPid().value_or("");
  ASSERT_FALSE(first_walsender.empty());

  auto second = Start(config);
  ASSERT_TRUE(second->WaitForLog("is in use by server process " + first_walsender, seconds(30)))
      << second->Log();
  // It waits rather than exiting, and a later attempt still finds the slot
  // busy.
  ASSERT_TRUE(WaitFor([&] { return Occurrences(second->Log(), "is in use") >= 2; }, seconds(30)))
      << second->Log();
  EXPECT_TRUE(second->running()) << second->Log();
  EXPECT_EQ(Occurrences(second->Log(), kStreamingLine), 0) << second->Log();
  EXPECT_EQ(WalsenderPid().value_or(""), first_walsender);

  db_->Exec(InsertOrders(101, "one"));
  ASSERT_TRUE(WaitPartition("one", 101)) << first->Log() << second->Log();
  ASSERT_TRUE(Quiesce(*first)) << first->Log();
  EXPECT_EQ(Occurrences(first->Log(), "created partition"), 1) << first->Log();
  EXPECT_EQ(Occurrences(second->Log(), "created partition"), 0) << second->Log();

  db_->Exec(InsertOrders(60, "two"));
  ASSERT_TRUE(Quiesce(*first)) << first->Log();

  const auto killed = Clock::now();
  first->Stop(SIGKILL);
  ASSERT_TRUE(second->WaitForLog(kStreamingLine, seconds(30)))
      << "the second instance did not take over within 30 s\n"
      << second->Log();
  ASSERT_TRUE(WaitFor([&] {
    const auto pid = WalsenderPid();
    return pid && *pid != first_walsender;
  })) << second->Log();
  Note("competing.takeover_seconds", Fixed(SecondsSince(killed), 2));
  EXPECT_TRUE(second->running()) << second->Log();

  db_->Exec(InsertOrders(40, "two"));  // 100: nothing yet
  ExpectCrossingAtNextRow(*second, "two", 100);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(Quiesce(*second)) << second->Log();
  EXPECT_EQ(PartitionsFor("one"), 1);
  EXPECT_EQ(PartitionsFor("two"), 1);
  EXPECT_EQ(Occurrences(second->Log(), "created partition"), 1) << second->Log();
  EXPECT_EQ(StandaloneTables(), 0);
  ExpectWholeTable(202);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM pg_replication_slots"), 1);
  EXPECT_EQ(second->Stop(SIGTERM), 0) << second->Log();
}

// ---------------------------------------------------------------------------
// 6. WAL of unrelated tables must not pile up behind an idle slot.

TEST_F(FaultTest, UnrelatedWalDoesNotGrowTheSlot) {
  const int64_t wal_mb = ShortOrLong<int64_t>(200, 2048);
  const int64_t limit_mb = 16;
  db_->Exec("CREATE TABLE unrelated (id bigserial, pad text)");
  auto pw = StartStreaming(Config(100));
  ASSERT_TRUE(WaitCaughtUp()) << pw->Log();

  const std::string start_lsn = db_->Scalar("SELECT pg_current_wal_lsn()");
  const auto t0 = Clock::now();
  int64_t written = 0;
  int chunks = 0;
  while (written < (wal_mb << 20)) {
    // ~20 MB of WAL per transaction.
    db_->Exec(
        "INSERT INTO unrelated (pad) SELECT repeat('x', 1000) FROM generate_series(1, "
        "20000)");
    ++chunks;
    written = db_->Int("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '" + start_lsn + "')::bigint");
  }
  Note("unrelated_wal.written_mb", std::to_string(written >> 20));
  Note("unrelated_wal.transactions", std::to_string(chunks));
  Note("unrelated_wal.write_seconds", Fixed(SecondsSince(t0)));
  const std::string retained_sql =
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
      "FROM pg_replication_slots WHERE slot_name = 'partwatch'";
  const std::string confirmed_lag_sql =
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
      "FROM pg_replication_slots WHERE slot_name = 'partwatch'";
  Note("unrelated_wal.retained_mb_after_writes", std::to_string(db_->Int(retained_sql) >> 20));
  Note("unrelated_wal.confirmed_lag_mb_after_writes",
       std::to_string(db_->Int(confirmed_lag_sql) >> 20));

  // confirmed_flush_lsn follows the WAL end by itself (keepalives while no
  // transaction of ours is open).
  const auto t_confirm = Clock::now();
  int64_t confirmed_lag = -1;
  EXPECT_TRUE(WaitFor(
      [&] {
        confirmed_lag = db_->Int(confirmed_lag_sql);
        return confirmed_lag < (limit_mb << 20);
      },
      seconds(120)))
      << "confirmed_flush_lsn is " << (confirmed_lag >> 20) << " MiB behind the WAL end\n"
      << pw->Log();
  Note("unrelated_wal.seconds_until_confirmed_caught_up", Fixed(SecondsSince(t_confirm), 2));

  // restart_lsn moves when the walsender decodes a running-xacts record
  // past the confirmed position; a CHECKPOINT writes one.
  const auto t1 = Clock::now();
  auto last_checkpoint = Clock::now() - seconds(10);
  int64_t retained = -1;
  const bool fell = WaitFor(
      [&] {
        if (Clock::now() - last_checkpoint > seconds(2)) {
          db_->Exec("CHECKPOINT");
          last_checkpoint = Clock::now();
        }
        retained = db_->Int(retained_sql);
        confirmed_lag = db_->Int(confirmed_lag_sql);
        return retained < (limit_mb << 20) && confirmed_lag < (limit_mb << 20);
      },
      seconds(120));
  Note("unrelated_wal.retained_mb_final", std::to_string(retained >> 20));
  Note("unrelated_wal.retained_bytes_final", std::to_string(retained));
  Note("unrelated_wal.confirmed_lag_bytes_final", std::to_string(confirmed_lag));
  Note("unrelated_wal.seconds_to_fall_below_limit", Fixed(SecondsSince(t1)));
  EXPECT_TRUE(fell) << "the slot still retains " << (retained >> 20) << " MiB (confirmed_flush_lsn "
                    << (confirmed_lag >> 20) << " MiB behind) after " << (written >> 20)
                    << " MiB of unrelated WAL\n"
                    << pw->Log();

  // The stream is healthy and exact afterwards.
  db_->Exec(InsertOrders(100, "returned"));
  ExpectCrossingAtNextRow(*pw, "returned", 100);
  if (HasFatalFailure()) return;
  ExpectWholeTable(101);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// ---------------------------------------------------------------------------
// 7. Counting stays exact across a stop (SIGTERM or kill -9) with rows
//    inserted while partwatch is down.

class RestartExactnessTest : public FaultTest {
 protected:
  void Run(int sig) {
    {
      auto pw = StartStreaming(Config(100));
      db_->Exec(InsertOrders(60, "returned"));
      if (sig == SIGTERM) {
        ASSERT_TRUE(WaitCaughtUp()) << pw->Log();
        ASSERT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
      } else {
        pw->Stop(SIGKILL);  // at once: the 60 may or may not be confirmed
      }
      ASSERT_TRUE(WaitNoPartwatchBackends()) << pw->Log();
    }
    db_->Exec(InsertOrders(30, "returned"));  // while partwatch is down
    auto pw = StartStreaming(Config(100));
    EXPECT_NE(pw->Log().find("resuming replication slot partwatch"), std::string::npos)
        << pw->Log();
    db_->Exec(InsertOrders(10, "returned"));  // 100
    ExpectCrossingAtNextRow(*pw, "returned", 100);
    if (HasFatalFailure()) return;
    ASSERT_TRUE(Quiesce(*pw)) << pw->Log();
    ExpectWholeTable(101);
    EXPECT_EQ(StandaloneTables(), 0);
    EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
  }
};

TEST_F(RestartExactnessTest, RestartExactnessAfterSigterm) { Run(SIGTERM); }

TEST_F(RestartExactnessTest, RestartExactnessAfterKillNine) { Run(SIGKILL); }

// ---------------------------------------------------------------------------
// 8. A flood of distinct values must not grow partwatch's memory.

TEST_F(FaultTest, DistinctValueFloodMemory) {
  const int64_t distinct = ShortOrLong<int64_t>(1'000'000, 5'000'000);
  const int chunks = 4;
  const int64_t limit_kib = 64 * 1024;
  auto pw = StartStreaming(Config(100));
  const Memory at_start = ProcessMemory(pw->pid());
  Note("flood.rss_kib_at_start", std::to_string(at_start.rss_kib));

  const auto t0 = Clock::now();
  const int64_t per_chunk = distinct / chunks;
  int64_t total = 0;
  for (int c = 0; c < chunks; ++c) {
    if (c == chunks / 2) {
      db_->Exec(InsertOrders(150, "hot"));  // the one value that crosses
      total += 150;
    }
    db_->Exec(
        "INSERT INTO orders (customer_name, status) SELECT 'c', 'v' || g "
        "FROM generate_series(" +
        std::to_string(c * per_chunk + 1) + ", " + std::to_string((c + 1) * per_chunk) + ") AS g");
    total += per_chunk;
  }
  Note("flood.insert_seconds", Fixed(SecondsSince(t0)));
  ASSERT_TRUE(WaitPartition("hot", 150, seconds(300))) << pw->Log();
  ASSERT_TRUE(Quiesce(*pw, seconds(300))) << pw->Log();
  Note("flood.seconds_to_caught_up", Fixed(SecondsSince(t0)));
  const Memory end = ProcessMemory(pw->pid());
  Note("flood.distinct_values", std::to_string(distinct));
  Note("flood.vmhwm_kib", std::to_string(end.hwm_kib));
  Note("flood.vmrss_kib", std::to_string(end.rss_kib));
  EXPECT_LT(end.hwm_kib, limit_kib)
      << "peak RSS " << (end.hwm_kib >> 10) << " MiB for " << distinct << " distinct values\n"
      << pw->Log();

  EXPECT_EQ(PartitionsFor("hot"), 1);
  EXPECT_EQ(Placement("hot").in_partition, 150);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM ONLY orders_other"), distinct);
  ExpectWholeTable(total);
  EXPECT_TRUE(pw->running()) << pw->Log();
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// ---------------------------------------------------------------------------
// 9. One huge transaction, streamed by the server before it commits.

class LargeTransactionTest : public FaultTest {
 protected:
  static int64_t Rows() { return ShortOrLong<int64_t>(5'000'000, 20'000'000); }
  int64_t StreamedTxns() const {
    return db_->Int(
        "SELECT COALESCE((SELECT stream_txns FROM pg_stat_replication_slots "
        "WHERE slot_name = 'partwatch'), 0)");
  }
};

TEST_F(LargeTransactionTest, LargeTransactionStreamed) {
  const int64_t rows = Rows();
  auto pw = StartStreaming(Config(rows - 1));
  const int64_t streamed_before = StreamedTxns();
  const auto t0 = Clock::now();
  db_->Exec(InsertOrders(rows, "bulk"));
  Note("large.rows", std::to_string(rows));
  Note("large.insert_seconds", Fixed(SecondsSince(t0)));
  ASSERT_TRUE(WaitPartition("bulk", rows, seconds(600))) << pw->Log();
  Note("large.seconds_until_moved", Fixed(SecondsSince(t0)));
  ASSERT_TRUE(Quiesce(*pw, seconds(300))) << pw->Log();
  const int64_t streamed = StreamedTxns() - streamed_before;
  Note("large.stream_txns", std::to_string(streamed));
  EXPECT_GT(streamed, 0) << "the server did not stream the transaction";
  const Memory m = ProcessMemory(pw->pid());
  Note("large.vmhwm_kib", std::to_string(m.hwm_kib));
  EXPECT_LT(m.hwm_kib, 64 * 1024) << "peak RSS " << (m.hwm_kib >> 10) << " MiB";

  EXPECT_EQ(PartitionsFor("bulk"), 1);
  EXPECT_EQ(Occurrences(pw->Log(), "created partition"), 1) << pw->Log();
  const IdCheck ids = Ids("bulk", 1);
  EXPECT_EQ(ids.rows, rows);
  EXPECT_EQ(ids.distinct, rows);
  EXPECT_EQ(ids.intact, rows);
  EXPECT_EQ(db_->Int("SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(StandaloneTables(), 0);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

TEST_F(LargeTransactionTest, LargeTransactionStreamedAborted) {
  const int64_t rows = Rows();
  auto pw = StartStreaming(Config(rows - 1));
  const int64_t streamed_before = StreamedTxns();
  const auto t0 = Clock::now();
  {
    pg::Connection c = db_->Connect();
    c.Exec("BEGIN");
    c.Exec(InsertOrders(rows, "bulk"));
    // Streaming happens while the transaction is open.
    ASSERT_TRUE(WaitFor([&] { return StreamedTxns() > streamed_before; }, seconds(120)))
        << "the server did not stream the open transaction\n"
        << pw->Log();
    c.Exec("ROLLBACK");
  }
  Note("large_aborted.rows", std::to_string(rows));
  ASSERT_TRUE(Quiesce(*pw, seconds(600))) << pw->Log();
  Note("large_aborted.seconds_until_caught_up", Fixed(SecondsSince(t0)));
  const Memory m = ProcessMemory(pw->pid());
  Note("large_aborted.vmhwm_kib", std::to_string(m.hwm_kib));
  EXPECT_LT(m.hwm_kib, 64 * 1024) << "peak RSS " << (m.hwm_kib >> 10) << " MiB";
  EXPECT_FALSE(Placement("bulk").table_exists) << pw->Log();
  EXPECT_EQ(Occurrences(pw->Log(), kDecisionLine), 0) << pw->Log();
  EXPECT_EQ(db_->Int("SELECT count(*) FROM orders"), 0);
  EXPECT_EQ(StandaloneTables(), 0);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
