#include "src/capture/writer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>
#include <zstd.h>
#include <nlohmann/json.hpp>

#include "decoder/capture.h"
#include "src/capture/segment_io.h"
#include "src/fault.h"

namespace partwatch::capture {

namespace {

std::string Errno() { return std::strerror(errno); }

void SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

// Where the newest clean point of a segment's records is: after a record
// that leaves no non-streamed transaction open and no stream block open.
struct Scan {
  size_t clean = 0;  // offset after the magic of the last clean point
  size_t valid = 0;  // bytes of whole, checked records
  bool torn = false;
  std::string error;
};

Scan ScanRecords(std::span<const std::byte> data) {
  Scan scan;
  RecordReader reader(data, /*at_end=*/true);
  Record rec;
  bool in_txn = false, in_block = false;
  for (;;) {
    const RecordReader::Status st = reader.Next(&rec);
    if (st == RecordReader::Status::kEnd) break;
    if (st == RecordReader::Status::kTorn) {
      scan.torn = true;
      break;
    }
    if (st == RecordReader::Status::kCorrupt) {
      scan.error = reader.error();
      break;
    }
    scan.valid = reader.position();
    if (rec.type == static_cast<uint8_t>(RecordType::kMessage)) {
      Lsn s, e;
      std::span<const std::byte> msg;
      if (ParseMessagePayload(rec.payload, &s, &e, &msg) && !msg.empty()) {
        switch (static_cast<char>(msg[0])) {
          case 'B':
            in_txn = true;
            break;
          case 'C':
            in_txn = false;
            break;
          case 'S':
            in_block = true;
            break;
          case 'E':
            in_block = false;
            break;
          default:
            break;
        }
      }
    }
    if (!in_txn && !in_block) scan.clean = reader.position();
  }
  return scan;
}

}  // namespace

struct Writer::Compressor {
  ZSTD_CCtx* ctx = ZSTD_createCCtx();
  Compressor() { ZSTD_CCtx_setParameter(ctx, ZSTD_c_compressionLevel, 3); }
  ~Compressor() { ZSTD_freeCCtx(ctx); }
  // Compresses `in` (ZSTD_e_flush, or ZSTD_e_end to close the frame) into `*out`.
  void Run(const std::string& in, ZSTD_EndDirective mode, std::string* out) {
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    for (;;) {
      const size_t old = out->size();
      out->resize(old + ZSTD_CStreamOutSize());
      ZSTD_outBuffer ob{out->data() + old, ZSTD_CStreamOutSize(), 0};
      const size_t left = ZSTD_compressStream2(ctx, &ob, &ib, mode);
      out->resize(old + ob.pos);
      if (ZSTD_isError(left)) throw CaptureError(std::string("zstd: ") + ZSTD_getErrorName(left));
      if (left == 0 && ib.pos == ib.size) return;
    }
  }
};

std::string RepairNewestSegment(const std::string& dir) {
  const std::vector<SegmentFile> segments = ListSegments(dir);
  if (segments.empty()) return "";
  const SegmentFile& last = segments.back();
  std::string data;
  bool truncated_frame = false;
  {
    SegmentReader reader(last.path);
    while (reader.Read(1 << 20, &data)) {
    }
    truncated_frame = reader.truncated_frame();
  }
  const auto bytes = std::as_bytes(std::span(data.data(), data.size()));
  if (!HasMagic(bytes)) {
    // Cut before even the magic was whole: nothing in it counts.
    std::filesystem::remove(last.path);
    return "capture: removed " + last.path + ", cut short before its first record";
  }
  const Scan scan = ScanRecords(bytes.subspan(kMagic.size()));
  if (!scan.error.empty()) {
    throw CaptureError(last.path + ": offset " + std::to_string(kMagic.size() + scan.valid) + ": " +
                       scan.error + "; move the file away to start a new capture");
  }
  const size_t keep = kMagic.size() + scan.clean;
  if (keep == data.size() && !truncated_frame) return "";
  if (last.zstd) {
    // Compressed: rewrite the part kept as one whole frame.
    ZSTD_CCtx* ctx = ZSTD_createCCtx();
    std::string out(ZSTD_compressBound(keep), '\0');
    const size_t n = ZSTD_compress2(ctx, out.data(), out.size(), data.data(), keep);
    ZSTD_freeCCtx(ctx);
    if (ZSTD_isError(n)) throw CaptureError(last.path + ": zstd: " + ZSTD_getErrorName(n));
    out.resize(n);
    const std::string tmp = last.path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
    if (fd < 0 || ::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size()) ||
        ::fsync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      throw CaptureError("cannot rewrite " + last.path + ": " + Errno());
    }
    ::close(fd);
    std::filesystem::rename(tmp, last.path);
  } else if (::truncate(last.path.c_str(), static_cast<off_t>(keep)) != 0) {
    throw CaptureError("cannot truncate " + last.path + ": " + Errno());
  }
  SyncDir(dir);
  std::string why;
  if (scan.torn || truncated_frame) why = "a record torn by a crash";
  if (scan.clean < scan.valid) {
    why += std::string(why.empty() ? "" : ", and ") +
           "a transaction left open: the server sends it again";
  }
  return "capture: cut " + std::to_string(data.size() - keep) + " bytes off the end of " +
         last.path + " at offset " + std::to_string(keep) + " (" + why + ")";
}

