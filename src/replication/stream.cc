#include "src/replication/stream.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include <thread>

#include <spdlog/spdlog.h>

#include "decoder/walsender.h"

namespace partwatch::replication {

namespace {

// The reader stops pulling from the socket while the policy thread is this
// far behind, so a slow consumer costs no unbounded memory; the server then
// waits on the TCP window, which is what pg_recvlogical's peers see too.
constexpr size_t kMaxQueuedEvents = 20'000;

// Poll timeout cap, so `stop` is noticed promptly.
constexpr std::chrono::milliseconds kMaxPoll{100};

// Most events handed over in one bulk enqueue.
constexpr size_t kMaxBatch = 256;

// A run of keepalives is handed over at least this often while idle.
constexpr std::chrono::milliseconds kKeepaliveHandoff{100};

int64_t NowPostgresMicros() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return walsender::UnixMicrosToPostgres(
      std::chrono::duration_cast<std::chrono::microseconds>(now).count());
}

// Names in replication commands travel inside the walsender's own grammar,
// which knows '' doubling in string literals and "" doubling in identifiers
// but no E'' escapes (so PQescapeLiteral's output is not always accepted).
// Slot and publication names are restricted to [a-z0-9_] by the config; the
// doubling below is a second line of defence.
std::string DoubleQuoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
std::string SingleQuoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += (c == '\'') ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

ReplicationConnection ReplicationConnection::Open(const std::string& conninfo) {
  pg::Connection conn = pg::Connection::Open(
      conninfo, {{"replication", "database"}, {"application_name", "partwatch"}});
  // pgoutput sends text in this connection's client_encoding: the server's,
  // as on every SQL session, so values compare byte for byte.
  conn.UseServerEncoding();
  return ReplicationConnection(std::move(conn));
}

SystemIdentity ReplicationConnection::IdentifySystem() {
  pg::QueryResult r = conn_.Exec("IDENTIFY_SYSTEM");
  if (r.rows() != 1 || r.columns() < 4) {
    throw pg::PgError("IDENTIFY_SYSTEM returned an unexpected shape", "");
  }
  SystemIdentity id;
  id.system_id = r.text(0, 0);
  id.timeline = static_cast<int>(r.int64(0, 1));
  id.xlogpos = Lsn::Parse(r.value(0, 2)).value_or(Lsn());
  id.dbname = r.opt(0, 3).value_or("");
  if (id.dbname.empty()) {
    throw pg::PgError("the replication connection is not bound to a database", "");
  }
  return id;
}

CreatedSlot ReplicationConnection::CreateSlot(const std::string& slot, bool export_snapshot) {
  pg::QueryResult r =
      conn_.Exec("CREATE_REPLICATION_SLOT " + DoubleQuoted(slot) + " LOGICAL pgoutput (SNAPSHOT " +
                 (export_snapshot ? "'export'" : "'nothing'") + ")");
  CreatedSlot out;
  out.consistent_point = Lsn::Parse(r.value(0, 1)).value_or(Lsn());
  out.snapshot_name = r.opt(0, 2).value_or("");
  return out;
}

void ReplicationConnection::StartReplication(const StreamOptions& options, Lsn start) {
  std::string sql = "START_REPLICATION SLOT " + DoubleQuoted(options.slot) + " LOGICAL " +
                    start.ToString() + " (\"proto_version\" '" +
                    std::to_string(options.proto_version) + "', \"publication_names\" " +
                    SingleQuoted(DoubleQuoted(options.publication));
  if (options.proto_version >= 2 && options.streaming) sql += ", \"streaming\" 'on'";
  sql += ")";
  pg::QueryResult r = conn_.TryExec(sql);
  if (r.status() != PGRES_COPY_BOTH) throw pg::PgError(r.error_message(), r.sqlstate());
}

Reader::Reader(ReplicationConnection& conn, WalQueue& queue, const std::atomic<uint64_t>& accounted,
               const std::atomic<bool>& stop, std::chrono::milliseconds status_interval,
               std::chrono::milliseconds max_silence)
    : conn_(conn),
      queue_(queue),
      accounted_(accounted),
      stop_(stop),
      status_interval_(status_interval),
      next_status_(std::chrono::steady_clock::now() + status_interval),
      max_silence_(max_silence) {}

void Reader::CheckSilence() {
  const auto now = std::chrono::steady_clock::now();
  if (heard_) {
    heard_ = false;
    last_heard_ = now;
    next_ping_ = now + max_silence_ / 4;
    return;
  }
  const auto silent = now - last_heard_;
  if (silent >= max_silence_) {
    gave_up_ = true;
    throw pg::PgError(
        fmt::format("the server sent nothing on the replication connection for {:.1f} s, "
                    "more than the {} ms allowed (source.max_silence_ms, by default the server's "
                    "wal_sender_timeout), not even the keepalives asked for; giving up on the "
                    "connection",
                    std::chrono::duration<double>(silent).count(), max_silence_.count()),
        "");
  }
  if (now >= next_ping_) {
    SendStatus(/*reply_requested=*/true);
    next_ping_ = now + max_silence_ / 4;
  }
}

void Reader::SendStatus(bool reply_requested) {
  const Lsn flushed(accounted_.load(std::memory_order_acquire));
  walsender::StandbyStatusUpdate update;
  update.written = received_ > flushed ? received_ : flushed;
  update.flushed = flushed;
  update.applied = flushed;
  update.send_time = NowPostgresMicros();
  update.reply_requested = reply_requested;
  const std::string bytes = walsender::EncodeStandbyStatusUpdate(update);
  PGconn* c = conn_.conn().get();
  if (PQputCopyData(c, bytes.data(), static_cast<int>(bytes.size())) <= 0 || PQflush(c) != 0) {
    throw pg::PgError("could not send a standby status update: " + conn_.conn().ErrorMessage(), "");
  }
  if (flushed != last_flush_sent_) {
    spdlog::debug("confirmed flush position {} to the server", flushed.ToString());
    last_flush_sent_ = flushed;
  }
  stats_.status_updates.fetch_add(1, std::memory_order_relaxed);
  next_status_ = std::chrono::steady_clock::now() + status_interval_;
}

void Reader::HandleCopyData(pg::PqBuffer buffer, int length) {
  heard_ = true;
  const auto* bytes = reinterpret_cast<const std::byte*>(buffer.get());
  Result<walsender::CopyMessage> msg =
      walsender::DecodeCopyMessage(std::span<const std::byte>(bytes, static_cast<size_t>(length)));
  if (!msg.ok()) {
    throw pg::PgError("malformed replication message from the server: " + msg.error().message, "");
  }
  if (auto* ka = std::get_if<walsender::PrimaryKeepalive>(&msg.value())) {
    stats_.keepalives.fetch_add(1, std::memory_order_relaxed);
    if (ka->wal_end > received_) received_ = ka->wal_end;
    idle_keepalive_ = ka->wal_end;
    if (ka->reply_requested) SendStatus(false);
    return;
  }
  const auto& x = std::get<walsender::XLogData>(msg.value());
  stats_.messages.fetch_add(1, std::memory_order_relaxed);
  stats_.bytes.fetch_add(static_cast<uint64_t>(length), std::memory_order_relaxed);
  if (x.wal_end > received_) received_ = x.wal_end;
  HandOverKeepalive();  // it precedes this message in the stream
  WalEvent ev;
  ev.kind = WalEvent::Kind::kData;
  ev.wal_start = x.wal_start;
  ev.wal_end = x.wal_end;
  ev.payload_offset = static_cast<size_t>(x.payload.data() - bytes);
  ev.payload_size = x.payload.size();
  ev.buffer = std::move(buffer);
  pending_.push_back(std::move(ev));
  if (pending_.size() >= kMaxBatch) Flush();
}

void Reader::HandOverKeepalive() {
  if (!idle_keepalive_) return;
  WalEvent ev;
  ev.kind = WalEvent::Kind::kKeepalive;
  ev.wal_end = *idle_keepalive_;
  pending_.push_back(std::move(ev));
  idle_keepalive_.reset();
  last_keepalive_handoff_ = std::chrono::steady_clock::now();
}

void Reader::Flush() {
  if (idle_keepalive_ &&
      std::chrono::steady_clock::now() - last_keepalive_handoff_ >= kKeepaliveHandoff) {
    HandOverKeepalive();
  }
  if (pending_.empty()) return;
  queue_.enqueue_bulk(std::make_move_iterator(pending_.begin()), pending_.size());
  pending_.clear();
}

void Reader::Run() {
  PGconn* c = conn_.conn().get();
  pending_.reserve(kMaxBatch);
  last_heard_ = std::chrono::steady_clock::now();
  next_ping_ = last_heard_ + max_silence_ / 4;
  while (!stop_.load(std::memory_order_acquire)) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_status_) SendStatus(false);

