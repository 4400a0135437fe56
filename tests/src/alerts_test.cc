// The alert payloads: Alertmanager's webhook shape (version 4), the
// /api/v2/alerts list, NOTIFY's size bound; fingerprints stable.
#include "src/alerts/alert.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace partwatch::alerts
