// drain::Drain against a real PostgreSQL 15: the DEFAULT partition's backlog
// moves into new partitions while the application keeps reading and
// writing, no exclusive lock outlives its bound, and an interruption
// anywhere leaves every row exactly once.  Assertions are on database state.
//
// DRAIN-BENCH lines carry the numbers for docs/benchmarks.md.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include <spdlog/fmt/fmt.h>

#include "src/catalog.h"
#include "src/drain/drain.h"
#include "src/executor/executor.h"
#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// What must not change across a drain: the rows themselves.
struct RowSet {
  int64_t rows = 0;
  int64_t distinct_ids = 0;
  std::string content_md5;  // every row's text, sorted
  bool operator==(const RowSet&) const = default;
};

std::ostream& operator<<(std::ostream& os, const RowSet& r) {
  return os << "{rows " << r.rows << ", distinct ids " << r.distinct_ids << ", md5 "
            << r.content_md5 << "}";
}

// `select_list` over `from`, e.g. ("id, status, customer", "orders").
RowSet Rows(pg::Connection& conn, const std::string& from, const std::string& select_list,
            const std::string& id = "id") {
  pg::QueryResult r = conn.Exec("SELECT count(*), count(DISTINCT " + id +
                                "), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') "
                                "FROM (SELECT " +
                                select_list + " FROM " + from + ") t");
  return RowSet{r.int64(0, 0), r.int64(0, 1), r.text(0, 2)};
}

RowSet Rows(const TestDatabase& db, const std::string& from, const std::string& select_list,
            const std::string& id = "id") {
  pg::Connection c = db.Connect();
  return Rows(c, from, select_list, id);
}

// Every object a drain creates, by its marks: "_pwd_" in a name, the
// triggers, and the bound CHECK constraints.
std::vector<std::string> ScratchObjects(const TestDatabase& db) {
  pg::Connection c = db.Connect();
  pg::QueryResult r = c.Exec(
      "SELECT 'relation ' || relname FROM pg_class WHERE relname LIKE '%\\_pwd\\_%' "
      "UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE proname LIKE '%\\_pwd\\_%' "
      "UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgname LIKE 'partwatch_drain%' "
      "UNION ALL SELECT 'constraint ' || conname FROM pg_constraint "
      "  WHERE conname = 'partwatch_drain_bound' ORDER BY 1");
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
  return out;
}

std::string DefaultOf(const TestDatabase& db, const std::string& parent) {
  return db.Scalar(
      "SELECT partdefid::regclass::text FROM pg_partitioned_table WHERE partrelid = '" + parent +
      "'::regclass");
}

TableInfo Describe(const TestDatabase& db, const std::string& name) {
  pg::Connection c = db.Connect();
  return DescribeTable(c, name);
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A target for one day of a date RANGE key.
drain::Target DayTarget(const std::string& prefix, const std::string& day, int plus_days,
                        std::string* name_out = nullptr) {
  // Dates are computed by the caller's database in the tests below; here
  // only formatting: day + N days via a tiny civil-date step.
  int y, m, d;
  std::sscanf(day.c_str(), "%d-%d-%d", &y, &m, &d);
  auto days_in = [](int yy, int mm) {
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
    return mm == 2 && leap ? 29 : kDays[mm - 1];
  };
  auto step = [&](int& yy, int& mm, int& dd) {
    if (++dd > days_in(yy, mm)) {
      dd = 1;
      if (++mm > 12) {
        mm = 1;
        ++yy;
      }
    }
  };
  for (int i = 0; i < plus_days; ++i) step(y, m, d);
  char lo[48], hi[48], nm[48];
  std::snprintf(lo, sizeof(lo), "%04d-%02d-%02d", y, m, d);
  std::snprintf(nm, sizeof(nm), "p%04d_%02d_%02d", y, m, d);
  step(y, m, d);
  std::snprintf(hi, sizeof(hi), "%04d-%02d-%02d", y, m, d);
  if (name_out) *name_out = lo;
  return drain::Target{prefix + nm,
                       std::string("FOR VALUES FROM ('") + lo + "') TO ('" + hi + "')"};
}

class DrainTest : public PartwatchTest {};

// ---------------------------------------------------------------------------
// LIST: several values out, the others stay; what DEFAULT had of its own
// (column order, index, CHECK, storage option, comment, grant, publication
// membership with column list and row filter) is on the new DEFAULT.

constexpr const char* kOrdersSchema = R"sql(
CREATE TABLE orders (
  id bigserial, status text NOT NULL, customer text, amount numeric,
  created_at timestamptz DEFAULT now(), PRIMARY KEY (id, status)
) PARTITION BY LIST (status);
CREATE INDEX orders_customer_idx ON orders (customer);
CREATE TABLE orders_new PARTITION OF orders FOR VALUES IN ('new');
-- DEFAULT made on its own, columns in another order, then attached.
CREATE TABLE orders_other (created_at timestamptz DEFAULT now(), amount numeric,
  customer text, status text NOT NULL, id bigint NOT NULL);
ALTER TABLE orders ATTACH PARTITION orders_other DEFAULT;
INSERT INTO orders (status, customer, amount)
  SELECT CASE WHEN i % 10 < 5 THEN 'paid' WHEN i % 10 < 8 THEN 'shipped'
              WHEN i % 10 < 9 THEN 'returned' ELSE 'new' END,
         'c' || (i % 100), i % 1000
  FROM generate_series(1, 20000) AS i;
)sql";

