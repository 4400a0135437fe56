#include "src/partition_sql.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "policy/naming.h"
#include "policy/partman_gap.h"

namespace partwatch {

namespace {

// Most partitions created to fill a pg_partman gap after one decision.
constexpr size_t kMaxGapFill = 1000;

}  // namespace

std::string QuotedDefault(pg::Connection& conn, const TableInfo& table) {
  return conn.QuoteQualified(table.default_partition.nspname, table.default_partition.relname);
}

int64_t AdvisoryLockKey(uint32_t parent_oid) {
  return static_cast<int64_t>((uint64_t{0x7077} << 32) | parent_oid);
}

PartitionSpec SpecFor(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value) {
  const KeyColumn& key = table.key.at(0);
  const std::string col = conn.QuoteIdent(key.name);
  PartitionSpec spec;
  if (!table.range) {
    if (value.is_null()) {
      spec.where_sql = col + " IS NULL";
      spec.bound_sql = "FOR VALUES IN (NULL)";
    } else {
      const std::string lit = conn.QuoteLiteral(*value.text);
      spec.where_sql = col + " = " + lit;
      spec.bound_sql = "FOR VALUES IN (" + lit + ")";
    }
    return spec;
  }
  if (value.is_null()) throw pg::PgError("a RANGE bucket cannot be NULL", "");
  const std::optional<policy::Bucket> bucket = table.range->bucketer->BucketOf(*value.text);
  if (!bucket) {
    throw pg::PgError("value " + value.ForLog() + " falls in no bucket of " + table.DisplayName() +
                          " (inside an existing partition?)",
                      "");
  }
  spec.bucket = bucket;
  // Typed literals: compared with the key's own type, never as text.
  const std::string lo = conn.QuoteLiteral(bucket->lo_literal) + "::" + key.type_name;
  const std::string hi = conn.QuoteLiteral(bucket->hi_literal) + "::" + key.type_name;
  spec.where_sql = col + " >= " + lo + " AND " + col + " < " + hi;
  spec.bound_sql = "FOR VALUES FROM (" + conn.QuoteLiteral(bucket->lo_literal) + ") TO (" +
                   conn.QuoteLiteral(bucket->hi_literal) + ")";
  return spec;
}

std::string BaseName(const TableInfo& table, const std::string& name_template,
                     const policy::KeyValue& value, const PartitionSpec& spec) {
  if (!table.range) {
    return policy::PartitionName(
        name_template.empty() ? std::string(policy::kDefaultNameTemplate) : name_template,
        table.relname, value);
  }
  const RangeSpec& range = *table.range;
  if (range.partman) {
    return policy::PartmanName(table.relname, range.partman->datetime_string, *spec.bucket,
                               range.type);
  }
  return policy::RangePartitionName(range.name_template, table.relname, *spec.bucket, range.type);
}

int64_t ExactCount(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value,
                   const pg::PieceOptions& pieces) {
  const PartitionSpec spec = SpecFor(conn, table, value);
  const std::string def = QuotedDefault(conn, table);
  int64_t rows = 0;
  pg::ForEachPiece(
      conn, def,
      [&](const std::string& where) {
        return "SELECT count(*) FROM ONLY " + def + " WHERE " + where + " AND " + spec.where_sql;
      },
      [&](const pg::QueryResult& r) { rows += r.int64(0, 0); }, pieces);
  return rows;
}

namespace {

// For a RANGE table: the GROUP BY that splits DEFAULT's rows into groups
// each lying inside one bucket, so seeding reads one row per group, not per
// row: a cell of the aligned grid no coarser than the interval (a day for
// daily buckets, the aligned cell itself for fixed widths) and, because
// buckets are clipped at partition bounds, the region between two bounds.
// Each group's min(key) then names its bucket.
std::string GroupByForBuckets(pg::Connection& conn, const TableInfo& table) {
  const RangeSpec& range = *table.range;
  const policy::Bucketer& bucketer = *range.bucketer;
  const policy::RangeInterval& iv = bucketer.interval();
  const std::string col = conn.QuoteIdent(table.key.at(0).name);
  const std::string& type = table.key.at(0).type_name;
  std::string cell;
  switch (range.type) {
    case policy::RangeKeyType::kInteger:
      cell = "floor((" + col + "::numeric - " + std::to_string(bucketer.origin()) + ") / " +
             std::to_string(iv.width) + ")";
      break;
    case policy::RangeKeyType::kDate:
      cell = iv.months > 0 ? "date_trunc('month', " + col + ")" : col;
      break;
    case policy::RangeKeyType::kTimestamp:
    case policy::RangeKeyType::kTimestampTz:
      if (iv.months > 0) {
        cell = "date_trunc('month', " + col + ")";
      } else if (iv.days > 0) {
        cell = "date_trunc('day', " + col + ")";
      } else {
        cell = "date_bin(make_interval(secs => " + std::to_string(iv.micros) + " / 1e6), " + col +
               ", " + conn.QuoteLiteral(bucketer.FormatPoint(bucketer.origin())) + "::" + type +
               ")";
      }
      break;
  }
  std::vector<std::pair<int64_t, std::string>> bounds;
  for (const policy::ExistingPartition& p : bucketer.partitions()) {
    if (!p.lo_literal.empty()) bounds.emplace_back(p.lo, p.lo_literal);
    if (!p.hi_literal.empty()) bounds.emplace_back(p.hi, p.hi_literal);
  }
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end(),
                           [](const auto& x, const auto& y) { return x.first == y.first; }),
               bounds.end());
  if (bounds.empty()) return cell;
  std::string array;
  for (const auto& [point, literal] : bounds) {
    array += (array.empty() ? "" : ", ") + conn.QuoteLiteral(literal);
  }
  return cell + ", width_bucket(" + col + ", ARRAY[" + array + "]::" + type + "[])";
}

