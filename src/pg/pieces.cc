#include "src/pg/pieces.h"

#include <algorithm>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

namespace partwatch::pg {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr int kMaxLockWaits = 600;  // with the pause below: minutes, then give up
constexpr milliseconds kLockWaitPause{100};

std::string Tid(int64_t block) { return "'(" + std::to_string(block) + ",0)'::tid"; }

}  // namespace

std::string TimeoutLiteral(milliseconds d) {
  return "'" + std::to_string(std::max<int64_t>(d.count(), 1)) + "ms'";
}

void PieceSizer::Took(microseconds took) {
  const double us = std::max<double>(1.0, static_cast<double>(took.count()));
  const double want = static_cast<double>(duration_cast<microseconds>(target_).count());
  double factor = std::clamp(want / us, 1.0 / 8.0, 4.0);
  pages_ = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(pages_) * factor));
  if (max_pages_ > 0) pages_ = std::min(pages_, max_pages_);
}

bool PieceSizer::Halve() {
  if (pages_ == 1) return false;
  pages_ = std::max<int64_t>(1, pages_ / 2);
  return true;
}

PieceStats ForEachPiece(Connection& conn, const std::string& relation, const PieceSql& sql,
                        const PieceConsumer& consume, const PieceOptions& options) {
  PieceStats stats;
  stats.pages = conn.Exec("SELECT pg_relation_size(" + conn.QuoteLiteral(relation) +
                          "::regclass) / current_setting('block_size')::bigint")
                    .int64(0, 0);
  PieceSizer sizer(options.first_pages, options.target, options.max_pages);
  std::optional<SnapshotHolder> holder;
  std::string snapshot = options.snapshot;
  if (snapshot.empty() && options.consistent && stats.pages > sizer.pages()) {
    holder.emplace(conn.OpenLike());
    snapshot = holder->name();
  }
  const std::string begin =
      snapshot.empty() ? std::string("BEGIN")
                       : "BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT " +
                             conn.QuoteLiteral(snapshot);
  auto timeouts = [&](milliseconds limit) {
    return "SET LOCAL statement_timeout = " + TimeoutLiteral(limit) +
           "; SET LOCAL lock_timeout = " + TimeoutLiteral(options.lock_timeout);
  };
  bool page_alone = false;  // the next piece is a single page `limit` cut short
  int lock_waits = 0;
  for (int64_t from = 0;;) {
    if (options.stop && options.stop->load(std::memory_order_acquire)) {
      throw PgError("stopped", "");
    }
    const int64_t to = from + sizer.pages();
    // The last range is open: pages added since the size was read are read
    // too (with a snapshot they hold nothing it sees; without, new rows).
    std::string where = "ctid >= " + Tid(from);
    if (to < stats.pages) where += " AND ctid < " + Tid(to);
    const auto started = Clock::now();
    QueryResult r;
    try {
      conn.Exec(begin);
      conn.Exec(timeouts(page_alone ? options.page_limit : options.limit));
      r = conn.Exec(sql(where));
      conn.Exec("COMMIT");
    } catch (const PgError& e) {
      if (conn.connected()) conn.TryExec("ROLLBACK");
      if (!conn.connected()) throw;
      if (e.sqlstate() == kQueryCanceled) {
        ++stats.cancelled;
        if (page_alone) {
          throw PgError("one page of " + relation + " could not be read within " +
                            std::to_string(options.page_limit.count()) + " ms (" + e.what() + ")",
                        e.sqlstate());
        }
        if (!sizer.Halve()) {
          page_alone = true;
          spdlog::warn(
              "a single page of {} takes longer than {} ms to read; reading it alone under a "
              "statement_timeout of {} ms (it may keep others waiting for its lock meanwhile)",
              relation, options.limit.count(), options.page_limit.count());
        }
        continue;
      }
      if (e.sqlstate() == kLockNotAvailable) {
        ++stats.lock_waits;
        if (++lock_waits >= kMaxLockWaits) throw;
        std::this_thread::sleep_for(kLockWaitPause);
        continue;
      }
      throw;
    }
    const auto took = duration_cast<microseconds>(Clock::now() - started);
    stats.longest = std::max(stats.longest, took);
    ++stats.pieces;
    page_alone = false;
    lock_waits = 0;
    consume(r);
    if (to >= stats.pages) break;
    from = to;
    sizer.Took(took);
  }
  return stats;
}

SnapshotHolder::SnapshotHolder(Connection conn) : conn_(std::move(conn)) {
  conn_.Exec("SET application_name = 'partwatch snapshot'");
  conn_.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  name_ = conn_.Exec("SELECT pg_export_snapshot()").text(0, 0);
}

SnapshotHolder::~SnapshotHolder() {
  if (conn_.connected()) conn_.TryExec("COMMIT");
}

}  // namespace partwatch::pg
