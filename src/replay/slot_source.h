// A replay source over what a logical slot still retains, read with
// pg_logical_slot_peek_binary_changes (pgoutput slots, with the
// configured publication) or pg_logical_slot_peek_changes (wal2json
// slots), through a cursor so the client holds one batch at a time.
// Peeking consumes nothing: the slot's confirmed_flush_lsn and restart_lsn
// are the same afterwards.  A slot in use (a running `partwatch run`)
// cannot be peeked: the error says so.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "decoder/pgoutput.h"
#include "src/pg/connection.h"
#include "src/replay/source.h"

namespace partwatch::replay {

class SlotSource : public Source {
 public:
  // Throws ReplayError (no such slot, in use, another database's, a plugin
  // other than pgoutput or wal2json).  `upto`: stop at this position (a
  // second pass reads the same stretch as the first).
  SlotSource(pg::Connection conn, const std::string& slot, const std::string& publication,
             bool skip_bad, std::optional<Lsn> upto = std::nullopt);
  ~SlotSource() override;

  bool Next(Item* item) override;
  std::string name() const override { return "slot " + slot_; }
  const char* kind() const override { return "slot"; }
  int64_t records() const override { return records_; }
  int64_t skipped() const override { return skipped_; }

  const std::string& plugin() const { return plugin_; }
  Lsn confirmed_flush() const { return confirmed_; }
  // The last change position read (for a second pass's `upto`).
  Lsn last_lsn() const { return last_lsn_; }

 private:
  bool Fetch();

  pg::Connection conn_;
  std::string slot_;
  std::string plugin_;
  bool skip_bad_;
  Lsn confirmed_;
  std::optional<pgoutput::PgOutputDecoder> decoder_;
  struct Text;  // wal2json slots
  std::unique_ptr<Text> text_;
  std::deque<Item> pending_;
  bool done_ = false;
  int64_t records_ = 0;
  int64_t skipped_ = 0;
  Lsn last_lsn_;
};

}  // namespace partwatch::replay
