#include "src/executor/executor.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "decoder/walsender.h"
#include "policy/naming.h"
#include "src/drain/command.h"
#include "src/drain/drain.h"
#include "src/fault.h"
#include "src/util/backoff.h"

namespace partwatch::executor {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kMaxRetryDelay{30'000};
constexpr std::chrono::milliseconds kVisibilityTimeout{60'000};

bool IsRetryable(const std::string& sqlstate) {
  return sqlstate == pg::kLockNotAvailable || sqlstate == pg::kDeadlockDetected ||
         sqlstate == pg::kSerializationFailure;
}

}  // namespace

Executor::Executor(pg::Connection conn, ExecutorConfig config, DrainConfig drain,
                   const std::atomic<bool>& stop, PartitionRateLimiter& limiter)
    : conn_(std::move(conn)), config_(config), drain_(drain), stop_(stop), limiter_(limiter) {
  ApplySessionTimeouts();
}

void Executor::ApplySessionTimeouts() {
  conn_.Exec("SET statement_timeout = " + pg::TimeoutLiteral(config_.statement_timeout) +
             "; SET lock_timeout = " + pg::TimeoutLiteral(LockWait()));
}

void Executor::SetLimits(ExecutorConfig config, DrainConfig drain) {
  config_ = config;
  drain_ = drain;
  ApplySessionTimeouts();
}

std::chrono::microseconds Executor::LockBudget() const {
  // A little of max_lock is kept back for the round trips of a cancel and
  // the ROLLBACK, so a cancelled move, too, ends within max_lock.
  return drain_.max_lock - std::min(drain_.max_lock / 10, std::chrono::milliseconds(10));
}

std::chrono::milliseconds Executor::LockWait() const {
  return std::min(config_.lock_timeout, config_.yield_after);
}

Executor::Attempt Executor::TryCreateAndMove(const TableInfo& table, const std::string& name,
                                             const PartitionSpec& spec, MoveResult* result,
                                             std::string* why) {
  auto rollback = [&] { conn_.TryExec("ROLLBACK"); };
  Clock::time_point locked{};
  bool have_lock = false;
  auto held = [&] {
    return have_lock ? std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - locked)
                     : std::chrono::microseconds(0);
  };
  const std::chrono::microseconds budget = LockBudget();
  const std::chrono::milliseconds wait = LockWait();
  // Every statement after the first write-blocking lock runs with what is
  // left of the budget as its statement_timeout: the move never holds the
  // lock longer than drain.max_lock, whatever the estimate said.
  auto step = [&](const std::string& sql) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(budget - held());
    if (left.count() < 1) {
      throw pg::PgError(
          "the lock budget of " + std::to_string(drain_.max_lock.count()) + " ms ran out",
          std::string(pg::kQueryCanceled));
    }
    return conn_.Exec("SET LOCAL statement_timeout = " + pg::TimeoutLiteral(left) +
                      "; SET LOCAL lock_timeout = " + pg::TimeoutLiteral(std::min(left, wait)) +
                      "; " + sql);
  };
  try {
    conn_.Exec("BEGIN");
    // idle_in_transaction_session_timeout: should this client vanish with
    // its socket still open, the server ends the session and frees the lock.
    conn_.Exec(
        "SET LOCAL lock_timeout = " + pg::TimeoutLiteral(wait) +
        "; SET LOCAL statement_timeout = " + pg::TimeoutLiteral(wait + std::chrono::seconds(1)) +
        "; SET LOCAL idle_in_transaction_session_timeout = " + pg::TimeoutLiteral(drain_.max_lock));
    pg::QueryResult lock = conn_.ExecParams("SELECT pg_try_advisory_xact_lock($1::bigint)",
                                            {std::to_string(AdvisoryLockKey(table.oid))});
    if (lock.value(0, 0) != "t") {
      rollback();
      *why = "another partwatch process is acting on " + table.DisplayName();
      return Attempt::kLockBusy;
    }
    const std::string parent = conn_.QuoteQualified(table.nspname, table.relname);
    const std::string def = QuotedDefault(conn_, table);
    const std::string target = conn_.QuoteQualified(table.nspname, name);
    if (config_.lock_parent) {
      conn_.Exec("LOCK TABLE ONLY " + parent + " IN SHARE MODE");
      locked = Clock::now();
      have_lock = true;
      FaultPoint("executor.move.locked");
      step("LOCK TABLE ONLY " + def + " IN ACCESS EXCLUSIVE MODE");
    } else {
      conn_.Exec("LOCK TABLE ONLY " + def + " IN ACCESS EXCLUSIVE MODE");
      locked = Clock::now();
      have_lock = true;
      FaultPoint("executor.move.locked");
    }
    step("CREATE TABLE " + target + " (LIKE " + parent +
         " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS "
         "INCLUDING GENERATED INCLUDING STATISTICS)");
    std::string cols;
    for (const std::string& c : table.insertable_columns) {
      cols += (cols.empty() ? "" : ", ") + conn_.QuoteIdent(c);
    }
    pg::QueryResult moved =
        step("WITH moved AS (DELETE FROM ONLY " + def + " WHERE " + spec.where_sql + " RETURNING " +
             cols + ") INSERT INTO " + target + " (" + cols + ") SELECT " + cols + " FROM moved");
    result->moved_rows = std::stoll(PQcmdTuples(moved.get()));
    step("ALTER TABLE " + parent + " ATTACH PARTITION " + target + " " + spec.bound_sql);
    FaultPoint("executor.move.before_commit");
    conn_.Exec("COMMIT");
    result->lock_held = held();
    FaultPoint("executor.move.committed");
    result->partition = table.nspname + "." + name;
    return Attempt::kDone;
  } catch (const pg::PgError& e) {
    result->lock_held = held();
    rollback();
    if (have_lock && e.sqlstate() == pg::kQueryCanceled && conn_.connected()) {
      *why = e.what();
      return Attempt::kOverBudget;
    }
    if (IsRetryable(e.sqlstate())) {
      *why = e.what();
      return Attempt::kLockBusy;
    }
    throw;
  }
}

