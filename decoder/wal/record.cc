#include "decoder/wal/record.h"

#include "decoder/wal/crc32c.h"
#include "decoder/wal/le_reader.h"
#include "decoder/wal/page_image.h"

namespace partwatch::wal {
namespace {

constexpr uint8_t kBlockIdDataShort = 255;
constexpr uint8_t kBlockIdDataLong = 254;
constexpr uint8_t kBlockIdOrigin = 253;
constexpr uint8_t kBlockIdToplevelXid = 252;

constexpr uint8_t kForkMask = 0x0F;
constexpr uint8_t kBlockHasImage = 0x10;
constexpr uint8_t kBlockHasData = 0x20;
constexpr uint8_t kBlockSameRel = 0x80;

constexpr uint8_t kImageCompressed = kImageCompressPglz | kImageCompressLz4 | kImageCompressZstd;

Error Bad(Lsn lsn, const std::string& what) {
  return Error{Error::Kind::kCorrupt, "record at " + lsn.ToString() + ": " + what};
}

}  // namespace

std::string RmgrName(uint8_t rmid) {
  static const char* const kNames[] = {
      "XLOG",       "Transaction",   "Storage", "CLOG",     "Database",
      "Tablespace", "MultiXact",     "RelMap",  "Standby",  "Heap2",
      "Heap",       "Btree",         "Hash",    "Gin",      "Gist",
      "Sequence",   "SPGist",        "BRIN",    "CommitTs", "ReplicationOrigin",
      "Generic",    "LogicalMessage"};
  if (rmid <= kRmMaxId) return kNames[rmid];
  return "rmgr " + std::to_string(rmid);
}

uint32_t StoredCrc(std::span<const std::byte> bytes) { return LoadLe<uint32_t>(bytes, 20); }

uint32_t ComputeCrc(std::span<const std::byte> bytes) {
  uint32_t crc = Crc32cExtend(kCrc32cInit, bytes.subspan(kRecordHeaderSize));
  crc = Crc32cExtend(crc, bytes.first(20));
  return Crc32cFinish(crc);
}

Result<bool> DecodeRecord(std::span<const std::byte> bytes, Lsn lsn, Lsn end, Record* out) {
  LeReader r(bytes);
  uint32_t tot_len = 0;
  uint64_t prev = 0;
  if (!r.Read(&tot_len) || !r.Read(&out->xid) || !r.Read(&prev) || !r.Read(&out->info) ||
      !r.Read(&out->rmid) || !r.Skip(2 + 4)) {
    return Bad(lsn, "header: truncated");
  }
  if (tot_len != bytes.size()) {
    return Bad(lsn, "xl_tot_len " + std::to_string(tot_len) + " but " +
                        std::to_string(bytes.size()) + " bytes given");
  }
  out->lsn = lsn;
  out->end = end;
  out->total_length = tot_len;
  out->prev = Lsn(prev);
  out->toplevel_xid = 0;
  out->origin = 0;
  out->nblocks = 0;
  out->by_id.fill(-1);
  out->main_data = {};

  uint32_t main_len = 0;
  uint64_t data_total = 0;  // bytes the headers announce after themselves
  const RelFileNode* last_rnode = nullptr;
  // Headers go on while more is left than they have announced so far
  // (xlogreader.c's loop): the data after them is what they announced.
  while (r.remaining() > data_total) {
    uint8_t id = 0;
    if (!r.Read(&id)) return Bad(lsn, "block id: truncated");
    if (id == kBlockIdDataShort) {
      uint8_t n = 0;
      if (!r.Read(&n)) return Bad(lsn, "main data length: truncated");
      main_len = n;
      data_total += n;
      break;
    }
    if (id == kBlockIdDataLong) {
      if (!r.Read(&main_len)) return Bad(lsn, "main data length: truncated");
      data_total += main_len;
      break;
    }
    if (id == kBlockIdOrigin) {
      if (!r.Read(&out->origin)) return Bad(lsn, "origin: truncated");
      continue;
    }
    if (id == kBlockIdToplevelXid) {
      if (!r.Read(&out->toplevel_xid)) return Bad(lsn, "top-level xid: truncated");
      continue;
    }
    if (id > kMaxBlockId) return Bad(lsn, "invalid block id " + std::to_string(id));
    if (out->by_id[id] >= 0 || (out->nblocks > 0 && id <= out->blocks[out->nblocks - 1].id)) {
      return Bad(lsn, "block id " + std::to_string(id) + " out of order");
    }
    BlockRef& b = out->blocks[out->nblocks];
    b = BlockRef{};
    b.id = id;
    uint8_t fork_flags = 0;
    uint16_t data_len = 0;
    if (!r.Read(&fork_flags) || !r.Read(&data_len)) {
      return Bad(lsn, "block " + std::to_string(id) + " header: truncated");
    }
    b.fork = fork_flags & kForkMask;
    b.flags = fork_flags & ~kForkMask;
    b.has_data = (fork_flags & kBlockHasData) != 0;
    if (b.has_data != (data_len != 0)) {
      return Bad(lsn, "block " + std::to_string(id) + ": data flag and length " +
                          std::to_string(data_len) + " disagree");
    }
    data_total += data_len;
    uint16_t image_len = 0;
    if (fork_flags & kBlockHasImage) {
      b.has_image = true;
      if (!r.Read(&image_len) || !r.Read(&b.hole_offset) || !r.Read(&b.image_info)) {
        return Bad(lsn, "block " + std::to_string(id) + " image header: truncated");
      }
      const bool compressed = (b.image_info & kImageCompressed) != 0;
      if (compressed) {
        if (b.image_info & kImageHasHole) {
          if (!r.Read(&b.hole_length)) {
            return Bad(lsn, "block " + std::to_string(id) + " hole length: truncated");
          }
        }
      } else if (b.image_info & kImageHasHole) {
        if (image_len > kBlockSize) {
          return Bad(lsn, "block " + std::to_string(id) + ": image of " +
                              std::to_string(image_len) + " bytes");
        }
        b.hole_length = static_cast<uint16_t>(kBlockSize - image_len);
      }
      // The checks of xlogreader.c: a hole is inside the page and present
      // exactly when the flag says so; an uncompressed image without a hole
      // is a whole page.
      const bool has_hole = (b.image_info & kImageHasHole) != 0;
      if ((has_hole &&
           (b.hole_length == 0 || uint32_t{b.hole_offset} + b.hole_length > kBlockSize)) ||
          (!has_hole && (b.hole_offset != 0 || b.hole_length != 0)) ||
          (!compressed && !has_hole && image_len != kBlockSize) || image_len == 0) {
        return Bad(lsn, "block " + std::to_string(id) + ": inconsistent image (length " +
                            std::to_string(image_len) + ", hole " + std::to_string(b.hole_offset) +
                            "+" + std::to_string(b.hole_length) + ")");
      }
      data_total += image_len;
    }
    if (fork_flags & kBlockSameRel) {
      if (last_rnode == nullptr) {
        return Bad(lsn, "block " + std::to_string(id) + ": same relation as no previous block");
      }
      b.rnode = *last_rnode;
    } else if (!r.Read(&b.rnode.spc) || !r.Read(&b.rnode.db) || !r.Read(&b.rnode.rel)) {
      return Bad(lsn, "block " + std::to_string(id) + " relation: truncated");
    }
    last_rnode = &b.rnode;
    if (!r.Read(&b.block)) return Bad(lsn, "block " + std::to_string(id) + " number: truncated");
    // Stash the image length in the span for now; filled below.
    b.image = std::span<const std::byte>(static_cast<const std::byte*>(nullptr), image_len);
    b.data = std::span<const std::byte>(static_cast<const std::byte*>(nullptr), data_len);
    out->by_id[id] = static_cast<int8_t>(out->nblocks);
    ++out->nblocks;
  }
  if (data_total != r.remaining()) {
    return Bad(lsn, "the headers announce " + std::to_string(data_total) + " bytes of data, " +
                        std::to_string(r.remaining()) + " follow");
  }
  for (int i = 0; i < out->nblocks; ++i) {
    BlockRef& b = out->blocks[i];
    if (b.has_image && !r.ReadBytes(b.image.size(), &b.image)) return Bad(lsn, "image: truncated");
    if (b.has_data && !r.ReadBytes(b.data.size(), &b.data)) return Bad(lsn, "data: truncated");
    if (!b.has_data) b.data = {};
    if (!b.has_image) b.image = {};
  }
  if (!r.ReadBytes(main_len, &out->main_data)) return Bad(lsn, "main data: truncated");
  return true;
}

}  // namespace partwatch::wal
