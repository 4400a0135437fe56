// The Drainer's copy and replay (drainer.h): DEFAULT's rows into stage
// under one exported snapshot in short pieces (Copy), then the change log
// applied to stage until little is left (CatchUp, Replay).
#include <algorithm>
#include <map>
#include <string>

#include <spdlog/spdlog.h>

#include "src/drain/drainer.h"
#include "src/fault.h"

namespace partwatch::drain::internal {

using std::chrono::duration_cast;

void Drainer::Copy() {
  const auto copy_start = Clock::now();
  std::map<uint32_t, size_t> target_index;
  for (size_t j = 0; j < planned_.size(); ++j) target_index[planned_[j].oid] = j;
  const std::string cols = ColumnList();
  // One snapshot for the whole copy, held by a transaction of its own that
  // touches no table; the copy itself runs in short pieces that import it.
  // So the copy reads every row of DEFAULT exactly once, as of that
  // snapshot, and yet holds ACCESS SHARE on DEFAULT only for one piece at a
  // time: a DDL queued behind the copy waits for one piece, not for the copy
  // (and everyone queued behind the DDL with it).
  pg::SnapshotHolder snapshot(conn_.OpenLike());
  pg::QueryResult size =
      conn_.Exec("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = " +
                 std::to_string(def_.oid));
  rows_total_ = size.rows() ? size.int64(0, 0) : 0;
  pg::PieceOptions pieces;
  pieces.snapshot = snapshot.name();
  pieces.limit = options_.yield_after;
  pieces.target = std::max(milliseconds(1), options_.yield_after / 4);
  pieces.lock_timeout = std::min(options_.lock_timeout, options_.yield_after);
  // About batch_rows per piece at most (reltuples per page; 100 when unknown).
  const pg::QueryResult pages =
      conn_.Exec("SELECT greatest(relpages, 1), reltuples FROM pg_class WHERE oid = " +
                 std::to_string(def_.oid));
  const double per_page =
      pages.rows() && std::stod(pages.text(0, 1)) > 0
          ? std::max(1.0, std::stod(pages.text(0, 1)) / static_cast<double>(pages.int64(0, 0)))
          : 100.0;
  pieces.max_pages = std::max<int64_t>(
      1, static_cast<int64_t>(static_cast<double>(options_.batch_rows) / per_page));
  pieces.first_pages = std::min<int64_t>(pieces.max_pages, 64);
  spdlog::info(
      "drain {}: copying about {} row(s) out of {}.{} in pieces of at most ~{} row(s), each "
      "holding its lock under {} ms",
      display_, rows_total_, def_.schema, def_.name,
      static_cast<int64_t>(static_cast<double>(pieces.max_pages) * per_page),
      options_.yield_after.count());
  Report("copy", -1);
  // The first piece also empties the log: the log rows the snapshot sees
  // are changes the copy sees too; what is left is exactly what it misses.
  bool log_emptied = false;
  const pg::PieceStats stats = pg::ForEachPiece(
      conn_, q_def_,
      [&](const std::string& where) {
        FaultPoint("drain.copy.piece");
        return CopyPieceSql(q_stage_, q_def_, cols, where, log_emptied ? "" : q_log_);
      },
      [&](const pg::QueryResult& r) {
        log_emptied = true;
        for (int i = 0; i < r.rows(); ++i) {
          const uint32_t oid = static_cast<uint32_t>(r.int64(i, 0));
          const int64_t n = r.int64(i, 1);
          summary_.rows_copied += n;
          if (auto it = target_index.find(oid); it != target_index.end()) {
            planned_[it->second].copied += n;
          } else {
            summary_.rows_left_in_default += n;
          }
        }
        rows_total_ = std::max(rows_total_, summary_.rows_copied);
        FaultPoint("drain.copy.committed");
        Report("copy", -1);
        CheckStop("copying");
      },
      pieces);
  summary_.copy_pieces = stats.pieces;
  summary_.copy_pieces_cancelled = stats.cancelled;
  summary_.longest_copy_piece = stats.longest;
  summary_.copy_took = duration_cast<microseconds>(Clock::now() - copy_start);
  const double secs = std::max(1e-6, static_cast<double>(summary_.copy_took.count()) / 1e6);
  spdlog::info(
      "drain {}: copied {} row(s) in {:.1f} s ({:.0f} rows/s; {} piece(s), the longest {:.1f} "
      "ms, {} cut short and retried): {} into {} new partition(s), {} stay in DEFAULT",
      display_, summary_.rows_copied, secs, static_cast<double>(summary_.rows_copied) / secs,
      stats.pieces, Millis(stats.longest), stats.cancelled,
      summary_.rows_copied - summary_.rows_left_in_default, planned_.size(),
      summary_.rows_left_in_default);
  // Statistics before the swap, so plans over the new partitions are sane
  // from their first query (ANALYZE samples; it blocks no reader or writer).
  std::string analyze;
  for (const Planned& t : planned_) analyze += (analyze.empty() ? "" : ", ") + t.qname;
  // Only the drain's own (unattached) tables are locked here, and the one
  // other locker to expect is autovacuum, which PostgreSQL cancels for us
  // after deadlock_timeout: wait for that, whatever the session's
  // lock_timeout (kept short for the tables the application uses).
  conn_.Exec("BEGIN; SET LOCAL lock_timeout = '10s'; ANALYZE " + analyze + ", " + q_new_ +
             "; COMMIT");
}

int64_t Drainer::Replay(std::optional<int64_t> max_rows) {
  const std::string arg = max_rows ? std::to_string(*max_rows) : "NULL";
  pg::QueryResult r = conn_.TryExec("SELECT " + q_replay_ + "(" + arg + ")");
  if (r.ok()) return r.int64(0, 0);
  const std::string state = r.sqlstate();
  if (state == kTruncatedState) throw DrainError(r.error_message());
  if (state == kMismatchState) {
    throw DrainError("the change log does not match the copy (" + r.error_message() +
                     "); nothing was changed. This is a bug: please report it with the table's "
                     "definition");
  }
  throw pg::PgError(r.error_message(), state);
}

void Drainer::CatchUp() {
  for (;;) {
    CheckStop("replaying changes");
    FaultPoint("drain.replay");
    const int64_t n = Replay(options_.replay_batch_rows);
    summary_.replayed_before_swap += n;
    if (n < options_.replay_batch_rows) {
      pending_ = conn_.Exec("SELECT count(*) FROM " + q_log_).int64(0, 0);
      Report("replay", pending_);
      if (pending_ < options_.swap_max_log_rows) return;
    } else {
      Report("replay", -1);
    }
  }
}

}  // namespace partwatch::drain::internal
