// [alerts]: named alerts delivered to real receivers: an HTTP webhook
// receiver in this process (cpp-httplib's server), Debian's
// prometheus-alertmanager, a LISTEN session; bad configuration; the rules
// file checked by promtool.  Every wait is on a condition, with generous
// timeouts; nothing asserts a duration.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/fixture.h"

namespace partwatch::testing {
namespace {

using std::chrono::seconds;
using Json = nlohmann::json;

// A webhook receiver on 127.0.0.1:`port`: answers `fail_first` POSTs with
// 500, then 200; keeps every body.
class Receiver {
 public:
  Receiver(int port, int fail_first = 0) : fail_first_(fail_first) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      ++requests_;
      if (requests_ <= fail_first_) {
        res.status = 500;
        return;
      }
      authorization_ = req.get_header_value("Authorization");
      bodies_.push_back(Json::parse(req.body, nullptr, false));
      received_at_.push_back(std::chrono::system_clock::now());
      res.status = 200;
    });
    thread_ = std::thread([this, port] { server_.listen("127.0.0.1", port); });
    WaitFor([&] { return server_.is_running(); }, seconds(10));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  // The first accepted body whose alert has `status` and `alertname`.
  std::optional<std::pair<Json, std::chrono::system_clock::time_point>> Find(
      const std::string& status, const std::string& alertname) {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < bodies_.size(); ++i) {
      const Json& b = bodies_[i];
      if (b.is_object() && b.value("status", "") == status && b.contains("alerts") &&
          b["alerts"].size() == 1 && b["alerts"][0]["labels"].value("alertname", "") == alertname) {
        return std::make_pair(b, received_at_[i]);
      }
    }
    return std::nullopt;
  }
  int requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::string authorization() {
    std::lock_guard lock(mu_);
    return authorization_;
  }

 private:
  const int fail_first_;
  httplib::Server server_;
  std::mutex mu_;
  int requests_ = 0;
  std::string authorization_;
  std::vector<Json> bodies_;
  std::vector<std::chrono::system_clock::time_point> received_at_;
  std::thread thread_;
};

std::string AlertsBlock(const std::string& lines) {
  return "[alerts]\nrecheck_interval = \"1s\"\nresend_interval = \"1s\"\ntimeout = \"2s\"\n" +
         lines + "\n";
}

std::string Webhook(int port) {
  return "webhook = [\"http://127.0.0.1:" + std::to_string(port) + "/hook\"]\n";
}

class AlertWebhookTest : public OrdersTest {};

