#include "decoder/pgoutput.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "decoder/byte_reader.h"
#include "tests/decoder/pgoutput_encoder.h"

#ifndef PARTWATCH_FIXTURE_DIR
#error "PARTWATCH_FIXTURE_DIR must name tests/decoder/fixtures"
#endif

namespace partwatch::pgoutput {
namespace {

using testing::AsBytes;
using testing::Encode;
using Kind = TupleColumn::Kind;

// ---------------------------------------------------------------------------
// Helpers

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads a fixture: one hex-encoded message per line.
std::vector<std::string> LoadFixture(std::string_view file) {
  const std::string path = std::string(PARTWATCH_FIXTURE_DIR) + "/" + std::string(file);
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::vector<std::string> messages;
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    std::string bytes;
    bool ok = line.size() % 2 == 0;
    for (size_t i = 0; ok && i < line.size(); i += 2) {
      const int hi = HexDigit(line[i]);
      const int lo = HexDigit(line[i + 1]);
      ok = hi >= 0 && lo >= 0;
      bytes.push_back(static_cast<char>(hi * 16 + lo));
    }
    EXPECT_TRUE(ok) << path << ":" << line_number << ": not hex";
    messages.push_back(std::move(bytes));
  }
  EXPECT_FALSE(messages.empty()) << path;
  return messages;
}

struct FixtureFile {
  const char* name;
  int proto_version;
};

constexpr FixtureFile kFixtureFiles[] = {
    {"v1_insert.hex", 1},       {"v1_update_delete.hex", 1},
    {"v1_truncate.hex", 1},     {"v1_message.hex", 1},
    {"v1_origin.hex", 1},       {"v1_toast.hex", 1},
    {"v1_binary.hex", 1},       {"v2_stream_commit.hex", 2},
    {"v2_stream_abort.hex", 2}, {"v2_sqlapi_stream_commit.hex", 2},
};

// Decodes a whole fixture with a PgOutputDecoder.  Every message must decode,
// and re-encoding it must give back the captured bytes exactly (so no field
// was skipped or altered).  Records the streamed-block state before each
// message in `in_block` when given.
std::vector<Message> DecodeFixture(std::string_view file, int proto_version,
                                   std::vector<bool>* in_block = nullptr) {
  PgOutputDecoder decoder(proto_version);
  std::vector<Message> messages;
  const std::vector<std::string> raw = LoadFixture(file);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (in_block != nullptr) in_block->push_back(decoder.in_streamed_block());
    Result<Message> result = decoder.Decode(AsBytes(raw[i]));
    if (!result.ok()) {
      ADD_FAILURE() << file << " message " << i << ": " << result.error().message;
      continue;
    }
    const std::string reencoded = Encode(result.value());
    if (reencoded != raw[i]) {  // compared as hex only on failure, for a readable diff
      EXPECT_EQ(Hex(reencoded), Hex(raw[i])) << file << " message " << i;
    }
    messages.push_back(std::move(result).value());
  }
  EXPECT_FALSE(decoder.in_streamed_block()) << file << " ends inside a streamed block";
  return messages;
}

// "Begin Relation Insert*2 Commit": message names with runs collapsed.
std::string Summary(const std::vector<Message>& messages) {
  std::string out;
  for (size_t i = 0; i < messages.size();) {
    size_t j = i;
    while (j < messages.size() && messages[j].index() == messages[i].index()) ++j;
    if (!out.empty()) out += ' ';
    out += MessageName(messages[i]);
    if (j - i > 1) out += "*" + std::to_string(j - i);
    i = j;
  }
  return out;
}

// "t:1 t:Ada n u b:0001": a tuple's columns, compactly.
std::string Describe(const TupleData& tuple) {
  std::string out;
  for (const TupleColumn& column : tuple.columns) {
    if (!out.empty()) out += ' ';
    switch (column.kind) {
      case Kind::kNull:
        out += "n";
        break;
      case Kind::kUnchangedToast:
        out += "u";
        break;
      case Kind::kText:
        out += "t:" + column.data;
        break;
      case Kind::kBinary:
        out += "b:" + Hex(column.data);
        break;
    }
  }
  return out;
}

std::vector<std::string> ColumnNames(const RelationMessage& relation) {
  std::vector<std::string> names;
  for (const RelationColumn& column : relation.columns) names.push_back(column.name);
  return names;
}

// Returns the alternative T of `message`; a wrong alternative fails the test
// (std::get throws, which GoogleTest reports).
template <typename T>
const T& As(const Message& message) {
  EXPECT_TRUE(std::holds_alternative<T>(message)) << "got " << MessageName(message);
  return std::get<T>(message);
}

// Every Begin is followed by a Commit for the same transaction: same LSN and
// time, end LSN past the commit LSN; transactions come in LSN order.
void ExpectTransactionsBracketed(const std::vector<Message>& messages) {
  const BeginMessage* open = nullptr;
  Lsn previous_end;
  int transactions = 0;
  for (const Message& message : messages) {
    if (const auto* begin = std::get_if<BeginMessage>(&message)) {
      EXPECT_EQ(open, nullptr) << "nested Begin";
      EXPECT_GT(begin->final_lsn, previous_end);
      EXPECT_NE(begin->xid, 0u);
      open = begin;
    } else if (const auto* commit = std::get_if<CommitMessage>(&message)) {
      ASSERT_NE(open, nullptr) << "Commit without Begin";
      EXPECT_EQ(commit->commit_lsn, open->final_lsn);
      EXPECT_EQ(commit->commit_time, open->commit_time);
      EXPECT_GT(commit->end_lsn, commit->commit_lsn);
      EXPECT_EQ(commit->flags, 0);
      previous_end = commit->end_lsn;
      open = nullptr;
      ++transactions;
    }
  }
  EXPECT_EQ(open, nullptr) << "Begin without Commit";
  EXPECT_GT(transactions, 0);
}

// 2024-01-02 03:04:05 UTC in microseconds since 2000-01-01.
constexpr int64_t kOriginTimestamp = (1704164645LL - 946684800LL) * 1000000LL;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kBoolOid = 16;
constexpr Oid kNumericOid = 1700;

// ---------------------------------------------------------------------------
// ByteReader

TEST(ByteReaderTest, ReadsBigEndianIntegers) {
  const std::string bytes("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f", 15);
  ByteReader in(AsBytes(bytes));
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  ASSERT_TRUE(in.ReadU8(&u8));
  ASSERT_TRUE(in.ReadU16(&u16));
  ASSERT_TRUE(in.ReadU32(&u32));
  ASSERT_TRUE(in.ReadU64(&u64));
  EXPECT_EQ(u8, 0x01);
  EXPECT_EQ(u16, 0x0203);
  EXPECT_EQ(u32, 0x04050607u);
  EXPECT_EQ(u64, 0x08090a0b0c0d0e0full);
  EXPECT_TRUE(in.empty());
}

TEST(ByteReaderTest, SignedReadsAreTwosComplement) {
  const std::string bytes(14, '\xff');
  ByteReader in(AsBytes(bytes));
  int16_t i16 = 0;
  int32_t i32 = 0;
  int64_t i64 = 0;
  ASSERT_TRUE(in.ReadI16(&i16));
  ASSERT_TRUE(in.ReadI32(&i32));
  ASSERT_TRUE(in.ReadI64(&i64));
  EXPECT_EQ(i16, -1);
  EXPECT_EQ(i32, -1);
  EXPECT_EQ(i64, -1);
}

