// `run`'s executor thread: takes the engine's decisions off a queue, acts
// on each with an Executor on a connection of its own, and reports the
// outcome back to the policy thread.
//
// Each decision is carried out on the table as it is now (re-described
// before acting), with the [executor] and [drain] settings of the latest
// reload.  A lost connection ends the session (kTransient, through
// SessionErrors); the next session reconnects and recounts.  It runs until
// `stop`; the destructor stops and joins it.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "src/config.h"
#include "src/engine/engine.h"
#include "src/engine/observer.h"
#include "src/executor/rate_limit.h"
#include "src/session/state.h"

namespace partwatch::executor {

class Executor;

// The engine's decisions, queued for the executor thread.
class DecisionSink : public engine::Sink {
 public:
  explicit DecisionSink(session::DecisionQueue& queue) : queue_(queue) {}
  void OnDecisions(std::vector<policy::Decision> decisions) override {
    for (auto& d : decisions) queue_.enqueue(std::move(d));
  }

 private:
  session::DecisionQueue& queue_;
};

class ExecutorThread {
 public:
  // Starts the thread.  Everything passed by reference must outlive this
  // object; `limiter` is the process's (shared across sessions).
  ExecutorThread(std::shared_ptr<const Config> config, session::SharedCatalog& catalog,
                 session::DecisionQueue& decisions, session::OutcomeQueue& outcomes,
                 PartitionRateLimiter& limiter, const std::atomic<bool>& stop,
                 session::SessionErrors& errors, engine::Observer& observer);
  ~ExecutorThread();  // joins (the caller sets `stop` first)
  ExecutorThread(const ExecutorThread&) = delete;
  ExecutorThread& operator=(const ExecutorThread&) = delete;

  // Waits until the thread ended (after `stop`: once the action in flight
  // ended).
  void Join();

 private:
  void Run();
  // Tells the observer what Execute() did with `decision`.
  void Report(const Executor& exec, const TableInfo& table, const policy::Decision& decision,
              const policy::Outcome& outcome, int64_t threshold);

  std::shared_ptr<const Config> config_;
  session::SharedCatalog& catalog_;
  session::DecisionQueue& decisions_;
  session::OutcomeQueue& outcomes_;
  PartitionRateLimiter& limiter_;
  const std::atomic<bool>& stop_;
  session::SessionErrors& errors_;
  engine::Observer& observer_;
  std::jthread thread_;  // last: started once the rest is set
};

}  // namespace partwatch::executor
