#include "src/catalog.h"

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

  pg::Result r = conn.TryExecParams(
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
  pg::Result key = conn.ExecParams(
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

  pg::Result parts = conn.ExecParams(
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

  pg::Result cols = conn.ExecParams(
      "SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 "
      "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
      {oid_text});
  for (int i = 0; i < cols.rows(); ++i) info.insertable_columns.push_back(cols.text(i, 0));
  return info;
}

void CheckServerForStreaming(pg::Connection& conn) {
  pg::Result r = conn.Exec(
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
  pg::Result r = conn.ExecParams(
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
