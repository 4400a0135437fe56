// Policy: decides, from the decoded replication stream, when a key value has
// piled up in a DEFAULT partition past its threshold.
//
// Pure: messages and executor outcomes in, decisions out; no I/O, no clock.
// Thread-compatible: owned by the policy thread.
//
// Counting contract:
//  - Only rows of committed transactions count.  A non-streamed transaction
//    reaches the stream only after it committed (the server's reorder buffer
//    replays it whole at commit, without its rolled-back sub-transactions),
//    so its rows count as they arrive and decisions are made at its Commit.
//    A streamed transaction arrives while still in progress: its rows are
//    held per sub-transaction and merged at Stream Commit; a Stream Abort
//    drops the sub-transaction's rows (or the whole transaction's when
//    subxid == xid).
//  - A decision is made at the commit that makes a value's count exceed the
//    table's threshold (count > threshold), once: the value is then
//    "pending" until OnOutcome() reports what the executor found.
//  - Counts never fall below the truth (when seeded correctly) and may exceed
//    it: rows deleted or moved out of DEFAULT are not streamed, and memory
//    is bounded (below).  The executor re-counts exactly before acting and
//    reports the exact count back through OnOutcome().
//  - Bounded memory: at most rule.max_tracked_values values per table are
//    held, and as many per streamed sub-transaction.  When full, the lower
//    half by count (values without a decision in flight or an alert) is
//    evicted and the table's floor rises to the largest count evicted: a
//    value not held has at most `floor` rows, and a value seen again starts
//    from the floor (the Space-Saving heavy-hitter scheme).  A value that
//    really crosses its threshold is therefore always decided on; values
//    that did not are caught by the exact count.  With more than
//    threshold × max_tracked_values rows of distinct values since start-up,
//    the floor passes the threshold and every new value costs one exact
//    count: raise max_tracked_values if that happens (docs/configuration.md).
//  - A committed TRUNCATE of a DEFAULT partition resets its table's counts
//    and floor to 0.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "decoder/lsn.h"
#include "decoder/pgoutput.h"
#include "decoder/result.h"
#include "policy/key_value.h"
#include "policy/naming.h"
#include "policy/range.h"

namespace partwatch::policy {

enum class ActionKind { kCreate, kAlert };

const char* ActionKindName(ActionKind kind);

// One configured table, as resolved from the catalog.
struct TableRule {
  std::string parent;           // display name, e.g. "public.orders"
  std::string parent_relname;   // unqualified, for naming
  std::string default_nspname;  // the DEFAULT partition, as the Relation
  std::string default_relname;  // message names it
  std::string key_column;       // the partition key column
  int64_t threshold = 100;      // act when count > threshold
  ActionKind action = ActionKind::kCreate;
  std::string name_template = std::string(kDefaultNameTemplate);
  // Most values whose counts are held for this table (memory bound; see
  // "Bounded memory" above).
  size_t max_tracked_values = 100'000;
  // RANGE tables: rows count per bucket (the "value" of a RANGE decision is
  // its bucket's lower-bound literal, Bucket::lo_literal); rows the bucketer
  // cannot place (NULL, infinity, inside an existing partition) are not
  // counted.  Null for LIST tables.
  std::shared_ptr<const Bucketer> bucketer;
  // RANGE tables pg_partman manages: buckets starting at or after this
  // point have threshold 0, since any row there would make pg_partman's
  // maintenance fail when it creates that child.
  std::optional<int64_t> immediate_from;

