// Partition naming: turns a name template and a key value into the name of
// the partition partwatch creates for it.
//
// Contract (docs/configuration.md, "partition_name"):
//  - The template may use {parent} (the parent's unqualified name, reduced
//    like the value) and {value}; it must contain {value}; its other
//    characters must be in [a-z0-9_].
//  - The value is lower-cased and every byte outside [a-z0-9_] becomes '_'.
//  - When that mapping lost information (the value was not already made only
//    of [a-z0-9_]), or the value is NULL or empty, "_" and 8 hex digits of a
//    hash of the exact value are appended, so distinct values get distinct
//    names ('Returned' and 'returned' differ; NULL and 'null' differ).
//    The hash is also appended when the name would otherwise end in "_" and
//    8 hex digits (so no unhashed name looks like a hashed one) and when
//    the name starts with a digit taken from the value (see below).
//  - A NULL value is written "null" (always with the hash).
//  - The result is at most 63 bytes (NAMEDATALEN - 1): when too long, it is
//    cut and the hash suffix is appended, and it is always a valid unquoted
//    identifier (starts with a letter or '_'; a leading digit gets a "p"
//    prefix).
//  - Distinct values get distinct names up to a collision of the 32-bit
//    hash, and the name may be an SQL keyword ("select", "current_date"):
//    callers still quote it and still expect that the name may exist.
// Pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/key_value.h"

namespace partwatch::policy {

inline constexpr std::string_view kDefaultNameTemplate = "{parent}_{value}";
inline constexpr size_t kMaxIdentifierBytes = 63;

// Returns an error message naming the problem, or nullopt when valid.
std::optional<std::string> ValidateNameTemplate(std::string_view name_template);

// REQUIRES: ValidateNameTemplate(name_template) returned nullopt.
std::string PartitionName(std::string_view name_template, std::string_view parent_relname,
                          const KeyValue& value);

// ASCII lower-case, then every byte outside [a-z0-9_] becomes '_' (one per
// byte of a multi-byte character).
std::string ReduceToIdentifierBytes(std::string_view text);

// 8 lower-case hex digits of a stable 64-bit FNV-1a hash of the value
// (NULL hashes differently from every string).
std::string ShortHash(const KeyValue& value);

// FNV-1a over `bytes`, 64 and 32 bits (the one hash partwatch uses for
// names; the 32-bit form names a drain's scratch objects).
uint64_t Fnv1a64(std::string_view bytes);
uint32_t Fnv1a32(std::string_view bytes);

// `s` cut to at most `max_bytes` without splitting a UTF-8 character.
std::string CutUtf8(std::string_view s, size_t max_bytes);

}  // namespace partwatch::policy
