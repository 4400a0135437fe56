// Catalog discovery: what a configured partitioned table looks like, read
// from the system catalogs on an ordinary connection.
//
// DescribeTable throws CatalogError naming the table when it does not exist,
// is not partitioned, has no DEFAULT partition, or uses a key partwatch does
// not handle yet (expressions; more than one LIST column).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "policy/range.h"
#include "src/config.h"
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

// pg_partman's configuration for a table it manages (part_config; the
// columns read exist in both 4.x and 5.x).
struct PartmanInfo {
  std::string schema;           // the extension's schema, e.g. "partman"
  std::string version;          // extversion, e.g. "4.7.2"
  std::string interval;         // part_config.partition_interval, as text
  std::string datetime_string;  // part_config.datetime_string (time keys)
};

// What partwatch needs to bucket a RANGE table (docs/configuration.md,
// "RANGE tables").
struct RangeSpec {
  policy::RangeKeyType type = policy::RangeKeyType::kInteger;
  // Where the interval came from: "config", "pg_partman" or "inferred".
  std::string interval_source;
  // Over the partitions as described; shared with the policy's rules.
  std::shared_ptr<const policy::Bucketer> bucketer;
  std::optional<PartmanInfo> partman;
  // Naming for new partitions: pg_partman's when it manages the table, else
  // this template ({parent}, {from:FMT}).
  std::string name_template;
  // Buckets starting after now() + max_future are alerted on, not created
  // ("" for integer keys: no horizon).
  std::string max_future;
  // The end of the newest existing partition (a point), when any: pg_partman
  // maintenance creates children after it.
  std::optional<int64_t> newest_end;
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
  // RANGE tables only, after ResolveRange().
  std::optional<RangeSpec> range;

  std::string DisplayName() const { return nspname + "." + relname; }
  std::string StrategyName() const;
};

// Reads one table.  `name` is SQL syntax (to_regclass rules).
TableInfo DescribeTable(pg::Connection& conn, const std::string& name);

// For a RANGE table: the key type, the interval (config, then pg_partman's
// part_config, then inferred from the partitions), the bucketer, naming and
// horizon.  Throws CatalogError naming the table and the config key to set.
// The connection must use the session TimeZone and DateStyle partwatch sets
// (SetSessionDefaults), as bounds are read as text.
void ResolveRange(pg::Connection& conn, const TableConfig& config, TableInfo* info);

// DescribeTable plus what the table's config adds: ResolveRange for RANGE
// tables, and checks that LIST-only or RANGE-only settings fit the strategy.
// Throws CatalogError.
TableInfo DescribeConfigured(pg::Connection& conn, const TableConfig& config);

// The policy's rule for a described table: threshold, action, naming and,
// for RANGE tables, the bucketer and pg_partman's threshold-0 region.
policy::TableRule RuleFor(const TableConfig& config, const TableInfo& info);

// A server-side interval text ("1 day", "1 mon", "01:00:00") as a bucket
// interval.  Throws CatalogError when PostgreSQL rejects it.
policy::RangeInterval IntervalFromServer(pg::Connection& conn, const std::string& text,
                                         const std::string& what);

// An ordinary connection for `purpose` ("executor", "status", ...): the
// application_name "partwatch <purpose>", client_encoding pinned to the
// server's encoding like the replication connection's (so literals quoted
// from streamed values name the same values; PGCLIENTENCODING and a dsn's
// client_encoding are overridden) and SetSessionDefaults.  Throws
// std::runtime_error saying it cannot connect (password redacted), or
// CatalogError for a source.time_zone the server rejects.
pg::Connection OpenSession(const Config& config, const std::string& purpose);

// DateStyle ISO (which the policy parses) and, when `time_zone` is not
// empty, TimeZone, for the session.
void SetSessionDefaults(pg::Connection& conn, const std::string& time_zone);

// The oldest server partwatch works with: 15 brought publications with
// column lists and pg_publication_namespace, which setup, run and status use.
inline constexpr int kMinServerVersionNum = 150000;

// For a server older than that, the error to show ("partwatch needs
// PostgreSQL 15 or later ...; the server runs 14.10"); nullopt otherwise.
// `server_version_num` is PQserverVersion's (140010; 0 = unknown), the text
// the server's server_version parameter ("14.10 (Debian 14.10-1)"; may be
// empty).  Pure, for tests.
std::optional<std::string> UnsupportedServerVersion(int server_version_num,
                                                    const std::string& server_version_text);

// UnsupportedServerVersion on `conn`'s server.  Throws CatalogError.
void CheckServerVersion(const pg::Connection& conn);

// Server prerequisites for streaming, with errors that say what to do: a
// supported version (CheckServerVersion), wal_level = logical and the
// REPLICATION attribute (or superuser).  A full
// set of replication slots shows up later, as CREATE_REPLICATION_SLOT's own
// error.  Throws CatalogError.
void CheckServerForStreaming(pg::Connection& conn);

// The privileges partwatch needs on a table it acts on: being its owner (or
// a member of the owning role), for the publication and for ATTACH
// PARTITION.  Returns an error text, or nullopt.
std::optional<std::string> CheckTablePrivileges(pg::Connection& conn, const TableInfo& table);

}  // namespace partwatch