    if (queue_.size_approx() > kMaxQueuedEvents) {
      heard_ = true;  // not reading: the server's silence cannot be judged
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }

    char* raw = nullptr;
    const int n = PQgetCopyData(c, &raw, /*async=*/1);
    if (n > 0) {
      HandleCopyData(pg::PqBuffer(raw), n);
      continue;
    }
    if (n == 0) {
      Flush();
      CheckSilence();
      // Nothing buffered: wait for the socket, but no longer than the next
      // status update is due.
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
          next_status_ - std::chrono::steady_clock::now());
      if (wait > kMaxPoll) wait = kMaxPoll;
      if (wait.count() < 0) wait = std::chrono::milliseconds(0);
      pollfd pfd{PQsocket(c), POLLIN, 0};
      const int ready = poll(&pfd, 1, static_cast<int>(wait.count()));
      if (ready < 0 && errno != EINTR) {
        throw pg::PgError(
            std::string("poll() on the replication socket failed: ") + std::strerror(errno), "");
      }
      if (ready > 0 && PQconsumeInput(c) == 0) {
        throw pg::PgError("replication connection lost: " + conn_.conn().ErrorMessage(), "");
      }
      continue;
    }
    Flush();
    if (n == -1) {
      // The server ended the copy; its result says why.
      pg::QueryResult r(PQgetResult(c));
      throw pg::PgError("the server ended the replication stream: " + r.error_message(),
                        r.sqlstate());
    }
    throw pg::PgError("replication connection failed: " + conn_.conn().ErrorMessage(), "");
  }
  HandOverKeepalive();
  Flush();  // what was read still gets counted before the final status update
}

std::string Reader::Finish() {
  if (gave_up_) return "not ending the copy: the server stopped answering";
  try {
    SendStatus(false);
  } catch (const pg::PgError& e) {
    return e.what();
  }
  PGconn* c = conn_.conn().get();
  if (PQputCopyEnd(c, nullptr) <= 0 || PQflush(c) != 0) {
    return "could not end the copy: " + conn_.conn().ErrorMessage();
  }
  // Read what is left until the server acknowledges the end of the copy.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    char* raw = nullptr;
    const int n = PQgetCopyData(c, &raw, /*async=*/1);
    if (n > 0) {
      PQfreemem(raw);  // changes after the final status update: the server resends them
      continue;
    }
    if (n == -1) break;
    if (n == -2) return "error while ending the copy: " + conn_.conn().ErrorMessage();
    if (std::chrono::steady_clock::now() > deadline)
      return "the server did not end the copy in 5 s";
    pollfd pfd{PQsocket(c), POLLIN, 0};
    poll(&pfd, 1, 100);
    PQconsumeInput(c);
  }
  while (PGresult* raw = PQgetResult(c)) {
    pg::QueryResult r(raw);
    if (!r.ok()) return r.error_message();
  }
  return "";
}

}  // namespace partwatch::replication
