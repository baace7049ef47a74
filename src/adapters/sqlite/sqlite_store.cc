#include "adapters/sqlite/sqlite_store.h"
#include "adapters/sqlite/sqlite_store_reader.h"
#include "adapters/stored_message.h"

namespace flare {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL,
  server_msg_id TEXT NOT NULL, sender TEXT NOT NULL, client_msg_id TEXT NOT NULL,
  server_time_ms INTEGER NOT NULL, countable INTEGER NOT NULL, mentions TEXT NOT NULL,
  body BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_seq ON messages(tenant, conversation_id, seq);
CREATE UNIQUE INDEX IF NOT EXISTS messages_idempotency
  ON messages(tenant, sender, client_msg_id);
CREATE TABLE IF NOT EXISTS members(
  tenant TEXT NOT NULL, user_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
  conversation_type INTEGER NOT NULL, joined_ms INTEGER NOT NULL,
  role INTEGER NOT NULL DEFAULT 0, muted_until_ms INTEGER NOT NULL DEFAULT 0,
  joined_seq INTEGER NOT NULL DEFAULT 0,
  read_seq INTEGER NOT NULL DEFAULT 0, delivered_seq INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(tenant, user_id, conversation_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_conversation ON members(tenant, conversation_id);
CREATE TABLE IF NOT EXISTS conversations(
  tenant TEXT NOT NULL, conversation_id TEXT NOT NULL, info BLOB NOT NULL,
  PRIMARY KEY(tenant, conversation_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS partition_claims(
  partition INTEGER PRIMARY KEY, epoch INTEGER NOT NULL);
)sql";

constexpr const char* kGetMessage =
    "SELECT body FROM messages WHERE tenant = ?1 AND conversation_id = ?2 AND seq = ?3";
constexpr const char* kMentionedAfter =
    "SELECT 1 FROM messages WHERE tenant = ?1 AND conversation_id = ?2 AND seq > ?3 "
    "AND seq <= ?5 AND (mentions = '*' OR instr(mentions, ',' || ?4 || ',') > 0) LIMIT 1";
constexpr const char* kGetMember =
    "SELECT user_id, role, muted_until_ms, joined_seq, read_seq FROM members "
    "WHERE tenant = ?1 AND user_id = ?2 AND conversation_id = ?3";
constexpr const char* kLoadConversation =
    "SELECT info FROM conversations WHERE tenant = ?1 AND conversation_id = ?2";
constexpr const char* kLoadMembers =
    "SELECT user_id, role, muted_until_ms, joined_seq, read_seq FROM members "
    "WHERE tenant = ?1 AND conversation_id = ?2";
constexpr const char* kCountReaders =
    "SELECT count(*) FROM members WHERE tenant = ?1 AND conversation_id = ?2 AND read_seq >= ?3 "
    "AND user_id <> ?4";
constexpr const char* kMaxSeq =
    "SELECT max(seq) FROM messages WHERE tenant = ?1 AND conversation_id = ?2";
constexpr const char* kFindByClientId =
    "SELECT body FROM messages WHERE tenant = ?1 AND sender = ?2 AND client_msg_id = ?3";
constexpr const char* kReadAfter =
    "SELECT body FROM messages WHERE tenant = ?1 AND conversation_id = ?2 AND seq > ?3 "
    "ORDER BY seq LIMIT ?4";
constexpr const char* kCountAfter =
    "SELECT count(*) FROM messages WHERE tenant = ?1 AND conversation_id = ?2 AND seq > ?3 "
    "AND seq <= ?5 AND sender <> ?4 AND countable = 1";
constexpr const char* kLast =
    "SELECT body FROM messages WHERE tenant = ?1 AND conversation_id = ?2 "
    "ORDER BY seq DESC LIMIT 1";
constexpr const char* kMembers =
    "SELECT user_id FROM members WHERE tenant = ?1 AND conversation_id = ?2 ORDER BY user_id";
constexpr const char* kListForUser =
    "SELECT m.conversation_id, m.conversation_type, m.read_seq, m.delivered_seq, m.joined_seq, "
    "c.info FROM members m LEFT JOIN conversations c "
    "ON c.tenant = m.tenant AND c.conversation_id = m.conversation_id "
    "WHERE m.tenant = ?1 AND m.user_id = ?2 ORDER BY m.conversation_id";
// ListForUser's row of one conversation.
constexpr const char* kGetMemberConversation =
    "SELECT m.conversation_id, m.conversation_type, m.read_seq, m.delivered_seq, m.joined_seq, "
    "c.info FROM members m LEFT JOIN conversations c "
    "ON c.tenant = m.tenant AND c.conversation_id = m.conversation_id "
    "WHERE m.tenant = ?1 AND m.user_id = ?2 AND m.conversation_id = ?3";

MemberConversation ReadMemberConversation(const sqlite::Stmt& stmt) {
  return {stmt.Text(0), static_cast<int>(stmt.Int(1)), stmt.Int(2), stmt.Int(3),
          stmt.Int(4),  std::string(stmt.Blob(5))};
}

MemberRow ReadMemberRow(const sqlite::Stmt& stmt) {
  return {stmt.Text(0), static_cast<int>(stmt.Int(1)), stmt.Int(2), stmt.Int(3), stmt.Int(4)};
}

}  // namespace

Result<std::shared_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       const SqliteOptions& options) {
  auto db = sqlite::Db::Open(path, false, options.vfs);
  if (!db.ok()) return db.status();
  // "full": commits do not fsync; Sync() syncs the WAL once per batch (from
  // another thread, while the next batch is written), and checkpoints run
  // with synchronous=FULL so the database file is synced before the WAL is
  // truncated. "normal": WAL without fsync per commit.
  bool full = options.durability != "normal";
  FLARE_RETURN_IF_ERROR((*db)->Exec(std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") +
                                    (full ? "OFF" : "NORMAL") +
                                    "; PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=-" +
                                    std::to_string(options.cache_mib * 1024) + ";"));
  FLARE_RETURN_IF_ERROR((*db)->Exec(kSchema));
  std::shared_ptr<SqliteStore> store(new SqliteStore(path, options, std::move(db).value()));
  std::lock_guard lock(store->write_mu_);
  FLARE_RETURN_IF_ERROR(store->EnsureSearchIndexLocked());
  store->RememberWalFile();
  if (store->wal_file_.load() == nullptr) {
    return IoError("cannot use " + path +
                   " in WAL mode (is the file system one that supports it?)");
  }
  // Before anything is served: what a previous process left in the WAL goes
  // into the database file with real fsyncs (after a failed fsync the pages
  // a new process reads may exist only in the page cache), then the schema,
  // the files and their directory entries are made durable.
  FLARE_RETURN_IF_ERROR(store->CheckpointLocked());
  FLARE_RETURN_IF_ERROR(store->Sync());
  FLARE_RETURN_IF_ERROR(store->SyncDirectory());
  return store;
}

Result<SqliteStore::Reader> SqliteStore::AcquireReader() {
  {
    std::lock_guard lock(pool_mu_);
    if (!readers_.empty()) {
      auto db = std::move(readers_.back());
      readers_.pop_back();
      return Reader(this, std::move(db));
    }
  }
  auto db = sqlite::Db::Open(path_, true, options_.vfs);
  if (!db.ok()) return db.status();
  return Reader(this, std::move(db).value());
}

void SqliteStore::ReleaseReader(std::unique_ptr<sqlite::Db> db) {
  std::lock_guard lock(pool_mu_);
  readers_.push_back(std::move(db));
}

Result<std::optional<Message>> SqliteStore::Get(const std::string& tenant, const std::string& conv,
                                                int64_t seq) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kGetMessage);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Bind(1, tenant).Bind(2, conv).Bind(3, seq).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Message>();
  auto m = stored::ParseBody((*stmt)->Blob(0));
  if (!m.ok()) return m.status();
  return std::optional<Message>(std::move(m).value());
}

