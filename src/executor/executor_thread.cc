#include "src/executor/executor_thread.h"

#include <spdlog/spdlog.h>

#include "decoder/walsender.h"
#include "src/catalog.h"
#include "src/executor/executor.h"

namespace partwatch::executor {

namespace {
constexpr auto kQueueWait = std::chrono::milliseconds(100);
}  // namespace

ExecutorThread::ExecutorThread(std::shared_ptr<const Config> config,
                               session::SharedCatalog& catalog, session::DecisionQueue& decisions,
                               session::OutcomeQueue& outcomes, PartitionRateLimiter& limiter,
                               const std::atomic<bool>& stop, session::SessionErrors& errors,
                               engine::Observer& observer)
    : config_(std::move(config)),
      catalog_(catalog),
      decisions_(decisions),
      outcomes_(outcomes),
      limiter_(limiter),
      stop_(stop),
      errors_(errors),
      observer_(observer),
      thread_([this] { Run(); }) {}

ExecutorThread::~ExecutorThread() { Join(); }

void ExecutorThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void ExecutorThread::Report(const Executor& exec, const TableInfo& table,
                            const policy::Decision& decision, const policy::Outcome& outcome,
                            int64_t threshold) {
  engine::ActionReport r;
  r.table = table.DisplayName();
  limiter_.NameTable(table.oid, r.table);
  r.kind = outcome.kind;
  r.default_partition = table.default_partition.nspname + "." + table.default_partition.relname;
  r.value = decision.value;
  r.alert = exec.last_alert().kind;
  r.error = exec.last_alert().error;
  r.rows =
      r.alert == engine::ActionAlert::kRateCapped ? decision.streamed_count : outcome.exact_count;
  if (decision.commit_time != 0) {
    r.commit_lsn = decision.commit_lsn.ToString();
    r.commit_unix_seconds =
        static_cast<double>((decision.commit_time + walsender::kPostgresEpochOffsetMicros)) / 1e6;
  }
  if (const std::optional<MoveResult>& moved = exec.last_move()) {
    r.moved = true;
    r.partition = moved->partition;
    r.online = moved->online;
    r.moved_rows = moved->moved_rows;
    r.lock_held_seconds = static_cast<double>(moved->lock_held.count()) / 1e6;
    if (decision.commit_time != 0) {
      const int64_t now_pg =
          walsender::UnixMicrosToPostgres(std::chrono::duration_cast<std::chrono::microseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
      r.since_commit_seconds = static_cast<double>(now_pg - decision.commit_time) / 1e6;
    }
  }
  r.threshold = threshold;
  observer_.OnAction(r);
}

void ExecutorThread::Run() {
  try {
    Executor exec(OpenSession(*config_, "executor"), config_->executor, config_->drain, stop_,
                  limiter_);
    std::shared_ptr<const Config> applied = config_;
    policy::Decision d;
    while (!stop_.load()) {
      if (!decisions_.wait_dequeue_timed(d, kQueueWait)) continue;
      const auto snap = catalog_.Get();
      if (snap->config != applied) {  // a reload: [executor] and [drain] apply now
        applied = snap->config;
        exec.SetLimits(applied->executor, applied->drain);
      }
      const TableConfig& tc = applied->tables[d.table];
      // The action in force, not the one the decision was made under: a
      // reload that switched the table to "alert" while this decision
      // waited in the queue must not create a partition.
      d.kind = tc.action;
      // Act on the table as it is now, not as the snapshot saw it: a RANGE
      // table's buckets are clipped by its partitions, and an earlier
      // decision (or pg_partman) may have created some since; any table's
      // DEFAULT may have been replaced (same name, new oid) by a `partwatch
      // drain` run beside us, which the policy thread does not notice (the
      // stream's relations match rules by name).
      try {
        const TableInfo fresh = DescribeConfigured(exec.conn(), tc);
        const policy::TableRule rule = RuleFor(tc, fresh);
        const policy::Outcome outcome =
            exec.Execute(fresh, rule, d, tc.max_new_partitions_per_hour);
        Report(exec, fresh, d, outcome, rule.ThresholdFor(d.value));
        outcomes_.enqueue(outcome);
        continue;
      } catch (const CatalogError& e) {
        spdlog::warn("table {}: cannot re-read it before acting ({}); using the last catalog",
                     tc.name, e.what());
      }
      const policy::Outcome outcome = exec.Execute(snap->infos[d.table], snap->rules[d.table], d,
                                                   tc.max_new_partitions_per_hour);
      Report(exec, snap->infos[d.table], d, outcome, snap->rules[d.table].ThresholdFor(d.value));
      outcomes_.enqueue(outcome);
    }
  } catch (const std::exception& e) {
    errors_.Fail(session::SessionEnd::kTransient, std::string("executor: ") + e.what());
  }
}

}  // namespace partwatch::executor
