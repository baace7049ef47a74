#include "adapters/postgres/pg_conn.h"

#include <cstdlib>
#include <cstring>

namespace flare::pg {

std::string ServerName(const std::string& dsn) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (opts == nullptr) {
    if (err != nullptr) PQfreemem(err);
    return "(unparsable DSN)";
  }
  std::string host, hostaddr, port;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::strcmp(o->keyword, "host") == 0) host = o->val;
    if (std::strcmp(o->keyword, "hostaddr") == 0) hostaddr = o->val;
    if (std::strcmp(o->keyword, "port") == 0) port = o->val;
  }
  PQconninfoFree(opts);
  if (host.empty()) host = hostaddr.empty() ? "localhost" : hostaddr;
  if (port.empty()) port = "5432";
  return host + ":" + port;
}

Result<ConnPtr> Connect(const std::string& dsn, const std::string& server) {
  // Later keywords win: the DSN's own connect_timeout (or options)
  // overrides these.
  // client_min_messages: no NOTICEs (e.g. "already exists, skipping") on
  // stderr; it applies again after a PQreset.
  // TCP keepalives and a user timeout: a database host that vanished is
  // noticed in about half a minute instead of the kernel's two hours, so a
  // write never waits on it longer than that.
  const char* keys[] = {"connect_timeout",
                        "keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "tcp_user_timeout",
                        "options",
                        "dbname",
                        nullptr};
  const char* values[] = {
      "10", "1", "10", "5", "3", "30000", "-c client_min_messages=warning", dsn.c_str(), nullptr};
  ConnPtr conn(PQconnectdbParams(keys, values, 1));
  if (!conn) return Unavailable("cannot connect to PostgreSQL at " + server + ": out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn.get());
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Unavailable("cannot connect to PostgreSQL at " + server + ": " + msg);
  }
  // Commits wait for the server's WAL flush unless a transaction turns it
  // off (the writer's batches do; Sync() then flushes them).
  auto set = Exec(conn.get(), server, "SET synchronous_commit = on");
  if (!set.ok()) return set.status();
  return conn;
}

namespace {

Status ErrorStatus(PGconn* conn, const PGresult* res, const std::string& server) {
  std::string msg = res != nullptr ? PQresultErrorMessage(res) : "";
  if (msg.empty()) msg = PQerrorMessage(conn);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  std::string where = "PostgreSQL at " + server + ": ";
  if (sqlstate == "23505") return {Code::kAlreadyExists, where + msg};
  if (sqlstate == kSqlStateFenced) return {Code::kAborted, where + msg};
  // Text that is not valid in the database encoding (22021).
  if (sqlstate == "22021") return {Code::kInvalidArgument, where + msg};
  if (Broken(conn) || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01") {
    return Unavailable(where + msg);
  }
  return Internal(where + msg);
}

}  // namespace

Result<ResultPtr> Exec(PGconn* conn, const std::string& server, const std::string& sql,
                       const std::vector<std::string>& params) {
  ResultPtr res;
  if (params.empty()) {
    res.reset(PQexec(conn, sql.c_str()));
  } else {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    res.reset(PQexecParams(conn, sql.c_str(), static_cast<int>(params.size()), nullptr,
                           values.data(), nullptr, nullptr, 0));
  }
  if (!res) return ErrorStatus(conn, nullptr, server);
  ExecStatusType st = PQresultStatus(res.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return ErrorStatus(conn, res.get(), server);
  return res;
}

namespace {

bool StatementOk(const PGresult* res) {
  ExecStatusType st = PQresultStatus(res);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

// Sends statements [begin, end) and a sync, then reads every result up to
// the sync's. Returns the first error.
Status RunPipelineChunk(PGconn* conn, const std::string& server, const std::vector<Statement>& all,
                        size_t begin, size_t end) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  for (size_t i = begin; i < end; ++i) {
    values.clear();
    lengths.clear();
    formats.clear();
    for (const auto& p : all[i].params) {
      values.push_back(p.value.data());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.binary ? 1 : 0);
    }
    if (!PQsendQueryParams(conn, all[i].sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), lengths.data(), formats.data(), 0)) {
      return ErrorStatus(conn, nullptr, server);
    }
  }
  if (!PQpipelineSync(conn)) return ErrorStatus(conn, nullptr, server);
  Status first;
  for (size_t i = begin; i < end; ++i) {
    ResultPtr res(PQgetResult(conn));
    if (!res) return ErrorStatus(conn, nullptr, server);  // connection lost
    if (first.ok() && !StatementOk(res.get()) &&
        PQresultStatus(res.get()) != PGRES_PIPELINE_ABORTED) {
      first = ErrorStatus(conn, res.get(), server);
    }
    ResultPtr end_of_statement(PQgetResult(conn));  // NULL after each result
  }
  ResultPtr sync(PQgetResult(conn));
  if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
    return first.ok() ? ErrorStatus(conn, sync.get(), server) : first;
  }
  return first;
}

}  // namespace

Status ExecPipeline(PGconn* conn, const std::string& server, const std::vector<Statement>& batch) {
  if (batch.empty()) return Status::Ok();
  if (!PQenterPipelineMode(conn)) return ErrorStatus(conn, nullptr, server);
  Status st;
  for (size_t begin = 0; st.ok() && begin < batch.size(); begin += kPipelineChunk) {
    st = RunPipelineChunk(conn, server, batch, begin,
                          std::min(batch.size(), begin + kPipelineChunk));
  }
  // Leaving pipeline mode needs every result read; a broken connection is
  // reset by the next caller anyway.
  if (!PQexitPipelineMode(conn)) {
    if (st.ok()) st = ErrorStatus(conn, nullptr, server);
    // Results left unread would be taken for the next statement's.
    if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF) PQreset(conn);
  }
  return st;
}

