// Replay sources: history read back as the stream the engine consumes.
//
//   capture dir/file ─┐
//   wal2json file ────┼─▶ replay::Source ─▶ replay engine (policy) ─▶ report
//   slot peek ────────┘
//
// A Source yields Items in stream order: pgoutput messages (decoded by the
// same decoder `run` uses, or converted from wal2json), idle marks, and for
// captures the restart and catalog records `run` wrote.  Sources do their
// own I/O; the engine they feed is pure.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "decoder/lsn.h"
#include "decoder/pgoutput.h"

namespace partwatch::replay {

// Bad input: the message names the file and the byte offset (or line).
class ReplayError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Item {
  enum class Kind {
    kMessage,       // `message` at `lsn`
    kIdle,          // the stream was idle at `lsn` (a keepalive)
    kSessionStart,  // a capture's `run` (re)started streaming from `lsn`:
                    // open transactions will be sent again
    kTables,        // a capture's table descriptions changed: `tables_json`
  };
  Kind kind = Kind::kMessage;
  Lsn lsn;  // the message's WAL start; Lsn() when the source has none
  pgoutput::Message message;
  std::string tables_json;  // kTables: src/replay/capture_format.h, "tables"
};

class Source {
 public:
  virtual ~Source() = default;
  // Reads the next item into `*item`; false at the end.  Throws ReplayError
  // for damage, unless the source was opened to skip it (then it counts
  // it in skipped()).
  virtual bool Next(Item* item) = 0;
  // For the report and errors: "orders.jsonl", "slot partwatch".
  virtual std::string name() const = 0;
  virtual const char* kind() const = 0;  // "capture", "wal2json", "slot"
  // Progress: bytes read so far and in all (0 when unknown).
  virtual uint64_t bytes_read() const { return 0; }
  virtual uint64_t bytes_total() const { return 0; }
  // Where reading is, for the progress line ("at 0/5A3F2C8"); "" when the
  // source has no such position.
  virtual std::string position() const { return ""; }
  // Records (capture records, JSON documents, slot rows) read so far.
  virtual int64_t records() const = 0;
  virtual int64_t skipped() const { return 0; }
  // Torn tails and the like, said once each.
  virtual std::vector<std::string> warnings() const { return {}; }
};

}  // namespace partwatch::replay
