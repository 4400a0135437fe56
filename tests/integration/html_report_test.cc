// The HTML replay report in a real browser: headless chromium (Debian's
// `chromium`, scripts/install-deps.sh) renders a realistic synthetic
// report, and the test checks what it drew and what it asked the network
// for.  No PostgreSQL.  Without chromium the tests fail (CI installs it).
//
// The no-network check reads chromium's NetLog (--log-net-log): every URL
// request, host resolution and connection, with the network isolation key
// of the page that caused it.  The browser's own background requests
// (component updater, account check; Debian's chromium 156 makes them even
// with --disable-background-networking and --disable-component-update)
// carry no key or Google's; the page's carry its file:// site.  A request
// with the page's key to anything but file:// fails the check, and
// HtmlReportChromiumTest.NetworkCheckCatchesAnHttpReference proves that it
// does on an <img src="http://127.0.0.1:9/x.png">.
//
// PARTWATCH_SCREENSHOT_OUT=path.png keeps the screenshot (for the docs),
// PARTWATCH_REPORT_OUT=path.html the page.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "src/replay/report.h"

namespace partwatch::replay {
namespace {

namespace fs = std::filesystem;
using policy::KeyValue;

constexpr int64_t kMinute = 60'000'000;
constexpr int64_t kT0 = 849'531'600'000'000;  // 2026-12-02T13:00:00Z
constexpr int kMinutes = 180;                 // three hours
constexpr uint64_t kLsn0 = 0x3A0016B2D48;
const std::vector<int64_t> kThresholds = {100, 1000, 5000};

Lsn LsnAt(int minute, int k) {
  return Lsn(kLsn0 + uint64_t(minute) * 0x9C400 + uint64_t(k) * 0x1F8);
}

// One value's arrivals: rows committed into DEFAULT in each minute.
struct Arrivals {
  KeyValue value;
  std::vector<int64_t> per_minute = std::vector<int64_t>(kMinutes, 0);
};

// Builds a table from per-minute arrivals the way the engine would: totals,
// first and last times, cumulative curves, rows per minute, and per
// scenario the commit where the count first went over the threshold; then
// `decide` names what run would have done there.
TableReport Build(std::string name, std::string strategy, std::vector<Arrivals> arrivals,
                  const std::function<DecisionKind(const KeyValue&, int64_t threshold, int64_t time,
                                                   int creates_last_hour)>& decide) {
  TableReport t;
  t.name = std::move(name);
  t.strategy = std::move(strategy);
  t.thresholds = kThresholds;
  std::vector<int64_t> per_minute(kMinutes, 0);
  for (size_t k = 0; k < arrivals.size(); ++k) {
    const Arrivals& a = arrivals[k];
    ValueReport v;
    v.value = a.value;
    Series s{a.value, {}};
    int64_t total = 0;
    for (int m = 0; m < kMinutes; ++m) {
      if (a.per_minute[m] == 0) continue;
      const int64_t time = kT0 + m * kMinute + int64_t(k) * 3'700'000;
      total += a.per_minute[m];
      per_minute[m] += a.per_minute[m];
      if (!v.first_time) v.first_time = time;
      v.last_time = time;
      s.points.push_back({time, total});
      for (size_t si = 0; si < std::size(kThresholds); ++si) {
        const int64_t th = kThresholds[si];
        if (total > th && total - a.per_minute[m] <= th) {
          Crossing c;
          c.scenario = si;
          c.threshold = th;
          c.rows = total;
          c.lsn = LsnAt(m, static_cast<int>(k));
          c.time = time;
          v.crossings.push_back(c);
        }
      }
    }
    v.rows = total;
    t.rows += total;
    t.values.push_back(std::move(v));
    t.top_series.push_back(std::move(s));
  }
  // Decisions in commit order per scenario (the hourly cap counts creates).
  for (int64_t th : kThresholds) {
    struct Pending {
      int64_t time;
      Crossing* crossing;
      const KeyValue* value;
    };
    std::vector<Pending> order;
    for (ValueReport& v : t.values) {
      for (Crossing& c : v.crossings) {
        if (c.threshold == th) order.push_back({*c.time, &c, &v.value});
      }
    }
    std::sort(order.begin(), order.end(),
              [](const Pending& a, const Pending& b) { return a.time < b.time; });
    std::vector<int64_t> creates;
    for (const Pending& p : order) {
      int recent = 0;
      for (int64_t when : creates) recent += when > p.time - 60 * kMinute ? 1 : 0;
      p.crossing->decision = decide(*p.value, th, p.time, recent);
      if (p.crossing->decision == DecisionKind::kCreate) creates.push_back(p.time);
    }
  }
  std::sort(t.values.begin(), t.values.end(),
            [](const ValueReport& a, const ValueReport& b) { return a.rows > b.rows; });
  std::sort(t.top_series.begin(), t.top_series.end(), [](const Series& a, const Series& b) {
    return a.points.back().second > b.points.back().second;
  });
  t.distinct_values = static_cast<int64_t>(t.values.size());
  for (int m = 0; m < kMinutes; ++m) {
    if (per_minute[m] > 0) t.rows_per_minute.push_back({kT0 + m * kMinute, per_minute[m]});
  }
  return t;
}

// A smooth-looking but deterministic arrival pattern.
int64_t Wave(int m, int64_t base, int period, int phase) {
  return base + base * ((m * 7 + phase) % period) / period;
}

Report RealisticReport() {
  Report r;
  SourceReport capture;
  capture.name = "/var/lib/partwatch/capture/2026-12-02";
  capture.kind = "capture";
  capture.records = 1'284'211;
  capture.skipped = 3;
  capture.warnings = {"capture-0007.pwc: torn tail at byte 16,773,120 (the writer stopped)"};
  r.sources.push_back(capture);
  SourceReport slot;
  slot.name = "slot partwatch";
  slot.kind = "slot";
  slot.records = 48'112;
  r.sources.push_back(slot);
  r.first_lsn = LsnAt(0, 0);
  r.last_lsn = LsnAt(kMinutes, 0);
  r.first_time = kT0;
  r.last_time = kT0 + kMinutes * kMinute;
  r.transactions = 391'877;

  // public.orders, LIST on status, action = alert: six values over three
  // hours; a burst of 'returned' after a deploy at 13:40.
  std::vector<Arrivals> orders;
  auto list_value = [&](std::optional<std::string> v) {
    Arrivals a;
    a.value = v ? KeyValue::Of(*v) : KeyValue::Null();
    orders.push_back(a);
    return orders.size() - 1;
  };
  const size_t returned = list_value("returned");
  const size_t pending = list_value("pending_review");
  const size_t backorder = list_value("backorder");
  const size_t gift = list_value("gift_wrap");
  const size_t hostile = list_value("<script>alert(1)</script>");
  const size_t null_status = list_value(std::nullopt);
  for (int m = 0; m < kMinutes; ++m) {
    if (m >= 40) orders[returned].per_minute[m] = Wave(m, m < 70 ? 140 : 45, 11, 3);
    orders[pending].per_minute[m] = Wave(m, 22, 9, 1);
    if (m >= 95) orders[backorder].per_minute[m] = Wave(m, 12, 5, 2);
    if (m % 6 == 0) orders[gift].per_minute[m] = 9;
    if (m >= 120 && m % 4 == 0) orders[hostile].per_minute[m] = 3;
    if (m % 15 == 0) orders[null_status].per_minute[m] = 2;
  }
  TableReport t_orders =
      Build("public.orders", "list", orders,
            [](const KeyValue&, int64_t, int64_t, int) { return DecisionKind::kAlert; });
  t_orders.truncates = 1;
  t_orders.truncate_times = {kT0 + 150 * kMinute + 12'000'000};
  r.tables.push_back(std::move(t_orders));

  // public.events, RANGE by day, action = create, max_future = 30 days,
  // two new partitions an hour: today's and the next days' buckets
  // arrive; a clock-skewed client writes into June 2027.
  std::vector<Arrivals> events;
  for (const char* day :
       {"2026-12-02 00:00:00+00", "2026-12-03 00:00:00+00", "2026-12-04 00:00:00+00",
        "2026-12-05 00:00:00+00", "2027-06-01 00:00:00+00"}) {
    Arrivals a;
    a.value = KeyValue::Of(day);
    events.push_back(a);
  }
  for (int m = 0; m < kMinutes; ++m) {
    events[0].per_minute[m] = Wave(m, 30, 13, 0);
    if (m >= 20) events[1].per_minute[m] = Wave(m, 14, 7, 4);
    if (m >= 30) events[2].per_minute[m] = Wave(m, 9, 5, 1);
    if (m >= 35) events[3].per_minute[m] = Wave(m, 7, 3, 2);
    if (m >= 50 && m % 2 == 0) events[4].per_minute[m] = 5;
  }
  TableReport t_events =
      Build("public.events", "range", events,
            [](const KeyValue& v, int64_t, int64_t, int creates_last_hour) {
              if (*v.text >= "2027") return DecisionKind::kMaxFuture;
              return creates_last_hour >= 2 ? DecisionKind::kCapped : DecisionKind::kCreate;
            });
  r.tables.push_back(std::move(t_events));
  return r;
}

// ---- running chromium -----------------------------------------------------

std::string FindChromium() {
  if (const char* env = std::getenv("PARTWATCH_CHROMIUM"); env && *env) {
    return access(env, X_OK) == 0 ? env : "";
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const fs::path candidate = fs::path(dir) / name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  return "";
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct ProcessResult {
  int exit_code = -1;  // -1: killed at the deadline
  std::string out;
  std::string err;
};

// Runs `argv` in its own process group with stdout and stderr in files;
// at the deadline the whole group (chromium's helpers too) is killed.
ProcessResult RunProcess(const std::vector<std::string>& args, const fs::path& dir,
                         std::chrono::seconds timeout) {
  const fs::path out = dir / "stdout";
  const fs::path err = dir / "stderr";
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (std::string& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, STDOUT_FILENO);
    dup2(e, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  ProcessResult run;
  if (pid < 0) return run;
  setpgid(pid, pid);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool exited = false;
  while (!(exited = waitpid(pid, &status, WNOHANG) == pid) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!exited) {
    kill(-pid, SIGKILL);
    waitpid(pid, &status, 0);
  } else {
    kill(-pid, SIGKILL);  // helpers left behind, if any
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  run.out = ReadFile(out);
  run.err = ReadFile(err);
  return run;
}

class HtmlReportChromiumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = FindChromium();
    ASSERT_FALSE(chromium_.empty())
        << "chromium not found on PATH (or PARTWATCH_CHROMIUM): the HTML report is checked in a "
           "real browser; apt-get install chromium, or run scripts/install-deps.sh";
    char tmpl[] = "/tmp/partwatch-html-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    html_ = RenderHtml(RealisticReport());
    page_ = dir_ / "report.html";
    std::ofstream(page_) << html_;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // Headless chromium on `page` with a fresh profile and a NetLog; `mode`
  // is --dump-dom or --screenshot=FILE.
  ProcessResult Chromium(const fs::path& page, const std::string& mode, const fs::path& netlog) {
    const fs::path profile = dir_ / ("profile-" + std::to_string(runs_++));
    const fs::path scratch = dir_ / ("run-" + std::to_string(runs_));
    fs::create_directories(scratch);
    return RunProcess(
        {chromium_, "--headless=new", "--no-sandbox", "--disable-gpu",
         "--user-data-dir=" + profile.string(), "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--disable-sync", "--disable-background-networking",
         "--disable-component-update", "--hide-scrollbars", "--window-size=1280,2000",
         "--log-net-log=" + netlog.string(), "--net-log-capture-mode=Default", mode,
         "file://" + page.string()},
        scratch, std::chrono::seconds(60));
  }

  std::string chromium_;
  fs::path dir_;
  fs::path page_;
  std::string html_;
  int runs_ = 0;
};

// What a NetLog says about requests: those the page caused (its network
// isolation key names its file:// site) to anything but file://, and the
// browser's own.
struct NetRequests {
  size_t events = 0;                    // all of them: a NetLog was written
  std::vector<std::string> page;        // "EVENT_TYPE url"
  std::vector<std::string> background;  // for the failure message only
};

NetRequests ReadNetLog(const fs::path& path) {
  const nlohmann::json log = nlohmann::json::parse(ReadFile(path));  // throws: torn log
  std::map<int, std::string> names;
  for (const auto& [name, id] : log.at("constants").at("logEventTypes").items()) {
    names[id.get<int>()] = name;
  }
  NetRequests requests;
  for (const auto& event : log.at("events")) {
    ++requests.events;
    if (!event.contains("params") || !event["params"].is_object()) continue;
    const auto& params = event["params"];
    std::string target;
    for (const char* key : {"url", "host", "destination", "original_url", "location"}) {
      if (params.contains(key) && params[key].is_string()) target = params[key];
    }
    if (target.empty() || target.rfind("file:", 0) == 0) continue;
    std::string key;
    for (const char* k :
         {"network_isolation_key", "network_anonymization_key", "site_for_cookies"}) {
      if (params.contains(k) && params[k].is_string()) key += params[k].get<std::string>() + " ";
    }
    const std::string line = names[event.at("type").get<int>()] + " " + target;
    (key.find("file://") != std::string::npos ? requests.page : requests.background)
        .push_back(line);
  }
  return requests;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "  " + l + "\n";
  return out;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

uint32_t BigEndian32(const std::string& bytes, size_t at) {
  return uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 |
         uint32_t(uint8_t(bytes[at + 2])) << 8 | uint32_t(uint8_t(bytes[at + 3]));
}

TEST_F(HtmlReportChromiumTest, ScreenshotIsA1280PxWidePng) {
  const fs::path shot = dir_ / "report.png";
  const ProcessResult run =
      Chromium(page_, "--screenshot=" + shot.string(), dir_ / "screenshot.netlog");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(fs::exists(shot)) << run.err;
  const std::string png = ReadFile(shot);
  // A page of charts and tables, not a blank one (1280x2000 of white
  // compresses to a few kilobytes).
  EXPECT_GT(png.size(), 60'000u);
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(BigEndian32(png, 16), 1280u);  // width
  EXPECT_EQ(BigEndian32(png, 20), 2000u);  // height
  if (const char* out = std::getenv("PARTWATCH_SCREENSHOT_OUT"); out && *out) {
    fs::copy_file(shot, out, fs::copy_options::overwrite_existing);
  }
  if (const char* out = std::getenv("PARTWATCH_REPORT_OUT"); out && *out) {
    fs::copy_file(page_, out, fs::copy_options::overwrite_existing);
  }
}

TEST_F(HtmlReportChromiumTest, DomHasTheChartsAndTheLegend) {
  const ProcessResult run = Chromium(page_, "--dump-dom", dir_ / "dom.netlog");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string& dom = run.out;
  ASSERT_NE(dom.find("</html>"), std::string::npos) << run.err;
  // Three charts per table, every curve of the top values (6 + 5), a marker
  // per crossing, the legend of the top value, the dashed threshold lines.
  EXPECT_EQ(Count(dom, "<svg class=\"plot\""), 6u);
  EXPECT_EQ(Count(dom, "<polyline class=\"curve\""), 11u);
  EXPECT_GE(Count(dom, "<g class=\"mark\">"), 15u);
  EXPECT_NE(dom.find("<span class=\"mono\">'returned'</span>"), std::string::npos);
  EXPECT_NE(dom.find(">threshold 1000</text>"), std::string::npos);
  EXPECT_NE(dom.find("<line class=\"threshold\""), std::string::npos);
  EXPECT_NE(dom.find("<g class=\"bars\"><rect"), std::string::npos);
  EXPECT_NE(dom.find(">TRUNCATE</text>"), std::string::npos);
  // The hostile value is text in the DOM, not an element.
  EXPECT_NE(dom.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(dom.find("<script"), std::string::npos);
  // Every decision kind appears as a badge in the values tables.
  for (const char* badge : {"badge create", "badge alert", "badge max-future", "badge capped"}) {
    EXPECT_NE(dom.find(badge), std::string::npos) << badge;
  }
}

TEST_F(HtmlReportChromiumTest, AsksTheNetworkForNothing) {
  const fs::path netlog = dir_ / "page.netlog";
  const ProcessResult run = Chromium(page_, "--dump-dom", netlog);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_NE(run.out.find("</html>"), std::string::npos) << run.err;
  const NetRequests requests = ReadNetLog(netlog);
  EXPECT_GT(requests.events, 0u) << "an empty NetLog proves nothing";
  EXPECT_TRUE(requests.page.empty()) << "the page asked the network for:\n" << Join(requests.page);
}

// The check above can fail: the same page with one <img> pointing at a
// closed local port is caught.
TEST_F(HtmlReportChromiumTest, NetworkCheckCatchesAnHttpReference) {
  std::string tainted = html_;
  const size_t body = tainted.find("<main");
  ASSERT_NE(body, std::string::npos);
  tainted.insert(body, "<img src=\"http://127.0.0.1:9/x.png\" alt=\"\">");
  const fs::path page = dir_ / "tainted.html";
  std::ofstream(page) << tainted;
  const fs::path netlog = dir_ / "tainted.netlog";
  const ProcessResult run = Chromium(page, "--dump-dom", netlog);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_NE(run.out.find("127.0.0.1:9/x.png"), std::string::npos) << "the img is not in the DOM";
  const NetRequests requests = ReadNetLog(netlog);
  bool caught = false;
  for (const std::string& r : requests.page) {
    caught = caught || r.find("http://127.0.0.1:9/x.png") != std::string::npos;
  }
  EXPECT_TRUE(caught) << "page requests:\n"
                      << Join(requests.page) << "background:\n"
                      << Join(requests.background);
}

}  // namespace
}  // namespace partwatch::replay