Status CopyIn(PGconn* conn, const std::string& server, const std::string& copy_sql,
              std::string_view data) {
  ResultPtr start(PQexec(conn, copy_sql.c_str()));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) {
    return ErrorStatus(conn, start.get(), server);
  }
  bool sent = PQputCopyData(conn, data.data(), static_cast<int>(data.size())) == 1;
  sent = PQputCopyEnd(conn, sent ? nullptr : "client could not send the data") == 1 && sent;
  Status st;
  for (ResultPtr res(PQgetResult(conn)); res; res.reset(PQgetResult(conn))) {
    if (PQresultStatus(res.get()) == PGRES_COPY_IN) {
      // The end of the copy did not get through: the connection is still
      // copying and would answer COPY_IN forever. Give it up.
      PQreset(conn);
      return Unavailable("PostgreSQL at " + server + ": a COPY could not be ended");
    }
    if (st.ok() && !StatementOk(res.get())) st = ErrorStatus(conn, res.get(), server);
  }
  if (st.ok() && (!sent || Broken(conn))) st = ErrorStatus(conn, nullptr, server);
  return st;
}

BinaryCopy::BinaryCopy() {
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n";
  out_.append(kSignature, sizeof(kSignature));  // 11 bytes with its NUL
  Int32(0);                                     // flags
  Int32(0);                                     // header extension length
}

void BinaryCopy::Int16(int16_t v) {
  uint16_t u = static_cast<uint16_t>(v);
  out_ += static_cast<char>(u >> 8);
  out_ += static_cast<char>(u & 0xff);
}

void BinaryCopy::Int32(int32_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) out_ += static_cast<char>((u >> shift) & 0xff);
}

void BinaryCopy::Bytes(std::string_view b) {
  Int32(static_cast<int32_t>(b.size()));
  out_.append(b.data(), b.size());
}

void BinaryCopy::Int64(int64_t v) {
  Int32(8);
  uint64_t u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out_ += static_cast<char>((u >> shift) & 0xff);
}

void BinaryCopy::Bool(bool v) {
  Int32(1);
  out_ += static_cast<char>(v ? 1 : 0);
}

void BinaryCopy::SmallInt(int16_t v) {
  Int32(2);
  Int16(v);
}

const std::string& BinaryCopy::Finish() {
  Int16(-1);
  return out_;
}

namespace {

constexpr int32_t kInt8Oid = 20;
constexpr int32_t kTextOid = 25;

void PutInt32(std::string* out, int32_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) *out += static_cast<char>((u >> shift) & 0xff);
}

// Header of a one-dimensional array without NULLs, lower bound 1.
std::string ArrayHeader(int32_t element_oid, size_t count) {
  std::string out;
  PutInt32(&out, 1);  // dimensions
  PutInt32(&out, 0);  // no NULLs
  PutInt32(&out, element_oid);
  PutInt32(&out, static_cast<int32_t>(count));
  PutInt32(&out, 1);  // lower bound
  return out;
}

}  // namespace

std::string BinaryTextArray(const std::vector<std::string_view>& items) {
  std::string out = ArrayHeader(kTextOid, items.size());
  for (std::string_view item : items) {
    PutInt32(&out, static_cast<int32_t>(item.size()));
    out.append(item.data(), item.size());
  }
  return out;
}

std::string BinaryInt64Array(const std::vector<int64_t>& items) {
  std::string out = ArrayHeader(kInt8Oid, items.size());
  for (int64_t item : items) {
    PutInt32(&out, 8);
    uint64_t u = static_cast<uint64_t>(item);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((u >> shift) & 0xff);
  }
  return out;
}

std::string Text(const PGresult* res, int row, int col) {
  return std::string(PQgetvalue(res, row, col), PQgetlength(res, row, col));
}

int64_t Int(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return 0;
  return std::strtoll(PQgetvalue(res, row, col), nullptr, 10);
}

std::string Bytea(const PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return {};
  size_t len = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(res, row, col)), &len);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(raw), len);
  PQfreemem(raw);
  return out;
}

std::optional<std::string> Literal(PGconn* conn, std::string_view text) {
  char* lit = PQescapeLiteral(conn, text.data(), text.size());
  if (lit == nullptr) return std::nullopt;
  std::string out(lit);
  PQfreemem(lit);
  return out;
}

std::string ByteaLiteral(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'\\x";
  out.reserve(bytes.size() * 2 + 12);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  out += "'::bytea";
  return out;
}

std::string ArrayLiteral(const std::vector<std::string_view>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

Result<ResultPtr> ExecReconnecting(PGconn* conn, const std::string& server, const std::string& sql,
                                   const std::vector<std::string>& params) {
  auto res = Exec(conn, server, sql, params);
  if (res.ok() || !Broken(conn)) return res;
  PQreset(conn);  // one retry on a fresh session
  if (Broken(conn)) {
    return Unavailable(res.status().message() + "; reconnecting failed: " + PQerrorMessage(conn));
  }
  auto set = Exec(conn, server, "SET synchronous_commit = on");
  if (!set.ok()) return set.status();
  return Exec(conn, server, sql, params);
}

}  // namespace flare::pg
