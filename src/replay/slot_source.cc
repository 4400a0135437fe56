#include "src/replay/slot_source.h"

#include <spdlog/spdlog.h>

#include "decoder/wal2json.h"

namespace partwatch::replay {

namespace {

constexpr int kFetch = 10'000;

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea in hex output form ("\x0a1b") to bytes; false when malformed.
bool DecodeHexBytea(std::string_view text, std::string* out) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) return false;
  out->clear();
  out->reserve((text.size() - 2) / 2);
  for (size_t i = 2; i < text.size(); i += 2) {
    const int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

}  // namespace

// A wal2json slot's rows: one JSON document each (format-version 2).
struct SlotSource::Text {
  wal2json::Wal2JsonDecoder decoder;
  wal2json::OutputBuffer out;
};

SlotSource::SlotSource(pg::Connection conn, const std::string& slot, const std::string& publication,
                       bool skip_bad, std::optional<Lsn> upto)
    : conn_(std::move(conn)), slot_(slot), skip_bad_(skip_bad) {
  pg::QueryResult r = conn_.ExecParams(
      "SELECT plugin, active, active_pid, confirmed_flush_lsn, database = current_database(), "
      "slot_type FROM pg_replication_slots WHERE slot_name = $1",
      {slot});
  if (r.rows() == 0)
    throw ReplayError("slot " + slot + ": no such replication slot on this server");
  if (r.text(0, 5) != "logical")
    throw ReplayError("slot " + slot + ": a physical slot; replay reads logical slots");
  if (r.text(0, 4) != "t") {
    throw ReplayError("slot " + slot +
                      ": belongs to another database; connect (source.dsn) to that one");
  }
  if (r.text(0, 1) == "t") {
    throw ReplayError("slot " + slot + ": in use by process " + r.text(0, 2) +
                      " (a running `partwatch run`?); a slot in use cannot be peeked: stop it, or "
                      "replay its capture ([capture] dir)");
  }
  plugin_ = r.text(0, 0);
  if (auto c = Lsn::Parse(r.text(0, 3))) confirmed_ = *c;
  const std::string upto_sql = upto ? conn_.QuoteLiteral(upto->ToString()) + "::pg_lsn" : "NULL";
  std::string select;
  if (plugin_ == "pgoutput") {
    // Protocol 1: the whole of each transaction at its commit (nothing
    // streamed), as a peek decodes it.
    select = "SELECT lsn::text, data FROM pg_logical_slot_peek_binary_changes(" +
             conn_.QuoteLiteral(slot) + ", " + upto_sql +
             ", NULL, 'proto_version', '1', 'publication_names', " +
             conn_.QuoteLiteral(conn_.QuoteIdent(publication)) + ")";
    decoder_.emplace(1);
  } else if (plugin_ == "wal2json") {
    select = "SELECT lsn::text, data FROM pg_logical_slot_peek_changes(" +
             conn_.QuoteLiteral(slot) + ", " + upto_sql +
             ", NULL, 'format-version', '2', 'include-xids', '1', 'include-timestamp', '1', "
             "'include-lsn', '1')";
    text_ = std::make_unique<Text>();
  } else {
    throw ReplayError("slot " + slot + ": plugin " + plugin_ +
                      "; replay reads pgoutput and wal2json slots");
  }
  conn_.Exec("SET bytea_output = hex");  // whatever the role's or database's setting
  conn_.Exec("BEGIN");
  conn_.Exec("DECLARE partwatch_peek NO SCROLL CURSOR FOR " + select);
  spdlog::info("replay: peeking at slot {} ({}), confirmed up to {}", slot_, plugin_,
               confirmed_.ToString());
}

SlotSource::~SlotSource() {
  try {
    if (conn_.connected()) conn_.TryExec("ROLLBACK");
  } catch (...) {
  }
}

bool SlotSource::Fetch() {
  if (done_) return false;
  pg::QueryResult r = conn_.Exec("FETCH " + std::to_string(kFetch) + " FROM partwatch_peek");
  if (r.rows() == 0) {
    done_ = true;
    return false;
  }
  std::string bytes;
  for (int i = 0; i < r.rows(); ++i) {
    ++records_;
    Item item;
    item.kind = Item::Kind::kMessage;
    if (auto l = Lsn::Parse(r.text(i, 0))) item.lsn = *l;
    last_lsn_ = std::max(last_lsn_, item.lsn);
    if (text_) {
      text_->out.clear();
      Result<wal2json::DocumentInfo> d = text_->decoder.Decode(r.value(i, 1), &text_->out);
      if (!d.ok()) {
        if (!skip_bad_)
          throw ReplayError(name() + ": change at " + item.lsn.ToString() + ": " +
                            d.error().message);
        ++skipped_;
        continue;
      }
      for (size_t k = 0; k < text_->out.size(); ++k) {
        Item m;
        m.kind = Item::Kind::kMessage;
        m.lsn = text_->out[k].lsn;
        m.message = std::move(text_->out[k].message);
        pending_.push_back(std::move(m));
      }
      continue;
    }
    if (!DecodeHexBytea(r.text(i, 1), &bytes)) {
      if (!skip_bad_)
        throw ReplayError(name() + ": change at " + item.lsn.ToString() + ": malformed bytea");
      ++skipped_;
      continue;
    }
    Result<pgoutput::Message> m =
        decoder_->Decode(std::as_bytes(std::span(bytes.data(), bytes.size())));
    if (!m.ok()) {
      if (!skip_bad_) {
        throw ReplayError(name() + ": change at " + item.lsn.ToString() + ": " + m.error().message);
      }
      ++skipped_;
      continue;
    }
    item.message = std::move(m).value();
    pending_.push_back(std::move(item));
  }
  return true;
}

bool SlotSource::Next(Item* item) {
  while (pending_.empty()) {
    if (!Fetch()) return false;
  }
  *item = std::move(pending_.front());
  pending_.pop_front();
  return true;
}

}  // namespace partwatch::replay