TEST_F(DrainTest, DrainListMovesValuesAndKeepsDefaultsOwnProperties) {
  db_->Exec(kOrdersSchema);
  db_->Exec(R"sql(
    CREATE INDEX orders_other_amount_idx ON orders_other (amount);
    ALTER TABLE orders_other ADD CONSTRAINT amount_not_negative CHECK (amount >= 0);
    ALTER TABLE orders_other SET (fillfactor = 90);
    COMMENT ON TABLE orders_other IS 'the rest';
    DO $$ BEGIN CREATE ROLE drain_test_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
    GRANT SELECT ON orders_other TO drain_test_reader;
    CREATE PUBLICATION drain_test_pub FOR TABLE orders_other (id, status)
      WHERE (status <> 'secret') WITH (publish = 'insert');
  )sql");
  const std::string cols = "id, status, customer, amount, created_at";
  const RowSet before = Rows(*db_, "orders", cols);
  ASSERT_EQ(before.rows, 20000);

  pg::Connection conn = db_->Connect();
  const TableInfo info = DescribeTable(conn, "public.orders");
  drain::Options options;
  options.batch_rows = 1000;  // many batches
  int progress_calls = 0;
  options.on_progress = [&](const drain::Progress&) { ++progress_calls; };
  const drain::Summary result = drain::Drain(
      conn, info,
      {{"orders_paid", "FOR VALUES IN ('paid')"}, {"orders_shipped", "FOR VALUES IN ('shipped')"}},
      options);

  // Every row, once, unchanged.
  EXPECT_EQ(Rows(*db_, "orders", cols), before);
  // Each value in its partition; DEFAULT keeps exactly the others.
  EXPECT_EQ(
      Partitions(*db_, "public.orders"),
      (std::vector<std::string>{"orders_new", "orders_other", "orders_paid", "orders_shipped"}));
  EXPECT_EQ(DefaultOf(*db_, "orders"), "orders_other");
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_paid"), 10000);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_paid WHERE status <> 'paid'"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_shipped"), 6000);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 2000);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status <> 'returned'"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_new"), 2000);
  // The report.
  EXPECT_EQ(result.rows_copied, 18000);
  EXPECT_EQ(result.rows_left_in_default, 2000);
  ASSERT_EQ(result.moved.size(), 2u);
  EXPECT_EQ(result.moved[0], (std::pair<std::string, int64_t>{"orders_paid", 10000}));
  EXPECT_EQ(result.moved[1], (std::pair<std::string, int64_t>{"orders_shipped", 6000}));
  EXPECT_EQ(result.swap_attempts, 1);
  EXPECT_GT(progress_calls, 18);
  EXPECT_LE(result.longest_lock.count(), 200'000);

  // Indexes exist on the new partitions, attached to the parent's.
  for (const std::string t : {"orders_paid", "orders_shipped", "orders_other"}) {
    EXPECT_EQ(Count(*db_,
                    "SELECT count(*) FROM pg_index i JOIN pg_inherits h "
                    "ON h.inhrelid = i.indexrelid WHERE i.indrelid = '" +
                        t + "'::regclass"),
              2)
        << t;
  }
  // The new DEFAULT has the old one's names and properties.
  EXPECT_EQ(Count(*db_,
                  "SELECT count(*) FROM pg_indexes WHERE tablename = 'orders_other' "
                  "AND indexname IN ('orders_other_pkey', 'orders_other_customer_idx', "
                  "'orders_other_amount_idx')"),
            3)
      << db_->Scalar(
             "SELECT string_agg(indexname, ', ') FROM pg_indexes WHERE tablename = "
             "'orders_other'");
  EXPECT_EQ(Count(*db_,
                  "SELECT count(*) FROM pg_constraint WHERE conrelid = "
                  "'orders_other'::regclass AND conname = 'amount_not_negative'"),
            1);
  EXPECT_EQ(
      db_->Scalar("SELECT reloptions::text FROM pg_class WHERE oid = 'orders_other'::regclass"),
      "{fillfactor=90}");
  EXPECT_EQ(db_->Scalar("SELECT obj_description('orders_other'::regclass, 'pg_class')"),
            "the rest");
  EXPECT_EQ(
      db_->Scalar("SELECT has_table_privilege('drain_test_reader', 'orders_other', 'SELECT')"),
      "t");
  EXPECT_EQ(
      db_->Scalar("SELECT has_table_privilege('drain_test_reader', 'orders_other', 'INSERT')"),
      "f");
  EXPECT_EQ(db_->Scalar("SELECT string_agg(tablename || ' ' || attnames::text || ' ' || rowfilter, "
                        "'; ') FROM pg_publication_tables WHERE pubname = 'drain_test_pub'"),
            "orders_other {id,status} (status <> 'secret'::text)");
  // Nothing of the drain is left; the bound CHECKs are gone.
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
  // Writes keep routing: a new value goes to DEFAULT, a drained one to its
  // partition.
  db_->Exec("INSERT INTO orders (status) VALUES ('paid'), ('lost')");
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_paid"), 10001);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'lost'"), 1);

  // Again, with the same targets: they are partitions now, nothing to do.
  const drain::Summary again = drain::Drain(
      conn, Describe(*db_, "public.orders"),
      {{"orders_paid", "FOR VALUES IN ('paid')"}, {"orders_shipped", "FOR VALUES IN ('shipped')"}},
      {});
  EXPECT_TRUE(again.moved.empty());
  EXPECT_EQ(again.rows_copied, 0);
  db_->Exec("DROP PUBLICATION drain_test_pub");
  db_->Exec("DROP OWNED BY drain_test_reader; DROP ROLE drain_test_reader");
}

// NULL as a LIST value, an identity column, a dropped column (holes in the
// attribute numbers), and an integer key.
TEST_F(DrainTest, DrainListNullValueIdentityAndDroppedColumn) {
  db_->Exec(R"sql(
    CREATE TABLE items (id bigint GENERATED ALWAYS AS IDENTITY, gone text, kind int,
      note text, PRIMARY KEY (id, kind)) PARTITION BY LIST (kind);
    ALTER TABLE items DROP COLUMN gone;
    CREATE TABLE items_1 PARTITION OF items FOR VALUES IN (1);
    CREATE TABLE items_rest PARTITION OF items DEFAULT;
    INSERT INTO items (kind, note) SELECT i % 5 + 1, 'n' || i FROM generate_series(1, 5000) AS i;
  )sql");
  // A primary key makes kind NOT NULL; a second table takes the NULLs.
  db_->Exec(R"sql(
    CREATE TABLE tags (id bigint GENERATED ALWAYS AS IDENTITY, kind int, note text)
      PARTITION BY LIST (kind);
    CREATE TABLE tags_rest PARTITION OF tags DEFAULT;
    INSERT INTO tags (kind, note) SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE i % 3 END, 'n' || i
      FROM generate_series(1, 3000) AS i;
  )sql");
  const RowSet items_before = Rows(*db_, "items", "id, kind, note");
  const RowSet tags_before = Rows(*db_, "tags", "id, kind, note");
  pg::Connection conn = db_->Connect();
  drain::Drain(conn, Describe(*db_, "public.items"),
               {{"items_2", "FOR VALUES IN (2)"}, {"items_3", "FOR VALUES IN (3)"}}, {});
  drain::Drain(conn, Describe(*db_, "public.tags"),
               {{"tags_null", "FOR VALUES IN (NULL)"}, {"tags_2", "FOR VALUES IN (2)"}}, {});
  EXPECT_EQ(Rows(*db_, "items", "id, kind, note"), items_before);
  EXPECT_EQ(Rows(*db_, "tags", "id, kind, note"), tags_before);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY items_2 WHERE kind = 2"), 1000);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY items_rest WHERE kind IN (2, 3)"), 0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY tags_null WHERE kind IS NULL"), 1000);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY tags_rest"), 1000);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY tags_rest WHERE kind = 1"), 1000);
  // The identity still numbers new rows, which route to the new partitions.
  db_->Exec(
      "INSERT INTO items (kind, note) VALUES (2, 'new'); INSERT INTO tags (kind) VALUES (NULL)");
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY items_2 WHERE note = 'new' AND id > 5000"), 1);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY tags_null"), 1001);
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
}

// ---------------------------------------------------------------------------
// RANGE on a date, with a primary key.

