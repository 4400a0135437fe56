// The JSON report: docs/replay.md, "JSON shape".  Keys in the documented
// order (ordered_json), bytes that are not UTF-8 replaced by U+FFFD rather
// than throwing (a SQL_ASCII database's values are any bytes).
#include <string>

#include <nlohmann/json.hpp>

#include "src/replay/render_util.h"
#include "src/replay/report.h"

namespace partwatch::replay {

namespace {

using Json = nlohmann::ordered_json;

Json TimeOrNull(const std::optional<int64_t>& t) {
  return t ? Json(FormatTime(*t)) : Json(nullptr);
}

Json LsnOrNull(Lsn lsn) { return lsn.valid() ? Json(lsn.ToString()) : Json(nullptr); }

Json ValueJson(const policy::KeyValue& v) { return v.is_null() ? Json(nullptr) : Json(*v.text); }

Json CrossingJson(const Crossing& c) {
  Json j;
  j["threshold"] = c.threshold;
  j["rows"] = c.rows;
  j["lsn"] = LsnOrNull(c.lsn);
  j["time"] = TimeOrNull(c.time);
  j["decision"] = DecisionKindName(c.decision);
  return j;
}

Json ValueReportJson(const ValueReport& v, const std::vector<int64_t>& thresholds) {
  Json j;
  j["value"] = ValueJson(v.value);
  j["rows"] = v.rows;
  j["approximate"] = v.approximate;
  j["first_time"] = TimeOrNull(v.first_time);
  j["last_time"] = TimeOrNull(v.last_time);
  j["crossings"] = Json::array();
  for (const Crossing& c : v.crossings) j["crossings"].push_back(CrossingJson(c));
  const Crossing* first = thresholds.empty() ? nullptr : internal::CrossingAt(v, 0);
  j["decision"] = first != nullptr ? Json(DecisionKindName(first->decision)) : Json(nullptr);
  return j;
}

Json TableJson(const TableReport& t) {
  Json j;
  j["name"] = t.name;
  j["strategy"] = t.strategy;
  j["thresholds"] = t.thresholds;
  j["rows"] = t.rows;
  j["distinct_values"] = t.distinct_values;
  j["truncates"] = t.truncates;
  j["truncate_times"] = Json::array();
  for (int64_t time : t.truncate_times) j["truncate_times"].push_back(FormatTime(time));
  j["other_values"] = t.other_values;
  j["values"] = Json::array();
  for (const ValueReport& v : t.values) j["values"].push_back(ValueReportJson(v, t.thresholds));
  j["rows_per_minute"] = Json::array();
  for (const auto& [minute, rows] : t.rows_per_minute) {
    j["rows_per_minute"].push_back(Json::array({FormatTime(minute), rows}));
  }
  j["decisions"] = Json::object();
  const std::vector<DecisionCounts> decisions = internal::ScenarioDecisions(t);
  for (size_t i = 0; i < t.thresholds.size(); ++i) {
    Json counts = Json::object();
    for (DecisionKind kind : internal::kAllDecisionKinds) {
      counts[DecisionKindName(kind)] = internal::CountOf(decisions[i], kind);
    }
    j["decisions"][std::to_string(t.thresholds[i])] = std::move(counts);
  }
  return j;
}

}  // namespace

std::string RenderJson(const Report& report) {
  Json j;
  j["sources"] = Json::array();
  for (const SourceReport& s : report.sources) {
    j["sources"].push_back({{"name", s.name},
                            {"kind", s.kind},
                            {"records", s.records},
                            {"skipped", s.skipped},
                            {"warnings", s.warnings}});
  }
  j["first_lsn"] = LsnOrNull(report.first_lsn);
  j["last_lsn"] = LsnOrNull(report.last_lsn);
  j["first_time"] = TimeOrNull(report.first_time);
  j["last_time"] = TimeOrNull(report.last_time);
  j["transactions"] = report.transactions;
  j["tables"] = Json::array();
  for (const TableReport& t : report.tables) j["tables"].push_back(TableJson(t));
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace partwatch::replay
