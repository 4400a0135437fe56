#include "policy/policy.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace partwatch::policy {
namespace {

using pgoutput::Oid;
using pgoutput::Xid;

constexpr Oid kOrdersDefault = 16400;
constexpr Oid kInvoicesDefault = 16500;
constexpr Oid kUnrelated = 16600;

TableRule OrdersRule(int64_t threshold = 100, ActionKind action = ActionKind::kCreate) {
  TableRule rule;
  rule.parent = "public.orders";
  rule.parent_relname = "orders";
  rule.default_nspname = "public";
  rule.default_relname = "orders_other";
  rule.key_column = "status";
  rule.threshold = threshold;
  rule.action = action;
  return rule;
}

TableRule InvoicesRule(int64_t threshold = 10) {
  TableRule rule;
  rule.parent = "billing.invoices";
  rule.parent_relname = "invoices";
  rule.default_nspname = "billing";
  rule.default_relname = "invoices_default";
  rule.key_column = "region";
  rule.threshold = threshold;
  return rule;
}

// A Relation message with the key column second, between two others.
pgoutput::Message Relation(Oid relation_id, std::string nspname, std::string relname,
                           std::string key_column) {
  pgoutput::RelationMessage relation;
  relation.relation_id = relation_id;
  relation.nspname = std::move(nspname);
  relation.relname = std::move(relname);
  relation.replica_identity = 'd';
  relation.columns = {{1, "id", 20, -1}, {0, std::move(key_column), 25, -1}, {0, "note", 25, -1}};
  return relation;
}

pgoutput::Message OrdersRelation() {
  return Relation(kOrdersDefault, "public", "orders_other", "status");
}

pgoutput::Message InvoicesRelation() {
  return Relation(kInvoicesDefault, "billing", "invoices_default", "region");
}

pgoutput::TupleColumn TextColumn(std::string text) {
  return {pgoutput::TupleColumn::Kind::kText, std::move(text)};
}

pgoutput::Message Insert(Oid relation_id, const KeyValue& value,
                         std::optional<Xid> xid = std::nullopt) {
  pgoutput::InsertMessage insert;
  insert.xid = xid;
  insert.relation_id = relation_id;
  pgoutput::TupleColumn key = value.text
                                  ? TextColumn(*value.text)
                                  : pgoutput::TupleColumn{pgoutput::TupleColumn::Kind::kNull, ""};
  insert.new_tuple.columns = {TextColumn("1"), key, TextColumn("note")};
  return insert;
}

pgoutput::Message Begin(Xid xid) { return pgoutput::BeginMessage{Lsn(0), 0, xid}; }

// commit_lsn = lsn, end_lsn = lsn + 8, commit_time = lsn * 10.
pgoutput::Message Commit(uint64_t lsn) {
  return pgoutput::CommitMessage{0, Lsn(lsn), Lsn(lsn + 8), static_cast<int64_t>(lsn * 10)};
}

pgoutput::Message StreamStart(Xid xid, bool first_segment) {
  return pgoutput::StreamStartMessage{xid, first_segment};
}

pgoutput::Message StreamStop() { return pgoutput::StreamStopMessage{}; }

pgoutput::Message StreamCommit(Xid xid, uint64_t lsn) {
  return pgoutput::StreamCommitMessage{xid, 0, Lsn(lsn), Lsn(lsn + 8),
                                       static_cast<int64_t>(lsn * 10)};
}

pgoutput::Message StreamAbort(Xid xid, Xid subxid) {
  return pgoutput::StreamAbortMessage{xid, subxid};
}

pgoutput::Message Truncate(std::vector<Oid> relation_ids, std::optional<Xid> xid = std::nullopt) {
  pgoutput::TruncateMessage truncate;
  truncate.xid = xid;
  truncate.relation_ids = std::move(relation_ids);
  return truncate;
}

const KeyValue kReturned = KeyValue::Of("returned");
const KeyValue kLost = KeyValue::Of("lost");

class PolicyTest : public ::testing::Test {
 protected:
  explicit PolicyTest(std::vector<TableRule> rules = {OrdersRule()}) : policy_(std::move(rules)) {}

  // Feeds one message that must be accepted.
  PolicyOutput Feed(const pgoutput::Message& message) {
    Result<PolicyOutput> result = policy_.OnMessage(message);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? std::move(result).value() : PolicyOutput{};
  }

  // Feeds one message that must be rejected; returns the error message.
  std::string FeedError(const pgoutput::Message& message) {
    Result<PolicyOutput> result = policy_.OnMessage(message);
    EXPECT_FALSE(result.ok());
    if (result.ok()) return "";
    EXPECT_EQ(result.error().kind, Error::Kind::kCorrupt);
    return result.error().message;
  }

  // `n` inserts of `value` into `relation_id`, decisions collected.
  std::vector<Decision> Rows(int n, const KeyValue& value, Oid relation_id = kOrdersDefault,
                             std::optional<Xid> xid = std::nullopt) {
    std::vector<Decision> decisions;
    for (int i = 0; i < n; ++i) {
      PolicyOutput out = Feed(Insert(relation_id, value, xid));
      decisions.insert(decisions.end(), out.decisions.begin(), out.decisions.end());
    }
    return decisions;
  }

  // One non-streamed transaction of `n` rows of `value`; returns the
  // commit's decisions.
  std::vector<Decision> Txn(int n, const KeyValue& value, uint64_t commit_lsn,
                            Oid relation_id = kOrdersDefault) {
    Feed(Begin(700));
    EXPECT_TRUE(Rows(n, value, relation_id).empty());  // decisions only come at commit
    return Feed(Commit(commit_lsn)).decisions;
  }

  Policy policy_;
};

// ---- thresholds and decisions ----

TEST_F(PolicyTest, OverThresholdInOneTransactionDecidesOnceAtCommit) {
  EXPECT_TRUE(Feed(OrdersRelation()).unknown_relations.empty());
  const std::vector<Decision> decisions = Txn(101, kReturned, 0x1000);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].table, 0u);
  EXPECT_EQ(decisions[0].value, kReturned);
  EXPECT_EQ(decisions[0].kind, ActionKind::kCreate);
  EXPECT_EQ(decisions[0].streamed_count, 101);
  EXPECT_EQ(decisions[0].commit_lsn, Lsn(0x1000));
  EXPECT_EQ(decisions[0].commit_time, 0x1000 * 10);
  EXPECT_EQ(policy_.count(0, kReturned), 101);
}

