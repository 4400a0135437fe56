// Converter from wal2json's JSON (format-version 1 and 2, as
// `pg_recvlogical -P wal2json -f FILE` writes it) to the pgoutput messages
// the policy consumes, so that a wal2json recording replays through the
// same code as a live stream.  What wal2json 2.5 prints and what each
// record becomes: docs/wal2json.md; real recordings: tests/data/wal2json/.
//
// Pure: one JSON document in, messages out; no I/O, no clock, no globals.
// Finding documents in a file is the caller's (src/replay/wal2json_source.h).
// Malformed input yields an Error whose message names the record and the
// field ("I: columns[2].value: expected a string, number, boolean or null"),
// never a crash; a failed document leaves the decoder's state and the output
// buffer as they were before it.  Memory is bounded by the document's size
// and by kMaxRelations.
//
// Thread-safety: thread-compatible (one thread at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "decoder/lsn.h"
#include "decoder/pgoutput.h"
#include "decoder/result.h"

namespace partwatch::wal2json {

// One converted message and its position: what the replay source turns
// into a replay::Item of kind kMessage (decoder/ does not depend on src/).
struct Output {
  // The record's "lsn" (v2; for a Begin that is the commit's position, as
  // wal2json prints it), or the transaction's "nextlsn" (v1, for every
  // message of the transaction); synthetic when the record has none (see
  // Wal2JsonDecoder::lsns_real()).
  Lsn lsn;
  pgoutput::Message message;
};

// The messages Decode appends, in stream order.  Cleared entries keep their
// storage: the next Insert written into one reuses its column vector and
// strings, so converting row after row does not allocate.
class OutputBuffer {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // REQUIRES: i < size().
  Output& operator[](size_t i) { return entries_[i]; }
  const Output& operator[](size_t i) const { return entries_[i]; }

  // Forgets the entries, keeping their storage for reuse.
  void clear() { size_ = 0; }
  // Drops the storage beyond `entries` entries (after one huge document).
  void ShrinkTo(size_t entries);

  // Appends an entry.  It may hold what an earlier use left in it: the
  // caller overwrites `lsn` and `message`.
  Output& Append();
  // Forgets the entries from `size` on.  REQUIRES: size <= size().
  void Truncate(size_t size) { size_ = size; }

  // Makes `entry` hold `message`.  An Insert it held is set aside, with its
  // storage, for MakeInsert: with one row per transaction the entries
  // alternate between Begin, Insert and Commit.
  void Set(Output& entry, pgoutput::Message&& message);
  // Makes `entry` hold an Insert, with the storage of the one it held or of
  // one set aside.  Its fields are stale: the caller overwrites them all.
  pgoutput::InsertMessage& MakeInsert(Output& entry);

 private:
  static constexpr size_t kSpareInserts = 4;
  std::vector<Output> entries_;
  size_t size_ = 0;
  std::vector<pgoutput::InsertMessage> spare_;  // at most kSpareInserts
};

struct DocumentInfo {
  int format_version = 0;  // 1 or 2
  char action = 0;         // v2: 'B', 'C', 'I', 'U', 'D', 'T' or 'M'; v1: 0
  size_t outputs = 0;      // messages appended for it (0 for U, D, M)
};

// Parses "2026-12-02 16:09:57.123456+00", the ISO form PostgreSQL's
// timestamptz_to_str() prints whatever DateStyle says (and wal2json's
// "timestamp"): a 4-digit year, 0 to 6 fraction digits, a UTC offset of
// +HH, +HH:MM or +HH:MM:SS.  Returns microseconds since 2000-01-01 UTC, or
// nullopt on anything else (BC dates, "infinity", out-of-range fields).
std::optional<int64_t> ParseTimestamptz(std::string_view text);

class Wal2JsonDecoder {
 public:
  // Bytes that must be readable after a document passed to DecodePadded
  // (simdjson reads ahead; their values do not matter).
  static constexpr size_t kPadding = 64;
  // Distinct (schema, table, columns) shapes held; one more is an error.
  static constexpr size_t kMaxRelations = 65536;
  // Relation ids are synthetic: kFirstRelationId, kFirstRelationId + 1, ...
  static constexpr pgoutput::Oid kFirstRelationId = 1;

  Wal2JsonDecoder();
  ~Wal2JsonDecoder();
  Wal2JsonDecoder(Wal2JsonDecoder&&) noexcept;
  Wal2JsonDecoder& operator=(Wal2JsonDecoder&&) noexcept;

  // Converts one document (one v2 record, or one v1 transaction object) and
  // appends its messages to `*out`:
  //   v2 B -> Begin, C -> Commit, I -> [Relation] Insert,
  //      T -> [Relation] Truncate; U, D, M -> nothing (the policy ignores
  //      them; a row an UPDATE moves into another partition arrives as a D
  //      on the old partition and an I on the new one);
  //   v1 -> Begin, [Relation] Insert per insert, Commit; a document holding
  //      only non-transactional messages -> nothing.
  // A Relation precedes the first Insert (or Truncate) of each (schema,
  // table, column names and types), with a new synthetic id; wal2json names
  // the leaf partition the row went to (e.g. the DEFAULT partition).
  // Errors (kCorrupt, or kTruncated when the document stops inside a string,
  // object or array) leave `*out` and the decoder unchanged.
  Result<DocumentInfo> Decode(std::string_view document, OutputBuffer* out);
  // The same without a copy.  REQUIRES: kPadding readable bytes follow
  // document.data() + document.size().
  Result<DocumentInfo> DecodePadded(std::string_view document, OutputBuffer* out);

  // True when every message converted so far carries an LSN from the file
  // (recorded with include-lsn=1); false when any carries a synthetic one,
  // and before the first.  Synthetic LSNs are 1 more than the previous
  // message's LSN: they keep stream order but are no WAL positions, so
  // LSN-based --from/--to do not apply to such a file.
  bool lsns_real() const;
  // True when every Begin and Commit so far had a "timestamp" (recorded
  // with include-timestamp=1, v1 or v2); false when any lacked one (its
  // commit_time is then 0), and before the first.
  bool timestamps_real() const;
  // v2: between a B and its C.
  bool in_transaction() const;
  // Relation messages emitted so far (distinct table shapes).
  size_t relations() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace partwatch::wal2json
