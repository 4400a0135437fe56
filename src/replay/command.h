// `partwatch replay`: what piled into DEFAULT partitions over a stretch of
// history, and what `run` would have done with other thresholds
// (docs/replay.md).  Sources: captures (no database needed), wal2json
// files, a slot's retained changes (--slot) and archived WAL segments
// (--wal-dir, --wal).  Replay never changes
// anything on a server.
#pragma once

#include <string>
#include <vector>

#include "src/config.h"

namespace partwatch::replay {

struct ReplayOptions {
  std::vector<std::string> sources;  // capture dirs or segments, wal2json files
  std::string slot;                  // --slot NAME ("" = none)
  std::string wal_dir;                    // --wal-dir DIR ("" = none)
  std::vector<std::string> wal_files;     // --wal FILE...
  std::vector<std::string> relfilenodes;  // --relfilenode N=TABLE
  // --threshold entries: "N" (every table) or "TABLE=N", in scenario order.
  std::vector<std::string> thresholds;
  std::string max_future;                // --max-future ("" = as configured)
  int max_new_partitions_per_hour = -1;  // -1 = as configured
  std::string from, to;                  // LSN ("0/16B2D48") or time
  bool json = false;
  bool csv = false;
  std::string html;     // --html FILE
  size_t values = 100;  // --values N (0 = all)
  bool skip_bad = false;
  bool quiet = false;
};

// Runs the command; returns the exit status (0 done, 1 bad input or a
// failed read, 2 bad arguments).
int RunReplay(const Config& config, const ReplayOptions& options);

// Pure helpers, for tests.
// "2026-12-02", "2026-12-02 16:09", "2026-12-02T16:09:57.5Z",
// "2026-12-02 16:09:57+05:30" (no offset: UTC) -> microseconds since
// 2000-01-01 UTC; nullopt when not such a time.
std::optional<int64_t> ParseTimeArg(const std::string& text);
// "1 year", "6 mons", "2 weeks", "30 days", "1 year 2 months" -> the
// interval; nullopt otherwise (hours and smaller: micros).
std::optional<policy::RangeInterval> ParseIntervalText(const std::string& text);

}  // namespace partwatch::replay
