#include "src/replay/simulator.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "decoder/walsender.h"
#include "policy/calendar.h"

namespace partwatch::replay {

namespace {

constexpr int64_t kMicrosPerMinute = 60'000'000;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;

// `point` (a RANGE point: civil microseconds since 1970) plus `iv`, or
// nullopt on overflow.  Month arithmetic clamps the day like PostgreSQL's
// timestamp + interval (Jan 31 + 1 month = Feb 28/29).
std::optional<int64_t> AddInterval(int64_t point, const policy::RangeInterval& iv) {
  int64_t out = point;
  if (iv.months > 0) {
    const int64_t days = policy::FloorDiv<int64_t>(point, policy::kMicrosPerDay);
    const int64_t time_of_day = point - days * policy::kMicrosPerDay;
    const policy::CivilDate d = policy::CivilFromDays(days);
    const int64_t m0 = d.year * 12 + (d.month - 1) + iv.months;
    const int64_t year = policy::FloorDiv<int64_t>(m0, 12);
    const int64_t month = m0 - year * 12 + 1;
    if (year > 294000) return std::nullopt;
    const int64_t day = std::min(d.day, policy::DaysInMonth(year, month));
    out = policy::DaysFromCivil(year, month, day) * policy::kMicrosPerDay + time_of_day;
  }
  if (__builtin_add_overflow(out, iv.days * policy::kMicrosPerDay, &out)) return std::nullopt;
  if (__builtin_add_overflow(out, iv.micros, &out)) return std::nullopt;
  return out;
}

}  // namespace

// The per-value tally of committed rows, told by scenario 0's policy.
class Simulator::Tally : public policy::CommitListener {
 public:
  struct Stat {
    int64_t rows = 0;
    bool approximate = false;
    std::optional<int64_t> first_time, last_time;
  };
  struct Table {
    std::unordered_map<policy::KeyValue, Stat, policy::KeyValueHash> values;
    int64_t floor = 0;  // rows any evicted value may have had
    int64_t rows = 0;
    int64_t distinct = 0;  // entries ever made (a re-seen evicted value again)
    std::vector<int64_t> truncate_times;
    int64_t truncates = 0;
    std::map<int64_t, int64_t> per_minute;
    int64_t minute = 0;  // the last minute added to, and its counter
    int64_t* minute_rows = nullptr;
    // Second pass: the traced values' cumulative rows, one point per minute.
    std::unordered_map<policy::KeyValue, Series, policy::KeyValueHash> traced;
  };

  Tally(const std::vector<TableSetup>& tables, const std::optional<int64_t>* now)
      : now_(now), tables_(tables.size()) {
    for (size_t t = 0; t < tables.size(); ++t) {
      limits_.push_back(std::max<size_t>(2, tables[t].rule.max_tracked_values));
    }
  }

  void OnCommittedRows(size_t t, const policy::KeyValue& value, int64_t n) override {
    if (t >= tables_.size()) return;
    Table& table = tables_[t];
    table.rows += n;
    auto it = table.values.find(value);
    if (it == table.values.end()) {
      if (table.values.size() >= limits_[t]) Evict(table);
      it = table.values.emplace(value, Stat{}).first;
      it->second.rows = table.floor;
      it->second.approximate = table.floor > 0;
      ++table.distinct;
    }
    Stat& s = it->second;
    s.rows += n;
    if (const std::optional<int64_t>& now = *now_) {
      if (!s.first_time) s.first_time = *now;
      s.last_time = *now;
      const int64_t minute = policy::FloorDiv<int64_t>(*now, kMicrosPerMinute) * kMicrosPerMinute;
      if (table.minute_rows == nullptr || table.minute != minute) {
        table.minute = minute;
        table.minute_rows = &table.per_minute[minute];  // std::map: stable
      }
      *table.minute_rows += n;
    }
    if (!table.traced.empty()) {
      const auto tr = table.traced.find(value);
      if (tr != table.traced.end()) {
        auto& pts = tr->second.points;
        const int64_t cum = (pts.empty() ? 0 : pts.back().second) + n;
        const int64_t at = now_->value_or(0);
        const int64_t minute = policy::FloorDiv<int64_t>(at, kMicrosPerMinute);
        if (!pts.empty() &&
            policy::FloorDiv<int64_t>(pts.back().first, kMicrosPerMinute) == minute) {
          pts.back() = {at, cum};
        } else {
          pts.emplace_back(at, cum);
        }
      }
    }
  }

