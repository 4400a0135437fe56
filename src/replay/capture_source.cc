#include "src/replay/capture_source.h"

#include <filesystem>

#include <nlohmann/json.hpp>

namespace partwatch::replay {

namespace {
constexpr size_t kChunk = 1 << 20;
}  // namespace

CaptureSource::CaptureSource(const std::string& path, bool skip_bad)
    : path_(path), skip_bad_(skip_bad) {
  std::error_code ec;
  try {
    if (std::filesystem::is_directory(path, ec)) {
      files_ = capture::ListSegments(path);
      if (files_.empty())
        throw ReplayError(path + ": no capture segments (capture-*.pwcap) in this directory");
    } else if (std::filesystem::is_regular_file(path, ec)) {
      capture::SegmentFile f;
      f.path = path;
      f.size = std::filesystem::file_size(path, ec);
      f.zstd = path.ends_with(".zst");
      files_.push_back(f);
    } else {
      throw ReplayError(path + ": no such file or directory");
    }
  } catch (const ReplayError&) {
    throw;
  } catch (const std::exception& e) {
    throw ReplayError(e.what());
  }
  for (const auto& f : files_) total_bytes_ += f.size;
  // Read up to the first header, so the tables are known before replay.
  Item first;
  if (Next(&first)) pending_.insert(pending_.begin(), std::move(first));
  if (first_tables_.empty()) throw ReplayError(path + ": no segment header (an empty capture?)");
}

CaptureSource::~CaptureSource() = default;

uint64_t CaptureSource::bytes_read() const {
  return done_bytes_ + (reader_ ? reader_->file_bytes_read() : 0);
}

void CaptureSource::Fail(size_t offset, const std::string& what) const {
  throw ReplayError(current_ + ": offset " + std::to_string(offset) + ": " + what);
}

bool CaptureSource::OpenNext() {
  if (reader_) {
    done_bytes_ += reader_->file_bytes_read();
    reader_.reset();
  }
  if (next_file_ >= files_.size()) return false;
  current_ = files_[next_file_++].path;
  try {
    reader_ = std::make_unique<capture::SegmentReader>(current_);
  } catch (const std::exception& e) {
    throw ReplayError(e.what());
  }
  buf_.clear();
  pos_ = 0;
  consumed_ = 0;
  at_end_ = false;
  magic_checked_ = false;
  return true;
}

void CaptureSource::Header(const capture::Record& rec) {
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(
        std::string_view(reinterpret_cast<const char*>(rec.payload.data()), rec.payload.size()));
    const std::string sysid = h.at("system_identifier").get<std::string>();
    if (!system_id_.empty() && sysid != system_id_) {
      Fail(consumed_ + rec.offset,
           "a capture of database system " + sysid + ", but the segments before it are of system " +
               system_id_ + ": captures of different servers cannot be replayed together");
    }
    system_id_ = sysid;
    proto_version_ = h.value("proto_version", 1);
    std::string tables = h.at("tables").dump();
    if (first_tables_.empty()) first_tables_ = tables;
    Item item;
    item.kind = Item::Kind::kTables;
    item.tables_json = std::move(tables);
    pending_.push_back(std::move(item));
  } catch (const nlohmann::json::exception& e) {
    Fail(consumed_ + rec.offset, std::string("bad segment header: ") + e.what());
  }
  // A rotated segment continues the session: the decoder keeps its state
  // (a stream block may be open); only a session start resets it.
  if (!decoder_) decoder_.emplace(proto_version_);
}

