// The PostgreSQL store: the read connection pool and every read. Message
// rows carry their body's format (storage_record::Format) next to it.
#include "adapters/postgres/postgres_store.h"
#include "adapters/storage_record.h"

namespace flare {
namespace {

constexpr const char* kGetMessage =
    "SELECT format, body FROM messages WHERE tenant = $1 AND conversation_id = $2 AND seq = $3";
constexpr const char* kGetMany =
    "SELECT format, body FROM messages WHERE tenant = $1 AND conversation_id = $2 "
    "AND seq = ANY($3::bigint[])";
constexpr const char* kMentionedAfter =
    "SELECT 1 FROM messages WHERE tenant = $1 AND conversation_id = $2 AND seq > $3 "
    "AND seq <= $5 AND (mentions = '*' OR strpos(mentions, ',' || $4 || ',') > 0) LIMIT 1";
constexpr const char* kGetMember =
    "SELECT user_id, role, muted_until_ms, joined_seq, read_seq FROM members "
    "WHERE tenant = $1 AND user_id = $2 AND conversation_id = $3";
constexpr const char* kLoadConversation =
    "SELECT info FROM conversations WHERE tenant = $1 AND conversation_id = $2";
constexpr const char* kLoadMembers =
    "SELECT user_id, role, muted_until_ms, joined_seq, read_seq FROM members "
    "WHERE tenant = $1 AND conversation_id = $2";
constexpr const char* kCountReaders =
    "SELECT count(*) FROM members WHERE tenant = $1 AND conversation_id = $2 AND read_seq >= $3 "
    "AND user_id <> $4";
constexpr const char* kMaxSeq =
    "SELECT max(seq) FROM message_keys WHERE tenant = $1 AND conversation_id = $2";
// Many conversations in one query: rows name the conversation's index.
constexpr const char* kMaxSeqs =
    "SELECT q.i, (SELECT max(k.seq) FROM message_keys k WHERE k.tenant = q.tenant "
    "AND k.conversation_id = q.conversation_id) FROM unnest($1::text[], $2::text[]) "
    "WITH ORDINALITY AS q(tenant, conversation_id, i)";
// Idempotency keys are looked up in message_keys, which also gives the
// message's partition key (server_time_ms) for the messages row.
constexpr const char* kFindByClientId =
    "SELECT m.format, m.body FROM message_keys k JOIN messages m ON m.tenant = k.tenant "
    "AND m.conversation_id = k.conversation_id AND m.seq = k.seq "
    "AND m.server_time_ms = k.server_time_ms "
    "WHERE k.tenant = $1 AND k.sender = $2 AND k.client_msg_id = $3";
// Many idempotency keys in one query: result rows name the key's index.
constexpr const char* kFindByClientIds =
    "SELECT q.i, m.format, m.body FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY "
    "AS q(tenant, sender, client_msg_id, i) JOIN message_keys k ON k.tenant = q.tenant "
    "AND k.sender = q.sender AND k.client_msg_id = q.client_msg_id JOIN messages m "
    "ON m.tenant = k.tenant AND m.conversation_id = k.conversation_id AND m.seq = k.seq "
    "AND m.server_time_ms = k.server_time_ms";
constexpr const char* kReadAfter =
    "SELECT format, body FROM messages WHERE tenant = $1 AND conversation_id = $2 AND seq > $3 "
    "ORDER BY seq LIMIT $4";
constexpr const char* kCountAfter =
    "SELECT count(*) FROM messages WHERE tenant = $1 AND conversation_id = $2 AND seq > $3 "
    "AND seq <= $5 AND sender <> $4 AND countable";
constexpr const char* kLast =
    "SELECT format, body FROM messages WHERE tenant = $1 AND conversation_id = $2 "
    "ORDER BY seq DESC LIMIT 1";
constexpr const char* kMembers =
    "SELECT user_id FROM members WHERE tenant = $1 AND conversation_id = $2 ORDER BY user_id";
constexpr const char* kListForUser =
    "SELECT m.conversation_id, m.conversation_type, m.read_seq, m.delivered_seq, m.joined_seq, "
    "c.info FROM members m LEFT JOIN conversations c "
    "ON c.tenant = m.tenant AND c.conversation_id = m.conversation_id "
    "WHERE m.tenant = $1 AND m.user_id = $2 ORDER BY m.conversation_id";
// ListForUser's row of one conversation.
constexpr const char* kGetMemberConversation =
    "SELECT m.conversation_id, m.conversation_type, m.read_seq, m.delivered_seq, m.joined_seq, "
    "c.info FROM members m LEFT JOIN conversations c "
    "ON c.tenant = m.tenant AND c.conversation_id = m.conversation_id "
    "WHERE m.tenant = $1 AND m.user_id = $2 AND m.conversation_id = $3";

// A message from a row's (format, body) columns starting at `col`.
Result<Message> ReadBody(const PGresult* res, int row, int col) {
  auto format = static_cast<storage_record::Format>(pg::Int(res, row, col));
  return storage_record::Decode(format, pg::Bytea(res, row, col + 1));
}

MemberConversation ReadMemberConversation(const PGresult* res, int row) {
  return {pg::Text(res, row, 0), static_cast<int>(pg::Int(res, row, 1)),
          pg::Int(res, row, 2),  pg::Int(res, row, 3),
          pg::Int(res, row, 4),  pg::Bytea(res, row, 5)};
}

MemberRow ReadMemberRow(const PGresult* res, int row) {
  return {pg::Text(res, row, 0), static_cast<int>(pg::Int(res, row, 1)), pg::Int(res, row, 2),
          pg::Int(res, row, 3), pg::Int(res, row, 4)};
}

}  // namespace

Result<pg::ResultPtr> PostgresStore::Read(const std::string& sql,
                                          const std::vector<std::string>& params) {
  pg::ConnPtr conn;
  {
    std::lock_guard lock(pool_mu_);
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!conn) {
    auto fresh = pg::Connect(options_.dsn, server_);
    if (!fresh.ok()) return fresh.status();
    conn = std::move(fresh).value();
  }
  auto res = pg::ExecReconnecting(conn.get(), server_, sql, params);
  if (!pg::Broken(conn.get())) {
    std::lock_guard lock(pool_mu_);
    if (static_cast<int>(idle_.size()) < options_.max_idle_readers) {
      idle_.push_back(std::move(conn));
    }
  }
  return res;
}

Result<std::optional<Message>> PostgresStore::ReadOneMessage(
    const std::string& sql, const std::vector<std::string>& params) {
  auto res = Read(sql, params);
  if (!res.ok()) return res.status();
  if (PQntuples(res->get()) == 0) return std::optional<Message>();
  auto m = ReadBody(res->get(), 0, 0);
  if (!m.ok()) return m.status();
  return std::optional<Message>(std::move(m).value());
}

Result<std::vector<Message>> PostgresStore::ReadMessages(const std::string& sql,
                                                         const std::vector<std::string>& params) {
  auto res = Read(sql, params);
  if (!res.ok()) return res.status();
  std::vector<Message> out;
  int rows = PQntuples(res->get());
  out.reserve(rows);
  for (int i = 0; i < rows; ++i) {
    auto m = ReadBody(res->get(), i, 0);
    if (!m.ok()) return m.status();
    out.push_back(std::move(m).value());
  }
  return out;
}

Result<std::optional<Message>> PostgresStore::Get(const std::string& tenant,
                                                  const std::string& conv, int64_t seq) {
  return ReadOneMessage(kGetMessage, {tenant, conv, std::to_string(seq)});
}

Result<std::vector<Message>> PostgresStore::GetMany(const std::string& tenant,
                                                    const std::string& conv,
                                                    const std::vector<int64_t>& seqs) {
  if (seqs.empty()) return std::vector<Message>();
  std::string list = "{";
  for (size_t i = 0; i < seqs.size(); ++i) list += (i ? "," : "") + std::to_string(seqs[i]);
  list += "}";
  return ReadMessages(kGetMany, {tenant, conv, list});
}

Result<std::optional<Message>> PostgresStore::Last(const std::string& tenant,
                                                   const std::string& conv) {
  return ReadOneMessage(kLast, {tenant, conv});
}

Result<std::optional<Message>> PostgresStore::FindByClientMsgId(const std::string& tenant,
                                                                const std::string& sender,
                                                                const std::string& cmid) {
  return ReadOneMessage(kFindByClientId, {tenant, sender, cmid});
}

Result<std::vector<std::optional<Message>>> PostgresStore::FindByClientMsgIds(
    const std::vector<IdempotencyKeyRef>& keys) {
  std::vector<std::optional<Message>> out(keys.size());
  if (keys.empty()) return out;
  std::vector<std::string_view> tenants, senders, ids;
  for (const auto& k : keys) {
    tenants.push_back(k.tenant);
    senders.push_back(k.sender);
    ids.push_back(k.client_msg_id);
  }
  auto res = Read(kFindByClientIds,
                  {pg::ArrayLiteral(tenants), pg::ArrayLiteral(senders), pg::ArrayLiteral(ids)});
  if (!res.ok()) return res.status();
  for (int i = 0; i < PQntuples(res->get()); ++i) {
    int64_t index = pg::Int(res->get(), i, 0) - 1;  // ORDINALITY counts from 1
    if (index < 0 || index >= static_cast<int64_t>(out.size())) continue;
    auto m = ReadBody(res->get(), i, 1);
    if (!m.ok()) return m.status();
    out[index] = std::move(m).value();
  }
  return out;
}

Result<std::vector<Message>> PostgresStore::ReadAfter(const std::string& tenant,
                                                      const std::string& conv, int64_t after_seq,
                                                      int limit) {
  return ReadMessages(kReadAfter, {tenant, conv, std::to_string(after_seq), std::to_string(limit)});
}

Result<int64_t> PostgresStore::MaxSeq(const std::string& tenant, const std::string& conv) {
  auto res = Read(kMaxSeq, {tenant, conv});
  if (!res.ok()) return res.status();
  return pg::Int(res->get(), 0, 0);
}

Result<std::vector<int64_t>> PostgresStore::MaxSeqs(
    const std::vector<ConversationRef>& conversations) {
  std::vector<int64_t> out(conversations.size(), 0);
  if (conversations.empty()) return out;
  std::vector<std::string_view> tenants, ids;
  for (const auto& c : conversations) {
    tenants.push_back(c.tenant);
    ids.push_back(c.conversation_id);
  }
  auto res = Read(kMaxSeqs, {pg::ArrayLiteral(tenants), pg::ArrayLiteral(ids)});
  if (!res.ok()) return res.status();
  for (int i = 0; i < PQntuples(res->get()); ++i) {
    int64_t index = pg::Int(res->get(), i, 0) - 1;  // ORDINALITY counts from 1
    if (index >= 0 && index < static_cast<int64_t>(out.size())) {
      out[index] = pg::Int(res->get(), i, 1);
    }
  }
  return out;
}

Result<int64_t> PostgresStore::CountAfter(const std::string& tenant, const std::string& conv,
                                          int64_t after_seq, int64_t up_to_seq,
                                          const std::string& exclude_sender) {
  auto res = Read(kCountAfter, {tenant, conv, std::to_string(after_seq), exclude_sender,
                                std::to_string(up_to_seq)});
  if (!res.ok()) return res.status();
  return pg::Int(res->get(), 0, 0);
}

Result<bool> PostgresStore::MentionedAfter(const std::string& tenant, const std::string& conv,
                                           int64_t after_seq, int64_t up_to_seq,
                                           const std::string& user_id) {
  auto res = Read(kMentionedAfter,
                  {tenant, conv, std::to_string(after_seq), user_id, std::to_string(up_to_seq)});
  if (!res.ok()) return res.status();
  return PQntuples(res->get()) > 0;
}

Result<std::vector<std::string>> PostgresStore::Members(const std::string& tenant,
                                                        const std::string& conv) {
  auto res = Read(kMembers, {tenant, conv});
  if (!res.ok()) return res.status();
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(res->get()); ++i) out.push_back(pg::Text(res->get(), i, 0));
  return out;
}

