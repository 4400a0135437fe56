// The executor: acts on the policy's decisions over its own ordinary
// connection (never the replication connection).
//
// For each decision it first counts the value's rows (RANGE tables: the
// bucket's rows) in DEFAULT exactly; the streamed count only says when to
// look.  Then, in alert mode, it logs a WARN line; in create mode (a RANGE
// bucket past max_future is alerted on instead) it creates the partition
// and moves the rows in ONE transaction:
//
//   BEGIN; SET LOCAL lock_timeout
//   pg_try_advisory_xact_lock(partwatch, parent)   -- one partwatch per table
//   LOCK ONLY parent IN SHARE MODE                 -- executor.lock_parent only
//   LOCK default IN ACCESS EXCLUSIVE MODE
//   CREATE TABLE new (LIKE parent INCLUDING ...)
//   WITH moved AS (DELETE FROM ONLY default WHERE <key = 'v' | key >= 'lo' AND key < 'hi'>
//                  RETURNING cols)
//     INSERT INTO new (cols) SELECT cols FROM moved
//   ALTER TABLE parent ATTACH PARTITION new FOR VALUES <IN ('v') | FROM ('lo') TO ('hi')>
//   COMMIT
//
// so every row is in exactly one place, visible through the parent, at every
// committed moment: before COMMIT readers see the rows in DEFAULT, after it
// in the new partition.  A lock timeout or deadlock rolls everything back and
// retries with exponential backoff, saying so in the log.  Why the parent is
// locked in SHARE mode by default: docs/architecture.md, "Locks".
//
// Both the DELETE and ATTACH scan DEFAULT under that lock, so when DEFAULT is
// larger than [drain] online_above_mb the move uses the online drain instead
// (src/drain/drain.h), for every value over its threshold at once (as the
// hourly cap allows).  For pg_partman tables, the buckets between its newest
// child and the new one are created first (PartmanGap).
//
// Identifiers and literals are quoted with libpq's PQescapeIdentifier /
// PQescapeLiteral: key values come from users and are hostile.
//
// Thread-safety: owned by the executor thread.
#pragma once

#include "src/engine/observer.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "policy/move_cost.h"
#include "policy/policy.h"
#include "src/catalog.h"
#include "src/config.h"
#include "src/executor/rate_limit.h"
#include "src/partition_sql.h"
#include "src/pg/connection.h"
#include "src/pg/pieces.h"

namespace partwatch::executor {

struct MoveResult {
  std::string partition;  // "schema.name" created (or found)
  int64_t moved_rows = 0;
  int attempts = 0;
  std::chrono::microseconds took{0};
  // Longest time a write-blocking lock was held (SHARE on the parent or
  // ACCESS EXCLUSIVE on DEFAULT): the last attempt's, or the swap's.
  std::chrono::microseconds lock_held{0};
  bool online = false;  // moved by the online drain
};

// The one-transaction move hit its lock budget (drain.max_lock) and was
// rolled back: nothing changed.  The caller moves the rows online instead.
class OverBudget : public pg::PgError {
 public:
  OverBudget(const std::string& why, std::chrono::microseconds held)
      : pg::PgError("the move was cut off after holding its lock " +
                        std::to_string(held.count() / 1000) + " ms: " + why,
                    std::string(pg::kQueryCanceled)),
        held_(held) {}
  std::chrono::microseconds held() const { return held_; }

 private:
  std::chrono::microseconds held_;
};

// Orders (oid, value) pairs; NULL sorts first.
struct KeyLess {
  bool operator()(const std::pair<uint32_t, policy::KeyValue>& a,
                  const std::pair<uint32_t, policy::KeyValue>& b) const {
    return std::tie(a.first, a.second.text) < std::tie(b.first, b.second.text);
  }
};

class Executor {
 public:
  // `conn` comes from OpenSession(config, "executor") (which names it
  // "partwatch executor" in pg_stat_activity).  `stop` aborts retry loops
  // between attempts (never a statement midway).  `limiter`
  // (max_new_partitions_per_hour) is the process's, shared by the
  // Executors of successive sessions; it must outlive this one.
  Executor(pg::Connection conn, ExecutorConfig config, DrainConfig drain,
           const std::atomic<bool>& stop, PartitionRateLimiter& limiter);

