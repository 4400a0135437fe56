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

#include <algorithm>
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

// What an action raised an alert about (today's ALERT WARN lines and
// failures), for the alert manager (src/alerts/).
enum class ActionAlert {
  kNone,
  kThresholdCrossed,  // action = "alert": the exact count is over the threshold
  kOutlierHeld,       // a RANGE bucket beyond max_future was not created
  kRateCapped,        // max_new_partitions_per_hour stopped a creation
  kFailed,            // the create-and-move or drain failed or gave up
};

// One action the executor finished.
struct ActionReport {
  std::string table;
  // The DEFAULT partition, schema-qualified ("public.orders_other").
  std::string default_partition;
  policy::KeyValue value;
  int64_t threshold = 0;
  // Exact rows of the value in DEFAULT (kAlerted, kBelowThreshold); the
  // streamed count for a capped decision.
  int64_t rows = 0;
  ActionAlert alert = ActionAlert::kNone;
  std::string error;               // kFailed: the error text
  std::string partition;           // moved: the partition created, schema-qualified
  bool online = false;             // moved by the online drain
  std::string commit_lsn;          // the commit that crossed the threshold; "" at start-up
  double commit_unix_seconds = 0;  // its timestamp; 0 at start-up
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

  // Main thread.  The slot's wal_status at the last check ("reserved",
  // "extended", "unreserved", "lost").
  virtual void OnWalStatus(const std::string& /*wal_status*/) {}

  // The alert manager's own reports (src/alerts/), for the metrics.
  // One delivery attempt's end on `channel` ("webhook", "alertmanager",
  // "notify"): "delivered", "retried", "dropped" (a 4xx, or superseded),
  // "overflow" (the queue was full).
  virtual void OnAlertDelivery(const std::string& /*channel*/, const std::string& /*result*/) {}
  // How many alerts named `alertname` fire now.
  virtual void OnAlertsFiring(const std::string& /*alertname*/, int64_t /*firing*/) {}
};

// Tells every observer in turn (metrics and alerts).  The observers must
// outlive it.
class FanoutObserver : public Observer {
 public:
  explicit FanoutObserver(std::vector<Observer*> observers) : observers_(std::move(observers)) {}
  void OnStreaming(bool s) override {
    for (Observer* o : observers_) o->OnStreaming(s);
  }
  void OnTables(const std::vector<std::string>& t) override {
    for (Observer* o : observers_) o->OnTables(t);
  }
  void OnSlot(int64_t lag, int64_t retained) override {
    for (Observer* o : observers_) o->OnSlot(lag, retained);
  }
  void OnAlive() override {
    for (Observer* o : observers_) o->OnAlive();
  }
  void OnStreamedRows(const std::string& t, int64_t rows) override {
    for (Observer* o : observers_) o->OnStreamedRows(t, rows);
  }
  void OnCommitTime(double s) override {
    for (Observer* o : observers_) o->OnCommitTime(s);
  }
  void OnDecisions(const std::vector<policy::Decision>& d,
                   const std::vector<policy::TableRule>& r) override {
    for (Observer* o : observers_) o->OnDecisions(d, r);
  }
  size_t MaxValuesPerTable() const override {
    size_t n = 0;
    for (const Observer* o : observers_) n = std::max(n, o->MaxValuesPerTable());
    return n;
  }
  void OnDefaultCounts(std::vector<DefaultCounts> counts) override {
    const size_t most = MaxValuesPerTable();
    for (Observer* o : observers_) {
      const size_t n = o->MaxValuesPerTable();
      if (n == 0) continue;
      if (n >= most) {
        o->OnDefaultCounts(counts);
        continue;
      }
      std::vector<DefaultCounts> cut = counts;  // each observer sees no more than it asked for
      for (DefaultCounts& c : cut) {
        if (c.top.size() > n) {
          c.other_values += c.top.size() - n;
          c.top.resize(n);
        }
      }
      o->OnDefaultCounts(std::move(cut));
    }
  }
  void OnAction(const ActionReport& r) override {
    for (Observer* o : observers_) o->OnAction(r);
  }
  void OnWalStatus(const std::string& s) override {
    for (Observer* o : observers_) o->OnWalStatus(s);
  }
  void OnAlertDelivery(const std::string& c, const std::string& r) override {
    for (Observer* o : observers_) o->OnAlertDelivery(c, r);
  }
  void OnAlertsFiring(const std::string& n, int64_t f) override {
    for (Observer* o : observers_) o->OnAlertsFiring(n, f);
  }

 private:
  std::vector<Observer*> observers_;
};

}  // namespace partwatch::engine
