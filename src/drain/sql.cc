#include "src/drain/sql.h"

#include <cstdio>
#include <utility>

#include <spdlog/fmt/fmt.h>

#include "policy/naming.h"

namespace partwatch::drain {

// Read before preparing and again under the swap's lock: any difference
// means someone changed the table meanwhile, and the swap would not
// reproduce it.
const char* const kFingerprintSql = R"sql(
SELECT concat_ws(' | ',
  (SELECT partdefid::text FROM pg_catalog.pg_partitioned_table WHERE partrelid = $1::oid),
  (SELECT string_agg(inhrelid::text, ',' ORDER BY inhrelid) FROM pg_catalog.pg_inherits
    WHERE inhparent = $1::oid),
  (SELECT string_agg(indexrelid::text, ',' ORDER BY indexrelid) FROM pg_catalog.pg_index
    WHERE indrelid IN ($1::oid, $2::oid)),
  (SELECT string_agg(attrelid::text || ':' || attname || ':' || atttypid::text || ':' ||
                     attnotnull::text, ',' ORDER BY attrelid, attnum)
     FROM pg_catalog.pg_attribute WHERE attrelid IN ($1::oid, $2::oid) AND attnum > 0
      AND NOT attisdropped),
  (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_catalog.pg_constraint
    WHERE conrelid IN ($1::oid, $2::oid) OR confrelid IN ($1::oid, $2::oid)),
  (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_catalog.pg_trigger
    WHERE tgrelid = $2::oid AND tgname NOT IN ('partwatch_drain', 'partwatch_drain_truncate')),
  (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_catalog.pg_publication_rel
    WHERE prrelid = $2::oid),
  (SELECT concat_ws(',', relname, relowner, relacl::text, reloptions::text, relreplident,
                    relrowsecurity) FROM pg_catalog.pg_class WHERE oid = $2::oid))
)sql";

const char* const kInheritsSql =
    "SELECT coalesce(string_agg(inhrelid::text, ',' ORDER BY inhrelid), '') "
    "FROM pg_catalog.pg_inherits WHERE inhparent = $1::oid";

std::string FingerprintSql(uint32_t parent, uint32_t def) {
  std::string sql = kFingerprintSql;
  for (const auto& [param, value] : {std::pair<std::string, uint32_t>{"$1", parent}, {"$2", def}}) {
    for (size_t pos = sql.find(param); pos != std::string::npos; pos = sql.find(param, pos)) {
      sql.replace(pos, param.size(), std::to_string(value));
    }
  }
  return sql;
}

std::string ScratchName(const std::string& default_name, const std::string& suffix) {
  if (default_name.size() + suffix.size() <= policy::kMaxIdentifierBytes) {
    return default_name + suffix;
  }
  char hash[10];
  std::snprintf(hash, sizeof(hash), "_%08x", policy::Fnv1a32(default_name));
  // Never cut a UTF-8 character in two.
  return policy::CutUtf8(default_name, policy::kMaxIdentifierBytes - suffix.size() - 9) + hash +
         suffix;
}

ScratchNames ScratchFor(const std::string& default_name) {
  return ScratchNames{
      ScratchName(default_name, "_pwd_stage"),   ScratchName(default_name, "_pwd_log"),
      ScratchName(default_name, "_pwd_new"),     ScratchName(default_name, "_pwd_old"),
      ScratchName(default_name, "_pwd_capture"), ScratchName(default_name, "_pwd_replay")};
}

std::string ColumnList(const std::vector<std::string>& columns, const Quoting& q) {
  std::string cols;
  for (const std::string& c : columns) cols += (cols.empty() ? "" : ", ") + q.ident(c);
  return cols;
}

std::string CaptureFunctionSql(const std::string& capture, const std::string& log) {
  return fmt::format(R"sql(CREATE FUNCTION {capture}() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $pwd_fn$
BEGIN
  IF TG_OP = 'INSERT' THEN INSERT INTO {log} (op, new_row) VALUES ('i', NEW);
  ELSIF TG_OP = 'UPDATE' THEN INSERT INTO {log} (op, old_row, new_row) VALUES ('u', OLD, NEW);
  ELSIF TG_OP = 'DELETE' THEN INSERT INTO {log} (op, old_row) VALUES ('d', OLD);
  ELSE INSERT INTO {log} (op) VALUES ('t');
  END IF;
  RETURN NULL;
END $pwd_fn$)sql",
                     fmt::arg("capture", capture), fmt::arg("log", log));
}

