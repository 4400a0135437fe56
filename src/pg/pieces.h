// Long reads of a user table in short pieces, so that partwatch never keeps
// a lock on it long enough to head a lock queue.
//
// Why: PostgreSQL's lock queue is first come, first served.  A statement
// that reads DEFAULT for seconds holds ACCESS SHARE on it all along; an
// ordinary `ALTER TABLE parent ...` (or pg_partman's ATTACH) then waits for
// ACCESS EXCLUSIVE behind it, and every later query of the table -- the
// application's inserts through the parent among them -- waits behind the
// DDL.  A read cut into ctid ranges, each in a transaction of its own,
// releases its lock between pieces: a queued DDL waits at most one piece.
//
// ForEachPiece runs `sql(where)` for consecutive ranges of `relation`'s
// pages, `where` being a ctid condition ("ctid >= '(0,0)'::tid AND ctid <
// '(128,0)'::tid"; the last range is open-ended).  Each piece is one
// transaction: BEGIN [ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION
// SNAPSHOT snapshot]; statement_timeout = `limit`, lock_timeout =
// `lock_timeout`; the statement; COMMIT.  Pieces are sized to take about
// `target` from how long the previous ones took; a piece cancelled by its
// statement_timeout is rolled back and retried at half the size, one whose
// lock wait timed out (a DDL holds the table) is retried after a pause.  So
// no piece holds its locks longer than `limit`, whatever the machine, but
// for a single page that cannot be read within it (rows that are very
// expensive to write, say through a slow index expression), which gets
// `page_limit`.
//
// With a `snapshot` (pg_export_snapshot(), or a slot's exported snapshot),
// or `consistent`, every piece sees the table as of one snapshot: the
// pieces together read each row exactly once.  Otherwise each piece takes
// its own snapshot: rows updated during the scan may be read twice or not
// at all.
//
// Thread-safety: uses `conn` exclusively until it returns.  REQUIRES: conn
// is not inside a transaction.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "src/pg/connection.h"

namespace partwatch::pg {

struct PieceOptions {
  std::string snapshot;  // "" = see `consistent`
  // Without a `snapshot`: true opens a SnapshotHolder on a second connection
  // (Connection::OpenLike) when the scan takes more than one piece, so the
  // pieces still read one snapshot; false lets each piece take its own.
  bool consistent = true;
  std::chrono::milliseconds target{50};
  std::chrono::milliseconds limit{200};
  std::chrono::milliseconds lock_timeout{200};
  // The statement_timeout of a single page that `limit` cut short: it is
  // the smallest piece there is, so it gets this much (logged as a warning:
  // such a page heads a lock queue for as long as it takes).
  std::chrono::milliseconds page_limit{60'000};
  int64_t first_pages = 256;
  int64_t max_pages = 0;  // a cap on a piece's size; 0 = none
  // Checked between pieces; set: ForEachPiece throws PgError("stopped").
  const std::atomic<bool>* stop = nullptr;
};

struct PieceStats {
  int64_t pieces = 0;
  int64_t pages = 0;                     // pages the scan covered (size when it started)
  int64_t cancelled = 0;                 // pieces rolled back by their statement_timeout
  int64_t lock_waits = 0;                // pieces whose lock wait timed out
  std::chrono::microseconds longest{0};  // longest piece, BEGIN to COMMIT
};

// Sizes the next piece from the last one: pure arithmetic, no I/O.
class PieceSizer {
 public:
  // `max_pages` 0: no cap.
  PieceSizer(int64_t first_pages, std::chrono::milliseconds target, int64_t max_pages = 0)
      : pages_(std::max<int64_t>(1, first_pages)), target_(target), max_pages_(max_pages) {
    if (max_pages_ > 0) pages_ = std::min(pages_, max_pages_);
  }
  int64_t pages() const { return pages_; }
  // A piece of pages() pages took `took`: aim the next at `target`, growing
  // at most 4x and shrinking at most 8x per step.
  void Took(std::chrono::microseconds took);
  // A piece was cancelled: halve (never below 1).  Returns false when it was
  // already a single page.
  bool Halve();

 private:
  int64_t pages_;
  std::chrono::milliseconds target_;
  int64_t max_pages_;
};

// A statement for one ctid range; `where` is the range's condition.
using PieceSql = std::function<std::string(const std::string& where)>;
// Called with each piece's result after its COMMIT.
using PieceConsumer = std::function<void(const QueryResult&)>;

// See the file comment.  `relation` is a quoted, qualified name.  Throws
// PgError for a lost connection, a server error other than the two above,
// a single page that cannot be read within `page_limit`, or a stop.
PieceStats ForEachPiece(Connection& conn, const std::string& relation, const PieceSql& sql,
                        const PieceConsumer& consume, const PieceOptions& options);

// A REPEATABLE READ READ ONLY transaction on a connection of its own that
// exports its snapshot for ForEachPiece and holds it until destroyed.  It
// takes no lock on any table (it never reads one); it does hold back
// VACUUM's horizon while it lives.
class SnapshotHolder {
 public:
  // Takes ownership of `conn` (an ordinary session, outside a transaction).
  explicit SnapshotHolder(Connection conn);
  ~SnapshotHolder();
  SnapshotHolder(const SnapshotHolder&) = delete;
  SnapshotHolder& operator=(const SnapshotHolder&) = delete;
  const std::string& name() const { return name_; }

 private:
  Connection conn_;
  std::string name_;
};

// "'123ms'": a timeout setting, never '0ms' (which would disable it).
std::string TimeoutLiteral(std::chrono::milliseconds d);

}  // namespace partwatch::pg
