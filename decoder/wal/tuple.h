// Heap tuple deforming for the WAL reader: one attribute of a PostgreSQL 15
// heap tuple, found the way heap_deform_tuple / nocachegetattr find it
// (access/common/heaptuple.c, access/htup_details.h), with the varlena
// headers of postgres.h (PG15, little-endian).
//
// Layout of the user data: attributes 1..natts in order, each aligned to its
// attalign ('c' 1, 's' 2, 'i' 4, 'd' 8) relative to the start of the user
// data (t_hoff is MAXALIGNed, so this is also the alignment in memory),
// except that a varlena (attlen -1) whose first byte is nonzero has a 1-byte
// header and is never padded; a zero byte there is padding before a 4-byte
// header.  NULL attributes take no space.  Varlena headers:
//   first byte == 0x01         external TOAST pointer (VARATT_IS_1B_E); the
//                              second byte is the vartag: ONDISK (18) is
//                              followed by a 16-byte varatt_external,
//                              INDIRECT (1), EXPANDED_RO (2), EXPANDED_RW (3)
//                              by an 8-byte pointer
//   first byte & 0x01          1-byte header, total length byte >> 1
//   u32 h, (h & 3) == 0        4-byte header, total length h >> 2
//   u32 h, (h & 3) == 2        compressed inline, total length h >> 2, then
//                              u32 tcinfo: raw size = tcinfo & 0x3FFFFFFF,
//                              method = tcinfo >> 30 (0 pglz, 1 lz4)
// cstring (attlen -2): the bytes up to and including a NUL.
//
// Pure: spans in, spans out (into the tuple's bytes); no I/O.  Every length
// is checked against what is left (`n > remaining`).  Thread-safe (no state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "decoder/result.h"

namespace partwatch::wal {

// One pg_attribute row: attlen, attalign ('c', 's', 'i', 'd'), attbyval,
// attisdropped.  A dropped column keeps its attlen and attalign in the
// catalog, and old tuples keep its bytes.
struct Attribute {
  int16_t len;
  char align;
  bool byval;
  bool dropped;
};

// attributes[i] describes attnum i + 1; dropped ones keep their place.
struct TupleDesc {
  std::vector<Attribute> attributes;
};

// A heap tuple as WAL gives it: the xl_heap_header fields (t_infomask2,
// t_infomask, t_hoff) plus the bytes that follow offsetof(HeapTupleHeaderData,
// t_bits) (= 23): the null bitmap, padding, then the user data starting at
// body[hoff - 23].  HeapTupleFromPage (page_image.h) makes one from a page.
// `body` is not owned: REQUIRES the bytes outlive the ref and every Datum
// taken from it.
struct HeapTupleRef {
  uint16_t infomask2;
  uint16_t infomask;
  uint8_t hoff;
  std::span<const std::byte> body;
};

inline constexpr size_t kHeapTupleHeaderSize = 23;    // offsetof(HeapTupleHeaderData, t_bits)
inline constexpr uint16_t kHeapNattsMask = 0x07FF;    // HEAP_NATTS_MASK, in infomask2
inline constexpr uint16_t kHeapHasNull = 0x0001;      // HEAP_HASNULL: the null bitmap is there
inline constexpr uint16_t kHeapHasVarWidth = 0x0002;  // HEAP_HASVARWIDTH
inline constexpr uint16_t kHeapHasExternal = 0x0004;  // HEAP_HASEXTERNAL

struct Datum {
  enum class Kind {
    kNull,
    kValue,       // bytes: a fixed-length value's attlen bytes, a varlena's payload
                  // without its header, or a cstring without its NUL
    kExternal,    // bytes: the TOAST pointer after its 2-byte header (for ONDISK the
                  // 16-byte varatt_external: va_rawsize, va_extinfo, va_valueid,
                  // va_toastrelid); the value itself is in the TOAST table
    kCompressed,  // bytes: the compressed payload (after the 8-byte header);
                  // raw_size and method say how to Decompress it
  } kind;
  std::span<const std::byte> bytes;  // points into the tuple's body
  uint32_t raw_size = 0;             // kCompressed: the decompressed size
  enum class Method { kPglz, kLz4 } method = Method::kPglz;
};

// Attribute `attnum` (1-based) of `tuple` described by `desc`.
//
// natts = infomask2 & 0x07FF.  An attnum above natts but within `desc` is
// kNull: the column was added (ALTER TABLE ADD COLUMN) after the tuple was
// written; if it was added with a non-volatile DEFAULT, PostgreSQL shows
// pg_attribute.attmissingval instead, which the caller has to supply (it is
// not in the tuple).  A dropped attribute is deformed like any other (as
// heap_deform_tuple does): old tuples hold its bytes, newer ones a NULL.
//
// Errors: attnum outside 1..desc.attributes.size(), natts above the
// descriptor, an attribute with an impossible attlen/attalign (kCorrupt);
// hoff below 23 or past the body, a null bitmap that does not fit before
// hoff, an attribute (or its varlena header) reaching past the end of the
// tuple (kTruncated); an unknown vartag or compression method, a varlena
// length below its header (kCorrupt).  Messages name the attribute.
Result<Datum> FetchAttribute(const TupleDesc& desc, int attnum, const HeapTupleRef& tuple);

// The raw bytes of a kCompressed datum (pglz with check_complete, or lz4),
// which must decompress to exactly raw_size bytes; a kValue datum's bytes as
// they are.  kNull and kExternal are errors (an external value is not in the
// tuple).  raw_size is checked against what the compressed size can expand
// to before anything is allocated.
Result<std::string> Decompress(const Datum& datum);

}  // namespace partwatch::wal