std::string InstallTriggersSql(const std::string& def, const std::string& capture,
                               const Quoting& q) {
  return "CREATE TRIGGER " + q.ident(kRowTrigger) + " AFTER INSERT OR UPDATE OR DELETE ON " + def +
         " FOR EACH ROW EXECUTE FUNCTION " + capture + "();" + "CREATE TRIGGER " +
         q.ident(kTruncateTrigger) + " AFTER TRUNCATE ON " + def +
         " FOR EACH STATEMENT EXECUTE FUNCTION " + capture + "();" +
         // Fire for session_replication_role = replica too (logical
         // replication apply workers, some restore tools).
         "ALTER TABLE " + def + " ENABLE ALWAYS TRIGGER " + q.ident(kRowTrigger) + ";" +
         "ALTER TABLE " + def + " ENABLE ALWAYS TRIGGER " + q.ident(kTruncateTrigger);
}

std::string CopyPieceSql(const std::string& stage, const std::string& def,
                         const std::string& columns, const std::string& where,
                         const std::string& empty_log) {
  return std::string(empty_log.empty() ? "" : "DELETE FROM " + empty_log + "; ") +
         "WITH ins AS (INSERT INTO " + stage + " (" + columns + ") SELECT " + columns +
         " FROM ONLY " + def + " WHERE " + where +
         " RETURNING tableoid) SELECT tableoid, count(*) FROM ins GROUP BY 1";
}

namespace {

// With a unique key: set-based.  Each change is a deletion of its old row's
// key and/or an insertion of its new row; per key, only the first and the
// last event of the batch matter: a first deletion means the key is in
// stage (delete it, exactly once), a last insertion gives the row to have.
std::string KeyedReplayBody(const ReplaySpec& spec, const std::string& truncated,
                            const Quoting& q) {
  std::string keys_r, keys_as, join, values;
  for (const std::string& c : spec.match_columns) {
    keys_r += (keys_r.empty() ? "" : ", ") + std::string("(r).") + q.ident(c);
    keys_as +=
        (keys_as.empty() ? "" : ", ") + std::string("(r).") + q.ident(c) + " AS " + q.ident(c);
    join += " AND s." + q.ident(c) + " = f." + q.ident(c);
  }
  for (const std::string& c : spec.columns) {
    values += (values.empty() ? "" : ", ") + std::string("(l.r).") + q.ident(c);
  }
  const std::string events = fmt::format(
      R"sql(WITH ev AS (
    SELECT b.id * 2 AS seq, false AS ins, b.old_row AS r FROM unnest(batch) b
     WHERE b.op IN ('d', 'u')
    UNION ALL
    SELECT b.id * 2 + 1, true, b.new_row FROM unnest(batch) b WHERE b.op IN ('i', 'u')),
  firsts AS (SELECT DISTINCT ON ({keys}) {keys_as}, ins FROM ev ORDER BY {keys}, seq),
  lasts AS (SELECT DISTINCT ON ({keys}) r, ins FROM ev ORDER BY {keys}, seq DESC))sql",
      fmt::arg("keys", keys_r), fmt::arg("keys_as", keys_as));
  // enable_*join = off: index probes per key, never a hash over the copy.
  return fmt::format(
      R"sql(SET enable_hashjoin = off SET enable_mergejoin = off AS $pwd_fn$
DECLARE
  batch {log}[];
  expected bigint;
  deleted bigint;
BEGIN
  WITH d AS (DELETE FROM {log} l
              WHERE l.id IN (SELECT id FROM {log} ORDER BY id LIMIT max_rows) RETURNING l)
  SELECT array_agg(d.l ORDER BY (d.l).id) INTO batch FROM d;
  IF batch IS NULL THEN RETURN 0; END IF;
  IF EXISTS (SELECT 1 FROM unnest(batch) b WHERE b.op = 't') THEN
    RAISE EXCEPTION USING ERRCODE = '{truncated_state}', MESSAGE = {truncated};
  END IF;
  {events}
  SELECT count(*) INTO expected FROM firsts WHERE NOT ins;
  {events}
  DELETE FROM {stage} s USING firsts f WHERE NOT f.ins{join};
  GET DIAGNOSTICS deleted = ROW_COUNT;
  IF deleted <> expected THEN
    RAISE EXCEPTION USING ERRCODE = '{mismatch_state}', MESSAGE = format(
      'log rows %s to %s: %s old row(s) to delete, %s found in the copy',
      batch[1].id, batch[cardinality(batch)].id, expected, deleted);
  END IF;
  {events}
  INSERT INTO {stage} ({columns}) SELECT {values} FROM lasts l WHERE l.ins;
  RETURN cardinality(batch);
END $pwd_fn$)sql",
      fmt::arg("log", spec.log), fmt::arg("stage", spec.stage), fmt::arg("events", events),
      fmt::arg("join", join), fmt::arg("columns", ColumnList(spec.columns, q)),
      fmt::arg("values", values), fmt::arg("truncated", truncated),
      fmt::arg("truncated_state", kTruncatedState), fmt::arg("mismatch_state", kMismatchState));
}

