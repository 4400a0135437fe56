// One class, Policy, whose message handlers share its counting state (open
// and streamed transactions, per-value counts, the Space-Saving floor):
// splitting it would spread one invariant over several files.

#include "policy/policy.h"

#include <algorithm>
#include <type_traits>
#include <utility>

#include "policy/internal.h"

namespace partwatch::policy {

namespace {

using internal::Corrupt;

std::string XidText(pgoutput::Xid xid) { return std::to_string(xid); }

}  // namespace

const char* ActionKindName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kCreate:
      return "create";
    case ActionKind::kAlert:
      return "alert";
  }
  return "unknown";
}

Policy::Policy(std::vector<TableRule> rules)
    : rules_(std::move(rules)),
      state_(rules_.size()),
      floor_(rules_.size(), 0),
      committed_rows_(rules_.size(), 0) {}

Policy::TxnCounts Policy::EmptyTxnCounts() const {
  TxnCounts txn;
  txn.counts.resize(rules_.size());
  txn.truncated.resize(rules_.size(), false);
  txn.floor.resize(rules_.size(), 0);
  txn.rows.resize(rules_.size(), 0);
  return txn;
}

void Policy::SetRules(std::vector<TableRule> rules) {
  // new_index[old table] = its index in `rules`, or npos when dropped.
  constexpr size_t kDropped = static_cast<size_t>(-1);
  std::vector<size_t> new_index(rules_.size(), kDropped);
  std::vector<bool> taken(rules.size(), false);
  for (size_t old_table = 0; old_table < rules_.size(); ++old_table) {
    for (size_t table = 0; table < rules.size(); ++table) {
      if (!taken[table] && rules[table].parent == rules_[old_table].parent) {
        new_index[old_table] = table;
        taken[table] = true;
        break;
      }
    }
  }

  std::vector<ValueStates> state(rules.size());
  std::vector<int64_t> floor(rules.size(), 0);
  std::vector<int64_t> committed_rows(rules.size(), 0);
  for (size_t old_table = 0; old_table < rules_.size(); ++old_table) {
    if (new_index[old_table] == kDropped) continue;
    state[new_index[old_table]] = std::move(state_[old_table]);
    floor[new_index[old_table]] = floor_[old_table];
    committed_rows[new_index[old_table]] = committed_rows_[old_table];
  }
  std::vector<std::pair<size_t, KeyValue>> crossed;
  for (auto& [table, value] : crossed_) {
    if (new_index[table] != kDropped) crossed.emplace_back(new_index[table], std::move(value));
  }
  // Open transactions are remapped too: their rows commit into the new rules.
  auto remap = [&](TxnCounts& txn) {
    TxnCounts moved;
    moved.counts.resize(rules.size());
    moved.truncated.resize(rules.size(), false);
    moved.floor.resize(rules.size(), 0);
    moved.rows.resize(rules.size(), 0);
    for (size_t old_table = 0; old_table < txn.counts.size(); ++old_table) {
      if (new_index[old_table] == kDropped) continue;
      moved.counts[new_index[old_table]] = std::move(txn.counts[old_table]);
      moved.truncated[new_index[old_table]] = txn.truncated[old_table];
      moved.floor[new_index[old_table]] = txn.floor[old_table];
      moved.rows[new_index[old_table]] = txn.rows[old_table];
    }
    txn = std::move(moved);
  };
  for (auto& [xid, subxacts] : streamed_) {
    for (auto& [subxid, txn] : subxacts) remap(txn);
  }

  rules_ = std::move(rules);
  state_ = std::move(state);
  floor_ = std::move(floor);
  committed_rows_ = std::move(committed_rows);
  crossed_ = std::move(crossed);
  relations_.clear();
  for (const auto& [relation_id, relation] : relation_messages_) Bind(relation);
}

void Policy::Seed(size_t table, const KeyValue& value, int64_t count) {
  if (table >= state_.size()) return;
  if (count <= 0 && !state_[table].contains(value)) return;  // nothing to remember
  Track(table, value).count = count;
}

void Policy::SeedUntracked(size_t table, int64_t max_count) {
  if (table < floor_.size()) floor_[table] = std::max(floor_[table], max_count);
}

