#include "src/pg/connection.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <regex>

namespace partwatch::pg {

namespace {

// libpq messages span lines ("...\n\tThis probably means ..."); a log
// line must stay one line.
std::string OneLine(std::string msg) {
  std::string out;
  out.reserve(msg.size());
  bool space = false;
  for (char c : msg) {
    if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

bool QueryResult::ok() const {
  switch (status()) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_COPY_BOTH:
    case PGRES_COPY_OUT:
    case PGRES_COPY_IN:
    case PGRES_EMPTY_QUERY:
      return true;
    default:
      return false;
  }
}

std::string QueryResult::error_message() const {
  if (!r_) return "no result (connection lost?)";
  return OneLine(PQresultErrorMessage(r_.get()));
}

std::string QueryResult::sqlstate() const {
  if (!r_) return "";
  const char* s = PQresultErrorField(r_.get(), PG_DIAG_SQLSTATE);
  return s ? s : "";
}

std::string_view QueryResult::value(int row, int col) const {
  return std::string_view(PQgetvalue(r_.get(), row, col),
                          static_cast<size_t>(PQgetlength(r_.get(), row, col)));
}

std::optional<std::string> QueryResult::opt(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return std::string(value(row, col));
}

int64_t QueryResult::int64(int row, int col) const {
  std::string_view v = value(row, col);
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || ptr != v.data() + v.size()) {
    throw PgError("expected an integer, got '" + std::string(v) + "'", "");
  }
  return out;
}

int QueryResult::column(const char* name) const { return PQfnumber(r_.get(), name); }

Connection Connection::Open(const std::string& conninfo,
                            const std::vector<std::pair<std::string, std::string>>& extra) {
  // libpq processes keywords in order, the last one winning; expand_dbname=1
  // makes "dbname" carry a whole conninfo string or URI, processed in its
  // place.  So: our defaults, then the user's conninfo, then `extra`.
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [k, v] : kConnectionDefaults) {
    // An explicit default would hide libpq's own environment variable.
    const char* env =
        std::strcmp(k, "connect_timeout") == 0 ? std::getenv("PGCONNECT_TIMEOUT") : nullptr;
    if (env && *env) continue;
    keys.push_back(k);
    values.push_back(v);
  }
  keys.push_back("dbname");
  values.push_back(conninfo.c_str());
  for (const auto& [k, v] : extra) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  Connection conn(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
  if (!conn.c_) throw PgError("out of memory allocating a libpq connection", "");
  if (PQstatus(conn.c_.get()) != CONNECTION_OK) {
    throw PgError(conn.ErrorMessage(), "");
  }
  return conn;
}

Connection Connection::OpenLike() const {
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> opts(PQconninfo(c_.get()),
                                                                     &PQconninfoFree);
  if (!opts) throw PgError("out of memory reading the connection's parameters", "");
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const PQconninfoOption* o = opts.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr || o->val[0] == '\0') continue;
    keys.push_back(o->keyword);
    values.push_back(o->val);
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  Connection conn(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0));
  if (!conn.c_) throw PgError("out of memory allocating a libpq connection", "");
  if (PQstatus(conn.c_.get()) != CONNECTION_OK) throw PgError(conn.ErrorMessage(), "");
  return conn;
}

std::string Connection::parameter_status(const char* name) const {
  const char* v = PQparameterStatus(c_.get(), name);
  return v ? v : "";
}

void Connection::UseServerEncoding() {
  const std::string encoding = parameter_status("server_encoding");
  if (encoding.empty() || PQsetClientEncoding(c_.get(), encoding.c_str()) != 0) {
    throw PgError(
        "cannot set client_encoding to the server's encoding '" + encoding + "': " + ErrorMessage(),
        "");
  }
}

QueryResult Connection::TryExec(const std::string& sql) { return QueryResult(PQexec(c_.get(), sql.c_str())); }

QueryResult Connection::TryExecParams(const std::string& sql,
                                 const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return QueryResult(PQexecParams(c_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0));
}

QueryResult Connection::Exec(const std::string& sql) {
  QueryResult r = TryExec(sql);
  if (!r.ok()) throw PgError(r.error_message(), r.sqlstate());
  return r;
}

QueryResult Connection::ExecParams(const std::string& sql,
                              const std::vector<std::optional<std::string>>& params) {
  QueryResult r = TryExecParams(sql, params);
  if (!r.ok()) throw PgError(r.error_message(), r.sqlstate());
  return r;
}

std::string Connection::QuoteIdent(std::string_view ident) const {
  PqBuffer out(PQescapeIdentifier(c_.get(), ident.data(), ident.size()));
  if (!out) throw PgError("cannot quote identifier: " + ErrorMessage(), "");
  return out.get();
}

std::string Connection::QuoteLiteral(std::string_view literal) const {
  PqBuffer out(PQescapeLiteral(c_.get(), literal.data(), literal.size()));
  if (!out) throw PgError("cannot quote literal: " + ErrorMessage(), "");
  return out.get();
}

std::string Connection::QuoteQualified(std::string_view schema, std::string_view name) const {
  return QuoteIdent(schema) + "." + QuoteIdent(name);
}

std::string Connection::ErrorMessage() const {
  if (!c_) return "no connection";
  return OneLine(PQerrorMessage(c_.get()));
}

std::string RedactConninfo(std::string_view conninfo) {
  std::string s(conninfo);
  // keyword form: password = 'quoted value' | password=bare
  static const std::regex kKeyword(R"((^|\s)(password\s*=\s*)('([^'\\]|\\.)*'|\S+))",
                                   std::regex::icase);
  s = std::regex_replace(s, kKeyword, "$1$2********");
  // URI form: scheme://user:secret@host
  static const std::regex kUri(R"(^(postgres(ql)?://[^:/@]*):[^@/]*@)", std::regex::icase);
  s = std::regex_replace(s, kUri, "$1:********@");
  // URI query parameter: ?password=... or &password=...
  static const std::regex kQuery(R"(([?&]password=)[^&]*)", std::regex::icase);
  s = std::regex_replace(s, kQuery, "$1********");
  return s;
}

}  // namespace partwatch::pg
