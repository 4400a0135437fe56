// Names of RANGE partitions: pg_partman's child-table names, and partwatch's
// own name templates ({parent}, {from}, {to}, {from:FMT}) for tables
// pg_partman does not manage.  (LIST partition names are policy/naming.h.)
//
// Pure and thread-safe.  Part of policy/range.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/bucketer.h"
#include "policy/range_key.h"

namespace partwatch::policy {

// pg_partman's child-table name: parent + "_p" + suffix, where the suffix is
// the decimal lo for integer keys and to_char(lo, datetime_string) for time
// keys, implementing the subset YYYY, IYYY (ISO year), MM, DD, HH24, MI, SS,
// IW (ISO week, 2 digits), Q and "double-quoted text" (upper or lower case);
// every other character is copied as-is.  Like pg_partman's
// check_name_length(), when the name would pass 63 bytes the parent part is
// cut (at a UTF-8 character boundary) to fit.  The parent is not reduced:
// callers quote the name.  For kUtc timestamptz buckets the time is UTC,
// which matches pg_partman's (session-zone) names only in a UTC session.
// pg_partman 4.x defaults: yearly YYYY, quarterly YYYY"q"Q, monthly YYYY_MM,
// weekly IYYY"w"IW, daily YYYY_MM_DD, hourly YYYY_MM_DD_HH24MI; 5.x: YYYY,
// YYYYMMDD, YYYYMMDD_HH24MISS, ...
std::string PartmanName(std::string_view parent_relname, std::string_view datetime_string,
                        const Bucket& bucket, RangeKeyType type);

// Name templates for tables pg_partman does not manage.  Placeholders:
//   {parent}            the parent's unqualified name, lower-cased, every
//                       byte outside [a-z0-9_] replaced by '_';
//   {from}, {to}        the bucket's lo / hi literal reduced the same way,
//                       a leading '-' (negative integer) written 'm';
//   {from:FMT}, {to:FMT}  lo / hi formatted with FMT, strftime-like: %Y
//                       year, %m month, %d day, %H hour, %M minute, %S
//                       second, %G ISO year, %V ISO week, %q quarter, and
//                       characters in [a-z0-9_]; time keys only.
// Returns an error message naming the problem, or nullopt when valid: the
// template must contain {from or {from:...}; characters outside
// placeholders must be in [a-z0-9_]; unknown placeholders and % codes are
// named.  With `type` given, FMT on an integer key is an error too.
std::optional<std::string> ValidateRangeNameTemplate(std::string_view name_template,
                                                     std::optional<RangeKeyType> type = {});

// REQUIRES: ValidateRangeNameTemplate(name_template, type) returned nullopt.
// The result is at most 63 bytes: the {parent} parts are cut to fit (and
// only when that is not enough, the end).  A name that would start with a
// digit gets a "p" prefix, so it is a valid unquoted identifier.  Names
// are distinct for distinct buckets only when FMT is at least as fine as
// the interval; a clipped bucket may get the name of the partition it was
// clipped to (e.g. monthly %Y_%m, clipped lo on the 15th): callers must
// still expect that the name may exist.
std::string RangePartitionName(std::string_view name_template, std::string_view parent_relname,
                               const Bucket& bucket, RangeKeyType type);

// The default template: integer {parent}_p{from}; months, a multiple of 12:
// {parent}_p{from:%Y}; other months {parent}_p{from:%Y_%m}; days
// {parent}_p{from:%Y_%m_%d}; micros, whole minutes {parent}_p{from:%Y_%m_%d_%H%M};
// whole seconds {parent}_p{from:%Y_%m_%d_%H%M%S}; otherwise {parent}_p{from}.
// (The pg_partman 4.x names.)
std::string DefaultRangeNameTemplate(RangeKeyType type, const RangeInterval& interval);

}  // namespace partwatch::policy