Policy::ValueState& Policy::Track(size_t table, const KeyValue& value) {
  ValueStates& states = state_[table];
  if (auto it = states.find(value); it != states.end()) return it->second;
  if (states.size() >= std::max<size_t>(rules_[table].max_tracked_values, 1)) Evict(table);
  ValueState& state = states[value];
  state.count = floor_[table];
  return state;
}

namespace {

// The median of `counts` (REQUIRES: not empty); reorders them.
int64_t MedianOf(std::vector<int64_t>& counts) {
  auto mid = counts.begin() + static_cast<std::ptrdiff_t>(counts.size() / 2);
  std::nth_element(counts.begin(), mid, counts.end());
  return *mid;
}

}  // namespace

// Evicts every unpinned value whose count is at most the median of the
// unpinned counts (so at least half of them), and raises the floor to the
// largest count evicted.  Values with a decision in flight, an alert raised
// or a crossing to decide stay: their flags matter.
void Policy::Evict(size_t table) {
  ValueStates& states = state_[table];
  std::vector<int64_t> counts;
  counts.reserve(states.size());
  for (const auto& [value, state] : states) {
    if (!state.pinned()) counts.push_back(state.count);
  }
  if (counts.empty()) return;  // everything pinned: grow instead
  const int64_t cut = MedianOf(counts);
  int64_t evicted_max = 0;
  for (auto it = states.begin(); it != states.end();) {
    if (!it->second.pinned() && it->second.count <= cut) {
      evicted_max = std::max(evicted_max, it->second.count);
      it = states.erase(it);
    } else {
      ++it;
    }
  }
  floor_[table] = std::max(floor_[table], evicted_max);
}

void Policy::AddToTxn(TxnCounts* txn, size_t table, const KeyValue& value, int64_t n) {
  Counts& counts = txn->counts[table];
  if (auto it = counts.find(value); it != counts.end()) {
    it->second += n;
    return;
  }
  if (counts.size() >= std::max<size_t>(rules_[table].max_tracked_values, 1)) {
    std::vector<int64_t> all;
    all.reserve(counts.size());
    for (const auto& [v, c] : counts) all.push_back(c);
    const int64_t cut = MedianOf(all);
    int64_t evicted_max = 0;
    for (auto it = counts.begin(); it != counts.end();) {
      if (it->second <= cut) {
        evicted_max = std::max(evicted_max, it->second);
        it = counts.erase(it);
      } else {
        ++it;
      }
    }
    txn->floor[table] = std::max(txn->floor[table], evicted_max);
  }
  counts[value] = txn->floor[table] + n;
}

void Policy::ResetTable(size_t table) {
  ValueStates& states = state_[table];
  // Keep entries whose flags matter (a decision in flight, an alert
  // already raised) at count 0; drop the rest.
  for (auto it = states.begin(); it != states.end();) {
    if (it->second.pending || it->second.alerted) {
      it->second.count = 0;
      it->second.count_at_decision = 0;
      it->second.crossed = false;
      ++it;
    } else {
      it = states.erase(it);
    }
  }
  floor_[table] = 0;
  std::erase_if(crossed_, [&](const auto& c) { return c.first == table; });
  if (listener_) listener_->OnTruncate(table);
}

void Policy::AddCommitted(size_t table, const KeyValue& value, int64_t n) {
  ValueState& state = Track(table, value);
  state.count += n;
  const TableRule& rule = rules_[table];
  if (state.count <= rule.ThresholdFor(value) || state.pending || state.crossed) return;
  if (state.alerted) return;  // alerted once (alert mode, or a RANGE bucket past max_future)
  state.crossed = true;
  crossed_.emplace_back(table, value);
}

void Policy::Decide(Lsn commit_lsn, int64_t commit_time, pgoutput::Xid xid, PolicyOutput* out) {
  for (auto& [table, value] : crossed_) {
    const auto it = state_[table].find(value);
    if (it == state_[table].end() || !it->second.crossed) continue;
    ValueState& state = it->second;
    state.crossed = false;
    state.pending = true;
    state.count_at_decision = state.count;
    out->decisions.push_back(
        Decision{table, value, rules_[table].action, state.count, commit_lsn, commit_time, xid});
  }
  crossed_.clear();
}