TEST_F(PolicyTest, ExactlyThresholdDecidesNothing) {
  Feed(OrdersRelation());
  EXPECT_TRUE(Txn(100, kReturned, 0x1000).empty());
  EXPECT_EQ(policy_.count(0, kReturned), 100);
}

TEST_F(PolicyTest, CountsAccumulateAndDecideAtTheCrossingCommit) {
  Feed(OrdersRelation());
  EXPECT_TRUE(Txn(60, kReturned, 0x1000).empty());
  EXPECT_TRUE(Txn(40, kReturned, 0x2000).empty());
  EXPECT_TRUE(Txn(50, kLost, 0x3000).empty());
  EXPECT_EQ(policy_.count(0, kReturned), 100);
  const std::vector<Decision> decisions = Txn(1, kReturned, 0x4000);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].value, kReturned);
  EXPECT_EQ(decisions[0].streamed_count, 101);
  EXPECT_EQ(decisions[0].commit_lsn, Lsn(0x4000));
}

TEST_F(PolicyTest, SeveralValuesCrossingInOneCommit) {
  Feed(OrdersRelation());
  Feed(Begin(1));
  Rows(101, kReturned);
  Rows(150, kLost);
  Rows(3, KeyValue::Of("new"));
  std::vector<Decision> decisions = Feed(Commit(0x1000)).decisions;
  ASSERT_EQ(decisions.size(), 2u);
  std::sort(decisions.begin(), decisions.end(), [](const Decision& a, const Decision& b) {
    return a.streamed_count < b.streamed_count;
  });
  EXPECT_EQ(decisions[0].value, kReturned);
  EXPECT_EQ(decisions[0].streamed_count, 101);
  EXPECT_EQ(decisions[1].value, kLost);
  EXPECT_EQ(decisions[1].streamed_count, 150);
}

TEST_F(PolicyTest, NoSecondDecisionWhilePending) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  EXPECT_TRUE(Txn(1, kReturned, 0x2000).empty());
  EXPECT_TRUE(Txn(500, kReturned, 0x3000).empty());
  EXPECT_EQ(policy_.count(0, kReturned), 602);
}

TEST_F(PolicyTest, NullIsCountedApartFromTextNull) {
  Feed(OrdersRelation());
  Txn(100, KeyValue::Null(), 0x1000);
  Txn(100, KeyValue::Of("null"), 0x2000);
  EXPECT_EQ(policy_.count(0, KeyValue::Null()), 100);
  EXPECT_EQ(policy_.count(0, KeyValue::Of("null")), 100);
  EXPECT_EQ(policy_.tracked_values(), 2u);
  const std::vector<Decision> decisions = Txn(1, KeyValue::Null(), 0x3000);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_TRUE(decisions[0].value.is_null());
}

TEST_F(PolicyTest, ValuesAreCaseSensitive) {
  Feed(OrdersRelation());
  Txn(100, KeyValue::Of("Returned"), 0x1000);
  EXPECT_TRUE(Txn(100, kReturned, 0x2000).empty());
  EXPECT_EQ(policy_.count(0, kReturned), 100);
}

// ---- outcomes ----

TEST_F(PolicyTest, OutcomeDoneForgetsTheValue) {
  Feed(OrdersRelation());
  Txn(5, kLost, 0x500);
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  EXPECT_EQ(policy_.tracked_values(), 2u);
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kDone, 0});
  EXPECT_EQ(policy_.count(0, kReturned), 0);
  EXPECT_EQ(policy_.tracked_values(), 1u);
  EXPECT_EQ(policy_.count(0, kLost), 5);
  // Rows that still land in DEFAULT count from zero.
  EXPECT_TRUE(Txn(100, kReturned, 0x2000).empty());
  EXPECT_EQ(Txn(1, kReturned, 0x3000).size(), 1u);
}

TEST_F(PolicyTest, OutcomeBelowThresholdTakesTheExactCount) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kBelowThreshold, 40});
  EXPECT_EQ(policy_.count(0, kReturned), 40);
  EXPECT_TRUE(Txn(60, kReturned, 0x2000).empty());
  const std::vector<Decision> decisions = Txn(1, kReturned, 0x3000);
  ASSERT_EQ(decisions.size(), 1u);  // no longer pending: decides again
  EXPECT_EQ(decisions[0].streamed_count, 101);
}

TEST_F(PolicyTest, OutcomeKeepsRowsMergedWhileTheExecutorWorked) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  EXPECT_TRUE(Txn(7, kReturned, 0x2000).empty());
  // The executor counted 90: the 7 rows may be among them or not; keep them.
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kBelowThreshold, 90});
  EXPECT_EQ(policy_.count(0, kReturned), 97);
}

TEST_F(PolicyTest, OutcomeBelowThresholdDecidesAgainWhenRowsMergedSinceCarryItOver) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  EXPECT_TRUE(Txn(50, kReturned, 0x2000).empty());  // pending: no second decision
  // The executor counted 80 (deletes happened); with the 50 since, 130 > 100.
  const std::vector<Decision> again =
      policy_.OnOutcome({0, kReturned, Outcome::Kind::kBelowThreshold, 80});
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].value, kReturned);
  EXPECT_EQ(again[0].streamed_count, 130);
  EXPECT_EQ(again[0].commit_lsn, Lsn(0x2000));  // the last commit seen
  // Pending again: no decision at the next commit.
  EXPECT_TRUE(Txn(1, kReturned, 0x3000).empty());
}

TEST_F(PolicyTest, OutcomeBelowThresholdWithoutNewRowsDecidesNothing) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  EXPECT_TRUE(policy_.OnOutcome({0, kReturned, Outcome::Kind::kBelowThreshold, 60}).empty());
  EXPECT_TRUE(policy_.OnOutcome({0, kLost, Outcome::Kind::kAlerted, 500}).empty());
}

TEST_F(PolicyTest, OutcomeFailedDecidesAgainAtTheNextTouchingCommit) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kFailed, 0});
  EXPECT_EQ(policy_.count(0, kReturned), 101);
  EXPECT_TRUE(Txn(3, kLost, 0x2000).empty());  // does not touch 'returned'
  const std::vector<Decision> decisions = Txn(1, kReturned, 0x3000);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].streamed_count, 102);
  EXPECT_EQ(decisions[0].commit_lsn, Lsn(0x3000));
}

