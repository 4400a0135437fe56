// `partwatch replay --wal-dir` against the archive of a real PostgreSQL 15
// (archive_mode = on, archive_command copying into a test directory,
// full_page_writes = on, CHECKPOINTs so page images appear), at
// wal_level = replica and logical and with every wal_compression:
//  - the rows it finds per value equal what the DEFAULT partition holds,
//    exactly, after single-row inserts, INSERT ... SELECT, COPY, rolled-back
//    transactions and savepoints, two-phase commits, NULL, hostile and long
//    keys, every key type, a transaction spanning several segments, and
//    dropped and added columns;
//  - the record list equals pg_waldump's on the same segments;
//  - the archive compressed with gzip, lz4 and zstd gives the same report;
//  - damage (a truncated segment, a flipped byte, a missing segment, a wrong
//    magic) is an error naming the file and the LSN.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "decoder/wal/reader.h"
#include "src/replay/wal_files.h"
#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Sh(const std::string& cmd) {
  std::string out;
  const int rc = RunCommand(cmd, &out);
  EXPECT_EQ(rc, 0) << cmd << "\n" << out;
  return out;
}

// A server that archives every finished segment into dir()/archive.
class ArchivingServer {
 public:
  explicit ArchivingServer(const std::string& wal_level)
      : server_({"wal_level=" + wal_level, "full_page_writes=on", "archive_mode=on",
                 "max_prepared_transactions=10", "wal_compression=off"}) {
    archive_ = server_.dir() + "/archive";
    Sh("mkdir -p '" + archive_ + "' && chown postgres '" + archive_ + "' 2>/dev/null || true");
    pg::Connection c = pg::Connection::Open(server_.Conninfo());
    c.Exec("ALTER SYSTEM SET archive_command = " +
           c.QuoteLiteral("test ! -f " + archive_ + "/%f && cp %p " + archive_ + "/%f"));
    c.Exec("SELECT pg_reload_conf()");
    Switch();  // from here on, every segment is archived
  }
  const PgServer& server() const { return server_; }
  const std::string& archive() const { return archive_; }
  // Ends the current segment and waits until the archiver has copied it.
  std::string Switch() {
    pg::Connection c = pg::Connection::Open(server_.Conninfo());
    c.Exec("SELECT txid_current()");  // something to switch away from
    const std::string name = c.Exec("SELECT pg_walfile_name(pg_switch_wal())").text(0, 0);
    const bool done = WaitFor(
        [&] {
          pg::QueryResult r =
              c.Exec("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
          return r.text(0, 0) >= name;
        },
        std::chrono::seconds(60));
    EXPECT_TRUE(done) << "the archiver did not copy " << name;
    return name;
  }

 private:
  PgServer server_;
  std::string archive_;
};

class WalReplayTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {}
  static ArchivingServer& Server(const std::string& level) {
    static std::map<std::string, ArchivingServer*> servers;  // stopped at exit by pgtmp's hook
    auto& s = servers[level];
    if (s == nullptr) s = new ArchivingServer(level);
    return *s;
  }
  void SetUp() override {
    server_ = &Server(GetParam());
    db_ = DatabaseNameForCurrentTest();
    pg::Connection admin = pg::Connection::Open(server_->server().Conninfo());
    admin.TryExec("DROP DATABASE IF EXISTS " + admin.QuoteIdent(db_) + " WITH (FORCE)");
    admin.Exec("CREATE DATABASE " + admin.QuoteIdent(db_));
    conn_ = pg::Connection::Open(server_->server().Conninfo(db_));
  }
  pg::Connection& C() { return conn_; }
  std::string Config(const std::string& tables, const std::string& time_zone = "UTC") const {
    return "[source]\ndsn = \"" + server_->server().Conninfo(db_) + "\"\ntime_zone = \"" +
           time_zone + "\"\n\n[log]\nlevel = \"info\"\n\n" + tables;
  }
  // `replay --json` of `dir` with a threshold nothing reaches.
  json Replay(const std::string& config, const std::vector<std::string>& extra = {},
              const std::string& dir = "", CommandResult* raw = nullptr) {
    std::vector<std::string> args{"replay", "--wal-dir",   dir.empty() ? server_->archive() : dir,
                                  "--json", "-q",          "--values",
                                  "0",      "--threshold", "1000000000"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = RunPartwatch(args, config, std::chrono::seconds(300));
    if (raw != nullptr) *raw = r;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    try {
      return json::parse(r.out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what() << "\n" << r.out << "\n" << r.err;
      return json();
    }
  }
  // A value as the maps below show it: long ones cut (with their length).
  static std::string Shown(const std::string& v) {
    return v.size() > 64 ? v.substr(0, 16) + "...(" + std::to_string(v.size()) + " bytes)" : v;
  }
  // value (or "<null>") -> rows of one table of the report.
  static std::map<std::string, int64_t> Rows(const json& report, const std::string& table) {
    std::map<std::string, int64_t> out;
    for (const json& t : report.at("tables")) {
      if (t.at("name").get<std::string>() != table) continue;
      for (const json& v : t.at("values")) {
        out[v.at("value").is_null() ? "<null>" : Shown(v.at("value").get<std::string>())] =
            v.at("rows").get<int64_t>();
      }
    }
    return out;
  }
  std::map<std::string, int64_t> Truth(const std::string& sql, const std::string& tz = "UTC") {
    C().Exec("SET TimeZone = " + C().QuoteLiteral(tz));
    pg::QueryResult r = C().Exec(sql);
    std::map<std::string, int64_t> out;
    for (int i = 0; i < r.rows(); ++i) {
      out[r.is_null(i, 0) ? "<null>" : Shown(r.text(i, 0))] = r.int64(i, 1);
    }
    return out;
  }
  static std::string Warnings(const json& report) {
    std::string all;
    for (const json& s : report.at("sources")) {
      for (const json& w : s.at("warnings")) all += w.get<std::string>() + "\n";
    }
    return all;
  }

  ArchivingServer* server_ = nullptr;
  std::string db_;
  pg::Connection conn_;
};

TEST_P(WalReplayTest, RowsPerValueEqualTheDefaultPartitionAtEveryCompression) {
  C().Exec(kOrdersDdl);
  C().Exec(
      "CREATE TABLE nullable (k text, pad int) PARTITION BY LIST (k);"
      "CREATE TABLE nullable_a PARTITION OF nullable FOR VALUES IN ('a');"
      "CREATE TABLE nullable_default PARTITION OF nullable DEFAULT;");
  for (const std::string comp : {"off", "pglz", "lz4", "zstd"}) {
    C().Exec("SET wal_compression = " + comp);
    C().Exec(std::string("SET default_toast_compression = ") + (comp == "lz4" ? "lz4" : "pglz"));
    C().Exec("CHECKPOINT");
    for (int i = 0; i < 20; ++i)
      C().Exec("INSERT INTO orders (status) VALUES ('single_" + comp + "')");
    C().Exec(InsertOrders(500, "bulk_" + comp));
    C().Exec("COPY orders (status) FROM PROGRAM 'yes copy_" + comp + " | head -n 300'");
    C().Exec("BEGIN; " + InsertOrders(100, "rolled_back_" + comp) + "; ROLLBACK");
    C().Exec("BEGIN; " + InsertOrders(10, "kept_" + comp) + "; SAVEPOINT a; " +
             InsertOrders(10, "savepoint_gone_" + comp) + "; ROLLBACK TO a; SAVEPOINT b; " +
             InsertOrders(5, "savepoint_kept_" + comp) + "; RELEASE b; COMMIT");
    C().Exec("BEGIN; " + InsertOrders(7, "two_phase_" + comp) + "; PREPARE TRANSACTION 'g" + comp +
             "'");
    C().Exec("COMMIT PREPARED 'g" + comp + "'");
    C().Exec("BEGIN; " + InsertOrders(9, "two_phase_gone_" + comp) + "; PREPARE TRANSACTION 'h" +
             comp + "'");
    C().Exec("ROLLBACK PREPARED 'h" + comp + "'");
    // Hostile and long (inline-compressed) keys.
    for (const std::string v :
         {"it's", "back\\slash", "new\nline", "ünïcödé ✓", "\"quoted\"", "' OR 1=1 --"}) {
      C().ExecParams("INSERT INTO orders (status) VALUES ($1 || $2)", {v, "_" + comp});
    }
    C().Exec("INSERT INTO orders (status) SELECT repeat('L', 5000) || '" + comp +
             "' FROM generate_series(1, 3)");
    C().Exec("INSERT INTO nullable SELECT NULL, i FROM generate_series(1, 4) i");
    C().Exec("INSERT INTO nullable VALUES ('a', 1), ('b_" + comp + "', 2)");
  }
  // A transaction that spans several segments, and a key stored out of line.
  C().Exec(
      "INSERT INTO orders (status, customer_name) SELECT 'huge', repeat('c', 200) "
      "FROM generate_series(1, 120000)");
  C().Exec(
      "INSERT INTO orders (status) SELECT string_agg(md5(i::text), '') FROM "
      "generate_series(1, 600) i");
  server_->Switch();

  const json report =
      Replay(Config(TableBlock("public.orders", 1000) + TableBlock("public.nullable", 1000)));
  auto truth =
      Truth("SELECT status, count(*) FROM orders_other WHERE length(status) < 10000 GROUP BY 1");
  EXPECT_EQ(Rows(report, "public.orders"), truth);
  EXPECT_EQ(truth.at("huge"), 120000);
  EXPECT_EQ(truth.count("rolled_back_off"), 0u);
  EXPECT_EQ(truth.at("kept_lz4"), 10);
  EXPECT_EQ(truth.at(Shown(std::string(5000, 'L') + "lz4")), 3);  // inline-compressed keys
  EXPECT_EQ(Rows(report, "public.nullable"),
            Truth("SELECT k, count(*) FROM nullable_default GROUP BY 1"));
  EXPECT_EQ(Rows(report, "public.nullable").at("<null>"), 16);
  const std::string warnings = Warnings(report);
  EXPECT_NE(warnings.find("1 rows of public.orders_other not counted"), std::string::npos)
      << warnings;
  EXPECT_NE(warnings.find("TOAST"), std::string::npos) << warnings;
}

TEST_P(WalReplayTest, EveryKeyTypeAndChangedColumnsReadAsTheServerPrintsThem) {
  struct Type {
    std::string name, values;
  };
  const std::vector<Type> types = {
      {"text", "'x', '', 'ü'"},
      {"varchar(20)", "'v1', 'v 2'"},
      {"char(6)", "'ab', 'abcdef'"},
      {"int2", "-32768, 0, 32767"},
      {"int4", "-2147483648, 7, 2147483647"},
      {"int8", "-9223372036854775808, 42, 9223372036854775807"},
      {"date", "'2026-12-02', '1999-12-31', '0044-03-15 BC', 'infinity', '20000-01-01'"},
      {"timestamp",
       "'2026-12-02 10:11:12.5', '2000-01-01', '1969-07-20 20:17:40.000001', "
       "'-infinity'"},
      {"timestamptz",
       "'2026-07-01 12:00:00+00', '2026-01-15 03:30:15.25+00', "
       "'1900-01-01 00:00:00+00', '0100-02-03 04:05:06+00 BC'"},
      {"uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '00000000-0000-0000-0000-000000000000'"},
      {"boolean", "true, false"},
      {"float8", "1.5, -0.25, 1e300"},
      {"macaddr", "'08:00:2b:01:02:03'"},
  };
  std::string tables;
  std::vector<std::string> names;
  C().Exec("CHECKPOINT");
  for (size_t i = 0; i < types.size(); ++i) {
    const std::string t = "kt" + std::to_string(i);
    names.push_back(t);
    C().Exec("CREATE TABLE " + t + " (pad int, k " + types[i].name + ") PARTITION BY LIST (k)");
    C().Exec("CREATE TABLE " + t + "_default PARTITION OF " + t + " DEFAULT");
    C().Exec("INSERT INTO " + t + " (pad, k) SELECT g, v::" + types[i].name + " FROM (VALUES (" +
             std::regex_replace(types[i].values, std::regex(", "), "), (") +
             ")) AS x(v), generate_series(1, 3) g");
    tables += TableBlock("public." + t, 1000);
  }
  // Dropped and added columns: the key keeps its place after a dropped one,
  // and tuples written before ADD COLUMN have fewer attributes.
  C().Exec(
      "CREATE TABLE evolve (a int, b text, k text, c int) PARTITION BY LIST (k);"
      "CREATE TABLE evolve_default PARTITION OF evolve DEFAULT;"
      "INSERT INTO evolve SELECT 1, 'bbb', 'before', 2 FROM generate_series(1, 5);"
      "ALTER TABLE evolve DROP COLUMN b;"
      "INSERT INTO evolve SELECT 1, 'after_drop', 2 FROM generate_series(1, 6);"
      "ALTER TABLE evolve ADD COLUMN d text DEFAULT 'dd';"
      "INSERT INTO evolve SELECT 1, 'after_add', 2, 'x' FROM generate_series(1, 7);");
  tables += TableBlock("public.evolve", 1000);
  server_->Switch();
  // A zone with a half-hour offset and summer time: timestamptz keys are
  // printed in the session's zone, as pgoutput would send them.
  const std::string tz = "America/St_Johns";
  const json report = Replay(Config(tables, tz));
  for (size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(Rows(report, "public." + names[i]),
              // Text as the output function prints it (no ::text cast, which
              // trims char(n) and spells booleans out).
              Truth("SELECT k, count(*) FROM " + names[i] + "_default GROUP BY 1", tz))
        << types[i].name;
  }
  EXPECT_EQ(Rows(report, "public.evolve"),
            (std::map<std::string, int64_t>{{"before", 5}, {"after_drop", 6}, {"after_add", 7}}));
}

TEST_P(WalReplayTest, RecordListEqualsPgWaldumps) {
  C().Exec(kOrdersDdl);
  C().Exec("CHECKPOINT");
  C().Exec(InsertOrders(3000, "waldump"));
  const std::string last = server_->Switch();
  std::vector<replay::WalFileName> files = replay::ListWalDir(server_->archive());
  ASSERT_GE(files.size(), 2u);
  // The last three segments, read in-process.
  files.erase(files.begin(), files.end() - std::min<size_t>(3, files.size()));
  std::vector<std::string> ours;
  wal::WalReader reader;
  wal::Record rec;
  std::vector<std::byte> seg;
  for (const auto& f : files) {
    replay::ReadWalFile(f, 16 << 20, &seg);
    auto b = reader.BeginSegment(seg, f.timeline, f.SegNo(16 << 20));
    ASSERT_TRUE(b.ok()) << b.error().message;
    while (true) {
      auto s = reader.Next(&rec);
      ASSERT_TRUE(s.ok()) << s.error().message;
      if (s.value() != wal::WalReader::Step::kRecord) break;
      ours.push_back(rec.lsn.ToString() + " " + wal::RmgrName(rec.rmid) + " " +
                     std::to_string(rec.total_length));
    }
  }
  const std::string first_name = fs::path(files.front().path).filename().string();
  const std::string last_name = fs::path(files.back().path).filename().string();
  std::string out;
  RunCommand(PgBinDir() + "/pg_waldump -p '" + server_->archive() + "' " + first_name + " " +
                 last_name + " 2>/dev/null",
             &out);
  std::vector<std::string> theirs;
  std::istringstream in(out);
  std::string line;
  const std::regex re(
      R"(rmgr: (\S+)\s+len \(rec/tot\):\s+\d+/\s*(\d+), tx:\s+\d+, lsn: ([0-9A-F]+)/0*([0-9A-F]+),)");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, re)) {
      theirs.push_back(m[3].str() + "/" + (m[4].str().empty() ? "0" : m[4].str()) + " " +
                       m[1].str() + " " + m[2].str());
    }
  }
  // pg_waldump starts at the first record that begins in the first segment, as we do.
  ASSERT_GT(theirs.size(), 1000u) << out.substr(0, 2000);
  EXPECT_EQ(ours, theirs);
}