bool Policy::Bind(const pgoutput::RelationMessage& relation) {
  RelationBinding binding;
  for (size_t table = 0; table < rules_.size() && !binding.bound; ++table) {
    const TableRule& rule = rules_[table];
    if (rule.default_nspname != relation.nspname || rule.default_relname != relation.relname) {
      continue;
    }
    for (size_t column = 0; column < relation.columns.size(); ++column) {
      if (relation.columns[column].name == rule.key_column) {
        binding = RelationBinding{table, column, true};
        break;
      }
    }
  }
  relations_[relation.relation_id] = binding;
  return binding.bound;
}

Result<PolicyOutput> Policy::OnMessage(const pgoutput::Message& message) {
  PolicyOutput out;
  Result<bool> handled = std::visit(
      [&](const auto& m) -> Result<bool> {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, pgoutput::OriginMessage> ||
                      std::is_same_v<M, pgoutput::TypeMessage> ||
                      std::is_same_v<M, pgoutput::UpdateMessage> ||
                      std::is_same_v<M, pgoutput::DeleteMessage> ||
                      std::is_same_v<M, pgoutput::LogicalMessage>) {
          // Not needed for counting: the publication is meant to carry
          // inserts only, and a row moved into DEFAULT by an UPDATE arrives as
          // an Insert.  Logical messages may even be non-transactional.
          return true;
        } else {
          return Handle(m, &out);
        }
      },
      message);
  if (!handled.ok()) return handled.error();
  return out;
}

void Policy::AbandonOpenTransactions() {
  streamed_.clear();
  in_stream_block_ = false;
  current_stream_xid_ = 0;
  in_txn_ = false;
  txn_xid_ = 0;
  // Crossings noted by the open transaction's rows stay noted: those rows
  // are committed, so the next commit decides on them.
}

Result<bool> Policy::Handle(const pgoutput::BeginMessage& begin, PolicyOutput* /*out*/) {
  if (in_stream_block_) {
    return Corrupt("Begin: xid " + XidText(begin.xid) + " inside the stream block of xid " +
                   XidText(current_stream_xid_));
  }
  if (in_txn_) return Corrupt("Begin: xid " + XidText(begin.xid) + " while a transaction is open");
  in_txn_ = true;
  txn_xid_ = begin.xid;
  return true;
}

Result<bool> Policy::Handle(const pgoutput::CommitMessage& commit, PolicyOutput* out) {
  if (!in_txn_) return Corrupt("Commit: at " + commit.commit_lsn.ToString() + " without Begin");
  Decide(commit.commit_lsn, commit.commit_time, txn_xid_, out);
  in_txn_ = false;
  last_commit_lsn_ = commit.commit_lsn;
  last_commit_time_ = commit.commit_time;
  last_commit_xid_ = txn_xid_;
  // max(): feedback never moves backwards, even if an idle keepalive already
  // reported a later WAL end.
  accounted_lsn_ = std::max(accounted_lsn_, commit.end_lsn);
  return true;
}

Result<bool> Policy::Handle(const pgoutput::RelationMessage& relation, PolicyOutput* out) {
  relation_messages_[relation.relation_id] = relation;
  if (!Bind(relation)) out->unknown_relations.push_back(relation.nspname + "." + relation.relname);
  return true;
}

Result<Policy::TxnCounts*> Policy::Target(const char* what,
                                          const std::optional<pgoutput::Xid>& xid) {
  if (in_stream_block_) {
    if (!xid) {
      return Corrupt(std::string(what) + ": no transaction id inside the stream block of xid " +
                     XidText(current_stream_xid_));
    }
    auto& subxacts = streamed_[current_stream_xid_];
    auto it = subxacts.find(*xid);
    if (it == subxacts.end()) it = subxacts.emplace(*xid, EmptyTxnCounts()).first;
    return &it->second;
  }
  // Outside a stream block the decoder reads no xid, so one is not checked.
  if (in_txn_) return static_cast<TxnCounts*>(nullptr);
  return Corrupt(std::string(what) + ": outside any transaction");
}

