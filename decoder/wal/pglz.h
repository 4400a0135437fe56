// PglzDecompress: PostgreSQL's pglz format (common/pg_lzcompress.c), the
// compression of inline-compressed varlenas (TOAST method pglz) and of
// full-page images written with wal_compression=pglz.
//
// The format: a control byte whose 8 bits, least significant first, say what
// the next 8 items are.  A clear bit is a literal byte, copied to the output.
// A set bit is a tag of 2 or 3 bytes, b0 b1 [b2]: length = (b0 & 0x0f) + 3,
// offset = ((b0 & 0xf0) << 4) | b1; a length of 18 continues with b2 added to
// it (18..273).  A tag copies `length` bytes starting `offset` bytes back in
// the output; source and destination may overlap (offset < length repeats a
// pattern), so the copy goes byte by byte.  The stream has no header: the
// caller knows the decompressed size.
//
// Pure: bytes in, bytes out; nothing is read outside `src` or written
// outside `dst`.  Thread-safe (no state).
#pragma once

#include <cstddef>
#include <span>

#include "decoder/result.h"

namespace partwatch::wal {

// Decompresses `src` into `dst` and returns the number of bytes written.
//
// check_complete = true (what PostgreSQL uses for whole datums and page
// images): `src` must be consumed exactly and `dst` filled exactly; a tag
// reaching past the end of `dst` is an error.
// check_complete = false (a prefix, as for a slice): decompression stops when
// `dst` is full, the last tag's copy cut at its end, and may stop early when
// `src` runs out.
//
// Errors (kCorrupt unless noted): a tag cut off by the end of `src`
// (kTruncated), an offset of 0 or one reaching before the start of the output,
// a copy past the end of `dst` (check_complete), bytes left in `src` or `dst`
// not filled (check_complete; the latter kTruncated).  The message names the
// source position.
Result<size_t> PglzDecompress(std::span<const std::byte> src, std::span<std::byte> dst,
                              bool check_complete);

}  // namespace partwatch::wal