MoveResult Executor::CreateAndMove(const TableInfo& table, const std::string& name_template,
                                   const policy::KeyValue& value) {
  const auto start = Clock::now();
  MoveResult result;
  Backoff backoff(config_.retry_base_delay, std::max(config_.retry_base_delay, kMaxRetryDelay),
                  /*jitter_divisor=*/4);
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    result.attempts = attempt;
    const PartitionSpec spec = SpecFor(conn_, table, value);
    const std::string name =
        ChooseFreeName(conn_, table.nspname, BaseName(table, name_template, value, spec), {});
    std::string why;
    const Attempt end = TryCreateAndMove(table, name, spec, &result, &why);
    if (end == Attempt::kDone) {
      result.took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
      return result;
    }
    if (end == Attempt::kOverBudget) throw OverBudget(why, result.lock_held);
    if (attempt == config_.max_attempts || stop_.load(std::memory_order_acquire)) {
      throw pg::PgError("gave up after " + std::to_string(attempt) + " attempt(s): " + why,
                        pg::kLockNotAvailable.data());
    }
    const std::chrono::milliseconds sleep = backoff.Next();
    spdlog::warn("table {} value {}: attempt {}/{} rolled back ({}); retrying in {} ms",
                 table.DisplayName(), value.ForLog(), attempt, config_.max_attempts, why,
                 sleep.count());
    SleepUnlessStopped(sleep, &stop_);
  }
  throw pg::PgError("no attempt made", "");  // max_attempts >= 1 by config validation
}

