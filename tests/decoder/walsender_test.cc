#include "decoder/walsender.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace partwatch::walsender {
namespace {

std::span<const std::byte> AsBytes(std::string_view bytes) {
  return std::as_bytes(std::span<const char>(bytes.data(), bytes.size()));
}

void Put64(std::string* out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

// Test-side encoders for what the walsender sends ("Streaming Replication
// Protocol": XLogData and Primary keepalive message).
std::string EncodeXLogData(Lsn start, Lsn end, int64_t send_time, std::string_view payload) {
  std::string out = "w";
  Put64(&out, start.value());
  Put64(&out, end.value());
  Put64(&out, static_cast<uint64_t>(send_time));
  out.append(payload);
  return out;
}

std::string EncodeKeepalive(Lsn wal_end, int64_t send_time, uint8_t reply_requested) {
  std::string out = "k";
  Put64(&out, wal_end.value());
  Put64(&out, static_cast<uint64_t>(send_time));
  out.push_back(static_cast<char>(reply_requested));
  return out;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

TEST(WalSenderTest, XLogDataRoundTrip) {
  const std::string payload("B\x00\x01\x02", 4);
  const std::string bytes =
      EncodeXLogData(Lsn(0x0102030405060708), Lsn(0x1112131415161718), -42, payload);
  const Result<CopyMessage> result = DecodeCopyMessage(AsBytes(bytes));
  ASSERT_TRUE(result.ok()) << result.error().message;
  ASSERT_TRUE(std::holds_alternative<XLogData>(result.value()));
  const XLogData& data = std::get<XLogData>(result.value());
  EXPECT_EQ(data.wal_start, Lsn(0x0102030405060708));
  EXPECT_EQ(data.wal_end, Lsn(0x1112131415161718));
  EXPECT_EQ(data.send_time, -42);
  ASSERT_EQ(data.payload.size(), payload.size());
  // The payload is a view into the input, right after the 25-byte header.
  EXPECT_EQ(static_cast<const void*>(data.payload.data()),
            static_cast<const void*>(bytes.data() + 25));
  EXPECT_EQ(std::memcmp(data.payload.data(), payload.data(), payload.size()), 0);
}

TEST(WalSenderTest, XLogDataWithEmptyPayload) {
  const std::string bytes = EncodeXLogData(Lsn(1), Lsn(2), 3, "");
  const Result<CopyMessage> result = DecodeCopyMessage(AsBytes(bytes));
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(std::get<XLogData>(result.value()).payload.empty());
}

TEST(WalSenderTest, KeepaliveRoundTrip) {
  for (uint8_t reply : {0, 1}) {
    const std::string bytes = EncodeKeepalive(Lsn(0xAB00000010ULL), 123456789, reply);
    const Result<CopyMessage> result = DecodeCopyMessage(AsBytes(bytes));
    ASSERT_TRUE(result.ok()) << result.error().message;
    ASSERT_TRUE(std::holds_alternative<PrimaryKeepalive>(result.value()));
    const PrimaryKeepalive& keepalive = std::get<PrimaryKeepalive>(result.value());
    EXPECT_EQ(keepalive.wal_end, Lsn(0xAB00000010ULL));
    EXPECT_EQ(keepalive.send_time, 123456789);
    EXPECT_EQ(keepalive.reply_requested, reply == 1);
  }
}

// Every strict prefix is "truncated", naming the message and the field.  Each
// prefix is an exact-size heap copy so AddressSanitizer sees overreads.
TEST(WalSenderTest, TruncatedAtEveryByte) {
  const std::string keepalive = EncodeKeepalive(Lsn(5), 6, 1);
  const std::string xlogdata = EncodeXLogData(Lsn(1), Lsn(2), 3, "payload");
  for (const std::string& bytes : {keepalive, xlogdata}) {
    // An XLogData is complete once its header is: the payload may be empty.
    const size_t complete_at = bytes[0] == 'w' ? 25 : bytes.size();
    for (size_t length = 0; length < complete_at; ++length) {
      const auto prefix = std::make_unique<std::byte[]>(length);
      std::memcpy(prefix.get(), bytes.data(), length);
      const Result<CopyMessage> result =
          DecodeCopyMessage(std::span<const std::byte>(prefix.get(), length));
      ASSERT_FALSE(result.ok()) << bytes[0] << " length " << length;
      EXPECT_EQ(result.error().kind, Error::Kind::kTruncated) << result.error().message;
    }
  }
}

TEST(WalSenderTest, TruncationErrorsNameTheField) {
  const std::string keepalive = EncodeKeepalive(Lsn(5), 6, 1);
  const std::string xlogdata = EncodeXLogData(Lsn(1), Lsn(2), 3, "");
  EXPECT_EQ(DecodeCopyMessage(AsBytes("")).error().message, "CopyData: message tag: truncated");
  EXPECT_EQ(DecodeCopyMessage(AsBytes(xlogdata.substr(0, 5))).error().message,
            "XLogData: wal start: truncated");
  EXPECT_EQ(DecodeCopyMessage(AsBytes(xlogdata.substr(0, 16))).error().message,
            "XLogData: wal end: truncated");
  EXPECT_EQ(DecodeCopyMessage(AsBytes(xlogdata.substr(0, 24))).error().message,
            "XLogData: send time: truncated");
  EXPECT_EQ(DecodeCopyMessage(AsBytes(keepalive.substr(0, 8))).error().message,
            "PrimaryKeepalive: wal end: truncated");
  EXPECT_EQ(DecodeCopyMessage(AsBytes(keepalive.substr(0, 9))).error().message,
            "PrimaryKeepalive: send time: truncated");
  EXPECT_EQ(DecodeCopyMessage(AsBytes(keepalive.substr(0, 17))).error().message,
            "PrimaryKeepalive: reply requested: truncated");
}

TEST(WalSenderTest, BadTag) {
  std::string bytes = EncodeKeepalive(Lsn(5), 6, 0);
  bytes[0] = 'r';  // our own status update is not something the server sends
  const Result<CopyMessage> result = DecodeCopyMessage(AsBytes(bytes));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, Error::Kind::kCorrupt);
  EXPECT_EQ(result.error().message, "CopyData: unknown message tag 'r' (0x72)");
}

TEST(WalSenderTest, KeepaliveLeftoverBytes) {
  const std::string bytes = EncodeKeepalive(Lsn(5), 6, 0) + "xy";
  const Result<CopyMessage> result = DecodeCopyMessage(AsBytes(bytes));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, Error::Kind::kCorrupt);
  EXPECT_EQ(result.error().message, "PrimaryKeepalive: 2 leftover bytes");
}

TEST(WalSenderTest, KeepaliveBadReplyRequested) {
  const std::string bytes = EncodeKeepalive(Lsn(5), 6, 2);
  const Result<CopyMessage> result = DecodeCopyMessage(AsBytes(bytes));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind, Error::Kind::kCorrupt);
  EXPECT_EQ(result.error().message, "PrimaryKeepalive: reply requested: invalid value 2");
}

