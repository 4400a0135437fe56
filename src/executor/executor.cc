#include "src/executor/executor.h"

#include <algorithm>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "decoder/walsender.h"
#include "policy/naming.h"

namespace partwatch::executor {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kMaxRetryDelay{30'000};
constexpr std::chrono::milliseconds kVisibilityTimeout{60'000};

// "WHERE key = $1" or "WHERE key IS NULL"; the value travels as a
// parameter whose type PostgreSQL infers from the column.
std::string KeyPredicate(pg::Connection& conn, const TableInfo& table,
                         const policy::KeyValue& value,
                         std::vector<std::optional<std::string>>* params) {
  const std::string col = conn.QuoteIdent(table.key.at(0).name);
  if (value.is_null()) return col + " IS NULL";
  params->push_back(*value.text);
  return col + " = $" + std::to_string(params->size());
}

std::string QuotedDefault(pg::Connection& conn, const TableInfo& table) {
  return conn.QuoteQualified(table.default_partition.nspname, table.default_partition.relname);
}

bool IsRetryable(const std::string& sqlstate) {
  return sqlstate == pg::kLockNotAvailable || sqlstate == pg::kDeadlockDetected ||
         sqlstate == pg::kSerializationFailure;
}

}  // namespace

int64_t AdvisoryLockKey(uint32_t parent_oid) {
  return static_cast<int64_t>((uint64_t{0x7077} << 32) | parent_oid);
}

int64_t ExactCount(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value) {
  std::vector<std::optional<std::string>> params;
  const std::string where = KeyPredicate(conn, table, value, &params);
  pg::Result r = conn.ExecParams(
      "SELECT count(*) FROM ONLY " + QuotedDefault(conn, table) + " WHERE " + where, params);
  return r.int64(0, 0);
}

std::vector<ValueCount> CountDefaultByValue(pg::Connection& conn, const TableInfo& table,
                                            size_t limit) {
  const std::string col = conn.QuoteIdent(table.key.at(0).name);
  // format('%s', x) uses the type's output function: the text pgoutput sends
  // (a plain ::text cast differs for some types, e.g. boolean).
  pg::Result r = conn.Exec("SELECT CASE WHEN " + col + " IS NULL THEN NULL ELSE format('%s', " +
                           col + ") END AS v, count(*) FROM ONLY " + QuotedDefault(conn, table) +
                           " GROUP BY 1 ORDER BY 2 DESC, 1" +
                           (limit ? " LIMIT " + std::to_string(limit) : std::string()));
  std::vector<ValueCount> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(ValueCount{policy::KeyValue{r.opt(i, 0)}, r.int64(i, 1)});
  }
  return out;
}

Executor::Executor(pg::Connection conn, ExecutorConfig config, const std::atomic<bool>& stop)
    : conn_(std::move(conn)), config_(config), stop_(stop) {
  conn_.Exec("SET application_name = 'partwatch executor'");
}

void Executor::SleepUnlessStopped(std::chrono::milliseconds delay) {
  const auto until = Clock::now() + delay;
  while (Clock::now() < until && !stop_.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string Executor::ChooseName(const TableInfo& table, const std::string& name_template,
                                 const policy::KeyValue& value) {
  const std::string base = policy::PartitionName(name_template, table.relname, value);
  // A relation of that name may already exist (a user's table, or another
  // value whose name was cut to the same 63 bytes): add a counter.
  for (int k = 0; k < 100; ++k) {
    std::string candidate = base;
    if (k > 0) {
      const std::string suffix = "_" + std::to_string(k);
      candidate =
          base.substr(0, std::min(base.size(), policy::kMaxIdentifierBytes - suffix.size())) +
          suffix;
    }
    pg::Result r = conn_.ExecParams(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        {table.nspname, candidate});
    if (r.rows() == 0) return candidate;
  }
  throw pg::PgError("no free partition name near '" + base + "' in schema " + table.nspname, "");
}

bool Executor::TryCreateAndMove(const TableInfo& table, const std::string& name,
                                const policy::KeyValue& value, MoveResult* result,
                                std::string* why) {
  auto rollback = [&] { conn_.TryExec("ROLLBACK"); };
  try {
    conn_.Exec("BEGIN");
    conn_.Exec("SET LOCAL lock_timeout = '" + std::to_string(config_.lock_timeout.count()) + "ms'");
    pg::Result lock = conn_.ExecParams("SELECT pg_try_advisory_xact_lock($1::bigint)",
                                       {std::to_string(AdvisoryLockKey(table.oid))});
    if (lock.value(0, 0) != "t") {
      rollback();
      *why = "another partwatch process is acting on " + table.DisplayName();
      return false;
    }
    const std::string parent = conn_.QuoteQualified(table.nspname, table.relname);
    const std::string def = QuotedDefault(conn_, table);
    const std::string target = conn_.QuoteQualified(table.nspname, name);
    if (config_.lock_parent) conn_.Exec("LOCK TABLE ONLY " + parent + " IN SHARE MODE");
    conn_.Exec("LOCK TABLE ONLY " + def + " IN ACCESS EXCLUSIVE MODE");
    conn_.Exec("CREATE TABLE " + target + " (LIKE " + parent +
               " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS "
               "INCLUDING GENERATED INCLUDING STATISTICS)");
    std::string cols;
    for (const std::string& c : table.insertable_columns) {
      cols += (cols.empty() ? "" : ", ") + conn_.QuoteIdent(c);
    }
    std::vector<std::optional<std::string>> params;
    const std::string where = KeyPredicate(conn_, table, value, &params);
    pg::Result moved = conn_.ExecParams(
        "WITH moved AS (DELETE FROM ONLY " + def + " WHERE " + where + " RETURNING " + cols +
            ") INSERT INTO " + target + " (" + cols + ") SELECT " + cols + " FROM moved",
        params);
    result->moved_rows = std::stoll(PQcmdTuples(moved.get()));
    const std::string bound = value.is_null() ? "NULL" : conn_.QuoteLiteral(*value.text);
    conn_.Exec("ALTER TABLE " + parent + " ATTACH PARTITION " + target + " FOR VALUES IN (" +
               bound + ")");
    conn_.Exec("COMMIT");
    result->partition = table.nspname + "." + name;
    return true;
  } catch (const pg::PgError& e) {
    rollback();
    if (IsRetryable(e.sqlstate())) {
      *why = e.what();
      return false;
    }
    throw;
  }
}

MoveResult Executor::CreateAndMove(const TableInfo& table, const std::string& name_template,
                                   const policy::KeyValue& value) {
  const auto start = Clock::now();
  MoveResult result;
  std::mt19937 jitter(std::random_device{}());
  std::chrono::milliseconds delay = config_.retry_base_delay;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    result.attempts = attempt;
    const std::string name = ChooseName(table, name_template, value);
    std::string why;
    if (TryCreateAndMove(table, name, value, &result, &why)) {
      result.took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
      return result;
    }
    if (attempt == config_.max_attempts || stop_.load(std::memory_order_acquire)) {
      throw pg::PgError("gave up after " + std::to_string(attempt) + " attempt(s): " + why,
                        pg::kLockNotAvailable.data());
    }
    const auto sleep = delay + std::chrono::milliseconds(std::uniform_int_distribution<int>(
                                   0, static_cast<int>(delay.count() / 4))(jitter));
    spdlog::warn("table {} value {}: attempt {}/{} rolled back ({}); retrying in {} ms",
                 table.DisplayName(), value.ForLog(), attempt, config_.max_attempts, why,
                 sleep.count());
    SleepUnlessStopped(sleep);
    delay = std::min(delay * 2, kMaxRetryDelay);
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

bool Executor::OverHourlyCap(const TableInfo& table, const policy::Decision& decision, int cap) {
  const auto now = Clock::now();
  auto& times = created_[table.oid];
  while (!times.empty() && now - times.front() > std::chrono::hours(1)) times.pop_front();
  if (static_cast<int>(times.size()) < cap) return false;
  auto& last = cap_alerts_[{table.oid, decision.value}];
  if (last == Clock::time_point() || now - last > std::chrono::hours(1)) {
    last = now;
    spdlog::warn(
        "ALERT table {} value {}: {} rows counted in DEFAULT (streamed count, not verified), but "
        "{} partition(s) were "
        "already created for this table in the last hour (max_new_partitions_per_hour "
        "= {}): not creating one; a flood of new values?",
        table.DisplayName(), decision.value.ForLog(), decision.streamed_count, times.size(), cap);
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
  if (decision.kind == policy::ActionKind::kCreate &&
      OverHourlyCap(table, decision, max_new_partitions_per_hour)) {
    return outcome;  // kFailed: decided again at a later commit, once the hour allows
  }
  try {
    if (decision.xid != 0 && !WaitUntilVisible(decision.xid, kVisibilityTimeout)) {
      spdlog::warn(
          "table {} value {}: the commit at {} (xid {}) that crossed the threshold is "
          "still not visible after {} s (a synchronous standby not answering?); "
          "counting anyway",
          table.DisplayName(), decision.value.ForLog(), decision.commit_lsn.ToString(),
          decision.xid, kVisibilityTimeout.count() / 1000);
    }
    const int64_t exact = ExactCount(conn_, table, decision.value);
    outcome.exact_count = exact;
    if (exact <= rule.threshold) {
      spdlog::info(
          "table {} value {}: streamed count {} but DEFAULT holds {} row(s), not more than the "
          "threshold {}; nothing to do",
          table.DisplayName(), decision.value.ForLog(), decision.streamed_count, exact,
          rule.threshold);
      outcome.kind = policy::Outcome::Kind::kBelowThreshold;
      return outcome;
    }
    if (decision.kind == policy::ActionKind::kAlert) {
      spdlog::warn("ALERT table {} value {}: {} rows in DEFAULT partition {}.{} (threshold {})",
                   table.DisplayName(), decision.value.ForLog(), exact,
                   table.default_partition.nspname, table.default_partition.relname,
                   rule.threshold);
      outcome.kind = policy::Outcome::Kind::kAlerted;
      return outcome;
    }
    MoveResult moved = CreateAndMove(table, rule.name_template, decision.value);
    created_[table.oid].push_back(Clock::now());
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
        "(attempt {}; threshold {}, {})",
        table.DisplayName(), decision.value.ForLog(), moved.partition, moved.moved_rows,
        static_cast<double>(moved.took.count()) / 1000.0, moved.attempts, rule.threshold, when);
    outcome.kind = policy::Outcome::Kind::kDone;
    outcome.exact_count = 0;
  } catch (const pg::PgError& e) {
    if (!conn_.connected()) {
      // The transaction died with the connection; nothing half-done is
      // left.  The session restarts, recounts and decides again.
      throw pg::PgError(std::string("executor connection lost: ") + e.what(), e.sqlstate());
    }
    spdlog::error("table {} value {}: action failed: {}", table.DisplayName(),
                  decision.value.ForLog(), e.what());
    outcome.kind = policy::Outcome::Kind::kFailed;
  }
  return outcome;
}

}  // namespace partwatch::executor
