// Port: durable, sequenced message storage. The storage writer is its only
// writer; readers (sync, bootstrap) may call it from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "flare/client/v1/client.pb.h"

namespace flare {

using Message = ::flare::client::v1::Message;

struct StoredMessage {
  std::string tenant;
  Message message;  // conversation_id, seq, server_msg_id, sender, client_msg_id set
};

struct MembershipRecord {
  std::string tenant;
  std::string conversation_id;
  int conversation_type = 0;
  std::string user_id;
  int64_t joined_ms = 0;
};

// Cursors only move forward: a lower value than the stored one is ignored.
struct CursorUpdate {
  std::string tenant;
  std::string conversation_id;
  std::string user_id;
  int64_t delivered_seq = 0;
  int64_t read_seq = 0;
};

// Everything one group commit writes, applied atomically and durably.
struct WriteBatch {
  std::vector<MembershipRecord> memberships;
  std::vector<StoredMessage> messages;
  std::vector<CursorUpdate> cursors;
  bool empty() const { return memberships.empty() && messages.empty() && cursors.empty(); }
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;

  // Applies the whole batch or nothing. When it returns OK the batch is as
  // durable as the configured durability promises. Fails with kAlreadyExists
  // (and writes nothing) if a (tenant, conversation, seq) or a
  // (tenant, sender, client_msg_id) is already stored.
  virtual Status Write(const WriteBatch& batch) = 0;

  // Highest stored seq of the conversation, 0 when it has none.
  virtual Result<int64_t> MaxSeq(const std::string& tenant, const std::string& conversation_id) = 0;

  // The message stored earlier under this idempotency key, if any.
  virtual Result<std::optional<Message>> FindByClientMsgId(const std::string& tenant,
                                                           const std::string& sender,
                                                           const std::string& client_msg_id) = 0;

  // Messages with seq > after_seq in seq order, at most `limit`.
  virtual Result<std::vector<Message>> ReadAfter(const std::string& tenant,
                                                 const std::string& conversation_id,
                                                 int64_t after_seq, int limit) = 0;

  // Number of messages with seq > after_seq not sent by `exclude_sender`.
  virtual Result<int64_t> CountAfter(const std::string& tenant,
                                     const std::string& conversation_id, int64_t after_seq,
                                     const std::string& exclude_sender) = 0;

  // The newest message of the conversation, if any.
  virtual Result<std::optional<Message>> Last(const std::string& tenant,
                                              const std::string& conversation_id) = 0;
};

}  // namespace flare
