#include "src/alerts/alert.h"

#include <cstdint>
#include <ctime>

#include <fmt/format.h>

#include "policy/naming.h"

namespace partwatch::alerts {

namespace {

// What Alertmanager shows for "no end yet".
constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";

// `s` cut to at most `max` bytes (never inside a UTF-8 character), marked.
std::string Cut(const std::string& s, size_t max) {
  return s.size() <= max ? s : policy::CutUtf8(s, max) + "...";
}

void CutStrings(nlohmann::json& j, size_t max) {
  if (j.is_string()) {
    j = Cut(j.get<std::string>(), max);
  } else if (j.is_object() || j.is_array()) {
    for (auto& e : j) CutStrings(e, max);
  }
}

}  // namespace

std::string Alert::Fingerprint() const {
  // FNV-1a 64 over name and sorted labels, 0xff between fields: stable
  // across processes (receivers deduplicate on it).
  uint64_t h = 0xcbf29ce484222325ULL;
  auto add = [&](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;
    h *= 0x100000001b3ULL;
  };
  for (const auto& [k, v] : AllLabels()) {
    add(k);
    add(v);
  }
  return fmt::format("{:016x}", h);
}

std::map<std::string, std::string> Alert::AllLabels() const {
  std::map<std::string, std::string> all = labels;
  all["alertname"] = name;
  return all;
}

std::string Alert::ForLog() const {
  std::string out = name + " {";
  bool first = true;
  for (const auto& [k, v] : labels) {
    out += (first ? "" : ", ") + k + "=" + Serialise(nlohmann::json(Cut(v, 200)));
    first = false;
  }
  return out + "}";
}

std::string Rfc3339(TimePoint t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

nlohmann::json WebhookPayload(const Alert& alert, const std::string& external_url) {
  const std::string status = alert.firing ? "firing" : "resolved";
  nlohmann::json labels = alert.AllLabels();
  nlohmann::json annotations = alert.annotations;
  nlohmann::json one = {
      {"status", status},
      {"labels", labels},
      {"annotations", annotations},
      {"startsAt", Rfc3339(alert.starts_at)},
      {"endsAt", alert.firing ? std::string(kZeroTime) : Rfc3339(alert.ends_at)},
      {"generatorURL", external_url},
      {"fingerprint", alert.Fingerprint()},
  };
  return {
      {"version", "4"},
      {"groupKey", "{}:{alertname=" + Serialise(nlohmann::json(alert.name)) + "}"},
      {"truncatedAlerts", 0},
      {"status", status},
      {"receiver", "partwatch"},
      {"groupLabels", {{"alertname", alert.name}}},
      {"commonLabels", labels},
      {"commonAnnotations", annotations},
      {"externalURL", external_url},
      {"alerts", nlohmann::json::array({one})},
  };
}

nlohmann::json AlertmanagerPayload(const Alert& alert, TimePoint firing_ends_at,
                                   const std::string& generator_url) {
  nlohmann::json one = {
      {"labels", alert.AllLabels()},
      {"annotations", alert.annotations},
      {"startsAt", Rfc3339(alert.starts_at)},
      {"endsAt", Rfc3339(alert.firing ? firing_ends_at : alert.ends_at)},
  };
  if (!generator_url.empty()) one["generatorURL"] = generator_url;
  return nlohmann::json::array({one});
}

nlohmann::json NotifyPayload(const Alert& alert) {
  nlohmann::json j = {
      {"type", "alert"},
      {"status", alert.firing ? "firing" : "resolved"},
      {"alertname", alert.name},
      {"labels", alert.labels},
      {"annotations", alert.annotations},
      {"startsAt", Rfc3339(alert.starts_at)},
      {"fingerprint", alert.Fingerprint()},
  };
  if (!alert.firing) j["endsAt"] = Rfc3339(alert.ends_at);
  return j;
}

std::string Serialise(const nlohmann::json& payload) {
  return payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string DumpWithin(nlohmann::json payload, size_t max_bytes) {
  std::string out = Serialise(payload);
  for (size_t cut = 1024; out.size() >= max_bytes && cut >= 8; cut /= 2) {
    CutStrings(payload, cut);
    payload["truncated"] = true;
    out = Serialise(payload);
  }
  return out;
}

}  // namespace partwatch::alerts