TEST_F(PolicyTest, OutcomeForUnknownTableOrValueIsHarmless) {
  Feed(OrdersRelation());
  policy_.OnOutcome({7, kReturned, Outcome::Kind::kDone, 0});
  policy_.OnOutcome({7, kReturned, Outcome::Kind::kAlerted, 5});
  policy_.OnOutcome({0, kLost, Outcome::Kind::kFailed, 0});
  policy_.OnOutcome({0, kLost, Outcome::Kind::kDone, 0});
  EXPECT_EQ(policy_.tracked_values(), 0u);
}

class AlertPolicyTest : public PolicyTest {
 protected:
  AlertPolicyTest() : PolicyTest({OrdersRule(100, ActionKind::kAlert)}) {}
};

TEST_F(AlertPolicyTest, AlertsOnce) {
  Feed(OrdersRelation());
  const std::vector<Decision> decisions = Txn(101, kReturned, 0x1000);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].kind, ActionKind::kAlert);
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kAlerted, 101});
  EXPECT_EQ(policy_.count(0, kReturned), 101);
  EXPECT_TRUE(Txn(1, kReturned, 0x2000).empty());
  EXPECT_TRUE(Txn(1000, kReturned, 0x3000).empty());
  EXPECT_EQ(policy_.count(0, kReturned), 1102);
}

TEST_F(AlertPolicyTest, ReloadToCreateDecidesOnAlertedValuesAgain) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kAlerted, 101});
  // A reload switches the table to create mode: same table, same index.
  policy_.SetRules({OrdersRule(100, ActionKind::kCreate)});
  EXPECT_TRUE(policy_.DecideAll().empty());  // still alerted
  policy_.ForgetAlerts(0);
  const std::vector<Decision> decisions = policy_.DecideAll();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].value, kReturned);
  EXPECT_EQ(decisions[0].kind, ActionKind::kCreate);
}

TEST_F(PolicyTest, SetRulesKeepsADecisionInFlight) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  policy_.SetRules({OrdersRule(50)});        // a reload lowering the threshold
  EXPECT_TRUE(policy_.DecideAll().empty());  // pending: not decided twice
  EXPECT_TRUE(Txn(1, kReturned, 0x2000).empty());
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kDone, 0});
  EXPECT_EQ(policy_.count(0, kReturned), 0);
}

TEST_F(AlertPolicyTest, FailedAlertIsRetried) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kFailed, 0});
  EXPECT_EQ(Txn(1, kReturned, 0x2000).size(), 1u);
}

TEST_F(AlertPolicyTest, BelowThresholdThenAlertLater) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x1000).size(), 1u);
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kBelowThreshold, 10});
  EXPECT_TRUE(Txn(90, kReturned, 0x2000).empty());
  ASSERT_EQ(Txn(1, kReturned, 0x3000).size(), 1u);
}

TEST(ActionKindNameTest, Names) {
  EXPECT_STREQ(ActionKindName(ActionKind::kCreate), "create");
  EXPECT_STREQ(ActionKindName(ActionKind::kAlert), "alert");
}

// ---- streamed transactions (protocol v2) ----

TEST_F(PolicyTest, StreamedTransactionCountsAtStreamCommit) {
  Feed(StreamStart(900, true));
  Feed(OrdersRelation());
  EXPECT_TRUE(Rows(60, kReturned, kOrdersDefault, 900).empty());
  Feed(StreamStop());
  EXPECT_EQ(policy_.count(0, kReturned), 0);
  Feed(StreamStart(900, false));
  EXPECT_TRUE(Rows(41, kReturned, kOrdersDefault, 900).empty());
  Feed(StreamStop());
  EXPECT_EQ(policy_.count(0, kReturned), 0);
  EXPECT_TRUE(policy_.in_transaction());
  const std::vector<Decision> decisions = Feed(StreamCommit(900, 0x5000)).decisions;
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].streamed_count, 101);
  EXPECT_EQ(decisions[0].commit_lsn, Lsn(0x5000));
  EXPECT_EQ(decisions[0].commit_time, 0x5000 * 10);
  EXPECT_EQ(policy_.count(0, kReturned), 101);
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x5008));
  EXPECT_FALSE(policy_.in_transaction());
}

TEST_F(PolicyTest, StreamedSubTransactionsCommitTogetherInOneDecision) {
  Feed(OrdersRelation());
  Feed(StreamStart(900, true));
  Rows(50, kReturned, kOrdersDefault, 900);
  Rows(51, kReturned, kOrdersDefault, 901);  // a sub-transaction
  Feed(StreamStop());
  const std::vector<Decision> decisions = Feed(StreamCommit(900, 0x5000)).decisions;
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].streamed_count, 101);
}

TEST_F(PolicyTest, StreamedAbortOfTheWholeTransactionCountsNothing) {
  Feed(OrdersRelation());
  Feed(StreamStart(900, true));
  Rows(200, kReturned, kOrdersDefault, 900);
  Rows(200, kReturned, kOrdersDefault, 901);
  Feed(StreamStop());
  Feed(StreamAbort(900, 900));
  EXPECT_FALSE(policy_.in_transaction());
  EXPECT_EQ(policy_.count(0, kReturned), 0);
  EXPECT_EQ(policy_.tracked_values(), 0u);
  // Its commit can no longer come.
  FeedError(StreamCommit(900, 0x5000));
}

TEST_F(PolicyTest, SubTransactionAbortDropsOnlyThatSubTransaction) {
  Feed(OrdersRelation());
  Feed(StreamStart(900, true));
  Rows(10, kReturned, kOrdersDefault, 900);
  Rows(20, kReturned, kOrdersDefault, 901);
  Rows(40, kReturned, kOrdersDefault, 902);
  Feed(StreamStop());
  Feed(StreamAbort(900, 901));
  Feed(StreamAbort(900, 999));  // never seen: nothing to drop
  EXPECT_TRUE(policy_.in_transaction());
  Feed(StreamStart(900, false));
  Rows(5, kReturned, kOrdersDefault, 901);  // a later sub-transaction reusing nothing
  Feed(StreamStop());
  EXPECT_TRUE(Feed(StreamCommit(900, 0x5000)).decisions.empty());
  EXPECT_EQ(policy_.count(0, kReturned), 55);
}

