// The replay engine (src/replay/simulator.h): what-if scenarios, the
// answers `run`'s executor would give, de-duplication across restarts and
// the tally.
#include "src/replay/simulator.h"

#include <gtest/gtest.h>

namespace partwatch::replay {
namespace {

using pgoutput::Message;
using policy::KeyValue;

constexpr pgoutput::Oid kRel = 16400;
constexpr int64_t kMinute = 60'000'000;

policy::TableRule Orders(int64_t threshold = 100) {
  policy::TableRule r;
  r.parent = "public.orders";
  r.parent_relname = "orders";
  r.default_nspname = "public";
  r.default_relname = "orders_default";
  r.key_column = "status";
  r.threshold = threshold;
  return r;
}

Item Msg(Message m, uint64_t lsn = 0) {
  Item i;
  i.kind = Item::Kind::kMessage;
  i.lsn = Lsn(lsn);
  i.message = std::move(m);
  return i;
}

Item Relation() {
  pgoutput::RelationMessage r;
  r.relation_id = kRel;
  r.nspname = "public";
  r.relname = "orders_default";
  r.columns = {{1, "id", 20, -1}, {0, "status", 25, -1}};
  return Msg(r);
}

Item Insert(std::optional<std::string> v, std::optional<pgoutput::Xid> xid = std::nullopt) {
  pgoutput::InsertMessage m;
  m.xid = xid;
  m.relation_id = kRel;
  m.new_tuple.columns = {{pgoutput::TupleColumn::Kind::kText, "1"},
                         v ? pgoutput::TupleColumn{pgoutput::TupleColumn::Kind::kText, *v}
                           : pgoutput::TupleColumn{pgoutput::TupleColumn::Kind::kNull, ""}};
  return Msg(m);
}

// One committed transaction: `n` rows of `value`, committed at `lsn` and
// `time` (microseconds since 2000).
void Txn(Simulator& sim, uint64_t lsn, int64_t time, const std::string& value, int n,
         pgoutput::Xid xid = 700) {
  sim.Feed(Msg(pgoutput::BeginMessage{Lsn(lsn), time, xid}));
  for (int i = 0; i < n; ++i) sim.Feed(Insert(value));
  sim.Feed(Msg(pgoutput::CommitMessage{0, Lsn(lsn), Lsn(lsn + 8), time}));
}

TableSetup OrdersSetup(std::vector<int64_t> thresholds, int per_hour = 60) {
  TableSetup s;
  s.rule = Orders();
  s.strategy = "list";
  s.thresholds = std::move(thresholds);
  s.max_new_partitions_per_hour = per_hour;
  return s;
}

const ValueReport* Find(const TableReport& t, const std::string& v) {
  for (const ValueReport& r : t.values) {
    if (r.value.text == v) return &r;
  }
  return nullptr;
}

TEST(SimulatorTest, ThresholdsAreComparedSideBySide) {
  Simulator sim({OrdersSetup({2, 5})}, {});
  sim.Feed(Relation());
  Txn(sim, 0x100, 10 * kMinute, "new", 3);
  Txn(sim, 0x200, 11 * kMinute, "new", 3);
  Txn(sim, 0x300, 12 * kMinute, "rare", 1);
  const Report r = sim.Finish();
  ASSERT_EQ(r.tables.size(), 1u);
  const TableReport& t = r.tables[0];
  EXPECT_EQ(t.thresholds, (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(t.rows, 7);
  EXPECT_EQ(r.transactions, 3);
  const ValueReport* v = Find(t, "new");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->rows, 6);
  EXPECT_EQ(v->first_time, 10 * kMinute);
  EXPECT_EQ(v->last_time, 11 * kMinute);
  ASSERT_EQ(v->crossings.size(), 2u);
  EXPECT_EQ(v->crossings[0].threshold, 2);
  EXPECT_EQ(v->crossings[0].rows, 3);
  EXPECT_EQ(v->crossings[0].lsn, Lsn(0x100));
  EXPECT_EQ(v->crossings[0].decision, DecisionKind::kCreate);
  EXPECT_EQ(v->crossings[1].threshold, 5);
  EXPECT_EQ(v->crossings[0].scenario, 0u);
  EXPECT_EQ(v->crossings[1].scenario, 1u);
  EXPECT_EQ(v->crossings[1].rows, 6);
  EXPECT_EQ(v->crossings[1].lsn, Lsn(0x200));
  EXPECT_EQ(v->crossings[1].time, 11 * kMinute);
  const ValueReport* rare = Find(t, "rare");
  ASSERT_NE(rare, nullptr);
  EXPECT_TRUE(rare->crossings.empty());
  // Rows per minute: three minutes with rows.
  EXPECT_EQ(t.rows_per_minute, (std::vector<std::pair<int64_t, int64_t>>{
                                   {10 * kMinute, 3}, {11 * kMinute, 3}, {12 * kMinute, 1}}));
}

TEST(SimulatorTest, AValueIsDecidedOnOncePerScenario) {
  Simulator sim({OrdersSetup({2})}, {});
  sim.Feed(Relation());
  for (uint64_t i = 1; i <= 5; ++i) Txn(sim, 0x100 * i, static_cast<int64_t>(i) * kMinute, "x", 3);
  const ValueReport* v = Find(sim.Finish().tables[0], "x");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->rows, 15);
  ASSERT_EQ(v->crossings.size(), 1u);
  EXPECT_EQ(v->crossings[0].lsn, Lsn(0x100));
}

TEST(SimulatorTest, TheHourlyCapHoldsCreatesAndReleasesThemAnHourLater) {
  Simulator sim({OrdersSetup({1}, /*per_hour=*/1)}, {});
  sim.Feed(Relation());
  Txn(sim, 0x100, 1 * kMinute, "a", 2);
  Txn(sim, 0x200, 10 * kMinute, "b", 2);  // capped: "a" was created 9 minutes ago
  Txn(sim, 0x300, 20 * kMinute, "c", 2);  // capped too
  Txn(sim, 0x400, 70 * kMinute, "c", 1);  // the hour has passed: created
  const TableReport t = sim.Finish().tables[0];
  EXPECT_EQ(Find(t, "a")->crossings.at(0).decision, DecisionKind::kCreate);
  EXPECT_EQ(Find(t, "b")->crossings.at(0).decision, DecisionKind::kCapped);
  const Crossing& c = Find(t, "c")->crossings.at(0);
  EXPECT_EQ(c.decision, DecisionKind::kCreate);
  EXPECT_EQ(c.lsn, Lsn(0x400));
}

TEST(SimulatorTest, AlertTablesAlert) {
  TableSetup s = OrdersSetup({1});
  s.rule.action = policy::ActionKind::kAlert;
  Simulator sim({s}, {});
  sim.Feed(Relation());
  Txn(sim, 0x100, 0, "a", 2);
  EXPECT_EQ(Find(sim.Finish().tables[0], "a")->crossings.at(0).decision, DecisionKind::kAlert);
}

// `run` restarted: the server sends again what was not confirmed.  A copy of
// a transaction already seen is skipped, and a streamed transaction left
// open is dropped before its resent copy arrives.
TEST(SimulatorTest, ARestartDoesNotCountTwice) {
  Simulator sim({OrdersSetup({100})}, {});
  sim.Feed(Relation());
  Txn(sim, 0x100, kMinute, "a", 3);
  sim.Feed(Msg(pgoutput::StreamStartMessage{900, true}));
  sim.Feed(Insert("a", 900));
  sim.Feed(Msg(pgoutput::StreamStopMessage{}));
  Item restart;
  restart.kind = Item::Kind::kSessionStart;
  sim.Feed(restart);
  sim.Feed(Relation());
  Txn(sim, 0x100, kMinute, "a", 3);  // the copy
  sim.Feed(Msg(pgoutput::StreamStartMessage{900, true}));
  sim.Feed(Insert("a", 900));
  sim.Feed(Insert("a", 900));
  sim.Feed(Msg(pgoutput::StreamStopMessage{}));
  sim.Feed(Msg(pgoutput::StreamCommitMessage{900, 0, Lsn(0x300), Lsn(0x308), 2 * kMinute}));
  // And a streamed transaction committed before, sent again whole.
  sim.Feed(Msg(pgoutput::StreamStartMessage{901, true}));
  sim.Feed(Insert("a", 901));
  sim.Feed(Msg(pgoutput::StreamStopMessage{}));
  sim.Feed(Msg(pgoutput::StreamCommitMessage{901, 0, Lsn(0x300), Lsn(0x308), 2 * kMinute}));
  const Report r = sim.Finish();
  EXPECT_EQ(Find(r.tables[0], "a")->rows, 5);
  EXPECT_EQ(r.transactions, 2);
}

// A capture that starts in the middle of a streamed transaction (pruned,
// or one segment read alone): its chunks are left out, not an error.
TEST(SimulatorTest, AStreamedTransactionStartedBeforeTheInputIsLeftOut) {
  Simulator sim({OrdersSetup({100})}, {});
  sim.Feed(Relation());
  sim.Feed(Msg(pgoutput::StreamStartMessage{900, false}));
  sim.Feed(Insert("a", 900));
  sim.Feed(Msg(pgoutput::StreamStopMessage{}));
  Txn(sim, 0x100, kMinute, "b", 2);
  sim.Feed(Msg(pgoutput::StreamCommitMessage{900, 0, Lsn(0x300), Lsn(0x308), 2 * kMinute}));
  const TableReport t = sim.Finish().tables[0];
  EXPECT_EQ(Find(t, "a"), nullptr);
  EXPECT_EQ(Find(t, "b")->rows, 2);
  EXPECT_EQ(sim.orphaned_transactions(), 1);
}

TEST(SimulatorTest, StreamedAbortsDoNotCount) {
  Simulator sim({OrdersSetup({100})}, {});
  sim.Feed(Relation());
  sim.Feed(Msg(pgoutput::StreamStartMessage{900, true}));
  sim.Feed(Insert("a", 900));
  sim.Feed(Insert("b", 901));  // a sub-transaction
  sim.Feed(Msg(pgoutput::StreamStopMessage{}));
  sim.Feed(Msg(pgoutput::StreamAbortMessage{900, 901}));
  sim.Feed(Msg(pgoutput::StreamCommitMessage{900, 0, Lsn(0x300), Lsn(0x308), kMinute}));
  const TableReport t = sim.Finish().tables[0];
  EXPECT_EQ(Find(t, "a")->rows, 1);
  EXPECT_EQ(Find(t, "b"), nullptr);
  EXPECT_EQ(t.rows, 1);
}

TEST(SimulatorTest, FromAndToSelectWholeTransactions) {
  SimulatorOptions o;
  o.from_time = 2 * kMinute;
  o.to_lsn = Lsn(0x300);
  Simulator sim({OrdersSetup({100})}, o);
  sim.Feed(Relation());
  Txn(sim, 0x100, 1 * kMinute, "a", 1);  // too early
  Txn(sim, 0x200, 2 * kMinute, "a", 2);
  Txn(sim, 0x300, 3 * kMinute, "a", 4);
  Txn(sim, 0x400, 4 * kMinute, "a", 8);  // past to_lsn
  const Report r = sim.Finish();
  EXPECT_EQ(Find(r.tables[0], "a")->rows, 6);
  EXPECT_EQ(r.first_time, 2 * kMinute);
  EXPECT_EQ(r.last_time, 3 * kMinute);
}

TEST(SimulatorTest, NullKeysAndTruncates) {
  Simulator sim({OrdersSetup({100})}, {});
  sim.Feed(Relation());
  sim.Feed(Msg(pgoutput::BeginMessage{Lsn(0x100), kMinute, 1}));
  sim.Feed(Insert(std::nullopt));
  sim.Feed(Insert(std::nullopt));
  sim.Feed(Msg(pgoutput::CommitMessage{0, Lsn(0x100), Lsn(0x108), kMinute}));
  sim.Feed(Msg(pgoutput::BeginMessage{Lsn(0x200), 2 * kMinute, 2}));
  pgoutput::TruncateMessage tr;
  tr.relation_ids = {kRel};
  sim.Feed(Msg(tr));
  sim.Feed(Msg(pgoutput::CommitMessage{0, Lsn(0x200), Lsn(0x208), 2 * kMinute}));
  const TableReport t = sim.Finish().tables[0];
  ASSERT_FALSE(t.values.empty());
  EXPECT_TRUE(t.values[0].value.is_null());
  EXPECT_EQ(t.values[0].rows, 2);
  EXPECT_EQ(t.truncates, 1);
  EXPECT_EQ(t.truncate_times, std::vector<int64_t>{2 * kMinute});
}

// More distinct values than max_tracked_values: memory stays bounded and
// the heavy value is still reported exactly.
TEST(SimulatorTest, TheTallyIsBounded) {
  TableSetup s = OrdersSetup({1000});
  s.rule.max_tracked_values = 64;
  Simulator sim({s}, {});
  sim.Feed(Relation());
  for (int i = 0; i < 5000; ++i) {
    Txn(sim, 0x100 + 16 * static_cast<uint64_t>(i), i, "v" + std::to_string(i), 1);
    if (i % 10 == 0) Txn(sim, 0x100 + 16 * static_cast<uint64_t>(i) + 8, i, "heavy", 1);
  }
  SimulatorOptions o;
  const TableReport t = sim.Finish().tables[0];
  EXPECT_LE(t.values.size() + static_cast<size_t>(t.other_values), 64u);
  ASSERT_FALSE(t.values.empty());
  EXPECT_EQ(*t.values[0].value.text, "heavy");
  EXPECT_GE(t.values[0].rows, 500);
  EXPECT_EQ(t.rows, 5500);
}

TEST(SimulatorTest, TracedValuesGetOnePointPerMinute) {
  Simulator first({OrdersSetup({100})}, {});
  first.Feed(Relation());
  Txn(first, 0x100, 0, "a", 1);
  Txn(first, 0x200, 10, "a", 1);
  Txn(first, 0x300, kMinute, "a", 2);
  Txn(first, 0x400, kMinute, "b", 1);
  const auto top = first.TopValues();
  ASSERT_EQ(top.size(), 1u);
  ASSERT_EQ(top[0].size(), 2u);
  EXPECT_EQ(*top[0][0].text, "a");
  Simulator second({OrdersSetup({100})}, {});
  second.Trace(top);
  second.Feed(Relation());
  Txn(second, 0x100, 0, "a", 1);
  Txn(second, 0x200, 10, "a", 1);
  Txn(second, 0x300, kMinute, "a", 2);
  Txn(second, 0x400, kMinute, "b", 1);
  const TableReport t = second.Finish().tables[0];
  ASSERT_EQ(t.top_series.size(), 2u);
  EXPECT_EQ(*t.top_series[0].value.text, "a");
  EXPECT_EQ(t.top_series[0].points,
            (std::vector<std::pair<int64_t, int64_t>>{{10, 2}, {kMinute, 4}}));
}

}  // namespace
}  // namespace partwatch::replay

