// session: the multi-device bootstrap — every conversation of a user with
// its max seq, the user's read and delivered cursors, unread count and last
// message.
#pragma once

#include "flare/client/v1/client.pb.h"
#include "ports/conversation_store.h"
#include "ports/message_store.h"
#include "services/signaling/online/token.h"

namespace flare {

class SessionService {
 public:
  SessionService(MessageStore& messages, ConversationStore& conversations)
      : messages_(messages), conversations_(conversations) {}

  Result<::flare::client::v1::BootstrapResult> Bootstrap(const Principal& who);

 private:
  MessageStore& messages_;
  ConversationStore& conversations_;
};

}  // namespace flare
