// session: the multi-device bootstrap — every conversation of a user with
// its max seq, the user's read and delivered cursors, unread count and last
// message. Paged by conversation count and by bytes, in conversation id
// order; the cursor is the last conversation id of the previous page.
//
// Callers depend on the SessionService interface: in one process it is the
// LocalSessionService below, in a cluster a gRPC client of the session role
// (rpc/session/).
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
  virtual ~SessionService() = default;
  // One page of `who`'s conversations after `request.cursor`.
  virtual Result<::flare::client::v1::BootstrapResult> Bootstrap(
      const Principal& who, const ::flare::client::v1::BootstrapRequest& request) = 0;
  Result<::flare::client::v1::BootstrapResult> Bootstrap(const Principal& who) {
    return Bootstrap(who, ::flare::client::v1::BootstrapRequest());
  }
};

// Reads the stores of this process.
class LocalSessionService final : public SessionService {
 public:
  // `fence` (may be null): report only what is durable.
  LocalSessionService(MessageStore& messages, ConversationStore& conversations,
                      BootstrapLimits limits = {}, const DurableFence* fence = nullptr)
      : messages_(messages), conversations_(conversations), limits_(limits), fence_(fence) {}

  using SessionService::Bootstrap;
  Result<::flare::client::v1::BootstrapResult> Bootstrap(
      const Principal& who, const ::flare::client::v1::BootstrapRequest& request) override;

 private:
  Result<::flare::client::v1::ConversationSummary> Summarize(const Principal& who,
                                                             const MemberConversation& mc);

  MessageStore& messages_;
  ConversationStore& conversations_;
  BootstrapLimits limits_;
  const DurableFence* fence_;
};

}  // namespace flare
