// The whole TOML schema in one file: every key's parse, range and error
// text side by side, in the order docs/configuration.md lists them, so that
// the two are read (and kept) together.  Hence its length.

#include "src/config.h"

#include <arpa/inet.h>
#include <toml++/toml.h>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "policy/naming.h"
#include "policy/range.h"

namespace partwatch {

namespace {

[[noreturn]] void Fail(const std::string& origin, const std::string& key, const std::string& what) {
  throw ConfigError(origin + ": " + key + ": " + what);
}

void RejectUnknownKeys(const toml::table& table, const std::set<std::string>& known,
                       const std::string& origin, const std::string& prefix) {
  for (const auto& [key, node] : table) {
    if (!known.count(std::string(key.str()))) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      Fail(origin, prefix + std::string(key.str()), "unknown key (known keys: " + list + ")");
    }
  }
}

std::string GetString(const toml::table& t, const char* key, const std::string& def,
                      const std::string& origin, const std::string& prefix) {
  const toml::node* n = t.get(key);
  if (!n) return def;
  if (!n->is_string()) Fail(origin, prefix + key, "expected a string");
  return std::string(*n->as_string());
}

int64_t GetInt(const toml::table& t, const char* key, int64_t def, int64_t min, int64_t max,
               const std::string& origin, const std::string& prefix) {
  const toml::node* n = t.get(key);
  if (!n) return def;
  if (!n->is_integer()) Fail(origin, prefix + key, "expected an integer");
  int64_t v = n->as_integer()->get();
  if (v < min || v > max) {
    Fail(origin, prefix + key,
         "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " +
             std::to_string(v));
  }
  return v;
}

// A key in milliseconds (`key` ends in "_ms"): an integer, or a duration
// string that ParseDuration accepts (the [alerts] keys' parser), within
// [min, max] ms.
std::chrono::milliseconds GetMillis(const toml::table& t, const char* key,
                                    std::chrono::milliseconds def, int64_t min, int64_t max,
                                    const std::string& origin, const std::string& prefix) {
  const toml::node* n = t.get(key);
  if (n == nullptr || !n->is_string()) {
    return std::chrono::milliseconds(GetInt(t, key, def.count(), min, max, origin, prefix));
  }
  const std::string text(*n->as_string());
  const std::optional<std::chrono::milliseconds> d = ParseDuration(text);
  if (!d) {
    Fail(origin, prefix + key,
         "expected milliseconds (an integer) or a duration such as \"500ms\", \"30s\" or \"5 "
         "minutes\", got \"" +
             text + "\"");
  }
  if (d->count() < min || d->count() > max) {
    Fail(origin, prefix + key,
         "must be between " + std::to_string(min) + " and " + std::to_string(max) + " ms, got \"" +
             text + "\"");
  }
  return *d;
}

bool GetBool(const toml::table& t, const char* key, bool def, const std::string& origin,
             const std::string& prefix) {
  const toml::node* n = t.get(key);
  if (!n) return def;
  if (!n->is_boolean()) Fail(origin, prefix + key, "expected true or false");
  return n->as_boolean()->get();
}

const toml::table* GetTable(const toml::table& t, const char* key, const std::string& origin) {
  const toml::node* n = t.get(key);
  if (!n) return nullptr;
  if (!n->is_table()) Fail(origin, key, "expected a table ([" + std::string(key) + "])");
  return n->as_table();
}

// Replication slot names: lower-case letters, digits and underscores, at
// most 63 bytes (PostgreSQL's ReplicationSlotValidateName).
bool ValidSlotName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// "host:port" with an IPv4 address (or localhost) and a port 1..65535.
void ParseListen(const std::string& listen, const std::string& origin, HttpConfig* http) {
  auto bad = [&](const std::string& why) {
    Fail(origin, "http.listen",
         "'" + listen + "' " + why + " (expected \"host:port\", e.g. \"127.0.0.1:9187\" or " +
             "\"0.0.0.0:9187\")");
  };
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) bad("has no port");
  const std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host.empty()) bad("has no host");
  in_addr addr{};
  if (host != "localhost" && inet_pton(AF_INET, host.c_str(), &addr) != 1) {
    bad("does not start with an IPv4 address or localhost");
  }
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos) {
    bad("has no valid port number");
  }
  const int p = std::stoi(port);
  if (p < 1 || p > 65535) bad("has a port outside 1..65535");
  http->listen = listen;
  http->host = host == "localhost" ? "127.0.0.1" : host;
  http->port = p;
}

