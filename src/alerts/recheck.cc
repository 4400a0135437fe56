#include "src/alerts/recheck.h"

#include <spdlog/spdlog.h>

#include "src/catalog.h"
#include "src/partition_sql.h"

namespace partwatch::alerts {

void Rechecker::MaybeRun(const Config& config, const std::atomic<bool>* stop) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_) return;
  next_ = now + config.alerts.recheck_interval;
  const std::vector<AlertManager::ValueAlert> firing = manager_.FiringValues();
  if (firing.empty()) return;
  try {
    if (!conn_ || !conn_->connected()) {
      conn_.reset();
      conn_.emplace(OpenSession(config, "alerts"));
    }
    for (const AlertManager::ValueAlert& v : firing) {
      const TableConfig* tc = nullptr;
      TableInfo info;
      for (const TableConfig& t : config.tables) {
        try {
          TableInfo i = DescribeConfigured(*conn_, t);
          if (i.DisplayName() == v.table) {
            tc = &t;
            info = std::move(i);
            break;
          }
        } catch (const CatalogError&) {
        }
      }
      if (!tc) continue;
      const policy::TableRule rule = RuleFor(*tc, info);
      int64_t rows = 0;
      // A RANGE bucket a partition covers now: DEFAULT cannot hold its rows.
      if (!info.range || v.value.is_null() || info.range->bucketer->BucketOf(*v.value.text)) {
        rows = ExactCount(*conn_, info, v.value, CountPieces(config.executor, stop));
      }
      manager_.OnRecheck(v.table, v.value, rows, rule.ThresholdFor(v.value));
    }
  } catch (const std::exception& e) {
    if (conn_ && !conn_->connected()) conn_.reset();
    spdlog::debug("alert recheck failed: {}", e.what());
  }
}

}  // namespace partwatch::alerts
