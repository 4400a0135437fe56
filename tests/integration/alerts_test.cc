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
#include <stdexcept>
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
  // How many accepted bodies have `status` and `alertname`.
  int Count(const std::string& status, const std::string& alertname) {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const Json& b : bodies_) {
      if (b.is_object() && b.value("status", "") == status && b.contains("alerts") &&
          b["alerts"].size() == 1 && b["alerts"][0]["labels"].value("alertname", "") == alertname) {
        ++n;
      }
    }
    return n;
  }
  // The alert of the last accepted body with `status` and `alertname`.
  std::optional<Json> Last(const std::string& status, const std::string& alertname) {
    std::lock_guard lock(mu_);
    for (auto it = bodies_.rbegin(); it != bodies_.rend(); ++it) {
      const Json& b = *it;
      if (b.is_object() && b.value("status", "") == status && b.contains("alerts") &&
          b["alerts"].size() == 1 && b["alerts"][0]["labels"].value("alertname", "") == alertname) {
        return b["alerts"][0];
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

// Waits (generously) for the webhook's POST of `alertname` with `status`;
// returns that body's one alert.
std::optional<Json> WaitAlert(Receiver& receiver, const std::string& status,
                              const std::string& alertname,
                              std::chrono::seconds timeout = seconds(60)) {
  std::optional<std::pair<Json, std::chrono::system_clock::time_point>> got;
  if (!WaitFor([&] { return (got = receiver.Find(status, alertname)).has_value(); }, timeout)) {
    return std::nullopt;
  }
  return got->first["alerts"][0];
}

// A config whose [source] block also has `lines`.
std::string WithSource(std::string config, const std::string& lines) {
  const size_t pos = config.find("\n[log]");
  if (pos == std::string::npos) throw std::runtime_error("unexpected config layout: " + config);
  config.insert(pos, "\n" + lines);
  return config;
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
  const int am_port = UnusedPort();
  const Daemon am_daemon(
      binary,
      {{"alertmanager.yml",
        "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n"}},
      [&](const std::string& dir) {
        return std::vector<std::string>{"--config.file=" + dir + "/alertmanager.yml",
                                        "--storage.path=" + dir + "/data",
                                        "--web.listen-address=127.0.0.1:" + std::to_string(am_port),
                                        "--cluster.listen-address="};
      });
  ASSERT_TRUE(am_daemon.started());
  httplib::Client am("127.0.0.1", am_port);
  am.set_connection_timeout(5);
  am.set_read_timeout(10);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = am.Get("/-/ready");
        return r && r->status == 200;
      },
      seconds(60)))
      << am_daemon.Log();

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
      << pw->Log() << am_daemon.Log();

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
      << (listed ? listed->dump() : "") << pw->Log() << am_daemon.Log();
  EXPECT_NE(pw->Log().find("alert resolved: PartwatchThresholdCrossed"), std::string::npos);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// The alerts of a create table, each on a real failure or limit.
class AlertValueTest : public OrdersTest {};

// A session of the test holds ROW EXCLUSIVE on the parent (LOCK recurses to
// the partitions): inserts and reads go on, but the move's SHARE lock on the
// parent cannot be had within lock_timeout, and with max_attempts = 1 the
// executor gives up at once.  Once the lock is gone, the next commit of the
// value is decided again, the move succeeds and the alert resolves.
TEST_F(AlertValueTest, ActionFailedCarriesTheErrorAndResolvesWhenAMoveSucceeds) {
  const int port = UnusedPort();
  Receiver receiver(port);
  auto pw = StartRun(Config(
      TableBlock("public.orders", 100),
      "[executor]\nmax_attempts = 1\nlock_timeout_ms = 100\n\n" + AlertsBlock(Webhook(port))));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  pg::Connection holder = db_->Connect();
  holder.Exec("BEGIN");
  holder.Exec("LOCK TABLE orders IN ROW EXCLUSIVE MODE");
  db_->Exec(InsertOrders(101, "returned"));
  const std::optional<Json> firing = WaitAlert(receiver, "firing", "PartwatchActionFailed");
  ASSERT_TRUE(firing) << pw->Log();
  EXPECT_EQ((*firing)["labels"]["table"], "public.orders") << firing->dump();
  EXPECT_EQ((*firing)["labels"]["partition"], "public.orders_other") << firing->dump();
  EXPECT_EQ((*firing)["labels"]["value"], "returned") << firing->dump();
  const Json& ann = (*firing)["annotations"];
  EXPECT_EQ(ann.value("rows", ""), "101") << firing->dump();
  EXPECT_EQ(ann.value("threshold", ""), "100") << firing->dump();
  EXPECT_NE(ann.value("error", "").find("gave up after 1 attempt(s)"), std::string::npos)
      << firing->dump();
  EXPECT_NE(ann.value("error", "").find("lock timeout"), std::string::npos) << firing->dump();
  EXPECT_NE(ann.value("summary", "").find("failed"), std::string::npos) << firing->dump();
  EXPECT_TRUE(ann.contains("commit_lsn")) << firing->dump();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_NE(pw->Log().find("action failed"), std::string::npos) << pw->Log();

  holder.Exec("COMMIT");
  // A commit of the value decides it again, once the policy has taken the
  // failure (a commit it merged before that, while the decision was still
  // pending, does not: the periodic re-check would, 30 s later).  So commit
  // one more row now and then until it resolves.
  std::optional<Json> resolved;
  ASSERT_TRUE(WaitFor(
      [&] {
        db_->Exec(InsertOrders(1, "returned"));
        for (int i = 0; i < 20 && !resolved; ++i) {
          resolved = receiver.Last("resolved", "PartwatchActionFailed");
          if (!resolved) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return resolved.has_value();
      },
      seconds(60)))
      << pw->Log();
  EXPECT_EQ((*resolved)["fingerprint"], (*firing)["fingerprint"]);
  EXPECT_TRUE(RelationExists(*db_, "public.orders_returned"));
  EXPECT_GE(Count(*db_, "SELECT count(*) FROM orders_returned"), 102);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// max_new_partitions_per_hour = 1: the first value's partition is created,
// the second value's is not, and that fires; deleting its rows resolves it
// (the recheck counts no more than the threshold).
TEST_F(AlertValueTest, PartitionRateCappedFiresForTheSecondValue) {
  const int port = UnusedPort();
  Receiver receiver(port);
  auto pw = StartRun(Config(TableBlock("public.orders", 100) + "max_new_partitions_per_hour = 1\n",
                            AlertsBlock(Webhook(port))));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(101, "returned"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_returned"); }, seconds(60)))
      << pw->Log();
  db_->Exec(InsertOrders(101, "pending"));
  const std::optional<Json> firing = WaitAlert(receiver, "firing", "PartwatchPartitionRateCapped");
  ASSERT_TRUE(firing) << pw->Log();
  EXPECT_EQ((*firing)["labels"]["table"], "public.orders") << firing->dump();
  EXPECT_EQ((*firing)["labels"]["partition"], "public.orders_other") << firing->dump();
  EXPECT_EQ((*firing)["labels"]["value"], "pending") << firing->dump();
  const Json& ann = (*firing)["annotations"];
  EXPECT_EQ(ann.value("rows", ""), "101") << firing->dump();
  EXPECT_EQ(ann.value("threshold", ""), "100") << firing->dump();
  EXPECT_NE(ann.value("summary", "").find("max_new_partitions_per_hour"), std::string::npos)
      << firing->dump();
  EXPECT_FALSE(RelationExists(*db_, "public.orders_pending"));
  EXPECT_EQ(receiver.Count("firing", "PartwatchPartitionRateCapped"), 1);

  db_->Exec("DELETE FROM orders WHERE status = 'pending'");
  const std::optional<Json> resolved =
      WaitAlert(receiver, "resolved", "PartwatchPartitionRateCapped");
  ASSERT_TRUE(resolved) << pw->Log();
  EXPECT_EQ((*resolved)["fingerprint"], (*firing)["fingerprint"]);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// warn_above = 50 under a threshold of 100: 60 rows fire it (no partition
// label: the policy's count, not an action); 41 more cross the threshold,
// the partition is created and it resolves.
TEST_F(AlertValueTest, ThresholdApproachingFiresPastWarnAboveAndResolvesOnceMoved) {
  const int port = UnusedPort();
  Receiver receiver(port);
  auto pw = StartRun(
      Config(TableBlock("public.orders", 100) + "warn_above = 50\n", AlertsBlock(Webhook(port))));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec(InsertOrders(40, "pending"));  // not past warn_above
  db_->Exec(InsertOrders(20, "pending"));
  const std::optional<Json> firing = WaitAlert(receiver, "firing", "PartwatchThresholdApproaching");
  ASSERT_TRUE(firing) << pw->Log();
  EXPECT_EQ((*firing)["labels"]["table"], "public.orders") << firing->dump();
  EXPECT_EQ((*firing)["labels"]["value"], "pending") << firing->dump();
  EXPECT_FALSE((*firing)["labels"].contains("partition")) << firing->dump();
  const Json& ann = (*firing)["annotations"];
  EXPECT_EQ(ann.value("rows", ""), "60") << firing->dump();
  EXPECT_EQ(ann.value("warn_above", ""), "50") << firing->dump();
  EXPECT_EQ(ann.value("threshold", ""), "100") << firing->dump();

  db_->Exec(InsertOrders(41, "pending"));
  ASSERT_TRUE(WaitFor([&] { return RelationExists(*db_, "public.orders_pending"); }, seconds(60)))
      << pw->Log();
  const std::optional<Json> resolved =
      WaitAlert(receiver, "resolved", "PartwatchThresholdApproaching");
  ASSERT_TRUE(resolved) << pw->Log();
  EXPECT_EQ((*resolved)["fingerprint"], (*firing)["fingerprint"]);
  EXPECT_EQ(receiver.Count("firing", "PartwatchThresholdCrossed"), 0);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// An open transaction holds the slot's restart_lsn back (logical decoding
// must be able to decode it from its start), so the WAL written after it
// stays retained whatever partwatch confirms: with the limit at 1 MB, a few
// MB of WAL fire it.  Once the transaction ends, a CHECKPOINT logs the
// running transactions, the slot's restart_lsn moves past them and it
// resolves.
TEST_F(AlertValueTest, SlotRetainingWalFiresWhileAnOpenTransactionHoldsTheSlotBack) {
  const int port = UnusedPort();
  Receiver receiver(port);
  db_->Exec("CREATE TABLE side (x int); CREATE TABLE filler (x text)");
  auto pw = StartRun(WithSource(Config(TableBlock("public.orders", 100),
                                       AlertsBlock(Webhook(port) + "max_retained_wal_mb = 1\n")),
                                "slot_check_interval_ms = 200\n"));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  pg::Connection holder = db_->Connect();
  holder.Exec("BEGIN");
  holder.Exec("INSERT INTO side VALUES (1)");  // an xid, its first WAL record
  db_->Exec("INSERT INTO filler SELECT repeat(md5(i::text), 40) FROM generate_series(1, 4000) i");
  const std::optional<Json> firing = WaitAlert(receiver, "firing", "PartwatchSlotRetainingWal");
  ASSERT_TRUE(firing) << pw->Log();
  EXPECT_EQ((*firing)["labels"]["slot"], "partwatch") << firing->dump();
  const Json& ann = (*firing)["annotations"];
  EXPECT_EQ(ann.value("limit_bytes", ""), "1048576") << firing->dump();
  EXPECT_GT(std::stoll(ann.value("retained_bytes", "0")), 1048576) << firing->dump();
  EXPECT_FALSE(ann.value("wal_status", "").empty()) << firing->dump();
  EXPECT_NE(ann.value("summary", "").find("retains"), std::string::npos) << firing->dump();

  holder.Exec("COMMIT");
  std::optional<Json> resolved;
  ASSERT_TRUE(WaitFor(
      [&] {
        db_->Exec("CHECKPOINT");
        db_->Exec("INSERT INTO side VALUES (2)");
        for (int i = 0; i < 20 && !resolved; ++i) {
          resolved = receiver.Last("resolved", "PartwatchSlotRetainingWal");
          if (!resolved) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return resolved.has_value();
      },
      seconds(120)))
      << pw->Log()
      << db_->Scalar(
             "SELECT pg_current_wal_lsn() - restart_lsn FROM pg_replication_slots WHERE slot_name "
             "= 'partwatch'");
  EXPECT_EQ((*resolved)["fingerprint"], (*firing)["fingerprint"]);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// A RANGE table (daily, date key) with max_future: a row dated 2100 is held
// in DEFAULT and alerted; deleting it resolves the alert at the recheck.
class AlertRangeTest : public PartwatchTest {};

TEST_F(AlertRangeTest, OutlierHeldFiresForABucketBeyondMaxFuture) {
  db_->Exec(
      "CREATE TABLE events (id bigserial, event_date date, payload text) "
      "PARTITION BY RANGE (event_date);"
      "CREATE TABLE events_default PARTITION OF events DEFAULT;"
      "CREATE TABLE events_p2020_01_01 PARTITION OF events "
      "FOR VALUES FROM ('2020-01-01') TO ('2020-01-02');"
      "CREATE TABLE events_p2020_01_02 PARTITION OF events "
      "FOR VALUES FROM ('2020-01-02') TO ('2020-01-03');");
  const int port = UnusedPort();
  Receiver receiver(port);
  auto pw = StartRun(Config(TableBlock("public.events", 0) + "max_future = \"90 days\"\n",
                            AlertsBlock(Webhook(port))));
  ASSERT_TRUE(pw->WaitForLog(kStreamingLine)) << pw->Log();
  db_->Exec("INSERT INTO events (event_date) VALUES ('2100-01-01')");
  const std::optional<Json> firing = WaitAlert(receiver, "firing", "PartwatchOutlierHeld");
  ASSERT_TRUE(firing) << pw->Log();
  EXPECT_EQ((*firing)["labels"]["table"], "public.events") << firing->dump();
  EXPECT_EQ((*firing)["labels"]["partition"], "public.events_default") << firing->dump();
  EXPECT_EQ((*firing)["labels"]["value"], "2100-01-01") << firing->dump();
  const Json& ann = (*firing)["annotations"];
  EXPECT_EQ(ann.value("rows", ""), "1") << firing->dump();
  EXPECT_EQ(ann.value("threshold", ""), "0") << firing->dump();
  EXPECT_NE(ann.value("summary", "").find("max_future"), std::string::npos) << firing->dump();
  EXPECT_FALSE(RelationExists(*db_, "public.events_p2100_01_01"));
  EXPECT_NE(pw->Log().find("ALERT table public.events bucket '2100-01-01'"), std::string::npos)
      << pw->Log();

  db_->Exec("DELETE FROM events WHERE event_date = '2100-01-01'");
  const std::optional<Json> resolved = WaitAlert(receiver, "resolved", "PartwatchOutlierHeld");
  ASSERT_TRUE(resolved) << pw->Log();
  EXPECT_EQ((*resolved)["fingerprint"], (*firing)["fingerprint"]);
  EXPECT_EQ(pw->Stop(SIGTERM), 0) << pw->Log();
}

// PostgreSQL stopped for longer than disconnected_for (2 s) fires it; it
// resolves once partwatch streams again.  A server of the test's own, so
// stopping it disturbs no other test.
TEST(AlertDisconnectedTest, FiresWhileTheServerIsDownAndResolvesWhenStreamingAgain) {
  PgServer server;
  {
    pg::Connection admin = pg::Connection::Open(server.Conninfo());
    admin.Exec("CREATE DATABASE alerts_disconnected");
  }
  pg::Connection::Open(server.Conninfo("alerts_disconnected")).Exec(kOrdersDdl);
  const int port = UnusedPort();
  Receiver receiver(port);
  PartwatchProcess pw(
      {"run"},
      MakeConfigForDsn(server.Conninfo("alerts_disconnected"), TableBlock("public.orders", 100),
                       AlertsBlock(Webhook(port) + "disconnected_for = \"2s\"\n")));
  ASSERT_TRUE(pw.WaitForLog(kStreamingLine, seconds(60))) << pw.Log();
  // A slow start-up may have fired (and resolved) it already: count from here.
  ASSERT_TRUE(WaitFor(
      [&] {
        return receiver.Count("firing", "PartwatchDisconnected") ==
               receiver.Count("resolved", "PartwatchDisconnected");
      },
      seconds(60)));
  const int fired_before = receiver.Count("firing", "PartwatchDisconnected");

  server.StopServer("fast");
  ASSERT_TRUE(
      WaitFor([&] { return receiver.Count("firing", "PartwatchDisconnected") > fired_before; },
              seconds(60)))
      << pw.Log();
  const std::optional<Json> firing = receiver.Last("firing", "PartwatchDisconnected");
  ASSERT_TRUE(firing);
  EXPECT_EQ((*firing)["labels"]["slot"], "partwatch") << firing->dump();
  EXPECT_NE((*firing)["annotations"].value("summary", "").find("no replication session"),
            std::string::npos)
      << firing->dump();
  EXPECT_NE(pw.Log().find("alert firing: PartwatchDisconnected"), std::string::npos) << pw.Log();

  server.StartServer();
  ASSERT_TRUE(
      WaitFor([&] { return receiver.Count("resolved", "PartwatchDisconnected") > fired_before; },
              seconds(120)))
      << pw.Log();
  EXPECT_EQ(receiver.Last("resolved", "PartwatchDisconnected").value()["fingerprint"],
            (*firing)["fingerprint"]);
  EXPECT_TRUE(pw.running());
  EXPECT_EQ(pw.Stop(SIGTERM), 0) << pw.Log();
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
