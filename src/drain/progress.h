// Progress display for `partwatch drain`: on a terminal, one line redrawn in
// place with '\r' (phase, bar, percentage, rows moved/total, rows per
// second, time left); elsewhere (a log file, systemd) one plain spdlog info
// line per update.
//
// FormatProgressLine is pure (unit-tested); ProgressPrinter holds the little
// state a display needs (is it a terminal, was anything drawn).
//
// Thread-safety: a ProgressPrinter is used by one thread (the draining one,
// through Options::on_progress).
#pragma once

#include <cstdio>
#include <string>

#include "src/drain/drain.h"

namespace partwatch::drain {

// One line of at most `width` bytes (no newline, no '\r'), e.g.
//   copy  42% [########..........] 420000/1000000 rows  310000 rows/s  2s left
// The rate is rows_copied over `elapsed` (the time since the drain started,
// so it includes the preparation; it errs on the slow side).  Narrow widths
// drop the bar first, then the rate and time left.  Outside the copy phase
// the line names the phase and the pending changes instead of a time
// estimate.  REQUIRES: width >= 0 (0: no limit).
std::string FormatProgressLine(const Progress& p, int width);

// "1.2M", "35k", "999": a count in three significant figures at most.
std::string HumanCount(int64_t n);

class ProgressPrinter {
 public:
  // `tty`: draw in place on `out` (stderr by default); otherwise log through
  // spdlog.  `width` 0: the terminal's ($COLUMNS, else 80).
  explicit ProgressPrinter(bool tty, std::FILE* out = stderr, int width = 0);
  ~ProgressPrinter();
  ProgressPrinter(const ProgressPrinter&) = delete;
  ProgressPrinter& operator=(const ProgressPrinter&) = delete;

  void Update(const Progress& p);
  // Ends the redrawn line with a newline (once; no-op when nothing was
  // drawn or not a terminal).  The destructor calls it.
  void Finish();

 private:
  bool tty_;
  std::FILE* out_;
  int width_;
  bool drawn_ = false;
};

}  // namespace partwatch::drain
