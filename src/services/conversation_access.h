// Who may read and write a conversation. 1:1 conversations carry their two
// members in their id, so checking them needs no storage read; other types
// ask the ConversationStore.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "ports/conversation_store.h"
#include "services/signaling/online/token.h"

namespace flare {

struct ResolvedConversation {
  std::string conversation_id;
  int type = 0;                      // pb::ConversationType
  std::vector<std::string> members;  // known without a read for 1:1; else empty
  int64_t joined_seq = 0;            // groups: history is visible from here
};

enum class MembershipCheck {
  kNow,       // read the store (reader threads only)
  kDeferred,  // the storage writer checks (sends and events: no read on the I/O thread)
};

// The refusal of a reader who is not a member of `conversation_id`
// (PERMISSION_DENIED with ERROR_CODE_NOT_MEMBER).
Status NotAMember(const std::string& conversation_id);

class ConversationAccess {
 public:
  explicit ConversationAccess(ConversationStore& store) : store_(store) {}

  // Resolves what a request addresses: a peer user (1:1) or a conversation
  // id, and checks the principal may use it.
  Result<ResolvedConversation> Resolve(const Principal& who, const std::string& peer_user_id,
                                       const std::string& conversation_id,
                                       MembershipCheck check = MembershipCheck::kNow) const;

 private:
  ConversationStore& store_;
};

}  // namespace flare
