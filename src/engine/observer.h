// What `run`'s threads report as they work, for whoever watches from
// outside the process (metrics today: src/metrics/metrics.h).  Beside
// engine::Sink, which receives decisions to act on, an Observer only
// watches: nothing it does changes what partwatch decides or moves.
//
// Contract for implementations: every method may be called from any of the
// session's threads (the main thread, the policy thread, the executor
// thread), concurrently, and must return at once: no I/O, no lock held for
// longer than a map lookup.  The calls are made per batch of events, per
// decision, per action or per check, never per row.  The default methods do
// nothing, so `Observer` itself is the "nobody watches" observer.
//
// Tables are named as the catalog shows them ("public.orders").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace partwatch::engine {

// What the policy counts in one table's DEFAULT partition.
struct DefaultCounts {
  std::string table;
  // The values (RANGE: bucket lower bounds) with the most rows, highest
  // first, at most as many as the observer asked for (MaxValuesPerTable).
  std::vector<std::pair<policy::KeyValue, int64_t>> top;
  size_t other_values = 0;  // values held but not in `top`
  int64_t rows = 0;         // the sum of every held value's count
};

// One action the executor finished.
struct ActionReport {
  std::string table;
  policy::Outcome::Kind kind = policy::Outcome::Kind::kFailed;
  bool moved = false;  // kDone by creating a partition and moving rows
  int64_t moved_rows = 0;
  // Longest write-blocking lock of the move.
  double lock_held_seconds = 0;
  // From the commit that crossed the threshold to the rows moved; nullopt
  // for decisions no commit made (at start-up, after a reload).
  std::optional<double> since_commit_seconds;
};

class Observer {
 public:
  virtual ~Observer() = default;

  // Main thread.  The session is streaming (START_REPLICATION succeeded),
  // or stopped streaming (it ended, for whatever reason).
  virtual void OnStreaming(bool /*streaming*/) {}
  // The configured tables of the session about to stream.
  virtual void OnTables(const std::vector<std::string>& /*tables*/) {}
  // The slot monitor's latest look at the slot: the server's WAL position
  // less confirmed_flush_lsn, and less restart_lsn.
  virtual void OnSlot(int64_t /*confirmed_lag_bytes*/, int64_t /*retained_bytes*/) {}
  // The process's loops are alive (called every few hundred milliseconds
  // by the loop waiting in the foreground).
  virtual void OnAlive() {}

  // Policy thread.  `rows` more committed rows were streamed into `table`'s
  // DEFAULT.
  virtual void OnStreamedRows(const std::string& /*table*/, int64_t /*rows*/) {}
  // The timestamp of the last commit the policy merged (Unix seconds).
  virtual void OnCommitTime(double /*unix_seconds*/) {}
  // Decisions, as handed to the sinks.
  virtual void OnDecisions(const std::vector<policy::Decision>& /*decisions*/,
                           const std::vector<policy::TableRule>& /*rules*/) {}
  // How many values per table OnDefaultCounts wants; 0: none (do not call).
  virtual size_t MaxValuesPerTable() const { return 0; }
  // What the policy counts in DEFAULT, per table; at most once a second.
  virtual void OnDefaultCounts(std::vector<DefaultCounts> /*counts*/) {}

  // Executor thread.  One decision carried out.
  virtual void OnAction(const ActionReport& /*report*/) {}
};

}  // namespace partwatch::engine
