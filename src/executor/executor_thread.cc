#include "src/executor/executor_thread.h"

#include <spdlog/spdlog.h>

#include "src/catalog.h"
#include "src/executor/executor.h"

namespace partwatch::executor {

namespace {
constexpr auto kQueueWait = std::chrono::milliseconds(100);
}  // namespace

ExecutorThread::ExecutorThread(std::shared_ptr<const Config> config,
                               session::SharedCatalog& catalog, session::DecisionQueue& decisions,
                               session::OutcomeQueue& outcomes, PartitionRateLimiter& limiter,
                               const std::atomic<bool>& stop, session::SessionErrors& errors)
    : config_(std::move(config)),
      catalog_(catalog),
      decisions_(decisions),
      outcomes_(outcomes),
      limiter_(limiter),
      stop_(stop),
      errors_(errors),
      thread_([this] { Run(); }) {}

ExecutorThread::~ExecutorThread() { Join(); }

void ExecutorThread::Join() {
  if (thread_.joinable()) thread_.join();
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
      // Act on the table as it is now, not as the snapshot saw it: a RANGE
      // table's buckets are clipped by its partitions, and an earlier
      // decision (or pg_partman) may have created some since; any table's
      // DEFAULT may have been replaced (same name, new oid) by a `partwatch
      // drain` run beside us, which the policy thread does not notice (the
      // stream's relations match rules by name).
      try {
        const TableInfo fresh = DescribeConfigured(exec.conn(), tc);
        outcomes_.enqueue(
            exec.Execute(fresh, RuleFor(tc, fresh), d, tc.max_new_partitions_per_hour));
        continue;
      } catch (const CatalogError& e) {
        spdlog::warn("table {}: cannot re-read it before acting ({}); using the last catalog",
                     tc.name, e.what());
      }
      outcomes_.enqueue(exec.Execute(snap->infos[d.table], snap->rules[d.table], d,
                                     tc.max_new_partitions_per_hour));
    }
  } catch (const std::exception& e) {
    errors_.Fail(session::SessionEnd::kTransient, std::string("executor: ") + e.what());
  }
}

}  // namespace partwatch::executor