Result<std::vector<MemberConversation>> PostgresStore::ListForUser(const std::string& tenant,
                                                                   const std::string& user_id) {
  auto res = Read(kListForUser, {tenant, user_id});
  if (!res.ok()) return res.status();
  std::vector<MemberConversation> out;
  const PGresult* r = res->get();
  for (int i = 0; i < PQntuples(r); ++i) {
    out.push_back(ReadMemberConversation(r, i));
  }
  return out;
}

Result<std::optional<MemberConversation>> PostgresStore::GetMemberConversation(
    const std::string& tenant, const std::string& conv, const std::string& user_id) {
  auto res = Read(kGetMemberConversation, {tenant, user_id, conv});
  if (!res.ok()) return res.status();
  if (PQntuples(res->get()) == 0) return std::optional<MemberConversation>();
  return std::optional<MemberConversation>(ReadMemberConversation(res->get(), 0));
}

Result<std::optional<MemberRow>> PostgresStore::GetMember(const std::string& tenant,
                                                          const std::string& conv,
                                                          const std::string& user_id) {
  auto res = Read(kGetMember, {tenant, user_id, conv});
  if (!res.ok()) return res.status();
  if (PQntuples(res->get()) == 0) return std::optional<MemberRow>();
  return std::optional<MemberRow>(ReadMemberRow(res->get(), 0));
}

// The record and the members in one statement each; a member change
// between them can only be one a later load also sees.
Result<std::optional<ConversationSnapshot>> PostgresStore::LoadConversation(
    const std::string& tenant, const std::string& conv) {
  auto info = Read(kLoadConversation, {tenant, conv});
  if (!info.ok()) return info.status();
  if (PQntuples(info->get()) == 0) return std::optional<ConversationSnapshot>();
  ConversationSnapshot snap;
  snap.info = pg::Bytea(info->get(), 0, 0);
  auto members = Read(kLoadMembers, {tenant, conv});
  if (!members.ok()) return members.status();
  for (int i = 0; i < PQntuples(members->get()); ++i) {
    snap.members.push_back(ReadMemberRow(members->get(), i));
  }
  return std::optional<ConversationSnapshot>(std::move(snap));
}

Result<int64_t> PostgresStore::CountReaders(const std::string& tenant, const std::string& conv,
                                            int64_t seq, const std::string& exclude_user) {
  auto res = Read(kCountReaders, {tenant, conv, std::to_string(seq), exclude_user});
  if (!res.ok()) return res.status();
  return pg::Int(res->get(), 0, 0);
}

}  // namespace flare
