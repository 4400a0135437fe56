// Drain: moves a backlog out of a DEFAULT partition into new partitions
// online, pg_repack style: copy without blocking anyone, capture the changes
// made meanwhile, then swap under a short, bounded ACCESS EXCLUSIVE lock.
//
// Why not DELETE ... RETURNING + ATTACH (the executor's one-transaction
// move): it holds ACCESS EXCLUSIVE on DEFAULT for time proportional to the
// backlog (the DELETE scans DEFAULT, and ATTACH scans DEFAULT again to prove
// it holds no row of the new bound).  Why not batches (pg_partman's
// partition_data_*): rows are invisible between batches.  Drain instead
// REPLACES the DEFAULT partition:
//
//   1. Preconditions (DrainError when refused): the table still looks like
//      `table` (same DEFAULT), DEFAULT has no triggers, rules or row-level
//      security policies of its own, no foreign key points to or from the
//      parent or DEFAULT, the role owns every publication DEFAULT is a
//      member of, and the SESSION advisory lock
//      pg_try_advisory_lock(AdvisoryLockKey(parent oid)) is free:
//      it is the key the executor takes per move, so a drain and a move
//      never act on one table at once, nor two drains.  Drain holds it until
//      it returns.
//   2. CleanupLeftovers (below): scratch objects of an interrupted drain.
//   3. One transaction, no lock on the parent or DEFAULT: a scratch
//      partitioned table `<default>_pwd_stage` with the parent's columns and
//      partition key; for each target a table
//      `CREATE TABLE target (LIKE parent INCLUDING DEFAULTS CONSTRAINTS
//      INDEXES STORAGE COMMENTS GENERATED STATISTICS COMPRESSION)` with a
//      CHECK constraint equal to its partition constraint, attached to stage
//      with its bound; a new default `<default>_pwd_new` built the same way
//      (plus what DEFAULT has of its own: indexes, CHECK constraints, NOT
//      NULLs, storage options, owner, grants, comment, replica identity) with
//      a CHECK equal to the constraint it will have as the parent's DEFAULT,
//      attached as stage's DEFAULT; an UNLOGGED change log
//      `<default>_pwd_log`, and the functions `<default>_pwd_capture()` and
//      `<default>_pwd_replay(int)`.  The CHECKs are the server's own
//      pg_get_partition_constraintdef() text (from temporary partitions with
//      the same bounds, rolled back), which ATTACH accepts as proof and then
//      skips its validation scan ("partition constraint ... is implied by
//      existing constraints").  Without it, attaching a 2M-row DEFAULT of a
//      LIST table with 200 partitions scanned for 20.7 s under the lock;
//      with it, 2.2 ms.  The price: the new DEFAULT's CHECK, NOT (any
//      sibling's bound), is evaluated for every row routed there, in time
//      linear in the number of partitions, outside any lock.
//   4. One short transaction under lock_timeout (SHARE ROW EXCLUSIVE on
//      DEFAULT, retried): the triggers `partwatch_drain` (AFTER INSERT OR
//      UPDATE OR DELETE FOR EACH ROW) and `partwatch_drain_truncate` (AFTER
//      TRUNCATE) on DEFAULT, ENABLE ALWAYS (so changes applied with
//      session_replication_role = replica are captured too).
//      THIS IS THE ONLY THING A DRAIN ADDS TO THE APPLICATION'S WRITE PATH,
//      only for the duration of the drain and only for rows in DEFAULT: one
//      INSERT into the log per changed row (SECURITY DEFINER, so writers need
//      no privilege on the log).  If the drain dies, the triggers stay (and
//      the log grows) until the next Drain or CleanupLeftovers.
//   5. Copy, under ONE snapshot but in many short transactions: a second
//      connection opens a REPEATABLE READ transaction that only exports its
//      snapshot (pg::SnapshotHolder: no table lock, but VACUUM's horizon is
//      held for the length of the copy), and the copy runs in ctid ranges
//      (pg::ForEachPiece), each its own transaction importing that snapshot.
//      The first piece also empties the log: the log rows the snapshot sees
//      are changes the copy sees too; what is left is exactly what the copy
//      misses.  Each piece inserts INTO stage SELECT ... FROM ONLY default
//      for its range; stage routes every row to its target or to the new
//      default.  A piece holds ACCESS SHARE on DEFAULT for at most
//      `yield_after` (its statement_timeout; pieces aim at a quarter of it
//      and are at most about `batch_rows` rows); one cut short is rolled back
//      and retried at half the size.  So a DDL that queues for DEFAULT (an
//      ALTER TABLE, pg_partman's ATTACH) waits for one piece, never for the
//      copy, and the copy resumes where it was: every range is copied once.
//   6. Replay, no lock on the parent or DEFAULT: the log is applied to
//      stage in id order, in batches of `replay_batch_rows`, until fewer than
//      `swap_max_log_rows` rows are left.  With a unique key (the parent's
//      primary key, else a unique index on NOT NULL columns) a batch is
//      applied set-based: per key only its first and last change count
//      (measured: ~30 changes per ms).  Without one, row by row, a deletion
//      removing any one row equal in every column's text form (correct for
//      any type; one scan of a stage partition per deletion: slow if
//      rows in DEFAULT are updated or deleted a lot during the drain).
//      Before replaying, the new tables are ANALYZEd (no lock that matters).
//   7. Swap, ONE transaction:
//        LOCK TABLE ONLY parent IN ACCESS EXCLUSIVE MODE   -- clock starts
//        LOCK TABLE ONLY default IN ACCESS EXCLUSIVE MODE
//        check that the table's definition did not change (partitions
//        attached meanwhile: ROLLBACK, re-derive the new default's CHECK
//        outside the lock, retry); replay the rest
//        DETACH the targets and the new default from stage
//        DETACH default from parent; ATTACH each target (its CHECK makes
//        PostgreSQL skip the validation scan); ATTACH the new default as
//        DEFAULT (likewise); drop the CHECKs (catalog only); rename the old
//        default to `<default>_pwd_old` and the new one (and its indexes) to
//        the old names; move DEFAULT's publication memberships, column lists
//        and row filters included
//        COMMIT                                             -- clock stops
//      Before each statement `SET LOCAL statement_timeout` to what is left of
//      `max_lock` (less a margin of max_lock/10, at most 10 ms, for a
//      cancel's round trips), lock_timeout = min(lock_timeout, max_lock),
//      and idle_in_transaction_session_timeout = max(max_lock, 100 ms) (a client lost
//      mid-swap cannot keep the lock): a swap that would hold the lock longer
//      is cancelled (ROLLBACK: nothing changed), the log is replayed further
//      and the swap retried with backoff, at most `max_swap_attempts` times.
//      The lock time depends on the changes that arrived since the last
//      replay and on the number of targets (about 1 ms each for the DDL),
//      never on the backlog: 1.1M rows in DEFAULT, 30 targets, pgbench
//      writing: 37-53 ms (tests/integration/drain_test.cc, DRAIN-BENCH).
//      COMMIT itself (a WAL flush; a synchronous standby's reply) is not
//      bounded by PostgreSQL's timeouts.  Waiting for the lock (up to
//      lock_timeout) queues the table's other users behind the request.
//   8. After COMMIT, outside any lock that matters: drop the old default
//      (its files are unlinked here, not under the lock), the log, the
//      functions and stage.
//
// Invariants (tests/integration/drain_test.cc checks each against a real
// server): until the swap commits, the data lives in DEFAULT only and every
// scratch object may be dropped; the swap is one transaction; so readers of
// the parent see every row exactly once at every committed moment, writers
// through the parent (and directly into DEFAULT) keep working, and an
// interruption anywhere (client killed, backend terminated, server
// restarted) leaves every row in exactly one place.  Running Drain again
// cleans up and finishes the job; targets that already are partitions of
// the parent (the swap committed but the caller never heard) are skipped.
// A TRUNCATE of DEFAULT during the drain makes it fail (DrainError: rerun).
//
// What the new DEFAULT does not carry over: column-level grants, comments on
// its columns, per-column statistics targets and column defaults that differ
// from the parent's, and the toast table's storage options.  Whatever would
// be lost silently (own triggers, rules, policies, unique constraints,
// views or functions reading DEFAULT by name) makes Drain refuse instead.
// Partitions of a parent that is itself a partition are refused too.
//
// Thread-safety: Drain uses `conn` exclusively until it returns; `stop` may
// be set from any thread.  Session state changed on `conn`
// (client_connection_check_interval, so a dead client's backend is noticed
// within a second) is reset before returning.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "src/catalog.h"
#include "src/pg/connection.h"