TEST_F(PolicyTest, InterleavedStreamedAndPlainTransactions) {
  Feed(OrdersRelation());
  Feed(StreamStart(900, true));
  Rows(30, kReturned, kOrdersDefault, 900);
  Feed(StreamStop());
  Feed(StreamStart(901, true));
  Rows(80, kReturned, kOrdersDefault, 901);
  Rows(7, kLost, kOrdersDefault, 901);
  Feed(StreamStop());
  // A small transaction, sent whole, between stream blocks.
  EXPECT_TRUE(Txn(5, kReturned, 0x3000).empty());
  EXPECT_TRUE(policy_.in_transaction());  // streamed ones are still open
  Feed(StreamStart(900, false));
  Rows(10, kReturned, kOrdersDefault, 900);
  Feed(StreamStop());
  EXPECT_TRUE(Feed(StreamCommit(901, 0x4000)).decisions.empty());
  EXPECT_EQ(policy_.count(0, kReturned), 85);
  EXPECT_EQ(policy_.count(0, kLost), 7);
  const std::vector<Decision> decisions = Feed(StreamCommit(900, 0x5000)).decisions;
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].streamed_count, 125);
  EXPECT_FALSE(policy_.in_transaction());
}

TEST_F(PolicyTest, StreamProtocolViolationsAreErrors) {
  Feed(OrdersRelation());
  Feed(StreamStart(900, true));
  EXPECT_NE(FeedError(Begin(5)).find("stream block"), std::string::npos);
  EXPECT_NE(FeedError(StreamStart(901, true)).find("stream block"), std::string::npos);
  EXPECT_NE(FeedError(StreamCommit(900, 0x10)).find("inside a stream block"), std::string::npos);
  EXPECT_NE(FeedError(StreamAbort(900, 900)).find("inside a stream block"), std::string::npos);
  // Row messages inside a stream block must carry the sub-transaction's xid.
  EXPECT_NE(FeedError(Insert(kOrdersDefault, kReturned)).find("no transaction id"),
            std::string::npos);
  Feed(StreamStop());
  EXPECT_NE(FeedError(StreamStop()).find("outside a stream block"), std::string::npos);
  EXPECT_NE(FeedError(StreamStart(900, true)).find("already open"), std::string::npos);
  EXPECT_NE(FeedError(StreamStart(333, false)).find("333"), std::string::npos);
  EXPECT_NE(FeedError(StreamCommit(444, 0x10)).find("444"), std::string::npos);
  Feed(Begin(5));
  EXPECT_NE(FeedError(StreamStart(901, true)).find("inside a transaction"), std::string::npos);
  EXPECT_NE(FeedError(StreamCommit(900, 0x10)).find("inside a transaction"), std::string::npos);
}

// ---- relations ----

TEST_F(PolicyTest, UnknownRelationIsReportedAndItsInsertsIgnored) {
  PolicyOutput out = Feed(Relation(kUnrelated, "public", "customers", "status"));
  ASSERT_EQ(out.unknown_relations.size(), 1u);
  EXPECT_EQ(out.unknown_relations[0], "public.customers");
  Feed(Begin(1));
  Rows(500, kReturned, kUnrelated);
  EXPECT_TRUE(Feed(Commit(0x100)).decisions.empty());
  EXPECT_EQ(policy_.tracked_values(), 0u);
  // Reported again each time the server describes it.
  EXPECT_EQ(Feed(Relation(kUnrelated, "public", "customers", "status")).unknown_relations.size(),
            1u);
}

TEST_F(PolicyTest, RelationNameMustMatchExactly) {
  EXPECT_EQ(Feed(Relation(kUnrelated, "other", "orders_other", "status")).unknown_relations,
            std::vector<std::string>{"other.orders_other"});
  EXPECT_EQ(Feed(Relation(kUnrelated, "public", "Orders_other", "status")).unknown_relations,
            std::vector<std::string>{"public.Orders_other"});
}

TEST_F(PolicyTest, RelationWithoutTheKeyColumnIsUnknown) {
  PolicyOutput out = Feed(Relation(kOrdersDefault, "public", "orders_other", "state"));
  EXPECT_EQ(out.unknown_relations, std::vector<std::string>{"public.orders_other"});
  EXPECT_TRUE(Txn(200, kReturned, 0x100).empty());
  // Described again with the column (after ALTER TABLE): bound from now on.
  EXPECT_TRUE(Feed(OrdersRelation()).unknown_relations.empty());
  EXPECT_EQ(Txn(101, kReturned, 0x200).size(), 1u);
}

TEST_F(PolicyTest, KeyColumnPositionComesFromTheRelation) {
  pgoutput::RelationMessage relation;
  relation.relation_id = kOrdersDefault;
  relation.nspname = "public";
  relation.relname = "orders_other";
  relation.columns = {{0, "status", 25, -1}};  // a column-list publication: key only
  Feed(relation);
  Feed(Begin(1));
  pgoutput::InsertMessage insert;
  insert.relation_id = kOrdersDefault;
  insert.new_tuple.columns = {TextColumn("returned")};
  Feed(insert);
  Feed(Commit(0x100));
  EXPECT_EQ(policy_.count(0, kReturned), 1);
}

TEST_F(PolicyTest, InsertBeforeRelationIsAnError) {
  Feed(Begin(1));
  const std::string message = FeedError(Insert(kOrdersDefault, kReturned));
  EXPECT_NE(message.find("16400"), std::string::npos) << message;
  EXPECT_NE(message.find("never described"), std::string::npos) << message;
}

TEST_F(PolicyTest, InsertWithTooFewColumnsIsAnError) {
  Feed(OrdersRelation());
  Feed(Begin(1));
  pgoutput::InsertMessage insert;
  insert.relation_id = kOrdersDefault;
  insert.new_tuple.columns = {TextColumn("1")};  // key is column 1
  EXPECT_NE(FeedError(insert).find("key column"), std::string::npos);
}

TEST_F(PolicyTest, KeyNotInTextFormIsAnError) {
  Feed(OrdersRelation());
  Feed(Begin(1));
  for (auto kind :
       {pgoutput::TupleColumn::Kind::kBinary, pgoutput::TupleColumn::Kind::kUnchangedToast}) {
    pgoutput::InsertMessage insert;
    insert.relation_id = kOrdersDefault;
    insert.new_tuple.columns = {TextColumn("1"), {kind, "x"}, TextColumn("n")};
    EXPECT_NE(FeedError(insert).find("not in text form"), std::string::npos);
  }
}