TEST_P(WalReplayTest, CompressedArchivesGiveTheSameReport) {
  C().Exec(kOrdersDdl);
  C().Exec("CHECKPOINT");
  C().Exec(InsertOrders(700, "compressed"));
  C().Exec(InsertOrders(30, "other"));
  server_->Switch();
  const std::string config = Config(TableBlock("public.orders", 1000));
  const json plain = Replay(config);
  ASSERT_EQ(Rows(plain, "public.orders").at("compressed"), 700);
  const std::string base = server_->server().dir() + "/compressed-" + GetParam();
  for (const std::string tool : {"gzip", "lz4", "zstd"}) {
    const std::string dir = base + "-" + tool;
    Sh("rm -rf '" + dir + "' && mkdir -p '" + dir + "' && cp '" + server_->archive() + "'/0* '" +
       dir + "'/ && cd '" + dir + "' && for f in 0*; do " + tool + " -q " +
       (tool == "gzip"  ? ""
        : tool == "lz4" ? "-m --rm "
                        : "--rm ") +
       "\"$f\"; done");
    const json r = Replay(config, {}, dir);
    EXPECT_EQ(r.at("tables"), plain.at("tables")) << tool;
    EXPECT_EQ(r.at("transactions"), plain.at("transactions")) << tool;
    Sh("rm -rf '" + dir + "'");
  }
}