  // The threshold that applies to `value` (a bucket key for RANGE tables).
  int64_t ThresholdFor(const KeyValue& value) const;
};

struct Decision {
  size_t table = 0;  // index into the rules
  KeyValue value;
  ActionKind kind = ActionKind::kCreate;
  int64_t streamed_count = 0;  // partwatch's count at the crossing commit
  Lsn commit_lsn;              // the commit that crossed the threshold
  int64_t commit_time = 0;     // its timestamp, microseconds since 2000-01-01
  // Its (top-level) transaction id, 0 when no commit crossed anything.  The
  // stream delivers a commit a moment before it is visible to new snapshots
  // (and, with a synchronous standby, until the standby confirmed it): the
  // executor waits for this xid to be visible before counting.
  pgoutput::Xid xid = 0;
};

struct Outcome {
  enum class Kind {
    kDone,            // partition exists and DEFAULT holds no row of the value
    kBelowThreshold,  // exact count was not over the threshold; nothing done
    kAlerted,         // alert mode: the alert was raised
    kFailed,          // the executor gave up for now; decide again later
  };
  size_t table = 0;
  KeyValue value;
  Kind kind = Kind::kFailed;
  int64_t exact_count = 0;  // meaningful for kBelowThreshold and kAlerted
};

struct PolicyOutput {
  std::vector<Decision> decisions;
  // Relations the stream named that match no rule (or lack the key column):
  // the caller should refresh the catalog.  "schema.name" form.
  std::vector<std::string> unknown_relations;
  // RANGE tables (indices) that streamed a row the bucketer places inside an
  // existing partition, which DEFAULT cannot hold: a partition was dropped
  // or detached since the catalog was read (pg_partman retention, an
  // operator).  The row was not counted: the caller should refresh the
  // catalog and recount the table.
  std::vector<size_t> stale_tables;
};

// Told of every committed row the policy counts, as it counts it: replay's
// per-value tally (src/replay/simulator.h).  Rows of a non-streamed
// transaction are told as they arrive (the stream sends a transaction only
// once it committed), a streamed transaction's at its Stream Commit (its
// per-value numbers then include the sub-transaction's eviction floor, as
// the counts do).  Called on the policy's thread, inside OnMessage().
class CommitListener {
 public:
  virtual ~CommitListener() = default;
  virtual void OnCommittedRows(size_t table, const KeyValue& value, int64_t n) = 0;
  // A committed TRUNCATE of the table's DEFAULT partition.
  virtual void OnTruncate(size_t table) = 0;
};

class Policy {
 public:
  explicit Policy(std::vector<TableRule> rules);

  // `listener` (may be null) must outlive this Policy or be reset first.
  void set_listener(CommitListener* listener) { listener_ = listener; }

  // The stream restarts from an earlier position (a capture records `run`
  // restarting, src/replay): transactions still open will be sent again
  // from their start, so their uncommitted rows are dropped and no
  // transaction is open afterwards.  Rows of an open non-streamed
  // transaction were counted already (they are committed): the caller makes
  // sure none is open, or skips its resent copy by commit position.
  void AbandonOpenTransactions();

  // Replaces the rules (after a catalog refresh or a configuration reload),
  // keeping the counts, flags (a decision in flight, an alert raised) and
  // open transactions of tables whose parent name is unchanged.  Relation
  // ids are re-bound against the new rules from the last Relation message
  // seen for each (the server sends one only once per session).
  // A table's index changes when tables are added, dropped or reordered:
  // decisions still with the executor carry the old index, so do that only
  // when none is outstanding.  When every table keeps its index (the same
  // parents in the same order, as a refresh or a reload of the same
  // [[table]] list gives), it may be called at any time: outstanding
  // decisions stay valid and their outcomes apply to the new rules.
  void SetRules(std::vector<TableRule> rules);
  const std::vector<TableRule>& rules() const { return rules_; }

  // Sets the committed count of one value (initial exact count at start-up).
  void Seed(size_t table, const KeyValue& value, int64_t count);
  // At start-up, when only the most frequent values were seeded: no value
  // left out has more than `max_count` rows.
  void SeedUntracked(size_t table, int64_t max_count);
  // The table's floor: no value not held has more rows than this.
  int64_t floor(size_t table) const { return table < floor_.size() ? floor_[table] : 0; }

  // Forgets which values of `table` were alerted on (kAlerted outcomes), so
  // DecideAll() and later commits decide on them again: for a reload that
  // changed the table's action, threshold or max_future.
  void ForgetAlerts(size_t table);

  // Decisions for every value already over its threshold that has none in
  // flight (for seeded counts at start-up, which no commit has touched yet).
  // Their commit_lsn and commit_time are zero: no commit crossed anything.
  std::vector<Decision> DecideAll();

