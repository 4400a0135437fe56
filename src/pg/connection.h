// RAII wrappers around libpq: every PGconn, PGresult and libpq-allocated
// string is owned the moment it exists and freed in a destructor.  The
// wrappers are move-only; no raw pointer escapes except through get() for a
// libpq call that does not take ownership.
//
// Error convention (a pair at the libpq boundary): TryExec* return a
// PgResult whose ok() tells success and whose error() carries the server's
// message and SQLSTATE; Exec* throw PgError.  Exceptions are for start-up,
// configuration and "this statement failed" paths, never for the byte
// parsers.
//
// Thread-safety: a Connection is used by one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partwatch::pg {

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};

// A failed statement or connection: the message, and the SQLSTATE when the
// server sent one ("" otherwise).
class PgError : public std::runtime_error {
 public:
  PgError(std::string message, std::string sqlstate)
      : std::runtime_error(std::move(message)), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// SQLSTATEs partwatch reacts to.
inline constexpr std::string_view kLockNotAvailable = "55P03";
inline constexpr std::string_view kDeadlockDetected = "40P01";
inline constexpr std::string_view kSerializationFailure = "40001";
inline constexpr std::string_view kObjectInUse = "55006";
inline constexpr std::string_view kDuplicateObject = "42710";
inline constexpr std::string_view kUndefinedObject = "42704";
inline constexpr std::string_view kInsufficientPrivilege = "42501";
inline constexpr std::string_view kQueryCanceled = "57014";  // statement_timeout, cancel
inline constexpr std::string_view kReadOnlyTransaction = "25006";  // a hot standby

// An owned PGresult.
class QueryResult {
 public:
  QueryResult() = default;
  explicit QueryResult(PGresult* r) : r_(r) {}

  PGresult* get() const { return r_.get(); }
  ExecStatusType status() const { return r_ ? PQresultStatus(r_.get()) : PGRES_FATAL_ERROR; }
  // True for COMMAND_OK, TUPLES_OK, COPY_BOTH, COPY_OUT and COPY_IN.
  bool ok() const;
  std::string error_message() const;
  std::string sqlstate() const;

  int rows() const { return PQntuples(r_.get()); }
  int columns() const { return PQnfields(r_.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view value(int row, int col) const;
  // Value or nullopt for SQL NULL.
  std::optional<std::string> opt(int row, int col) const;
  std::string text(int row, int col) const { return std::string(value(row, col)); }
  int64_t int64(int row, int col) const;
  // REQUIRES: the column exists.
  int column(const char* name) const;

 private:
  std::unique_ptr<PGresult, PgResultDeleter> r_;
};

// libpq keywords every connection starts from, so that no connection can
// hang on a server that accepts TCP but never answers, or on a peer that
// vanished without closing the socket (docs/configuration.md, "Connection
// defaults").  The conninfo overrides any of them.
//  - connect_timeout: seconds per host address for the whole start-up.
//  - keepalives*: a dead peer is noticed after about idle + interval * count
//    seconds of silence on an idle socket (here 60 s), instead of the
//    kernel's two hours.
inline constexpr std::pair<const char*, const char*> kConnectionDefaults[] = {
    {"connect_timeout", "10"},     {"keepalives", "1"},       {"keepalives_idle", "30"},
    {"keepalives_interval", "10"}, {"keepalives_count", "3"},
};

// An owned PGconn.
class Connection {
 public:
  Connection() = default;
  Connection(Connection&&) = default;
  Connection& operator=(Connection&&) = default;

  // Connects with `conninfo` (a libpq keyword string or URI; PG* environment
  // variables apply) plus `extra` keyword/value overrides such as
  // {"replication", "database"}.  kConnectionDefaults come first, so the
  // conninfo overrides them (and PGCONNECT_TIMEOUT, when set, replaces the
  // connect_timeout default).  Throws PgError with libpq's message.
  static Connection Open(const std::string& conninfo,
                         const std::vector<std::pair<std::string, std::string>>& extra = {});

  // A new connection with this one's connection parameters (PQconninfo:
  // the same server, database, role and options), for a second session of
  // the same client.  Throws PgError.
  Connection OpenLike() const;

  PGconn* get() const { return c_.get(); }
  bool connected() const { return c_ && PQstatus(c_.get()) == CONNECTION_OK; }
  int backend_pid() const { return PQbackendPID(c_.get()); }
  int server_version() const { return PQserverVersion(c_.get()); }
  // A parameter the server reported at start-up or since ("server_version",
  // "server_encoding", "client_encoding", ...); "" when it reported none.
  std::string parameter_status(const char* name) const;

  // Sets client_encoding to the server's encoding (PQsetClientEncoding, so
  // libpq's quoting follows): no conversion either way, whatever
  // PGCLIENTENCODING or the conninfo asked for.  pgoutput converts the text
  // it streams to the replication connection's client_encoding too, so
  // connections that all call this see the same bytes for the same value.
  // Throws PgError.
  void UseServerEncoding();

  // Runs a statement (simple protocol, several statements allowed).
  QueryResult TryExec(const std::string& sql);
  // Runs a statement with text parameters ($1..$n); nullopt = SQL NULL.
  QueryResult TryExecParams(const std::string& sql,
                       const std::vector<std::optional<std::string>>& params);
  // As above, throwing PgError on failure.
  QueryResult Exec(const std::string& sql);
  QueryResult ExecParams(const std::string& sql, const std::vector<std::optional<std::string>>& params);

  // Quoting with libpq's escaping (the connection's encoding and
  // standard_conforming_strings).  Throws PgError if libpq refuses.
  std::string QuoteIdent(std::string_view ident) const;
  std::string QuoteLiteral(std::string_view literal) const;
  // "schema"."name"
  std::string QuoteQualified(std::string_view schema, std::string_view name) const;

  std::string ErrorMessage() const;

 private:
  explicit Connection(PGconn* c) : c_(c) {}
  std::unique_ptr<PGconn, PgConnDeleter> c_;
};

// A libpq-allocated buffer (PQgetCopyData, PQescape*): freed with PQfreemem.
struct PqFreeDeleter {
  void operator()(void* p) const { PQfreemem(p); }
};
using PqBuffer = std::unique_ptr<char, PqFreeDeleter>;

// Removes password=... from a conninfo string or the password part of a URI,
// for logs.  Never log a conninfo without passing it through this.
std::string RedactConninfo(std::string_view conninfo);

}  // namespace partwatch::pg
