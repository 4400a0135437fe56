// Counts the values of firing value alerts again, exactly, so that they
// resolve once DEFAULT no longer holds them (a partition created by
// anyone, rows deleted or moved).  Runs on the session's main thread, on
// an ordinary connection of its own (opened when something fires; never
// the replication connection), in ctid pieces under the executor's
// yield_after like every other count of DEFAULT (partition_sql.h).
// Thread-safety: one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>

#include "src/alerts/manager.h"
#include "src/config.h"
#include "src/pg/connection.h"

namespace partwatch::alerts {

class Rechecker {
 public:
  // `manager` must outlive this object.
  explicit Rechecker(AlertManager& manager) : manager_(manager) {}

  // When alerts.recheck_interval passed since the last recheck: counts
  // every firing value alert's value with `config` (the configuration in
  // force) and tells the manager.  Errors are logged at debug level and
  // retried at the next interval.
  void MaybeRun(const Config& config, const std::atomic<bool>* stop);

 private:
  AlertManager& manager_;
  std::optional<pg::Connection> conn_;
  std::chrono::steady_clock::time_point next_{};
};

}  // namespace partwatch::alerts
