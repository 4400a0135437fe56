// Decoder for PostgreSQL's pgoutput logical replication protocol, versions 1
// and 2 (the payload of each XLogData message).  Wire format: docs/protocol.md
// and PostgreSQL's "Logical Replication Message Formats".
//
// Pure: no I/O, no libpq, no globals.  Every read is bounds-checked; malformed
// or truncated input yields an Error whose message names the message and the
// field ("Relation: column name: missing NUL terminator"), never a crash or a read
// past the buffer.  Leftover bytes after a message are an error too.
//
// Thread-safety: a PgOutputDecoder is thread-compatible (one thread at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "decoder/lsn.h"
#include "decoder/result.h"

namespace partwatch::pgoutput {

using Xid = uint32_t;
using Oid = uint32_t;

// One column of a TupleData.  kText carries the value's text form; kBinary
// its binary form (only when the binary option is on); kNull and
// kUnchangedToast carry nothing.
struct TupleColumn {
  enum class Kind : char { kNull = 'n', kUnchangedToast = 'u', kText = 't', kBinary = 'b' };
  Kind kind = Kind::kNull;
  std::string data;
};

struct TupleData {
  std::vector<TupleColumn> columns;
};

struct BeginMessage {  // 'B'
  Lsn final_lsn;
  int64_t commit_time = 0;  // microseconds since 2000-01-01
  Xid xid = 0;
};

struct CommitMessage {  // 'C'
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  int64_t commit_time = 0;
};

struct OriginMessage {  // 'O'
  Lsn commit_lsn;
  std::string name;
};

struct RelationColumn {
  uint8_t flags = 0;  // 1 = part of the replica identity key
  std::string name;
  Oid type_oid = 0;
  int32_t type_modifier = -1;
};

struct RelationMessage {   // 'R'
  std::optional<Xid> xid;  // present inside a streamed block only
  Oid relation_id = 0;
  std::string nspname;
  std::string relname;
  uint8_t replica_identity = 0;  // 'd', 'n', 'f' or 'i'
  std::vector<RelationColumn> columns;
};

struct TypeMessage {  // 'Y'
  std::optional<Xid> xid;
  Oid type_oid = 0;
  std::string nspname;
  std::string name;
};

struct InsertMessage {  // 'I'
  // Inside a streamed block: the xid of the (sub-)transaction that made the
  // change, not necessarily the top-level one named by Stream Start.
  std::optional<Xid> xid;
  Oid relation_id = 0;
  TupleData new_tuple;
};

struct UpdateMessage {  // 'U'
  std::optional<Xid> xid;
  Oid relation_id = 0;
  // 'K' (old key columns) or 'O' (whole old row) when present, else 0.
  char old_kind = 0;
  std::optional<TupleData> old_tuple;
  TupleData new_tuple;
};

struct DeleteMessage {  // 'D'
  std::optional<Xid> xid;
  Oid relation_id = 0;
  char old_kind = 0;  // 'K' or 'O'
  TupleData old_tuple;
};

struct TruncateMessage {  // 'T'
  std::optional<Xid> xid;
  uint8_t options = 0;  // 1 = CASCADE, 2 = RESTART IDENTITY
  std::vector<Oid> relation_ids;
};

struct LogicalMessage {  // 'M'
  std::optional<Xid> xid;
  uint8_t flags = 0;  // 1 = transactional
  Lsn lsn;
  std::string prefix;
  std::string content;
};

struct StreamStartMessage {  // 'S' (v2)
  Xid xid = 0;
  bool first_segment = false;
};

struct StreamStopMessage {};  // 'E' (v2)

struct StreamCommitMessage {  // 'c' (v2)
  Xid xid = 0;
  uint8_t flags = 0;
  Lsn commit_lsn;
  Lsn end_lsn;
  int64_t commit_time = 0;
};

struct StreamAbortMessage {  // 'A' (v2)
  Xid xid = 0;               // top-level transaction
  Xid subxid = 0;            // == xid when the whole transaction aborted
};

using Message =
    std::variant<BeginMessage, CommitMessage, OriginMessage, RelationMessage, TypeMessage,
                 InsertMessage, UpdateMessage, DeleteMessage, TruncateMessage, LogicalMessage,
                 StreamStartMessage, StreamStopMessage, StreamCommitMessage, StreamAbortMessage>;

// Human-readable name of a message ("Insert", "StreamCommit"), for logs.
const char* MessageName(const Message& message);

// Decodes one pgoutput message.  `in_streamed_block` says whether the message
// sits between Stream Start and Stream Stop, where Relation, Type, Insert,
// Update, Delete, Truncate and Message carry a leading transaction id.
// `proto_version` is 1 or 2; stream messages under version 1 are rejected.
Result<Message> DecodeMessage(std::span<const std::byte> data, int proto_version,
                              bool in_streamed_block);

// Stateful convenience: tracks Stream Start/Stop so callers need not.
class PgOutputDecoder {
 public:
  explicit PgOutputDecoder(int proto_version) : proto_version_(proto_version) {}

  // Decodes one message and updates the streamed-block state on success.
  // Errors leave the state unchanged.
  Result<Message> Decode(std::span<const std::byte> data);

  bool in_streamed_block() const { return in_streamed_block_; }

 private:
  int proto_version_;
  bool in_streamed_block_ = false;
};

}  // namespace partwatch::pgoutput