Result<bool> Policy::Handle(const pgoutput::InsertMessage& insert, PolicyOutput* out) {
  Result<TxnCounts*> target = Target("Insert", insert.xid);
  if (!target.ok()) return target.error();
  size_t table = 0;
  KeyValue value;
  Result<bool> ours = KeyOf(insert, &table, &value, out);
  if (!ours.ok() || !ours.value()) return ours;
  if (target.value() == nullptr) {
    AddCommitted(table, value, 1);  // a non-streamed transaction has committed
    ++committed_rows_[table];
    if (listener_) listener_->OnCommittedRows(table, value, 1);
  } else {
    AddToTxn(target.value(), table, value, 1);
    ++target.value()->rows[table];
  }
  return true;
}

int64_t TableRule::ThresholdFor(const KeyValue& value) const {
  if (bucketer && immediate_from && !value.is_null()) {
    const std::optional<int64_t> lo = bucketer->ParsePoint(*value.text);
    if (lo && *lo >= *immediate_from) return 0;
  }
  return threshold;
}

Result<bool> Policy::KeyOf(const pgoutput::InsertMessage& insert, size_t* table, KeyValue* value,
                           PolicyOutput* out) {
  const auto it = relations_.find(insert.relation_id);
  if (it == relations_.end()) {
    return Corrupt("Insert: relation id " + std::to_string(insert.relation_id) +
                   " was never described by a Relation message");
  }
  const RelationBinding& binding = it->second;
  if (!binding.bound) return false;  // not a DEFAULT partition we watch
  const auto& columns = insert.new_tuple.columns;
  if (binding.key_index >= columns.size()) {
    return Corrupt("Insert: relation id " + std::to_string(insert.relation_id) + ": key column " +
                   std::to_string(binding.key_index) + " missing, the tuple has " +
                   std::to_string(columns.size()) + " columns");
  }
  const pgoutput::TupleColumn& key = columns[binding.key_index];
  const TableRule& rule = rules_[binding.table];
  switch (key.kind) {
    case pgoutput::TupleColumn::Kind::kText:
      if (rule.bucketer) {
        std::optional<Bucket> bucket = rule.bucketer->BucketOf(key.data);
        if (!bucket) {
          // Unparsable (infinity) rows are never moved; a parsable one inside
          // a partition means our partitions are stale.
          if (rule.bucketer->ParsePoint(key.data) &&
              std::find(out->stale_tables.begin(), out->stale_tables.end(), binding.table) ==
                  out->stale_tables.end()) {
            out->stale_tables.push_back(binding.table);
          }
          return false;
        }
        *value = KeyValue::Of(bucket->lo_literal);
      } else {
        *value = KeyValue::Of(key.data);
      }
      break;
    case pgoutput::TupleColumn::Kind::kNull:
      if (rule.bucketer) return false;  // NULL fits no range partition
      *value = KeyValue::Null();
      break;
    case pgoutput::TupleColumn::Kind::kUnchangedToast:
    case pgoutput::TupleColumn::Kind::kBinary:
    default:
      return Corrupt("Insert: relation id " + std::to_string(insert.relation_id) +
                     ": key column is not in text form (kind '" +
                     std::string(1, static_cast<char>(key.kind)) + "')");
  }
  *table = binding.table;
  return true;
}

// TRUNCATE (only published if the publication asks for it).  In a
// non-streamed transaction (already committed) the table's counts reset at
// once.  In a streamed one the reset waits for Stream Commit, and the rows
// this sub-transaction inserted before the TRUNCATE are dropped now; rows of
// other sub-transactions are kept: the TRUNCATE's sub-transaction may still
// abort, so keeping them can only over-count.
Result<bool> Policy::Handle(const pgoutput::TruncateMessage& truncate, PolicyOutput* /*out*/) {
  Result<TxnCounts*> target = Target("Truncate", truncate.xid);
  if (!target.ok()) return target.error();
  for (pgoutput::Oid relation_id : truncate.relation_ids) {
    const auto it = relations_.find(relation_id);
    if (it == relations_.end() || !it->second.bound) continue;
    const size_t table = it->second.table;
    if (TxnCounts* txn = target.value()) {
      txn->truncated[table] = true;
      txn->counts[table].clear();
      txn->floor[table] = 0;
    } else {
      ResetTable(table);
    }
  }
  return true;
}

