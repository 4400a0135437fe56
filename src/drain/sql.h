// The drain's SQL text: pure functions from plain inputs to strings.  No
// connection, no catalog read, no state; thread-safe.  Internal to src/drain
// (the API is src/drain/drain.h); tests/src/drain_sql_test.cc tests them
// without a server.  What each statement is for: the file comment of
// src/drain/drain.h.
//
// Quoting contract.  Inputs documented as "quoted" are pasted exactly as
// given: the caller quotes them with libpq's escaping
// (pg::Connection::QuoteIdent, QuoteQualified, QuoteLiteral) or takes them
// from the server's own output (pg_get_expr, pg_get_partition_constraintdef).
// Inputs documented as "unquoted" go through the Quoting callbacks, which at
// run time are the connection's (internal::QuotingFor in drainer.h).  Nothing
// here quotes by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace partwatch::drain {

// The triggers Drain puts on DEFAULT, and the name of the CHECK it gives
// the new tables.
inline constexpr const char* kRowTrigger = "partwatch_drain";
inline constexpr const char* kTruncateTrigger = "partwatch_drain_truncate";
inline constexpr const char* kBoundCheck = "partwatch_drain_bound";
// SQLSTATEs the replay function raises (class "PW" is not used by
// PostgreSQL): DEFAULT was truncated; the log does not match the copy.
inline constexpr std::string_view kTruncatedState = "PWD01";
inline constexpr std::string_view kMismatchState = "PWD02";

// How the builders quote what they are given unquoted: an identifier, and a
// string literal.  REQUIRES: both set.
struct Quoting {
  std::function<std::string(std::string_view)> ident;
  std::function<std::string(std::string_view)> literal;
};

// The scratch names Drain uses for a DEFAULT partition named
// `default_name`: `default_name + suffix` when that fits PostgreSQL's 63
// bytes, else the name cut at a character boundary plus "_" and 8 hex
// digits of policy::Fnv1a32(default_name), so two long names never collide
// and a rerun finds the same objects.  REQUIRES: suffix of at most 54
// bytes.
std::string ScratchName(const std::string& default_name, const std::string& suffix);

// Every scratch name of one drain (unquoted; in DEFAULT's schema).
struct ScratchNames {
  std::string stage, log, new_default, old_default, capture, replay;
};
ScratchNames ScratchFor(const std::string& default_name);

// What identifies a table's shape for the drain: its DEFAULT, partitions,
// indexes, columns, constraints, DEFAULT's own triggers, storage options,
// grants and publication memberships, as one text.  Parameters: $1 parent's
// oid, $2 DEFAULT's oid.
extern const char* const kFingerprintSql;
// The parent's partitions, DEFAULT included, as the fingerprint lists them
// (its second component).  Parameter: $1 parent's oid.
extern const char* const kInheritsSql;
// kFingerprintSql with the two oids written in (numbers: safe), for a
// multi-statement string.
std::string FingerprintSql(uint32_t parent, uint32_t def);

// `columns` quoted and joined with ", ".
std::string ColumnList(const std::vector<std::string>& columns, const Quoting& q);

// The trigger function that records each change to DEFAULT in the log.
// `capture` and `log` quoted, qualified.
std::string CaptureFunctionSql(const std::string& capture, const std::string& log);

// CREATE TRIGGER kRowTrigger and kTruncateTrigger on `def`, executing
// `capture`, both ENABLE ALWAYS: four statements, no transaction control.
// `def` and `capture` quoted, qualified.
std::string InstallTriggersSql(const std::string& def, const std::string& capture,
                               const Quoting& q);

// One copy piece: inserts the rows of ONLY `def` matching `where` into
// `stage`, returning (tableoid, count) per partition of stage they went to.
// With `empty_log` non-empty, first deletes every row of that log.
// `stage`, `def`, `empty_log` quoted, qualified; `columns` a quoted list
// (ColumnList); `where` SQL (pg::ForEachPiece's ctid range).
std::string CopyPieceSql(const std::string& stage, const std::string& def,
                         const std::string& columns, const std::string& where,
                         const std::string& empty_log);

// What the replay function works on.
struct ReplaySpec {
  std::string function;              // quoted, qualified: the <default>_pwd_replay to create
  std::string log;                   // quoted, qualified
  std::string stage;                 // quoted, qualified
  std::string def;                   // quoted, qualified: DEFAULT (the log holds its row type)
  std::string def_display;           // unquoted schema.name, for the TRUNCATE error
  std::vector<std::string> columns;  // unquoted: insertable columns, the parent's order
  std::vector<std::string> match_columns;  // unquoted: a unique key; empty: none
  std::vector<std::string> partition_key;  // unquoted: the parent's partition key columns
};

// CREATE FUNCTION <function>(max_rows integer) RETURNS bigint: applies up to
// max_rows log rows (NULL: all it sees) to stage in id order and deletes
// them from the log; raises kTruncatedState for a logged TRUNCATE and
// kMismatchState when an old row is not in stage.  With match_columns, set
// based (per key only the first and the last change count); without, row
// by row, a deletion removing any one row equal in every column's text form
// (the partition key narrows its scan).
std::string ReplayFunctionSql(const ReplaySpec& spec, const Quoting& q);

// A new partition the swap attaches.
struct SwapTarget {
  std::string qname;  // quoted, qualified
  std::string bound;  // the server's canonical bound: FOR VALUES ...
};

// An index of the old DEFAULT.
struct OldIndex {
  uint32_t oid = 0;
  std::string name;
  uint32_t parent_index = 0;  // 0: DEFAULT's own index, recreated on the new one
  std::string create_rest;    // own indexes: pg_get_indexdef after " USING "
  bool unique = false;
};

// A publication DEFAULT is a member of.
struct PubMember {
  std::string pubname;
  std::vector<std::string> columns;  // empty: all
  std::string row_filter;            // empty: none
};

struct SwapSpec {
  std::string parent;       // quoted, qualified
  std::string def;          // quoted, qualified: the old DEFAULT
  std::string stage;        // quoted, qualified
  std::string new_default;  // quoted, qualified
  std::string schema;       // unquoted: DEFAULT's schema (its indexes live there)
  std::string def_name;     // unquoted: DEFAULT's name, which the new DEFAULT takes
  std::string old_default;  // unquoted: the name the old DEFAULT steps aside to
  std::vector<SwapTarget> targets;
  bool default_has_check = false;  // the new DEFAULT carries kBoundCheck
  // Own indexes were created on the new DEFAULT as "pwd_ix_<oid>"; those
  // attached to a parent index are found through pg_inherits.  Names
  // unquoted.
  std::vector<OldIndex> old_indexes;
  std::vector<PubMember> publications;  // names unquoted; row filters SQL
  uint32_t new_oid = 0;                 // the new DEFAULT's oid
  char replident = 'd';                 // DEFAULT's relreplident
  std::string replident_index;          // unquoted; with replident 'i'
};

// The swap's one DO block, run under the locks: DETACH the targets and the
// new DEFAULT from stage, DETACH the old DEFAULT from the parent, ATTACH the
// targets and then the new DEFAULT, drop the CHECKs, move the publication
// memberships off the old DEFAULT, rename the old DEFAULT and its indexes
// aside and the new ones to the old names, replica identity, and the
// publication memberships onto the new DEFAULT; in that order.  The dollar
// quote tag is chosen not to occur in the body.
std::string SwapSql(const SwapSpec& spec, const Quoting& q);

}  // namespace partwatch::drain