TEST_P(WalReplayTest, DamageIsAnErrorNamingTheFileAndTheLsn) {
  C().Exec(kOrdersDdl);
  C().Exec(InsertOrders(200, "damage"));
  server_->Switch();
  C().Exec(InsertOrders(200, "damage"));
  server_->Switch();
  const std::string config = Config(TableBlock("public.orders", 1000));
  std::vector<replay::WalFileName> files = replay::ListWalDir(server_->archive());
  ASSERT_GE(files.size(), 3u);
  const std::string dir = server_->server().dir() + "/damaged-" + GetParam();
  const auto fresh = [&] {
    Sh("rm -rf '" + dir + "' && mkdir -p '" + dir + "' && cp '" + server_->archive() + "'/0* '" +
       dir + "'/");
  };
  const std::string middle = fs::path(files[files.size() - 2].path).filename().string();
  const auto expect_error = [&](const std::string& what, const std::vector<std::string>& needles) {
    CommandResult r;
    std::vector<std::string> args{"replay", "--wal-dir", dir, "--json", "-q"};
    r = RunPartwatch(args, config, std::chrono::seconds(300));
    EXPECT_EQ(r.exit_code, 1) << what << "\n" << r.err;
    for (const std::string& n : needles) {
      EXPECT_NE(r.err.find(n), std::string::npos) << what << ": no '" << n << "' in\n" << r.err;
    }
    EXPECT_TRUE(std::regex_search(r.err, std::regex("[0-9A-F]+/[0-9A-F]+"))) << what << r.err;
  };
  fresh();
  Sh("truncate -s 8M '" + dir + "/" + middle + "'");
  expect_error("truncated", {middle, "truncated"});
  fresh();
  // A byte inside the records of the middle segment's first page.
  Sh("printf '\\377\\377\\377' | dd of='" + dir + "/" + middle +
     "' bs=1 seek=200 conv=notrunc status=none");
  expect_error("flipped", {middle});
  fresh();
  Sh("rm '" + dir + "/" + middle + "'");
  expect_error("missing", {"missing"});
  fresh();
  Sh("printf '\\015\\321' | dd of='" + dir + "/" + middle +
     "' bs=1 seek=0 conv=notrunc status=none");
  expect_error("magic", {middle, "PostgreSQL 14"});
  Sh("rm -rf '" + dir + "'");
}

