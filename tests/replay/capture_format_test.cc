// The capture format (decoder/capture.h): framing round trips, and one test
// per kind of damage: a record cut at every byte, a flipped checksum, a bad
// length, zero-filled tails, the magic.
#include "decoder/capture.h"

#include <gtest/gtest.h>

#include <string>

namespace partwatch::capture {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string ThreeRecords() {
  std::string out;
  AppendLsnRecord(RecordType::kSessionStart, Lsn(0x1000), &out);
  const std::string msg = "B\x01\x02";
  AppendMessage(Lsn(0x2000), Lsn(0x2010), Bytes(msg), &out);
  AppendRecord(RecordType::kTables, std::string_view("[]"), &out);
  return out;
}

TEST(CaptureFormatTest, RecordsRoundTrip) {
  const std::string data = ThreeRecords();
  RecordReader r(Bytes(data), /*at_end=*/true);
  Record rec;
  ASSERT_EQ(r.Next(&rec), RecordReader::Status::kRecord);
  EXPECT_EQ(rec.type, static_cast<uint8_t>(RecordType::kSessionStart));
  Lsn lsn;
  ASSERT_TRUE(ParseLsnPayload(rec.payload, &lsn));
  EXPECT_EQ(lsn, Lsn(0x1000));
  ASSERT_EQ(r.Next(&rec), RecordReader::Status::kRecord);
  Lsn start, end;
  std::span<const std::byte> msg;
  ASSERT_TRUE(ParseMessagePayload(rec.payload, &start, &end, &msg));
  EXPECT_EQ(start, Lsn(0x2000));
  EXPECT_EQ(end, Lsn(0x2010));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(msg.data()), msg.size()), "B\x01\x02");
  ASSERT_EQ(r.Next(&rec), RecordReader::Status::kRecord);
  EXPECT_EQ(rec.type, static_cast<uint8_t>(RecordType::kTables));
  EXPECT_EQ(r.Next(&rec), RecordReader::Status::kEnd);
  EXPECT_EQ(r.position(), data.size());
}

// A crash can cut the file anywhere: every cut inside the last record is a
// torn tail (at the end of the file) or "need more" (mid-read), never
// corruption, and the records before it are read.
TEST(CaptureFormatTest, TruncatedAtEveryByteOfARecordIsATornTail) {
  const std::string data = ThreeRecords();
  std::string two;
  AppendLsnRecord(RecordType::kSessionStart, Lsn(0x1000), &two);
  const std::string msg = "B\x01\x02";
  AppendMessage(Lsn(0x2000), Lsn(0x2010), Bytes(msg), &two);
  for (size_t cut = two.size() + 1; cut < data.size(); ++cut) {
    const std::string part = data.substr(0, cut);
    for (bool at_end : {true, false}) {
      RecordReader r(Bytes(part), at_end);
      Record rec;
      ASSERT_EQ(r.Next(&rec), RecordReader::Status::kRecord);
      ASSERT_EQ(r.Next(&rec), RecordReader::Status::kRecord);
      EXPECT_EQ(r.Next(&rec),
                at_end ? RecordReader::Status::kTorn : RecordReader::Status::kNeedMore)
          << "cut at " << cut;
    }
  }
}

TEST(CaptureFormatTest, FlippedBitsAreCorruptionNotATornTail) {
  const std::string data = ThreeRecords();
  // Every byte of the second record flipped in turn: the checksum covers the
  // length, type and payload; the crc itself differs from what is computed.
  std::string first;
  AppendLsnRecord(RecordType::kSessionStart, Lsn(0x1000), &first);
  const size_t second_size = kRecordHeaderSize + 16 + 3;
  for (size_t i = first.size(); i < first.size() + second_size; ++i) {
    std::string bad = data;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    RecordReader r(Bytes(bad), true);
    Record rec;
    ASSERT_EQ(r.Next(&rec), RecordReader::Status::kRecord);
    const RecordReader::Status st = r.Next(&rec);
    // Never a good record, and never mistaken for a torn tail: the header
    // check vouches for the length before it is used.
    EXPECT_EQ(st, RecordReader::Status::kCorrupt) << "flipped byte " << i << ": " << r.error();
  }
}

TEST(CaptureFormatTest, AnImpossibleLengthIsCorruptionBeforeAnyAllocation) {
  std::string data = ThreeRecords();
  // Length field of the first record: 0xFFFFFFFF.
  for (int i = 4; i < 8; ++i) data[i] = static_cast<char>(0xff);
  RecordReader r(Bytes(data), true);
  Record rec;
  EXPECT_EQ(r.Next(&rec), RecordReader::Status::kCorrupt);
  EXPECT_NE(r.error().find("header checksum"), std::string::npos) << r.error();
}

TEST(CaptureFormatTest, AZeroFilledTailIsTorn) {
  std::string data;
  AppendLsnRecord(RecordType::kIdle, Lsn(5), &data);
  data.append(4096, '\0');
  RecordReader r(Bytes(data), true);
  Record rec;
  ASSERT_EQ(r.Next(&rec), RecordReader::Status::kRecord);
  EXPECT_EQ(r.Next(&rec), RecordReader::Status::kTorn);
}

TEST(CaptureFormatTest, UnknownTypeIsCorruption) {
  std::string data;
  AppendRecord(static_cast<RecordType>(9), std::string_view("x"), &data);
  RecordReader r(Bytes(data), true);
  Record rec;
  EXPECT_EQ(r.Next(&rec), RecordReader::Status::kCorrupt);
  EXPECT_NE(r.error().find("unknown record type 9"), std::string::npos);
}

TEST(CaptureFormatTest, Magic) {
  EXPECT_TRUE(HasMagic(Bytes(std::string(kMagic) + "rest")));
  EXPECT_FALSE(HasMagic(Bytes("PWCAP2\r\n")));
  EXPECT_FALSE(HasMagic(Bytes("PWC")));
}

TEST(CaptureFormatTest, PayloadParsersCheckSizes) {
  Lsn a, b;
  std::span<const std::byte> m;
  EXPECT_FALSE(ParseMessagePayload(Bytes(std::string(15, 'x')), &a, &b, &m));
  EXPECT_FALSE(ParseLsnPayload(Bytes(std::string(7, 'x')), &a));
  EXPECT_FALSE(ParseLsnPayload(Bytes(std::string(9, 'x')), &a));
}

}  // namespace
}  // namespace partwatch::capture