Writer::Writer(const CaptureConfig& config, SessionInfo info)
    : config_(config), info_(std::move(info)) {
  std::error_code ec;
  std::filesystem::create_directories(config_.dir, ec);
  if (ec)
    throw CaptureError("cannot create the capture directory " + config_.dir + ": " + ec.message());
  // One writer per directory: a second `run` on the same [capture] dir
  // (waiting for the slot, say) must not repair or number segments under
  // the one writing them.
  const std::string lock = (std::filesystem::path(config_.dir) / ".lock").string();
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0) throw CaptureError("cannot open " + lock + ": " + Errno());
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw CaptureError(config_.dir + " is in use by another partwatch (" + lock +
                       " is locked); give each instance its own capture.dir");
  }
  try {
    if (std::string warning = RepairNewestSegment(config_.dir); !warning.empty())
      spdlog::warn("{}", warning);
    const std::vector<SegmentFile> segments = ListSegments(config_.dir);
    seq_ = segments.empty() ? 0 : segments.back().seq;
  } catch (const CaptureError&) {
    throw;
  } catch (const std::exception& e) {
    throw CaptureError(e.what());
  }
  processed_ = written_ = durable_ = info_.start_lsn;
  OpenSegment(info_.start_lsn, /*session_start=*/true);
}

