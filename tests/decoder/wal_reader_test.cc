// The WAL reader against segments built by tests/decoder/wal_writer.h:
// records within, across pages and across segments come back byte for
// byte; the end of WAL is told from damage; every kind of damage is an
// error naming the LSN; and mutated segments never crash the reader.
// (Real segments of a real server: tests/integration/wal_replay_test.cc.)
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "decoder/wal/crc32c.h"
#include "decoder/wal/heap_records.h"
#include "decoder/wal/reader.h"
#include "tests/decoder/wal_writer.h"

namespace partwatch::wal {
namespace {

using testing::WalWriter;
constexpr uint32_t kSeg = 1u << 20;  // the smallest segment size initdb allows

std::vector<std::byte> Bytes(size_t n, uint8_t seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::byte(static_cast<uint8_t>(seed + i * 31));
  return v;
}

struct Read {
  std::vector<Record> records;
  std::vector<std::vector<std::byte>> mains;
  std::string error;
  bool ended = false;
  std::string end_reason;
};

Read ReadAll(const std::vector<std::vector<std::byte>>& segs, uint64_t first_segno) {
  Read out;
  WalReader r;
  Record rec;
  for (size_t i = 0; i < segs.size(); ++i) {
    auto b = r.BeginSegment(segs[i], 1, first_segno + i);
    if (!b.ok()) {
      out.error = b.error().message;
      return out;
    }
    while (true) {
      auto s = r.Next(&rec);
      if (!s.ok()) {
        out.error = s.error().message;
        return out;
      }
      if (s.value() == WalReader::Step::kSegmentEnd) break;
      if (s.value() == WalReader::Step::kEndOfWal) {
        out.ended = true;
        out.end_reason = r.end_reason();
        return out;
      }
      out.records.push_back(rec);
      out.mains.emplace_back(rec.main_data.begin(), rec.main_data.end());
    }
  }
  return out;
}

TEST(Crc32cTest, KnownValueAndBothImplementationsAgree) {
  const char* check = "123456789";
  const auto bytes = std::as_bytes(std::span<const char>(check, 9));
  EXPECT_EQ(Crc32cFinish(Crc32cExtend(kCrc32cInit, bytes)), 0xE3069283u);
  EXPECT_EQ(Crc32cFinish(Crc32cExtendPortable(kCrc32cInit, bytes)), 0xE3069283u);
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    auto data = Bytes(rng() % 5000, static_cast<uint8_t>(rng()));
    const size_t cut = data.empty() ? 0 : rng() % data.size();
    const auto all = std::span<const std::byte>(data);
    const uint32_t whole = Crc32cExtend(kCrc32cInit, all);
    EXPECT_EQ(whole, Crc32cExtendPortable(kCrc32cInit, all));
    EXPECT_EQ(whole, Crc32cExtend(Crc32cExtend(kCrc32cInit, all.first(cut)), all.subspan(cut)));
  }
}

TEST(WalReaderTest, RecordsWithinAndAcrossPagesAndSegmentsComeBackWhole) {
  WalWriter w(kSeg, 3);
  std::mt19937 rng(11);
  std::vector<uint64_t> lsns;
  std::vector<std::vector<std::byte>> mains;
  const RelFileNode rnode{1663, 5, 16384};
  while (w.position() < 3 * uint64_t{kSeg} + 2 * kSeg + kSeg / 2) {
    const size_t n = rng() % 4 == 0 ? rng() % 40000 : rng() % 200;
    mains.push_back(Bytes(n, static_cast<uint8_t>(lsns.size())));
    auto data = Bytes(rng() % 100, 3);
    lsns.push_back(w.Add(kRmHeap, 0, static_cast<uint32_t>(700 + lsns.size()), mains.back(),
                         lsns.size() % 2 ? &rnode : nullptr, data));
  }
  const auto segs = w.Segments();
  ASSERT_EQ(segs.size(), 3u);
  Read got = ReadAll(segs, 3);
  ASSERT_EQ(got.error, "");
  EXPECT_TRUE(got.ended);  // zeros after the last record
  ASSERT_EQ(got.records.size(), lsns.size());
  for (size_t i = 0; i < lsns.size(); ++i) {
    EXPECT_EQ(got.records[i].lsn.value(), lsns[i]) << i;
    EXPECT_EQ(got.records[i].xid, 700 + i);
    EXPECT_EQ(got.mains[i], mains[i]) << i;
    EXPECT_EQ(got.records[i].nblocks, i % 2 ? 1 : 0);
    if (i % 2) {
      EXPECT_EQ(got.records[i].blocks[0].rnode, rnode);
    }
  }
}

TEST(WalReaderTest, ReadingFromASegmentThatBeginsInsideARecordSkipsItsRest) {
  WalWriter w(kSeg, 1);
  uint64_t crossing = 0;
  std::vector<uint64_t> after;
  while (w.position() < 2 * uint64_t{kSeg} + 100000) {
    const uint64_t lsn = w.Add(kRmXlog, 0x20, 0, Bytes(30000, 1));
    if (lsn < 2 * uint64_t{kSeg} && w.position() > 2 * uint64_t{kSeg}) crossing = lsn;
    if (lsn >= 2 * uint64_t{kSeg}) after.push_back(lsn);
  }
  ASSERT_NE(crossing, 0u);
  auto segs = w.Segments();
  Read got = ReadAll({segs[1]}, 2);
  ASSERT_EQ(got.error, "");
  ASSERT_EQ(got.records.size(), after.size());
  EXPECT_EQ(got.records.front().lsn.value(), after.front());
}

TEST(WalReaderTest, ASwitchRecordEndsItsSegment) {
  WalWriter w(kSeg, 1);
  w.Add(kRmHeap, 0, 1, Bytes(10, 0));
  w.Add(kRmXlog, 0x40, 0, {});  // XLOG_SWITCH
  w.FinishSegment();
  const uint64_t next = w.Add(kRmHeap, 0, 2, Bytes(10, 0));
  Read got = ReadAll(w.Segments(), 1);
  ASSERT_EQ(got.error, "");
  ASSERT_EQ(got.records.size(), 3u);
  EXPECT_EQ(got.records[2].lsn.value(), next);
  EXPECT_EQ(next, 2u * kSeg + kLongPageHeaderSize);
}

// 200 records; `*some_lsn` is one in the middle that sits inside one page.
std::vector<std::vector<std::byte>> Sample(uint64_t* some_lsn) {
  WalWriter w(kSeg, 1);
  *some_lsn = 0;
  for (int i = 0; i < 200; ++i) {
    const size_t n = (i % 9) * 300;
    const uint64_t lsn = w.Add(kRmHeap, 0, 5, Bytes(n, 9));
    if (i >= 100 && *some_lsn == 0 && lsn % 8192 + 24 + 2 + n < 8192) *some_lsn = lsn;
  }
  return w.Segments();
}

TEST(WalReaderTest, AFlippedByteIsAChecksumErrorNamingTheRecord) {
  uint64_t lsn = 0;
  auto segs = Sample(&lsn);
  segs[0][lsn - kSeg + 30] ^= std::byte{0x10};
  Read got = ReadAll(segs, 1);
  EXPECT_NE(got.error.find("checksum"), std::string::npos) << got.error;
  EXPECT_NE(got.error.find(Lsn(lsn).ToString()), std::string::npos) << got.error;
}

TEST(WalReaderTest, AnotherVersionsMagicIsNamed) {
  uint64_t lsn = 0;
  auto segs = Sample(&lsn);
  const uint16_t pg14 = 0xD10D;
  std::memcpy(segs[0].data(), &pg14, 2);
  Read got = ReadAll(segs, 1);
  EXPECT_NE(got.error.find("PostgreSQL 14"), std::string::npos) << got.error;
  segs = Sample(&lsn);
  std::memcpy(segs[0].data() + 8192 * 3, &pg14, 2);
  got = ReadAll(segs, 1);
  EXPECT_NE(got.error.find("at " + Lsn(kSeg + 8192 * 3).ToString()), std::string::npos)
      << got.error;
}

TEST(WalReaderTest, ABrokenPrevLinkIsAnError) {
  uint64_t lsn = 0;
  auto segs = Sample(&lsn);
  // Rewrite xl_prev of the record at `lsn` and fix its CRC: only the link is wrong.
  std::byte* rec = segs[0].data() + (lsn - kSeg);
  uint32_t tot;
  std::memcpy(&tot, rec, 4);
  const uint64_t bogus = 0x123458;
  std::memcpy(rec + 8, &bogus, 8);
  ASSERT_LT((lsn - kSeg) % 8192 + tot, 8192u) << "the sample record must sit in one page";
  const uint32_t crc = ComputeCrc(std::span<const std::byte>(rec, tot));
  std::memcpy(rec + 20, &crc, 4);
  Read got = ReadAll(segs, 1);
  EXPECT_NE(got.error.find("xl_prev"), std::string::npos) << got.error;
}

TEST(WalReaderTest, SegmentsMustFitTogether) {
  WalWriter w(kSeg, 1);
  while (w.position() < 3 * uint64_t{kSeg}) w.Add(kRmHeap, 0, 1, Bytes(3000, 1));
  auto segs = w.Segments();
  ASSERT_GE(segs.size(), 2u);
  // A gap.
  WalReader r;
  Record rec;
  ASSERT_TRUE(r.BeginSegment(segs[0], 1, 1).ok());
  while (r.Next(&rec).value() == WalReader::Step::kRecord) {
  }
  auto gap = r.BeginSegment(segs[1], 1, 3);
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.error().message.find("does not follow"), std::string::npos);
  // Another system.
  WalWriter other(kSeg, 2, 42);
  other.Add(kRmHeap, 0, 1, Bytes(10, 1));
  WalReader r2;
  ASSERT_TRUE(r2.BeginSegment(segs[0], 1, 1).ok());
  while (r2.Next(&rec).value() == WalReader::Step::kRecord) {
  }
  auto sys = r2.BeginSegment(other.Segments()[0], 1, 2);
  ASSERT_FALSE(sys.ok());
  EXPECT_NE(sys.error().message.find("system identifier 42"), std::string::npos);
  // Truncated.
  WalReader r3;
  auto cut = std::vector<std::byte>(segs[0].begin(), segs[0].begin() + kSeg / 2);
  auto t = r3.BeginSegment(cut, 1, 1);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("truncated"), std::string::npos);
  // A page of the wrong address inside a segment: the WAL ends there (a
  // recycled segment's leftovers), it is not papered over.
  auto stale = segs[0];
  const uint64_t wrong = 77 * uint64_t{kSeg};
  std::memcpy(stale.data() + 8192 * 5 + 8, &wrong, 8);
  Read got = ReadAll({stale}, 1);
  EXPECT_TRUE(got.ended);
  EXPECT_NE(got.end_reason.find("recycled"), std::string::npos);
}

