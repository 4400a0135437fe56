// ChangeTracker: which inserts count, and when.  Records are built in
// memory (the real server's records: tests/integration/wal_replay_test.cc).
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "decoder/wal/changes.h"

namespace partwatch::wal {
namespace {

constexpr RelFileNode kDefault{1663, 5, 16400};
constexpr RelFileNode kOther{1663, 5, 16500};

class ChangeTrackerTest : public ::testing::Test {
 protected:
  ChangeTrackerTest()
      : tracker_(5, {WatchedRelation{kDefault, 16390}}, [](size_t, const HeapTupleRef& t) {
          TupleDesc desc;
          desc.attributes.push_back(Attribute{-1, 'i', false, false});
          KeyRead k;
          auto d = FetchAttribute(desc, 1, t);
          if (!d.ok() || d->kind != Datum::Kind::kValue) {
            k.status = KeyRead::Status::kUnreadable;
            k.text = "bad";
            return k;
          }
          k.text.assign(reinterpret_cast<const char*>(d->bytes.data()), d->bytes.size());
          return k;
        }) {}

  template <typename T>
  static void Put(std::vector<std::byte>* v, T x) {
    const auto* b = reinterpret_cast<const std::byte*>(&x);
    v->insert(v->end(), b, b + sizeof x);
  }
  // A record kept alive by the fixture (spans point into storage_).
  Record& Make(uint8_t rmid, uint8_t info, uint32_t xid, std::vector<std::byte> main,
               const RelFileNode* rnode = nullptr, std::vector<std::byte> data = {}) {
    storage_.push_back(std::move(main));
    const auto& m = storage_.back();
    storage_.push_back(std::move(data));
    const auto& d = storage_.back();
    records_.emplace_back();
    Record& r = records_.back();
    r.lsn = Lsn(0x1000000 + 0x100 * records_.size());
    r.end = Lsn(r.lsn.value() + 0x80);
    r.rmid = rmid;
    r.info = info;
    r.xid = xid;
    r.by_id.fill(-1);
    r.main_data = m;
    if (rnode != nullptr) {
      r.nblocks = 1;
      r.blocks[0] = BlockRef{};
      r.blocks[0].rnode = *rnode;
      r.blocks[0].has_data = !d.empty();
      r.blocks[0].data = d;
      r.by_id[0] = 0;
    }
    return r;
  }
  // xl_heap_header + a one-column tuple whose text key is `key`.
  static std::vector<std::byte> Tuple(const std::string& key) {
    std::vector<std::byte> v;
    Put<uint16_t>(&v, 1);                                                 // natts
    Put<uint16_t>(&v, 0x0002);                                            // HEAP_HASVARWIDTH
    Put<uint8_t>(&v, 24);                                                 // t_hoff
    v.push_back(std::byte{0});                                            // padding up to t_hoff
    Put<uint8_t>(&v, static_cast<uint8_t>(((key.size() + 1) << 1) | 1));  // 1-byte varlena header
    for (char c : key) v.push_back(std::byte(c));
    return v;
  }
  Result<bool> Insert(uint32_t xid, const std::string& key, const RelFileNode& rel = kDefault,
                      uint8_t flags = 0, uint16_t off = 1) {
    std::vector<std::byte> main;
    Put<uint16_t>(&main, off);
    Put<uint8_t>(&main, flags);
    return tracker_.OnRecord(Make(kRmHeap, kHeapInsert, xid, main, &rel, Tuple(key)), &out_);
  }
  Result<bool> End(uint8_t op, uint32_t xid, std::vector<uint32_t> subs = {},
                   uint32_t twophase = 0) {
    std::vector<std::byte> main;
    Put<int64_t>(&main, 777);
    uint32_t xinfo = 0;
    if (!subs.empty()) xinfo |= 2;
    if (twophase) xinfo |= 16;
    Put<uint32_t>(&main, xinfo);
    if (!subs.empty()) {
      Put<int32_t>(&main, static_cast<int32_t>(subs.size()));
      for (uint32_t s : subs) Put<uint32_t>(&main, s);
    }
    if (twophase) Put<uint32_t>(&main, twophase);
    return tracker_.OnRecord(Make(kRmXact, op | 0x80, twophase ? 0 : xid, main), &out_);
  }
  std::map<std::string, int64_t> Rows() const {
    std::map<std::string, int64_t> m;
    for (const auto& r : out_.rows) m[r.value] += r.count;
    return m;
  }

