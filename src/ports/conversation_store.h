// Port: conversations, their members and each member's cursors. Written
// through MessageStore::Write (memberships and cursors travel in the same
// group commit as messages); this interface reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace flare {

struct MemberConversation {
  std::string conversation_id;
  int conversation_type = 0;
  int64_t read_seq = 0;
  int64_t delivered_seq = 0;
};

class ConversationStore {
 public:
  virtual ~ConversationStore() = default;

  virtual Result<bool> IsMember(const std::string& tenant, const std::string& conversation_id,
                                const std::string& user_id) = 0;

  virtual Result<std::vector<std::string>> Members(const std::string& tenant,
                                                   const std::string& conversation_id) = 0;

  // Every conversation the user belongs to, with the user's cursors.
  virtual Result<std::vector<MemberConversation>> ListForUser(const std::string& tenant,
                                                              const std::string& user_id) = 0;
};

}  // namespace flare
