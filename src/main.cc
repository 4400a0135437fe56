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
  if (*drain) return partwatch::drain::RunDrain(config, drain_table, drain_values, drain_all);
  return 2;
}