TEST_F(DrainTest, DrainRangeWithPrimaryKey) {
  db_->Exec(R"sql(
    CREATE TABLE events (id bigserial, day date NOT NULL, payload text, PRIMARY KEY (id, day))
      PARTITION BY RANGE (day);
    CREATE TABLE events_p2026_01_01 PARTITION OF events
      FOR VALUES FROM ('2026-01-01') TO ('2026-01-02');
    CREATE TABLE events_default PARTITION OF events DEFAULT;
    INSERT INTO events (day, payload)
      SELECT date '2026-01-01' + (i % 11), md5(i::text) FROM generate_series(1, 11000) AS i;
  )sql");
  const RowSet before = Rows(*db_, "events", "id, day, payload");
  std::vector<drain::Target> targets;
  for (int d = 1; d <= 5; ++d) targets.push_back(DayTarget("events_", "2026-01-01", d));
  pg::Connection conn = db_->Connect();
  const drain::Summary result =
      drain::Drain(conn, Describe(*db_, "public.events"), targets, drain::Options{});

  EXPECT_EQ(Rows(*db_, "events", "id, day, payload"), before);
  EXPECT_EQ(result.rows_copied, 10000);
  EXPECT_EQ(result.rows_left_in_default, 5000);
  EXPECT_EQ(Count(*db_,
                  "SELECT count(*) FROM ONLY events_default WHERE day BETWEEN "
                  "'2026-01-02' AND '2026-01-06'"),
            0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY events_default"), 5000);
  for (int d = 1; d <= 5; ++d) {
    std::string day;
    const drain::Target t = DayTarget("events_", "2026-01-01", d, &day);
    EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY " + t.name), 1000) << t.name;
    EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY " + t.name + " WHERE day <> '" + day + "'"),
              0);
    EXPECT_EQ(db_->Scalar("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = '" +
                          t.name + "'"),
              t.bound_sql);
  }
  EXPECT_EQ(DefaultOf(*db_, "events"), "events_default");
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
}

// ---------------------------------------------------------------------------
// No unique key: changes are matched on every column's text.  Duplicate
// rows, NULL keys, a generated column, and names that need quoting (a
// schema with a quote, a DEFAULT whose name is too long for the scratch
// suffixes).

TEST_F(DrainTest, DrainWithoutKeyMatchesRowsByTheirText) {
  const std::string schema = "Odd \"Schema\"";
  const std::string def_name =
      "Log \"Default\" partition with name far too long for suffixes é";  // 62 bytes
  ASSERT_LE(def_name.size(), 63u);
  pg::Connection admin = db_->Connect();
  const std::string qs = admin.QuoteIdent(schema);
  const std::string parent = qs + ".logs";
  admin.Exec("CREATE SCHEMA " + qs);
  admin.Exec("CREATE TABLE " + parent +
             " (\"Ts\" date, msg text, n numeric, tags text[], doc jsonb, "
             "len int GENERATED ALWAYS AS (length(msg)) STORED) PARTITION BY RANGE (\"Ts\")");
  admin.Exec("CREATE TABLE " + admin.QuoteQualified(schema, def_name) + " PARTITION OF " + parent +
             " DEFAULT");
  // Every row twice, some NULL keys.
  admin.Exec("INSERT INTO " + parent +
             " (\"Ts\", msg, n, tags, doc) SELECT CASE WHEN i % 50 = 0 THEN NULL ELSE "
             "date '2026-05-01' + (i % 6) END, 'm' || (i % 700), i / 7.0, ARRAY['a', i::text], "
             "jsonb_build_object('i', i % 300) FROM generate_series(1, 1500) AS i, "
             "generate_series(1, 2)");
  // A mirror: the same changes are applied to a plain table.
  admin.Exec("CREATE TABLE mirror AS SELECT \"Ts\", msg, n, tags, doc FROM " + parent);
  const std::string cols = "\"Ts\", msg, n, tags, doc, len";
  const std::string mirror_cols = "\"Ts\", msg, n, tags, doc, length(msg) AS len";
  ASSERT_EQ(Rows(admin, parent, cols, "msg"), Rows(admin, "mirror", mirror_cols, "msg"));

  pg::Connection writer = db_->Connect();
  auto both = [&](const std::string& sql_template) {
    // {T} is the table; one transaction for both.
    auto on = [&](const std::string& t) {
      return std::regex_replace(sql_template, std::regex("\\{T\\}"), t);
    };
    writer.Exec("BEGIN; " + on(parent) + "; " + on("mirror") + "; COMMIT");
  };
  int batches = 0;
  drain::Options options;
  options.batch_rows = 300;
  options.on_progress = [&](const drain::Progress& p) {
    if (p.phase != "copy" || ++batches != 3) return;
    // One of two equal rows goes; the other stays.
    both(
        "DELETE FROM {T} WHERE ctid = (SELECT ctid FROM {T} WHERE msg = 'm7' "
        "AND \"Ts\" = '2026-05-02' LIMIT 1)");
    // Updates inside a drained day, out of it, into it, on a NULL key.
    both("UPDATE {T} SET msg = msg || '!' WHERE msg = 'm8'");
    both("UPDATE {T} SET \"Ts\" = '2026-05-06' WHERE msg = 'm9'");
    both("UPDATE {T} SET \"Ts\" = '2026-05-03' WHERE msg = 'm10'");
    both("UPDATE {T} SET n = -1 WHERE \"Ts\" IS NULL AND msg = 'm50'");
    both("DELETE FROM {T} WHERE \"Ts\" IS NULL AND msg = 'm100'");
    // Inserts: a duplicate of an existing row, NULLs everywhere.
    both(
        "INSERT INTO {T} (\"Ts\", msg, n, tags, doc) SELECT \"Ts\", msg, n, tags, doc FROM {T} "
        "WHERE msg = 'm11' LIMIT 1");
    both(
        "INSERT INTO {T} (\"Ts\", msg, n, tags, doc) VALUES (NULL, NULL, NULL, NULL, NULL), "
        "('2026-05-03', NULL, 'NaN', '{}', 'null')");
  };
  pg::Connection conn = db_->Connect();
  const TableInfo info = DescribeTable(conn, parent);
  const drain::Summary result =
      drain::Drain(conn, info,
                   {{"logs_0502", "FOR VALUES FROM ('2026-05-02') TO ('2026-05-03')"},
                    {"logs_0503", "FOR VALUES FROM ('2026-05-03') TO ('2026-05-04')"}},
                   options);
  EXPECT_GT(batches, 3);
  EXPECT_GT(result.replayed_before_swap, 10);
  EXPECT_EQ(Rows(admin, parent, cols, "msg"), Rows(admin, "mirror", mirror_cols, "msg"));
  const std::string q_def = admin.QuoteQualified(schema, def_name);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY " + q_def +
                            " WHERE \"Ts\" IN ('2026-05-02', '2026-05-03')"),
            0);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY " + qs + ".logs_0503"),
            Count(*db_, "SELECT count(*) FROM mirror WHERE \"Ts\" = '2026-05-03'"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY " + qs +
                            ".logs_0503 WHERE len IS DISTINCT "
                            "FROM length(msg)"),
            0);
  EXPECT_EQ(db_->Scalar("SELECT partdefid::regclass = " + admin.QuoteLiteral(q_def) +
                        "::regclass FROM pg_partitioned_table WHERE partrelid = " +
                        admin.QuoteLiteral(parent) + "::regclass"),
            "t");
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
}

// ---------------------------------------------------------------------------
// Changes made while the copy runs and between the last catch-up and the
// swap, of every kind, through the parent and into DEFAULT directly.

