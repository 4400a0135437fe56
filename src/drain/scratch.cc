// The Drainer's scratch objects (drainer.h): stage with the new tables, the
// change log and the capture and replay functions (Prepare), the triggers
// on DEFAULT (InstallTriggers), and dropping all of it again (DropScratch,
// AbortCleanup; the public CleanupLeftovers in drain.cc).
#include <algorithm>
#include <iterator>
#include <thread>

#include <spdlog/spdlog.h>

#include "src/drain/drainer.h"
#include "src/fault.h"
#include "src/util/backoff.h"

namespace partwatch::drain::internal {

pg::QueryResult ExecWithLockRetries(pg::Connection& conn, const std::string& what,
                                    milliseconds lock_timeout, const std::string& sql,
                                    int attempts) {
  // 20 ms doubling up to 500 ms, without jitter.
  Backoff backoff(milliseconds(20), milliseconds(500), /*jitter_divisor=*/0);
  for (int attempt = 1;; ++attempt) {
    try {
      conn.Exec("BEGIN");
      conn.Exec("SET LOCAL lock_timeout = " + Ms(lock_timeout));
      pg::QueryResult r = conn.Exec(sql);
      conn.Exec("COMMIT");
      return r;
    } catch (const pg::PgError& e) {
      if (conn.connected()) conn.TryExec("ROLLBACK");
      if (!IsLockFailure(e.sqlstate()) || attempt >= attempts) throw;
      spdlog::warn("{}: attempt {}/{} could not get its lock in {} ms ({}); retrying", what,
                   attempt, attempts, lock_timeout.count(), e.what());
      std::this_thread::sleep_for(backoff.Next());
    }
  }
}

std::vector<std::string> DropScratch(pg::Connection& conn, uint32_t parent_oid,
                                     const DefaultRef& def, milliseconds lock_timeout) {
  const ScratchNames names = ScratchFor(def.name);
  const std::string q_def = conn.QuoteQualified(def.schema, def.name);
  const std::string what = "drain cleanup of " + def.schema + "." + def.name;
  std::vector<std::string> dropped;

  // 1. The triggers first, on their own: they are what touches the
  // application.  DROP TRIGGER needs ACCESS EXCLUSIVE, which a long reader
  // of DEFAULT denies, and every queued attempt stalls DEFAULT's users for
  // up to lock_timeout; after a few, DISABLE them instead (SHARE ROW
  // EXCLUSIVE: waits for writers only), which restores the write path and
  // leaves inert objects for the next cleanup.
  pg::QueryResult trg = conn.ExecParams(
      "SELECT tgname, tgenabled <> 'D' FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid "
      "AND tgname IN ($2, $3) ORDER BY 1",
      {std::to_string(def.oid), kRowTrigger, kTruncateTrigger});
  bool triggers_left = false;
  if (trg.rows() > 0) {
    std::string drop, disable;
    for (int i = 0; i < trg.rows(); ++i) {
      drop += "DROP TRIGGER " + conn.QuoteIdent(trg.value(i, 0)) + " ON " + q_def + ";";
      if (trg.value(i, 1) == "t") {
        disable +=
            "ALTER TABLE " + q_def + " DISABLE TRIGGER " + conn.QuoteIdent(trg.value(i, 0)) + ";";
      }
    }
    try {
      ExecWithLockRetries(conn, what, lock_timeout, drop, 3);
      for (int i = 0; i < trg.rows(); ++i) {
        dropped.push_back("trigger " + trg.text(i, 0) + " on " + def.schema + "." + def.name);
      }
    } catch (const pg::PgError& e) {
      if (!IsLockFailure(e.sqlstate())) throw;
      if (!disable.empty()) ExecWithLockRetries(conn, what, lock_timeout, disable);
      triggers_left = true;
      spdlog::warn(
          "{}: a long transaction holds a lock on {}.{}, so its change capture "
          "triggers were disabled, not dropped; they and the capture function stay "
          "until the next drain or cleanup",
          what, def.schema, def.name);
    }
  }

  // 2. Tables and functions.  A relation attached to the real parent is
  // never dropped, whatever its name.
  pg::QueryResult rels = conn.ExecParams(
      "SELECT c.relname, c.relkind, i.inhparent, "
      "       (SELECT string_agg(quote_ident(pn.nspname) || '.' || quote_ident(pc.relname), ', ') "
      "          FROM pg_catalog.pg_inherits pi JOIN pg_catalog.pg_class pc ON pc.oid = "
      "pi.inhrelid "
      "          JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace "
      "         WHERE pi.inhparent = c.oid) "
      "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid "
      "WHERE n.nspname = $1 AND c.relname IN ($2, $3, $4, $5) AND c.relkind IN ('r', 'p')",
      {def.schema, names.stage, names.log, names.new_default, names.old_default});
  std::string drop_tables;
  for (int i = 0; i < rels.rows(); ++i) {
    const std::string name = rels.text(i, 0);
    const std::optional<std::string> parent = rels.opt(i, 2);
    if (parent && *parent == std::to_string(parent_oid)) {
      spdlog::warn("drain cleanup: {}.{} is a partition of the table; left alone", def.schema,
                   name);
      continue;
    }
    if (parent && name == names.new_default) continue;  // a partition of stage: goes with it
    if (parent) {
      spdlog::warn("drain cleanup: {}.{} is a partition of another table (oid {}); left alone",
                   def.schema, name, *parent);
      continue;
    }
    drop_tables += (drop_tables.empty() ? "" : ", ") + conn.QuoteQualified(def.schema, name);
    dropped.push_back("table " + def.schema + "." + name);
    if (rels.opt(i, 3)) dropped.push_back("its partitions " + *rels.opt(i, 3));
  }
  pg::QueryResult fns = conn.ExecParams(
      "SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p "
      "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
      "WHERE n.nspname = $1 AND p.proname IN ($2, $3)",
      {def.schema, names.capture, names.replay});
  std::string sql;
  if (!drop_tables.empty()) sql += "DROP TABLE " + drop_tables + ";";
  for (int i = 0; i < fns.rows(); ++i) {
    // The disabled triggers still depend on the capture function.
    if (triggers_left && fns.text(i, 0).find("_pwd_capture") != std::string::npos) continue;
    // regprocedure's output is a quoted, qualified signature.
    sql += "DROP FUNCTION " + fns.text(i, 0) + ";";
    dropped.push_back("function " + fns.text(i, 0));
  }
  if (!sql.empty()) ExecWithLockRetries(conn, what, lock_timeout, sql);
  for (const std::string& d : dropped) spdlog::info("drain cleanup: dropped {}", d);
  return dropped;
}

ReplaySpec Drainer::ReplayInputs() const {
  ReplaySpec spec;
  spec.function = q_replay_;
  spec.log = q_log_;
  spec.stage = q_stage_;
  spec.def = q_def_;
  spec.def_display = def_.schema + "." + def_.name;
  spec.columns = columns_;
  spec.match_columns = match_columns_;
  for (const KeyColumn& k : table_.key) spec.partition_key.push_back(k.name);
  return spec;
}

void Drainer::Prepare() {
  auto q = [&](const std::string& s) { return conn_.QuoteIdent(s); };
  const std::string like = " (LIKE " + q_parent_ +
                           " INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES "
                           "INCLUDING STORAGE INCLUDING COMMENTS INCLUDING GENERATED "
                           "INCLUDING STATISTICS INCLUDING COMPRESSION)";
  std::string sql;
  auto add = [&](const std::string& s) { sql += s + ";\n"; };
  add("CREATE TABLE " + q_stage_ + " (LIKE " + q_parent_ +
      " INCLUDING DEFAULTS INCLUDING GENERATED) PARTITION BY " + keydef_);
  for (const Planned& t : planned_) {
    add("CREATE TABLE " + t.qname + like +
        (parent_tablespace_.empty() ? "" : " TABLESPACE " + q(parent_tablespace_)));
    add("ALTER TABLE " + t.qname + " ADD CONSTRAINT " + q(kBoundCheck) + " CHECK (" + t.constraint +
        ")");
    add("ALTER TABLE " + q_stage_ + " ATTACH PARTITION " + t.qname + " " + t.bound);
  }
  add(std::string("CREATE ") + (def_persistence_ == 'u' ? "UNLOGGED " : "") + "TABLE " + q_new_ +
      like + (def_tablespace_.empty() ? "" : " TABLESPACE " + q(def_tablespace_)));
  if (!default_constraint_.empty()) {
    add("ALTER TABLE " + q_new_ + " ADD CONSTRAINT " + q(kBoundCheck) + " CHECK (" +
        default_constraint_ + ")");
  }
  conn_.Exec("BEGIN");
  try {
    conn_.Exec(sql);
    sql.clear();
    const std::string def = std::to_string(def_.oid);
    const std::string parent = std::to_string(table_.oid);
    // DEFAULT's own NOT NULLs and CHECK constraints.
    pg::QueryResult nn = conn_.ExecParams(
        "SELECT a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_attribute pa "
        "ON pa.attrelid = $1::oid AND pa.attname = a.attname WHERE a.attrelid = $2::oid "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull AND NOT pa.attnotnull",
        {parent, def});
    for (int i = 0; i < nn.rows(); ++i) {
      add("ALTER TABLE " + q_new_ + " ALTER COLUMN " + q(nn.text(i, 0)) + " SET NOT NULL");
    }
    pg::QueryResult ck = conn_.ExecParams(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_catalog.pg_constraint "
        "WHERE conrelid = $1::oid AND contype = 'c' AND coninhcount = 0 ORDER BY conname",
        {def});
    for (int i = 0; i < ck.rows(); ++i) {
      add("ALTER TABLE " + q_new_ + " ADD CONSTRAINT " + q(ck.text(i, 0)) + " " + ck.text(i, 1));
    }
    for (const OldIndex& o : old_indexes_) {
      if (o.parent_index != 0) continue;
      add(std::string(o.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") +
          q("pwd_ix_" + std::to_string(o.oid)) + " ON " + q_new_ + " USING " + o.create_rest);
    }
    // Storage options, replica identity, comment, owner and grants.
    pg::QueryResult opts = conn_.ExecParams(
        "SELECT option_name, option_value FROM pg_catalog.pg_class c, "
        "pg_options_to_table(c.reloptions) WHERE c.oid = $1::oid",
        {def});
    for (int i = 0; i < opts.rows(); ++i) {
      add("ALTER TABLE " + q_new_ + " SET (" + opts.text(i, 0) + " = " +
          conn_.QuoteLiteral(opts.text(i, 1)) + ")");
    }
    if (replident_ == 'f') add("ALTER TABLE " + q_new_ + " REPLICA IDENTITY FULL");
    if (replident_ == 'n') add("ALTER TABLE " + q_new_ + " REPLICA IDENTITY NOTHING");
    pg::QueryResult comment =
        conn_.ExecParams("SELECT obj_description($1::oid, 'pg_class')", {def});
    if (!comment.is_null(0, 0)) {
      add("COMMENT ON TABLE " + q_new_ + " IS " + conn_.QuoteLiteral(comment.text(0, 0)));
    }
    if (def_owner_ != current_user_) add("ALTER TABLE " + q_new_ + " OWNER TO " + q(def_owner_));
    if (!sql.empty()) conn_.Exec(sql);
    sql.clear();
    // Grants: what the new table got by default privileges goes, then the
    // old DEFAULT's ACL (or its owner's default) is granted.
    pg::QueryResult acl = conn_.ExecParams(
        "SELECT DISTINCT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END "
        "FROM pg_catalog.pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1::regclass",
        {q_new_});
    for (int i = 0; i < acl.rows(); ++i) {
      add("REVOKE ALL ON " + q_new_ + " FROM " +
          (acl.is_null(i, 0) ? "PUBLIC" : q(acl.text(i, 0))));
    }
    pg::QueryResult grants = conn_.ExecParams(
        "SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN NULL "
        "ELSE pg_get_userbyid(a.grantee) END, a.is_grantable "
        "FROM pg_catalog.pg_class c, "
        "aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a WHERE c.oid = $1::oid",
        {def});
    static const char* kPrivileges[] = {"SELECT",   "INSERT",     "UPDATE", "DELETE",
                                        "TRUNCATE", "REFERENCES", "TRIGGER"};
    for (int i = 0; i < grants.rows(); ++i) {
      const std::string priv = grants.text(i, 0);
      if (std::find(std::begin(kPrivileges), std::end(kPrivileges), priv) ==
          std::end(kPrivileges)) {
        continue;  // a privilege a newer server knows; not granted
      }
      add("GRANT " + priv + " ON " + q_new_ + " TO " +
          (grants.is_null(i, 1) ? "PUBLIC" : q(grants.text(i, 1))) +
          (grants.value(i, 2) == "t" ? " WITH GRANT OPTION" : ""));
    }
    add("ALTER TABLE " + q_stage_ + " ATTACH PARTITION " + q_new_ + " DEFAULT");
    // The change log: UNLOGGED, because it only matters to the drain that
    // reads it, over one connection, and a crash ends that drain anyway
    // (the next one drops the log).  Rows keep DEFAULT's own row type, so
    // columns are read back by name whatever DEFAULT's column order.
    add("CREATE UNLOGGED TABLE " + q_log_ +
        " (id bigserial PRIMARY KEY, op \"char\" NOT NULL, old_row " + q_def_ + ", new_row " +
        q_def_ + ")");
    add(CaptureFunctionSql(q_capture_, q_log_));
    add(ReplayFunctionSql(ReplayInputs(), quote_));
    add("REVOKE ALL ON FUNCTION " + q_capture_ + "() FROM PUBLIC");
    conn_.Exec(sql);
    new_oid_ =
        static_cast<uint32_t>(conn_.ExecParams("SELECT $1::regclass::oid", {q_new_}).int64(0, 0));
    for (Planned& t : planned_) {
      t.oid = static_cast<uint32_t>(
          conn_.ExecParams("SELECT $1::regclass::oid", {t.qname}).int64(0, 0));
    }
    conn_.Exec("COMMIT");
    FaultPoint("drain.prepared");
  } catch (...) {
    if (conn_.connected()) conn_.TryExec("ROLLBACK");
    throw;
  }
}

void Drainer::InstallTriggers() {
  const milliseconds wait = std::min(options_.lock_timeout, options_.max_lock);
  const std::string sql = InstallTriggersSql(q_def_, q_capture_, quote_);
  Backoff backoff(milliseconds(50), kMaxBackoff, 2);
  for (int attempt = 1;; ++attempt) {
    CheckStop("installing the triggers");
    try {
      conn_.Exec("BEGIN");
      conn_.Exec("SET LOCAL lock_timeout = " + Ms(wait));
      conn_.Exec(sql);
      conn_.Exec("COMMIT");
      FaultPoint("drain.triggers");
      return;
    } catch (const pg::PgError& e) {
      if (conn_.connected()) conn_.TryExec("ROLLBACK");
      if (!IsLockFailure(e.sqlstate()) || attempt >= options_.max_swap_attempts) throw;
      spdlog::warn(
          "drain {}: could not install the change capture on {}.{} within {} ms "
          "(attempt {}/{}: {}); retrying",
          display_, def_.schema, def_.name, wait.count(), attempt, options_.max_swap_attempts,
          e.what());
      SleepUnlessStopped(backoff.Next(), options_.stop);  // a stop: CheckStop above
    }
  }
}

void Drainer::AbortCleanup() noexcept {
  try {
    if (!conn_.connected()) {
      spdlog::warn(
          "drain {}: connection lost; the scratch objects (and the change capture on "
          "{}.{}) stay until the next drain or CleanupLeftovers",
          display_, def_.schema, def_.name);
      return;
    }
    if (InTransaction(conn_)) conn_.TryExec("ROLLBACK");
    DropScratch(conn_, table_.oid, CurrentDefault(conn_, table_.oid, display_),
                std::min(options_.lock_timeout, options_.max_lock));
  } catch (const std::exception& e) {
    spdlog::error(
        "drain {}: could not drop the scratch objects ({}); the next drain or "
        "CleanupLeftovers will",
        display_, e.what());
  }
}

}  // namespace partwatch::drain::internal
