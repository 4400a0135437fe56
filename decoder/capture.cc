#include "decoder/capture.h"

#include <algorithm>

#include <xxhash.h>

#include "decoder/byte_reader.h"

namespace partwatch::capture {

namespace {

void PutU32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

void PutU64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

// The low 32 bits of XXH3-64 (xxHash, as zstd uses): checks ~100-byte
// records at memory speed, where zlib's CRC-32 took a fifth of replay's
// time (docs/benchmarks.md, "Replay").
uint32_t Checksum(const std::byte* data, size_t n) {
  return static_cast<uint32_t>(XXH3_64bits(data, n));
}

// Appends the frame for `n` payload bytes that the caller appends next;
// returns the offset of the record checksum to patch.
size_t BeginRecord(RecordType type, size_t n, std::string* out) {
  const size_t at = out->size();
  PutU32(0, out);
  PutU32(static_cast<uint32_t>(n), out);
  out->push_back(static_cast<char>(type));
  PutU32(Checksum(reinterpret_cast<const std::byte*>(out->data()) + at + 4, 5), out);
  return at;
}

void EndRecord(size_t at, std::string* out) {
  const auto* base = reinterpret_cast<const std::byte*>(out->data());
  const uint32_t crc = Checksum(base + at + 4, out->size() - at - 4);
  for (int i = 0; i < 4; ++i) (*out)[at + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
}

}  // namespace

const char* RecordTypeName(uint8_t type) {
  switch (static_cast<RecordType>(type)) {
    case RecordType::kHeader:
      return "header";
    case RecordType::kSessionStart:
      return "session start";
    case RecordType::kMessage:
      return "message";
    case RecordType::kIdle:
      return "idle";
    case RecordType::kTables:
      return "tables";
  }
  return "unknown";
}

void AppendRecord(RecordType type, std::span<const std::byte> payload, std::string* out) {
  const size_t at = BeginRecord(type, payload.size(), out);
  out->append(reinterpret_cast<const char*>(payload.data()), payload.size());
  EndRecord(at, out);
}

void AppendRecord(RecordType type, std::string_view payload, std::string* out) {
  AppendRecord(type, std::as_bytes(std::span(payload.data(), payload.size())), out);
}

void AppendMessage(Lsn wal_start, Lsn wal_end, std::span<const std::byte> message,
                   std::string* out) {
  const size_t at = BeginRecord(RecordType::kMessage, 16 + message.size(), out);
  PutU64(wal_start.value(), out);
  PutU64(wal_end.value(), out);
  out->append(reinterpret_cast<const char*>(message.data()), message.size());
  EndRecord(at, out);
}

void AppendLsnRecord(RecordType type, Lsn lsn, std::string* out) {
  const size_t at = BeginRecord(type, 8, out);
  PutU64(lsn.value(), out);
  EndRecord(at, out);
}

bool ParseMessagePayload(std::span<const std::byte> payload, Lsn* wal_start, Lsn* wal_end,
                         std::span<const std::byte>* message) {
  ByteReader r(payload);
  uint64_t start = 0, end = 0;
  if (!r.ReadU64(&start) || !r.ReadU64(&end)) return false;
  *wal_start = Lsn(start);
  *wal_end = Lsn(end);
  *message = payload.subspan(16);
  return true;
}

bool ParseLsnPayload(std::span<const std::byte> payload, Lsn* lsn) {
  if (payload.size() != 8) return false;
  ByteReader r(payload);
  uint64_t v = 0;
  if (!r.ReadU64(&v)) return false;
  *lsn = Lsn(v);
  return true;
}

bool HasMagic(std::span<const std::byte> data) {
  return data.size() >= kMagic.size() &&
         std::equal(kMagic.begin(), kMagic.end(), reinterpret_cast<const char*>(data.data()));
}

RecordReader::Status RecordReader::Next(Record* record) {
  const size_t remaining = data_.size() - pos_;
  if (remaining == 0) return Status::kEnd;
  const auto rest = data_.subspan(pos_);
  if (kRecordHeaderSize > remaining) {
    if (!at_end_) return Status::kNeedMore;
    return Status::kTorn;
  }
  ByteReader r(rest);
  uint32_t crc = 0, length = 0, header_check = 0;
  uint8_t type = 0;
  (void)r.ReadU32(&crc);
  (void)r.ReadU32(&length);
  (void)r.ReadU8(&type);
  (void)r.ReadU32(&header_check);
  if (crc == 0 && length == 0 && type == 0 && at_end_ &&
      std::all_of(rest.begin(), rest.end(), [](std::byte b) { return b == std::byte{0}; })) {
    return Status::kTorn;  // a crash left the tail zero filled
  }
  // The header's own checksum makes the length trustworthy before it is
  // used: a damaged length is corruption, and only a record whose intact
  // header promises more bytes than the file has is a torn tail.
  if (Checksum(rest.data() + 4, 5) != header_check) {
    error_ = "record header checksum mismatch (damaged length or type)";
    return Status::kCorrupt;
  }
  if (length > kMaxRecordLength) {
    error_ = "bad record length " + std::to_string(length) + " (at most " +
             std::to_string(kMaxRecordLength) + ")";
    return Status::kCorrupt;
  }
  if (length > remaining - kRecordHeaderSize) {
    if (!at_end_) return Status::kNeedMore;
    return Status::kTorn;
  }
  const uint32_t actual = Checksum(rest.data() + 4, kRecordHeaderSize - 4 + length);
  if (actual != crc) {
    error_ = "checksum mismatch in a record of type " + std::string(RecordTypeName(type)) +
             " and length " + std::to_string(length);
    return Status::kCorrupt;
  }
  if (type < 1 || type > 5) {
    error_ = "unknown record type " + std::to_string(type);
    return Status::kCorrupt;
  }
  record->type = type;
  record->payload = rest.subspan(kRecordHeaderSize, length);
  record->offset = pos_;
  record->size = kRecordHeaderSize + length;
  pos_ += record->size;
  return Status::kRecord;
}

}  // namespace partwatch::capture
