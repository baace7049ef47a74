// message-orchestrator: validates a send, fixes the sender from the
// session, resolves the conversation and hands the message to the ingest
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
};

class MessageService {
 public:
  virtual ~MessageService() = default;
  // On OK the outcome arrives later through `origin`; on error nothing does.
  virtual Status Send(const Principal& who, ::flare::client::v1::SendRequest& request,
                      const std::string& request_id, std::shared_ptr<SendCompletion> origin) = 0;
};

class MessageOrchestrator final : public MessageService {
 public:
  MessageOrchestrator(ConversationAccess& access, MessageIngest& ingest, const Clock& clock,
                      SendLimits limits)
      : access_(access), ingest_(ingest), clock_(clock), limits_(limits) {}

  Status Send(const Principal& who, ::flare::client::v1::SendRequest& request,
              const std::string& request_id, std::shared_ptr<SendCompletion> origin) override;

 private:
  Status Validate(const ::flare::client::v1::SendRequest& request) const;

  ConversationAccess& access_;
  MessageIngest& ingest_;
  const Clock& clock_;
  SendLimits limits_;
};

}  // namespace flare
