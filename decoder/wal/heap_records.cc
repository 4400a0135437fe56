#include "decoder/wal/heap_records.h"

#include "decoder/wal/le_reader.h"

namespace partwatch::wal {
namespace {

constexpr uint32_t kXactHasInfo = 0x80;  // XLOG_XACT_HAS_INFO, in xl_info
constexpr uint32_t kXinfoHasDbInfo = 1u << 0;
constexpr uint32_t kXinfoHasSubxacts = 1u << 1;
constexpr uint32_t kXinfoHasRelFileNodes = 1u << 2;
constexpr uint32_t kXinfoHasInvals = 1u << 3;
constexpr uint32_t kXinfoHasTwoPhase = 1u << 4;
constexpr uint32_t kXinfoHasOrigin = 1u << 5;
constexpr uint32_t kXinfoHasGid = 1u << 7;
constexpr uint32_t kXinfoHasDroppedStats = 1u << 8;
constexpr size_t kSharedInvalMessageSize = 16;
constexpr size_t kStatsItemSize = 12;
constexpr size_t kRelFileNodeSize = 12;
constexpr size_t kMultiInsertTupleHeader = 7;  // SizeOfMultiInsertTuple
constexpr size_t kHeapHeaderSize = 5;          // SizeOfHeapHeader

Error Bad(const Record& r, const char* what, const std::string& detail) {
  return Error{Error::Kind::kCorrupt,
               std::string(what) + " at " + r.lsn.ToString() + ": " + detail};
}

// A count read from the record: non-negative and with room for `each`
// bytes per item in what is left.
bool ReadCount(LeReader& in, size_t each, int32_t* n) {
  return in.Read(n) && *n >= 0 && static_cast<uint64_t>(*n) * each <= in.remaining();
}

}  // namespace

Result<HeapInsertRecord> ParseHeapInsert(const Record& record) {
  LeReader in(record.main_data);
  HeapInsertRecord out;
  if (!in.Read(&out.offnum) || !in.Read(&out.flags)) {
    return Bad(record, "heap insert",
               "main data of " + std::to_string(record.main_data.size()) + " bytes, 3 needed");
  }
  return out;
}

Result<WalTuple> ParseInsertTuple(std::span<const std::byte> data, Lsn lsn) {
  LeReader in(data);
  WalTuple t;
  if (!in.Read(&t.infomask2) || !in.Read(&t.infomask) || !in.Read(&t.hoff)) {
    return Error{Error::Kind::kCorrupt, "heap insert at " + lsn.ToString() + ": tuple of " +
                                            std::to_string(data.size()) + " bytes"};
  }
  t.body = data.subspan(kHeapHeaderSize);
  return t;
}

Result<HeapDeleteRecord> ParseHeapDelete(const Record& record) {
  LeReader in(record.main_data);
  HeapDeleteRecord out;
  uint8_t infobits = 0;
  if (!in.Read(&out.xmax) || !in.Read(&out.offnum) || !in.Read(&infobits) || !in.Read(&out.flags)) {
    return Bad(record, "heap delete", "main data truncated");
  }
  return out;
}

Result<HeapConfirmRecord> ParseHeapConfirm(const Record& record) {
  LeReader in(record.main_data);
  HeapConfirmRecord out;
  if (!in.Read(&out.offnum)) return Bad(record, "heap confirm", "main data truncated");
  return out;
}

Result<HeapTruncateRecord> ParseHeapTruncate(const Record& record) {
  LeReader in(record.main_data);
  HeapTruncateRecord out;
  uint32_t n = 0;
  if (!in.Read(&out.db) || !in.Read(&n) || !in.Read(&out.flags) || !in.Skip(3)) {
    return Bad(record, "heap truncate", "main data truncated");
  }
  if (uint64_t{n} * 4 > in.remaining()) {
    return Bad(record, "heap truncate", std::to_string(n) + " relations do not fit");
  }
  out.relids.resize(n);
  for (uint32_t i = 0; i < n; ++i) (void)in.Read(&out.relids[i]);
  return out;
}

Result<MultiInsertRecord> ParseMultiInsert(const Record& record) {
  LeReader in(record.main_data);
  MultiInsertRecord out;
  if (!in.Read(&out.flags) || !in.Skip(1) || !in.Read(&out.ntuples)) {
    return Bad(record, "multi-insert", "main data truncated");
  }
  if (record.info & kHeapInitPage) {
    out.offsets.resize(out.ntuples);
    for (uint16_t i = 0; i < out.ntuples; ++i) out.offsets[i] = static_cast<uint16_t>(i + 1);
    return out;
  }
  if (size_t{out.ntuples} * 2 > in.remaining()) {
    return Bad(record, "multi-insert",
               std::to_string(out.ntuples) + " offsets do not fit in the main data");
  }
  out.offsets.resize(out.ntuples);
  for (uint16_t i = 0; i < out.ntuples; ++i) (void)in.Read(&out.offsets[i]);
  return out;
}

Result<std::vector<WalTuple>> ParseMultiInsertTuples(std::span<const std::byte> data,
                                                     uint16_t ntuples, Lsn lsn) {
  std::vector<WalTuple> out;
  out.reserve(ntuples);
  size_t pos = 0;
  for (uint16_t i = 0; i < ntuples; ++i) {
    pos = (pos + 1) & ~size_t{1};  // SHORTALIGN
    if (pos > data.size() || kMultiInsertTupleHeader > data.size() - pos) {
      return Error{Error::Kind::kCorrupt, "multi-insert at " + lsn.ToString() + ": tuple " +
                                              std::to_string(i) + " header truncated"};
    }
    const uint16_t len = LoadLe<uint16_t>(data, pos);
    WalTuple t;
    t.infomask2 = LoadLe<uint16_t>(data, pos + 2);
    t.infomask = LoadLe<uint16_t>(data, pos + 4);
    t.hoff = static_cast<uint8_t>(data[pos + 6]);
    pos += kMultiInsertTupleHeader;
    if (len > data.size() - pos) {
      return Error{Error::Kind::kCorrupt, "multi-insert at " + lsn.ToString() + ": tuple " +
                                              std::to_string(i) + " of " + std::to_string(len) +
                                              " bytes, " + std::to_string(data.size() - pos) +
                                              " left"};
    }
    t.body = data.subspan(pos, len);
    pos += len;
    out.push_back(t);
  }
  return out;
}

Result<XactRecord> ParseXact(const Record& record) {
  const uint8_t op = record.rmgr_info() & kXactOpMask;
  XactRecord out;
  out.commit = op == kXactCommit || op == kXactCommitPrepared;
  out.prepared = op == kXactCommitPrepared || op == kXactAbortPrepared;
  const char* what = out.commit ? "commit record" : "abort record";
  LeReader in(record.main_data);
  if (!in.Read(&out.xact_time)) return Bad(record, what, "truncated before xact_time");
  if (record.info & kXactHasInfo) {
    if (!in.Read(&out.xinfo)) return Bad(record, what, "truncated before xinfo");
  }
  if (out.xinfo & kXinfoHasDbInfo) {
    uint32_t ts = 0;
    if (!in.Read(&out.db) || !in.Read(&ts)) return Bad(record, what, "dbinfo truncated");
  }
  int32_t n = 0;
  if (out.xinfo & kXinfoHasSubxacts) {
    if (!ReadCount(in, 4, &n)) return Bad(record, what, "subtransactions truncated");
    out.subxacts.resize(n);
    for (int32_t i = 0; i < n; ++i) (void)in.Read(&out.subxacts[i]);
  }
  if (out.xinfo & kXinfoHasRelFileNodes) {
    if (!ReadCount(in, kRelFileNodeSize, &n)) return Bad(record, what, "relfilenodes truncated");
    out.dropped.resize(n);
    for (int32_t i = 0; i < n; ++i) {
      (void)in.Read(&out.dropped[i].spc);
      (void)in.Read(&out.dropped[i].db);
      (void)in.Read(&out.dropped[i].rel);
    }
  }
  if (out.xinfo & kXinfoHasDroppedStats) {
    if (!ReadCount(in, kStatsItemSize, &n) || !in.Skip(size_t(n) * kStatsItemSize)) {
      return Bad(record, what, "dropped stats truncated");
    }
  }
  if (out.commit && (out.xinfo & kXinfoHasInvals)) {
    if (!ReadCount(in, kSharedInvalMessageSize, &n) ||
        !in.Skip(size_t(n) * kSharedInvalMessageSize)) {
      return Bad(record, what, "invalidations truncated");
    }
  }
  if (out.xinfo & kXinfoHasTwoPhase) {
    if (!in.Read(&out.twophase_xid)) return Bad(record, what, "two-phase xid truncated");
    if (out.xinfo & kXinfoHasGid) {
      std::span<const std::byte> rest;
      (void)in.ReadBytes(in.remaining(), &rest);
      size_t len = 0;
      while (len < rest.size() && rest[len] != std::byte{0}) ++len;
      if (len == rest.size()) return Bad(record, what, "gid without its terminating NUL");
      out.gid.assign(reinterpret_cast<const char*>(rest.data()), len);
      in = LeReader(rest.subspan(len + 1));
    }
  }
  if (out.xinfo & kXinfoHasOrigin) {
    if (!in.Skip(16)) return Bad(record, what, "origin truncated");
  }
  if (out.prepared && out.twophase_xid == 0) {
    return Bad(record, what, "prepared, but no two-phase xid");
  }
  out.xid = out.prepared ? out.twophase_xid : record.xid;
  return out;
}

Result<RunningXactsRecord> ParseRunningXacts(const Record& record) {
  LeReader in(record.main_data);
  int32_t xcnt = 0;
  int32_t subxcnt = 0;
  uint8_t overflow = 0;
  RunningXactsRecord out;
  if (!in.Read(&xcnt) || !in.Read(&subxcnt) || !in.Read(&overflow) || !in.Skip(3) ||
      !in.Read(&out.next_xid) || !in.Read(&out.oldest_running_xid) ||
      !in.Read(&out.latest_completed_xid)) {
    return Bad(record, "running xacts", "main data truncated");
  }
  return out;
}

}  // namespace partwatch::wal
