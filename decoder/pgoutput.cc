// One decoder per pgoutput message type (one struct each, pgoutput.h), all
// sharing the same bounds-checked reader: kept together so that every
// message is parsed the same way.

#include "decoder/pgoutput.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "decoder/byte_reader.h"

namespace partwatch::pgoutput {

namespace {

// Names by Message alternative, in variant order: used by MessageName() and
// as the first word of every error message.
constexpr const char* kMessageNames[] = {
    "Begin",  "Commit",   "Origin",  "Relation",    "Type",       "Insert",       "Update",
    "Delete", "Truncate", "Message", "StreamStart", "StreamStop", "StreamCommit", "StreamAbort"};
static_assert(std::size(kMessageNames) == std::variant_size_v<Message>);

template <typename T, size_t I = 0>
constexpr size_t AlternativeIndex() {
  if constexpr (std::is_same_v<T, std::variant_alternative_t<I, Message>>) {
    return I;
  } else {
    return AlternativeIndex<T, I + 1>();
  }
}

template <typename T>
constexpr const char* kNameOf = kMessageNames[AlternativeIndex<T>()];

// Protocol constants (PostgreSQL's logicalproto.h and proto.c).
constexpr int kStreamProtoVersion = 2;
constexpr uint8_t kColumnIsReplicaIdentity = 1;
constexpr uint8_t kTruncateCascade = 1;
constexpr uint8_t kTruncateRestartIdentity = 2;
constexpr uint8_t kMessageTransactional = 1;

// Smallest encodings, used to bound reservations by what the input can hold.
constexpr size_t kMinRelationColumnSize = 1 + 1 + 4 + 4;  // flags, "" name, type oid, typmod
constexpr size_t kMinTupleColumnSize = 1;                 // a kind byte

using MaybeError = std::optional<Error>;

std::string HexBits(uint8_t bits) {
  static constexpr char kHex[] = "0123456789abcdef";
  return {'0', 'x', kHex[bits >> 4], kHex[bits & 0xf]};
}

// Reads the fields of one message.  A failed read becomes an Error naming the
// message and the field: "Insert: relation id: truncated".
class FieldReader {
 public:
  FieldReader(ByteReader* in, const char* message) : in_(in), message_(message) {}

  ByteReader& in() { return *in_; }

  Error Truncated(std::string_view field, std::string_view detail = "") const {
    std::string text = Prefix(field) + "truncated";
    if (!detail.empty()) text.append(" (").append(detail).append(")");
    return Error{Error::Kind::kTruncated, std::move(text)};
  }

  Error Corrupt(std::string_view field, std::string_view detail) const {
    return Error{Error::Kind::kCorrupt, Prefix(field).append(detail)};
  }

  MaybeError ReadU8(std::string_view field, uint8_t* out) {
    return in_->ReadU8(out) ? MaybeError() : Truncated(field);
  }
  MaybeError ReadU32(std::string_view field, uint32_t* out) {
    return in_->ReadU32(out) ? MaybeError() : Truncated(field);
  }
  MaybeError ReadI16(std::string_view field, int16_t* out) {
    return in_->ReadI16(out) ? MaybeError() : Truncated(field);
  }
  MaybeError ReadI32(std::string_view field, int32_t* out) {
    return in_->ReadI32(out) ? MaybeError() : Truncated(field);
  }
  MaybeError ReadI64(std::string_view field, int64_t* out) {
    return in_->ReadI64(out) ? MaybeError() : Truncated(field);
  }
  MaybeError ReadLsn(std::string_view field, Lsn* out) {
    uint64_t value = 0;
    if (!in_->ReadU64(&value)) return Truncated(field);
    *out = Lsn(value);
    return std::nullopt;
  }
  // A missing terminator is "truncated": more bytes could still bring it.
  MaybeError ReadCString(std::string_view field, std::string* out) {
    if (!in_->ReadCString(out)) {
      return Error{Error::Kind::kTruncated, Prefix(field) + "missing NUL terminator"};
    }
    return std::nullopt;
  }
  // A length that does not fit the rest of the message is "truncated" too.
  MaybeError ReadBytes(std::string_view field, size_t n, std::string* out) {
    if (n > in_->remaining()) {
      return Truncated(field, "length " + std::to_string(n) + ", " +
                                  std::to_string(in_->remaining()) + " bytes left");
    }
    if (!in_->ReadBytes(n, out)) return Truncated(field);  // unreachable after the check
    return std::nullopt;
  }

