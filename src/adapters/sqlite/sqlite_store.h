// SQLite (WAL) implementation of MessageStore and ConversationStore.
// One write connection (the storage writer's thread) and a pool of read
// connections, so sync and bootstrap never wait for a group commit.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/sqlite/sqlite_db.h"
#include "ports/conversation_store.h"
#include "ports/message_search.h"
#include "ports/message_store.h"

namespace flare {

struct SqliteOptions {
  // "full": Sync() fsyncs the WAL (commits themselves do not, so the next
  // batch is written while this one is synced); "normal": WAL without fsync
  // per commit (synchronous=NORMAL).
  std::string durability = "full";
  std::string vfs;  // a registered SQLite VFS; empty: SQLite's default
  // The WAL is checkpointed into the database file and truncated once it
  // is this large.
  int64_t checkpoint_wal_bytes = 64ll << 20;
  // The writer connection's page cache: hot index pages stay in memory
  // instead of being re-read (the process's RSS grows to it and stays).
  int64_t cache_mib = 128;
  // New messages join the search index this many at a time (in the write
  // that reaches the count), or all at once before a search.
  int64_t search_index_batch = 1024;
};

// Search: an FTS5 index (message_fts, external content over the messages
// table's search_text column), filled in bulk behind the writes and caught
// up before every search; see sqlite_store_search.cc.
class SqliteStore final : public MessageStore, public ConversationStore, public MessageSearch {
 public:
  static Result<std::shared_ptr<SqliteStore>> Open(const std::string& path,
                                                   const SqliteOptions& options = {});

  Status Write(const WriteBatch& batch) override;
  Result<int64_t> ClaimPartition(int32_t partition) override;
  Status Sync() override;
  Result<bool> Checkpoint() override;
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
                             int64_t after_seq, int64_t up_to_seq,
                             const std::string& exclude_sender) override;
  Result<std::optional<Message>> Last(const std::string& tenant,
                                      const std::string& conversation_id) override;
  Result<bool> MentionedAfter(const std::string& tenant, const std::string& conversation_id,
                              int64_t after_seq, int64_t up_to_seq,
                              const std::string& user_id) override;
  Result<std::optional<Message>> Get(const std::string& tenant, const std::string& conversation_id,
                                     int64_t seq) override;
  Result<std::vector<Message>> GetMany(const std::string& tenant,
                                       const std::string& conversation_id,
                                       const std::vector<int64_t>& seqs) override;

  Result<std::vector<std::string>> Members(const std::string& tenant,
                                           const std::string& conversation_id) override;
  Result<std::vector<MemberConversation>> ListForUser(const std::string& tenant,
                                                      const std::string& user_id) override;
  Result<std::optional<MemberConversation>> GetMemberConversation(
      const std::string& tenant, const std::string& conversation_id,
      const std::string& user_id) override;
  Result<std::optional<MemberRow>> GetMember(const std::string& tenant,
                                             const std::string& conversation_id,
                                             const std::string& user_id) override;
  Result<std::optional<ConversationSnapshot>> LoadConversation(
      const std::string& tenant, const std::string& conversation_id) override;
  Result<int64_t> CountReaders(const std::string& tenant, const std::string& conversation_id,
                               int64_t seq, const std::string& exclude_user) override;

  Result<SearchPage> Search(const SearchQuery& query) override;

 private:
  class Reader;  // a pooled read connection, returned on destruction
  SqliteStore(std::string path, SqliteOptions options, std::unique_ptr<sqlite::Db> writer)
      : path_(std::move(path)),
        options_(std::move(options)),
        sync_per_batch_(options_.durability != "normal"),
        next_checkpoint_bytes_(options_.checkpoint_wal_bytes),
        writer_(std::move(writer)) {}
  Result<Reader> AcquireReader();
  void ReleaseReader(std::unique_ptr<sqlite::Db> db);
  Status WriteInTransaction(const WriteBatch& batch);
  Status CheckClaims(const WriteBatch& batch);
  Status WriteMemberships(const WriteBatch& batch);
  Status WriteMessages(const WriteBatch& batch);
  Status SyncDirectory();
  // Adds the search columns, index and triggers to a database that has
  // none (a new one, or one written before search existed, whose messages
  // are indexed now), in one transaction. write_mu_ held.
  Status EnsureSearchIndexLocked();
  Status BackfillSearchColumnsLocked();
  Status DeferSearchIndexingLocked();  // an index kept by an insert trigger
  Result<int64_t> UnindexedMessagesLocked();
  // Indexes every message written since the last time, inside the caller's
  // transaction. write_mu_ held.
  Status IndexNewMessagesLocked();
  Status CatchUpSearchIndex();  // before a search: its own transaction
  Status CheckpointLocked();  // write_mu_ held
  void RememberWalFile();     // write_mu_ held

  std::string path_;
  const SqliteOptions options_;
  const bool sync_per_batch_;  // durability "full": Sync() syncs the WAL
  // The WAL's file as SQLite's VFS opened it (set after the first commit):
  // syncing through it lets a test VFS see every sync.
  std::atomic<sqlite3_file*> wal_file_{nullptr};
  // Set when a checkpoint failed with an I/O error: its fsync of the WAL may
  // have failed, and Linux reports that only once per file, so a later
  // Sync() could succeed over lost pages. Every Sync() fails from then on,
  // and nothing more is checkpointed.
  std::atomic<bool> sync_failed_{false};
  // Held by Sync() and by checkpoints: a checkpoint whose fsync fails and
  // the syncer's next fsync of the same WAL must not overlap, or the
  // syncer could report success over pages the failed one dropped.
  std::mutex sync_mu_;
  int64_t next_checkpoint_bytes_;  // write_mu_
  // Messages committed and not yet in the search index (a count: what
  // decides when to index; the position itself is in search_progress).
  int64_t unindexed_ = 0;  // write_mu_
  std::mutex write_mu_;
  std::unique_ptr<sqlite::Db> writer_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<sqlite::Db>> readers_;
};

}  // namespace flare