// Without one: row by row, in id order; a deletion removes any ONE row equal
// in every column's text form (duplicates are indistinguishable).  With the
// partition key known, only its partition of stage is scanned.
std::string RowByRowReplayBody(const ReplaySpec& spec, const std::string& truncated,
                               const Quoting& q) {
  std::string values, same_text, same_key, key_known;
  for (const std::string& c : spec.columns) {
    values += (values.empty() ? "" : ", ") + std::string("nw.") + q.ident(c);
    same_text += " AND s." + q.ident(c) + "::text IS NOT DISTINCT FROM o." + q.ident(c) + "::text";
  }
  for (const std::string& k : spec.partition_key) {
    same_key += " AND s." + q.ident(k) + " = o." + q.ident(k);
    key_known +=
        (key_known.empty() ? "" : " AND ") + std::string("o.") + q.ident(k) + " IS NOT NULL";
  }
  return fmt::format(
      R"sql(AS $pwd_fn$
DECLARE
  r record;
  o {def};
  nw {def};
  n bigint := 0;
  c bigint;
  t_oid oid;
  t_ctid tid;
BEGIN
  FOR r IN WITH d AS (DELETE FROM {log}
                       WHERE id IN (SELECT id FROM {log} ORDER BY id LIMIT max_rows)
                       RETURNING id, op, old_row, new_row)
           SELECT * FROM d ORDER BY id LOOP
    IF r.op = 't' THEN
      RAISE EXCEPTION USING ERRCODE = '{truncated_state}', MESSAGE = {truncated};
    END IF;
    o := r.old_row;
    nw := r.new_row;
    IF r.op IN ('d', 'u') THEN
      IF {key_known} THEN
        SELECT s.tableoid, s.ctid INTO t_oid, t_ctid FROM {stage} s
         WHERE true{same_key}{same_text} LIMIT 1;
      ELSE
        SELECT s.tableoid, s.ctid INTO t_oid, t_ctid FROM {stage} s
         WHERE true{same_text} LIMIT 1;
      END IF;
      c := 0;
      IF FOUND THEN
        DELETE FROM {stage} s WHERE s.tableoid = t_oid AND s.ctid = t_ctid;
        GET DIAGNOSTICS c = ROW_COUNT;
      END IF;
      IF c <> 1 THEN
        RAISE EXCEPTION USING ERRCODE = '{mismatch_state}', MESSAGE = format(
          'change %s (%s): no row of the copy matches the old row %s', r.id, r.op, o);
      END IF;
    END IF;
    IF r.op IN ('i', 'u') THEN
      INSERT INTO {stage} ({columns}) VALUES ({values});
    END IF;
    n := n + 1;
  END LOOP;
  RETURN n;
END $pwd_fn$)sql",
      fmt::arg("def", spec.def), fmt::arg("log", spec.log), fmt::arg("stage", spec.stage),
      fmt::arg("key_known", key_known), fmt::arg("same_key", same_key),
      fmt::arg("same_text", same_text), fmt::arg("columns", ColumnList(spec.columns, q)),
      fmt::arg("values", values), fmt::arg("truncated", truncated),
      fmt::arg("truncated_state", kTruncatedState), fmt::arg("mismatch_state", kMismatchState));
}

}  // namespace

// Order: changes to one row come from transactions that waited for each
// other (row lock, unique index), so their log ids are in commit order;
// changes to different rows commute.
std::string ReplayFunctionSql(const ReplaySpec& spec, const Quoting& q) {
  const std::string truncated =
      q.literal(spec.def_display +
                " was truncated during the drain; nothing was changed: run the drain again");
  // force_custom_plan: plans for the values at hand, pruned to the partition
  // of stage concerned, instead of a generic plan over all of them.
  return fmt::format(
      R"sql(CREATE FUNCTION {replay}(max_rows integer) RETURNS bigint LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_custom_plan {body})sql",
      fmt::arg("replay", spec.function),
      fmt::arg("body", spec.match_columns.empty() ? RowByRowReplayBody(spec, truncated, q)
                                                  : KeyedReplayBody(spec, truncated, q)));
}

