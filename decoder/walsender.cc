#include "decoder/walsender.h"

#include <string_view>

#include "decoder/byte_reader.h"

namespace partwatch::walsender {

namespace {

Error Truncated(std::string_view message, std::string_view field) {
  return Error{Error::Kind::kTruncated,
               std::string(message).append(": ").append(field).append(": truncated")};
}

Error Corrupt(std::string_view text) { return Error{Error::Kind::kCorrupt, std::string(text)}; }

bool ReadLsn(ByteReader& in, Lsn* out) {
  uint64_t value = 0;
  if (!in.ReadU64(&value)) return false;
  *out = Lsn(value);
  return true;
}

// 'w': Int64 WAL start, Int64 WAL end, Int64 send time, then the payload (the
// rest of the CopyData).
Result<CopyMessage> DecodeXLogData(ByteReader& in) {
  constexpr std::string_view kName = "XLogData";
  XLogData m;
  if (!ReadLsn(in, &m.wal_start)) return Truncated(kName, "wal start");
  if (!ReadLsn(in, &m.wal_end)) return Truncated(kName, "wal end");
  if (!in.ReadI64(&m.send_time)) return Truncated(kName, "send time");
  if (!in.ReadBytes(in.remaining(), &m.payload)) return Truncated(kName, "payload");
  return CopyMessage(m);
}

// 'k': Int64 WAL end, Int64 send time, Byte1 reply requested (0 or 1).
Result<CopyMessage> DecodePrimaryKeepalive(ByteReader& in) {
  constexpr std::string_view kName = "PrimaryKeepalive";
  PrimaryKeepalive m;
  if (!ReadLsn(in, &m.wal_end)) return Truncated(kName, "wal end");
  if (!in.ReadI64(&m.send_time)) return Truncated(kName, "send time");
  uint8_t reply_requested = 0;
  if (!in.ReadU8(&reply_requested)) return Truncated(kName, "reply requested");
  if (reply_requested > 1) {
    return Corrupt("PrimaryKeepalive: reply requested: invalid value " +
                   std::to_string(reply_requested));
  }
  m.reply_requested = reply_requested == 1;
  if (!in.empty()) {
    const size_t leftover = in.remaining();
    return Corrupt("PrimaryKeepalive: " + std::to_string(leftover) +
                   (leftover == 1 ? " leftover byte" : " leftover bytes"));
  }
  return CopyMessage(m);
}

void AppendU64(std::string* out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

}  // namespace

Result<CopyMessage> DecodeCopyMessage(std::span<const std::byte> data) {
  ByteReader in(data);
  uint8_t tag = 0;
  if (!in.ReadU8(&tag)) return Truncated("CopyData", "message tag");
  switch (tag) {
    case 'w':
      return DecodeXLogData(in);
    case 'k':
      return DecodePrimaryKeepalive(in);
    default:
      return Corrupt("CopyData: unknown message tag " + DescribeByte(tag));
  }
}

std::string EncodeStandbyStatusUpdate(const StandbyStatusUpdate& update) {
  std::string out;
  out.reserve(34);
  out.push_back('r');
  AppendU64(&out, update.written.value());
  AppendU64(&out, update.flushed.value());
  AppendU64(&out, update.applied.value());
  AppendU64(&out, static_cast<uint64_t>(update.send_time));
  out.push_back(update.reply_requested ? 1 : 0);
  return out;
}

}  // namespace partwatch::walsender
