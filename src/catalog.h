// Catalog discovery: what a configured partitioned table looks like, read
// from the system catalogs on an ordinary connection.
//
// DescribeTable throws CatalogError naming the table when it does not exist,
// is not partitioned, has no DEFAULT partition, or uses a key partwatch does
// not handle yet (expressions; more than one LIST column).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "src/pg/connection.h"

namespace partwatch {

class CatalogError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct KeyColumn {
  std::string name;
  uint32_t type_oid = 0;
  std::string type_name;  // format_type()
};

struct PartitionInfo {
  uint32_t oid = 0;
  std::string nspname;
  std::string relname;
  std::string bound;  // pg_get_expr(relpartbound), e.g. "FOR VALUES IN ('new')"
};

struct TableInfo {
  std::string configured_name;  // as written in the config
  uint32_t oid = 0;
  std::string nspname;
  std::string relname;
  std::string owner;
  char strategy = 0;  // 'l' list, 'r' range, 'h' hash
  std::vector<KeyColumn> key;
  PartitionInfo default_partition;
  std::vector<PartitionInfo> partitions;  // all but DEFAULT
  // Columns an INSERT ... SELECT may write (not dropped, not generated), in
  // the parent's order.
  std::vector<std::string> insertable_columns;

  std::string DisplayName() const { return nspname + "." + relname; }
  std::string StrategyName() const;
};

// Reads one table.  `name` is SQL syntax (to_regclass rules).
TableInfo DescribeTable(pg::Connection& conn, const std::string& name);

// Server prerequisites for streaming, with errors that say what to do:
// wal_level = logical and the REPLICATION attribute (or superuser).  A full
// set of replication slots shows up later, as CREATE_REPLICATION_SLOT's own
// error.  Throws CatalogError.
void CheckServerForStreaming(pg::Connection& conn);

// The privileges partwatch needs on a table it acts on: being its owner (or
// a member of the owning role), for the publication and for ATTACH
// PARTITION.  Returns an error text, or nullopt.
std::optional<std::string> CheckTablePrivileges(pg::Connection& conn, const TableInfo& table);

}  // namespace partwatch