// One pooled connection and one read transaction for all of them.
Result<std::vector<Message>> SqliteStore::GetMany(const std::string& tenant,
                                                  const std::string& conv,
                                                  const std::vector<int64_t>& seqs) {
  std::vector<Message> out;
  if (seqs.empty()) return out;
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  FLARE_RETURN_IF_ERROR((*reader)->Exec("BEGIN"));
  Status st;
  for (int64_t seq : seqs) {
    auto stmt = (*reader)->Prepare(kGetMessage);
    if (!stmt.ok()) {
      st = stmt.status();
      break;
    }
    auto row = (*stmt)->Bind(1, tenant).Bind(2, conv).Bind(3, seq).Step();
    if (!row.ok()) {
      st = row.status();
      break;
    }
    if (!*row) continue;
    auto m = stored::ParseBody((*stmt)->Blob(0));
    if (!m.ok()) {
      st = m.status();
      break;
    }
    out.push_back(std::move(m).value());
  }
  Status ended = (*reader)->Exec("COMMIT");  // ends the read transaction
  if (!st.ok()) return st;
  if (!ended.ok()) return ended;
  return out;
}

Result<bool> SqliteStore::MentionedAfter(const std::string& tenant, const std::string& conv,
                                         int64_t after_seq, int64_t up_to_seq,
                                         const std::string& user_id) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kMentionedAfter);
  if (!stmt.ok()) return stmt.status();
  return (*stmt)
      ->Bind(1, tenant)
      .Bind(2, conv)
      .Bind(3, after_seq)
      .Bind(4, user_id)
      .Bind(5, up_to_seq)
      .Step();
}

