// `partwatch status`: what sits in each configured DEFAULT partition, per key
// value (counted in the database, like pg_partman's check_default()), the
// threshold, and what partwatch would do; plus the slot and the publication.
// Read-only: takes no locks beyond a plain SELECT's.
#pragma once

#include "src/config.h"

namespace partwatch {

// Prints a report to stdout (text, or one JSON document with `json`).
// Returns 0, or 1 after logging an error (unreachable server, bad table).
int RunStatus(const Config& config, bool json);

}  // namespace partwatch
