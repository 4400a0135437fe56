// Shared pieces of the integration tests: the seed's `orders` schema, config
// snippets, database-state probes and a fixture that gives every test its own
// database on the shared server (tests/integration/pg_harness.h).
#pragma once

#include <gtest/gtest.h>

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/pg_harness.h"

namespace partwatch::testing {

// The first seed's table: LIST on status, three known statuses, DEFAULT
// orders_other.  No primary key, no replica identity.
inline constexpr const char* kOrdersDdl = R"sql(
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

// partwatch logs this once START_REPLICATION succeeded.
inline constexpr const char* kStreamingLine = "streaming from slot";

// A [[table]] block.
std::string TableBlock(const std::string& name, int64_t threshold,
                       const std::string& action = "create");

// INSERT of `n` rows of `status` into orders, as one statement.
std::string InsertOrders(int64_t n, const std::string& status,
                         const std::string& customer = "Customer");

// to_regclass(name) IS NOT NULL.
bool RelationExists(const TestDatabase& db, const std::string& name);

// The first column of the first row as an integer (the query must return one).
int64_t Count(const TestDatabase& db, const std::string& sql);

// Waits until the slot's confirmed_flush_lsn has passed the WAL position of
// the moment of the call: every commit so far has been counted and every
// decision it triggered logged (partwatch logs decisions before it confirms).
bool WaitCaughtUp(const TestDatabase& db, const std::string& slot = "partwatch");

// Waits until no walsender holds `slot` (after a partwatch process exited).
bool WaitSlotInactive(const TestDatabase& db, const std::string& slot = "partwatch");

// Number of (non-overlapping) occurrences of `needle` in `haystack`.
int Occurrences(const std::string& haystack, const std::string& needle);

// Names of the partitions of `parent` ("public.orders"), sorted.
std::vector<std::string> Partitions(const TestDatabase& db, const std::string& parent);

// A database name for the running test: "t_<suite>_<test>", lower-cased and
// cut (with a hash) to PostgreSQL's 63 bytes.
std::string DatabaseNameForCurrentTest();

// A daemon a user would run beside partwatch (Debian's prometheus, its
// alertmanager), started by a test: `files` (name, contents) are written
// into a fresh temporary directory, then `binary` runs with `args(dir)`,
// its stdout and stderr going to dir/daemon.log.  The destructor sends
// SIGTERM, SIGKILL after 30 s, and removes the directory.
class Daemon {
 public:
  Daemon(const std::string& binary, const std::vector<std::pair<std::string, std::string>>& files,
         const std::function<std::vector<std::string>(const std::string& dir)>& args);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  bool started() const { return pid_ > 0; }
  const std::string& dir() const { return dir_; }
  std::string Log() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// Polls pg_locks every 2 ms on a connection of its own, an observer that
// owes nothing to partwatch's clock, for locks on `parent` or its current
// DEFAULT partition in the test's database:
//  - the longest continuous hold of a lock `kind` counts (an upper bound,
//    within one polling interval): kWriteBlockingByPartwatch, SHARE or
//    stronger held by a partwatch session (application_name partwatch%);
//    kAccessExclusiveByAnyone, ACCESS EXCLUSIVE held by any session;
//  - the longest wait of any session queued directly behind a partwatch
//    session (pg_locks.waitstart of a request pg_blocking_pids blames on
//    partwatch).
class LockWatch {
 public:
  enum Kind { kWriteBlockingByPartwatch, kAccessExclusiveByAnyone };
  LockWatch(const TestDatabase& db, const std::string& parent, Kind kind);
  ~LockWatch() { Stop(); }
  LockWatch(const LockWatch&) = delete;
  LockWatch& operator=(const LockWatch&) = delete;
  void Stop();
  std::chrono::milliseconds longest_hold() const;
  std::chrono::milliseconds longest_queue_wait() const {
    return std::chrono::milliseconds(longest_wait_ms_);
  }
  int64_t samples() const { return samples_; }
  int64_t holds() const { return holds_; }
  bool failed() const { return failed_; }

 private:
  void Loop(const std::string& sql);
  pg::Connection conn_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::duration longest_hold_{0};
  int64_t longest_wait_ms_ = 0;
  int64_t samples_ = 0;
  int64_t holds_ = 0;
  bool failed_ = false;
};

// Gives each test a fresh database (dropped afterwards).
class PartwatchTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // `partwatch run` on `config`; callers assert it reached kStreamingLine.
  std::unique_ptr<PartwatchProcess> StartRun(const std::string& config);
  std::string Config(const std::string& tables, const std::string& extra = "") const {
    return MakeConfig(*db_, tables, extra);
  }
  std::unique_ptr<TestDatabase> db_;
};

// PartwatchTest with the seed's orders table created.
class OrdersTest : public PartwatchTest {
 protected:
  void SetUp() override;
};

}  // namespace partwatch::testing
