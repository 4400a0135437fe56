#include "src/drain/drain.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "policy/naming.h"
#include "src/drain/sql.h"
#include "src/executor/executor.h"
#include "src/fault.h"
#include "src/pg/pieces.h"
#include "src/util/backoff.h"

namespace partwatch::drain {

namespace {

using std::chrono::duration_cast;
using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// Attempts of each cleanup statement that fails to get its lock.
constexpr int kCleanupAttempts = 10;
// Longest sleep between two attempts at the triggers or the swap.
constexpr milliseconds kMaxBackoff{2000};

// A timeout setting; never '0ms', which would disable it.
std::string Ms(milliseconds d) { return pg::TimeoutLiteral(d); }

double Millis(microseconds d) { return static_cast<double>(d.count()) / 1000.0; }

bool InTransaction(const pg::Connection& conn) {
  return conn.get() && PQtransactionStatus(conn.get()) != PQTRANS_IDLE;
}

bool IsLockFailure(const std::string& sqlstate) {
  return sqlstate == pg::kLockNotAvailable || sqlstate == pg::kDeadlockDetected;
}

// The sql.h builders' quoting, through libpq's escaping on `conn`.  The
// result refers to `conn`: REQUIRES it outlives the result.
Quoting QuotingFor(const pg::Connection& conn) {
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
// it has none or is no longer partitioned.
DefaultRef CurrentDefault(pg::Connection& conn, uint32_t parent_oid, const std::string& display);

// Runs `sql` in a transaction with a bounded lock wait, retrying lock
// failures with a short backoff, at most `attempts` times.  Returns the last
// result; throws the last pg::PgError.
pg::QueryResult ExecWithLockRetries(pg::Connection& conn, const std::string& what,
                                    milliseconds lock_timeout, const std::string& sql,
                                    int attempts = kCleanupAttempts);

// Drops the scratch objects of a drain of the table whose DEFAULT is `def`,
// the triggers first, and returns what it dropped (see CleanupLeftovers in
// drain.h).  REQUIRES: the caller holds the table's advisory lock; `def` is
// the current DEFAULT (after a committed swap, the new one: same name).
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

  void Prepare();
  void InstallTriggers();
  void AbortCleanup() noexcept;
  ReplaySpec ReplayInputs() const;

  void Copy();
  void CatchUp();
  int64_t Replay(std::optional<int64_t> max_rows);

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

using pg::kQueryCanceled;

// The swap's idle_in_transaction_session_timeout is max_lock, but never less
// than this: a client descheduled for a few milliseconds between two
// statements of a healthy swap must not lose its session.
constexpr milliseconds kMinIdleTimeout{100};

constexpr milliseconds kAdvisoryWait{3000};

// The session advisory lock the executor takes per transaction, held for a
// whole drain.  Released by the destructor (a dead connection released it).
class AdvisoryLock {
 public:
  AdvisoryLock(pg::Connection& conn, uint32_t parent_oid, const std::string& display)
      : conn_(conn), key_(std::to_string(executor::AdvisoryLockKey(parent_oid))) {
    const auto deadline = Clock::now() + kAdvisoryWait;
    for (;;) {
      if (conn_.ExecParams("SELECT pg_try_advisory_lock($1::bigint)", {key_}).value(0, 0) == "t") {
        return;
      }
      if (Clock::now() > deadline) break;
      std::this_thread::sleep_for(milliseconds(100));
    }
    // A bigint key shows in pg_locks as classid (high half), objid (low
    // half), objsubid 1.
    pg::QueryResult who = conn_.ExecParams(
        "SELECT l.pid, coalesce(a.application_name, ''), coalesce(a.state, '') "
        "FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.classid::bigint = ($1::bigint >> 32) AND l.objid::bigint = ($1::bigint & "
        "4294967295) LIMIT 1",
        {key_});
    std::string holder = "another session";
    if (who.rows() == 1) {
      holder =
          "backend pid " + who.text(0, 0) + " ('" + who.text(0, 1) + "', " + who.text(0, 2) + ")";
    }
    throw DrainError("another partwatch drain or executor is acting on " + display + " (" + holder +
                     " holds its advisory lock); wait for it to finish, or end that " +
                     "session with pg_terminate_backend() if it is a drain that was killed");
  }
  ~AdvisoryLock() {
    if (!conn_.connected()) return;  // the server released it with the session
    if (InTransaction(conn_)) conn_.TryExec("ROLLBACK");
    conn_.TryExecParams("SELECT pg_advisory_unlock($1::bigint)", {key_});
  }
  AdvisoryLock(const AdvisoryLock&) = delete;
  AdvisoryLock& operator=(const AdvisoryLock&) = delete;

 private:
  pg::Connection& conn_;
  std::string key_;
};

// client_connection_check_interval for the drain's duration: a backend
// whose client was killed mid-statement notices within a second and rolls
// back, instead of copying on for minutes while holding the advisory lock.
class SessionSettings {
 public:
  explicit SessionSettings(pg::Connection& conn) : conn_(conn) {
    pg::QueryResult r = conn_.Exec(
        "SELECT current_setting('client_connection_check_interval'), "
        "set_config('client_connection_check_interval', '1s', false)");
    saved_ = r.text(0, 0);
  }
  ~SessionSettings() {
    if (conn_.connected() && !InTransaction(conn_)) {
      conn_.TryExecParams("SELECT set_config('client_connection_check_interval', $1, false)",
                          {saved_});
    }
  }
  SessionSettings(const SessionSettings&) = delete;
  SessionSettings& operator=(const SessionSettings&) = delete;

 private:
  pg::Connection& conn_;
  std::string saved_;
};

std::string Drainer::ColumnList() const { return drain::ColumnList(columns_, quote_); }

void Drainer::Report(const std::string& phase, int64_t pending) {
  if (!options_.on_progress) return;
  Progress p;
  p.rows_copied = summary_.rows_copied;
  p.rows_total = rows_total_;
  p.elapsed = Clock::now() - start_;
  p.phase = phase;
  p.log_rows_pending = pending;
  p.replayed = summary_.replayed_before_swap + summary_.replayed_in_swap;
  options_.on_progress(p);
}

void Drainer::CheckStop(const char* where) {
  if (options_.stop && options_.stop->load(std::memory_order_acquire)) {
    throw DrainError(std::string("stopped (") + where + "): nothing was changed; every row is " +
                     "still in DEFAULT " + def_.schema + "." + def_.name +
                     " and the scratch objects are dropped");
  }
}

Summary Drainer::Run() {
  if (targets_.empty()) throw DrainError("nothing to drain: no target partitions given");
  if (InTransaction(conn_)) throw DrainError("Drain needs a connection outside a transaction");
  SessionSettings settings(conn_);
  AdvisoryLock lock(conn_, table_.oid, table_.DisplayName());
  ReadCatalog();
  CheckPreconditions();
  Report("prepare", -1);
  DropScratch(conn_, table_.oid, def_, options_.lock_timeout);  // an interrupted drain's
  ResolveTargets();
  if (planned_.empty()) {
    spdlog::info("drain {}: every target already is a partition; nothing to do", display_);
    summary_.took = duration_cast<microseconds>(Clock::now() - start_);
    return summary_;
  }
  try {
    Probe();
    ReadDefaultExtras();
    Prepare();
    InstallTriggers();
    spdlog::info(
        "drain {}: capturing changes to {}.{} (one log row per changed row) until the "
        "swap; {} target(s), rows matched by {}",
        display_, def_.schema, def_.name, planned_.size(),
        match_columns_.empty()
            ? std::string("every column (no unique key)")
            : "key (" + fmt::format("{}", fmt::join(match_columns_, ", ")) + ")");
    Copy();
    Report("replay", -1);
    CatchUp();
    SwapLoop();
  } catch (...) {
    AbortCleanup();
    throw;
  }
  for (const Planned& t : planned_) summary_.moved.emplace_back(t.name, t.copied);
  Report("cleanup", 0);
  FaultPoint("drain.cleanup");
  try {
    // The old DEFAULT (now <default>_pwd_old) goes with its triggers; the
    // current DEFAULT, the new one, has none.
    DropScratch(conn_, table_.oid, CurrentDefault(conn_, table_.oid, display_),
                options_.lock_timeout);
  } catch (const pg::PgError& e) {
    // The drain is done; what is left is garbage the next run removes.
    spdlog::warn(
        "drain {}: done, but dropping the scratch objects failed ({}); the next drain "
        "or CleanupLeftovers removes them",
        display_, e.what());
  }
  summary_.took = duration_cast<microseconds>(Clock::now() - start_);
  const int64_t replayed = summary_.replayed_before_swap + summary_.replayed_in_swap;
  spdlog::info(
      "drain {}: copied {} row(s) into {} partition(s) in {:.1f} s ({} kept in DEFAULT); swap "
      "held ACCESS EXCLUSIVE for {:.1f} ms (attempt {}); {} row(s) changed during the copy were "
      "replayed ({} under the lock); {:.1f} s in all",
      display_, summary_.rows_copied, planned_.size(),
      static_cast<double>(summary_.copy_took.count()) / 1e6, summary_.rows_left_in_default,
      Millis(summary_.longest_lock), summary_.swap_attempts, replayed, summary_.replayed_in_swap,
      static_cast<double>(summary_.took.count()) / 1e6);
  Report("done", 0);
  return summary_;
}

DefaultRef CurrentDefault(pg::Connection& conn, uint32_t parent_oid, const std::string& display) {
  pg::QueryResult r = conn.ExecParams(
      "SELECT p.partdefid, n.nspname, d.relname FROM pg_catalog.pg_partitioned_table p "
      "JOIN pg_catalog.pg_class d ON d.oid = p.partdefid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = d.relnamespace WHERE p.partrelid = $1::oid",
      {std::to_string(parent_oid)});
  if (r.rows() != 1) {
    throw DrainError("table " + display +
                     " is no longer a partitioned table with a DEFAULT partition");
  }
  return DefaultRef{static_cast<uint32_t>(r.int64(0, 0)), r.text(0, 1), r.text(0, 2)};
}

void Drainer::ReadCatalog() {
  display_ = table_.DisplayName();
  def_ = CurrentDefault(conn_, table_.oid, display_);
  if (def_.oid != table_.default_partition.oid) {
    throw DrainError("the DEFAULT partition of " + display_ + " is now " + def_.schema + "." +
                     def_.name + " (oid " + std::to_string(def_.oid) +
                     "), not the one described (" + table_.default_partition.nspname + "." +
                     table_.default_partition.relname + ", oid " +
                     std::to_string(table_.default_partition.oid) + "): describe the table again");
  }
  scratch_ = ScratchFor(def_.name);
  q_parent_ = conn_.QuoteQualified(table_.nspname, table_.relname);
  q_def_ = conn_.QuoteQualified(def_.schema, def_.name);
  q_stage_ = conn_.QuoteQualified(def_.schema, scratch_.stage);
  q_log_ = conn_.QuoteQualified(def_.schema, scratch_.log);
  q_new_ = conn_.QuoteQualified(def_.schema, scratch_.new_default);
  q_capture_ = conn_.QuoteQualified(def_.schema, scratch_.capture);
  q_replay_ = conn_.QuoteQualified(def_.schema, scratch_.replay);

  const std::string parent = std::to_string(table_.oid);
  const std::string def = std::to_string(def_.oid);
  pg::QueryResult r = conn_.ExecParams(
      "SELECT pg_get_partkeydef(c.oid), c.relispartition, d.relpersistence, "
      "       coalesce((SELECT spcname FROM pg_catalog.pg_tablespace WHERE oid = d.reltablespace), "
      "''), coalesce((SELECT spcname FROM pg_catalog.pg_tablespace WHERE oid = c.reltablespace), "
      "''), pg_get_userbyid(d.relowner), current_user, d.relreplident "
      "FROM pg_catalog.pg_class c, pg_catalog.pg_class d WHERE c.oid = $1::oid AND d.oid = $2::oid",
      {parent, def});
  keydef_ = r.text(0, 0);
  parent_is_partition_ = r.value(0, 1) == "t";
  def_persistence_ = r.value(0, 2).empty() ? 'p' : r.value(0, 2)[0];
  def_tablespace_ = r.text(0, 3);
  parent_tablespace_ = r.text(0, 4);
  def_owner_ = r.text(0, 5);
  current_user_ = r.text(0, 6);
  replident_ = r.value(0, 7).empty() ? 'd' : r.value(0, 7)[0];

  pg::QueryResult cols = conn_.ExecParams(
      "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid AND attnum > 0 "
      "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
      {parent});
  for (int i = 0; i < cols.rows(); ++i) columns_.push_back(cols.text(i, 0));

  existing_ = CurrentPartitions();
  inherits_ = conn_.ExecParams(kInheritsSql, {parent}).text(0, 0);
  fingerprint_ = conn_.ExecParams(kFingerprintSql, {parent, def}).text(0, 0);
}

std::vector<std::pair<uint32_t, std::string>> Drainer::CurrentPartitions() {
  pg::QueryResult parts = conn_.ExecParams(
      "SELECT c.oid, pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_inherits i "
      "JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::oid "
      "AND c.oid <> $2::oid ORDER BY c.oid",
      {std::to_string(table_.oid), std::to_string(def_.oid)});
  std::vector<std::pair<uint32_t, std::string>> out;
  for (int i = 0; i < parts.rows(); ++i) {
    out.emplace_back(static_cast<uint32_t>(parts.int64(i, 0)), parts.text(i, 1));
  }
  return out;
}

std::string Drainer::ChangedError() const {
  return "the definition of " + display_ +
         " changed during the drain (partitions, indexes, columns, constraints, "
         "grants or publications of the table or its DEFAULT); nothing was "
         "changed: run the drain again";
}

bool Drainer::AdaptToNewPartitions() {
  if (CurrentDefault(conn_, table_.oid, display_).oid != def_.oid) return false;
  const std::vector<std::pair<uint32_t, std::string>> now = CurrentPartitions();
  if (now.size() <= existing_.size()) return false;
  for (const auto& e : existing_) {
    if (std::find(now.begin(), now.end(), e) == now.end()) return false;  // one went or changed
  }
  // Everything else as it was: the fingerprint with only its list of
  // partitions renewed.
  const std::string parent = std::to_string(table_.oid);
  const std::string inherits = conn_.ExecParams(kInheritsSql, {parent}).text(0, 0);
  std::string expected = fingerprint_;
  // After the first component (DEFAULT's oid, which the list contains too).
  const size_t sep = expected.find(" | ");
  const size_t at = sep == std::string::npos ? sep : expected.find(inherits_, sep);
  if (at == std::string::npos) return false;
  expected.replace(at, inherits_.size(), inherits);
  const std::string current =
      conn_.ExecParams(kFingerprintSql, {parent, std::to_string(def_.oid)}).text(0, 0);
  if (current != expected) return false;
  std::vector<std::string> added;
  for (const auto& p : now) {
    if (std::find(existing_.begin(), existing_.end(), p) == existing_.end()) {
      added.push_back(
          conn_.Exec("SELECT " + std::to_string(p.first) + "::regclass::text").text(0, 0) + " " +
          p.second);
    }
  }
  spdlog::info(
      "drain {}: {} partition(s) were attached to {} during the drain ({}; pg_partman's "
      "maintenance?); rebuilding the new DEFAULT's CHECK to exclude them too",
      display_, added.size(), display_, fmt::join(added, ", "));
  existing_ = now;
  Probe();  // the new DEFAULT constraint; refuses a target that now overlaps
  // Only the drain's own tables are locked (the one other locker to expect
  // is autovacuum, which yields after deadlock_timeout).  ADD CONSTRAINT
  // scans the new DEFAULT: rows of the new partitions' ranges there would
  // make it fail (DrainError below: nothing changed).
  pg::QueryResult r =
      conn_.TryExec("BEGIN; SET LOCAL lock_timeout = '10s'; ALTER TABLE " + q_new_ +
                    " DROP CONSTRAINT IF EXISTS " + conn_.QuoteIdent(kBoundCheck) +
                    (default_constraint_.empty() ? std::string()
                                                 : "; ALTER TABLE " + q_new_ + " ADD CONSTRAINT " +
                                                       conn_.QuoteIdent(kBoundCheck) + " CHECK (" +
                                                       default_constraint_ + ")") +
                    "; COMMIT");
  if (!r.ok()) {
    conn_.TryExec("ROLLBACK");
    throw DrainError("partitions were attached to " + display_ +
                     " during the drain, and the rows that stay in DEFAULT do not fit the new "
                     "layout (" +
                     r.error_message() + "); nothing was changed: run the drain again");
  }
  inherits_ = inherits;
  fingerprint_ = current;
  return true;
}

void Drainer::CheckPreconditions() {
  const std::string parent = std::to_string(table_.oid);
  const std::string def = std::to_string(def_.oid);
  const std::string where = "cannot drain " + display_ + ": ";
  if (parent_is_partition_) {
    throw DrainError(where +
                     "it is itself a partition; the proof that spares the final ATTACH its scan "
                     "would have to include the grandparent's bound (not supported yet)");
  }
  // Runs a query with $1 = parent, $2 = DEFAULT (each query names both, so
  // the server can type them) and joins its first column.
  auto list = [&](const std::string& sql) {
    pg::QueryResult r = conn_.ExecParams(sql, {parent, def});
    std::string out;
    for (int i = 0; i < r.rows(); ++i) out += (out.empty() ? "" : ", ") + r.text(i, 0);
    return out;
  };
  std::string found = list(
      "SELECT quote_ident(tgname) FROM pg_catalog.pg_trigger WHERE tgrelid = $2::oid "
      "AND NOT tgisinternal AND tgparentid = 0 "
      "AND tgname NOT IN ('partwatch_drain', 'partwatch_drain_truncate') AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "its DEFAULT partition " + def_.schema + "." + def_.name +
                     " has triggers of its own (" + found +
                     "); they would not follow the rows to the new partitions. Move them to the "
                     "parent (they are then cloned to every partition) or drop them first");
  }
  found = list(
      "SELECT quote_ident(rulename) FROM pg_catalog.pg_rewrite WHERE ev_class = $2::oid "
      "AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "DEFAULT has rules (" + found + "); drop them first");
  }
  found = list(
      "SELECT 'row level security' FROM pg_catalog.pg_class WHERE oid = $2::oid AND "
      "relrowsecurity AND $1::oid <> 0 UNION ALL SELECT 'policy ' || quote_ident(polname) "
      "FROM pg_catalog.pg_policy WHERE polrelid = $2::oid");
  if (!found.empty()) {
    throw DrainError(where + "DEFAULT has " + found +
                     " of its own, which the new DEFAULT would not have; disable and drop them "
                     "first");
  }
  found = list(
      "SELECT quote_ident(conname) || ' on ' || conrelid::regclass::text "
      "FROM pg_catalog.pg_constraint WHERE contype = 'f' "
      "AND (conrelid IN ($1::oid, $2::oid) OR confrelid IN ($1::oid, $2::oid))");
  if (!found.empty()) {
    throw DrainError(where + "foreign keys point to or from it (" + found +
                     "); ATTACH/DETACH would validate them under the lock");
  }
  found = list(
      "SELECT DISTINCT pg_describe_object(d.classid, d.objid, 0) FROM pg_catalog.pg_depend d "
      "WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = $2::oid AND ("
      " (d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid NOT IN "
      "   (SELECT oid FROM pg_catalog.pg_rewrite WHERE ev_class = $2::oid))"
      " OR d.classid IN ('pg_catalog.pg_proc'::regclass, "
      "'pg_catalog.pg_statistic_ext'::regclass)"
      " OR (d.classid = 'pg_catalog.pg_class'::regclass AND d.objid IN "
      "   (SELECT oid FROM pg_catalog.pg_class WHERE relkind = 'S'))) AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "objects depend on DEFAULT itself (" + found +
                     "); they would stay bound to the old table. Point them at the parent, or "
                     "drop them first");
  }
  found = list(
      "SELECT quote_ident(p.pubname) FROM pg_catalog.pg_publication_rel r "
      "JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid WHERE r.prrelid = $2::oid "
      "AND NOT pg_has_role(p.pubowner, 'USAGE') AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "DEFAULT is a member of publication(s) " + found + " that role " +
                     current_user_ +
                     " does not own; the swap must move the membership to the new DEFAULT");
  }
  found = list(
      "SELECT quote_ident(c.conname) FROM pg_catalog.pg_constraint c "
      "WHERE c.conrelid = $2::oid AND c.contype IN ('u', 'x', 'p') AND c.conparentid = 0 "
      "AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "DEFAULT has unique or exclusion constraints of its own (" + found +
                     "); declare them on the parent, or drop them first");
  }
}

void Drainer::ResolveTargets() {
  std::map<std::string, int> seen;
  for (const Target& t : targets_) {
    if (t.name.empty() || t.name.size() > policy::kMaxIdentifierBytes) {
      throw DrainError("target name '" + t.name + "' must have 1 to 63 bytes");
    }
    if (seen[t.name]++ > 0) throw DrainError("target name '" + t.name + "' given twice");
    pg::QueryResult r = conn_.ExecParams(
        "SELECT c.oid, i.inhparent, pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid "
        "WHERE n.nspname = $1 AND c.relname = $2",
        {table_.nspname, t.name});
    if (r.rows() > 0) {
      if (r.opt(0, 1) == std::to_string(table_.oid)) {
        spdlog::info("drain {}: {}.{} already is a partition ({}); skipping it", display_,
                     table_.nspname, t.name, r.text(0, 2));
        continue;
      }
      throw DrainError("cannot drain " + display_ + ": a relation named " + table_.nspname + "." +
                       t.name + " already exists and is not one of its partitions");
    }
    Planned p;
    p.name = t.name;
    p.qname = conn_.QuoteQualified(table_.nspname, t.name);
    p.bound = t.bound_sql;
    planned_.push_back(std::move(p));
  }
}

// Asks the server for the exact partition constraints: temporary copies of
// the parent's partitioning with every bound, in a transaction rolled back.
// This also validates the callers' bounds (syntax, type, overlap).
void Drainer::Probe() {
  conn_.Exec("BEGIN");
  try {
    conn_.Exec("CREATE TEMP TABLE pwd_probe (LIKE " + q_parent_ + ") PARTITION BY " + keydef_);
    std::string sql;
    for (size_t i = 0; i < existing_.size(); ++i) {
      // Bounds of existing partitions are the server's own text.
      sql += "CREATE TEMP TABLE pwd_probe_e" + std::to_string(i) +
             " PARTITION OF pg_temp.pwd_probe " + existing_[i].second + ";";
    }
    if (!sql.empty()) conn_.Exec(sql);
    for (size_t j = 0; j < planned_.size(); ++j) {
      // The caller's bound, on its own and through the extended protocol:
      // one statement, whatever the text holds.
      pg::QueryResult r =
          conn_.TryExecParams("CREATE TEMP TABLE pwd_probe_t" + std::to_string(j) +
                                  " PARTITION OF pg_temp.pwd_probe " + planned_[j].bound,
                              {});
      if (!r.ok()) {
        throw DrainError("target " + planned_[j].name + ": bound \"" + planned_[j].bound +
                         "\" refused: " + r.error_message());
      }
    }
    conn_.Exec("CREATE TEMP TABLE pwd_probe_d PARTITION OF pg_temp.pwd_probe DEFAULT");
    for (size_t j = 0; j < planned_.size(); ++j) {
      pg::QueryResult r = conn_.Exec(
          "SELECT pg_get_partition_constraintdef(c.oid), pg_get_expr(c.relpartbound, c.oid) "
          "FROM pg_catalog.pg_class c WHERE c.oid = 'pg_temp.pwd_probe_t" +
          std::to_string(j) + "'::regclass");
      planned_[j].constraint = r.text(0, 0);
      planned_[j].bound = r.text(0, 1);
    }
    pg::QueryResult d =
        conn_.Exec("SELECT pg_get_partition_constraintdef('pg_temp.pwd_probe_d'::regclass)");
    default_constraint_ = d.opt(0, 0).value_or("");
    conn_.Exec("ROLLBACK");
  } catch (...) {
    if (conn_.connected()) conn_.TryExec("ROLLBACK");
    throw;
  }
}

// What the old DEFAULT has of its own that the new one must have too.
void Drainer::ReadDefaultExtras() {
  const std::string def = std::to_string(def_.oid);
  // Indexes: those attached to a parent index come back by LIKE ... INCLUDING
  // INDEXES and ATTACH; DEFAULT's own are recreated from their definition.
  pg::QueryResult ix = conn_.ExecParams(
      "SELECT i.indexrelid, c.relname, coalesce(h.inhparent, 0), i.indisunique, "
      "       CASE WHEN h.inhparent IS NULL THEN "
      "         CASE WHEN position(prefix IN pg_get_indexdef(i.indexrelid)) = 1 "
      "              THEN substr(pg_get_indexdef(i.indexrelid), length(prefix) + 1) END END, "
      "       i.indisreplident "
      "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
      "JOIN pg_catalog.pg_class t ON t.oid = i.indrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace "
      "LEFT JOIN pg_catalog.pg_inherits h ON h.inhrelid = i.indexrelid "
      "CROSS JOIN LATERAL (SELECT CASE WHEN i.indisunique THEN 'CREATE UNIQUE INDEX ' "
      "  ELSE 'CREATE INDEX ' END || quote_ident(c.relname) || ' ON ' || quote_ident(n.nspname) "
      "  || '.' || quote_ident(t.relname) || ' USING ' AS prefix) p "
      "WHERE i.indrelid = $1::oid ORDER BY i.indexrelid",
      {def});
  for (int i = 0; i < ix.rows(); ++i) {
    OldIndex o;
    o.oid = static_cast<uint32_t>(ix.int64(i, 0));
    o.name = ix.text(i, 1);
    o.parent_index = static_cast<uint32_t>(ix.int64(i, 2));
    o.unique = ix.value(i, 3) == "t";
    if (o.parent_index == 0) {
      if (ix.is_null(i, 4)) {
        throw DrainError("cannot drain " + display_ + ": cannot reproduce DEFAULT's own index " +
                         o.name + " (unexpected pg_get_indexdef form)");
      }
      o.create_rest = ix.text(i, 4);
    }
    if (ix.value(i, 5) == "t") replident_index_ = o.name;
    old_indexes_.push_back(std::move(o));
  }
  pg::QueryResult pubs = conn_.ExecParams(
      "SELECT p.pubname, coalesce((SELECT array_agg(a.attname ORDER BY a.attnum)::text[] "
      "  FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.prrelid "
      "  AND a.attnum = ANY (r.prattrs::int2[])), '{}'), "
      "  coalesce(pg_get_expr(r.prqual, r.prrelid), ''), "
      "  (SELECT count(*) FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.prrelid "
      "    AND a.attnum = ANY (r.prattrs::int2[])) "
      "FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p "
      "ON p.oid = r.prpubid WHERE r.prrelid = $1::oid ORDER BY 1",
      {def});
  for (int i = 0; i < pubs.rows(); ++i) {
    PubMember m;
    m.pubname = pubs.text(i, 0);
    if (pubs.int64(i, 3) > 0) {
      pg::QueryResult cols = conn_.ExecParams("SELECT unnest($1::text[])", {pubs.text(i, 1)});
      for (int c = 0; c < cols.rows(); ++c) m.columns.push_back(cols.text(c, 0));
    }
    m.row_filter = pubs.text(i, 2);
    publications_.push_back(std::move(m));
  }
  // The match columns for replay: the parent's primary key, else its
  // narrowest unique index on NOT NULL columns (no expression, no predicate).
  pg::QueryResult key = conn_.ExecParams(
      "SELECT array_agg(a.attname ORDER BY k.ord)::text[] "
      "FROM pg_catalog.pg_index i "
      "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
      "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
      "WHERE i.indrelid = $1::oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL "
      "AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts "
      "GROUP BY i.indexrelid, i.indisprimary HAVING bool_and(a.attnotnull) "
      "ORDER BY i.indisprimary DESC, count(*), i.indexrelid LIMIT 1",
      {std::to_string(table_.oid)});
  if (key.rows() == 1) {
    pg::QueryResult cols = conn_.ExecParams("SELECT unnest($1::text[])", {key.text(0, 0)});
    for (int c = 0; c < cols.rows(); ++c) match_columns_.push_back(cols.text(c, 0));
  }
}

pg::QueryResult ExecWithLockRetries(pg::Connection& conn, const std::string& what,
                                    milliseconds lock_timeout, const std::string& sql,
                                    int attempts) {
  // 20 ms doubling up to 500 ms, without jitter: the largest divisor makes
  // Backoff's jitter (delay / divisor, in whole ms) zero.
  Backoff backoff(milliseconds(20), milliseconds(500), std::numeric_limits<int>::max());
  for (int attempt = 1;; ++attempt) {
    try {
      conn.Exec("BEGIN");
      conn.Exec("SET LOCAL lock_timeout = " + Ms(lock_timeout));
      pg::QueryResult r = conn.Exec(sql);
      conn.Exec("COMMIT");
      return r;
    } catch (const pg::PgError& e) {
      if (conn.connected()) conn.TryExec("ROLLBACK");
      if (!IsLockFailure(e.sqlstate()) || attempt >= attempts) throw;
      spdlog::warn("{}: attempt {}/{} could not get its lock in {} ms ({}); retrying", what,
                   attempt, attempts, lock_timeout.count(), e.what());
      std::this_thread::sleep_for(backoff.Next());
    }
  }
}

std::vector<std::string> DropScratch(pg::Connection& conn, uint32_t parent_oid,
                                     const DefaultRef& def, milliseconds lock_timeout) {
  const ScratchNames names = ScratchFor(def.name);
  const std::string q_def = conn.QuoteQualified(def.schema, def.name);
  const std::string what = "drain cleanup of " + def.schema + "." + def.name;
  std::vector<std::string> dropped;

  // 1. The triggers first, on their own: they are what touches the
  // application.  DROP TRIGGER needs ACCESS EXCLUSIVE, which a long reader
  // of DEFAULT denies, and every queued attempt stalls DEFAULT's users for
  // up to lock_timeout; after a few, DISABLE them instead (SHARE ROW
  // EXCLUSIVE: waits for writers only), which restores the write path and
  // leaves inert objects for the next cleanup.
  pg::QueryResult trg = conn.ExecParams(
      "SELECT tgname, tgenabled <> 'D' FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid "
      "AND tgname IN ($2, $3) ORDER BY 1",
      {std::to_string(def.oid), kRowTrigger, kTruncateTrigger});
  bool triggers_left = false;
  if (trg.rows() > 0) {
    std::string drop, disable;
    for (int i = 0; i < trg.rows(); ++i) {
      drop += "DROP TRIGGER " + conn.QuoteIdent(trg.value(i, 0)) + " ON " + q_def + ";";
      if (trg.value(i, 1) == "t") {
        disable +=
            "ALTER TABLE " + q_def + " DISABLE TRIGGER " + conn.QuoteIdent(trg.value(i, 0)) + ";";
      }
    }
    try {
      ExecWithLockRetries(conn, what, lock_timeout, drop, 3);
      for (int i = 0; i < trg.rows(); ++i) {
        dropped.push_back("trigger " + trg.text(i, 0) + " on " + def.schema + "." + def.name);
      }
    } catch (const pg::PgError& e) {
      if (!IsLockFailure(e.sqlstate())) throw;
      if (!disable.empty()) ExecWithLockRetries(conn, what, lock_timeout, disable);
      triggers_left = true;
      spdlog::warn(
          "{}: a long transaction holds a lock on {}.{}, so its change capture "
          "triggers were disabled, not dropped; they and the capture function stay "
          "until the next drain or cleanup",
          what, def.schema, def.name);
    }
  }

  // 2. Tables and functions.  A relation attached to the real parent is
  // never dropped, whatever its name.
  pg::QueryResult rels = conn.ExecParams(
      "SELECT c.relname, c.relkind, i.inhparent, "
      "       (SELECT string_agg(quote_ident(pn.nspname) || '.' || quote_ident(pc.relname), ', ') "
      "          FROM pg_catalog.pg_inherits pi JOIN pg_catalog.pg_class pc ON pc.oid = "
      "pi.inhrelid "
      "          JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace "
      "         WHERE pi.inhparent = c.oid) "
      "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid "
      "WHERE n.nspname = $1 AND c.relname IN ($2, $3, $4, $5) AND c.relkind IN ('r', 'p')",
      {def.schema, names.stage, names.log, names.new_default, names.old_default});
  std::string drop_tables;
  for (int i = 0; i < rels.rows(); ++i) {
    const std::string name = rels.text(i, 0);
    const std::optional<std::string> parent = rels.opt(i, 2);
    if (parent && *parent == std::to_string(parent_oid)) {
      spdlog::warn("drain cleanup: {}.{} is a partition of the table; left alone", def.schema,
                   name);
      continue;
    }
    if (parent && name == names.new_default) continue;  // a partition of stage: goes with it
    if (parent) {
      spdlog::warn("drain cleanup: {}.{} is a partition of another table (oid {}); left alone",
                   def.schema, name, *parent);
      continue;
    }
    drop_tables += (drop_tables.empty() ? "" : ", ") + conn.QuoteQualified(def.schema, name);
    dropped.push_back("table " + def.schema + "." + name);
    if (rels.opt(i, 3)) dropped.push_back("its partitions " + *rels.opt(i, 3));
  }
  pg::QueryResult fns = conn.ExecParams(
      "SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p "
      "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
      "WHERE n.nspname = $1 AND p.proname IN ($2, $3)",
      {def.schema, names.capture, names.replay});
  std::string sql;
  if (!drop_tables.empty()) sql += "DROP TABLE " + drop_tables + ";";
  for (int i = 0; i < fns.rows(); ++i) {
    // The disabled triggers still depend on the capture function.
    if (triggers_left && fns.text(i, 0).find("_pwd_capture") != std::string::npos) continue;
    // regprocedure's output is a quoted, qualified signature.
    sql += "DROP FUNCTION " + fns.text(i, 0) + ";";
    dropped.push_back("function " + fns.text(i, 0));
  }
  if (!sql.empty()) ExecWithLockRetries(conn, what, lock_timeout, sql);
  for (const std::string& d : dropped) spdlog::info("drain cleanup: dropped {}", d);
  return dropped;
}

ReplaySpec Drainer::ReplayInputs() const {
  ReplaySpec spec;
  spec.function = q_replay_;
  spec.log = q_log_;
  spec.stage = q_stage_;
  spec.def = q_def_;
  spec.def_display = def_.schema + "." + def_.name;
  spec.columns = columns_;
  spec.match_columns = match_columns_;
  for (const KeyColumn& k : table_.key) spec.partition_key.push_back(k.name);
  return spec;
}

void Drainer::Prepare() {
  auto q = [&](const std::string& s) { return conn_.QuoteIdent(s); };
  const std::string like = " (LIKE " + q_parent_ +
                           " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES "
                           "INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED "
                           "INCLUDING STATISTICS INCLUDING COMPRESSION)";
  std::string sql;
  auto add = [&](const std::string& s) { sql += s + ";\n"; };
  add("CREATE TABLE " + q_stage_ + " (LIKE " + q_parent_ +
      " INCLUDING DEFAULTS INCLUDING GENERATED) PARTITION BY " + keydef_);
  for (const Planned& t : planned_) {
    add("CREATE TABLE " + t.qname + like +
        (parent_tablespace_.empty() ? "" : " TABLESPACE " + q(parent_tablespace_)));
    add("ALTER TABLE " + t.qname + " ADD CONSTRAINT " + q(kBoundCheck) + " CHECK (" + t.constraint +
        ")");
    add("ALTER TABLE " + q_stage_ + " ATTACH PARTITION " + t.qname + " " + t.bound);
  }
  add(std::string("CREATE ") + (def_persistence_ == 'u' ? "UNLOGGED " : "") + "TABLE " + q_new_ +
      like + (def_tablespace_.empty() ? "" : " TABLESPACE " + q(def_tablespace_)));
  if (!default_constraint_.empty()) {
    add("ALTER TABLE " + q_new_ + " ADD CONSTRAINT " + q(kBoundCheck) + " CHECK (" +
        default_constraint_ + ")");
  }
  conn_.Exec("BEGIN");
  try {
    conn_.Exec(sql);
    sql.clear();
    const std::string def = std::to_string(def_.oid);
    const std::string parent = std::to_string(table_.oid);
    // DEFAULT's own NOT NULLs and CHECK constraints.
    pg::QueryResult nn = conn_.ExecParams(
        "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_attribute pa "
        "ON pa.attrelid = $1::oid AND pa.attname = a.attname WHERE a.attrelid = $2::oid "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull AND NOT pa.attnotnull",
        {parent, def});
    for (int i = 0; i < nn.rows(); ++i) {
      add("ALTER TABLE " + q_new_ + " ALTER COLUMN " + q(nn.text(i, 0)) + " SET NOT NULL");
    }
    pg::QueryResult ck = conn_.ExecParams(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint "
        "WHERE conrelid = $1::oid AND contype = 'c' AND coninhcount = 0 ORDER BY conname",
        {def});
    for (int i = 0; i < ck.rows(); ++i) {
      add("ALTER TABLE " + q_new_ + " ADD CONSTRAINT " + q(ck.text(i, 0)) + " " + ck.text(i, 1));
    }
    for (const OldIndex& o : old_indexes_) {
      if (o.parent_index != 0) continue;
      add(std::string(o.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") +
          q("pwd_ix_" + std::to_string(o.oid)) + " ON " + q_new_ + " USING " + o.create_rest);
    }
    // Storage options, replica identity, comment, owner and grants.
    pg::QueryResult opts = conn_.ExecParams(
        "SELECT option_name, option_value FROM pg_catalog.pg_class c, "
        "pg_options_to_table(c.reloptions) WHERE c.oid = $1::oid",
        {def});
    for (int i = 0; i < opts.rows(); ++i) {
      add("ALTER TABLE " + q_new_ + " SET (" + opts.text(i, 0) + " = " +
          conn_.QuoteLiteral(opts.text(i, 1)) + ")");
    }
    if (replident_ == 'f') add("ALTER TABLE " + q_new_ + " REPLICA IDENTITY FULL");
    if (replident_ == 'n') add("ALTER TABLE " + q_new_ + " REPLICA IDENTITY NOTHING");
    pg::QueryResult comment =
        conn_.ExecParams("SELECT obj_description($1::oid, 'pg_class')", {def});
    if (!comment.is_null(0, 0)) {
      add("COMMENT ON TABLE " + q_new_ + " IS " + conn_.QuoteLiteral(comment.text(0, 0)));
    }
    if (def_owner_ != current_user_) add("ALTER TABLE " + q_new_ + " OWNER TO " + q(def_owner_));
    if (!sql.empty()) conn_.Exec(sql);
    sql.clear();
    // Grants: what the new table got by default privileges goes, then the
    // old DEFAULT's ACL (or its owner's default) is granted.
    pg::QueryResult acl = conn_.ExecParams(
        "SELECT DISTINCT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END "
        "FROM pg_catalog.pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1::regclass",
        {q_new_});
    for (int i = 0; i < acl.rows(); ++i) {
      add("REVOKE ALL ON " + q_new_ + " FROM " +
          (acl.is_null(i, 0) ? "PUBLIC" : q(acl.text(i, 0))));
    }
    pg::QueryResult grants = conn_.ExecParams(
        "SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN NULL "
        "ELSE pg_get_userbyid(a.grantee) END, a.is_grantable "
        "FROM pg_catalog.pg_class c, "
        "aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a WHERE c.oid = $1::oid",
        {def});
    static const char* kPrivileges[] = {"SELECT",   "INSERT",     "UPDATE", "DELETE",
                                        "TRUNCATE", "REFERENCES", "TRIGGER"};
    for (int i = 0; i < grants.rows(); ++i) {
      const std::string priv = grants.text(i, 0);
      if (std::find(std::begin(kPrivileges), std::end(kPrivileges), priv) ==
          std::end(kPrivileges)) {
        continue;  // a privilege a newer server knows; not granted
      }
      add("GRANT " + priv + " ON " + q_new_ + " TO " +
          (grants.is_null(i, 1) ? "PUBLIC" : q(grants.text(i, 1))) +
          (grants.value(i, 2) == "t" ? " WITH GRANT OPTION" : ""));
    }
    add("ALTER TABLE " + q_stage_ + " ATTACH PARTITION " + q_new_ + " DEFAULT");
    // The change log: UNLOGGED, because it only matters to the drain that
    // reads it, over one connection, and a crash ends that drain anyway
    // (the next one drops the log).  Rows keep DEFAULT's own row type, so
    // columns are read back by name whatever DEFAULT's column order.
    add("CREATE UNLOGGED TABLE " + q_log_ +
        " (id bigserial PRIMARY KEY, op \"char\" NOT NULL, old_row " + q_def_ + ", new_row " +
        q_def_ + ")");
    add(CaptureFunctionSql(q_capture_, q_log_));
    add(ReplayFunctionSql(ReplayInputs(), quote_));
    add("REVOKE ALL ON FUNCTION " + q_capture_ + "() FROM PUBLIC");
    conn_.Exec(sql);
    new_oid_ =
        static_cast<uint32_t>(conn_.ExecParams("SELECT $1::regclass::oid", {q_new_}).int64(0, 0));
    for (Planned& t : planned_) {
      t.oid = static_cast<uint32_t>(
          conn_.ExecParams("SELECT $1::regclass::oid", {t.qname}).int64(0, 0));
    }
    conn_.Exec("COMMIT");
    FaultPoint("drain.prepared");
  } catch (...) {
    if (conn_.connected()) conn_.TryExec("ROLLBACK");
    throw;
  }
}

void Drainer::InstallTriggers() {
  const milliseconds wait = std::min(options_.lock_timeout, options_.max_lock);
  const std::string sql = InstallTriggersSql(q_def_, q_capture_, quote_);
  Backoff backoff(milliseconds(50), kMaxBackoff, 2);
  for (int attempt = 1;; ++attempt) {
    CheckStop("installing the triggers");
    try {
      conn_.Exec("BEGIN");
      conn_.Exec("SET LOCAL lock_timeout = " + Ms(wait));
      conn_.Exec(sql);
      conn_.Exec("COMMIT");
      FaultPoint("drain.triggers");
      return;
    } catch (const pg::PgError& e) {
      if (conn_.connected()) conn_.TryExec("ROLLBACK");
      if (!IsLockFailure(e.sqlstate()) || attempt >= options_.max_swap_attempts) throw;
      spdlog::warn(
          "drain {}: could not install the change capture on {}.{} within {} ms "
          "(attempt {}/{}: {}); retrying",
          display_, def_.schema, def_.name, wait.count(), attempt, options_.max_swap_attempts,
          e.what());
      SleepUnlessStopped(backoff.Next(), options_.stop);  // a stop: CheckStop above
    }
  }
}

void Drainer::AbortCleanup() noexcept {
  try {
    if (!conn_.connected()) {
      spdlog::warn(
          "drain {}: connection lost; the scratch objects (and the change capture on "
          "{}.{}) stay until the next drain or CleanupLeftovers",
          display_, def_.schema, def_.name);
      return;
    }
    if (InTransaction(conn_)) conn_.TryExec("ROLLBACK");
    DropScratch(conn_, table_.oid, CurrentDefault(conn_, table_.oid, display_),
                std::min(options_.lock_timeout, options_.max_lock));
  } catch (const std::exception& e) {
    spdlog::error(
        "drain {}: could not drop the scratch objects ({}); the next drain or "
        "CleanupLeftovers will",
        display_, e.what());
  }
}

void Drainer::Copy() {
  const auto copy_start = Clock::now();
  std::map<uint32_t, size_t> target_index;
  for (size_t j = 0; j < planned_.size(); ++j) target_index[planned_[j].oid] = j;
  const std::string cols = ColumnList();
  // One snapshot for the whole copy, held by a transaction of its own that
  // touches no table; the copy itself runs in short pieces that import it.
  // So the copy reads every row of DEFAULT exactly once, as of that
  // snapshot, and yet holds ACCESS SHARE on DEFAULT only for one piece at a
  // time: a DDL queued behind the copy waits for one piece, not for the copy
  // (and everyone queued behind the DDL with it).
  pg::SnapshotHolder snapshot(conn_.OpenLike());
  pg::QueryResult size =
      conn_.Exec("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = " +
                 std::to_string(def_.oid));
  rows_total_ = size.rows() ? size.int64(0, 0) : 0;
  pg::PieceOptions pieces;
  pieces.snapshot = snapshot.name();
  pieces.limit = options_.yield_after;
  pieces.target = std::max(milliseconds(1), options_.yield_after / 4);
  pieces.lock_timeout = std::min(options_.lock_timeout, options_.yield_after);
  // About batch_rows per piece at most (reltuples per page; 100 when unknown).
  const pg::QueryResult pages =
      conn_.Exec("SELECT greatest(relpages, 1), reltuples FROM pg_class WHERE oid = " +
                 std::to_string(def_.oid));
  const double per_page =
      pages.rows() && std::stod(pages.text(0, 1)) > 0
          ? std::max(1.0, std::stod(pages.text(0, 1)) / static_cast<double>(pages.int64(0, 0)))
          : 100.0;
  pieces.max_pages = std::max<int64_t>(
      1, static_cast<int64_t>(static_cast<double>(options_.batch_rows) / per_page));
  pieces.first_pages = std::min<int64_t>(pieces.max_pages, 64);
  spdlog::info(
      "drain {}: copying about {} row(s) out of {}.{} in pieces of at most ~{} row(s), each "
      "holding its lock under {} ms",
      display_, rows_total_, def_.schema, def_.name,
      static_cast<int64_t>(static_cast<double>(pieces.max_pages) * per_page),
      options_.yield_after.count());
  Report("copy", -1);
  // The first piece also empties the log: the log rows the snapshot sees
  // are changes the copy sees too; what is left is exactly what it misses.
  bool log_emptied = false;
  const pg::PieceStats stats = pg::ForEachPiece(
      conn_, q_def_,
      [&](const std::string& where) {
        FaultPoint("drain.copy.piece");
        return CopyPieceSql(q_stage_, q_def_, cols, where, log_emptied ? "" : q_log_);
      },
      [&](const pg::QueryResult& r) {
        log_emptied = true;
        for (int i = 0; i < r.rows(); ++i) {
          const uint32_t oid = static_cast<uint32_t>(r.int64(i, 0));
          const int64_t n = r.int64(i, 1);
          summary_.rows_copied += n;
          if (auto it = target_index.find(oid); it != target_index.end()) {
            planned_[it->second].copied += n;
          } else {
            summary_.rows_left_in_default += n;
          }
        }
        rows_total_ = std::max(rows_total_, summary_.rows_copied);
        FaultPoint("drain.copy.committed");
        Report("copy", -1);
        CheckStop("copying");
      },
      pieces);
  summary_.copy_pieces = stats.pieces;
  summary_.copy_pieces_cancelled = stats.cancelled;
  summary_.longest_copy_piece = stats.longest;
  summary_.copy_took = duration_cast<microseconds>(Clock::now() - copy_start);
  const double secs = std::max(1e-6, static_cast<double>(summary_.copy_took.count()) / 1e6);
  spdlog::info(
      "drain {}: copied {} row(s) in {:.1f} s ({:.0f} rows/s; {} piece(s), the longest {:.1f} "
      "ms, {} cut short and retried): {} into {} new partition(s), {} stay in DEFAULT",
      display_, summary_.rows_copied, secs, static_cast<double>(summary_.rows_copied) / secs,
      stats.pieces, Millis(stats.longest), stats.cancelled,
      summary_.rows_copied - summary_.rows_left_in_default, planned_.size(),
      summary_.rows_left_in_default);
  // Statistics before the swap, so plans over the new partitions are sane
  // from their first query (ANALYZE samples; it blocks no reader or writer).
  std::string analyze;
  for (const Planned& t : planned_) analyze += (analyze.empty() ? "" : ", ") + t.qname;
  // Only the drain's own (unattached) tables are locked here, and the one
  // other locker to expect is autovacuum, which PostgreSQL cancels for us
  // after deadlock_timeout: wait for that, whatever the session's
  // lock_timeout (kept short for the tables the application uses).
  conn_.Exec("BEGIN; SET LOCAL lock_timeout = '10s'; ANALYZE " + analyze + ", " + q_new_ +
             "; COMMIT");
}

int64_t Drainer::Replay(std::optional<int64_t> max_rows) {
  const std::string arg = max_rows ? std::to_string(*max_rows) : "NULL";
  pg::QueryResult r = conn_.TryExec("SELECT " + q_replay_ + "(" + arg + ")");
  if (r.ok()) return r.int64(0, 0);
  const std::string state = r.sqlstate();
  if (state == kTruncatedState) throw DrainError(r.error_message());
  if (state == kMismatchState) {
    throw DrainError("the change log does not match the copy (" + r.error_message() +
                     "); nothing was changed. This is a bug: please report it with the table's "
                     "definition");
  }
  throw pg::PgError(r.error_message(), state);
}

void Drainer::CatchUp() {
  for (;;) {
    CheckStop("replaying changes");
    FaultPoint("drain.replay");
    const int64_t n = Replay(options_.replay_batch_rows);
    summary_.replayed_before_swap += n;
    if (n < options_.replay_batch_rows) {
      pending_ = conn_.Exec("SELECT count(*) FROM " + q_log_).int64(0, 0);
      Report("replay", pending_);
      if (pending_ < options_.swap_max_log_rows) return;
    } else {
      Report("replay", -1);
    }
  }
}

SwapSpec Drainer::SwapInputs() const {
  SwapSpec spec;
  spec.parent = q_parent_;
  spec.def = q_def_;
  spec.stage = q_stage_;
  spec.new_default = q_new_;
  spec.schema = def_.schema;
  spec.def_name = def_.name;
  spec.old_default = scratch_.old_default;
  for (const Planned& t : planned_) spec.targets.push_back(SwapTarget{t.qname, t.bound});
  spec.default_has_check = !default_constraint_.empty();
  spec.old_indexes = old_indexes_;
  spec.publications = publications_;
  spec.new_oid = new_oid_;
  spec.replident = replident_;
  spec.replident_index = replident_index_;
  return spec;
}

Drainer::Attempt Drainer::TrySwap(milliseconds lock_wait) {
  Attempt a;
  Clock::time_point locked{};
  bool have_lock = false;
  auto held = [&] {
    return have_lock ? duration_cast<microseconds>(Clock::now() - locked) : microseconds(0);
  };
  Clock::time_point mark = Clock::now();
  auto lap = [&](const char* what) {
    const auto now = Clock::now();
    a.steps.emplace_back(what, duration_cast<microseconds>(now - mark));
    mark = now;
  };
  // Each statement under the lock gets what is left of the budget as its
  // statement_timeout.  The budget keeps a little of max_lock back for the
  // round trips of a cancel and ROLLBACK, so a cancelled attempt, too, ends
  // within max_lock.
  const milliseconds budget =
      options_.max_lock - std::min(options_.max_lock / 10, milliseconds(10));
  auto left = [&] { return budget - duration_cast<milliseconds>(Clock::now() - locked); };
  const std::string swap_sql = SwapSql(SwapInputs(), quote_);
  try {
    conn_.Exec("BEGIN");
    // idle_in_transaction_session_timeout: should this client vanish
    // without its socket closing (a host lost), the server ends the session
    // and releases the lock after max_lock, not after TCP gives up.
    conn_.Exec("SET LOCAL lock_timeout = " + Ms(lock_wait) +
               "; SET LOCAL statement_timeout = " + Ms(lock_wait + milliseconds(1000)) +
               "; SET LOCAL idle_in_transaction_session_timeout = " +
               Ms(std::max(options_.max_lock, kMinIdleTimeout)));
    const auto asked = Clock::now();
    conn_.Exec("LOCK TABLE ONLY " + q_parent_ + " IN ACCESS EXCLUSIVE MODE");
    locked = mark = Clock::now();
    FaultPoint("drain.swap.locked");
    have_lock = true;
    a.waited = duration_cast<microseconds>(locked - asked);
    auto step = [&](const std::string& sql, bool also_lock_timeout) {
      const milliseconds l = left();
      if (l.count() < 1) {
        throw pg::PgError(
            "the lock budget of " + std::to_string(options_.max_lock.count()) + " ms ran out",
            std::string(kQueryCanceled));
      }
      std::string set = "SET LOCAL statement_timeout = " + Ms(l) + "; ";
      if (also_lock_timeout) set += "SET LOCAL lock_timeout = " + Ms(std::min(l, lock_wait)) + "; ";
      return conn_.Exec(set + sql);
    };
    step("LOCK TABLE ONLY " + q_def_ + " IN ACCESS EXCLUSIVE MODE", true);
    lap("DEFAULT's lock");
    if (step(FingerprintSql(table_.oid, def_.oid), false).text(0, 0) != fingerprint_) {
      conn_.TryExec("ROLLBACK");
      a.hold = held();
      a.changed = true;
      return a;
    }
    lap("check");
    // Under the lock no one can write DEFAULT: this replays everything.
    if (left().count() < 1)
      throw pg::PgError("the lock budget ran out", std::string(kQueryCanceled));
    conn_.Exec("SET LOCAL statement_timeout = " + Ms(left()));
    a.replayed = Replay(std::nullopt);
    lap("replay");
    step(swap_sql, false);
    lap("detach/attach/rename");
    FaultPoint("drain.swap.before_commit");
    conn_.Exec("COMMIT");
    FaultPoint("drain.swap.committed");
    lap("commit");
    a.hold = held();
    a.done = true;
    return a;
  } catch (const pg::PgError& e) {
    const bool retry =
        conn_.connected() && (IsLockFailure(e.sqlstate()) || e.sqlstate() == kQueryCanceled);
    if (conn_.connected()) conn_.TryExec("ROLLBACK");
    a.hold = held();
    if (!retry) throw;
    a.why = e.what();
    return a;
  } catch (const DrainError&) {
    if (conn_.connected() && InTransaction(conn_)) conn_.TryExec("ROLLBACK");
    throw;
  }
}

void Drainer::SwapLoop() {
  const milliseconds lock_wait = std::min(options_.lock_timeout, options_.max_lock);
  Backoff backoff(milliseconds(50), kMaxBackoff, 2);
  for (int attempt = 1;; ++attempt) {
    CheckStop("before the swap");
    Report("swap", pending_);
    const Attempt a = TrySwap(lock_wait);
    summary_.swap_attempts = attempt;
    summary_.longest_lock = std::max(summary_.longest_lock, a.hold);
    if (a.changed) {
      if (!AdaptToNewPartitions()) throw DrainError(ChangedError());
      CatchUp();
      continue;
    }
    if (a.done) {
      summary_.replayed_in_swap = a.replayed;
      std::string steps;
      for (const auto& [what, took] : a.steps) {
        steps += fmt::format("{}{} {:.1f}", steps.empty() ? "" : ", ", what, Millis(took));
      }
      spdlog::info(
          "drain {}: swap attempt {} held ACCESS EXCLUSIVE on {} for {:.1f} ms ({} ms; "
          "{} change(s) replayed under it), after waiting {:.1f} ms for it",
          display_, attempt, display_, Millis(a.hold), steps, a.replayed, Millis(a.waited));
      return;
    }
    if (attempt >= options_.max_swap_attempts) {
      throw DrainError(fmt::format(
          "gave up after {} swap attempt(s) (last: {}); nothing was changed: every row is still "
          "in DEFAULT {}.{}. Run it again when the table is less busy, or allow a longer lock "
          "(max_lock, now {} ms; lock waits are capped at {} ms)",
          attempt, a.why, def_.schema, def_.name, options_.max_lock.count(), lock_wait.count()));
    }
    const milliseconds sleep = backoff.Next();
    spdlog::warn(
        "drain {}: swap attempt {}/{} rolled back after holding its lock {:.1f} ms ({}); "
        "catching up and retrying in {} ms",
        display_, attempt, options_.max_swap_attempts, Millis(a.hold), a.why, sleep.count());
    SleepUnlessStopped(sleep, options_.stop);  // a stop: CatchUp's CheckStop
    CatchUp();
  }
}

}  // namespace

Summary Drain(pg::Connection& conn, const TableInfo& table, const std::vector<Target>& targets,
              const Options& options) {
  Drainer drainer(conn, table, targets, options);
  return drainer.Run();
}

std::vector<std::string> CleanupLeftovers(pg::Connection& conn, const TableInfo& table,
                                          std::chrono::milliseconds lock_timeout) {
  if (InTransaction(conn))
    throw DrainError("CleanupLeftovers needs a connection outside a transaction");
  AdvisoryLock lock(conn, table.oid, table.DisplayName());
  const DefaultRef def = CurrentDefault(conn, table.oid, table.DisplayName());
  return DropScratch(conn, table.oid, def, lock_timeout);
}

}  // namespace partwatch::drain