// Random damage never crashes the reader nor makes it read out of bounds
// (run under ASan/UBSan in the sanitizer build): each mutant reads to an
// error or an end.
TEST(WalReaderTest, MutatedSegmentsNeverCrash) {
  WalWriter w(kSeg, 1);
  std::mt19937 rng(5);
  const RelFileNode rnode{1663, 5, 1};
  while (w.position() < uint64_t{kSeg} + kSeg / 4) {
    w.Add(static_cast<uint8_t>(rng() % 22), static_cast<uint8_t>(rng()), rng(),
          Bytes(rng() % 9000, 2), rng() % 2 ? &rnode : nullptr, Bytes(rng() % 300, 4));
  }
  const auto segs = w.Segments();
  const auto& seg = segs[0];
  int errors = 0;
  // 300 mutants in every run (a few seconds under ASan); more with
  // PARTWATCH_FUZZ_ITERATIONS for a longer soak.
  const char* env = std::getenv("PARTWATCH_FUZZ_ITERATIONS");
  const int iterations = env != nullptr ? std::atoi(env) : 300;
  for (int i = 0; i < iterations; ++i) {
    auto m = seg;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) {
      // Mostly in the written part, where damage is seen.
      const size_t at = rng() % (kSeg / 4);
      m[at] = std::byte(static_cast<uint8_t>(rng()));
    }
    Read got = ReadAll({m}, 1);
    errors += !got.error.empty();
  }
  EXPECT_GT(errors, 0);  // damage is found, not only survived
}

