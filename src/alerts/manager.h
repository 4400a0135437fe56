// The alert manager of `partwatch run` (docs/alerting.md): an
// engine::Observer that turns what the threads report into named alerts
// with a firing -> resolved life cycle, logs every change (one line), and
// hands each change to the configured channels' Workers (delivery.h).
//
//   PartwatchThresholdCrossed   action = "alert": a value over its threshold
//   PartwatchThresholdApproaching  a value past warn_above (policy's count)
//   PartwatchActionFailed       a create-and-move or drain failed or gave up
//   PartwatchOutlierHeld        a RANGE bucket beyond max_future held back
//   PartwatchPartitionRateCapped  max_new_partitions_per_hour stopped a creation
//   PartwatchSlotRetainingWal   retained WAL over the limit, or wal_status
//                               unreserved / lost
//   PartwatchDisconnected       no streaming session for disconnected_for
//
// The value alerts (the first five but Approaching) resolve when an
// action on the value succeeds or finds it under the threshold, or when a
// recheck (Rechecker, on a connection of its own) counts it under the
// threshold.  Successful creations are events: NOTIFY only (the log has
// its line already).
//
// Thread-safety: every method may be called from any thread; the observer
// methods take one mutex for a map update and never wait on the network.
// One per process; it outlives sessions.  The destructor stops its timer
// thread and the Workers.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "policy/key_value.h"
#include "src/alerts/alert.h"
#include "src/alerts/delivery.h"
#include "src/config.h"
#include "src/engine/observer.h"

namespace partwatch::alerts {

inline constexpr const char* kThresholdCrossed = "PartwatchThresholdCrossed";
inline constexpr const char* kThresholdApproaching = "PartwatchThresholdApproaching";
inline constexpr const char* kActionFailed = "PartwatchActionFailed";
inline constexpr const char* kOutlierHeld = "PartwatchOutlierHeld";
inline constexpr const char* kPartitionRateCapped = "PartwatchPartitionRateCapped";
inline constexpr const char* kSlotRetainingWal = "PartwatchSlotRetainingWal";
inline constexpr const char* kDisconnected = "PartwatchDisconnected";

// NOTIFY payloads stay under this (PostgreSQL's limit is 8000 bytes).
inline constexpr size_t kNotifyMaxBytes = 7900;

class AlertManager : public engine::Observer {
 public:
  // `metrics` is told of deliveries and firing counts; it must outlive
  // this object.  `generator_url`: where the alerts come from (the
  // [http] endpoint), "" = none.
  AlertManager(const Config& config, engine::Observer& metrics, std::string generator_url);
  ~AlertManager() override;
  AlertManager(const AlertManager&) = delete;
  AlertManager& operator=(const AlertManager&) = delete;

  // engine::Observer
  void OnStreaming(bool streaming) override;
  void OnTables(const std::vector<std::string>& tables) override;
  void OnSlot(int64_t confirmed_lag_bytes, int64_t retained_bytes) override;
  void OnWalStatus(const std::string& wal_status) override;
  size_t MaxValuesPerTable() const override { return approaching_ ? 100 : 0; }
  void OnDefaultCounts(std::vector<engine::DefaultCounts> counts) override;
  void OnAction(const engine::ActionReport& report) override;

  // A firing value alert to count again.
  struct ValueAlert {
    std::string table;  // as OnTables named it
    policy::KeyValue value;
  };
  // The values with a firing value alert (each once).
  std::vector<ValueAlert> FiringValues() const;
  // An exact count of `value` in `table`'s DEFAULT: resolves its value
  // alerts when `rows` <= `threshold`.
  void OnRecheck(const std::string& table, const policy::KeyValue& value, int64_t rows,
                 int64_t threshold);

  // The alerts firing now (for tests and a status endpoint).
  std::vector<Alert> Firing() const;

 private:
  struct Entry {
    Alert alert;
    // Value alerts: what to recount.
    bool value_alert = false;
    std::string table;
    policy::KeyValue value;
  };
  // Fire or update (annotations) the alert; a change of state is logged and
  // delivered.  Under mu_.
  void FireLocked(Entry entry);
  void ResolveLocked(const std::string& fingerprint);
  // Resolves `table`'s value alerts of `value` named in `names` (all when empty).
  void ResolveValueLocked(const std::string& table, const policy::KeyValue& value,
                          const std::vector<std::string>& names);
  void DeliverLocked(const Alert& alert);
  void EventLocked(nlohmann::json event);
  void CountFiringLocked();
  void Tick(std::stop_token stop);

  const Config config_;
  engine::Observer& metrics_;
  const std::string generator_url_;
  const bool approaching_;  // some table has warn_above
  std::vector<std::unique_ptr<Worker>> webhooks_, alertmanagers_, notify_;

  mutable std::mutex mu_;
  std::map<std::string, Entry> firing_;                        // by fingerprint; under mu_
  std::vector<std::string> tables_;                            // under mu_; config order
  bool streaming_ = false;                                     // under mu_
  std::chrono::steady_clock::time_point not_streaming_since_;  // under mu_
  int64_t retained_bytes_ = 0;                                 // under mu_
  std::map<std::string, int64_t> firing_counts_;               // under mu_
  std::condition_variable_any cv_;
  std::jthread timer_;  // last
};

}  // namespace partwatch::alerts
