#include "src/session/state.h"

#include <spdlog/spdlog.h>

namespace partwatch::session {

std::optional<PendingReload> ReadReload(const Config& current) {
  PendingReload reload;
  try {
    reload.config = std::make_shared<const Config>(LoadConfig(current.path));
  } catch (const ConfigError& e) {
    // The text `partwatch run` prints for the same file at start-up.
    spdlog::error("configuration error: {} ({})", e.what(), kNothingApplies);
    return std::nullopt;
  }
  reload.diff = DiffForReload(current, *reload.config);
  if (!reload.diff.restart_needed.empty()) {
    std::string what;
    for (const auto& r : reload.diff.restart_needed) what += (what.empty() ? "" : "; ") + r;
    spdlog::error("{}: {}: only a restart of partwatch applies that ({})", current.path, what,
                  kNothingApplies);
    return std::nullopt;
  }
  return reload;
}

std::vector<TableInfo> DescribeAll(pg::Connection& conn, const Config& config) {
  std::vector<TableInfo> out;
  for (const TableConfig& tc : config.tables) out.push_back(DescribeConfigured(conn, tc));
  return out;
}

std::vector<policy::TableRule> MakeRules(const Config& config,
                                         const std::vector<TableInfo>& infos) {
  std::vector<policy::TableRule> rules;
  for (size_t i = 0; i < infos.size(); ++i) rules.push_back(RuleFor(config.tables[i], infos[i]));
  return rules;
}

}  // namespace partwatch::session