TEST_P(WalReplayTest, ARewrittenDefaultIsReportedAndMappedWithRelfilenode) {
  C().Exec(kOrdersDdl);
  C().Exec(InsertOrders(40, "before_rewrite"));
  const std::string old_node = C().Exec("SELECT pg_relation_filenode('orders_other')").text(0, 0);
  C().Exec("VACUUM FULL orders_other");
  C().Exec(InsertOrders(15, "after_rewrite"));
  server_->Switch();
  const std::string config = Config(TableBlock("public.orders", 1000));
  const json unmapped = Replay(config);
  EXPECT_EQ(Rows(unmapped, "public.orders"),
            (std::map<std::string, int64_t>{{"after_rewrite", 15}}));
  const std::string warnings = Warnings(unmapped);
  EXPECT_NE(warnings.find(old_node + " (40 rows, removed at "), std::string::npos) << warnings;
  const json mapped = Replay(config, {"--relfilenode", old_node + "=public.orders"});
  EXPECT_NE(Warnings(mapped).find("the file of public.orders_other was removed by the transaction"),
            std::string::npos)
      << Warnings(mapped);
  EXPECT_EQ(Rows(mapped, "public.orders"),
            (std::map<std::string, int64_t>{{"before_rewrite", 40}, {"after_rewrite", 15}}));
}

