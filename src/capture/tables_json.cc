#include "src/capture/tables_json.h"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace partwatch::capture {

namespace {

using nlohmann::json;

json PartitionJson(const PartitionInfo& p) {
  return json{{"oid", p.oid}, {"schema", p.nspname}, {"name", p.relname}, {"bound", p.bound}};
}

PartitionInfo PartitionFrom(const json& j) {
  PartitionInfo p;
  p.oid = j.at("oid").get<uint32_t>();
  p.nspname = j.at("schema").get<std::string>();
  p.relname = j.at("name").get<std::string>();
  p.bound = j.at("bound").get<std::string>();
  return p;
}

policy::RangeKeyType KeyTypeFrom(const std::string& s) {
  for (auto t : {policy::RangeKeyType::kInteger, policy::RangeKeyType::kDate,
                 policy::RangeKeyType::kTimestamp, policy::RangeKeyType::kTimestampTz}) {
    if (policy::RangeKeyTypeName(t) == s) return t;
  }
  throw std::runtime_error("unknown range key type '" + s + "'");
}

}  // namespace

std::string TablesToJson(const std::vector<TableInfo>& tables) {
  json out = json::array();
  for (const TableInfo& t : tables) {
    json j{{"configured_name", t.configured_name},
           {"oid", t.oid},
           {"schema", t.nspname},
           {"name", t.relname},
           {"owner", t.owner},
           {"strategy", std::string(1, t.strategy)},
           {"default", PartitionJson(t.default_partition)},
           {"insertable_columns", t.insertable_columns}};
    json key = json::array();
    for (const KeyColumn& k : t.key) {
      key.push_back(json{{"name", k.name}, {"type_oid", k.type_oid}, {"type", k.type_name}});
    }
    j["key"] = key;
    json parts = json::array();
    for (const PartitionInfo& p : t.partitions) parts.push_back(PartitionJson(p));
    j["partitions"] = parts;
    if (t.range) {
      const RangeSpec& r = *t.range;
      const policy::RangeInterval& iv = r.bucketer->interval();
      json range{{"type", std::string(policy::RangeKeyTypeName(r.type))},
                 {"interval_source", r.interval_source},
                 {"interval", json{{"months", iv.months},
                                   {"days", iv.days},
                                   {"micros", iv.micros},
                                   {"width", iv.width}}},
                 {"origin", r.bucketer->origin()},
                 {"name_template", r.name_template},
                 {"max_future", r.max_future}};
      if (r.newest_end) range["newest_end"] = *r.newest_end;
      if (r.partman) {
        range["partman"] = json{{"schema", r.partman->schema},
                                {"version", r.partman->version},
                                {"interval", r.partman->interval},
                                {"datetime_string", r.partman->datetime_string}};
      }
      j["range"] = range;
    }
    out.push_back(std::move(j));
  }
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<TableInfo> TablesFromJson(const std::string& text) {
  std::vector<TableInfo> out;
  try {
    const json all = json::parse(text);
    if (!all.is_array()) throw std::runtime_error("tables: not a JSON array");
    for (const json& j : all) {
      TableInfo t;
      t.configured_name = j.at("configured_name").get<std::string>();
      t.oid = j.at("oid").get<uint32_t>();
      t.nspname = j.at("schema").get<std::string>();
      t.relname = j.at("name").get<std::string>();
      t.owner = j.value("owner", "");
      const std::string strategy = j.at("strategy").get<std::string>();
      t.strategy = strategy.empty() ? 0 : strategy[0];
      t.default_partition = PartitionFrom(j.at("default"));
      t.insertable_columns = j.value("insertable_columns", std::vector<std::string>{});
      for (const json& k : j.at("key")) {
        t.key.push_back(KeyColumn{k.at("name").get<std::string>(), k.at("type_oid").get<uint32_t>(),
                                  k.at("type").get<std::string>()});
      }
      if (t.key.empty()) throw std::runtime_error("table " + t.DisplayName() + ": no key column");
      std::vector<std::string> bounds;
      for (const json& p : j.at("partitions")) {
        t.partitions.push_back(PartitionFrom(p));
        bounds.push_back(t.partitions.back().bound);
      }
      if (j.contains("range")) {
        const json& r = j.at("range");
        RangeSpec spec;
        spec.type = KeyTypeFrom(r.at("type").get<std::string>());
        spec.interval_source = r.value("interval_source", "");
        policy::RangeInterval iv;
        const json& ij = r.at("interval");
        iv.months = ij.at("months").get<int64_t>();
        iv.days = ij.at("days").get<int64_t>();
        iv.micros = ij.at("micros").get<int64_t>();
        iv.width = ij.at("width").get<int64_t>();
        Result<policy::Bucketer> b =
            policy::Bucketer::Make(spec.type, iv, r.at("origin").get<int64_t>(), bounds);
        if (!b.ok())
          throw std::runtime_error("table " + t.DisplayName() + ": " + b.error().message);
        spec.bucketer = std::make_shared<const policy::Bucketer>(std::move(b).value());
        spec.name_template = r.value("name_template", "");
        spec.max_future = r.value("max_future", "");
        if (r.contains("newest_end")) spec.newest_end = r.at("newest_end").get<int64_t>();
        if (r.contains("partman")) {
          const json& pm = r.at("partman");
          spec.partman = PartmanInfo{
              pm.at("schema").get<std::string>(), pm.at("version").get<std::string>(),
              pm.at("interval").get<std::string>(), pm.at("datetime_string").get<std::string>()};
        }
        t.range = std::move(spec);
      }
      out.push_back(std::move(t));
    }
  } catch (const json::exception& e) {
    throw std::runtime_error(std::string("tables: ") + e.what());
  }
  return out;
}

}  // namespace partwatch::capture
