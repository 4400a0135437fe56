#include "decoder/wal/tuple.h"

#include <lz4.h>

#include <algorithm>
#include <climits>

#include "decoder/wal/pglz.h"

namespace partwatch::wal {
namespace {

// Neither pglz (8 tags of 3 bytes after a control byte give at most 8 * 273
// bytes) nor lz4 expands by more than this; a larger raw size is damage, and
// is refused before it is allocated.
constexpr size_t kMaxExpansion = 255;

constexpr uint8_t kVartagIndirect = 1;
constexpr uint8_t kVartagExpandedRo = 2;
constexpr uint8_t kVartagExpandedRw = 3;
constexpr uint8_t kVartagOndisk = 18;

uint32_t LoadU32(std::span<const std::byte> p) {
  return std::to_integer<uint32_t>(p[0]) | (std::to_integer<uint32_t>(p[1]) << 8) |
         (std::to_integer<uint32_t>(p[2]) << 16) | (std::to_integer<uint32_t>(p[3]) << 24);
}

std::string Where(int attnum) { return "attribute " + std::to_string(attnum); }

Error Truncated(int attnum, const std::string& what) {
  return Error{Error::Kind::kTruncated, Where(attnum) + ": " + what};
}

Error Corrupt(int attnum, const std::string& what) {
  return Error{Error::Kind::kCorrupt, Where(attnum) + ": " + what};
}

// attalign as a byte count, 0 when it is none of 'c', 's', 'i', 'd'.
size_t AlignmentOf(char align) {
  switch (align) {
    case 'c':
      return 1;
    case 's':
      return 2;
    case 'i':
      return 4;
    case 'd':
      return 8;
    default:
      return 0;
  }
}

size_t AlignUp(size_t offset, size_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

// A varlena at the start of `p`: its total size (header included) in
// *total and what it holds in *datum.
Result<Datum> ReadVarlena(std::span<const std::byte> p, int attnum, size_t* total) {
  if (1 > p.size()) return Truncated(attnum, "varlena header past the end of the tuple");
  const uint8_t first = std::to_integer<uint8_t>(p[0]);
  if (first == 0x01) {  // VARATT_IS_1B_E: a TOAST pointer
    if (2 > p.size()) return Truncated(attnum, "TOAST pointer tag past the end of the tuple");
    const uint8_t tag = std::to_integer<uint8_t>(p[1]);
    size_t pointer_size = 0;
    switch (tag) {
      case kVartagOndisk:
        pointer_size = 16;
        break;  // sizeof(varatt_external)
      case kVartagIndirect:
      case kVartagExpandedRo:
      case kVartagExpandedRw:
        pointer_size = 8;
        break;  // a pointer
      default:
        return Corrupt(attnum, "unknown TOAST pointer tag " + std::to_string(tag));
    }
    if (pointer_size > p.size() - 2) {
      return Truncated(attnum, "TOAST pointer of " + std::to_string(2 + pointer_size) +
                                   " bytes with " + std::to_string(p.size()) + " left");
    }
    *total = 2 + pointer_size;
    return Datum{Datum::Kind::kExternal, p.subspan(2, pointer_size)};
  }
  if ((first & 0x01) != 0) {  // 1-byte header, length includes it
    const size_t length = first >> 1;
    if (length > p.size()) {
      return Truncated(attnum, "short varlena of " + std::to_string(length) + " bytes with " +
                                   std::to_string(p.size()) + " left");
    }
    *total = length;
    return Datum{Datum::Kind::kValue, p.subspan(1, length - 1)};
  }
  if (4 > p.size()) return Truncated(attnum, "4-byte varlena header past the end of the tuple");
  const uint32_t header = LoadU32(p);
  const size_t length = header >> 2;
  const bool compressed = (header & 0x03) == 0x02;
  const size_t header_size = compressed ? 8 : 4;
  if (length < header_size) {
    return Corrupt(attnum, "varlena length " + std::to_string(length) + " below its " +
                               std::to_string(header_size) + "-byte header");
  }
  if (length > p.size()) {
    return Truncated(attnum, "varlena of " + std::to_string(length) + " bytes with " +
                                 std::to_string(p.size()) + " left");
  }
  *total = length;
  if (!compressed) return Datum{Datum::Kind::kValue, p.subspan(4, length - 4)};
  const uint32_t tcinfo = LoadU32(p.subspan(4));
  const uint32_t method = tcinfo >> 30;
  if (method > 1) {
    return Corrupt(attnum, "unknown compression method " + std::to_string(method));
  }
  return Datum{Datum::Kind::kCompressed, p.subspan(8, length - 8), tcinfo & 0x3FFFFFFF,
               method == 0 ? Datum::Method::kPglz : Datum::Method::kLz4};
}

}  // namespace

Result<Datum> FetchAttribute(const TupleDesc& desc, int attnum, const HeapTupleRef& tuple) {
  const size_t desc_natts = desc.attributes.size();
  if (attnum < 1 || static_cast<size_t>(attnum) > desc_natts) {
    return Corrupt(attnum, "outside the descriptor's 1.." + std::to_string(desc_natts));
  }
  const size_t natts = tuple.infomask2 & kHeapNattsMask;
  if (natts > desc_natts) {
    return Corrupt(attnum, "tuple has " + std::to_string(natts) + " attributes, the descriptor " +
                               std::to_string(desc_natts));
  }
  // Added after the tuple was written (see the header: attmissingval).
  if (static_cast<size_t>(attnum) > natts) return Datum{Datum::Kind::kNull, {}};

  if (tuple.hoff < kHeapTupleHeaderSize) {
    return Corrupt(attnum, "t_hoff " + std::to_string(tuple.hoff) + " below " +
                               std::to_string(kHeapTupleHeaderSize));
  }
  const size_t data_start = tuple.hoff - kHeapTupleHeaderSize;
  if (data_start > tuple.body.size()) {
    return Truncated(attnum, "t_hoff " + std::to_string(tuple.hoff) + " past the tuple's " +
                                 std::to_string(kHeapTupleHeaderSize + tuple.body.size()) +
                                 " bytes");
  }
  const bool has_nulls = (tuple.infomask & kHeapHasNull) != 0;
  const std::span<const std::byte> bitmap = tuple.body.first(data_start);
  if (has_nulls && (natts + 7) / 8 > bitmap.size()) {
    return Corrupt(attnum, "null bitmap for " + std::to_string(natts) +
                               " attributes does not fit before t_hoff " +
                               std::to_string(tuple.hoff));
  }
  const std::span<const std::byte> data = tuple.body.subspan(data_start);

  size_t offset = 0;  // from the start of the user data
  for (int current = 1; current <= attnum; ++current) {
    const Attribute& att = desc.attributes[static_cast<size_t>(current - 1)];
    const size_t alignment = AlignmentOf(att.align);
    if (alignment == 0) {
      return Corrupt(current, "unknown attalign " + std::to_string(static_cast<int>(att.align)));
    }
    if (att.len == 0 || att.len < -2) {
      return Corrupt(current, "impossible attlen " + std::to_string(att.len));
    }
    const size_t bit = static_cast<size_t>(current - 1);
    if (has_nulls && (std::to_integer<uint8_t>(bitmap[bit >> 3]) & (1u << (bit & 7))) == 0) {
      if (current == attnum) return Datum{Datum::Kind::kNull, {}};
      continue;  // a NULL takes no space
    }
    // A varlena starting with a nonzero byte has a 1-byte header and no
    // padding; a zero byte is padding before an aligned 4-byte header.
    if (att.len != -1 || (offset < data.size() && data[offset] == std::byte{0})) {
      offset = AlignUp(offset, alignment);
    }
    if (offset > data.size()) {
      return Truncated(current, "alignment padding past the end of the tuple");
    }
    const std::span<const std::byte> rest = data.subspan(offset);
    size_t size = 0;
    Datum datum{Datum::Kind::kValue, {}};
    if (att.len > 0) {
      size = static_cast<size_t>(att.len);
      if (size > rest.size()) {
        return Truncated(current, std::to_string(size) + "-byte value with " +
                                      std::to_string(rest.size()) + " bytes left");
      }
      datum.bytes = rest.first(size);
    } else if (att.len == -2) {
      const auto nul = std::find(rest.begin(), rest.end(), std::byte{0});
      if (nul == rest.end()) return Truncated(current, "cstring without its NUL");
      const size_t length = static_cast<size_t>(nul - rest.begin());
      size = length + 1;
      datum.bytes = rest.first(length);
    } else {
      auto varlena = ReadVarlena(rest, current, &size);
      if (!varlena.ok()) return varlena.error();
      datum = varlena.value();
    }
    if (current == attnum) return datum;
    offset += size;
  }
  return Corrupt(attnum, "not reached");  // the loop returns at attnum
}

Result<std::string> Decompress(const Datum& datum) {
  switch (datum.kind) {
    case Datum::Kind::kValue:
      return std::string(reinterpret_cast<const char*>(datum.bytes.data()), datum.bytes.size());
    case Datum::Kind::kNull:
      return Error{Error::Kind::kCorrupt, "decompress: the datum is NULL"};
    case Datum::Kind::kExternal:
      return Error{Error::Kind::kCorrupt,
                   "decompress: the datum is a TOAST pointer; its value is not in the tuple"};
    case Datum::Kind::kCompressed:
      break;
  }
  const std::span<const std::byte> src = datum.bytes;
  if (datum.raw_size / kMaxExpansion > src.size()) {
    return Error{Error::Kind::kCorrupt, "decompress: raw size " + std::to_string(datum.raw_size) +
                                            " from " + std::to_string(src.size()) +
                                            " compressed bytes is impossible"};
  }
  std::string out(datum.raw_size, '\0');
  if (datum.method == Datum::Method::kPglz) {
    auto written = PglzDecompress(
        src, std::span<std::byte>(reinterpret_cast<std::byte*>(out.data()), out.size()), true);
    if (!written.ok()) {
      return Error{written.error().kind, "decompress: " + written.error().message};
    }
    return out;
  }
  if (src.size() > static_cast<size_t>(INT_MAX) || out.size() > static_cast<size_t>(INT_MAX)) {
    return Error{Error::Kind::kCorrupt, "decompress: lz4 sizes beyond int"};
  }
  const int written =
      LZ4_decompress_safe(reinterpret_cast<const char*>(src.data()), out.data(),
                          static_cast<int>(src.size()), static_cast<int>(out.size()));
  if (written < 0) {
    return Error{Error::Kind::kCorrupt,
                 "decompress: lz4 data is corrupt (" + std::to_string(src.size()) + " bytes)"};
  }
  if (static_cast<size_t>(written) != out.size()) {
    return Error{Error::Kind::kCorrupt, "decompress: lz4 gave " + std::to_string(written) +
                                            " bytes, raw size is " + std::to_string(out.size())};
  }
  return out;
}

}  // namespace partwatch::wal
