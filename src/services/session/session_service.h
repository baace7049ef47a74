// session: the multi-device bootstrap — every conversation of a user with
// its max seq, the user's read and delivered cursors, unread count and last
// message. Paged by conversation count and by bytes, in conversation id
// order; the cursor is the last conversation id of the previous page.
// Bootstrap is also the conversation list. Beside it, reads of one
// conversation the user belongs to: its members, the user's cursors of it,
// and a group's record.
//
// Callers depend on the SessionService interface: in one process it is the
// LocalSessionService below, in a cluster a gRPC client of the session role
// (rpc/session/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "flare/client/v1/client.pb.h"
#include "ports/conversation_store.h"
#include "ports/message_store.h"
#include "services/conversation_access.h"
#include "services/session/group.h"
#include "services/signaling/online/token.h"
#include "services/storage/durable_fence.h"

namespace flare {

struct BootstrapLimits {
  int max_conversations = 200;
  // A page ends before the summary that would take it past this many bytes
  // (it always holds at least one).
  size_t max_page_bytes = 1024 * 1024;
  // Members per page of Members: the default and the most a request gets.
  int default_members = 500;
  int max_members = 2000;
};

// What a read of one conversation addresses.
struct ConversationTarget {
  std::string conversation_id;  // or peer_user_id for a 1:1 conversation
  std::string peer_user_id;
};

struct MembersQuery {
  ConversationTarget target;
  std::string cursor;  // empty, or next_cursor of the previous page
  int limit = 0;       // 0: BootstrapLimits::default_members; capped at max_members
};

// Members in user id order, after the query's cursor.
struct MemberPage {
  std::string conversation_id;
  std::vector<::flare::client::v1::MemberInfo> members;
  int64_t member_count = 0;  // of the whole conversation
  bool has_more = false;
  std::string next_cursor;  // the last user id of this page
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
  // Members of a conversation `who` belongs to (1:1: its two users).
  virtual Result<MemberPage> Members(const Principal& who, const MembersQuery& query) = 0;
  // `who`'s cursors, unread count and mention flag of one conversation:
  // the summary Bootstrap gives for it (zeros for a 1:1 conversation
  // without messages yet).
  virtual Result<::flare::client::v1::ConversationSummary> Cursor(
      const Principal& who, const ConversationTarget& target) = 0;
  // The record of a group or channel `who` belongs to, without members
  // (member_count set).
  virtual Result<::flare::client::v1::GroupInfo> Group(const Principal& who,
                                                       const std::string& conversation_id) = 0;
};

// Reads the stores of this process.
class LocalSessionService final : public SessionService {
 public:
  // `fence` (may be null): report only what is durable.
  LocalSessionService(MessageStore& messages, ConversationStore& conversations,
                      BootstrapLimits limits = {}, const DurableFence* fence = nullptr)
      : messages_(messages),
        conversations_(conversations),
        access_(conversations),
        limits_(limits),
        fence_(fence) {}

  using SessionService::Bootstrap;
  Result<::flare::client::v1::BootstrapResult> Bootstrap(
      const Principal& who, const ::flare::client::v1::BootstrapRequest& request) override;
  // session_reads.cc:
  Result<MemberPage> Members(const Principal& who, const MembersQuery& query) override;
  Result<::flare::client::v1::ConversationSummary> Cursor(
      const Principal& who, const ConversationTarget& target) override;
  Result<::flare::client::v1::GroupInfo> Group(const Principal& who,
                                               const std::string& conversation_id) override;

 private:
  Result<::flare::client::v1::ConversationSummary> Summarize(const Principal& who,
                                                             const MemberConversation& mc);

  // The group `who` addresses, with its members; refuses non-members as
  // Sync does and conversations that are not groups or channels.
  Result<GroupState> LoadGroupFor(const Principal& who, const ResolvedConversation& conv);

  MessageStore& messages_;
  ConversationStore& conversations_;
  ConversationAccess access_;
  BootstrapLimits limits_;
  const DurableFence* fence_;
};

}  // namespace flare
