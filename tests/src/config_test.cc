// Config parsing and validation: every bad input names its key.
#include "src/config.h"

#include <gtest/gtest.h>

#include "src/pg/connection.h"

namespace partwatch {
namespace {

constexpr const char* kMinimal = R"(
[source]
dsn = "host=127.0.0.1 dbname=app"

[[table]]
name = "public.orders"
)";

// Parses `text` expecting a ConfigError; returns its message.
std::string ErrorOf(const std::string& text) {
  try {
    ParseConfig(text, "test.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << text;
  return "";
}

// The _ms keys take milliseconds, or a duration string through the same
// parser as the [alerts] keys.
TEST(ConfigTest, MillisecondKeysTakeAnIntegerOrADurationString) {
  const Config c = ParseConfig(std::string(kMinimal) +
                                   "[executor]\nlock_timeout_ms = \"2s\"\n"
                                   "statement_timeout_ms = \"5 minutes\"\nyield_after_ms = 150\n"
                                   "[drain]\nmax_lock_ms = \"250ms\"\n",
                               "test.toml");
  EXPECT_EQ(c.executor.lock_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.executor.statement_timeout, std::chrono::milliseconds(300'000));
  EXPECT_EQ(c.executor.yield_after, std::chrono::milliseconds(150));
  EXPECT_EQ(c.drain.max_lock, std::chrono::milliseconds(250));

  const std::string bad =
      ErrorOf(std::string(kMinimal) + "[executor]\nlock_timeout_ms = \"soon\"\n");
  EXPECT_NE(bad.find("executor.lock_timeout_ms"), std::string::npos) << bad;
  EXPECT_NE(bad.find("\"soon\""), std::string::npos) << bad;
  const std::string big = ErrorOf(std::string(kMinimal) + "[drain]\nmax_lock_ms = \"2h\"\n");
  EXPECT_NE(big.find("drain.max_lock_ms: must be between 1 and 600000 ms"), std::string::npos)
      << big;
}

TEST(ConfigTest, MinimalConfigGetsTheDocumentedDefaults) {
  const Config c = ParseConfig(kMinimal, "test.toml");
  EXPECT_EQ(c.source.dsn, "host=127.0.0.1 dbname=app");
  EXPECT_EQ(c.source.slot, "partwatch");
  EXPECT_EQ(c.source.publication, "partwatch");
  EXPECT_EQ(c.source.status_interval.count(), 10'000);
  EXPECT_EQ(c.executor.lock_timeout.count(), 500);
  EXPECT_EQ(c.executor.max_attempts, 10);
  EXPECT_TRUE(c.executor.lock_parent);
  EXPECT_EQ(c.log_level, "info");
  ASSERT_EQ(c.tables.size(), 1u);
  EXPECT_EQ(c.tables[0].name, "public.orders");
  EXPECT_EQ(c.tables[0].threshold, 100);
  EXPECT_EQ(c.tables[0].action, policy::ActionKind::kCreate);
  EXPECT_EQ(c.tables[0].partition_name, "");  // automatic, by the table's kind
  EXPECT_EQ(c.tables[0].interval, "");
  EXPECT_EQ(c.tables[0].interval_width, 0);
  EXPECT_EQ(c.tables[0].max_future, "1 year");
  EXPECT_EQ(c.source.time_zone, "");
  EXPECT_EQ(c.drain.max_lock.count(), 200);
  EXPECT_EQ(c.drain.batch_rows, 50'000);
  EXPECT_EQ(c.drain.online_above_bytes, int64_t{64} << 20);
  EXPECT_EQ(c.tables[0].max_tracked_values, 100'000u);
  EXPECT_EQ(c.tables[0].max_new_partitions_per_hour, 60);
  EXPECT_EQ(c.source.slot_check_interval.count(), 10'000);
  EXPECT_EQ(c.source.max_retained_wal_bytes, int64_t{1024} << 20);
  EXPECT_EQ(c.source.max_silence.count(), 0);  // from the server's wal_sender_timeout
}

TEST(ConfigTest, EveryKeyIsRead) {
  const Config c = ParseConfig(R"(
[source]
dsn = "postgresql://pw@db/app"
slot = "pw_slot"
publication = "pw_pub"
status_interval_ms = 500
slot_check_interval_ms = 2000
max_retained_wal_mb = 64
max_silence_ms = 5000
[executor]
lock_timeout_ms = 300
max_attempts = 3
retry_base_delay_ms = 10
lock_parent = false
[log]
level = "debug"
[[table]]
name = '"Sales"."Orders"'
threshold = 0
action = "alert"
partition_name = "p_{value}"
max_tracked_values = 5000
max_new_partitions_per_hour = 3
[[table]]
name = "public.orders"
)",
                               "test.toml");
  EXPECT_EQ(c.source.slot, "pw_slot");
  EXPECT_EQ(c.source.publication, "pw_pub");
  EXPECT_EQ(c.source.status_interval.count(), 500);
  EXPECT_EQ(c.source.max_silence.count(), 5000);
  EXPECT_EQ(c.executor.lock_timeout.count(), 300);
  EXPECT_EQ(c.executor.max_attempts, 3);
  EXPECT_EQ(c.executor.retry_base_delay.count(), 10);
  EXPECT_FALSE(c.executor.lock_parent);
  EXPECT_EQ(c.log_level, "debug");
  ASSERT_EQ(c.tables.size(), 2u);
  EXPECT_EQ(c.tables[0].name, "\"Sales\".\"Orders\"");
  EXPECT_EQ(c.tables[0].threshold, 0);
  EXPECT_EQ(c.tables[0].action, policy::ActionKind::kAlert);
  EXPECT_EQ(c.tables[0].partition_name, "p_{value}");
  EXPECT_EQ(c.tables[0].max_tracked_values, 5000u);
  EXPECT_EQ(c.tables[0].max_new_partitions_per_hour, 3);
  EXPECT_EQ(c.source.slot_check_interval.count(), 2000);
  EXPECT_EQ(c.source.max_retained_wal_bytes, int64_t{64} << 20);
}

TEST(ConfigTest, TooSmallMaxTrackedValuesIsNamed) {
  const std::string e = ErrorOf("[[table]]\nname = \"t\"\nmax_tracked_values = 3\n");
  EXPECT_NE(e.find("table[1].max_tracked_values: must be between 16"), std::string::npos) << e;
}

TEST(ConfigTest, HttpIsOffUnlessListenIsSet) {
  const Config c = ParseConfig(kMinimal, "test.toml");
  EXPECT_TRUE(c.http.listen.empty());
  EXPECT_EQ(c.http.ready_max_lag_bytes, int64_t{64} << 20);
  EXPECT_EQ(c.metrics.max_values_per_table, 100u);
}

TEST(ConfigTest, HttpListenAndMetricsKeysAreRead) {
  const Config c = ParseConfig(std::string(kMinimal) +
                                   "[http]\nlisten = \"0.0.0.0:9187\"\nready_max_lag_mb = 8\n"
                                   "[metrics]\nmax_values_per_table = 20\n",
                               "test.toml");
  EXPECT_EQ(c.http.listen, "0.0.0.0:9187");
  EXPECT_EQ(c.http.host, "0.0.0.0");
  EXPECT_EQ(c.http.port, 9187);
  EXPECT_EQ(c.http.ready_max_lag_bytes, int64_t{8} << 20);
  EXPECT_EQ(c.metrics.max_values_per_table, 20u);
}

TEST(ConfigTest, MalformedHttpListenIsNamed) {
  for (const char* listen : {"9187", "127.0.0.1", "127.0.0.1:", ":9187", "127.0.0.1:http",
                             "127.0.0.1:70000", "127.0.0.1:0", "example.com:9187", ""}) {
    const std::string e = ErrorOf(std::string(kMinimal) + "[http]\nlisten = \"" + listen + "\"\n");
    EXPECT_NE(e.find("test.toml: http.listen: "), std::string::npos) << listen << ": " << e;
  }
  const std::string e = ErrorOf(std::string(kMinimal) + "[http]\nlisten = 9187\n");
  EXPECT_NE(e.find("http.listen: expected a string"), std::string::npos) << e;
}

TEST(ConfigTest, ChangingHttpNeedsARestart) {
  const Config a = ParseConfig(kMinimal, "test.toml");
  const Config b =
      ParseConfig(std::string(kMinimal) + "[http]\nlisten = \"127.0.0.1:9187\"\n", "test.toml");
  const ReloadDiff d = DiffForReload(a, b);
  ASSERT_EQ(d.restart_needed.size(), 1u);
  EXPECT_NE(d.restart_needed[0].find("http.listen changed"), std::string::npos);
}

TEST(ConfigTest, UnknownTopLevelKeyIsNamed) {
  EXPECT_NE(ErrorOf(std::string(kMinimal) + "\n[sourc]\nx = 1\n").find("sourc: unknown key"),
            std::string::npos);
}

TEST(ConfigTest, UnknownSourceKeyIsNamed) {
  const std::string e = ErrorOf("[source]\ndsnn = \"x\"\n[[table]]\nname = \"t\"\n");
  EXPECT_NE(e.find("source.dsnn: unknown key"), std::string::npos) << e;
}

TEST(ConfigTest, UnknownTableKeyIsNamedWithItsIndex) {
  const std::string e =
      ErrorOf(std::string(kMinimal) + "[[table]]\nname = \"b\"\nthreshhold = 5\n");
  EXPECT_NE(e.find("table[2].threshhold: unknown key"), std::string::npos) << e;
}

TEST(ConfigTest, WrongTypeIsNamed) {
  const std::string e = ErrorOf("[[table]]\nname = \"t\"\nthreshold = \"many\"\n");
  EXPECT_NE(e.find("table[1].threshold: expected an integer"), std::string::npos) << e;
}

TEST(ConfigTest, NegativeThresholdIsRejected) {
  const std::string e = ErrorOf("[[table]]\nname = \"t\"\nthreshold = -1\n");
  EXPECT_NE(e.find("table[1].threshold: must be between 0"), std::string::npos) << e;
}

TEST(ConfigTest, MissingTablesAreAnError) {
  const std::string e = ErrorOf("[source]\ndsn = \"x\"\n");
  EXPECT_NE(e.find("table: no [[table]] entries"), std::string::npos) << e;
}

TEST(ConfigTest, MissingTableNameIsAnError) {
  const std::string e = ErrorOf("[[table]]\nthreshold = 5\n");
  EXPECT_NE(e.find("table[1].name: missing"), std::string::npos) << e;
}

TEST(ConfigTest, DuplicateTableIsAnError) {
  const std::string e = ErrorOf(std::string(kMinimal) + "[[table]]\nname = \"public.orders\"\n");
  EXPECT_NE(e.find("table[2].name"), std::string::npos) << e;
  EXPECT_NE(e.find("configured twice"), std::string::npos) << e;
}

TEST(ConfigTest, BadActionIsNamed) {
  const std::string e = ErrorOf("[[table]]\nname = \"t\"\naction = \"drop\"\n");
  EXPECT_NE(e.find("table[1].action: expected \"create\" or \"alert\""), std::string::npos) << e;
}

TEST(ConfigTest, BadPartitionNameTemplateIsNamed) {
  const std::string e = ErrorOf("[[table]]\nname = \"t\"\npartition_name = \"{parent}_x\"\n");
  EXPECT_NE(e.find("table[1].partition_name"), std::string::npos) << e;
}

TEST(ConfigTest, BadSlotNameIsNamed) {
  const std::string e = ErrorOf("[source]\nslot = \"Bad-Slot\"\n[[table]]\nname = \"t\"\n");
  EXPECT_NE(e.find("source.slot"), std::string::npos) << e;
}

TEST(ConfigTest, BadPublicationNameIsNamed) {
  const std::string e = ErrorOf("[source]\npublication = \"x'; DROP\"\n[[table]]\nname = \"t\"\n");
  EXPECT_NE(e.find("source.publication"), std::string::npos) << e;
}

TEST(ConfigTest, BadLogLevelIsNamed) {
  const std::string e = ErrorOf(std::string(kMinimal) + "[log]\nlevel = \"loud\"\n");
  EXPECT_NE(e.find("log.level"), std::string::npos) << e;
}

TEST(ConfigTest, SyntaxErrorNamesLineAndColumn) {
  const std::string e = ErrorOf("[source\n");
  EXPECT_NE(e.find("test.toml:1:"), std::string::npos) << e;
  EXPECT_NE(e.find("TOML syntax error"), std::string::npos) << e;
}

TEST(ConfigTest, MissingFileIsNamed) {
  try {
    LoadConfig("/nonexistent/partwatch.toml");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/partwatch.toml"), std::string::npos);
  }
}

TEST(RedactConninfoTest, KeywordPasswordIsHidden) {
  EXPECT_EQ(pg::RedactConninfo("host=db password=sekret user=pw"),
            "host=db password=******** user=pw");
  EXPECT_EQ(pg::RedactConninfo("password = 'se cr\\'et' host=db"), "password = ******** host=db");
}

TEST(RedactConninfoTest, UriPasswordIsHidden) {
  EXPECT_EQ(pg::RedactConninfo("postgresql://pw:sekret@db:5432/app"),
            "postgresql://pw:********@db:5432/app");
  EXPECT_EQ(pg::RedactConninfo("postgres://db/app?user=pw&password=sekret&sslmode=require"),
            "postgres://db/app?user=pw&password=********&sslmode=require");
}

TEST(RedactConninfoTest, NoPasswordIsUnchanged) {
  EXPECT_EQ(pg::RedactConninfo("host=db user=pw dbname=app"), "host=db user=pw dbname=app");
}

TEST(ConfigTest, RangeKeysAreRead) {
  const Config c = ParseConfig(
      "[source]\ntime_zone = \"Europe/Berlin\"\n[drain]\nmax_lock_ms = 50\nbatch_rows = 1000\n"
      "online_above_mb = 0\n"
      "[[table]]\nname = \"events\"\ninterval = \"1 day\"\nmax_future = \"90 days\"\n"
      "partition_name = \"{parent}_{from:%Y%m%d}\"\n"
      "[[table]]\nname = \"ids\"\ninterval = 1000\n",
      "test.toml");
  EXPECT_EQ(c.source.time_zone, "Europe/Berlin");
  EXPECT_EQ(c.drain.max_lock.count(), 50);
  EXPECT_EQ(c.drain.batch_rows, 1000);
  EXPECT_EQ(c.drain.online_above_bytes, 0);
  EXPECT_EQ(c.tables[0].interval, "1 day");
  EXPECT_EQ(c.tables[0].max_future, "90 days");
  EXPECT_EQ(c.tables[0].partition_name, "{parent}_{from:%Y%m%d}");
  EXPECT_EQ(c.tables[1].interval_width, 1000);
}

TEST(ConfigTest, BadRangeKeysNameTheKey) {
  std::string e = ErrorOf("[[table]]\nname = \"t\"\ninterval = -5\n");
  EXPECT_NE(e.find("table[1].interval"), std::string::npos) << e;
  e = ErrorOf("[[table]]\nname = \"t\"\ninterval = true\n");
  EXPECT_NE(e.find("table[1].interval"), std::string::npos) << e;
  e = ErrorOf("[[table]]\nname = \"t\"\npartition_name = \"{parent}_{from:%Q}\"\n");
  EXPECT_NE(e.find("table[1].partition_name"), std::string::npos) << e;
  e = ErrorOf("[drain]\nmax_lock_ms = 0\n[[table]]\nname = \"t\"\n");
  EXPECT_NE(e.find("drain.max_lock_ms"), std::string::npos) << e;
  e = ErrorOf("[drain]\nmax_lock = 5\n[[table]]\nname = \"t\"\n");
  EXPECT_NE(e.find("drain.max_lock"), std::string::npos) << e;
}

// DiffForReload: what a SIGHUP would apply, and what needs a restart.

Config Parsed(const std::string& text) { return ParseConfig(text, "test.toml"); }

TEST(ReloadDiffTest, SameFileChangesNothing) {
  const ReloadDiff d = DiffForReload(Parsed(kMinimal), Parsed(kMinimal));
  EXPECT_TRUE(d.restart_needed.empty());
  EXPECT_TRUE(d.changes.empty());
  EXPECT_FALSE(d.log_level_changed);
}

TEST(ReloadDiffTest, TableAndExecutorSettingsApplyAtOnce) {
  const ReloadDiff d = DiffForReload(
      Parsed(kMinimal), Parsed(std::string(kMinimal) +
                               "threshold = 20\naction = \"alert\"\n"
                               "max_new_partitions_per_hour = 5\n"
                               "[executor]\nlock_timeout_ms = 900\n[log]\nlevel = \"debug\"\n"));
  EXPECT_TRUE(d.restart_needed.empty());
  EXPECT_EQ(d.changes, (std::vector<std::string>{
                           "table[1] public.orders: threshold 100 -> 20",
                           "table[1] public.orders: action create -> alert",
                           "table[1] public.orders: max_new_partitions_per_hour 60 -> 5",
                           "executor.lock_timeout_ms 500 -> 900",
                           "log.level 'info' -> 'debug'",
                       }));
  EXPECT_EQ(d.redecide_tables, std::vector<size_t>{0});
  EXPECT_TRUE(d.log_level_changed);
}

TEST(ReloadDiffTest, SourceChangesNeedARestartAndHideTheDsn) {
  const ReloadDiff d = DiffForReload(Parsed(kMinimal), Parsed(R"(
[source]
dsn = "host=127.0.0.1 dbname=app password=secret"
slot = "other"
[[table]]
name = "public.orders"
)"));
  EXPECT_EQ(d.restart_needed,
            (std::vector<std::string>{"source.dsn changed",
                                      "source.slot changed ('partwatch' -> 'other')"}));
}

TEST(ReloadDiffTest, ChangedTableListNeedsARestart) {
  const ReloadDiff d = DiffForReload(
      Parsed(kMinimal), Parsed(std::string(kMinimal) + "[[table]]\nname = \"public.b\"\n"));
  ASSERT_EQ(d.restart_needed.size(), 1u);
  EXPECT_EQ(d.restart_needed[0],
            "the [[table]] list changed ([public.orders] -> [public.orders, public.b])");
}

TEST(ReloadDiffTest, RangeIntervalNeedsARestart) {
  const ReloadDiff d = DiffForReload(Parsed(std::string(kMinimal) + "interval = \"1 day\"\n"),
                                     Parsed(std::string(kMinimal) + "interval = \"1 month\"\n"));
  ASSERT_EQ(d.restart_needed.size(), 1u);
  EXPECT_EQ(d.restart_needed[0], "table[1] public.orders: interval changed ('1 day' -> '1 month')");
}

}  // namespace
}  // namespace partwatch

namespace partwatch {
namespace {

using std::chrono::milliseconds;

TEST(ConfigDurationTest, ParsesShortAndLongUnits) {
  EXPECT_EQ(ParseDuration("30s"), milliseconds(30'000));
  EXPECT_EQ(ParseDuration("5m"), milliseconds(300'000));
  EXPECT_EQ(ParseDuration("1h"), milliseconds(3'600'000));
  EXPECT_EQ(ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(ParseDuration("2d"), milliseconds(172'800'000));
  EXPECT_EQ(ParseDuration("30 seconds"), milliseconds(30'000));
  EXPECT_EQ(ParseDuration("1 second"), milliseconds(1'000));
  EXPECT_EQ(ParseDuration("5 minutes"), milliseconds(300'000));
  EXPECT_EQ(ParseDuration("2 hours"), milliseconds(7'200'000));
}

TEST(ConfigDurationTest, RejectsWhatIsNotADuration) {
  for (const char* bad : {"", "s", "30", "30x", "-5s", "0s", "1.5s", "5 parsecs", "s30",
                          "99999999999999s", "1m30s"}) {
    EXPECT_EQ(ParseDuration(bad), std::nullopt) << bad;
  }
}

const std::string kTable = "\n[[table]]\nname = \"public.orders\"\n";

TEST(ConfigAlertsTest, DefaultsAndValues) {
  const Config d = ParseConfig(kTable, "test.toml");
  EXPECT_EQ(d.alerts.recheck_interval, milliseconds(30'000));
  EXPECT_EQ(d.alerts.disconnected_for, milliseconds(60'000));
  EXPECT_EQ(d.alerts.resend_interval, milliseconds(60'000));
  EXPECT_EQ(d.alerts.timeout, milliseconds(5'000));
  EXPECT_EQ(d.alerts.max_retained_wal_bytes, int64_t{1024} << 20);
  EXPECT_FALSE(d.alerts.any_channel());
  const Config c = ParseConfig(R"(
[alerts]
recheck_interval = "1s"
disconnected_for = "2 minutes"
resend_interval = "1h"
timeout = "500ms"
max_retained_wal_mb = 10
webhook = ["http://127.0.0.1:9000/hook", "https://alerts.example.com"]
alertmanager = ["http://[::1]:9093"]
notify_channel = "partwatch"
headers = { Authorization = "Bearer s3cret" }
)" + kTable + "warn_above = 50\n",
                               "test.toml");
  EXPECT_EQ(c.alerts.recheck_interval, milliseconds(1'000));
  EXPECT_EQ(c.alerts.disconnected_for, milliseconds(120'000));
  EXPECT_EQ(c.alerts.resend_interval, milliseconds(3'600'000));
  EXPECT_EQ(c.alerts.timeout, milliseconds(500));
  EXPECT_EQ(c.alerts.max_retained_wal_bytes, int64_t{10} << 20);
  ASSERT_EQ(c.alerts.webhook.size(), 2u);
  EXPECT_EQ(c.alerts.alertmanager.at(0), "http://[::1]:9093");
  EXPECT_EQ(c.alerts.notify_channel, "partwatch");
  ASSERT_EQ(c.alerts.headers.size(), 1u);
  EXPECT_EQ(c.alerts.headers[0].first, "Authorization");
  EXPECT_EQ(c.tables.at(0).warn_above, 50);
}

TEST(ConfigAlertsTest, BadValuesNameTheKey) {
  EXPECT_NE(ErrorOf("[alerts]\nwebhook = [\"not a url\"]\n" + kTable).find("alerts.webhook[0]"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[alerts]\nwebhook = [\"http://ok/\", \"ftp://x/\"]\n" + kTable)
                .find("alerts.webhook[1]"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[alerts]\nwebhook = [\"http:///path\"]\n" + kTable).find("alerts.webhook[0]"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[alerts]\nwebhook = \"http://x/\"\n" + kTable).find("alerts.webhook"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[alerts]\nalertmanager = [\"http://h:99999\"]\n" + kTable)
                .find("alerts.alertmanager[0]"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf("[alerts]\nrecheck_interval = \"soon\"\n" + kTable).find("alerts.recheck_interval"),
      std::string::npos);
  EXPECT_NE(ErrorOf("[alerts]\ntimeout = 5\n" + kTable).find("alerts.timeout"), std::string::npos);
  EXPECT_NE(ErrorOf("[alerts]\nresend_intervall = \"1s\"\n" + kTable)
                .find("alerts.resend_intervall: unknown key"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[alerts]\nnotify_channel = \"\"\n" + kTable).find("alerts.notify_channel"),
            std::string::npos);
  EXPECT_NE(ErrorOf(kTable + "threshold = 10\nwarn_above = 10\n").find("table[1].warn_above"),
            std::string::npos);
  // A header's value is a secret: never in a message.
  const std::string e = ErrorOf("[alerts]\nheaders = { \"Bad Name\" = \"s3cret\" }\n" + kTable);
  EXPECT_NE(e.find("alerts.headers.Bad Name"), std::string::npos) << e;
  EXPECT_EQ(e.find("s3cret"), std::string::npos) << e;
}

TEST(ConfigAlertsTest, ChangingAlertsNeedsARestart) {
  const Config a = ParseConfig(kTable, "a.toml");
  const Config b = ParseConfig("[alerts]\nnotify_channel = \"x\"\n" + kTable, "b.toml");
  EXPECT_FALSE(DiffForReload(a, b).restart_needed.empty());
}

}  // namespace
}  // namespace partwatch

namespace partwatch {
namespace {

TEST(CaptureConfigTest, KeysAreReadAndBadOnesNamed) {
  const Config none = ParseConfig(kMinimal, "test.toml");
  EXPECT_TRUE(none.capture.dir.empty());
  const Config c = ParseConfig(std::string(kMinimal) +
                                   "[capture]\ndir = \"/var/lib/pw\"\nsegment_size_mb = 8\n"
                                   "max_size_mb = 100\nretain = \"7 days\"\ncompression = \"zstd\"\n"
                                   "sync_interval_ms = \"1s\"\n",
                               "test.toml");
  EXPECT_EQ(c.capture.dir, "/var/lib/pw");
  EXPECT_EQ(c.capture.segment_size, int64_t{8} << 20);
  EXPECT_EQ(c.capture.max_size, int64_t{100} << 20);
  EXPECT_EQ(c.capture.retain, std::chrono::milliseconds(int64_t{7} * 86'400'000));
  EXPECT_TRUE(c.capture.zstd);
  EXPECT_EQ(c.capture.sync_interval, std::chrono::milliseconds(1000));

  const std::string k = std::string(kMinimal) + "[capture]\ndir = \"/x\"\n";
  EXPECT_NE(ErrorOf(k + "compression = \"lz4\"\n").find("capture.compression"), std::string::npos);
  EXPECT_NE(ErrorOf(k + "max_size_mb = 10\n").find("capture.max_size_mb"), std::string::npos);
  EXPECT_NE(ErrorOf(k + "retain = \"forever\"\n").find("capture.retain"), std::string::npos);
  EXPECT_NE(ErrorOf(k + "segment_sise_mb = 1\n").find("segment_sise_mb"), std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kMinimal) + "[capture]\ndir = \"\"\n").find("capture.dir"), std::string::npos);
}

TEST(CaptureConfigTest, ChangingItNeedsARestart) {
  const Config a = ParseConfig(std::string(kMinimal) + "[capture]\ndir = \"/a\"\n", "a.toml");
  const Config b = ParseConfig(std::string(kMinimal) + "[capture]\ndir = \"/b\"\n", "b.toml");
  const ReloadDiff d = DiffForReload(a, b);
  ASSERT_EQ(d.restart_needed.size(), 1u);
  EXPECT_NE(d.restart_needed[0].find("capture.dir"), std::string::npos);
}

}  // namespace
}  // namespace partwatch
