// CRC-32C (Castagnoli), the checksum PostgreSQL puts on every WAL record
// (pg_crc32c: reflected polynomial 0x82F63B78, initial value and final xor
// 0xFFFFFFFF).
//
// Contract: Crc32cExtend(crc, a) then (…, b) equals one call over a‖b.
// Crc32cFinish(Crc32cExtend(kCrc32cInit, bytes)) is the CRC PostgreSQL
// stores.  Uses the SSE 4.2 crc32 instruction when the CPU has it (checked
// once), a table otherwise; both give the same value.  Pure, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace partwatch::wal {

inline constexpr uint32_t kCrc32cInit = 0xFFFFFFFFu;

uint32_t Crc32cExtend(uint32_t crc, std::span<const std::byte> bytes);
inline uint32_t Crc32cFinish(uint32_t crc) { return crc ^ 0xFFFFFFFFu; }

// The table implementation, for tests that compare the two.
uint32_t Crc32cExtendPortable(uint32_t crc, std::span<const std::byte> bytes);

}  // namespace partwatch::wal