TEST_P(WalReplayTest, TheSecondSeedsDailyTableCountsRowsPerDayAhead) {
  // The second seed's shape: daily RANGE partitions on a timestamptz, rows
  // arriving days ahead of the last partition (the ones pg_partman's
  // maintenance trips over), by INSERT and by COPY, after a checkpoint.
  C().Exec(
      "CREATE TABLE events (id bigserial, created_at timestamptz NOT NULL, payload text) "
      "PARTITION BY RANGE (created_at);"
      "CREATE TABLE events_p20261201 PARTITION OF events FOR VALUES FROM "
      "('2026-12-01 00:00:00+00') TO ('2026-12-02 00:00:00+00');"
      "CREATE TABLE events_p20261202 PARTITION OF events FOR VALUES FROM "
      "('2026-12-02 00:00:00+00') TO ('2026-12-03 00:00:00+00');"
      "CREATE TABLE events_default PARTITION OF events DEFAULT;");
  C().Exec("CHECKPOINT");
  C().Exec("INSERT INTO events (created_at) SELECT '2026-12-02 12:00:00+00'::timestamptz + "
           "i * interval '97 seconds' FROM generate_series(1, 9000) i");
  C().Exec("COPY events (created_at) FROM PROGRAM 'yes 2026-12-09T23:59:59.999999Z | head -n 250'");
  server_->Switch();
  const json report = Replay(Config(TableBlock("public.events", 100)));
  const auto truth = Truth(
      "SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD HH24:MI:SS'), count(*) "
      "FROM events_default GROUP BY 1");
  EXPECT_EQ(Rows(report, "public.events"), truth);
  EXPECT_GT(truth.at("2026-12-09 00:00:00"), 250);  // the COPY and the 97-second rows
  EXPECT_EQ(truth.size(), 10u);  // 2026-12-03 .. 2026-12-12
}