TEST(HeapRecordsTest, CommitRecordWithEveryPart) {
  std::vector<std::byte> main;
  auto put = [&](const auto& v) {
    const auto* b = reinterpret_cast<const std::byte*>(&v);
    main.insert(main.end(), b, b + sizeof v);
  };
  put(int64_t{123456789});                             // xact_time
  put(uint32_t{1 | 2 | 4 | 8 | 16 | 32 | 128 | 256});  // xinfo
  put(uint32_t{5});                                    // db
  put(uint32_t{1663});                                 // tablespace
  put(int32_t{2});                                     // subxacts
  put(uint32_t{801});
  put(uint32_t{802});
  put(int32_t{1});  // relfilenodes
  put(uint32_t{1663});
  put(uint32_t{5});
  put(uint32_t{16999});
  put(int32_t{1});  // dropped stats
  main.resize(main.size() + 12);
  put(int32_t{2});  // invalidations
  main.resize(main.size() + 32);
  put(uint32_t{800});  // two-phase xid
  for (char c : std::string("gid-1")) main.push_back(std::byte(c));
  main.push_back(std::byte{0});
  main.resize(main.size() + 16);  // origin
  Record r;
  r.rmid = kRmXact;
  r.info = kXactCommitPrepared | 0x80;
  r.xid = 0;
  r.main_data = main;
  auto x = ParseXact(r);
  ASSERT_TRUE(x.ok()) << x.error().message;
  EXPECT_TRUE(x->commit);
  EXPECT_TRUE(x->prepared);
  EXPECT_EQ(x->xid, 800u);
  EXPECT_EQ(x->xact_time, 123456789);
  EXPECT_EQ(x->subxacts, (std::vector<uint32_t>{801, 802}));
  ASSERT_EQ(x->dropped.size(), 1u);
  EXPECT_EQ(x->dropped[0].rel, 16999u);
  EXPECT_EQ(x->gid, "gid-1");
  // Cut anywhere: an error, never a read past the end.
  for (size_t n = 0; n + 17 < main.size(); ++n) {
    r.main_data = std::span<const std::byte>(main).first(n);
    EXPECT_FALSE(ParseXact(r).ok()) << n;
  }
}

