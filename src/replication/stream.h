// The replication connection and the reader thread's loop.
//
// ReplicationConnection owns a `replication=database` libpq connection: it
// identifies the system, creates the slot (optionally exporting a snapshot),
// and runs START_REPLICATION ... LOGICAL with pgoutput.
//
// Reader::Run is the reader thread.  It only moves bytes: it reads CopyData
// without blocking, hands every XLogData payload and every keepalive to the
// policy thread through a lock-free queue, answers keepalives that request a
// reply at once, and sends a standby status update at least every
// status_interval.  It never waits on database work: the flush position it
// reports is whatever the policy thread last published as accounted for.
// A server that sends nothing for max_silence (no XLogData, no keepalive)
// is given up on: Run() throws, and the session reconnects.  So that an idle
// but healthy server is never taken for a dead one, the reader asks for a
// keepalive (a status update with reply_requested) every max_silence / 4 of
// silence; a walsender answers those at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <concurrentqueue/blockingconcurrentqueue.h>

#include "decoder/lsn.h"
#include "src/pg/connection.h"

namespace partwatch::replication {

// One unit from the reader thread to the policy thread.
struct WalEvent {
  enum class Kind { kData, kKeepalive };
  Kind kind = Kind::kData;
  Lsn wal_start;              // kData: the XLogData's start
  Lsn wal_end;                // kData: XLogData end; kKeepalive: the server's WAL end
  pg::PqBuffer buffer;        // kData: the CopyData as libpq returned it
  size_t payload_offset = 0;  // kData: where the pgoutput message starts
  size_t payload_size = 0;
};

// The default traits spin 10,000 times on the queue's semaphore before
// sleeping; with a message every few dozen microseconds the policy thread
// spun in vain before nearly every sleep (docs/benchmarks.md, "Where
// partwatch's CPU goes").  A short spin keeps the wake-up cheap.
struct WalQueueTraits : moodycamel::ConcurrentQueueDefaultTraits {
  static const int MAX_SEMA_SPINS = 100;
};
using WalQueue = moodycamel::BlockingConcurrentQueue<WalEvent, WalQueueTraits>;

struct SystemIdentity {
  std::string system_id;
  int timeline = 0;
  Lsn xlogpos;
  std::string dbname;
};

struct CreatedSlot {
  Lsn consistent_point;
  std::string snapshot_name;  // "" unless a snapshot was exported
};

struct StreamOptions {
  std::string slot;
  std::string publication;
  int proto_version = 2;
  bool streaming = true;  // stream large in-progress transactions (v2)
};

class ReplicationConnection {
 public:
  // Connects with replication=database, client_encoding the server's
  // encoding (pgoutput converts streamed text to it).  Throws pg::PgError.
  static ReplicationConnection Open(const std::string& conninfo);

  SystemIdentity IdentifySystem();

  // CREATE_REPLICATION_SLOT ... LOGICAL pgoutput.  With export_snapshot the
  // snapshot stays valid until the next command on this connection.
  CreatedSlot CreateSlot(const std::string& slot, bool export_snapshot);

  // START_REPLICATION SLOT ... LOGICAL start (...).  Throws pg::PgError (for
  // a slot in use: SQLSTATE 55006).
  void StartReplication(const StreamOptions& options, Lsn start);

  pg::Connection& conn() { return conn_; }

 private:
  explicit ReplicationConnection(pg::Connection conn) : conn_(std::move(conn)) {}
  pg::Connection conn_;
};

struct ReaderStats {
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> keepalives{0};
  std::atomic<uint64_t> status_updates{0};
};

class Reader {
 public:
  // REQUIRES: StartReplication succeeded on `conn`; max_silence > 0.
  // `accounted` is the position the policy thread publishes; `stop` ends
  // Run().
  Reader(ReplicationConnection& conn, WalQueue& queue, const std::atomic<uint64_t>& accounted,
         const std::atomic<bool>& stop, std::chrono::milliseconds status_interval,
         std::chrono::milliseconds max_silence);

  // The reader loop.  Returns normally when `stop` is set; throws
  // pg::PgError when the connection fails, the server ends the stream or
  // the server was silent for max_silence (the message says how long).
  void Run();

  // After the policy thread drained the queue and published its final
  // position: sends a final status update, ends the copy and reads the
  // server's reply.  Best effort; errors are returned as text ("" on
  // success).  After a silence it does nothing (the server would not
  // answer).
  std::string Finish();

  const ReaderStats& stats() const { return stats_; }
  Lsn received() const { return received_; }

 private:
  void SendStatus(bool reply_requested);
  // Called whenever the socket has nothing more to read: throws after
  // max_silence without a message, asks for a keepalive every quarter of it.
  void CheckSilence();
  void HandleCopyData(pg::PqBuffer buffer, int length);
  // Hands everything read since the last call to the policy thread in one
  // bulk enqueue: one wake-up per socket read, not one per message.
  void Flush();
  // Queues the coalesced keepalive, if any (REQUIRES: before any data
  // message that followed it).
  void HandOverKeepalive();

  ReplicationConnection& conn_;
  WalQueue& queue_;
  const std::atomic<uint64_t>& accounted_;
  const std::atomic<bool>& stop_;
  std::chrono::milliseconds status_interval_;
  std::chrono::steady_clock::time_point next_status_;
  std::chrono::milliseconds max_silence_;
  bool heard_ = false;  // a message arrived since the last silence check
  std::chrono::steady_clock::time_point last_heard_;
  std::chrono::steady_clock::time_point next_ping_;  // ask for a keepalive then
  bool gave_up_ = false;                             // Run() ended on a silence
  Lsn received_;                                     // highest WAL end seen
  Lsn last_flush_sent_;
  std::vector<WalEvent> pending_;  // read, not yet handed over
  // The WAL end of the last keepalive not yet handed over.  PostgreSQL 15
  // sends one per commit it skips (most commits touch no published table):
  // only the last of a run matters, so a run becomes one event, handed over
  // before the next data message or after kKeepaliveHandoff.
  std::optional<Lsn> idle_keepalive_;
  std::chrono::steady_clock::time_point last_keepalive_handoff_;
  ReaderStats stats_;
};

}  // namespace partwatch::replication
