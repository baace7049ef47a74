// PostgreSQL implementation of MessageStore and ConversationStore, over
// plain libpq. One write connection (the storage writer's) and a small pool
// of read connections; each call that finds its connection broken resets
// it and, for reads, tries once more. Errors come back as Status.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/postgres/pg_conn.h"
#include "ports/conversation_store.h"
#include "ports/message_search.h"
#include "ports/message_store.h"

namespace flare {

struct PostgresOptions {
  std::string dsn;           // libpq connection string
  int max_idle_readers = 4;  // read connections kept open between calls
  // Messages whose week partition ended more than this many days ago are
  // dropped by Maintain; 0 keeps everything.
  int retention_days = 0;
  // How often a background thread runs Maintain; 0: only at Open and when
  // called (tests call it with chosen times).
  int64_t maintenance_interval_ms = 3'600'000;
};

// Messages are partitioned by week of server_time_ms (UTC, weeks counted
// from the Unix epoch): partition messages_w<N> holds
// [N * kPartitionMs, (N + 1) * kPartitionMs).
inline constexpr int64_t kPartitionMs = 7 * 86'400'000LL;
// Maintain keeps this many weeks after the current one created ahead.
inline constexpr int kPartitionsAhead = 2;

// What one Maintain run did (for logs and tests).
struct MaintenanceReport {
  int partitions_created = 0;
  int partitions_dropped = 0;
  int64_t keys_deleted = 0;
  int64_t search_backfilled = 0;  // rows from before schema 8 given their search columns
};

// The schema version this binary creates and understands.
int PostgresSchemaVersion();

// Search: a GIN index over to_tsvector('simple', search_text) on the
// partitioned messages table; see postgres_store_search.cc.
class PostgresStore final : public MessageStore, public ConversationStore, public MessageSearch {
 public:
  // Connects, applies the pending schema migrations and refuses a database
  // whose schema is newer than this binary knows.
  static Result<std::shared_ptr<PostgresStore>> Open(const PostgresOptions& options);
  ~PostgresStore() override;

  // Creates the partitions of the current week and kPartitionsAhead after
  // it (as of now_ms) and, with a retention, drops the partitions that
  // ended more than retention_days before now_ms, then their message_keys
  // rows in small transactions. Runs on its own connection; it takes the
  // messages table's lock only for the moment a partition is created or
  // dropped (and gives up after a lock timeout rather than queue writers).
  Result<MaintenanceReport> Maintain(int64_t now_ms);

  // One transaction per batch, committed with synchronous_commit = off:
  // visible to readers when Write returns, durable after the next Sync().
  Status Write(const WriteBatch& batch) override;
  Result<int64_t> ClaimPartition(int32_t partition) override;
  // Makes every batch whose Write returned before this call durable: one
  // small commit with synchronous_commit = on, on a connection of its own
  // (so it runs while Write applies the next batch). Returns at once when
  // nothing was written since the last successful Sync. A failure is
  // sticky: kUnavailable (or the first error) from then on, until the store
  // is reopened, because a batch committed before it may have been lost
  // with the server and no later flush can vouch for it.
  Status Sync() override;

  Result<int64_t> MaxSeq(const std::string& tenant, const std::string& conversation_id) override;
  Result<std::vector<int64_t>> MaxSeqs(const std::vector<ConversationRef>& conversations) override;
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

  const std::string& server() const { return server_; }

 private:
  PostgresStore(PostgresOptions options, std::string server, pg::ConnPtr writer, pg::ConnPtr syncer)
      : options_(std::move(options)),
        server_(std::move(server)),
        writer_(std::move(writer)),
        syncer_(std::move(syncer)) {}

  void StartMaintenanceThread();
  Status EnsurePartitions(PGconn* conn, const std::set<int64_t>& weeks);  // autocommit
  Status EnsureBatchPartitions(const WriteBatch& batch);                  // write_mu_ held
  Status SendBatch(const WriteBatch& batch);                              // write_mu_ held
  Result<int> DropExpiredPartitions(PGconn* conn, int64_t boundary_ms);
  // Fills search_text and hides_seq of rows stored before schema 8 (or by
  // an older binary since) from their bodies; returns how many.
  Result<int64_t> BackfillSearch(PGconn* conn);

  // Runs a read on a pooled connection; a broken one is reset and the
  // statement tried once more.
  Result<pg::ResultPtr> Read(const std::string& sql, const std::vector<std::string>& params);
  Result<std::optional<Message>> ReadOneMessage(const std::string& sql,
                                                const std::vector<std::string>& params);
  Result<std::vector<Message>> ReadMessages(const std::string& sql,
                                            const std::vector<std::string>& params);

  const PostgresOptions options_;
  const std::string server_;  // host:port, for errors
  std::mutex write_mu_;
  pg::ConnPtr writer_;
  // Batches Write has sent (some may have committed even if it failed).
  std::atomic<int64_t> writes_{0};
  std::mutex sync_mu_;  // Sync's own: it never waits for a Write
  pg::ConnPtr syncer_;
  int64_t synced_writes_ = 0;  // writes_ as of the last successful Sync
  Status sync_failure_;        // the first failed Sync's error (sticky)
  std::mutex pool_mu_;
  std::vector<pg::ConnPtr> idle_;
  // Weeks whose partition is known to exist (the writer creates missing
  // ones before a batch; Maintain forgets the ones it drops).
  std::mutex weeks_mu_;
  std::set<int64_t> known_weeks_;
  std::mutex maintain_mu_;  // one Maintain at a time, on maintain_conn_
  pg::ConnPtr maintain_conn_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread maintainer_;
};

// Applies the schema migrations this binary knows on `conn` (idempotent,
// serialised between processes by an advisory lock); with up_to > 0 only
// those up to that version (tests build old databases with it).
Status MigratePostgres(PGconn* conn, const std::string& server, int up_to = 0);

// The week partition holding server_time_ms (rounded down, also before 1970).
inline int64_t PartitionWeek(int64_t server_time_ms) {
  int64_t q = server_time_ms / kPartitionMs;
  return (server_time_ms % kPartitionMs < 0) ? q - 1 : q;
}

}  // namespace flare