TEST_F(DrainTest, DrainReplaysEveryKindOfChangeExactlyOnce) {
  db_->Exec(kOrdersSchema);
  db_->Exec("CREATE TABLE mirror AS SELECT id, status, customer, amount FROM orders");
  const std::string cols = "id, status, customer, amount";
  pg::Connection writer = db_->Connect();
  auto both = [&](const std::string& sql_template) {
    auto on = [&](const std::string& t) {
      return std::regex_replace(sql_template, std::regex("\\{T\\}"), t);
    };
    writer.Exec("BEGIN; " + on("orders") + "; " + on("mirror") + "; COMMIT");
  };
  int batches = 0;
  int swaps = 0;
  drain::Options options;
  options.batch_rows = 2000;
  options.on_progress = [&](const drain::Progress& p) {
    if (p.phase == "copy" && ++batches == 2) {
      both(
          "INSERT INTO {T} (id, status, customer, amount) VALUES "
          "(100001, 'paid', 'x', 1), (100002, 'returned', 'x', 2), (100003, 'new', 'x', 3)");
      both("UPDATE {T} SET amount = amount + 1000 WHERE status = 'paid' AND id % 97 = 0");
      both("UPDATE {T} SET status = 'returned' WHERE status = 'paid' AND id % 101 = 0");
      both("UPDATE {T} SET status = 'paid' WHERE status = 'returned' AND id % 103 = 0");
      both("UPDATE {T} SET status = 'new' WHERE status = 'shipped' AND id % 107 = 0");
      both("UPDATE {T} SET status = 'shipped' WHERE status = 'new' AND id % 109 = 0");
      both("DELETE FROM {T} WHERE status = 'shipped' AND id % 113 = 0");
      both("DELETE FROM {T} WHERE id = 100001");
      both("INSERT INTO {T} (id, status, customer, amount) VALUES (100001, 'paid', 'again', 5)");
    }
    if (p.phase == "swap" && ++swaps == 1) {
      // After the last catch-up: replayed under the lock.
      both("UPDATE {T} SET customer = 'late' WHERE status = 'paid' AND id % 89 = 0");
      both("INSERT INTO {T} (id, status, customer, amount) VALUES (100004, 'shipped', 'late', 4)");
      both("DELETE FROM {T} WHERE status = 'returned' AND id % 83 = 0");
      // Straight into DEFAULT, not through the parent.
      writer.Exec(
          "BEGIN; INSERT INTO orders_other (id, status, customer, amount) VALUES "
          "(100005, 'paid', 'direct', 6); INSERT INTO mirror VALUES "
          "(100005, 'paid', 'direct', 6); COMMIT");
    }
  };
  pg::Connection conn = db_->Connect();
  const drain::Summary result = drain::Drain(
      conn, Describe(*db_, "public.orders"),
      {{"orders_paid", "FOR VALUES IN ('paid')"}, {"orders_shipped", "FOR VALUES IN ('shipped')"}},
      options);

  EXPECT_EQ(Rows(*db_, "orders", cols), Rows(*db_, "mirror", cols));
  EXPECT_EQ(Rows(*db_, "ONLY orders_paid", cols), Rows(*db_, "mirror WHERE status = 'paid'", cols));
  EXPECT_EQ(Rows(*db_, "ONLY orders_shipped", cols),
            Rows(*db_, "mirror WHERE status = 'shipped'", cols));
  EXPECT_EQ(Rows(*db_, "ONLY orders_other", cols),
            Rows(*db_, "mirror WHERE status NOT IN ('paid', 'shipped', 'new')", cols));
  EXPECT_EQ(Rows(*db_, "ONLY orders_new", cols), Rows(*db_, "mirror WHERE status = 'new'", cols));
  EXPECT_GT(result.replayed_before_swap, 0);
  EXPECT_GE(result.replayed_in_swap, 3);
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
}

// ---------------------------------------------------------------------------
// The main one: a million rows in DEFAULT over 30 daily buckets, drained
// while pgbench inserts, updates and reads through the parent.

constexpr int64_t kBenchDrainedRows = 1'000'000;
constexpr int64_t kBenchOtherRows = 100'000;

