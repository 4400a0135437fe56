#include "src/setup.h"

#include <set>
#include <tuple>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "src/replication/stream.h"
#include "src/session/state.h"

namespace partwatch {

namespace {

// "schema"."default" ("key") for one table.
std::string PublicationMember(pg::Connection& conn, const TableInfo& t) {
  std::string cols;
  for (const KeyColumn& k : t.key) cols += (cols.empty() ? "" : ", ") + conn.QuoteIdent(k.name);
  return conn.QuoteQualified(t.default_partition.nspname, t.default_partition.relname) + " (" +
         cols + ")";
}

}  // namespace

std::string EnsurePublication(pg::Connection& conn, const std::string& publication,
                              const std::vector<TableInfo>& tables) {
  std::string members;
  for (const TableInfo& t : tables) {
    members += (members.empty() ? "" : ", ") + PublicationMember(conn, t);
  }
  const std::string pub = conn.QuoteIdent(publication);

  pg::QueryResult r = conn.ExecParams(
      "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot, "
      "       EXISTS (SELECT 1 FROM pg_publication_namespace pn WHERE pn.pnpubid = p.oid) "
      "FROM pg_publication p WHERE pubname = $1",
      {publication});
  if (r.rows() == 0) {
    conn.Exec("CREATE PUBLICATION " + pub + " FOR TABLE " + members +
              " WITH (publish = 'insert', publish_via_partition_root = false)");
    return "created publication " + publication + " (insert only) for " + members;
  }
  if (r.value(0, 0) == "t" || r.value(0, 6) == "t") {
    throw CatalogError("publication " + publication +
                       " publishes all tables or whole schemas; partwatch needs a publication "
                       "of its own (set source.publication to an unused name)");
  }
  std::string changed;
  if (r.value(0, 1) != "t" || r.value(0, 2) != "f" || r.value(0, 3) != "f" ||
      r.value(0, 4) != "f" || r.value(0, 5) != "f") {
    conn.Exec("ALTER PUBLICATION " + pub +
              " SET (publish = 'insert', publish_via_partition_root = false)");
    changed += "set publish = 'insert'; ";
  }

  // Compare members (table and column list) with what they should be.
  pg::QueryResult have = conn.ExecParams(
      "SELECT schemaname, tablename, array_to_json(attnames)::text "
      "FROM pg_publication_tables WHERE pubname = $1",
      {publication});
  using Member = std::tuple<std::string, std::string, std::vector<std::string>>;
  std::set<Member> current;
  for (int i = 0; i < have.rows(); ++i) {
    std::vector<std::string> cols;
    if (!have.is_null(i, 2))
      cols = nlohmann::json::parse(have.value(i, 2)).get<std::vector<std::string>>();
    current.emplace(have.text(i, 0), have.text(i, 1), std::move(cols));
  }
  std::set<Member> wanted;
  for (const TableInfo& t : tables) {
    std::vector<std::string> cols;
    for (const KeyColumn& k : t.key) cols.push_back(k.name);
    wanted.emplace(t.default_partition.nspname, t.default_partition.relname, std::move(cols));
  }
  if (current != wanted) {
    conn.Exec("ALTER PUBLICATION " + pub + " SET TABLE " + members);
    changed += "set tables to " + members;
  }
  return changed.empty() ? "" : "reconciled publication " + publication + ": " + changed;
}

bool DropPublication(pg::Connection& conn, const std::string& publication) {
  pg::QueryResult r =
      conn.ExecParams("SELECT 1 FROM pg_publication WHERE pubname = $1", {publication});
  if (r.rows() == 0) return false;
  conn.Exec("DROP PUBLICATION " + conn.QuoteIdent(publication));
  return true;
}

std::optional<SlotState> QuerySlot(pg::Connection& conn, const std::string& slot) {
  pg::QueryResult r = conn.ExecParams(
      "SELECT plugin, database, temporary, active_pid, restart_lsn, confirmed_flush_lsn, "
      "       wal_status, COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint, "
      "       COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint "
      "FROM pg_replication_slots WHERE slot_name = $1",
      {slot});
  if (r.rows() == 0) return std::nullopt;
  SlotState s;
  s.plugin = r.opt(0, 0).value_or("");
  s.database = r.opt(0, 1).value_or("");
  s.temporary = r.value(0, 2) == "t";
  if (!r.is_null(0, 3)) s.active_pid = static_cast<int>(r.int64(0, 3));
  if (!r.is_null(0, 4)) s.restart_lsn = Lsn::Parse(r.value(0, 4)).value_or(Lsn());
  if (!r.is_null(0, 5)) s.confirmed_flush_lsn = Lsn::Parse(r.value(0, 5)).value_or(Lsn());
  s.wal_status = r.opt(0, 6).value_or("");
  s.retained_wal_bytes = r.int64(0, 7);
  s.confirmed_lag_bytes = r.int64(0, 8);
  return s;
}

std::optional<std::string> SlotOfAnotherDatabase(pg::Connection& conn, const std::string& name,
                                                 const std::optional<SlotState>& slot) {
  if (!slot) return std::nullopt;
  const std::string here = conn.Exec("SELECT current_database()").text(0, 0);
  if (slot->database == here) return std::nullopt;
  return "replication slot " + name + " belongs to database " +
         (slot->database.empty() ? std::string("(none: a physical slot)") : slot->database) +
         ", not " + here + "; set source.slot to another name";
}

bool DropSlot(pg::Connection& conn, const std::string& slot) {
  if (!QuerySlot(conn, slot)) return false;
  conn.ExecParams("SELECT pg_drop_replication_slot($1)", {slot});
  return true;
}

int RunSetup(const Config& config) {
  try {
    pg::Connection sql = OpenSession(config, "setup");
    CheckServerForStreaming(sql);
    std::vector<TableInfo> infos = session::DescribeAll(sql, config);
    for (const TableInfo& t : infos) {
      if (auto err = CheckTablePrivileges(sql, t)) throw CatalogError(*err);
    }
    const std::optional<SlotState> slot = QuerySlot(sql, config.source.slot);
    if (auto other = SlotOfAnotherDatabase(sql, config.source.slot, slot)) {
      throw std::runtime_error(*other);
    }
    const std::string change = EnsurePublication(sql, config.source.publication, infos);
    spdlog::info("{}", change.empty()
                           ? "publication " + config.source.publication + " is up to date"
                           : change);
    if (slot) {
      spdlog::info("replication slot {} exists", config.source.slot);
    } else {
      replication::ReplicationConnection repl =
          replication::ReplicationConnection::Open(config.source.dsn);
      const auto created = repl.CreateSlot(config.source.slot, false);
      spdlog::info("created replication slot {} at {}", config.source.slot,
                   created.consistent_point.ToString());
    }
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

int RunTeardown(const Config& config) {
  try {
    pg::Connection sql = OpenSession(config, "teardown");
    const std::optional<SlotState> slot = QuerySlot(sql, config.source.slot);
    if (auto other = SlotOfAnotherDatabase(sql, config.source.slot, slot)) {
      throw std::runtime_error(*other + "; not dropping it");
    }
    if (slot && slot->active_pid) {
      throw std::runtime_error("replication slot " + config.source.slot +
                               " is in use by server process " + std::to_string(*slot->active_pid) +
                               "; stop partwatch run first");
    }
    const bool slot_dropped = DropSlot(sql, config.source.slot);
    spdlog::info("replication slot {}: {}", config.source.slot,
                 slot_dropped ? "dropped" : "did not exist");
    const bool pub_dropped = DropPublication(sql, config.source.publication);
    spdlog::info("publication {}: {}", config.source.publication,
                 pub_dropped ? "dropped" : "did not exist");
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

}  // namespace partwatch
