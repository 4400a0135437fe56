// Watches `run`'s replication slot from the session's main thread, on an
// ordinary connection of its own: that the slot still exists and is valid,
// and how much WAL it retains (a warning past
// source.max_retained_wal_bytes).  A dead server is not its business: the
// stream threads notice that themselves, so a failed check only drops the
// connection (reopened at the next check) and logs at debug level.
// Thread-safety: one thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "src/config.h"
#include "src/engine/observer.h"
#include "src/pg/connection.h"

namespace partwatch::session {

class SlotMonitor {
 public:
  // `observer` is told the slot's lag and retained WAL at each check.
  SlotMonitor(const Config& config, engine::Observer& observer)
      : config_(config), observer_(observer) {}

  // Checks the slot when source.slot_check_interval has passed since the
  // last check (the first call checks at once).  Returns why the session
  // must end (the slot disappeared or was invalidated), else nullopt.
  std::optional<std::string> MaybeCheck();

 private:
  std::optional<std::string> Check();

  const Config& config_;
  engine::Observer& observer_;
  std::optional<pg::Connection> conn_;
  std::chrono::steady_clock::time_point next_check_{};
};

}  // namespace partwatch::session
