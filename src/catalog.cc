#include "src/catalog.h"

#include "src/pg/pieces.h"

#include <algorithm>
#include <limits>

namespace partwatch {

std::string TableInfo::StrategyName() const {
  switch (strategy) {
    case 'l':
      return "list";
    case 'r':
      return "range";
    case 'h':
      return "hash";
    default:
      return "unknown";
  }
}

TableInfo DescribeTable(pg::Connection& conn, const std::string& name) {
  TableInfo info;
  info.configured_name = name;

  pg::QueryResult r = conn.TryExecParams(
      "SELECT c.oid, n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), "
      "       p.partstrat, p.partdefid, p.partattrs::int2[]::text "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid "
      "WHERE c.oid = to_regclass($1)",
      {name});
  if (!r.ok()) {
    throw CatalogError("table '" + name + "': cannot look it up: " + r.error_message());
  }
  if (r.rows() == 0) {
    throw CatalogError("table '" + name +
                       "' does not exist (names follow SQL rules: write \"MixedCase\" in "
                       "double quotes, and qualify it with its schema)");
  }
  info.oid = static_cast<uint32_t>(r.int64(0, 0));
  info.nspname = r.text(0, 1);
  info.relname = r.text(0, 2);
  info.owner = r.text(0, 4);
  if (r.value(0, 3) != "p" || r.is_null(0, 5)) {
    throw CatalogError("table '" + name + "' is not a partitioned table");
  }
  info.strategy = r.value(0, 5)[0];
  const uint32_t default_oid = static_cast<uint32_t>(r.int64(0, 6));
  if (default_oid == 0) {
    throw CatalogError("table '" + name +
                       "' has no DEFAULT partition: partwatch watches what lands in DEFAULT "
                       "(CREATE TABLE ... PARTITION OF " +
                       info.DisplayName() + " DEFAULT)");
  }

  const std::string oid_text = std::to_string(info.oid);
  pg::QueryResult key = conn.ExecParams(
      "SELECT k.ord, a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod) "
      "FROM pg_partitioned_table p, unnest(p.partattrs::int2[]) WITH ORDINALITY AS k(attnum, ord) "
      "LEFT JOIN pg_attribute a ON a.attrelid = $1::oid AND a.attnum = k.attnum "
      "WHERE p.partrelid = $1::oid ORDER BY k.ord",
      {oid_text});
  for (int i = 0; i < key.rows(); ++i) {
    if (key.is_null(i, 1)) {
      throw CatalogError("table '" + name +
                         "' is partitioned by an expression; partwatch handles column keys only");
    }
    info.key.push_back(
        KeyColumn{key.text(i, 1), static_cast<uint32_t>(key.int64(i, 2)), key.text(i, 3)});
  }
  if (info.strategy == 'l' && info.key.size() != 1) {
    throw CatalogError("table '" + name + "': a LIST key has exactly one column");
  }

  pg::QueryResult parts = conn.ExecParams(
      "SELECT c.oid, n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid), c.relkind "
      "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE i.inhparent = $1::oid ORDER BY c.relname",
      {oid_text});
  for (int i = 0; i < parts.rows(); ++i) {
    PartitionInfo p{static_cast<uint32_t>(parts.int64(i, 0)), parts.text(i, 1), parts.text(i, 2),
                    parts.text(i, 3)};
    if (p.oid == default_oid) {
      if (parts.value(i, 4) == "p") {
        throw CatalogError("table '" + name + "': its DEFAULT partition " + p.nspname + "." +
                           p.relname +
                           " is itself partitioned; partwatch needs a plain DEFAULT table");
      }
      info.default_partition = std::move(p);
    } else {
      info.partitions.push_back(std::move(p));
    }
  }

  pg::QueryResult cols = conn.ExecParams(
      "SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 "
      "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
      {oid_text});
  for (int i = 0; i < cols.rows(); ++i) info.insertable_columns.push_back(cols.text(i, 0));
  return info;
}

pg::Connection OpenSession(const Config& config, const std::string& purpose) {
  pg::Connection c;
  try {
    c = pg::Connection::Open(config.source.dsn);
    // The same bytes as the replication stream's (see UseServerEncoding):
    // literals quoted from streamed values must name the same values.
    c.UseServerEncoding();
    c.Exec("SET application_name = " + c.QuoteLiteral("partwatch " + purpose));
    // Every statement bounded: waits in a lock queue (others queue behind
    // them) by min(lock_timeout, yield_after), the rest by statement_timeout.
    // Statements that need other bounds set them with SET LOCAL.
    c.Exec("SET statement_timeout = " + pg::TimeoutLiteral(config.executor.statement_timeout) +
           "; SET lock_timeout = " +
           pg::TimeoutLiteral(std::min(config.executor.lock_timeout, config.executor.yield_after)));
  } catch (const pg::PgError& e) {
    throw std::runtime_error("cannot connect to PostgreSQL (" +
                             pg::RedactConninfo(config.source.dsn) + "): " + e.what() +
                             " -- check source.dsn and that the server is running and reachable");
  }
  SetSessionDefaults(c, config.source.time_zone);
  return c;
}

void SetSessionDefaults(pg::Connection& conn, const std::string& time_zone) {
  conn.Exec("SET DateStyle = 'ISO, YMD'");
  if (!time_zone.empty()) {
    pg::QueryResult r = conn.TryExec("SET TimeZone = " + conn.QuoteLiteral(time_zone));
    if (!r.ok()) {
      throw CatalogError("source.time_zone: PostgreSQL rejects '" + time_zone +
                         "': " + r.error_message());
    }
  }
}

policy::RangeInterval IntervalFromServer(pg::Connection& conn, const std::string& text,
                                         const std::string& what) {
  // extract() on an interval returns numeric in PostgreSQL 14+: exact.
  pg::QueryResult r = conn.TryExecParams(
      "SELECT (extract(year FROM i) * 12 + extract(month FROM i))::bigint, "
      "       extract(day FROM i)::bigint, "
      "       ((extract(hour FROM i) * 3600 + extract(minute FROM i) * 60 "
      "         + extract(second FROM i)) * 1000000)::bigint "
      "FROM (SELECT $1::interval AS i) s",
      {text});
  if (!r.ok()) {
    throw CatalogError(what + ": '" + text + "' is not an interval PostgreSQL accepts (" +
                       r.error_message() + ")");
  }
  policy::RangeInterval iv;
  iv.months = r.int64(0, 0);
  iv.days = r.int64(0, 1);
  iv.micros = r.int64(0, 2);
  return iv;
}

namespace {

std::optional<policy::RangeKeyType> RangeKeyTypeOf(uint32_t type_oid) {
  switch (type_oid) {
    case 20:  // int8
    case 21:  // int2
    case 23:  // int4
      return policy::RangeKeyType::kInteger;
    case 1082:
      return policy::RangeKeyType::kDate;
    case 1114:
      return policy::RangeKeyType::kTimestamp;
    case 1184:
      return policy::RangeKeyType::kTimestampTz;
    default:
      return std::nullopt;
  }
}

std::optional<PartmanInfo> ReadPartman(pg::Connection& conn, const TableInfo& info) {
  pg::QueryResult ext = conn.Exec(
      "SELECT n.nspname, e.extversion FROM pg_extension e "
      "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman'");
  if (ext.rows() == 0) return std::nullopt;
  PartmanInfo pm;
  pm.schema = ext.text(0, 0);
  pm.version = ext.text(0, 1);
  const std::string part_config = conn.QuoteIdent(pm.schema) + ".part_config";
  pg::QueryResult can = conn.ExecParams(
      "SELECT has_schema_privilege($1, 'USAGE') "
      "AND has_table_privilege($2, 'SELECT'), current_user",
      {pm.schema, part_config});
  if (can.value(0, 0) != "t") {
    throw CatalogError("table '" + info.DisplayName() + "': pg_partman " + pm.version +
                       " is installed and partwatch must read " + part_config +
                       " to know whether it manages the table: GRANT USAGE ON SCHEMA " +
                       conn.QuoteIdent(pm.schema) + " TO " + can.text(0, 1) + "; GRANT SELECT ON " +
                       part_config + " TO " + can.text(0, 1));
  }
  pg::QueryResult r = conn.ExecParams(
      "SELECT partition_interval, coalesce(datetime_string, ''), coalesce(epoch, 'none') "
      "FROM " +
          part_config + " WHERE parent_table = $1",
      {info.nspname + "." + info.relname});
  if (r.rows() == 0) return std::nullopt;
  if (r.value(0, 2) != "none") {
    throw CatalogError("table '" + info.DisplayName() + "': pg_partman manages it with epoch = '" +
                       r.text(0, 2) +
                       "' (time stored as integers), which partwatch does not handle");
  }
  pm.interval = r.text(0, 0);
  pm.datetime_string = r.text(0, 1);
  return pm;
}

// policy::InferInterval over all partitions, or else the width most of them
// share (strictly more than any other): partitions partwatch clipped to a
// gap, or an odd one an operator made, must not make the next start fail.
std::optional<policy::InferredInterval> InferByMostPartitions(
    policy::RangeKeyType type, const std::vector<std::string>& bounds) {
  if (auto all = policy::InferInterval(type, bounds)) return all;
  std::vector<std::pair<policy::InferredInterval, int>> votes;
  for (const std::string& b : bounds) {
    const std::optional<policy::InferredInterval> one = policy::InferInterval(type, {b});
    if (!one) continue;
    auto it = std::find_if(votes.begin(), votes.end(),
                           [&](const auto& v) { return v.first.interval == one->interval; });
    if (it == votes.end()) {
      votes.emplace_back(*one, 1);
    } else {
      ++it->second;
    }
  }
  std::sort(votes.begin(), votes.end(),
            [](const auto& a, const auto& b) { return a.second > b.second; });
  if (votes.empty() || (votes.size() > 1 && votes[0].second == votes[1].second)) {
    return std::nullopt;
  }
  return votes[0].first;
}

}  // namespace

void ResolveRange(pg::Connection& conn, const TableConfig& config, TableInfo* info) {
  const std::string name = "table '" + config.name + "'";
  if (info->key.size() != 1) {
    throw CatalogError(name + ": partwatch handles RANGE keys of exactly one column");
  }
  const KeyColumn& key = info->key[0];
  const std::optional<policy::RangeKeyType> type = RangeKeyTypeOf(key.type_oid);
  if (!type) {
    throw CatalogError(name + ": RANGE key column \"" + key.name + "\" has type " + key.type_name +
                       "; partwatch buckets date, timestamp, timestamptz and integer keys");
  }
  RangeSpec spec;
  spec.type = *type;
  spec.partman = ReadPartman(conn, *info);

  std::vector<std::string> bounds;
  for (const PartitionInfo& p : info->partitions) bounds.push_back(p.bound);
  const std::optional<policy::InferredInterval> inferred = InferByMostPartitions(spec.type, bounds);

  const bool integer = spec.type == policy::RangeKeyType::kInteger;
  policy::RangeInterval interval;
  const auto interval_unset = [](const policy::RangeInterval& iv) {
    return iv == policy::RangeInterval{};
  };
  if (config.interval_width > 0 || !config.interval.empty()) {
    spec.interval_source = "config";
    if (integer) {
      if (config.interval_width <= 0) {
        throw CatalogError(name + ": the key is an integer: set interval to an integer width");
      }
      interval.width = config.interval_width;
    } else {
      if (config.interval.empty()) {
        throw CatalogError(name + ": the key is " + key.type_name +
                           ": set interval to an interval string such as \"1 day\"");
      }
      interval = IntervalFromServer(conn, config.interval, name + ": interval");
    }
  }
  if (spec.partman) {
    policy::RangeInterval partman_interval;
    if (integer) {
      try {
        partman_interval.width = std::stoll(spec.partman->interval);
      } catch (const std::exception&) {
        throw CatalogError(name + ": pg_partman's partition_interval '" + spec.partman->interval +
                           "' is not an integer width");
      }
    } else {
      partman_interval = IntervalFromServer(conn, spec.partman->interval,
                                            name + ": pg_partman partition_interval");
    }
    if (spec.interval_source == "config" && !(interval == partman_interval)) {
      throw CatalogError(name + ": interval does not match pg_partman's partition_interval '" +
                         spec.partman->interval +
                         "'; remove it (partwatch reads pg_partman's) or fix part_config");
    }
    // pg_partman computes time children in its session's zone; read in
    // another zone they are not aligned to whole days or months, and
    // partwatch's buckets would overlap the children pg_partman makes next.
    if (inferred && !(inferred->interval == partman_interval)) {
      throw CatalogError(name + ": pg_partman's children are not " + spec.partman->interval +
                         " wide when read in time zone " + conn.Exec("SHOW TimeZone").text(0, 0) +
                         ": set source.time_zone to the zone pg_partman's maintenance runs in");
    }
    spec.interval_source = "pg_partman";
    interval = partman_interval;
  } else if (interval_unset(interval) && inferred) {
    spec.interval_source = "inferred";
    interval = inferred->interval;
  } else if (interval_unset(interval)) {
    throw CatalogError(name +
                       ": cannot tell the bucket interval: no one width is shared by most of its "
                       "partitions (or there are none), pg_partman does not manage it, and the "
                       "config sets none; set interval (e.g. interval = \"1 day\", or an integer "
                       "width)");
  }
  if (auto err = policy::ValidateInterval(spec.type, interval)) {
    throw CatalogError(name + ": interval (" + spec.interval_source + "): " + *err);
  }
  // Align like the existing partitions when they share the interval.
  std::optional<int64_t> origin;
  if (inferred && inferred->interval.months == interval.months &&
      inferred->interval.days == interval.days && inferred->interval.micros == interval.micros &&
      inferred->interval.width == interval.width) {
    origin = inferred->origin;
  }
  Result<policy::Bucketer> bucketer = policy::Bucketer::Make(spec.type, interval, origin, bounds);
  if (!bucketer.ok()) {
    throw CatalogError(name + ": " + bucketer.error().message);
  }
  spec.bucketer = std::make_shared<const policy::Bucketer>(std::move(bucketer).value());
  for (const auto& p : spec.bucketer->partitions()) {
    if (p.hi != std::numeric_limits<int64_t>::max() &&
        (!spec.newest_end || p.hi > *spec.newest_end)) {
      spec.newest_end = p.hi;
    }
  }

  if (spec.partman) {
    if (!config.partition_name.empty()) {
      throw CatalogError(name +
                         ": pg_partman manages it, so partwatch names partitions the way "
                         "pg_partman does; remove partition_name");
    }
  } else if (config.partition_name.empty()) {
    spec.name_template = policy::DefaultRangeNameTemplate(spec.type, interval);
  } else {
    if (auto err = policy::ValidateRangeNameTemplate(config.partition_name, spec.type)) {
      throw CatalogError(name + ": partition_name: " + *err);
    }
    if (config.partition_name.find("{from") == std::string::npos) {
      throw CatalogError(name + ": partition_name '" + config.partition_name +
                         "' is a LIST template; a RANGE table needs {from} or {from:FORMAT}");
    }
    spec.name_template = config.partition_name;
  }
  if (!integer) {
    spec.max_future = config.max_future;
    if (!spec.max_future.empty()) {
      (void)IntervalFromServer(conn, spec.max_future, name + ": max_future");
    }
  }
  info->range = std::move(spec);
}

TableInfo DescribeConfigured(pg::Connection& conn, const TableConfig& tc) {
  TableInfo info = DescribeTable(conn, tc.name);
  if (info.strategy == 'r') {
    ResolveRange(conn, tc, &info);
  } else if (info.strategy != 'l') {
    throw CatalogError("table '" + tc.name + "' is partitioned by " + info.StrategyName() +
                       "; partwatch handles LIST and RANGE partitioning");
  } else if (tc.partition_name.find("{from") != std::string::npos) {
    throw CatalogError("table '" + tc.name + "': partition_name '" + tc.partition_name +
                       "' is a RANGE template; a LIST table needs {value}");
  } else if (!tc.interval.empty() || tc.interval_width > 0) {
    throw CatalogError("table '" + tc.name +
                       "': interval applies to RANGE tables; this one is LIST");
  }
  return info;
}

policy::TableRule RuleFor(const TableConfig& config, const TableInfo& info) {
  policy::TableRule r;
  r.parent = info.DisplayName();
  r.parent_relname = info.relname;
  r.default_nspname = info.default_partition.nspname;
  r.default_relname = info.default_partition.relname;
  r.key_column = info.key.at(0).name;
  r.threshold = config.threshold;
  r.action = config.action;
  r.name_template = config.partition_name;
  r.max_tracked_values = config.max_tracked_values;
  if (info.range) {
    r.bucketer = info.range->bucketer;
    // Any row after pg_partman's newest child would make its maintenance
    // fail once it reaches that child's range (it extends the set up to
    // DEFAULT's newest row plus premake): move such rows at once.
    if (info.range->partman && info.range->newest_end) r.immediate_from = info.range->newest_end;
  }
  return r;
}

std::optional<std::string> UnsupportedServerVersion(int server_version_num,
                                                    const std::string& server_version_text) {
  if (server_version_num >= kMinServerVersionNum) return std::nullopt;
  // "14.10 (Debian 14.10-1.pgdg120+1)" -> "14.10"; from the number when the
  // server sent no text (10+: major * 10000 + minor; before: x.y.z).
  std::string shown = server_version_text.substr(0, server_version_text.find(' '));
  if (shown.empty() && server_version_num > 0) {
    const int v = server_version_num;
    shown = v >= 100000 ? std::to_string(v / 10000) + "." + std::to_string(v % 10000)
                        : std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
                              std::to_string(v % 100);
  }
  if (shown.empty()) shown = "a version partwatch cannot tell";
  return "partwatch needs PostgreSQL 15 or later (publications with column lists); the server "
         "runs " +
         shown;
}

void CheckServerVersion(const pg::Connection& conn) {
  if (auto err = UnsupportedServerVersion(conn.server_version(),
                                          conn.parameter_status("server_version"))) {
    throw CatalogError(*err);
  }
}

void CheckServerForStreaming(pg::Connection& conn) {
  CheckServerVersion(conn);
  pg::QueryResult r = conn.Exec(
      "SELECT current_setting('wal_level'), r.rolreplication, r.rolsuper, current_user "
      "FROM pg_roles r WHERE r.rolname = current_user");
  if (r.rows() != 1) throw CatalogError("cannot read the current role from pg_roles");
  if (r.value(0, 0) != "logical") {
    throw CatalogError("the server runs with wal_level = " + r.text(0, 0) +
                       "; logical replication needs wal_level = logical (set it in "
                       "postgresql.conf or with ALTER SYSTEM SET wal_level = logical, then "
                       "restart PostgreSQL)");
  }
  if (r.value(0, 1) != "t" && r.value(0, 2) != "t") {
    throw CatalogError("role " + r.text(0, 3) +
                       " lacks the REPLICATION attribute needed to stream from a replication "
                       "slot (ALTER ROLE " +
                       r.text(0, 3) + " REPLICATION)");
  }
}

std::optional<std::string> CheckTablePrivileges(pg::Connection& conn, const TableInfo& table) {
  pg::QueryResult r = conn.ExecParams(
      "SELECT pg_has_role(current_user, c.relowner, 'USAGE'), "
      "       pg_has_role(current_user, d.relowner, 'USAGE'), current_user "
      "FROM pg_class c, pg_class d WHERE c.oid = $1::oid AND d.oid = $2::oid",
      {std::to_string(table.oid), std::to_string(table.default_partition.oid)});
  if (r.rows() != 1) return "table " + table.DisplayName() + " vanished";
  if (r.value(0, 0) != "t" || r.value(0, 1) != "t") {
    return "role " + r.text(0, 2) + " must own " + table.DisplayName() +
           " and its DEFAULT partition " + table.default_partition.nspname + "." +
           table.default_partition.relname + " (or be a member of the owning role " + table.owner +
           ") to publish it and attach partitions: GRANT " + table.owner + " TO " + r.text(0, 2);
  }
  return std::nullopt;
}

}  // namespace partwatch