namespace partwatch::drain {

// A refused or failed drain, with a message that says what to do.  Database
// errors the drain does not interpret are passed on as pg::PgError (a lost
// connection among them: then run Drain again).
class DrainError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A partition to create and fill from DEFAULT.
struct Target {
  // Unqualified name, created in the parent's schema.  REQUIRES: no other
  // relation of that name, unless it already is a partition of the parent
  // (then the target is skipped: a previous drain finished it).
  std::string name;
  // The bound as SQL, already quoted by the caller: "FOR VALUES IN ('x')",
  // "FOR VALUES FROM ('2026-11-26') TO ('2026-11-27')".  Checked by the
  // server as one clause (it is never pasted into a multi-statement string
  // before it parsed on its own).
  //
  // There is no `check_sql`: Drain gives each target the CHECK constraint
  // PostgreSQL itself derives from the bound (pg_get_partition_constraintdef
  // of a temporary partition), the one expression ATTACH is sure to accept
  // as proof.  A hand-written equivalent the planner cannot match would make
  // the final ATTACH scan the target under the lock.
  std::string bound_sql;
};

struct Progress {
  int64_t rows_copied = 0;
  int64_t rows_total = 0;  // DEFAULT's rows: pg_class.reltuples, raised to rows_copied
  std::chrono::steady_clock::duration elapsed{};  // since Drain started
  // "prepare", "copy", "replay", "swap", "cleanup", "done".
  std::string phase;
  int64_t log_rows_pending = -1;  // replay/swap: changes not yet applied; -1 unknown
  int64_t replayed = 0;           // changes applied so far
};

struct Options {
  // Longest ACCESS EXCLUSIVE hold on the parent or DEFAULT (the swap).
  std::chrono::milliseconds max_lock{200};
  // Longest wait for a lock that blocks the application while queued (the
  // swap's and the triggers'); capped at max_lock.
  std::chrono::milliseconds lock_timeout{500};
  // Longest a copy piece keeps its lock on DEFAULT (and waits for it).
  std::chrono::milliseconds yield_after{200};
  int64_t batch_rows = 50'000;         // most rows per copy piece (about)
  int64_t replay_batch_rows = 10'000;  // log rows per replay transaction
  int64_t swap_max_log_rows = 2'000;   // swap once fewer changes are pending
  int max_swap_attempts = 20;
  // Checked between batches, replay rounds and swap attempts (never mid
  // statement): Drain then rolls back, drops its scratch objects and throws
  // DrainError.  May be null.
  const std::atomic<bool>* stop = nullptr;
  // Called on the draining thread after each copy batch, replay round and
  // before each swap attempt (never while a lock on the parent or DEFAULT is
  // held).  May throw; Drain then cleans up and rethrows.
  std::function<void(const Progress&)> on_progress;
};

struct Summary {
  int64_t rows_copied = 0;  // rows copied out of DEFAULT's snapshot
  // Per target: rows the copy routed into it (changes replayed afterwards
  // are counted in replayed_*, not here).  Skipped targets are absent.
  std::vector<std::pair<std::string, int64_t>> moved;
  int64_t rows_left_in_default = 0;  // rows the copy routed to the new DEFAULT
  int64_t replayed_before_swap = 0;  // log rows applied without the lock
  int64_t replayed_in_swap = 0;      // ... and under it (successful attempt)
  int swap_attempts = 0;
  // Longest ACCESS EXCLUSIVE hold measured client-side (LOCK returned to
  // COMMIT or ROLLBACK returned), over all attempts.
  std::chrono::microseconds longest_lock{0};
  std::chrono::microseconds copy_took{0};
  int64_t copy_pieces = 0;            // transactions the copy took
  int64_t copy_pieces_cancelled = 0;  // pieces cut short by yield_after, retried smaller
  std::chrono::microseconds longest_copy_piece{0};
  std::chrono::microseconds took{0};
};

// Drains `targets` out of `table`'s DEFAULT partition (see the file
// comment).  `table` comes from DescribeTable; it must be current (Drain
// re-reads the catalog and refuses if the DEFAULT changed).  REQUIRES: conn
// is an ordinary connection, not inside a transaction; targets non-empty
// with distinct names.  Throws DrainError (refused, stopped, gave up,
// truncated) or pg::PgError (connection lost, unexpected server error);
// both leave the data as it was, only in DEFAULT -- except a connection lost
// during the swap's COMMIT, which may have committed: run Drain again, it
// finds the targets attached and only cleans up.
Summary Drain(pg::Connection& conn, const TableInfo& table, const std::vector<Target>& targets,
              const Options& options);

// Drops what an interrupted drain of `table` left: the triggers on DEFAULT
// first (restoring the write path), then the log, functions, stage with its
// partitions and the old default of a committed swap.  Never drops a
// relation that is a partition of the parent.  Takes the advisory lock
// (throws DrainError if a live drain or executor holds it) and bounds each
// wait for a lock by `lock_timeout`.  DROP TRIGGER needs ACCESS EXCLUSIVE on
// DEFAULT; when a long transaction holds any lock on it, the triggers are
// DISABLEd instead after three attempts (that waits for writers only), and
// they and the capture function stay for a later cleanup.  Returns what it
// dropped (and logs each); throws pg::PgError if the server refuses.
std::vector<std::string> CleanupLeftovers(
    pg::Connection& conn, const TableInfo& table,
    std::chrono::milliseconds lock_timeout = std::chrono::milliseconds(500));

// The scratch names Drain uses (ScratchName) and the rest of its SQL text:
// src/drain/sql.h.

}  // namespace partwatch::drain
