// One WAL record of PostgreSQL 15 (access/xlogrecord.h), decoded into its
// header, block references and main data.  Nothing is copied: the spans
// point into the bytes given to DecodeRecord.
//
// Record layout: a 24-byte XLogRecord header, then the block headers (one
// per block reference, each possibly with an image header, a RelFileNode
// and a block number), the origin and top-level-xid pseudo headers, the
// main-data header; then each block's image and data in block order, then
// the main data.  DecodeRecord checks every length against what is left
// and that the pieces add up to xl_tot_len exactly.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "decoder/lsn.h"
#include "decoder/result.h"

namespace partwatch::wal {

inline constexpr uint32_t kRecordHeaderSize = 24;  // SizeOfXLogRecord
// XLogRecordMaxSize: a longer xl_tot_len is never written.
inline constexpr uint32_t kMaxRecordSize = 1020 * 1024 * 1024;
inline constexpr int kMaxBlockId = 32;  // XLR_MAX_BLOCK_ID

// Resource managers (access/rmgrlist.h) partwatch reads, and the names
// pg_waldump prints for all of them.
enum RmgrId : uint8_t {
  kRmXlog = 0,
  kRmXact = 1,
  kRmSmgr = 2,
  kRmStandby = 8,
  kRmHeap2 = 9,
  kRmHeap = 10,
  kRmMaxId = 21,  // RM_LOGICALMSG_ID, the last built-in one in 15
};
// "XLOG", "Transaction", ..., "LogicalMessage"; "rmgr N" past kRmMaxId.
std::string RmgrName(uint8_t rmid);

// xl_info: the low 4 bits are for the WAL machinery, the high 4 the rmgr's.
inline constexpr uint8_t kXlrInfoMask = 0x0F;
inline constexpr uint8_t kXlrRmgrInfoMask = 0xF0;

struct RelFileNode {
  uint32_t spc = 0;  // tablespace oid
  uint32_t db = 0;   // database oid
  uint32_t rel = 0;  // relfilenode
  friend bool operator==(const RelFileNode&, const RelFileNode&) = default;
};

// bimg_info bits (PostgreSQL 15).
inline constexpr uint8_t kImageHasHole = 0x01;
inline constexpr uint8_t kImageApply = 0x02;
inline constexpr uint8_t kImageCompressPglz = 0x04;
inline constexpr uint8_t kImageCompressLz4 = 0x08;
inline constexpr uint8_t kImageCompressZstd = 0x10;

struct BlockRef {
  uint8_t id = 0;
  uint8_t fork = 0;   // 0 = main fork
  uint8_t flags = 0;  // fork_flags' high bits (BKPBLOCK_*)
  RelFileNode rnode;
  uint32_t block = 0;
  bool has_image = false;
  std::span<const std::byte> image;  // as stored (maybe compressed)
  uint16_t hole_offset = 0;
  uint16_t hole_length = 0;  // final: computed for uncompressed images
  uint8_t image_info = 0;    // bimg_info
  bool has_data = false;
  std::span<const std::byte> data;
};

struct Record {
  Lsn lsn;  // where the record starts
  Lsn end;  // lsn + xl_tot_len, in WAL positions (page headers count)
  uint32_t total_length = 0;
  uint32_t xid = 0;
  Lsn prev;
  uint8_t info = 0;  // xl_info
  uint8_t rmid = 0;
  uint32_t toplevel_xid = 0;  // XLR_BLOCK_ID_TOPLEVEL_XID, 0 when absent
  uint16_t origin = 0;
  int nblocks = 0;  // block references present: blocks[0..nblocks)
  std::array<BlockRef, kMaxBlockId + 1> blocks;
  // Index into `blocks` by block id, -1 when the record has none.
  std::array<int8_t, kMaxBlockId + 1> by_id;
  std::span<const std::byte> main_data;

  uint8_t rmgr_info() const { return info & kXlrRmgrInfoMask; }
  const BlockRef* block(int id) const {
    return id >= 0 && id <= kMaxBlockId && by_id[id] >= 0 ? &blocks[by_id[id]] : nullptr;
  }
};

// The stored xl_crc of a whole record's bytes, and the CRC computed over
// them (the body after the header, then the header up to xl_crc).
// REQUIRES bytes.size() >= kRecordHeaderSize.
uint32_t StoredCrc(std::span<const std::byte> bytes);
uint32_t ComputeCrc(std::span<const std::byte> bytes);

// Decodes a whole record (exactly xl_tot_len bytes, CRC already checked)
// starting at `lsn` into `*out`.  Errors are kCorrupt and name the LSN and
// the field.  `out`'s spans point into `bytes`.
Result<bool> DecodeRecord(std::span<const std::byte> bytes, Lsn lsn, Lsn end, Record* out);

}  // namespace partwatch::wal
