#include "src/replay/command.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <spdlog/spdlog.h>

#include "decoder/capture.h"
#include "policy/calendar.h"
#include "src/capture/tables_json.h"
#include "src/catalog.h"
#include "src/drain/progress.h"
#include "src/replay/capture_source.h"
#include "src/replay/simulator.h"
#include "src/replay/slot_source.h"
#include "src/replay/wal2json_source.h"
#include "src/replay/wal_source.h"
#include "src/session/state.h"

namespace partwatch::replay {

namespace {

using Clock = std::chrono::steady_clock;

bool ParseInt(std::string_view s, int64_t* out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool IsCapture(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return true;
  std::ifstream f(path, std::ios::binary);
  char head[8] = {};
  f.read(head, sizeof head);
  if (f.gcount() == 8 && std::string_view(head, 8) == capture::kMagic) return true;
  // A compressed segment: by its name (zstd magic 28 b5 2f fd).
  return path.ends_with(".pwcap.zst") ||
         (f.gcount() >= 4 && static_cast<unsigned char>(head[0]) == 0x28 &&
          static_cast<unsigned char>(head[1]) == 0xb5 && path.ends_with(".zst"));
}

// Which configured table a captured description is.
const TableInfo* FindTable(const std::vector<TableInfo>& infos, const TableConfig& tc) {
  for (const TableInfo& i : infos) {
    if (i.configured_name == tc.name) return &i;
  }
  for (const TableInfo& i : infos) {
    if (i.DisplayName() == tc.name || "public." + tc.name == i.DisplayName()) return &i;
  }
  return nullptr;
}

struct Thresholds {
  std::vector<int64_t> all;
  std::map<std::string, std::vector<int64_t>> per_table;
};

Thresholds ParseThresholds(const std::vector<std::string>& entries) {
  Thresholds t;
  for (const std::string& raw : entries) {
    // CLI11 may hand over "100,1000" as one entry.
    size_t start = 0;
    while (start <= raw.size()) {
      const size_t comma = raw.find(',', start);
      const std::string e =
          raw.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? raw.size() + 1 : comma + 1;
      if (e.empty()) continue;
      const size_t eq = e.rfind('=');
      int64_t n = 0;
      const std::string num = eq == std::string::npos ? e : e.substr(eq + 1);
      if (!ParseInt(num, &n) || n < 0) {
        throw std::invalid_argument("--threshold: '" + e +
                                    "' is not N or TABLE=N with N a whole number >= 0");
      }
      if (eq == std::string::npos) {
        t.all.push_back(n);
      } else {
        t.per_table[e.substr(0, eq)].push_back(n);
      }
    }
  }
  return t;
}

// The progress line on a terminal, for inputs that take more than a second.
class Progress {
 public:
  explicit Progress(bool quiet)
      : on_(!quiet && ::isatty(STDERR_FILENO) == 1), start_(Clock::now()) {}
  ~Progress() { Finish(); }
  void Update(const Source& s, int64_t rows) {
    if (!on_ || ++calls_ % 4096 != 0) return;
    const auto now = Clock::now();
    const double secs = std::chrono::duration<double>(now - start_).count();
    if (secs < 1.0) return;
    std::string line = "replay " + s.name();
    if (s.bytes_total() > 0) {
      line +=
          " " + std::to_string(static_cast<int>(100.0 * s.bytes_read() / s.bytes_total())) + "%";
    }
    if (const std::string at = s.position(); !at.empty()) line += " " + at;
    line += "  " + drain::HumanCount(rows) + " rows  " +
            drain::HumanCount(static_cast<int64_t>(rows / secs)) + " rows/s";
    if (line.size() > 78) line = line.substr(line.size() - 78);
    std::fprintf(stderr, "\r%-78s", line.c_str());
    drawn_ = true;
  }
  void Finish() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  bool on_;
  Clock::time_point start_;
  uint64_t calls_ = 0;
  bool drawn_ = false;
};

class Replayer {
 public:
  Replayer(const Config& config, const ReplayOptions& options)
      : config_(config), options_(options) {}

  int Run();

 private:
  std::vector<std::unique_ptr<Source>> OpenSources(std::optional<Lsn> slot_upto);
  std::vector<TableSetup> Setups(const std::vector<TableInfo>& infos);
  std::vector<policy::TableRule> RulesFrom(const std::string& tables_json);
  void Pass(Simulator& sim, std::vector<std::unique_ptr<Source>>& sources, bool captured_tables);

  const Config& config_;
  const ReplayOptions& options_;
  std::optional<pg::Connection> conn_;
  std::vector<const TableConfig*> configured_;  // per setup
  std::vector<TableSetup> setups_;
  std::vector<TableInfo> infos_;  // from the database (not for captures)
};

std::vector<std::unique_ptr<Source>> Replayer::OpenSources(std::optional<Lsn> slot_upto) {
  std::vector<std::unique_ptr<Source>> out;
  for (const std::string& path : options_.sources) {
    if (IsCapture(path)) {
      out.push_back(std::make_unique<CaptureSource>(path, options_.skip_bad));
    } else {
      Wal2JsonSource::Options o;
      o.skip_bad = options_.skip_bad;
      out.push_back(std::make_unique<Wal2JsonSource>(path, o));
    }
  }
  if (!options_.slot.empty()) {
    out.push_back(std::make_unique<SlotSource>(conn_->OpenLike(), options_.slot,
                                               config_.source.publication, options_.skip_bad,
                                               slot_upto));
  }
  if (!options_.wal_dir.empty() || !options_.wal_files.empty()) {
    WalSourceOptions w;
    w.dir = options_.wal_dir;
    w.files = options_.wal_files;
    w.relfilenodes = options_.relfilenodes;
    // Keys are printed in the session's TimeZone, as `run`'s stream has them.
    pg::Connection c = conn_->OpenLike();
    SetSessionDefaults(c, config_.source.time_zone);
    out.push_back(std::make_unique<WalSource>(std::move(c), infos_, w));
  }
  return out;
}

std::vector<TableSetup> Replayer::Setups(const std::vector<TableInfo>& infos) {
  const Thresholds th = ParseThresholds(options_.thresholds);
  for (const auto& [name, list] : th.per_table) {
    bool known = false;
    for (const TableConfig& tc : config_.tables)
      known |= tc.name == name || "public." + tc.name == name;
    if (!known)
      throw std::invalid_argument("--threshold " + name +
                                  "=...: no [[table]] of that name in the configuration");
  }
  std::vector<TableSetup> setups;
  configured_.clear();
  for (const TableConfig& tc : config_.tables) {
    const TableInfo* info = FindTable(infos, tc);
    if (info == nullptr) {
      spdlog::warn(
          "replay: table {} is not described by the source (not configured when it was captured?); "
          "left out",
          tc.name);
      continue;
    }
    TableSetup s;
    s.rule = RuleFor(tc, *info);
    s.strategy = info->strategy == 'r' ? "range" : "list";
    const auto own = th.per_table.find(tc.name);
    const auto own_q = th.per_table.find(info->DisplayName());
    s.thresholds = own != th.per_table.end()     ? own->second
                   : own_q != th.per_table.end() ? own_q->second
                                                 : th.all;
    s.max_new_partitions_per_hour = options_.max_new_partitions_per_hour >= 0
                                        ? options_.max_new_partitions_per_hour
                                        : tc.max_new_partitions_per_hour;
    if (info->range && info->range->type != policy::RangeKeyType::kInteger) {
      const std::string text = options_.max_future.empty() ? tc.max_future : options_.max_future;
      if (!text.empty()) {
        s.max_future = ParseIntervalText(text);
        if (!s.max_future) {
          throw std::invalid_argument("max_future '" + text +
                                      "': not an interval such as \"1 year\" or \"90 days\"");
        }
      }
    }
    setups.push_back(std::move(s));
    configured_.push_back(&tc);
  }
  if (setups.empty())
    throw ReplayError("none of the configured tables is described by the sources");
  return setups;
}

std::vector<policy::TableRule> Replayer::RulesFrom(const std::string& tables_json) {
  const std::vector<TableInfo> infos = capture::TablesFromJson(tables_json);
  std::vector<policy::TableRule> rules;
  for (size_t i = 0; i < configured_.size(); ++i) {
    const TableInfo* info = FindTable(infos, *configured_[i]);
    rules.push_back(info != nullptr ? RuleFor(*configured_[i], *info) : setups_[i].rule);
  }
  return rules;
}

void Replayer::Pass(Simulator& sim, std::vector<std::unique_ptr<Source>>& sources,
                    bool captured_tables) {
  Progress progress(options_.quiet);
  Item item;
  for (size_t i = 0; i < sources.size(); ++i) {
    auto& source = sources[i];
    if (i > 0) {
      // Another source starts: what the previous one left open is not
      // finished by this one (a slot sends its transactions whole).
      Item restart;
      restart.kind = Item::Kind::kSessionStart;
      sim.Feed(restart);
    }
    while (source->Next(&item)) {
      if (item.kind == Item::Kind::kTables) {
        if (captured_tables) {
          try {
            sim.UpdateRules(RulesFrom(item.tables_json));
          } catch (const std::exception& e) {
            throw ReplayError(source->name() + ": bad table descriptions: " + e.what());
          }
        }
        continue;
      }
      sim.Feed(item);
      progress.Update(*source, sim.rows_fed());
    }
  }
}

int Replayer::Run() {
  SimulatorOptions sopt;
  sopt.report_values = options_.values;
  for (const auto& [text, lsn_out, time_out] :
       {std::tuple{options_.from, &sopt.from_lsn, &sopt.from_time},
        std::tuple{options_.to, &sopt.to_lsn, &sopt.to_time}}) {
    if (text.empty()) continue;
    if (auto l = Lsn::Parse(text)) {
      *lsn_out = *l;
    } else if (auto t = ParseTimeArg(text)) {
      *time_out = *t;
    } else {
      throw std::invalid_argument("--from/--to '" + text +
                                  "': neither an LSN (0/16B2D48) nor a time (2026-12-02 16:00)");
    }
  }
  bool all_captures = true;
  for (const std::string& path : options_.sources) {
    std::error_code ec;
    if (path != "-" && !std::filesystem::exists(path, ec)) {
      throw ReplayError(path + ": no such file or directory");
    }
    all_captures &= path != "-" && IsCapture(path);
  }
  const bool wal = !options_.wal_dir.empty() || !options_.wal_files.empty();
  const bool need_db = !options_.slot.empty() || !all_captures || wal;
  if (options_.sources.empty() && options_.slot.empty() && !wal) {
    throw std::invalid_argument(
        "nothing to replay: give a capture directory, a wal2json file, --slot NAME or "
        "--wal-dir DIR");
  }
  if (!options_.relfilenodes.empty() && !wal) {
    throw std::invalid_argument("--relfilenode applies to --wal-dir and --wal only");
  }

  std::vector<TableInfo> infos;
  if (need_db) {
    conn_.emplace(OpenSession(config_, "replay"));
    CheckServerVersion(*conn_);
    infos = session::DescribeAll(*conn_, config_);
    infos_ = infos;
  }
  std::vector<std::unique_ptr<Source>> sources = OpenSources(std::nullopt);
  if (!need_db) {
    // The first capture's descriptions; later ones update the rules.
    std::string sysid;
    for (auto& s : sources) {
      auto* c = static_cast<CaptureSource*>(s.get());
      if (!sysid.empty() && c->system_identifier() != sysid) {
        throw ReplayError(c->name() + ": a capture of database system " + c->system_identifier() +
                          ", but " + sources.front()->name() + " is of system " + sysid +
                          ": captures of different servers cannot be replayed together");
      }
      sysid = c->system_identifier();
    }
    infos =
        capture::TablesFromJson(static_cast<CaptureSource*>(sources.front().get())->tables_json());
  }
  setups_ = Setups(infos);
  const std::vector<TableSetup>& setups = setups_;
  auto sim = std::make_unique<Simulator>(setups, sopt);
  Pass(*sim, sources, !need_db);

  // The HTML curves need the top values, known only now: read it again.
  if (!options_.html.empty()) {
    std::optional<Lsn> upto;
    for (auto& s : sources) {
      if (auto* slot = dynamic_cast<SlotSource*>(s.get())) upto = slot->last_lsn();
    }
    auto top = sim->TopValues();
    std::vector<std::unique_ptr<Source>> again = OpenSources(upto);
    auto traced = std::make_unique<Simulator>(setups, sopt);
    traced->Trace(std::move(top));
    Pass(*traced, again, !need_db);
    sim = std::move(traced);
    sources = std::move(again);
  }

  Report report = sim->Finish();
  for (auto& s : sources) {
    SourceReport sr;
    sr.name = s->name();
    sr.kind = s->kind();
    sr.records = s->records();
    sr.skipped = s->skipped();
    sr.warnings = s->warnings();
    for (const std::string& w : sr.warnings) spdlog::warn("{}", w);
    report.sources.push_back(std::move(sr));
  }
  if (options_.json) {
    std::cout << RenderJson(report) << std::endl;
  } else if (options_.csv) {
    std::cout << RenderCsv(report);
  } else {
    std::cout << RenderText(report);
  }
  std::cout.flush();
  if (!options_.html.empty()) {
    std::ofstream f(options_.html, std::ios::binary | std::ios::trunc);
    f << RenderHtml(report);
    f.close();
    if (!f) throw ReplayError("cannot write " + options_.html);
    std::cerr << "HTML report: " << std::filesystem::absolute(options_.html).string() << std::endl;
  }
  return 0;
}

}  // namespace

std::optional<int64_t> ParseTimeArg(const std::string& text) {
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, frac = 0, off = 0;
  size_t i = 0;
  const auto num = [&](size_t digits, int64_t* out) {
    if (i + digits > text.size()) return false;
    int64_t v = 0;
    for (size_t k = 0; k < digits; ++k) {
      const char c = text[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    i += digits;
    return true;
  };
  const auto lit = [&](char c) {
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  if (!num(4, &y) || !lit('-') || !num(2, &mo) || !lit('-') || !num(2, &d)) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > policy::DaysInMonth(y, mo)) return std::nullopt;
  if (i < text.size() && (text[i] == ' ' || text[i] == 'T')) {
    ++i;
    if (!num(2, &h) || !lit(':') || !num(2, &mi)) return std::nullopt;
    if (lit(':')) {
      if (!num(2, &s)) return std::nullopt;
      if (lit('.')) {
        int64_t digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
          if (digits < 6) frac = frac * 10 + (text[i] - '0');
          ++digits;
          ++i;
        }
        if (digits == 0) return std::nullopt;
        for (int64_t k = digits; k < 6; ++k) frac *= 10;
      }
    }
    if (h > 23 || mi > 59 || s > 60) return std::nullopt;
  }
  if (lit('Z')) {
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    const int64_t sign = text[i] == '-' ? -1 : 1;
    ++i;
    int64_t oh = 0, om = 0;
    if (!num(2, &oh)) return std::nullopt;
    if (lit(':')) {
      if (!num(2, &om)) return std::nullopt;
    } else {
      (void)num(2, &om);
    }
    off = sign * (oh * 3600 + om * 60);
  }
  if (i != text.size()) return std::nullopt;
  const int64_t days = policy::DaysFromCivil(y, mo, d) - policy::DaysFromCivil(2000, 1, 1);
  return ((days * 86400 + h * 3600 + mi * 60 + s - off) * 1'000'000) + frac;
}

std::optional<policy::RangeInterval> ParseIntervalText(const std::string& text) {
  policy::RangeInterval iv;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i == text.size()) break;
    size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    int64_t n = 0;
    if (j == i || j - i > 9 || !ParseInt(std::string_view(text).substr(i, j - i), &n))
      return std::nullopt;
    while (j < text.size() && text[j] == ' ') ++j;
    size_t k = j;
    while (k < text.size() && text[k] != ' ' && !(text[k] >= '0' && text[k] <= '9')) ++k;
    std::string unit = text.substr(j, k - j);
    if (unit.size() > 1 && unit.back() == 's') unit.pop_back();
    if (unit == "year" || unit == "y") {
      iv.months += 12 * n;
    } else if (unit == "mon" || unit == "month") {
      iv.months += n;
    } else if (unit == "week" || unit == "w") {
      iv.days += 7 * n;
    } else if (unit == "day" || unit == "d") {
      iv.days += n;
    } else if (unit == "hour" || unit == "h") {
      iv.micros += n * 3'600'000'000LL;
    } else if (unit == "minute" || unit == "min") {
      iv.micros += n * 60'000'000LL;
    } else {
      return std::nullopt;
    }
    any = true;
    i = k;
  }
  if (!any) return std::nullopt;
  return iv;
}

int RunReplay(const Config& config, const ReplayOptions& options) {
  try {
    Replayer replayer(config, options);
    return replayer.Run();
  } catch (const std::invalid_argument& e) {
    spdlog::error("replay: {}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("replay: {}", e.what());
    return 1;
  }
}

}  // namespace partwatch::replay