TEST_F(DrainTest, DrainMillionRowsUnderPgbenchHoldsLockUnderBound) {
  const auto load_start = Clock::now();
  db_->Exec(R"sql(
    CREATE TABLE events (id bigserial, day date NOT NULL, payload text, PRIMARY KEY (id, day))
      PARTITION BY RANGE (day);
    CREATE TABLE events_p2026_02_26 PARTITION OF events FOR VALUES FROM ('2026-02-26') TO ('2026-02-27');
    CREATE TABLE events_p2026_02_27 PARTITION OF events FOR VALUES FROM ('2026-02-27') TO ('2026-02-28');
    CREATE TABLE events_p2026_02_28 PARTITION OF events FOR VALUES FROM ('2026-02-28') TO ('2026-03-01');
    CREATE TABLE events_default PARTITION OF events DEFAULT;
    CREATE TABLE bench_updates (id bigint);
  )sql");
  db_->Exec(
      "INSERT INTO events (day, payload) SELECT date '2026-03-01' + (i % 30), 'seed' "
      "FROM generate_series(1, " +
      std::to_string(kBenchDrainedRows) + ") AS i");
  db_->Exec(
      "INSERT INTO events (day, payload) SELECT date '2026-03-31' + (i % 10), 'seed' "
      "FROM generate_series(1, " +
      std::to_string(kBenchOtherRows) + ") AS i");
  db_->Exec("VACUUM ANALYZE events");
  const double load_s = std::chrono::duration<double>(Clock::now() - load_start).count();
  const int64_t n_before = Count(*db_, "SELECT count(*) FROM events");
  const int64_t max_before = Count(*db_, "SELECT max(id) FROM events");
  const std::string sum_before = db_->Scalar("SELECT sum(id) FROM events");
  ASSERT_EQ(n_before, kBenchDrainedRows + kBenchOtherRows);
  ASSERT_EQ(Count(*db_, "SELECT count(*) FROM ONLY events_default"), n_before);

  // pgbench: one transaction inserts a row (days from an existing
  // partition, the drained buckets and the buckets left in DEFAULT) and
  // updates an old row (noting which), then a read through the parent.
  const std::string script =
      "\\set d random(-3, 39)\n"
      "\\set id random(1, " +
      std::to_string(max_before) +
      ")\n"
      "\\set lo random(1, " +
      std::to_string(max_before) +
      ")\n"
      "BEGIN;\n"
      "INSERT INTO events (day, payload) VALUES (date '2026-03-01' + :d, 'pgbench');\n"
      "UPDATE events SET payload = 'u' WHERE id = :id;\n"
      "INSERT INTO bench_updates (id) VALUES (:id);\n"
      "END;\n"
      "SELECT count(*), sum(id) FROM events WHERE id BETWEEN :lo AND :lo + 50;\n";
  // Long enough to cover the drain on a slower machine: the drain writes
  // about what the load wrote.
  const int bench_seconds = static_cast<int>(std::ceil(load_s * 4.0)) + 15;
  PgbenchResult bench;
  std::atomic<bool> bench_done{false};
  std::thread bench_thread([&] {
    bench = RunPgbench(PgServer::Shared().port(), db_->name(), script,
                       {"-c", "2", "-j", "2", "-T", std::to_string(bench_seconds), "-R", "1000"});
    bench_done = true;
  });
  struct Joiner {
    std::thread& t;
    ~Joiner() {
      if (t.joinable()) t.join();
    }
  } joiner{bench_thread};
  ASSERT_TRUE(WaitFor(
      [&] { return Count(*db_, "SELECT count(*) FROM bench_updates") > 200 || bench_done; }));
  ASSERT_FALSE(bench_done) << bench.output;

  // A reader: the rows that existed before are all visible, once, in every
  // snapshot it takes during the drain.
  std::atomic<bool> stop_reader{false};
  std::atomic<int64_t> reads{0}, bad_reads{0};
  std::string bad_example;
  std::thread reader([&] {
    pg::Connection c = db_->Connect();
    while (!stop_reader) {
      pg::QueryResult r =
          c.Exec("SELECT count(*), sum(id) FROM events WHERE id <= " + std::to_string(max_before));
      ++reads;
      if (r.int64(0, 0) != n_before || r.text(0, 1) != sum_before) {
        if (bad_reads++ == 0) bad_example = r.text(0, 0) + " rows, sum " + r.text(0, 1);
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
  });
  LockWatch sampler(*db_, "events", LockWatch::kAccessExclusiveByAnyone);

  std::vector<drain::Target> targets;
  for (int d = 0; d < 30; ++d) targets.push_back(DayTarget("events_", "2026-03-01", d));
  pg::Connection conn = db_->Connect();
  drain::Options options;  // max_lock 200 ms
  const drain::Summary result =
      drain::Drain(conn, Describe(*db_, "public.events"), targets, options);
  const bool bench_covered_drain = !bench_done;
  std::this_thread::sleep_for(milliseconds(300));  // let the readers see the result too
  sampler.Stop();
  stop_reader = true;
  reader.join();
  bench_thread.join();

  // pgbench: nothing failed, and it ran through the whole drain.
  EXPECT_TRUE(bench_covered_drain) << "pgbench ended before the drain; raise its -T";
  EXPECT_EQ(bench.exit_code, 0) << bench.output;
  ASSERT_GT(bench.processed, 0) << bench.output;
  EXPECT_EQ(bench.failed, 0) << bench.output;
  // Readers always saw every old row exactly once.
  EXPECT_EQ(bad_reads, 0) << bad_example;
  EXPECT_GT(reads, 5);
  // Every row there once: the old ones, plus one per pgbench transaction.
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), n_before + bench.processed);
  EXPECT_EQ(Count(*db_, "SELECT count(DISTINCT id) FROM events"), n_before + bench.processed);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events WHERE payload = 'pgbench'"), bench.processed);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events WHERE id <= " + std::to_string(max_before)),
            n_before);
  EXPECT_EQ(db_->Scalar("SELECT sum(id) FROM events WHERE id <= " + std::to_string(max_before)),
            sum_before);
  // Every update is there.
  EXPECT_EQ(Count(*db_,
                  "SELECT count(*) FROM bench_updates b WHERE NOT EXISTS "
                  "(SELECT 1 FROM events e WHERE e.id = b.id AND e.payload = 'u')"),
            0);
  // No row of a drained bucket is left in DEFAULT; each bucket is whole.
  EXPECT_EQ(Count(*db_,
                  "SELECT count(*) FROM ONLY events_default WHERE day >= '2026-03-01' AND "
                  "day < '2026-03-31'"),
            0);
  EXPECT_EQ(Count(*db_,
                  "SELECT count(*) FROM ONLY events_default WHERE payload <> 'pgbench' "
                  "OR payload IS NULL"),
            Count(*db_, "SELECT count(*) FROM events WHERE day >= '2026-03-31' AND id <= " +
                            std::to_string(max_before)));
  // The copy's snapshot also had the pgbench rows committed before it.
  EXPECT_GE(result.rows_copied, n_before);
  EXPECT_GE(result.rows_left_in_default, kBenchOtherRows);
  int64_t moved = 0;
  for (const auto& [name, rows] : result.moved) moved += rows;
  EXPECT_EQ(moved + result.rows_left_in_default, result.rows_copied);
  ASSERT_EQ(result.moved.size(), 30u);
  EXPECT_EQ(DefaultOf(*db_, "events"), "events_default");
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
  // The lock, measured twice.
  EXPECT_LE(result.longest_lock, std::chrono::microseconds(200'000));
  EXPECT_LE(sampler.longest_hold(), milliseconds(200 + 10));  // + one polling interval
  EXPECT_GE(sampler.holds(), 1);

  const double copy_s = static_cast<double>(result.copy_took.count()) / 1e6;
  const double total_s = static_cast<double>(result.took.count()) / 1e6;
  std::smatch m;
  std::string tps = "?";
  if (std::regex_search(bench.output, m, std::regex(R"(tps = ([0-9.]+) \(without)"))) tps = m[1];
  const std::string line = fmt::format(
      "DRAIN-BENCH rows_in_default={} drained={} targets=30 copy_s={:.2f} copy_rows_per_s={:.0f} "
      "drain_total_s={:.2f} longest_lock_client_ms={:.1f} longest_lock_pg_locks_ms={} "
      "lock_sampler_samples={} replayed_before_swap={} replayed_in_swap={} swap_attempts={} "
      "pgbench_clients=2 pgbench_rate_limit=1000 pgbench_tps={} pgbench_tx={} "
      "pgbench_failed={} reader_snapshots={} load_s={:.2f}",
      n_before, kBenchDrainedRows, copy_s, static_cast<double>(result.rows_copied) / copy_s,
      total_s, static_cast<double>(result.longest_lock.count()) / 1000.0,
      sampler.longest_hold().count(), sampler.samples(), result.replayed_before_swap,
      result.replayed_in_swap, result.swap_attempts, tps, bench.processed, bench.failed,
      reads.load(), load_s);
  std::printf("%s\n", line.c_str());
  RecordProperty("drain_bench", line);
}

// ---------------------------------------------------------------------------
// Interruption: the drain's backend terminated at chosen and random points
// while a writer keeps going; every row stays exactly once, and a second
// Drain finishes the job.

constexpr const char* kEventsSmall = R"sql(
DROP TABLE IF EXISTS events;
CREATE TABLE events (id bigserial, day date NOT NULL, payload text, PRIMARY KEY (id, day))
  PARTITION BY RANGE (day);
CREATE TABLE events_p2026_06_30 PARTITION OF events FOR VALUES FROM ('2026-06-30') TO ('2026-07-01');
CREATE TABLE events_default PARTITION OF events DEFAULT;
INSERT INTO events (day, payload) SELECT date '2026-07-01' + (i % 8), 'seed'
  FROM generate_series(1, 60000) AS i;
)sql";

// Writes through the parent until stopped, remembering what committed.
class Writer {
 public:
  explicit Writer(const TestDatabase& db, int64_t max_seed_id)
      : conn_(db.Connect()), max_seed_id_(max_seed_id) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::set<int64_t>& inserted() const { return inserted_; }
  const std::map<int64_t, std::string>& updated() const { return updated_; }
  const std::string& error() const { return error_; }

