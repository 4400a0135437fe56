// Test harness for integration tests: a real PostgreSQL 15, started once per
// test binary by scripts/pgtmp in a temporary directory on a free port, and
// partwatch itself run as a child process.  Never a mock of the database.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "src/pg/connection.h"

namespace partwatch::testing {

// A throwaway server.  Start() runs `scripts/pgtmp start`, the destructor
// `pgtmp stop`.  `extra_settings` go to postgres -c (e.g. wal_level=replica).
class PgServer {
 public:
  explicit PgServer(std::vector<std::string> extra_settings = {});
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  // "host=127.0.0.1 port=N user=postgres dbname=DB"
  std::string Conninfo(const std::string& dbname = "postgres",
                       const std::string& user = "postgres") const;
  // The server shared by all tests of this binary (started on first use).
  static PgServer& Shared();

  // pgtmp's directory: the cluster is in dir()/data, its log dir()/server.log.
  const std::string& dir() const { return dir_; }
  // `pg_ctl restart -m MODE` ("smart", "fast" or "immediate") as the
  // cluster's owner: same port, same options (pg_ctl reuses postmaster.opts);
  // returns once the server accepts connections again.  Throws on failure.
  void Restart(const std::string& mode = "fast");
  // `pg_ctl stop -m MODE`; StartServer() brings it back on the same port
  // with the same options.  Both throw on failure.
  void StopServer(const std::string& mode = "fast");
  void StartServer();

 private:
  std::string dir_;
  int port_ = 0;
};

// A fresh database per test on the shared server, dropped afterwards.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& name);
  ~TestDatabase();
  const std::string& name() const { return name_; }
  std::string Conninfo(const std::string& user = "postgres") const;
  pg::Connection Connect() const;
  // Runs SQL and returns the first column of the first row ("" if none).
  std::string Scalar(const std::string& sql) const;
  void Exec(const std::string& sql) const;

 private:
  std::string name_;
};

// A `partwatch` child process with stdout+stderr captured in a file.
class PartwatchProcess {
 public:
  // Writes `config_toml` to a file and runs `partwatch <args...> --config FILE`,
  // with `env` (name, value) added to this process's environment.
  PartwatchProcess(const std::vector<std::string>& args, const std::string& config_toml,
                   const std::vector<std::pair<std::string, std::string>>& env = {});
  ~PartwatchProcess();  // SIGKILL if still running

  // Sends `sig` and waits up to `timeout` for exit; returns the exit status
  // (WEXITSTATUS) or -1 on timeout / death by signal.
  int Stop(int sig = 15, std::chrono::seconds timeout = std::chrono::seconds(30));
  // Waits for the process to exit by itself; returns its exit code or -1.
  int Wait(std::chrono::seconds timeout = std::chrono::seconds(60));
  bool running();
  std::string Log() const;
  // Waits until the log contains `needle`; returns false on timeout.
  bool WaitForLog(const std::string& needle,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));
  pid_t pid() const { return pid_; }
  const std::string& config_path() const { return config_path_; }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -2;
  std::string log_path_;
  std::string config_path_;
};

// Runs a command line with /bin/sh, capturing stdout+stderr.  Returns the
// exit code.
int RunCommand(const std::string& command, std::string* output);

// A finished child process: its exit code (-1 on timeout or death by
// signal) and its stdout and stderr, captured separately.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Writes `config_toml` to a file and runs `partwatch <args...> --config FILE`
// to completion (SIGKILL after `timeout`).
CommandResult RunPartwatch(const std::vector<std::string>& args, const std::string& config_toml,
                           std::chrono::seconds timeout = std::chrono::seconds(60));

// What pgbench reported.  `processed` and `failed` are -1 when the line was
// missing from its output.
struct PgbenchResult {
  int exit_code = -1;
  std::string output;      // stdout+stderr
  int64_t processed = -1;  // "number of transactions actually processed: N"
  int64_t failed = -1;     // "number of failed transactions: N (...)"
};

// Runs PostgreSQL's pgbench against `conninfo`-style host/port/user/dbname
// with the custom script `script` (written to a file) and `options`
// (e.g. {"-c", "4", "-j", "2", "-T", "10"}); always adds -n (no vacuum).
PgbenchResult RunPgbench(int port, const std::string& dbname, const std::string& script,
                         const std::vector<std::string>& options);

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
int UnusedPort();

// PostgreSQL's client and server programs ($PGBIN or the Debian default).
std::string PgBinDir();

// Polls `predicate` every 50 ms until it is true or `timeout` passes.
bool WaitFor(const std::function<bool()>& predicate,
             std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The repository root (for scripts/) and the partwatch binary.
std::string RepoRoot();
std::string PartwatchBinary();

// A minimal config for `db` with the given [[table]] blocks appended.
std::string MakeConfig(const TestDatabase& db, const std::string& tables,
                       const std::string& extra = "");
// The same for an explicit dsn (another server, another role, options=...).
std::string MakeConfigForDsn(const std::string& dsn, const std::string& tables,
                             const std::string& extra = "");

}  // namespace partwatch::testing
