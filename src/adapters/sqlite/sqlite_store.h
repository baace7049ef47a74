// SQLite (WAL) implementation of MessageStore and ConversationStore.
// One write connection (the storage writer's thread) and a pool of read
// connections, so sync and bootstrap never wait for a group commit.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/sqlite/sqlite_db.h"
#include "ports/conversation_store.h"
#include "ports/message_store.h"

namespace flare {

class SqliteStore final : public MessageStore, public ConversationStore {
 public:
  // durability "full": fsync per commit (synchronous=FULL); "normal":
  // WAL without fsync per commit (synchronous=NORMAL).
  static Result<std::shared_ptr<SqliteStore>> Open(const std::string& path,
                                                   const std::string& durability);

  Status Write(const WriteBatch& batch) override;
  Status Sync() override;
  ~SqliteStore() override;
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
                             int64_t after_seq, const std::string& exclude_sender) override;
  Result<std::optional<Message>> Last(const std::string& tenant,
                                      const std::string& conversation_id) override;
  Result<bool> MentionedAfter(const std::string& tenant, const std::string& conversation_id,
                              int64_t after_seq, const std::string& user_id) override;
  Result<std::optional<Message>> Get(const std::string& tenant, const std::string& conversation_id,
                                     int64_t seq) override;

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

 private:
  class Reader;  // a pooled read connection, returned on destruction
  SqliteStore(std::string path, std::unique_ptr<sqlite::Db> writer, bool sync_per_batch)
      : path_(std::move(path)), sync_per_batch_(sync_per_batch), writer_(std::move(writer)) {}
  Status CheckpointIfLarge();
  Result<Reader> AcquireReader();
  void ReleaseReader(std::unique_ptr<sqlite::Db> db);
  Status WriteInTransaction(const WriteBatch& batch);

  std::string path_;
  const bool sync_per_batch_;  // durability "full": Sync() fdatasyncs the WAL
  int wal_fd_ = -1;            // opened on the first Sync
  int64_t writes_since_checkpoint_ = 0;
  std::mutex write_mu_;
  std::unique_ptr<sqlite::Db> writer_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<sqlite::Db>> readers_;
};

}  // namespace flare