std::string SwapSql(const SwapSpec& spec, const Quoting& q) {
  std::string body;
  auto add = [&](const std::string& s) { body += "  " + s + ";\n"; };
  const std::string check = q.ident(kBoundCheck);
  for (const SwapTarget& t : spec.targets) {
    add("ALTER TABLE " + spec.stage + " DETACH PARTITION " + t.qname);
  }
  add("ALTER TABLE " + spec.stage + " DETACH PARTITION " + spec.new_default);
  add("ALTER TABLE " + spec.parent + " DETACH PARTITION " + spec.def);
  // No DEFAULT is attached now, so these ATTACHes scan nothing but their own
  // table, and that scan is skipped: the CHECK is the partition constraint.
  for (const SwapTarget& t : spec.targets) {
    add("ALTER TABLE " + spec.parent + " ATTACH PARTITION " + t.qname + " " + t.bound);
  }
  add("ALTER TABLE " + spec.parent + " ATTACH PARTITION " + spec.new_default + " DEFAULT");
  // Catalog-only; the constraints would only get in the way of a later
  // DETACH (rows of a detached range must be able to land in DEFAULT).
  for (const SwapTarget& t : spec.targets) {
    add("ALTER TABLE " + t.qname + " DROP CONSTRAINT " + check);
  }
  if (spec.default_has_check) add("ALTER TABLE " + spec.new_default + " DROP CONSTRAINT " + check);
  for (const PubMember& m : spec.publications) {
    add("ALTER PUBLICATION " + q.ident(m.pubname) + " DROP TABLE " + spec.def);
  }
  // Names: the old DEFAULT and its indexes step aside (dropped after COMMIT,
  // outside the lock), the new ones take their names.
  add("ALTER TABLE " + spec.def + " RENAME TO " + q.ident(spec.old_default));
  for (const OldIndex& o : spec.old_indexes) {
    add("ALTER INDEX " + q.ident(spec.schema) + "." + q.ident(o.name) + " RENAME TO " +
        q.ident("pwd_old_" + std::to_string(o.oid)));
  }
  add("ALTER TABLE " + spec.new_default + " RENAME TO " + q.ident(spec.def_name));
  const std::string& q_final = spec.def;  // the same name, now the new table's
  for (const OldIndex& o : spec.old_indexes) {
    if (o.parent_index == 0) {
      add("ALTER INDEX " + q.ident(spec.schema) + "." + q.ident("pwd_ix_" + std::to_string(o.oid)) +
          " RENAME TO " + q.ident(o.name));
      continue;
    }
    body +=
        "  SELECT h.inhrelid::regclass INTO ix FROM pg_catalog.pg_inherits h "
        "JOIN pg_catalog.pg_index i ON i.indexrelid = h.inhrelid WHERE h.inhparent = " +
        std::to_string(o.parent_index) + " AND i.indrelid = " + std::to_string(spec.new_oid) +
        ";\n";
    body += "  IF ix IS NOT NULL THEN EXECUTE format('ALTER INDEX %s RENAME TO %I', ix, " +
            q.literal(o.name) + "); END IF;\n";
  }
  if (spec.replident == 'i' && !spec.replident_index.empty()) {
    add("ALTER TABLE " + q_final + " REPLICA IDENTITY USING INDEX " +
        q.ident(spec.replident_index));
  }
  for (const PubMember& m : spec.publications) {
    const std::string cols = ColumnList(m.columns, q);
    add("ALTER PUBLICATION " + q.ident(m.pubname) + " ADD TABLE " + q_final +
        (cols.empty() ? "" : " (" + cols + ")") +
        (m.row_filter.empty() ? "" : " WHERE (" + m.row_filter + ")"));
  }
  std::string tag = "$pwd_swap$";
  for (int k = 0; body.find(tag) != std::string::npos; ++k) {
    tag = "$pwd_swap" + std::to_string(k) + "$";  // a row filter could hold the tag
  }
  return "DO " + tag + "\nDECLARE ix regclass;\nBEGIN\n" + body + "END " + tag;
}

}  // namespace partwatch::drain