// format('%s', x) uses the type's output function: the text pgoutput sends
// (a plain ::text cast differs for some types, e.g. boolean).
std::string ListValueSql(const std::string& col) {
  return "CASE WHEN " + col + " IS NULL THEN NULL ELSE format('%s', " + col + ") END";
}

// A temporary table on `conn`'s session that holds per-piece counts; dropped
// when this goes (best effort: a lost session drops it anyway).
class TempCounts {
 public:
  explicit TempCounts(pg::Connection& conn) : conn_(conn) {
    static std::atomic<uint64_t> serial{0};
    name_ = "pg_temp.partwatch_counts_" + std::to_string(serial.fetch_add(1));
    conn_.Exec("CREATE TEMPORARY TABLE " + name_ + " (v text, n bigint)");
  }
  ~TempCounts() {
    try {
      conn_.Exec("DROP TABLE IF EXISTS " + name_);
    } catch (const pg::PgError&) {
    }
  }
  TempCounts(const TempCounts&) = delete;
  TempCounts& operator=(const TempCounts&) = delete;
  const std::string& name() const { return name_; }

 private:
  pg::Connection& conn_;
  std::string name_;
};

// LIST tables: rows per value.  The pieces' counts are summed on the server
// in a temporary table, so partwatch's memory does not grow with the number
// of distinct values in DEFAULT (a flood of a million new values is a
// million groups): only the values asked for come back.  A role that may
// not create temporary tables (no TEMP privilege, or a read-only server)
// sums them here instead, in about 100 bytes per distinct value.
std::vector<ValueCount> CountListDefault(pg::Connection& conn, const TableInfo& table,
                                         const std::string& def, const std::string& col,
                                         size_t limit, int64_t more_than,
                                         const pg::PieceOptions& pieces) {
  std::vector<ValueCount> out;
  std::optional<TempCounts> temp;
  try {
    temp.emplace(conn);
  } catch (const pg::PgError& e) {
    if (e.sqlstate() != pg::kInsufficientPrivilege && e.sqlstate() != pg::kReadOnlyTransaction) {
      throw;
    }
    static std::once_flag warned;
    std::call_once(warned, [&] {
      spdlog::warn(
          "table {}: cannot create a temporary table ({}); DEFAULT's rows per value are summed in "
          "partwatch's memory instead, about 100 bytes per distinct value (GRANT TEMPORARY ON "
          "DATABASE to partwatch's role to bound it)",
          table.DisplayName(), e.what());
    });
  }
  const std::string value = ListValueSql(col);
  if (temp) {
    pg::ForEachPiece(
        conn, def,
        [&](const std::string& where) {
          return "INSERT INTO " + temp->name() + " SELECT " + value + ", count(*) FROM ONLY " +
                 def + " WHERE " + where + " GROUP BY 1";
        },
        [](const pg::QueryResult&) {}, pieces);
    const pg::QueryResult r = conn.ExecParams(
        "SELECT v, sum(n)::bigint FROM " + temp->name() +
            " GROUP BY v HAVING sum(n) > $1::bigint ORDER BY 2 DESC, v COLLATE \"C\" NULLS LAST" +
            (limit ? " LIMIT " + std::to_string(limit) : ""),
        {std::to_string(more_than)});
    out.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) {
      out.push_back(ValueCount{
          r.is_null(i, 0) ? policy::KeyValue::Null() : policy::KeyValue::Of(r.text(i, 0)),
          r.int64(i, 1)});
    }
    return out;
  }
  std::unordered_map<std::string, int64_t> per_value;
  int64_t nulls = 0;
  pg::ForEachPiece(
      conn, def,
      [&](const std::string& where) {
        return "SELECT " + value + " AS v, count(*) FROM ONLY " + def + " WHERE " + where +
               " GROUP BY 1";
      },
      [&](const pg::QueryResult& r) {
        for (int i = 0; i < r.rows(); ++i) {
          if (r.is_null(i, 0)) {
            nulls += r.int64(i, 1);
          } else {
            per_value[r.text(i, 0)] += r.int64(i, 1);
          }
        }
      },
      pieces);
  for (auto& [v, n] : per_value) {
    if (n > more_than) out.push_back(ValueCount{policy::KeyValue::Of(v), n});
  }
  if (nulls > more_than) out.push_back(ValueCount{policy::KeyValue::Null(), nulls});
  return out;
}

}  // namespace