// ---- transaction framing ----

TEST_F(PolicyTest, CommitWithoutBeginIsAnError) {
  EXPECT_NE(FeedError(Commit(0x100)).find("without Begin"), std::string::npos);
  EXPECT_EQ(policy_.accounted_lsn(), Lsn());
}

TEST_F(PolicyTest, BeginWhileOpenIsAnError) {
  Feed(Begin(1));
  EXPECT_NE(FeedError(Begin(2)).find("while a transaction is open"), std::string::npos);
}

TEST_F(PolicyTest, InsertOutsideATransactionIsAnError) {
  Feed(OrdersRelation());
  EXPECT_NE(FeedError(Insert(kOrdersDefault, kReturned)).find("outside any transaction"),
            std::string::npos);
  EXPECT_NE(FeedError(Truncate({kOrdersDefault})).find("outside any transaction"),
            std::string::npos);
}

TEST_F(PolicyTest, OtherMessagesAreIgnored) {
  Feed(OrdersRelation());
  // A non-transactional logical message may arrive outside a transaction.
  Feed(pgoutput::LogicalMessage{std::nullopt, 0, Lsn(0x50), "prefix", "content"});
  Feed(Begin(1));
  Feed(pgoutput::OriginMessage{Lsn(0x80), "origin"});
  Feed(pgoutput::TypeMessage{std::nullopt, 600, "public", "mood"});
  Rows(3, kReturned);
  pgoutput::UpdateMessage update;
  update.relation_id = kOrdersDefault;
  update.new_tuple.columns = {TextColumn("1"), TextColumn("lost"), TextColumn("n")};
  Feed(update);
  pgoutput::DeleteMessage del;
  del.relation_id = kOrdersDefault;
  del.old_kind = 'K';
  del.old_tuple.columns = {TextColumn("1"), TextColumn("returned"), TextColumn("n")};
  Feed(del);
  Feed(pgoutput::LogicalMessage{std::nullopt, 1, Lsn(0x90), "prefix", "content"});
  Feed(Commit(0x100));
  EXPECT_EQ(policy_.count(0, kReturned), 3);
  EXPECT_EQ(policy_.count(0, kLost), 0);
}

// ---- accounted LSN ----

TEST_F(PolicyTest, AccountedLsnFollowsCommitsAndIdleKeepalives) {
  Feed(OrdersRelation());
  EXPECT_EQ(policy_.accounted_lsn(), Lsn());
  EXPECT_FALSE(policy_.in_transaction());
  policy_.OnIdle(Lsn(0x800));
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x800));

  Feed(Begin(1));
  EXPECT_TRUE(policy_.in_transaction());
  policy_.OnIdle(Lsn(0x5000));  // a transaction is open: not idle
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x800));
  Rows(1, kReturned);
  Feed(Commit(0x1000));
  EXPECT_FALSE(policy_.in_transaction());
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x1008));  // the commit's end LSN

  policy_.OnIdle(Lsn(0x2000));
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x2000));
  policy_.OnIdle(Lsn(0x1800));  // never backwards
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x2000));
}

TEST_F(PolicyTest, AccountedLsnStartsAtTheSessionsStart) {
  policy_.ResumeFrom(Lsn(0x3000));
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x3000));
  // A streamed transaction opens before any commit or idle keepalive: the
  // position stays the start, never 0/0.
  Feed(OrdersRelation());
  Feed(StreamStart(900, true));
  Rows(5, kReturned, kOrdersDefault, 900);
  Feed(StreamStop());
  policy_.OnIdle(Lsn(0x9000));  // not idle: the streamed transaction is open
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x3000));
  Feed(StreamCommit(900, 0x4000));
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x4008));
  policy_.ResumeFrom(Lsn(0x100));  // never backwards
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x4008));
}

TEST_F(PolicyTest, IdleIsIgnoredWhileAStreamedTransactionIsOpen) {
  Feed(OrdersRelation());
  Feed(StreamStart(900, true));
  Rows(1, kReturned, kOrdersDefault, 900);
  Feed(StreamStop());
  EXPECT_TRUE(policy_.in_transaction());
  policy_.OnIdle(Lsn(0x9000));
  EXPECT_EQ(policy_.accounted_lsn(), Lsn());
  // A plain transaction committing in between does advance it.
  Txn(1, kLost, 0x3000);
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x3008));
  Feed(StreamAbort(900, 900));
  policy_.OnIdle(Lsn(0x9000));
  EXPECT_EQ(policy_.accounted_lsn(), Lsn(0x9000));
}

// ---- seeding ----

TEST_F(PolicyTest, SeedSetsTheCommittedCount) {
  Feed(OrdersRelation());
  policy_.Seed(0, kReturned, 100);
  policy_.Seed(0, KeyValue::Null(), 3);
  policy_.Seed(0, kLost, 0);         // nothing to remember
  policy_.Seed(5, kReturned, 1000);  // no such table: ignored
  EXPECT_EQ(policy_.count(0, kReturned), 100);
  EXPECT_EQ(policy_.count(0, KeyValue::Null()), 3);
  EXPECT_EQ(policy_.tracked_values(), 2u);
  const std::vector<Decision> decisions = Txn(1, kReturned, 0x100);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].streamed_count, 101);
}

// ---- rule changes ----

TEST_F(PolicyTest, SetRulesKeepsCountsByParentAndRebindsRelations) {
  Feed(OrdersRelation());
  Txn(50, kReturned, 0x100);
  // Orders moves to index 1; the server will not resend its Relation message.
  policy_.SetRules({InvoicesRule(), OrdersRule()});
  EXPECT_EQ(policy_.count(1, kReturned), 50);
  EXPECT_EQ(policy_.count(0, kReturned), 0);
  const std::vector<Decision> decisions = Txn(51, kReturned, 0x200);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].table, 1u);
  EXPECT_EQ(decisions[0].streamed_count, 101);

  // The new table's relation binds as it arrives.
  EXPECT_TRUE(Feed(InvoicesRelation()).unknown_relations.empty());
  EXPECT_EQ(Txn(11, KeyValue::Of("eu"), 0x300, kInvoicesDefault).size(), 1u);
}

