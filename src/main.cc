// partwatch: a logical-replication sidecar that watches what lands in the
// DEFAULT partitions of partitioned tables and, past a threshold, creates the
// missing partition and moves the rows.  `partwatch --help` explains the
// commands; docs/ explains the rest.
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "src/config.h"
#include "src/drain/command.h"
#include "src/logging.h"
#include "src/replay/command.h"
#include "src/runner.h"
#include "src/setup.h"
#include "src/status.h"

int main(int argc, char** argv) {
  CLI::App app{
      "partwatch " PARTWATCH_VERSION
      " -- watches the DEFAULT partitions of partitioned PostgreSQL tables through a logical "
      "replication slot and, when one key value piles up past a threshold, creates its "
      "partition and moves the rows (or alerts).\n\n"
      "Needs wal_level = logical and a role with REPLICATION that owns the configured tables.\n"
      "Configuration reference: docs/configuration.md"};
  app.set_version_flag("--version", "partwatch " PARTWATCH_VERSION);
  app.require_subcommand(1);

  std::string config_path;
  std::string log_level;
  bool json = false;

  auto add_common = [&](CLI::App* sub) {
    sub->add_option("-c,--config", config_path, "TOML configuration file")
        ->required()
        ->check(CLI::ExistingFile);
    sub->add_option("--log-level", log_level,
                    "trace, debug, info, warn or error (overrides [log] level)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  };

  CLI::App* run = app.add_subcommand(
      "run",
      "Run the sidecar: stream inserts into DEFAULT partitions from the replication slot, count "
      "them per key value, and act when a value has more rows than its threshold. Creates the "
      "slot and publication when missing. Stops cleanly on SIGTERM or SIGINT. SIGHUP re-reads "
      "the configuration file: thresholds, actions and the [[table]], [executor], [drain] and "
      "[log] settings apply at once; a file that does not load, or that changes [source] or "
      "the list of tables (which need a restart), is refused whole and the running "
      "configuration stays.");
  add_common(run);
  bool no_loop = false;
  run->add_flag("--no-loop", no_loop,
                "exit (status 1) when the connection is lost or the slot is busy, instead of "
                "retrying with backoff (like pg_recvlogical --no-loop)");
  CLI::App* status = app.add_subcommand(
      "status",
      "Show each DEFAULT partition's rows per key value (counted in the database), the "
      "threshold and what partwatch would do; plus the slot's retained WAL and the publication.");
  add_common(status);
  status->add_flag("--json", json, "print one JSON document instead of text");
  bool live = false;
  status->add_flag("--live", live,
                   "ask the running `partwatch run` instead of the database: the policy's counts "
                   "per value, decisions not acted on yet, firing alerts and the hourly cap's "
                   "use, from GET /status on the configuration's [http] listen");
  CLI::App* setup = app.add_subcommand(
      "setup",
      "Create the publication (INSERT only, DEFAULT partitions, key columns) and the "
      "replication slot, if missing.");
  add_common(setup);
  CLI::App* drain = app.add_subcommand(
      "drain",
      "Move rows that already sit in a table's DEFAULT partition into new partitions, online: "
      "the backlog is copied aside in batches while the table stays readable and writable, "
      "then DEFAULT is swapped in one short lock ([drain] max_lock_ms, 200 ms by default). "
      "Without --value or --all, drains the values (RANGE: buckets) over the table's "
      "threshold. Interrupting it (SIGINT, kill -9) leaves every row where it was; run it "
      "again to finish.");
  add_common(drain);
  std::string drain_table;
  std::vector<std::string> drain_values;
  bool drain_all = false;
  drain->add_option("--table", drain_table, "a [[table]] name from the configuration")->required();
  auto* value_opt =
      drain->add_option("--value", drain_values,
                        "a LIST value, or any value inside the RANGE bucket to drain (repeatable)");
  drain
      ->add_flag("--all", drain_all,
                 "every value (RANGE: bucket) DEFAULT holds, whatever the threshold")
      ->excludes(value_opt);
  CLI::App* replay = app.add_subcommand(
      "replay",
      "Replay history through the policy `run` uses, and report what piled into the DEFAULT "
      "partitions (rows per value, first and last arrival, rows per minute) and what `run` "
      "would have done, at the configured threshold or at others (--threshold). SOURCEs: a "
      "capture directory or segment ([capture] dir of `run`; needs no database), a wal2json "
      "file (pg_recvlogical -P wal2json; the tables' shape comes from the database), or "
      "--slot NAME (what a slot still retains, peeked without consuming anything), or archived "
      "WAL segments of PostgreSQL 15 (--wal-dir, --wal: history from before partwatch ran; "
      "the tables' shape comes from the database). Replay "
      "never changes anything on a server. docs/replay.md explains it all.");
  add_common(replay);
  partwatch::replay::ReplayOptions replay_opts;
  replay->add_option("SOURCE", replay_opts.sources, "capture directories or segment files, wal2json files");
  replay->add_option("--slot", replay_opts.slot,
                     "also replay what this logical slot retains (pgoutput with the configured "
                     "publication, or wal2json); the slot must not be in use");
  replay->add_option("--wal-dir", replay_opts.wal_dir,
                     "also replay the WAL segment files in this directory (an archive; plain, "
                     ".gz, .lz4 or .zst), in name order, one timeline");
  replay
      ->add_option("--wal", replay_opts.wal_files,
                   "also replay this WAL segment file (repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  replay
      ->add_option("--relfilenode", replay_opts.relfilenodes,
                   "N=TABLE: WAL rows in relation file N belong to TABLE's DEFAULT partition "
                   "(a file it had before a TRUNCATE, VACUUM FULL, CLUSTER or drain; repeatable)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  replay
      ->add_option("--threshold", replay_opts.thresholds,
                   "what-if thresholds, compared side by side: N[,N...] for every table, or "
                   "TABLE=N[,TABLE=N...] for one (repeatable; default: the configured)")
      ->expected(1)  // one list per occurrence (split on commas later): what follows is a SOURCE
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  replay->add_option("--max-future", replay_opts.max_future,
                     "override max_future for RANGE time keys (\"1 year\", \"90 days\")");
  replay->add_option("--max-new-partitions-per-hour", replay_opts.max_new_partitions_per_hour,
                     "override the flood cap (by commit time)");
  replay->add_option("--from", replay_opts.from,
                     "only transactions committed at or after this LSN (0/16B2D48) or time "
                     "(2026-12-02 16:00, UTC unless an offset is given)");
  replay->add_option("--to", replay_opts.to, "only transactions committed at or before this LSN or time");
  auto* json_opt = replay->add_flag("--json", replay_opts.json,
                                    "print the report as JSON (shape: docs/replay.md)");
  replay->add_flag("--csv", replay_opts.csv, "print one CSV row per table, value and threshold")
      ->excludes(json_opt);
  replay->add_option("--html", replay_opts.html,
                     "also write a self-contained HTML report with charts to this file");
  replay->add_option("--values", replay_opts.values,
                     "values listed per table, most rows first (0: all; values that crossed a "
                     "threshold are always listed)");
  replay->add_flag("--skip-bad", replay_opts.skip_bad,
                   "skip damaged records and lines, count them in the report, and go on");
  replay->add_flag("-q,--quiet", replay_opts.quiet, "no progress line on the terminal");
  CLI::App* teardown = app.add_subcommand(
      "teardown",
      "Drop the replication slot and the publication (refuses while the slot is in "
      "use).");
  add_common(teardown);

  CLI11_PARSE(app, argc, argv);

  partwatch::Config config;
  try {
    config = partwatch::LoadConfig(config_path);
  } catch (const partwatch::ConfigError& e) {
    std::cerr << "partwatch: configuration error: " << e.what() << std::endl;
    return 2;
  }
  partwatch::SetUpLogging(log_level.empty() ? config.log_level : log_level);

  if (*run) {
    partwatch::InstallRunSignalHandlers();
    return partwatch::RunWatcher(config, !no_loop, !log_level.empty());
  }
  if (*status) {
    return live ? partwatch::RunLiveStatus(config, json) : partwatch::RunStatus(config, json);
  }
  if (*setup) return partwatch::RunSetup(config);
  if (*teardown) return partwatch::RunTeardown(config);
  if (*replay) return partwatch::replay::RunReplay(config, replay_opts);
  if (*drain) return partwatch::drain::RunDrain(config, drain_table, drain_values, drain_all);
  return 2;
}
