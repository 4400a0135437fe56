// `partwatch status`: what sits in each configured DEFAULT partition, per key
// value (counted in the database, like pg_partman's check_default()), the
// threshold, and what partwatch would do; plus the slot and the publication.
// Read-only: takes no locks beyond a plain SELECT's.
//
// `partwatch status --live`: what the running `partwatch run` holds now,
// read from its GET /status ([http] listen): the policy's counts per value,
// decisions not acted on yet, firing alerts, the hourly cap's use.
#pragma once

#include <string>

#include "src/config.h"

namespace partwatch {

namespace metrics {
class Metrics;
}
namespace alerts {
class AlertManager;
}
namespace executor {
class PartitionRateLimiter;
}

// Prints a report to stdout (text, or one JSON document with `json`).
// Returns 0, or 1 after logging an error (unreachable server, bad table).
int RunStatus(const Config& config, bool json);

// GET /status's document (JSON text), built on the HTTP server's thread
// from what `run`'s observers hold; `config` is the configuration in force.
std::string LiveStatusJson(const Config& config, const metrics::Metrics& metrics,
                           const alerts::AlertManager& alerts,
                           executor::PartitionRateLimiter& limiter);

// Reads GET /status from the process at `config`'s [http] listen and prints
// it (text, or the JSON document with `json`).  Returns 0, or 1 after
// logging why not (no [http] listen, nothing answers).
int RunLiveStatus(const Config& config, bool json);

}  // namespace partwatch
