// `run`'s HTTP endpoint ([http] listen): /metrics, /healthz and /readyz,
// read over real HTTP (cpp-httplib's client) from a real partwatch against
// a real PostgreSQL; a real Prometheus (Debian's `prometheus`) scraping it;
// a port in use.  Every wait is on a condition, with generous timeouts.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

using std::chrono::seconds;

std::string HttpBlock(int port) {
  return "[http]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n";
}

// GET http://127.0.0.1:`port``path`: status and body, nullopt when nothing
// answers.
struct Reply {
  int status = 0;
  std::string body;
};
std::optional<Reply> Get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  auto res = client.Get(path.c_str());
  if (!res) return std::nullopt;
  return Reply{res->status, res->body};
}

bool Contains(const std::optional<Reply>& r, int status, const std::string& needle = "") {
  return r && r->status == status && r->body.find(needle) != std::string::npos;
}

class MetricsTest : public OrdersTest {};

TEST_F(MetricsTest, MetricsAfterThePartitionIsCreated) {
  const int port = UnusedPort();
  auto pw = StartRun(Config(TableBlock("public.orders", 100), HttpBlock(port)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(50, "pending"));
  db_->Exec(InsertOrders(101, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }, seconds(60)))
      << pw->Log();

  std::optional<Reply> metrics;
  const bool seen = WaitFor(
      [&] {
        metrics = Get(port, "/metrics");
        return Contains(metrics, 200,
                        "partwatch_partitions_created_total{table=\"public.orders\"} 1\n") &&
               Contains(metrics, 200,
                        "partwatch_default_rows{table=\"public.orders\",value=\"pending\"} 50\n");
      },
      seconds(60));
  ASSERT_TRUE(seen) << (metrics ? metrics->body : "no answer") << pw->Log();
  const std::string& body = metrics->body;
  EXPECT_NE(body.find("partwatch_build_info{version=\""), std::string::npos) << body;
  EXPECT_NE(body.find("partwatch_replication_connected 1\n"), std::string::npos) << body;
  EXPECT_NE(body.find("partwatch_rows_moved_total{table=\"public.orders\"} 101\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("partwatch_decisions_total{action=\"create\",table=\"public.orders\"} 1\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("partwatch_streamed_rows_total{table=\"public.orders\"} 151\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("partwatch_action_failures_total{table=\"public.orders\"} 0\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("partwatch_lock_held_seconds_count{table=\"public.orders\"} 1\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("partwatch_action_duration_seconds_count{table=\"public.orders\"} 1\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("partwatch_default_values_dropped{table=\"public.orders\"} 0\n"),
            std::string::npos)
      << body;
  EXPECT_NE(body.find("process_resident_memory_bytes "), std::string::npos) << body;
  EXPECT_NE(body.find("process_cpu_seconds_total "), std::string::npos) << body;
  EXPECT_NE(body.find("partwatch_slot_confirmed_lag_bytes "), std::string::npos) << body;
  EXPECT_NE(body.find("partwatch_last_commit_timestamp_seconds "), std::string::npos) << body;
  // The moved value is no longer counted in DEFAULT.
  EXPECT_EQ(body.find("value=\"returned\""), std::string::npos) << body;

  EXPECT_TRUE(Contains(Get(port, "/healthz"), 200));
  EXPECT_TRUE(WaitFor([&] { return Contains(Get(port, "/readyz"), 200); })) << pw->Log();
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// /readyz follows the server: ready while streaming, 503 with a reason while
// PostgreSQL is down and partwatch reconnects, ready again once it is back.
// A server of the test's own, so stopping it disturbs no other test.
TEST(MetricsReadinessTest, ReadyzFollowsTheServer) {
  PgServer server;
  {
    pg::Connection admin = pg::Connection::Open(server.Conninfo());
    admin.Exec("CREATE DATABASE metrics_ready");
  }
  pg::Connection::Open(server.Conninfo("metrics_ready")).Exec(kOrdersDdl);
  const int port = UnusedPort();
  PartwatchProcess pw({"run"}, MakeConfigForDsn(server.Conninfo("metrics_ready"),
                                                TableBlock("public.orders", 100), HttpBlock(port)));
  ASSERT_TRUE(pw.WaitForLog(kStreamingLine, seconds(60))) << pw.Log();
  ASSERT_TRUE(WaitFor([&] { return Contains(Get(port, "/readyz"), 200); }, seconds(60)))
      << pw.Log();

  // A stopping server closes the replication connection, so partwatch
  // knows at once; 15 s is what operators are promised (docs/alerting.md).
  server.StopServer("fast");
  std::optional<Reply> r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = Get(port, "/readyz");
        return Contains(r, 503, "not streaming");
      },
      seconds(15)))
      << (r ? r->body : "no answer") << pw.Log();
  EXPECT_TRUE(Contains(Get(port, "/healthz"), 200));
  EXPECT_TRUE(Contains(Get(port, "/metrics"), 200, "partwatch_replication_connected 0\n"));

  server.StartServer();
  ASSERT_TRUE(WaitFor([&] { return Contains(Get(port, "/readyz"), 200); }, seconds(120)))
      << pw.Log();
  EXPECT_TRUE(pw.running());
  EXPECT_EQ(pw.Stop(SIGTERM), 0) << pw.Log();
}

// A port someone else listens on: `run` exits at once, non-zero, naming the key.
TEST_F(MetricsTest, PortInUseExitsNamingTheKey) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  const CommandResult r =
      RunPartwatch({"run"}, Config(TableBlock("public.orders", 100), HttpBlock(port)));
  close(fd);
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("http.listen"), std::string::npos) << r.out << r.err;
}

// Debian's Prometheus scrapes partwatch every second; its query API then
// shows the partition created.
TEST_F(MetricsTest, PrometheusScrapesIt) {
  const std::string prometheus = "/usr/bin/prometheus";
  if (access(prometheus.c_str(), X_OK) != 0) {
    GTEST_SKIP() << prometheus << " is not installed (scripts/install-deps.sh installs it)";
  }
  const int port = UnusedPort();
  auto pw = StartRun(Config(TableBlock("public.orders", 100), HttpBlock(port)));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();

  char tmpl[] = "/tmp/partwatch-prometheus-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    std::ofstream yml(dir + "/prometheus.yml");
    yml << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
           "scrape_configs:\n  - job_name: partwatch\n    static_configs:\n"
           "      - targets: ['127.0.0.1:"
        << port << "']\n";
  }
  const int prom_port = UnusedPort();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string log = dir + "/prometheus.log";
    FILE* out = freopen(log.c_str(), "w", stdout);
    (void)out;
    dup2(fileno(stdout), STDERR_FILENO);
    const std::string config = "--config.file=" + dir + "/prometheus.yml";
    const std::string storage = "--storage.tsdb.path=" + dir + "/data";
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(prom_port);
    execl(prometheus.c_str(), prometheus.c_str(), config.c_str(), storage.c_str(), listen.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  struct StopPrometheus {
    pid_t pid;
    std::string dir;
    ~StopPrometheus() {
      kill(pid, SIGTERM);
      int status = 0;
      for (int i = 0; i < 600 && waitpid(pid, &status, WNOHANG) == 0; ++i) usleep(50'000);
      if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
      }
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } stop_prometheus{pid, dir};

  db_->Exec(InsertOrders(101, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }, seconds(60)))
      << pw->Log();

  std::string last;
  const bool seen = WaitFor(
      [&] {
        const auto r = Get(prom_port, "/api/v1/query?query=partwatch_partitions_created_total");
        if (!r || r->status != 200) return false;
        last = r->body;
        const nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
        if (j.is_discarded() || !j.contains("data")) return false;
        for (const auto& series : j["data"]["result"]) {
          if (series["metric"].value("table", "") == "public.orders" && series["value"][1] == "1") {
            return true;
          }
        }
        return false;
      },
      seconds(120));
  std::ifstream log(dir + "/prometheus.log");
  const std::string prom_log((std::istreambuf_iterator<char>(log)),
                             std::istreambuf_iterator<char>());
  EXPECT_TRUE(seen) << "last answer: " << last << "\nprometheus log:\n" << prom_log;
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

}  // namespace
}  // namespace partwatch::testing
