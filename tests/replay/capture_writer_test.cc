// The capture writer and reader (src/capture/writer.h,
// src/replay/capture_source.h) on a scratch directory: round trips plain
// and compressed, the tail repair after a crash, rotation and pruning, and
// segments of two systems refused together.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "src/capture/segment_io.h"
#include "src/capture/writer.h"
#include "src/replay/capture_source.h"
#include "tests/decoder/pgoutput_encoder.h"

namespace partwatch::capture {
namespace {

namespace fs = std::filesystem;
using replay::CaptureSource;
using replay::Item;

class CaptureWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/partwatch-capture-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.dir = dir_ + "/cap";
    config_.sync_interval = std::chrono::milliseconds(0);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static replication::WalEvent Event(const pgoutput::Message& m, uint64_t lsn) {
    const std::string bytes = pgoutput::testing::Encode(m);
    replication::WalEvent ev;
    ev.kind = replication::WalEvent::Kind::kData;
    ev.wal_start = Lsn(lsn);
    ev.wal_end = Lsn(lsn + 1);
    // libpq's buffers are freed with PQfreemem, which is free().
    char* buf = static_cast<char*>(std::malloc(bytes.size() + 1));
    std::memcpy(buf, bytes.data(), bytes.size());
    ev.buffer.reset(buf);
    ev.payload_offset = 0;
    ev.payload_size = bytes.size();
    return ev;
  }
  static SessionInfo Info(const std::string& sysid = "7000000000000000001") {
    return SessionInfo{sysid, 1, "partwatch", 2, Lsn(0x100), "[]"};
  }
  // One committed transaction of `rows` inserts, then (optionally) one left open.
  void WriteSession(Writer& w, uint64_t lsn, int rows, bool leave_open) {
    pgoutput::RelationMessage rel;
    rel.relation_id = 1;
    rel.nspname = "public";
    rel.relname = "orders_other";
    rel.replica_identity = 'd';
    rel.columns = {{0, "status", 25, -1}};
    w.Append(Event(pgoutput::BeginMessage{Lsn(lsn + 100), 1, 7}, lsn));
    w.Append(Event(rel, lsn + 1));
    for (int i = 0; i < rows; ++i) {
      pgoutput::InsertMessage ins;
      ins.relation_id = 1;
      ins.new_tuple.columns = {{pgoutput::TupleColumn::Kind::kText, "x"}};
      w.Append(Event(ins, lsn + 2 + static_cast<uint64_t>(i)));
    }
    w.Append(Event(pgoutput::CommitMessage{0, Lsn(lsn + 100), Lsn(lsn + 108), 1}, lsn + 100));
    if (leave_open) {
      w.Append(Event(pgoutput::BeginMessage{Lsn(lsn + 300), 1, 8}, lsn + 200));
      pgoutput::InsertMessage ins;
      ins.relation_id = 1;
      ins.new_tuple.columns = {{pgoutput::TupleColumn::Kind::kText, "open"}};
      w.Append(Event(ins, lsn + 201));
    }
    w.Processed(Lsn(lsn + 108));
    w.Flush(true);
  }
  static std::vector<Item> ReadAll(const std::string& path) {
    CaptureSource src(path, false);
    std::vector<Item> items;
    Item item;
    while (src.Next(&item)) items.push_back(item);
    return items;
  }
  static int Inserts(const std::vector<Item>& items) {
    int n = 0;
    for (const Item& i : items)
      n += std::holds_alternative<pgoutput::InsertMessage>(i.message) ? 1 : 0;
    return n;
  }