TEST(ByteReaderTest, ShortReadFailsAndLeavesCursor) {
  const std::string bytes("\x01\x02\x03", 3);
  ByteReader in(AsBytes(bytes));
  uint8_t u8 = 0;
  ASSERT_TRUE(in.ReadU8(&u8));
  uint32_t u32 = 0xdeadbeef;
  EXPECT_FALSE(in.ReadU32(&u32));
  EXPECT_EQ(u32, 0xdeadbeefu);  // output untouched
  EXPECT_EQ(in.position(), 1u);
  EXPECT_EQ(in.remaining(), 2u);
  uint16_t u16 = 0;
  ASSERT_TRUE(in.ReadU16(&u16));
  EXPECT_EQ(u16, 0x0203);
  EXPECT_FALSE(in.ReadU8(&u8));
}

TEST(ByteReaderTest, CStringNeedsTerminator) {
  const std::string bytes("ab\0\0cd", 6);
  ByteReader in(AsBytes(bytes));
  std::string text = "x";
  ASSERT_TRUE(in.ReadCString(&text));
  EXPECT_EQ(text, "ab");
  ASSERT_TRUE(in.ReadCString(&text));
  EXPECT_EQ(text, "");
  EXPECT_FALSE(in.ReadCString(&text));
  EXPECT_EQ(in.position(), 4u);
  EXPECT_EQ(in.remaining(), 2u);
}

TEST(ByteReaderTest, ReadBytesChecksRemainingWithoutOverflow) {
  const std::string bytes("abcdef");
  ByteReader in(AsBytes(bytes));
  std::span<const std::byte> view;
  ASSERT_TRUE(in.ReadBytes(2, &view));
  EXPECT_EQ(view.data(), AsBytes(bytes).data());  // a view, not a copy
  EXPECT_FALSE(in.ReadBytes(std::numeric_limits<size_t>::max(), &view));
  EXPECT_FALSE(in.ReadBytes(5, &view));
  std::string copy;
  ASSERT_TRUE(in.ReadBytes(4, &copy));
  EXPECT_EQ(copy, "cdef");
  ASSERT_TRUE(in.ReadBytes(0, &copy));
  EXPECT_EQ(copy, "");
}

TEST(ByteReaderTest, DescribeByte) {
  EXPECT_EQ(DescribeByte('z'), "'z' (0x7a)");
  EXPECT_EQ(DescribeByte(0x00), "0x00");
  EXPECT_EQ(DescribeByte(0xff), "0xff");
}

// ---------------------------------------------------------------------------
// Round trips through the test-side encoder

// Encodes `message`, decodes it, and checks the decoded message encodes to the
// same bytes.
Message RoundTrip(const Message& message, int proto_version = 2, bool in_streamed_block = false) {
  const std::string bytes = Encode(message);
  Result<Message> decoded = DecodeMessage(AsBytes(bytes), proto_version, in_streamed_block);
  if (!decoded.ok()) {
    ADD_FAILURE() << MessageName(message) << ": " << decoded.error().message;
    return message;
  }
  EXPECT_EQ(decoded.value().index(), message.index()) << MessageName(decoded.value());
  EXPECT_EQ(Hex(Encode(decoded.value())), Hex(bytes));
  return std::move(decoded).value();
}

TupleData AllKinds() {
  TupleData tuple;
  tuple.columns = {{Kind::kText, "42"},
                   {Kind::kNull, ""},
                   {Kind::kUnchangedToast, ""},
                   {Kind::kText, ""},
                   {Kind::kBinary, std::string("\x00\xff\x00", 3)}};
  return tuple;
}

TEST(PgOutputRoundTripTest, Begin) {
  const auto m = As<BeginMessage>(
      RoundTrip(BeginMessage{Lsn(0x1122334455667788), -5, std::numeric_limits<Xid>::max()}, 1));
  EXPECT_EQ(m.final_lsn, Lsn(0x1122334455667788));
  EXPECT_EQ(m.commit_time, -5);
  EXPECT_EQ(m.xid, std::numeric_limits<Xid>::max());
}

TEST(PgOutputRoundTripTest, Commit) {
  const auto m = As<CommitMessage>(RoundTrip(CommitMessage{0, Lsn(10), Lsn(20), 30}, 1));
  EXPECT_EQ(m.commit_lsn, Lsn(10));
  EXPECT_EQ(m.end_lsn, Lsn(20));
  EXPECT_EQ(m.commit_time, 30);
}

TEST(PgOutputRoundTripTest, Origin) {
  const auto m = As<OriginMessage>(RoundTrip(OriginMessage{Lsn(7), "node-a"}, 1));
  EXPECT_EQ(m.commit_lsn, Lsn(7));
  EXPECT_EQ(m.name, "node-a");
}

TEST(PgOutputRoundTripTest, Relation) {
  RelationMessage in;
  in.relation_id = 16384;
  in.nspname = "";  // pg_catalog is sent as an empty namespace
  in.relname = "orders_other";
  in.replica_identity = 'i';
  in.columns = {{1, "id", 20, -1}, {0, "status", 1043, 36}, {0, "", 25, -1}};
  const auto m = As<RelationMessage>(RoundTrip(in, 1));
  EXPECT_FALSE(m.xid.has_value());
  EXPECT_EQ(m.relation_id, 16384u);
  EXPECT_EQ(m.relname, "orders_other");
  EXPECT_EQ(m.replica_identity, 'i');
  ASSERT_EQ(m.columns.size(), 3u);
  EXPECT_EQ(m.columns[1].name, "status");
  EXPECT_EQ(m.columns[1].type_oid, 1043u);
  EXPECT_EQ(m.columns[1].type_modifier, 36);
  EXPECT_EQ(m.columns[0].flags, 1);
}

TEST(PgOutputRoundTripTest, RelationWithoutColumns) {
  RelationMessage in;
  in.relation_id = 1;
  in.nspname = "s";
  in.relname = "t";
  in.replica_identity = 'n';
  EXPECT_TRUE(As<RelationMessage>(RoundTrip(in, 1)).columns.empty());
}

TEST(PgOutputRoundTripTest, Type) {
  const auto m = As<TypeMessage>(RoundTrip(TypeMessage{std::nullopt, 16500, "public", "mood"}, 1));
  EXPECT_EQ(m.type_oid, 16500u);
  EXPECT_EQ(m.nspname, "public");
  EXPECT_EQ(m.name, "mood");
}

TEST(PgOutputRoundTripTest, InsertWithEveryColumnKind) {
  const auto m = As<InsertMessage>(RoundTrip(InsertMessage{std::nullopt, 99, AllKinds()}, 1));
  EXPECT_EQ(m.relation_id, 99u);
  EXPECT_EQ(Describe(m.new_tuple), "t:42 n u t: b:00ff00");
}

TEST(PgOutputRoundTripTest, InsertWithNoColumns) {
  EXPECT_TRUE(As<InsertMessage>(RoundTrip(InsertMessage{std::nullopt, 1, {}}, 1))
                  .new_tuple.columns.empty());
}

TEST(PgOutputRoundTripTest, UpdateWithoutOldTuple) {
  const auto m = As<UpdateMessage>(RoundTrip(UpdateMessage{std::nullopt, 5, 0, {}, AllKinds()}, 1));
  EXPECT_EQ(m.old_kind, 0);
  EXPECT_FALSE(m.old_tuple.has_value());
  EXPECT_EQ(Describe(m.new_tuple), "t:42 n u t: b:00ff00");
}

TEST(PgOutputRoundTripTest, UpdateWithKeyAndFullOldTuple) {
  TupleData key;
  key.columns = {{Kind::kText, "1"}, {Kind::kNull, ""}};
  for (char old_kind : {'K', 'O'}) {
    const auto m =
        As<UpdateMessage>(RoundTrip(UpdateMessage{std::nullopt, 5, old_kind, key, AllKinds()}, 1));
    EXPECT_EQ(m.old_kind, old_kind);
    ASSERT_TRUE(m.old_tuple.has_value());
    EXPECT_EQ(Describe(*m.old_tuple), "t:1 n");
    EXPECT_EQ(Describe(m.new_tuple), "t:42 n u t: b:00ff00");
  }
}