Result<std::optional<MemberRow>> SqliteStore::GetMember(const std::string& tenant,
                                                        const std::string& conv,
                                                        const std::string& user_id) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kGetMember);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Bind(1, tenant).Bind(2, user_id).Bind(3, conv).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<MemberRow>();
  return std::optional<MemberRow>(ReadMemberRow(**stmt));
}

Result<std::optional<ConversationSnapshot>> SqliteStore::LoadConversation(const std::string& tenant,
                                                                          const std::string& conv) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  ConversationSnapshot snap;
  {
    auto stmt = (*reader)->Prepare(kLoadConversation);
    if (!stmt.ok()) return stmt.status();
    auto row = (*stmt)->Bind(1, tenant).Bind(2, conv).Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<ConversationSnapshot>();
    snap.info = std::string((*stmt)->Blob(0));
  }
  auto stmt = (*reader)->Prepare(kLoadMembers);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, conv);
  for (;;) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    snap.members.push_back(ReadMemberRow(**stmt));
  }
  return std::optional<ConversationSnapshot>(std::move(snap));
}

Result<int64_t> SqliteStore::CountReaders(const std::string& tenant, const std::string& conv,
                                          int64_t seq, const std::string& exclude_user) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kCountReaders);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Bind(1, tenant).Bind(2, conv).Bind(3, seq).Bind(4, exclude_user).Step();
  if (!row.ok()) return row.status();
  return *row ? (*stmt)->Int(0) : int64_t{0};
}

Result<int64_t> SqliteStore::MaxSeq(const std::string& tenant, const std::string& conv) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kMaxSeq);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Bind(1, tenant).Bind(2, conv).Step();
  if (!row.ok()) return row.status();
  return *row ? (*stmt)->Int(0) : int64_t{0};
}

Result<std::optional<Message>> SqliteStore::FindByClientMsgId(const std::string& tenant,
                                                              const std::string& sender,
                                                              const std::string& client_msg_id) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kFindByClientId);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Bind(1, tenant).Bind(2, sender).Bind(3, client_msg_id).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Message>();
  auto m = stored::ParseBody((*stmt)->Blob(0));
  if (!m.ok()) return m.status();
  return std::optional<Message>(std::move(m).value());
}

