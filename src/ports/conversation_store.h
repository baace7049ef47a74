// Port: conversations, their members and each member's cursors. Written
// through MessageStore::Write (memberships and cursors travel in the same
// group commit as messages); this interface reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace flare {

struct MemberConversation {
  std::string conversation_id;
  int conversation_type = 0;
  int64_t read_seq = 0;
  int64_t delivered_seq = 0;
  int64_t joined_seq = 0;
  std::string info;  // serialized pb::GroupInfo for groups and channels; empty for 1:1
};

struct MemberRow {
  std::string user_id;
  int role = 0;
  int64_t muted_until_ms = 0;
  int64_t joined_seq = 0;
  int64_t read_seq = 0;
};

// A group or channel as stored: its record and every member.
struct ConversationSnapshot {
  std::string info;  // serialized pb::GroupInfo without members
  std::vector<MemberRow> members;
};

class ConversationStore {
 public:
  virtual ~ConversationStore() = default;

  virtual Result<std::vector<std::string>> Members(const std::string& tenant,
                                                   const std::string& conversation_id) = 0;

  // Every conversation the user belongs to, with the user's cursors.
  virtual Result<std::vector<MemberConversation>> ListForUser(const std::string& tenant,
                                                              const std::string& user_id) = 0;

  // The user's membership row, if a member.
  virtual Result<std::optional<MemberRow>> GetMember(const std::string& tenant,
                                                     const std::string& conversation_id,
                                                     const std::string& user_id) = 0;

  // The user's row of one conversation with its cursors (as ListForUser
  // gives it), if a member. The default scans ListForUser; backends with
  // an index on (tenant, user, conversation) read the one row.
  virtual Result<std::optional<MemberConversation>> GetMemberConversation(
      const std::string& tenant, const std::string& conversation_id, const std::string& user_id) {
    auto all = ListForUser(tenant, user_id);
    if (!all.ok()) return all.status();
    for (auto& mc : *all) {
      if (mc.conversation_id == conversation_id) return std::optional(std::move(mc));
    }
    return std::optional<MemberConversation>();
  }

  // A group's record and members; nullopt if no such group.
  virtual Result<std::optional<ConversationSnapshot>> LoadConversation(
      const std::string& tenant, const std::string& conversation_id) = 0;

  // Members other than `exclude_user` whose read cursor is at or past seq.
  virtual Result<int64_t> CountReaders(const std::string& tenant,
                                       const std::string& conversation_id, int64_t seq,
                                       const std::string& exclude_user) = 0;
};

}  // namespace flare