 private:
  void Loop() {
    std::mt19937 rng(7);
    for (int i = 0; !stop_; ++i) {
      const int day = static_cast<int>(rng() % 10);  // -1 .. 8: partition, drained, kept
      const int64_t old_id = 1 + static_cast<int64_t>(rng() % static_cast<uint32_t>(max_seed_id_));
      const std::string payload = "w" + std::to_string(i);
      pg::QueryResult r =
          conn_.TryExec("BEGIN; UPDATE events SET payload = '" + payload +
                        "' WHERE id = " + std::to_string(old_id) +
                        "; INSERT INTO events (day, payload) VALUES (date '2026-06-30' + " +
                        std::to_string(day) + ", 'writer') RETURNING id");
      if (!r.ok()) {
        error_ = r.error_message();
        conn_.TryExec("ROLLBACK");
        return;
      }
      const int64_t id = r.int64(0, 0);
      if (!conn_.TryExec("COMMIT").ok()) {
        error_ = "commit failed";
        return;
      }
      inserted_.insert(id);
      updated_[old_id] = payload;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }
  pg::Connection conn_;
  int64_t max_seed_id_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::set<int64_t> inserted_;
  std::map<int64_t, std::string> updated_;
  std::string error_;
};

// Every seed row and every committed writer row exactly once, with the
// writer's last payload.
void ExpectEveryRowOnce(const TestDatabase& db, int64_t seed_rows, const Writer& w,
                        const std::string& context) {
  SCOPED_TRACE(context);
  const int64_t expected = seed_rows + static_cast<int64_t>(w.inserted().size());
  EXPECT_EQ(Count(db, "SELECT count(*) FROM events"), expected);
  EXPECT_EQ(Count(db, "SELECT count(DISTINCT id) FROM events"), expected);
  EXPECT_EQ(Count(db, "SELECT count(*) FROM events WHERE id <= " + std::to_string(seed_rows)),
            seed_rows);
  std::string ids;
  for (int64_t id : w.inserted()) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  if (!ids.empty()) {
    EXPECT_EQ(
        Count(db, "SELECT count(*) FROM events WHERE payload = 'writer' AND id IN (" + ids + ")"),
        static_cast<int64_t>(w.inserted().size()));
  }
  std::string values;
  for (const auto& [id, payload] : w.updated()) {
    values += (values.empty() ? "" : ",") + ("(" + std::to_string(id) + ",'" + payload + "')");
  }
  if (!values.empty()) {
    EXPECT_EQ(Count(db, "SELECT count(*) FROM (VALUES " + values +
                            ") AS v(id, p) WHERE NOT EXISTS (SELECT 1 FROM events e "
                            "WHERE e.id = v.id AND e.payload = v.p)"),
              0);
  }
}

std::vector<drain::Target> SmallTargets() {
  // 2026-07-01 .. 07-06 drained; 07-07 and 07-08 stay in DEFAULT.
  std::vector<drain::Target> t;
  for (int d = 0; d < 6; ++d) t.push_back(DayTarget("events_", "2026-07-01", d));
  return t;
}

void ExpectDrained(const TestDatabase& db, const std::string& context) {
  SCOPED_TRACE(context);
  EXPECT_EQ(Count(db,
                  "SELECT count(*) FROM ONLY events_default WHERE day >= '2026-07-01' "
                  "AND day < '2026-07-07'"),
            0);
  EXPECT_EQ(Partitions(db, "public.events").size(), 8u);
  EXPECT_EQ(DefaultOf(db, "events"), "events_default");
  EXPECT_EQ(ScratchObjects(db), std::vector<std::string>{});
}

TEST_F(DrainTest, DrainInterruptedAnywhereKeepsEveryRowOnceAndRerunFinishes) {
  struct Round {
    std::string phase;  // on_progress phase to wait for; "lock": AE held on the parent
    int nth;            // the nth report of that phase
    bool sync;          // killed from the callback itself (at the phase boundary),
                        // else from this thread after a random delay (mid-statement)
  };
  const std::vector<Round> rounds = {
      {"prepare", 1, true}, {"copy", 1, false},  {"copy", 6, false},
      {"copy", 3, false},   {"replay", 1, true}, {"replay", 1, false},
      {"swap", 1, true},    {"lock", 1, false},  {"cleanup", 1, true}};
  std::mt19937 rng(20260701);  // fixed: the delays are the same on every run
  pg::Connection killer = db_->Connect();
  for (size_t round = 0; round < rounds.size(); ++round) {
    const Round& rd = rounds[round];
    const int delay_us = rd.sync ? 0 : static_cast<int>(rng() % 20000);
    const std::string context = "round " + std::to_string(round) + ": " + rd.phase + " #" +
                                std::to_string(rd.nth) +
                                (rd.sync              ? " (at the boundary)"
                                 : rd.phase == "lock" ? " (while the swap holds the lock)"
                                                      : " + " + std::to_string(delay_us) + " us");
    db_->Exec(kEventsSmall);
    const int64_t seed_rows = Count(*db_, "SELECT count(*) FROM events");
    auto writer = std::make_unique<Writer>(*db_, seed_rows);

    pg::Connection conn = db_->Connect();
    const int pid = conn.backend_pid();
    const std::string terminate = "SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)";
    std::atomic<bool> reached{false};
    std::atomic<bool> drain_done{false};
    int seen = 0;
    drain::Options options;
    options.batch_rows = 5000;
    options.on_progress = [&](const drain::Progress& p) {
      if (p.phase != rd.phase || ++seen != rd.nth) return;
      if (rd.sync) killer.Exec(terminate);  // waits until the backend is gone
      reached = true;
    };
    std::string outcome = "completed";
    std::thread drainer([&] {
      try {
        drain::Drain(conn, Describe(*db_, "public.events"), SmallTargets(), options);
      } catch (const std::exception& e) {
        outcome = e.what();
      }
      drain_done = true;
    });
    if (rd.phase == "lock") {
      // Terminate while the swap holds ACCESS EXCLUSIVE on the parent: poll
      // without pause (the swap holds it for milliseconds) and terminate
      // from the same statement.
      const std::string kill_if_locked =
          "SELECT pg_terminate_backend(pid, 5000) FROM pg_locks WHERE pid = " +
          std::to_string(pid) +
          " AND granted AND mode = 'AccessExclusiveLock' AND relation = 'events'::regclass";
      const auto deadline = Clock::now() + std::chrono::seconds(60);
      while (!drain_done && Clock::now() < deadline && killer.Exec(kill_if_locked).rows() == 0) {
      }
    } else if (!rd.sync) {
      WaitFor([&] { return reached || drain_done; }, std::chrono::seconds(60));
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      killer.Exec(terminate);
    }
    drainer.join();
    if (rd.phase == "cleanup") {
      // The swap committed: the drain succeeded, its garbage stays behind.
      EXPECT_EQ(outcome, "completed") << context;
      EXPECT_NE(ScratchObjects(*db_), std::vector<std::string>{}) << context;
    } else if (rd.sync || rd.phase == "lock") {
      EXPECT_NE(outcome, "completed") << context;
    }
    writer->Stop();
    ASSERT_EQ(writer->error(), "") << context;
    std::printf("drain interruption %s: %s\n", context.c_str(), outcome.c_str());
    ExpectEveryRowOnce(*db_, seed_rows, *writer, context + ", after the kill");

    // Run it again, the writer going on, to completion.
    auto writer2 = std::make_unique<Writer>(*db_, seed_rows);
    std::this_thread::sleep_for(milliseconds(20));
    pg::Connection again = db_->Connect();
    drain::Drain(again, Describe(*db_, "public.events"), SmallTargets(), drain::Options{});
    writer2->Stop();
    ASSERT_EQ(writer2->error(), "") << context;
    // Both writers' rows: merge what they committed.
    {
      SCOPED_TRACE(context + ", after the rerun");
      const int64_t expected =
          seed_rows + static_cast<int64_t>(writer->inserted().size() + writer2->inserted().size());
      EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), expected);
      EXPECT_EQ(Count(*db_, "SELECT count(DISTINCT id) FROM events"), expected);
      EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events WHERE id <= " + std::to_string(seed_rows)),
                seed_rows);
    }
    ExpectDrained(*db_, context + ", after the rerun");
    if (HasFatalFailure()) return;
  }
}