bool Executor::WaitUntilVisible(uint32_t xid, std::chrono::milliseconds timeout) {
  // pg_visible_in_snapshot needs the 64-bit xid: take the epoch from the
  // snapshot's xmax, the xid being within 2^31 of it.
  static const std::string kVisible =
      "WITH s AS (SELECT pg_current_snapshot() AS snap), "
      "x AS (SELECT snap, pg_snapshot_xmax(snap)::text::bigint AS cur FROM s), "
      "c AS (SELECT snap, cur, ((cur >> 32) << 32) + $1::bigint AS cand FROM x) "
      "SELECT pg_visible_in_snapshot((CASE WHEN cand > cur + 2147483648 THEN cand - 4294967296 "
      "WHEN cand < cur - 2147483648 THEN cand + 4294967296 ELSE cand END)::text::xid8, snap) "
      "FROM c";
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (conn_.ExecParams(kVisible, {std::to_string(xid)}).value(0, 0) == "t") return true;
    if (Clock::now() > deadline || stop_.load(std::memory_order_acquire)) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int64_t Executor::DefaultBytes(const TableInfo& table) {
  // By name: a drain replaces DEFAULT (same name, new oid).
  pg::QueryResult r =
      conn_.ExecParams("SELECT pg_relation_size($1::regclass)", {QuotedDefault(conn_, table)});
  return r.int64(0, 0);
}

MoveResult Executor::DrainOnline(const TableInfo& table, const policy::TableRule& rule,
                                 const policy::KeyValue& value,
                                 const std::vector<policy::KeyValue>& gap, int cap) {
  std::vector<policy::KeyValue> values{value};
  values.insert(values.end(), gap.begin(), gap.end());
  // Other values over their threshold ride along (one rewrite of DEFAULT
  // instead of one each), as far as max_new_partitions_per_hour allows.
  const size_t created = limiter_.CreatedInLastHour(table.oid);
  const size_t room = static_cast<size_t>(
      std::max<int64_t>(0, static_cast<int64_t>(cap) - static_cast<int64_t>(created)));
  // Only values over the lowest threshold that can apply come back (RANGE
  // buckets pg_partman is about to create have threshold 0).
  const int64_t lowest = rule.immediate_from ? 0 : rule.threshold;
  for (const ValueCount& vc :
       CountDefaultByValue(conn_, table, 0, CountPieces(config_, &stop_), lowest)) {
    if (values.size() >= std::max(room, gap.size() + 1)) break;
    if (vc.rows <= rule.ThresholdFor(vc.value)) continue;
    if (std::find(values.begin(), values.end(), vc.value) != values.end()) continue;
    if (BeyondHorizon(conn_, table, vc.value)) continue;  // alerted when decided on
    if (!PartmanGap(table, vc.value).empty()) continue;   // decided on with its own gap
    values.push_back(vc.value);
  }
  std::vector<std::string> shown;
  for (const auto& v : values) shown.push_back(v.ForLog());
  spdlog::info(
      "table {}: draining {} value(s) over the threshold online: {}", table.DisplayName(),
      values.size(),
      fmt::join(
          shown.size() > 20 ? std::vector<std::string>(shown.begin(), shown.begin() + 20) : shown,
          ", "));
  drain::Options options;
  options.max_lock = drain_.max_lock;
  options.lock_timeout = LockWait();
  options.yield_after = config_.yield_after;
  options.batch_rows = drain_.batch_rows;
  options.stop = &stop_;
  const auto start = Clock::now();
  std::vector<drain::Target> targets;
  drain::Summary drained;
  try {
    drain::CleanupLeftovers(conn_, table, config_.lock_timeout);  // frees their names
    targets = drain::TargetsFor(conn_, table, rule.name_template, values);
    drained = drain::Drain(conn_, table, targets, options);
  } catch (const drain::DrainError& e) {
    // Refused or stopped; the rows are where they were.  kFailed: retried.
    throw pg::PgError(std::string("online drain: ") + e.what(), "");
  }
  MoveResult result;
  result.partition = table.nspname + "." + targets.front().name;
  for (const auto& [name, rows] : drained.moved) {
    if (name == targets.front().name) result.moved_rows = rows;
  }
  result.attempts = drained.swap_attempts;
  result.lock_held = drained.longest_lock;
  result.online = true;
  result.took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  // The other values' partitions count against max_new_partitions_per_hour
  // too (Execute() adds the decision's own).
  for (size_t i = 1; i < values.size(); ++i) limiter_.RecordCreated(table.oid);
  return result;
}

void Executor::FillPartmanGap(const TableInfo& table, const policy::TableRule& rule,
                              const std::vector<policy::KeyValue>& gap, size_t* filled) {
  // pg_partman's maintenance only ever extends the set after its newest
  // child: the buckets between the old newest child and the one just
  // created would stay without partitions (rows for them would land in
  // DEFAULT).  Create them, moving whatever DEFAULT holds of them.
  *filled = 0;
  for (const policy::KeyValue& key : gap) {
    const int64_t bytes = DefaultBytes(table);
    MoveResult moved = CreateAndMove(table, rule.name_template, key);
    cost_.Observe(moved.moved_rows, bytes, moved.lock_held);
    limiter_.RecordCreated(table.oid);
    ++*filled;
    spdlog::info(
        "table {} bucket {}: created partition {} to keep pg_partman's children contiguous "
        "({} row(s) moved, lock held {:.1f} ms)",
        table.DisplayName(), key.ForLog(), moved.partition, moved.moved_rows,
        static_cast<double>(moved.lock_held.count()) / 1000.0);
  }
}

bool Executor::OverHourlyCap(const TableInfo& table, const policy::Decision& decision, int cap,
                             int needed) {
  const auto now = Clock::now();
  const size_t created = limiter_.CreatedInLastHour(table.oid, now);
  if (static_cast<int>(created) + needed <= cap) return false;
  auto& last = cap_alerts_[{table.oid, decision.value}];
  if (last == Clock::time_point() || now - last > std::chrono::hours(1)) {
    last = now;
    spdlog::warn(
        "ALERT table {} value {}: {} rows counted in DEFAULT (streamed count, not verified), but "
        "{} partition(s) were already created for this table in the last hour and this one "
        "needs {} (max_new_partitions_per_hour = {}): not creating {}; a flood of new values?",
        table.DisplayName(), decision.value.ForLog(), decision.streamed_count, created, needed, cap,
        needed > 1 ? "it nor the pg_partman children before it" : "one");
  }
  return true;
}

policy::Outcome Executor::Execute(const TableInfo& table, const policy::TableRule& rule,
                                  const policy::Decision& decision,
                                  int max_new_partitions_per_hour) {
  policy::Outcome outcome;
  outcome.table = decision.table;
  outcome.value = decision.value;
  outcome.kind = policy::Outcome::Kind::kFailed;
  last_move_.reset();
  last_alert_ = LastAlert{};
  if (decision.kind == policy::ActionKind::kCreate &&
      OverHourlyCap(table, decision, max_new_partitions_per_hour)) {
    last_alert_.kind = engine::ActionAlert::kRateCapped;
    return outcome;  // kFailed: decided again at a later commit, once the hour allows
  }
  try {
    FaultPoint("executor.decided");
    if (decision.xid != 0 && !WaitUntilVisible(decision.xid, kVisibilityTimeout)) {
      spdlog::warn(
          "table {} value {}: the commit at {} (xid {}) that crossed the threshold is "
          "still not visible after {} s (a synchronous standby not answering?); "
          "counting anyway",
          table.DisplayName(), decision.value.ForLog(), decision.commit_lsn.ToString(),
          decision.xid, kVisibilityTimeout.count() / 1000);
    }
    if (table.range && !decision.value.is_null() &&
        !table.range->bucketer->BucketOf(*decision.value.text)) {
      // A partition covers the bucket now (created since the decision, e.g.
      // while filling a pg_partman gap): DEFAULT cannot hold its rows.
      spdlog::info("table {} bucket {}: a partition covers it now; nothing to do",
                   table.DisplayName(), decision.value.ForLog());
      outcome.kind = policy::Outcome::Kind::kDone;
      return outcome;
    }
    const int64_t exact = ExactCount(conn_, table, decision.value, CountPieces(config_, &stop_));
    const int64_t threshold = rule.ThresholdFor(decision.value);
    outcome.exact_count = exact;
    if (exact <= threshold) {
      spdlog::info(
          "table {} value {}: streamed count {} but DEFAULT holds {} row(s), not more than the "
          "threshold {}; nothing to do",
          table.DisplayName(), decision.value.ForLog(), decision.streamed_count, exact, threshold);
      outcome.kind = policy::Outcome::Kind::kBelowThreshold;
      return outcome;
    }
    if (decision.kind == policy::ActionKind::kAlert) {
      spdlog::warn("ALERT table {} value {}: {} rows in DEFAULT partition {}.{} (threshold {})",
                   table.DisplayName(), decision.value.ForLog(), exact,
                   table.default_partition.nspname, table.default_partition.relname, threshold);
      last_alert_.kind = engine::ActionAlert::kThresholdCrossed;
      outcome.kind = policy::Outcome::Kind::kAlerted;
      return outcome;
    }
    if (BeyondHorizon(conn_, table, decision.value)) {
      spdlog::warn(
          "ALERT table {} bucket {}: {} rows in DEFAULT for a bucket that starts more than "
          "max_future ({}) from now: not creating it (a mistyped date?). Fix or delete the rows, "
          "or raise max_future and restart.{}",
          table.DisplayName(), decision.value.ForLog(), exact, table.range->max_future,
          table.range->partman ? " Until then pg_partman's run_maintenance() will try to create "
                                 "every child up to it: consider part_config.ignore_default_data"
                               : "");
      last_alert_.kind = engine::ActionAlert::kOutlierHeld;
      outcome.kind = policy::Outcome::Kind::kAlerted;
      return outcome;
    }
    const std::vector<policy::KeyValue> gap = PartmanGap(table, decision.value);
    if (!gap.empty() && OverHourlyCap(table, decision, max_new_partitions_per_hour,
                                      static_cast<int>(gap.size()) + 1)) {
      last_alert_.kind = engine::ActionAlert::kRateCapped;
      return outcome;  // kFailed, like the cap check above: all of them or none
    }
    // The path is chosen by what the move would cost under the lock that
    // blocks the application's writes, estimated from DEFAULT's size, the
    // rows to move and how long this process's moves took so far; the bound
    // is enforced either way (an over-budget move is cut off, rolled back
    // and done online).
    const int64_t bytes = DefaultBytes(table);
    const std::chrono::microseconds budget = LockBudget();
    // Each gap bucket is a move of its own: a scan of DEFAULT each.
    const bool fits =
        cost_.Fits(exact, bytes, budget) && (gap.empty() || cost_.Fits(0, bytes, budget));
    const double estimate_ms = cost_.EstimateMicros(exact, bytes) / 1000.0;
    MoveResult moved;
    bool online = bytes > drain_.online_above_bytes || !fits;
    if (online) {
      spdlog::info(
          "table {} value {}: taking the online path for {} row(s) in a DEFAULT of {:.1f} MB: {}",
          table.DisplayName(), decision.value.ForLog(), exact,
          static_cast<double>(bytes) / 1048576.0,
          bytes > drain_.online_above_bytes
              ? fmt::format("DEFAULT is larger than drain.online_above_mb ({} MB)",
                            drain_.online_above_bytes >> 20)
              : fmt::format("one transaction would hold the write-blocking lock for about {:.0f} "
                            "ms, more than drain.max_lock_ms ({} ms) allows",
                            estimate_ms, drain_.max_lock.count()));
    } else {
      spdlog::info(
          "table {} value {}: moving {} row(s) in one transaction: about {:.1f} ms under the "
          "lock (DEFAULT {:.1f} MB), within drain.max_lock_ms ({} ms)",
          table.DisplayName(), decision.value.ForLog(), exact, estimate_ms,
          static_cast<double>(bytes) / 1048576.0, drain_.max_lock.count());
    }
    std::vector<policy::KeyValue> rest = gap;
    if (!online) {
      // The gap first, oldest bucket first: a stop or failure midway leaves
      // the children contiguous (pg_partman never fills holes behind its
      // newest child).
      size_t filled = 0;
      try {
        FillPartmanGap(table, rule, gap, &filled);
        moved = CreateAndMove(table, rule.name_template, decision.value);
        cost_.Observe(moved.moved_rows, bytes, moved.lock_held);
      } catch (const OverBudget& e) {
        cost_.ObserveCancelled(exact, bytes, e.held());
        spdlog::warn("table {} value {}: {}; rolled back (nothing changed), taking the online path",
                     table.DisplayName(), decision.value.ForLog(), e.what());
        rest.assign(gap.begin() + static_cast<std::ptrdiff_t>(filled), gap.end());
        online = true;
      }
    }
    if (online) moved = DrainOnline(table, rule, decision.value, rest, max_new_partitions_per_hour);
    limiter_.RecordCreated(table.oid);
    std::string when = "found over the threshold at start-up";
    if (decision.commit_time != 0) {
      const int64_t now_pg =
          walsender::UnixMicrosToPostgres(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
      when = fmt::format("{:.3f} s after the commit at {} that crossed it",
                         static_cast<double>(now_pg - decision.commit_time) / 1e6,
                         decision.commit_lsn.ToString());
    }
    spdlog::info(
        "table {} value {}: created partition {} and moved {} row(s) out of DEFAULT in {:.1f} ms "
        "(attempt {}; threshold {}, {}); {}, write-blocking lock held {:.1f} ms",
        table.DisplayName(), decision.value.ForLog(), moved.partition, moved.moved_rows,
        static_cast<double>(moved.took.count()) / 1000.0, moved.attempts, threshold, when,
        moved.online ? "online drain" : "one transaction",
        static_cast<double>(moved.lock_held.count()) / 1000.0);
    outcome.kind = policy::Outcome::Kind::kDone;
    outcome.exact_count = 0;
    last_move_ = moved;
  } catch (const pg::PgError& e) {
    if (!conn_.connected()) {
      // The transaction died with the connection; nothing half-done is
      // left.  The session restarts, recounts and decides again.
      throw pg::PgError(std::string("executor connection lost: ") + e.what(), e.sqlstate());
    }
    spdlog::error("table {} value {}: action failed: {}", table.DisplayName(),
                  decision.value.ForLog(), e.what());
    last_alert_ = LastAlert{engine::ActionAlert::kFailed, e.what()};
    outcome.kind = policy::Outcome::Kind::kFailed;
  }
  return outcome;
}

}  // namespace partwatch::executor