TEST(PgOutputRoundTripTest, Delete) {
  for (char old_kind : {'K', 'O'}) {
    const auto m =
        As<DeleteMessage>(RoundTrip(DeleteMessage{std::nullopt, 6, old_kind, AllKinds()}, 1));
    EXPECT_EQ(m.relation_id, 6u);
    EXPECT_EQ(m.old_kind, old_kind);
    EXPECT_EQ(Describe(m.old_tuple), "t:42 n u t: b:00ff00");
  }
}

TEST(PgOutputRoundTripTest, Truncate) {
  const auto m = As<TruncateMessage>(RoundTrip(TruncateMessage{std::nullopt, 3, {1, 2, 3}}, 1));
  EXPECT_EQ(m.options, 3);
  EXPECT_EQ(m.relation_ids, (std::vector<Oid>{1, 2, 3}));
  EXPECT_TRUE(
      As<TruncateMessage>(RoundTrip(TruncateMessage{std::nullopt, 0, {}}, 1)).relation_ids.empty());
}

TEST(PgOutputRoundTripTest, LogicalMessage) {
  const std::string content("\x00payload\xff", 9);
  const auto m =
      As<LogicalMessage>(RoundTrip(LogicalMessage{std::nullopt, 1, Lsn(77), "pfx", content}, 1));
  EXPECT_EQ(m.flags, 1);
  EXPECT_EQ(m.lsn, Lsn(77));
  EXPECT_EQ(m.prefix, "pfx");
  EXPECT_EQ(m.content, content);
  EXPECT_EQ(
      As<LogicalMessage>(RoundTrip(LogicalMessage{std::nullopt, 0, Lsn(1), "", ""}, 1)).content,
      "");
}

TEST(PgOutputRoundTripTest, StreamedMessagesCarryXid) {
  constexpr Xid kXid = 0xfedcba98;
  EXPECT_EQ(
      As<RelationMessage>(
          RoundTrip(RelationMessage{kXid, 1, "public", "t", 'f', {{1, "a", 23, -1}}}, 2, true))
          .xid,
      kXid);
  EXPECT_EQ(As<TypeMessage>(RoundTrip(TypeMessage{kXid, 2, "public", "e"}, 2, true)).xid, kXid);
  EXPECT_EQ(As<InsertMessage>(RoundTrip(InsertMessage{kXid, 3, AllKinds()}, 2, true)).xid, kXid);
  EXPECT_EQ(
      As<UpdateMessage>(RoundTrip(UpdateMessage{kXid, 4, 'O', AllKinds(), AllKinds()}, 2, true))
          .xid,
      kXid);
  EXPECT_EQ(As<DeleteMessage>(RoundTrip(DeleteMessage{kXid, 5, 'K', AllKinds()}, 2, true)).xid,
            kXid);
  EXPECT_EQ(As<TruncateMessage>(RoundTrip(TruncateMessage{kXid, 1, {6}}, 2, true)).xid, kXid);
  EXPECT_EQ(As<LogicalMessage>(RoundTrip(LogicalMessage{kXid, 1, Lsn(8), "p", "c"}, 2, true)).xid,
            kXid);
}

TEST(PgOutputRoundTripTest, StreamControlMessages) {
  const auto start = As<StreamStartMessage>(RoundTrip(StreamStartMessage{700, true}));
  EXPECT_EQ(start.xid, 700u);
  EXPECT_TRUE(start.first_segment);
  EXPECT_FALSE(As<StreamStartMessage>(RoundTrip(StreamStartMessage{700, false})).first_segment);
  RoundTrip(StreamStopMessage{}, 2, /*in_streamed_block=*/true);
  const auto commit =
      As<StreamCommitMessage>(RoundTrip(StreamCommitMessage{700, 0, Lsn(100), Lsn(200), 300}));
  EXPECT_EQ(commit.xid, 700u);
  EXPECT_EQ(commit.commit_lsn, Lsn(100));
  EXPECT_EQ(commit.end_lsn, Lsn(200));
  EXPECT_EQ(commit.commit_time, 300);
  const auto abort = As<StreamAbortMessage>(RoundTrip(StreamAbortMessage{700, 701}));
  EXPECT_EQ(abort.xid, 700u);
  EXPECT_EQ(abort.subxid, 701u);
}

TEST(PgOutputTest, MessageNames) {
  EXPECT_STREQ(MessageName(BeginMessage{}), "Begin");
  EXPECT_STREQ(MessageName(CommitMessage{}), "Commit");
  EXPECT_STREQ(MessageName(OriginMessage{}), "Origin");
  EXPECT_STREQ(MessageName(RelationMessage{}), "Relation");
  EXPECT_STREQ(MessageName(TypeMessage{}), "Type");
  EXPECT_STREQ(MessageName(InsertMessage{}), "Insert");
  EXPECT_STREQ(MessageName(UpdateMessage{}), "Update");
  EXPECT_STREQ(MessageName(DeleteMessage{}), "Delete");
  EXPECT_STREQ(MessageName(TruncateMessage{}), "Truncate");
  EXPECT_STREQ(MessageName(LogicalMessage{}), "Message");
  EXPECT_STREQ(MessageName(StreamStartMessage{}), "StreamStart");
  EXPECT_STREQ(MessageName(StreamStopMessage{}), "StreamStop");
  EXPECT_STREQ(MessageName(StreamCommitMessage{}), "StreamCommit");
  EXPECT_STREQ(MessageName(StreamAbortMessage{}), "StreamAbort");
}

TEST(PgOutputTest, DecoderTracksStreamedBlock) {
  PgOutputDecoder decoder(2);
  EXPECT_FALSE(decoder.in_streamed_block());
  ASSERT_TRUE(decoder.Decode(AsBytes(Encode(StreamStartMessage{9, true}))).ok());
  EXPECT_TRUE(decoder.in_streamed_block());
  // Inside the block the insert's leading xid is read.
  const std::string insert = Encode(InsertMessage{9, 4, AllKinds()});
  Result<Message> decoded = decoder.Decode(AsBytes(insert));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(As<InsertMessage>(decoded.value()).xid, 9u);
  EXPECT_EQ(As<InsertMessage>(decoded.value()).relation_id, 4u);
  ASSERT_TRUE(decoder.Decode(AsBytes(Encode(StreamStopMessage{}))).ok());
  EXPECT_FALSE(decoder.in_streamed_block());
  ASSERT_TRUE(decoder.Decode(AsBytes(Encode(StreamCommitMessage{9, 0, Lsn(1), Lsn(2), 3}))).ok());
  EXPECT_FALSE(decoder.in_streamed_block());
}

// ---------------------------------------------------------------------------
// Golden inputs captured from PostgreSQL 15 (see fixtures/README.md)

TEST(PgOutputGoldenTest, EveryFixtureDecodesAndReencodesExactly) {
  for (const FixtureFile& file : kFixtureFiles) {
    SCOPED_TRACE(file.name);
    const std::vector<Message> messages = DecodeFixture(file.name, file.proto_version);
    EXPECT_EQ(messages.size(), LoadFixture(file.name).size());
  }
}

TEST(PgOutputGoldenTest, V1TransactionsAreBracketed) {
  for (const FixtureFile& file : kFixtureFiles) {
    if (file.proto_version != 1) continue;
    SCOPED_TRACE(file.name);
    ExpectTransactionsBracketed(DecodeFixture(file.name, 1));
  }
}

