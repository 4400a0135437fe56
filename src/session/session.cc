#include "src/session/session.h"

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "policy/policy.h"
#include "src/alerts/recheck.h"
#include "src/capture/tables_json.h"
#include "src/capture/writer.h"
#include "src/catalog.h"
#include "src/drain/drain.h"
#include "src/engine/engine.h"
#include "src/engine/policy_thread.h"
#include "src/executor/executor_thread.h"
#include "src/partition_sql.h"
#include "src/pg/connection.h"
#include "src/pg/pieces.h"
#include "src/replication/stream.h"
#include "src/runner.h"
#include "src/session/slot_monitor.h"
#include "src/setup.h"

namespace partwatch::session {

namespace {

// How often the main thread looks at the stop flag, SIGHUP and the slot.
constexpr auto kMainLoopWait = std::chrono::milliseconds(100);
// The replication stream's silence limit when source.max_silence_ms is 0
// and the server's wal_sender_timeout is 0 (disabled) too.
constexpr std::chrono::milliseconds kSilenceFallback{60'000};
// pgoutput protocol version 2: streamed in-progress transactions.
constexpr int kProtoVersion = 2;

// An error that retrying cannot fix (bad table, wal_level, privileges,
// undecodable stream).
class FatalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string IntervalText(const policy::Bucketer& b) {
  const policy::RangeInterval& iv = b.interval();
  if (iv.width) return std::to_string(iv.width);
  if (iv.months) return std::to_string(iv.months) + " month(s)";
  if (iv.days) return std::to_string(iv.days) + " day(s)";
  return iv.micros % 1000000 == 0 ? std::to_string(iv.micros / 1000000) + " s"
                                  : std::to_string(iv.micros) + " us";
}

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

}  // namespace

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

    engine::Engine engine(MakeRules(config, infos), kProtoVersion);
    Lsn start;
    if (!slot) {
      // A new slot exports the snapshot of its consistent point: counting
      // DEFAULT in it and streaming from that point counts every row once.
      const replication::CreatedSlot created = repl.CreateSlot(config.source.slot, true);
      SeedCounts(sql, config, created.snapshot_name, infos, &engine.policy());
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
      SeedCounts(sql, config, "", infos, &engine.policy());
      start = slot->confirmed_flush_lsn;
      spdlog::info("resuming replication slot {} at {} (retained WAL {} bytes, wal_status {})",
                   config.source.slot, start.ToString(), slot->retained_wal_bytes,
                   slot->wal_status);
    }

    // Status updates confirm what the policy accounted for: from the start
    // on, never less than where this session began.
    engine.policy().ResumeFrom(start);

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
    opts.proto_version = kProtoVersion;
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
    // [capture]: opened once streaming was granted (so an instance refused
    // the slot never touches the directory).  At the first session a
    // capture that cannot be opened stops `run` with the reason; later, a
    // session streams without it rather than leave the slot unconsumed.
    std::unique_ptr<capture::Writer> capture_writer;
    if (!config.capture.dir.empty()) {
      try {
        capture_writer = std::make_unique<capture::Writer>(
            config.capture,
            capture::SessionInfo{id.system_id, id.timeline, config.source.slot, kProtoVersion,
                                 start, capture::TablesToJson(infos)});
      } catch (const capture::CaptureError& e) {
        if (first) throw FatalError(std::string("capture.dir: ") + e.what());
        spdlog::error(
            "capture: {}; this session streams without capturing (the capture misses "
            "what streams from {} on)",
            e.what(), start.ToString());
      }
    }

    spdlog::info("streaming from slot {} (pgoutput proto_version {}, publication {})",
                 config.source.slot, opts.proto_version, config.source.publication);
    engine::Observer& observer = *process.observer;
    {
      std::vector<std::string> names;
      for (const TableInfo& info : infos) names.push_back(info.DisplayName());
      observer.OnTables(names);
    }
    observer.OnStreaming(true);
    struct NotStreamingOnExit {
      engine::Observer& observer;
      ~NotStreamingOnExit() { observer.OnStreaming(false); }
    } not_streaming_on_exit{observer};

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> accounted{start.value()};
    replication::WalQueue wal_queue;
    DecisionQueue decisions;
    OutcomeQueue outcomes;
    SharedCatalog catalog(CatalogSnapshot{infos, engine.policy().rules(), session_config});
    ReloadMailbox reloads;
    SessionErrors errors(stop);
    std::atomic<bool> reader_done{false};

    replication::Reader reader(repl, wal_queue, accounted, stop, config.source.status_interval,
                               max_silence);
    std::jthread reader_thread([&] {
      try {
        reader.Run();
      } catch (const std::exception& e) {
        errors.Fail(SessionEnd::kTransient, std::string("replication stream: ") + e.what());
      }
      reader_done.store(true, std::memory_order_release);
    });

    executor::DecisionSink to_executor(decisions);

    engine::QueueSource source(wal_queue, reader_done);
    engine::PolicyThread policy_thread(
        engine, std::move(sql), source, to_executor,
        engine::PolicyThreadContext{session_config, &catalog, &reloads, &process.config,
                                    process.fixed_log_level, &outcomes, &accounted, &errors,
                                    &StopRequested(), &observer, capture_writer.get()});
    executor::ExecutorThread executor_thread(session_config, catalog, decisions, outcomes, limiter,
                                             stop, errors, observer);
    // Declared after the threads, so destroyed first: should anything below
    // throw, the threads are told to stop before their destructors join.
    struct StopOnExit {
      std::atomic<bool>& stop;
      ~StopOnExit() { stop.store(true); }
    } stop_on_exit{stop};

    // The main thread watches: for a stop request, a SIGHUP, and over the
    // slot, on a connection of its own.
    SlotMonitor monitor(config, observer);
    while (!stop.load()) {
      if (global_stop.load()) {
        stop.store(true);
        break;
      }
      if (ReloadRequested().exchange(false)) {
        // Read and check the file here; the policy thread applies it.
        if (std::optional<PendingReload> reload = ReadReload(*process.config.Get())) {
          reloads.Put(std::move(*reload));
        }
      }
      if (std::optional<std::string> why = monitor.MaybeCheck()) {
        errors.Fail(SessionEnd::kTransient, *why);
      }
      if (process.rechecker) process.rechecker->MaybeRun(*process.config.Get(), &stop);
      observer.OnAlive();
      std::this_thread::sleep_for(kMainLoopWait);
    }

    executor_thread.Join();  // returns once the action in flight ended
    reader_thread.join();
    policy_thread.Join();
    if (!reloads.empty()) ReloadRequested().store(true);  // not applied yet: the next session does
    result.end = errors.end();
    result.message = errors.message();
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

}  // namespace partwatch::session