std::vector<ValueCount> CountDefaultByValue(pg::Connection& conn, const TableInfo& table,
                                            size_t limit, const pg::PieceOptions& pieces,
                                            int64_t more_than) {
  const std::string def = QuotedDefault(conn, table);
  const std::string col = conn.QuoteIdent(table.key.at(0).name);
  std::vector<ValueCount> out;
  if (table.range) {
    // Group in SQL so that each group lies in one bucket, then map each
    // group (by its smallest key) to its bucket here.
    const std::string group_by = GroupByForBuckets(conn, table);
    std::unordered_map<std::string, int64_t> per_bucket;
    pg::ForEachPiece(
        conn, def,
        [&](const std::string& where) {
          return "SELECT format('%s', min(" + col + ")), count(*) FROM ONLY " + def + " WHERE " +
                 where + " AND " + col + " IS NOT NULL GROUP BY " + group_by;
        },
        [&](const pg::QueryResult& r) {
          for (int i = 0; i < r.rows(); ++i) {
            std::optional<policy::Bucket> b = table.range->bucketer->BucketOf(r.value(i, 0));
            if (b) per_bucket[b->lo_literal] += r.int64(i, 1);
          }
        },
        pieces);
    for (auto& [lo, n] : per_bucket) {
      if (n > more_than) out.push_back(ValueCount{policy::KeyValue::Of(lo), n});
    }
  } else {
    out = CountListDefault(conn, table, def, col, limit, more_than, pieces);
  }
  // The most frequent first; ties by value's bytes, NULL last.
  std::sort(out.begin(), out.end(), [](const ValueCount& a, const ValueCount& b) {
    if (a.rows != b.rows) return a.rows > b.rows;
    if (a.value.is_null() != b.value.is_null()) return b.value.is_null();
    return !a.value.is_null() && *a.value.text < *b.value.text;
  });
  if (limit && out.size() > limit) out.resize(limit);
  return out;
}

std::string ChooseFreeName(pg::Connection& conn, const std::string& nspname,
                           const std::string& base, const std::set<std::string>& taken) {
  // A relation of that name may already exist (a user's table, or another
  // value whose name was cut to the same 63 bytes): add a counter.
  for (int k = 0; k < 100; ++k) {
    std::string candidate = base;
    if (k > 0) {
      const std::string suffix = "_" + std::to_string(k);
      // Never splits a UTF-8 character ({parent} may hold any).
      candidate = policy::CutUtf8(base, policy::kMaxIdentifierBytes - suffix.size()) + suffix;
    }
    if (taken.count(candidate)) continue;
    pg::QueryResult r = conn.ExecParams(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2",
        {nspname, candidate});
    if (r.rows() == 0) return candidate;
  }
  throw pg::PgError("no free partition name near '" + base + "' in schema " + nspname, "");
}

bool BeyondHorizon(pg::Connection& conn, const TableInfo& table, const policy::KeyValue& value) {
  if (!table.range || table.range->max_future.empty() || value.is_null()) return false;
  const std::string& type = table.key.at(0).type_name;
  pg::QueryResult r = conn.ExecParams("SELECT $1::" + type + " > now() + $2::interval",
                                      {*value.text, table.range->max_future});
  return r.value(0, 0) == "t";
}

std::vector<policy::KeyValue> PartmanGap(const TableInfo& table, const policy::KeyValue& value) {
  if (!table.range || !table.range->partman || !table.range->newest_end) return {};
  policy::PartmanGapResult gap =
      policy::PartmanGap(*table.range->bucketer, *table.range->newest_end, value, kMaxGapFill);
  if (gap.truncated) {
    spdlog::warn(
        "table {} bucket {}: more than {} pg_partman children missing before it; filling the "
        "first {} (the rest after the next decision)",
        table.DisplayName(), value.ForLog(), kMaxGapFill, kMaxGapFill);
  }
  return std::move(gap.buckets);
}

pg::PieceOptions CountPieces(const ExecutorConfig& config, const std::atomic<bool>* stop) {
  pg::PieceOptions pieces;
  pieces.limit = config.yield_after;
  pieces.target = std::max(std::chrono::milliseconds(1), config.yield_after / 4);
  pieces.lock_timeout = std::min(config.lock_timeout, config.yield_after);
  pieces.page_limit = std::max(config.statement_timeout, config.yield_after);
  pieces.stop = stop;
  return pieces;
}

}  // namespace partwatch
