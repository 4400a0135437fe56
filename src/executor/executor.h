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

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "policy/move_cost.h"
#include "policy/policy.h"
#include "src/catalog.h"
#include "src/config.h"
#include "src/executor/rate_limit.h"
#include "src/pg/connection.h"
#include "src/pg/pieces.h"

namespace partwatch::executor {

// How partwatch's partition for one LIST value or RANGE bucket looks, as SQL
// with every literal and identifier quoted by libpq.
struct PartitionSpec {
  std::string where_sql;                 // rows of DEFAULT that belong to it ("key" = 'x' / range)
  std::string bound_sql;                 // "FOR VALUES IN ('x')" / "FOR VALUES FROM ('a') TO ('b')"
  std::optional<policy::Bucket> bucket;  // RANGE tables
};

// `value` is a LIST value, or for a RANGE table a bucket key (any value in
// the bucket; the policy uses the lower-bound literal).  Throws pg::PgError
// when a RANGE value falls in no bucket.
PartitionSpec SpecFor(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value);

// The partition name before collision handling: the LIST template, the RANGE
// template, or pg_partman's naming for tables it manages.
// REQUIRES: `spec` is SpecFor(table, value).
std::string BaseName(const TableInfo& table, const std::string& name_template,
                     const policy::KeyValue& value, const PartitionSpec& spec);

// `base`, or base_1, base_2... (cut to 63 bytes) when a relation of that
// name exists in `nspname` or the name is in `taken`.
std::string ChooseFreeName(pg::Connection& conn, const std::string& nspname,
                           const std::string& base, const std::set<std::string>& taken);

// RANGE tables with a horizon: the bucket `value` (its lower-bound literal)
// starts after now() + max_future.
bool BeyondHorizon(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value);

// pg_partman tables: the buckets (lower-bound keys, oldest first) without a
// partition between pg_partman's newest child and the bucket `value` beyond
// it (at most 1000).  pg_partman's maintenance only extends its set after
// the newest child, so partwatch creates these too, before `value`'s, to
// keep the children contiguous.  Empty for other tables.
// REQUIRES: `table` was described after its partitions last changed
// (range->newest_end is the end of the last partition).
std::vector<policy::KeyValue> PartmanGap(const TableInfo& table, const policy::KeyValue& value);

// The number of rows of `value` in the table's DEFAULT partition, counted
// in ctid pieces (pg::ForEachPiece with `pieces`): exact with
// pieces.snapshot, else exact but for rows updated during the count.
int64_t ExactCount(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value,
                   const pg::PieceOptions& pieces = {});

// Rows per key value in the DEFAULT partition, from the database; values in
// their output-function text form (the form pgoutput sends).  For RANGE
// tables, rows per bucket keyed by the bucket's lower-bound literal (rows in
// no bucket, such as NULL or infinity, are left out).
struct ValueCount {
  policy::KeyValue value;
  int64_t rows = 0;
};
// At most `limit` values (0 = all) with more than `more_than` rows, the most
// frequent first.  Counted in ctid pieces like ExactCount: with
// pieces.snapshot, exact as of it.  For LIST tables the pieces' counts are
// summed on the server in a temporary table of `conn`'s session, so memory
// here is bounded by what is returned, not by DEFAULT's distinct values.
std::vector<ValueCount> CountDefaultByValue(pg::Connection& conn, const TableInfo& table,
                                            size_t limit = 0, const pg::PieceOptions& pieces = {},
                                            int64_t more_than = 0);

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
  // `stop` aborts retry loops between attempts (never a statement midway).
  // `limiter` (max_new_partitions_per_hour) is the process's, shared by the
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
  // Last cap alert per (parent oid, value), so a flood logs once an hour.
  std::map<std::pair<uint32_t, policy::KeyValue>, std::chrono::steady_clock::time_point, KeyLess>
      cap_alerts_;
};

// ForEachPiece options for counting a DEFAULT under `config`: pieces of
// about yield_after / 4 under a statement_timeout of yield_after, lock waits
// under min(lock_timeout, yield_after), one snapshot for all pieces.
pg::PieceOptions CountPieces(const ExecutorConfig& config, const std::atomic<bool>* stop);

// Advisory lock key partwatch takes per parent table: (0x7077 << 32) | oid.
int64_t AdvisoryLockKey(uint32_t parent_oid);

}  // namespace partwatch::executor
