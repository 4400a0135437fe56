// The Drainer's catalog reads (drainer.h): where DEFAULT is, what the table
// looks like, what refuses a drain, the targets to create and the exact
// partition constraints the server derives for them, what the old DEFAULT
// has of its own, and the one change during a drain that it adapts to
// (partitions attached meanwhile).
#include <algorithm>
#include <map>

#include <spdlog/fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "policy/naming.h"
#include "src/drain/drainer.h"

namespace partwatch::drain::internal {

DefaultRef CurrentDefault(pg::Connection& conn, uint32_t parent_oid, const std::string& display) {
  pg::QueryResult r = conn.ExecParams(
      "SELECT p.partdefid, n.nspname, d.relname FROM pg_catalog.pg_partitioned_table p "
      "JOIN pg_catalog.pg_class d ON d.oid = p.partdefid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = d.relnamespace WHERE p.partrelid = $1::oid",
      {std::to_string(parent_oid)});
  if (r.rows() != 1) {
    throw DrainError("table " + display +
                     " is no longer a partitioned table with a DEFAULT partition");
  }
  return DefaultRef{static_cast<uint32_t>(r.int64(0, 0)), r.text(0, 1), r.text(0, 2)};
}

void Drainer::ReadCatalog() {
  display_ = table_.DisplayName();
  def_ = CurrentDefault(conn_, table_.oid, display_);
  if (def_.oid != table_.default_partition.oid) {
    throw DrainError("the DEFAULT partition of " + display_ + " is now " + def_.schema + "." +
                     def_.name + " (oid " + std::to_string(def_.oid) +
                     "), not the one described (" + table_.default_partition.nspname + "." +
                     table_.default_partition.relname + ", oid " +
                     std::to_string(table_.default_partition.oid) + "): describe the table again");
  }
  scratch_ = ScratchFor(def_.name);
  q_parent_ = conn_.QuoteQualified(table_.nspname, table_.relname);
  q_def_ = conn_.QuoteQualified(def_.schema, def_.name);
  q_stage_ = conn_.QuoteQualified(def_.schema, scratch_.stage);
  q_log_ = conn_.QuoteQualified(def_.schema, scratch_.log);
  q_new_ = conn_.QuoteQualified(def_.schema, scratch_.new_default);
  q_capture_ = conn_.QuoteQualified(def_.schema, scratch_.capture);
  q_replay_ = conn_.QuoteQualified(def_.schema, scratch_.replay);

  const std::string parent = std::to_string(table_.oid);
  const std::string def = std::to_string(def_.oid);
  pg::QueryResult r = conn_.ExecParams(
      "SELECT pg_get_partkeydef(c.oid), c.relispartition, d.relpersistence, "
      "       coalesce((SELECT spcname FROM pg_catalog.pg_tablespace WHERE oid = d.reltablespace), "
      "''), coalesce((SELECT spcname FROM pg_catalog.pg_tablespace WHERE oid = c.reltablespace), "
      "''), pg_get_userbyid(d.relowner), current_user, d.relreplident "
      "FROM pg_catalog.pg_class c, pg_catalog.pg_class d WHERE c.oid = $1::oid AND d.oid = $2::oid",
      {parent, def});
  keydef_ = r.text(0, 0);
  parent_is_partition_ = r.value(0, 1) == "t";
  def_persistence_ = r.value(0, 2).empty() ? 'p' : r.value(0, 2)[0];
  def_tablespace_ = r.text(0, 3);
  parent_tablespace_ = r.text(0, 4);
  def_owner_ = r.text(0, 5);
  current_user_ = r.text(0, 6);
  replident_ = r.value(0, 7).empty() ? 'd' : r.value(0, 7)[0];

  pg::QueryResult cols = conn_.ExecParams(
      "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid AND attnum > 0 "
      "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
      {parent});
  for (int i = 0; i < cols.rows(); ++i) columns_.push_back(cols.text(i, 0));

  existing_ = CurrentPartitions();
  inherits_ = conn_.ExecParams(kInheritsSql, {parent}).text(0, 0);
  fingerprint_ = conn_.ExecParams(kFingerprintSql, {parent, def}).text(0, 0);
}

std::vector<std::pair<uint32_t, std::string>> Drainer::CurrentPartitions() {
  pg::QueryResult parts = conn_.ExecParams(
      "SELECT c.oid, pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_inherits i "
      "JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::oid "
      "AND c.oid <> $2::oid ORDER BY c.oid",
      {std::to_string(table_.oid), std::to_string(def_.oid)});
  std::vector<std::pair<uint32_t, std::string>> out;
  for (int i = 0; i < parts.rows(); ++i) {
    out.emplace_back(static_cast<uint32_t>(parts.int64(i, 0)), parts.text(i, 1));
  }
  return out;
}

std::string Drainer::ChangedError() const {
  return "the definition of " + display_ +
         " changed during the drain (partitions, indexes, columns, constraints, "
         "grants or publications of the table or its DEFAULT); nothing was "
         "changed: run the drain again";
}

bool Drainer::AdaptToNewPartitions() {
  if (CurrentDefault(conn_, table_.oid, display_).oid != def_.oid) return false;
  const std::vector<std::pair<uint32_t, std::string>> now = CurrentPartitions();
  if (now.size() <= existing_.size()) return false;
  for (const auto& e : existing_) {
    if (std::find(now.begin(), now.end(), e) == now.end()) return false;  // one went or changed
  }
  // Everything else as it was: the fingerprint with only its list of
  // partitions renewed.
  const std::string parent = std::to_string(table_.oid);
  const std::string inherits = conn_.ExecParams(kInheritsSql, {parent}).text(0, 0);
  std::string expected = fingerprint_;
  // After the first component (DEFAULT's oid, which the list contains too).
  const size_t sep = expected.find(" | ");
  const size_t at = sep == std::string::npos ? sep : expected.find(inherits_, sep);
  if (at == std::string::npos) return false;
  expected.replace(at, inherits_.size(), inherits);
  const std::string current =
      conn_.ExecParams(kFingerprintSql, {parent, std::to_string(def_.oid)}).text(0, 0);
  if (current != expected) return false;
  std::vector<std::string> added;
  for (const auto& p : now) {
    if (std::find(existing_.begin(), existing_.end(), p) == existing_.end()) {
      added.push_back(
          conn_.Exec("SELECT " + std::to_string(p.first) + "::regclass::text").text(0, 0) + " " +
          p.second);
    }
  }
  spdlog::info(
      "drain {}: {} partition(s) were attached to {} during the drain ({}; pg_partman's "
      "maintenance?); rebuilding the new DEFAULT's CHECK to exclude them too",
      display_, added.size(), display_, fmt::join(added, ", "));
  existing_ = now;
  Probe();  // the new DEFAULT constraint; refuses a target that now overlaps
  // Only the drain's own tables are locked (the one other locker to expect
  // is autovacuum, which yields after deadlock_timeout).  ADD CONSTRAINT
  // scans the new DEFAULT: rows of the new partitions' ranges there would
  // make it fail (DrainError below: nothing changed).
  pg::QueryResult r =
      conn_.TryExec("BEGIN; SET LOCAL lock_timeout = '10s'; ALTER TABLE " + q_new_ +
                    " DROP CONSTRAINT IF EXISTS " + conn_.QuoteIdent(kBoundCheck) +
                    (default_constraint_.empty() ? std::string()
                                                 : "; ALTER TABLE " + q_new_ + " ADD CONSTRAINT " +
                                                       conn_.QuoteIdent(kBoundCheck) + " CHECK (" +
                                                       default_constraint_ + ")") +
                    "; COMMIT");
  if (!r.ok()) {
    conn_.TryExec("ROLLBACK");
    throw DrainError("partitions were attached to " + display_ +
                     " during the drain, and the rows that stay in DEFAULT do not fit the new "
                     "layout (" +
                     r.error_message() + "); nothing was changed: run the drain again");
  }
  inherits_ = inherits;
  fingerprint_ = current;
  return true;
}

void Drainer::CheckPreconditions() {
  const std::string parent = std::to_string(table_.oid);
  const std::string def = std::to_string(def_.oid);
  const std::string where = "cannot drain " + display_ + ": ";
  if (parent_is_partition_) {
    throw DrainError(where +
                     "it is itself a partition; the proof that spares the final ATTACH its scan "
                     "would have to include the grandparent's bound (not supported yet)");
  }
  // Runs a query with $1 = parent, $2 = DEFAULT (each query names both, so
  // the server can type them) and joins its first column.
  auto list = [&](const std::string& sql) {
    pg::QueryResult r = conn_.ExecParams(sql, {parent, def});
    std::string out;
    for (int i = 0; i < r.rows(); ++i) out += (out.empty() ? "" : ", ") + r.text(i, 0);
    return out;
  };
  std::string found = list(
      "SELECT quote_ident(tgname) FROM pg_catalog.pg_trigger WHERE tgrelid = $2::oid "
      "AND NOT tgisinternal AND tgparentid = 0 "
      "AND tgname NOT IN ('partwatch_drain', 'partwatch_drain_truncate') AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "its DEFAULT partition " + def_.schema + "." + def_.name +
                     " has triggers of its own (" + found +
                     "); they would not follow the rows to the new partitions. Move them to the "
                     "parent (they are then cloned to every partition) or drop them first");
  }
  found = list(
      "SELECT quote_ident(rulename) FROM pg_catalog.pg_rewrite WHERE ev_class = $2::oid "
      "AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "DEFAULT has rules (" + found + "); drop them first");
  }
  found = list(
      "SELECT 'row level security' FROM pg_catalog.pg_class WHERE oid = $2::oid AND "
      "relrowsecurity AND $1::oid <> 0 UNION ALL SELECT 'policy ' || quote_ident(polname) "
      "FROM pg_catalog.pg_policy WHERE polrelid = $2::oid");
  if (!found.empty()) {
    throw DrainError(where + "DEFAULT has " + found +
                     " of its own, which the new DEFAULT would not have; disable and drop them "
                     "first");
  }
  found = list(
      "SELECT quote_ident(conname) || ' on ' || conrelid::regclass::text "
      "FROM pg_catalog.pg_constraint WHERE contype = 'f' "
      "AND (conrelid IN ($1::oid, $2::oid) OR confrelid IN ($1::oid, $2::oid))");
  if (!found.empty()) {
    throw DrainError(where + "foreign keys point to or from it (" + found +
                     "); ATTACH/DETACH would validate them under the lock");
  }
  found = list(
      "SELECT DISTINCT pg_describe_object(d.classid, d.objid, 0) FROM pg_catalog.pg_depend d "
      "WHERE d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = $2::oid AND ("
      " (d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid NOT IN "
      "   (SELECT oid FROM pg_catalog.pg_rewrite WHERE ev_class = $2::oid))"
      " OR d.classid IN ('pg_catalog.pg_proc'::regclass, "
      "'pg_catalog.pg_statistic_ext'::regclass)"
      " OR (d.classid = 'pg_catalog.pg_class'::regclass AND d.objid IN "
      "   (SELECT oid FROM pg_catalog.pg_class WHERE relkind = 'S'))) AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "objects depend on DEFAULT itself (" + found +
                     "); they would stay bound to the old table. Point them at the parent, or "
                     "drop them first");
  }
  found = list(
      "SELECT quote_ident(p.pubname) FROM pg_catalog.pg_publication_rel r "
      "JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid WHERE r.prrelid = $2::oid "
      "AND NOT pg_has_role(p.pubowner, 'USAGE') AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "DEFAULT is a member of publication(s) " + found + " that role " +
                     current_user_ +
                     " does not own; the swap must move the membership to the new DEFAULT");
  }
  found = list(
      "SELECT quote_ident(c.conname) FROM pg_catalog.pg_constraint c "
      "WHERE c.conrelid = $2::oid AND c.contype IN ('u', 'x', 'p') AND c.conparentid = 0 "
      "AND $1::oid <> 0");
  if (!found.empty()) {
    throw DrainError(where + "DEFAULT has unique or exclusion constraints of its own (" + found +
                     "); declare them on the parent, or drop them first");
  }
}