TEST(PgOutputGoldenTest, V1InsertWithTypeAndNulls) {
  const std::vector<Message> m = DecodeFixture("v1_insert.hex", 1);
  ASSERT_EQ(Summary(m), "Begin Type Relation Insert*2 Commit");
  const auto& type = As<TypeMessage>(m[1]);
  EXPECT_FALSE(type.xid.has_value());
  EXPECT_EQ(type.nspname, "public");
  EXPECT_EQ(type.name, "mood");
  const auto& relation = As<RelationMessage>(m[2]);
  EXPECT_FALSE(relation.xid.has_value());
  EXPECT_EQ(relation.nspname, "public");
  EXPECT_EQ(relation.relname, "people");
  EXPECT_EQ(relation.replica_identity, 'd');
  EXPECT_EQ(ColumnNames(relation), (std::vector<std::string>{"id", "name", "feeling", "note"}));
  ASSERT_EQ(relation.columns.size(), 4u);
  EXPECT_EQ(relation.columns[0].flags, 1);  // the primary key
  EXPECT_EQ(relation.columns[1].flags, 0);
  EXPECT_EQ(relation.columns[0].type_oid, kInt4Oid);
  EXPECT_EQ(relation.columns[1].type_oid, kTextOid);
  EXPECT_EQ(relation.columns[2].type_oid, type.type_oid);  // the enum
  EXPECT_EQ(relation.columns[3].type_modifier, -1);
  const auto& first = As<InsertMessage>(m[3]);
  EXPECT_FALSE(first.xid.has_value());
  EXPECT_EQ(first.relation_id, relation.relation_id);
  EXPECT_EQ(Describe(first.new_tuple), "t:1 t:Ada t:happy n");
  EXPECT_EQ(Describe(As<InsertMessage>(m[4]).new_tuple), "t:2 t:Grace n t:admiral");
  EXPECT_EQ(As<BeginMessage>(m[0]).final_lsn, As<CommitMessage>(m[5]).commit_lsn);
}

TEST(PgOutputGoldenTest, V1UpdateAndDeleteOldTuples) {
  const std::vector<Message> m = DecodeFixture("v1_update_delete.hex", 1);
  ASSERT_EQ(Summary(m),
            "Begin Type Relation Update Commit Begin Update Commit Begin Delete Commit "
            "Begin Relation Insert Commit Begin Update Commit Begin Delete Commit");
  const auto& people = As<RelationMessage>(m[2]);
  EXPECT_EQ(people.relname, "people");
  EXPECT_EQ(people.replica_identity, 'd');

  // Key unchanged under replica identity default: no old tuple.
  const auto& rename = As<UpdateMessage>(m[3]);
  EXPECT_EQ(rename.relation_id, people.relation_id);
  EXPECT_EQ(rename.old_kind, 0);
  EXPECT_FALSE(rename.old_tuple.has_value());
  EXPECT_EQ(Describe(rename.new_tuple), "t:1 t:Ada Lovelace t:happy n");

  // Key changed: 'K' with the old key, other columns null.
  const auto& rekey = As<UpdateMessage>(m[6]);
  EXPECT_EQ(rekey.old_kind, 'K');
  ASSERT_TRUE(rekey.old_tuple.has_value());
  EXPECT_EQ(Describe(*rekey.old_tuple), "t:2 n n n");
  EXPECT_EQ(Describe(rekey.new_tuple), "t:10 t:Grace n t:admiral");

  const auto& delete_key = As<DeleteMessage>(m[9]);
  EXPECT_EQ(delete_key.relation_id, people.relation_id);
  EXPECT_EQ(delete_key.old_kind, 'K');
  EXPECT_EQ(Describe(delete_key.old_tuple), "t:10 n n n");

  // Replica identity full: every column is part of the identity and 'O'
  // carries the whole old row.
  const auto& audit = As<RelationMessage>(m[12]);
  EXPECT_EQ(audit.relname, "audit");
  EXPECT_EQ(audit.replica_identity, 'f');
  EXPECT_EQ(ColumnNames(audit), (std::vector<std::string>{"id", "detail"}));
  for (const RelationColumn& column : audit.columns) EXPECT_EQ(column.flags, 1) << column.name;
  const auto& full_update = As<UpdateMessage>(m[16]);
  EXPECT_EQ(full_update.relation_id, audit.relation_id);
  EXPECT_EQ(full_update.old_kind, 'O');
  ASSERT_TRUE(full_update.old_tuple.has_value());
  EXPECT_EQ(Describe(*full_update.old_tuple), "t:1 t:created");
  EXPECT_EQ(Describe(full_update.new_tuple), "t:1 t:changed");
  const auto& full_delete = As<DeleteMessage>(m[19]);
  EXPECT_EQ(full_delete.old_kind, 'O');
  EXPECT_EQ(Describe(full_delete.old_tuple), "t:1 t:changed");
}

TEST(PgOutputGoldenTest, V1Truncate) {
  const std::vector<Message> m = DecodeFixture("v1_truncate.hex", 1);
  ASSERT_EQ(Summary(m),
            "Begin Relation Insert Commit Begin Relation Insert Commit "
            "Begin Relation Truncate Commit Begin Relation*2 Truncate Commit");
  const auto& parent = As<RelationMessage>(m[1]);
  const auto& child = As<RelationMessage>(m[5]);
  const auto& audit = As<RelationMessage>(m[9]);
  EXPECT_EQ(parent.relname, "parent_t");
  EXPECT_EQ(child.relname, "child_t");
  EXPECT_EQ(ColumnNames(child), (std::vector<std::string>{"id", "parent_id"}));
  EXPECT_EQ(audit.relname, "audit");

  const auto& plain = As<TruncateMessage>(m[10]);
  EXPECT_EQ(plain.options, 0);
  EXPECT_EQ(plain.relation_ids, std::vector<Oid>{audit.relation_id});

  // TRUNCATE parent_t RESTART IDENTITY CASCADE reaches child_t too.
  const auto& cascade = As<TruncateMessage>(m[15]);
  EXPECT_EQ(cascade.options, 3);  // CASCADE | RESTART IDENTITY
  EXPECT_EQ(cascade.relation_ids, (std::vector<Oid>{parent.relation_id, child.relation_id}));
}

TEST(PgOutputGoldenTest, V1LogicalMessages) {
  const std::vector<Message> m = DecodeFixture("v1_message.hex", 1);
  ASSERT_EQ(Summary(m), "Message Begin Message*2 Relation Insert Commit");
  // Non-transactional: sent at once, outside any transaction.
  const auto& loose = As<LogicalMessage>(m[0]);
  EXPECT_EQ(loose.flags, 0);
  EXPECT_EQ(loose.prefix, "partwatch");
  EXPECT_EQ(loose.content, "non-transactional hello");
  EXPECT_TRUE(loose.lsn.valid());

  const auto& begin = As<BeginMessage>(m[1]);
  const auto& text = As<LogicalMessage>(m[2]);
  EXPECT_EQ(text.flags, 1);
  EXPECT_EQ(text.prefix, "partwatch");
  EXPECT_EQ(text.content, "transactional hello");
  EXPECT_LT(text.lsn, begin.final_lsn);
  const auto& binary = As<LogicalMessage>(m[3]);
  EXPECT_EQ(binary.flags, 1);
  EXPECT_EQ(binary.prefix, "partwatch.bin");
  EXPECT_EQ(binary.content, std::string("\x00\xff\x01", 3));
  EXPECT_GT(binary.lsn, text.lsn);
  EXPECT_EQ(Describe(As<InsertMessage>(m[5]).new_tuple), "t:2 t:with message");
}

