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

  const int prom_port = UnusedPort();
  const Daemon prom(prometheus,
                    {{"prometheus.yml",
                      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                      "scrape_configs:\n  - job_name: partwatch\n    static_configs:\n"
                      "      - targets: ['127.0.0.1:" +
                          std::to_string(port) + "']\n"}},
                    [&](const std::string& dir) {
                      return std::vector<std::string>{
                          "--config.file=" + dir + "/prometheus.yml",
                          "--storage.tsdb.path=" + dir + "/data",
                          "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)};
                    });
  ASSERT_TRUE(prom.started());

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
  EXPECT_TRUE(seen) << "last answer: " << last << "\nprometheus log:\n" << prom.Log();
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// `partwatch status --live` asks the running process (GET /status on
// [http] listen): the policy's count of a value under the threshold, a
// firing alert of an alert table, a decision the executor cannot carry out
// yet (a session of the test holds ROW EXCLUSIVE on the parent, so the
// move's SHARE lock times out and is retried), then the hourly cap's use
// once the lock is gone and the partition created.
class StatusLiveTest : public OrdersTest {};

// The line of `out` that contains `needle` ("" if none).
std::string LineWith(const std::string& out, const std::string& needle) {
  const size_t at = out.find(needle);
  if (at == std::string::npos) return "";
  const size_t begin = out.rfind('\n', at) == std::string::npos ? 0 : out.rfind('\n', at) + 1;
  return out.substr(begin, out.find('\n', at) - begin);
}

TEST_F(StatusLiveTest, ShowsCountsPendingDecisionsFiringAlertsAndTheHourlyCap) {
  db_->Exec(
      "CREATE TABLE tickets (id serial, status text NOT NULL) PARTITION BY LIST (status);"
      "CREATE TABLE tickets_other PARTITION OF tickets DEFAULT;");
  const int port = UnusedPort();
  const std::string config =
      Config(TableBlock("public.orders", 100) + TableBlock("public.tickets", 10, "alert"),
             HttpBlock(port) + "\n[executor]\nlock_timeout_ms = 100\nmax_attempts = 1000\n");
  auto pw = StartRun(config);
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(42, "pending"));
  db_->Exec("INSERT INTO tickets (status) SELECT 'open' FROM generate_series(1, 11)");
  ASSERT_TRUE(pw->WaitForLog("alert firing: PartwatchThresholdCrossed", seconds(60))) << pw->Log();

  CommandResult r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = RunPartwatch({"status", "--live"}, config);
        return r.exit_code == 0 && LineWith(r.out, "'pending'").find(" 42") != std::string::npos;
      },
      seconds(60)))
      << r.exit_code << "\n"
      << r.out << r.err << pw->Log();
  EXPECT_NE(r.out.find("streaming"), std::string::npos) << r.out;
  EXPECT_NE(LineWith(r.out, "'open'").find(" 11"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("alerts firing: 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("PartwatchThresholdCrossed {partition=\"public.tickets_other\", "
                       "table=\"public.tickets\", value=\"open\"}"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("public.orders  DEFAULT: 42 row(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 of max_new_partitions_per_hour 60 used"), std::string::npos) << r.out;

  pg::Connection holder = db_->Connect();
  holder.Exec("BEGIN");
  holder.Exec("LOCK TABLE orders IN ROW EXCLUSIVE MODE");
  db_->Exec(InsertOrders(101, "returned"));
  nlohmann::json live;
  auto pending_returned = [&] {
    for (const auto& p : live["tables"][0]["pending"]) {
      if (p["value"] == "returned" && p["action"] == "create") return true;
    }
    return false;
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        r = RunPartwatch({"status", "--live", "--json"}, config);
        if (r.exit_code != 0) return false;
        live = nlohmann::json::parse(r.out, nullptr, false);
        return !live.is_discarded() && pending_returned();
      },
      seconds(60)))
      << r.out << r.err << pw->Log();
  EXPECT_EQ(live["tables"][0]["table"], "public.orders") << live.dump(2);
  EXPECT_EQ(live["tables"][1]["table"], "public.tickets") << live.dump(2);
  ASSERT_EQ(live["alerts"].size(), 1u) << live.dump(2);
  EXPECT_EQ(live["alerts"][0]["alertname"], "PartwatchThresholdCrossed") << live.dump(2);
  EXPECT_EQ(live["alerts"][0]["labels"]["table"], "public.tickets") << live.dump(2);
  bool counted = false;
  for (const auto& v : live["tables"][0]["values"]) {
    if (v["value"] == "pending" && v["rows"] == 42) counted = true;
  }
  EXPECT_TRUE(counted) << live.dump(2);
  r = RunPartwatch({"status", "--live"}, config);
  EXPECT_NE(r.out.find("pending decision: create 'returned'"), std::string::npos) << r.out;

  holder.Exec("COMMIT");
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }, seconds(60)))
      << pw->Log();
  ASSERT_TRUE(WaitFor(
      [&] {
        r = RunPartwatch({"status", "--live", "--json"}, config);
        if (r.exit_code != 0) return false;
        live = nlohmann::json::parse(r.out, nullptr, false);
        return !live.is_discarded() && live["tables"][0]["partitions_created_last_hour"] == 1 &&
               !pending_returned();
      },
      seconds(60)))
      << r.out << r.err << pw->Log();
  EXPECT_EQ(live["tables"][0]["max_new_partitions_per_hour"], 60);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// Without [http] listen, or with nothing answering there: exit 1, saying so.
TEST_F(StatusLiveTest, SaysWhenTheProcessCannotBeAsked) {
  const CommandResult none =
      RunPartwatch({"status", "--live"}, Config(TableBlock("public.orders", 100)));
  EXPECT_EQ(none.exit_code, 1) << none.out << none.err;
  EXPECT_NE(none.err.find("does not set [http] listen"), std::string::npos) << none.err;
  const int port = UnusedPort();
  const CommandResult down =
      RunPartwatch({"status", "--live"}, Config(TableBlock("public.orders", 100), HttpBlock(port)));
  EXPECT_EQ(down.exit_code, 1) << down.out << down.err;
  EXPECT_NE(down.err.find("cannot reach the running partwatch at http://127.0.0.1:" +
                          std::to_string(port) + "/status"),
            std::string::npos)
      << down.err;
  EXPECT_NE(down.err.find("[http] listen"), std::string::npos) << down.err;
}

}  // namespace
}  // namespace partwatch::testing
