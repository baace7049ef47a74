// Port: durable, sequenced message storage. The storage writer is its only
// writer; readers (sync, bootstrap) may call it from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "flare/client/v1/client.pb.h"

namespace flare {

using Message = ::flare::client::v1::Message;

struct StoredMessage {
  std::string tenant;
  Message message;  // conversation_id, seq, server_msg_id, sender, client_msg_id set
};

struct IdempotencyKeyRef {
  std::string_view tenant, sender, client_msg_id;
};

struct ConversationRef {
  std::string_view tenant, conversation_id;
};

// A member row. Written with upsert semantics: role, mute and joined_seq
// replace the stored ones; cursors are kept. With `removed` set the row
// (and its cursors) goes away instead. Records apply in their order in the
// batch, so a member removed and re-added in one batch ends up a member.
struct MembershipRecord {
  std::string tenant;
  std::string conversation_id;
  int conversation_type = 0;
  std::string user_id;
  int64_t joined_ms = 0;
  int role = 0;  // pb::MemberRole
  int64_t muted_until_ms = 0;
  int64_t joined_seq = 0;  // history is visible from here (0: all)
  bool removed = false;
};

// A group or channel's own record (not for 1:1 conversations).
struct ConversationRecord {
  std::string tenant;
  std::string conversation_id;
  std::string info;  // serialized pb::GroupInfo without members
};

// Cursors only move forward: a lower value than the stored one is ignored.
struct CursorUpdate {
  std::string tenant;
  std::string conversation_id;
  std::string user_id;
  int64_t delivered_seq = 0;
  int64_t read_seq = 0;
};

// A storage writer's ownership of one partition of the ingest stream
// (cluster mode): the epoch ClaimPartition returned when the partition was
// assigned to it.
struct PartitionClaim {
  int32_t partition = 0;
  int64_t epoch = 0;
};

// Everything one group commit writes, applied atomically and durably.
struct WriteBatch {
  // The partitions this batch's commands came from. Write checks, in the
  // batch's own transaction, that each epoch is still the partition's
  // current one, and fails with kAborted (writing nothing) if any is not:
  // a writer that lost a partition cannot commit anything for it. Empty in
  // embedded mode (one writer, nothing to fence).
  std::vector<PartitionClaim> claims;
  std::vector<ConversationRecord> conversations;  // upserted
  std::vector<MembershipRecord> memberships;      // applied in order
  std::vector<StoredMessage> messages;
  std::vector<StoredMessage> updates;  // replace stored messages (recall, edit, reactions)
  std::vector<CursorUpdate> cursors;
  bool empty() const {
    return claims.empty() && conversations.empty() && memberships.empty() && messages.empty() &&
           updates.empty() && cursors.empty();
  }
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;

  // Applies the whole batch or nothing. When it returns OK the batch is
  // visible to readers; it is durable once a following Sync() returns OK.
  // Fails with kAlreadyExists
  // (and writes nothing) if a (tenant, conversation, seq) or a
  // (tenant, sender, client_msg_id) is already stored.
  virtual Status Write(const WriteBatch& batch) = 0;

  // Makes every Write that returned before this call as durable as the
  // configured durability promises. Separate from Write so the writer can
  // apply the next batch while this one is being synced (group commit
  // pipelining). Backends that are durable on Write return at once.
  virtual Status Sync() { return Status::Ok(); }

  // Folds the store's log into its main files when the log has grown past
  // the store's limit (SQLite: a WAL checkpoint). Never undoes or fails a
  // committed batch: an error here only means the log stays longer. The
  // writer calls it between batches. True when the log was folded, false
  // when it was still under the limit (or the backend keeps no such log).
  virtual Result<bool> Checkpoint() { return false; }

  // Makes the calling writer the owner of `partition`: stores and returns
  // an epoch higher than any before it. Once it returns, a Write carrying
  // an older epoch for the partition fails with kAborted; a Write already
  // in progress with the older epoch either commits before the claim or
  // fails.
  virtual Result<int64_t> ClaimPartition(int32_t partition) = 0;

  // Highest stored seq of the conversation, 0 when it has none.
  virtual Result<int64_t> MaxSeq(const std::string& tenant, const std::string& conversation_id) = 0;

  // MaxSeq of many conversations in one read (the writer asks once per
  // batch for those it has not cached). result[i] answers conversations[i].
  // The default asks MaxSeq for each.
  virtual Result<std::vector<int64_t>> MaxSeqs(const std::vector<ConversationRef>& conversations) {
    std::vector<int64_t> out;
    out.reserve(conversations.size());
    for (const auto& c : conversations) {
      auto max = MaxSeq(std::string(c.tenant), std::string(c.conversation_id));
      if (!max.ok()) return max.status();
      out.push_back(*max);
    }
    return out;
  }

  // The message stored earlier under this idempotency key, if any.
  virtual Result<std::optional<Message>> FindByClientMsgId(const std::string& tenant,
                                                           const std::string& sender,
                                                           const std::string& client_msg_id) = 0;

  // The same for many keys in one consistent read (the writer asks once per
  // batch). result[i] answers keys[i].
  virtual Result<std::vector<std::optional<Message>>> FindByClientMsgIds(
      const std::vector<IdempotencyKeyRef>& keys) = 0;

  // Messages with seq > after_seq in seq order, at most `limit`.
  virtual Result<std::vector<Message>> ReadAfter(const std::string& tenant,
                                                 const std::string& conversation_id,
                                                 int64_t after_seq, int limit) = 0;

  // Number of messages with after_seq < seq <= up_to_seq, not sent by
  // `exclude_sender` and not events: the unread count.
  virtual Result<int64_t> CountAfter(const std::string& tenant, const std::string& conversation_id,
                                     int64_t after_seq, int64_t up_to_seq,
                                     const std::string& exclude_sender) = 0;

  // Whether a message with after_seq < seq <= up_to_seq mentions `user_id`
  // or @all.
  virtual Result<bool> MentionedAfter(const std::string& tenant, const std::string& conversation_id,
                                      int64_t after_seq, int64_t up_to_seq,
                                      const std::string& user_id) = 0;

  // The message at `seq`, if stored.
  virtual Result<std::optional<Message>> Get(const std::string& tenant,
                                             const std::string& conversation_id, int64_t seq) = 0;

  // The stored messages among `seqs` of one conversation, in one read (the
  // writer fetches every target of a batch's message operations at once).
  // The default asks Get for each.
  virtual Result<std::vector<Message>> GetMany(const std::string& tenant,
                                               const std::string& conversation_id,
                                               const std::vector<int64_t>& seqs) {
    std::vector<Message> out;
    for (int64_t seq : seqs) {
      auto m = Get(tenant, conversation_id, seq);
      if (!m.ok()) return m.status();
      if (m->has_value()) out.push_back(std::move(**m));
    }
    return out;
  }

  // The newest message of the conversation, if any.
  virtual Result<std::optional<Message>> Last(const std::string& tenant,
                                              const std::string& conversation_id) = 0;
};

}  // namespace flare