TEST(PgOutputGoldenTest, V1Origin) {
  const std::vector<Message> m = DecodeFixture("v1_origin.hex", 1);
  ASSERT_EQ(Summary(m), "Begin Origin Relation Insert Commit");
  const auto& origin = As<OriginMessage>(m[1]);
  EXPECT_EQ(origin.name, "upstream_a");
  EXPECT_EQ(origin.commit_lsn, Lsn(0xABCDEF));  // pg_replication_origin_xact_setup('0/ABCDEF')
  // The origin's timestamp becomes the commit time.
  EXPECT_EQ(As<BeginMessage>(m[0]).commit_time, kOriginTimestamp);
  EXPECT_EQ(As<CommitMessage>(m[4]).commit_time, kOriginTimestamp);
  EXPECT_EQ(Describe(As<InsertMessage>(m[3]).new_tuple), "t:3 t:from origin");
}

TEST(PgOutputGoldenTest, V1UnchangedToastAndNulls) {
  const std::vector<Message> m = DecodeFixture("v1_toast.hex", 1);
  ASSERT_EQ(Summary(m), "Begin Relation Insert Commit Begin Update Commit Begin Insert Commit");
  const auto& docs = As<RelationMessage>(m[1]);
  EXPECT_EQ(ColumnNames(docs), (std::vector<std::string>{"id", "title", "body"}));
  const auto& insert = As<InsertMessage>(m[2]);
  ASSERT_EQ(insert.new_tuple.columns.size(), 3u);
  EXPECT_EQ(insert.new_tuple.columns[2].kind, Kind::kText);
  EXPECT_EQ(insert.new_tuple.columns[2].data, std::string(3000, 'x'));
  // Only the title changed: the out-of-line body is sent as 'u'.
  const auto& update = As<UpdateMessage>(m[5]);
  EXPECT_EQ(update.relation_id, docs.relation_id);
  EXPECT_FALSE(update.old_tuple.has_value());
  EXPECT_EQ(Describe(update.new_tuple), "t:1 t:final u");
  EXPECT_EQ(Describe(As<InsertMessage>(m[8]).new_tuple), "t:2 n n");
}

TEST(PgOutputGoldenTest, V1BinaryColumns) {
  const std::vector<Message> m = DecodeFixture("v1_binary.hex", 1);
  ASSERT_EQ(Summary(m), "Begin Relation Insert Commit");
  const auto& relation = As<RelationMessage>(m[1]);
  ASSERT_EQ(relation.columns.size(), 3u);
  EXPECT_EQ(relation.columns[0].type_oid, kInt4Oid);
  EXPECT_EQ(relation.columns[1].type_oid, kNumericOid);
  EXPECT_EQ(relation.columns[2].type_oid, kBoolOid);
  // int4 7; numeric 12.5 (2 base-10000 digits, weight 0, positive, dscale 1:
  // 12 and 5000); bool true.
  EXPECT_EQ(Describe(As<InsertMessage>(m[2]).new_tuple),
            "b:00000007 b:0002000000000001000c1388 b:01");
}

// Checks the messages of one streamed transaction in `m`: each stream block
// starts with the same top-level xid, only the first block is the first
// segment, and every change inside a block carries a leading xid.  Returns
// the set of leading xids seen.
std::set<Xid> CheckStreamedTransaction(const std::vector<Message>& m, Xid* top_xid) {
  std::set<Xid> xids;
  bool in_block = false;
  int blocks = 0;
  *top_xid = 0;
  for (const Message& message : m) {
    if (const auto* start = std::get_if<StreamStartMessage>(&message)) {
      EXPECT_FALSE(in_block);
      in_block = true;
      if (blocks == 0) *top_xid = start->xid;
      EXPECT_EQ(start->xid, *top_xid);
      EXPECT_EQ(start->first_segment, blocks == 0);
      ++blocks;
    } else if (std::holds_alternative<StreamStopMessage>(message)) {
      EXPECT_TRUE(in_block);
      in_block = false;
    } else if (in_block) {
      std::optional<Xid> xid;
      std::visit(
          [&xid](const auto& change) {
            if constexpr (requires { change.xid; }) {
              if constexpr (std::is_same_v<decltype(change.xid), std::optional<Xid>>) {
                xid = change.xid;
              }
            }
          },
          message);
      EXPECT_TRUE(xid.has_value()) << MessageName(message) << " without leading xid";
      if (xid.has_value()) xids.insert(*xid);
    }
  }
  EXPECT_GT(blocks, 1);
  return xids;
}

// Ids (first column) of the inserts by `xid`.
std::vector<int> InsertedIds(const std::vector<Message>& m, Xid xid) {
  std::vector<int> ids;
  for (const Message& message : m) {
    if (const auto* insert = std::get_if<InsertMessage>(&message)) {
      if (insert->xid == xid) ids.push_back(std::stoi(insert->new_tuple.columns.at(0).data));
    }
  }
  return ids;
}

bool Consecutive(const std::vector<int>& ids, int first) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] != first + static_cast<int>(i)) return false;
  }
  return true;
}

TEST(PgOutputGoldenTest, V2StreamCommitWithSubtransactionAbort) {
  const std::vector<Message> m = DecodeFixture("v2_stream_commit.hex", 2);
  ASSERT_EQ(Summary(m),
            "StreamStart Type Relation Insert*482 StreamStop "
            "StreamStart Insert*318 Message Insert*164 StreamStop "
            "StreamStart Insert*482 StreamStop StreamAbort "
            "StreamStart Type Relation Update Delete StreamStop StreamCommit");
  Xid top = 0;
  const std::set<Xid> xids = CheckStreamedTransaction(m, &top);

  // The sub-transaction rolled back to its savepoint: its rows were streamed
  // under its own xid, then a Stream Abort names it.
  const auto& abort = As<StreamAbortMessage>(m[1455]);
  EXPECT_EQ(abort.xid, top);
  EXPECT_NE(abort.subxid, top);
  const std::vector<int> top_ids = InsertedIds(m, top);
  EXPECT_EQ(top_ids.size(), 800u);
  EXPECT_TRUE(Consecutive(top_ids, 1));
  const std::vector<int> sub_ids = InsertedIds(m, abort.subxid);
  EXPECT_EQ(sub_ids.size(), 646u);  // what was streamed before the rollback
  EXPECT_TRUE(Consecutive(sub_ids, 1001));

  const auto& relation = As<RelationMessage>(m[2]);
  EXPECT_EQ(relation.xid, top);
  EXPECT_EQ(relation.relname, "stream_t");
  EXPECT_EQ(ColumnNames(relation), (std::vector<std::string>{"id", "feeling", "pad"}));
  EXPECT_EQ(As<TypeMessage>(m[1]).name, "mood");
  EXPECT_EQ(Describe(As<InsertMessage>(m[3]).new_tuple), "t:1 t:ok n");

  const auto& message = As<LogicalMessage>(m[805]);
  EXPECT_EQ(message.xid, top);
  EXPECT_EQ(message.flags, 1);
  EXPECT_EQ(message.content, "inside stream");

  // After ROLLBACK TO the savepoint is re-established: the update and delete
  // run in a third sub-transaction, whose xid leads their messages.
  const auto& update = As<UpdateMessage>(m[1459]);
  ASSERT_TRUE(update.xid.has_value());
  EXPECT_NE(*update.xid, top);
  EXPECT_NE(*update.xid, abort.subxid);
  EXPECT_EQ(update.relation_id, relation.relation_id);
  EXPECT_FALSE(update.old_tuple.has_value());
  EXPECT_EQ(Describe(update.new_tuple), "t:1 t:happy n");
  const auto& del = As<DeleteMessage>(m[1460]);
  EXPECT_EQ(del.xid, update.xid);
  EXPECT_EQ(del.old_kind, 'K');
  EXPECT_EQ(Describe(del.old_tuple), "t:2 n n");
  EXPECT_EQ(xids, (std::set<Xid>{top, abort.subxid, *update.xid}));

  const auto& commit = As<StreamCommitMessage>(m.back());
  EXPECT_EQ(commit.xid, top);
  EXPECT_EQ(commit.flags, 0);
  EXPECT_GT(commit.end_lsn, commit.commit_lsn);
  EXPECT_GT(commit.commit_lsn, message.lsn);
}

