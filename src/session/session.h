// One `run` session: connect, check the server and the tables, find or
// create the slot and the publication, count DEFAULT, then stream with three
// threads until a stop or an error:
//
//   reader thread ──WalQueue──▶ policy thread (engine) ──DecisionQueue──▶ executor thread
//        ▲                          │  ▲                                     │
//        └── accounted LSN (atomic) ┘  └──────────────OutcomeQueue───────────┘
//
// while the calling thread watches for a stop request, SIGHUP and the slot
// (SlotMonitor).  Every connection and thread it makes is gone when it
// returns.  RunWatcher (src/runner.h) runs sessions in a loop.
#pragma once

#include <string>

#include "src/config.h"
#include "src/engine/observer.h"
#include "src/executor/rate_limit.h"
#include "src/session/state.h"

namespace partwatch::alerts {
class Rechecker;
}

namespace partwatch::session {

struct SessionResult {
  SessionEnd end = SessionEnd::kStopped;
  std::string message;
  bool streamed = false;  // reached START_REPLICATION
};

// What outlives one session: the configuration in force and the flood
// guard's memory.
struct ProcessState {
  ConfigInForce& config;
  executor::PartitionRateLimiter& limiter;
  bool fixed_log_level = false;  // --log-level given: [log] level is ignored
  // Watches the sessions (metrics); never null (an engine::Observer itself
  // watches nothing).
  engine::Observer* observer = nullptr;
  // Recounts the values of firing alerts; null when nobody needs it.
  alerts::Rechecker* rechecker = nullptr;
};

// Runs one session with the configuration in force when it starts; a SIGHUP
// while it streams replaces the settings that apply at once
// (docs/configuration.md, "Reloading") for it and the sessions after it.
// `first`: the first session of the process (logs the tables at INFO).
SessionResult RunSession(ProcessState& process, bool first);

}  // namespace partwatch::session
