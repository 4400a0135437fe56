#include "src/session/slot_monitor.h"

#include <spdlog/spdlog.h>

#include "src/catalog.h"
#include "src/setup.h"

namespace partwatch::session {

std::optional<std::string> SlotMonitor::MaybeCheck() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return std::nullopt;
  next_check_ = now + config_.source.slot_check_interval;
  try {
    return Check();
  } catch (const std::exception& e) {
    conn_.reset();  // the stream threads notice a dead server themselves
    spdlog::debug("slot check failed: {}", e.what());
    return std::nullopt;
  }
}

std::optional<std::string> SlotMonitor::Check() {
  const std::string& slot = config_.source.slot;
  if (!conn_) conn_.emplace(OpenSession(config_, "monitor"));
  const std::optional<SlotState> s = QuerySlot(*conn_, slot);
  if (!s) {
    return "replication slot " + slot +
           " disappeared (dropped, or a failover); re-creating it and recounting";
  }
  observer_.OnSlot(s->confirmed_lag_bytes, s->retained_wal_bytes);
  observer_.OnWalStatus(s->wal_status);
  if (s->wal_status == "lost") {
    return "replication slot " + slot + " was invalidated (wal_status lost)";
  }
  if (s->retained_wal_bytes > config_.source.max_retained_wal_bytes) {
    spdlog::warn(
        "replication slot {} retains {} MiB of WAL (limit {} MiB, wal_status {}, "
        "confirmed_flush_lsn {})",
        slot, s->retained_wal_bytes >> 20, config_.source.max_retained_wal_bytes >> 20,
        s->wal_status, s->confirmed_flush_lsn.ToString());
  } else {
    spdlog::debug("replication slot {}: retained WAL {} bytes, wal_status {}", slot,
                  s->retained_wal_bytes, s->wal_status);
  }
  return std::nullopt;
}

}  // namespace partwatch::session