  // Feeds one decoded message.  Errors: an Insert for a relation id never
  // described by a Relation message, a Commit without Begin, and similar
  // protocol violations.
  Result<PolicyOutput> OnMessage(const pgoutput::Message& message);

  // Reports what the executor did with a decision (`outcome.table` indexes
  // the current rules; an index out of range is ignored).
  //  - kDone: the value's state is dropped (its rows now go elsewhere).
  //  - kBelowThreshold / kAlerted: the count becomes exact_count plus the
  //    rows merged since the decision (which the exact count may or may not
  //    have seen: over- rather than under-counting); kAlerted also marks the
  //    value alerted, so it is never decided on (nor alerted) again while
  //    this Policy lives (in create mode: a RANGE bucket past max_future).  When, for
  //    kBelowThreshold, that count is over the threshold (rows committed
  //    while the executor counted), the value is decided again at once: the
  //    returned decision carries the last commit seen.
  //  - kFailed: decided again at the next commit touching the value, or by
  //    DecideAll().
  std::vector<Decision> OnOutcome(const Outcome& outcome);

  // The stream was idle at `wal_end` (a keepalive arrived while no
  // transaction was open): everything before it is accounted for.
  void OnIdle(Lsn wal_end);

  // The session streams from `start` (a new slot's consistent point or an
  // existing slot's confirmed_flush_lsn): everything before it is accounted
  // for already, so accounted_lsn() is never below it, even before the
  // first commit or idle keepalive (an open streamed transaction can delay
  // both for long).  Call once, before the first message.
  void ResumeFrom(Lsn start);

  // Highest position whose effects are fully accounted for in the counts:
  // the end LSN of the last commit processed, an idle keepalive's WAL end, or
  // ResumeFrom's start, whichever is highest (Lsn() before any of them).
  Lsn accounted_lsn() const { return accounted_lsn_; }

  // True between Begin and Commit, or while any streamed transaction is open.
  bool in_transaction() const;

  // The current committed count of a value (0 when unknown).  For tests,
  // status and logs.
  int64_t count(size_t table, const KeyValue& value) const;

  // Number of (table, value) entries held; for memory accounting.
  size_t tracked_values() const;

  // Rows of committed transactions streamed into the table's DEFAULT since
  // this Policy was made (aborted streamed rows excluded); for metrics.
  int64_t committed_rows(size_t table) const {
    return table < committed_rows_.size() ? committed_rows_[table] : 0;
  }
  // The timestamp of the last commit merged (microseconds since
  // 2000-01-01), 0 before the first.
  int64_t last_commit_time() const { return last_commit_time_; }
  // The `n` held values of `table` with the highest counts, highest first
  // (values with a count of 0 are left out); `*others` is how many more
  // were held, `*total` the sum of all held counts.  For metrics: costs a
  // pass over the table's held values.
  std::vector<std::pair<KeyValue, int64_t>> TopCounts(size_t table, size_t n, size_t* others,
                                                      int64_t* total) const;

 private:
  struct ValueState {
    int64_t count = 0;
    bool pending = false;  // a decision is with the executor
    bool alerted = false;  // alert mode: already alerted once
    // `count` when the pending decision was made, so OnOutcome() can keep
    // the rows merged while the executor worked (see policy.cc).
    int64_t count_at_decision = 0;
    bool crossed = false;  // in crossed_: to decide at the coming commit
    bool pinned() const { return pending || alerted || crossed; }
  };
  using Counts = std::unordered_map<KeyValue, int64_t, KeyValueHash>;
  using ValueStates = std::unordered_map<KeyValue, ValueState, KeyValueHash>;
  struct RelationBinding {
    size_t table = 0;
    size_t key_index = 0;  // column index of the key in the tuple
    bool bound = false;    // false: a relation that matches no rule
  };
  // The uncommitted effects of one transaction (or one sub-transaction of a
  // streamed transaction), per table.
  struct TxnCounts {
    std::vector<Counts> counts;   // inserted rows per value
    std::vector<bool> truncated;  // a TRUNCATE of the table's DEFAULT partition
    std::vector<int64_t> floor;   // rows of any value evicted from `counts`
    std::vector<int64_t> rows;    // inserted rows (for committed_rows())
  };

