// The PostgreSQL store's write path. A batch is one transaction: a libpq
// pipeline with BEGIN, the claim checks and the conversation and member
// statements; the messages as two binary COPYs (message_keys, then the
// partitioned messages table); a second pipeline with the message updates,
// cursors and COMMIT. Values always travel as parameters or COPY data,
// never as SQL text.
//
// Durability is split as the storage writer expects it (group commit
// pipelining): a batch commits with synchronous_commit = off, so Write
// returns without waiting for the WAL flush, and Sync() makes it durable
// later, on its own connection, while Write applies the next batch.
#include "adapters/postgres/postgres_store.h"
#include "adapters/storage_record.h"
#include "adapters/stored_message.h"

namespace flare {
namespace {

using pg::Param;
using pg::Statement;

constexpr const char* kCopyKeys =
    "COPY message_keys(tenant, conversation_id, seq, sender, client_msg_id, server_time_ms) "
    "FROM STDIN (FORMAT binary)";
constexpr const char* kCopyMessages =
    "COPY messages(tenant, conversation_id, seq, server_msg_id, sender, client_msg_id, "
    "server_time_ms, countable, mentions, format, body, search_text, hides_seq) "
    "FROM STDIN (FORMAT binary)";
constexpr const char* kUpsertConversation =
    "INSERT INTO conversations(tenant, conversation_id, info) VALUES ($1, $2, $3) "
    "ON CONFLICT (tenant, conversation_id) DO UPDATE SET info = EXCLUDED.info";
constexpr const char* kDeleteMember =
    "DELETE FROM members WHERE tenant = $1 AND user_id = $2 AND conversation_id = $3";
constexpr const char* kUpsertMember =
    "INSERT INTO members(tenant, user_id, conversation_id, conversation_type, joined_ms, role, "
    "muted_until_ms, joined_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (tenant, user_id, conversation_id) DO UPDATE SET role = EXCLUDED.role, "
    "muted_until_ms = EXCLUDED.muted_until_ms, joined_seq = EXCLUDED.joined_seq";
// A recall or an edit changes what the message is found by.
constexpr const char* kUpdateMessage =
    "UPDATE messages SET format = $4, body = $5, search_text = $6 "
    "WHERE tenant = $1 AND conversation_id = $2 AND seq = $3";
// Sync()'s marker commit (migration 4): this connection's own row.
constexpr const char* kSyncMarker =
    "INSERT INTO flare_sync(backend_pid, syncs) VALUES (pg_backend_pid(), 1) "
    "ON CONFLICT (backend_pid) DO UPDATE SET syncs = flare_sync.syncs + 1";
// Every cursor of a batch in one statement (a group message moves one per
// member). Grouped first: UPDATE ... FROM applies one source row per target.
constexpr const char* kMoveCursors =
    "UPDATE members m SET delivered_seq = GREATEST(m.delivered_seq, c.d), "
    "read_seq = GREATEST(m.read_seq, c.r) FROM (SELECT tenant, user_id, conversation_id, "
    "max(d) AS d, max(r) AS r FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], "
    "$5::bigint[]) AS u(tenant, user_id, conversation_id, d, r) GROUP BY 1, 2, 3) c "
    "WHERE m.tenant = c.tenant AND m.user_id = c.user_id AND m.conversation_id = c.conversation_id";

Param P(std::string_view s) { return {std::string(s)}; }
Param P(int64_t v) { return {std::to_string(v)}; }

// BEGIN, the claim checks, conversations and memberships (in batch order).
std::vector<Statement> OpeningStatements(const WriteBatch& batch) {
  std::vector<Statement> out;
  out.push_back({"BEGIN", {}});
  for (const auto& claim : batch.claims) {
    out.push_back({"SELECT flare_check_claim($1, $2)", {P(claim.partition), P(claim.epoch)}});
  }
  for (const auto& c : batch.conversations) {
    out.push_back({kUpsertConversation, {P(c.tenant), P(c.conversation_id), {c.info, true}}});
  }
  for (const auto& r : batch.memberships) {
    if (r.removed) {
      out.push_back({kDeleteMember, {P(r.tenant), P(r.user_id), P(r.conversation_id)}});
      continue;
    }
    out.push_back({kUpsertMember,
                   {P(r.tenant), P(r.user_id), P(r.conversation_id), P(r.conversation_type),
                    P(r.joined_ms), P(r.role), P(r.muted_until_ms), P(r.joined_seq)}});
  }
  return out;
}

Statement CursorStatement(const std::vector<CursorUpdate>& cursors) {
  std::vector<std::string_view> tenants, users, conversations;
  std::vector<int64_t> delivered, read;
  for (const auto& c : cursors) {
    tenants.push_back(c.tenant);
    users.push_back(c.user_id);
    conversations.push_back(c.conversation_id);
    delivered.push_back(c.delivered_seq);
    read.push_back(c.read_seq);
  }
  return {kMoveCursors,
          {{pg::BinaryTextArray(tenants), true},
           {pg::BinaryTextArray(users), true},
           {pg::BinaryTextArray(conversations), true},
           {pg::BinaryInt64Array(delivered), true},
           {pg::BinaryInt64Array(read), true}}};
}

// Message updates, cursors and COMMIT.
std::vector<Statement> ClosingStatements(const WriteBatch& batch) {
  std::vector<Statement> out;
  const Param format = P(static_cast<int64_t>(storage_record::Format::kRecordV1));
  std::string body;
  for (const auto& sm : batch.updates) {
    storage_record::Encode(sm.message, &body);
    out.push_back({kUpdateMessage,
                   {P(sm.tenant),
                    P(sm.message.conversation_id()),
                    P(sm.message.seq()),
                    format,
                    {body, true},
                    P(stored::SearchText(sm.message))}});
  }
  if (!batch.cursors.empty()) out.push_back(CursorStatement(batch.cursors));
  // Read at commit time: this transaction's COMMIT does not wait for its
  // WAL flush. Sync() provides the durability.
  out.push_back({"SET LOCAL synchronous_commit = off", {}});
  out.push_back({"COMMIT", {}});
  return out;
}

std::string KeyRows(const std::vector<StoredMessage>& messages) {
  pg::BinaryCopy copy;
  for (const auto& sm : messages) {
    const Message& m = sm.message;
    copy.Row(6);
    copy.Text(sm.tenant);
    copy.Text(m.conversation_id());
    copy.Int64(m.seq());
    copy.Text(m.sender());
    copy.Text(m.client_msg_id());
    copy.Int64(m.server_time_ms());
  }
  return copy.Finish();
}

std::string MessageRows(const std::vector<StoredMessage>& messages) {
  pg::BinaryCopy copy;
  std::string body;
  for (const auto& sm : messages) {
    const Message& m = sm.message;
    storage_record::Encode(m, &body);
    copy.Row(13);
    copy.Text(sm.tenant);
    copy.Text(m.conversation_id());
    copy.Int64(m.seq());
    copy.Text(m.server_msg_id());
    copy.Text(m.sender());
    copy.Text(m.client_msg_id());
    copy.Int64(m.server_time_ms());
    copy.Bool(stored::Countable(m));
    copy.Text(stored::MentionColumn(m));
    copy.SmallInt(static_cast<int16_t>(storage_record::Format::kRecordV1));
    copy.Bytes(body);
    copy.Text(stored::SearchText(m));
    if (int64_t hides = stored::HiddenSeq(m); hides > 0) {
      copy.Int64(hides);
    } else {
      copy.Null();
    }
  }
  return copy.Finish();
}

// The marker must really write: a statement that changed no row would get
// no transaction id, no commit record and no flush, hence the row count
// check (an upsert always inserts or updates its row).
Status WriteSyncMarker(PGconn* conn, const std::string& server) {
  auto marked = pg::Exec(conn, server, kSyncMarker);
  if (!marked.ok()) return marked.status();
  if (std::string_view(PQcmdTuples(marked->get())) != "1") {
    return Internal("PostgreSQL at " + server + ": the sync marker wrote no row");
  }
  return Status::Ok();
}

}  // namespace

// Reconnects a broken connection (a writer that owns no partition sends no
// batch that would reset it): a claim lost with its reply has bumped the
// epoch for nothing, so it is safe to send again.
Result<int64_t> PostgresStore::ClaimPartition(int32_t partition) {
  std::lock_guard lock(write_mu_);
  auto res = pg::ExecReconnecting(
      writer_.get(), server_,
      "INSERT INTO partition_claims(partition, epoch) VALUES($1, 1) "
      "ON CONFLICT (partition) DO UPDATE SET epoch = partition_claims.epoch + 1 "
      "RETURNING epoch",
      {std::to_string(partition)});
  if (!res.ok()) return res.status();
  return pg::Int(res->get(), 0, 0);
}

// Creates the week partitions the batch's messages need that this store
// has not seen yet, each in its own short transaction before the batch's.
Status PostgresStore::EnsureBatchPartitions(const WriteBatch& batch) {
  std::set<int64_t> missing;
  {
    std::lock_guard lock(weeks_mu_);
    for (const auto& sm : batch.messages) {
      int64_t week = PartitionWeek(sm.message.server_time_ms());
      if (!known_weeks_.count(week)) missing.insert(week);
    }
  }
  return missing.empty() ? Status::Ok() : EnsurePartitions(writer_.get(), missing);
}

Status PostgresStore::SendBatch(const WriteBatch& batch) {
  std::vector<Statement> opening = OpeningStatements(batch);
  // A batch of messages alone sends its BEGIN with the first COPY (one
  // round trip less).
  const bool begin_with_copy = opening.size() == 1 && !batch.messages.empty();
  if (!begin_with_copy) {
    FLARE_RETURN_IF_ERROR(pg::ExecPipeline(writer_.get(), server_, opening));
  }
  if (!batch.messages.empty()) {
    // Keys first: a duplicate fails here (23505), before any body is sent.
    FLARE_RETURN_IF_ERROR(
        pg::CopyIn(writer_.get(), server_,
                   begin_with_copy ? std::string("BEGIN; ") + kCopyKeys : std::string(kCopyKeys),
                   KeyRows(batch.messages)));
    FLARE_RETURN_IF_ERROR(
        pg::CopyIn(writer_.get(), server_, kCopyMessages, MessageRows(batch.messages)));
  }
  return pg::ExecPipeline(writer_.get(), server_, ClosingStatements(batch));
}

// On the first error PostgreSQL leaves the transaction aborted; ROLLBACK
// ends it and nothing is written. A duplicate (conversation, seq) or
// idempotency key fails with SQLSTATE 23505 on message_keys, which comes
// back as kAlreadyExists; a stale claim as kAborted.
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
  FLARE_RETURN_IF_ERROR(EnsureBatchPartitions(batch));
  Status st = SendBatch(batch);
  // Counted even when it failed: a lost connection may have hidden a
  // COMMIT that happened, and a Sync too many costs one small commit.
  writes_.fetch_add(1, std::memory_order_release);
  if (st.ok()) return st;
  if (!pg::Broken(writer_.get())) (void)pg::Exec(writer_.get(), server_, "ROLLBACK");
  if (pg::Broken(writer_.get()) && st.code() != Code::kUnavailable) {
    return Unavailable(st.message());
  }
  return st;
}

