// How partwatch's connections behave when the server or the network does
// not (issue 8, "Do no harm"): connect_timeout and TCP keepalives on every
// connection, checked on the sockets of a running partwatch; a server that
// accepts TCP but never answers; client_encoding pinned to the server's;
// the server version check on the real server; the first status updates.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "decoder/lsn.h"
#include "src/catalog.h"
#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

const std::string kOrders100 = TableBlock("public.orders", 100);

// A TCP listener on 127.0.0.1 that never accepts: the kernel completes the
// handshake (the listen backlog), libpq sends its start-up packet, and no
// byte ever comes back.  A server whose postmaster hangs looks the same.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(fd_);
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The TCP options of one socket of another process.
struct SocketOptions {
  int local_port = 0;
  int keepalive = -1;  // SO_KEEPALIVE
  int idle = -1;       // TCP_KEEPIDLE, seconds
  int interval = -1;   // TCP_KEEPINTVL, seconds
  int count = -1;      // TCP_KEEPCNT
};

// Every TCP socket of process `pid` connected to 127.0.0.1:`peer_port`, read
// through a duplicate of its descriptor (pidfd_getfd, called through
// syscall(): glibc 2.36's <sys/pidfd.h> lacks extern "C"; we are the
// process's parent and root).  The options are those the kernel applies, whoever set them.
std::vector<SocketOptions> SocketsTo(pid_t pid, int peer_port) {
  std::vector<SocketOptions> out;
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) {
    close(pidfd);
    return out;
  }
  while (dirent* e = readdir(d)) {
    char target[64] = {};
    const std::string link = dir + "/" + e->d_name;
    if (readlink(link.c_str(), target, sizeof(target) - 1) <= 0) continue;
    if (std::string(target).rfind("socket:", 0) != 0) continue;
    const int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, std::atoi(e->d_name), 0));
    if (fd < 0) continue;
    sockaddr_in peer{}, local{};
    socklen_t len = sizeof(peer);
    int type = 0;
    socklen_t tlen = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM &&
        getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0 &&
        peer.sin_family == AF_INET && ntohs(peer.sin_port) == peer_port) {
      SocketOptions o;
      len = sizeof(local);
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
      o.local_port = ntohs(local.sin_port);
      socklen_t olen = sizeof(int);
      getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &o.keepalive, &olen);
      getsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o.idle, &olen);
      getsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &o.interval, &olen);
      getsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o.count, &olen);
      out.push_back(o);
    }
    close(fd);
  }
  closedir(d);
  close(pidfd);
  return out;
}