  TxnCounts EmptyTxnCounts() const;
  // Rebinds `relation` against rules_ and records the binding.  Returns false
  // when it matches no rule (or lacks the key column).
  bool Bind(const pgoutput::RelationMessage& relation);

  // One handler per message kind that matters; OnMessage() ignores the rest.
  Result<bool> Handle(const pgoutput::BeginMessage& begin, PolicyOutput* out);
  Result<bool> Handle(const pgoutput::CommitMessage& commit, PolicyOutput* out);
  Result<bool> Handle(const pgoutput::RelationMessage& relation, PolicyOutput* out);
  Result<bool> Handle(const pgoutput::InsertMessage& insert, PolicyOutput* out);
  Result<bool> Handle(const pgoutput::TruncateMessage& truncate, PolicyOutput* out);
  Result<bool> Handle(const pgoutput::StreamStartMessage& start, PolicyOutput* out);
  Result<bool> Handle(const pgoutput::StreamStopMessage& stop, PolicyOutput* out);
  Result<bool> Handle(const pgoutput::StreamCommitMessage& commit, PolicyOutput* out);
  Result<bool> Handle(const pgoutput::StreamAbortMessage& abort, PolicyOutput* out);

  // The streamed sub-transaction a row-level message belongs to (inside a
  // stream block), nullptr for the open non-streamed transaction, or an
  // Error outside any transaction.
  Result<TxnCounts*> Target(const char* what, const std::optional<pgoutput::Xid>& xid);

  // Resolves an Insert to (table, value).  Returns false when the relation
  // is not one of ours (ignored), an Error on a protocol violation.
  Result<bool> KeyOf(const pgoutput::InsertMessage& insert, size_t* table, KeyValue* value,
                     PolicyOutput* out);

  // The committed state of a value, created at the table's floor (evicting
  // the lower half first when the table is full).
  ValueState& Track(size_t table, const KeyValue& value);
  void Evict(size_t table);
  // Adds `n` rows to a sub-transaction's counts, evicting when full.
  void AddToTxn(TxnCounts* txn, size_t table, const KeyValue& value, int64_t n);
  // A committed TRUNCATE: counts and floor to 0, pinned entries kept.
  void ResetTable(size_t table);
  // Adds `n` committed rows and notes a threshold crossing in crossed_.
  void AddCommitted(size_t table, const KeyValue& value, int64_t n);
  // Merges the sub-transactions of a committed streamed transaction.
  void MergeStreamed(std::unordered_map<pgoutput::Xid, TxnCounts>& subxacts);
  // Turns crossed_ into decisions for the commit at `commit_lsn`.
  void Decide(Lsn commit_lsn, int64_t commit_time, pgoutput::Xid xid, PolicyOutput* out);

  std::vector<TableRule> rules_;
  std::vector<ValueStates> state_;       // per table
  std::vector<int64_t> floor_;           // per table, see "Bounded memory"
  std::vector<int64_t> committed_rows_;  // per table, see committed_rows()
  // Values whose count passed the threshold since the last commit.
  std::vector<std::pair<size_t, KeyValue>> crossed_;
  std::unordered_map<pgoutput::Oid, RelationBinding> relations_;
  // The last Relation message per relation id: the server sends it once per
  // session, so SetRules() re-binds from these.
  std::unordered_map<pgoutput::Oid, pgoutput::RelationMessage> relation_messages_;

  // Non-streamed transaction in progress (its rows count as they come).
  bool in_txn_ = false;

  // Streamed transactions: top-level xid -> sub-xid -> its effects.
  std::unordered_map<pgoutput::Xid, std::unordered_map<pgoutput::Xid, TxnCounts>> streamed_;
  pgoutput::Xid current_stream_xid_ = 0;
  bool in_stream_block_ = false;

  CommitListener* listener_ = nullptr;

  Lsn accounted_lsn_;
  // The last commit merged, for decisions made outside a commit.
  Lsn last_commit_lsn_;
  int64_t last_commit_time_ = 0;
  pgoutput::Xid last_commit_xid_ = 0;
  pgoutput::Xid txn_xid_ = 0;  // the open non-streamed transaction's
};

}  // namespace partwatch::policy
