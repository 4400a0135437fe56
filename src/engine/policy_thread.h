// `run`'s policy thread: drives the Engine from the live stream and keeps
// what it decides in step with the database and the configuration.
//
// It first decides on the counts seeded at start-up (DecideAll).  Besides
// feeding every WalEvent of its Source to the Engine and handing the
// decisions to its Sink (the executor), it
//  - re-reads the catalog when the stream names an unknown relation and
//    after a partition was created (outcomes from the executor);
//  - recounts RANGE tables whose partitions changed under it (a row fell
//    inside a known partition: pg_partman retention dropped one);
//  - applies reloads the main thread checked (new rules, limits, log level);
//  - decides again, every 30 s, on values a failed move left over their
//    threshold;
//  - publishes the accounted-for position the reader confirms to the server.
//
// It owns the session's catalog connection.  It ends when its source is
// finished (the reader thread ended) and drained, or on an error, which it
// reports through SessionErrors: kFatal for an undecodable stream, else
// kTransient.  The destructor stops and joins it.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "src/capture/writer.h"
#include "src/config.h"
#include "src/engine/engine.h"
#include "src/engine/observer.h"
#include "src/pg/connection.h"
#include "src/replication/stream.h"
#include "src/session/state.h"

namespace partwatch::engine {

// The reader thread's queue as a Source; finished once `reader_done` is set
// and the queue is empty.
class QueueSource : public Source {
 public:
  QueueSource(replication::WalQueue& queue, const std::atomic<bool>& reader_done)
      : queue_(queue), reader_done_(reader_done) {}
  size_t Read(std::span<replication::WalEvent> out, std::chrono::milliseconds wait) override;
  bool Finished() const override;

 private:
  replication::WalQueue& queue_;
  const std::atomic<bool>& reader_done_;
};

struct PolicyThreadContext {
  std::shared_ptr<const Config> config;  // the session's
  session::SharedCatalog* catalog = nullptr;
  session::ReloadMailbox* reloads = nullptr;
  session::ConfigInForce* config_in_force = nullptr;  // a reload replaces it
  bool fixed_log_level = false;                       // --log-level: [log] level is ignored
  session::OutcomeQueue* outcomes = nullptr;
  std::atomic<uint64_t>* accounted = nullptr;  // what the reader confirms
  session::SessionErrors* errors = nullptr;
  const std::atomic<bool>* stop = nullptr;  // the process's stop request, for long recounts
  Observer* observer = nullptr;             // told rows, commits, decisions, counts
  // [capture]: every event is recorded before it is counted, and the
  // position published in `accounted` is the capture's durable one
  // (src/capture/writer.h).  Null: no capture.
  capture::Writer* capture = nullptr;
};

class PolicyThread {
 public:
  // Starts the thread.  `engine`, `source`, `sink` and everything `context`
  // points to must outlive this object.
  PolicyThread(Engine& engine, pg::Connection catalog_conn, Source& source, Sink& sink,
               PolicyThreadContext context);
  ~PolicyThread();  // requests a stop, then joins
  PolicyThread(const PolicyThread&) = delete;
  PolicyThread& operator=(const PolicyThread&) = delete;

  // Waits until the thread ended by itself (its source finished).
  void Join();

 private:
  void Run(std::stop_token stop);
  void Loop(std::stop_token stop);
  void RefreshCatalog();
  void ApplyReload(session::PendingReload reload);
  void Recount(size_t table);
  void Decided(std::vector<policy::Decision> decisions, const char* without_commit);
  // Tells the observer the rows streamed and the last commit since the last
  // call, and, at most once a second, what DEFAULT holds per value.
  void Observe();
  // Publishes the accounted-for position (the capture's durable one when
  // capturing); `force` fsyncs the capture first.
  void Publish(bool force);
  void CaptureFailed(const std::exception& e);

  Engine& engine_;
  pg::Connection catalog_conn_;
  Source& source_;
  Sink& sink_;
  PolicyThreadContext ctx_;
  std::shared_ptr<const Config> current_;  // the session's, then each reload's
  std::vector<int64_t> observed_rows_;     // committed_rows() last told, per table
  int64_t observed_commit_time_ = 0;
  std::chrono::steady_clock::time_point next_counts_{};
  std::jthread thread_;  // last: started once the rest is set
};

}  // namespace partwatch::engine
