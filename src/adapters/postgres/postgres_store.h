// PostgreSQL implementation of MessageStore and ConversationStore, over
// plain libpq. One write connection (the storage writer's) and a small pool
// of read connections; each call that finds its connection broken resets
// it and, for reads, tries once more. Errors come back as Status.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/postgres/pg_conn.h"
#include "ports/conversation_store.h"
#include "ports/message_store.h"

namespace flare {

struct PostgresOptions {
  std::string dsn;           // libpq connection string
  int max_idle_readers = 4;  // read connections kept open between calls
};

// The schema version this binary creates and understands.
int PostgresSchemaVersion();

class PostgresStore final : public MessageStore, public ConversationStore {
 public:
  // Connects, applies the pending schema migrations and refuses a database
  // whose schema is newer than this binary knows.
  static Result<std::shared_ptr<PostgresStore>> Open(const PostgresOptions& options);

  // One transaction per batch, committed with synchronous_commit = on.
  Status Write(const WriteBatch& batch) override;
  Result<int64_t> ClaimPartition(int32_t partition) override;
  // Commits are durable when Write returns (synchronous_commit = on).
  Status Sync() override { return Status::Ok(); }

  Result<int64_t> MaxSeq(const std::string& tenant, const std::string& conversation_id) override;
  Result<std::optional<Message>> FindByClientMsgId(const std::string& tenant,
                                                   const std::string& sender,
                                                   const std::string& client_msg_id) override;
  Result<std::vector<std::optional<Message>>> FindByClientMsgIds(
      const std::vector<IdempotencyKeyRef>& keys) override;
  Result<std::vector<Message>> ReadAfter(const std::string& tenant,
                                         const std::string& conversation_id, int64_t after_seq,
                                         int limit) override;
  Result<int64_t> CountAfter(const std::string& tenant, const std::string& conversation_id,
                             int64_t after_seq, int64_t up_to_seq,
                             const std::string& exclude_sender) override;
  Result<bool> MentionedAfter(const std::string& tenant, const std::string& conversation_id,
                              int64_t after_seq, int64_t up_to_seq,
                              const std::string& user_id) override;
  Result<std::optional<Message>> Get(const std::string& tenant, const std::string& conversation_id,
                                     int64_t seq) override;
  Result<std::vector<Message>> GetMany(const std::string& tenant,
                                       const std::string& conversation_id,
                                       const std::vector<int64_t>& seqs) override;
  Result<std::optional<Message>> Last(const std::string& tenant,
                                      const std::string& conversation_id) override;

  Result<std::vector<std::string>> Members(const std::string& tenant,
                                           const std::string& conversation_id) override;
  Result<std::vector<MemberConversation>> ListForUser(const std::string& tenant,
                                                      const std::string& user_id) override;
  Result<std::optional<MemberRow>> GetMember(const std::string& tenant,
                                             const std::string& conversation_id,
                                             const std::string& user_id) override;
  Result<std::optional<ConversationSnapshot>> LoadConversation(
      const std::string& tenant, const std::string& conversation_id) override;
  Result<int64_t> CountReaders(const std::string& tenant, const std::string& conversation_id,
                               int64_t seq, const std::string& exclude_user) override;

  const std::string& server() const { return server_; }

 private:
  PostgresStore(PostgresOptions options, std::string server, pg::ConnPtr writer)
      : options_(std::move(options)), server_(std::move(server)), writer_(std::move(writer)) {}

  // Runs a read on a pooled connection; a broken one is reset and the
  // statement tried once more.
  Result<pg::ResultPtr> Read(const std::string& sql, const std::vector<std::string>& params);
  Result<std::optional<Message>> ReadOneMessage(const std::string& sql,
                                                const std::vector<std::string>& params);
  Result<std::vector<Message>> ReadMessages(const std::string& sql,
                                            const std::vector<std::string>& params);
  Result<std::string> BuildBatchSql(const WriteBatch& batch);  // write_mu_ held

  const PostgresOptions options_;
  const std::string server_;  // host:port, for errors
  std::mutex write_mu_;
  pg::ConnPtr writer_;
  std::mutex pool_mu_;
  std::vector<pg::ConnPtr> idle_;
};

// Applies the schema migrations this binary knows on `conn` (idempotent,
// serialised between processes by an advisory lock).
Status MigratePostgres(PGconn* conn, const std::string& server);

}  // namespace flare
