#include "decoder/wal/changes.h"

#include <algorithm>
#include <cstring>

#include "decoder/wal/page_image.h"

namespace partwatch::wal {
namespace {

// A pending row's identity: relation (4 bytes), null flag, value text.
std::string KeyId(int rel, const KeyRead& key) {
  std::string id(5, '\0');
  const uint32_t r = static_cast<uint32_t>(rel);
  std::memcpy(id.data(), &r, 4);
  id[4] = key.status == KeyRead::Status::kNull ? 'n' : 'v';
  if (key.status == KeyRead::Status::kValue) id += key.text;
  return id;
}

uint64_t Slot(uint32_t block, uint16_t offnum) { return (uint64_t{block} << 16) | offnum; }

BlockImage::Compression CompressionOf(uint8_t info) {
  if (info & kImageCompressPglz) return BlockImage::Compression::kPglz;
  if (info & kImageCompressLz4) return BlockImage::Compression::kLz4;
  if (info & kImageCompressZstd) return BlockImage::Compression::kZstd;
  return BlockImage::Compression::kNone;
}

}  // namespace

ChangeTracker::ChangeTracker(uint32_t database, std::vector<WatchedRelation> relations,
                             KeyReader reader)
    : database_(database),
      relations_(std::move(relations)),
      reader_(std::move(reader)),
      unreadable_(relations_.size(), 0),
      unreadable_reason_(relations_.size()) {}

int64_t ChangeTracker::open_rows() const {
  int64_t n = 0;
  for (const auto& [xid, p] : pending_) {
    for (const auto& [k, c] : p.counts) n += c;
  }
  return n;
}

int ChangeTracker::Watched(const BlockRef& b) const {
  if (b.fork != 0 || b.rnode.db != database_) return -2;
  for (size_t i = 0; i < relations_.size(); ++i) {
    if (relations_[i].rnode == b.rnode) return static_cast<int>(i);
  }
  return -1;
}

Result<std::span<const std::byte, kBlockSize>> ChangeTracker::Page(const Record& record,
                                                                   const BlockRef& b) {
  BlockImage image;
  image.bytes = b.image;
  image.hole_offset = b.hole_offset;
  image.hole_length = b.hole_length;
  image.compression = CompressionOf(b.image_info);
  auto restored = RestoreBlockImage(image, std::span<std::byte, kBlockSize>(page_));
  if (!restored.ok()) {
    return Error{Error::Kind::kCorrupt, "record at " + record.lsn.ToString() +
                                            ": page image: " + restored.error().message};
  }
  return std::span<const std::byte, kBlockSize>(page_);
}

Result<bool> ChangeTracker::Count(const Record& record, int rel, const HeapTupleRef& tuple,
                                  bool speculative, uint64_t slot) {
  const KeyRead key = reader_(static_cast<size_t>(rel), tuple);
  if (key.status == KeyRead::Status::kUnreadable) {
    if (unreadable_[rel]++ == 0) {
      unreadable_reason_[rel] = key.text + " (first at " + record.lsn.ToString() + ")";
    }
    return true;
  }
  Pending& p = pending_[record.xid];
  std::string id = KeyId(rel, key);
  if (speculative) {
    p.speculative[slot] = std::move(id);
  } else if (p.last_count != nullptr && id == p.last_id) {
    ++*p.last_count;
  } else {
    p.last_count = &p.counts[id];  // unordered_map values do not move
    ++*p.last_count;
    p.last_id = std::move(id);
  }
  return true;
}

Result<bool> ChangeTracker::OnInsert(const Record& record) {
  const BlockRef* b = record.block(0);
  if (b == nullptr) return true;
  const int rel = Watched(*b);
  if (rel == -2) return true;
  if (rel == -1) {
    if (unmapped_.size() < kMaxUnmapped || unmapped_.contains(b->rnode.rel))
      ++unmapped_[b->rnode.rel];
    return true;
  }
  Result<HeapInsertRecord> ins = ParseHeapInsert(record);
  if (!ins.ok()) return ins.error();
  const bool speculative = (ins->flags & kInsertIsSpeculative) != 0;
  const uint64_t slot = Slot(b->block, ins->offnum);
  if (b->has_data) {
    Result<WalTuple> t = ParseInsertTuple(b->data, record.lsn);
    if (!t.ok()) return t.error();
    ++stats_.rows_from_data;
    return Count(record, rel, HeapTupleRef{t->infomask2, t->infomask, t->hoff, t->body},
                 speculative, slot);
  }
  if (!b->has_image) {
    return Error{Error::Kind::kCorrupt,
                 "heap insert at " + record.lsn.ToString() + ": neither tuple data nor page image"};
  }
  auto page = Page(record, *b);
  if (!page.ok()) return page.error();
  Result<HeapTupleRef> t = HeapTupleFromPage(page.value(), ins->offnum);
  if (!t.ok()) {
    return Error{Error::Kind::kCorrupt, "heap insert at " + record.lsn.ToString() +
                                            ": page image, item " + std::to_string(ins->offnum) +
                                            ": " + t.error().message};
  }
  ++stats_.rows_from_image;
  return Count(record, rel, t.value(), speculative, slot);
}

Result<bool> ChangeTracker::OnMultiInsert(const Record& record) {
  const BlockRef* b = record.block(0);
  if (b == nullptr) return true;
  const int rel = Watched(*b);
  if (rel == -2) return true;
  Result<MultiInsertRecord> mi = ParseMultiInsert(record);
  if (!mi.ok()) return mi.error();
  if (rel == -1) {
    if (unmapped_.size() < kMaxUnmapped || unmapped_.contains(b->rnode.rel)) {
      unmapped_[b->rnode.rel] += mi->ntuples;
    }
    return true;
  }
  if (b->has_data) {
    auto tuples = ParseMultiInsertTuples(b->data, mi->ntuples, record.lsn);
    if (!tuples.ok()) return tuples.error();
    for (const WalTuple& t : tuples.value()) {
      ++stats_.rows_from_data;
      auto c = Count(record, rel, HeapTupleRef{t.infomask2, t.infomask, t.hoff, t.body}, false, 0);
      if (!c.ok()) return c;
    }
    return true;
  }
  if (!b->has_image) {
    return Error{Error::Kind::kCorrupt, "multi-insert at " + record.lsn.ToString() +
                                            ": neither tuple data nor page image"};
  }
  auto page = Page(record, *b);
  if (!page.ok()) return page.error();
  for (uint16_t off : mi->offsets) {
    Result<HeapTupleRef> t = HeapTupleFromPage(page.value(), off);
    if (!t.ok()) {
      return Error{Error::Kind::kCorrupt, "multi-insert at " + record.lsn.ToString() +
                                              ": page image, item " + std::to_string(off) + ": " +
                                              t.error().message};
    }
    ++stats_.rows_from_image;
    auto c = Count(record, rel, t.value(), false, 0);
    if (!c.ok()) return c;
  }
  return true;
}

void ChangeTracker::Drop(uint32_t xid, int64_t* counter) {
  auto it = pending_.find(xid);
  if (it == pending_.end()) return;
  for (const auto& [k, c] : it->second.counts) *counter += c;
  pending_.erase(it);
}

Result<bool> ChangeTracker::OnRecord(const Record& record, CommittedChanges* out) {
  if (record.rmid == kRmHeap) {
    const uint8_t op = record.rmgr_info() & kHeapOpMask;
    if (op == kHeapInsert) {
      auto r = OnInsert(record);
      if (!r.ok()) return r.error();
      return false;
    }
    if (op == kHeapConfirm || op == kHeapDelete) {
      auto it = pending_.find(record.xid);
      const BlockRef* b = record.block(0);
      if (it == pending_.end() || it->second.speculative.empty() || b == nullptr) return false;
      uint16_t offnum = 0;
      bool super_delete = false;
      if (op == kHeapConfirm) {
        auto c = ParseHeapConfirm(record);
        if (!c.ok()) return c.error();
        offnum = c->offnum;
      } else {
        auto d = ParseHeapDelete(record);
        if (!d.ok()) return d.error();
        if (!(d->flags & kDeleteIsSuper)) return false;
        offnum = d->offnum;
        super_delete = true;
      }
      auto s = it->second.speculative.find(Slot(b->block, offnum));
      if (s == it->second.speculative.end()) return false;
      if (!super_delete) ++it->second.counts[s->second];  // rehash keeps last_count valid
      it->second.speculative.erase(s);
      return false;
    }
    if (op == kHeapTruncate) {
      auto t = ParseHeapTruncate(record);
      if (!t.ok()) return t.error();
      if (t->db != database_) return false;
      for (uint32_t oid : t->relids) {
        for (size_t i = 0; i < relations_.size(); ++i) {
          if (relations_[i].oid == oid) pending_[record.xid].truncated.push_back(i);
        }
      }
    }
    return false;
  }
  if (record.rmid == kRmHeap2) {
    if ((record.rmgr_info() & kHeapOpMask) == kHeap2MultiInsert) {
      auto r = OnMultiInsert(record);
      if (!r.ok()) return r.error();
    }
    return false;
  }
  if (record.rmid == kRmStandby && record.rmgr_info() == kStandbyRunningXacts) {
    auto rx = ParseRunningXacts(record);
    if (!rx.ok()) return rx.error();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (XidPrecedes(it->first, rx->oldest_running_xid)) {
        for (const auto& [k, c] : it->second.counts) stats_.rows_abandoned += c;
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    return false;
  }
  if (record.rmid != kRmXact) return false;
  const uint8_t op = record.rmgr_info() & kXactOpMask;
  if (op != kXactCommit && op != kXactAbort && op != kXactCommitPrepared &&
      op != kXactAbortPrepared) {
    return false;
  }
  if (pending_.empty()) {
    // Nothing open: a commit can still remove a file.
    if (op != kXactCommit && op != kXactCommitPrepared) return false;
  }
  Result<XactRecord> x = ParseXact(record);
  if (!x.ok()) return x.error();
  if (x->commit) {
    for (const RelFileNode& f : x->dropped) {
      if (f.db == database_ && (removed_.size() < kMaxUnmapped || removed_.contains(f.rel))) {
        removed_[f.rel] = record.lsn;
      }
    }
  }
  if (!x->commit) {
    Drop(x->xid, &stats_.rows_aborted);
    for (uint32_t sub : x->subxacts) Drop(sub, &stats_.rows_aborted);
    return false;
  }
  std::unordered_map<std::string, int64_t> counts;
  std::vector<size_t> truncated;
  bool any = false;
  const auto take = [&](uint32_t xid) {
    auto it = pending_.find(xid);
    if (it == pending_.end()) return;
    any = true;
    if (counts.empty()) {
      counts = std::move(it->second.counts);
    } else {
      for (auto& [k, c] : it->second.counts) counts[k] += c;
    }
    truncated.insert(truncated.end(), it->second.truncated.begin(), it->second.truncated.end());
    pending_.erase(it);
  };
  take(x->xid);
  for (uint32_t sub : x->subxacts) take(sub);
  std::vector<size_t> dropped;
  for (const RelFileNode& f : x->dropped) {
    for (size_t i = 0; i < relations_.size(); ++i) {
      if (relations_[i].rnode == f) dropped.push_back(i);
    }
  }
  if (!any && dropped.empty()) return false;
  out->xid = x->xid;
  out->lsn = record.lsn;
  out->end = record.end;
  out->commit_time = x->xact_time;
  out->rows.clear();
  for (auto& [id, c] : counts) {
    uint32_t rel = 0;
    std::memcpy(&rel, id.data(), 4);
    CommittedChanges::Rows r;
    r.relation = rel;
    r.null = id[4] == 'n';
    r.value = id.substr(5);
    r.count = c;
    out->rows.push_back(std::move(r));
  }
  std::sort(out->rows.begin(), out->rows.end(), [](const auto& a, const auto& b) {
    return a.relation != b.relation ? a.relation < b.relation
           : a.null != b.null       ? a.null
                                    : a.value < b.value;
  });
  std::sort(truncated.begin(), truncated.end());
  truncated.erase(std::unique(truncated.begin(), truncated.end()), truncated.end());
  out->truncated = std::move(truncated);
  out->files_dropped = std::move(dropped);
  if (!out->rows.empty()) ++stats_.transactions;
  return true;
}

}  // namespace partwatch::wal