// Why one small commit makes everything before it durable: PostgreSQL
// writes one WAL stream in order, and a commit with synchronous_commit = on
// returns only once the WAL is flushed up to its commit record. Every batch
// whose Write returned before Sync started has its commit record earlier
// in that stream (it was inserted before Write returned), so the flush for
// the marker's commit covers it, whichever connection committed it.
// Not covered by tests: a power loss (a test cannot cut the disk's power);
// the tests check what is observable, that the WAL is flushed past every
// earlier commit when Sync returns and that a lost connection fails it.
Status PostgresStore::Sync() {
  std::lock_guard lock(sync_mu_);
  if (!sync_failure_.ok()) return sync_failure_;
  const int64_t target = writes_.load(std::memory_order_acquire);
  if (target == synced_writes_) return Status::Ok();
  // Never reset here: the server may have lost batches committed before
  // (a restart, or a crashed backend that made it reinitialise while it
  // kept running), and a flush on a new connection could not tell.
  Status st = WriteSyncMarker(syncer_.get(), server_);
  if (st.ok()) {
    synced_writes_ = target;
    return st;
  }
  const Code code = st.code() == Code::kUnavailable ? Code::kUnavailable : Code::kIoError;
  sync_failure_ =
      Status(code, "sync failed, committed batches may not be durable: " + st.message());
  return sync_failure_;
}

}  // namespace flare
