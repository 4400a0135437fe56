// `run`'s capture: records every replication message it consumes into
// segment files of a directory ([capture], docs/capture-format.md), for
// `partwatch replay`.
//
// Durability contract (with the policy thread, src/engine/policy_thread.h):
// the position the reader confirms to the server is durable() at most, the
// accounted-for position of the last event whose record was fsync'ed.  A
// crash therefore loses only records the slot will send again; replay
// drops the copies (src/replay/simulator.h, "De-duplication").
//
// On open, the newest segment's tail is repaired: a record cut short (torn
// by a crash) and a transaction left open by it are cut off, with a
// warning, so the server's resent copy is the only one.  Each session then
// starts a new segment, which opens with a header (system, slot, tables)
// and a session start record.  Segments rotate past segment_size, only
// between transactions, and repeat the relations described so far, so each
// can be read alone; the oldest go when the directory passes max_size or their age passes retain
// (never the one being written).
//
// Thread-compatible: used by the policy thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "decoder/lsn.h"
#include "src/config.h"
#include "src/replication/stream.h"

namespace partwatch::capture {

class CaptureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SessionInfo {
  std::string system_identifier;
  int timeline = 0;
  std::string slot;
  int proto_version = 1;
  Lsn start_lsn;            // where the session streams from
  std::string tables_json;  // src/capture/tables_json.h
};

class Writer {
 public:
  // Throws CaptureError naming the directory or file.
  Writer(const CaptureConfig& config, SessionInfo info);
  ~Writer();  // flushes, fsyncs and closes (errors logged)
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Buffers the event's record (keepalives are not recorded).
  void Append(const replication::WalEvent& event);
  // The table descriptions changed (a catalog refresh).
  void Tables(const std::string& tables_json);
  // Every event appended so far is counted up to `accounted`.
  void Processed(Lsn accounted);
  // Writes what is buffered; fsyncs when sync_interval has passed since the
  // last fsync, or when `force`.  Rotates and prunes when due.  Returns
  // durable().  Throws CaptureError.
  Lsn Flush(bool force);
  Lsn durable() const { return durable_; }

 private:
  void OpenSegment(Lsn start, bool session_start);
  void CloseSegment();
  void WriteAll(const std::string& bytes);
  void Sync();
  void Prune();
  std::string HeaderJson(Lsn start) const;

  CaptureConfig config_;
  SessionInfo info_;
  struct Compressor;
  std::unique_ptr<Compressor> zstd_;
  int fd_ = -1;
  int lock_fd_ = -1;                           // flock'ed <dir>/.lock, held for the Writer's life
  bool broken_ = false;                        // a write or fsync failed: nothing more is written
  bool in_txn_ = false;                        // a Begin without its Commit appended
  bool in_block_ = false;                      // inside Stream Start .. Stream Stop
  std::map<uint32_t, std::string> relations_;  // relation id -> its last 'R' message
  std::string path_;
  uint64_t seq_ = 0;
  uint64_t segment_bytes_ = 0;  // bytes written to the current file
  std::string buffer_;          // records not yet written
  std::string scratch_;         // compressed output
  bool unsynced_ = false;
  Lsn last_wal_end_;
  Lsn processed_;  // Processed()'s latest
  Lsn written_;    // processed_ when the buffer was last written
  Lsn durable_;    // written_ when last fsync'ed
  std::chrono::steady_clock::time_point last_sync_;
};

// The newest segment's tail repair (run by the Writer's constructor; public
// for tests): returns the warning, or "" when nothing was cut.
std::string RepairNewestSegment(const std::string& dir);

}  // namespace partwatch::capture
