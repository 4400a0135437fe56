// The TOML configuration file: its keys, defaults and validation.  The full
// reference is docs/configuration.md; keep the two in step.
//
// LoadConfig throws ConfigError for anything wrong, with a message that
// names the file, the key (e.g. "table[2].threshold") and what is expected.
// Unknown keys are errors, so a typo never silently falls back to a default.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace partwatch {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SourceConfig {
  std::string dsn;  // libpq conninfo or URI; "" = PG* environment variables only
  std::string slot = "partwatch";
  std::string publication = "partwatch";
  // Standby status updates go out at least this often; keep it well under
  // the server's wal_sender_timeout (60 s by default).
  std::chrono::milliseconds status_interval{10'000};
  // The replication connection is given up (and the session reconnects)
  // when the server sent nothing for this long; 0 = the server's
  // wal_sender_timeout, or 60 s when that is 0 (disabled).
  std::chrono::milliseconds max_silence{0};
  // How often `run` checks the slot (retained WAL, wal_status, existence).
  std::chrono::milliseconds slot_check_interval{10'000};
  // Warn when the slot retains more WAL than this.
  int64_t max_retained_wal_bytes = int64_t{1024} << 20;
  // The TimeZone of every partwatch session (replication and SQL).  Daily and
  // longer buckets of timestamptz keys follow this zone's calendar, like
  // pg_partman's, which works in the session's zone.  "" = the server's
  // `timezone` setting.
  std::string time_zone;
};

struct ExecutorConfig {
  // Every statement of an action runs under this lock_timeout (capped at
  // yield_after: while partwatch waits in a lock queue, others wait behind).
  std::chrono::milliseconds lock_timeout{500};
  // No statement of partwatch's keeps a lock on a user table that others may
  // queue behind for longer than this: long reads of DEFAULT (counts, the
  // drain's copy) run in pieces under this statement_timeout.
  std::chrono::milliseconds yield_after{200};
  // statement_timeout of every other statement on partwatch's sessions.
  std::chrono::milliseconds statement_timeout{60'000};
  // Attempts per action before giving up until the next crossing commit.
  int max_attempts = 10;
  // First retry delay; doubles per attempt, capped at 30 s.
  std::chrono::milliseconds retry_base_delay{250};
  // true: take SHARE on the parent (blocks writes through the parent, not
  // reads) for the move, so no concurrent INSERT of the moved value can fail
  // with a partition-constraint error.  false: lock the DEFAULT partition
  // only (see docs/architecture.md, "Locks").
  bool lock_parent = true;
};

// The online drain (src/drain/drain.h): moves a DEFAULT backlog into its
// partitions by copying it aside and swapping DEFAULT in one short lock.
struct DrainConfig {
  // No exclusive lock on the parent or DEFAULT is held longer than this.
  std::chrono::milliseconds max_lock{200};
  // Rows copied per batch (one progress line each).
  int64_t batch_rows = 50'000;
  // `run` moves rows out of a DEFAULT partition larger than this with the
  // online drain rather than with one locked DELETE + ATTACH (whose lock time
  // grows with DEFAULT's size).
  int64_t online_above_bytes = int64_t{64} << 20;
};

// The HTTP endpoint of `run` (src/http/server.h): /metrics, /healthz,
// /readyz.  Unauthenticated.
struct HttpConfig {
  std::string listen;  // "host:port" as written; "" = no endpoint
  std::string host;    // parsed from `listen`: an IPv4 address or "localhost"
  int port = 0;
  // /readyz says not ready while the slot's confirmed lag is this or more.
  int64_t ready_max_lag_bytes = int64_t{64} << 20;
};

// [capture]: `run` records the stream it consumes for `replay`
// (docs/replay.md, docs/capture-format.md).  dir "" = no capture.
struct CaptureConfig {
  std::string dir;
  int64_t segment_size = int64_t{64} << 20;  // bytes; a segment is rotated past this
  std::chrono::milliseconds retain{0};        // segments older than this are removed; 0 = keep
  int64_t max_size = 0;                       // bytes of all segments; 0 = no bound
  bool zstd = false;                          // compression = "zstd"
  // The capture is fsync'ed at least this often while data arrives; the
  // slot's confirmed position follows what is synced.
  std::chrono::milliseconds sync_interval{200};
};

struct MetricsConfig {
  // Most values (RANGE: buckets) per table in partwatch_default_rows.
  size_t max_values_per_table = 100;
};

// [alerts] (src/alerts/, docs/alerting.md): named alerts with a firing ->
// resolved life cycle, and the channels they are delivered to.  Every
// channel is optional; every alert change is logged either way.
struct AlertsConfig {
  // Firing value alerts (threshold crossed, outlier held, capped, failed)
  // are re-counted exactly at least this often; resolved once DEFAULT no
  // longer holds more than the threshold.
  std::chrono::milliseconds recheck_interval{30'000};
  // PartwatchSlotRetainingWal fires past this much retained WAL.
  int64_t max_retained_wal_bytes = int64_t{1024} << 20;
  // PartwatchDisconnected fires after this long without a streaming session.
  std::chrono::milliseconds disconnected_for{60'000};
  // Alertmanager: firing alerts are pushed again this often.
  std::chrono::milliseconds resend_interval{60'000};
  // HTTP channels: connect + read timeout of one delivery attempt.
  std::chrono::milliseconds timeout{5'000};
  std::vector<std::string> webhook;       // URLs; Alertmanager webhook payload (version 4)
  std::vector<std::string> alertmanager;  // base URLs; POST <url>/api/v2/alerts
  std::string notify_channel;             // "" = no NOTIFY
  // Extra HTTP headers (e.g. Authorization); their values are never logged.
  std::vector<std::pair<std::string, std::string>> headers;

  bool any_channel() const {
    return !webhook.empty() || !alertmanager.empty() || !notify_channel.empty();
  }
};

// "30s", "5m", "1h", "250ms", "2d", or with words: "30 seconds", "5 minutes".
// nullopt when `text` is none of these (or zero or negative).
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text);

struct TableConfig {
  std::string name;  // SQL syntax: schema.table, quoted parts for mixed case
  int64_t threshold = 100;
  policy::ActionKind action = policy::ActionKind::kCreate;
  // "" = the default for the table's kind: "{parent}_{value}" for LIST, a
  // pg_partman-like "{parent}_p{from:%Y_%m_%d}" for RANGE (by interval), and
  // pg_partman's own naming for tables pg_partman manages.
  std::string partition_name;
  // RANGE tables: the bucket width.  `interval` is PostgreSQL interval text
  // ("1 day", "1 month", "1 year", "1 hour", "7 days"), `interval_width` an
  // integer width for integer keys.  Neither: pg_partman's part_config when
  // it manages the table, else inferred from the existing partitions.
  std::string interval;
  int64_t interval_width = 0;
  // RANGE tables with time keys: buckets starting later than now() plus this
  // interval are alerted on, never created (a mistyped year 2100).
  std::string max_future = "1 year";
  // Memory bound: distinct values counted at once (policy.h, "Bounded memory").
  size_t max_tracked_values = 100'000;
  // Flood guard: past this many partitions created for the table within the
  // last hour, partwatch alerts instead of creating.
  int max_new_partitions_per_hour = 60;
  // PartwatchThresholdApproaching fires when a value's count passes this
  // (below the threshold); 0 = never.
  int64_t warn_above = 0;
};

struct Config {
  std::string path;
  SourceConfig source;
  ExecutorConfig executor;
  DrainConfig drain;
  HttpConfig http;
  MetricsConfig metrics;
  AlertsConfig alerts;
  CaptureConfig capture;
  std::string log_level = "info";
  std::vector<TableConfig> tables;
};

// Reads and validates the file.  Throws ConfigError.
Config LoadConfig(const std::string& path);

// Same, from TOML text (for tests); `origin` names the source in messages.
Config ParseConfig(const std::string& toml_text, const std::string& origin);

// What reloading `next` (SIGHUP) over the running `current` changes.
// docs/configuration.md, "Reloading", says what applies at once.
struct ReloadDiff {
  // Changes that only a restart can apply, e.g. "source.slot changed
  // ('a' -> 'b')": anything in [source], a [[table]] added, removed,
  // renamed or moved, a RANGE table's interval.  When not empty, nothing
  // of `next` may apply.
  std::vector<std::string> restart_needed;
  // One entry per setting that applies at once, e.g.
  // "table[1] public.orders: threshold 100 -> 20".
  std::vector<std::string> changes;
  // Indices of tables whose threshold, action or max_future changed: values
  // alerted on under the old settings deserve a new decision.
  std::vector<size_t> redecide_tables;
  bool log_level_changed = false;
};
ReloadDiff DiffForReload(const Config& current, const Config& next);

}  // namespace partwatch