// A server crash (immediate restart) during the copy: the UNLOGGED change
// log is emptied by recovery, which is harmless, as the drain that needed
// it is gone; the rerun starts over.
TEST_F(DrainTest, DrainSurvivesServerCrashAndRerunFinishes) {
  PgServer server;  // its own, to crash at will
  const std::string conninfo = server.Conninfo();
  auto connect = [&] { return pg::Connection::Open(conninfo); };
  {
    pg::Connection c = connect();
    c.Exec(kEventsSmall);
  }
  pg::Connection conn = connect();
  std::atomic<bool> in_copy{false};
  drain::Options options;
  options.batch_rows = 3000;
  options.on_progress = [&](const drain::Progress& p) {
    if (p.phase == "copy" && p.rows_copied > 0) {
      in_copy = true;
      std::this_thread::sleep_for(milliseconds(100));  // a slow copy
    }
  };
  std::string outcome = "completed";
  std::thread drainer([&] {
    try {
      drain::Drain(conn, DescribeTable(conn, "public.events"), SmallTargets(), options);
    } catch (const std::exception& e) {
      outcome = e.what();
    }
  });
  ASSERT_TRUE(WaitFor([&] { return in_copy.load(); }));
  server.Restart("immediate");
  drainer.join();
  EXPECT_NE(outcome, "completed");
  pg::Connection c = connect();
  EXPECT_EQ(c.Exec("SELECT count(*), count(DISTINCT id) FROM events").text(0, 0), "60000");
  EXPECT_EQ(c.Exec("SELECT count(*) FROM ONLY events_default").int64(0, 0), 60000);
  // The capture trigger survived the crash; writes still work.
  c.Exec("INSERT INTO events (day, payload) VALUES ('2026-07-02', 'after crash')");
  pg::Connection again = connect();
  drain::Drain(again, DescribeTable(again, "public.events"), SmallTargets(), drain::Options{});
  EXPECT_EQ(c.Exec("SELECT count(*) FROM events").int64(0, 0), 60001);
  EXPECT_EQ(
      c.Exec("SELECT count(*) FROM events_p2026_07_02 WHERE payload = 'after crash'").int64(0, 0),
      1);
  EXPECT_EQ(
      c.Exec("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'partwatch_drain%'").int64(0, 0),
      0);
}

// ---------------------------------------------------------------------------
// The lock bound.