TEST(PgOutputGoldenTest, V2StreamAbortWholeTransaction) {
  const std::vector<Message> m = DecodeFixture("v2_stream_abort.hex", 2);
  ASSERT_EQ(Summary(m), "StreamStart Type Relation Insert*456 StreamStop StreamAbort");
  const auto& start = As<StreamStartMessage>(m[0]);
  EXPECT_TRUE(start.first_segment);
  const std::vector<int> ids = InsertedIds(m, start.xid);
  EXPECT_EQ(ids.size(), 456u);
  EXPECT_TRUE(Consecutive(ids, 2001));
  EXPECT_EQ(Describe(As<InsertMessage>(m[3]).new_tuple), "t:2001 t:sad t:aborted");
  const auto& abort = As<StreamAbortMessage>(m.back());
  EXPECT_EQ(abort.xid, start.xid);
  EXPECT_EQ(abort.subxid, start.xid);  // the whole transaction
}

// Decoded after the fact through the SQL interface: the aborted
// sub-transaction's rows are never sent (PostgreSQL stops the block at its
// first change), but its Stream Abort still comes.
TEST(PgOutputGoldenTest, V2SqlApiStreamCommit) {
  const std::vector<Message> m = DecodeFixture("v2_sqlapi_stream_commit.hex", 2);
  ASSERT_EQ(Summary(m),
            "StreamStart Type Relation Insert*482 StreamStop "
            "StreamStart Insert*318 Message StreamStop StreamAbort "
            "StreamStart Type Relation Update Delete StreamStop StreamCommit");
  Xid top = 0;
  CheckStreamedTransaction(m, &top);
  const auto& abort = As<StreamAbortMessage>(m[807]);
  EXPECT_EQ(abort.xid, top);
  EXPECT_NE(abort.subxid, top);
  EXPECT_TRUE(InsertedIds(m, abort.subxid).empty());
  EXPECT_TRUE(Consecutive(InsertedIds(m, top), 1));
  EXPECT_EQ(InsertedIds(m, top).size(), 800u);
  EXPECT_EQ(As<StreamCommitMessage>(m.back()).xid, top);
}

// ---------------------------------------------------------------------------
// Corruption: one named test per kind of damage

class PgOutputCorruptionTest : public ::testing::Test {
 protected:
  // Loads message `index` of a fixture as the message to damage and checks
  // it is the expected kind.
  void Load(std::string_view file, size_t index, char tag) {
    const std::vector<std::string> messages = LoadFixture(file);
    ASSERT_LT(index, messages.size());
    message_ = messages[index];
    ASSERT_FALSE(message_.empty());
    ASSERT_EQ(message_[0], tag) << Hex(message_);
  }

  void SetByte(size_t offset, uint8_t value) {
    ASSERT_LT(offset, message_.size());
    message_[offset] = static_cast<char>(value);
  }
  void SetI16(size_t offset, int16_t value) {
    const auto bits = static_cast<uint16_t>(value);
    SetByte(offset, static_cast<uint8_t>(bits >> 8));
    SetByte(offset + 1, static_cast<uint8_t>(bits));
  }
  void SetI32(size_t offset, int32_t value) {
    const auto bits = static_cast<uint32_t>(value);
    for (int i = 0; i < 4; ++i) SetByte(offset + i, static_cast<uint8_t>(bits >> (24 - 8 * i)));
  }
  void ShrinkSize(size_t bytes) {
    ASSERT_LE(bytes, message_.size());
    message_.resize(message_.size() - bytes);
  }
  void Append(std::string_view bytes) { message_.append(bytes); }
  size_t Find(std::string_view needle) const {
    const size_t at = message_.find(needle);
    EXPECT_NE(at, std::string::npos) << needle;
    return at;
  }

  Result<Message> Decode(int proto_version, bool in_streamed_block) const {
    return DecodeMessage(AsBytes(message_), proto_version, in_streamed_block);
  }

  void ExpectError(Error::Kind kind, std::string_view text, int proto_version = 1,
                   bool in_streamed_block = false) const {
    const Result<Message> result = Decode(proto_version, in_streamed_block);
    ASSERT_FALSE(result.ok()) << "decoded as " << MessageName(result.value());
    EXPECT_EQ(result.error().message, text);
    EXPECT_EQ(result.error().kind, kind) << result.error().message;
  }
  void ExpectCorrupt(std::string_view text, int proto_version = 1,
                     bool in_streamed_block = false) const {
    ExpectError(Error::Kind::kCorrupt, text, proto_version, in_streamed_block);
  }
  void ExpectTruncated(std::string_view text, int proto_version = 1,
                       bool in_streamed_block = false) const {
    ExpectError(Error::Kind::kTruncated, text, proto_version, in_streamed_block);
  }

  std::string message_;
};

// Offsets in v1_insert.hex message 3, an Insert: tag, relation id (1..4),
// 'N' (5), column count (6..7), first column kind (8), length (9..12), value.
constexpr size_t kInsertMarker = 5;
constexpr size_t kInsertColumnCount = 6;
constexpr size_t kInsertFirstKind = 8;
constexpr size_t kInsertFirstLength = 9;

TEST_F(PgOutputCorruptionTest, TruncatedAtEveryByte) {
  size_t prefixes = 0;
  for (const FixtureFile& file : kFixtureFiles) {
    std::vector<bool> in_block;
    const std::vector<Message> decoded = DecodeFixture(file.name, file.proto_version, &in_block);
    const std::vector<std::string> raw = LoadFixture(file.name);
    ASSERT_EQ(decoded.size(), raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      const std::string expected_prefix = std::string(MessageName(decoded[i])) + ": ";
      for (size_t length = 0; length < raw[i].size(); ++length) {
        // An exact-size heap copy, so that AddressSanitizer sees any read past
        // the prefix (a std::string may have spare capacity behind it).
        const auto prefix = std::make_unique<std::byte[]>(length);
        std::memcpy(prefix.get(), raw[i].data(), length);
        const Result<Message> result = DecodeMessage(
            std::span<const std::byte>(prefix.get(), length), file.proto_version, in_block[i]);
        ++prefixes;
        ASSERT_FALSE(result.ok()) << file.name << " message " << i << " length " << length;
        ASSERT_EQ(result.error().kind, Error::Kind::kTruncated)
            << file.name << " message " << i << " length " << length << ": "
            << result.error().message;
        if (length == 0) {
          ASSERT_EQ(result.error().message, "message tag: truncated");
        } else {
          ASSERT_EQ(result.error().message.rfind(expected_prefix, 0), 0u) << result.error().message;
        }
      }
    }
  }
  EXPECT_GT(prefixes, 50000u);
}