#include "src/replay/command.h"

namespace partwatch::replay {
namespace {

TEST(ReplayArgsTest, TimesParseWithAndWithoutOffsets) {
  // 2000-01-02 00:00 UTC is one day after the epoch.
  EXPECT_EQ(ParseTimeArg("2000-01-02"), int64_t{86'400'000'000});
  EXPECT_EQ(ParseTimeArg("2000-01-01 01:30"), int64_t{5'400'000'000});
  EXPECT_EQ(ParseTimeArg("2000-01-01T01:30:00.5Z"), int64_t{5'400'500'000});
  EXPECT_EQ(ParseTimeArg("2000-01-01 02:00:00+01:00"), int64_t{3'600'000'000});
  EXPECT_EQ(ParseTimeArg("2000-01-01 00:00-0130"), int64_t{5'400'000'000});
  EXPECT_EQ(ParseTimeArg("2026-02-29"), std::nullopt);
  EXPECT_EQ(ParseTimeArg("yesterday"), std::nullopt);
  EXPECT_EQ(ParseTimeArg("2026-12-02 25:00"), std::nullopt);
}

TEST(ReplayArgsTest, Intervals) {
  EXPECT_EQ(ParseIntervalText("1 year")->months, 12);
  EXPECT_EQ(ParseIntervalText("6 mons")->months, 6);
  EXPECT_EQ(ParseIntervalText("2 weeks")->days, 14);
  const auto iv = ParseIntervalText("1 year 2 days 3 hours");
  ASSERT_TRUE(iv);
  EXPECT_EQ(iv->months, 12);
  EXPECT_EQ(iv->days, 2);
  EXPECT_EQ(iv->micros, 3 * int64_t{3'600'000'000});
  EXPECT_FALSE(ParseIntervalText("soon"));
  EXPECT_FALSE(ParseIntervalText(""));
}

// RANGE: a bucket past commit time + max_future is held, one inside is created.
TEST(SimulatorTest, MaxFutureHoldsFarBuckets) {
  Result<policy::Bucketer> b = policy::Bucketer::Make(
      policy::RangeKeyType::kDate, policy::RangeInterval{0, 1, 0, 0}, std::nullopt, {});
  ASSERT_TRUE(b.ok());
  TableSetup s = OrdersSetup({1});
  s.strategy = "range";
  s.rule.bucketer = std::make_shared<const policy::Bucketer>(std::move(b).value());
  s.max_future = policy::RangeInterval{0, 30, 0, 0};
  Simulator sim({s}, {});
  sim.Feed(Relation());
  // Commit time 2026-12-01 00:00 UTC.
  const int64_t now = *ParseTimeArg("2026-12-01");
  Txn(sim, 0x100, now, "2026-12-10", 2);
  Txn(sim, 0x200, now, "2027-06-01", 2);
  const TableReport t = sim.Finish().tables[0];
  EXPECT_EQ(Find(t, "2026-12-10")->crossings.at(0).decision, DecisionKind::kCreate);
  EXPECT_EQ(Find(t, "2027-06-01")->crossings.at(0).decision, DecisionKind::kMaxFuture);
}

}  // namespace
}  // namespace partwatch::replay
