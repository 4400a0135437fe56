#include "src/status.h"

#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "policy/naming.h"
#include "src/catalog.h"
#include "src/executor/executor.h"
#include "src/setup.h"

namespace partwatch {

namespace {

nlohmann::json ValueJson(const policy::KeyValue& v) {
  return v.is_null() ? nlohmann::json(nullptr) : nlohmann::json(*v.text);
}

nlohmann::json BuildReport(pg::Connection& conn, const Config& config) {
  nlohmann::json report;
  report["tables"] = nlohmann::json::array();
  for (const TableConfig& tc : config.tables) {
    const TableInfo info = DescribeTable(conn, tc.name);
    nlohmann::json t;
    t["table"] = info.DisplayName();
    t["strategy"] = info.StrategyName();
    t["key"] = info.key.empty() ? "" : info.key[0].name;
    t["default_partition"] = info.default_partition.nspname + "." + info.default_partition.relname;
    t["partitions"] = info.partitions.size();
    t["threshold"] = tc.threshold;
    t["action"] = policy::ActionKindName(tc.action);
    t["values"] = nlohmann::json::array();
    int64_t total = 0;
    if (info.strategy == 'l') {
      for (const auto& vc : executor::CountDefaultByValue(conn, info)) {
        total += vc.rows;
        nlohmann::json v;
        v["value"] = ValueJson(vc.value);
        v["rows"] = vc.rows;
        if (vc.rows > tc.threshold) {
          v["would"] = policy::ActionKindName(tc.action);
          if (tc.action == policy::ActionKind::kCreate) {
            v["partition"] = info.nspname + "." +
                             policy::PartitionName(tc.partition_name, info.relname, vc.value);
          }
        } else {
          v["would"] = "wait";
        }
        t["values"].push_back(std::move(v));
      }
    }
    t["default_rows"] = total;
    report["tables"].push_back(std::move(t));
  }
  if (auto slot = QuerySlot(conn, config.source.slot)) {
    report["slot"] = {{"name", config.source.slot},
                      {"active_pid", slot->active_pid ? nlohmann::json(*slot->active_pid)
                                                      : nlohmann::json(nullptr)},
                      {"confirmed_flush_lsn", slot->confirmed_flush_lsn.ToString()},
                      {"restart_lsn", slot->restart_lsn.ToString()},
                      {"wal_status", slot->wal_status},
                      {"retained_wal_bytes", slot->retained_wal_bytes}};
  } else {
    report["slot"] = nullptr;
  }
  pg::Result pub = conn.ExecParams("SELECT 1 FROM pg_publication WHERE pubname = $1",
                                   {config.source.publication});
  report["publication"] = {{"name", config.source.publication}, {"exists", pub.rows() == 1}};
  return report;
}

void PrintText(const nlohmann::json& report) {
  for (const auto& t : report["tables"]) {
    std::printf("%s  (%s on %s)  DEFAULT %s: %lld row(s), threshold %lld, action %s\n",
                t["table"].get<std::string>().c_str(), t["strategy"].get<std::string>().c_str(),
                t["key"].get<std::string>().c_str(),
                t["default_partition"].get<std::string>().c_str(),
                static_cast<long long>(t["default_rows"].get<int64_t>()),
                static_cast<long long>(t["threshold"].get<int64_t>()),
                t["action"].get<std::string>().c_str());
    if (t["values"].empty()) std::printf("    (DEFAULT is empty)\n");
    for (const auto& v : t["values"]) {
      // Escaped like the log: a value must not be able to forge a line.
      const std::string value =
          (v["value"].is_null() ? policy::KeyValue::Null()
                                : policy::KeyValue::Of(v["value"].get<std::string>()))
              .ForLog();
      std::string would = v["would"].get<std::string>();
      if (v.contains("partition")) would += " " + v["partition"].get<std::string>();
      if (would == "wait") would = "none (not over the threshold)";
      std::printf("    %-32s %10lld  -> %s\n", value.c_str(),
                  static_cast<long long>(v["rows"].get<int64_t>()), would.c_str());
    }
  }
  const auto& slot = report["slot"];
  if (slot.is_null()) {
    std::printf("slot: does not exist (partwatch run or setup creates it)\n");
  } else {
    std::printf(
        "slot %s: %s, confirmed_flush_lsn %s, wal_status %s, retained WAL %lld bytes\n",
        slot["name"].get<std::string>().c_str(),
        slot["active_pid"].is_null()
            ? "inactive"
            : ("active (pid " + std::to_string(slot["active_pid"].get<int>()) + ")").c_str(),
        slot["confirmed_flush_lsn"].get<std::string>().c_str(),
        slot["wal_status"].get<std::string>().c_str(),
        static_cast<long long>(slot["retained_wal_bytes"].get<int64_t>()));
  }
  std::printf("publication %s: %s\n", report["publication"]["name"].get<std::string>().c_str(),
              report["publication"]["exists"].get<bool>() ? "exists" : "does not exist");
}

}  // namespace

int RunStatus(const Config& config, bool json) {
  try {
    pg::Connection conn = pg::Connection::Open(config.source.dsn);
    conn.Exec("SET application_name = 'partwatch status'");
    const nlohmann::json report = BuildReport(conn, config);
    if (json) {
      std::cout << report.dump(2) << std::endl;
    } else {
      PrintText(report);
    }
    return 0;
  } catch (const pg::PgError& e) {
    spdlog::error("cannot read status from PostgreSQL ({}): {}",
                  pg::RedactConninfo(config.source.dsn), e.what());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
  return 1;
}

}  // namespace partwatch