TEST_P(WalReplayTest, WhatCannotBeReadIsRefusedByName) {
  C().Exec("CREATE TABLE amounts (k numeric) PARTITION BY LIST (k);"
           "CREATE TABLE amounts_default PARTITION OF amounts DEFAULT;");
  CommandResult r = RunPartwatch({"replay", "--wal-dir", server_->archive(), "-q"},
                                 Config(TableBlock("public.amounts", 10)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("key k is of type numeric, which cannot be read from WAL"),
            std::string::npos)
      << r.err;
  // Two timelines in one directory: named, not mixed.
  C().Exec(kOrdersDdl);
  const std::string dir = server_->server().dir() + "/timelines-" + GetParam();
  std::vector<replay::WalFileName> files = replay::ListWalDir(server_->archive());
  const std::string last = fs::path(files.back().path).filename().string();
  Sh("rm -rf '" + dir + "' && mkdir -p '" + dir + "' && cp '" + files.back().path + "' '" + dir +
     "/' && cp '" + files.back().path + "' '" + dir + "/00000002" + last.substr(8) + "'");
  r = RunPartwatch({"replay", "--wal-dir", dir, "-q"}, Config(TableBlock("public.orders", 10)));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("segments of timelines 1 (from " + last + "), 2 (from 00000002"),
            std::string::npos)
      << r.err;
  // A bad --relfilenode names the option.
  r = RunPartwatch({"replay", "--wal-dir", server_->archive(), "-q", "--relfilenode", "x=orders"},
                   Config(TableBlock("public.orders", 10)));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--relfilenode 'x=orders': expected N=TABLE"), std::string::npos) << r.err;
  Sh("rm -rf '" + dir + "'");
}

INSTANTIATE_TEST_SUITE_P(WalLevels, WalReplayTest, ::testing::Values("replica", "logical"));

}  // namespace
}  // namespace partwatch::testing