// A TCP proxy to 127.0.0.1:`server_port` that forwards both ways until the
// server has sent a CopyBothResponse ('W': START_REPLICATION accepted) on a
// connection, and from then on holds back everything the server sends on
// that connection, while the client's bytes still reach the server: a
// network that stalls from server to client right after the stream began.
// Other connections are forwarded unchanged.  Clients must not ask for
// SSL or GSS encryption (their one-byte answers are not framed).
class StallingProxy {
 public:
  explicit StallingProxy(int server_port) : server_port_(server_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(addr.sin_port);
    threads_.emplace_back([this] { AcceptLoop(); });
  }
  ~StallingProxy() {
    stop_.store(true);
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    }
    for (;;) {  // pumps may still be added by AcceptLoop until it sees stop_
      std::thread t;
      {
        std::lock_guard lock(mu_);
        if (threads_.empty()) break;
        t = std::move(threads_.back());
        threads_.pop_back();
      }
      t.join();
    }
    for (int fd : fds_) close(fd);
    close(listen_fd_);
  }
  StallingProxy(const StallingProxy&) = delete;
  StallingProxy& operator=(const StallingProxy&) = delete;
  int port() const { return port_; }
  // Connections whose server side is held back now.
  int stalled() const { return stalled_.load(); }

 private:
  static bool WriteAll(int fd, const char* p, size_t n) {
    while (n > 0) {
      const ssize_t w = write(fd, p, n);
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  // Reads from `from` until EOF or stop_; returns false at EOF or error.
  bool ReadSome(int from, std::string* buf) {
    char chunk[16384];
    while (!stop_.load()) {
      pollfd pfd{from, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      const ssize_t n = read(from, chunk, sizeof(chunk));
      if (n <= 0) return false;
      buf->append(chunk, static_cast<size_t>(n));
      return true;
    }
    return false;
  }
  void AcceptLoop() {
    while (!stop_.load()) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(static_cast<uint16_t>(server_port_));
      std::lock_guard lock(mu_);
      fds_.push_back(client);
      fds_.push_back(server);
      if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        shutdown(client, SHUT_RDWR);
        continue;
      }
      threads_.emplace_back([this, client, server] { ClientToServer(client, server); });
      threads_.emplace_back([this, client, server] { ServerToClient(server, client); });
    }
  }
  void ClientToServer(int client, int server) {
    std::string buf;
    while (ReadSome(client, &buf)) {
      if (!WriteAll(server, buf.data(), buf.size())) break;
      buf.clear();
    }
    shutdown(server, SHUT_RDWR);
  }
  // Message by message (type byte, int32 length that counts itself), so the
  // stall starts exactly after the CopyBothResponse.
  void ServerToClient(int server, int client) {
    std::string buf;
    bool stalled = false;
    while (ReadSome(server, &buf)) {
      if (stalled) {
        buf.clear();  // read and dropped: the server never waits on us
        continue;
      }
      while (buf.size() >= 5) {
        uint32_t len = 0;
        std::memcpy(&len, buf.data() + 1, 4);
        const size_t total = 1 + ntohl(len);
        if (buf.size() < total) break;
        if (!WriteAll(client, buf.data(), total)) return;
        const bool copy_both = buf[0] == 'W';
        buf.erase(0, total);
        if (copy_both) {
          stalled = true;
          stalled_.fetch_add(1);
          buf.clear();
          break;
        }
      }
    }
    shutdown(client, SHUT_RDWR);
  }

  int server_port_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> stalled_{0};
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
};

class ConnectionTest : public OrdersTest {};

// A server that accepts TCP and never answers must not hang `status` or
// `run --no-loop`: libpq's connect_timeout (10 s by default) ends the
// attempt with an error that says so.
TEST_F(ConnectionTest, ServerThatNeverAnswersFailsWithinConnectTimeout) {
  SilentListener listener;
  const std::string dsn =
      "host=127.0.0.1 port=" + std::to_string(listener.port()) + " user=postgres dbname=x";

  // partwatch's own default.  Without it libpq waits forever, and the
  // harness kills the process after 60 s (exit code -1).
  const CommandResult status =
      RunPartwatch({"status"}, MakeConfigForDsn(dsn, kOrders100), std::chrono::seconds(60));
  EXPECT_EQ(status.exit_code, 1) << status.err;
  EXPECT_NE(status.err.find("timeout expired"), std::string::npos) << status.err;

  // The dsn overrides the default: with connect_timeout=2 the attempt ends
  // before the default's 10 s could have run out.
  const auto started = std::chrono::steady_clock::now();
  const CommandResult run =
      RunPartwatch({"run", "--no-loop"}, MakeConfigForDsn(dsn + " connect_timeout=2", kOrders100),
                   std::chrono::seconds(60));
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_NE(run.err.find("timeout expired"), std::string::npos) << run.err;
  EXPECT_LT(took, std::chrono::seconds(10)) << run.err;
}

