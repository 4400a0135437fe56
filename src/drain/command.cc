#include "src/drain/command.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <set>

#include <spdlog/spdlog.h>

#include "src/drain/progress.h"
#include "src/partition_sql.h"

namespace partwatch::drain {

namespace {

std::atomic<bool> g_drain_stop{false};

void OnDrainSignal(int) { g_drain_stop.store(true); }

const TableConfig* FindTable(const Config& config, const std::string& name) {
  for (const TableConfig& tc : config.tables) {
    if (tc.name == name) return &tc;
  }
  return nullptr;
}

}  // namespace

std::vector<Target> TargetsFor(pg::Connection& conn, const TableInfo& table,
                               const std::string& name_template,
                               const std::vector<policy::KeyValue>& values) {
  std::vector<Target> targets;
  std::set<std::string> taken;
  std::set<std::string> seen_bounds;
  for (const policy::KeyValue& value : values) {
    const PartitionSpec spec = SpecFor(conn, table, value);
    if (!seen_bounds.insert(spec.bound_sql).second) continue;  // two values, one bucket
    const std::string name = ChooseFreeName(
        conn, table.nspname, BaseName(table, name_template, value, spec), taken);
    taken.insert(name);
    targets.push_back(Target{name, spec.bound_sql});
  }
  return targets;
}

int RunDrain(const Config& config, const std::string& table_name,
             const std::vector<std::string>& values, bool all) {
  const TableConfig* tc = FindTable(config, table_name);
  if (!tc) {
    std::string names;
    for (const TableConfig& t : config.tables) names += (names.empty() ? "" : ", ") + t.name;
    spdlog::error("--table {}: not a configured table (configured: {})", table_name, names);
    return 2;
  }
  try {
    pg::Connection conn = OpenSession(config, "drain");
    CheckServerVersion(conn);  // as run and status do: before queries an older server rejects
    const TableInfo info = DescribeConfigured(conn, *tc);
    if (auto err = CheckTablePrivileges(conn, info)) {
      spdlog::error("{}", *err);
      return 1;
    }

    const policy::TableRule rule = RuleFor(*tc, info);
    std::vector<policy::KeyValue> chosen;
    if (!values.empty()) {
      for (const std::string& text : values) {
        // The server reads the value (any input syntax of the key's type, and
        // offsets in the session's zone) and prints it the way the stream
        // and the bucketer expect.
        pg::QueryResult r =
            conn.TryExecParams("SELECT format('%s', $1::" + info.key[0].type_name + ")", {text});
        if (!r.ok()) {
          spdlog::error("--value '{}': not a valid {} ({})", text, info.key[0].type_name,
                        r.error_message());
          return 2;
        }
        const policy::KeyValue value = policy::KeyValue::Of(r.text(0, 0));
        if (info.range && !info.range->bucketer->BucketOf(*value.text)) {
          spdlog::info("drain {}: {} already has a partition (or fits no bucket); skipping it",
                       info.DisplayName(), value.ForLog());
          continue;
        }
        if (ExactCount(conn, info, value) == 0) {
          spdlog::info("drain {}: DEFAULT holds no row of {}; skipping it", info.DisplayName(),
                       value.ForLog());
          continue;
        }
        chosen.push_back(value);
      }
    } else if (tc->action == policy::ActionKind::kAlert && !all) {
      spdlog::error(
          "drain {}: the table's action is \"alert\", so no value is due to move; name them with "
          "--value, or use --all",
          info.DisplayName());
      return 2;
    } else {
      for (const ValueCount& vc : CountDefaultByValue(conn, info)) {
        if (all || vc.rows > rule.ThresholdFor(vc.value)) chosen.push_back(vc.value);
      }
    }
    if (info.range && !info.range->max_future.empty()) {
      // The outlier guard holds here too: a bucket past the horizon is a
      // mistyped date more often than a plan.
      std::vector<policy::KeyValue> kept;
      for (const policy::KeyValue& v : chosen) {
        const PartitionSpec spec = SpecFor(conn, info, v);
        if (BeyondHorizon(conn, info, policy::KeyValue::Of(spec.bucket->lo_literal))) {
          spdlog::warn(
              "drain {}: leaving bucket [{}, {}) in DEFAULT: it starts more than max_future ({}) "
              "from now",
              info.DisplayName(), spec.bucket->lo_literal, spec.bucket->hi_literal,
              info.range->max_future);
        } else {
          kept.push_back(v);
        }
      }
      chosen = std::move(kept);
    }
    if (info.range && info.range->partman && !chosen.empty()) {
      // Buckets past pg_partman's newest child: create the ones between too,
      // or pg_partman (which only extends after its newest child) never will.
      const policy::Bucketer& b = *info.range->bucketer;
      const auto farthest = std::max_element(
          chosen.begin(), chosen.end(), [&](const policy::KeyValue& x, const policy::KeyValue& y) {
            return b.ParsePoint(*x.text).value_or(0) < b.ParsePoint(*y.text).value_or(0);
          });
      for (const policy::KeyValue& g : PartmanGap(info, *farthest)) {
        if (std::find(chosen.begin(), chosen.end(), g) == chosen.end()) chosen.push_back(g);
      }
    }
    if (chosen.empty()) {
      spdlog::info("drain {}: nothing to move ({})", info.DisplayName(),
                   all ? "DEFAULT holds no row that fits a partition"
                       : "no value is over the threshold; --all moves every value");
      CleanupLeftovers(conn, info, config.executor.lock_timeout);
      return 0;
    }
    // An interrupted drain's unattached targets would otherwise take the
    // names (and push this run to name_1).
    CleanupLeftovers(conn, info, config.executor.lock_timeout);
    const std::vector<Target> targets = TargetsFor(conn, info, tc->partition_name, chosen);

    std::signal(SIGINT, OnDrainSignal);
    std::signal(SIGTERM, OnDrainSignal);
    ProgressPrinter printer(isatty(STDERR_FILENO) != 0);
    Options options;
    options.max_lock = config.drain.max_lock;
    options.lock_timeout = config.executor.lock_timeout;
    options.batch_rows = config.drain.batch_rows;
    options.stop = &g_drain_stop;
    options.on_progress = [&](const Progress& p) { printer.Update(p); };
    spdlog::info("drain {}: moving {} {} out of DEFAULT {}.{} online (no lock longer than {} ms)",
                 info.DisplayName(), targets.size(), info.range ? "bucket(s)" : "value(s)",
                 info.default_partition.nspname, info.default_partition.relname,
                 config.drain.max_lock.count());
    Drain(conn, info, targets, options);  // logs its summary: rows, lock held, changes replayed
    printer.Finish();
    return 0;
  } catch (const DrainError& e) {
    spdlog::error("drain {}: {}", table_name, e.what());
  } catch (const CatalogError& e) {
    spdlog::error("{}", e.what());
  } catch (const pg::PgError& e) {
    spdlog::error("drain {} failed: {} (every row is where it was: run the command again)",
                  table_name, e.what());
  } catch (const std::exception& e) {
    spdlog::error("drain {} failed: {}", table_name, e.what());
  }
  return 1;
}

}  // namespace partwatch::drain