TEST(HeapRecordsTest, MultiInsertTuplesAreShortAligned) {
  std::vector<std::byte> data;
  auto tuple = [&](std::vector<std::byte> body, uint16_t mask2) {
    if (data.size() % 2) data.push_back(std::byte{0});
    const uint16_t len = static_cast<uint16_t>(body.size());
    const uint16_t mask = 0x0002;
    const uint8_t hoff = 24;
    data.insert(data.end(), reinterpret_cast<const std::byte*>(&len),
                reinterpret_cast<const std::byte*>(&len) + 2);
    data.insert(data.end(), reinterpret_cast<const std::byte*>(&mask2),
                reinterpret_cast<const std::byte*>(&mask2) + 2);
    data.insert(data.end(), reinterpret_cast<const std::byte*>(&mask),
                reinterpret_cast<const std::byte*>(&mask) + 2);
    data.push_back(std::byte{hoff});
    data.insert(data.end(), body.begin(), body.end());
  };
  tuple(Bytes(5, 1), 3);
  tuple(Bytes(8, 2), 4);
  tuple(Bytes(1, 3), 5);
  auto t = ParseMultiInsertTuples(data, 3, Lsn(1));
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->size(), 3u);
  EXPECT_EQ(t.value()[1].infomask2, 4);
  EXPECT_EQ(std::vector<std::byte>(t.value()[1].body.begin(), t.value()[1].body.end()),
            Bytes(8, 2));
  EXPECT_FALSE(ParseMultiInsertTuples(data, 4, Lsn(1)).ok());
  EXPECT_FALSE(
      ParseMultiInsertTuples(std::span<const std::byte>(data).first(data.size() - 1), 3, Lsn(1))
          .ok());
}

}  // namespace
}  // namespace partwatch::wal