void Drainer::ResolveTargets() {
  std::map<std::string, int> seen;
  for (const Target& t : targets_) {
    if (t.name.empty() || t.name.size() > policy::kMaxIdentifierBytes) {
      throw DrainError("target name '" + t.name + "' must have 1 to 63 bytes");
    }
    if (seen[t.name]++ > 0) throw DrainError("target name '" + t.name + "' given twice");
    pg::QueryResult r = conn_.ExecParams(
        "SELECT c.oid, i.inhparent, pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid "
        "WHERE n.nspname = $1 AND c.relname = $2",
        {table_.nspname, t.name});
    if (r.rows() > 0) {
      if (r.opt(0, 1) == std::to_string(table_.oid)) {
        spdlog::info("drain {}: {}.{} already is a partition ({}); skipping it", display_,
                     table_.nspname, t.name, r.text(0, 2));
        continue;
      }
      throw DrainError("cannot drain " + display_ + ": a relation named " + table_.nspname + "." +
                       t.name + " already exists and is not one of its partitions");
    }
    Planned p;
    p.name = t.name;
    p.qname = conn_.QuoteQualified(table_.nspname, t.name);
    p.bound = t.bound_sql;
    planned_.push_back(std::move(p));
  }
}

// Asks the server for the exact partition constraints: temporary copies of
// the parent's partitioning with every bound, in a transaction rolled back.
// This also validates the callers' bounds (syntax, type, overlap).
void Drainer::Probe() {
  conn_.Exec("BEGIN");
  try {
    conn_.Exec("CREATE TEMP TABLE pwd_probe (LIKE " + q_parent_ + ") PARTITION BY " + keydef_);
    std::string sql;
    for (size_t i = 0; i < existing_.size(); ++i) {
      // Bounds of existing partitions are the server's own text.
      sql += "CREATE TEMP TABLE pwd_probe_e" + std::to_string(i) +
             " PARTITION OF pg_temp.pwd_probe " + existing_[i].second + ";";
    }
    if (!sql.empty()) conn_.Exec(sql);
    for (size_t j = 0; j < planned_.size(); ++j) {
      // The caller's bound, on its own and through the extended protocol:
      // one statement, whatever the text holds.
      pg::QueryResult r =
          conn_.TryExecParams("CREATE TEMP TABLE pwd_probe_t" + std::to_string(j) +
                                  " PARTITION OF pg_temp.pwd_probe " + planned_[j].bound,
                              {});
      if (!r.ok()) {
        throw DrainError("target " + planned_[j].name + ": bound \"" + planned_[j].bound +
                         "\" refused: " + r.error_message());
      }
    }
    conn_.Exec("CREATE TEMP TABLE pwd_probe_d PARTITION OF pg_temp.pwd_probe DEFAULT");
    for (size_t j = 0; j < planned_.size(); ++j) {
      pg::QueryResult r = conn_.Exec(
          "SELECT pg_get_partition_constraintdef(c.oid), pg_get_expr(c.relpartbound, c.oid) "
          "FROM pg_catalog.pg_class c WHERE c.oid = 'pg_temp.pwd_probe_t" +
          std::to_string(j) + "'::regclass");
      planned_[j].constraint = r.text(0, 0);
      planned_[j].bound = r.text(0, 1);
    }
    pg::QueryResult d =
        conn_.Exec("SELECT pg_get_partition_constraintdef('pg_temp.pwd_probe_d'::regclass)");
    default_constraint_ = d.opt(0, 0).value_or("");
    conn_.Exec("ROLLBACK");
  } catch (...) {
    if (conn_.connected()) conn_.TryExec("ROLLBACK");
    throw;
  }
}

