// Archived WAL segment files: finding them, putting them in order and
// reading one into memory, decompressed.
//
// Names are PostgreSQL's: 24 hex digits (timeline, then the segment's
// position), with a suffix for what archivers store: none, ".gz", ".lz4",
// ".zst" (".zstd"), optionally after ".partial" (the last segment of a
// timeline a standby was promoted from).  History, backup-label and other
// files in an archive directory are left alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partwatch::replay {

struct WalFileName {
  std::string path;
  uint32_t timeline = 0;
  uint32_t log = 0;         // the name's middle 8 digits
  uint32_t seg = 0;         // the last 8
  std::string compression;  // "", "gz", "lz4", "zst"
  bool partial = false;
  // The segment number for a segment size.
  uint64_t SegNo(uint32_t segment_size) const {
    return uint64_t{log} * (0x100000000ull / segment_size) + seg;
  }
};

// Parses a file's name (not its directory); nullopt for other files.
std::optional<WalFileName> ParseWalFileName(const std::string& path);

// The segment files in `dir`, sorted by name.  Throws ReplayError when the
// directory cannot be read.
std::vector<WalFileName> ListWalDir(const std::string& dir);

// Reads and decompresses a whole segment into `*out` (resized; its storage
// is reused between calls).  Reads at most `limit` bytes of content and
// reports more as a longer file.  Throws ReplayError naming the file.
void ReadWalFile(const WalFileName& file, size_t limit, std::vector<std::byte>* out);

}  // namespace partwatch::replay