TEST(WalSenderTest, StandbyStatusUpdateIsByteExact) {
  StandbyStatusUpdate update;
  update.written = Lsn(0x0000000116B3748ULL);
  update.flushed = Lsn(0x0000000116B3700ULL);
  update.applied = Lsn(0x0102030405060708ULL);
  update.send_time = 0x0A0B0C0D0E0F1011LL;
  update.reply_requested = true;
  const std::string bytes = EncodeStandbyStatusUpdate(update);
  ASSERT_EQ(bytes.size(), 34u);
  EXPECT_EQ(Hex(bytes),
            "72"                // 'r'
            "00000000116b3748"  // written
            "00000000116b3700"  // flushed
            "0102030405060708"  // applied
            "0a0b0c0d0e0f1011"  // send time
            "01");              // reply requested
  update.reply_requested = false;
  update.send_time = -1;
  const std::string second = EncodeStandbyStatusUpdate(update);
  EXPECT_EQ(Hex(second).substr(50), "ffffffffffffffff00");
}

TEST(WalSenderTest, PostgresEpoch) {
  EXPECT_EQ(UnixMicrosToPostgres(946684800LL * 1000000LL), 0);
  // 2024-01-02 03:04:05 UTC.
  EXPECT_EQ(UnixMicrosToPostgres(1704164645LL * 1000000LL), 757479845LL * 1000000LL);
}

}  // namespace
}  // namespace partwatch::walsender
