// Heap pages for the WAL reader: rebuilding an 8 KiB page from a full-page
// image of a block reference (access/transam/xlogreader.c RestoreBlockImage,
// PG15), and finding a heap tuple on a page (storage/bufpage.h,
// storage/itemid.h).
//
// Page layout (little-endian): a 24-byte PageHeaderData with pd_lower at
// byte 12, pd_upper at 14, pd_special at 16; the line pointers
// (ItemIdData, 4 bytes each: lp_off = w & 0x7FFF, lp_flags = (w >> 15) & 3,
// lp_len = w >> 17) from byte 24 up to pd_lower, line pointer `offnum`
// (1-based) at 24 + (offnum - 1) * 4; tuples between pd_upper and
// pd_special.  A heap tuple starts with the 23-byte HeapTupleHeaderData:
// t_infomask2 at byte 18, t_infomask at 20, t_hoff at 22, t_bits from 23.
//
// Pure: bytes in, bytes out; no I/O.  Thread-safe (no state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "decoder/result.h"
#include "decoder/wal/tuple.h"

namespace partwatch::wal {

inline constexpr size_t kBlockSize = 8192;     // BLCKSZ
inline constexpr size_t kPageHeaderSize = 24;  // SizeOfPageHeaderData
inline constexpr uint8_t kLpNormal = 1;        // LP_NORMAL

// A full-page image as a block reference carries it.  hole_offset and
// hole_length are final: for an uncompressed image with a hole the caller has
// computed hole_length = 8192 - bimg_len; without a hole both are 0.
struct BlockImage {
  std::span<const std::byte> bytes;  // the image as stored (compressed or not)
  uint16_t hole_offset;
  uint16_t hole_length;
  enum class Compression { kNone, kPglz, kLz4, kZstd } compression;
};

// Rebuilds the page: the image decompressed (pglz: PglzDecompress with
// check_complete; lz4: LZ4_decompress_safe; zstd: ZSTD_decompress) to
// exactly 8192 - hole_length bytes, the hole [hole_offset, hole_offset +
// hole_length) zero-filled.
//
// Errors (kCorrupt): hole_offset + hole_length above 8192, an uncompressed
// image whose length is not 8192 - hole_length, data the decompressor
// rejects or that decompresses to another size.  On error `page` holds
// unspecified bytes.
Result<std::monostate> RestoreBlockImage(const BlockImage& image,
                                         std::span<std::byte, kBlockSize> page);

// The tuple at line pointer `offnum` of a heap page.  Checks: offnum >= 1
// and its line pointer below pd_lower (pd_lower at most 8192), lp_flags
// LP_NORMAL (not unused, redirect or dead), the tuple [lp_off, lp_off +
// lp_len) after the page header and within the page, lp_len >= 23.  Errors
// are kCorrupt and name the line pointer.  The ref's body points into
// `page`: REQUIRES the page outlives it.
Result<HeapTupleRef> HeapTupleFromPage(std::span<const std::byte, kBlockSize> page,
                                       uint16_t offnum);

}  // namespace partwatch::wal
