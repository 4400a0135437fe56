// Internal to src/drain: the Drainer that Drain() runs, split over
//   drain.cc    Run(), the advisory lock and session settings, progress and
//               stop checks, and the public entry points of drain.h
//   catalog.cc  catalog reads, preconditions, the probe of the bounds
//   scratch.cc  the scratch objects: create, triggers, drop
//   copy.cc     the copy under one snapshot, and the replay of the log
//   swap.cc     the swap under ACCESS EXCLUSIVE and its retries
//   sql.cc      the SQL text (pure; sql.h)
// Nothing outside src/drain includes this header: the API, and the
// algorithm these pieces implement, are in src/drain/drain.h.
//
// Thread-safety: a Drainer is used by one thread; it uses its connection
// exclusively from construction until Run() returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/catalog.h"
#include "src/drain/drain.h"
#include "src/drain/sql.h"
#include "src/pg/connection.h"
#include "src/pg/pieces.h"

namespace partwatch::drain::internal {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// Attempts of each cleanup statement that fails to get its lock.
constexpr int kCleanupAttempts = 10;
// Longest sleep between two attempts at the triggers or the swap.
constexpr milliseconds kMaxBackoff{2000};

// A timeout setting; never '0ms', which would disable it.
inline std::string Ms(milliseconds d) { return pg::TimeoutLiteral(d); }

inline double Millis(microseconds d) { return static_cast<double>(d.count()) / 1000.0; }

inline bool InTransaction(const pg::Connection& conn) {
  return conn.get() && PQtransactionStatus(conn.get()) != PQTRANS_IDLE;
}

inline bool IsLockFailure(const std::string& sqlstate) {
  return sqlstate == pg::kLockNotAvailable || sqlstate == pg::kDeadlockDetected;
}

// The sql.h builders' quoting, through libpq's escaping on `conn`.  The
// result refers to `conn`: REQUIRES it outlives the result.
inline Quoting QuotingFor(const pg::Connection& conn) {
  return Quoting{[&conn](std::string_view s) { return conn.QuoteIdent(s); },
                 [&conn](std::string_view s) { return conn.QuoteLiteral(s); }};
}

// Where DEFAULT is, read from the catalog now (TableInfo may be stale after
// an interrupted drain whose swap committed: same name, new oid).
struct DefaultRef {
  uint32_t oid = 0;
  std::string schema;
  std::string name;
};

// The parent's current DEFAULT.  Throws DrainError (naming `display`) when
// it has none or is no longer partitioned.  (catalog.cc)
DefaultRef CurrentDefault(pg::Connection& conn, uint32_t parent_oid, const std::string& display);

// Runs `sql` in a transaction with a bounded lock wait, retrying lock
// failures with a short backoff, at most `attempts` times.  Returns the last
// result; throws the last pg::PgError.  (scratch.cc)
pg::QueryResult ExecWithLockRetries(pg::Connection& conn, const std::string& what,
                                    milliseconds lock_timeout, const std::string& sql,
                                    int attempts = kCleanupAttempts);

// Drops the scratch objects of a drain of the table whose DEFAULT is `def`,
// the triggers first, and returns what it dropped (see CleanupLeftovers in
// drain.h).  REQUIRES: the caller holds the table's advisory lock; `def` is
// the current DEFAULT (after a committed swap, the new one: same name).
// (scratch.cc)
std::vector<std::string> DropScratch(pg::Connection& conn, uint32_t parent_oid,
                                     const DefaultRef& def, milliseconds lock_timeout);

// One drain (drain.h's Drain).  REQUIRES: conn, table, targets and options
// outlive the Drainer; Run() is called at most once.
class Drainer {
 public:
  Drainer(pg::Connection& conn, const TableInfo& table, const std::vector<Target>& targets,
          const Options& options)
      : conn_(conn), table_(table), targets_(targets), options_(options) {}

  Summary Run();

 private:
  struct Planned {
    std::string name;        // unqualified
    std::string qname;       // quoted, qualified
    std::string bound;       // canonical (pg_get_expr), e.g. FOR VALUES IN ('x')
    std::string constraint;  // pg_get_partition_constraintdef
    uint32_t oid = 0;        // once created
    int64_t copied = 0;
  };

  // catalog.cc
  void ReadCatalog();
  void CheckPreconditions();
  void ResolveTargets();
  void Probe();
  void ReadDefaultExtras();
  // Partitions attached to the parent since the drain began (pg_partman's
  // maintenance does that): when they are the only change, the new
  // DEFAULT's CHECK is rebuilt to exclude their bounds too, the fingerprint
  // renewed, and true returned; false for any other change.
  bool AdaptToNewPartitions();
  // The parent's partitions but DEFAULT, oid order: (oid, bound).
  std::vector<std::pair<uint32_t, std::string>> CurrentPartitions();
  std::string ChangedError() const;

  // scratch.cc
  void Prepare();
  void InstallTriggers();
  void AbortCleanup() noexcept;
  ReplaySpec ReplayInputs() const;

  // copy.cc
  void Copy();
  void CatchUp();
  int64_t Replay(std::optional<int64_t> max_rows);

  // swap.cc
  struct Attempt {
    bool done = false;
    bool changed = false;  // the table's definition differs from fingerprint_
    std::string why;
    microseconds hold{0};
    int64_t replayed = 0;
    // Where the time went: waiting for the parent's lock, then (held) the
    // steps, for the log.
    microseconds waited{0};
    std::vector<std::pair<const char*, microseconds>> steps;
  };
  Attempt TrySwap(milliseconds lock_wait);
  void SwapLoop();
  SwapSpec SwapInputs() const;

  // drain.cc
  void Report(const std::string& phase, int64_t pending);
  void CheckStop(const char* where);
  std::string ColumnList() const;

  pg::Connection& conn_;
  const TableInfo& table_;
  const std::vector<Target>& targets_;
  const Options& options_;
  const Quoting quote_ = QuotingFor(conn_);
  const Clock::time_point start_ = Clock::now();
  Summary summary_;

  std::string display_;
  DefaultRef def_;
  ScratchNames scratch_;
  std::string q_parent_, q_def_, q_stage_, q_log_, q_new_, q_capture_, q_replay_;
  std::string keydef_;
  bool parent_is_partition_ = false;
  char def_persistence_ = 'p';
  std::string def_tablespace_, parent_tablespace_, def_owner_, current_user_;
  std::vector<std::string> columns_;                        // insertable, the parent's order
  std::vector<std::pair<uint32_t, std::string>> existing_;  // partitions but DEFAULT: oid, bound
  std::string inherits_;  // the fingerprint's list of the parent's partitions (DEFAULT included)
  std::string fingerprint_;
  std::vector<Planned> planned_;
  std::string default_constraint_;  // empty: none (no sibling)
  uint32_t new_oid_ = 0;
  std::vector<std::string> match_columns_;  // unique key; empty: match on every column's text
  std::vector<OldIndex> old_indexes_;
  std::vector<PubMember> publications_;
  char replident_ = 'd';
  std::string replident_index_;
  int64_t rows_total_ = 0;
  int64_t pending_ = -1;
};

}  // namespace partwatch::drain::internal
