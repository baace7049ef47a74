// The SQLite store's write path: group commits on the one write
// connection, syncing the WAL, checkpoints, and a durable close.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "adapters/sqlite/sqlite_store.h"
#include "adapters/stored_message.h"

namespace flare {
namespace {

// search_text and hides_seq feed the search index (sqlite_store_search.cc):
// NULL when the message has no text to find or hides nothing.
constexpr const char* kInsertMessage =
    "INSERT INTO messages(tenant, conversation_id, seq, server_msg_id, sender, client_msg_id, "
    "server_time_ms, countable, mentions, body, search_text, hides_seq) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULLIF(?11, ''), NULLIF(?12, 0))";

// A recall or an edit changes what the message is found by.
constexpr const char* kUpdateMessage =
    "UPDATE messages SET body = ?4, search_text = NULLIF(?5, '') "
    "WHERE tenant = ?1 AND conversation_id = ?2 AND seq = ?3";

constexpr const char* kUpsertMember =
    "INSERT INTO members(tenant, user_id, conversation_id, conversation_type, joined_ms, role, "
    "muted_until_ms, joined_seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT DO UPDATE SET role = excluded.role, muted_until_ms = excluded.muted_until_ms, "
    "joined_seq = excluded.joined_seq";

constexpr const char* kDeleteMember =
    "DELETE FROM members WHERE tenant = ?1 AND user_id = ?2 AND conversation_id = ?3";

constexpr const char* kUpsertConversation =
    "INSERT INTO conversations(tenant, conversation_id, info) VALUES(?1, ?2, ?3) "
    "ON CONFLICT DO UPDATE SET info = excluded.info";

constexpr const char* kAdvanceCursor =
    "UPDATE members SET delivered_seq = max(delivered_seq, ?4), read_seq = max(read_seq, ?5) "
    "WHERE tenant = ?1 AND user_id = ?2 AND conversation_id = ?3";

constexpr const char* kClaimPartition =
    "INSERT INTO partition_claims(partition, epoch) VALUES(?1, 1) "
    "ON CONFLICT DO UPDATE SET epoch = epoch + 1 RETURNING epoch";
constexpr const char* kPartitionEpoch = "SELECT epoch FROM partition_claims WHERE partition = ?1";

Status SyncFailed(const std::string& what, int rc) {
  return IoError("fsync of " + what + " failed: " + sqlite3_errstr(rc));
}

}  // namespace

Status SqliteStore::Write(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  std::lock_guard lock(write_mu_);
  // The search index takes new messages in bulk: one FTS5 segment per
  // message batch cost about 30 of a write's 43 us per message.
  const int64_t unindexed = unindexed_ + static_cast<int64_t>(batch.messages.size());
  const bool index = unindexed >= options_.search_index_batch;
  FLARE_RETURN_IF_ERROR(writer_->InTransaction([&]() -> Status {
    FLARE_RETURN_IF_ERROR(WriteInTransaction(batch));
    return index ? IndexNewMessagesLocked() : Status::Ok();
  }));
  unindexed_ = index ? 0 : unindexed;
  RememberWalFile();
  return Status::Ok();
}

void SqliteStore::RememberWalFile() {
  if (wal_file_.load(std::memory_order_relaxed) != nullptr) return;
  sqlite3_file* wal = nullptr;
  if (sqlite3_file_control(writer_->handle(), "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) ==
          SQLITE_OK &&
      wal != nullptr && wal->pMethods != nullptr) {
    wal_file_.store(wal, std::memory_order_release);
  }
}

// Runs on the syncer thread while the writer thread may be appending the
// next batch: an fsync of the WAL covers every commit that returned before
// it started. It goes through SQLite's VFS (whose file object stays valid
// while the write connection is open), so a fault-injecting VFS sees it.
Status SqliteStore::Sync() {
  std::lock_guard lock(sync_mu_);
  if (sync_failed_.load(std::memory_order_acquire)) {
    return IoError("an earlier fsync failed; data since then may not be on disk");
  }
  if (!sync_per_batch_) return Status::Ok();
  sqlite3_file* wal = wal_file_.load(std::memory_order_acquire);
  if (wal == nullptr) return Status::Ok();  // nothing committed since Open synced
  int rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
  if (rc != SQLITE_OK) return SyncFailed(path_ + "-wal", rc);
  return Status::Ok();
}

// The directory entries of the database and its WAL are durable only once
// the directory itself is synced.
Status SqliteStore::SyncDirectory() {
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open directory " + dir + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("fsync of directory " + dir + " failed: " + std::strerror(err));
  return Status::Ok();
}

Result<bool> SqliteStore::Checkpoint() {
  std::lock_guard lock(write_mu_);
  sqlite3_file* wal = wal_file_.load(std::memory_order_acquire);
  if (wal == nullptr || sync_failed_.load()) return false;
  sqlite3_int64 size = 0;
  if (wal->pMethods->xFileSize(wal, &size) != SQLITE_OK || size < next_checkpoint_bytes_) {
    return false;
  }
  Status st = CheckpointLocked();
  // If readers kept part of the WAL alive, try again only after it grew by
  // another limit's worth, not after every batch.
  size = 0;
  (void)wal->pMethods->xFileSize(wal, &size);  // 0 on error: retry at the limit
  next_checkpoint_bytes_ =
      std::max<int64_t>(options_.checkpoint_wal_bytes, size + options_.checkpoint_wal_bytes);
  if (!st.ok()) return st;
  return true;
}

// With synchronous=FULL, SQLite syncs the WAL before copying it into the
// database file and syncs the database file before it truncates the WAL,
// so no acknowledged commit exists only in unsynced pages at any moment.
//
// Readers in the way make the checkpoint stop short instead of waiting (no
// busy timeout): it is tried again once the WAL has grown further.
Status SqliteStore::CheckpointLocked() {
  std::lock_guard lock(sync_mu_);
  FLARE_RETURN_IF_ERROR(writer_->Exec("PRAGMA synchronous=FULL"));
  sqlite3_busy_timeout(writer_->handle(), 0);
  Status st = writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  sqlite3_busy_timeout(writer_->handle(), sqlite::kBusyTimeoutMs);
  if (!st.ok() && st.code() == Code::kIoError) {
    sync_failed_.store(true, std::memory_order_release);
    return st;
  }
  Status restored =
      writer_->Exec(sync_per_batch_ ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=NORMAL");
  return st.ok() ? restored : st;
}

// Closing the last connection checkpoints and deletes the WAL; with
// synchronous=OFF that checkpoint would not sync the database file first.
// Checkpoint with syncs, and leave synchronous=FULL for the close.
SqliteStore::~SqliteStore() {
  std::lock_guard lock(write_mu_);
  {
    std::lock_guard pool(pool_mu_);
    readers_.clear();
  }
  if (!writer_) return;
  if (sync_failed_.load()) {
    // Copying WAL frames whose pages may be lost into the database file
    // would spread the damage: leave the WAL for recovery.
    sqlite3_db_config(writer_->handle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  } else {
    Status st = writer_->Exec("PRAGMA synchronous=FULL");
    if (st.ok()) st = writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!st.ok()) spdlog::error("closing {}: checkpoint failed: {}", path_, st.ToString());
  }
  wal_file_.store(nullptr);
  writer_.reset();
}

// A claim commits like any batch (durable with the next Sync).
Result<int64_t> SqliteStore::ClaimPartition(int32_t partition) {
  std::lock_guard lock(write_mu_);
  int64_t epoch = 0;
  FLARE_RETURN_IF_ERROR(writer_->InTransaction([&]() -> Status {
    auto stmt = writer_->Prepare(kClaimPartition);
    if (!stmt.ok()) return stmt.status();
    auto row = (*stmt)->Bind(1, int64_t{partition}).Step();
    if (!row.ok()) return row.status();
    if (*row) epoch = (*stmt)->Int(0);
    return Status::Ok();
  }));
  return epoch;
}

Status SqliteStore::CheckClaims(const WriteBatch& batch) {
  for (const auto& claim : batch.claims) {
    auto stmt = writer_->Prepare(kPartitionEpoch);
    if (!stmt.ok()) return stmt.status();
    auto row = (*stmt)->Bind(1, int64_t{claim.partition}).Step();
    if (!row.ok()) return row.status();
    if (!*row || (*stmt)->Int(0) != claim.epoch) {
      return Aborted("partition " + std::to_string(claim.partition) +
                     " is owned by a newer writer");
    }
  }
  return Status::Ok();
}

Status SqliteStore::WriteInTransaction(const WriteBatch& batch) {
  FLARE_RETURN_IF_ERROR(CheckClaims(batch));
  for (const auto& c : batch.conversations) {
    auto stmt = writer_->Prepare(kUpsertConversation);
    if (!stmt.ok()) return stmt.status();
    FLARE_RETURN_IF_ERROR(
        (*stmt)->Bind(1, c.tenant).Bind(2, c.conversation_id).BindBlob(3, c.info).Run());
  }
  FLARE_RETURN_IF_ERROR(WriteMemberships(batch));
  std::string body;
  for (const auto& sm : batch.messages) {
    const Message& m = sm.message;
    m.SerializeToString(&body);
    std::string mentions = stored::MentionColumn(m);
    int64_t countable = stored::Countable(m) ? 1 : 0;
    std::string search_text = stored::SearchText(m);
    auto stmt = writer_->Prepare(kInsertMessage);
    if (!stmt.ok()) return stmt.status();
    FLARE_RETURN_IF_ERROR((*stmt)
                              ->Bind(1, sm.tenant)
                              .Bind(2, m.conversation_id())
                              .Bind(3, m.seq())
                              .Bind(4, m.server_msg_id())
                              .Bind(5, m.sender())
                              .Bind(6, m.client_msg_id())
                              .Bind(7, m.server_time_ms())
                              .Bind(8, countable)
                              .Bind(9, mentions)
                              .BindBlob(10, body)
                              .Bind(11, search_text)
                              .Bind(12, stored::HiddenSeq(m))
                              .Run());
  }
  for (const auto& sm : batch.updates) {
    sm.message.SerializeToString(&body);
    std::string search_text = stored::SearchText(sm.message);
    auto stmt = writer_->Prepare(kUpdateMessage);
    if (!stmt.ok()) return stmt.status();
    FLARE_RETURN_IF_ERROR((*stmt)
                              ->Bind(1, sm.tenant)
                              .Bind(2, sm.message.conversation_id())
                              .Bind(3, sm.message.seq())
                              .BindBlob(4, body)
                              .Bind(5, search_text)
                              .Run());
  }
  for (const auto& c : batch.cursors) {
    auto stmt = writer_->Prepare(kAdvanceCursor);
    if (!stmt.ok()) return stmt.status();
    FLARE_RETURN_IF_ERROR((*stmt)
                              ->Bind(1, c.tenant)
                              .Bind(2, c.user_id)
                              .Bind(3, c.conversation_id)
                              .Bind(4, c.delivered_seq)
                              .Bind(5, c.read_seq)
                              .Run());
  }
  return Status::Ok();
}

// In batch order: a member removed and re-added in one batch stays a member.
Status SqliteStore::WriteMemberships(const WriteBatch& batch) {
  for (const auto& r : batch.memberships) {
    if (r.removed) {
      auto stmt = writer_->Prepare(kDeleteMember);
      if (!stmt.ok()) return stmt.status();
      FLARE_RETURN_IF_ERROR(
          (*stmt)->Bind(1, r.tenant).Bind(2, r.user_id).Bind(3, r.conversation_id).Run());
      continue;
    }
    auto stmt = writer_->Prepare(kUpsertMember);
    if (!stmt.ok()) return stmt.status();
    FLARE_RETURN_IF_ERROR((*stmt)
                              ->Bind(1, r.tenant)
                              .Bind(2, r.user_id)
                              .Bind(3, r.conversation_id)
                              .Bind(4, int64_t{r.conversation_type})
                              .Bind(5, r.joined_ms)
                              .Bind(6, int64_t{r.role})
                              .Bind(7, r.muted_until_ms)
                              .Bind(8, r.joined_seq)
                              .Run());
  }
  return Status::Ok();
}

}  // namespace flare
