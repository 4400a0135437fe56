// Test-side encoder for pgoutput messages: the inverse of DecodeMessage,
// written independently from the decoder (field by field after PostgreSQL's
// "Logical Replication Message Formats") so round trips check one against
// the other.  Tests only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "decoder/pgoutput.h"

namespace partwatch::pgoutput::testing {

inline std::span<const std::byte> AsBytes(std::string_view bytes) {
  return std::as_bytes(std::span<const char>(bytes.data(), bytes.size()));
}

// Appends big-endian integers, strings and raw bytes.
class WireWriter {
 public:
  WireWriter& U8(uint8_t value) { return Big(value); }
  WireWriter& U32(uint32_t value) { return Big(value); }
  WireWriter& U64(uint64_t value) { return Big(value); }
  WireWriter& I16(int16_t value) { return Big(static_cast<uint16_t>(value)); }
  WireWriter& I32(int32_t value) { return Big(static_cast<uint32_t>(value)); }
  WireWriter& I64(int64_t value) { return Big(static_cast<uint64_t>(value)); }
  WireWriter& Tag(char tag) { return U8(static_cast<uint8_t>(tag)); }
  WireWriter& LsnField(Lsn lsn) { return U64(lsn.value()); }
  WireWriter& CString(std::string_view text) {
    out_.append(text);
    out_.push_back('\0');
    return *this;
  }
  WireWriter& Raw(std::string_view bytes) {
    out_.append(bytes);
    return *this;
  }

  const std::string& bytes() const { return out_; }

 private:
  template <typename T>
  WireWriter& Big(T value) {
    for (int shift = 8 * static_cast<int>(sizeof(T)) - 8; shift >= 0; shift -= 8) {
      out_.push_back(static_cast<char>((value >> shift) & 0xff));
    }
    return *this;
  }

  std::string out_;
};

inline void EncodeTupleData(const TupleData& tuple, WireWriter& w) {
  w.I16(static_cast<int16_t>(tuple.columns.size()));
  for (const TupleColumn& column : tuple.columns) {
    w.Tag(static_cast<char>(column.kind));
    if (column.kind == TupleColumn::Kind::kText || column.kind == TupleColumn::Kind::kBinary) {
      w.I32(static_cast<int32_t>(column.data.size())).Raw(column.data);
    }
  }
}

inline void EncodeXid(const std::optional<Xid>& xid, WireWriter& w) {
  if (xid.has_value()) w.U32(*xid);
}

inline void EncodeBody(const BeginMessage& m, WireWriter& w) {
  w.Tag('B').LsnField(m.final_lsn).I64(m.commit_time).U32(m.xid);
}

inline void EncodeBody(const CommitMessage& m, WireWriter& w) {
  w.Tag('C').U8(m.flags).LsnField(m.commit_lsn).LsnField(m.end_lsn).I64(m.commit_time);
}

inline void EncodeBody(const OriginMessage& m, WireWriter& w) {
  w.Tag('O').LsnField(m.commit_lsn).CString(m.name);
}

inline void EncodeBody(const RelationMessage& m, WireWriter& w) {
  w.Tag('R');
  EncodeXid(m.xid, w);
  w.U32(m.relation_id).CString(m.nspname).CString(m.relname).U8(m.replica_identity);
  w.I16(static_cast<int16_t>(m.columns.size()));
  for (const RelationColumn& column : m.columns) {
    w.U8(column.flags).CString(column.name).U32(column.type_oid).I32(column.type_modifier);
  }
}

inline void EncodeBody(const TypeMessage& m, WireWriter& w) {
  w.Tag('Y');
  EncodeXid(m.xid, w);
  w.U32(m.type_oid).CString(m.nspname).CString(m.name);
}

inline void EncodeBody(const InsertMessage& m, WireWriter& w) {
  w.Tag('I');
  EncodeXid(m.xid, w);
  w.U32(m.relation_id).Tag('N');
  EncodeTupleData(m.new_tuple, w);
}

inline void EncodeBody(const UpdateMessage& m, WireWriter& w) {
  w.Tag('U');
  EncodeXid(m.xid, w);
  w.U32(m.relation_id);
  if (m.old_tuple.has_value()) {
    w.Tag(m.old_kind);
    EncodeTupleData(*m.old_tuple, w);
  }
  w.Tag('N');
  EncodeTupleData(m.new_tuple, w);
}

inline void EncodeBody(const DeleteMessage& m, WireWriter& w) {
  w.Tag('D');
  EncodeXid(m.xid, w);
  w.U32(m.relation_id).Tag(m.old_kind);
  EncodeTupleData(m.old_tuple, w);
}

inline void EncodeBody(const TruncateMessage& m, WireWriter& w) {
  w.Tag('T');
  EncodeXid(m.xid, w);
  w.I32(static_cast<int32_t>(m.relation_ids.size())).U8(m.options);
  for (Oid relation_id : m.relation_ids) w.U32(relation_id);
}

inline void EncodeBody(const LogicalMessage& m, WireWriter& w) {
  w.Tag('M');
  EncodeXid(m.xid, w);
  w.U8(m.flags).LsnField(m.lsn).CString(m.prefix);
  w.I32(static_cast<int32_t>(m.content.size())).Raw(m.content);
}

inline void EncodeBody(const StreamStartMessage& m, WireWriter& w) {
  w.Tag('S').U32(m.xid).U8(m.first_segment ? 1 : 0);
}

inline void EncodeBody(const StreamStopMessage&, WireWriter& w) { w.Tag('E'); }

inline void EncodeBody(const StreamCommitMessage& m, WireWriter& w) {
  w.Tag('c').U32(m.xid).U8(m.flags).LsnField(m.commit_lsn).LsnField(m.end_lsn).I64(m.commit_time);
}

inline void EncodeBody(const StreamAbortMessage& m, WireWriter& w) {
  w.Tag('A').U32(m.xid).U32(m.subxid);
}

// Encodes one message as pgoutput sends it.  The leading xid of messages in a
// streamed block is written when the struct's `xid` is set.
inline std::string Encode(const Message& message) {
  WireWriter w;
  std::visit([&w](const auto& m) { EncodeBody(m, w); }, message);
  return w.bytes();
}

}  // namespace partwatch::pgoutput::testing