TEST_F(PolicyTest, SetRulesDropsRemovedTablesAndUnbindsTheirRelations) {
  policy_.SetRules({OrdersRule(), InvoicesRule()});
  Feed(OrdersRelation());
  Feed(InvoicesRelation());
  Txn(5, kReturned, 0x100);
  Txn(5, KeyValue::Of("eu"), 0x200, kInvoicesDefault);
  policy_.SetRules({InvoicesRule()});
  EXPECT_EQ(policy_.count(0, KeyValue::Of("eu")), 5);
  EXPECT_EQ(policy_.tracked_values(), 1u);
  // Orders' DEFAULT is known but no longer bound: ignored, not an error.
  EXPECT_TRUE(Txn(500, kReturned, 0x300).empty());
  EXPECT_EQ(policy_.tracked_values(), 1u);
}

TEST_F(PolicyTest, SetRulesRebindsToAChangedDefaultPartition) {
  Feed(OrdersRelation());
  Feed(Relation(kUnrelated, "public", "orders_default", "status"));
  Txn(10, kReturned, 0x100);
  TableRule rule = OrdersRule();
  rule.default_relname = "orders_default";
  policy_.SetRules({rule});
  EXPECT_EQ(policy_.count(0, kReturned), 10);
  Txn(10, kReturned, 0x200);              // old DEFAULT: ignored now
  Txn(10, kReturned, 0x300, kUnrelated);  // new DEFAULT: counted
  EXPECT_EQ(policy_.count(0, kReturned), 20);
}

TEST_F(PolicyTest, SetRulesDuringTransactionsRemapsTheirRows) {
  Feed(OrdersRelation());
  Feed(StreamStart(900, true));
  Rows(60, kReturned, kOrdersDefault, 900);
  Feed(StreamStop());
  Feed(Begin(1));
  Rows(101, kReturned);
  policy_.SetRules({InvoicesRule(), OrdersRule()});
  const std::vector<Decision> decisions = Feed(Commit(0x100)).decisions;
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].table, 1u);
  EXPECT_EQ(policy_.count(1, kReturned), 101);
  EXPECT_TRUE(Feed(StreamCommit(900, 0x200)).decisions.empty());  // pending
  EXPECT_EQ(policy_.count(1, kReturned), 161);
}

// ---- truncate ----

TEST_F(PolicyTest, TruncateResetsCountsAtCommit) {
  Feed(OrdersRelation());
  Txn(80, kReturned, 0x100);
  Txn(20, kLost, 0x200);
  Feed(Begin(1));
  Rows(50, kReturned);  // before the TRUNCATE: gone with it
  Feed(Truncate({kOrdersDefault, kUnrelated, 12345}));
  // A non-streamed transaction reaches the stream only once it committed:
  // the reset applies at once.
  EXPECT_EQ(policy_.count(0, kReturned), 0);
  Rows(30, kReturned);
  EXPECT_TRUE(Feed(Commit(0x300)).decisions.empty());
  EXPECT_EQ(policy_.count(0, kReturned), 30);
  EXPECT_EQ(policy_.count(0, kLost), 0);
  EXPECT_EQ(policy_.tracked_values(), 1u);
}

TEST_F(PolicyTest, TruncateOfOtherRelationsKeepsCounts) {
  Feed(OrdersRelation());
  Feed(Relation(kUnrelated, "public", "customers", "status"));
  Txn(80, kReturned, 0x100);
  Feed(Begin(1));
  Feed(Truncate({kUnrelated}));
  Feed(Commit(0x200));
  EXPECT_EQ(policy_.count(0, kReturned), 80);
}

TEST_F(PolicyTest, TruncateKeepsAPendingDecisionPending) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x100).size(), 1u);
  Feed(Begin(1));
  Feed(Truncate({kOrdersDefault}));
  Feed(Commit(0x200));
  EXPECT_EQ(policy_.count(0, kReturned), 0);
  EXPECT_EQ(policy_.tracked_values(), 1u);  // still with the executor
  EXPECT_TRUE(Txn(200, kReturned, 0x300).empty());
  policy_.OnOutcome({0, kReturned, Outcome::Kind::kBelowThreshold, 0});
  EXPECT_EQ(policy_.count(0, kReturned), 200);
}

TEST_F(PolicyTest, StreamedTruncateCountsOnlyIfItsSubTransactionCommits) {
  Feed(OrdersRelation());
  Txn(80, kReturned, 0x100);
  Feed(StreamStart(900, true));
  Rows(5, kReturned, kOrdersDefault, 900);
  Feed(Truncate({kOrdersDefault}, 901));
  Rows(7, kReturned, kOrdersDefault, 901);
  Feed(StreamStop());
  Feed(StreamAbort(900, 901));  // the TRUNCATE rolled back to a savepoint
  Feed(StreamCommit(900, 0x200));
  EXPECT_EQ(policy_.count(0, kReturned), 85);

  Feed(StreamStart(910, true));
  Rows(5, kReturned, kOrdersDefault, 910);
  Feed(Truncate({kOrdersDefault}, 911));
  Rows(7, kReturned, kOrdersDefault, 911);
  Feed(StreamStop());
  Feed(StreamCommit(910, 0x300));
  // The 5 rows of the other sub-transaction are kept (they may precede the
  // TRUNCATE): an over-count, never an under-count.
  EXPECT_EQ(policy_.count(0, kReturned), 12);
}

// ---- several tables ----

TEST(PolicyTablesTest, TablesAreCountedApart) {
  Policy policy({OrdersRule(), InvoicesRule(10)});
  ASSERT_TRUE(policy.OnMessage(OrdersRelation()).ok());
  ASSERT_TRUE(policy.OnMessage(InvoicesRelation()).ok());
  ASSERT_TRUE(policy.OnMessage(Begin(1)).ok());
  for (int i = 0; i < 11; ++i) {
    ASSERT_TRUE(policy.OnMessage(Insert(kOrdersDefault, KeyValue::Of("eu"))).ok());
    ASSERT_TRUE(policy.OnMessage(Insert(kInvoicesDefault, KeyValue::Of("eu"))).ok());
  }
  Result<PolicyOutput> out = policy.OnMessage(Commit(0x100));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->decisions.size(), 1u);
  EXPECT_EQ(out->decisions[0].table, 1u);
  EXPECT_EQ(policy.count(0, KeyValue::Of("eu")), 11);
  EXPECT_EQ(policy.count(1, KeyValue::Of("eu")), 11);
  EXPECT_EQ(policy.rules().size(), 2u);
}

}  // namespace
}  // namespace partwatch::policy

