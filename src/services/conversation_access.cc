#include "services/conversation_access.h"

#include "common/ids.h"
#include "flare/client/v1/client.pb.h"

namespace flare {

Status NotAMember(const std::string& conversation_id) {
  return Status(Code::kPermissionDenied, "you are not a member of conversation " + conversation_id)
      .WithDetail(::flare::client::v1::ERROR_CODE_NOT_MEMBER);
}

Result<ResolvedConversation> ConversationAccess::Resolve(const Principal& who,
                                                         const std::string& peer_user_id,
                                                         const std::string& conversation_id,
                                                         MembershipCheck check) const {
  namespace pb = ::flare::client::v1;
  if (!peer_user_id.empty() && !conversation_id.empty()) {
    return InvalidArgument("give either peer_user_id or conversation_id, not both");
  }
  if (!peer_user_id.empty()) {
    if (!IsValidId(peer_user_id)) return InvalidArgument("peer_user_id is not a valid user id");
    return ResolvedConversation{
        SingleConversationId(who.user_id, peer_user_id), pb::CONVERSATION_TYPE_SINGLE,
        peer_user_id == who.user_id ? std::vector<std::string>{who.user_id}
                                    : std::vector<std::string>{who.user_id, peer_user_id}};
  }
  if (conversation_id.empty())
    return InvalidArgument("conversation_id or peer_user_id is required");
  if (auto pair = ParseSingleConversationId(conversation_id)) {
    if (pair->first != who.user_id && pair->second != who.user_id) {
      return PermissionDenied("you are not a member of conversation " + conversation_id);
    }
    std::vector<std::string> members{pair->first};
    if (pair->second != pair->first) members.push_back(pair->second);
    return ResolvedConversation{conversation_id, pb::CONVERSATION_TYPE_SINGLE, std::move(members)};
  }
  int type = conversation_id.rfind("channel:", 0) == 0 ? pb::CONVERSATION_TYPE_CHANNEL
                                                       : pb::CONVERSATION_TYPE_GROUP;
  if (conversation_id.size() > 200) return InvalidArgument("conversation_id is too long");
  if (check == MembershipCheck::kDeferred) return ResolvedConversation{conversation_id, type, {}};
  auto member = store_.GetMember(who.tenant, conversation_id, who.user_id);
  if (!member.ok()) return member.status();
  if (!member->has_value()) {
    return NotAMember(conversation_id);
  }
  return ResolvedConversation{conversation_id, type, {}, (*member)->joined_seq};
}

}  // namespace flare