// On the write connection, in one read transaction: no file lock per key
// and no wait for a pooled reader.
Result<std::vector<std::optional<Message>>> SqliteStore::FindByClientMsgIds(
    const std::vector<IdempotencyKeyRef>& keys) {
  std::vector<std::optional<Message>> out(keys.size());
  if (keys.empty()) return out;
  std::lock_guard lock(write_mu_);
  FLARE_RETURN_IF_ERROR(writer_->Exec("BEGIN"));
  Status st;
  for (size_t i = 0; i < keys.size() && st.ok(); ++i) {
    auto stmt = writer_->Prepare(kFindByClientId);
    if (!stmt.ok()) {
      st = stmt.status();
      break;
    }
    auto row = (*stmt)
                   ->Bind(1, keys[i].tenant)
                   .Bind(2, keys[i].sender)
                   .Bind(3, keys[i].client_msg_id)
                   .Step();
    if (!row.ok()) {
      st = row.status();
    } else if (*row) {
      auto m = stored::ParseBody((*stmt)->Blob(0));
      if (m.ok())
        out[i] = std::move(m).value();
      else
        st = m.status();
    }
  }
  Status ended = writer_->Exec("COMMIT");  // ends the read transaction
  if (!st.ok()) return st;
  if (!ended.ok()) return ended;
  return out;
}

Result<std::vector<Message>> SqliteStore::ReadAfter(const std::string& tenant,
                                                    const std::string& conv, int64_t after_seq,
                                                    int limit) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kReadAfter);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, conv).Bind(3, after_seq).Bind(4, int64_t{limit});
  std::vector<Message> out;
  for (;;) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto m = stored::ParseBody((*stmt)->Blob(0));
    if (!m.ok()) return m.status();
    out.push_back(std::move(m).value());
  }
  return out;
}

Result<int64_t> SqliteStore::CountAfter(const std::string& tenant, const std::string& conv,
                                        int64_t after_seq, int64_t up_to_seq,
                                        const std::string& exclude_sender) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kCountAfter);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)
                 ->Bind(1, tenant)
                 .Bind(2, conv)
                 .Bind(3, after_seq)
                 .Bind(4, exclude_sender)
                 .Bind(5, up_to_seq)
                 .Step();
  if (!row.ok()) return row.status();
  return *row ? (*stmt)->Int(0) : int64_t{0};
}

Result<std::optional<Message>> SqliteStore::Last(const std::string& tenant,
                                                 const std::string& conv) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kLast);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Bind(1, tenant).Bind(2, conv).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<Message>();
  auto m = stored::ParseBody((*stmt)->Blob(0));
  if (!m.ok()) return m.status();
  return std::optional<Message>(std::move(m).value());
}

Result<std::vector<std::string>> SqliteStore::Members(const std::string& tenant,
                                                      const std::string& conv) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kMembers);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, conv);
  std::vector<std::string> out;
  for (;;) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back((*stmt)->Text(0));
  }
  return out;
}

Result<std::vector<MemberConversation>> SqliteStore::ListForUser(const std::string& tenant,
                                                                 const std::string& user_id) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kListForUser);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->Bind(1, tenant).Bind(2, user_id);
  std::vector<MemberConversation> out;
  for (;;) {
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(ReadMemberConversation(**stmt));
  }
  return out;
}

Result<std::optional<MemberConversation>> SqliteStore::GetMemberConversation(
    const std::string& tenant, const std::string& conv, const std::string& user_id) {
  auto reader = AcquireReader();
  if (!reader.ok()) return reader.status();
  auto stmt = (*reader)->Prepare(kGetMemberConversation);
  if (!stmt.ok()) return stmt.status();
  auto row = (*stmt)->Bind(1, tenant).Bind(2, user_id).Bind(3, conv).Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<MemberConversation>();
  return std::optional<MemberConversation>(ReadMemberConversation(**stmt));
}

}  // namespace flare
