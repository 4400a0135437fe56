#include "src/status.h"

#include <httplib.h>

#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "policy/naming.h"
#include "src/alerts/alert.h"
#include "src/alerts/manager.h"
#include "src/catalog.h"
#include "src/executor/rate_limit.h"
#include "src/metrics/metrics.h"
#include "src/partition_sql.h"
#include "src/setup.h"

namespace partwatch {

namespace {

constexpr size_t kMaxGapsShown = 100;

nlohmann::json ValueJson(const policy::KeyValue& v) {
  return v.is_null() ? nlohmann::json(nullptr) : nlohmann::json(*v.text);
}

nlohmann::json BuildReport(pg::Connection& conn, const Config& config) {
  nlohmann::json report;
  report["tables"] = nlohmann::json::array();
  for (const TableConfig& tc : config.tables) {
    const TableInfo info = DescribeConfigured(conn, tc);
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
    const policy::TableRule rule = RuleFor(tc, info);  // the threshold per value
    for (const auto& vc : CountDefaultByValue(conn, info)) {
      total += vc.rows;
      nlohmann::json v;
      v["value"] = ValueJson(vc.value);
      v["rows"] = vc.rows;
      const PartitionSpec spec = SpecFor(conn, info, vc.value);
      if (spec.bucket) v["to"] = spec.bucket->hi_literal;
      if (vc.rows > rule.ThresholdFor(vc.value)) {
        v["would"] = policy::ActionKindName(tc.action);
        if (tc.action == policy::ActionKind::kCreate) {
          v["partition"] = info.nspname + "." + BaseName(info, tc.partition_name, vc.value, spec);
        }
      } else {
        v["would"] = "wait";
      }
      t["values"].push_back(std::move(v));
    }
    t["default_rows"] = total;
    // Rows no partition could take (RANGE: NULL keys, infinity), so
    // default_rows + unplaceable = everything in DEFAULT.
    // LIST counts every row (NULL is a value too); a RANGE table's per-bucket
    // counts leave out NULL and infinite keys, so count DEFAULT once more.
    t["default_rows_total"] = info.range
                                  ? conn.Exec("SELECT count(*) FROM ONLY " +
                                              conn.QuoteQualified(info.default_partition.nspname,
                                                                  info.default_partition.relname))
                                        .int64(0, 0)
                                  : total;
    if (info.range) {
      const RangeSpec& range = *info.range;
      t["interval_source"] = range.interval_source;
      t["pg_partman"] = range.partman ? nlohmann::json(range.partman->version) : nullptr;
      nlohmann::json gaps = nlohmann::json::array();
      for (const policy::Bucket& g : range.bucketer->Gaps(kMaxGapsShown)) {
        gaps.push_back({{"from", g.lo_literal}, {"to", g.hi_literal}});
      }
      t["gaps"] = std::move(gaps);
      if (range.newest_end) {
        const std::string end = range.bucketer->FormatPoint(*range.newest_end);
        t["partitions_until"] = end;
        if (range.type != policy::RangeKeyType::kInteger) {
          // How far ahead of now() partitions exist (negative: behind).
          t["ahead_of_now"] = conn.ExecParams("SELECT ($1::" + info.key[0].type_name +
                                                  " - now()::" + info.key[0].type_name + ")::text",
                                              {end})
                                  .text(0, 0);
        }
      }
    }
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
  pg::QueryResult pub = conn.ExecParams("SELECT 1 FROM pg_publication WHERE pubname = $1",
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
    if (t.contains("interval_source")) {
      std::printf("    buckets: interval from %s%s; partitions until %s%s\n",
                  t["interval_source"].get<std::string>().c_str(),
                  t["pg_partman"].is_null()
                      ? ""
                      : (", managed by pg_partman " + t["pg_partman"].get<std::string>()).c_str(),
                  t.contains("partitions_until") ? t["partitions_until"].get<std::string>().c_str()
                                                 : "(none)",
                  t.contains("ahead_of_now")
                      ? (" (" + t["ahead_of_now"].get<std::string>() + " ahead of now)").c_str()
                      : "");
      if (t["gaps"].empty()) {
        std::printf("    gaps: none\n");
      } else {
        for (const auto& g : t["gaps"]) {
          std::printf("    gap: [%s, %s) has no partition\n", g["from"].get<std::string>().c_str(),
                      g["to"].get<std::string>().c_str());
        }
      }
    }
    const int64_t unplaced =
        t["default_rows_total"].get<int64_t>() - t["default_rows"].get<int64_t>();
    if (unplaced > 0) {
      std::printf("    %lld row(s) in DEFAULT fit no partition (NULL or infinite key)\n",
                  static_cast<long long>(unplaced));
    }
    if (t["values"].empty()) std::printf("    (DEFAULT is empty)\n");
    for (const auto& v : t["values"]) {
      // Escaped like the log: a value must not be able to forge a line.
      const std::string value =
          (v["value"].is_null() ? policy::KeyValue::Null()
                                : policy::KeyValue::Of(v["value"].get<std::string>()))
              .ForLog();
      std::string would = v["would"].get<std::string>();
      const std::string shown = v.contains("to") ? "[" + v["value"].get<std::string>() + ", " +
                                                       v["to"].get<std::string>() + ")"
                                                 : value;
      if (v.contains("partition")) would += " " + v["partition"].get<std::string>();
      if (would == "wait") would = "none (not over the threshold)";
      std::printf("    %-32s %10lld  -> %s\n", shown.c_str(),
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

// Escaped like the log: a value must not be able to forge a line.
std::string ShownValue(const nlohmann::json& v) {
  return (v.is_null() ? policy::KeyValue::Null() : policy::KeyValue::Of(v.get<std::string>()))
      .ForLog();
}

void PrintLive(const nlohmann::json& s, const std::string& url) {
  std::printf(
      "partwatch run at %s (version %s): %s\n", url.c_str(), s.value("version", "").c_str(),
      s.value("streaming", false) ? "streaming" : "not streaming (connecting or reconnecting)");
  for (const auto& t : s["tables"]) {
    std::printf(
        "%s  DEFAULT: %lld row(s) counted by the policy, threshold %lld, action %s; %lld of "
        "max_new_partitions_per_hour %lld used in the last hour\n",
        t["table"].get<std::string>().c_str(),
        static_cast<long long>(t["default_rows"].get<int64_t>()),
        static_cast<long long>(t["threshold"].get<int64_t>()),
        t["action"].get<std::string>().c_str(),
        static_cast<long long>(t["partitions_created_last_hour"].get<int64_t>()),
        static_cast<long long>(t["max_new_partitions_per_hour"].get<int64_t>()));
    if (t["values"].empty()) std::printf("    (no rows counted in DEFAULT)\n");
    for (const auto& v : t["values"]) {
      std::printf("    %-32s %10lld\n", ShownValue(v["value"]).c_str(),
                  static_cast<long long>(v["rows"].get<int64_t>()));
    }
    if (t["other_values"].get<int64_t>() > 0) {
      std::printf("    (%lld more value(s) not shown)\n",
                  static_cast<long long>(t["other_values"].get<int64_t>()));
    }
    for (const auto& p : t["pending"]) {
      std::printf("    pending decision: %s %s (%lld row(s) counted when decided)\n",
                  p["action"].get<std::string>().c_str(), ShownValue(p["value"]).c_str(),
                  static_cast<long long>(p["streamed_count"].get<int64_t>()));
    }
  }
  if (s["alerts"].empty()) {
    std::printf("alerts firing: none\n");
  } else {
    std::printf("alerts firing: %zu\n", s["alerts"].size());
  }
  for (const auto& a : s["alerts"]) {
    std::string labels;
    for (const auto& [k, v] : a["labels"].items()) {
      if (k == "alertname") continue;
      labels += (labels.empty() ? "" : ", ") + k + "=" +
                v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    std::printf("    %s {%s} since %s", a["alertname"].get<std::string>().c_str(), labels.c_str(),
                a["startsAt"].get<std::string>().c_str());
    if (a["annotations"].contains("summary")) {
      std::printf(": %s", a["annotations"]["summary"].get<std::string>().c_str());
    }
    std::printf("\n");
  }
}

}  // namespace

std::string LiveStatusJson(const Config& config, const metrics::Metrics& metrics,
                           const alerts::AlertManager& alerts,
                           executor::PartitionRateLimiter& limiter) {
  nlohmann::json out;
  out["version"] = PARTWATCH_VERSION;
  out["streaming"] = metrics.Streaming();
  const std::vector<std::string> names = metrics.Tables();  // the catalog's, config order
  const auto counts = metrics.Counts();
  const std::vector<metrics::PendingDecision> pending = metrics.Pending();
  const std::map<std::string, size_t> created = limiter.CreatedInLastHourByTable();
  out["tables"] = nlohmann::json::array();
  for (size_t i = 0; i < config.tables.size(); ++i) {
    const TableConfig& tc = config.tables[i];
    const std::string name = i < names.size() ? names[i] : tc.name;
    nlohmann::json t;
    t["table"] = name;
    t["threshold"] = tc.threshold;
    t["action"] = policy::ActionKindName(tc.action);
    t["warn_above"] = tc.warn_above;
    t["max_new_partitions_per_hour"] = tc.max_new_partitions_per_hour;
    const auto c = created.find(name);
    t["partitions_created_last_hour"] = c == created.end() ? 0 : c->second;
    t["values"] = nlohmann::json::array();
    t["default_rows"] = 0;
    t["other_values"] = 0;
    if (counts) {
      for (const engine::DefaultCounts& dc : *counts) {
        if (dc.table != name) continue;
        for (const auto& [value, rows] : dc.top) {
          t["values"].push_back({{"value", ValueJson(value)}, {"rows", rows}});
        }
        t["default_rows"] = dc.rows;
        t["other_values"] = dc.other_values;
      }
    }
    t["pending"] = nlohmann::json::array();
    for (const metrics::PendingDecision& p : pending) {
      if (p.table != name) continue;
      t["pending"].push_back({{"value", ValueJson(p.value)},
                              {"action", p.action},
                              {"streamed_count", p.streamed_count}});
    }
    out["tables"].push_back(std::move(t));
  }
  out["alerts"] = nlohmann::json::array();
  for (const alerts::Alert& a : alerts.Firing()) {
    out["alerts"].push_back({{"alertname", a.name},
                             {"labels", a.AllLabels()},
                             {"annotations", a.annotations},
                             {"startsAt", alerts::Rfc3339(a.starts_at)},
                             {"fingerprint", a.Fingerprint()}});
  }
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int RunLiveStatus(const Config& config, bool json) {
  if (config.http.listen.empty()) {
    spdlog::error(
        "status --live reads GET /status from the running `partwatch run`, on its [http] listen "
        "address; this configuration does not set [http] listen");
    return 1;
  }
  // A server bound to every interface answers on the loopback too.
  const std::string host = config.http.host == "0.0.0.0" ? "127.0.0.1" : config.http.host;
  const std::string url = "http://" + host + ":" + std::to_string(config.http.port) + "/status";
  httplib::Client client(host, config.http.port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  auto res = client.Get("/status");
  if (!res) {
    spdlog::error(
        "cannot reach the running partwatch at {} ({}): is `partwatch run` running with this "
        "configuration? status --live needs it, with [http] listen set",
        url, httplib::to_string(res.error()));
    return 1;
  }
  if (res->status != 200) {
    spdlog::error("{} answered HTTP {} (a partwatch older than status --live, or another server?)",
                  url, res->status);
    return 1;
  }
  const nlohmann::json status = nlohmann::json::parse(res->body, nullptr, false);
  if (status.is_discarded() || !status.contains("tables") || !status.contains("alerts")) {
    spdlog::error("{} did not answer partwatch's status document", url);
    return 1;
  }
  if (json) {
    std::cout << status.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  } else {
    PrintLive(status, url);
  }
  return 0;
}

int RunStatus(const Config& config, bool json) {
  try {
    pg::Connection conn = OpenSession(config, "status");
    CheckServerVersion(conn);  // before queries an older server rejects as syntax errors
    const nlohmann::json report = BuildReport(conn, config);
    if (json) {
      std::cout << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                << std::endl;
    } else {
      PrintText(report);
    }
    return 0;
  } catch (const CatalogError& e) {
    spdlog::error("{}", e.what());  // names the table and what to change
  } catch (const pg::PgError& e) {
    spdlog::error("cannot read status from PostgreSQL ({}): {}",
                  pg::RedactConninfo(config.source.dsn), e.what());
  } catch (const std::exception& e) {
    spdlog::error("cannot read status from PostgreSQL: {}", e.what());
  }
  return 1;
}

}  // namespace partwatch
