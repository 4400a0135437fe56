#include "src/metrics/metrics.h"

#include <algorithm>

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace partwatch::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// /healthz fails when the foreground loop has not reported for this long.
// Its longest regular pause is a session's start-up count of DEFAULT, made
// of short pieces but with no call in between: generous on purpose.
constexpr std::chrono::seconds kAliveWithin{120};

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Seconds, from a millisecond to a minute: locks are bounded by
// drain.max_lock_ms (200 ms by default), actions usually take well under a
// second but an online drain can take minutes.
const prometheus::Histogram::BucketBoundaries kLockBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,   0.2,    0.5,   1,    2.5,   5};
const prometheus::Histogram::BucketBoundaries kActionBuckets{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                             2.5,  5,     10,   30,  60,   300};

ClientMetric Sample(std::vector<ClientMetric::Label> labels, double value, MetricType type) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

// /proc/self/stat: utime and stime (fields 14 and 15, clock ticks), after
// the command name in parentheses, which may itself hold spaces.
double CpuSeconds() {
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  // Field 3 (state) is the first after the name; utime is field 14.
  for (int i = 3; i < 14 && fields >> field; ++i) {
  }
  long long utime = 0, stime = 0;
  fields >> utime >> stime;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// /proc/self/statm: the second field is the resident set in pages.
double ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  long long size = 0, resident = 0;
  in >> size >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace

Metrics::Metrics(MetricsOptions options)
    : options_(std::move(options)),
      registry_(std::make_shared<prometheus::Registry>()),
      connected_(prometheus::BuildGauge()
                     .Name("partwatch_replication_connected")
                     .Help("1 while a session streams from the replication slot, else 0")
                     .Register(*registry_)
                     .Add({})),
      confirmed_lag_(prometheus::BuildGauge()
                         .Name("partwatch_slot_confirmed_lag_bytes")
                         .Help("The server's WAL position less the slot's confirmed_flush_lsn, "
                               "at the last slot check")
                         .Register(*registry_)
                         .Add({})),
      retained_(prometheus::BuildGauge()
                    .Name("partwatch_slot_retained_bytes")
                    .Help("WAL the slot retains (the server's WAL position less restart_lsn), "
                          "at the last slot check")
                    .Register(*registry_)
                    .Add({})),
      last_commit_(prometheus::BuildGauge()
                       .Name("partwatch_last_commit_timestamp_seconds")
                       .Help("Commit timestamp (Unix time) of the last transaction counted")
                       .Register(*registry_)
                       .Add({})),
      streamed_rows_(prometheus::BuildCounter()
                         .Name("partwatch_streamed_rows_total")
                         .Help("Committed rows streamed into the table's DEFAULT partition")
                         .Register(*registry_)),
      decisions_(prometheus::BuildCounter()
                     .Name("partwatch_decisions_total")
                     .Help("Decisions made because a value or bucket passed its threshold")
                     .Register(*registry_)),
      partitions_created_(prometheus::BuildCounter()
                              .Name("partwatch_partitions_created_total")
                              .Help("Actions that created a partition and moved its rows")
                              .Register(*registry_)),
      rows_moved_(prometheus::BuildCounter()
                      .Name("partwatch_rows_moved_total")
                      .Help("Rows moved out of DEFAULT into new partitions")
                      .Register(*registry_)),
      action_failures_(prometheus::BuildCounter()
                           .Name("partwatch_action_failures_total")
                           .Help("Actions the executor gave up on for now (errors, lock "
                                 "timeouts, the hourly cap); decided again later")
                           .Register(*registry_)),
      action_duration_(prometheus::BuildHistogram()
                           .Name("partwatch_action_duration_seconds")
                           .Help("From the commit that crossed the threshold to its rows moved")
                           .Register(*registry_)),
      lock_held_(prometheus::BuildHistogram()
                     .Name("partwatch_lock_held_seconds")
                     .Help("Longest write-blocking lock per action that moved rows")
                     .Register(*registry_)),
      alert_deliveries_(prometheus::BuildCounter()
                            .Name("partwatch_alert_deliveries_total")
                            .Help("Ends of alert notification attempts per channel: delivered, "
                                  "retried, dropped, superseded, overflow")
                            .Register(*registry_)),
      alerts_firing_(prometheus::BuildGauge()
                         .Name("partwatch_alerts_firing")
                         .Help("Alerts firing now, per alert name")
                         .Register(*registry_)) {
  prometheus::BuildGauge()
      .Name("partwatch_build_info")
      .Help("Always 1; the version in a label")
      .Register(*registry_)
      .Add({{"version", options_.version}})
      .Set(1);
  alive_at_ms_.store(SteadyMillis());
}

Metrics::TableMetrics& Metrics::For(const std::string& table) {
  std::lock_guard lock(mu_);
  auto it = tables_.find(table);
  if (it != tables_.end()) return it->second;
  const prometheus::Labels t{{"table", table}};
  TableMetrics m{
      &streamed_rows_.Add(t),
      &decisions_.Add({{"table", table}, {"action", "create"}}),
      &decisions_.Add({{"table", table}, {"action", "alert"}}),
      &partitions_created_.Add(t),
      &rows_moved_.Add(t),
      &action_failures_.Add(t),
      &action_duration_.Add(t, kActionBuckets),
      &lock_held_.Add(t, kLockBuckets),
  };
  return tables_.emplace(table, m).first->second;
}

void Metrics::OnStreaming(bool streaming) {
  lag_known_.store(false);
  streaming_.store(streaming);
  connected_.Set(streaming ? 1 : 0);
  if (!streaming) {
    std::lock_guard lock(mu_);
    pending_.clear();  // the session's decision queue ended with it
  }
}

void Metrics::OnTables(const std::vector<std::string>& tables) {
  for (const std::string& t : tables) For(t);
  std::lock_guard lock(mu_);
  table_names_ = tables;
}

void Metrics::OnSlot(int64_t confirmed_lag_bytes, int64_t retained_bytes) {
  confirmed_lag_.Set(static_cast<double>(confirmed_lag_bytes));
  retained_.Set(static_cast<double>(retained_bytes));
  lag_bytes_.store(confirmed_lag_bytes);
  lag_known_.store(true);
}

void Metrics::OnAlive() { alive_at_ms_.store(SteadyMillis(), std::memory_order_relaxed); }

void Metrics::OnStreamedRows(const std::string& table, int64_t rows) {
  For(table).streamed_rows->Increment(static_cast<double>(rows));
}

void Metrics::OnCommitTime(double unix_seconds) { last_commit_.Set(unix_seconds); }

void Metrics::OnDecisions(const std::vector<policy::Decision>& decisions,
                          const std::vector<policy::TableRule>& rules) {
  for (const policy::Decision& d : decisions) {
    if (d.table >= rules.size()) continue;
    TableMetrics& m = For(rules[d.table].parent);
    (d.kind == policy::ActionKind::kCreate ? m.decisions_create : m.decisions_alert)->Increment();
    std::lock_guard lock(mu_);
    pending_.push_back(PendingDecision{rules[d.table].parent, d.value,
                                       d.kind == policy::ActionKind::kCreate ? "create" : "alert",
                                       d.streamed_count});
  }
}

void Metrics::OnDefaultCounts(std::vector<engine::DefaultCounts> counts) {
  auto snap = std::make_shared<const std::vector<engine::DefaultCounts>>(std::move(counts));
  std::lock_guard lock(mu_);
  counts_ = std::move(snap);
}

void Metrics::OnAction(const engine::ActionReport& report) {
  {
    std::lock_guard lock(mu_);
    const auto it = std::find_if(pending_.begin(), pending_.end(), [&](const PendingDecision& p) {
      return p.table == report.table && p.value == report.value;
    });
    if (it != pending_.end()) pending_.erase(it);
  }
  TableMetrics& m = For(report.table);
  if (report.kind == policy::Outcome::Kind::kFailed) {
    m.action_failures->Increment();
    return;
  }
  if (!report.moved) return;
  m.partitions_created->Increment();
  m.rows_moved->Increment(static_cast<double>(report.moved_rows));
  m.lock_held->Observe(report.lock_held_seconds);
  if (report.since_commit_seconds) m.action_duration->Observe(*report.since_commit_seconds);
}

std::vector<std::string> Metrics::Tables() const {
  std::lock_guard lock(mu_);
  return table_names_;
}

std::shared_ptr<const std::vector<engine::DefaultCounts>> Metrics::Counts() const {
  std::lock_guard lock(mu_);
  return counts_;
}

std::vector<PendingDecision> Metrics::Pending() const {
  std::lock_guard lock(mu_);
  return pending_;
}

void Metrics::OnAlertDelivery(const std::string& channel, const std::string& result) {
  alert_deliveries_.Add({{"channel", channel}, {"result", result}}).Increment();
}

void Metrics::OnAlertsFiring(const std::string& alertname, int64_t firing) {
  alerts_firing_.Add({{"alertname", alertname}}).Set(static_cast<double>(firing));
}

std::string Metrics::Scrape() const {
  std::vector<MetricFamily> families = registry_->Collect();
  std::shared_ptr<const std::vector<engine::DefaultCounts>> counts;
  {
    std::lock_guard lock(mu_);
    counts = counts_;
  }
  MetricFamily rows{"partwatch_default_rows",
                    "Rows the policy counts in DEFAULT per value (RANGE: per bucket), the "
                    "metrics.max_values_per_table highest per table; refreshed at most once a "
                    "second",
                    MetricType::Gauge,
                    {}};
  MetricFamily dropped{"partwatch_default_values_dropped",
                       "Values counted in DEFAULT but left out of partwatch_default_rows "
                       "(past metrics.max_values_per_table)",
                       MetricType::Gauge,
                       {}};
  MetricFamily total{"partwatch_default_rows_total",
                     "Rows the policy counts in DEFAULT, all values of the table together",
                     MetricType::Gauge,
                     {}};
  if (counts) {
    for (const engine::DefaultCounts& c : *counts) {
      for (const auto& [value, n] : c.top) {
        rows.metric.push_back(
            Sample({{"table", c.table}, {"value", value.text ? *value.text : std::string()}},
                   static_cast<double>(n), MetricType::Gauge));
      }
      dropped.metric.push_back(
          Sample({{"table", c.table}}, static_cast<double>(c.other_values), MetricType::Gauge));
      total.metric.push_back(
          Sample({{"table", c.table}}, static_cast<double>(c.rows), MetricType::Gauge));
    }
  }
  families.push_back(std::move(rows));
  families.push_back(std::move(dropped));
  families.push_back(std::move(total));
  families.push_back(MetricFamily{"process_resident_memory_bytes",
                                  "Resident memory size in bytes",
                                  MetricType::Gauge,
                                  {Sample({}, ResidentBytes(), MetricType::Gauge)}});
  families.push_back(MetricFamily{"process_cpu_seconds_total",
                                  "Total user and system CPU time spent in seconds",
                                  MetricType::Counter,
                                  {Sample({}, CpuSeconds(), MetricType::Counter)}});
  return prometheus::TextSerializer().Serialize(families);
}

bool Metrics::Alive() const {
  const int64_t ms = SteadyMillis() - alive_at_ms_.load(std::memory_order_relaxed);
  return ms < std::chrono::duration_cast<std::chrono::milliseconds>(kAliveWithin).count();
}

Readiness Metrics::Ready() const {
  if (!streaming_.load()) {
    return {false, "not streaming: connecting to PostgreSQL (or reconnecting after an error)"};
  }
  if (!lag_known_.load()) return {false, "streaming, but the slot's lag is not measured yet"};
  const int64_t lag = lag_bytes_.load();
  if (lag >= options_.ready_max_lag_bytes) {
    return {false, "the slot's confirmed lag is " + std::to_string(lag) +
                       " bytes, not under http.ready_max_lag_mb (" +
                       std::to_string(options_.ready_max_lag_bytes >> 20) + " MB)"};
  }
  return {true, "streaming, confirmed lag " + std::to_string(lag) + " bytes"};
}

}  // namespace partwatch::metrics
