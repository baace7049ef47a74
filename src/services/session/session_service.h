// session: the multi-device bootstrap — every conversation of a user with
// its max seq, the user's read and delivered cursors, unread count and last
// message.
#pragma once

#include "flare/client/v1/client.pb.h"
#include "ports/conversation_store.h"
#include "ports/message_store.h"
#include "services/storage/durable_fence.h"
#include "services/signaling/online/token.h"

namespace flare {

class SessionService {
 public:
  // `fence` (may be null): report only what is durable.
  SessionService(MessageStore& messages, ConversationStore& conversations,
                 const DurableFence* fence = nullptr)
      : messages_(messages), conversations_(conversations), fence_(fence) {}

  Result<::flare::client::v1::BootstrapResult> Bootstrap(const Principal& who);

 private:
  MessageStore& messages_;
  ConversationStore& conversations_;
  const DurableFence* fence_;
};

}  // namespace flare
