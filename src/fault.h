// Named fault points, for fault tests that interrupt partwatch at a chosen
// moment on any machine, fast or slow, instead of after a guessed delay.
//
// A fault point is a call FaultPoint("drain.copy.piece") at a place worth
// interrupting (between two statements of a move, after a copy piece
// committed, before a swap's COMMIT...).  It does nothing unless the
// environment variable PARTWATCH_FAULT names it:
//
//   PARTWATCH_FAULT="NAME[@N]=ACTION[,NAME[@N]=ACTION...]"
//
// ACTION is one of
//   kill   the process kills itself with SIGKILL (as `kill -9` would): no
//          destructor, no ROLLBACK sent; the server sees the socket close.
//   pause  logs "fault point NAME reached (hit N): pausing" on stderr and
//          sleeps until the process gets SIGCONT (then it goes on from the
//          point) or is killed; a test waits for that line, acts (kills
//          partwatch, restarts the server, issues DDL from another session)
//          and, to resume, sends SIGCONT.
//   fail   throws FaultInjected (a std::runtime_error) from the point, as if
//          the step had failed.
// @N fires on the N-th time the point is reached (1 = the first, the
// default); every other pass does nothing.
//
// The names in use are listed in docs/guarantees.md ("Fault points"); a
// name that no code passes is never reached, so tests wait for the pause
// line rather than assume it.
//
// Thread-safety: FaultPoint may be called from any thread.  The variable is
// read once, at the first call.
#pragma once

#include <stdexcept>
#include <string_view>

namespace partwatch {

class FaultInjected : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Does nothing (one relaxed load) unless PARTWATCH_FAULT is set.
void FaultPoint(std::string_view name);

}  // namespace partwatch
