// The drain's SQL text (src/drain/sql.h): pure builders, tested without a
// server.  The quoting callbacks here mark what they quote ("I<...>" for an
// identifier, "L<...>" for a literal) so that each test can tell what went
// through quoting from what was pasted as given.
#include "src/drain/sql.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace partwatch::drain {
namespace {

Quoting Marking() {
  return Quoting{[](std::string_view s) { return "I<" + std::string(s) + ">"; },
                 [](std::string_view s) { return "L<" + std::string(s) + ">"; }};
}

// Position of `needle` in `haystack`; fails the test when absent.
size_t At(const std::string& haystack, const std::string& needle) {
  const size_t pos = haystack.find(needle);
  EXPECT_NE(pos, std::string::npos) << "missing: " << needle << "\nin:\n" << haystack;
  return pos;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

TEST(ScratchName, AppendsTheSuffixWhenItFits) {
  EXPECT_EQ(ScratchName("orders_other", "_pwd_stage"), "orders_other_pwd_stage");
  EXPECT_EQ(ScratchName(std::string(53, 'a'), "_pwd_stage"), std::string(53, 'a') + "_pwd_stage");
}

TEST(ScratchName, LongNamesAreCutAndHashedWithinSixtyThreeBytes) {
  const std::string a = std::string(60, 'a') + "x";
  const std::string b = std::string(60, 'a') + "y";
  const std::string sa = ScratchName(a, "_pwd_stage");
  const std::string sb = ScratchName(b, "_pwd_stage");
  EXPECT_LE(sa.size(), 63u);
  EXPECT_NE(sa, sb);                            // same prefix, different hash
  EXPECT_EQ(sa, ScratchName(a, "_pwd_stage"));  // deterministic: a rerun finds it
  EXPECT_EQ(sa.substr(sa.size() - 10), "_pwd_stage");
}

TEST(ScratchName, NeverSplitsAUtf8Character) {
  // 'é' is two bytes; a cut through one would leave an invalid name.
  std::string name;
  while (name.size() < 62) name += "\xc3\xa9";
  const std::string s = ScratchName(name, "_pwd_capture");
  EXPECT_LE(s.size(), 63u);
  const std::string prefix = s.substr(0, s.size() - std::string("_pwd_capture").size() - 9);
  EXPECT_EQ(prefix.size() % 2, 0u) << s;
  for (size_t i = 0; i < prefix.size(); i += 2) EXPECT_EQ(prefix.substr(i, 2), "\xc3\xa9");
}

// The expected names were produced by the implementation before it moved to
// sql.cc and policy::Fnv1a32: a drain interrupted by the old binary must be
// cleaned up by the new one, so these must never change.
TEST(ScratchName, ASixtyThreeByteDefaultNameIsCutAndHashedStably) {
  const std::string def = "orders_default_partition_for_everything_that_matched_no_other_x";
  ASSERT_EQ(def.size(), 63u);
  EXPECT_EQ(ScratchName(def, "_pwd_stage"),
            "orders_default_partition_for_everything_that_4abfea94_pwd_stage");
  EXPECT_EQ(ScratchName(def, "_pwd_capture"),
            "orders_default_partition_for_everything_th_4abfea94_pwd_capture");
  const ScratchNames all = ScratchFor(def);
  const std::vector<std::string> names = {all.stage,       all.log,     all.new_default,
                                          all.old_default, all.capture, all.replay};
  const std::vector<std::string> suffixes = {"_pwd_stage", "_pwd_log",     "_pwd_new",
                                             "_pwd_old",   "_pwd_capture", "_pwd_replay"};
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(names[i].size(), 63u) << names[i];
    EXPECT_EQ(names[i], ScratchName(def, suffixes[i]));
    EXPECT_NE(names[i].find("_4abfea94" + suffixes[i]), std::string::npos) << names[i];
  }
}

TEST(ScratchName, AMultiByteCutStaysStable) {
  std::string def;
  while (def.size() < 62) def += "\xc3\xa9";
  def += "z";
  std::string expected;
  for (int i = 0; i < 21; ++i) expected += "\xc3\xa9";
  EXPECT_EQ(ScratchName(def, "_pwd_replay"), expected + "_89392019_pwd_replay");
}

TEST(FingerprintSql, WritesBothOidsInEveryPlace) {
  const std::string sql = FingerprintSql(16384, 24601);
  EXPECT_EQ(sql.find('$'), std::string::npos) << sql;
  const std::string raw = kFingerprintSql;
  EXPECT_EQ(Count(sql, "16384::oid"), Count(raw, "$1::oid"));
  EXPECT_EQ(Count(sql, "24601::oid"), Count(raw, "$2::oid"));
  EXPECT_GT(Count(sql, "24601::oid"), 0u);
  // DEFAULT's own triggers count, but not the drain's.
  At(sql, "tgname NOT IN ('partwatch_drain', 'partwatch_drain_truncate')");
}

TEST(ColumnList, QuotesEachColumnAndJoins) {
  EXPECT_EQ(ColumnList({"id", "Weird \"col\""}, Marking()), "I<id>, I<Weird \"col\">");
  EXPECT_EQ(ColumnList({}, Marking()), "");
}

TEST(CopyPieceSql, EmptiesTheLogOnlyWhenAsked) {
  const std::string first = CopyPieceSql("s.stage", "s.def", "a, b", "ctid < '(10,0)'", "s.log");
  EXPECT_EQ(first.rfind("DELETE FROM s.log; ", 0), 0u) << first;
  At(first, "INSERT INTO s.stage (a, b) SELECT a, b FROM ONLY s.def WHERE ctid < '(10,0)'");
  const std::string later = CopyPieceSql("s.stage", "s.def", "a, b", "true", "");
  EXPECT_EQ(later.find("DELETE"), std::string::npos) << later;
  EXPECT_EQ(later.rfind("WITH ins AS (INSERT INTO s.stage", 0), 0u) << later;
}

TEST(InstallTriggersSql, CreatesBothTriggersEnabledAlways) {
  const std::string sql = InstallTriggersSql("s.def", "s.capture", Marking());
  const size_t row = At(sql,
                        "CREATE TRIGGER I<partwatch_drain> AFTER INSERT OR UPDATE OR DELETE "
                        "ON s.def FOR EACH ROW EXECUTE FUNCTION s.capture()");
  const size_t trunc = At(sql,
                          "CREATE TRIGGER I<partwatch_drain_truncate> AFTER TRUNCATE ON "
                          "s.def FOR EACH STATEMENT EXECUTE FUNCTION s.capture()");
  const size_t always = At(sql, "ALTER TABLE s.def ENABLE ALWAYS TRIGGER I<partwatch_drain>;");
  At(sql, "ALTER TABLE s.def ENABLE ALWAYS TRIGGER I<partwatch_drain_truncate>");
  EXPECT_LT(row, trunc);
  EXPECT_LT(trunc, always);
}

ReplaySpec Replay() {
  ReplaySpec spec;
  spec.function = "\"s\".\"d_pwd_replay\"";
  spec.log = "\"s\".\"d_pwd_log\"";
  spec.stage = "\"s\".\"d_pwd_stage\"";
  spec.def = "\"s\".\"d\"";
  spec.def_display = "s.d";
  spec.columns = {"id", "region", "note"};
  spec.partition_key = {"region"};
  return spec;
}

TEST(ReplayFunctionSql, KeyedMatchesOnTheKeyColumns) {
  ReplaySpec spec = Replay();
  spec.match_columns = {"id", "region"};
  const std::string sql = ReplayFunctionSql(spec, Marking());
  EXPECT_EQ(sql.rfind("CREATE FUNCTION \"s\".\"d_pwd_replay\"(max_rows integer)", 0), 0u) << sql;
  At(sql,
     "SELECT DISTINCT ON ((r).I<id>, (r).I<region>) (r).I<id> AS I<id>, (r).I<region> AS "
     "I<region>, ins FROM ev");
  At(sql,
     "DELETE FROM \"s\".\"d_pwd_stage\" s USING firsts f WHERE NOT f.ins AND s.I<id> = "
     "f.I<id> AND s.I<region> = f.I<region>;");
  At(sql,
     "INSERT INTO \"s\".\"d_pwd_stage\" (I<id>, I<region>, I<note>) SELECT (l.r).I<id>, "
     "(l.r).I<region>, (l.r).I<note> FROM lasts l");
  // Not the row-by-row body: no match on a non-key column's text.
  EXPECT_EQ(sql.find("IS NOT DISTINCT FROM"), std::string::npos) << sql;
  EXPECT_EQ(sql.find("s.I<note> ="), std::string::npos) << sql;
  // The batch is read from the log, and both errors have their SQLSTATEs.
  At(sql, "DELETE FROM \"s\".\"d_pwd_log\" l");
  At(sql,
     "ERRCODE = 'PWD01', MESSAGE = L<s.d was truncated during the drain; nothing was "
     "changed: run the drain again>");
  At(sql, "ERRCODE = 'PWD02'");
}

TEST(ReplayFunctionSql, WithoutAKeyMatchesEveryColumnsTextRowByRow) {
  const std::string sql = ReplayFunctionSql(Replay(), Marking());
  EXPECT_EQ(sql.find("DISTINCT ON"), std::string::npos) << sql;
  At(sql, "o \"s\".\"d\";");  // the log's row type is DEFAULT's
  At(sql, "IF o.I<region> IS NOT NULL THEN");
  At(sql,
     "WHERE true AND s.I<region> = o.I<region> AND s.I<id>::text IS NOT DISTINCT FROM "
     "o.I<id>::text AND s.I<region>::text IS NOT DISTINCT FROM o.I<region>::text AND "
     "s.I<note>::text IS NOT DISTINCT FROM o.I<note>::text LIMIT 1;");
  At(sql,
     "INSERT INTO \"s\".\"d_pwd_stage\" (I<id>, I<region>, I<note>) VALUES (nw.I<id>, "
     "nw.I<region>, nw.I<note>);");
  At(sql, "ERRCODE = 'PWD01', MESSAGE = L<s.d was truncated");
}

SwapSpec Swap() {
  SwapSpec spec;
  spec.parent = "P";
  spec.def = "D";
  spec.stage = "S";
  spec.new_default = "N";
  spec.schema = "sch";
  spec.def_name = "orders_default";
  spec.old_default = "orders_default_pwd_old";
  spec.targets = {{"T1", "FOR VALUES IN ('a')"}, {"T2", "FOR VALUES IN ('b')"}};
  spec.default_has_check = true;
  spec.new_oid = 777;
  return spec;
}

TEST(SwapSql, DetachesAttachesAndRenamesInOrder) {
  const std::string sql = SwapSql(Swap(), Marking());
  EXPECT_EQ(sql.rfind("DO $pwd_swap$\nDECLARE ix regclass;\nBEGIN\n", 0), 0u) << sql;
  EXPECT_EQ(sql.substr(sql.size() - 14), "END $pwd_swap$");
  const std::vector<std::string> in_order = {
      "ALTER TABLE S DETACH PARTITION T1;",
      "ALTER TABLE S DETACH PARTITION T2;",
      "ALTER TABLE S DETACH PARTITION N;",
      "ALTER TABLE P DETACH PARTITION D;",
      "ALTER TABLE P ATTACH PARTITION T1 FOR VALUES IN ('a');",
      "ALTER TABLE P ATTACH PARTITION T2 FOR VALUES IN ('b');",
      "ALTER TABLE P ATTACH PARTITION N DEFAULT;",
      "ALTER TABLE T1 DROP CONSTRAINT I<partwatch_drain_bound>;",
      "ALTER TABLE T2 DROP CONSTRAINT I<partwatch_drain_bound>;",
      "ALTER TABLE N DROP CONSTRAINT I<partwatch_drain_bound>;",
      "ALTER TABLE D RENAME TO I<orders_default_pwd_old>;",
      "ALTER TABLE N RENAME TO I<orders_default>;",
  };
  size_t last = 0;
  for (const std::string& step : in_order) {
    const size_t pos = At(sql, step);
    EXPECT_GE(pos, last) << step << " out of order in:\n" << sql;
    last = pos;
    EXPECT_EQ(Count(sql, step), 1u) << step;
  }
}

TEST(SwapSql, NoCheckOnTheNewDefaultNothingToDrop) {
  SwapSpec spec = Swap();
  spec.default_has_check = false;
  const std::string sql = SwapSql(spec, Marking());
  EXPECT_EQ(sql.find("ALTER TABLE N DROP CONSTRAINT"), std::string::npos) << sql;
  At(sql, "ALTER TABLE T1 DROP CONSTRAINT");
}

TEST(SwapSql, HostileQuotedNamesStayAsPassed) {
  SwapSpec spec = Swap();
  const std::string hostile = "\"sch\".\"x\"\"; DROP TABLE y; --\"";
  spec.targets = {{hostile, "FOR VALUES IN ('$pwd_swap$')"}};
  const std::string sql = SwapSql(spec, Marking());
  At(sql, "ALTER TABLE S DETACH PARTITION " + hostile + ";");
  At(sql, "ALTER TABLE P ATTACH PARTITION " + hostile + " FOR VALUES IN ('$pwd_swap$');");
  At(sql, "ALTER TABLE " + hostile + " DROP CONSTRAINT");
  // Pasted, never quoted again.
  EXPECT_EQ(sql.find("I<" + hostile), std::string::npos) << sql;
  // The bound holds the default tag, so the block picks another.
  EXPECT_EQ(sql.rfind("DO $pwd_swap0$\n", 0), 0u) << sql;
  EXPECT_EQ(sql.substr(sql.size() - 15), "END $pwd_swap0$");
}

TEST(SwapSql, IndexesAndPublicationsFollowTheNewDefault) {
  SwapSpec spec = Swap();
  spec.old_indexes = {OldIndex{11, "own_ix", 0, "btree (note)", false},
                      OldIndex{12, "orders_default_pkey", 99, "", true}};
  spec.publications = {PubMember{"pub_all", {}, ""},
                       PubMember{"pub_some", {"id", "note"}, "region = 'x'"}};
  spec.replident = 'i';
  spec.replident_index = "orders_default_pkey";
  const std::string sql = SwapSql(spec, Marking());
  const size_t drop_pub = At(sql, "ALTER PUBLICATION I<pub_all> DROP TABLE D;");
  At(sql, "ALTER PUBLICATION I<pub_some> DROP TABLE D;");
  const size_t rename_old = At(sql, "ALTER TABLE D RENAME TO I<orders_default_pwd_old>;");
  const size_t old_ix = At(sql, "ALTER INDEX I<sch>.I<own_ix> RENAME TO I<pwd_old_11>;");
  At(sql, "ALTER INDEX I<sch>.I<orders_default_pkey> RENAME TO I<pwd_old_12>;");
  const size_t rename_new = At(sql, "ALTER TABLE N RENAME TO I<orders_default>;");
  const size_t own_ix = At(sql, "ALTER INDEX I<sch>.I<pwd_ix_11> RENAME TO I<own_ix>;");
  const size_t inherited =
      At(sql,
         "WHERE h.inhparent = 99 AND i.indrelid = 777;\n  IF ix IS NOT NULL THEN EXECUTE "
         "format('ALTER INDEX %s RENAME TO %I', ix, L<orders_default_pkey>); END IF;");
  const size_t replident = At(sql,
                              "ALTER TABLE D REPLICA IDENTITY USING INDEX "
                              "I<orders_default_pkey>;");
  const size_t add_pub = At(sql, "ALTER PUBLICATION I<pub_all> ADD TABLE D;");
  At(sql, "ALTER PUBLICATION I<pub_some> ADD TABLE D (I<id>, I<note>) WHERE (region = 'x');");
  EXPECT_LT(drop_pub, rename_old);
  EXPECT_LT(rename_old, old_ix);
  EXPECT_LT(old_ix, rename_new);
  EXPECT_LT(rename_new, own_ix);
  EXPECT_LT(own_ix, inherited);
  EXPECT_LT(inherited, replident);
  EXPECT_LT(replident, add_pub);
}

}  // namespace
}  // namespace partwatch::drain