TEST_F(DrainTest, DrainWithTinyLockBoundGivesUpAndChangesNothing) {
  db_->Exec(kEventsSmall);
  const RowSet before = Rows(*db_, "events", "id, day, payload");
  const std::vector<std::string> parts = Partitions(*db_, "public.events");
  pg::Connection conn = db_->Connect();
  drain::Options options;
  options.max_lock = milliseconds(1);
  options.max_swap_attempts = 3;
  try {
    drain::Drain(conn, Describe(*db_, "public.events"), SmallTargets(), options);
    FAIL() << "a 1 ms lock bound should be too short for the swap";
  } catch (const drain::DrainError& e) {
    EXPECT_NE(std::string(e.what()).find("gave up after 3 swap attempt(s)"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("nothing was changed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Rows(*db_, "events", "id, day, payload"), before);
  EXPECT_EQ(Partitions(*db_, "public.events"), parts);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY events_default"), before.rows);
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
  // The connection is usable, and the advisory lock was released.
  EXPECT_EQ(conn.Exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = "
                      "pg_backend_pid()")
                .int64(0, 0),
            0);
}

TEST_F(DrainTest, DrainWaitsForTheLockOnlyBrieflyAndGivesUp) {
  db_->Exec(kEventsSmall);
  const RowSet before = Rows(*db_, "events", "id, day, payload");
  // A long reader holds ACCESS SHARE on the parent.
  pg::Connection reader = db_->Connect();
  reader.Exec("BEGIN; SELECT count(*) FROM events");
  // Meanwhile another session's writes must never wait long behind the
  // drain's queued LOCK.
  pg::Connection conn = db_->Connect();
  drain::Options options;
  options.lock_timeout = milliseconds(50);
  options.max_swap_attempts = 2;
  std::atomic<bool> done{false};
  std::atomic<int64_t> worst_insert_us{0};
  std::thread inserter([&] {
    pg::Connection w = db_->Connect();
    while (!done) {
      const auto t = Clock::now();
      w.Exec("INSERT INTO events (day, payload) VALUES ('2026-07-08', 'probe')");
      worst_insert_us = std::max<int64_t>(
          worst_insert_us,
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t).count());
      std::this_thread::sleep_for(milliseconds(2));
    }
  });
  EXPECT_THROW(drain::Drain(conn, Describe(*db_, "public.events"), SmallTargets(), options),
               drain::DrainError);
  // The reader still holds its lock on DEFAULT, so the capture triggers
  // could not be dropped (ACCESS EXCLUSIVE): they are disabled instead, and
  // the write path is back to normal.
  EXPECT_EQ(Count(*db_,
                  "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'partwatch_drain%' "
                  "AND tgenabled <> 'D'"),
            0);
  EXPECT_EQ(ScratchObjects(*db_), (std::vector<std::string>{"function events_default_pwd_capture",
                                                            "trigger partwatch_drain",
                                                            "trigger partwatch_drain_truncate"}));
  done = true;
  inserter.join();
  // Each queued LOCK or DROP TRIGGER stalls writers for up to lock_timeout (50 ms),
  // never for as long as the reader holds its lock.
  EXPECT_LT(worst_insert_us.load(), 50'000 + 100'000) << "an insert waited behind the drain's LOCK";
  reader.Exec("COMMIT");
  EXPECT_EQ(Rows(*db_, "events WHERE payload <> 'probe'", "id, day, payload"), before);
  // Once the reader is gone, a cleanup finishes the job.
  EXPECT_EQ(drain::CleanupLeftovers(conn, Describe(*db_, "public.events")).size(), 3u);
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
}

// ---------------------------------------------------------------------------
// Refusals and aborts.

TEST_F(DrainTest, DrainRefusesTablesItCannotSwapSafely) {
  db_->Exec(kEventsSmall);
  const std::vector<drain::Target> targets = SmallTargets();
  pg::Connection conn = db_->Connect();
  auto expect_refused = [&](const std::string& needle) {
    try {
      drain::Drain(conn, Describe(*db_, "public.events"), targets, {});
      ADD_FAILURE() << "not refused: " << needle;
    } catch (const drain::DrainError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
    EXPECT_EQ(Partitions(*db_, "public.events").size(), 2u);
  };
  db_->Exec(
      "CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;"
      "CREATE TRIGGER own BEFORE INSERT ON events_default FOR EACH ROW EXECUTE FUNCTION noop()");
  expect_refused("triggers of its own (own)");
  db_->Exec("DROP TRIGGER own ON events_default");
  // A trigger on the parent is cloned to every partition: fine (checked by
  // the drain succeeding at the end).
  db_->Exec(
      "CREATE TRIGGER parent_trg BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION noop()");

  db_->Exec("CREATE TABLE refs (id bigint, day date, FOREIGN KEY (id, day) REFERENCES events)");
  expect_refused("foreign keys");
  db_->Exec("DROP TABLE refs");

  db_->Exec("CREATE VIEW default_view AS SELECT * FROM events_default");
  expect_refused("depend on DEFAULT");
  db_->Exec("DROP VIEW default_view");

  // Another session holds the table's advisory lock (a live drain, or the
  // executor moving a value).
  pg::Connection other = db_->Connect();
  other.Exec("SELECT pg_advisory_lock(" +
             std::to_string(AdvisoryLockKey(Describe(*db_, "public.events").oid)) + ")");
  expect_refused("holds its advisory lock");
  EXPECT_THROW(drain::CleanupLeftovers(conn, Describe(*db_, "public.events")), drain::DrainError);
  other.Exec("SELECT pg_advisory_unlock_all()");

  // A bound that overlaps an existing partition.
  try {
    drain::Drain(conn, Describe(*db_, "public.events"),
                 {{"events_bad", "FOR VALUES FROM ('2026-06-29') TO ('2026-07-02')"}}, {});
    ADD_FAILURE() << "overlap not refused";
  } catch (const drain::DrainError& e) {
    EXPECT_NE(std::string(e.what()).find("overlap"), std::string::npos) << e.what();
  }
  // Not a bound at all: one statement only, checked on its own.
  EXPECT_THROW(drain::Drain(conn, Describe(*db_, "public.events"),
                            {{"events_bad", "FOR VALUES IN ('x'); DROP TABLE events"}}, {}),
               drain::DrainError);
  EXPECT_TRUE(RelationExists(*db_, "public.events"));
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});

  // With the parent's trigger: drains, and the clone is on every new table.
  drain::Drain(conn, Describe(*db_, "public.events"), targets, {});
  ExpectDrained(*db_, "with a parent trigger");
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM pg_trigger WHERE tgname = 'parent_trg'"), 1 + 8);
}

TEST_F(DrainTest, DrainFailsCleanlyWhenDefaultIsTruncatedMeanwhile) {
  db_->Exec(kEventsSmall);
  pg::Connection conn = db_->Connect();
  std::thread truncater;
  std::atomic<bool> started{false};
  drain::Options options;
  options.batch_rows = 5000;
  options.on_progress = [&](const drain::Progress& p) {
    if (p.phase != "copy" || started) return;
    started = true;
    // TRUNCATE waits for the copy's ACCESS SHARE lock: start it and wait
    // until it is queued.
    truncater = std::thread([&] { db_->Exec("TRUNCATE events_default"); });
    WaitFor([&] {
      return Count(*db_,
                   "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = "
                   "'events_default'::regclass") > 0;
    });
  };
  try {
    drain::Drain(conn, Describe(*db_, "public.events"), SmallTargets(), options);
    ADD_FAILURE() << "a TRUNCATE during the drain went unnoticed";
  } catch (const drain::DrainError& e) {
    EXPECT_NE(std::string(e.what()).find("was truncated during the drain"), std::string::npos)
        << e.what();
  }
  if (truncater.joinable()) truncater.join();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events_default"), 0);
  EXPECT_EQ(Partitions(*db_, "public.events").size(), 2u);
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
}

TEST_F(DrainTest, DrainStopsBetweenBatchesAndCleansUp) {
  db_->Exec(kEventsSmall);
  const RowSet before = Rows(*db_, "events", "id, day, payload");
  pg::Connection conn = db_->Connect();
  std::atomic<bool> stop{false};
  drain::Options options;
  options.batch_rows = 5000;
  options.stop = &stop;
  options.on_progress = [&](const drain::Progress& p) {
    if (p.phase == "copy" && p.rows_copied > 10000) stop = true;
  };
  try {
    drain::Drain(conn, Describe(*db_, "public.events"), SmallTargets(), options);
    ADD_FAILURE() << "not stopped";
  } catch (const drain::DrainError& e) {
    EXPECT_NE(std::string(e.what()).find("stopped (copying)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Rows(*db_, "events", "id, day, payload"), before);
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
}

TEST_F(DrainTest, DrainCleanupLeftoversDropsWhatAKilledDrainLeft) {
  db_->Exec(kEventsSmall);
  pg::Connection killer = db_->Connect();
  pg::Connection conn = db_->Connect();
  drain::Options options;
  options.batch_rows = 5000;
  options.on_progress = [&](const drain::Progress& p) {
    if (p.phase == "copy" && p.rows_copied > 0) {
      killer.Exec("SELECT pg_terminate_backend(" + std::to_string(conn.backend_pid()) + ")");
    }
  };
  EXPECT_THROW(drain::Drain(conn, Describe(*db_, "public.events"), SmallTargets(), options),
               pg::PgError);
  const std::vector<std::string> left = ScratchObjects(*db_);
  EXPECT_NE(std::find(left.begin(), left.end(), "trigger partwatch_drain"), left.end())
      << Joined(left);
  // While the capture is left behind, writes into DEFAULT still work.
  db_->Exec("INSERT INTO events (day, payload) VALUES ('2026-07-03', 'meanwhile')");
  pg::Connection fresh = db_->Connect();
  std::vector<std::string> dropped;
  ASSERT_TRUE(WaitFor([&] {  // the killed backend may hold the advisory lock a moment
    try {
      dropped = drain::CleanupLeftovers(fresh, Describe(*db_, "public.events"));
      return true;
    } catch (const drain::DrainError&) {
      return false;
    }
  }));
  EXPECT_GE(dropped.size(), 5u) << Joined(dropped);
  EXPECT_EQ(ScratchObjects(*db_), std::vector<std::string>{});
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM events"), 60001);
  EXPECT_EQ(Partitions(*db_, "public.events").size(), 2u);
  // Nothing left: a second cleanup drops nothing.
  EXPECT_TRUE(drain::CleanupLeftovers(fresh, Describe(*db_, "public.events")).empty());
}

}  // namespace
}  // namespace partwatch::testing
