// `partwatch run`: the process around the sessions (src/session/session.h):
// signals, and a new session after each one a connection loss or a server
// restart ended.  docs/architecture.md has the picture and the reasons.
#pragma once

#include <atomic>

#include "src/config.h"

namespace partwatch {

// Set by SIGINT/SIGTERM (InstallRunSignalHandlers) or by a fatal error.
std::atomic<bool>& StopRequested();
// Set by SIGHUP; a streaming session takes it (exchange(false)) and reads
// the configuration file again.
std::atomic<bool>& ReloadRequested();
// SIGINT and SIGTERM request a stop; SIGHUP requests a reload of the
// configuration file; SIGPIPE is ignored.  The handlers only set atomic
// flags: the work happens on RunWatcher's threads.
void InstallRunSignalHandlers();

// Runs until a stop is requested (returns 0) or a fatal error (returns 1,
// after logging what happened and what to do).  Connection loss, a server
// restart, a terminated backend, a slot held by another process or a lost
// slot end the session; with `loop` a new one starts after a capped
// exponential backoff (0.5 s doubling to 10 s), recounting DEFAULT, so
// nothing is lost or doubled.  Fatal: bad tables, wal_level, privileges, an
// undecodable stream.
//
// SIGHUP: the file `config.path` is read again with LoadConfig while a
// session streams (a SIGHUP between sessions waits for the next one).  A
// file that does not load, that changes [source], the [[table]] list or a
// RANGE interval, or whose tables the catalog rejects, is refused whole
// with an error line and the configuration in force stays.  Otherwise
// thresholds, actions, the other [[table]] limits, [executor], [drain] and
// the log level (unless `fixed_log_level`: --log-level was given) apply at
// once, in the same replication session, for this and later sessions; one
// INFO line says what changed.  The hourly flood cap
// (max_new_partitions_per_hour) counts for the process across sessions.
int RunWatcher(const Config& config, bool loop, bool fixed_log_level = false);

}  // namespace partwatch
