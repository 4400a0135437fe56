#include "src/runner.h"

#include <csignal>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <concurrentqueue/blockingconcurrentqueue.h>
#include <spdlog/spdlog.h>

#include "decoder/pgoutput.h"
#include "policy/policy.h"
#include "src/catalog.h"
#include "src/drain/drain.h"
#include "src/executor/executor.h"
#include "src/pg/connection.h"
#include "src/pg/pieces.h"
#include "src/replication/stream.h"
#include "src/setup.h"

namespace partwatch {

namespace {

constexpr auto kQueueWait = std::chrono::milliseconds(100);
// How often values left over their threshold by a failed move are retried.
constexpr auto kRedecideInterval = std::chrono::seconds(30);
// At most this often, a refresh for rows that fell inside a known partition.
constexpr auto kStaleRefreshInterval = std::chrono::seconds(5);
// The replication stream's silence limit when source.max_silence_ms is 0
// and the server's wal_sender_timeout is 0 (disabled) too.
constexpr std::chrono::milliseconds kSilenceFallback{60'000};

std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;
// Set by SIGHUP; the session's main thread takes it (ReloadRequested()).
std::atomic<bool> g_reload{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void OnSignal(int sig) {
  g_signal = sig;
  g_stop.store(true);
}

void OnSighup(int) { g_reload.store(true); }

std::vector<TableInfo> DescribeAll(pg::Connection& conn, const Config& config) {
  std::vector<TableInfo> out;
  for (const TableConfig& tc : config.tables) out.push_back(DescribeConfigured(conn, tc));
  return out;
}

std::vector<policy::TableRule> MakeRules(const Config& config,
                                         const std::vector<TableInfo>& infos) {
  std::vector<policy::TableRule> rules;
  for (size_t i = 0; i < infos.size(); ++i) rules.push_back(RuleFor(config.tables[i], infos[i]));
  return rules;
}

// The catalog and rules as last read, and the configuration they were made
// from: the policy thread replaces them after a refresh or a reload, the
// executor reads them.  Entries are index-aligned with config->tables.
struct CatalogSnapshot {
  std::vector<TableInfo> infos;
  std::vector<policy::TableRule> rules;
  std::shared_ptr<const Config> config;
};

// The configuration in force for the process: RunWatcher's, replaced by a
// reload (from the policy thread), read by the next session.
class ConfigInForce {
 public:
  explicit ConfigInForce(Config config)
      : config_(std::make_shared<const Config>(std::move(config))) {}
  std::shared_ptr<const Config> Get() const {
    std::lock_guard lock(mu_);
    return config_;
  }
  void Set(std::shared_ptr<const Config> config) {
    std::lock_guard lock(mu_);
    config_ = std::move(config);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const Config> config_;
};

// A reloaded configuration on its way from the main thread, which read and
// checked the file, to the policy thread, which applies it.
struct PendingReload {
  std::shared_ptr<const Config> config;
  ReloadDiff diff;
};

constexpr const char* kNothingApplies =
    "SIGHUP: nothing of the new file applies; the configuration in force stays";

// Reads the file again after a SIGHUP and checks it against `current`.
// Logs and returns nullopt when the file does not load or needs a restart.
std::optional<PendingReload> ReadReload(const Config& current) {
  PendingReload reload;
  try {
    reload.config = std::make_shared<const Config>(LoadConfig(current.path));
  } catch (const ConfigError& e) {
    // The text `partwatch run` prints for the same file at start-up.
    spdlog::error("configuration error: {} ({})", e.what(), kNothingApplies);
    return std::nullopt;
  }
  reload.diff = DiffForReload(current, *reload.config);
  if (!reload.diff.restart_needed.empty()) {
    std::string what;
    for (const auto& r : reload.diff.restart_needed) what += (what.empty() ? "" : "; ") + r;
    spdlog::error("{}: {}: only a restart of partwatch applies that ({})", current.path, what,
                  kNothingApplies);
    return std::nullopt;
  }
  return reload;
}

class SharedCatalog {
 public:
  explicit SharedCatalog(CatalogSnapshot snap)
      : snap_(std::make_shared<const CatalogSnapshot>(std::move(snap))) {}
  std::shared_ptr<const CatalogSnapshot> Get() const {
    std::lock_guard lock(mu_);
    return snap_;
  }
  void Set(CatalogSnapshot snap) {
    auto next = std::make_shared<const CatalogSnapshot>(std::move(snap));
    std::lock_guard lock(mu_);
    snap_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const CatalogSnapshot> snap_;
};

std::string IntervalText(const policy::Bucketer& b) {
  const policy::RangeInterval& iv = b.interval();
  if (iv.width) return std::to_string(iv.width);
  if (iv.months) return std::to_string(iv.months) + " month(s)";
  if (iv.days) return std::to_string(iv.days) + " day(s)";
  return iv.micros % 1000000 == 0 ? std::to_string(iv.micros / 1000000) + " s"
                                  : std::to_string(iv.micros) + " us";
}

// `without_commit` says when decisions no commit crossed (DecideAll's) were
// made.
void LogDecisions(const std::vector<policy::Decision>& decisions,
                  const std::vector<policy::TableRule>& rules,
                  const char* without_commit = "at start-up") {
  for (const policy::Decision& d : decisions) {
    spdlog::info(
        "table {} value {}: {} rows counted in DEFAULT {}, more than the threshold {}: "
        "decided to {}",
        rules[d.table].parent, d.value.ForLog(), d.streamed_count,
        d.commit_lsn.valid() ? "after commit " + d.commit_lsn.ToString()
                             : std::string(without_commit),
        rules[d.table].ThresholdFor(d.value), policy::ActionKindName(d.kind));
  }
}

}  // namespace

std::atomic<bool>& StopRequested() { return g_stop; }

void InstallRunSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = OnSighup;
  sigemptyset(&hup.sa_mask);
  hup.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &hup, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

namespace {

// Why a session ended.
enum class SessionEnd {
  kStopped,    // SIGTERM/SIGINT: exit 0
  kTransient,  // connection lost, server restarted, slot busy or lost: try again
  kFatal,      // configuration or server set-up the operator must fix: exit 1
};

struct SessionResult {
  SessionEnd end = SessionEnd::kStopped;
  std::string message;
  bool streamed = false;  // reached START_REPLICATION
};

// An error that retrying cannot fix (bad table, wal_level, privileges,
// undecodable stream).
class FatalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Counts DEFAULT per value for every table, as of `snapshot` (exported by
// the slot or a pg::SnapshotHolder), and seeds the policy with the most
// frequent values, as many as it tracks; the rest are covered by the
// table's floor (no value left out has more rows than the last one seeded).
// The count runs in ctid pieces of its own transactions, each importing the
// snapshot and keeping its lock under executor.yield_after: a DDL queued
// behind it waits one piece, not the whole count of a large DEFAULT.
void SeedCounts(pg::Connection& sql, const Config& config, const std::string& snapshot,
                const std::vector<TableInfo>& infos, policy::Policy* policy) {
  pg::PieceOptions pieces = CountPieces(config.executor, &StopRequested());
  pieces.snapshot = snapshot;
  for (size_t i = 0; i < infos.size(); ++i) {
    const size_t limit = policy->rules()[i].max_tracked_values;
    const auto counts = CountDefaultByValue(sql, infos[i], limit, pieces);
    for (const auto& vc : counts) policy->Seed(i, vc.value, vc.rows);
    if (counts.size() == limit) policy->SeedUntracked(i, counts.back().rows);
  }
}

// What outlives one session: the configuration in force and the flood
// guard's memory.
struct ProcessState {
  ConfigInForce& config;
  executor::PartitionRateLimiter& limiter;
  bool fixed_log_level = false;  // --log-level given: [log] level is ignored
};

// One connected session: set-up, the three threads, until a stop or an
// error.  Every connection and thread it makes is gone when it returns.  It
// runs with the configuration in force when it starts; a SIGHUP while it
// streams replaces the settings that apply at once (docs/configuration.md,
// "Reloading") for it and the sessions after it.
SessionResult RunSession(ProcessState& process, bool first) {
  const std::shared_ptr<const Config> session_config = process.config.Get();
  // [source] and the [[table]] list never change during a session (a
  // reload that changes them is refused); the rest is read from the
  // catalog snapshot's configuration.
  const Config& config = *session_config;
  executor::PartitionRateLimiter& limiter = process.limiter;
  SessionResult result;
  std::atomic<bool>& global_stop = StopRequested();
  try {
    pg::Connection sql;
    try {
      sql = OpenSession(config, "catalog");
    } catch (const CatalogError& e) {
      throw FatalError(e.what());  // source.time_zone rejected: retrying cannot help
    }
    try {
      CheckServerForStreaming(sql);
    } catch (const CatalogError& e) {
      throw FatalError(e.what());
    }
    std::vector<TableInfo> infos;
    try {
      infos = DescribeAll(sql, config);
      for (size_t i = 0; i < infos.size(); ++i) {
        if (auto err = CheckTablePrivileges(sql, infos[i])) throw CatalogError(*err);
      }
    } catch (const CatalogError& e) {
      throw FatalError(e.what());
    }
    for (size_t i = 0; i < infos.size(); ++i) {
      std::string range;
      if (infos[i].range) {
        const RangeSpec& rs = *infos[i].range;
        range =
            fmt::format(", buckets of {} ({}){}", IntervalText(*rs.bucketer), rs.interval_source,
                        rs.partman ? ", pg_partman " + rs.partman->version +
                                         " naming, rows after the newest child moved at once"
                                   : ", names " + rs.name_template);
      }
      spdlog::log(first ? spdlog::level::info : spdlog::level::debug,
                  "watching {} ({} on {} {}), DEFAULT partition {}.{}, {} partition(s), "
                  "threshold {}, action {}{}",
                  infos[i].DisplayName(), infos[i].StrategyName(), infos[i].key[0].name,
                  infos[i].key[0].type_name, infos[i].default_partition.nspname,
                  infos[i].default_partition.relname, infos[i].partitions.size(),
                  config.tables[i].threshold, policy::ActionKindName(config.tables[i].action),
                  range);
    }
    std::optional<SlotState> slot = QuerySlot(sql, config.source.slot);
    if (auto other = SlotOfAnotherDatabase(sql, config.source.slot, slot)) throw FatalError(*other);
    if (slot && slot->active_pid) {
      result.end = SessionEnd::kTransient;
      result.message = "replication slot " + config.source.slot + " is in use by server process " +
                       std::to_string(*slot->active_pid) + " (another partwatch?)";
      return result;
    }
    if (slot && slot->plugin != "pgoutput") {
      throw FatalError("replication slot " + config.source.slot + " uses plugin " + slot->plugin +
                       "; partwatch needs a pgoutput slot: set source.slot to another name");
    }
    if (slot && slot->wal_status == "lost") {
      // The server removed WAL the slot still needed: its position is
      // meaningless.  A new slot and a fresh count start exact again.
      spdlog::warn(
          "replication slot {} was invalidated (wal_status = lost, the server removed "
          "WAL it needed); dropping it, re-creating it and recounting DEFAULT",
          config.source.slot);
      DropSlot(sql, config.source.slot);
      slot.reset();
    }

    for (const TableInfo& info : infos) {
      // A drain killed with kill -9 leaves its capture trigger on DEFAULT
      // (one log insert per write) until someone cleans up: do it here.
      try {
        for (const std::string& dropped :
             drain::CleanupLeftovers(sql, info, config.executor.lock_timeout)) {
          spdlog::warn("table {}: dropped {}, left by an interrupted drain", info.DisplayName(),
                       dropped);
        }
      } catch (const drain::DrainError& e) {
        spdlog::info("table {}: not cleaning drain leftovers now: {}", info.DisplayName(),
                     e.what());
      }
    }
    // Only now, with the slot known to be ours and free, touch the
    // publication: a refused instance must not rewrite a running one's.
    try {
      const std::string pub_change = EnsurePublication(sql, config.source.publication, infos);
      if (!pub_change.empty()) spdlog::info("{}", pub_change);
    } catch (const CatalogError& e) {
      throw FatalError(e.what());
    }

    replication::ReplicationConnection repl =
        replication::ReplicationConnection::Open(config.source.dsn);
    // Key values arrive as output-function text: the same DateStyle and
    // TimeZone as the SQL sessions, so RANGE bounds and values compare.
    SetSessionDefaults(repl.conn(), sql.Exec("SHOW TimeZone").text(0, 0));
    const replication::SystemIdentity id = repl.IdentifySystem();
    spdlog::info("connected to system {} timeline {} database {} at WAL {}", id.system_id,
                 id.timeline, id.dbname, id.xlogpos.ToString());
    if (slot && slot->database != id.dbname) {
      throw FatalError("replication slot " + config.source.slot + " belongs to database " +
                       slot->database + ", not " + id.dbname + "; set source.slot to another name");
    }

    policy::Policy policy(MakeRules(config, infos));
    Lsn start;
    if (!slot) {
      // A new slot exports the snapshot of its consistent point: counting
      // DEFAULT in it and streaming from that point counts every row once.
      const replication::CreatedSlot created = repl.CreateSlot(config.source.slot, true);
      SeedCounts(sql, config, created.snapshot_name, infos, &policy);
      start = created.consistent_point;
      spdlog::info(
          "created replication slot {} at {}; initial DEFAULT counts are exact as of "
          "that point",
          config.source.slot, start.ToString());
    } else {
      // An existing slot resumes at its confirmed position, which is never
      // ahead of the count below: rows may be counted twice (the executor
      // re-counts exactly before acting), never missed.  The pieces of the
      // count share one snapshot (PieceOptions::consistent), so none is
      // missed within DEFAULT either.
      SeedCounts(sql, config, "", infos, &policy);
      start = slot->confirmed_flush_lsn;
      spdlog::info("resuming replication slot {} at {} (retained WAL {} bytes, wal_status {})",
                   config.source.slot, start.ToString(), slot->retained_wal_bytes,
                   slot->wal_status);
    }

    // Status updates confirm what the policy accounted for: from the start
    // on, never less than where this session began.
    policy.ResumeFrom(start);

    // How long the server may send nothing before the stream is given up:
    // its own wal_sender_timeout, after which it would give up on us.
    std::chrono::milliseconds max_silence = config.source.max_silence;
    if (max_silence.count() == 0) {
      const int64_t timeout_ms =
          sql.Exec("SELECT setting::bigint FROM pg_settings WHERE name = 'wal_sender_timeout'")
              .int64(0, 0);
      max_silence = timeout_ms > 0 ? std::chrono::milliseconds(timeout_ms) : kSilenceFallback;
    }

    replication::StreamOptions opts;
    opts.slot = config.source.slot;
    opts.publication = config.source.publication;
    opts.proto_version = 2;
    opts.streaming = true;
    try {
      repl.StartReplication(opts, start);
    } catch (const pg::PgError& e) {
      result.end = SessionEnd::kTransient;
      result.message = e.sqlstate() == pg::kObjectInUse
                           ? std::string(e.what()) + " (another partwatch?)"
                           : std::string("START_REPLICATION failed: ") + e.what();
      return result;
    }
    result.streamed = true;
    spdlog::info("streaming from slot {} (pgoutput proto_version {}, publication {})",
                 config.source.slot, opts.proto_version, config.source.publication);

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> accounted{start.value()};
    replication::WalQueue wal_queue;
    moodycamel::BlockingConcurrentQueue<policy::Decision> decisions;
    moodycamel::ConcurrentQueue<policy::Outcome> outcomes;
    SharedCatalog catalog(CatalogSnapshot{infos, policy.rules(), session_config});
    // Handed from the main thread (which reads the file) to the policy
    // thread (which owns the policy and the catalog connection).
    std::mutex reload_mu;
    std::optional<PendingReload> pending_reload;
    std::atomic<bool> reader_done{false};
    std::mutex error_mu;
    auto fail = [&](SessionEnd end, const std::string& what) {
      {
        std::lock_guard lock(error_mu);
        if (result.end == SessionEnd::kStopped) {
          result.end = end;
          result.message = what;
        }
      }
      stop.store(true);
    };

    replication::Reader reader(repl, wal_queue, accounted, stop, config.source.status_interval,
                               max_silence);
    std::thread reader_thread([&] {
      try {
        reader.Run();
      } catch (const std::exception& e) {
        fail(SessionEnd::kTransient, std::string("replication stream: ") + e.what());
      }
      reader_done.store(true);
    });

    // Seeded counts may already be over a threshold: decide on them now.
    std::vector<policy::Decision> initial = policy.DecideAll();
    LogDecisions(initial, policy.rules());
    for (auto& d : initial) decisions.enqueue(std::move(d));

    std::thread policy_thread([&] {
      try {
        pg::Connection catalog_conn = std::move(sql);
        pgoutput::PgOutputDecoder decoder(opts.proto_version);
        // The configuration in force: the session's, then each reload's.
        std::shared_ptr<const Config> current = session_config;
        // Re-reads the configured tables (after partwatch's own DDL, or when
        // the stream names an unknown relation).
        auto refresh_catalog = [&] {
          try {
            std::vector<TableInfo> fresh = DescribeAll(catalog_conn, *current);
            std::vector<policy::TableRule> rules = MakeRules(*current, fresh);
            // Same tables, same indices: decisions in flight stay valid
            // (policy.h, SetRules).
            policy.SetRules(rules);
            catalog.Set(CatalogSnapshot{std::move(fresh), std::move(rules), current});
          } catch (const CatalogError& e) {
            // A configured table changed under us (dropped, DEFAULT
            // detached): keep counting with what we knew and say so.
            spdlog::warn("catalog refresh failed, keeping the previous catalog: {}", e.what());
          }
        };
        // Applies a reload checked by the main thread: new rules (same
        // tables, same indices, so SetRules may run with decisions in
        // flight), the executor's limits through the snapshot, the log
        // level, and decisions for values the new thresholds already pass.
        auto apply_reload = [&](PendingReload reload) {
          std::vector<TableInfo> fresh;
          std::vector<policy::TableRule> rules;
          try {
            fresh = DescribeAll(catalog_conn, *reload.config);
            rules = MakeRules(*reload.config, fresh);
          } catch (const CatalogError& e) {
            spdlog::error("{}: {} ({})", reload.config->path, e.what(), kNothingApplies);
            return;
          }
          policy.SetRules(rules);
          for (size_t t : reload.diff.redecide_tables) policy.ForgetAlerts(t);
          current = reload.config;
          catalog.Set(CatalogSnapshot{std::move(fresh), std::move(rules), current});
          process.config.Set(current);
          std::string changes;
          for (const auto& c : reload.diff.changes) changes += (changes.empty() ? "" : "; ") + c;
          if (reload.diff.log_level_changed) {
            if (process.fixed_log_level) {
              changes += " (not applied: --log-level overrides [log] level)";
            } else {
              spdlog::set_level(spdlog::level::from_str(current->log_level));
            }
          }
          spdlog::info("configuration reloaded from {}: {}", current->path,
                       changes.empty() ? std::string("nothing changed") : changes);
          std::vector<policy::Decision> again = policy.DecideAll();
          LogDecisions(again, policy.rules(), "after the configuration reload");
          for (auto& d : again) decisions.enqueue(std::move(d));
        };
        // Bulk hand-off: one wake-up for everything a socket read delivered.
        std::vector<replication::WalEvent> batch(256);
        policy::Outcome outcome;
        auto next_redecide = std::chrono::steady_clock::now() + kRedecideInterval;
        std::set<size_t> stale_tables;  // RANGE tables whose partitions changed under us
        auto next_stale_refresh = std::chrono::steady_clock::now();
        for (;;) {
          std::optional<PendingReload> reload;
          {
            std::lock_guard lock(reload_mu);
            reload.swap(pending_reload);
          }
          if (reload) apply_reload(std::move(*reload));
          bool created = false;
          while (outcomes.try_dequeue(outcome)) {
            std::vector<policy::Decision> again = policy.OnOutcome(outcome);
            created |= outcome.kind == policy::Outcome::Kind::kDone;
            LogDecisions(again, policy.rules());
            for (auto& d : again) decisions.enqueue(std::move(d));
          }
          if (created) refresh_catalog();
          if (!stale_tables.empty() && std::chrono::steady_clock::now() >= next_stale_refresh) {
            // A RANGE row fell inside a partition we know of: one was dropped
            // or detached (pg_partman retention).  Re-read the partitions and
            // recount those tables, so rows not counted meanwhile are not
            // missed (a recount can only raise counts: never below the truth).
            next_stale_refresh = std::chrono::steady_clock::now() + kStaleRefreshInterval;
            refresh_catalog();
            const auto snap = catalog.Get();
            for (size_t t : stale_tables) {
              if (t >= snap->infos.size()) continue;
              spdlog::info(
                  "table {}: a streamed row falls inside a partition that no longer takes it "
                  "(dropped or detached?); re-read the partitions, recounting DEFAULT",
                  snap->infos[t].DisplayName());
              // As many values as the policy tracks; no value left out has
              // more rows than the last one returned.
              const size_t limit = policy.rules()[t].max_tracked_values;
              const auto counts = CountDefaultByValue(
                  catalog_conn, snap->infos[t], limit,
                  CountPieces(current->executor, &StopRequested()));
              for (const auto& vc : counts) {
                if (vc.rows > policy.count(t, vc.value)) policy.Seed(t, vc.value, vc.rows);
              }
              if (counts.size() == limit) policy.SeedUntracked(t, counts.back().rows);
            }
            stale_tables.clear();
            std::vector<policy::Decision> again = policy.DecideAll();
            LogDecisions(again, policy.rules(), "after a recount");
            for (auto& d : again) decisions.enqueue(std::move(d));
          }
          if (std::chrono::steady_clock::now() >= next_redecide) {
            // Values whose move failed (lock timeouts, flood cap) and that no
            // commit has touched since are decided again here.
            next_redecide = std::chrono::steady_clock::now() + kRedecideInterval;
            std::vector<policy::Decision> again = policy.DecideAll();
            LogDecisions(again, policy.rules(), "at the periodic re-check");
            for (auto& d : again) decisions.enqueue(std::move(d));
          }
          const size_t got =
              wal_queue.wait_dequeue_bulk_timed(batch.begin(), batch.size(), kQueueWait);
          if (got == 0) {
            if (reader_done.load()) break;
            continue;
          }
          for (size_t i = 0; i < got; ++i) {
            replication::WalEvent& ev = batch[i];
            if (ev.kind == replication::WalEvent::Kind::kKeepalive) {
              policy.OnIdle(ev.wal_end);
            } else {
              const auto* base = reinterpret_cast<const std::byte*>(ev.buffer.get());
              Result<pgoutput::Message> msg = decoder.Decode(
                  std::span<const std::byte>(base + ev.payload_offset, ev.payload_size));
              if (!msg.ok()) {
                throw FatalError("cannot decode the message at " + ev.wal_start.ToString() + ": " +
                                 msg.error().message);
              }
              Result<policy::PolicyOutput> out = policy.OnMessage(msg.value());
              if (!out.ok()) {
                throw FatalError("protocol error at " + ev.wal_start.ToString() + ": " +
                                 out.error().message);
              }
              for (size_t t : out->stale_tables) stale_tables.insert(t);
              if (!out->unknown_relations.empty()) {
                for (const auto& rel : out->unknown_relations) {
                  spdlog::info(
                      "the stream names relation {} that matches no configured DEFAULT "
                      "partition; re-reading the catalog",
                      rel);
                }
                refresh_catalog();
              }
              LogDecisions(out->decisions, policy.rules());
              for (auto& d : out->decisions) decisions.enqueue(std::move(d));
            }
            ev.buffer.reset();  // free libpq's buffer now, not at the next batch
          }
          accounted.store(policy.accounted_lsn().value(), std::memory_order_release);
        }
      } catch (const FatalError& e) {
        fail(SessionEnd::kFatal, e.what());
      } catch (const std::exception& e) {
        fail(SessionEnd::kTransient, std::string("policy thread: ") + e.what());
      }
      accounted.store(policy.accounted_lsn().value(), std::memory_order_release);
    });

    std::thread executor_thread([&] {
      try {
        executor::Executor exec(OpenSession(config, "executor"), config.executor, config.drain,
                                stop, limiter);
        std::shared_ptr<const Config> applied = session_config;
        policy::Decision d;
        while (!stop.load()) {
          if (!decisions.wait_dequeue_timed(d, kQueueWait)) continue;
          const auto snap = catalog.Get();
          if (snap->config != applied) {  // a reload: [executor] and [drain] apply now
            applied = snap->config;
            exec.SetLimits(applied->executor, applied->drain);
          }
          const TableConfig& tc = applied->tables[d.table];
          // Act on the table as it is now, not as the snapshot saw it: a
          // RANGE table's buckets are clipped by its partitions, and an
          // earlier decision (or pg_partman) may have created some since;
          // any table's DEFAULT may have been replaced (same name, new oid)
          // by a `partwatch drain` run beside us, which the policy thread
          // does not notice (the stream's relations match rules by name).
          try {
            const TableInfo fresh = DescribeConfigured(exec.conn(), tc);
            outcomes.enqueue(
                exec.Execute(fresh, RuleFor(tc, fresh), d, tc.max_new_partitions_per_hour));
            continue;
          } catch (const CatalogError& e) {
            spdlog::warn("table {}: cannot re-read it before acting ({}); using the last catalog",
                         tc.name, e.what());
          }
          outcomes.enqueue(exec.Execute(snap->infos[d.table], snap->rules[d.table], d,
                                        tc.max_new_partitions_per_hour));
        }
      } catch (const std::exception& e) {
        fail(SessionEnd::kTransient, std::string("executor: ") + e.what());
      }
    });

    // The main thread watches: for a stop request, and over the slot's
    // retained WAL, on a connection of its own.
    std::optional<pg::Connection> monitor;
    auto next_check = std::chrono::steady_clock::now();
    while (!stop.load()) {
      if (global_stop.load()) {
        stop.store(true);
        break;
      }
      if (g_reload.exchange(false)) {
        // Read and check the file here; the policy thread applies it.
        if (std::optional<PendingReload> reload = ReadReload(*process.config.Get())) {
          std::lock_guard lock(reload_mu);
          pending_reload = std::move(reload);
        }
      }
      if (std::chrono::steady_clock::now() >= next_check) {
        next_check = std::chrono::steady_clock::now() + config.source.slot_check_interval;
        try {
          if (!monitor) monitor.emplace(OpenSession(config, "monitor"));
          const std::optional<SlotState> s = QuerySlot(*monitor, config.source.slot);
          if (!s) {
            fail(SessionEnd::kTransient, "replication slot " + config.source.slot +
                                             " disappeared (dropped, or a failover); re-creating "
                                             "it and recounting");
          } else if (s->wal_status == "lost") {
            fail(SessionEnd::kTransient,
                 "replication slot " + config.source.slot + " was invalidated (wal_status lost)");
          } else if (s->retained_wal_bytes > config.source.max_retained_wal_bytes) {
            spdlog::warn(
                "replication slot {} retains {} MiB of WAL (limit {} MiB, wal_status "
                "{}, confirmed_flush_lsn {})",
                config.source.slot, s->retained_wal_bytes >> 20,
                config.source.max_retained_wal_bytes >> 20, s->wal_status,
                s->confirmed_flush_lsn.ToString());
          } else {
            spdlog::debug("replication slot {}: retained WAL {} bytes, wal_status {}",
                          config.source.slot, s->retained_wal_bytes, s->wal_status);
          }
        } catch (const std::exception& e) {
          monitor.reset();  // the stream threads notice a dead server themselves
          spdlog::debug("slot check failed: {}", e.what());
        }
      }
      std::this_thread::sleep_for(kQueueWait);
    }

    executor_thread.join();  // returns once the action in flight ended
    reader_thread.join();
    policy_thread.join();
    if (pending_reload) g_reload.store(true);  // not applied yet: the next session does
    // Best effort: after a lost connection this fails at once.
    const std::string finish = reader.Finish();
    if (!finish.empty()) spdlog::debug("ending the replication stream: {}", finish);
    spdlog::info(
        "session ended at confirmed position {}; {} messages, {} keepalives, {} status "
        "updates",
        Lsn(accounted.load()).ToString(), reader.stats().messages.load(),
        reader.stats().keepalives.load(), reader.stats().status_updates.load());
    return result;
  } catch (const FatalError& e) {
    result.end = SessionEnd::kFatal;
    result.message = e.what();
  } catch (const std::exception& e) {
    result.end = SessionEnd::kTransient;
    result.message = e.what();
  }
  return result;
}

}  // namespace

int RunWatcher(const Config& config, bool loop, bool fixed_log_level) {
  std::atomic<bool>& stop = StopRequested();
  constexpr std::chrono::milliseconds kFirstDelay{500};
  constexpr std::chrono::milliseconds kMaxDelay{10'000};
  std::chrono::milliseconds delay = kFirstDelay;
  // The flood guard counts for the process: a session that flaps must not
  // start max_new_partitions_per_hour over.
  executor::PartitionRateLimiter limiter;
  ConfigInForce in_force(config);
  ProcessState process{in_force, limiter, fixed_log_level};
  for (int attempt = 1;; ++attempt) {
    const SessionResult r = RunSession(process, attempt == 1 && delay == kFirstDelay);
    if (r.end == SessionEnd::kStopped || stop.load()) {
      spdlog::info("stopped on {}", g_signal == SIGTERM  ? "SIGTERM"
                                    : g_signal == SIGINT ? "SIGINT"
                                                         : "request");
      return 0;
    }
    if (r.end == SessionEnd::kFatal) {
      spdlog::error("{}", r.message);
      return 1;
    }
    if (!loop) {
      spdlog::error("{} (--no-loop: not retrying)", r.message);
      return 1;
    }
    if (r.streamed) {
      delay = kFirstDelay;
      attempt = 1;
    }
    spdlog::warn("{}; retrying in {} ms (attempt {})", r.message, delay.count(), attempt);
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until && !stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    delay = std::min(delay * 2, kMaxDelay);
  }
}

int RunSetup(const Config& config) {
  try {
    pg::Connection sql = OpenSession(config, "setup");
    CheckServerForStreaming(sql);
    std::vector<TableInfo> infos = DescribeAll(sql, config);
    for (const TableInfo& t : infos) {
      if (auto err = CheckTablePrivileges(sql, t)) throw CatalogError(*err);
    }
    const std::optional<SlotState> slot = QuerySlot(sql, config.source.slot);
    if (auto other = SlotOfAnotherDatabase(sql, config.source.slot, slot)) {
      throw std::runtime_error(*other);
    }
    const std::string change = EnsurePublication(sql, config.source.publication, infos);
    spdlog::info("{}", change.empty()
                           ? "publication " + config.source.publication + " is up to date"
                           : change);
    if (slot) {
      spdlog::info("replication slot {} exists", config.source.slot);
    } else {
      replication::ReplicationConnection repl =
          replication::ReplicationConnection::Open(config.source.dsn);
      const auto created = repl.CreateSlot(config.source.slot, false);
      spdlog::info("created replication slot {} at {}", config.source.slot,
                   created.consistent_point.ToString());
    }
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

int RunTeardown(const Config& config) {
  try {
    pg::Connection sql = OpenSession(config, "teardown");
    const std::optional<SlotState> slot = QuerySlot(sql, config.source.slot);
    if (auto other = SlotOfAnotherDatabase(sql, config.source.slot, slot)) {
      throw std::runtime_error(*other + "; not dropping it");
    }
    if (slot && slot->active_pid) {
      throw std::runtime_error("replication slot " + config.source.slot +
                               " is in use by server process " + std::to_string(*slot->active_pid) +
                               "; stop partwatch run first");
    }
    const bool slot_dropped = DropSlot(sql, config.source.slot);
    spdlog::info("replication slot {}: {}", config.source.slot,
                 slot_dropped ? "dropped" : "did not exist");
    const bool pub_dropped = DropPublication(sql, config.source.publication);
    spdlog::info("publication {}: {}", config.source.publication,
                 pub_dropped ? "dropped" : "did not exist");
    return 0;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}

}  // namespace partwatch