TEST_F(AlertWebhookTest, FiresAndResolves) {
  const int port = UnusedPort();
  Receiver receiver(port);
  auto pw = StartRun(
      Config(TableBlock("public.orders", 100, "alert"),
             AlertsBlock(Webhook(port) + "headers = { Authorization = \"Bearer s3cret\" }")));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  const auto committed = std::chrono::system_clock::now();
  db_->Exec(InsertOrders(101, "returned"));
  std::optional<std::pair<Json, std::chrono::system_clock::time_point>> firing;
  ASSERT_TRUE(WaitFor(
      [&] { return (firing = receiver.Find("firing", "PartwatchThresholdCrossed")).has_value(); },
      seconds(60)))
      << pw->Log();
  std::printf("ALERT-LATENCY: crossing commit -> webhook received: %.1f ms\n",
              std::chrono::duration<double, std::milli>(firing->second - committed).count());
  const Json& body = firing->first;
  EXPECT_EQ(body["version"], "4");
  EXPECT_EQ(body["receiver"], "partwatch");
  for (const char* k :
       {"groupKey", "groupLabels", "commonLabels", "commonAnnotations", "externalURL"}) {
    EXPECT_TRUE(body.contains(k)) << k << body.dump();
  }
  const Json& alert = body["alerts"][0];
  EXPECT_EQ(alert["status"], "firing");
  EXPECT_EQ(alert["labels"]["table"], "public.orders");
  EXPECT_EQ(alert["labels"]["partition"], "public.orders_other");
  EXPECT_EQ(alert["labels"]["value"], "returned");
  EXPECT_EQ(alert["annotations"]["rows"], "101");
  EXPECT_EQ(alert["annotations"]["threshold"], "100");
  EXPECT_TRUE(alert["annotations"].contains("commit_lsn")) << alert.dump();
  EXPECT_TRUE(alert["annotations"].contains("commit_time")) << alert.dump();
  EXPECT_FALSE(alert.value("fingerprint", "").empty());
  EXPECT_EQ(receiver.authorization(), "Bearer s3cret");
  // Today's WARN line is still there; the header's value is never logged.
  EXPECT_NE(pw->Log().find("ALERT table public.orders value 'returned'"), std::string::npos);
  EXPECT_NE(pw->Log().find("alert firing: PartwatchThresholdCrossed"), std::string::npos);

  // The rows leave DEFAULT: the recheck resolves it.
  db_->Exec("DELETE FROM orders WHERE status = 'returned'");
  std::optional<std::pair<Json, std::chrono::system_clock::time_point>> resolved;
  ASSERT_TRUE(WaitFor(
      [&] {
        return (resolved = receiver.Find("resolved", "PartwatchThresholdCrossed")).has_value();
      },
      seconds(60)))
      << pw->Log();
  EXPECT_EQ(resolved->first["alerts"][0]["fingerprint"], alert["fingerprint"]);
  EXPECT_NE(resolved->first["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_NE(pw->Log().find("alert resolved: PartwatchThresholdCrossed"), std::string::npos);
  EXPECT_EQ(pw->Log().find("s3cret"), std::string::npos);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

TEST_F(AlertWebhookTest, RetriesUntilTheReceiverRecovers) {
  const int port = UnusedPort();
  Receiver receiver(port, /*fail_first=*/3);
  auto pw = StartRun(Config(TableBlock("public.orders", 100, "alert"), AlertsBlock(Webhook(port))));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(101, "returned"));
  ASSERT_TRUE(
      WaitFor([&] { return receiver.Find("firing", "PartwatchThresholdCrossed").has_value(); },
              seconds(120)))
      << pw->Log();
  EXPECT_GE(receiver.requests(), 4);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

TEST_F(AlertWebhookTest, ReceiverDownForAWhileGetsItLaterWhileTheSlotAdvances) {
  const int port = UnusedPort();
  auto pw = StartRun(Config(TableBlock("public.orders", 100, "alert"), AlertsBlock(Webhook(port))));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(101, "returned"));
  ASSERT_TRUE(pw->WaitForLog("alert channel http://127.0.0.1:" + std::to_string(port) +
                             "/hook: attempt 1 failed"))
      << pw->Log();
  // Nobody receives, and partwatch keeps streaming: the slot's confirmed
  // position passes a new insert's.
  db_->Exec(InsertOrders(5, "pending"));
  EXPECT_TRUE(WaitCaughtUp(*db_)) << pw->Log();
  Receiver receiver(port);
  ASSERT_TRUE(
      WaitFor([&] { return receiver.Find("firing", "PartwatchThresholdCrossed").has_value(); },
              seconds(120)))
      << pw->Log();
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// Events and alerts over NOTIFY, read by a LISTEN session.
TEST_F(AlertWebhookTest, NotifyCarriesEventsAndAlerts) {
  db_->Exec(
      "CREATE TABLE tickets (id serial, status text NOT NULL) PARTITION BY LIST (status);"
      "CREATE TABLE tickets_other PARTITION OF tickets DEFAULT;");
  pg::Connection listen = db_->Connect();
  listen.Exec("LISTEN partwatch");
  auto pw =
      StartRun(Config(TableBlock("public.orders", 100) + TableBlock("public.tickets", 10, "alert"),
                      AlertsBlock("notify_channel = \"partwatch\"")));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(101, "returned"));
  db_->Exec("INSERT INTO tickets (status) SELECT 'open' FROM generate_series(1, 11)");
  std::vector<Json> got;
  auto has = [&](const std::function<bool(const Json&)>& pred) {
    return std::any_of(got.begin(), got.end(), pred);
  };
  auto created = [](const Json& j) {
    return j.value("type", "") == "event" && j.value("event", "") == "created" &&
           j.value("partition", "") == "public.orders_returned" && j.value("rows_moved", 0) == 101;
  };
  auto alerted = [](const Json& j) {
    return j.value("type", "") == "alert" && j.value("status", "") == "firing" &&
           j.value("alertname", "") == "PartwatchThresholdCrossed" &&
           j["labels"].value("table", "") == "public.tickets" &&
           j["labels"].value("value", "") == "open";
  };
  const bool seen = WaitFor(
      [&] {
        pollfd p{PQsocket(listen.get()), POLLIN, 0};
        poll(&p, 1, 200);
        PQconsumeInput(listen.get());
        while (PGnotify* n = PQnotifies(listen.get())) {
          got.push_back(Json::parse(n->extra, nullptr, false));
          PQfreemem(n);
        }
        return has(created) && has(alerted);
      },
      seconds(60));
  std::string all;
  for (const Json& j : got) all += j.dump() + "\n";
  EXPECT_TRUE(seen) << all << pw->Log();
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

TEST_F(AlertWebhookTest, BadConfigExitsNamingTheKey) {
  const CommandResult r = RunPartwatch(
      {"run"}, Config(TableBlock("public.orders", 100), AlertsBlock("webhook = [\"not-a-url\"]")));
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("alerts.webhook[0]"), std::string::npos) << r.out << r.err;
  const CommandResult d = RunPartwatch(
      {"run"}, Config(TableBlock("public.orders", 100), "[alerts]\ntimeout = \"soon\"\n"));
  EXPECT_NE(d.exit_code, 0) << d.out << d.err;
  EXPECT_NE((d.out + d.err).find("alerts.timeout"), std::string::npos) << d.out << d.err;
}

// Debian's prometheus-alertmanager receives the pushed alert and shows it
// resolved once the test moved the value's rows into a partition itself.
TEST_F(AlertWebhookTest, AlertmanagerShowsItFiringThenResolved) {
  const std::string binary = "/usr/bin/prometheus-alertmanager";
  if (access(binary.c_str(), X_OK) != 0) {
    GTEST_SKIP() << binary << " is not installed (scripts/install-deps.sh installs it)";
  }
  char tmpl[] = "/tmp/partwatch-alertmanager-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  {
    std::ofstream yml(dir + "/alertmanager.yml");
    yml << "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n";
  }
  const int am_port = UnusedPort();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string log = dir + "/alertmanager.log";
    FILE* out = freopen(log.c_str(), "w", stdout);
    (void)out;
    dup2(fileno(stdout), STDERR_FILENO);
    const std::string config = "--config.file=" + dir + "/alertmanager.yml";
    const std::string storage = "--storage.path=" + dir + "/data";
    const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(am_port);
    execl(binary.c_str(), binary.c_str(), config.c_str(), storage.c_str(), listen.c_str(),
          "--cluster.listen-address=", static_cast<char*>(nullptr));
    _exit(127);
  }
  struct StopAlertmanager {
    pid_t pid;
    std::string dir;
    ~StopAlertmanager() {
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
  } stop_alertmanager{pid, dir};
  auto am_log = [&] {
    std::ifstream log(dir + "/alertmanager.log");
    return std::string((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  };
  httplib::Client am("127.0.0.1", am_port);
  am.set_connection_timeout(5);
  am.set_read_timeout(10);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = am.Get("/-/ready");
        return r && r->status == 200;
      },
      seconds(60)))
      << am_log();

  auto pw = StartRun(
      Config(TableBlock("public.orders", 100, "alert"),
             AlertsBlock("alertmanager = [\"http://127.0.0.1:" + std::to_string(am_port) + "\"]")));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(101, "returned"));
  // Our alert as Alertmanager lists it: nullopt when absent.
  auto ours = [&]() -> std::optional<Json> {
    auto r = am.Get("/api/v2/alerts");
    if (!r || r->status != 200) return std::nullopt;
    const Json list = Json::parse(r->body, nullptr, false);
    if (!list.is_array()) return std::nullopt;
    for (const Json& a : list) {
      const Json& l = a["labels"];
      if (l.value("alertname", "") == "PartwatchThresholdCrossed" &&
          l.value("table", "") == "public.orders" &&
          l.value("partition", "") == "public.orders_other" && l.value("value", "") == "returned") {
        return a;
      }
    }
    return std::nullopt;
  };
  std::optional<Json> listed;
  ASSERT_TRUE(WaitFor(
      [&] {
        listed = ours();
        return listed && (*listed)["status"].value("state", "") == "active";
      },
      seconds(60)))
      << pw->Log() << am_log();

  // Move the rows into a partition of the test's own.
  db_->Exec(
      "BEGIN; CREATE TABLE orders_returned (LIKE orders INCLUDING DEFAULTS);"
      "WITH moved AS (DELETE FROM orders_other WHERE status = 'returned' RETURNING *) "
      "INSERT INTO orders_returned SELECT * FROM moved;"
      "ALTER TABLE orders ATTACH PARTITION orders_returned FOR VALUES IN ('returned'); COMMIT;");
  ASSERT_TRUE(WaitFor(
      [&] {
        listed = ours();
        return !listed || (*listed)["status"].value("state", "") != "active";
      },
      seconds(60)))
      << (listed ? listed->dump() : "") << pw->Log() << am_log();
  EXPECT_NE(pw->Log().find("alert resolved: PartwatchThresholdCrossed"), std::string::npos);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

TEST(AlertRulesTest, PromtoolAcceptsTheRules) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool is not installed";
  std::string out;
  const int rc = RunCommand(
      "/usr/bin/promtool check rules " + RepoRoot() + "/docs/prometheus-rules.yml", &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("SUCCESS"), std::string::npos) << out;
}

}  // namespace
}  // namespace partwatch::testing