// Every connection of a running partwatch (catalog, executor, monitor and
// the replication connection) carries the keepalive settings: 30 s idle,
// 10 s between probes, 3 probes; keepalives_idle in the dsn overrides them.
TEST_F(ConnectionTest, EveryConnectionHasTcpKeepalives) {
  for (const std::optional<int> idle_in_dsn : {std::optional<int>(), std::optional<int>(45)}) {
    SCOPED_TRACE(idle_in_dsn ? "keepalives_idle=45 in the dsn" : "defaults");
    const std::string dsn =
        db_->Conninfo() + (idle_in_dsn ? " keepalives_idle=" + std::to_string(*idle_in_dsn) : "");
    auto pw = StartRun(MakeConfigForDsn(dsn, kOrders100));
    ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
    const int port = PgServer::Shared().port();
    // catalog (kept by the policy thread), executor, monitor, replication.
    std::vector<SocketOptions> sockets;
    ASSERT_TRUE(WaitFor([&] {
      sockets = SocketsTo(pw->pid(), port);
      return sockets.size() >= 4;
    })) << sockets.size()
        << " connection(s) seen\n"
        << pw->Log();
    const int replication_port =
        static_cast<int>(Count(*db_,
                               "SELECT client_port FROM pg_stat_replication r "
                               "JOIN pg_replication_slots s ON s.active_pid = r.pid "
                               "WHERE s.slot_name = 'partwatch'"));
    bool saw_replication = false;
    for (const SocketOptions& o : sockets) {
      SCOPED_TRACE("local port " + std::to_string(o.local_port));
      saw_replication |= o.local_port == replication_port;
      EXPECT_EQ(o.keepalive, 1);
      EXPECT_EQ(o.idle, idle_in_dsn.value_or(30));
      EXPECT_EQ(o.interval, 10);
      EXPECT_EQ(o.count, 3);
    }
    EXPECT_TRUE(saw_replication) << "the replication connection (client port " << replication_port
                                 << ") was not among partwatch's sockets";
    EXPECT_EQ(pw->Stop(), 0) << pw->Log();
    ASSERT_TRUE(WaitSlotInactive(*db_));
  }
}

// PGCLIENTENCODING=LATIN1 in partwatch's environment on a UTF-8 database.
// pgoutput converts streamed text to the replication connection's
// client_encoding, libpq quotes for the SQL session's: unless both are the
// server's encoding, a streamed 'café' names other bytes than the executor's
// literal (0 rows counted, nothing moves), and an 'Ω', which LATIN1 lacks,
// ends the stream with a conversion error at every reconnection.
TEST_F(ConnectionTest, ClientEncodingFromTheEnvironmentDoesNotChangeValues) {
  ASSERT_EQ(db_->Scalar("SHOW server_encoding"), "UTF8");
  PartwatchProcess pw({"run"}, Config(kOrders100), {{"PGCLIENTENCODING", "LATIN1"}});
  ASSERT_TRUE(pw.WaitForLog(kStreamingLine)) << pw.Log();
  // 'café' exists in LATIN1 (a silent mismatch), 'Ω' does not.
  db_->Exec(InsertOrders(101, "café") + ";" + InsertOrders(101, "Ω"));
  EXPECT_TRUE(WaitFor(
      [&] {
        return Count(*db_, "SELECT count(*) FROM ONLY orders_other") == 0 &&
               Partitions(*db_, "public.orders").size() == 6;
      },
      std::chrono::seconds(30)))
      << pw.Log();
  for (const char* value : {"café", "Ω"}) {
    SCOPED_TRACE(value);
    const std::string where = std::string(" FROM orders WHERE status = '") + value + "'";
    EXPECT_EQ(Count(*db_, "SELECT count(*)" + where), 101);
    EXPECT_EQ(Count(*db_, "SELECT count(DISTINCT tableoid)" + where), 1);
    EXPECT_EQ(db_->Scalar("SELECT DISTINCT tableoid::regclass::text" + where + " LIMIT 1")
                  .rfind("orders_", 0),
              0u);
    EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other WHERE status = '" +
                              std::string(value) + "'"),
              0);
  }
  // Acted on as streamed, in the first session (not from the recount of a
  // later one).
  EXPECT_EQ(Occurrences(pw.Log(), kStreamingLine), 1) << pw.Log();
  EXPECT_EQ(pw.Stop(), 0) << pw.Log();
}