Result<bool> Policy::Handle(const pgoutput::StreamStartMessage& start, PolicyOutput* /*out*/) {
  if (in_stream_block_) {
    return Corrupt("StreamStart: xid " + XidText(start.xid) + " inside the stream block of xid " +
                   XidText(current_stream_xid_));
  }
  if (in_txn_) return Corrupt("StreamStart: xid " + XidText(start.xid) + " inside a transaction");
  const bool known = streamed_.contains(start.xid);
  // A first segment for a known xid would count its rows twice; a later
  // segment for an unknown one means its earlier rows were never seen.
  if (start.first_segment && known) {
    return Corrupt("StreamStart: first segment of xid " + XidText(start.xid) +
                   ", which is already open");
  }
  if (!start.first_segment && !known) {
    return Corrupt("StreamStart: continues xid " + XidText(start.xid) +
                   ", whose first segment was not seen");
  }
  streamed_[start.xid];  // open it, so in_transaction() holds from now on
  current_stream_xid_ = start.xid;
  in_stream_block_ = true;
  return true;
}

Result<bool> Policy::Handle(const pgoutput::StreamStopMessage& /*stop*/, PolicyOutput* /*out*/) {
  if (!in_stream_block_) return Corrupt("StreamStop: outside a stream block");
  in_stream_block_ = false;
  return true;
}

Result<bool> Policy::Handle(const pgoutput::StreamCommitMessage& commit, PolicyOutput* out) {
  if (in_stream_block_) {
    return Corrupt("StreamCommit: xid " + XidText(commit.xid) + " inside a stream block");
  }
  if (in_txn_) return Corrupt("StreamCommit: xid " + XidText(commit.xid) + " inside a transaction");
  const auto it = streamed_.find(commit.xid);
  if (it == streamed_.end()) {
    return Corrupt("StreamCommit: xid " + XidText(commit.xid) + " was never streamed");
  }
  MergeStreamed(it->second);
  streamed_.erase(it);
  Decide(commit.commit_lsn, commit.commit_time, commit.xid, out);
  last_commit_lsn_ = commit.commit_lsn;
  last_commit_time_ = commit.commit_time;
  last_commit_xid_ = commit.xid;
  accounted_lsn_ = std::max(accounted_lsn_, commit.end_lsn);
  return true;
}

// All surviving sub-transactions commit together.  TRUNCATEs apply first (a
// TRUNCATE in one sub-transaction must not wipe rows another one added, in
// whatever order the map yields them: over- rather than under-counting).
// A sub-transaction that evicted values (its floor > 0) may have added up to
// `floor` rows to any value it no longer holds: every held value not in its
// counts gets the floor, and so does the table's floor.
void Policy::MergeStreamed(std::unordered_map<pgoutput::Xid, TxnCounts>& subxacts) {
  for (const auto& [subxid, txn] : subxacts) {
    for (size_t table = 0; table < rules_.size(); ++table) {
      if (txn.truncated[table]) ResetTable(table);
    }
  }
  for (auto& [subxid, txn] : subxacts) {
    for (size_t table = 0; table < rules_.size(); ++table) {
      for (const auto& [value, n] : txn.counts[table]) {
        AddCommitted(table, value, n);
        if (listener_) listener_->OnCommittedRows(table, value, n);
      }
      committed_rows_[table] += txn.rows[table];
      const int64_t floor = txn.floor[table];
      if (floor == 0) continue;
      std::vector<KeyValue> others;
      for (const auto& [value, state] : state_[table]) {
        if (!txn.counts[table].contains(value)) others.push_back(value);
      }
      for (const KeyValue& value : others) AddCommitted(table, value, floor);
      floor_[table] += floor;
    }
  }
}

Result<bool> Policy::Handle(const pgoutput::StreamAbortMessage& abort, PolicyOutput* /*out*/) {
  if (in_stream_block_) {
    return Corrupt("StreamAbort: xid " + XidText(abort.xid) + " inside a stream block");
  }
  // An abort of something never seen (e.g. a sub-transaction without rows
  // of ours) has nothing to drop.
  const auto it = streamed_.find(abort.xid);
  if (it == streamed_.end()) return true;
  if (abort.subxid == abort.xid) {
    streamed_.erase(it);
  } else {
    it->second.erase(abort.subxid);
  }
  return true;
}

void Policy::ForgetAlerts(size_t table) {
  if (table >= state_.size()) return;
  for (auto& [value, state] : state_[table]) state.alerted = false;
}

