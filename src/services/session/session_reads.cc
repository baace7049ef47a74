// LocalSessionService's reads of one conversation: members, cursors, group
// record. Each checks membership as Sync does (ConversationAccess).
#include <algorithm>

#include "services/session/session_service.h"

namespace flare {

namespace pb = ::flare::client::v1;

Result<GroupState> LocalSessionService::LoadGroupFor(const Principal& who,
                                                     const ResolvedConversation& conv) {
  if (conv.type == pb::CONVERSATION_TYPE_SINGLE) {
    return InvalidArgument("conversation " + conv.conversation_id + " is not a group or channel");
  }
  auto snapshot = conversations_.LoadConversation(who.tenant, conv.conversation_id);
  if (!snapshot.ok()) return snapshot.status();
  // Gone or left since Resolve checked: refused as any non-member is.
  if (!snapshot->has_value()) return NotAMember(conv.conversation_id);
  auto state = GroupState::FromSnapshot(**snapshot);
  if (!state.ok()) return state.status();
  if (!state->members.contains(who.user_id)) return NotAMember(conv.conversation_id);
  return state;
}

Result<MemberPage> LocalSessionService::Members(const Principal& who, const MembersQuery& query) {
  if (query.limit < 0) return InvalidArgument("limit must not be negative");
  auto conv = access_.Resolve(who, query.target.peer_user_id, query.target.conversation_id);
  if (!conv.ok()) return conv.status();
  std::vector<pb::MemberInfo> all;
  if (conv->type == pb::CONVERSATION_TYPE_SINGLE) {
    // A 1:1 conversation's members are in its id; neither has a role.
    for (const auto& user : conv->members) all.emplace_back().set_user_id(user);
    std::sort(all.begin(), all.end(),
              [](const auto& a, const auto& b) { return a.user_id() < b.user_id(); });
  } else {
    auto group = LoadGroupFor(who, *conv);
    if (!group.ok()) return group.status();
    pb::GroupInfo info = group->ToInfo(/*with_members=*/true);  // in user id order
    all.assign(std::make_move_iterator(info.mutable_members()->begin()),
               std::make_move_iterator(info.mutable_members()->end()));
  }
  MemberPage page;
  page.conversation_id = conv->conversation_id;
  page.member_count = static_cast<int64_t>(all.size());
  size_t limit =
      query.limit == 0 ? limits_.default_members : std::min(query.limit, limits_.max_members);
  auto next = std::upper_bound(
      all.begin(), all.end(), query.cursor,
      [](const std::string& cursor, const pb::MemberInfo& m) { return cursor < m.user_id(); });
  for (; next != all.end() && page.members.size() < limit; ++next) {
    page.members.push_back(std::move(*next));
  }
  if (next != all.end() && !page.members.empty()) {
    page.has_more = true;
    page.next_cursor = page.members.back().user_id();
  }
  return page;
}

Result<pb::ConversationSummary> LocalSessionService::Cursor(const Principal& who,
                                                            const ConversationTarget& target) {
  auto conv = access_.Resolve(who, target.peer_user_id, target.conversation_id);
  if (!conv.ok()) return conv.status();
  auto row = conversations_.GetMemberConversation(who.tenant, conv->conversation_id, who.user_id);
  if (!row.ok()) return row.status();
  if (row->has_value()) return Summarize(who, **row);
  // A 1:1 conversation has its rows once its first message is stored.
  if (conv->type != pb::CONVERSATION_TYPE_SINGLE) return NotAMember(conv->conversation_id);
  MemberConversation empty;
  empty.conversation_id = conv->conversation_id;
  empty.conversation_type = conv->type;
  return Summarize(who, empty);
}

Result<pb::GroupInfo> LocalSessionService::Group(const Principal& who,
                                                 const std::string& conversation_id) {
  auto conv = access_.Resolve(who, "", conversation_id);
  if (!conv.ok()) return conv.status();
  auto group = LoadGroupFor(who, *conv);
  if (!group.ok()) return group.status();
  pb::GroupInfo info = group->ToInfo(/*with_members=*/false);
  info.set_conversation_id(conv->conversation_id);
  return info;
}

}  // namespace flare
