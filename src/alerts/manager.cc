#include "src/alerts/manager.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "policy/naming.h"

namespace partwatch::alerts {

namespace {

constexpr auto kTick = std::chrono::milliseconds(200);
// Label values are identities, not documents.
constexpr size_t kMaxLabelBytes = 1000;

std::string LabelValue(const policy::KeyValue& v) {
  if (!v.text) return "";
  return policy::CutUtf8(*v.text, kMaxLabelBytes);
}

const std::vector<std::string> kValueAlerts{kThresholdCrossed, kActionFailed, kOutlierHeld,
                                            kPartitionRateCapped};

}  // namespace

AlertManager::AlertManager(const Config& config, engine::Observer& metrics,
                           std::string generator_url)
    : config_(config),
      metrics_(metrics),
      generator_url_(std::move(generator_url)),
      approaching_(std::any_of(config.tables.begin(), config.tables.end(),
                               [](const TableConfig& t) { return t.warn_above > 0; })),
      not_streaming_since_(std::chrono::steady_clock::now()) {
  const AlertsConfig& a = config.alerts;
  for (const std::string& url : a.webhook) {
    webhooks_.push_back(std::make_unique<Worker>(
        std::make_unique<HttpChannel>("webhook", url, a.timeout, a.headers), metrics_));
  }
  for (const std::string& url : a.alertmanager) {
    alertmanagers_.push_back(std::make_unique<Worker>(
        std::make_unique<HttpChannel>("alertmanager", url, a.timeout, a.headers), metrics_));
  }
  if (!a.notify_channel.empty()) {
    notify_.push_back(std::make_unique<Worker>(
        std::make_unique<NotifyChannel>(config, a.notify_channel), metrics_));
  }
  for (const char* name : {kThresholdCrossed, kThresholdApproaching, kActionFailed, kOutlierHeld,
                           kPartitionRateCapped, kSlotRetainingWal, kDisconnected}) {
    firing_counts_[name] = 0;
    metrics_.OnAlertsFiring(name, 0);
  }
  timer_ = std::jthread([this](std::stop_token stop) { Tick(stop); });
}

AlertManager::~AlertManager() {
  timer_.request_stop();
  if (timer_.joinable()) timer_.join();
}

void AlertManager::DeliverLocked(const Alert& alert) {
  const std::string fp = alert.Fingerprint();
  spdlog::log(alert.firing ? spdlog::level::warn : spdlog::level::info, "alert {}: {}",
              alert.firing ? "firing" : "resolved", alert.ForLog());
  for (auto& w : webhooks_) {
    w->Push(Job{fp, !alert.firing, false, Serialise(WebhookPayload(alert, generator_url_))});
  }
  const auto ends = std::chrono::system_clock::now() + 4 * config_.alerts.resend_interval;
  for (auto& w : alertmanagers_) {
    w->Push(
        Job{fp, !alert.firing, true, Serialise(AlertmanagerPayload(alert, ends, generator_url_))});
  }
  for (auto& w : notify_) {
    w->Push(Job{fp, !alert.firing, false, DumpWithin(NotifyPayload(alert), kNotifyMaxBytes)});
  }
}

void AlertManager::EventLocked(nlohmann::json event) {
  for (auto& w : notify_) w->Push(Job{"", false, false, DumpWithin(event, kNotifyMaxBytes)});
}

void AlertManager::CountFiringLocked() {
  std::map<std::string, int64_t> counts;
  for (const auto& [name, n] : firing_counts_) counts[name] = 0;
  for (const auto& [fp, e] : firing_) ++counts[e.alert.name];
  for (const auto& [name, n] : counts) {
    if (firing_counts_[name] != n) metrics_.OnAlertsFiring(name, n);
  }
  firing_counts_ = std::move(counts);
}

void AlertManager::FireLocked(Entry entry) {
  const std::string fp = entry.alert.Fingerprint();
  auto it = firing_.find(fp);
  if (it != firing_.end()) {
    it->second.alert.annotations = entry.alert.annotations;  // already firing: no new notice
    return;
  }
  entry.alert.firing = true;
  entry.alert.starts_at = std::chrono::system_clock::now();
  DeliverLocked(entry.alert);
  firing_.emplace(fp, std::move(entry));
  CountFiringLocked();
}

void AlertManager::ResolveLocked(const std::string& fingerprint) {
  auto it = firing_.find(fingerprint);
  if (it == firing_.end()) return;
  Alert alert = std::move(it->second.alert);
  firing_.erase(it);
  alert.firing = false;
  alert.ends_at = std::chrono::system_clock::now();
  DeliverLocked(alert);
  CountFiringLocked();
}

void AlertManager::ResolveValueLocked(const std::string& table, const policy::KeyValue& value,
                                      const std::vector<std::string>& names) {
  std::vector<std::string> done;
  for (const auto& [fp, e] : firing_) {
    if (e.table != table || !(e.value == value)) continue;
    if (!names.empty() && std::find(names.begin(), names.end(), e.alert.name) == names.end()) {
      continue;
    }
    done.push_back(fp);
  }
  for (const std::string& fp : done) ResolveLocked(fp);
}

void AlertManager::OnStreaming(bool streaming) {
  std::lock_guard lock(mu_);
  streaming_ = streaming;
  if (streaming) {
    Alert a{kDisconnected, {{"slot", config_.source.slot}}, {}, {}, {}, true};
    ResolveLocked(a.Fingerprint());
  } else {
    not_streaming_since_ = std::chrono::steady_clock::now();
  }
}

void AlertManager::OnTables(const std::vector<std::string>& tables) {
  std::lock_guard lock(mu_);
  tables_ = tables;
}

void AlertManager::OnSlot(int64_t, int64_t retained_bytes) {
  std::lock_guard lock(mu_);
  retained_bytes_ = retained_bytes;
}

void AlertManager::OnWalStatus(const std::string& wal_status) {
  std::lock_guard lock(mu_);
  const int64_t limit = config_.alerts.max_retained_wal_bytes;
  const bool over = retained_bytes_ > limit || wal_status == "unreserved" || wal_status == "lost";
  Entry e;
  e.alert.name = kSlotRetainingWal;
  e.alert.labels = {{"slot", config_.source.slot}};
  if (!over) {
    ResolveLocked(e.alert.Fingerprint());
    return;
  }
  e.alert.annotations = {
      {"retained_bytes", std::to_string(retained_bytes_)},
      {"limit_bytes", std::to_string(limit)},
      {"wal_status", wal_status},
      {"summary", "replication slot " + config_.source.slot + " retains " +
                      std::to_string(retained_bytes_ >> 20) + " MiB of WAL (limit " +
                      std::to_string(limit >> 20) + " MiB, wal_status " + wal_status + ")"}};
  FireLocked(std::move(e));
}

void AlertManager::OnDefaultCounts(std::vector<engine::DefaultCounts> counts) {
  std::lock_guard lock(mu_);
  for (const engine::DefaultCounts& c : counts) {
    const auto pos = std::find(tables_.begin(), tables_.end(), c.table);
    if (pos == tables_.end()) continue;
    const TableConfig& tc = config_.tables[static_cast<size_t>(pos - tables_.begin())];
    if (tc.warn_above <= 0) continue;
    std::set<std::string> approaching;
    for (const auto& [value, n] : c.top) {
      if (n <= tc.warn_above || n > tc.threshold) continue;
      Entry e;
      e.alert.name = kThresholdApproaching;
      e.alert.labels = {{"table", c.table}, {"value", LabelValue(value)}};
      e.alert.annotations = {{"rows", std::to_string(n)},
                             {"warn_above", std::to_string(tc.warn_above)},
                             {"threshold", std::to_string(tc.threshold)}};
      approaching.insert(e.alert.Fingerprint());
      FireLocked(std::move(e));
    }
    std::vector<std::string> gone;
    for (const auto& [fp, e] : firing_) {
      if (e.alert.name == kThresholdApproaching && e.alert.labels.at("table") == c.table &&
          !approaching.count(fp)) {
        gone.push_back(fp);
      }
    }
    for (const std::string& fp : gone) ResolveLocked(fp);
  }
}

void AlertManager::OnAction(const engine::ActionReport& r) {
  std::lock_guard lock(mu_);
  if (r.moved) {
    EventLocked({{"type", "event"},
                 {"event", r.online ? "drained" : "created"},
                 {"table", r.table},
                 {"partition", r.partition},
                 {"value", r.value.text ? nlohmann::json(*r.value.text) : nlohmann::json()},
                 {"rows_moved", r.moved_rows},
                 {"path", r.online ? "online drain" : "one transaction"},
                 {"commit_lsn", r.commit_lsn}});
  }
  using K = policy::Outcome::Kind;
  if (r.kind == K::kDone || r.kind == K::kBelowThreshold) {
    ResolveValueLocked(r.table, r.value, {});
    return;
  }
  const char* name = nullptr;
  std::string summary;
  switch (r.alert) {
    case engine::ActionAlert::kNone:
      return;
    case engine::ActionAlert::kThresholdCrossed:
      name = kThresholdCrossed;
      summary = std::to_string(r.rows) + " rows of value " + r.value.ForLog() + " in " +
                r.default_partition + " (threshold " + std::to_string(r.threshold) + ")";
      break;
    case engine::ActionAlert::kOutlierHeld:
      name = kOutlierHeld;
      summary = std::to_string(r.rows) + " rows in " + r.default_partition + " for bucket " +
                r.value.ForLog() + ", beyond max_future: not creating it";
      break;
    case engine::ActionAlert::kRateCapped:
      name = kPartitionRateCapped;
      summary = "max_new_partitions_per_hour stopped creating the partition of " +
                r.value.ForLog() + " (" + std::to_string(r.rows) + " rows counted)";
      break;
    case engine::ActionAlert::kFailed:
      name = kActionFailed;
      summary = "moving " + r.value.ForLog() + " out of " + r.default_partition + " failed";
      break;
  }
  Entry e;
  e.value_alert = true;
  e.table = r.table;
  e.value = r.value;
  e.alert.name = name;
  e.alert.labels = {
      {"table", r.table}, {"partition", r.default_partition}, {"value", LabelValue(r.value)}};
  e.alert.annotations = {{"summary", summary},
                         {"rows", std::to_string(r.rows)},
                         {"threshold", std::to_string(r.threshold)}};
  if (!r.commit_lsn.empty()) {
    e.alert.annotations["commit_lsn"] = r.commit_lsn;
    e.alert.annotations["commit_time"] =
        Rfc3339(TimePoint(std::chrono::duration_cast<TimePoint::duration>(
            std::chrono::duration<double>(r.commit_unix_seconds))));
  }
  if (!r.error.empty()) e.alert.annotations["error"] = policy::CutUtf8(r.error, 4000);
  FireLocked(std::move(e));
}

std::vector<AlertManager::ValueAlert> AlertManager::FiringValues() const {
  std::lock_guard lock(mu_);
  std::vector<ValueAlert> out;
  for (const auto& [fp, e] : firing_) {
    if (!e.value_alert) continue;
    const bool seen = std::any_of(out.begin(), out.end(), [&](const ValueAlert& v) {
      return v.table == e.table && v.value == e.value;
    });
    if (!seen) out.push_back(ValueAlert{e.table, e.value});
  }
  return out;
}

void AlertManager::OnRecheck(const std::string& table, const policy::KeyValue& value, int64_t rows,
                             int64_t threshold) {
  std::lock_guard lock(mu_);
  if (rows <= threshold) {
    ResolveValueLocked(table, value, kValueAlerts);
    return;
  }
  for (auto& [fp, e] : firing_) {
    if (e.value_alert && e.table == table && e.value == value) {
      e.alert.annotations["rows"] = std::to_string(rows);
    }
  }
}

std::vector<Alert> AlertManager::Firing() const {
  std::lock_guard lock(mu_);
  std::vector<Alert> out;
  for (const auto& [fp, e] : firing_) out.push_back(e.alert);
  return out;
}

void AlertManager::Tick(std::stop_token stop) {
  auto next_resend = std::chrono::steady_clock::now() + config_.alerts.resend_interval;
  std::mutex sleep_mu;
  while (!stop.stop_requested()) {
    {
      std::unique_lock sl(sleep_mu);
      cv_.wait_for(sl, stop, kTick, [] { return false; });
    }
    if (stop.stop_requested()) return;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (!streaming_ && now - not_streaming_since_ >= config_.alerts.disconnected_for) {
      Entry e;
      e.alert.name = kDisconnected;
      e.alert.labels = {{"slot", config_.source.slot}};
      e.alert.annotations = {
          {"summary", "no replication session streams from slot " + config_.source.slot +
                          " (for more than " +
                          std::to_string(config_.alerts.disconnected_for.count() / 1000) + " s)"}};
      FireLocked(std::move(e));
    }
    if (now >= next_resend) {
      next_resend = now + config_.alerts.resend_interval;
      const auto ends = std::chrono::system_clock::now() + 4 * config_.alerts.resend_interval;
      for (const auto& [fp, e] : firing_) {
        for (auto& w : alertmanagers_) {
          w->Push(
              Job{fp, false, true, Serialise(AlertmanagerPayload(e.alert, ends, generator_url_))});
        }
      }
    }
  }
}

}  // namespace partwatch::alerts
