// The main data of the heap and transaction records partwatch reads
// (access/heapam_xlog.h, access/xact.h, storage/standbydefs.h of
// PostgreSQL 15), one struct per record and one parser each.  Parsers check
// every length against what is left and name the record and LSN in errors.
// Pure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decoder/result.h"
#include "decoder/wal/record.h"

namespace partwatch::wal {

// Heap (RM_HEAP_ID) and Heap2 (RM_HEAP2_ID) operations: rmgr_info() & 0x70.
inline constexpr uint8_t kHeapOpMask = 0x70;
inline constexpr uint8_t kHeapInsert = 0x00;
inline constexpr uint8_t kHeapDelete = 0x10;
inline constexpr uint8_t kHeapTruncate = 0x30;
inline constexpr uint8_t kHeapConfirm = 0x50;
inline constexpr uint8_t kHeapInitPage = 0x80;
inline constexpr uint8_t kHeap2MultiInsert = 0x50;

inline constexpr uint8_t kInsertIsSpeculative = 0x04;  // XLH_INSERT_IS_SPECULATIVE
inline constexpr uint8_t kDeleteIsSuper = 0x08;        // XLH_DELETE_IS_SUPER

// A heap tuple as a record carries it: xl_heap_header's fields and the
// bytes from offsetof(HeapTupleHeaderData, t_bits) on.
struct WalTuple {
  uint16_t infomask2 = 0;
  uint16_t infomask = 0;
  uint8_t hoff = 0;
  std::span<const std::byte> body;
};

struct HeapInsertRecord {  // XLOG_HEAP_INSERT
  uint16_t offnum = 0;
  uint8_t flags = 0;
};
Result<HeapInsertRecord> ParseHeapInsert(const Record& record);
// Block 0's data of an insert: xl_heap_header, then the tuple.
Result<WalTuple> ParseInsertTuple(std::span<const std::byte> data, Lsn lsn);

struct HeapDeleteRecord {  // XLOG_HEAP_DELETE
  uint32_t xmax = 0;
  uint16_t offnum = 0;
  uint8_t flags = 0;
};
Result<HeapDeleteRecord> ParseHeapDelete(const Record& record);

struct HeapConfirmRecord {  // XLOG_HEAP_CONFIRM (a speculative insert stays)
  uint16_t offnum = 0;
};
Result<HeapConfirmRecord> ParseHeapConfirm(const Record& record);

struct HeapTruncateRecord {  // XLOG_HEAP_TRUNCATE (written at wal_level=logical)
  uint32_t db = 0;
  uint8_t flags = 0;
  std::vector<uint32_t> relids;  // pg_class oids
};
Result<HeapTruncateRecord> ParseHeapTruncate(const Record& record);

struct MultiInsertRecord {  // XLOG_HEAP2_MULTI_INSERT (COPY)
  uint8_t flags = 0;
  uint16_t ntuples = 0;
  std::vector<uint16_t> offsets;  // 1..ntuples when the record inits the page
};
Result<MultiInsertRecord> ParseMultiInsert(const Record& record);
// Block 0's data of a multi-insert: ntuples (xl_multi_insert_tuple,
// tuple) pairs, each header 2-byte aligned from the data's start.
Result<std::vector<WalTuple>> ParseMultiInsertTuples(std::span<const std::byte> data,
                                                     uint16_t ntuples, Lsn lsn);

// Transaction records (RM_XACT_ID): rmgr_info() & 0x70.
inline constexpr uint8_t kXactOpMask = 0x70;
inline constexpr uint8_t kXactCommit = 0x00;
inline constexpr uint8_t kXactPrepare = 0x10;
inline constexpr uint8_t kXactAbort = 0x20;
inline constexpr uint8_t kXactCommitPrepared = 0x30;
inline constexpr uint8_t kXactAbortPrepared = 0x40;

// A commit or abort record (prepared or not), as ParseCommitRecord and
// ParseAbortRecord read them in PostgreSQL 15.
struct XactRecord {
  bool commit = false;
  bool prepared = false;  // COMMIT PREPARED / ROLLBACK PREPARED
  int64_t xact_time = 0;  // microseconds since 2000-01-01 UTC
  uint32_t xinfo = 0;
  uint32_t db = 0;
  std::vector<uint32_t> subxacts;
  std::vector<RelFileNode> dropped;  // relation files removed by it
  uint32_t twophase_xid = 0;         // prepared: the prepared transaction's xid
  std::string gid;
  // The transaction the record ends: twophase_xid when prepared, else the
  // record's xl_xid.
  uint32_t xid = 0;
};
// REQUIRES record.rmid == kRmXact and the op is commit, abort, commit
// prepared or abort prepared.
Result<XactRecord> ParseXact(const Record& record);

// Standby XLOG_RUNNING_XACTS (RM_STANDBY_ID, 0x10): what was running.
inline constexpr uint8_t kStandbyRunningXacts = 0x10;
struct RunningXactsRecord {
  uint32_t next_xid = 0;
  uint32_t oldest_running_xid = 0;
  uint32_t latest_completed_xid = 0;
};
Result<RunningXactsRecord> ParseRunningXacts(const Record& record);

// TransactionIdPrecedes for normal xids (modulo 2^32).
inline bool XidPrecedes(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }

}  // namespace partwatch::wal
