// session: the multi-device bootstrap — every conversation of a user with
// its max seq, the user's read and delivered cursors, unread count and last
// message. Paged by conversation count and by bytes, in conversation id
// order; the cursor is the last conversation id of the previous page.
#pragma once

#include <cstddef>

#include "flare/client/v1/client.pb.h"
#include "ports/conversation_store.h"
#include "ports/message_store.h"
#include "services/signaling/online/token.h"
#include "services/storage/durable_fence.h"

namespace flare {

struct BootstrapLimits {
  int max_conversations = 200;
  // A page ends before the summary that would take it past this many bytes
  // (it always holds at least one).
  size_t max_page_bytes = 1024 * 1024;
};

class SessionService {
 public:
  // `fence` (may be null): report only what is durable.
  SessionService(MessageStore& messages, ConversationStore& conversations,
                 BootstrapLimits limits = {}, const DurableFence* fence = nullptr)
      : messages_(messages), conversations_(conversations), limits_(limits), fence_(fence) {}

  Result<::flare::client::v1::BootstrapResult> Bootstrap(
      const Principal& who, const ::flare::client::v1::BootstrapRequest& request = {});

 private:
  Result<::flare::client::v1::ConversationSummary> Summarize(const Principal& who,
                                                             const MemberConversation& mc);

  MessageStore& messages_;
  ConversationStore& conversations_;
  BootstrapLimits limits_;
  const DurableFence* fence_;
};

}  // namespace flare
