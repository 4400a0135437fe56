// Wal2JsonSource: a wal2json recording (`pg_recvlogical -P wal2json -f FILE`,
// format-version 1 or 2, any include options) replayed as the pgoutput
// messages the policy consumes.  Conversion: decoder/wal2json.h; what
// wal2json prints and what becomes of it: docs/wal2json.md.
//
// The file is read in chunks (Options::chunk_bytes) into one buffer that
// holds at most one document beyond a chunk, so memory stays bounded
// whatever the file's size: by chunk_bytes, by max_document_bytes (a
// format-version 1 document is a whole transaction) and by the messages of
// one document.  Documents are found by their braces, strings taken into
// account: one a line (v2, v1 compact), several lines (v1 pretty-print,
// write-in-chunks), or two on a line (pg_recvlogical restarted after a
// partial write).  The format version is detected per document.
//
// Damage: a document that is not JSON, not wal2json, or cut short before
// more documents follow throws ReplayError("FILE:LINE: ...", LINE the
// 1-based line where the document starts); with Options::skip_bad it is
// counted in skipped() instead and reading goes on.  A document cut short
// at the very end of the file (a killed pg_recvlogical) is a torn tail:
// warnings() names it, the items before it stand, and Next returns false.
// A document larger than max_document_bytes throws even with skip_bad.
// After a throw, Next throws the same error again.
//
// Positions: Item::lsn is real only when the file was recorded with
// include-lsn=1 (lsns_real()); otherwise it is synthetic (strictly
// increasing, no WAL position) and LSN-based --from/--to do not apply.
// Commit times are real only with include-timestamp=1 (timestamps_real()).
//
// Thread-safety: thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "decoder/wal2json.h"
#include "src/replay/source.h"

namespace partwatch::replay {

class Wal2JsonSource final : public Source {
 public:
  struct Options {
    bool skip_bad = false;
    size_t chunk_bytes = size_t{4} << 20;           // one read(); at least 1
    size_t max_document_bytes = size_t{256} << 20;  // one document, at most
  };

  // Opens `path` ("-": standard input, not closed).  Throws ReplayError
  // when it cannot be opened.
  explicit Wal2JsonSource(std::string path);
  Wal2JsonSource(std::string path, Options options);
  ~Wal2JsonSource() override;
  Wal2JsonSource(const Wal2JsonSource&) = delete;
  Wal2JsonSource& operator=(const Wal2JsonSource&) = delete;

  // Swaps the next message into `*item` (kind kMessage): pass the same Item
  // each time and its storage is reused for the next row.
  bool Next(Item* item) override;
  std::string name() const override { return name_; }
  const char* kind() const override { return "wal2json"; }
  uint64_t bytes_read() const override { return bytes_read_; }
  uint64_t bytes_total() const override { return bytes_total_; }  // 0 for a pipe
  // Documents read, skipped ones too (not a torn tail).
  int64_t records() const override { return records_; }
  int64_t skipped() const override { return skipped_; }
  // The torn tail, the first skipped documents by name, then a count.
  std::vector<std::string> warnings() const override;

  // See "Positions" above: what the messages so far carried (one recording
  // has one set of options, so its first transaction tells).
  bool lsns_real() const { return decoder_.lsns_real(); }
  bool timestamps_real() const { return decoder_.timestamps_real(); }

 private:
  // Finds, converts and accounts for the next document; false at the end.
  bool ReadDocument();
  // Makes room and reads more; sets eof_ at the end of the input.
  void Refill();
  // The document at begin_ is bad; it ends before `next`.  Counted and
  // skipped with skip_bad, else thrown.
  void Bad(size_t next, const std::string& reason);
  void Consume(size_t next);
  std::string Where(int64_t line) const;

  std::string name_;
  Options options_;
  int fd_ = -1;
  bool owns_fd_ = false;

  std::unique_ptr<char[]> buffer_;  // capacity_ + Wal2JsonDecoder::kPadding bytes
  size_t capacity_ = 0;
  size_t begin_ = 0;  // unconsumed bytes: [begin_, end_)
  size_t end_ = 0;
  bool eof_ = false;
  int64_t line_ = 1;  // the line begin_ is on

  wal2json::Wal2JsonDecoder decoder_;
  wal2json::OutputBuffer outputs_;
  size_t next_output_ = 0;

  uint64_t bytes_read_ = 0;
  uint64_t bytes_total_ = 0;
  int64_t records_ = 0;
  int64_t skipped_ = 0;
  std::vector<std::string> warnings_;
  std::string error_;  // thrown again by every later Next
};

}  // namespace partwatch::replay
