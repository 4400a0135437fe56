// The alert payloads: Alertmanager's webhook shape (version 4), the
// /api/v2/alerts list, NOTIFY's size bound; fingerprints stable.  A
// delivery Worker's bounded queue (a channel of the test's that blocks
// until told to go on); the manager's slot decision (retained bytes,
// wal_status).
#include "src/alerts/alert.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "src/alerts/delivery.h"
#include "src/alerts/manager.h"

namespace partwatch::alerts {
namespace {

Alert Sample() {
  Alert a;
  a.name = "PartwatchThresholdCrossed";
  a.labels = {{"table", "public.orders"}, {"partition", "public.orders_other"}, {"value", "x"}};
  a.annotations = {{"rows", "101"}, {"threshold", "100"}};
  a.starts_at = TimePoint(std::chrono::milliseconds(1'700'000'000'123));
  return a;
}

TEST(AlertPayloadTest, Rfc3339) {
  EXPECT_EQ(Rfc3339(TimePoint(std::chrono::milliseconds(1'700'000'000'123))),
            "2023-11-14T22:13:20.123Z");
}

TEST(AlertPayloadTest, FingerprintDependsOnNameAndLabelsOnly) {
  Alert a = Sample();
  Alert b = Sample();
  b.annotations["rows"] = "500";
  b.firing = false;
  EXPECT_EQ(a.Fingerprint(), b.Fingerprint());
  EXPECT_EQ(a.Fingerprint().size(), 16u);
  b.labels["value"] = "y";
  EXPECT_NE(a.Fingerprint(), b.Fingerprint());
}

TEST(AlertPayloadTest, WebhookHasAlertmanagersShape) {
  Alert a = Sample();
  const nlohmann::json j = WebhookPayload(a, "");
  for (const char* k : {"version", "groupKey", "status", "receiver", "groupLabels", "commonLabels",
                        "commonAnnotations", "externalURL", "alerts"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["version"], "4");
  EXPECT_EQ(j["status"], "firing");
  ASSERT_EQ(j["alerts"].size(), 1u);
  const auto& one = j["alerts"][0];
  EXPECT_EQ(one["labels"]["alertname"], "PartwatchThresholdCrossed");
  EXPECT_EQ(one["labels"]["table"], "public.orders");
  EXPECT_EQ(one["startsAt"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(one["endsAt"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(one["fingerprint"], a.Fingerprint());
  a.firing = false;
  a.ends_at = a.starts_at + std::chrono::seconds(1);
  const nlohmann::json r = WebhookPayload(a, "");
  EXPECT_EQ(r["status"], "resolved");
  EXPECT_EQ(r["alerts"][0]["endsAt"], "2023-11-14T22:13:21.123Z");
}

TEST(AlertPayloadTest, AlertmanagerListEndsAheadWhileFiring) {
  Alert a = Sample();
  const TimePoint ahead = a.starts_at + std::chrono::minutes(4);
  const nlohmann::json j = AlertmanagerPayload(a, ahead, "");
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(j[0]["endsAt"], Rfc3339(ahead));
  EXPECT_FALSE(j[0].contains("generatorURL"));
  EXPECT_EQ(AlertmanagerPayload(a, ahead, "http://h/metrics")[0]["generatorURL"],
            "http://h/metrics");
}

// A value that is not UTF-8 (a SQL_ASCII database's bytes) is replaced by
// U+FFFD in every body and in the log line; nlohmann's default dump would
// throw, ending the thread that raised the alert.
TEST(AlertPayloadTest, BytesThatAreNotUtf8NeverMakeSerialisingThrow) {
  Alert a = Sample();
  a.labels["value"] = std::string("caf\xe9 \xff");
  std::string webhook;
  ASSERT_NO_THROW(webhook = Serialise(WebhookPayload(a, "")));
  EXPECT_NE(webhook.find("caf\xef\xbf\xbd"), std::string::npos) << webhook;  // U+FFFD
  ASSERT_NO_THROW((void)Serialise(AlertmanagerPayload(a, a.starts_at, "")));
  ASSERT_NO_THROW((void)DumpWithin(NotifyPayload(a), 8000));
  std::string line;
  ASSERT_NO_THROW(line = a.ForLog());
  EXPECT_NE(line.find("caf"), std::string::npos) << line;
}

// Long values are cut for the log line without splitting a character.
TEST(AlertPayloadTest, TheLogLineCutsLongValuesOnACharacterBoundary) {
  Alert a = Sample();
  a.labels["value"] = std::string(199, 'x') + "\xc3\xa9\xc3\xa9";  // 199 + 4 bytes
  const std::string line = a.ForLog();
  EXPECT_NE(line.find(std::string(199, 'x') + "..."), std::string::npos) << line;
  EXPECT_EQ(line.find("\\u"), std::string::npos) << line;  // nothing escaped or replaced
}

TEST(AlertPayloadTest, NotifyPayloadStaysUnder8000Bytes) {
  Alert a = Sample();
  a.annotations["error"] = std::string(20'000, 'e');
  a.labels["value"] = std::string(5'000, '\xc3');  // invalid UTF-8: replaced, not thrown
  const std::string s = DumpWithin(NotifyPayload(a), 7900);
  EXPECT_LT(s.size(), 7900u);
  const nlohmann::json j = nlohmann::json::parse(s);
  EXPECT_EQ(j["truncated"], true);
  EXPECT_EQ(j["alertname"], "PartwatchThresholdCrossed");
  const std::string small = DumpWithin(NotifyPayload(Sample()), 7900);
  EXPECT_FALSE(nlohmann::json::parse(small).contains("truncated"));
}

// A channel whose Send blocks until Release(); keeps what it was sent.
class BlockingChannel : public Channel {
 public:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool released = false;
    int sending = 0;  // Send calls entered
    std::vector<std::string> sent;
  };
  explicit BlockingChannel(State& state) : state_(state) {}
  std::string kind() const override { return "webhook"; }
  std::string name() const override { return "test channel"; }
  SendOutcome Send(const std::string& body) override {
    std::unique_lock lock(state_.mu);
    ++state_.sending;
    state_.cv.notify_all();
    state_.cv.wait(lock, [&] { return state_.released; });
    state_.sent.push_back(body);
    state_.cv.notify_all();
    return {SendResult::kDelivered, "ok"};
  }

 private:
  State& state_;
};

// Counts OnAlertDelivery per result.
class DeliveryCounts : public engine::Observer {
 public:
  void OnAlertDelivery(const std::string& channel, const std::string& result) override {
    std::lock_guard lock(mu_);
    ++counts_[channel + "/" + result];
  }
  int Get(const std::string& key) {
    std::lock_guard lock(mu_);
    return counts_[key];
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

TEST(AlertWorkerTest, AFullQueueDropsTheOldestAndCountsIt) {
  BlockingChannel::State state;
  DeliveryCounts counts;
  {
    Worker worker(std::make_unique<BlockingChannel>(state), counts, /*capacity=*/3);
    worker.Push(Job{"", false, false, "0"});
    {
      // The worker took job 0 off the queue and is inside Send.
      std::unique_lock lock(state.mu);
      state.cv.wait(lock, [&] { return state.sending == 1; });
    }
    for (int i = 1; i <= 5; ++i) worker.Push(Job{"", false, false, std::to_string(i)});
    EXPECT_EQ(counts.Get("webhook/overflow"), 2);  // 1 and 2, the oldest
    {
      std::unique_lock lock(state.mu);
      state.released = true;
      state.cv.notify_all();
      state.cv.wait(lock, [&] { return state.sent.size() == 4; });
    }
    std::unique_lock lock(state.mu);
    EXPECT_EQ(state.sent, (std::vector<std::string>{"0", "3", "4", "5"}));
  }
  EXPECT_EQ(counts.Get("webhook/overflow"), 2);
  EXPECT_EQ(counts.Get("webhook/delivered"), 4);
}

// A queued resolve supersedes the alert's queued firing notice: counted
// superseded, not overflow, and the receiver gets only the resolve.
TEST(AlertWorkerTest, AResolveSupersedesTheQueuedFiring) {
  BlockingChannel::State state;
  DeliveryCounts counts;
  {
    Worker worker(std::make_unique<BlockingChannel>(state), counts, /*capacity=*/3);
    worker.Push(Job{"", false, false, "event"});
    {
      std::unique_lock lock(state.mu);
      state.cv.wait(lock, [&] { return state.sending == 1; });
    }
    worker.Push(Job{"fp", false, false, "firing"});
    worker.Push(Job{"fp", true, false, "resolved"});
    {
      std::unique_lock lock(state.mu);
      state.released = true;
      state.cv.notify_all();
      state.cv.wait(lock, [&] { return state.sent.size() == 2; });
    }
    std::unique_lock lock(state.mu);
    EXPECT_EQ(state.sent, (std::vector<std::string>{"event", "resolved"}));
  }
  EXPECT_EQ(counts.Get("webhook/superseded"), 1);
  EXPECT_EQ(counts.Get("webhook/overflow"), 0);
}

// PartwatchSlotRetainingWal's decision at each slot check: over the limit,
// or wal_status unreserved / lost, fires; neither resolves.
TEST(AlertManagerTest, SlotRetainingWalFollowsRetainedBytesAndWalStatus) {
  Config config;
  config.source.slot = "partwatch";
  config.alerts.max_retained_wal_bytes = 1 << 20;
  engine::Observer nobody;
  AlertManager manager(config, nobody, "");
  auto firing = [&]() -> std::optional<Alert> {
    for (const Alert& a : manager.Firing()) {
      if (a.name == kSlotRetainingWal) return a;
    }
    return std::nullopt;
  };
  manager.OnSlot(0, 1 << 20);  // at the limit: not over it
  manager.OnWalStatus("reserved");
  EXPECT_FALSE(firing());
  manager.OnSlot(0, (1 << 20) + 1);
  manager.OnWalStatus("reserved");
  ASSERT_TRUE(firing());
  EXPECT_EQ(firing()->labels.at("slot"), "partwatch");
  EXPECT_EQ(firing()->annotations.at("retained_bytes"), std::to_string((1 << 20) + 1));
  EXPECT_EQ(firing()->annotations.at("limit_bytes"), "1048576");
  manager.OnSlot(0, 100);
  manager.OnWalStatus("reserved");
  EXPECT_FALSE(firing());
  for (const char* status : {"unreserved", "lost"}) {
    manager.OnSlot(0, 100);
    manager.OnWalStatus(status);
    ASSERT_TRUE(firing()) << status;
    EXPECT_EQ(firing()->annotations.at("wal_status"), status);
    manager.OnWalStatus("extended");
    EXPECT_FALSE(firing()) << status;
  }
}

}  // namespace
}  // namespace partwatch::alerts
