// The PostgreSQL store's write path: a whole batch as one transaction sent
// in one round trip (messages as multi-row INSERTs), committed with
// synchronous_commit = on so Sync() has nothing left to do.
#include "adapters/postgres/postgres_store.h"
#include "adapters/stored_message.h"

namespace flare {
namespace {

constexpr size_t kRowsPerInsert = 500;

// Appends values as a parenthesised, comma separated SQL tuple.
class Tuple {
 public:
  explicit Tuple(PGconn* conn) : conn_(conn) {}
  Tuple& Str(std::string_view s) {
    auto lit = pg::Literal(conn_, s);
    if (!lit) ok_ = false;
    return Raw(lit ? *lit : "''");
  }
  Tuple& Int(int64_t v) { return Raw(std::to_string(v)); }
  Tuple& Bytes(std::string_view b) { return Raw(pg::ByteaLiteral(b)); }
  Tuple& Raw(const std::string& sql) {
    out_ += out_.empty() ? "(" : ", ";
    out_ += sql;
    return *this;
  }
  std::string sql() const { return out_ + ")"; }
  bool ok() const { return ok_; }

 private:
  PGconn* conn_;
  std::string out_;
  bool ok_ = true;
};

}  // namespace

// One statement per conversation, membership (in batch order: a removal
// deletes the row), update and cursor; messages in multi-row INSERTs.
Result<std::string> PostgresStore::BuildBatchSql(const WriteBatch& batch) {
  PGconn* conn = writer_.get();
  std::string sql = "BEGIN;\n";
  for (const auto& claim : batch.claims) {
    sql += "SELECT flare_check_claim(" + std::to_string(claim.partition) + ", " +
           std::to_string(claim.epoch) + ");\n";
  }
  bool ok = true;
  auto add = [&](const std::string& statement, const Tuple& t) {
    ok = ok && t.ok();
    sql += statement;
  };
  for (const auto& c : batch.conversations) {
    Tuple t(conn);
    t.Str(c.tenant).Str(c.conversation_id).Bytes(c.info);
    add("INSERT INTO conversations(tenant, conversation_id, info) VALUES " + t.sql() +
            " ON CONFLICT (tenant, conversation_id) DO UPDATE SET info = EXCLUDED.info;\n",
        t);
  }
  for (const auto& r : batch.memberships) {
    Tuple key(conn);
    key.Str(r.tenant).Str(r.user_id).Str(r.conversation_id);
    if (r.removed) {
      add("DELETE FROM members WHERE (tenant, user_id, conversation_id) = " + key.sql() + ";\n",
          key);
      continue;
    }
    Tuple t(conn);
    t.Str(r.tenant).Str(r.user_id).Str(r.conversation_id).Int(r.conversation_type);
    t.Int(r.joined_ms).Int(r.role).Int(r.muted_until_ms).Int(r.joined_seq);
    add("INSERT INTO members(tenant, user_id, conversation_id, conversation_type, joined_ms, "
        "role, muted_until_ms, joined_seq) VALUES " +
            t.sql() +
            " ON CONFLICT (tenant, user_id, conversation_id) DO UPDATE SET role = EXCLUDED.role, "
            "muted_until_ms = EXCLUDED.muted_until_ms, joined_seq = EXCLUDED.joined_seq;\n",
        t);
  }
  std::string body;
  for (size_t start = 0; start < batch.messages.size(); start += kRowsPerInsert) {
    sql +=
        "INSERT INTO messages(tenant, conversation_id, seq, server_msg_id, sender, "
        "client_msg_id, server_time_ms, countable, mentions, body) VALUES ";
    size_t end = std::min(batch.messages.size(), start + kRowsPerInsert);
    for (size_t i = start; i < end; ++i) {
      const StoredMessage& sm = batch.messages[i];
      const Message& m = sm.message;
      m.SerializeToString(&body);
      Tuple t(conn);
      t.Str(sm.tenant).Str(m.conversation_id()).Int(m.seq()).Str(m.server_msg_id());
      t.Str(m.sender()).Str(m.client_msg_id()).Int(m.server_time_ms());
      t.Raw(stored::Countable(m) ? "true" : "false");
      t.Str(stored::MentionColumn(m)).Bytes(body);
      add((i > start ? ", " : "") + t.sql(), t);
    }
    sql += ";\n";
  }
  for (const auto& sm : batch.updates) {
    sm.message.SerializeToString(&body);
    Tuple key(conn);
    key.Str(sm.tenant).Str(sm.message.conversation_id()).Int(sm.message.seq());
    add("UPDATE messages SET body = " + pg::ByteaLiteral(body) +
            " WHERE (tenant, conversation_id, seq) = " + key.sql() + ";\n",
        key);
  }
  for (const auto& c : batch.cursors) {
    Tuple key(conn);
    key.Str(c.tenant).Str(c.user_id).Str(c.conversation_id);
    add("UPDATE members SET delivered_seq = GREATEST(delivered_seq, " +
            std::to_string(c.delivered_seq) + "), read_seq = GREATEST(read_seq, " +
            std::to_string(c.read_seq) +
            ") WHERE (tenant, user_id, conversation_id) = " + key.sql() + ";\n",
        key);
  }
  sql += "COMMIT;";
  if (!ok) return InvalidArgument("a batch holds text that is not valid in the database encoding");
  return sql;
}

Result<int64_t> PostgresStore::ClaimPartition(int32_t partition) {
  std::lock_guard lock(write_mu_);
  auto res = pg::Exec(writer_.get(), server_,
                      "INSERT INTO partition_claims(partition, epoch) VALUES($1, 1) "
                      "ON CONFLICT (partition) DO UPDATE SET epoch = partition_claims.epoch + 1 "
                      "RETURNING epoch",
                      {std::to_string(partition)});
  if (!res.ok()) return res.status();
  return pg::Int(res->get(), 0, 0);
}

// The batch travels as one multi-statement query: BEGIN, its statements,
// COMMIT. On the first error PostgreSQL skips the rest and leaves the
// transaction aborted; ROLLBACK ends it and nothing is written. A
// duplicate (conversation, seq) or idempotency key fails with SQLSTATE
// 23505, which comes back as kAlreadyExists.
//
// A connection found broken before the batch is sent is reset first. One
// that breaks while the batch is in flight is not retried: whether its
// COMMIT happened is unknown, so the error (kUnavailable) goes back.
Status PostgresStore::Write(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  std::lock_guard lock(write_mu_);
  if (pg::Broken(writer_.get())) {
    PQreset(writer_.get());
    if (pg::Broken(writer_.get())) {
      return Unavailable("PostgreSQL at " + server_ + ": " + PQerrorMessage(writer_.get()));
    }
    auto set = pg::Exec(writer_.get(), server_, "SET synchronous_commit = on");
    if (!set.ok()) return set.status();
  }
  auto sql = BuildBatchSql(batch);
  if (!sql.ok()) return sql.status();
  auto res = pg::Exec(writer_.get(), server_, *sql);
  if (res.ok()) return Status::Ok();
  if (!pg::Broken(writer_.get())) (void)pg::Exec(writer_.get(), server_, "ROLLBACK");
  return res.status();
}

}  // namespace flare
