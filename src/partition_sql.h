// SQL about one configured table's partitions that `run`, `status` and
// `drain` all use: the spec (WHERE and FOR VALUES) and name of the
// partition for a key value, exact counts of DEFAULT's rows, the pg_partman
// gap and the horizon check.  The pure parts (names, buckets, the gap's
// arithmetic) live in policy/; this file adds what needs a connection.
//
// Identifiers and literals are quoted with libpq's PQescapeIdentifier /
// PQescapeLiteral (pg::Connection::Quote*): key values come from users and
// are hostile.  Thread-safety: each call uses `conn` exclusively.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "policy/key_value.h"
#include "policy/range.h"
#include "src/catalog.h"
#include "src/config.h"
#include "src/pg/connection.h"
#include "src/pg/pieces.h"

namespace partwatch {

// The DEFAULT partition's qualified, quoted name.
std::string QuotedDefault(pg::Connection& conn, const TableInfo& table);

// Advisory lock key partwatch takes per parent table: (0x7077 << 32) | oid.
int64_t AdvisoryLockKey(uint32_t parent_oid);

// How partwatch's partition for one LIST value or RANGE bucket looks, as SQL
// with every literal and identifier quoted by libpq.
struct PartitionSpec {
  std::string where_sql;                 // rows of DEFAULT that belong to it ("key" = 'x' / range)
  std::string bound_sql;                 // "FOR VALUES IN ('x')" / "FOR VALUES FROM ('a') TO ('b')"
  std::optional<policy::Bucket> bucket;  // RANGE tables
};

// `value` is a LIST value, or for a RANGE table a bucket key (any value in
// the bucket; the policy uses the lower-bound literal).  Throws pg::PgError
// when a RANGE value falls in no bucket.
PartitionSpec SpecFor(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value);

// The partition name before collision handling: the LIST template, the RANGE
// template, or pg_partman's naming for tables it manages.
// REQUIRES: `spec` is SpecFor(table, value).
std::string BaseName(const TableInfo& table, const std::string& name_template,
                     const policy::KeyValue& value, const PartitionSpec& spec);

// `base`, or base_1, base_2... (cut to 63 bytes) when a relation of that
// name exists in `nspname` or the name is in `taken`.
std::string ChooseFreeName(pg::Connection& conn, const std::string& nspname,
                           const std::string& base, const std::set<std::string>& taken);

// RANGE tables with a horizon: the bucket `value` (its lower-bound literal)
// starts after now() + max_future.
bool BeyondHorizon(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value);

// pg_partman tables: the buckets (lower-bound keys, oldest first) without a
// partition between pg_partman's newest child and the bucket `value` beyond
// it (at most 1000; policy::PartmanGap, logged when cut short).  pg_partman's
// maintenance only extends its set after the newest child, so partwatch
// creates these too, before `value`'s, to keep the children contiguous.
// Empty for other tables.
// REQUIRES: `table` was described after its partitions last changed
// (range->newest_end is the end of the last partition).
std::vector<policy::KeyValue> PartmanGap(const TableInfo& table, const policy::KeyValue& value);

// The number of rows of `value` in the table's DEFAULT partition, counted
// in ctid pieces (pg::ForEachPiece with `pieces`): exact with
// pieces.snapshot, else exact but for rows updated during the count.
int64_t ExactCount(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value,
                   const pg::PieceOptions& pieces = {});

// Rows per key value in the DEFAULT partition, from the database; values in
// their output-function text form (the form pgoutput sends).  For RANGE
// tables, rows per bucket keyed by the bucket's lower-bound literal (rows in
// no bucket, such as NULL or infinity, are left out).
struct ValueCount {
  policy::KeyValue value;
  int64_t rows = 0;
};
// At most `limit` values (0 = all) with more than `more_than` rows, the most
// frequent first.  Counted in ctid pieces like ExactCount: with
// pieces.snapshot, exact as of it.  For LIST tables the pieces' counts are
// summed on the server in a temporary table of `conn`'s session, so memory
// here is bounded by what is returned, not by DEFAULT's distinct values.
std::vector<ValueCount> CountDefaultByValue(pg::Connection& conn, const TableInfo& table,
                                            size_t limit = 0, const pg::PieceOptions& pieces = {},
                                            int64_t more_than = 0);

// ForEachPiece options for counting a DEFAULT under `config`: pieces of
// about yield_after / 4 under a statement_timeout of yield_after, lock waits
// under min(lock_timeout, yield_after), one snapshot for all pieces.
pg::PieceOptions CountPieces(const ExecutorConfig& config, const std::atomic<bool>* stop);

}  // namespace partwatch
