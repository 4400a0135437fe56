#include "tests/integration/fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

namespace partwatch::testing {

std::string TableBlock(const std::string& name, int64_t threshold, const std::string& action) {
  return "[[table]]\nname = \"" + name + "\"\nthreshold = " + std::to_string(threshold) +
         "\naction = \"" + action + "\"\n";
}

std::string InsertOrders(int64_t n, const std::string& status, const std::string& customer) {
  return "INSERT INTO orders (customer_name, status) SELECT '" + customer + " ' || i, '" + status +
         "' FROM generate_series(1, " + std::to_string(n) + ") AS i";
}

bool RelationExists(const TestDatabase& db, const std::string& name) {
  return db.Scalar("SELECT to_regclass('" + name + "') IS NOT NULL") == "t";
}

int64_t Count(const TestDatabase& db, const std::string& sql) {
  const std::string v = db.Scalar(sql);
  if (v.empty()) throw std::runtime_error("no value from: " + sql);
  return std::stoll(v);
}

bool WaitCaughtUp(const TestDatabase& db, const std::string& slot) {
  const std::string lsn = db.Scalar("SELECT pg_current_wal_lsn()");
  return WaitFor([&] {
    return db.Scalar("SELECT confirmed_flush_lsn >= '" + lsn +
                     "'::pg_lsn FROM pg_replication_slots WHERE slot_name = '" + slot + "'") == "t";
  });
}

bool WaitSlotInactive(const TestDatabase& db, const std::string& slot) {
  return WaitFor([&] {
    return db.Scalar("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot +
                     "' AND active") == "0";
  });
}

int Occurrences(const std::string& haystack, const std::string& needle) {
  int n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

std::vector<std::string> Partitions(const TestDatabase& db, const std::string& parent) {
  pg::Connection c = db.Connect();
  pg::QueryResult r = c.ExecParams(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "WHERE i.inhparent = $1::regclass ORDER BY 1",
      {parent});
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
  return out;
}

std::string DatabaseNameForCurrentTest() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string("t_") + info->test_suite_name() + "_" + info->name();
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = '_';
  }
  if (name.size() > 63) {
    char hash[9];
    std::snprintf(hash, sizeof(hash), "%08zx", std::hash<std::string>{}(name)&0xffffffffu);
    name = name.substr(0, 54) + "_" + hash;
  }
  return name;
}

void PartwatchTest::SetUp() { db_ = std::make_unique<TestDatabase>(DatabaseNameForCurrentTest()); }

std::unique_ptr<PartwatchProcess> PartwatchTest::StartRun(const std::string& config) {
  return std::make_unique<PartwatchProcess>(std::vector<std::string>{"run"}, config);
}

void OrdersTest::SetUp() {
  PartwatchTest::SetUp();
  db_->Exec(kOrdersDdl);
}

LockWatch::LockWatch(const TestDatabase& db, const std::string& parent, Kind kind)
    : conn_(db.Connect()) {
  conn_.Exec("SET application_name = 'test lock watch'");
  const std::string rels = "(" + conn_.QuoteLiteral(parent) +
                           "::regclass, (SELECT partdefid FROM pg_partitioned_table WHERE "
                           "partrelid = " +
                           conn_.QuoteLiteral(parent) + "::regclass))";
  const std::string held =
      kind == kWriteBlockingByPartwatch
          ? "l.mode IN ('ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', "
            "'AccessExclusiveLock') AND a.application_name LIKE 'partwatch%'"
          : "l.mode = 'AccessExclusiveLock'";
  const std::string sql =
      "SELECT (SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
      "        WHERE l.locktype = 'relation' AND l.granted AND l.database = (SELECT oid FROM "
      "        pg_database WHERE datname = current_database()) AND l.relation IN " +
      rels + " AND " + held +
      "), (SELECT coalesce(max(extract(epoch FROM clock_timestamp() - l.waitstart) * 1000), "
      "0)::bigint FROM pg_locks l WHERE NOT l.granted AND l.waitstart IS NOT NULL "
      "  AND EXISTS (SELECT 1 FROM unnest(pg_blocking_pids(l.pid)) b "
      "              JOIN pg_stat_activity a ON a.pid = b "
      "              WHERE a.application_name LIKE 'partwatch%'))";
  thread_ = std::thread([this, sql] { Loop(sql); });
}

void LockWatch::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::chrono::milliseconds LockWatch::longest_hold() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(longest_hold_);
}

void LockWatch::Loop(const std::string& sql) {
  using Clock = std::chrono::steady_clock;
  bool in_run = false;
  Clock::time_point run_start;
  while (!stop_) {
    const auto t = Clock::now();
    pg::QueryResult r = conn_.TryExec(sql);
    if (!r.ok()) {
      failed_ = true;
      break;
    }
    ++samples_;
    const bool held = r.int64(0, 0) > 0;
    longest_wait_ms_ = std::max<int64_t>(longest_wait_ms_, r.int64(0, 1));
    if (held && !in_run) {
      in_run = true;
      run_start = t;
      ++holds_;
    } else if (!held && in_run) {
      in_run = false;
      longest_hold_ = std::max(longest_hold_, Clock::now() - run_start);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (in_run) longest_hold_ = std::max(longest_hold_, Clock::now() - run_start);
}

Daemon::Daemon(const std::string& binary,
               const std::vector<std::pair<std::string, std::string>>& files,
               const std::function<std::vector<std::string>(const std::string& dir)>& args) {
  char tmpl[] = "/tmp/partwatch-daemon-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return;
  dir_ = tmpl;
  for (const auto& [name, contents] : files) std::ofstream(dir_ + "/" + name) << contents;
  std::vector<std::string> argv_s{binary};
  for (std::string& a : args(dir_)) argv_s.push_back(std::move(a));
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = dir_ + "/daemon.log";
  pid_ = fork();
  if (pid_ == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
}

Daemon::~Daemon() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 600 && waitpid(pid_, &status, WNOHANG) == 0; ++i) usleep(50'000);
    if (waitpid(pid_, &status, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string Daemon::Log() const {
  std::ifstream log(dir_ + "/daemon.log");
  return std::string((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
}

}  // namespace partwatch::testing
