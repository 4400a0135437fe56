// `partwatch drain`: moves an existing DEFAULT backlog into partitions,
// online (src/drain/drain.h), for one configured table.
//
// Which values or buckets: `values` when given (each a LIST value, or any
// value inside the RANGE bucket to drain); with `all`, every value or bucket
// DEFAULT holds rows of (RANGE buckets past max_future are left, with a
// warning); otherwise those over the table's threshold (as `run` would; for
// an `action = "alert"` table, which `run` never moves, --value or --all is
// required).  For pg_partman tables the children between its newest child
// and the farthest bucket are created too (PartmanGap, src/partition_sql.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "src/catalog.h"
#include "src/config.h"
#include "src/drain/drain.h"
#include "src/pg/connection.h"

namespace partwatch::drain {

// The targets for `values` of `table` (`rule_name_template` as configured):
// names chosen like the executor's (pg_partman's for tables it manages, a
// counter when a relation of that name exists).  Throws pg::PgError for a
// value that fits no bucket.
std::vector<Target> TargetsFor(pg::Connection& conn, const TableInfo& table,
                               const std::string& name_template,
                               const std::vector<policy::KeyValue>& values);

// Runs the command; returns the process exit status (0 done, 1 failed, 2 bad
// arguments) after logging what happened.  SIGINT/SIGTERM stop it between
// batches, leaving every row where it was.
int RunDrain(const Config& config, const std::string& table, const std::vector<std::string>& values,
             bool all);

}  // namespace partwatch::drain