  // Carries out one decision for `table` (configured as `rule`).  Returns
  // the outcome to report to the policy.  Database errors are logged and
  // reported as kFailed, except a lost connection, which throws pg::PgError
  // (the caller must start over with a new connection).
  policy::Outcome Execute(const TableInfo& table, const policy::TableRule& rule,
                          const policy::Decision& decision, int max_new_partitions_per_hour);

  // Creates the partition for `value` and moves its rows (see the file
  // comment) in one transaction that holds its write-blocking lock for at
  // most drain.max_lock.  Throws OverBudget when that was not enough
  // (rolled back: nothing changed), pg::PgError when all attempts fail.
  MoveResult CreateAndMove(const TableInfo& table, const std::string& name_template,
                           const policy::KeyValue& value);

  pg::Connection& conn() { return conn_; }

  // What the last Execute() moved, when it created a partition and moved
  // rows (kDone); nullopt otherwise.
  const std::optional<MoveResult>& last_move() const { return last_move_; }
  // What the last Execute() alerted on, for the alert manager: the kind
  // and the error text of a failure (engine::ActionAlert).
  struct LastAlert {
    engine::ActionAlert kind = engine::ActionAlert::kNone;
    std::string error;
  };
  const LastAlert& last_alert() const { return last_alert_; }

  // A reload's [executor] and [drain] settings, for the next Execute()
  // (the session's statement_timeout and lock_timeout included).
  void SetLimits(ExecutorConfig config, DrainConfig drain);

 private:
  enum class Attempt {
    kDone,
    kLockBusy,    // lock wait timed out, deadlock, advisory lock taken: retry later
    kOverBudget,  // cancelled at the lock budget: this move needs the online path
  };
  // One attempt; rolled back unless kDone.
  Attempt TryCreateAndMove(const TableInfo& table, const std::string& name,
                           const PartitionSpec& spec, MoveResult* result, std::string* why);
  // The longest a move may hold a write-blocking lock: drain.max_lock less a
  // margin for the cancel's round trips.
  std::chrono::microseconds LockBudget() const;
  // The longest partwatch waits in a lock queue (others queue behind it):
  // min(executor.lock_timeout, executor.yield_after).
  std::chrono::milliseconds LockWait() const;
  // Sets the session's statement_timeout and lock_timeout from config_.
  void ApplySessionTimeouts();
  // Waits until transaction `xid` (32-bit, recent) is visible to a new
  // snapshot: the stream delivers a commit before the committing backend
  // leaves the proc array (and, under synchronous replication, before the
  // standby confirmed it), so counting at once could miss the very rows that
  // crossed the threshold.  Returns false after `timeout` or on stop.
  bool WaitUntilVisible(uint32_t xid, std::chrono::milliseconds timeout);
  // Creates the `gap` (PartmanGap) oldest first, before the bucket beyond it;
  // `*filled` counts those done (also when it throws).
  void FillPartmanGap(const TableInfo& table, const policy::TableRule& rule,
                      const std::vector<policy::KeyValue>& gap, size_t* filled);
  // True when creating `needed` more partitions for `table` would pass `cap`
  // created by this process within the last hour (then alerts, at most once
  // per value per hour).
  bool OverHourlyCap(const TableInfo& table, const policy::Decision& decision, int cap,
                     int needed = 1);

  // DEFAULT's size in bytes (main fork: what the move's scans read).
  int64_t DefaultBytes(const TableInfo& table);
  // Moves `value`, the pg_partman `gap` before it, and other values
  // (buckets) of `table` over their threshold while `cap` allows, with one
  // online drain; returns rows moved for `value`.
  MoveResult DrainOnline(const TableInfo& table, const policy::TableRule& rule,
                         const policy::KeyValue& value, const std::vector<policy::KeyValue>& gap,
                         int cap);

  pg::Connection conn_;
  policy::MoveCostModel cost_;
  ExecutorConfig config_;
  DrainConfig drain_;
  const std::atomic<bool>& stop_;
  // Creation times per parent oid, for max_new_partitions_per_hour.
  PartitionRateLimiter& limiter_;
  std::optional<MoveResult> last_move_;  // see last_move()
  LastAlert last_alert_;                 // see last_alert()
  // Last cap alert per (parent oid, value), so a flood logs once an hour.
  std::map<std::pair<uint32_t, policy::KeyValue>, std::chrono::steady_clock::time_point, KeyLess>
      cap_alerts_;
};

}  // namespace partwatch::executor
