// Files of a capture directory (docs/capture-format.md): naming, listing,
// and reading a segment's bytes back, plain or zstd-compressed.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace partwatch::capture {

// "capture-00000042.pwcap" (".pwcap.zst" when compressed).
std::string SegmentName(uint64_t seq, bool zstd);
// The sequence number of a segment file name; false for other names.
bool ParseSegmentName(const std::string& name, uint64_t* seq, bool* zstd);

struct SegmentFile {
  std::string path;
  uint64_t seq = 0;
  bool zstd = false;
  uint64_t size = 0;  // bytes on disk
};
// The segments of `dir` in sequence order.  Throws std::runtime_error when
// the directory cannot be read.
std::vector<SegmentFile> ListSegments(const std::string& dir);

// Reads a segment's (decompressed) bytes in chunks.  Throws
// std::runtime_error naming the file when it cannot be read.
class SegmentReader {
 public:
  explicit SegmentReader(const std::string& path);
  ~SegmentReader();
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;

  // Appends up to about `max` decompressed bytes to `*out`; false once the
  // file is read to its end (nothing appended).
  bool Read(size_t max, std::string* out);
  // A compressed file ended inside a zstd frame (a crash while writing):
  // what was decompressed is good, the rest is a torn tail.
  bool truncated_frame() const { return truncated_frame_; }
  uint64_t file_bytes_read() const { return file_bytes_read_; }
  uint64_t file_size() const { return file_size_; }

 private:
  struct Zstd;
  std::string path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<Zstd> zstd_;
  bool truncated_frame_ = false;
  bool eof_ = false;
  uint64_t file_bytes_read_ = 0;
  uint64_t file_size_ = 0;
};

}  // namespace partwatch::capture
