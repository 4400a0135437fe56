// Key values that break naive SQL building or naive naming: quotes,
// semicolons, backslashes, an injection attempt, non-ASCII, over-long values,
// the empty string, values differing only in case, and NULL.  Each must get
// its own partition whose bound is exactly that value, with a valid, distinct
// name, and nothing else in the database may change.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

// What pg_get_expr() prints for a one-value text bound (standard conforming
// strings: quotes doubled, backslashes as they are).
std::string BoundText(const std::optional<std::string>& value) {
  if (!value) return "FOR VALUES IN (NULL)";
  std::string out = "FOR VALUES IN ('";
  for (char c : *value) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "')";
}

bool ValidUnquotedName(const std::string& name) {
  static const std::regex kName("^[a-z_][a-z0-9_]*$");
  return name.size() <= 63 && std::regex_match(name, kName);
}

// Where the rows of `value` live now: one row per partition holding them,
// with the partition's name, its bound and its row count.
struct Placement {
  std::string relname;
  std::string bound;
  int64_t rows_of_value = 0;      // rows of the value, through the parent
  int64_t rows_in_partition = 0;  // all rows of that partition
};

std::vector<Placement> PlacementOf(pg::Connection& c, const std::string& parent,
                                   const std::string& key,
                                   const std::optional<std::string>& value) {
  const std::string where = value ? key + " = $1" : key + " IS NULL";
  std::vector<std::optional<std::string>> params;
  if (value) params.push_back(*value);
  pg::QueryResult r = c.ExecParams(
      "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), count(*), "
      "       (SELECT count(*) FROM " +
          parent +
          " p WHERE p.tableoid = c.oid) "
          "FROM " +
          parent + " t JOIN pg_class c ON c.oid = t.tableoid WHERE t." + where +
          " GROUP BY c.oid, c.relname ORDER BY 1",
      params);
  std::vector<Placement> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back(Placement{r.text(i, 0), r.opt(i, 1).value_or(""), r.int64(i, 2), r.int64(i, 3)});
  }
  return out;
}

std::string Printable(const std::optional<std::string>& v) { return v ? "'" + *v + "'" : "NULL"; }

TEST_F(OrdersTest, EachHostileValueGetsItsOwnExactlyBoundPartition) {
  const std::string long_prefix(150, 'L');
  const std::vector<std::string> values = {
      "it's",
      "say \"hi\"",
      "a;b",
      "back\\slash\\",
      "'); DROP TABLE orders; --",
      "\"orders_other\"",
      "возврат",
      "🚀",
      "with space",
      long_prefix + std::string(50, 'a'),  // 200 characters
      long_prefix + std::string(50, 'b'),  // same first 150 characters
      std::string(200, 'z'),               // 200 characters, nothing to reduce
      "",
      "Returned",
      "returned",
      "null",
  };
  db_->Exec(
      "CREATE TABLE canary (id int, note text);"
      "INSERT INTO canary SELECT i, 'canary ' || i FROM generate_series(1, 10) i;" +
      InsertOrders(5, "new") + ";" + InsertOrders(5, "processing") + ";" + InsertOrders(5, "done") +
      ";" + InsertOrders(2, "below"));  // not over the threshold
  const int64_t others_before = Count(*db_,
                                      "SELECT count(*) FROM orders WHERE status IN "
                                      "('new', 'processing', 'done')");

  auto pw = StartRun(Config(TableBlock("public.orders", 2)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  {
    pg::Connection c = db_->Connect();
    c.Exec("BEGIN");
    for (const std::string& v : values) {
      c.ExecParams(
          "INSERT INTO orders (customer_name, status) "
          "SELECT 'hostile ' || i, $1 FROM generate_series(1, 3) i",
          {v});
    }
    c.Exec("COMMIT");
  }
  const size_t expected_partitions = 4 + values.size();
  ASSERT_TRUE(
      WaitFor([&] { return Partitions(*db_, "public.orders").size() == expected_partitions; },
              std::chrono::seconds(60)))
      << pw->Log();

  pg::Connection c = db_->Connect();
  std::set<std::string> names;
  for (const std::string& v : values) {
    SCOPED_TRACE("value " + Printable(v));
    const std::vector<Placement> where = PlacementOf(c, "orders", "status", v);
    ASSERT_EQ(where.size(), 1u) << "rows of the value are spread over several partitions";
    EXPECT_NE(where[0].relname, "orders_other");
    EXPECT_TRUE(ValidUnquotedName(where[0].relname)) << where[0].relname;
    EXPECT_EQ(where[0].bound, BoundText(v));
    EXPECT_EQ(where[0].rows_of_value, 3);
    EXPECT_EQ(where[0].rows_in_partition, 3);
    names.insert(where[0].relname);
  }
  EXPECT_EQ(names.size(), values.size()) << "two values share a partition name";
  // Names the documentation promises.
  EXPECT_TRUE(names.count("orders_returned"));
  EXPECT_TRUE(names.count("orders_returned_05dcb863"));
  EXPECT_TRUE(names.count("orders_null"));

  // DEFAULT keeps only the value that is not over the threshold.
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 2);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = 'below'"), 2);
  // Nothing else changed.
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM canary"), 10);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_new"), 5);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_processing"), 5);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_done"), 5);
  EXPECT_EQ(
      Count(*db_, "SELECT count(*) FROM orders WHERE status IN ('new', 'processing', 'done')"),
      others_before);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders"),
            others_before + 2 + 3 * static_cast<int64_t>(values.size()));
  EXPECT_EQ(Count(*db_, "SELECT count(DISTINCT id) FROM orders"),
            Count(*db_, "SELECT count(*) FROM orders"));
  EXPECT_EQ(pw->Log().find(" ERROR "), std::string::npos) << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// NULL is a LIST value like any other: its partition is bound FOR VALUES IN
