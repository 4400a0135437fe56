#include "tests/integration/pg_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace partwatch::testing {

namespace {

std::string TempDirPath(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  return buf.data();
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string RepoRoot() { return PARTWATCH_SOURCE_DIR; }
std::string PartwatchBinary() { return PARTWATCH_BINARY; }

int RunCommand(const std::string& command, std::string* output) {
  std::string full = command + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf{};
  std::string out;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

PgServer::PgServer(std::vector<std::string> extra_settings) {
  // pgtmp creates the directory itself (and hands it to the postgres user).
  dir_ = TempDirPath("partwatch-pg-");
  std::string env;
  if (!extra_settings.empty()) {
    std::string opts;
    for (const auto& s : extra_settings) opts += " -c " + s;
    env = "PGTMP_EXTRA_OPTS=" + ShellQuote(opts) + " ";
  }
  std::string out;
  const int rc = RunCommand(
      env + ShellQuote(RepoRoot() + "/scripts/pgtmp") + " start " + ShellQuote(dir_), &out);
  if (rc != 0) throw std::runtime_error("pgtmp start failed: " + out);
  port_ = std::stoi(out);
}

PgServer::~PgServer() {
  RunCommand(ShellQuote(RepoRoot() + "/scripts/pgtmp") + " stop " + ShellQuote(dir_), nullptr);
}

std::string PgServer::Conninfo(const std::string& dbname, const std::string& user) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + user + " dbname=" + dbname;
}

PgServer& PgServer::Shared() {
  static PgServer* server = new PgServer();  // stopped by the atexit hook below
  static const bool registered = [] {
    std::atexit([] { delete server; });
    return true;
  }();
  (void)registered;
  return *server;
}

namespace {

// Runs pg_ctl on the cluster in `dir` as its owner (pgtmp runs the server as
// the postgres user when we are root).  `-l` keeps the server's output in
// pgtmp's log: without it the postmaster would inherit our pipe.
void PgCtl(const std::string& dir, const std::string& args, const std::string& what) {
  std::string cmd = ShellQuote(PgBinDir() + "/pg_ctl") + " -D " + ShellQuote(dir + "/data") +
                    " -l " + ShellQuote(dir + "/server.log") + " " + args;
  if (geteuid() == 0) cmd = "runuser -u postgres -- " + cmd;
  std::string out;
  if (RunCommand(cmd, &out) != 0) throw std::runtime_error(what + " failed: " + out);
}

}  // namespace

void PgServer::Restart(const std::string& mode) {
  PgCtl(dir_, "-w -t 120 -m " + ShellQuote(mode) + " restart", "pg_ctl restart -m " + mode);
}

void PgServer::StopServer(const std::string& mode) {
  PgCtl(dir_, "-w -t 120 -m " + ShellQuote(mode) + " stop", "pg_ctl stop -m " + mode);
}

void PgServer::StartServer() {
  // `restart` of a stopped cluster starts it with the options of its last
  // start (postmaster.opts), so the port and settings stay as pgtmp chose.
  PgCtl(dir_, "-w -t 120 restart", "pg_ctl start");
}

TestDatabase::TestDatabase(const std::string& name) : name_(name) {
  pg::Connection admin = pg::Connection::Open(PgServer::Shared().Conninfo());
  admin.TryExec("DROP DATABASE IF EXISTS " + admin.QuoteIdent(name_) + " WITH (FORCE)");
  admin.Exec("CREATE DATABASE " + admin.QuoteIdent(name_));
}

TestDatabase::~TestDatabase() {
  try {
    pg::Connection admin = pg::Connection::Open(PgServer::Shared().Conninfo());
    // Slots are per database and block DROP DATABASE: drop ours first.  A
    // walsender whose client was just killed may hold its slot for a moment.
    WaitFor(
        [&] {
          pg::QueryResult r = admin.TryExecParams(
              "SELECT count(*) FROM pg_replication_slots WHERE database = $1 AND active", {name_});
          return !r.ok() || (r.rows() == 1 && r.value(0, 0) == "0");
        },
        std::chrono::seconds(10));
    admin.TryExecParams(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
        "WHERE database = $1 AND NOT active",
        {name_});
    admin.TryExec("DROP DATABASE IF EXISTS " + admin.QuoteIdent(name_) + " WITH (FORCE)");
  } catch (...) {
    // Best effort: the server is thrown away at the end anyway.
  }
}

std::string TestDatabase::Conninfo(const std::string& user) const {
  return PgServer::Shared().Conninfo(name_, user);
}

pg::Connection TestDatabase::Connect() const { return pg::Connection::Open(Conninfo()); }

std::string TestDatabase::Scalar(const std::string& sql) const {
  pg::Connection c = Connect();
  pg::QueryResult r = c.Exec(sql);
  if (r.rows() == 0 || r.columns() == 0 || r.is_null(0, 0)) return "";
  return r.text(0, 0);
}

void TestDatabase::Exec(const std::string& sql) const {
  pg::Connection c = Connect();
  c.Exec(sql);
}

PartwatchProcess::PartwatchProcess(const std::vector<std::string>& args,
                                   const std::string& config_toml,
                                   const std::vector<std::pair<std::string, std::string>>& env) {
  const std::string dir = TempDirPath("partwatch-run-");
  config_path_ = dir + "/partwatch.toml";
  log_path_ = dir + "/partwatch.log";
  std::ofstream(config_path_) << config_toml;

  std::vector<std::string> argv_s{PartwatchBinary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  argv_s.push_back("--config");
  argv_s.push_back(config_path_);
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
}

PartwatchProcess::~PartwatchProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

bool PartwatchProcess::running() {
  if (exit_code_ != -2) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  exit_code_ = (r == pid_ && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return false;
}

int PartwatchProcess::Wait(std::chrono::seconds timeout) {
  WaitFor([&] { return !running(); }, timeout);
  return running() ? -1 : exit_code_;
}

int PartwatchProcess::Stop(int sig, std::chrono::seconds timeout) {
  if (running()) kill(pid_, sig);
  return Wait(timeout);
}

std::string PartwatchProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool PartwatchProcess::WaitForLog(const std::string& needle, std::chrono::milliseconds timeout) {
  return WaitFor([&] { return Log().find(needle) != std::string::npos; }, timeout);
}

std::string MakeConfig(const TestDatabase& db, const std::string& tables,
                       const std::string& extra) {
  return MakeConfigForDsn(db.Conninfo(), tables, extra);
}

std::string MakeConfigForDsn(const std::string& dsn, const std::string& tables,
                             const std::string& extra) {
  return "[source]\ndsn = \"" + dsn +
         "\"\nstatus_interval_ms = 200\n\n[log]\nlevel = \"debug\"\n\n" + extra + "\n" + tables;
}

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

CommandResult RunPartwatch(const std::vector<std::string>& args, const std::string& config_toml,
                           std::chrono::seconds timeout) {
  const std::string dir = TempDirPath("partwatch-cmd-");
  const std::string config_path = dir + "/partwatch.toml";
  const std::string out_path = dir + "/stdout";
  const std::string err_path = dir + "/stderr";
  std::ofstream(config_path) << config_toml;

  std::vector<std::string> argv_s{PartwatchBinary()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  argv_s.push_back("--config");
  argv_s.push_back(config_path);
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  CommandResult result;
  int status = 0;
  bool exited = WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  result.exit_code = exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

std::string PgBinDir() {
  const char* env = std::getenv("PGBIN");
  return env && *env ? env : "/usr/lib/postgresql/15/bin";
}

PgbenchResult RunPgbench(int port, const std::string& dbname, const std::string& script,
                         const std::vector<std::string>& options) {
  const std::string dir = TempDirPath("partwatch-pgbench-");
  const std::string script_path = dir + "/script.sql";
  std::ofstream(script_path) << script;
  std::string cmd = ShellQuote(PgBinDir() + "/pgbench") + " -n -h 127.0.0.1 -p " +
                    std::to_string(port) + " -U postgres -f " + ShellQuote(script_path);
  for (const auto& o : options) cmd += " " + ShellQuote(o);
  cmd += " " + ShellQuote(dbname);
  PgbenchResult result;
  result.exit_code = RunCommand(cmd, &result.output);
  std::smatch m;
  static const std::regex kProcessed(R"(number of transactions actually processed: (\d+))");
  static const std::regex kFailed(R"(number of failed transactions: (\d+))");
  if (std::regex_search(result.output, m, kProcessed)) result.processed = std::stoll(m[1]);
  if (std::regex_search(result.output, m, kFailed)) result.failed = std::stoll(m[1]);
  return result;
}

int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind a probe socket");
  }
  const int port = ntohs(addr.sin_port);
  close(fd);  // bound but never listened on: connections are refused
  return port;
}

}  // namespace partwatch::testing