// An [alerts] duration key: a string ParseDuration accepts, within
// [min, max].
std::chrono::milliseconds GetDuration(const toml::table& t, const char* key,
                                      std::chrono::milliseconds def, std::chrono::milliseconds min,
                                      std::chrono::milliseconds max, const std::string& origin,
                                      const std::string& prefix) {
  const toml::node* n = t.get(key);
  if (!n) return def;
  const char* expected =
      "expected a duration string such as \"30s\", \"5m\", \"1h\" or \"30 seconds\"";
  if (!n->is_string()) Fail(origin, prefix + key, expected);
  const std::string text(*n->as_string());
  const std::optional<std::chrono::milliseconds> d = ParseDuration(text);
  if (!d) Fail(origin, prefix + key, std::string(expected) + ", got \"" + text + "\"");
  if (*d < min || *d > max) {
    Fail(origin, prefix + key,
         "must be between " + std::to_string(min.count()) + " ms and " +
             std::to_string(max.count()) + " ms, got \"" + text + "\"");
  }
  return *d;
}

// http:// or https:// followed by a host (and optionally :port and a path).
std::optional<std::string> BadUrl(const std::string& url) {
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
    return "https is not supported by this build (cpp-httplib without OpenSSL)";
#endif
    rest = url.substr(8);
  } else {
    return "expected an http:// or https:// URL";
  }
  const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string::npos)
    return "user:password@ in the URL is not supported (use headers)";
  std::string host = authority;
  if (!host.empty() && host[0] == '[') {
    const size_t close = host.find(']');
    if (close == std::string::npos) return "unterminated [IPv6] host";
    const std::string after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!after.empty() && after[0] != ':') return "unexpected text after the host";
    if (after.size() > 1 && after.find_first_not_of("0123456789", 1) != std::string::npos)
      return "bad port";
  } else if (const size_t colon = host.find(':'); colon != std::string::npos) {
    const std::string port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) < 1 ||
        std::stoi(port) > 65535) {
      return "bad port";
    }
  }
  if (host.empty()) return "no host";
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == ':')) {
      return "bad character in the host";
    }
  }
  return std::nullopt;
}

std::vector<std::string> GetUrls(const toml::table& t, const char* key, const std::string& origin,
                                 const std::string& prefix) {
  std::vector<std::string> out;
  const toml::node* n = t.get(key);
  if (!n) return out;
  if (n->is_string()) {
    Fail(origin, prefix + key, "expected a list of URLs ([\"http://host/path\"])");
  }
  if (!n->is_array()) Fail(origin, prefix + key, "expected a list of URLs");
  size_t i = 0;
  for (const toml::node& e : *n->as_array()) {
    const std::string k = prefix + key + "[" + std::to_string(i++) + "]";
    if (!e.is_string()) Fail(origin, k, "expected a URL string");
    const std::string url(*e.as_string());
    if (auto why = BadUrl(url)) Fail(origin, k, "'" + url + "': " + *why);
    out.push_back(url);
  }
  return out;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && text[i] == ' ') ++i;
  const size_t digits = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == digits || i - digits > 12) return std::nullopt;
  const int64_t n = std::stoll(text.substr(digits, i - digits));
  while (i < text.size() && text[i] == ' ') ++i;
  std::string unit = text.substr(i);
  while (!unit.empty() && unit.back() == ' ') unit.pop_back();
  static const std::vector<std::pair<std::vector<std::string>, int64_t>> kUnits{
      {{"ms", "millisecond", "milliseconds"}, 1},  {{"s", "sec", "second", "seconds"}, 1000},
      {{"m", "min", "minute", "minutes"}, 60'000}, {{"h", "hour", "hours"}, 3'600'000},
      {{"d", "day", "days"}, 86'400'000},
  };
  for (const auto& [names, ms] : kUnits) {
    for (const std::string& name : names) {
      if (unit == name) {
        if (n <= 0) return std::nullopt;
        return std::chrono::milliseconds(n * ms);
      }
    }
  }
  return std::nullopt;
}

