// Logging set-up: one spdlog logger writing to stderr, one line per event,
// with a UTC timestamp and the level.  Messages never contain passwords:
// every conninfo that reaches a log goes through pg::RedactConninfo.
#pragma once

#include <string>

namespace partwatch {

// REQUIRES: `level` is one of trace, debug, info, warn, error.
void SetUpLogging(const std::string& level);

}  // namespace partwatch
