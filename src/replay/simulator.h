// The replay engine: feeds a replayed stream (src/replay/source.h) through
// the policy `run` uses, once per what-if scenario, and tallies what piled
// into DEFAULT: rows per value, first and last arrival, rows per minute,
// and what `run` would have done at each threshold crossing.
//
//   Source ─Items─▶ Simulator ─┬─▶ Policy (scenario 1: threshold 100) ─┐
//                              ├─▶ Policy (scenario 2: threshold 1000) ├─▶ Report
//                              └─▶ tally (rows, times, per minute) ────┘
//
// Each scenario's Policy sees exactly the messages `run`'s would (same
// decoder output, same counting: only committed rows; streamed and rolled-
// back sub-transactions as in run).  Its decisions are answered as `run`'s
// executor would, with commit times as the clock:
//  - the table's action is alert: "alert";
//  - a RANGE bucket starting later than the commit time plus max_future:
//    "held by max_future";
//  - max_new_partitions_per_hour partitions already "created" for the table
//    within the hour before the commit: "capped" (the value is decided again
//    at its next commit, as run retries; a later create replaces it);
//  - otherwise "create".  A value decided on is never decided again in its
//    scenario (its rows would now go to its own partition).
//
// De-duplication and restarts (captures, docs/replay.md): a transaction
// whose commit position is not after the last commit fed is a copy the
// server sent again after `run` restarted, and is skipped; a session start
// drops transactions left open (the server sends them again).  --from/--to
// select whole transactions by commit time or position.
//
// Memory: per table, at most max_tracked_values values tallied (the
// policy's Space-Saving bound: values evicted leave a floor, and a value
// seen again starts from it and is marked approximate), one counter per
// minute with rows, and one entry per value that crossed a threshold.
//
// Pure: no I/O, no clock.  Thread-compatible.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "policy/policy.h"
#include "policy/range_key.h"
#include "src/replay/report.h"
#include "src/replay/source.h"

namespace partwatch::replay {

// One table to replay.
struct TableSetup {
  policy::TableRule rule;  // as `run` would build it (threshold replaced per scenario)
  std::string strategy;    // "list" or "range"
  // What-if thresholds, in scenario order; empty = the rule's threshold.
  std::vector<int64_t> thresholds;
  int max_new_partitions_per_hour = 60;
  // RANGE tables with time keys: the horizon (nullopt: none).
  std::optional<policy::RangeInterval> max_future;
};

struct SimulatorOptions {
  std::optional<Lsn> from_lsn;       // commit position >= from_lsn
  std::optional<Lsn> to_lsn;         // commit position <= to_lsn
  std::optional<int64_t> from_time;  // commit time >= (microseconds since 2000)
  std::optional<int64_t> to_time;    // commit time <= to_time
  size_t report_values = 100;        // values listed per table (0: all tallied)
  size_t series_values = 8;          // top values traced for the HTML curves
};

class Simulator {
 public:
  Simulator(std::vector<TableSetup> tables, SimulatorOptions options);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // Feeds one item.  Throws ReplayError for a protocol violation (the
  // message names the position), which a well-formed stream never shows.
  void Feed(const Item& item);

  // New rules for the same tables in the same order (a capture's catalog
  // changed: new partitions, so new bucketer bounds).  Counts are kept.
  void UpdateRules(const std::vector<policy::TableRule>& rules);

  // Second pass: trace the cumulative rows of these values (per table, as
  // TopValues() returned them) for Report::tables[].top_series.  Call
  // before feeding the same stream again into a fresh Simulator.
  void Trace(std::vector<std::vector<policy::KeyValue>> values);

  // The values the HTML curves should trace: per table, the series_values
  // values with the most rows.
  std::vector<std::vector<policy::KeyValue>> TopValues() const;

  // The report for what was fed (sources are the caller's to fill in).
  Report Finish() const;

  int64_t rows_fed() const { return rows_fed_; }
  // Streamed transactions left out because their start was not replayed.
  int64_t orphaned_transactions() const { return orphaned_; }

 private:
  class Tally;
  struct Scenario;

  bool InRange(Lsn commit_lsn, int64_t commit_time) const;
  bool has_time_now() const { return now_.has_value(); }
  void Committed(Lsn commit_lsn, Lsn end_lsn, int64_t commit_time);
  void FeedAll(const pgoutput::Message& message, Lsn lsn);
  void Answer(size_t k, const std::vector<policy::Decision>& decisions);
  DecisionKind Classify(size_t k, const policy::Decision& d);

  std::vector<TableSetup> tables_;
  SimulatorOptions options_;
  std::vector<std::unique_ptr<Scenario>> scenarios_;
  std::unique_ptr<Tally> tally_;

  // De-duplication and range state.
  Lsn high_water_;         // the last commit fed
  bool skipping_ = false;  // inside a non-streamed transaction not fed
  // Streamed transactions whose first chunk came before what was read (a
  // pruned capture, a single segment): their chunks are dropped.
  std::set<pgoutput::Xid> orphans_;
  bool skipping_block_ = false;  // inside a stream block of an orphan
  std::set<pgoutput::Xid> open_streams_;
  int64_t orphaned_ = 0;
  // The commit time of the rows being fed (Begin's, or Stream Commit's);
  // nullopt when the source carries none.
  std::optional<int64_t> now_;
  int64_t transactions_ = 0;
  int64_t rows_fed_ = 0;
  Lsn first_lsn_, last_lsn_;
  std::optional<int64_t> first_time_, last_time_;
};

}  // namespace partwatch::replay
