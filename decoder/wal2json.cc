// wal2json documents to pgoutput messages (decoder/wal2json.h).
//
// simdjson's On-Demand API, driven for speed (a replay goes through
// millions of rows; bench/wal2json_bench.cc, docs/benchmarks.md):
//  - fields are looked up by name in the order wal2json prints them, and
//    only those the record's kind needs; a look-up in order goes forward
//    without building a field object per key as iterating an object does
//    (Fields).  Any other order works too, only slower; unknown fields
//    (what include-pk, include-origin, include-not-null ... add) are
//    skipped;
//  - strings without a backslash are views between their quotes, not
//    unescaped copies; a row's column names and types are compared in the
//    raw text with the relation of the row before;
//  - numbers are their raw text, so that 9007199254740993 or 99999999.99
//    reach the policy exactly as PostgreSQL printed them;
//  - B and C records, two lines in three with one row per transaction,
//    are read by a strict little parser that hands anything unusual to
//    simdjson (QuickTransactionRecord).
// Error messages are built only when an error happens (Path).

#include "decoder/wal2json.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

namespace partwatch::wal2json {

static_assert(Wal2JsonDecoder::kPadding >= simdjson::SIMDJSON_PADDING);

namespace od = simdjson::ondemand;
using pgoutput::Oid;
using pgoutput::TupleColumn;

void OutputBuffer::ShrinkTo(size_t entries) {
  if (entries_.size() > entries) {
    entries_.resize(std::max(entries, size_));
    entries_.shrink_to_fit();
  }
}

Output& OutputBuffer::Append() {
  if (size_ == entries_.size()) entries_.emplace_back();
  return entries_[size_++];
}

void OutputBuffer::Set(Output& entry, pgoutput::Message&& message) {
  auto* insert = std::get_if<pgoutput::InsertMessage>(&entry.message);
  if (insert != nullptr && spare_.size() < kSpareInserts) spare_.push_back(std::move(*insert));
  entry.message = std::move(message);
}

pgoutput::InsertMessage& OutputBuffer::MakeInsert(Output& entry) {
  if (auto* insert = std::get_if<pgoutput::InsertMessage>(&entry.message)) return *insert;
  if (spare_.empty()) return entry.message.emplace<pgoutput::InsertMessage>();
  entry.message = std::move(spare_.back());
  spare_.pop_back();
  return std::get<pgoutput::InsertMessage>(entry.message);
}

namespace {

// PostgreSQL's limit on a tuple's attributes (MaxTupleAttributeNumber).
constexpr size_t kMaxColumns = 1664;
// Bytes of a hostile value quoted in an error message.
constexpr size_t kQuoteLimit = 40;

// ---------------------------------------------------------------------------
// Timestamps

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

constexpr int64_t kPostgresEpochDays = 10957;  // 2000-01-01 - 1970-01-01

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at `*pos`.
bool ReadDigits(std::string_view s, size_t* pos, int n, int* out) {
  if (static_cast<size_t>(n) > s.size() - *pos) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool ReadChar(std::string_view s, size_t* pos, char c) {
  if (*pos >= s.size() || s[*pos] != c) return false;
  ++*pos;
  return true;
}

// ---------------------------------------------------------------------------
// Scalars

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// (On-Demand hands out a number's raw text without checking it.)
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (IsDigit(s[i])) {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !IsDigit(s[i])) return false;
    while (i < n && IsDigit(s[i])) ++i;
  }
  return i == n;
}

// Whether `s` holds a backslash, eight bytes at a time (a memchr call
// costs more than this on names, types and short values).
bool HasBackslash(std::string_view s) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHighs = 0x8080808080808080;
  constexpr uint64_t kBackslashes = kOnes * '\\';
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    word ^= kBackslashes;  // a backslash byte becomes 0
    if (((word - kOnes) & ~word & kHighs) != 0) return true;
  }
  for (; i < s.size(); ++i) {
    if (s[i] == '\\') return true;
  }
  return false;
}

// a[0, n) == b[0, n), eight bytes at a time: names and types are short,
// and a memcmp call costs more than comparing them.
bool SameBytes(const char* a, const char* b, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) return false;
  }
  for (; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Whether JSON would escape a character of `s` (so that its raw text in a
// document differs from it).
bool NeedsEscape(std::string_view s) {
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c < 0x20) return true;
  }
  return false;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, kQuoteLimit));
  if (s.size() > kQuoteLimit) out.append("...");
  out.push_back('"');
  return out;
}

// Built-in types by the name format_type() gives them (what wal2json prints
// as "type"), for the Relation's type oids; modifiers are removed first.
// Anything else (arrays, domains, enums, extensions) gets 0 unless the file
// carries include-type-oids' "typeoid".
Oid TypeOidOf(std::string_view type) {
  struct Named {
    std::string_view name;
    Oid oid;
  };
  static constexpr Named kTypes[] = {
      {"boolean", 16},
      {"bytea", 17},
      {"\"char\"", 18},
      {"name", 19},
      {"bigint", 20},
      {"smallint", 21},
      {"integer", 23},
      {"text", 25},
      {"oid", 26},
      {"json", 114},
      {"real", 700},
      {"double precision", 701},
      {"money", 790},
      {"inet", 869},
      {"character", 1042},
      {"character varying", 1043},
      {"date", 1082},
      {"time without time zone", 1083},
      {"timestamp without time zone", 1114},
      {"timestamp with time zone", 1184},
      {"interval", 1186},
      {"time with time zone", 1266},
      {"numeric", 1700},
      {"uuid", 2950},
      {"jsonb", 3802},
  };
  std::string base;  // "timestamp(3) with time zone" -> "timestamp with time zone"
  int depth = 0;
  for (char c : type) {
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (depth == 0) {
      base.push_back(c);
    }
  }
  for (const Named& t : kTypes) {
    if (t.name == base) return t.oid;
  }
  return 0;
}

// Whether a document that failed stops inside a string, object or array:
// what a torn tail (pg_recvlogical killed mid-write) looks like.
bool IsCutShort(std::string_view doc) {
  size_t i = 0;
  while (i < doc.size() && (doc[i] == ' ' || doc[i] == '\t' || doc[i] == '\n' || doc[i] == '\r')) {
    ++i;
  }
  if (i == doc.size() || (doc[i] != '{' && doc[i] != '[')) return false;
  int64_t depth = 0;
  bool in_string = false;
  for (; i < doc.size(); ++i) {
    const char c = doc[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth < 0) return false;
    }
  }
  return in_string || depth > 0;
}