Config ParseConfig(const std::string& text, const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":" << e.source().begin.column
        << ": TOML syntax error: " << e.description();
    throw ConfigError(msg.str());
  }

  Config config;
  config.path = origin;
  RejectUnknownKeys(root,
                    {"source", "executor", "drain", "http", "metrics", "alerts", "capture", "log", "table"},
                    origin, "");

  if (const toml::table* src = GetTable(root, "source", origin)) {
    RejectUnknownKeys(*src,
                      {"dsn", "slot", "publication", "status_interval_ms", "slot_check_interval_ms",
                       "max_retained_wal_mb", "time_zone", "max_silence_ms"},
                      origin, "source.");
    config.source.dsn = GetString(*src, "dsn", "", origin, "source.");
    config.source.slot = GetString(*src, "slot", config.source.slot, origin, "source.");
    config.source.publication =
        GetString(*src, "publication", config.source.publication, origin, "source.");
    config.source.status_interval =
        GetMillis(*src, "status_interval_ms", config.source.status_interval, 100, 3'600'000, origin,
                  "source.");
    config.source.max_silence = GetMillis(*src, "max_silence_ms", config.source.max_silence, 0,
                                          86'400'000, origin, "source.");
    config.source.slot_check_interval =
        GetMillis(*src, "slot_check_interval_ms", config.source.slot_check_interval, 100, 3'600'000,
                  origin, "source.");
    config.source.max_retained_wal_bytes =
        GetInt(*src, "max_retained_wal_mb", config.source.max_retained_wal_bytes >> 20, 1,
               int64_t{1} << 30, origin, "source.")
        << 20;
    config.source.time_zone = GetString(*src, "time_zone", "", origin, "source.");
  }
  if (!ValidSlotName(config.source.slot)) {
    Fail(origin, "source.slot",
         "'" + config.source.slot +
             "' is not a valid replication slot name (lower-case letters, digits and "
             "underscores, at most 63)");
  }
  if (!ValidSlotName(config.source.publication)) {
    // The same rule as slots: the name travels inside START_REPLICATION's
    // option string, whose grammar has no escape syntax of its own.
    Fail(origin, "source.publication",
         "'" + config.source.publication +
             "' is not a valid publication name for partwatch (lower-case letters, digits and "
             "underscores, at most 63)");
  }

  if (const toml::table* ex = GetTable(root, "executor", origin)) {
    RejectUnknownKeys(*ex,
                      {"lock_timeout_ms", "max_attempts", "retry_base_delay_ms", "lock_parent",
                       "yield_after_ms", "statement_timeout_ms"},
                      origin, "executor.");
    config.executor.lock_timeout = GetMillis(*ex, "lock_timeout_ms", config.executor.lock_timeout,
                                             1, 600'000, origin, "executor.");
    config.executor.max_attempts = static_cast<int>(
        GetInt(*ex, "max_attempts", config.executor.max_attempts, 1, 1000, origin, "executor."));
    config.executor.retry_base_delay =
        GetMillis(*ex, "retry_base_delay_ms", config.executor.retry_base_delay, 1, 600'000, origin,
                  "executor.");
    config.executor.lock_parent =
        GetBool(*ex, "lock_parent", config.executor.lock_parent, origin, "executor.");
    config.executor.yield_after = GetMillis(*ex, "yield_after_ms", config.executor.yield_after, 10,
                                            600'000, origin, "executor.");
    config.executor.statement_timeout =
        GetMillis(*ex, "statement_timeout_ms", config.executor.statement_timeout, 100, 86'400'000,
                  origin, "executor.");
  }

  if (const toml::table* dr = GetTable(root, "drain", origin)) {
    RejectUnknownKeys(*dr, {"max_lock_ms", "batch_rows", "online_above_mb"}, origin, "drain.");
    config.drain.max_lock =
        GetMillis(*dr, "max_lock_ms", config.drain.max_lock, 1, 600'000, origin, "drain.");
    config.drain.batch_rows =
        GetInt(*dr, "batch_rows", config.drain.batch_rows, 100, 100'000'000, origin, "drain.");
    config.drain.online_above_bytes =
        GetInt(*dr, "online_above_mb", config.drain.online_above_bytes >> 20, 0, int64_t{1} << 30,
               origin, "drain.")
        << 20;
  }

  if (const toml::table* http = GetTable(root, "http", origin)) {
    RejectUnknownKeys(*http, {"listen", "ready_max_lag_mb"}, origin, "http.");
    const std::string listen = GetString(*http, "listen", "", origin, "http.");
    if (http->contains("listen")) ParseListen(listen, origin, &config.http);
    config.http.ready_max_lag_bytes =
        GetInt(*http, "ready_max_lag_mb", config.http.ready_max_lag_bytes >> 20, 1,
               int64_t{1} << 30, origin, "http.")
        << 20;
  }

  if (const toml::table* c = GetTable(root, "capture", origin)) {
    RejectUnknownKeys(*c, {"dir", "segment_size_mb", "retain", "max_size_mb", "compression", "sync_interval_ms"},
                      origin, "capture.");
    config.capture.dir = GetString(*c, "dir", "", origin, "capture.");
    if (c->contains("dir") && config.capture.dir.empty()) {
      Fail(origin, "capture.dir", "must not be empty (leave [capture] out for no capture)");
    }
    config.capture.segment_size =
        GetInt(*c, "segment_size_mb", config.capture.segment_size >> 20, 1, 1 << 16, origin, "capture.")
        << 20;
    config.capture.max_size =
        GetInt(*c, "max_size_mb", 0, 0, int64_t{1} << 30, origin, "capture.") << 20;
    if (config.capture.max_size > 0 && config.capture.max_size < 2 * config.capture.segment_size) {
      Fail(origin, "capture.max_size_mb", "must be at least twice capture.segment_size_mb (or 0)");
    }
    config.capture.retain = GetDuration(*c, "retain", std::chrono::milliseconds(0),
                                        std::chrono::milliseconds(60'000),
                                        std::chrono::milliseconds(int64_t{3650} * 86'400'000), origin,
                                        "capture.");
    const std::string compression = GetString(*c, "compression", "none", origin, "capture.");
    if (compression != "none" && compression != "zstd") {
      Fail(origin, "capture.compression", "expected \"none\" or \"zstd\", got \"" + compression + "\"");
    }
    config.capture.zstd = compression == "zstd";
    config.capture.sync_interval = GetMillis(*c, "sync_interval_ms", config.capture.sync_interval, 10,
                                             60'000, origin, "capture.");
  }

  if (const toml::table* m = GetTable(root, "metrics", origin)) {
    RejectUnknownKeys(*m, {"max_values_per_table"}, origin, "metrics.");
    config.metrics.max_values_per_table = static_cast<size_t>(GetInt(
        *m, "max_values_per_table", static_cast<int64_t>(config.metrics.max_values_per_table), 1,
        10'000, origin, "metrics."));
  }

  if (const toml::table* a = GetTable(root, "alerts", origin)) {
    const std::string p = "alerts.";
    RejectUnknownKeys(
        *a,
        {"recheck_interval", "max_retained_wal_mb", "disconnected_for", "resend_interval",
         "timeout", "webhook", "alertmanager", "notify_channel", "headers"},
        origin, p);
    using std::chrono::milliseconds;
    AlertsConfig& ac = config.alerts;
    ac.recheck_interval = GetDuration(*a, "recheck_interval", ac.recheck_interval,
                                      milliseconds(100), milliseconds(86'400'000), origin, p);
    ac.disconnected_for = GetDuration(*a, "disconnected_for", ac.disconnected_for,
                                      milliseconds(100), milliseconds(86'400'000), origin, p);
    ac.resend_interval = GetDuration(*a, "resend_interval", ac.resend_interval, milliseconds(100),
                                     milliseconds(86'400'000), origin, p);
    ac.timeout =
        GetDuration(*a, "timeout", ac.timeout, milliseconds(100), milliseconds(600'000), origin, p);
    ac.max_retained_wal_bytes = GetInt(*a, "max_retained_wal_mb", ac.max_retained_wal_bytes >> 20,
                                       1, int64_t{1} << 30, origin, p)
                                << 20;
    ac.webhook = GetUrls(*a, "webhook", origin, p);
    ac.alertmanager = GetUrls(*a, "alertmanager", origin, p);
    ac.notify_channel = GetString(*a, "notify_channel", "", origin, p);
    if (a->contains("notify_channel") &&
        (ac.notify_channel.empty() || ac.notify_channel.size() > 63)) {
      Fail(origin, p + "notify_channel", "must be a channel name of 1 to 63 bytes");
    }
    if (const toml::node* h = a->get("headers")) {
      if (!h->is_table())
        Fail(origin, p + "headers", "expected a table: { Authorization = \"...\" }");
      for (const auto& [name, value] : *h->as_table()) {
        const std::string k = p + "headers." + std::string(name.str());
        if (!value.is_string()) Fail(origin, k, "expected a string");
        const std::string n(name.str());
        if (n.empty() || n.find_first_of(" :\r\n\t") != std::string::npos) {
          Fail(origin, k, "not a valid header name");
        }
        const std::string v(*value.as_string());
        // The value is never shown: it may be a secret.
        if (v.find_first_of("\r\n") != std::string::npos) Fail(origin, k, "value has a line break");
        ac.headers.emplace_back(n, v);
      }
    }
  }

  if (const toml::table* log = GetTable(root, "log", origin)) {
    RejectUnknownKeys(*log, {"level"}, origin, "log.");
    config.log_level = GetString(*log, "level", config.log_level, origin, "log.");
    static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error"};
    if (!kLevels.count(config.log_level)) {
      Fail(origin, "log.level", "expected one of trace, debug, info, warn, error");
    }
  }

  const toml::node* tables = root.get("table");
  if (!tables) Fail(origin, "table", "no [[table]] entries: configure at least one table");
  if (!tables->is_array_of_tables()) Fail(origin, "table", "expected [[table]] entries");
  std::set<std::string> seen;
  size_t index = 0;
  for (const toml::node& node : *tables->as_array()) {
    ++index;
    const toml::table& t = *node.as_table();
    const std::string prefix = "table[" + std::to_string(index) + "].";
    RejectUnknownKeys(t,
                      {"name", "threshold", "action", "partition_name", "max_tracked_values",
                       "max_new_partitions_per_hour", "interval", "max_future", "warn_above"},
                      origin, prefix);
    TableConfig tc;
    tc.name = GetString(t, "name", "", origin, prefix);
    if (tc.name.empty()) Fail(origin, prefix + "name", "missing: the partitioned table's name");
    if (!seen.insert(tc.name).second) {
      Fail(origin, prefix + "name", "table '" + tc.name + "' is configured twice");
    }
    tc.threshold = GetInt(t, "threshold", tc.threshold, 0, std::numeric_limits<int64_t>::max() - 1,
                          origin, prefix);
    const std::string action = GetString(t, "action", "create", origin, prefix);
    if (action == "create") {
      tc.action = policy::ActionKind::kCreate;
    } else if (action == "alert") {
      tc.action = policy::ActionKind::kAlert;
    } else {
      Fail(origin, prefix + "action", "expected \"create\" or \"alert\", got \"" + action + "\"");
    }
    tc.partition_name = GetString(t, "partition_name", tc.partition_name, origin, prefix);
    if (!tc.partition_name.empty()) {
      // Which kind of template it is decides which rules apply; whether it
      // fits the table's strategy is checked against the catalog.
      const bool range = tc.partition_name.find("{from") != std::string::npos;
      if (auto err = range ? policy::ValidateRangeNameTemplate(tc.partition_name)
                           : policy::ValidateNameTemplate(tc.partition_name)) {
        Fail(origin, prefix + "partition_name", *err);
      }
    }
    if (const toml::node* iv = t.get("interval")) {
      if (iv->is_integer()) {
        tc.interval_width = iv->as_integer()->get();
        if (tc.interval_width <= 0) {
          Fail(origin, prefix + "interval", "an integer width must be positive");
        }
      } else if (iv->is_string()) {
        tc.interval = std::string(*iv->as_string());
        if (tc.interval.empty()) Fail(origin, prefix + "interval", "must not be empty");
      } else {
        Fail(origin, prefix + "interval",
             "expected an interval string (\"1 day\", \"1 month\") or an integer width");
      }
    }
    tc.max_future = GetString(t, "max_future", tc.max_future, origin, prefix);
    tc.max_tracked_values = static_cast<size_t>(GetInt(t, "max_tracked_values",
                                                       static_cast<int64_t>(tc.max_tracked_values),
                                                       16, 100'000'000, origin, prefix));
    tc.max_new_partitions_per_hour =
        static_cast<int>(GetInt(t, "max_new_partitions_per_hour", tc.max_new_partitions_per_hour, 0,
                                1'000'000, origin, prefix));
    tc.warn_above =
        GetInt(t, "warn_above", 0, 0, std::numeric_limits<int64_t>::max() - 1, origin, prefix);
    if (tc.warn_above > 0 && tc.warn_above >= tc.threshold) {
      Fail(origin, prefix + "warn_above",
           "must be below the threshold (" + std::to_string(tc.threshold) + "), got " +
               std::to_string(tc.warn_above));
    }
    config.tables.push_back(std::move(tc));
  }
  return config;
}

namespace {

std::string Quoted(const std::string& s) { return "'" + s + "'"; }
std::string Shown(int64_t v) { return std::to_string(v); }
std::string Shown(bool v) { return v ? "true" : "false"; }
std::string Shown(std::chrono::milliseconds v) { return std::to_string(v.count()); }

// Adds "what a -> b" to `out` when a != b; returns whether it did.
template <typename T, typename F>
bool Compare(const std::string& what, const T& a, const T& b, F shown,
             std::vector<std::string>* out) {
  if (a == b) return false;
  out->push_back(what + " " + shown(a) + " -> " + shown(b));
  return true;
}

}  // namespace

ReloadDiff DiffForReload(const Config& current, const Config& next) {
  ReloadDiff d;
  auto restart = [&](const std::string& key, const std::string& a, const std::string& b) {
    if (a != b) d.restart_needed.push_back(key + " changed (" + a + " -> " + b + ")");
  };
  const SourceConfig& s0 = current.source;
  const SourceConfig& s1 = next.source;
  // The dsn may hold a password: say that it changed, not what it is.
  if (s0.dsn != s1.dsn) d.restart_needed.push_back("source.dsn changed");
  restart("source.slot", Quoted(s0.slot), Quoted(s1.slot));
  restart("source.publication", Quoted(s0.publication), Quoted(s1.publication));
  restart("source.status_interval_ms", Shown(s0.status_interval), Shown(s1.status_interval));
  restart("source.slot_check_interval_ms", Shown(s0.slot_check_interval),
          Shown(s1.slot_check_interval));
  restart("source.max_retained_wal_mb", Shown(s0.max_retained_wal_bytes >> 20),
          Shown(s1.max_retained_wal_bytes >> 20));
  restart("source.time_zone", Quoted(s0.time_zone), Quoted(s1.time_zone));
  // The endpoint and its metrics are set up once per process.
  restart("http.listen", Quoted(current.http.listen), Quoted(next.http.listen));
  restart("capture.dir", Quoted(current.capture.dir), Quoted(next.capture.dir));
  restart("capture.segment_size_mb", Shown(current.capture.segment_size >> 20),
          Shown(next.capture.segment_size >> 20));
  restart("capture.max_size_mb", Shown(current.capture.max_size >> 20), Shown(next.capture.max_size >> 20));
  restart("capture.retain", Shown(current.capture.retain.count()), Shown(next.capture.retain.count()));
  restart("capture.compression", Quoted(current.capture.zstd ? "zstd" : "none"),
          Quoted(next.capture.zstd ? "zstd" : "none"));
  restart("capture.sync_interval_ms", Shown(current.capture.sync_interval.count()),
          Shown(next.capture.sync_interval.count()));
  restart("http.ready_max_lag_mb", Shown(current.http.ready_max_lag_bytes >> 20),
          Shown(next.http.ready_max_lag_bytes >> 20));
  restart("metrics.max_values_per_table",
          Shown(static_cast<int64_t>(current.metrics.max_values_per_table)),
          Shown(static_cast<int64_t>(next.metrics.max_values_per_table)));
  // The alert manager and its channels are set up once per process.
  {
    const AlertsConfig& a0 = current.alerts;
    const AlertsConfig& a1 = next.alerts;
    if (a0.webhook != a1.webhook || a0.alertmanager != a1.alertmanager ||
        a0.notify_channel != a1.notify_channel || a0.headers != a1.headers ||
        a0.recheck_interval != a1.recheck_interval || a0.disconnected_for != a1.disconnected_for ||
        a0.resend_interval != a1.resend_interval || a0.timeout != a1.timeout ||
        a0.max_retained_wal_bytes != a1.max_retained_wal_bytes) {
      d.restart_needed.push_back("[alerts] changed");
    }
  }

  std::vector<std::string> names0, names1;
  for (const TableConfig& t : current.tables) names0.push_back(t.name);
  for (const TableConfig& t : next.tables) names1.push_back(t.name);
  if (names0 != names1) {
    auto list = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& n : v) out += (out.empty() ? "" : ", ") + n;
      return "[" + out + "]";
    };
    d.restart_needed.push_back("the [[table]] list changed (" + list(names0) + " -> " +
                               list(names1) + ")");
    return d;
  }

  auto ms = [](std::chrono::milliseconds v) { return Shown(v); };
  auto i64 = [](int64_t v) { return Shown(v); };
  auto str = [](const std::string& v) { return Quoted(v); };
  for (size_t i = 0; i < current.tables.size(); ++i) {
    const TableConfig& a = current.tables[i];
    const TableConfig& b = next.tables[i];
    const std::string t = "table[" + std::to_string(i + 1) + "] " + a.name + ":";
    // Counts are kept per bucket: other buckets would need a recount.
    restart(t + " interval", Quoted(a.interval), Quoted(b.interval));
    restart(t + " interval", Shown(a.interval_width), Shown(b.interval_width));
    bool redecide = Compare(t + " threshold", a.threshold, b.threshold, i64, &d.changes);
    redecide |= Compare(
        t + " action", a.action, b.action,
        [](policy::ActionKind k) { return std::string(policy::ActionKindName(k)); }, &d.changes);
    redecide |= Compare(t + " max_future", a.max_future, b.max_future, str, &d.changes);
    if (redecide) d.redecide_tables.push_back(i);
    Compare(t + " partition_name", a.partition_name, b.partition_name, str, &d.changes);
    Compare(t + " max_tracked_values", static_cast<int64_t>(a.max_tracked_values),
            static_cast<int64_t>(b.max_tracked_values), i64, &d.changes);
    // The alert manager reads it once per process.
    restart(t + " warn_above", Shown(a.warn_above), Shown(b.warn_above));
    Compare(t + " max_new_partitions_per_hour", int64_t{a.max_new_partitions_per_hour},
            int64_t{b.max_new_partitions_per_hour}, i64, &d.changes);
  }
  const ExecutorConfig& e0 = current.executor;
  const ExecutorConfig& e1 = next.executor;
  Compare("executor.lock_timeout_ms", e0.lock_timeout, e1.lock_timeout, ms, &d.changes);
  Compare("executor.max_attempts", int64_t{e0.max_attempts}, int64_t{e1.max_attempts}, i64,
          &d.changes);
  Compare("executor.retry_base_delay_ms", e0.retry_base_delay, e1.retry_base_delay, ms, &d.changes);
  Compare(
      "executor.lock_parent", e0.lock_parent, e1.lock_parent, [](bool v) { return Shown(v); },
      &d.changes);
  const DrainConfig& d0 = current.drain;
  const DrainConfig& d1 = next.drain;
  Compare("drain.max_lock_ms", d0.max_lock, d1.max_lock, ms, &d.changes);
  Compare("drain.batch_rows", d0.batch_rows, d1.batch_rows, i64, &d.changes);
  Compare("drain.online_above_mb", d0.online_above_bytes >> 20, d1.online_above_bytes >> 20, i64,
          &d.changes);
  d.log_level_changed = Compare("log.level", current.log_level, next.log_level, str, &d.changes);
  return d;
}

Config LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read the configuration file");
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseConfig(buf.str(), path);
}

}  // namespace partwatch
