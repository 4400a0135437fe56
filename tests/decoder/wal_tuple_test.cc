// The tuple/page layer of the WAL reader (decoder/wal/): pglz, page images,
// heap tuple deforming and datum text, against real PostgreSQL 15.18 pages
// and output-function text (tests/decoder/fixtures/wal/README.md).
#include <gtest/gtest.h>
#include <lz4.h>
#include <zstd.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "decoder/wal/datum_text.h"
#include "decoder/wal/page_image.h"
#include "decoder/wal/pglz.h"
#include "decoder/wal/tuple.h"

#ifndef PARTWATCH_FIXTURE_DIR
#error "PARTWATCH_FIXTURE_DIR must name tests/decoder/fixtures"
#endif

namespace partwatch::wal {
namespace {

using Bytes = std::vector<std::byte>;
using Page = std::array<std::byte, kBlockSize>;

std::string FixturePath(const std::string& file) {
  return std::string(PARTWATCH_FIXTURE_DIR) + "/wal/" + file;
}

std::string ReadFile(const std::string& file) {
  std::ifstream in(FixturePath(file), std::ios::binary);
  EXPECT_TRUE(in.good()) << FixturePath(file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Bytes FromHex(std::string_view hex) {
  Bytes out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::byte>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

Bytes FromString(std::string_view s) {
  Bytes out(s.size());
  std::memcpy(out.data(), s.data(), s.size());
  return out;
}

std::string AsString(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    const size_t end = line.find(sep, start);
    fields.push_back(line.substr(start, end - start));
    if (end == std::string::npos) return fields;
    start = end + 1;
  }
}

std::vector<std::string> Lines(const std::string& file) {
  std::vector<std::string> lines;
  std::istringstream in(ReadFile(file));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

Page LoadPage(const std::string& table) {
  std::string hex = ReadFile(table + ".page.hex");
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  const Bytes bytes = FromHex(hex);
  Page page{};
  EXPECT_EQ(bytes.size(), kBlockSize) << table;
  std::memcpy(page.data(), bytes.data(), std::min(bytes.size(), kBlockSize));
  return page;
}

// pg_attribute as make_fixtures.sh dumped it.
struct Column {
  std::string type_name;
  std::optional<std::string> missing;  // attmissingval's element, if any
};

TupleDesc LoadDesc(const std::string& table, std::vector<Column>* columns) {
  TupleDesc desc;
  for (const std::string& line : Lines(table + ".attrs.tsv")) {
    const auto f = Split(line, '\t');
    EXPECT_EQ(f.size(), 7u) << line;
    desc.attributes.push_back(
        Attribute{static_cast<int16_t>(std::stoi(f[1])), f[2][0], f[3] == "t", f[4] == "t"});
    std::optional<std::string> missing;
    if (f[6] != "\\N") missing = f[6].substr(1, f[6].size() - 2);  // "{dflt}"
    columns->push_back(Column{f[5], missing});
  }
  return desc;
}

std::optional<KeyType> KeyTypeOf(const std::string& type_name) {
  static const std::map<std::string, KeyType> kTypes = {
      {"text", KeyType::kText},
      {"character varying", KeyType::kText},
      {"character", KeyType::kText},
      {"smallint", KeyType::kInt2},
      {"integer", KeyType::kInt4},
      {"bigint", KeyType::kInt8},
      {"date", KeyType::kDate},
      {"timestamp without time zone", KeyType::kTimestamp},
      {"timestamp with time zone", KeyType::kTimestamptz},
      {"uuid", KeyType::kUuid},
      {"boolean", KeyType::kBool},
  };
  const auto it = kTypes.find(type_name);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

// COPY text format: \N is NULL; backslash escapes (none in these fixtures
// but \\ and the control ones are cheap to honour).
std::optional<std::string> CopyField(const std::string& field) {
  if (field == "\\N") return std::nullopt;
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\' || i + 1 == field.size()) {
      out += field[i];
      continue;
    }
    const char c = field[++i];
    out += c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
  }
  return out;
}

const std::vector<std::string> kTables = {"keys", "compressed", "toasted", "added"};

// The fixtures' timestamptz text is in Asia/Kolkata: +05:30 since 1945, and
// local mean time (+05:53:28) or Howrah/Madras time (+05:21:10) before.
// Only the instants in keys.page.hex are needed; the offsets come from the
// server's own output (extract(timezone ...)).
int32_t KolkataOffset(int64_t utc_us) {
  if (utc_us < INT64_C(-6311433600000000)) return 21208;  // before 1800: LMT
  if (utc_us < INT64_C(-1861920000000000)) return 19270;  // before 1941: +05:21:10
  return 19800;
}

size_t HeaderSize(const Datum& datum) {
  switch (datum.kind) {
    case Datum::Kind::kExternal:
      return 2;
    case Datum::Kind::kCompressed:
      return 8;
    default:
      return 0;  // decided by the caller
  }
}

// ---------------------------------------------------------------------------
// Real pages: HeapTupleFromPage + FetchAttribute give the bytes pageinspect's
// heap_page_item_attrs splits, and DatumText / Decompress give what the
// server printed.

TEST(WalTupleTest, AttributesMatchPageinspect) {
  for (const std::string& table : kTables) {
    const Page page = LoadPage(table);
    std::vector<Column> columns;
    const TupleDesc desc = LoadDesc(table, &columns);
    size_t checked = 0;
    for (const std::string& line : Lines(table + ".raw.tsv")) {
      const auto f = Split(line, '\t');
      ASSERT_EQ(f.size(), 3u) << line;
      const auto lp = static_cast<uint16_t>(std::stoi(f[0]));
      const int attnum = std::stoi(f[1]);
      SCOPED_TRACE(table + " lp " + f[0] + " attnum " + f[1]);
      auto tuple = HeapTupleFromPage(page, lp);
      ASSERT_TRUE(tuple.ok()) << tuple.error().message;
      auto datum = FetchAttribute(desc, attnum, tuple.value());
      ASSERT_TRUE(datum.ok()) << datum.error().message;
      if (f[2] == "\\N") {
        EXPECT_EQ(datum->kind, Datum::Kind::kNull);
        continue;
      }
      const Bytes raw = FromHex(f[2]);
      ASSERT_NE(datum->kind, Datum::Kind::kNull);
      const Attribute& att = desc.attributes[static_cast<size_t>(attnum - 1)];
      size_t header = HeaderSize(datum.value());
      if (datum->kind == Datum::Kind::kValue && att.len == -1) {
        header = (std::to_integer<uint8_t>(raw[0]) & 1) != 0 ? 1 : 4;
      }
      ASSERT_EQ(raw.size(), header + datum->bytes.size());
      EXPECT_TRUE(std::equal(datum->bytes.begin(), datum->bytes.end(), raw.begin() + header));
      ++checked;
    }
    EXPECT_GT(checked, 3u) << table;
  }
}

TEST(WalTupleTest, TextMatchesServerOutput) {
  std::map<Datum::Kind, int> kinds;
  int missing_used = 0;
  int bpchar_padded = 0;
  for (const std::string& table : kTables) {
    const Page page = LoadPage(table);
    std::vector<Column> columns;
    const TupleDesc desc = LoadDesc(table, &columns);
    for (const std::string& line : Lines(table + ".rows.tsv")) {
      const auto f = Split(line, '\t');
      const auto lp = static_cast<uint16_t>(std::stoi(f[0]));
      auto tuple = HeapTupleFromPage(page, lp);
      ASSERT_TRUE(tuple.ok()) << tuple.error().message;
      const size_t natts = tuple->infomask2 & kHeapNattsMask;
      size_t field = 1;
      for (size_t i = 0; i < desc.attributes.size(); ++i) {
        if (desc.attributes[i].dropped) continue;
        const int attnum = static_cast<int>(i + 1);
        SCOPED_TRACE(table + " lp " + f[0] + " attnum " + std::to_string(attnum));
        ASSERT_LT(field, f.size());
        const std::optional<std::string> expected = CopyField(f[field++]);
        auto datum = FetchAttribute(desc, attnum, tuple.value());
        ASSERT_TRUE(datum.ok()) << datum.error().message;
        ++kinds[datum->kind];
        switch (datum->kind) {
          case Datum::Kind::kNull:
            if (static_cast<size_t>(attnum) > natts && columns[i].missing) {
              ++missing_used;  // ADD COLUMN ... DEFAULT: the caller's attmissingval
              EXPECT_EQ(expected, columns[i].missing);
            } else {
              EXPECT_EQ(expected, std::nullopt);
            }
            break;
          case Datum::Kind::kValue: {
            ASSERT_TRUE(expected.has_value());
            const auto type = KeyTypeOf(columns[i].type_name);
            ASSERT_TRUE(type.has_value()) << columns[i].type_name;
            auto text = DatumText(*type, datum->bytes, KolkataOffset);
            ASSERT_TRUE(text.ok()) << text.error().message;
            EXPECT_EQ(text.value(), *expected);
            if (columns[i].type_name == "character" && text->back() == ' ') ++bpchar_padded;
            break;
          }
          case Datum::Kind::kCompressed: {
            ASSERT_TRUE(expected.has_value());
            auto raw = Decompress(datum.value());
            ASSERT_TRUE(raw.ok()) << raw.error().message;
            EXPECT_EQ(raw.value(), *expected);
            break;
          }
          case Datum::Kind::kExternal: {
            ASSERT_TRUE(expected.has_value());
            // varatt_external.va_rawsize: the value's size with its 4-byte header.
            ASSERT_EQ(datum->bytes.size(), 16u);
            uint32_t rawsize = 0;
            std::memcpy(&rawsize, datum->bytes.data(), 4);  // little-endian host
            EXPECT_EQ(rawsize, expected->size() + 4);
            break;
          }
        }
      }
      EXPECT_EQ(field, f.size());
    }
  }
  // Every path was taken by real data.
  EXPECT_GT(kinds[Datum::Kind::kNull], 10);
  EXPECT_GT(kinds[Datum::Kind::kValue], 50);
  EXPECT_EQ(kinds[Datum::Kind::kCompressed], 4);  // pglz 'x'*5000, pglz 'partwatch ', lz4 x2
  EXPECT_EQ(kinds[Datum::Kind::kExternal], 2);    // random text; pglz-compressed digits
  EXPECT_EQ(missing_used, 2);
  EXPECT_GT(bpchar_padded, 2);
}

TEST(WalTupleTest, CompressedDatumsUseBothMethods) {
  const Page page = LoadPage("compressed");
  std::vector<Column> columns;
  const TupleDesc desc = LoadDesc("compressed", &columns);
  auto row1 = HeapTupleFromPage(page, 1);
  ASSERT_TRUE(row1.ok());
  auto pglz = FetchAttribute(desc, 2, row1.value());
  auto lz4 = FetchAttribute(desc, 3, row1.value());
  ASSERT_TRUE(pglz.ok() && lz4.ok());
  ASSERT_EQ(pglz->kind, Datum::Kind::kCompressed);
  EXPECT_EQ(pglz->method, Datum::Method::kPglz);
  EXPECT_EQ(pglz->raw_size, 5000u);
  ASSERT_EQ(lz4->kind, Datum::Kind::kCompressed);
  EXPECT_EQ(lz4->method, Datum::Method::kLz4);
  EXPECT_EQ(lz4->raw_size, 5000u);
  EXPECT_EQ(Decompress(pglz.value()).value(), std::string(5000, 'x'));
  EXPECT_EQ(Decompress(lz4.value()).value(), std::string(5000, 'x'));
}

TEST(WalTupleTest, ColumnAddedLaterIsNullInOldTuples) {
  const Page page = LoadPage("added");
  std::vector<Column> columns;
  const TupleDesc desc = LoadDesc("added", &columns);
  auto old_row = HeapTupleFromPage(page, 1);
  ASSERT_TRUE(old_row.ok());
  EXPECT_EQ(old_row->infomask2 & kHeapNattsMask, 2);
  EXPECT_EQ(FetchAttribute(desc, 3, old_row.value())->kind, Datum::Kind::kNull);
  EXPECT_EQ(FetchAttribute(desc, 4, old_row.value())->kind, Datum::Kind::kNull);
  auto new_row = HeapTupleFromPage(page, 3);
  ASSERT_TRUE(new_row.ok());
  EXPECT_EQ(new_row->infomask2 & kHeapNattsMask, 4);
  EXPECT_EQ(AsString(FetchAttribute(desc, 4, new_row.value())->bytes), "own");
}

TEST(WalTupleTest, DroppedColumnKeepsItsBytesInOldTuples) {
  const Page page = LoadPage("keys");
  std::vector<Column> columns;
  const TupleDesc desc = LoadDesc("keys", &columns);
  ASSERT_TRUE(desc.attributes[0].dropped);
  auto before_drop = HeapTupleFromPage(page, 1);
  ASSERT_TRUE(before_drop.ok());
  auto gone = FetchAttribute(desc, 1, before_drop.value());
  ASSERT_TRUE(gone.ok());
  ASSERT_EQ(gone->kind, Datum::Kind::kValue);
  EXPECT_EQ(DatumText(KeyType::kInt8, gone->bytes, KolkataOffset).value(), "99");
  auto after_drop = HeapTupleFromPage(page, 3);
  ASSERT_TRUE(after_drop.ok());
  EXPECT_EQ(FetchAttribute(desc, 1, after_drop.value())->kind, Datum::Kind::kNull);
}

// ---------------------------------------------------------------------------
// Damage: each kind gives an error, never a crash.

TEST(WalTupleTest, LinePointerErrors) {
  Page page = LoadPage("keys");
  EXPECT_FALSE(HeapTupleFromPage(page, 0).ok());
  EXPECT_TRUE(HeapTupleFromPage(page, 8).ok());
  auto beyond = HeapTupleFromPage(page, 9);  // pd_lower 56: 8 line pointers
  ASSERT_FALSE(beyond.ok());
  EXPECT_NE(beyond.error().message.find("line pointer 9"), std::string::npos)
      << beyond.error().message;
  EXPECT_FALSE(HeapTupleFromPage(page, 0xFFFF).ok());

  auto set_item = [&page](uint16_t offnum, uint32_t word) {
    std::memcpy(page.data() + 24 + (offnum - 1) * 4, &word, 4);
  };
  uint32_t word = 0;
  std::memcpy(&word, page.data() + 24, 4);
  const uint32_t off = word & 0x7FFF;
  const uint32_t len = word >> 17;
  set_item(1, off | (0u << 15) | (len << 17));  // LP_UNUSED
  EXPECT_NE(HeapTupleFromPage(page, 1).error().message.find("LP_UNUSED"), std::string::npos);
  set_item(1, off | (3u << 15) | (len << 17));  // LP_DEAD
  EXPECT_NE(HeapTupleFromPage(page, 1).error().message.find("LP_DEAD"), std::string::npos);
  set_item(1, off | (2u << 15) | (len << 17));  // LP_REDIRECT
  EXPECT_NE(HeapTupleFromPage(page, 1).error().message.find("LP_REDIRECT"), std::string::npos);
  set_item(1, off | (1u << 15) | (22u << 17));  // shorter than the tuple header
  EXPECT_FALSE(HeapTupleFromPage(page, 1).ok());
  set_item(1, 8180 | (1u << 15) | (23u << 17));  // past the end of the page
  EXPECT_FALSE(HeapTupleFromPage(page, 1).ok());
  set_item(1, 8169 | (1u << 15) | (23u << 17));  // ends exactly at the end: fine
  EXPECT_TRUE(HeapTupleFromPage(page, 1).ok());
  set_item(1, 4 | (1u << 15) | (23u << 17));  // inside the page header
  EXPECT_FALSE(HeapTupleFromPage(page, 1).ok());
  set_item(1, word);

  const uint16_t bad_lower = 8200;
  std::memcpy(page.data() + 12, &bad_lower, 2);
  EXPECT_FALSE(HeapTupleFromPage(page, 1).ok());
  const uint16_t tiny_lower = 10;
  std::memcpy(page.data() + 12, &tiny_lower, 2);
  EXPECT_FALSE(HeapTupleFromPage(page, 1).ok());
}

// A tuple cut anywhere: every attribute is either read from what is left or
// an error that names it; never a read past the cut (ASan would tell).
TEST(WalTupleTest, TruncatedTupleNamesTheAttribute) {
  const Page page = LoadPage("keys");
  std::vector<Column> columns;
  const TupleDesc desc = LoadDesc("keys", &columns);
  for (uint16_t lp = 1; lp <= 8; ++lp) {
    auto whole = HeapTupleFromPage(page, lp);
    ASSERT_TRUE(whole.ok());
    for (size_t cut = 0; cut < whole->body.size(); ++cut) {
      const std::vector<std::byte> copy(whole->body.begin(), whole->body.begin() + cut);
      HeapTupleRef tuple = whole.value();
      tuple.body = copy;
      for (int attnum = 1; attnum <= 12; ++attnum) {
        auto datum = FetchAttribute(desc, attnum, tuple);
        if (!datum.ok()) {
          EXPECT_NE(datum.error().message.find("attribute "), std::string::npos);
        }
      }
    }
  }
  // The last attribute of row 1 (a uuid, the tuple's last 16 bytes) cut by one byte.
  auto row1 = HeapTupleFromPage(page, 1);
  HeapTupleRef cut = row1.value();
  cut.body = cut.body.first(cut.body.size() - 1);
  auto uuid = FetchAttribute(desc, 12, cut);
  ASSERT_FALSE(uuid.ok());
  EXPECT_EQ(uuid.error().kind, Error::Kind::kTruncated);
  EXPECT_NE(uuid.error().message.find("attribute 12"), std::string::npos) << uuid.error().message;
}

TEST(WalTupleTest, HeaderAndDescriptorErrors) {
  const Page page = LoadPage("keys");
  std::vector<Column> columns;
  const TupleDesc desc = LoadDesc("keys", &columns);
  const HeapTupleRef row = HeapTupleFromPage(page, 2).value();  // has NULLs
  EXPECT_FALSE(FetchAttribute(desc, 0, row).ok());
  EXPECT_FALSE(FetchAttribute(desc, 13, row).ok());

  HeapTupleRef low_hoff = row;
  low_hoff.hoff = 22;
  EXPECT_FALSE(FetchAttribute(desc, 2, low_hoff).ok());
  HeapTupleRef high_hoff = row;
  high_hoff.hoff = 255;
  EXPECT_FALSE(FetchAttribute(desc, 2, high_hoff).ok());
  HeapTupleRef no_room_for_bitmap = row;
  no_room_for_bitmap.hoff = 24;  // 12 attributes need 2 bitmap bytes
  EXPECT_FALSE(FetchAttribute(desc, 2, no_room_for_bitmap).ok());
  HeapTupleRef too_many = row;
  too_many.infomask2 = static_cast<uint16_t>((row.infomask2 & ~kHeapNattsMask) | 13);
  EXPECT_FALSE(FetchAttribute(desc, 2, too_many).ok());

  TupleDesc bad_align = desc;
  bad_align.attributes[0].align = 'x';
  EXPECT_FALSE(FetchAttribute(bad_align, 2, HeapTupleFromPage(page, 1).value()).ok());
  TupleDesc bad_len = desc;
  bad_len.attributes[0].len = 0;
  EXPECT_FALSE(FetchAttribute(bad_len, 2, HeapTupleFromPage(page, 1).value()).ok());
}

// Hand-built tuples for the varlena cases no fixture holds.
HeapTupleRef OneColumn(const Bytes& data) {
  return HeapTupleRef{1, 0, 24, std::span<const std::byte>(data)};  // hoff 24: 1 byte padding
}

TEST(WalTupleTest, VarlenaHeaderErrors) {
  const TupleDesc text_desc{{Attribute{-1, 'i', false, false}}};
  auto fetch = [&text_desc](const Bytes& data) {
    return FetchAttribute(text_desc, 1, OneColumn(data));
  };
  // Empty short varlena: header only.
  auto empty = fetch(FromHex("0003"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->kind, Datum::Kind::kValue);
  EXPECT_TRUE(empty->bytes.empty());
  EXPECT_EQ(fetch(FromHex("000b61")).error().kind, Error::Kind::kTruncated);  // claims 5
  EXPECT_EQ(fetch(FromHex("00")).error().kind, Error::Kind::kTruncated);      // nothing left
  // 4-byte headers (the user data starts at body[1], aligned).
  EXPECT_EQ(fetch(FromHex("00"
                          "000000"))
                .error()
                .kind,
            Error::Kind::kTruncated);
  EXPECT_EQ(fetch(FromHex("00"
                          "00000000"))
                .error()
                .kind,
            Error::Kind::kCorrupt);  // length 0
  EXPECT_EQ(fetch(FromHex("00"
                          "08000000"
                          "00"))
                .error()
                .kind,
            Error::Kind::kCorrupt);
  // The datum points into the tuple's bytes: they must outlive it.
  const Bytes plain_bytes = FromHex(
      "00"
      "18000000"
      "6162");
  auto plain = fetch(plain_bytes);
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(AsString(plain->bytes), "ab");
  EXPECT_EQ(fetch(FromHex("00"
                          "1c000000"
                          "6162"))
                .error()
                .kind,
            Error::Kind::kTruncated);
  // Compressed inline: method 2 is unknown; length below the 8-byte header.
  EXPECT_EQ(fetch(FromHex("00"
                          "32000000"
                          "05000080"
                          "00000000"))
                .error()
                .kind,
            Error::Kind::kCorrupt);
  EXPECT_EQ(fetch(FromHex("00"
                          "1a000000"
                          "0500"))
                .error()
                .kind,
            Error::Kind::kCorrupt);
  // After an int2: a zero byte is padding to the 4-byte header, a nonzero one
  // starts a short varlena right there.
  const TupleDesc two{{Attribute{2, 's', true, false}, Attribute{-1, 'i', false, false}}};
  const Bytes padded = FromHex(
      "00"
      "0100"
      "0000"
      "18000000"
      "6162");
  HeapTupleRef tuple{2, 0, 24, padded};
  EXPECT_EQ(AsString(FetchAttribute(two, 2, tuple)->bytes), "ab");
  const Bytes unpadded = FromHex(
      "00"
      "0100"
      "0561");
  tuple.body = unpadded;
  EXPECT_EQ(AsString(FetchAttribute(two, 2, tuple)->bytes), "a");
  // TOAST pointers: unknown tag, cut short, and an indirect one (8 bytes).
  EXPECT_EQ(fetch(FromHex("00"
                          "0107"
                          "0000"))
                .error()
                .kind,
            Error::Kind::kCorrupt);
  EXPECT_EQ(fetch(FromHex("00"
                          "0112"
                          "0000"))
                .error()
                .kind,
            Error::Kind::kTruncated);
  EXPECT_EQ(fetch(FromHex("00"
                          "01"))
                .error()
                .kind,
            Error::Kind::kTruncated);
  auto indirect =
      fetch(FromHex("00"
                    "0101"
                    "0102030405060708"));
  ASSERT_TRUE(indirect.ok());
  EXPECT_EQ(indirect->kind, Datum::Kind::kExternal);
  EXPECT_EQ(indirect->bytes.size(), 8u);
  // cstring: up to its NUL; no NUL is an error.
  const TupleDesc cstring_desc{{Attribute{-2, 'c', false, false}}};
  const Bytes with_nul = FromHex(
      "00"
      "616200"
      "ff");
  EXPECT_EQ(AsString(FetchAttribute(cstring_desc, 1, OneColumn(with_nul))->bytes), "ab");
  const Bytes without_nul = FromHex(
      "00"
      "6162");
  EXPECT_EQ(FetchAttribute(cstring_desc, 1, OneColumn(without_nul)).error().kind,
            Error::Kind::kTruncated);
}

TEST(WalTupleTest, DecompressErrors) {
  EXPECT_FALSE(Decompress(Datum{Datum::Kind::kNull, {}}).ok());
  const Bytes pointer(16);
  EXPECT_FALSE(Decompress(Datum{Datum::Kind::kExternal, pointer}).ok());
  const Bytes plain = FromString("abc");
  EXPECT_EQ(Decompress(Datum{Datum::Kind::kValue, plain}).value(), "abc");
  const Bytes junk = FromHex("ffffffffffffffff");
  // A raw size the compressed bytes cannot expand to is refused before allocating.
  EXPECT_FALSE(
      Decompress(Datum{Datum::Kind::kCompressed, junk, 1u << 29, Datum::Method::kLz4}).ok());
  EXPECT_FALSE(Decompress(Datum{Datum::Kind::kCompressed, junk, 100, Datum::Method::kLz4}).ok());
  EXPECT_FALSE(Decompress(Datum{Datum::Kind::kCompressed, junk, 100, Datum::Method::kPglz}).ok());

  // A real lz4 datum with the wrong raw size, either way.
  const Page page = LoadPage("compressed");
  std::vector<Column> columns;
  const TupleDesc desc = LoadDesc("compressed", &columns);
  Datum lz4 = FetchAttribute(desc, 3, HeapTupleFromPage(page, 1).value()).value();
  Datum pglz = FetchAttribute(desc, 2, HeapTupleFromPage(page, 1).value()).value();
  for (uint32_t size : {4999u, 5001u}) {
    lz4.raw_size = size;
    pglz.raw_size = size;
    EXPECT_FALSE(Decompress(lz4).ok()) << size;
    EXPECT_FALSE(Decompress(pglz).ok()) << size;
  }
}

// ---------------------------------------------------------------------------
// pglz

Datum RealPglzDatum(uint16_t lp) {
  static const Page page = LoadPage("compressed");
  std::vector<Column> columns;
  const TupleDesc desc = LoadDesc("compressed", &columns);
  return FetchAttribute(desc, 2, HeapTupleFromPage(page, lp).value()).value();
}

TEST(PglzTest, DecompressesRealDatums) {
  const std::string expected = [] {
    std::string s;
    for (int i = 0; i < 300; ++i) s += "partwatch ";
    return s + "end";
  }();
  const Datum datum = RealPglzDatum(4);
  ASSERT_EQ(datum.kind, Datum::Kind::kCompressed);
  ASSERT_EQ(datum.raw_size, expected.size());
  Bytes out(datum.raw_size);
  auto written = PglzDecompress(datum.bytes, out, true);
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(written.value(), expected.size());
  EXPECT_EQ(AsString(out), expected);
}

TEST(PglzTest, PrefixWithoutCheckComplete) {
  const Datum datum = RealPglzDatum(4);
  for (size_t n : {0u, 1u, 9u, 10u, 11u, 100u, 2999u}) {
    Bytes out(n);
    auto written = PglzDecompress(datum.bytes, out, false);
    ASSERT_TRUE(written.ok()) << n << ": " << written.error().message;
    EXPECT_EQ(written.value(), n);
    std::string expected;
    for (int i = 0; i < 300; ++i) expected += "partwatch ";
    EXPECT_EQ(AsString(out), expected.substr(0, n));
    // With check_complete the same short output is an overflow (or source left over).
    if (n > 0) {
      EXPECT_FALSE(PglzDecompress(datum.bytes, out, true).ok()) << n;
    }
  }
}

TEST(PglzTest, OverlappingCopyRepeatsAPattern) {
  // Control 0b010: literal 'a', then a tag length 3+7=10 offset 1, then literal 'b'.
  const Bytes src = FromHex(
      "02"
      "61"
      "0701"
      "62");
  Bytes out(12);
  ASSERT_TRUE(PglzDecompress(src, out, true).ok());
  EXPECT_EQ(AsString(out), "aaaaaaaaaaab");
  // Length 18 takes the next byte: 18 + 2 = 20 copies.
  const Bytes longer = FromHex(
      "02"
      "61"
      "0f0102");
  Bytes out20(21);
  ASSERT_TRUE(PglzDecompress(longer, out20, true).ok());
  EXPECT_EQ(AsString(out20), std::string(21, 'a'));
  // An offset in the high nibble: ((0x10 & 0xf0) << 4) | 0x00 = 256 > 1 written.
  const Bytes far = FromHex(
      "02"
      "61"
      "1000");
  Bytes out4(4);
  EXPECT_EQ(PglzDecompress(far, out4, true).error().kind, Error::Kind::kCorrupt);
}

TEST(PglzTest, TruncatedSourceIsAnError) {
  const Datum datum = RealPglzDatum(1);  // 'x' * 5000
  Bytes out(datum.raw_size);
  for (size_t cut = 0; cut < datum.bytes.size(); ++cut) {
    auto written = PglzDecompress(datum.bytes.first(cut), out, true);
    EXPECT_FALSE(written.ok()) << cut;
    // Without check_complete a cut source gives a shorter output or an error.
    auto partial = PglzDecompress(datum.bytes.first(cut), out, false);
    if (partial.ok()) {
      EXPECT_LT(partial.value(), out.size());
    }
  }
}

TEST(PglzTest, NamedDamage) {
  Bytes out(16);
  // A tag cut after its first byte, and before its length byte.
  EXPECT_EQ(PglzDecompress(FromHex("02"
                                   "61"
                                   "07"),
                           out, false)
                .error()
                .kind,
            Error::Kind::kTruncated);
  EXPECT_EQ(PglzDecompress(FromHex("02"
                                   "61"
                                   "0f01"),
                           out, false)
                .error()
                .kind,
            Error::Kind::kTruncated);
  // Offset 0, and an offset before the start of the output (a tag first).
  EXPECT_EQ(PglzDecompress(FromHex("02"
                                   "61"
                                   "0000"),
                           out, false)
                .error()
                .kind,
            Error::Kind::kCorrupt);
  EXPECT_EQ(PglzDecompress(FromHex("01"
                                   "0001"),
                           out, false)
                .error()
                .kind,
            Error::Kind::kCorrupt);
  // Copy past the end of the output under check_complete; cut without.
  Bytes five(5);
  EXPECT_EQ(PglzDecompress(FromHex("02"
                                   "61"
                                   "0701"),
                           five, true)
                .error()
                .kind,
            Error::Kind::kCorrupt);
  auto cut = PglzDecompress(FromHex("02"
                                    "61"
                                    "0701"),
                            five, false);
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut.value(), 5u);
  // Source left over once the output is full; output not filled.
  Bytes two(2);
  EXPECT_EQ(PglzDecompress(FromHex("00"
                                   "616263"),
                           two, true)
                .error()
                .kind,
            Error::Kind::kCorrupt);
  EXPECT_EQ(PglzDecompress(FromHex("00"
                                   "61"),
                           two, true)
                .error()
                .kind,
            Error::Kind::kTruncated);
  // Empty in, empty out.
  EXPECT_EQ(PglzDecompress({}, {}, true).value(), 0u);
}

// ---------------------------------------------------------------------------
// Page images: a real page with its hole [pd_lower, pd_upper) cut out,
// stored plain, lz4 and zstd (compressed here), restored exactly.

struct Image {
  Bytes without_hole;
  uint16_t hole_offset;
  uint16_t hole_length;
};

Image CutHole(const Page& page) {
  uint16_t lower = 0;
  uint16_t upper = 0;
  std::memcpy(&lower, page.data() + 12, 2);
  std::memcpy(&upper, page.data() + 14, 2);
  Image image{Bytes(page.begin(), page.begin() + lower), lower,
              static_cast<uint16_t>(upper - lower)};
  image.without_hole.insert(image.without_hole.end(), page.begin() + upper, page.end());
  return image;
}

TEST(WalPageImageTest, RestoresPlainLz4AndZstdImages) {
  for (const std::string& table : kTables) {
    SCOPED_TRACE(table);
    const Page page = LoadPage(table);
    const Image image = CutHole(page);
    ASSERT_GT(image.hole_length, 0);
    ASSERT_EQ(image.without_hole.size(), kBlockSize - image.hole_length);

    Bytes lz4(static_cast<size_t>(LZ4_compressBound(static_cast<int>(image.without_hole.size()))));
    lz4.resize(static_cast<size_t>(LZ4_compress_default(
        reinterpret_cast<const char*>(image.without_hole.data()),
        reinterpret_cast<char*>(lz4.data()), static_cast<int>(image.without_hole.size()),
        static_cast<int>(lz4.size()))));
    Bytes zstd(ZSTD_compressBound(image.without_hole.size()));
    zstd.resize(ZSTD_compress(zstd.data(), zstd.size(), image.without_hole.data(),
                              image.without_hole.size(), 3));

    const std::pair<BlockImage::Compression, const Bytes*> cases[] = {
        {BlockImage::Compression::kNone, &image.without_hole},
        {BlockImage::Compression::kLz4, &lz4},
        {BlockImage::Compression::kZstd, &zstd},
    };
    for (const auto& [compression, bytes] : cases) {
      Page restored;
      restored.fill(std::byte{0xAA});
      auto ok = RestoreBlockImage(
          BlockImage{*bytes, image.hole_offset, image.hole_length, compression}, restored);
      ASSERT_TRUE(ok.ok()) << ok.error().message;
      EXPECT_EQ(restored, page) << static_cast<int>(compression);
      // Damage: cut by one byte, and (compressed) a hole size that disagrees.
      const Bytes cut(bytes->begin(), bytes->end() - 1);
      EXPECT_FALSE(RestoreBlockImage(
                       BlockImage{cut, image.hole_offset, image.hole_length, compression}, restored)
                       .ok());
      EXPECT_FALSE(
          RestoreBlockImage(BlockImage{*bytes, image.hole_offset,
                                       static_cast<uint16_t>(image.hole_length - 8), compression},
                            restored)
              .ok());
    }
  }
}

TEST(WalPageImageTest, NoHoleIsTheWholePage) {
  const Page page = LoadPage("compressed");
  const Bytes whole(page.begin(), page.end());
  Page restored{};
  ASSERT_TRUE(
      RestoreBlockImage(BlockImage{whole, 0, 0, BlockImage::Compression::kNone}, restored).ok());
  EXPECT_EQ(restored, page);
}

TEST(WalPageImageTest, NamedDamage) {
  Page restored{};
  const Bytes half(4096);
  // The hole passes the end of the page.
  EXPECT_FALSE(
      RestoreBlockImage(BlockImage{half, 4097, 4096, BlockImage::Compression::kNone}, restored)
          .ok());
  EXPECT_FALSE(
      RestoreBlockImage(BlockImage{{}, 0, 8193, BlockImage::Compression::kNone}, restored).ok());
  EXPECT_FALSE(
      RestoreBlockImage(BlockImage{half, 9000, 0, BlockImage::Compression::kNone}, restored).ok());
  EXPECT_TRUE(
      RestoreBlockImage(BlockImage{half, 4096, 4096, BlockImage::Compression::kNone}, restored)
          .ok());
  // Wrong length for an uncompressed image.
  EXPECT_FALSE(
      RestoreBlockImage(BlockImage{half, 4096, 4095, BlockImage::Compression::kNone}, restored)
          .ok());
  // Garbage for each decompressor.
  const Bytes junk = FromHex("ffffffffffffffffffffffffffffffff");
  for (auto compression : {BlockImage::Compression::kPglz, BlockImage::Compression::kLz4,
                           BlockImage::Compression::kZstd}) {
    EXPECT_FALSE(RestoreBlockImage(BlockImage{junk, 100, 100, compression}, restored).ok());
    EXPECT_FALSE(RestoreBlockImage(BlockImage{{}, 100, 100, compression}, restored).ok());
  }
}

// ---------------------------------------------------------------------------
// Datum text, checked against PostgreSQL 15.18's output functions.

Bytes LittleEndian(int64_t value, size_t size) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) {
    out[i] = static_cast<std::byte>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff);
  }
  return out;
}

int32_t NoOffset(int64_t) {
  ADD_FAILURE() << "utc_offset called for a type without a zone";
  return 0;
}

// datum_cases.tsv: type zone raw utc_offset text, from the server.
TEST(DatumTextTest, MatchesServerCases) {
  size_t cases = 0;
  for (const std::string& line : Lines("datum_cases.tsv")) {
    const auto f = Split(line, '\t');
    ASSERT_EQ(f.size(), 5u) << line;
    const int64_t raw = std::stoll(f[2]);
    const int32_t offset = std::stoi(f[3]);
    KeyType type = KeyType::kTimestamp;
    size_t size = 8;
    if (f[0] == "date") {
      type = KeyType::kDate;
      size = 4;
    } else if (f[0] == "timestamptz") {
      type = KeyType::kTimestamptz;
    }
    int calls = 0;
    auto text = DatumText(type, LittleEndian(raw, size), [&](int64_t instant) {
      ++calls;
      EXPECT_EQ(instant, raw);
      return offset;
    });
    ASSERT_TRUE(text.ok()) << line << ": " << text.error().message;
    EXPECT_EQ(text.value(), f[4]) << line;
    const bool finite = raw != INT64_MAX && raw != INT64_MIN;
    EXPECT_EQ(calls, type == KeyType::kTimestamptz && finite ? 1 : 0) << line;
    ++cases;
  }
  EXPECT_GT(cases, 1300u);
}

// A few of those cases spelled out, so the rules read here too.
TEST(DatumTextTest, NamedServerOutputs) {
  auto ts = [](int64_t us) {
    return DatumText(KeyType::kTimestamp, LittleEndian(us, 8), NoOffset).value();
  };
  auto tz = [](int64_t us, int32_t offset) {
    return DatumText(KeyType::kTimestamptz, LittleEndian(us, 8),
                     [offset](int64_t) { return offset; })
        .value();
  };
  auto date = [](int32_t days) {
    return DatumText(KeyType::kDate, LittleEndian(days, 4), NoOffset).value();
  };
  EXPECT_EQ(ts(0), "2000-01-01 00:00:00");
  EXPECT_EQ(ts(-1), "1999-12-31 23:59:59.999999");
  EXPECT_EQ(ts(757479845120000), "2024-01-02 03:04:05.12");
  EXPECT_EQ(ts(-63082281600000001), "0001-12-31 23:59:59.999999 BC");
  EXPECT_EQ(ts(-63113904000000000), "0001-01-01 00:00:00 BC");
  EXPECT_EQ(ts(-211813488000000000), "4714-11-24 00:00:00 BC");
  EXPECT_EQ(ts(9223371331199999999), "294276-12-31 23:59:59.999999");
  EXPECT_EQ(ts(INT64_MAX), "infinity");
  EXPECT_EQ(ts(INT64_MIN), "-infinity");
  EXPECT_EQ(tz(0, 0), "2000-01-01 00:00:00+00");
  EXPECT_EQ(tz(0, 19800), "2000-01-01 05:30:00+05:30");
  EXPECT_EQ(tz(0, -12600), "1999-12-31 20:30:00-03:30");
  EXPECT_EQ(tz(-211813488000000000, -17762), "4714-11-23 19:03:58-04:56:02 BC");
  EXPECT_EQ(tz(-211813488000000000, 1172), "4714-11-24 00:19:32+00:19:32 BC");
  EXPECT_EQ(tz(1, -28800), "1999-12-31 16:00:00.000001-08");
  EXPECT_EQ(date(0), "2000-01-01");
  EXPECT_EQ(date(-2451545), "4714-11-24 BC");
  EXPECT_EQ(date(2145031948), "5874897-12-31");
  EXPECT_EQ(date(INT32_MAX), "infinity");
  EXPECT_EQ(date(INT32_MIN), "-infinity");
}

TEST(DatumTextTest, IntegersUuidBoolText) {
  EXPECT_EQ(DatumText(KeyType::kInt2, LittleEndian(-32768, 2), NoOffset).value(), "-32768");
  EXPECT_EQ(DatumText(KeyType::kInt4, LittleEndian(INT32_MIN, 4), NoOffset).value(), "-2147483648");
  EXPECT_EQ(DatumText(KeyType::kInt8, LittleEndian(INT64_MIN, 8), NoOffset).value(),
            "-9223372036854775808");
  EXPECT_EQ(DatumText(KeyType::kBool, FromHex("01"), NoOffset).value(), "t");
  EXPECT_EQ(DatumText(KeyType::kBool, FromHex("00"), NoOffset).value(), "f");
  EXPECT_EQ(
      DatumText(KeyType::kUuid, FromHex("a0eebc999c0b4ef8bb6d6bb9bd380a11"), NoOffset).value(),
      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(DatumText(KeyType::kText, FromString("ab      "), NoOffset).value(), "ab      ");
  EXPECT_EQ(DatumText(KeyType::kText, {}, NoOffset).value(), "");
}

TEST(DatumTextTest, Errors) {
  EXPECT_FALSE(DatumText(KeyType::kInt2, FromHex("01"), NoOffset).ok());
  EXPECT_FALSE(DatumText(KeyType::kInt4, FromHex("0102"), NoOffset).ok());
  EXPECT_FALSE(DatumText(KeyType::kInt8, FromHex("01020304"), NoOffset).ok());
  EXPECT_FALSE(DatumText(KeyType::kBool, FromHex("0101"), NoOffset).ok());
  EXPECT_FALSE(DatumText(KeyType::kUuid, FromHex("01"), NoOffset).ok());
  EXPECT_FALSE(DatumText(KeyType::kDate, LittleEndian(0, 8), NoOffset).ok());
  EXPECT_FALSE(DatumText(KeyType::kTimestamp, LittleEndian(0, 4), NoOffset).ok());
  EXPECT_FALSE(DatumText(KeyType::kDate, LittleEndian(-2451546, 4), NoOffset).ok());
  EXPECT_FALSE(DatumText(KeyType::kDate, LittleEndian(2145031949, 4), NoOffset).ok());
  // Before Julian day 0, as timestamp_out says "timestamp out of range".
  EXPECT_FALSE(DatumText(KeyType::kTimestamp, LittleEndian(-211813488000000001, 8), NoOffset).ok());
  EXPECT_FALSE(DatumText(KeyType::kTimestamptz, LittleEndian(INT64_MIN + 1, 8), NoOffset).ok());
}

// ---------------------------------------------------------------------------
// Deterministic mutations of the real pages: flipped bytes in the line
// pointers and tuples, everything read back.  Must never crash or read out
// of bounds (run under -fsanitize=address,undefined to be sure).

void ReadEverything(const Page& page, const TupleDesc& desc, const std::vector<Column>& columns) {
  for (uint16_t lp = 1; lp <= 12; ++lp) {
    auto tuple = HeapTupleFromPage(page, lp);
    if (!tuple.ok()) continue;
    for (int attnum = 1; attnum <= static_cast<int>(desc.attributes.size()); ++attnum) {
      auto datum = FetchAttribute(desc, attnum, tuple.value());
      if (!datum.ok()) continue;
      if (datum->kind == Datum::Kind::kCompressed) {
        (void)Decompress(datum.value()).ok();
      } else if (datum->kind == Datum::Kind::kValue) {
        if (auto type = KeyTypeOf(columns[static_cast<size_t>(attnum - 1)].type_name)) {
          (void)DatumText(*type, datum->bytes, [](int64_t) { return 19800; }).ok();
        }
      }
    }
  }
}

TEST(WalTupleTest, MutatedPagesNeverCrash) {
  std::mt19937 random(20240601);  // mt19937's sequence is fixed by the standard
  for (const std::string& table : kTables) {
    const Page original = LoadPage(table);
    std::vector<Column> columns;
    const TupleDesc desc = LoadDesc(table, &columns);
    uint16_t upper = 0;
    std::memcpy(&upper, original.data() + 14, 2);
    for (int round = 0; round < 1500; ++round) {
      Page page = original;
      const int flips = 1 + static_cast<int>(random() % 4);
      for (int i = 0; i < flips; ++i) {
        // Half in the header and line pointers, half among the tuples.
        const size_t at =
            (random() % 2 == 0) ? random() % 72 : upper + random() % (kBlockSize - upper);
        page[at] ^= static_cast<std::byte>(1 + random() % 255);
      }
      ReadEverything(page, desc, columns);
    }
    // Tuples cut short at random lengths, every attribute read.
    for (uint16_t lp = 1; lp <= 12; ++lp) {
      auto tuple = HeapTupleFromPage(original, lp);
      if (!tuple.ok()) continue;
      for (int round = 0; round < 50; ++round) {
        const size_t cut = random() % (tuple->body.size() + 1);
        const Bytes copy(tuple->body.begin(), tuple->body.begin() + cut);
        HeapTupleRef shorter = tuple.value();
        shorter.body = copy;
        for (int attnum = 1; attnum <= static_cast<int>(desc.attributes.size()); ++attnum) {
          auto datum = FetchAttribute(desc, attnum, shorter);
          if (datum.ok() && datum->kind == Datum::Kind::kCompressed)
            (void)Decompress(datum.value()).ok();
        }
      }
    }
  }
}

TEST(PglzTest, MutatedStreamsNeverCrash) {
  std::mt19937 random(7);
  for (uint16_t lp : {1, 4}) {
    const Datum datum = RealPglzDatum(lp);
    const Bytes original(datum.bytes.begin(), datum.bytes.end());
    for (int round = 0; round < 3000; ++round) {
      Bytes src = original;
      src[random() % src.size()] ^= static_cast<std::byte>(1 + random() % 255);
      if (random() % 4 == 0) src.resize(random() % src.size());
      Bytes out(datum.raw_size);
      (void)PglzDecompress(src, out, random() % 2 == 0).ok();
    }
  }
}

}  // namespace
}  // namespace partwatch::wal