std::vector<Decision> Policy::DecideAll() {
  std::vector<Decision> out;
  for (size_t table = 0; table < rules_.size(); ++table) {
    const TableRule& rule = rules_[table];
    for (auto& [value, state] : state_[table]) {
      if (state.count <= rule.ThresholdFor(value) || state.pending) continue;
      if (state.alerted) continue;
      state.pending = true;
      state.count_at_decision = state.count;
      out.push_back(Decision{table, value, rule.action, state.count, Lsn(), 0});
    }
  }
  return out;
}

// kBelowThreshold / kAlerted: the executor's exact count was taken after the
// decision, so every row merged up to the decision is in it; rows merged
// since may or may not be (the executor's snapshot and our stream position
// are not comparable).  Adding them again can only over-count, while
// replacing the count with exact_count alone could lose rows committed after
// the executor counted, i.e. fall below the truth.
std::vector<Decision> Policy::OnOutcome(const Outcome& outcome) {
  if (outcome.table >= state_.size()) return {};
  ValueStates& states = state_[outcome.table];
  const auto it = states.find(outcome.value);
  switch (outcome.kind) {
    case Outcome::Kind::kDone:
      if (it != states.end()) states.erase(it);
      return {};
    case Outcome::Kind::kBelowThreshold:
    case Outcome::Kind::kAlerted: {
      if (it == states.end() && outcome.kind == Outcome::Kind::kBelowThreshold &&
          outcome.exact_count <= 0) {
        return {};  // nothing worth remembering
      }
      ValueState& state = it != states.end() ? it->second : Track(outcome.table, outcome.value);
      const int64_t merged_since =
          state.pending ? std::max<int64_t>(0, state.count - state.count_at_decision) : 0;
      state.count = outcome.exact_count + merged_since;
      state.pending = false;
      state.count_at_decision = 0;
      if (outcome.kind == Outcome::Kind::kAlerted) {
        state.alerted = true;
        return {};
      }
      if (state.count <= rules_[outcome.table].ThresholdFor(outcome.value)) return {};
      // Rows committed while the executor counted may have carried the value
      // over: look again now rather than at its next commit, which may
      // never come.
      state.pending = true;
      state.count_at_decision = state.count;
      return {Decision{outcome.table, outcome.value, rules_[outcome.table].action, state.count,
                       last_commit_lsn_, last_commit_time_, last_commit_xid_}};
    }
    case Outcome::Kind::kFailed:
      if (it != states.end()) {
        it->second.pending = false;
        it->second.count_at_decision = 0;
      }
      return {};
  }
  return {};
}

void Policy::OnIdle(Lsn wal_end) {
  if (!in_transaction()) accounted_lsn_ = std::max(accounted_lsn_, wal_end);
}

void Policy::ResumeFrom(Lsn start) { accounted_lsn_ = std::max(accounted_lsn_, start); }

bool Policy::in_transaction() const { return in_txn_ || !streamed_.empty(); }

int64_t Policy::count(size_t table, const KeyValue& value) const {
  if (table >= state_.size()) return 0;
  const auto it = state_[table].find(value);
  return it == state_[table].end() ? 0 : it->second.count;
}

std::vector<std::pair<KeyValue, int64_t>> Policy::TopCounts(size_t table, size_t n, size_t* others,
                                                            int64_t* total) const {
  std::vector<std::pair<KeyValue, int64_t>> top;
  *others = 0;
  *total = 0;
  if (table >= state_.size()) return top;
  // Pointers, so only the values kept are copied.
  std::vector<std::pair<const KeyValue*, int64_t>> all;
  all.reserve(state_[table].size());
  for (const auto& [value, state] : state_[table]) {
    if (state.count <= 0) continue;
    *total += state.count;
    all.emplace_back(&value, state.count);
  }
  auto higher = [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first->text < b.first->text;
  };
  if (all.size() > n) {
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), higher);
    *others = all.size() - n;
    all.resize(n);
  }
  std::sort(all.begin(), all.end(), higher);
  top.reserve(all.size());
  for (const auto& [value, count] : all) top.emplace_back(*value, count);
  return top;
}

size_t Policy::tracked_values() const {
  size_t n = 0;
  for (const auto& states : state_) n += states.size();
  return n;
}

}  // namespace partwatch::policy
