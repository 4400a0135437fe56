// The replay report: what piled into DEFAULT partitions over a replayed
// stretch of history, and what `run` would have done with each threshold
// asked for.  Plain data, built by the replay engine (src/replay/replay.h)
// and rendered by the sinks below; docs/replay.md documents the JSON shape.
//
// Times are microseconds since 2000-01-01 UTC (PostgreSQL's epoch, as
// pgoutput sends them); nullopt where the source carried no time (a
// wal2json file written without include-timestamp).
//
// The renderers are pure: a Report in, text out; no I/O, no clock.
//
// Added for the renderers: TableReport::decisions (DecisionCounts per
// scenario over every value, since `values` is cut to the report's value
// limit and its crossings alone undercount).  The engine may leave it
// empty; the renderers then count the crossings of `values`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "decoder/lsn.h"
#include "policy/key_value.h"

namespace partwatch::replay {

// What `run` would have done when a value crossed one threshold.
enum class DecisionKind {
  kCreate,     // create the partition and move the rows
  kAlert,      // the table's action is alert
  kMaxFuture,  // a RANGE bucket starting after commit time + max_future: alerted
  kCapped,     // max_new_partitions_per_hour reached within the hour: alerted
};
// "create", "alert", "held by max_future", "capped" (the JSON strings).
const char* DecisionKindName(DecisionKind kind);

struct Crossing {
  size_t scenario = 0;  // index into TableReport::thresholds
  // The threshold that applied: the scenario's, or 0 for a RANGE bucket
  // after pg_partman's newest child (any row there is moved at once).
  int64_t threshold = 0;
  int64_t rows = 0;             // the policy's count at the crossing commit
  Lsn lsn;                      // the commit that crossed it
  std::optional<int64_t> time;  // that commit's time
  DecisionKind decision = DecisionKind::kCreate;
};

struct ValueReport {
  policy::KeyValue value;  // a LIST value, or a RANGE bucket's lower bound
  int64_t rows = 0;        // committed rows that reached DEFAULT
  // True when more distinct values arrived than max_tracked_values and this
  // value's rows may include up to `floor` rows of evicted values.
  bool approximate = false;
  std::optional<int64_t> first_time;
  std::optional<int64_t> last_time;
  std::vector<Crossing> crossings;  // in scenario (threshold) order, at most one each
};

// Cumulative rows of one of the top values over time (the HTML chart).
struct Series {
  policy::KeyValue value;
  std::vector<std::pair<int64_t, int64_t>> points;  // (time, cumulative rows), time ascending
};

// How one scenario decided, over every value of a table.
struct DecisionCounts {
  int64_t create = 0;
  int64_t alert = 0;
  int64_t max_future = 0;  // DecisionKind::kMaxFuture
  int64_t capped = 0;
};

struct TableReport {
  std::string name;                 // "public.orders"
  std::string strategy;             // "list" or "range"
  std::vector<int64_t> thresholds;  // one per scenario, the order of crossings
  int64_t rows = 0;                 // committed rows into DEFAULT, all values
  int64_t distinct_values = 0;      // values (buckets) seen, as far as tracked
  int64_t truncates = 0;            // committed TRUNCATEs of DEFAULT
  std::vector<int64_t> truncate_times;
  // Sorted by rows, highest first; at most the report's value limit.
  std::vector<ValueReport> values;
  int64_t other_values = 0;  // values left out of `values`
  // Rows per minute: (minute start, rows), ascending, minutes with rows only.
  std::vector<std::pair<int64_t, int64_t>> rows_per_minute;
  // For the HTML report: the top values' cumulative curves (may be empty).
  std::vector<Series> top_series;
  // One per scenario, in `thresholds` order, counting every value (those in
  // other_values too).  Empty, or not one per threshold: the renderers count
  // the crossings of `values` instead (exact when other_values == 0).
  std::vector<DecisionCounts> decisions;
};

struct SourceReport {
  std::string name;                   // file or directory path, or "slot NAME"
  std::string kind;                   // "capture", "wal2json", "slot"
  int64_t records = 0;                // records / lines / changes read
  int64_t skipped = 0;                // damaged records skipped (--skip-bad)
  std::vector<std::string> warnings;  // torn tails and the like
};

struct Report {
  std::vector<SourceReport> sources;
  Lsn first_lsn;  // first and last position replayed (invalid when unknown)
  Lsn last_lsn;
  std::optional<int64_t> first_time;
  std::optional<int64_t> last_time;
  int64_t transactions = 0;  // committed transactions replayed
  std::vector<TableReport> tables;
};

// Renderers (src/replay/render_*.cc).
std::string RenderText(const Report& report);
std::string RenderJson(const Report& report);  // docs/replay.md, "JSON shape"
std::string RenderCsv(const Report& report);   // one row per (table, value, scenario)
// One self-contained HTML page: inline CSS and SVG, no script from anywhere
// and no network reference; readable at 1280 px and printed.
std::string RenderHtml(const Report& report);

// A time in microseconds since 2000-01-01 as ISO-8601 UTC:
// "2026-12-02T16:09:57.123456Z", or "2026-12-02T16:09:57Z" when the
// fraction is 0.
std::string FormatTime(int64_t micros_since_2000);

}  // namespace partwatch::replay
