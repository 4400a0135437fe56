#include "src/engine/policy_thread.h"

#include <set>
#include <vector>

#include <spdlog/spdlog.h>

#include "decoder/walsender.h"
#include "src/capture/tables_json.h"
#include "src/partition_sql.h"

namespace partwatch::engine {

namespace {

constexpr auto kQueueWait = std::chrono::milliseconds(100);
// How often values left over their threshold by a failed move are retried.
constexpr auto kRedecideInterval = std::chrono::seconds(30);
// At most this often, a refresh for rows that fell inside a known partition.
constexpr auto kStaleRefreshInterval = std::chrono::seconds(5);
// At most this often, DEFAULT's per-value counts go to the observer.
constexpr auto kCountsInterval = std::chrono::seconds(1);
// Most events taken from the source at once: one wake-up for everything a
// socket read delivered.
constexpr size_t kBatch = 256;

}  // namespace

size_t QueueSource::Read(std::span<replication::WalEvent> out, std::chrono::milliseconds wait) {
  return queue_.wait_dequeue_bulk_timed(out.begin(), out.size(), wait);
}

bool QueueSource::Finished() const {
  return reader_done_.load(std::memory_order_acquire) && queue_.size_approx() == 0;
}

PolicyThread::PolicyThread(Engine& engine, pg::Connection catalog_conn, Source& source, Sink& sink,
                           PolicyThreadContext context)
    : engine_(engine),
      catalog_conn_(std::move(catalog_conn)),
      source_(source),
      sink_(sink),
      ctx_(std::move(context)),
      current_(ctx_.config),
      thread_([this](std::stop_token stop) { Run(stop); }) {}

PolicyThread::~PolicyThread() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void PolicyThread::Join() {
  if (thread_.joinable()) thread_.join();
}

void PolicyThread::Run(std::stop_token stop) {
  try {
    Loop(stop);
  } catch (const EngineError& e) {
    ctx_.errors->Fail(session::SessionEnd::kFatal, e.what());
  } catch (const std::exception& e) {
    ctx_.errors->Fail(session::SessionEnd::kTransient, std::string("policy thread: ") + e.what());
  }
  Publish(/*force=*/true);
}

void PolicyThread::CaptureFailed(const std::exception& e) {
  spdlog::error(
      "capture: {}; capturing stops for this session, so the capture misses what streams from "
      "{} on (the slot is not held back for it)",
      e.what(), engine_.accounted().ToString());
  ctx_.capture = nullptr;
}

void PolicyThread::Publish(bool force) {
  Lsn accounted = engine_.accounted();
  if (ctx_.capture != nullptr) {
    try {
      ctx_.capture->Processed(accounted);
      accounted = ctx_.capture->Flush(force);
    } catch (const std::exception& e) {
      CaptureFailed(e);
    }
  }
  ctx_.accounted->store(accounted.value(), std::memory_order_release);
}

void PolicyThread::Decided(std::vector<policy::Decision> decisions, const char* without_commit) {
  if (decisions.empty()) return;
  LogDecisions(decisions, engine_.policy().rules(), without_commit);
  ctx_.observer->OnDecisions(decisions, engine_.policy().rules());
  sink_.OnDecisions(std::move(decisions));
}

void PolicyThread::Observe() {
  const policy::Policy& policy = engine_.policy();
  const std::vector<policy::TableRule>& rules = policy.rules();
  observed_rows_.resize(rules.size(), 0);
  for (size_t t = 0; t < rules.size(); ++t) {
    const int64_t rows = policy.committed_rows(t);
    if (rows > observed_rows_[t]) {
      ctx_.observer->OnStreamedRows(rules[t].parent, rows - observed_rows_[t]);
      observed_rows_[t] = rows;
    }
  }
  if (policy.last_commit_time() != observed_commit_time_) {
    observed_commit_time_ = policy.last_commit_time();
    ctx_.observer->OnCommitTime(
        static_cast<double>(observed_commit_time_ + walsender::kPostgresEpochOffsetMicros) / 1e6);
  }
  const size_t n = ctx_.observer->MaxValuesPerTable();
  const auto now = std::chrono::steady_clock::now();
  if (n == 0 || now < next_counts_) return;
  next_counts_ = now + kCountsInterval;
  std::vector<DefaultCounts> counts(rules.size());
  for (size_t t = 0; t < rules.size(); ++t) {
    counts[t].table = rules[t].parent;
    counts[t].top = policy.TopCounts(t, n, &counts[t].other_values, &counts[t].rows);
  }
  ctx_.observer->OnDefaultCounts(std::move(counts));
}

void PolicyThread::RefreshCatalog() {
  try {
    std::vector<TableInfo> fresh = session::DescribeAll(catalog_conn_, *current_);
    std::vector<policy::TableRule> rules = session::MakeRules(*current_, fresh);
    // Same tables, same indices: decisions in flight stay valid
    // (policy.h, SetRules).
    engine_.policy().SetRules(rules);
    if (ctx_.capture != nullptr) ctx_.capture->Tables(capture::TablesToJson(fresh));
    ctx_.catalog->Set(session::CatalogSnapshot{std::move(fresh), std::move(rules), current_});
  } catch (const CatalogError& e) {
    // A configured table changed under us (dropped, DEFAULT detached): keep
    // counting with what we knew and say so.
    spdlog::warn("catalog refresh failed, keeping the previous catalog: {}", e.what());
  }
}

// New rules (same tables, same indices, so SetRules may run with decisions
// in flight), the executor's limits through the snapshot, the log level,
// and decisions for values the new thresholds already pass.
void PolicyThread::ApplyReload(session::PendingReload reload) {
  std::vector<TableInfo> fresh;
  std::vector<policy::TableRule> rules;
  try {
    fresh = session::DescribeAll(catalog_conn_, *reload.config);
    rules = session::MakeRules(*reload.config, fresh);
  } catch (const CatalogError& e) {
    spdlog::error("{}: {} ({})", reload.config->path, e.what(), session::kNothingApplies);
    return;
  }
  policy::Policy& policy = engine_.policy();
  policy.SetRules(rules);
  for (size_t t : reload.diff.redecide_tables) policy.ForgetAlerts(t);
  current_ = reload.config;
  if (ctx_.capture != nullptr) ctx_.capture->Tables(capture::TablesToJson(fresh));
  ctx_.catalog->Set(session::CatalogSnapshot{std::move(fresh), std::move(rules), current_});
  ctx_.config_in_force->Set(current_);
  std::string changes;
  for (const auto& c : reload.diff.changes) changes += (changes.empty() ? "" : "; ") + c;
  if (reload.diff.log_level_changed) {
    if (ctx_.fixed_log_level) {
      changes += " (not applied: --log-level overrides [log] level)";
    } else {
      spdlog::set_level(spdlog::level::from_str(current_->log_level));
    }
  }
  spdlog::info("configuration reloaded from {}: {}", current_->path,
               changes.empty() ? std::string("nothing changed") : changes);
  Decided(policy.DecideAll(), "after the configuration reload");
}

// A recount can only raise counts: never below the truth.
void PolicyThread::Recount(size_t t) {
  const auto snap = ctx_.catalog->Get();
  if (t >= snap->infos.size()) return;
  spdlog::info(
      "table {}: a streamed row falls inside a partition that no longer takes it "
      "(dropped or detached?); re-read the partitions, recounting DEFAULT",
      snap->infos[t].DisplayName());
  policy::Policy& policy = engine_.policy();
  // As many values as the policy tracks; no value left out has more rows
  // than the last one returned.
  const size_t limit = policy.rules()[t].max_tracked_values;
  const auto counts = CountDefaultByValue(catalog_conn_, snap->infos[t], limit,
                                          CountPieces(current_->executor, ctx_.stop));
  for (const auto& vc : counts) {
    if (vc.rows > policy.count(t, vc.value)) policy.Seed(t, vc.value, vc.rows);
  }
  if (counts.size() == limit) policy.SeedUntracked(t, counts.back().rows);
}

void PolicyThread::Loop(std::stop_token stop) {
  policy::Policy& policy = engine_.policy();
  std::vector<replication::WalEvent> batch(kBatch);
  policy::Outcome outcome;
  auto next_redecide = std::chrono::steady_clock::now() + kRedecideInterval;
  std::set<size_t> stale_tables;  // RANGE tables whose partitions changed under us
  auto next_stale_refresh = std::chrono::steady_clock::now();
  // Seeded counts may already be over a threshold: decide on them first,
  // through the same path as every later decision.
  Decided(policy.DecideAll(), "at start-up");
  while (!stop.stop_requested()) {
    if (std::optional<session::PendingReload> reload = ctx_.reloads->Take()) {
      ApplyReload(std::move(*reload));
    }
    bool created = false;
    while (ctx_.outcomes->try_dequeue(outcome)) {
      created |= outcome.kind == policy::Outcome::Kind::kDone;
      Decided(policy.OnOutcome(outcome), "at start-up");
    }
    if (created) RefreshCatalog();
    if (!stale_tables.empty() && std::chrono::steady_clock::now() >= next_stale_refresh) {
      // A RANGE row fell inside a partition we know of: one was dropped or
      // detached (pg_partman retention).  Re-read the partitions and recount
      // those tables, so rows not counted meanwhile are not missed.
      next_stale_refresh = std::chrono::steady_clock::now() + kStaleRefreshInterval;
      RefreshCatalog();
      for (size_t t : stale_tables) Recount(t);
      stale_tables.clear();
      Decided(policy.DecideAll(), "after a recount");
    }
    if (std::chrono::steady_clock::now() >= next_redecide) {
      // Values whose move failed (lock timeouts, flood cap) and that no
      // commit has touched since are decided again here.
      next_redecide = std::chrono::steady_clock::now() + kRedecideInterval;
      Decided(policy.DecideAll(), "at the periodic re-check");
    }
    Observe();
    const size_t got = source_.Read(batch, kQueueWait);
    if (got == 0) {
      if (source_.Finished()) break;
      if (ctx_.capture != nullptr) Publish(false);  // fsync what waits, when due
      continue;
    }
    for (size_t i = 0; i < got; ++i) {
      replication::WalEvent& ev = batch[i];
      if (ctx_.capture != nullptr) {
        try {
          ctx_.capture->Append(ev);  // recorded before it is counted
        } catch (const std::exception& e) {
          CaptureFailed(e);
        }
      }
      policy::PolicyOutput out = engine_.OnEvent(ev);
      ev.buffer.reset();  // free libpq's buffer now, not at the next batch
      for (size_t t : out.stale_tables) stale_tables.insert(t);
      if (!out.unknown_relations.empty()) {
        for (const auto& rel : out.unknown_relations) {
          spdlog::info(
              "the stream names relation {} that matches no configured DEFAULT partition; "
              "re-reading the catalog",
              rel);
        }
        RefreshCatalog();
      }
      Decided(std::move(out.decisions), "at start-up");
    }
    Publish(false);
  }
}

}  // namespace partwatch::engine