  ChangeTracker tracker_;
  CommittedChanges out_;
  std::deque<std::vector<std::byte>> storage_;
  std::deque<Record> records_;
};

TEST_F(ChangeTrackerTest, RowsCountWhenTheirTransactionCommits) {
  ASSERT_FALSE(Insert(10, "a").value());
  ASSERT_FALSE(Insert(10, "a").value());
  ASSERT_FALSE(Insert(10, "b").value());
  ASSERT_FALSE(Insert(10, "x", kOther).value());  // another table's file
  auto c = End(kXactCommit, 10);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c.value());
  EXPECT_EQ(Rows(), (std::map<std::string, int64_t>{{"a", 2}, {"b", 1}}));
  EXPECT_EQ(out_.commit_time, 777);
  EXPECT_EQ(out_.xid, 10u);
  EXPECT_EQ(tracker_.unmapped().at(kOther.rel), 1);
  EXPECT_EQ(tracker_.open_transactions(), 0u);
}

TEST_F(ChangeTrackerTest, SubtransactionsCommitWithTheirParentOrAbortAlone) {
  ASSERT_TRUE(Insert(10, "top").ok());
  ASSERT_TRUE(Insert(11, "savepoint_kept").ok());
  ASSERT_TRUE(Insert(12, "savepoint_gone").ok());
  ASSERT_FALSE(End(kXactAbort, 12).value());  // ROLLBACK TO SAVEPOINT
  ASSERT_TRUE(End(kXactCommit, 10, {11}).value());
  EXPECT_EQ(Rows(), (std::map<std::string, int64_t>{{"top", 1}, {"savepoint_kept", 1}}));
  EXPECT_EQ(tracker_.stats().rows_aborted, 1);
}

TEST_F(ChangeTrackerTest, AnAbortDropsTheTransactionAndItsSubtransactions) {
  ASSERT_TRUE(Insert(20, "a").ok());
  ASSERT_TRUE(Insert(21, "b").ok());
  ASSERT_FALSE(End(kXactAbort, 20, {21}).value());
  EXPECT_EQ(tracker_.open_transactions(), 0u);
  EXPECT_EQ(tracker_.stats().rows_aborted, 2);
}

TEST_F(ChangeTrackerTest, TwoPhaseCommitsCountAtCommitPrepared) {
  ASSERT_TRUE(Insert(30, "prepared").ok());
  ASSERT_TRUE(Insert(31, "rolled_back").ok());
  // PREPARE TRANSACTION writes a record that ends nothing.
  ASSERT_FALSE(tracker_.OnRecord(Make(kRmXact, kXactPrepare, 30, {}), &out_).value());
  ASSERT_FALSE(End(kXactAbortPrepared, 0, {}, 31).value());
  ASSERT_TRUE(End(kXactCommitPrepared, 0, {}, 30).value());
  EXPECT_EQ(Rows(), (std::map<std::string, int64_t>{{"prepared", 1}}));
  EXPECT_EQ(out_.xid, 30u);
}

TEST_F(ChangeTrackerTest, TransactionsThatNeverEndedAreDroppedAtRunningXacts) {
  ASSERT_TRUE(Insert(40, "crashed").ok());
  ASSERT_TRUE(Insert(45, "still_running").ok());
  std::vector<std::byte> main;
  Put<int32_t>(&main, 1);    // xcnt
  Put<int32_t>(&main, 0);    // subxcnt
  Put<uint32_t>(&main, 0);   // overflow + padding
  Put<uint32_t>(&main, 50);  // nextXid
  Put<uint32_t>(&main, 45);  // oldestRunningXid
  Put<uint32_t>(&main, 44);  // latestCompletedXid
  Put<uint32_t>(&main, 45);
  ASSERT_TRUE(tracker_.OnRecord(Make(kRmStandby, kStandbyRunningXacts, 0, main), &out_).ok());
  EXPECT_EQ(tracker_.open_transactions(), 1u);
  EXPECT_EQ(tracker_.stats().rows_abandoned, 1);
  ASSERT_TRUE(End(kXactCommit, 45).value());
  EXPECT_EQ(Rows(), (std::map<std::string, int64_t>{{"still_running", 1}}));
}

TEST_F(ChangeTrackerTest, SpeculativeInsertsCountOnlyOnceConfirmed) {
  ASSERT_TRUE(Insert(60, "confirmed", kDefault, kInsertIsSpeculative, 1).ok());
  ASSERT_TRUE(Insert(60, "conflicted", kDefault, kInsertIsSpeculative, 2).ok());
  std::vector<std::byte> confirm;
  Put<uint16_t>(&confirm, 1);
  ASSERT_TRUE(tracker_.OnRecord(Make(kRmHeap, kHeapConfirm, 60, confirm, &kDefault), &out_).ok());
  std::vector<std::byte> del;
  Put<uint32_t>(&del, 0);  // xmax
  Put<uint16_t>(&del, 2);  // offnum
  Put<uint8_t>(&del, 0);   // infobits
  Put<uint8_t>(&del, kDeleteIsSuper);
  ASSERT_TRUE(tracker_.OnRecord(Make(kRmHeap, kHeapDelete, 60, del, &kDefault), &out_).ok());
  ASSERT_TRUE(End(kXactCommit, 60).value());
  EXPECT_EQ(Rows(), (std::map<std::string, int64_t>{{"confirmed", 1}}));
}

TEST_F(ChangeTrackerTest, ACommitThatRemovesAWatchedFileIsReported) {
  std::vector<std::byte> main;
  Put<int64_t>(&main, 5);
  Put<uint32_t>(&main, 4);  // XACT_XINFO_HAS_RELFILENODES
  Put<int32_t>(&main, 1);
  Put<uint32_t>(&main, kDefault.spc);
  Put<uint32_t>(&main, kDefault.db);
  Put<uint32_t>(&main, kDefault.rel);
  auto c = tracker_.OnRecord(Make(kRmXact, kXactCommit | 0x80, 70, main), &out_);
  ASSERT_TRUE(c.ok() && c.value());
  EXPECT_EQ(out_.files_dropped, std::vector<size_t>{0});
  EXPECT_TRUE(out_.rows.empty());
  EXPECT_EQ(tracker_.removed_files().count(kDefault.rel), 1u);
}

}  // namespace
}  // namespace partwatch::wal