// ---- bounded memory (Space-Saving floor) ----

namespace partwatch::policy {
namespace {

TableRule SmallRule(size_t capacity, int64_t threshold = 100) {
  TableRule rule = OrdersRule(threshold);
  rule.max_tracked_values = capacity;
  return rule;
}

class BoundedPolicyTest : public PolicyTest {
 protected:
  BoundedPolicyTest() : PolicyTest({SmallRule(8)}) {}
};

TEST_F(BoundedPolicyTest, DistinctValuesNeverExceedTheCapacity) {
  Feed(OrdersRelation());
  for (int t = 0; t < 50; ++t) {
    Feed(Begin(1));
    for (int i = 0; i < 10; ++i) Rows(1, KeyValue::Of("v" + std::to_string(t * 10 + i)));
    Feed(Commit(0x100 + t));
    EXPECT_LE(policy_.tracked_values(), 8u);
  }
  EXPECT_GT(policy_.floor(0), 0);  // something was evicted
}

TEST_F(BoundedPolicyTest, EvictionKeepsTheHeavyValueAndRaisesTheFloor) {
  Feed(OrdersRelation());
  Txn(50, kReturned, 0x10);
  for (int i = 0; i < 20; ++i) Txn(1, KeyValue::Of("x" + std::to_string(i)), 0x20 + i);
  EXPECT_EQ(policy_.count(0, kReturned), 50);  // never the one evicted
  EXPECT_GE(policy_.floor(0), 1);
  EXPECT_LT(policy_.floor(0), 50);
}

TEST_F(BoundedPolicyTest, AReturningValueStartsFromTheFloor) {
  Feed(OrdersRelation());
  for (int i = 0; i < 30; ++i) Txn(3, KeyValue::Of("x" + std::to_string(i)), 0x20 + i);
  const int64_t floor = policy_.floor(0);
  ASSERT_GE(floor, 3);
  // x0 was evicted long ago; seen again, it cannot be below what it may have.
  Txn(1, KeyValue::Of("x0"), 0x100);
  EXPECT_EQ(policy_.count(0, KeyValue::Of("x0")), floor + 1);
}

TEST_F(BoundedPolicyTest, PendingValuesAreNeverEvicted) {
  Feed(OrdersRelation());
  ASSERT_EQ(Txn(101, kReturned, 0x10).size(), 1u);  // now pending
  for (int i = 0; i < 200; ++i) Txn(200, KeyValue::Of("x" + std::to_string(i)), 0x20 + i);
  // It is still known as pending: no second decision, and its outcome lands.
  policy_.OnOutcome(Outcome{0, kReturned, Outcome::Kind::kBelowThreshold, 7});
  EXPECT_EQ(policy_.count(0, kReturned), 7);
}

TEST_F(BoundedPolicyTest, SeedUntrackedSetsTheFloor) {
  Feed(OrdersRelation());
  policy_.Seed(0, kReturned, 90);
  policy_.SeedUntracked(0, 40);
  EXPECT_EQ(policy_.floor(0), 40);
  Txn(1, kLost, 0x10);
  EXPECT_EQ(policy_.count(0, kLost), 41);
}

TEST_F(BoundedPolicyTest, TruncateResetsTheFloor) {
  Feed(OrdersRelation());
  for (int i = 0; i < 30; ++i) Txn(3, KeyValue::Of("x" + std::to_string(i)), 0x20 + i);
  ASSERT_GT(policy_.floor(0), 0);
  Feed(Begin(1));
  Feed(Truncate({kOrdersDefault}));
  Feed(Commit(0x200));
  EXPECT_EQ(policy_.floor(0), 0);
  EXPECT_EQ(policy_.tracked_values(), 0u);
}

TEST_F(BoundedPolicyTest, StreamedTransactionWithManyValuesKeepsAnUpperBound) {
  Feed(OrdersRelation());
  Txn(60, kReturned, 0x10);  // committed earlier: 60
  Feed(StreamStart(900, true));
  // 50 distinct values overflow the sub-transaction's 8 slots; kReturned's
  // rows in it may be evicted, so its merged count must still be >= 60 + 45.
  for (int i = 0; i < 45; ++i) Rows(1, kReturned, kOrdersDefault, 900);
  for (int i = 0; i < 50; ++i) Rows(1, KeyValue::Of("y" + std::to_string(i)), kOrdersDefault, 900);
  Feed(StreamStop());
  const PolicyOutput out = Feed(StreamCommit(900, 0x300));
  EXPECT_GE(policy_.count(0, kReturned), 105);
  ASSERT_EQ(out.decisions.size(), 1u);
  EXPECT_EQ(out.decisions[0].value, kReturned);
  EXPECT_LE(policy_.tracked_values(), 8u + 1u);
}

// Property: whatever the interleaving of values, a value whose true count
// passes the threshold is decided on at the very commit where it does (no
// missed crossing), and estimates never fall below the truth.
TEST(BoundedPolicyPropertyTest, NoCrossingIsEverMissed) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 20; ++round) {
    Policy policy({SmallRule(16, 30)});
    ASSERT_TRUE(policy.OnMessage(OrdersRelation()).ok());
    std::map<std::string, int64_t> truth;
    std::set<std::string> decided;
    // A skewed stream: a few hot values among many cold ones.
    std::discrete_distribution<int> pick({60, 40});
    for (int txn = 0; txn < 400; ++txn) {
      ASSERT_TRUE(policy.OnMessage(Begin(1)).ok());
      std::set<std::string> crossed_now;
      const int rows = 1 + static_cast<int>(rng() % 5);
      for (int r = 0; r < rows; ++r) {
        const std::string v = pick(rng) == 0 ? "hot" + std::to_string(rng() % 4)
                                             : "cold" + std::to_string(rng() % 500);
        ASSERT_TRUE(policy.OnMessage(Insert(kOrdersDefault, KeyValue::Of(v))).ok());
        if (++truth[v] == 31 && !decided.count(v)) crossed_now.insert(v);
      }
      Result<PolicyOutput> out = policy.OnMessage(Commit(0x1000 + txn));
      ASSERT_TRUE(out.ok());
      std::set<std::string> decided_now;
      for (const Decision& d : out.value().decisions) {
        decided_now.insert(*d.value.text);
        // The executor's exact count answers; the truth stays where it is.
        const int64_t exact = truth[*d.value.text];
        policy.OnOutcome(Outcome{
            0, d.value, exact > 30 ? Outcome::Kind::kDone : Outcome::Kind::kBelowThreshold, exact});
        if (exact > 30) {
          decided.insert(*d.value.text);
          truth[*d.value.text] = 0;  // moved out of DEFAULT
        }
      }
      for (const std::string& v : crossed_now) {
        EXPECT_TRUE(decided_now.count(v)) << "round " << round << " txn " << txn << ": " << v;
      }
      for (const auto& [v, n] : truth) {
        if (n > 0 && !decided.count(v) && policy.count(0, KeyValue::Of(v)) > 0) {
          EXPECT_GE(policy.count(0, KeyValue::Of(v)), n) << v;
        }
      }
      ASSERT_LE(policy.tracked_values(), 16u + 8u);  // pinned entries may exceed briefly
    }
  }
}

}  // namespace
}  // namespace partwatch::policy

