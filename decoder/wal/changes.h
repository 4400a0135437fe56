// ChangeTracker: WAL records in, committed inserts into watched relations
// (the DEFAULT partitions) out, per key value -- what `run` would have
// seen from the same transactions through logical decoding.
//
//  - Inserts (HEAP INSERT, HEAP2 MULTI_INSERT) into a watched relation's
//    relfilenode are attributed to the record's xid.  The tuple comes from
//    the record's block data or, when a full-page image replaced it, from
//    the image at the record's offset numbers.  The key is read by the
//    caller's KeyReader (deforming needs the catalog).
//  - A speculative insert (INSERT ... ON CONFLICT) counts once confirmed;
//    its super-delete drops it.
//  - A commit (or COMMIT PREPARED) emits the rows of the transaction and of
//    the sub-transactions it lists; an abort (or ROLLBACK PREPARED, or a
//    sub-transaction's abort) drops them.  Transactions that never end
//    (a crash) are dropped once XLOG_RUNNING_XACTS shows them finished.
//  - TRUNCATE (logged at wal_level=logical) of a watched relation is part
//    of its transaction; a commit that removes a watched relfilenode
//    (TRUNCATE, VACUUM FULL, CLUSTER, a drain's swap at wal_level=replica)
//    is reported, since later inserts go to a file no catalog names.
//
// Memory: per open transaction, one counter per distinct (relation, key).
// Pure: no I/O.  Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "decoder/lsn.h"
#include "decoder/result.h"
#include "decoder/wal/heap_records.h"
#include "decoder/wal/page_image.h"
#include "decoder/wal/record.h"
#include "decoder/wal/tuple.h"

namespace partwatch::wal {

struct WatchedRelation {
  RelFileNode rnode;
  uint32_t oid = 0;  // pg_class oid (TRUNCATE records name oids)
};

// What the caller's reader made of a tuple's key.
struct KeyRead {
  enum class Status { kValue, kNull, kUnreadable };
  Status status = Status::kValue;
  std::string text;  // kValue: the output-function text; kUnreadable: why
};
using KeyReader = std::function<KeyRead(size_t relation, const HeapTupleRef& tuple)>;

struct CommittedChanges {
  struct Rows {
    size_t relation = 0;  // index into the watched relations
    bool null = false;
    std::string value;
    int64_t count = 0;
  };
  uint32_t xid = 0;
  Lsn lsn;  // the commit record's
  Lsn end;
  int64_t commit_time = 0;
  std::vector<Rows> rows;             // sorted by relation, then value
  std::vector<size_t> truncated;      // relations TRUNCATEd (each once)
  std::vector<size_t> files_dropped;  // relations whose file the commit removed
};

class ChangeTracker {
 public:
  // Limit of distinct relfilenodes counted in unmapped().
  static constexpr size_t kMaxUnmapped = 10000;

  ChangeTracker(uint32_t database, std::vector<WatchedRelation> relations, KeyReader reader);

  // Feeds one record in WAL order.  True when it committed a transaction
  // with watched changes: `*out` holds them.  Errors name the LSN.
  Result<bool> OnRecord(const Record& record, CommittedChanges* out);

  struct Stats {
    int64_t rows_from_data = 0;   // tuples read from block data
    int64_t rows_from_image = 0;  // tuples read from a full-page image
    int64_t rows_aborted = 0;
    int64_t rows_abandoned = 0;  // of transactions that never ended
    int64_t transactions = 0;    // committed with watched rows
  };
  const Stats& stats() const { return stats_; }
  // Per watched relation: keys that could not be read, and the first reason.
  const std::vector<int64_t>& unreadable() const { return unreadable_; }
  const std::vector<std::string>& unreadable_reason() const { return unreadable_reason_; }
  // Heap inserts (committed or not) into relfilenodes of the database that
  // are not watched.
  const std::unordered_map<uint32_t, int64_t>& unmapped() const { return unmapped_; }
  // Relation files of the database a commit removed (TRUNCATE, VACUUM FULL,
  // CLUSTER, DROP, a drain's swap), with the commit's LSN; bounded as
  // unmapped().
  const std::unordered_map<uint32_t, Lsn>& removed_files() const { return removed_; }
  // Transactions with rows still open (at the end: never finished here).
  size_t open_transactions() const { return pending_.size(); }
  int64_t open_rows() const;

 private:
  struct Pending {
    std::unordered_map<std::string, int64_t> counts;  // KeyId -> rows
    std::vector<size_t> truncated;
    // Speculative inserts awaiting confirmation: (block, offnum) -> KeyId.
    std::unordered_map<uint64_t, std::string> speculative;
    // The counter of the last key counted (rows of a COPY or an INSERT ...
    // SELECT mostly repeat it): no hashing for a run of equal keys.
    std::string last_id;
    int64_t* last_count = nullptr;
  };

  int Watched(const BlockRef& b) const;
  Result<bool> OnInsert(const Record& record);
  Result<bool> OnMultiInsert(const Record& record);
  Result<bool> Count(const Record& record, int rel, const HeapTupleRef& tuple, bool speculative,
                     uint64_t slot);
  Result<std::span<const std::byte, kBlockSize>> Page(const Record& record, const BlockRef& b);
  void Drop(uint32_t xid, int64_t* counter);

  uint32_t database_;
  std::vector<WatchedRelation> relations_;
  KeyReader reader_;
  std::unordered_map<uint32_t, Pending> pending_;
  std::vector<int64_t> unreadable_;
  std::vector<std::string> unreadable_reason_;
  std::unordered_map<uint32_t, int64_t> unmapped_;
  std::unordered_map<uint32_t, Lsn> removed_;
  Stats stats_;
  alignas(8) std::byte page_[kBlockSize];
};

}  // namespace partwatch::wal