  // Int32 length that must not be negative.
  MaybeError ReadLength(std::string_view field, size_t* out) {
    int32_t length = 0;
    if (auto error = ReadI32(field, &length)) return error;
    if (length < 0) return Corrupt(field, "negative (" + std::to_string(length) + ")");
    *out = static_cast<size_t>(length);
    return std::nullopt;
  }

  // A flags byte whose bits must all be in `known`.
  MaybeError ReadFlags(std::string_view field, uint8_t known, uint8_t* out) {
    if (auto error = ReadU8(field, out)) return error;
    const uint8_t unknown = static_cast<uint8_t>(*out & ~known);
    if (unknown != 0) return Corrupt(field, "unknown bits " + HexBits(unknown));
    return std::nullopt;
  }

  // A transaction id that must be valid (non-zero), as in stream messages.
  MaybeError ReadValidXid(std::string_view field, Xid* out) {
    if (auto error = ReadU32(field, out)) return error;
    if (*out == 0) return Corrupt(field, "invalid transaction id 0");
    return std::nullopt;
  }

  // The leading xid of a message inside a streamed block; absent outside.
  MaybeError ReadStreamXid(bool in_streamed_block, std::optional<Xid>* out) {
    if (!in_streamed_block) return std::nullopt;
    Xid xid = 0;
    if (auto error = ReadU32("xid", &xid)) return error;
    *out = xid;
    return std::nullopt;
  }

 private:
  std::string Prefix(std::string_view field) const {
    std::string text(message_);
    return text.append(": ").append(field).append(": ");
  }