Writer::~Writer() {
  try {
    if (!broken_) Flush(/*force=*/true);
  } catch (const std::exception& e) {
    spdlog::error("capture: {}", e.what());
  }
  if (!broken_) CloseSegment();
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

std::string Writer::HeaderJson(Lsn start) const {
  nlohmann::json h{{"format", 1},
                   {"system_identifier", info_.system_identifier},
                   {"timeline", info_.timeline},
                   {"slot", info_.slot},
                   {"proto_version", info_.proto_version},
                   {"start_lsn", start.ToString()},
                   {"created_unix", std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()},
                   {"tables", nlohmann::json::parse(info_.tables_json)}};
  return h.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Writer::OpenSegment(Lsn start, bool session_start) {
  ++seq_;
  path_ = (std::filesystem::path(config_.dir) / SegmentName(seq_, config_.zstd)).string();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd_ < 0) throw CaptureError("cannot create " + path_ + ": " + Errno());
  segment_bytes_ = 0;
  if (config_.zstd) zstd_ = std::make_unique<Compressor>();
  std::string head(kMagic);
  AppendRecord(RecordType::kHeader, HeaderJson(start), &head);
  if (session_start) AppendLsnRecord(RecordType::kSessionStart, start, &head);
  // A segment can be read on its own (pruning removes older ones): it
  // repeats the relations described so far, which the server sends only
  // once per session.
  for (const auto& [oid, bytes] : relations_) {
    AppendMessage(start, start, std::as_bytes(std::span(bytes.data(), bytes.size())), &head);
  }
  buffer_.insert(0, head);
  WriteAll(buffer_);
  buffer_.clear();
  Sync();
  SyncDir(config_.dir);
  spdlog::info("capture: writing {}", path_);
}

void Writer::CloseSegment() {
  if (fd_ < 0) return;
  if (zstd_) {
    scratch_.clear();
    zstd_->Run("", ZSTD_e_end, &scratch_);
    if (!scratch_.empty() && ::write(fd_, scratch_.data(), scratch_.size()) < 0) {
      spdlog::error("capture: cannot write {}: {}", path_, Errno());
    }
    zstd_.reset();
  }
  (void)::fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
}

void Writer::WriteAll(const std::string& bytes) {
  const std::string* out = &bytes;
  if (zstd_) {
    scratch_.clear();
    zstd_->Run(bytes, ZSTD_e_flush, &scratch_);
    out = &scratch_;
  }
  size_t done = 0;
  while (done < out->size()) {
    const ssize_t n = ::write(fd_, out->data() + done, out->size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Part of the batch may be on disk: nothing more may be written after
      // it (the next session cuts the torn record off).
      broken_ = true;
      throw CaptureError("cannot write " + path_ + ": " + Errno());
    }
    done += static_cast<size_t>(n);
  }
  segment_bytes_ += bytes.size();
  if (!out->empty()) unsynced_ = true;
}

void Writer::Sync() {
  if (::fdatasync(fd_) != 0) {
    broken_ = true;
    throw CaptureError("cannot fsync " + path_ + ": " + Errno());
  }
  unsynced_ = false;
  last_sync_ = std::chrono::steady_clock::now();
}

void Writer::Append(const replication::WalEvent& ev) {
  // Keepalives are not recorded: replay needs nothing from them, and with
  // one per commit they were most of a capture's bytes (bench/stream_bench.sh:
  // 17 of every ~30 bytes per transaction).  Confirming past an idle point
  // needs nothing durable beyond the records already written.
  if (ev.kind == replication::WalEvent::Kind::kKeepalive) return;
  const auto* base = reinterpret_cast<const std::byte*>(ev.buffer.get());
  const std::span<const std::byte> msg(base + ev.payload_offset, ev.payload_size);
  if (!msg.empty()) {
    // Where transactions begin and end, so segments rotate between them;
    // and the relations, repeated at the start of each segment.
    switch (static_cast<char>(msg[0])) {
      case 'B':
        in_txn_ = true;
        break;
      case 'C':
        in_txn_ = false;
        break;
      case 'S':
        in_block_ = true;
        break;
      case 'E':
        in_block_ = false;
        break;
      case 'R': {
        // Inside a stream block a 4-byte xid precedes the relation id; the
        // copy kept is the form sent outside one.
        const size_t xid = in_block_ ? 4 : 0;
        if (msg.size() >= 1 + xid + 4) {
          uint32_t oid = 0;
          for (size_t i = 0; i < 4; ++i)
            oid = oid << 8 | std::to_integer<uint32_t>(msg[1 + xid + i]);
          std::string bytes(1, 'R');
          bytes.append(reinterpret_cast<const char*>(msg.data()) + 1 + xid, msg.size() - 1 - xid);
          relations_[oid] = std::move(bytes);
        }
        break;
      }
      default:
        break;
    }
  }
  AppendMessage(ev.wal_start, ev.wal_end, msg, &buffer_);
  last_wal_end_ = std::max(last_wal_end_, ev.wal_end);
}

void Writer::Tables(const std::string& tables_json) {
  info_.tables_json = tables_json;
  AppendRecord(RecordType::kTables, tables_json, &buffer_);
}

void Writer::Processed(Lsn accounted) { processed_ = std::max(processed_, accounted); }

Lsn Writer::Flush(bool force) {
  if (broken_) throw CaptureError(path_ + ": capture stopped after an earlier write error");
  if (!buffer_.empty()) {
    WriteAll(buffer_);
    buffer_.clear();
    // Written, not yet fsync'ed, not yet confirmed: a kill here leaves
    // records the server will send again.
    FaultPoint("capture.written");
  }
  written_ = processed_;
  if (unsynced_ &&
      (force || std::chrono::steady_clock::now() - last_sync_ >= config_.sync_interval)) {
    Sync();
  }
  if (!unsynced_) durable_ = written_;
  // Rotate only between transactions (and stream blocks): a segment never
  // starts inside one, so the tail repair and a replay of a single segment
  // see whole transactions.
  if (segment_bytes_ >= static_cast<uint64_t>(config_.segment_size) && !in_txn_ && !in_block_) {
    Sync();
    durable_ = written_;
    CloseSegment();
    OpenSegment(last_wal_end_.valid() ? last_wal_end_ : info_.start_lsn, /*session_start=*/false);
    Prune();
  }
  return durable_;
}

void Writer::Prune() {
  std::vector<SegmentFile> segments;
  try {
    segments = ListSegments(config_.dir);
  } catch (const std::exception& e) {
    spdlog::warn("capture: {}", e.what());
    return;
  }
  uint64_t total = 0;
  for (const SegmentFile& s : segments) total += s.size;
  const auto now = std::filesystem::file_time_type::clock::now();
  for (const SegmentFile& s : segments) {
    if (s.seq >= seq_) break;  // never the one being written
    std::error_code ec;
    const auto mtime = std::filesystem::last_write_time(s.path, ec);
    const bool too_old = config_.retain.count() > 0 && !ec && now - mtime > config_.retain;
    const bool too_big = config_.max_size > 0 && total > static_cast<uint64_t>(config_.max_size);
    if (!too_old && !too_big) break;
    if (std::filesystem::remove(s.path, ec)) {
      total -= s.size;
      spdlog::info("capture: removed {} ({})", s.path,
                   too_old ? "older than capture.retain" : "capture.max_size_mb reached");
    }
  }
}

}  // namespace partwatch::capture