  void OnTruncate(size_t t) override {
    if (t >= tables_.size()) return;
    ++tables_[t].truncates;
    if (const std::optional<int64_t>& now = *now_) tables_[t].truncate_times.push_back(*now);
  }

  // The lower half by rows goes; the floor rises to the largest evicted.
  static void Evict(Table& table) {
    std::vector<int64_t> rows;
    rows.reserve(table.values.size());
    for (const auto& [v, s] : table.values) rows.push_back(s.rows);
    auto mid = rows.begin() + static_cast<ptrdiff_t>(rows.size() / 2);
    std::nth_element(rows.begin(), mid, rows.end());
    const int64_t cut = *mid;
    size_t to_drop = rows.size() / 2;
    for (auto it = table.values.begin(); it != table.values.end() && to_drop > 0;) {
      if (it->second.rows <= cut && !table.traced.contains(it->first)) {
        table.floor = std::max(table.floor, it->second.rows);
        it = table.values.erase(it);
        --to_drop;
      } else {
        ++it;
      }
    }
  }

  const std::optional<int64_t>* now_;
  std::vector<Table> tables_;
  std::vector<size_t> limits_;
};

struct Simulator::Scenario {
  explicit Scenario(std::vector<policy::TableRule> rules) : policy(std::move(rules)) {}
  policy::Policy policy;
  // Per table: the commit times of the partitions "created" (rate cap).
  std::vector<std::deque<int64_t>> created;
  // Per table: value -> the crossing recorded for this scenario.
  std::vector<std::unordered_map<policy::KeyValue, Crossing, policy::KeyValueHash>> crossings;
};

namespace {

std::vector<policy::TableRule> RulesFor(const std::vector<TableSetup>& tables, size_t k) {
  std::vector<policy::TableRule> rules;
  for (const TableSetup& t : tables) {
    policy::TableRule r = t.rule;
    if (!t.thresholds.empty()) r.threshold = t.thresholds[std::min(k, t.thresholds.size() - 1)];
    rules.push_back(std::move(r));
  }
  return rules;
}

}  // namespace

Simulator::Simulator(std::vector<TableSetup> tables, SimulatorOptions options)
    : tables_(std::move(tables)), options_(options) {
  size_t k = 1;
  for (const TableSetup& t : tables_) k = std::max(k, t.thresholds.size());
  for (size_t i = 0; i < k; ++i) {
    auto s = std::make_unique<Scenario>(RulesFor(tables_, i));
    s->created.resize(tables_.size());
    s->crossings.resize(tables_.size());
    scenarios_.push_back(std::move(s));
  }
  tally_ = std::make_unique<Tally>(tables_, &now_);
  scenarios_[0]->policy.set_listener(tally_.get());
}

Simulator::~Simulator() {
  if (!scenarios_.empty()) scenarios_[0]->policy.set_listener(nullptr);
}

void Simulator::UpdateRules(const std::vector<policy::TableRule>& rules) {
  for (size_t t = 0; t < tables_.size() && t < rules.size(); ++t) {
    const int64_t threshold = tables_[t].rule.threshold;
    tables_[t].rule = rules[t];
    tables_[t].rule.threshold = threshold;
  }
  for (size_t k = 0; k < scenarios_.size(); ++k)
    scenarios_[k]->policy.SetRules(RulesFor(tables_, k));
}

void Simulator::Trace(std::vector<std::vector<policy::KeyValue>> values) {
  for (size_t t = 0; t < values.size() && t < tally_->tables_.size(); ++t) {
    for (policy::KeyValue& v : values[t]) {
      Series s;
      s.value = v;
      tally_->tables_[t].traced.emplace(std::move(v), std::move(s));
    }
  }
}

std::vector<std::vector<policy::KeyValue>> Simulator::TopValues() const {
  std::vector<std::vector<policy::KeyValue>> out(tables_.size());
  for (size_t t = 0; t < tables_.size(); ++t) {
    std::vector<std::pair<int64_t, const policy::KeyValue*>> all;
    for (const auto& [v, s] : tally_->tables_[t].values) all.emplace_back(s.rows, &v);
    const size_t n = std::min(options_.series_values, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<ptrdiff_t>(n), all.end(),
                      [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < n; ++i) out[t].push_back(*all[i].second);
  }
  return out;
}

bool Simulator::InRange(Lsn commit_lsn, int64_t commit_time) const {
  if (options_.from_lsn && commit_lsn.valid() && commit_lsn < *options_.from_lsn) return false;
  if (options_.to_lsn && commit_lsn.valid() && commit_lsn > *options_.to_lsn) return false;
  if (has_time_now()) {
    if (options_.from_time && commit_time < *options_.from_time) return false;
    if (options_.to_time && commit_time > *options_.to_time) return false;
  }
  return true;
}

void Simulator::FeedAll(const pgoutput::Message& message, Lsn lsn) {
  for (size_t k = 0; k < scenarios_.size(); ++k) {
    Result<policy::PolicyOutput> out = scenarios_[k]->policy.OnMessage(message);
    if (!out.ok()) {
      throw ReplayError("protocol error at " + lsn.ToString() + " (" +
                        pgoutput::MessageName(message) + "): " + out.error().message);
    }
    if (!out.value().decisions.empty()) Answer(k, out.value().decisions);
  }
}

DecisionKind Simulator::Classify(size_t k, const policy::Decision& d) {
  const TableSetup& table = tables_[d.table];
  Scenario& s = *scenarios_[k];
  if (d.kind == policy::ActionKind::kAlert) return DecisionKind::kAlert;
  const bool timed = now_.has_value();
  if (table.max_future && table.rule.bucketer && d.value.text && timed) {
    const std::optional<int64_t> lo = table.rule.bucketer->ParsePoint(*d.value.text);
    const std::optional<int64_t> horizon =
        AddInterval(*now_ + walsender::kPostgresEpochOffsetMicros, *table.max_future);
    if (lo && horizon && *lo > *horizon) return DecisionKind::kMaxFuture;
  }
  if (timed) {
    std::deque<int64_t>& created = s.created[d.table];
    while (!created.empty() && created.front() <= *now_ - kMicrosPerHour) created.pop_front();
    if (static_cast<int>(created.size()) >= table.max_new_partitions_per_hour) {
      return DecisionKind::kCapped;
    }
    created.push_back(*now_);
  }
  return DecisionKind::kCreate;
}

void Simulator::Answer(size_t k, const std::vector<policy::Decision>& decisions) {
  Scenario& s = *scenarios_[k];
  for (const policy::Decision& d : decisions) {
    const DecisionKind kind = Classify(k, d);
    Crossing c;
    c.scenario = k;
    c.threshold = s.policy.rules()[d.table].ThresholdFor(d.value);
    c.rows = d.streamed_count;
    c.lsn = d.commit_lsn;
    c.time = now_;
    c.decision = kind;
    auto& recorded = s.crossings[d.table];
    const auto it = recorded.find(d.value);
    // A capped crossing is replaced when the value is decided again.
    if (it == recorded.end()) {
      recorded.emplace(d.value, c);
    } else if (it->second.decision == DecisionKind::kCapped && kind != DecisionKind::kCapped) {
      it->second = c;
    }
    policy::Outcome o;
    o.table = d.table;
    o.value = d.value;
    o.exact_count = d.streamed_count;
    // Capped: run gives up for now and decides again later.  Anything else
    // is final for the value: answered as an alert so the policy never
    // decides on it again (a created value's rows go elsewhere from now on).
    o.kind = kind == DecisionKind::kCapped ? policy::Outcome::Kind::kFailed
                                           : policy::Outcome::Kind::kAlerted;
    (void)s.policy.OnOutcome(o);
  }
}

void Simulator::Feed(const Item& item) {
  switch (item.kind) {
    case Item::Kind::kIdle:
      return;
    case Item::Kind::kTables:
      return;  // the source turns these into UpdateRules (it parses them)
    case Item::Kind::kSessionStart:
      for (auto& s : scenarios_) s->policy.AbandonOpenTransactions();
      skipping_ = false;
      skipping_block_ = false;
      open_streams_.clear();
      orphans_.clear();
      return;
    case Item::Kind::kMessage:
      break;
  }
  const pgoutput::Message& m = item.message;
  if (const auto* ss = std::get_if<pgoutput::StreamStartMessage>(&m)) {
    if (!ss->first_segment && !open_streams_.contains(ss->xid)) {
      if (orphans_.insert(ss->xid).second) ++orphaned_;
      skipping_block_ = true;
      return;
    }
    open_streams_.insert(ss->xid);
  } else if (std::holds_alternative<pgoutput::StreamStopMessage>(m) && skipping_block_) {
    skipping_block_ = false;
    return;
  } else if (skipping_block_) {
    return;
  } else if (const auto* sa = std::get_if<pgoutput::StreamAbortMessage>(&m)) {
    if (orphans_.contains(sa->xid)) {
      if (sa->subxid == sa->xid) orphans_.erase(sa->xid);
      return;
    }
    if (sa->subxid == sa->xid) open_streams_.erase(sa->xid);
  } else if (const auto* sc0 = std::get_if<pgoutput::StreamCommitMessage>(&m)) {
    if (orphans_.erase(sc0->xid) > 0) return;
    open_streams_.erase(sc0->xid);
  }
  if (const auto* begin = std::get_if<pgoutput::BeginMessage>(&m)) {
    now_.reset();
    if (begin->commit_time != 0) now_ = begin->commit_time;
    const bool resent =
        begin->final_lsn.valid() && high_water_.valid() && begin->final_lsn <= high_water_;
    skipping_ = resent || !InRange(begin->final_lsn, begin->commit_time);
    if (skipping_) return;
  } else if (const auto* commit = std::get_if<pgoutput::CommitMessage>(&m)) {
    if (skipping_) {
      skipping_ = false;
      return;
    }
    FeedAll(m, item.lsn);
    Committed(commit->commit_lsn, commit->end_lsn, commit->commit_time);
    return;
  } else if (const auto* sc = std::get_if<pgoutput::StreamCommitMessage>(&m)) {
    now_.reset();
    if (sc->commit_time != 0) now_ = sc->commit_time;
    const bool resent = high_water_.valid() && sc->commit_lsn <= high_water_;
    if (resent || !InRange(sc->commit_lsn, sc->commit_time)) {
      FeedAll(pgoutput::StreamAbortMessage{sc->xid, sc->xid}, item.lsn);
      return;
    }
    FeedAll(m, item.lsn);
    Committed(sc->commit_lsn, sc->end_lsn, sc->commit_time);
    return;
  } else if (std::holds_alternative<pgoutput::RelationMessage>(m) ||
             std::holds_alternative<pgoutput::TypeMessage>(m)) {
    // Never skipped: a relation is described once per session.
    FeedAll(m, item.lsn);
    return;
  } else if (skipping_) {
    return;
  }
  if (std::holds_alternative<pgoutput::InsertMessage>(m)) ++rows_fed_;
  FeedAll(m, item.lsn);
}

void Simulator::Committed(Lsn commit_lsn, Lsn end_lsn, int64_t commit_time) {
  ++transactions_;
  if (commit_lsn.valid()) {
    high_water_ = std::max(high_water_, commit_lsn);
    if (!first_lsn_.valid()) first_lsn_ = commit_lsn;
    last_lsn_ = std::max(last_lsn_, end_lsn.valid() ? end_lsn : commit_lsn);
  }
  if (commit_time != 0) {
    if (!first_time_) first_time_ = commit_time;
    last_time_ = commit_time;
  }
}

Report Simulator::Finish() const {
  Report r;
  r.first_lsn = first_lsn_;
  r.last_lsn = last_lsn_;
  r.first_time = first_time_;
  r.last_time = last_time_;
  r.transactions = transactions_;
  for (size_t t = 0; t < tables_.size(); ++t) {
    const Tally::Table& tally = tally_->tables_[t];
    TableReport tr;
    tr.name = tables_[t].rule.parent;
    tr.strategy = tables_[t].strategy;
    for (const auto& s : scenarios_) tr.thresholds.push_back(s->policy.rules()[t].threshold);
    // A table with fewer what-if thresholds than others repeats its last:
    // list each scenario once.
    const size_t own = std::max<size_t>(1, tables_[t].thresholds.size());
    tr.thresholds.resize(std::min(own, tr.thresholds.size()));
    tr.rows = tally.rows;
    tr.distinct_values = tally.distinct;
    tr.truncates = tally.truncates;
    tr.truncate_times = tally.truncate_times;
    std::vector<ValueReport> values;
    values.reserve(tally.values.size());
    for (const auto& [v, s] : tally.values) {
      ValueReport vr;
      vr.value = v;
      vr.rows = s.rows;
      vr.approximate = s.approximate;
      vr.first_time = s.first_time;
      vr.last_time = s.last_time;
      values.push_back(std::move(vr));
    }
    // Values that crossed a threshold but were evicted from the tally
    // still belong in the report.
    std::unordered_set<policy::KeyValue, policy::KeyValueHash> added;
    for (size_t k = 0; k < tr.thresholds.size(); ++k) {
      for (const auto& [v, c] : scenarios_[k]->crossings[t]) {
        if (tally.values.contains(v)) continue;
        if (added.insert(v).second) {
          ValueReport vr;
          vr.value = v;
          vr.rows = c.rows;
          vr.approximate = true;
          values.push_back(std::move(vr));
        }
      }
    }
    std::sort(values.begin(), values.end(), [](const ValueReport& a, const ValueReport& b) {
      if (a.rows != b.rows) return a.rows > b.rows;
      return a.value.text < b.value.text;
    });
    const size_t limit = options_.report_values == 0 ? values.size() : options_.report_values;
    // Keep every value that crossed something, even beyond the limit.
    for (size_t i = 0; i < values.size(); ++i) {
      ValueReport& vr = values[i];
      bool crossed = false;
      for (size_t k = 0; k < tr.thresholds.size(); ++k) {
        const auto it = scenarios_[k]->crossings[t].find(vr.value);
        if (it != scenarios_[k]->crossings[t].end()) {
          vr.crossings.push_back(it->second);
          crossed = true;
        }
      }
      if (i < limit || crossed) {
        tr.values.push_back(std::move(vr));
      } else {
        ++tr.other_values;
      }
    }
    // Decision counts over every value, listed or not.
    for (size_t k = 0; k < tr.thresholds.size(); ++k) {
      DecisionCounts dc;
      for (const auto& [v, c] : scenarios_[k]->crossings[t]) {
        switch (c.decision) {
          case DecisionKind::kCreate:
            ++dc.create;
            break;
          case DecisionKind::kAlert:
            ++dc.alert;
            break;
          case DecisionKind::kMaxFuture:
            ++dc.max_future;
            break;
          case DecisionKind::kCapped:
            ++dc.capped;
            break;
        }
      }
      tr.decisions.push_back(dc);
    }
    tr.rows_per_minute.assign(tally.per_minute.begin(), tally.per_minute.end());
    for (const auto& [v, s] : tally.traced) tr.top_series.push_back(s);
    std::sort(tr.top_series.begin(), tr.top_series.end(), [](const Series& a, const Series& b) {
      const int64_t ra = a.points.empty() ? 0 : a.points.back().second;
      const int64_t rb = b.points.empty() ? 0 : b.points.back().second;
      return ra > rb;
    });
    r.tables.push_back(std::move(tr));
  }
  return r;
}

}  // namespace partwatch::replay