// A column as parsed, before it is matched against a relation.  The views
// point into the document or into simdjson's string buffer: valid until
// the next document.
struct Column {
  std::string_view name;
  std::string_view type;
  std::optional<Oid> type_oid;
  TupleColumn::Kind kind = TupleColumn::Kind::kNull;
  std::string_view value;  // kText only
};

// An object's fields looked up by name.  simdjson's find_field_unordered
// searches forward from the last field found and then from the start up to
// there; its second pass assumes the first one validated the object, which
// damaged input breaks (fuzzing found the assertion, a wild read with
// NDEBUG).  Find does the same with two checked forward passes: from the
// last field found, then, when that did not start at the first field, from
// the start.  In wal2json's order every look-up is one step forward; an
// absent field costs a pass over the object.
class Fields {
 public:
  explicit Fields(od::object& object) : object_(object) {}

  // (An array, so that the key's length is a constant and the comparisons
  // inline: strlen and memcmp calls cost more than they do.)
  template <size_t N>
  simdjson::error_code Find(const char (&key)[N], od::value* out) {
    const std::string_view name(key, N - 1);
    const bool from_start = at_start_;
    auto e = object_.find_field(name).get(*out);
    if (e == simdjson::NO_SUCH_FIELD && !from_start) {
      if ((e = Rewind())) return e;
      e = object_.find_field(name).get(*out);
    }
    if (e == simdjson::NO_SUCH_FIELD) {
      if ((e = Rewind())) return e;
      return simdjson::NO_SUCH_FIELD;
    }
    at_start_ = false;
    return e;
  }

 private:
  simdjson::error_code Rewind() {
    bool has_fields = false;
    at_start_ = true;
    return object_.reset().get(has_fields);
  }

  od::object& object_;
  bool at_start_ = true;
};

// The top-level fields of a v2 record or a v1 transaction (views into the
// document or simdjson's buffer: valid until the next document).
struct Record {
  char action = 0;
  std::optional<uint32_t> xid;
  std::optional<std::string_view> timestamp;
  std::optional<Lsn> lsn;
  std::optional<Lsn> nextlsn;
  std::optional<std::string_view> schema;
  std::optional<std::string_view> table;
  bool has_change = false;
};

// Reads `literal` at `*p` (an array: its length is a constant, the
// comparison inlines).
template <size_t N>
bool Take(std::string_view s, size_t* p, const char (&literal)[N]) {
  constexpr size_t n = N - 1;
  if (s.size() - *p < n || std::memcmp(s.data() + *p, literal, n) != 0) return false;
  *p += n;
  return true;
}

// Reads a quoted string of `allowed` characters at `*p` (after the opening
// quote) up to its closing quote.
template <typename Allowed>
bool TakeQuoted(std::string_view s, size_t* p, Allowed allowed, std::string_view* out) {
  const size_t begin = *p;
  while (*p < s.size() && s[*p] != '"') {
    if (!allowed(s[*p])) return false;
    ++*p;
  }
  if (*p == s.size()) return false;
  *out = s.substr(begin, *p - begin);
  ++*p;  // the closing quote
  return true;
}

bool IsTimestampChar(char c) {
  return IsDigit(c) || c == ' ' || c == ':' || c == '.' || c == '+' || c == '-';
}
bool IsLsnChar(char c) {
  return IsDigit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f') || c == '/';
}

// The B and C records wal2json prints, parsed without simdjson:
//   {"action":"B"[,"xid":N][,"timestamp":"T"][,"lsn":"L"][,"nextlsn":"L"]}
// exactly so (that order, no spaces, N up to 10 digits, T made of
// "0123456789 :.+-", L of hex digits and one '/'), then only whitespace.
// With one row per transaction they are two lines in three, and this costs
// a fraction of a general parse.  Anything else returns false and takes
// the general path, which also words the errors; what is accepted here is
// valid JSON by construction, and the values are checked the same way
// (Lsn::Parse, ParseTimestamptz) by the caller.
bool QuickTransactionRecord(std::string_view s, Record* out) {
  Record& r = *out;
  size_t p = 0;
  if (Take(s, &p, R"({"action":"B")")) {
    r.action = 'B';
  } else if (Take(s, &p, R"({"action":"C")")) {
    r.action = 'C';
  } else {
    return false;
  }
  if (Take(s, &p, R"(,"xid":)")) {
    uint64_t xid = 0;
    const size_t begin = p;
    while (p < s.size() && IsDigit(s[p]) && p - begin < 10) xid = xid * 10 + (s[p++] - '0');
    if (p == begin || (s[begin] == '0' && p - begin > 1) || xid > UINT32_MAX) return false;
    r.xid = static_cast<uint32_t>(xid);
  }
  std::string_view text;
  if (Take(s, &p, R"(,"timestamp":")")) {
    if (!TakeQuoted(s, &p, IsTimestampChar, &text)) return false;
    r.timestamp = text;
  }
  if (Take(s, &p, R"(,"lsn":")")) {
    if (!TakeQuoted(s, &p, IsLsnChar, &text) || !(r.lsn = Lsn::Parse(text))) return false;
  }
  if (Take(s, &p, R"(,"nextlsn":")")) {
    if (!TakeQuoted(s, &p, IsLsnChar, &text)) return false;
    // A Begin does not use it (the general path does not read it either).
    if (r.action == 'C' && !(r.nextlsn = Lsn::Parse(text))) return false;
  }
  if (!Take(s, &p, "}")) return false;
  for (; p < s.size(); ++p) {
    if (s[p] != ' ' && s[p] != '\t' && s[p] != '\n' && s[p] != '\r') return false;
  }
  return true;
}

}  // namespace

