// One alert of partwatch's (docs/alerting.md lists them): a stable name,
// labels that identify it, annotations that describe it, and its firing ->
// resolved life cycle; and the JSON bodies the channels send for it.
// Pure: no I/O, no clock of its own (times are passed in).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace partwatch::alerts {

using TimePoint = std::chrono::system_clock::time_point;

struct Alert {
  std::string name;                           // "PartwatchThresholdCrossed"
  std::map<std::string, std::string> labels;  // without alertname
  std::map<std::string, std::string> annotations;
  TimePoint starts_at{};
  TimePoint ends_at{};  // set when resolved
  bool firing = true;

  // Alertmanager's identity of an alert: its name and labels.
  std::string Fingerprint() const;
  // The labels with alertname, as Alertmanager sees them.
  std::map<std::string, std::string> AllLabels() const;
  // One log line's worth: `Name {k="v", ...}`.
  std::string ForLog() const;
};

// RFC 3339 in UTC with milliseconds ("2026-01-02T03:04:05.678Z").
std::string Rfc3339(TimePoint t);

// The body of an Alertmanager webhook notification (version "4") for one
// alert's change.
nlohmann::json WebhookPayload(const Alert& alert, const std::string& external_url);

// The body of POST /api/v2/alerts: a list of one alert.  While firing,
// endsAt is `firing_ends_at` (a few resend intervals ahead, so that a dead
// partwatch's alerts resolve by themselves); once resolved, its end.
// `generator_url` is left out when empty.
nlohmann::json AlertmanagerPayload(const Alert& alert, TimePoint firing_ends_at,
                                   const std::string& generator_url);

// The NOTIFY payload of an alert change.
nlohmann::json NotifyPayload(const Alert& alert);

// `payload` as JSON text.  Bytes that are not UTF-8 (a SQL_ASCII database's
// values, say) become U+FFFD instead of making the serialiser throw: a
// hostile value must never stop an alert, nor the thread that raised it.
std::string Serialise(const nlohmann::json& payload);

// Serialises `payload` (as Serialise) in fewer than `max_bytes` bytes (NOTIFY's limit is
// 8000): when too long, string fields are cut (each marked "...") and
// "truncated": true is added.
std::string DumpWithin(nlohmann::json payload, size_t max_bytes);

}  // namespace partwatch::alerts
