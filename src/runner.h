// `partwatch run`: wires the three threads together.
//
//   reader thread ──WalQueue──▶ policy thread ──DecisionQueue──▶ executor thread
//        ▲                          │  ▲                              │
//        └── accounted LSN (atomic) ┘  └────────OutcomeQueue──────────┘
//
// The reader only moves bytes and answers the server; the policy thread
// decodes, counts and decides (and refreshes the catalog when the stream
// names an unknown relation); the executor acts on its own connection.
// docs/architecture.md has the picture and the reasons.
#pragma once

#include <atomic>

#include "src/config.h"

namespace partwatch {

// Set by SIGINT/SIGTERM (InstallStopSignalHandlers) or by a fatal error.
std::atomic<bool>& StopRequested();
void InstallStopSignalHandlers();

// Runs until a stop is requested (returns 0) or a fatal error (returns 1,
// after logging what happened and what to do).  Connection loss, a server
// restart, a terminated backend, a slot held by another process or a lost
// slot end the session; with `loop` a new one starts after a capped
// exponential backoff (0.5 s doubling to 10 s), recounting DEFAULT, so
// nothing is lost or doubled.  Fatal: bad tables, wal_level, privileges, an
// undecodable stream.  The hourly flood cap (max_new_partitions_per_hour)
// counts for the process, across sessions.
int RunWatcher(const Config& config, bool loop);

// `partwatch setup` / `teardown`: create or drop the slot and publication.
int RunSetup(const Config& config);
int RunTeardown(const Config& config);

}  // namespace partwatch
