#include "services/session/session_service.h"

#include <algorithm>

#include "common/ids.h"
#include "services/message_events.h"

namespace flare {

namespace pb = ::flare::client::v1;

Result<pb::BootstrapResult> LocalSessionService::Bootstrap(const Principal& who,
                                                           const pb::BootstrapRequest& request) {
  auto list = conversations_.ListForUser(who.tenant, who.user_id);
  if (!list.ok()) return list.status();
  std::sort(list->begin(), list->end(),
            [](const auto& a, const auto& b) { return a.conversation_id < b.conversation_id; });
  auto next = std::upper_bound(
      list->begin(), list->end(), request.cursor(),
      [](const std::string& cursor, const auto& mc) { return cursor < mc.conversation_id; });
  pb::BootstrapResult result;
  size_t page_bytes = 0;
  for (; next != list->end(); ++next) {
    if (result.conversations_size() >= limits_.max_conversations) break;
    auto summary = Summarize(who, *next);
    if (!summary.ok()) return summary.status();
    size_t bytes = summary->ByteSizeLong();
    if (result.conversations_size() > 0 && page_bytes + bytes > limits_.max_page_bytes) break;
    page_bytes += bytes;
    result.add_conversations()->Swap(&*summary);
  }
  if (next != list->end()) {
    result.set_has_more(true);
    result.set_next_cursor(result.conversations().rbegin()->conversation_id());
  }
  return result;
}

Result<pb::ConversationSummary> LocalSessionService::Summarize(const Principal& who,
                                                               const MemberConversation& mc) {
  pb::ConversationSummary s;
  s.set_conversation_id(mc.conversation_id);
  s.set_type(static_cast<pb::ConversationType>(mc.conversation_type));
  if (auto pair = ParseSingleConversationId(mc.conversation_id)) {
    s.set_peer_user_id(pair->first == who.user_id ? pair->second : pair->first);
  }
  if (!mc.info.empty()) {
    pb::GroupInfo info;
    if (info.ParseFromString(mc.info)) s.set_name(info.settings().name());
  }
  s.set_read_seq(mc.read_seq);
  s.set_delivered_seq(mc.delivered_seq);
  auto last = messages_.Last(who.tenant, mc.conversation_id);
  if (!last.ok()) return last.status();
  // Asked after the read: a row it saw was held before it was committed.
  int64_t visible =
      fence_ ? fence_->VisibleUpTo(who.tenant, mc.conversation_id) : DurableFence::kNoLimit;
  if (last->has_value() && (*last)->seq() > visible) {
    last = visible > 0 ? messages_.Get(who.tenant, mc.conversation_id, visible)
                       : Result<std::optional<Message>>(std::optional<Message>());
    if (!last.ok()) return last.status();
  }
  // Counted up to the last message served, which the fence showed durable
  // (a later seq may have been committed since the fence was asked).
  int64_t served = last->has_value() ? (*last)->seq() : 0;
  if (last->has_value()) {
    s.set_max_seq((*last)->seq());
    *s.mutable_last_message() =
        VisibleTo(**last, who.user_id) ? std::move(**last) : RedactFor(**last);
  }
  // Nothing before the join counts as unread for a member who cannot see it.
  int64_t unread_from = std::max(mc.read_seq, mc.joined_seq > 0 ? mc.joined_seq : 0);
  auto unread =
      messages_.CountAfter(who.tenant, mc.conversation_id, unread_from, served, who.user_id);
  if (!unread.ok()) return unread.status();
  s.set_unread(*unread);
  auto mentioned =
      messages_.MentionedAfter(who.tenant, mc.conversation_id, unread_from, served, who.user_id);
  if (!mentioned.ok()) return mentioned.status();
  s.set_mentioned(*mentioned);
  return s;
}

}  // namespace flare