// What the old DEFAULT has of its own that the new one must have too.
void Drainer::ReadDefaultExtras() {
  const std::string def = std::to_string(def_.oid);
  // Indexes: those attached to a parent index come back by LIKE ... INCLUDING
  // INDEXES and ATTACH; DEFAULT's own are recreated from their definition.
  pg::QueryResult ix = conn_.ExecParams(
      "SELECT i.indexrelid, c.relname, coalesce(h.inhparent, 0), i.indisunique, "
      "       CASE WHEN h.inhparent IS NULL THEN "
      "         CASE WHEN position(prefix IN pg_get_indexdef(i.indexrelid)) = 1 "
      "              THEN substr(pg_get_indexdef(i.indexrelid), length(prefix) + 1) END END, "
      "       i.indisreplident "
      "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
      "JOIN pg_catalog.pg_class t ON t.oid = i.indrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace "
      "LEFT JOIN pg_catalog.pg_inherits h ON h.inhrelid = i.indexrelid "
      "CROSS JOIN LATERAL (SELECT CASE WHEN i.indisunique THEN 'CREATE UNIQUE INDEX ' "
      "  ELSE 'CREATE INDEX ' END || quote_ident(c.relname) || ' ON ' || quote_ident(n.nspname) "
      "  || '.' || quote_ident(t.relname) || ' USING ' AS prefix) p "
      "WHERE i.indrelid = $1::oid ORDER BY i.indexrelid",
      {def});
  for (int i = 0; i < ix.rows(); ++i) {
    OldIndex o;
    o.oid = static_cast<uint32_t>(ix.int64(i, 0));
    o.name = ix.text(i, 1);
    o.parent_index = static_cast<uint32_t>(ix.int64(i, 2));
    o.unique = ix.value(i, 3) == "t";
    if (o.parent_index == 0) {
      if (ix.is_null(i, 4)) {
        throw DrainError("cannot drain " + display_ + ": cannot reproduce DEFAULT's own index " +
                         o.name + " (unexpected pg_get_indexdef form)");
      }
      o.create_rest = ix.text(i, 4);
    }
    if (ix.value(i, 5) == "t") replident_index_ = o.name;
    old_indexes_.push_back(std::move(o));
  }
  pg::QueryResult pubs = conn_.ExecParams(
      "SELECT p.pubname, coalesce((SELECT array_agg(a.attname ORDER BY a.attnum)::text[] "
      "  FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.prrelid "
      "  AND a.attnum = ANY (r.prattrs::int2[])), '{}'), "
      "  coalesce(pg_get_expr(r.prqual, r.prrelid), ''), "
      "  (SELECT count(*) FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.prrelid "
      "    AND a.attnum = ANY (r.prattrs::int2[])) "
      "FROM pg_catalog.pg_publication_rel r JOIN pg_catalog.pg_publication p "
      "ON p.oid = r.prpubid WHERE r.prrelid = $1::oid ORDER BY 1",
      {def});
  for (int i = 0; i < pubs.rows(); ++i) {
    PubMember m;
    m.pubname = pubs.text(i, 0);
    if (pubs.int64(i, 3) > 0) {
      pg::QueryResult cols = conn_.ExecParams("SELECT unnest($1::text[])", {pubs.text(i, 1)});
      for (int c = 0; c < cols.rows(); ++c) m.columns.push_back(cols.text(c, 0));
    }
    m.row_filter = pubs.text(i, 2);
    publications_.push_back(std::move(m));
  }
  // The match columns for replay: the parent's primary key, else its
  // narrowest unique index on NOT NULL columns (no expression, no predicate).
  pg::QueryResult key = conn_.ExecParams(
      "SELECT array_agg(a.attname ORDER BY k.ord)::text[] "
      "FROM pg_catalog.pg_index i "
      "CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
      "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
      "WHERE i.indrelid = $1::oid AND i.indisunique AND i.indisvalid AND i.indpred IS NULL "
      "AND i.indexprs IS NULL AND k.ord <= i.indnkeyatts "
      "GROUP BY i.indexrelid, i.indisprimary HAVING bool_and(a.attnotnull) "
      "ORDER BY i.indisprimary DESC, count(*), i.indexrelid LIMIT 1",
      {std::to_string(table_.oid)});
  if (key.rows() == 1) {
    pg::QueryResult cols = conn_.ExecParams("SELECT unnest($1::text[])", {key.text(0, 0)});
    for (int c = 0; c < cols.rows(); ++c) match_columns_.push_back(cols.text(c, 0));
  }
}

}  // namespace partwatch::drain::internal