  std::string dir_;
  CaptureConfig config_;
};

TEST_F(CaptureWriterTest, RoundTripPlainAndCompressed) {
  for (bool zstd : {false, true}) {
    config_.zstd = zstd;
    config_.dir = dir_ + (zstd ? "/z" : "/p");
    {
      Writer w(config_, Info());
      WriteSession(w, 0x1000, 50, false);
      EXPECT_EQ(w.durable(), Lsn(0x1000 + 108));
    }
    const auto segments = ListSegments(config_.dir);
    ASSERT_EQ(segments.size(), 1u);
    EXPECT_EQ(segments[0].zstd, zstd);
    const std::vector<Item> items = ReadAll(config_.dir);
    EXPECT_EQ(Inserts(items), 50);
    ASSERT_GE(items.size(), 3u);
    EXPECT_EQ(items[0].kind, Item::Kind::kTables);
    EXPECT_EQ(items[1].kind, Item::Kind::kSessionStart);
    EXPECT_EQ(items[1].lsn, Lsn(0x100));
  }
}

// A crash left a transaction half written: the next Writer cuts it off, so
// only the server's resent copy will count.
TEST_F(CaptureWriterTest, TheNextSessionCutsOffATransactionLeftOpen) {
  for (bool zstd : {false, true}) {
    config_.zstd = zstd;
    config_.dir = dir_ + (zstd ? "/z" : "/p");
    {
      Writer w(config_, Info());
      WriteSession(w, 0x1000, 10, /*leave_open=*/true);
    }
    EXPECT_EQ(Inserts(ReadAll(config_.dir)), 11);  // the open transaction's row is there
    const std::string warning = RepairNewestSegment(config_.dir);
    EXPECT_NE(warning.find("transaction"), std::string::npos) << warning;
    EXPECT_EQ(Inserts(ReadAll(config_.dir)), 10);
    EXPECT_EQ(RepairNewestSegment(config_.dir), "");  // nothing more to cut
  }
}

TEST_F(CaptureWriterTest, ATornRecordIsCutOffOnOpen) {
  {
    Writer w(config_, Info());
    WriteSession(w, 0x1000, 10, false);
  }
  const std::string seg = ListSegments(config_.dir).at(0).path;
  fs::resize_file(seg, fs::file_size(seg) - 3);
  {
    Writer w(config_, Info());  // repairs, then starts segment 2
    WriteSession(w, 0x2000, 5, false);
  }
  const std::vector<Item> items = ReadAll(config_.dir);
  // The torn last record was the Commit: the first transaction is cut whole.
  EXPECT_EQ(Inserts(items), 5);
  EXPECT_EQ(ListSegments(config_.dir).size(), 2u);
}

TEST_F(CaptureWriterTest, SegmentsRotateAndThePrunedAreTheOldest) {
  config_.segment_size = 4096;
  config_.max_size = 3 * 4096;
  {
    Writer w(config_, Info());
    for (int i = 0; i < 40; ++i) WriteSession(w, 0x10000 * static_cast<uint64_t>(i + 1), 20, false);
  }
  const auto segments = ListSegments(config_.dir);
  ASSERT_GE(segments.size(), 2u);
  uint64_t total = 0;
  for (const auto& s : segments) total += s.size;
  EXPECT_LE(total, 4u * 4096 + 8192) << segments.size() << " segments";
  EXPECT_GT(segments.front().seq, 1u);  // the first ones went
  // What is left still reads, each segment with its header.
  EXPECT_GT(Inserts(ReadAll(config_.dir)), 0);
}

TEST_F(CaptureWriterTest, CapturesOfTwoSystemsAreNotMixed) {
  {
    Writer w(config_, Info("7000000000000000001"));
    WriteSession(w, 0x1000, 1, false);
  }
  {
    Writer w(config_, Info("7999999999999999999"));
    WriteSession(w, 0x2000, 1, false);
  }
  try {
    ReadAll(config_.dir);
    FAIL() << "read segments of two systems";
  } catch (const replay::ReplayError& e) {
    EXPECT_NE(std::string(e.what()).find("7999999999999999999"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("7000000000000000001"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("capture-00000002.pwcap"), std::string::npos) << e.what();
  }
}

TEST_F(CaptureWriterTest, ADamagedSegmentNamesFileAndOffset) {
  {
    Writer w(config_, Info());
    WriteSession(w, 0x1000, 30, false);
  }
  const std::string seg = ListSegments(config_.dir).at(0).path;
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(seg) / 2));
    f.put('\x7f');
  }
  try {
    ReadAll(config_.dir);
    FAIL() << "read a damaged segment";
  } catch (const replay::ReplayError& e) {
    EXPECT_NE(std::string(e.what()).find(seg + ": offset "), std::string::npos) << e.what();
  }
  CaptureSource skipping(config_.dir, true);
  Item item;
  int inserts = 0;
  while (skipping.Next(&item))
    inserts += std::holds_alternative<pgoutput::InsertMessage>(item.message);
  EXPECT_LT(inserts, 30);
  EXPECT_EQ(skipping.skipped(), 1);
}

// Every segment of a rotated capture starts between transactions and
// repeats the relations, so each one (what pruning leaves) replays alone.
TEST_F(CaptureWriterTest, EachSegmentReplaysOnItsOwn) {
  config_.segment_size = 2048;
  {
    Writer w(config_, Info());
    pgoutput::RelationMessage rel;  // described once, as the server does
    rel.relation_id = 1;
    rel.nspname = "public";
    rel.relname = "orders_other";
    rel.replica_identity = 'd';
    rel.columns = {{0, "status", 25, -1}};
    w.Append(Event(rel, 0x100));
    for (uint64_t i = 0; i < 30; ++i) {
      const uint64_t lsn = 0x10000 * (i + 1);
      w.Append(Event(pgoutput::BeginMessage{Lsn(lsn + 100), 1, 7}, lsn));
      for (int k = 0; k < 40; ++k) {
        pgoutput::InsertMessage ins;
        ins.relation_id = 1;
        ins.new_tuple.columns = {{pgoutput::TupleColumn::Kind::kText, "x"}};
        w.Append(Event(ins, lsn + 2 + static_cast<uint64_t>(k)));
        if (k % 10 == 9) w.Flush(false);  // mid-transaction: no rotation here
      }
      w.Append(Event(pgoutput::CommitMessage{0, Lsn(lsn + 100), Lsn(lsn + 108), 1}, lsn + 100));
      w.Processed(Lsn(lsn + 108));
      w.Flush(false);
    }
  }
  const auto segments = ListSegments(config_.dir);
  ASSERT_GE(segments.size(), 5u);
  int total = 0;
  for (const auto& seg : segments) {
    std::vector<Item> items;
    ASSERT_NO_THROW(items = ReadAll(seg.path)) << seg.path;
    // Whole transactions only: 40 rows each.
    EXPECT_EQ(Inserts(items) % 40, 0) << seg.path;
    total += Inserts(items);
  }
  EXPECT_EQ(total, 30 * 40);
}

TEST_F(CaptureWriterTest, OneWriterPerDirectory) {
  Writer first(config_, Info());
  try {
    Writer second(config_, Info());
    FAIL() << "two writers on one directory";
  } catch (const CaptureError& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another partwatch"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(ListSegments(config_.dir).size(), 1u);  // the second made none
}

}  // namespace
}  // namespace partwatch::capture
