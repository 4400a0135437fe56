// Drain and CleanupLeftovers (drain.h): the advisory lock and session
// settings around them, and Drainer::Run, which strings the phases together
// (what each phase does: drain.h; which file holds it: drainer.h).
#include "src/drain/drain.h"

#include <string>
#include <thread>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "src/drain/drainer.h"
#include "src/fault.h"
#include "src/partition_sql.h"

namespace partwatch::drain {

namespace internal {

using std::chrono::duration_cast;

constexpr milliseconds kAdvisoryWait{3000};

namespace {

// The session advisory lock the executor takes per transaction, held for a
// whole drain.  Released by the destructor (a dead connection released it).
class AdvisoryLock {
 public:
  AdvisoryLock(pg::Connection& conn, uint32_t parent_oid, const std::string& display)
      : conn_(conn), key_(std::to_string(AdvisoryLockKey(parent_oid))) {
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

}  // namespace

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

}  // namespace internal

Summary Drain(pg::Connection& conn, const TableInfo& table, const std::vector<Target>& targets,
              const Options& options) {
  internal::Drainer drainer(conn, table, targets, options);
  return drainer.Run();
}

std::vector<std::string> CleanupLeftovers(pg::Connection& conn, const TableInfo& table,
                                          std::chrono::milliseconds lock_timeout) {
  if (internal::InTransaction(conn))
    throw DrainError("CleanupLeftovers needs a connection outside a transaction");
  internal::AdvisoryLock lock(conn, table.oid, table.DisplayName());
  const internal::DefaultRef def = internal::CurrentDefault(conn, table.oid, table.DisplayName());
  return internal::DropScratch(conn, table.oid, def, lock_timeout);
}

}  // namespace partwatch::drain
