#include "src/replay/wal_source.h"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>

#include "decoder/wal/changes.h"
#include "decoder/wal/datum_text.h"
#include "decoder/wal/reader.h"
#include "decoder/wal/tuple.h"
#include "src/replay/wal_files.h"

namespace partwatch::replay {
namespace {

constexpr size_t kMaxSegmentSize = size_t{1} << 30;
constexpr int64_t kUtcSlotMicros = 15 * 60 * 1'000'000LL;  // offsets looked up per 15 minutes
constexpr int64_t kUnixEpochIn2000 = 946'684'800;          // seconds 1970 -> 2000
constexpr size_t kMaxServerTexts = 1 << 17;

std::string FileName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

// One watched relfilenode: which table and how its key is read.
struct Relation {
  size_t table = 0;  // index into tables_
};

struct Table {
  std::string nspname, relname;  // the DEFAULT partition
  std::string key;               // the key column's name
  uint32_t default_oid = 0;
  wal::TupleDesc desc;
  int key_attnum = 0;
  std::optional<wal::KeyType> type;  // nullopt: through the server's output function
  uint32_t type_oid = 0;
  int16_t type_len = 0;
  bool type_byval = false;
  std::string type_name;
  bool described = false;  // a Relation message was sent
};

std::optional<wal::KeyType> NativeType(const std::string& typname) {
  if (typname == "text" || typname == "varchar" || typname == "bpchar") return wal::KeyType::kText;
  if (typname == "int2") return wal::KeyType::kInt2;
  if (typname == "int4") return wal::KeyType::kInt4;
  if (typname == "int8") return wal::KeyType::kInt8;
  if (typname == "date") return wal::KeyType::kDate;
  if (typname == "timestamp") return wal::KeyType::kTimestamp;
  if (typname == "timestamptz") return wal::KeyType::kTimestamptz;
  if (typname == "uuid") return wal::KeyType::kUuid;
  if (typname == "bool") return wal::KeyType::kBool;
  return std::nullopt;
}

}  // namespace

struct WalSource::Impl {
  pg::Connection conn;
  std::vector<WalFileName> files;
  std::string label;
  std::vector<Table> tables;
  std::vector<Relation> relations;  // parallel to the tracker's watched relations
  uint32_t db_oid = 0;
  std::string server_sysid;
  bool utc = true;
  std::unordered_map<int64_t, int32_t> offsets;  // 15-minute slot -> UTC offset (s)
  std::unordered_map<std::string, std::string> server_texts;

  std::unique_ptr<wal::ChangeTracker> tracker;
  wal::WalReader reader;
  std::vector<std::byte> segment;
  size_t next_file = 0;  // files_[next_file - 1] is being read
  uint32_t segment_size = 0;
  bool done = false;
  int64_t records = 0;
  std::vector<std::string> warnings;
  std::vector<bool> dropped_said;

  // The commit being handed out as items.
  wal::CommittedChanges commit;
  enum class Emit { kNone, kBegin, kRelations, kRows, kTruncates, kCommit } emit = Emit::kNone;
  size_t row = 0;
  int64_t left = 0;
  wal::Record record;

