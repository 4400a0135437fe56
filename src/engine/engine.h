// The engine: what partwatch does with a replication stream, whatever the
// stream's origin and whoever acts on the result.  Decoder + policy:
//
//   Source ──WalEvents──▶ Engine (pgoutput decoder → policy) ──▶ Sink(s)
//
// A Source hands over replication messages (the live reader thread's queue
// today; a capture file, a wal2json file, a slot peek or WAL segments for
// replay).  The Engine decodes each pgoutput message, counts the inserts
// that landed in DEFAULT partitions and decides when a value or bucket
// crossed its threshold.  Sinks receive the decisions: `run`'s executor;
// alerts, metrics and reports plug in the same way.
//
// Engine does no I/O and owns no thread: `run` drives it from its policy
// thread (src/engine/policy_thread.h), a replay would drive it from a loop
// over a file.  Thread-safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "decoder/lsn.h"
#include "decoder/pgoutput.h"
#include "policy/policy.h"
#include "src/replication/stream.h"

namespace partwatch::engine {

// The stream cannot be decoded or violates the protocol: retrying the same
// bytes cannot help (the session ends as a fatal error).
class EngineError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where replication messages come from.
class Source {
 public:
  virtual ~Source() = default;
  // Fills `out` with up to out.size() events, waiting at most `wait` for the
  // first; returns how many (0: none within `wait`).
  virtual size_t Read(std::span<replication::WalEvent> out, std::chrono::milliseconds wait) = 0;
  // True once no event will come any more (the reader thread ended, the file
  // is read to its end) and Read() returned everything before that.
  virtual bool Finished() const = 0;
};

// Where the engine's results go.  Called on the thread that drives the
// engine; a sink must not block for long (hand work to a thread of its own).
class Sink {
 public:
  virtual ~Sink() = default;
  // Decisions the policy made, in order, already logged.
  virtual void OnDecisions(std::vector<policy::Decision> decisions) = 0;
};

// One INFO line per decision.  `without_commit` says when decisions no
// commit crossed (DecideAll's) were made ("at start-up").
void LogDecisions(const std::vector<policy::Decision>& decisions,
                  const std::vector<policy::TableRule>& rules,
                  const char* without_commit = "at start-up");

class Engine {
 public:
  // `proto_version`: the pgoutput protocol version the stream was started
  // with (1 or 2).
  Engine(std::vector<policy::TableRule> rules, int proto_version);

  policy::Policy& policy() { return policy_; }
  const policy::Policy& policy() const { return policy_; }

  // Feeds one event: a keepalive marks the stream idle at its WAL end; a
  // data event's pgoutput message is decoded and counted.  Returns the
  // policy's output for it (empty for a keepalive).  Throws EngineError for
  // an undecodable message or a protocol violation, naming the LSN.
  policy::PolicyOutput OnEvent(const replication::WalEvent& event);

  // Highest position whose effects are fully counted (policy.h).
  Lsn accounted() const { return policy_.accounted_lsn(); }

 private:
  pgoutput::PgOutputDecoder decoder_;
  policy::Policy policy_;
};

}  // namespace partwatch::engine
