// partwatch's Prometheus metrics: an engine::Observer that keeps what the
// session's threads report in prometheus-cpp's thread-safe counters, gauges
// and histograms, and renders them (plus what is computed at scrape time:
// DEFAULT's per-value counts from the policy thread's latest snapshot, the
// process's memory and CPU from /proc/self) in the Prometheus text format.
// docs/alerting.md lists every metric.
//
// Thread-safety: every method may be called from any thread.  The observer
// methods are cheap (an atomic add, or a map lookup under a mutex per batch
// or per action); Scrape() does the rendering work on the caller's thread
// (the HTTP server's).  It outlives sessions: one per `run` process.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "src/engine/observer.h"

namespace partwatch::metrics {

struct MetricsOptions {
  std::string version;
  size_t max_values_per_table = 100;       // [metrics] max_values_per_table
  int64_t ready_max_lag_bytes = 64 << 20;  // [http] ready_max_lag_mb
};

// A decision handed to the executor and not yet acted on (for GET /status).
struct PendingDecision {
  std::string table;
  policy::KeyValue value;
  std::string action;          // "create" or "alert"
  int64_t streamed_count = 0;  // the policy's count when it decided
};

// Whether /readyz should say ready, and if not, why (one line).
struct Readiness {
  bool ready = false;
  std::string reason;
};

class Metrics : public engine::Observer {
 public:
  explicit Metrics(MetricsOptions options);

  // engine::Observer
  void OnStreaming(bool streaming) override;
  void OnTables(const std::vector<std::string>& tables) override;
  void OnSlot(int64_t confirmed_lag_bytes, int64_t retained_bytes) override;
  void OnAlive() override;
  void OnStreamedRows(const std::string& table, int64_t rows) override;
  void OnCommitTime(double unix_seconds) override;
  void OnDecisions(const std::vector<policy::Decision>& decisions,
                   const std::vector<policy::TableRule>& rules) override;
  size_t MaxValuesPerTable() const override { return options_.max_values_per_table; }
  void OnDefaultCounts(std::vector<engine::DefaultCounts> counts) override;
  void OnAction(const engine::ActionReport& report) override;
  void OnAlertDelivery(const std::string& channel, const std::string& result) override;
  void OnAlertsFiring(const std::string& alertname, int64_t firing) override;

  // Every metric in the Prometheus text exposition format (0.0.4).
  std::string Scrape() const;

  // /healthz: the foreground loop called OnAlive within `kAliveWithin`.
  bool Alive() const;
  // /readyz: a session streams, and the slot's confirmed lag, measured
  // since it started streaming, is under ready_max_lag_bytes.
  Readiness Ready() const;

  // For GET /status: a session streams now; the configured tables of the
  // last session (catalog names, config order); the policy's latest DEFAULT
  // counts (null before the first snapshot); decisions not acted on yet.
  bool Streaming() const { return streaming_.load(); }
  std::vector<std::string> Tables() const;
  std::shared_ptr<const std::vector<engine::DefaultCounts>> Counts() const;
  std::vector<PendingDecision> Pending() const;

 private:
  struct TableMetrics {
    prometheus::Counter* streamed_rows;
    prometheus::Counter* decisions_create;
    prometheus::Counter* decisions_alert;
    prometheus::Counter* partitions_created;
    prometheus::Counter* rows_moved;
    prometheus::Counter* action_failures;
    prometheus::Histogram* action_duration;
    prometheus::Histogram* lock_held;
  };
  // The table's metrics, made on first use.
  TableMetrics& For(const std::string& table);

  const MetricsOptions options_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge& connected_;
  prometheus::Gauge& confirmed_lag_;
  prometheus::Gauge& retained_;
  prometheus::Gauge& last_commit_;
  prometheus::Family<prometheus::Counter>& streamed_rows_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& partitions_created_;
  prometheus::Family<prometheus::Counter>& rows_moved_;
  prometheus::Family<prometheus::Counter>& action_failures_;
  prometheus::Family<prometheus::Histogram>& action_duration_;
  prometheus::Family<prometheus::Histogram>& lock_held_;
  prometheus::Family<prometheus::Counter>& alert_deliveries_;
  prometheus::Family<prometheus::Gauge>& alerts_firing_;

  mutable std::mutex mu_;
  std::map<std::string, TableMetrics> tables_;                        // under mu_
  std::shared_ptr<const std::vector<engine::DefaultCounts>> counts_;  // under mu_
  std::vector<std::string> table_names_;                              // under mu_
  std::vector<PendingDecision> pending_;                              // under mu_

  std::atomic<bool> streaming_{false};
  std::atomic<bool> lag_known_{false};  // measured since streaming started
  std::atomic<int64_t> lag_bytes_{0};
  std::atomic<int64_t> alive_at_ms_{0};  // steady clock
};

}  // namespace partwatch::metrics