// Any single-byte change either fails cleanly or yields a message that
// encodes back to exactly the damaged bytes (nothing silently dropped).
TEST_F(PgOutputCorruptionTest, EveryByteChangedFailsCleanlyOrReencodes) {
  for (const FixtureFile& file : kFixtureFiles) {
    std::vector<bool> in_block;
    const std::vector<Message> decoded = DecodeFixture(file.name, file.proto_version, &in_block);
    const std::vector<std::string> raw = LoadFixture(file.name);
    ASSERT_EQ(decoded.size(), raw.size());
    for (size_t i = 0; i < raw.size() && i < 40; ++i) {
      for (size_t offset = 0; offset < raw[i].size(); ++offset) {
        for (uint8_t delta : {1, 0x80, 0xff}) {
          std::string damaged = raw[i];
          damaged[offset] = static_cast<char>(static_cast<uint8_t>(damaged[offset]) + delta);
          const Result<Message> result =
              DecodeMessage(AsBytes(damaged), file.proto_version, in_block[i]);
          if (result.ok()) {
            const std::string reencoded = Encode(result.value());
            if (reencoded != damaged) {
              ASSERT_EQ(Hex(reencoded), Hex(damaged))
                  << file.name << " message " << i << " offset " << offset;
            }
          } else {
            ASSERT_FALSE(result.error().message.empty());
          }
        }
      }
    }
  }
}

TEST_F(PgOutputCorruptionTest, EmptyInput) {
  message_.clear();
  ExpectTruncated("message tag: truncated");
}

TEST_F(PgOutputCorruptionTest, BadTag) {
  Load("v1_insert.hex", 0, 'B');
  SetByte(0, 'z');
  ExpectCorrupt("unknown message tag 'z' (0x7a)");
}

TEST_F(PgOutputCorruptionTest, BadTagNotPrintable) {
  Load("v1_insert.hex", 0, 'B');
  SetByte(0, 0x01);
  ExpectCorrupt("unknown message tag 0x01");
}

// Version 3 messages (two-phase commit) are not accepted under 1 or 2.
TEST_F(PgOutputCorruptionTest, TwoPhaseTagUnderV2) {
  Load("v1_insert.hex", 0, 'B');
  SetByte(0, 'P');
  ExpectCorrupt("unknown message tag 'P' (0x50)", 2);
}

TEST_F(PgOutputCorruptionTest, UnsupportedProtoVersion) {
  Load("v1_insert.hex", 0, 'B');
  ExpectCorrupt("unsupported proto_version 3", 3);
  ExpectCorrupt("unsupported proto_version 0", 0);
}

TEST_F(PgOutputCorruptionTest, BadTupleColumnKind) {
  Load("v1_insert.hex", 3, 'I');
  SetByte(kInsertFirstKind, 'x');
  ExpectCorrupt("Insert: new tuple: column kind: unknown kind 'x' (0x78)");
}

TEST_F(PgOutputCorruptionTest, NegativeColumnLength) {
  Load("v1_insert.hex", 3, 'I');
  SetI32(kInsertFirstLength, -1);
  ExpectCorrupt("Insert: new tuple: column length: negative (-1)");
}

TEST_F(PgOutputCorruptionTest, MinimumColumnLength) {
  Load("v1_insert.hex", 3, 'I');
  SetI32(kInsertFirstLength, std::numeric_limits<int32_t>::min());
  ExpectCorrupt("Insert: new tuple: column length: negative (-2147483648)");
}

TEST_F(PgOutputCorruptionTest, ColumnLengthPastEnd) {
  Load("v1_insert.hex", 3, 'I');
  SetI32(kInsertFirstLength, 1000);
  const size_t left = message_.size() - (kInsertFirstLength + 4);
  ExpectTruncated("Insert: new tuple: column value: truncated (length 1000, " +
                  std::to_string(left) + " bytes left)");
}

TEST_F(PgOutputCorruptionTest, MaximumColumnLength) {
  Load("v1_insert.hex", 3, 'I');
  SetI32(kInsertFirstLength, std::numeric_limits<int32_t>::max());
  const size_t left = message_.size() - (kInsertFirstLength + 4);
  ExpectTruncated("Insert: new tuple: column value: truncated (length 2147483647, " +
                  std::to_string(left) + " bytes left)");
}

TEST_F(PgOutputCorruptionTest, HugeColumnCount) {
  Load("v1_insert.hex", 3, 'I');
  SetI16(kInsertColumnCount, std::numeric_limits<int16_t>::max());
  ExpectTruncated("Insert: new tuple: column kind: truncated");
}

TEST_F(PgOutputCorruptionTest, NegativeColumnCount) {
  Load("v1_insert.hex", 3, 'I');
  SetI16(kInsertColumnCount, -1);
  ExpectCorrupt("Insert: new tuple: column count: negative (-1)");
}

TEST_F(PgOutputCorruptionTest, FewerColumnsThanCountedLeaveBytes) {
  Load("v1_insert.hex", 3, 'I');
  SetI16(kInsertColumnCount, 3);  // the fourth column ('n') is left over
  ExpectCorrupt("Insert: 1 leftover byte");
}

TEST_F(PgOutputCorruptionTest, BadNewTupleMarker) {
  Load("v1_insert.hex", 3, 'I');
  SetByte(kInsertMarker, 'X');
  ExpectCorrupt("Insert: new tuple marker: expected 'N', got 'X' (0x58)");
}

// v1_update_delete.hex message 6: Update with 'K' at 5, then the old key
// tuple (count 2, 't' + length 4 + "2", three 'n'), then 'N' at 17.
TEST_F(PgOutputCorruptionTest, BadUpdateTupleMarker) {
  Load("v1_update_delete.hex", 6, 'U');
  ASSERT_EQ(message_[5], 'K');
  SetByte(5, 'Z');
  ExpectCorrupt("Update: tuple marker: expected 'K', 'O' or 'N', got 'Z' (0x5a)");
}

TEST_F(PgOutputCorruptionTest, BadUpdateNewTupleMarkerAfterOldTuple) {
  Load("v1_update_delete.hex", 6, 'U');
  ASSERT_EQ(message_[17], 'N');
  SetByte(17, 'K');
  ExpectCorrupt("Update: new tuple marker: expected 'N', got 'K' (0x4b)");
}

TEST_F(PgOutputCorruptionTest, BadDeleteOldTupleMarker) {
  Load("v1_update_delete.hex", 9, 'D');
  ASSERT_EQ(message_[5], 'K');
  SetByte(5, 'N');
  ExpectCorrupt("Delete: old tuple marker: expected 'K' or 'O', got 'N' (0x4e)");
}

// v1_insert.hex message 2: Relation "public"."people"; replica identity at 19,
// column count at 20, first column flags at 22.
TEST_F(PgOutputCorruptionTest, BadReplicaIdentity) {
  Load("v1_insert.hex", 2, 'R');
  ASSERT_EQ(message_[19], 'd');
  SetByte(19, 'x');
  ExpectCorrupt("Relation: replica identity: unknown value 'x' (0x78)");
}

TEST_F(PgOutputCorruptionTest, NegativeRelationColumnCount) {
  Load("v1_insert.hex", 2, 'R');
  SetI16(20, -2);
  ExpectCorrupt("Relation: column count: negative (-2)");
}

TEST_F(PgOutputCorruptionTest, HugeRelationColumnCount) {
  Load("v1_insert.hex", 2, 'R');
  SetI16(20, std::numeric_limits<int16_t>::max());
  ExpectTruncated("Relation: column flags: truncated");
}

TEST_F(PgOutputCorruptionTest, UnknownColumnFlags) {
  Load("v1_insert.hex", 2, 'R');
  ASSERT_EQ(message_[22], 1);
  SetByte(22, 3);
  ExpectCorrupt("Relation: column flags: unknown bits 0x02");
}

TEST_F(PgOutputCorruptionTest, MissingStringTerminator) {
  Load("v1_insert.hex", 2, 'R');
  ShrinkSize(message_.size() - (Find("note") + 2));  // ends inside "note"
  ExpectTruncated("Relation: column name: missing NUL terminator");
}