bool CaptureSource::Next(Item* item) {
  for (;;) {
    if (!pending_.empty()) {
      *item = std::move(pending_.front());
      pending_.erase(pending_.begin());
      return true;
    }
    if (!reader_ && !OpenNext()) return false;
    // Keep the buffer small: drop what was parsed.
    const auto finish_segment = [&]() {
      if (reader_->truncated_frame()) {
        warnings_.push_back(
            current_ +
            ": the compressed data ends inside a zstd frame (a crash while writing); "
            "the records before offset " +
            std::to_string(consumed_ + buf_.size() - pos_) + " are read");
      }
      done_bytes_ += reader_->file_bytes_read();
      reader_.reset();
    };
    if (!magic_checked_) {
      while (buf_.size() < capture::kMagic.size() && !at_end_) {  // pos_ is 0 here
        if (!reader_->Read(kChunk, &buf_)) at_end_ = true;
      }
      const auto bytes = std::as_bytes(std::span(buf_.data(), buf_.size()));
      if (buf_.size() < capture::kMagic.size()) {
        warnings_.push_back(current_ + ": cut short before its first record (" +
                            std::to_string(buf_.size()) + " bytes); nothing read from it");
        finish_segment();
        continue;
      }
      if (!capture::HasMagic(bytes)) {
        if (!skip_bad_) Fail(0, "not a partwatch capture segment (wrong magic)");
        ++skipped_;
        warnings_.push_back(current_ + ": not a partwatch capture segment (wrong magic); skipped");
        finish_segment();
        continue;
      }
      pos_ = capture::kMagic.size();
      consumed_ = capture::kMagic.size();
      magic_checked_ = true;
    }
    capture::RecordReader rr(std::as_bytes(std::span(buf_.data() + pos_, buf_.size() - pos_)),
                             at_end_);
    capture::Record rec;
    const capture::RecordReader::Status st = rr.Next(&rec);
    using S = capture::RecordReader::Status;
    if (st == S::kNeedMore || (st == S::kEnd && !at_end_)) {
      buf_.erase(0, pos_);  // compact before reading on
      pos_ = 0;
      if (!reader_->Read(kChunk, &buf_)) at_end_ = true;
      continue;
    }
    if (st == S::kEnd) {
      finish_segment();
      continue;
    }
    if (st == S::kTorn) {
      warnings_.push_back(current_ + ": a record cut short at offset " + std::to_string(consumed_) +
                          " (a crash while writing); the " + std::to_string(buf_.size() - pos_) +
                          " bytes from there are ignored");
      finish_segment();
      Item restart;
      restart.kind = Item::Kind::kSessionStart;  // what was open there is incomplete
      pending_.push_back(std::move(restart));
      continue;
    }
    if (st == S::kCorrupt && !at_end_) {
      // A crash can leave zeros after the last record: only at the end of
      // the file is that told apart from damage.  Read on to the end first.
      buf_.erase(0, pos_);
      pos_ = 0;
      while (reader_->Read(kChunk, &buf_)) {
        if (buf_.size() > (size_t{64} << 20)) break;  // far from any tail: damage
      }
      at_end_ = buf_.size() <= (size_t{64} << 20);
      if (at_end_) continue;
    }
    if (st == S::kCorrupt) {
      if (!skip_bad_) Fail(consumed_, rr.error());
      ++skipped_;
      warnings_.push_back(current_ + ": offset " + std::to_string(consumed_) + ": " + rr.error() +
                          "; the rest of the segment (" + std::to_string(buf_.size() - pos_) +
                          " bytes read) skipped");
      finish_segment();
      Item restart;
      restart.kind = Item::Kind::kSessionStart;
      pending_.push_back(std::move(restart));
      continue;
    }
    ++records_;
    const size_t offset = consumed_;
    switch (static_cast<capture::RecordType>(rec.type)) {
      case capture::RecordType::kHeader:
        rec.offset = 0;
        Header(rec);
        break;
      case capture::RecordType::kTables: {
        Item t;
        t.kind = Item::Kind::kTables;
        t.tables_json.assign(reinterpret_cast<const char*>(rec.payload.data()), rec.payload.size());
        pending_.push_back(std::move(t));
        break;
      }
      case capture::RecordType::kSessionStart:
      case capture::RecordType::kIdle: {
        Item t;
        t.kind = rec.type == static_cast<uint8_t>(capture::RecordType::kIdle)
                     ? Item::Kind::kIdle
                     : Item::Kind::kSessionStart;
        if (!capture::ParseLsnPayload(rec.payload, &t.lsn)) Fail(offset, "bad LSN record");
        if (t.kind == Item::Kind::kSessionStart) decoder_.emplace(proto_version_);
        pending_.push_back(std::move(t));
        break;
      }
      case capture::RecordType::kMessage: {
        Lsn start, end;
        std::span<const std::byte> msg;
        if (!capture::ParseMessagePayload(rec.payload, &start, &end, &msg))
          Fail(offset, "message record shorter than 16 bytes");
        if (!decoder_) Fail(offset, "a message before the segment header");
        Result<pgoutput::Message> m = decoder_->Decode(msg);
        if (!m.ok()) {
          if (!skip_bad_)
            Fail(offset,
                 "cannot decode the message at " + start.ToString() + ": " + m.error().message);
          ++skipped_;
          break;
        }
        Item t;
        t.kind = Item::Kind::kMessage;
        t.lsn = start;
        t.message = std::move(m).value();
        pending_.push_back(std::move(t));
        break;
      }
    }
    const size_t used = rr.position();
    pos_ += used;
    consumed_ += used;
  }
}

}  // namespace partwatch::replay
