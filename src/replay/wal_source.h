// A replay source over archived WAL segment files of PostgreSQL 15: what
// was inserted into the DEFAULT partitions, read from the heap records and
// their page images, counted when the transaction commits (decoder/wal/).
//
// The configured server supplies the catalog: each DEFAULT partition's
// relfilenode and tuple descriptor, as they are now.  Rows written to a
// relfilenode the DEFAULT had before a rewrite (TRUNCATE, VACUUM FULL,
// CLUSTER, a drain's swap) are not found unless `relfilenodes` maps it;
// inserts into unmapped relfilenodes are counted and reported.  What this
// source can and cannot see: docs/replay.md.
//
// Segments are read one at a time (memory: one segment plus the open
// transactions' counters).  A gap between segments, another timeline or
// another system's segment, damage (CRC, magic, length) and a truncated
// segment are ReplayErrors naming the file and the LSN.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/catalog.h"
#include "src/pg/connection.h"
#include "src/replay/source.h"

namespace partwatch::replay {

struct WalSourceOptions {
  std::string dir;                 // --wal-dir ("" = none)
  std::vector<std::string> files;  // --wal FILE...
  // --relfilenode N=TABLE: an earlier relfilenode of TABLE's DEFAULT.
  std::vector<std::string> relfilenodes;
};

class WalSource : public Source {
 public:
  // Lists the files and reads the catalog for `tables` through `conn`.
  // Throws ReplayError (no segments, several timelines, a key type that
  // cannot be read from WAL, a bad --relfilenode).
  WalSource(pg::Connection conn, const std::vector<TableInfo>& tables,
            const WalSourceOptions& options);
  ~WalSource() override;

  bool Next(Item* item) override;
  std::string name() const override;
  const char* kind() const override { return "wal"; }
  uint64_t bytes_read() const override;
  uint64_t bytes_total() const override;
  int64_t records() const override;
  std::string position() const override;
  std::vector<std::string> warnings() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace partwatch::replay