TEST_F(PgOutputCorruptionTest, MissingStringTerminatorAtEnd) {
  Load("v1_origin.hex", 1, 'O');
  ASSERT_EQ(message_.back(), '\0');
  SetByte(message_.size() - 1, 'x');
  ExpectTruncated("Origin: name: missing NUL terminator");
}

TEST_F(PgOutputCorruptionTest, LeftoverBytes) {
  Load("v1_insert.hex", 0, 'B');
  Append("abc");
  ExpectCorrupt("Begin: 3 leftover bytes");
}

TEST_F(PgOutputCorruptionTest, LeftoverByteAfterStreamStop) {
  Load("v2_stream_commit.hex", 485, 'E');
  Append(std::string(1, '\0'));
  ExpectCorrupt("StreamStop: 1 leftover byte", 2, true);
}

TEST_F(PgOutputCorruptionTest, UnknownCommitFlags) {
  Load("v1_insert.hex", 5, 'C');
  SetByte(1, 1);
  ExpectCorrupt("Commit: flags: unknown bits 0x01");
}

// v1_truncate.hex message 10: Truncate, relation count at 1, options at 5.
TEST_F(PgOutputCorruptionTest, UnknownTruncateOptions) {
  Load("v1_truncate.hex", 10, 'T');
  SetByte(5, 4);
  ExpectCorrupt("Truncate: options: unknown bits 0x04");
}

TEST_F(PgOutputCorruptionTest, HugeTruncateRelationCount) {
  Load("v1_truncate.hex", 10, 'T');
  SetI32(1, std::numeric_limits<int32_t>::max());
  ExpectTruncated("Truncate: relation id: truncated");
}

TEST_F(PgOutputCorruptionTest, NegativeTruncateRelationCount) {
  Load("v1_truncate.hex", 10, 'T');
  SetI32(1, -1);
  ExpectCorrupt("Truncate: relation count: negative (-1)");
}

// v1_message.hex message 0: Message, flags at 1, LSN at 2, "partwatch\0" at
// 10, content length at 20.
TEST_F(PgOutputCorruptionTest, UnknownLogicalMessageFlags) {
  Load("v1_message.hex", 0, 'M');
  SetByte(1, 2);
  ExpectCorrupt("Message: flags: unknown bits 0x02");
}

TEST_F(PgOutputCorruptionTest, NegativeLogicalMessageLength) {
  Load("v1_message.hex", 0, 'M');
  SetI32(20, -7);
  ExpectCorrupt("Message: content length: negative (-7)");
}

TEST_F(PgOutputCorruptionTest, LogicalMessageLengthPastEnd) {
  Load("v1_message.hex", 0, 'M');
  SetI32(20, 100);
  ExpectTruncated("Message: content: truncated (length 100, 23 bytes left)");
}

TEST_F(PgOutputCorruptionTest, StreamMessageUnderV1) {
  Load("v2_stream_commit.hex", 0, 'S');
  ExpectCorrupt("StreamStart: not allowed under proto_version 1", 1);
  Load("v2_stream_commit.hex", 485, 'E');
  ExpectCorrupt("StreamStop: not allowed under proto_version 1", 1, true);
  Load("v2_stream_commit.hex", 1455, 'A');
  ExpectCorrupt("StreamAbort: not allowed under proto_version 1", 1);
  Load("v2_stream_commit.hex", 1462, 'c');
  ExpectCorrupt("StreamCommit: not allowed under proto_version 1", 1);
}

// v2_stream_commit.hex message 0: Stream Start, xid at 1, first segment at 5.
TEST_F(PgOutputCorruptionTest, BadFirstSegment) {
  Load("v2_stream_commit.hex", 0, 'S');
  SetByte(5, 2);
  ExpectCorrupt("StreamStart: first segment: invalid value 2", 2);
}

TEST_F(PgOutputCorruptionTest, InvalidStreamXid) {
  Load("v2_stream_commit.hex", 0, 'S');
  SetI32(1, 0);
  ExpectCorrupt("StreamStart: xid: invalid transaction id 0", 2);
  Load("v2_stream_commit.hex", 1455, 'A');
  SetI32(5, 0);
  ExpectCorrupt("StreamAbort: subxid: invalid transaction id 0", 2);
  Load("v2_stream_commit.hex", 1462, 'c');
  SetI32(1, 0);
  ExpectCorrupt("StreamCommit: xid: invalid transaction id 0", 2);
}

TEST_F(PgOutputCorruptionTest, UnknownStreamCommitFlags) {
  Load("v2_stream_commit.hex", 1462, 'c');
  SetByte(5, 0x80);
  ExpectCorrupt("StreamCommit: flags: unknown bits 0x80", 2);
}

TEST_F(PgOutputCorruptionTest, StreamStartInsideStreamedBlock) {
  Load("v2_stream_commit.hex", 0, 'S');
  ExpectCorrupt("StreamStart: not allowed inside a streamed block", 2, true);
}

TEST_F(PgOutputCorruptionTest, StreamStopOutsideStreamedBlock) {
  Load("v2_stream_commit.hex", 485, 'E');
  ExpectCorrupt("StreamStop: not allowed outside a streamed block", 2, false);
}

TEST_F(PgOutputCorruptionTest, TransactionBoundaryInsideStreamedBlock) {
  Load("v1_insert.hex", 0, 'B');
  ExpectCorrupt("Begin: not allowed inside a streamed block", 2, true);
  Load("v1_insert.hex", 5, 'C');
  ExpectCorrupt("Commit: not allowed inside a streamed block", 2, true);
  Load("v2_stream_commit.hex", 1462, 'c');
  ExpectCorrupt("StreamCommit: not allowed inside a streamed block", 2, true);
  Load("v2_stream_commit.hex", 1455, 'A');
  ExpectCorrupt("StreamAbort: not allowed inside a streamed block", 2, true);
}

// A streamed change decoded as if outside a block: its xid is taken for the
// relation id and the relation id's first byte (0) for the tuple marker.
TEST_F(PgOutputCorruptionTest, StreamedInsertOutsideStreamedBlock) {
  Load("v2_stream_commit.hex", 3, 'I');
  ExpectCorrupt("Insert: new tuple marker: expected 'N', got 0x00", 2, false);
}

TEST_F(PgOutputCorruptionTest, DecoderStateUnchangedOnError) {
  const std::vector<std::string> raw = LoadFixture("v2_stream_commit.hex");
  PgOutputDecoder decoder(2);
  ASSERT_TRUE(decoder.Decode(AsBytes(raw[0])).ok());  // Stream Start
  ASSERT_TRUE(decoder.in_streamed_block());

  std::string damaged_insert = raw[3];
  damaged_insert.pop_back();
  EXPECT_FALSE(decoder.Decode(AsBytes(damaged_insert)).ok());
  EXPECT_TRUE(decoder.in_streamed_block());

  std::string damaged_stop = raw[485] + "x";
  EXPECT_FALSE(decoder.Decode(AsBytes(damaged_stop)).ok());
  EXPECT_TRUE(decoder.in_streamed_block());

  const Result<Message> insert = decoder.Decode(AsBytes(raw[3]));
  ASSERT_TRUE(insert.ok()) << insert.error().message;
  EXPECT_TRUE(As<InsertMessage>(insert.value()).xid.has_value());

  ASSERT_TRUE(decoder.Decode(AsBytes(raw[485])).ok());  // Stream Stop
  EXPECT_FALSE(decoder.in_streamed_block());

  std::string damaged_start = raw[486];
  damaged_start.resize(3);
  EXPECT_FALSE(decoder.Decode(AsBytes(damaged_start)).ok());
  EXPECT_FALSE(decoder.in_streamed_block());
}

}  // namespace
}  // namespace partwatch::pgoutput