// (NULL), and it is a different partition from the text 'null' and 'NULL'.
TEST_F(PartwatchTest, NullKeyGetsItsOwnPartitionDistinctFromTextNull) {
  db_->Exec(R"sql(
    CREATE TABLE tickets (id serial, kind text) PARTITION BY LIST (kind);
    CREATE TABLE tickets_bug PARTITION OF tickets FOR VALUES IN ('bug');
    CREATE TABLE tickets_default PARTITION OF tickets DEFAULT;
    INSERT INTO tickets (kind) SELECT 'bug' FROM generate_series(1, 4);
  )sql");
  auto pw = StartRun(Config(TableBlock("public.tickets", 2)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(
      "INSERT INTO tickets (kind) SELECT NULL FROM generate_series(1, 3);"
      "INSERT INTO tickets (kind) SELECT 'null' FROM generate_series(1, 4);"
      "INSERT INTO tickets (kind) SELECT 'NULL' FROM generate_series(1, 5);"
      "INSERT INTO tickets (kind) SELECT 'rare' FROM generate_series(1, 2);");
  ASSERT_TRUE(WaitFor([&] { return Partitions(*db_, "public.tickets").size() == 5; })) << pw->Log();

  pg::Connection c = db_->Connect();
  const std::vector<std::pair<std::optional<std::string>, int64_t>> expected = {
      {std::nullopt, 3}, {"null", 4}, {"NULL", 5}};
  std::set<std::string> names;
  for (const auto& [value, rows] : expected) {
    SCOPED_TRACE("value " + Printable(value));
    const std::vector<Placement> where = PlacementOf(c, "tickets", "kind", value);
    ASSERT_EQ(where.size(), 1u);
    EXPECT_NE(where[0].relname, "tickets_default");
    EXPECT_TRUE(ValidUnquotedName(where[0].relname)) << where[0].relname;
    EXPECT_EQ(where[0].bound, BoundText(value));
    EXPECT_EQ(where[0].rows_of_value, rows);
    EXPECT_EQ(where[0].rows_in_partition, rows);
    names.insert(where[0].relname);
  }
  EXPECT_EQ(names.size(), 3u);
  EXPECT_TRUE(names.count("tickets_null"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY tickets_default"), 2);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY tickets_default WHERE kind = 'rare'"), 2);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM tickets_bug"), 4);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// Keys that are not text: pgoutput sends the value's text form, which must
// be compared and bound with the column's own type.
TEST_F(PartwatchTest, IntegerAndDateKeysGetExactlyBoundPartitions) {
  db_->Exec(R"sql(
    CREATE TABLE readings (id serial, sensor int) PARTITION BY LIST (sensor);
    CREATE TABLE readings_1 PARTITION OF readings FOR VALUES IN (1);
    CREATE TABLE readings_default PARTITION OF readings DEFAULT;
    CREATE TABLE events (id serial, day date) PARTITION BY LIST (day);
    CREATE TABLE events_default PARTITION OF events DEFAULT;
  )sql");
  auto pw = StartRun(Config(TableBlock("public.readings", 2) + TableBlock("public.events", 2)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(
      "INSERT INTO readings (sensor) SELECT 7 FROM generate_series(1, 3);"
      "INSERT INTO readings (sensor) SELECT -3 FROM generate_series(1, 4);"
      "INSERT INTO readings (sensor) SELECT 9 FROM generate_series(1, 2);"
      "INSERT INTO events (day) SELECT '2024-02-29' FROM generate_series(1, 5);");
  ASSERT_TRUE(WaitFor([&] {
    return Partitions(*db_, "public.readings").size() == 4 &&
           Partitions(*db_, "public.events").size() == 2;
  })) << pw->Log();

  pg::Connection c = db_->Connect();
  struct Expected {
    std::string parent, key, value, bound;
    int64_t rows;
  };
  for (const Expected& e :
       std::vector<Expected>{{"readings", "sensor", "7", "FOR VALUES IN (7)", 3},
                             {"readings", "sensor", "-3", "FOR VALUES IN ('-3')", 4},
                             {"events", "day", "2024-02-29", "FOR VALUES IN ('2024-02-29')", 5}}) {
    SCOPED_TRACE(e.parent + " " + e.value);
    const std::vector<Placement> where = PlacementOf(c, e.parent, e.key, e.value);
    ASSERT_EQ(where.size(), 1u);
    EXPECT_NE(where[0].relname, e.parent + "_default");
    EXPECT_TRUE(ValidUnquotedName(where[0].relname)) << where[0].relname;
    EXPECT_EQ(where[0].bound, e.bound);
    EXPECT_EQ(where[0].rows_of_value, e.rows);
    EXPECT_EQ(where[0].rows_in_partition, e.rows);
  }
  EXPECT_TRUE(RelationExists(*db_, "public.readings_7"));
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY readings_default"), 2);  // sensor 9
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY events_default"), 0);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// Identifiers that need quoting everywhere: a mixed-case schema, table and
// key column, and a DEFAULT partition whose name has a space.  Watched next
// to the plain public.orders in one config.
TEST_F(OrdersTest, MixedCaseIdentifiersAndTwoTablesInOneConfig) {
  db_->Exec(R"sql(
    CREATE SCHEMA "Sales";
    CREATE TABLE "Sales"."Orders" (id serial, "Status" text NOT NULL, "Note" text)
      PARTITION BY LIST ("Status");
    CREATE TABLE "Sales"."Orders New" PARTITION OF "Sales"."Orders" FOR VALUES IN ('New');
    CREATE TABLE "Sales"."Orders Default" PARTITION OF "Sales"."Orders" DEFAULT;
  )sql");
  const std::string sales = "[[table]]\nname = '\"Sales\".\"Orders\"'\nthreshold = 3\n";
  auto pw = StartRun(Config(TableBlock("public.orders", 3) + sales));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(
      "INSERT INTO \"Sales\".\"Orders\" (\"Status\") SELECT 'Returned' FROM generate_series(1, 4);"
      "INSERT INTO \"Sales\".\"Orders\" (\"Status\") SELECT 'New' FROM generate_series(1, 6);"
      "INSERT INTO \"Sales\".\"Orders\" (\"Status\") SELECT 'Rare' FROM generate_series(1, 3);" +
      InsertOrders(5, "returned"));
  ASSERT_TRUE(WaitFor([&] {
    return Partitions(*db_, "\"Sales\".\"Orders\"").size() == 3 &&
           RelationExists(*db_, "public.orders_returned");
  })) << pw->Log();

  pg::Connection c = db_->Connect();
  const std::vector<Placement> where =
      PlacementOf(c, "\"Sales\".\"Orders\"", "\"Status\"", std::string("Returned"));
  ASSERT_EQ(where.size(), 1u);
  EXPECT_TRUE(ValidUnquotedName(where[0].relname)) << where[0].relname;
  EXPECT_EQ(where[0].bound, "FOR VALUES IN ('Returned')");
  EXPECT_EQ(where[0].rows_in_partition, 4);
  // Created in the parent's schema.
  EXPECT_EQ(db_->Scalar("SELECT n.nspname FROM pg_class c JOIN pg_namespace n "
                        "ON n.oid = c.relnamespace WHERE c.relname = '" +
                        where[0].relname + "'"),
            "Sales");
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY \"Sales\".\"Orders Default\""), 3);  // 'Rare'
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM \"Sales\".\"Orders New\""), 6);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 5);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