namespace partwatch::policy {
namespace {

TEST_F(PolicyTest, DecisionCarriesTheCrossingTransactionsXid) {
  Feed(OrdersRelation());
  Feed(Begin(4242));
  Rows(101, kReturned);
  const PolicyOutput out = Feed(Commit(0x1000));
  ASSERT_EQ(out.decisions.size(), 1u);
  EXPECT_EQ(out.decisions[0].xid, 4242u);
}

TEST_F(PolicyTest, StreamedDecisionCarriesTheTopLevelXid) {
  Feed(OrdersRelation());
  Feed(StreamStart(900, true));
  Rows(60, kReturned, kOrdersDefault, 900);
  Rows(41, kReturned, kOrdersDefault, 901);  // a sub-transaction
  Feed(StreamStop());
  const PolicyOutput out = Feed(StreamCommit(900, 0x2000));
  ASSERT_EQ(out.decisions.size(), 1u);
  EXPECT_EQ(out.decisions[0].xid, 900u);
}

TEST_F(PolicyTest, StartUpDecisionsHaveNoXid) {
  Feed(OrdersRelation());
  policy_.Seed(0, kReturned, 500);
  const std::vector<Decision> decisions = policy_.DecideAll();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].xid, 0u);
}

}  // namespace
}  // namespace partwatch::policy

namespace partwatch::policy {
namespace {

// ---- RANGE tables: counting per bucket ----

TableRule EventsRule(int64_t threshold, std::optional<int64_t> immediate_from = std::nullopt) {
  TableRule rule = OrdersRule(threshold);
  rule.parent = "public.events";
  rule.parent_relname = "events";
  rule.default_relname = "events_default";
  rule.key_column = "day";
  RangeInterval daily;
  daily.days = 1;
  Result<Bucketer> b = Bucketer::Make(RangeKeyType::kDate, daily, std::nullopt,
                                      {"FOR VALUES FROM ('2026-11-01') TO ('2026-11-02')",
                                       "FOR VALUES FROM ('2026-11-02') TO ('2026-11-03')"});
  EXPECT_TRUE(b.ok());
  rule.bucketer = std::make_shared<const Bucketer>(std::move(b).value());
  rule.immediate_from = immediate_from;
  return rule;
}

constexpr Oid kEventsDefault = 16700;

class RangePolicyTest : public PolicyTest {
 protected:
  explicit RangePolicyTest(std::optional<int64_t> immediate_from = std::nullopt)
      : PolicyTest({EventsRule(2, immediate_from)}) {}
  void SetUp() override { Feed(Relation(kEventsDefault, "public", "events_default", "day")); }
};

TEST_F(RangePolicyTest, RowsOfOneDayCountTogetherUnderTheBucketStart) {
  // A date key's text is the day itself; three rows of one bucket cross 2.
  Feed(Begin(1));
  Rows(2, KeyValue::Of("2026-11-05"), kEventsDefault);
  Rows(1, KeyValue::Of("2026-11-06"), kEventsDefault);
  EXPECT_TRUE(Feed(Commit(0x100)).decisions.empty());
  EXPECT_EQ(policy_.count(0, KeyValue::Of("2026-11-05")), 2);
  std::vector<Decision> d = Txn(1, KeyValue::Of("2026-11-05"), 0x200, kEventsDefault);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].value, KeyValue::Of("2026-11-05"));
  EXPECT_EQ(d[0].streamed_count, 3);
}

TEST_F(RangePolicyTest, UnplaceableRowsAreNotCounted) {
  Feed(Begin(1));
  Rows(5, KeyValue::Null(), kEventsDefault);
  Rows(5, KeyValue::Of("infinity"), kEventsDefault);
  Rows(5, KeyValue::Of("2026-11-01"), kEventsDefault);  // inside a partition (a stale catalog)
  EXPECT_TRUE(Feed(Commit(0x100)).decisions.empty());
  EXPECT_EQ(policy_.tracked_values(), 0u);
}

class PartmanRangePolicyTest : public RangePolicyTest {
 protected:
  // Buckets from 2026-11-03 (the newest child's end) on have threshold 0.
  PartmanRangePolicyTest() : RangePolicyTest(EventsRule(2).bucketer->ParsePoint("2026-11-03")) {}
};

TEST_F(PartmanRangePolicyTest, RowsAfterTheNewestChildAreDecidedAtOnce) {
  std::vector<Decision> d = Txn(1, KeyValue::Of("2026-11-09"), 0x100, kEventsDefault);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].value, KeyValue::Of("2026-11-09"));
  // Before the newest child's end (a gap in the past): the threshold holds.
  EXPECT_TRUE(Txn(2, KeyValue::Of("2026-10-20"), 0x200, kEventsDefault).empty());
  EXPECT_EQ(Txn(1, KeyValue::Of("2026-10-20"), 0x300, kEventsDefault).size(), 1u);
  EXPECT_EQ(policy_.rules()[0].ThresholdFor(KeyValue::Of("2026-11-03")), 0);
  EXPECT_EQ(policy_.rules()[0].ThresholdFor(KeyValue::Of("2026-10-31")), 2);
}

}  // namespace
}  // namespace partwatch::policy
