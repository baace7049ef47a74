// message-orchestrator: validates what clients ask to change (sends, group
// operations, message events, read cursors), fixes the actor from the
// session, resolves the conversation and hands a command to the ingest
// stream. Knows nothing of WebSocket or gRPC.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "flare/client/v1/client.pb.h"
#include "services/conversation_access.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

struct SendLimits {
  size_t max_message_bytes = 32 * 1024;
  size_t max_client_msg_id = 128;
  size_t max_mentions = 100;
};

// On OK the outcome arrives later at `reply` (through the writer's
// CommandReplies); on error nothing does.
class MessageService {
 public:
  virtual ~MessageService() = default;
  virtual Status Send(const Principal& who, pb::SendRequest& request, ReplyAddress reply) = 0;
  virtual Status Group(const Principal& who, pb::GroupRequest& request, ReplyAddress reply) = 0;
  virtual Status MessageOp(const Principal& who, pb::MessageOpRequest& request,
                           ReplyAddress reply) = 0;
  // read_seq > 0: mark read; delivered_seq > 0: a cumulative push ack.
  virtual Status MoveCursor(const Principal& who, const std::string& conversation_id,
                            int64_t read_seq, int64_t delivered_seq, ReplyAddress reply) = 0;
};

class MessageOrchestrator final : public MessageService {
 public:
  MessageOrchestrator(ConversationAccess& access, MessageIngest& ingest, const Clock& clock,
                      SendLimits limits)
      : access_(access), ingest_(ingest), clock_(clock), limits_(limits) {}

  Status Send(const Principal& who, pb::SendRequest& request, ReplyAddress reply) override;
  Status Group(const Principal& who, pb::GroupRequest& request, ReplyAddress reply) override;
  Status MessageOp(const Principal& who, pb::MessageOpRequest& request,
                   ReplyAddress reply) override;
  Status MoveCursor(const Principal& who, const std::string& conversation_id, int64_t read_seq,
                    int64_t delivered_seq, ReplyAddress reply) override;

 private:
  Status ValidateSend(const Principal& who, const pb::SendRequest& request) const;
  Command NewCommand(const Principal& who, ReplyAddress reply) const;

  ConversationAccess& access_;
  MessageIngest& ingest_;
  const Clock& clock_;
  SendLimits limits_;
};

}  // namespace flare