// The start-up check on the real PostgreSQL 15 (Debian 12 has no older
// server to refuse; tests/src/catalog_test.cc covers the refusal).
TEST_F(ConnectionTest, ServerVersionCheckPassesOnFifteen) {
  pg::Connection conn = db_->Connect();
  EXPECT_GE(conn.server_version(), 150000);
  EXPECT_EQ(conn.parameter_status("server_version").rfind("15.", 0), 0u)
      << conn.parameter_status("server_version");
  EXPECT_EQ(
      UnsupportedServerVersion(conn.server_version(), conn.parameter_status("server_version")),
      std::nullopt);
  EXPECT_NO_THROW(CheckServerVersion(conn));
  EXPECT_NO_THROW(CheckServerForStreaming(conn));
  const CommandResult status = RunPartwatch({"status"}, Config(kOrders100));
  EXPECT_EQ(status.exit_code, 0) << status.err;
}

// The flush position partwatch reports must never drop below where the
// session started, not even when the stream has delivered nothing yet
// (PostgreSQL 15 opens every stream with a keepalive at the slot's
// position, which hides a 0/0 in most sessions; a slow network does not).
// The proxy holds back everything the walsender sends after START_REPLICATION,
// so no keepalive, commit or row reaches partwatch; then partwatch stops.
// The walsender's flush_lsn (NULL after a status update saying 0/0) must stay
// the slot's confirmed_flush_lsn through the final status update, which
// partwatch sends before ending the copy and waiting for the server's reply.
TEST_F(ConnectionTest, FlushPositionIsNeverBelowTheStart) {
  ASSERT_EQ(RunPartwatch({"setup"}, Config(kOrders100)).exit_code, 0);
  const std::string slot_query =
      "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'partwatch'";
  const Lsn start = Lsn::Parse(db_->Scalar(slot_query)).value();
  ASSERT_TRUE(start.valid());

  StallingProxy proxy(PgServer::Shared().port());
  const std::string dsn = "host=127.0.0.1 port=" + std::to_string(proxy.port()) +
                          " user=postgres dbname=" + db_->name() +
                          " sslmode=disable gssencmode=disable";
  auto pw = StartRun(MakeConfigForDsn(dsn, kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  EXPECT_EQ(proxy.stalled(), 1);

  // The first status update has arrived (status_interval_ms = 200).
  std::string walsender;
  ASSERT_TRUE(WaitFor([&] {
    walsender = db_->Scalar(
        "SELECT r.pid FROM pg_stat_replication r JOIN pg_replication_slots s "
        "ON s.active_pid = r.pid WHERE s.slot_name = 'partwatch' AND r.write_lsn IS NOT NULL");
    return !walsender.empty();
  })) << pw->Log();

  // Stop partwatch and sample the walsender's flush_lsn until partwatch has
  // exited (it waits up to 5 s for the server to end the copy).
  std::vector<std::string> bad;
  int samples = 0;
  const auto check = [&] {
    pg::Connection c = db_->Connect();
    pg::QueryResult r =
        c.Exec("SELECT flush_lsn::text FROM pg_stat_replication WHERE pid = " + walsender);
    if (r.rows() != 1) return;
    ++samples;
    const std::optional<std::string> flush = r.opt(0, 0);
    if (!flush) {
      bad.push_back("flush 0/0");
    } else if (Lsn::Parse(*flush).value_or(Lsn()) < start) {
      bad.push_back("flush " + *flush);
    }
  };
  check();
  kill(pw->pid(), SIGTERM);
  EXPECT_TRUE(WaitFor(
      [&] {
        check();
        return !pw->running();
      },
      std::chrono::seconds(60)));
  EXPECT_GT(samples, 1);
  EXPECT_TRUE(bad.empty()) << bad.size() << " sample(s) below the start " << start.ToString()
                           << ", the first: " << (bad.empty() ? "" : bad.front()) << "\n"
                           << pw->Log();
  EXPECT_EQ(pw->Wait(), 0) << pw->Log();
  EXPECT_NE(pw->Log().find("session ended at confirmed position " + start.ToString()),
            std::string::npos)
      << pw->Log();
  ASSERT_TRUE(WaitSlotInactive(*db_));
  EXPECT_EQ(Lsn::Parse(db_->Scalar(slot_query)).value(), start);
}

// Sends SIGCONT to a process when it goes out of scope, so a stopped
// backend never outlives the test that stopped it.
class ContinueOnExit {
 public:
  explicit ContinueOnExit(pid_t pid) : pid_(pid) {}
  ~ContinueOnExit() { Continue(); }
  ContinueOnExit(const ContinueOnExit&) = delete;
  ContinueOnExit& operator=(const ContinueOnExit&) = delete;
  void Continue() {
    if (pid_ > 0) kill(pid_, SIGCONT);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

// A walsender that stops sending (kill -STOP: no data, no keepalive, though
// the kernel still acknowledges every byte, so TCP sees nothing wrong) is
// given up after the server's wal_sender_timeout, 2 s here; partwatch says
// how long the server was silent and reconnects, and once the backend runs
// again and lets go of the slot, streams and acts again.
TEST_F(ConnectionTest, SilentWalsenderIsGivenUpAndTheSessionReconnects) {
  const std::string dsn = db_->Conninfo() + " options='-c wal_sender_timeout=2s'";
  auto pw = StartRun(MakeConfigForDsn(dsn, kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  const std::string walsender = db_->Scalar(
      "SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'partwatch' AND active");
  ASSERT_FALSE(walsender.empty());
  const pid_t pid = static_cast<pid_t>(std::stol(walsender));

  ContinueOnExit resume(pid);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  EXPECT_TRUE(pw->WaitForLog("the server sent nothing on the replication connection for",
                             std::chrono::seconds(60)))
      << pw->Log();
  EXPECT_NE(pw->Log().find("more than the 2000 ms allowed"), std::string::npos) << pw->Log();
  // The next session tries while the stopped backend still holds the slot.
  EXPECT_TRUE(pw->WaitForLog("(another partwatch?); retrying", std::chrono::seconds(60)))
      << pw->Log();
  resume.Continue();

  EXPECT_TRUE(WaitFor([&] { return Occurrences(pw->Log(), kStreamingLine) >= 2; },
                      std::chrono::seconds(60)))
      << pw->Log();
  db_->Exec(InsertOrders(101, "returned"));
  EXPECT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); },
                      std::chrono::seconds(30)))
      << pw->Log();
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM orders_returned"), 101);
  EXPECT_EQ(Count(*db_, "SELECT count(*) FROM ONLY orders_other"), 0);
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

// An idle server is not a silent one: with nothing to stream the walsender
// answers the keepalives partwatch asks for, so a session on a 2 s
// wal_sender_timeout outlives many of them.
TEST_F(ConnectionTest, IdleServerIsNotTakenForASilentOne) {
  const std::string dsn = db_->Conninfo() + " options='-c wal_sender_timeout=2s'";
  auto pw = StartRun(MakeConfigForDsn(dsn, kOrders100));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  // Wait until partwatch's status updates are still reaching the same
  // walsender 10 s (5 timeouts) later: reply_time is the send time of the
  // last one it received.
  const std::string until = db_->Scalar("SELECT (now() + interval '10 s')::text");
  EXPECT_TRUE(WaitFor(
      [&] {
        return db_->Scalar("SELECT count(*) FROM pg_stat_replication WHERE reply_time > '" + until +
                           "'::timestamptz AND application_name = 'partwatch'") == "1";
      },
      std::chrono::seconds(60)))
      << pw->Log();
  EXPECT_EQ(Occurrences(pw->Log(), kStreamingLine), 1) << pw->Log();
  EXPECT_EQ(pw->Log().find("sent nothing"), std::string::npos) << pw->Log();
  EXPECT_EQ(pw->Stop(), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