std::optional<int64_t> ParseTimestamptz(std::string_view s) {
  size_t p = 0;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(s, &p, 4, &year) || !ReadChar(s, &p, '-') || !ReadDigits(s, &p, 2, &month) ||
      !ReadChar(s, &p, '-') || !ReadDigits(s, &p, 2, &day) || !ReadChar(s, &p, ' ') ||
      !ReadDigits(s, &p, 2, &hour) || !ReadChar(s, &p, ':') || !ReadDigits(s, &p, 2, &minute) ||
      !ReadChar(s, &p, ':') || !ReadDigits(s, &p, 2, &second)) {
    return std::nullopt;
  }
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) ||
      hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  int64_t fraction = 0;
  if (ReadChar(s, &p, '.')) {
    int digits = 0;
    while (p < s.size() && IsDigit(s[p]) && digits < 6) {
      fraction = fraction * 10 + (s[p] - '0');
      ++p;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 6; ++digits) fraction *= 10;
  }
  int sign;
  if (ReadChar(s, &p, '+')) {
    sign = 1;
  } else if (ReadChar(s, &p, '-')) {
    sign = -1;
  } else {
    return std::nullopt;
  }
  int offset_hours, offset_minutes = 0, offset_seconds = 0;
  if (!ReadDigits(s, &p, 2, &offset_hours)) return std::nullopt;
  if (ReadChar(s, &p, ':')) {
    if (!ReadDigits(s, &p, 2, &offset_minutes)) return std::nullopt;
    if (ReadChar(s, &p, ':') && !ReadDigits(s, &p, 2, &offset_seconds)) return std::nullopt;
  }
  // PostgreSQL's offsets stay within +-15:59:59 (MAX_TZDISP_HOUR).
  if (p != s.size() || offset_hours > 15 || offset_minutes > 59 || offset_seconds > 59) {
    return std::nullopt;
  }
  const int64_t days = DaysFromCivil(year, month, day) - kPostgresEpochDays;
  const int64_t local = days * kSecondsPerDay + hour * 3600 + minute * 60 + second;
  const int64_t offset = sign * (offset_hours * 3600 + offset_minutes * 60 + offset_seconds);
  return (local - offset) * kMicrosPerSecond + fraction;
}

// ---------------------------------------------------------------------------

class Wal2JsonDecoder::Impl {
 public:
  Result<DocumentInfo> Decode(std::string_view doc, OutputBuffer* out) {
    const Snapshot snapshot = Save(out);
    Result<DocumentInfo> result = DecodeDocument(doc, out);
    if (!result.ok()) {
      Restore(snapshot, out);
      if (IsCutShort(doc)) {
        return Error{Error::Kind::kTruncated,
                     "document cut short (it ends inside a string, object or array): " +
                         result.error().message};
      }
    }
    return result;
  }

  Result<DocumentInfo> DecodeCopy(std::string_view doc, OutputBuffer* out) {
    copy_.assign(doc);
    copy_.append(kPadding, ' ');
    return Decode(std::string_view(copy_.data(), doc.size()), out);
  }

  bool lsns_real() const { return saw_real_lsn_ && !saw_synthetic_lsn_; }
  bool timestamps_real() const { return saw_time_ && !saw_no_time_; }
  bool in_transaction() const { return in_transaction_; }
  size_t relations() const { return relations_.size(); }

 private:
  struct Relation {
    Oid id = 0;
    std::string schema;
    std::string table;
    std::vector<std::string> names;
    std::vector<std::string> types;
    // No name or type needs escaping in JSON: a row's raw text can be
    // compared with them as it is (RawIs).
    bool plain = true;
  };

  // What a failed document must not change.
  struct Snapshot {
    size_t outputs;
    size_t relations;
    size_t last_relation;
    Lsn last_lsn;
    bool saw_real_lsn, saw_synthetic_lsn, saw_time, saw_no_time, in_transaction;
  };

  Snapshot Save(const OutputBuffer* out) const {
    return Snapshot{out->size(), relations_.size(), last_relation_,
                    last_lsn_,   saw_real_lsn_,     saw_synthetic_lsn_,
                    saw_time_,   saw_no_time_,      in_transaction_};
  }

  void Restore(const Snapshot& s, OutputBuffer* out) {
    out->Truncate(s.outputs);
    while (relations_.size() > s.relations) {
      const Relation& r = relations_.back();
      const auto it = by_table_.find(TableKey(r.schema, r.table));
      if (it != by_table_.end()) {
        it->second.pop_back();
        if (it->second.empty()) by_table_.erase(it);
      }
      relations_.pop_back();
    }
    last_relation_ = s.last_relation;
    last_lsn_ = s.last_lsn;
    saw_real_lsn_ = s.saw_real_lsn;
    saw_synthetic_lsn_ = s.saw_synthetic_lsn;
    saw_time_ = s.saw_time;
    saw_no_time_ = s.saw_no_time;
    in_transaction_ = s.in_transaction;
  }

  // --- errors --------------------------------------------------------------

  static Error Corrupt(std::string message) {
    return Error{Error::Kind::kCorrupt, std::move(message)};
  }
  static Error Json(const std::string& where, simdjson::error_code e) {
    return Corrupt(where + ": not JSON (" + simdjson::error_message(e) + ")");
  }
  // "I", "change[3]", or "document" before the record's kind is known.
  std::string Where() const {
    if (change_index_ >= 0) return "change[" + std::to_string(change_index_) + "]";
    if (action_ != 0) return std::string(1, action_);
    return "document";
  }
  std::string Where(std::string_view field) const { return Where() + "." + std::string(field); }
  std::string Where(std::string_view field, size_t index) const {
    return Where(field) + "[" + std::to_string(index) + "]";
  }

  // A field's place, for an error message: formatted only when one is
  // needed (the fields of every row pass through here).
  struct Path {
    static constexpr size_t kNoIndex = SIZE_MAX;
    const char* field = nullptr;   // "columns"; nullptr: the record itself
    size_t index = kNoIndex;       // columns[index]
    const char* member = nullptr;  // columns[index].member
    bool bare = false;             // without the record: "action"
  };
  std::string Describe(const Path& p) const {
    std::string s = p.bare ? "" : Where();
    if (p.field != nullptr) {
      if (!s.empty()) s += ".";
      s += p.field;
    }
    if (p.index != Path::kNoIndex) s += "[" + std::to_string(p.index) + "]";
    if (p.member != nullptr) s.append(".").append(p.member);
    return s;
  }
  Error Json(const Path& where, simdjson::error_code e) const { return Json(Describe(where), e); }

  // --- scalars -------------------------------------------------------------