  void LoadCatalog(const std::vector<TableInfo>& infos, const WalSourceOptions& options);
  wal::KeyRead ReadKey(size_t relation, const wal::HeapTupleRef& tuple);
  int32_t UtcOffset(int64_t micros);
  std::optional<std::string> ServerText(const Table& t, std::span<const std::byte> bytes,
                                        std::string* error);
  bool OpenNext();
  bool ReadUntilCommit();
  bool EmitOne(Item* item);
  void Finish();
  // Throws a ReplayError naming the file being read and where it starts.
  [[noreturn]] void Fail(const std::string& what) const {
    std::string file;
    if (next_file > 0) {
      const WalFileName& f = files[next_file - 1];
      file = FileName(f.path);
      if (segment_size != 0)
        file += " (WAL from " + Lsn(f.SegNo(segment_size) * segment_size).ToString() + ")";
      file += ": ";
    }
    throw ReplayError(file + what);
  }
};

void WalSource::Impl::LoadCatalog(const std::vector<TableInfo>& infos,
                                  const WalSourceOptions& options) {
  pg::QueryResult db = conn.Exec(
      "SELECT d.oid, d.dattablespace, pg_encoding_to_char(d.encoding) FROM pg_database d "
      "WHERE d.datname = current_database()");
  db_oid = static_cast<uint32_t>(db.int64(0, 0));
  const uint32_t db_space = static_cast<uint32_t>(db.int64(0, 1));
  const std::string encoding = db.text(0, 2);
  pg::QueryResult sys = conn.TryExec("SELECT system_identifier::text FROM pg_control_system()");
  if (sys.ok()) server_sysid = sys.text(0, 0);
  const std::string tz = conn.Exec("SHOW TimeZone").text(0, 0);
  utc = tz == "UTC" || tz == "Etc/UTC" || tz == "GMT" || tz == "Etc/GMT" || tz == "UCT" ||
        tz == "Zulu" || tz == "Etc/UCT" || tz == "Etc/Zulu";

  std::vector<wal::WatchedRelation> watched;
  for (const TableInfo& info : infos) {
    Table t;
    t.nspname = info.default_partition.nspname;
    t.relname = info.default_partition.relname;
    t.default_oid = info.default_partition.oid;
    if (t.default_oid == 0) continue;  // no DEFAULT: nothing to find
    t.key = info.key.empty() ? "" : info.key[0].name;
    const std::string oid = std::to_string(t.default_oid);
    pg::QueryResult rel = conn.ExecParams(
        "SELECT pg_relation_filenode(c.oid), c.reltablespace FROM pg_class c WHERE c.oid = $1",
        {oid});
    if (rel.rows() != 1 || rel.is_null(0, 0)) {
      throw ReplayError(info.DisplayName() + ": its DEFAULT partition has no relation file");
    }
    const uint32_t filenode = static_cast<uint32_t>(rel.int64(0, 0));
    const uint32_t space = static_cast<uint32_t>(rel.int64(0, 1));
    pg::QueryResult atts = conn.ExecParams(
        "SELECT a.attnum, a.attlen, a.attalign, a.attbyval, a.attisdropped, a.attname, "
        "       a.atttypid, coalesce(t.typname, ''), coalesce(bt.typname, ''), "
        "       format_type(a.atttypid, a.atttypmod) "
        "FROM pg_attribute a LEFT JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_type bt ON bt.oid = t.typbasetype "
        "WHERE a.attrelid = $1 AND a.attnum > 0 ORDER BY a.attnum",
        {oid});
    for (int r = 0; r < atts.rows(); ++r) {
      if (atts.int64(r, 0) != r + 1) {
        throw ReplayError(t.nspname + "." + t.relname + ": attribute numbers are not contiguous");
      }
      wal::Attribute a;
      a.len = static_cast<int16_t>(atts.int64(r, 1));
      a.align = atts.text(r, 2).empty() ? 'c' : atts.text(r, 2)[0];
      a.byval = atts.text(r, 3) == "t";
      a.dropped = atts.text(r, 4) == "t";
      t.desc.attributes.push_back(a);
      if (!a.dropped && atts.text(r, 5) == t.key) {
        t.key_attnum = r + 1;
        t.type_oid = static_cast<uint32_t>(atts.int64(r, 6));
        const std::string base = atts.text(r, 8);  // a domain's base type
        const std::string typname = base.empty() ? atts.text(r, 7) : base;
        t.type_name = atts.text(r, 9);
        t.type_len = a.len;
        t.type_byval = a.byval;
        t.type = NativeType(typname);
        if (!t.type && (a.len < 0 || (!a.byval && typname != "macaddr" && typname != "macaddr8"))) {
          throw ReplayError(info.DisplayName() + ": key " + t.key + " is of type " + t.type_name +
                            ", which cannot be read from WAL (text, varchar, char, integers, "
                            "date, timestamp, timestamptz, uuid, boolean and fixed-length types "
                            "passed by value can)");
        }
      }
    }
    if (t.key_attnum == 0) {
      throw ReplayError(t.nspname + "." + t.relname + ": no column " + t.key);
    }
    if (t.type == wal::KeyType::kText && encoding != "UTF8") {
      warnings.push_back("database encoding " + encoding +
                         ": text keys are shown as stored, not converted to UTF-8");
    }
    relations.push_back(Relation{tables.size()});
    watched.push_back(
        wal::WatchedRelation{{space != 0 ? space : db_space, db_oid, filenode}, t.default_oid});
    tables.push_back(std::move(t));
  }
  for (const std::string& spec : options.relfilenodes) {
    const size_t eq = spec.find('=');
    uint32_t node = 0;
    bool ok = eq != std::string::npos && eq > 0;
    for (size_t i = 0; ok && i < eq; ++i) {
      ok = spec[i] >= '0' && spec[i] <= '9' && node < 400'000'000u;
      node = node * 10 + static_cast<uint32_t>(spec[i] - '0');
    }
    if (!ok || node == 0) {
      throw std::invalid_argument("--relfilenode '" + spec +
                                  "': expected N=TABLE, e.g. 16423=public.orders");
    }
    const std::string name = spec.substr(eq + 1);
    size_t found = tables.size();
    for (size_t i = 0; i < infos.size(); ++i) {
      if (infos[i].configured_name == name || infos[i].DisplayName() == name ||
          "public." + infos[i].configured_name == name) {
        for (size_t k = 0; k < tables.size(); ++k) {
          if (tables[k].default_oid == infos[i].default_partition.oid) found = k;
        }
      }
    }
    if (found == tables.size()) {
      throw std::invalid_argument("--relfilenode " + spec + ": " + name +
                                  " is not a configured table with a DEFAULT partition");
    }
    wal::WatchedRelation w = watched[found];
    w.rnode.rel = node;
    relations.push_back(Relation{found});
    watched.push_back(w);
  }
  if (tables.empty()) throw ReplayError("none of the configured tables has a DEFAULT partition");
  dropped_said.assign(watched.size(), false);
  tracker = std::make_unique<wal::ChangeTracker>(
      db_oid, std::move(watched),
      [this](size_t rel, const wal::HeapTupleRef& tuple) { return ReadKey(rel, tuple); });
}

int32_t WalSource::Impl::UtcOffset(int64_t micros) {
  if (utc) return 0;
  const int64_t slot =
      micros >= 0 ? micros / kUtcSlotMicros : (micros - kUtcSlotMicros + 1) / kUtcSlotMicros;
  if (auto it = offsets.find(slot); it != offsets.end()) return it->second;
  // A week of slots at once: one query per week of history.
  const int64_t first = slot * (kUtcSlotMicros / 1'000'000) + kUnixEpochIn2000;
  constexpr int kSlots = 7 * 24 * 4;
  pg::QueryResult r = conn.ExecParams(
      "SELECT extract(timezone FROM to_timestamp(s))::int FROM generate_series($1::bigint, "
      "$1::bigint + $2::bigint * 900 - 1, 900) s",
      {std::to_string(first), std::to_string(kSlots)});
  if (offsets.size() > 1'000'000) offsets.clear();
  for (int i = 0; i < r.rows(); ++i) offsets[slot + i] = static_cast<int32_t>(r.int64(i, 0));
  return offsets[slot];
}

std::optional<std::string> WalSource::Impl::ServerText(const Table& t,
                                                       std::span<const std::byte> bytes,
                                                       std::string* error) {
  std::string key(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  key.push_back(static_cast<char>(&t - tables.data()));
  if (auto it = server_texts.find(key); it != server_texts.end()) return it->second;
  // The binary form the type's receive function reads: a value passed by
  // value is its integer in network byte order; macaddr's bytes as stored.
  std::string param(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (t.type_byval) std::reverse(param.begin(), param.end());
  const Oid types[1] = {t.type_oid};
  const char* values[1] = {param.data()};
  const int lengths[1] = {static_cast<int>(param.size())};
  const int formats[1] = {1};
  pg::QueryResult r(
      PQexecParams(conn.get(), "SELECT $1::text", 1, types, values, lengths, formats, 0));
  if (!r.ok()) {
    *error = "the server cannot read a " + t.type_name + ": " + r.error_message();
    return std::nullopt;
  }
  if (server_texts.size() >= kMaxServerTexts) server_texts.clear();
  return server_texts[key] = r.text(0, 0);
}

wal::KeyRead WalSource::Impl::ReadKey(size_t relation, const wal::HeapTupleRef& tuple) {
  const Table& t = tables[relations[relation].table];
  wal::KeyRead out;
  Result<wal::Datum> d = wal::FetchAttribute(t.desc, t.key_attnum, tuple);
  if (!d.ok()) {
    out.status = wal::KeyRead::Status::kUnreadable;
    out.text = "damaged tuple: " + d.error().message;
    return out;
  }
  std::string decompressed;
  std::span<const std::byte> bytes = d->bytes;
  switch (d->kind) {
    case wal::Datum::Kind::kNull:
      out.status = wal::KeyRead::Status::kNull;
      return out;
    case wal::Datum::Kind::kExternal:
      out.status = wal::KeyRead::Status::kUnreadable;
      out.text = "a key stored out of line (TOAST) is not in the heap record";
      return out;
    case wal::Datum::Kind::kCompressed: {
      Result<std::string> raw = wal::Decompress(d.value());
      if (!raw.ok()) {
        out.status = wal::KeyRead::Status::kUnreadable;
        out.text = "compressed key: " + raw.error().message;
        return out;
      }
      decompressed = std::move(raw.value());
      bytes = std::as_bytes(std::span<const char>(decompressed.data(), decompressed.size()));
      break;
    }
    case wal::Datum::Kind::kValue:
      break;
  }
  if (t.type) {
    Result<std::string> text =
        wal::DatumText(*t.type, bytes, [this](int64_t micros) { return UtcOffset(micros); });
    if (!text.ok()) {
      out.status = wal::KeyRead::Status::kUnreadable;
      out.text = text.error().message;
      return out;
    }
    out.text = std::move(text.value());
    return out;
  }
  std::string error;
  if (auto text = ServerText(t, bytes, &error)) {
    out.text = std::move(*text);
  } else {
    out.status = wal::KeyRead::Status::kUnreadable;
    out.text = error;
  }
  return out;
}

bool WalSource::Impl::OpenNext() {
  if (next_file >= files.size()) return false;
  const WalFileName& f = files[next_file];
  ++next_file;
  const size_t limit = segment_size != 0 ? segment_size : kMaxSegmentSize;
  ReadWalFile(f, limit, &segment);
  if (segment_size == 0) {
    Result<wal::PageHeader> h = wal::ParsePageHeader(segment);
    if (!h.ok() || !(h->info & wal::kPageLongHeader)) {
      Fail("not a WAL segment (no long page header at its start)");
    }
    segment_size = h->segment_size;
    if (!server_sysid.empty() && std::to_string(h->system_identifier) != server_sysid) {
      Fail("WAL of database system " + std::to_string(h->system_identifier) +
           ", but the configured server is system " + server_sysid +
           ": its catalog cannot describe this WAL (replay the archive with a configuration "
           "pointing at that cluster or one of its standbys)");
    }
  }
  if (segment_size < (1u << 20) || segment_size > (1u << 30) ||
      (segment_size & (segment_size - 1))) {
    Fail("segment size " + std::to_string(segment_size) + " in the long header is impossible");
  }
  if (next_file >= 2) {
    const WalFileName& prev = files[next_file - 2];
    if (f.timeline != prev.timeline) {
      Fail("timeline " + std::to_string(f.timeline) + " follows " + FileName(prev.path) +
           " of timeline " + std::to_string(prev.timeline) +
           ": replay reads one timeline; give the files of one with --wal");
    }
    if (f.SegNo(segment_size) != prev.SegNo(segment_size) + 1) {
      Fail("does not follow " + FileName(prev.path) + ": the segments between are missing");
    }
    if (prev.partial) Fail(FileName(prev.path) + " is a .partial segment, yet more follow");
  }
  Result<bool> begun = reader.BeginSegment(segment, f.timeline, f.SegNo(segment_size));
  if (!begun.ok()) Fail(begun.error().message);
  return true;
}

void WalSource::Impl::Finish() {
  done = true;
  if (reader.in_partial_record()) {
    warnings.push_back("the WAL ends inside a record (at " + reader.position().ToString() +
                       "); it was not counted");
  }
  const auto& st = tracker->stats();
  spdlog::info(
      "replay {}: {} WAL records; {} rows into DEFAULT partitions read ({} from full-page "
      "images), {} of them in transactions that rolled back",
      label, records, st.rows_from_data + st.rows_from_image, st.rows_from_image, st.rows_aborted);
  if (tracker->open_rows() > 0) {
    warnings.push_back(std::to_string(tracker->open_rows()) + " rows of " +
                       std::to_string(tracker->open_transactions()) +
                       " transactions that had not ended where the WAL ends were not counted");
  }
  if (st.rows_abandoned > 0) {
    warnings.push_back(std::to_string(st.rows_abandoned) +
                       " rows of transactions that never ended (a crash) were not counted");
  }
  for (size_t r = 0; r < relations.size(); ++r) {
    if (tracker->unreadable()[r] > 0) {
      const Table& t = tables[relations[r].table];
      warnings.push_back(
          std::to_string(tracker->unreadable()[r]) + " rows of " + t.nspname + "." + t.relname +
          " not counted: their key could not be read: " + tracker->unreadable_reason()[r]);
    }
  }
  // Inserts into relation files the catalog does not name now: a DEFAULT
  // rewritten since, or dropped tables.  Files that belong to a relation
  // today are other tables: summed, not listed.
  std::vector<std::pair<int64_t, uint32_t>> gone;
  int64_t other_rows = 0;
  for (const auto& [node, count] : tracker->unmapped()) {
    pg::QueryResult r = conn.ExecParams("SELECT pg_filenode_relation(0, $1::oid) IS NOT NULL",
                                        {std::to_string(node)});
    if (r.text(0, 0) == "t") {
      other_rows += count;
    } else {
      gone.emplace_back(count, node);
    }
  }
  std::sort(gone.rbegin(), gone.rend());
  if (!gone.empty()) {
    std::string list;
    for (size_t i = 0; i < gone.size() && i < 10; ++i) {
      list += (i ? ", " : "") + std::to_string(gone[i].second) + " (" +
              std::to_string(gone[i].first) + " rows";
      const auto removed = tracker->removed_files().find(gone[i].second);
      if (removed != tracker->removed_files().end()) {
        list += ", removed at " + removed->second.ToString();
      }
      list += ")";
    }
    warnings.push_back("inserts into " + std::to_string(gone.size()) +
                       " relation files no relation has today: " + list +
                       ". If one was a DEFAULT partition before a TRUNCATE, VACUUM FULL, CLUSTER "
                       "or drain, map it with --relfilenode N=TABLE");
  }
  spdlog::debug("replay {}: {} inserts into other tables' files", label, other_rows);
}

bool WalSource::Impl::ReadUntilCommit() {
  while (true) {
    if (next_file == 0 && !OpenNext()) return false;
    Result<wal::WalReader::Step> step = reader.Next(&record);
    if (!step.ok()) Fail(step.error().message);
    switch (step.value()) {
      case wal::WalReader::Step::kRecord: {
        ++records;
        Result<bool> got = tracker->OnRecord(record, &commit);
        if (!got.ok()) Fail(got.error().message);
        if (got.value()) return true;
        if ((records & 63) == 0) return false;  // let the caller draw progress
        break;
      }
      case wal::WalReader::Step::kSegmentEnd:
        if (!OpenNext()) {
          Finish();
          return false;
        }
        break;
      case wal::WalReader::Step::kEndOfWal:
        if (next_file < files.size()) {
          Fail("the WAL ends here (" + reader.end_reason() + "), but " +
               FileName(files[next_file].path) + " follows: a damaged or incomplete segment");
        }
        Finish();
        return false;
    }
  }
}

bool WalSource::Impl::EmitOne(Item* item) {
  item->kind = Item::Kind::kMessage;
  item->lsn = commit.lsn;
  switch (emit) {
    case Emit::kNone:
      return false;
    case Emit::kBegin:
      for (size_t rel : commit.files_dropped) {
        if (dropped_said[rel]) continue;
        dropped_said[rel] = true;
        const Table& t = tables[relations[rel].table];
        warnings.push_back("the file of " + t.nspname + "." + t.relname +
                           " was removed by the transaction committed at " + commit.lsn.ToString() +
                           " (TRUNCATE, VACUUM FULL, CLUSTER or a drain's swap): rows after it "
                           "went to a file this catalog does not name");
      }
      if (commit.rows.empty() && commit.truncated.empty()) {
        emit = Emit::kNone;
        return false;
      }
      item->message = pgoutput::BeginMessage{commit.lsn, commit.commit_time, commit.xid};
      emit = Emit::kRelations;
      return true;
    case Emit::kRelations: {
      // A Relation message before a table's first row or TRUNCATE.
      const auto describe = [&](size_t rel) {
        Table& t = tables[relations[rel].table];
        if (t.described) return false;
        t.described = true;
        pgoutput::RelationMessage m;
        m.relation_id = static_cast<pgoutput::Oid>(relations[rel].table + 1);
        m.nspname = t.nspname;
        m.relname = t.relname;
        m.replica_identity = 'd';
        pgoutput::RelationColumn c;
        c.name = t.key;
        c.type_oid = t.type_oid;
        m.columns.push_back(c);
        item->message = std::move(m);
        return true;
      };
      for (const auto& r : commit.rows) {
        if (describe(r.relation)) return true;
      }
      for (size_t rel : commit.truncated) {
        if (describe(rel)) return true;
      }
      emit = Emit::kRows;
      row = 0;
      left = commit.rows.empty() ? 0 : commit.rows[0].count;
      [[fallthrough]];
    }
    case Emit::kRows: {
      while (row < commit.rows.size() && left == 0) {
        ++row;
        left = row < commit.rows.size() ? commit.rows[row].count : 0;
      }
      if (row < commit.rows.size()) {
        const auto& r = commit.rows[row];
        --left;
        auto* ins = std::get_if<pgoutput::InsertMessage>(&item->message);
        if (ins == nullptr) {
          item->message = pgoutput::InsertMessage{};
          ins = &std::get<pgoutput::InsertMessage>(item->message);
        }
        ins->xid.reset();
        ins->relation_id = static_cast<pgoutput::Oid>(relations[r.relation].table + 1);
        ins->new_tuple.columns.resize(1);
        pgoutput::TupleColumn& c = ins->new_tuple.columns[0];
        c.kind = r.null ? pgoutput::TupleColumn::Kind::kNull : pgoutput::TupleColumn::Kind::kText;
        c.data = r.null ? std::string() : r.value;
        return true;
      }
      emit = Emit::kTruncates;
      [[fallthrough]];
    }
    case Emit::kTruncates:
      emit = Emit::kCommit;
      if (!commit.truncated.empty()) {
        pgoutput::TruncateMessage m;
        for (size_t rel : commit.truncated) {
          const auto id = static_cast<pgoutput::Oid>(relations[rel].table + 1);
          if (std::find(m.relation_ids.begin(), m.relation_ids.end(), id) == m.relation_ids.end())
            m.relation_ids.push_back(id);
        }
        item->message = std::move(m);
        return true;
      }
      [[fallthrough]];
    case Emit::kCommit:
      item->message = pgoutput::CommitMessage{0, commit.lsn, commit.end, commit.commit_time};
      emit = Emit::kNone;
      return true;
  }
  return false;
}

WalSource::WalSource(pg::Connection conn, const std::vector<TableInfo>& tables,
                     const WalSourceOptions& options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.conn = std::move(conn);
  if (!options.dir.empty()) s.files = ListWalDir(options.dir);
  for (const std::string& path : options.files) {
    auto f = ParseWalFileName(path);
    if (!f) {
      throw ReplayError(path +
                        ": not a WAL segment's name (24 hex digits, optionally "
                        ".partial, .gz, .lz4 or .zst)");
    }
    s.files.push_back(std::move(*f));
  }
  std::sort(s.files.begin(), s.files.end(), [](const WalFileName& a, const WalFileName& b) {
    return FileName(a.path) < FileName(b.path);
  });
  s.files.erase(std::unique(s.files.begin(), s.files.end(),
                            [](const WalFileName& a, const WalFileName& b) {
                              return FileName(a.path) == FileName(b.path);
                            }),
                s.files.end());
  if (s.files.empty()) {
    throw ReplayError((options.dir.empty() ? std::string("--wal") : options.dir) +
                      ": no WAL segment files");
  }
  std::vector<uint32_t> timelines;
  std::string list;  // "1 (000000010000000000000003 ...), 2 (...)"
  for (const auto& f : s.files) {
    if (std::find(timelines.begin(), timelines.end(), f.timeline) == timelines.end()) {
      timelines.push_back(f.timeline);
      list += (list.empty() ? "" : ", ") + std::to_string(f.timeline) + " (from " +
              FileName(f.path) + ")";
    }
  }
  if (timelines.size() > 1) {
    throw ReplayError((options.dir.empty() ? std::string("--wal") : options.dir) +
                      ": segments of timelines " + list +
                      ": replay reads one timeline; give the files of one with --wal");
  }
  s.label = options.dir.empty()
                ? "WAL " + FileName(s.files.front().path) + "…" + FileName(s.files.back().path)
                : "WAL " + options.dir;
  s.LoadCatalog(tables, options);
}

WalSource::~WalSource() = default;

bool WalSource::Next(Item* item) {
  Impl& s = *impl_;
  while (true) {
    if (s.EmitOne(item)) return true;
    if (s.done) return false;
    if (s.ReadUntilCommit()) {
      s.emit = Impl::Emit::kBegin;
      continue;
    }
    if (s.done) return false;
    item->kind = Item::Kind::kIdle;  // progress only
    item->lsn = s.reader.position();
    return true;
  }
}

std::string WalSource::name() const { return impl_->label; }

uint64_t WalSource::bytes_read() const {
  const Impl& s = *impl_;
  if (s.next_file == 0) return 0;
  const uint64_t seg_start = (s.next_file - 1) * uint64_t{s.segment_size};
  return seg_start + (s.reader.position().value() % std::max<uint32_t>(s.segment_size, 1));
}

uint64_t WalSource::bytes_total() const {
  return impl_->files.size() * uint64_t{std::max<uint32_t>(impl_->segment_size, 1)};
}

int64_t WalSource::records() const { return impl_->records; }

std::string WalSource::position() const { return "at " + impl_->reader.position().ToString(); }

std::vector<std::string> WalSource::warnings() const { return impl_->warnings; }

}  // namespace partwatch::replay
