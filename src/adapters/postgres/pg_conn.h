// Thin helpers over libpq for the PostgreSQL store: connections, results,
// escaping and the mapping of server errors to Status. No exceptions.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace flare::pg {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

// "host:port" of the server a DSN names (never its password), for errors.
std::string ServerName(const std::string& dsn);

// Connects (with a connect_timeout of 10 s unless the DSN sets one) and
// turns synchronous_commit on. kUnavailable naming the server on failure.
Result<ConnPtr> Connect(const std::string& dsn, const std::string& server);

// Raised by flare_check_claim when a batch's partition epoch is stale.
inline constexpr const char* kSqlStateFenced = "FL001";

// Runs one statement (or, without params, a script of several) with text
// parameters and text results. SQLSTATE 23505 (unique violation) becomes
// kAlreadyExists; a lost connection or connection failure kUnavailable.
Result<ResultPtr> Exec(PGconn* conn, const std::string& server, const std::string& sql,
                       const std::vector<std::string>& params = {});

// True when the connection is gone (a reset may bring it back).
inline bool Broken(PGconn* conn) { return PQstatus(conn) == CONNECTION_BAD; }

// Exec, and when it failed because the connection broke: one reset (with
// synchronous_commit turned on again, as Connect does) and one more try.
Result<ResultPtr> ExecReconnecting(PGconn* conn, const std::string& server, const std::string& sql,
                                   const std::vector<std::string>& params = {});

// A statement for ExecPipeline: parameters travel out of band (never
// spliced into the SQL); binary ones as raw bytes (for bytea).
struct Param {
  std::string value;
  bool binary = false;
};
struct Statement {
  std::string sql;
  std::vector<Param> params;
};

// Sends the statements in libpq pipeline mode (one round trip per
// kPipelineChunk statements) and reads their results; the first error is
// returned (mapped as Exec maps it) and the statements after it are skipped
// by the server. Meant for statements inside an explicit transaction.
inline constexpr size_t kPipelineChunk = 1000;
Status ExecPipeline(PGconn* conn, const std::string& server, const std::vector<Statement>& batch);

// Runs `copy_sql` (a COPY ... FROM STDIN) and streams `data` to it.
Status CopyIn(PGconn* conn, const std::string& server, const std::string& copy_sql,
              std::string_view data);

// Builds the payload of a COPY ... FROM STDIN (FORMAT binary): a header,
// one tuple per Row() with its fields, and a trailer from Finish().
class BinaryCopy {
 public:
  BinaryCopy();
  void Row(int16_t fields) { Int16(fields); }
  void Text(std::string_view s) { Bytes(s); }
  void Bytes(std::string_view b);
  void Int64(int64_t v);
  void Bool(bool v);
  void SmallInt(int16_t v);
  void Null() { Int32(-1); }  // a NULL field
  const std::string& Finish();

 private:
  void Int16(int16_t v);
  void Int32(int32_t v);
  std::string out_;
};

// A one-dimensional array parameter in binary form (Param{..., true}) for
// a $n::text[] or $n::bigint[] placeholder.
std::string BinaryTextArray(const std::vector<std::string_view>& items);
std::string BinaryInt64Array(const std::vector<int64_t>& items);

std::string Text(const PGresult* res, int row, int col);
int64_t Int(const PGresult* res, int row, int col);  // 0 for NULL
std::string Bytea(const PGresult* res, int row, int col);

// A quoted SQL string literal; nullopt if the text is not valid in the
// connection's encoding.
std::optional<std::string> Literal(PGconn* conn, std::string_view text);
// A bytea literal in hex form: '\x0a1b...'::bytea.
std::string ByteaLiteral(std::string_view bytes);
// A text[] (or bigint[]) array literal for a parameter: {"a","b"}.
std::string ArrayLiteral(const std::vector<std::string_view>& items);

}  // namespace flare::pg