  // A JSON string: a view between the quotes when it holds no escape, else
  // unescaped by simdjson (valid until the next document either way).
  static simdjson::error_code GetString(od::value& v, std::string_view* out) {
    const std::string_view raw = TrimRight(v.raw_json_token());
    if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
      const std::string_view inner = raw.substr(1, raw.size() - 2);
      if (!HasBackslash(inner)) {
        *out = inner;
        return simdjson::SUCCESS;
      }
    }
    return v.get_string().get(*out);
  }

  std::optional<Error> String(od::value& v, const Path& where, std::string_view* out) {
    if (const auto e = GetString(v, out)) {
      if (e == simdjson::INCORRECT_TYPE) return Corrupt(Describe(where) + ": expected a string");
      return Json(where, e);
    }
    return std::nullopt;
  }

  // A string or null.
  Result<std::optional<std::string_view>> OptionalString(od::value& v, const Path& where) {
    od::json_type type;
    if (const auto e = v.type().get(type)) return Json(where, e);
    if (type == od::json_type::null) {
      bool is_null = false;
      if (v.is_null().get(is_null) || !is_null) return Corrupt(Describe(where) + ": not JSON");
      return std::optional<std::string_view>();
    }
    std::string_view s;
    if (auto e = String(v, where, &s)) return *e;
    return std::optional<std::string_view>(s);
  }

  Result<std::optional<Lsn>> OptionalLsn(od::value& v, const Path& where) {
    Result<std::optional<std::string_view>> s = OptionalString(v, where);
    if (!s.ok()) return s.error();
    if (!s.value()) return std::optional<Lsn>();
    const std::optional<Lsn> lsn = Lsn::Parse(*s.value());
    if (!lsn) return Corrupt(Describe(where) + ": not an LSN: " + Quote(*s.value()));
    return lsn;
  }

  // An unsigned 32-bit number (xid, type oid) or null.
  Result<std::optional<uint32_t>> OptionalU32(od::value& v, const Path& where) {
    od::json_type type;
    if (const auto e = v.type().get(type)) return Json(where, e);
    if (type == od::json_type::null) {
      bool is_null = false;
      if (v.is_null().get(is_null) || !is_null) return Corrupt(Describe(where) + ": not JSON");
      return std::optional<uint32_t>();
    }
    if (type != od::json_type::number) return Corrupt(Describe(where) + ": expected a number");
    uint64_t n = 0;
    if (v.get_uint64().get(n) || n > UINT32_MAX) {
      return Corrupt(Describe(where) +
                     ": not a 32-bit unsigned number: " + Quote(TrimRight(v.raw_json_token())));
    }
    return std::optional<uint32_t>(static_cast<uint32_t>(n));
  }

  // A column value in PostgreSQL's text form: strings as they are, numbers
  // as printed, true/false as t/f, null as NULL.
  std::optional<Error> ColumnValue(od::value& v, const Path& where, Column* c) {
    od::json_type type;
    if (const auto e = v.type().get(type)) return Json(where, e);
    switch (type) {
      case od::json_type::string: {
        if (const auto e = GetString(v, &c->value)) return Json(where, e);
        c->kind = TupleColumn::Kind::kText;
        return std::nullopt;
      }
      case od::json_type::number: {
        const std::string_view raw = TrimRight(v.raw_json_token());
        if (!IsJsonNumber(raw)) {
          return Corrupt(Describe(where) + ": not a JSON number: " + Quote(raw));
        }
        c->value = raw;
        c->kind = TupleColumn::Kind::kText;
        return std::nullopt;
      }
      case od::json_type::boolean: {
        bool b = false;
        if (const auto e = v.get_bool().get(b)) return Json(where, e);
        c->value = b ? "t" : "f";
        c->kind = TupleColumn::Kind::kText;
        return std::nullopt;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (v.is_null().get(is_null) || !is_null) return Corrupt(Describe(where) + ": not JSON");
        c->kind = TupleColumn::Kind::kNull;
        c->value = {};
        return std::nullopt;
      }
      default:
        return Corrupt(Describe(where) + ": expected a string, number, boolean or null");
    }
  }

  // --- positions -----------------------------------------------------------

  Lsn Position(const std::optional<Lsn>& real) {
    if (real) {
      saw_real_lsn_ = true;
      last_lsn_ = *real;
    } else {
      saw_synthetic_lsn_ = true;
      last_lsn_ = Lsn(last_lsn_.value() + 1);
    }
    return last_lsn_;
  }

  Result<int64_t> CommitTime(const std::optional<std::string_view>& text, const char* field) {
    if (!text) {
      saw_no_time_ = true;
      return int64_t{0};
    }
    saw_time_ = true;
    if (last_time_ && *text == last_time_text_) return *last_time_;  // a C repeats its B's
    const std::optional<int64_t> t = ParseTimestamptz(*text);
    if (!t) return Corrupt(Where(field) + ": not a timestamp with time zone: " + Quote(*text));
    last_time_text_.assign(*text);
    last_time_ = *t;
    return *t;
  }

  // --- relations -----------------------------------------------------------

  const std::string& TableKey(std::string_view schema, std::string_view table) {
    // The schema's length first: names may hold any byte, even NUL.
    const uint32_t n = static_cast<uint32_t>(schema.size());
    table_key_.assign(reinterpret_cast<const char*>(&n), sizeof n);
    table_key_.append(schema).append(table);
    return table_key_;
  }

  static bool Matches(const Relation& r, std::string_view schema, std::string_view table,
                      const std::vector<Column>& columns) {
    if (r.names.size() != columns.size() || r.table != table || r.schema != schema) return false;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (r.names[i] != columns[i].name || r.types[i] != columns[i].type) return false;
    }
    return true;
  }

  // The relation of (schema, table, columns); a Relation message first when
  // the shape is new.  `columns` == nullptr: any shape of the table (a
  // Truncate), a column-less one when the table was never seen.
  Result<Oid> RelationFor(std::string_view schema, std::string_view table,
                          const std::vector<Column>* columns, OutputBuffer* out) {
    if (last_relation_ < relations_.size()) {
      const Relation& r = relations_[last_relation_];
      if (columns == &columns_ && matched_relation_ == last_relation_) {
        return r.id;  // compared while the row was parsed
      }
      if (columns == nullptr ? r.schema == schema && r.table == table
                             : Matches(r, schema, table, *columns)) {
        return r.id;
      }
    }
    const auto it = by_table_.find(TableKey(schema, table));
    if (it != by_table_.end()) {
      if (columns == nullptr) {
        last_relation_ = it->second.back();
        return relations_[last_relation_].id;
      }
      for (auto i = it->second.rbegin(); i != it->second.rend(); ++i) {
        if (Matches(relations_[*i], schema, table, *columns)) {
          last_relation_ = *i;
          return relations_[*i].id;
        }
      }
    }
    if (relations_.size() >= kMaxRelations) {
      return Corrupt(Where() + ": more than " + std::to_string(kMaxRelations) +
                     " distinct tables and column lists");
    }
    Relation r;
    r.id = kFirstRelationId + static_cast<Oid>(relations_.size());
    r.schema.assign(schema);
    r.table.assign(table);
    pgoutput::RelationMessage message;
    message.relation_id = r.id;
    message.nspname = r.schema;
    message.relname = r.table;
    message.replica_identity = 'd';
    if (columns != nullptr) {
      for (const Column& c : *columns) {
        r.names.emplace_back(c.name);
        r.types.emplace_back(c.type);
        r.plain = r.plain && !NeedsEscape(c.name) && !NeedsEscape(c.type);
        message.columns.push_back(pgoutput::RelationColumn{
            0, std::string(c.name), c.type_oid ? *c.type_oid : TypeOidOf(c.type), -1});
      }
    }
    by_table_[TableKey(schema, table)].push_back(static_cast<uint32_t>(relations_.size()));
    last_relation_ = relations_.size();
    relations_.push_back(std::move(r));
    out->Set(out->Append(), std::move(message));
    return relations_.back().id;
  }

  // Appends [Relation] Insert of columns_; their positions are set by the
  // caller, once the document's position fields are known.
  std::optional<Error> EmitInsert(std::string_view schema, std::string_view table,
                                  OutputBuffer* out) {
    Result<Oid> id = RelationFor(schema, table, &columns_, out);
    if (!id.ok()) return id.error();
    pgoutput::InsertMessage* insert = &out->MakeInsert(out->Append());
    insert->xid.reset();
    insert->relation_id = id.value();
    std::vector<TupleColumn>& tuple = insert->new_tuple.columns;
    tuple.resize(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) {
      tuple[i].kind = columns_[i].kind;
      tuple[i].data.assign(columns_[i].value);
    }
    return std::nullopt;
  }

  std::optional<Error> EmitTruncate(std::string_view schema, std::string_view table,
                                    OutputBuffer* out) {
    Result<Oid> id = RelationFor(schema, table, nullptr, out);
    if (!id.ok()) return id.error();
    Output& o = out->Append();
    pgoutput::TruncateMessage truncate;
    truncate.relation_ids.push_back(id.value());
    out->Set(o, std::move(truncate));  // wal2json prints neither CASCADE nor RESTART IDENTITY
    return std::nullopt;
  }

  // --- v2 "columns": [{"name":..,"type":..,"value":..}, ...] ---------------

  // columns[i].key, which must be there.
  template <size_t N>
  std::optional<Error> Member(Fields& fields, const char (&key)[N], size_t i, od::value* out) {
    const auto e = fields.Find(key, out);
    if (e == simdjson::NO_SUCH_FIELD) {
      return Corrupt(Describe(Path{"columns", i, key}) + ": missing");
    }
    if (e) return Json(Path{"columns", i, key}, e);
    return std::nullopt;
  }

  // `expected`: the relation the previous row used, when this row is of the
  // same table: each name and type is compared with it in the raw text, and
  // when all are the same, matched_relation_ spares RelationFor the work.
  std::optional<Error> ParseColumns(od::value& v, const Relation* expected) {
    columns_.clear();
    matched_relation_ = SIZE_MAX;
    if (expected != nullptr && !expected->plain) expected = nullptr;
    bool match = expected != nullptr;
    od::array array;
    if (const auto e = v.get_array().get(array)) {
      if (e == simdjson::INCORRECT_TYPE) return Corrupt(Where("columns") + ": expected an array");
      return Json(Where("columns"), e);
    }
    for (auto element : array) {
      const size_t i = columns_.size();
      od::value cv;
      if (const auto e = element.get(cv)) return Json(Where("columns", i), e);
      od::object object;
      if (const auto e = cv.get_object().get(object)) {
        if (e == simdjson::INCORRECT_TYPE) {
          return Corrupt(Where("columns", i) + ": expected an object");
        }
        return Json(Where("columns", i), e);
      }
      if (i == kMaxColumns) {
        return Corrupt(Where("columns") + ": more than " + std::to_string(kMaxColumns));
      }
      Column& c = columns_.emplace_back();
      // wal2json's order is name, type, typeoid, value, optional, default.
      Fields fields(object);
      od::value value;
      match = match && i < expected->names.size();
      if (auto e = Member(fields, "name", i, &value)) return e;
      if (match && RawIs(value, expected->names[i], &c.name)) {
      } else if (auto e = String(value, Path{"columns", i, "name"}, &c.name)) {
        return e;
      } else {
        match = false;
      }
      const auto type = fields.Find("type", &value);
      if (type != simdjson::NO_SUCH_FIELD) {
        if (type) return Json(Path{"columns", i, "type"}, type);
        if (match && RawIs(value, expected->types[i], &c.type)) {
        } else if (auto e = String(value, Path{"columns", i, "type"}, &c.type)) {
          return e;
        } else {
          match = false;
        }
      } else {
        match = match && expected->types[i].empty();
      }
      // include-type-oids is all or nothing: asked of the first column only.
      if (i == 0 || typeoids_) {
        const auto typeoid = fields.Find("typeoid", &value);
        typeoids_ = typeoid != simdjson::NO_SUCH_FIELD;
        if (typeoids_) {
          if (typeoid) return Json(Path{"columns", i, "typeoid"}, typeoid);
          Result<std::optional<uint32_t>> oid = OptionalU32(value, Path{"columns", i, "typeoid"});
          if (!oid.ok()) return oid.error();
          c.type_oid = oid.value();
        }
      }
      if (auto e = Member(fields, "value", i, &value)) return e;
      if (auto e = ColumnValue(value, Path{"columns", i, "value"}, &c)) return e;
    }
    if (match && columns_.size() == expected->names.size()) {
      matched_relation_ = static_cast<size_t>(expected - relations_.data());
    }
    return std::nullopt;
  }

  // Whether the string at `v` is `expected`, compared in the raw text
  // (REQUIRES: `expected` needs no escaping); `*out` is then a view of it.
  static bool RawIs(od::value& v, const std::string& expected, std::string_view* out) {
    const std::string_view raw = v.raw_json_token();
    const size_t n = expected.size();
    if (raw.size() < n + 2 || raw[0] != '"' || raw[n + 1] != '"' ||
        !SameBytes(raw.data() + 1, expected.data(), n)) {
      return false;
    }
    *out = raw.substr(1, n);
    return true;
  }

  // --- v1 "change": [{"kind":"insert",...}, ...] ----------------------------

  // Reads an array of strings ("columnnames", "columntypes") into `*out`.
  std::optional<Error> StringArray(od::value& v, const char* field,
                                   std::vector<std::string_view>* out) {
    out->clear();
    od::array array;
    if (const auto e = v.get_array().get(array)) {
      if (e == simdjson::INCORRECT_TYPE) return Corrupt(Where(field) + ": expected an array");
      return Json(Where(field), e);
    }
    for (auto element : array) {
      od::value ev;
      if (const auto e = element.get(ev)) return Json(Where(field, out->size()), e);
      if (out->size() == kMaxColumns) {
        return Corrupt(Where(field) + ": more than " + std::to_string(kMaxColumns));
      }
      std::string_view s;
      if (auto e = String(ev, Path{field, out->size()}, &s)) return e;
      out->push_back(s);
    }
    return std::nullopt;
  }

  std::optional<Error> OidArray(od::value& v, const char* field, std::vector<Oid>* out) {
    out->clear();
    od::array array;
    if (const auto e = v.get_array().get(array)) {
      if (e == simdjson::INCORRECT_TYPE) return Corrupt(Where(field) + ": expected an array");
      return Json(Where(field), e);
    }
    for (auto element : array) {
      od::value ev;
      if (const auto e = element.get(ev)) return Json(Where(field, out->size()), e);
      if (out->size() == kMaxColumns) {
        return Corrupt(Where(field) + ": more than " + std::to_string(kMaxColumns));
      }
      Result<std::optional<uint32_t>> oid = OptionalU32(ev, Path{field, out->size()});
      if (!oid.ok()) return oid.error();
      out->push_back(oid.value().value_or(0));
    }
    return std::nullopt;
  }

  std::optional<Error> ValueArray(od::value& v) {
    values_.clear();
    od::array array;
    if (const auto e = v.get_array().get(array)) {
      if (e == simdjson::INCORRECT_TYPE) {
        return Corrupt(Where("columnvalues") + ": expected an array");
      }
      return Json(Where("columnvalues"), e);
    }
    for (auto element : array) {
      od::value ev;
      if (const auto e = element.get(ev)) return Json(Where("columnvalues", values_.size()), e);
      if (values_.size() == kMaxColumns) {
        return Corrupt(Where("columnvalues") + ": more than " + std::to_string(kMaxColumns));
      }
      Column& c = values_.emplace_back();
      if (auto e = ColumnValue(ev, Path{"columnvalues", values_.size() - 1}, &c)) return e;
    }
    return std::nullopt;
  }

  // One element of "change".  `*non_transactional` is set for a message
  // emitted outside any transaction.  Fields are looked up in wal2json's
  // order: kind, schema, table, columnnames, columntypes, columntypeoids,
  // columnvalues (oldkeys, of updates and deletes, is never read).
  std::optional<Error> Change(od::value& v, OutputBuffer* out, bool* non_transactional) {
    od::object object;
    if (const auto e = v.get_object().get(object)) {
      if (e == simdjson::INCORRECT_TYPE) return Corrupt(Where() + ": expected an object");
      return Json(Where(), e);
    }
    Fields fields(object);
    od::value value;
    auto required = [&]<size_t N>(const char(&key)[N]) -> std::optional<Error> {
      const auto e = fields.Find(key, &value);
      if (e == simdjson::NO_SUCH_FIELD) return Corrupt(Where(key) + ": missing");
      if (e) return Json(Path{key}, e);
      return std::nullopt;
    };
    std::string_view kind, schema, table;
    std::optional<Error> e;
    if ((e = required("kind")) || (e = String(value, Path{"kind"}, &kind))) return e;
    if (kind == "update" || kind == "delete") return std::nullopt;
    if (kind == "message") {
      bool transactional = true;
      e = IfPresent(fields, "transactional", [&](od::value& t) -> std::optional<Error> {
        if (t.get_bool().get(transactional)) {
          return Corrupt(Where("transactional") + ": expected a boolean");
        }
        return std::nullopt;
      });
      if (e) return e;
      *non_transactional = !transactional;
      return std::nullopt;
    }
    if (kind != "insert" && kind != "truncate") {
      return Corrupt(Where("kind") + ": unknown " + Quote(kind));
    }
    if ((e = required("schema")) || (e = String(value, Path{"schema"}, &schema)) ||
        (e = required("table")) || (e = String(value, Path{"table"}, &table))) {
      return e;
    }
    if (kind == "truncate") return EmitTruncate(schema, table, out);  // not printed by wal2json 2.5

    bool has_types = false, has_oids = false;
    if ((e = required("columnnames")) || (e = StringArray(value, "columnnames", &names_))) return e;
    e = IfPresent(fields, "columntypes", [&](od::value& t) {
      has_types = true;
      return StringArray(t, "columntypes", &types_);
    });
    if (e) return e;
    e = IfPresent(fields, "columntypeoids", [&](od::value& t) {
      has_oids = true;
      return OidArray(t, "columntypeoids", &oids_);
    });
    if (e) return e;
    if ((e = required("columnvalues")) || (e = ValueArray(value))) return e;
    if (values_.size() != names_.size() || (has_types && types_.size() != names_.size()) ||
        (has_oids && oids_.size() != names_.size())) {
      return Corrupt(Where() + ": columnnames has " + std::to_string(names_.size()) +
                     " entries, columnvalues " + std::to_string(values_.size()) +
                     (has_types ? ", columntypes " + std::to_string(types_.size()) : "") +
                     (has_oids ? ", columntypeoids " + std::to_string(oids_.size()) : ""));
    }
    columns_.clear();
    matched_relation_ = SIZE_MAX;
    for (size_t i = 0; i < names_.size(); ++i) {
      Column& c = columns_.emplace_back(values_[i]);
      c.name = names_[i];
      if (has_types) c.type = types_[i];
      if (has_oids) c.type_oid = oids_[i];
    }
    return EmitInsert(schema, table, out);
  }

  // Converts "change"; counts its elements and those that are part of the
  // transaction (all but non-transactional messages).
  std::optional<Error> Changes(od::value& v, OutputBuffer* out, size_t* changes,
                               size_t* transactional) {
    od::array array;
    if (const auto e = v.get_array().get(array)) {
      if (e == simdjson::INCORRECT_TYPE) return Corrupt("change: expected an array");
      return Json("change", e);
    }
    int64_t index = 0;
    for (auto element : array) {
      change_index_ = index++;
      od::value ev;
      if (const auto e = element.get(ev)) return Json(Where(), e);
      bool non_transactional = false;
      if (auto e = Change(ev, out, &non_transactional)) return e;
      ++*changes;
      if (!non_transactional) ++*transactional;
    }
    change_index_ = -1;
    return std::nullopt;
  }

  // --- documents -------------------------------------------------------------

  Result<DocumentInfo> DecodeDocument(std::string_view doc, OutputBuffer* out) {
    action_ = 0;
    change_index_ = -1;
    size_t first = 0;
    while (first < doc.size() &&
           (doc[first] == ' ' || doc[first] == '\t' || doc[first] == '\n' || doc[first] == '\r')) {
      ++first;
    }
    if (first == doc.size()) return Corrupt("document: empty");
    if (doc[first] != '{') {
      switch (doc[first]) {
        case '[':
          return Corrupt("document: a JSON array, not an object");
        case '"':
          return Corrupt("document: a JSON string, not an object");
        default:
          return Corrupt("document: not a JSON object");
      }
    }
    if (Record r; QuickTransactionRecord(doc.substr(first), &r)) {
      action_ = r.action;
      return EmitRecord(r, out);
    }
    od::document document;
    if (const auto e = parser_
                           .iterate(simdjson::padded_string_view(doc.data(), doc.size(),
                                                                 doc.size() + kPadding))
                           .get(document)) {
      return Json("document", e);
    }
    od::object object;
    if (const auto e = document.get_object().get(object)) return Json("document", e);
    Fields fields(object);
    od::value action;
    const auto action_error = fields.Find("action", &action);
    if (action_error && action_error != simdjson::NO_SUCH_FIELD) {
      return Json(Path{"action", Path::kNoIndex, nullptr, true}, action_error);
    }
    // (Without "action" the object is rewound for DecodeV1.)
    Result<DocumentInfo> info =
        action_error ? DecodeV1(object, out) : DecodeV2(object, fields, action, out);
    if (!info.ok()) return info;
    // Bytes after the object: another document on the same line.
    if (!document.current_location().error()) {
      return Corrupt("document: more after the closing brace");
    }
    return info;
  }

  // Looks up an optional field and hands it to `parse`.
  template <size_t N, typename Parse>
  std::optional<Error> IfPresent(Fields& fields, const char (&key)[N], Parse&& parse) {
    od::value value;
    const auto e = fields.Find(key, &value);
    if (e == simdjson::NO_SUCH_FIELD) return std::nullopt;
    if (e) return Json(Path{key}, e);
    return parse(value);
  }

  // A v2 record.  Fields are looked up in wal2json's order (action, xid,
  // timestamp, lsn, nextlsn, schema, table, columns), each only where the
  // record's kind uses it: an I reads neither xid nor timestamp, a U, D or
  // M nothing more.
  Result<DocumentInfo> DecodeV2(od::object& object, Fields& fields, od::value& action_value,
                                OutputBuffer* out) {
    od::value value;
    const Path action_path{"action", Path::kNoIndex, nullptr, true};
    std::string_view action;
    if (auto e = String(action_value, action_path, &action)) return *e;
    if (action.size() != 1 ||
        std::string_view("BCIUDTM").find(action[0]) == std::string_view::npos) {
      return Corrupt("action: unknown " + Quote(action));
    }
    action_ = action[0];

    Record r;
    r.action = action_;
    auto xid = [&](od::value& v) -> std::optional<Error> {
      Result<std::optional<uint32_t>> x = OptionalU32(v, Path{"xid"});
      if (!x.ok()) return x.error();
      r.xid = x.value();
      return std::nullopt;
    };
    auto timestamp = [&](od::value& v) -> std::optional<Error> {
      Result<std::optional<std::string_view>> t = OptionalString(v, Path{"timestamp"});
      if (!t.ok()) return t.error();
      r.timestamp = t.value();
      return std::nullopt;
    };
    auto lsn = [&](const char* key, std::optional<Lsn>* into) {
      return [this, key, into](od::value& v) -> std::optional<Error> {
        Result<std::optional<Lsn>> l = OptionalLsn(v, Path{key});
        if (!l.ok()) return l.error();
        *into = l.value();
        return std::nullopt;
      };
    };
    auto name = [&](const char* key, std::optional<std::string_view>* into) {
      return [this, key, into](od::value& v) -> std::optional<Error> {
        std::string_view s;
        if (auto e = String(v, Path{key}, &s)) return e;
        *into = s;
        return std::nullopt;
      };
    };
    std::optional<Error> e;
    switch (r.action) {
      case 'B':
      case 'C':
        if ((e = IfPresent(fields, "xid", xid)) ||
            (e = IfPresent(fields, "timestamp", timestamp)) ||
            (e = IfPresent(fields, "lsn", lsn("lsn", &r.lsn))) ||
            (r.action == 'C' && (e = IfPresent(fields, "nextlsn", lsn("nextlsn", &r.nextlsn))))) {
          return *e;
        }
        break;
      case 'I':
      case 'T':
        if ((e = IfPresent(fields, "lsn", lsn("lsn", &r.lsn))) ||
            (e = IfPresent(fields, "schema", name("schema", &r.schema))) ||
            (e = IfPresent(fields, "table", name("table", &r.table)))) {
          return *e;
        }
        if (!r.schema) return Corrupt(Where("schema") + ": missing");
        if (!r.table) return Corrupt(Where("table") + ": missing");
        if (r.action == 'I') {
          const auto columns = fields.Find("columns", &value);
          if (columns == simdjson::NO_SUCH_FIELD) return Corrupt("I.columns: missing");
          if (columns) return Json(Path{"columns"}, columns);
          const Relation* last =
              last_relation_ < relations_.size() ? &relations_[last_relation_] : nullptr;
          if (last != nullptr && (last->schema != *r.schema || last->table != *r.table)) {
            last = nullptr;
          }
          if ((e = ParseColumns(value, last))) return *e;
        }
        break;
      default:  // U, D, M: nothing the policy uses
        break;
    }
    // To the end of the object, so that what follows it can be checked.
    std::string_view rest;
    if (const auto err = object.raw_json().get(rest)) return Json(Where(), err);
    return EmitRecord(r, out);
  }

  // The messages of a v2 record whose fields are read.
  Result<DocumentInfo> EmitRecord(const Record& r, OutputBuffer* out) {
    const size_t start = out->size();
    std::optional<Error> e;
    int64_t time = 0;
    switch (r.action) {
      case 'B':
      case 'C': {
        Result<int64_t> t = CommitTime(r.timestamp, "timestamp");
        if (!t.ok()) return t.error();
        time = t.value();
        out->Append();
        break;
      }
      case 'I':
        if ((e = EmitInsert(*r.schema, *r.table, out))) return *e;
        break;
      case 'T':
        if ((e = EmitTruncate(*r.schema, *r.table, out))) return *e;
        break;
      default:
        break;
    }
    for (size_t i = start; i < out->size(); ++i) (*out)[i].lsn = Position(r.lsn);
    if (r.action == 'B') {
      Output& o = (*out)[start];
      out->Set(o, pgoutput::BeginMessage{o.lsn, time, r.xid.value_or(0)});
      in_transaction_ = true;
    } else if (r.action == 'C') {
      Output& o = (*out)[start];
      out->Set(o, pgoutput::CommitMessage{0, o.lsn, r.nextlsn.value_or(o.lsn), time});
      in_transaction_ = false;
    }
    return DocumentInfo{2, r.action, out->size() - start};
  }

  // A v1 transaction: {"xid":..,"nextlsn":..,"timestamp":..,"change":[..]}.
  Result<DocumentInfo> DecodeV1(od::object& object, OutputBuffer* out) {
    const size_t start = out->size();
    Record r;
    // The Begin goes first; its fields are known at the end.
    size_t changes = 0, transactional = 0, changes_start = 0;
    for (auto f : object) {
      od::field field;
      if (const auto e = std::move(f).get(field)) return Json(Where(), e);
      const od::raw_json_string key = field.key();
      od::value value = field.value();
      if (key.unsafe_is_equal("xid")) {
        Result<std::optional<uint32_t>> xid = OptionalU32(value, Path{"xid"});
        if (!xid.ok()) return xid.error();
        r.xid = xid.value();
      } else if (key.unsafe_is_equal("timestamp")) {
        Result<std::optional<std::string_view>> s = OptionalString(value, Path{"timestamp"});
        if (!s.ok()) return s.error();
        r.timestamp = s.value();
      } else if (key.unsafe_is_equal("nextlsn")) {
        Result<std::optional<Lsn>> lsn = OptionalLsn(value, Path{"nextlsn"});
        if (!lsn.ok()) return lsn.error();
        r.nextlsn = lsn.value();
      } else if (key.unsafe_is_equal("change")) {
        if (r.has_change) return Corrupt("change: twice");
        r.has_change = true;
        changes_start = out->size();
        out->Set(out->Append(), pgoutput::BeginMessage{});  // filled in below
        if (auto e = Changes(value, out, &changes, &transactional)) return *e;
      }
    }
    if (!r.has_change) {
      return Corrupt("document: not wal2json (neither \"action\" nor \"change\")");
    }
    if (changes > 0 && transactional == 0) {
      // Only messages emitted outside any transaction: no transaction.
      out->Truncate(changes_start);
      return DocumentInfo{1, 0, 0};
    }
    return FinishV1(r, changes_start, start, out);
  }

  // v1: fills in the Begin, appends the Commit and gives every message the
  // transaction's "nextlsn" (v1 prints no other position).
  Result<DocumentInfo> FinishV1(const Record& r, size_t changes_start, size_t start,
                                OutputBuffer* out) {
    Result<int64_t> time = CommitTime(r.timestamp, "timestamp");
    if (!time.ok()) return time.error();
    out->Append();
    for (size_t i = changes_start; i < out->size(); ++i) (*out)[i].lsn = Position(r.nextlsn);
    Output& begin = (*out)[changes_start];
    out->Set(begin, pgoutput::BeginMessage{begin.lsn, time.value(), r.xid.value_or(0)});
    Output& commit = (*out)[out->size() - 1];
    out->Set(commit, pgoutput::CommitMessage{0, commit.lsn, commit.lsn, time.value()});
    return DocumentInfo{1, 0, out->size() - start};
  }

  od::parser parser_;
  std::string copy_;  // DecodeCopy's padded copy

  std::vector<Relation> relations_;  // index = id - kFirstRelationId
  // TableKey(schema, table) -> indices into relations_, the latest last.
  std::unordered_map<std::string, std::vector<uint32_t>> by_table_;
  std::string table_key_;
  size_t last_relation_ = SIZE_MAX;  // the one the previous row used

  // Per-document scratch, kept for its storage.
  std::vector<Column> columns_;
  std::vector<std::string_view> names_, types_;
  std::vector<Oid> oids_;
  std::vector<Column> values_;
  char action_ = 0;
  int64_t change_index_ = -1;
  bool typeoids_ = false;  // the row's first column had a "typeoid"
  // The relation columns_ was found equal to while parsed (ParseColumns).
  size_t matched_relation_ = SIZE_MAX;

  std::string last_time_text_;  // the last "timestamp" parsed, and its value
  std::optional<int64_t> last_time_;

  Lsn last_lsn_;
  bool saw_real_lsn_ = false;
  bool saw_synthetic_lsn_ = false;
  bool saw_time_ = false;
  bool saw_no_time_ = false;
  bool in_transaction_ = false;
};

Wal2JsonDecoder::Wal2JsonDecoder() : impl_(std::make_unique<Impl>()) {}
Wal2JsonDecoder::~Wal2JsonDecoder() = default;
Wal2JsonDecoder::Wal2JsonDecoder(Wal2JsonDecoder&&) noexcept = default;
Wal2JsonDecoder& Wal2JsonDecoder::operator=(Wal2JsonDecoder&&) noexcept = default;

Result<DocumentInfo> Wal2JsonDecoder::Decode(std::string_view document, OutputBuffer* out) {
  return impl_->DecodeCopy(document, out);
}
Result<DocumentInfo> Wal2JsonDecoder::DecodePadded(std::string_view document, OutputBuffer* out) {
  return impl_->Decode(document, out);
}
bool Wal2JsonDecoder::lsns_real() const { return impl_->lsns_real(); }
bool Wal2JsonDecoder::timestamps_real() const { return impl_->timestamps_real(); }
bool Wal2JsonDecoder::in_transaction() const { return impl_->in_transaction(); }
size_t Wal2JsonDecoder::relations() const { return impl_->relations(); }

}  // namespace partwatch::wal2json