  ByteReader* in_;
  const char* message_;
};

// TupleData: Int16 column count, then per column a kind byte and, for text
// and binary values, an Int32 length and the bytes.  `which` ("new tuple",
// "old tuple") prefixes the field names in errors.
MaybeError ReadTupleData(FieldReader& r, std::string_view which, TupleData* out) {
  // Field names are built only when there is an error to report.
  const auto field = [which](std::string_view name) {
    return std::string(which).append(": ").append(name);
  };
  int16_t column_count = 0;
  if (!r.in().ReadI16(&column_count)) return r.Truncated(field("column count"));
  if (column_count < 0) {
    return r.Corrupt(field("column count"), "negative (" + std::to_string(column_count) + ")");
  }
  out->columns.reserve(std::min<size_t>(static_cast<size_t>(column_count),
                                        r.in().remaining() / kMinTupleColumnSize));
  for (int i = 0; i < column_count; ++i) {
    uint8_t kind = 0;
    if (!r.in().ReadU8(&kind)) return r.Truncated(field("column kind"));
    TupleColumn column;
    switch (kind) {
      case 'n':
        column.kind = TupleColumn::Kind::kNull;
        break;
      case 'u':
        column.kind = TupleColumn::Kind::kUnchangedToast;
        break;
      case 't':
      case 'b': {
        column.kind = kind == 't' ? TupleColumn::Kind::kText : TupleColumn::Kind::kBinary;
        int32_t length = 0;
        if (!r.in().ReadI32(&length)) return r.Truncated(field("column length"));
        if (length < 0) {
          return r.Corrupt(field("column length"), "negative (" + std::to_string(length) + ")");
        }
        const size_t size = static_cast<size_t>(length);
        if (size > r.in().remaining()) {
          return r.Truncated(field("column value"), "length " + std::to_string(size) + ", " +
                                                        std::to_string(r.in().remaining()) +
                                                        " bytes left");
        }
        if (!r.in().ReadBytes(size, &column.data)) return r.Truncated(field("column value"));
        break;
      }
      default:
        return r.Corrupt(field("column kind"), "unknown kind " + DescribeByte(kind));
    }
    out->columns.push_back(std::move(column));
  }
  return std::nullopt;
}

// One decode function per message, each reading the fields in the order
// PostgreSQL's proto.c writes them.  The tag byte is already consumed.

Result<BeginMessage> DecodeBegin(FieldReader& r) {
  BeginMessage m;
  if (auto e = r.ReadLsn("final lsn", &m.final_lsn)) return *e;
  if (auto e = r.ReadI64("commit time", &m.commit_time)) return *e;
  if (auto e = r.ReadU32("xid", &m.xid)) return *e;
  return m;
}

Result<CommitMessage> DecodeCommit(FieldReader& r) {
  CommitMessage m;
  if (auto e = r.ReadFlags("flags", 0, &m.flags)) return *e;  // no flags defined
  if (auto e = r.ReadLsn("commit lsn", &m.commit_lsn)) return *e;
  if (auto e = r.ReadLsn("end lsn", &m.end_lsn)) return *e;
  if (auto e = r.ReadI64("commit time", &m.commit_time)) return *e;
  return m;
}

Result<OriginMessage> DecodeOrigin(FieldReader& r) {
  OriginMessage m;
  if (auto e = r.ReadLsn("commit lsn", &m.commit_lsn)) return *e;
  if (auto e = r.ReadCString("name", &m.name)) return *e;
  return m;
}

Result<RelationMessage> DecodeRelation(FieldReader& r, bool in_streamed_block) {
  RelationMessage m;
  if (auto e = r.ReadStreamXid(in_streamed_block, &m.xid)) return *e;
  if (auto e = r.ReadU32("relation id", &m.relation_id)) return *e;
  if (auto e = r.ReadCString("namespace", &m.nspname)) return *e;
  if (auto e = r.ReadCString("relation name", &m.relname)) return *e;
  if (auto e = r.ReadU8("replica identity", &m.replica_identity)) return *e;
  switch (m.replica_identity) {
    case 'd':  // default: the primary key
    case 'n':  // nothing
    case 'f':  // full
    case 'i':  // index
      break;
    default:
      return r.Corrupt("replica identity", "unknown value " + DescribeByte(m.replica_identity));
  }
  int16_t column_count = 0;
  if (auto e = r.ReadI16("column count", &column_count)) return *e;
  if (column_count < 0) {
    return r.Corrupt("column count", "negative (" + std::to_string(column_count) + ")");
  }
  m.columns.reserve(std::min<size_t>(static_cast<size_t>(column_count),
                                     r.in().remaining() / kMinRelationColumnSize));
  for (int i = 0; i < column_count; ++i) {
    RelationColumn column;
    if (auto e = r.ReadFlags("column flags", kColumnIsReplicaIdentity, &column.flags)) return *e;
    if (auto e = r.ReadCString("column name", &column.name)) return *e;
    if (auto e = r.ReadU32("column type oid", &column.type_oid)) return *e;
    if (auto e = r.ReadI32("column type modifier", &column.type_modifier)) return *e;
    m.columns.push_back(std::move(column));
  }
  return m;
}

Result<TypeMessage> DecodeType(FieldReader& r, bool in_streamed_block) {
  TypeMessage m;
  if (auto e = r.ReadStreamXid(in_streamed_block, &m.xid)) return *e;
  if (auto e = r.ReadU32("type oid", &m.type_oid)) return *e;
  if (auto e = r.ReadCString("namespace", &m.nspname)) return *e;
  if (auto e = r.ReadCString("type name", &m.name)) return *e;
  return m;
}

Result<InsertMessage> DecodeInsert(FieldReader& r, bool in_streamed_block) {
  InsertMessage m;
  if (auto e = r.ReadStreamXid(in_streamed_block, &m.xid)) return *e;
  if (auto e = r.ReadU32("relation id", &m.relation_id)) return *e;
  uint8_t marker = 0;
  if (auto e = r.ReadU8("new tuple marker", &marker)) return *e;
  if (marker != 'N') {
    return r.Corrupt("new tuple marker", "expected 'N', got " + DescribeByte(marker));
  }
  if (auto e = ReadTupleData(r, "new tuple", &m.new_tuple)) return *e;
  return m;
}

Result<UpdateMessage> DecodeUpdate(FieldReader& r, bool in_streamed_block) {
  UpdateMessage m;
  if (auto e = r.ReadStreamXid(in_streamed_block, &m.xid)) return *e;
  if (auto e = r.ReadU32("relation id", &m.relation_id)) return *e;
  uint8_t marker = 0;
  if (auto e = r.ReadU8("tuple marker", &marker)) return *e;
  if (marker == 'K' || marker == 'O') {
    m.old_kind = static_cast<char>(marker);
    if (auto e = ReadTupleData(r, "old tuple", &m.old_tuple.emplace())) return *e;
    if (auto e = r.ReadU8("new tuple marker", &marker)) return *e;
    if (marker != 'N') {
      return r.Corrupt("new tuple marker", "expected 'N', got " + DescribeByte(marker));
    }
  } else if (marker != 'N') {
    return r.Corrupt("tuple marker", "expected 'K', 'O' or 'N', got " + DescribeByte(marker));
  }
  if (auto e = ReadTupleData(r, "new tuple", &m.new_tuple)) return *e;
  return m;
}

Result<DeleteMessage> DecodeDelete(FieldReader& r, bool in_streamed_block) {
  DeleteMessage m;
  if (auto e = r.ReadStreamXid(in_streamed_block, &m.xid)) return *e;
  if (auto e = r.ReadU32("relation id", &m.relation_id)) return *e;
  uint8_t marker = 0;
  if (auto e = r.ReadU8("old tuple marker", &marker)) return *e;
  if (marker != 'K' && marker != 'O') {
    return r.Corrupt("old tuple marker", "expected 'K' or 'O', got " + DescribeByte(marker));
  }
  m.old_kind = static_cast<char>(marker);
  if (auto e = ReadTupleData(r, "old tuple", &m.old_tuple)) return *e;
  return m;
}

Result<TruncateMessage> DecodeTruncate(FieldReader& r, bool in_streamed_block) {
  TruncateMessage m;
  if (auto e = r.ReadStreamXid(in_streamed_block, &m.xid)) return *e;
  int32_t relation_count = 0;
  if (auto e = r.ReadI32("relation count", &relation_count)) return *e;
  if (relation_count < 0) {
    return r.Corrupt("relation count", "negative (" + std::to_string(relation_count) + ")");
  }
  if (auto e = r.ReadFlags("options", kTruncateCascade | kTruncateRestartIdentity, &m.options)) {
    return *e;
  }
  m.relation_ids.reserve(
      std::min<size_t>(static_cast<size_t>(relation_count), r.in().remaining() / sizeof(Oid)));
  for (int32_t i = 0; i < relation_count; ++i) {
    Oid relation_id = 0;
    if (auto e = r.ReadU32("relation id", &relation_id)) return *e;
    m.relation_ids.push_back(relation_id);
  }
  return m;
}

Result<LogicalMessage> DecodeLogicalMessage(FieldReader& r, bool in_streamed_block) {
  LogicalMessage m;
  if (auto e = r.ReadStreamXid(in_streamed_block, &m.xid)) return *e;
  if (auto e = r.ReadFlags("flags", kMessageTransactional, &m.flags)) return *e;
  if (auto e = r.ReadLsn("lsn", &m.lsn)) return *e;
  if (auto e = r.ReadCString("prefix", &m.prefix)) return *e;
  size_t length = 0;
  if (auto e = r.ReadLength("content length", &length)) return *e;
  if (auto e = r.ReadBytes("content", length, &m.content)) return *e;
  return m;
}

Result<StreamStartMessage> DecodeStreamStart(FieldReader& r) {
  StreamStartMessage m;
  if (auto e = r.ReadValidXid("xid", &m.xid)) return *e;
  uint8_t first_segment = 0;
  if (auto e = r.ReadU8("first segment", &first_segment)) return *e;
  if (first_segment > 1) {
    return r.Corrupt("first segment", "invalid value " + std::to_string(first_segment));
  }
  m.first_segment = first_segment == 1;
  return m;
}

Result<StreamStopMessage> DecodeStreamStop(FieldReader&) { return StreamStopMessage{}; }

Result<StreamCommitMessage> DecodeStreamCommit(FieldReader& r) {
  StreamCommitMessage m;
  if (auto e = r.ReadValidXid("xid", &m.xid)) return *e;
  if (auto e = r.ReadFlags("flags", 0, &m.flags)) return *e;  // no flags defined
  if (auto e = r.ReadLsn("commit lsn", &m.commit_lsn)) return *e;
  if (auto e = r.ReadLsn("end lsn", &m.end_lsn)) return *e;
  if (auto e = r.ReadI64("commit time", &m.commit_time)) return *e;
  return m;
}

// PostgreSQL 15 sends xid and subxid only; the abort LSN and time that 16
// adds are sent only with streaming = parallel (protocol version 4).
Result<StreamAbortMessage> DecodeStreamAbort(FieldReader& r) {
  StreamAbortMessage m;
  if (auto e = r.ReadValidXid("xid", &m.xid)) return *e;
  if (auto e = r.ReadValidXid("subxid", &m.subxid)) return *e;
  return m;
}

Error CorruptMessage(const char* name, std::string_view detail) {
  return Error{Error::Kind::kCorrupt, std::string(name).append(": ").append(detail)};
}

// Runs the decode function for T over the rest of `in`, then rejects leftover
// bytes.
template <typename T, typename DecodeFn>
Result<Message> DecodeAs(ByteReader& in, DecodeFn decode) {
  FieldReader reader(&in, kNameOf<T>);
  Result<T> decoded = decode(reader);
  if (!decoded.ok()) return decoded.error();
  if (!in.empty()) {
    const size_t leftover = in.remaining();
    return CorruptMessage(kNameOf<T>, std::to_string(leftover) +
                                          (leftover == 1 ? " leftover byte" : " leftover bytes"));
  }
  return Message(std::move(decoded).value());
}

// Where a message may appear relative to a streamed block.
enum class Placement { kOutsideBlock, kInsideBlock };

// Checks the protocol version and the streamed-block state a message needs.
MaybeError CheckPlacement(const char* name, bool stream_message, Placement placement,
                          int proto_version, bool in_streamed_block) {
  if (stream_message && proto_version < kStreamProtoVersion) {
    return CorruptMessage(name, "not allowed under proto_version " + std::to_string(proto_version));
  }
  if (placement == Placement::kOutsideBlock && in_streamed_block) {
    return CorruptMessage(name, "not allowed inside a streamed block");
  }
  if (placement == Placement::kInsideBlock && !in_streamed_block) {
    return CorruptMessage(name, "not allowed outside a streamed block");
  }
  return std::nullopt;
}

}  // namespace

const char* MessageName(const Message& message) { return kMessageNames[message.index()]; }

Result<Message> DecodeMessage(std::span<const std::byte> data, int proto_version,
                              bool in_streamed_block) {
  if (proto_version != 1 && proto_version != 2) {
    return Error{Error::Kind::kCorrupt,
                 "unsupported proto_version " + std::to_string(proto_version)};
  }
  ByteReader in(data);
  uint8_t tag = 0;
  if (!in.ReadU8(&tag)) return Error{Error::Kind::kTruncated, "message tag: truncated"};

  const bool streamed = in_streamed_block;
  // Placement rules: Begin/Commit and the stream control messages that end a
  // streamed transaction come between blocks; Stream Start opens a block and
  // Stream Stop closes one.
  const auto check = [&](const char* name, bool stream_message, Placement placement) {
    return CheckPlacement(name, stream_message, placement, proto_version, in_streamed_block);
  };
  switch (tag) {
    case 'B':
      if (auto e = check(kNameOf<BeginMessage>, false, Placement::kOutsideBlock)) return *e;
      return DecodeAs<BeginMessage>(in, DecodeBegin);
    case 'C':
      if (auto e = check(kNameOf<CommitMessage>, false, Placement::kOutsideBlock)) return *e;
      return DecodeAs<CommitMessage>(in, DecodeCommit);
    case 'O':  // also sent right after Stream Start for a transaction with an origin
      return DecodeAs<OriginMessage>(in, DecodeOrigin);
    case 'R':
      return DecodeAs<RelationMessage>(
          in, [streamed](FieldReader& r) { return DecodeRelation(r, streamed); });
    case 'Y':
      return DecodeAs<TypeMessage>(in,
                                   [streamed](FieldReader& r) { return DecodeType(r, streamed); });
    case 'I':
      return DecodeAs<InsertMessage>(
          in, [streamed](FieldReader& r) { return DecodeInsert(r, streamed); });
    case 'U':
      return DecodeAs<UpdateMessage>(
          in, [streamed](FieldReader& r) { return DecodeUpdate(r, streamed); });
    case 'D':
      return DecodeAs<DeleteMessage>(
          in, [streamed](FieldReader& r) { return DecodeDelete(r, streamed); });
    case 'T':
      return DecodeAs<TruncateMessage>(
          in, [streamed](FieldReader& r) { return DecodeTruncate(r, streamed); });
    case 'M':
      return DecodeAs<LogicalMessage>(
          in, [streamed](FieldReader& r) { return DecodeLogicalMessage(r, streamed); });
    case 'S':
      if (auto e = check(kNameOf<StreamStartMessage>, true, Placement::kOutsideBlock)) return *e;
      return DecodeAs<StreamStartMessage>(in, DecodeStreamStart);
    case 'E':
      if (auto e = check(kNameOf<StreamStopMessage>, true, Placement::kInsideBlock)) return *e;
      return DecodeAs<StreamStopMessage>(in, DecodeStreamStop);
    case 'c':
      if (auto e = check(kNameOf<StreamCommitMessage>, true, Placement::kOutsideBlock)) return *e;
      return DecodeAs<StreamCommitMessage>(in, DecodeStreamCommit);
    case 'A':
      if (auto e = check(kNameOf<StreamAbortMessage>, true, Placement::kOutsideBlock)) return *e;
      return DecodeAs<StreamAbortMessage>(in, DecodeStreamAbort);
    default:
      return Error{Error::Kind::kCorrupt, "unknown message tag " + DescribeByte(tag)};
  }
}

Result<Message> PgOutputDecoder::Decode(std::span<const std::byte> data) {
  Result<Message> result = DecodeMessage(data, proto_version_, in_streamed_block_);
  if (result.ok()) {
    if (std::holds_alternative<StreamStartMessage>(result.value())) {
      in_streamed_block_ = true;
    } else if (std::holds_alternative<StreamStopMessage>(result.value())) {
      in_streamed_block_ = false;
    }
  }
  return result;
}

}  // namespace partwatch::pgoutput
