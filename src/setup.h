// Server-side objects partwatch owns: its publication and its replication
// slot, inspected and changed over an ordinary SQL connection.  (The slot is
// created over the replication connection, in replication/stream.h, because
// only there can its creation export a snapshot.)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "decoder/lsn.h"
#include "src/catalog.h"
#include "src/config.h"
#include "src/pg/connection.h"

namespace partwatch {

// Creates the publication if missing, else reconciles it, so that it
// publishes INSERT only (never UPDATE, DELETE or TRUNCATE: publishing those
// on a table without a replica identity would make the application's own
// UPDATEs and DELETEs fail) on exactly the DEFAULT partitions of `tables`,
// each with a column list of its key columns.  Refuses a FOR ALL TABLES or
// FOR TABLES IN SCHEMA publication.  Returns a description of what changed
// ("" when nothing did).  Throws PgError / CatalogError.
std::string EnsurePublication(pg::Connection& conn, const std::string& publication,
                              const std::vector<TableInfo>& tables);

// Drops the publication if it exists.  Returns true when one was dropped.
bool DropPublication(pg::Connection& conn, const std::string& publication);

struct SlotState {
  std::string plugin;
  std::string database;
  bool temporary = false;
  std::optional<int> active_pid;  // the backend streaming from it, if any
  Lsn restart_lsn;
  Lsn confirmed_flush_lsn;
  std::string wal_status;           // reserved, extended, unreserved, lost
  int64_t retained_wal_bytes = 0;   // current WAL position - restart_lsn
  int64_t confirmed_lag_bytes = 0;  // current WAL position - confirmed_flush_lsn
};

// The slot's state, or nullopt when it does not exist.
std::optional<SlotState> QuerySlot(pg::Connection& conn, const std::string& slot);

// When `slot` (the state of `name`) belongs to another database than the
// connection's, an error text saying so; slot names are server-wide, so a
// partwatch of another database may own it.  nullopt otherwise.
std::optional<std::string> SlotOfAnotherDatabase(pg::Connection& conn, const std::string& name,
                                                 const std::optional<SlotState>& slot);

// Drops the slot if it exists and is not active.  Returns true when dropped.
// Throws PgError when it is in use (SQLSTATE 55006).
bool DropSlot(pg::Connection& conn, const std::string& slot);

// `partwatch setup` / `teardown`: create or drop the slot and publication.
// Return the exit code (0, or 1 after logging why).
int RunSetup(const Config& config);
int RunTeardown(const Config& config);

}  // namespace partwatch
