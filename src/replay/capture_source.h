// A replay source over partwatch's own captures (docs/capture-format.md):
// a capture directory (its segments in sequence order) or one segment
// file.  Needs no database: the segments carry the system identifier and
// the table descriptions.
//
// Damage: a record cut short at the end of a segment (a crash while
// writing) is a warning naming the file and offset, and reading goes on
// with the next segment.  A bad checksum or length, a wrong magic, an
// undecodable message, or segments of two different systems are a
// ReplayError naming the file and offset; with skip_bad, a bad record ends
// its segment (the format has no resynchronisation point inside one) and a
// bad message is skipped, each counted in skipped().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "decoder/capture.h"
#include "decoder/pgoutput.h"
#include "src/capture/segment_io.h"
#include "src/replay/source.h"

namespace partwatch::replay {

class CaptureSource : public Source {
 public:
  // `path`: a directory or a segment file.  Reads the first header at once
  // (tables_json() and system_identifier() are known after construction).
  // Throws ReplayError.
  CaptureSource(const std::string& path, bool skip_bad);
  ~CaptureSource() override;

  bool Next(Item* item) override;
  std::string name() const override { return path_; }
  const char* kind() const override { return "capture"; }
  uint64_t bytes_read() const override;
  uint64_t bytes_total() const override { return total_bytes_; }
  int64_t records() const override { return records_; }
  int64_t skipped() const override { return skipped_; }
  std::vector<std::string> warnings() const override { return warnings_; }

  // The first segment header's.
  const std::string& tables_json() const { return first_tables_; }
  const std::string& system_identifier() const { return system_id_; }

 private:
  bool OpenNext();  // the next segment; false when none is left
  void Header(const capture::Record& rec);
  [[noreturn]] void Fail(size_t offset, const std::string& what) const;

  std::string path_;
  bool skip_bad_;
  std::vector<capture::SegmentFile> files_;
  size_t next_file_ = 0;
  std::unique_ptr<capture::SegmentReader> reader_;
  std::string current_;  // the current segment's path
  std::string buf_;      // decompressed bytes; parsed up to pos_
  size_t pos_ = 0;
  size_t consumed_ = 0;  // offset in the segment of buf_[pos_]
  bool at_end_ = false;
  bool magic_checked_ = false;
  std::optional<pgoutput::PgOutputDecoder> decoder_;
  int proto_version_ = 1;
  std::string system_id_;
  std::string first_tables_;
  std::vector<Item> pending_;  // items made by a record, handed out in order
  uint64_t total_bytes_ = 0;
  uint64_t done_bytes_ = 0;  // of segments finished
  int64_t records_ = 0;
  int64_t skipped_ = 0;
  std::vector<std::string> warnings_;
};

}  // namespace partwatch::replay
