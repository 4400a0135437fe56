// The table descriptions a capture carries (docs/capture-format.md,
// "tables"): what replay needs to count a captured stream without a
// database: each configured table's name, strategy, key, DEFAULT partition,
// partitions and bounds, and for RANGE tables the bucket interval, its
// alignment and pg_partman's naming, as `run` resolved them.
#pragma once

#include <string>
#include <vector>

#include "src/catalog.h"

namespace partwatch::capture {

// JSON text (an array, one object per table).
std::string TablesToJson(const std::vector<TableInfo>& tables);

// The inverse; RANGE tables get their bucketer rebuilt from the bounds.
// Throws std::runtime_error naming what is wrong.
std::vector<TableInfo> TablesFromJson(const std::string& json);

}  // namespace partwatch::capture
