#include "services/storage/reader/storage_reader.h"

#include <algorithm>

#include "services/message_events.h"

namespace flare {

namespace pb = ::flare::client::v1;

Result<pb::SyncResult> LocalStorageReader::Sync(const Principal& who,
                                                const pb::SyncRequest& request) {
  if (request.after_seq() < 0) return InvalidArgument("after_seq must not be negative");
  if (request.limit() < 0) return InvalidArgument("limit must not be negative");
  auto conv = access_.Resolve(who, request.peer_user_id(), request.conversation_id());
  if (!conv.ok()) return conv.status();
  int limit = request.limit() == 0 ? limits_.default_limit
                                   : std::min<int>(request.limit(), limits_.max_limit);
  // A member who joined later sees history from the join (unless the group shares it).
  int64_t after = std::max(request.after_seq(), conv->joined_seq - 1);
  // One row more than asked tells whether another page exists.
  auto messages = store_.ReadAfter(who.tenant, conv->conversation_id, after, limit + 1);
  if (!messages.ok()) return messages.status();
  auto max_seq = store_.MaxSeq(who.tenant, conv->conversation_id);
  if (!max_seq.ok()) return max_seq.status();
  // Asked after the reads: a row they saw was held before it was committed.
  int64_t visible =
      fence_ ? fence_->VisibleUpTo(who.tenant, conv->conversation_id) : DurableFence::kNoLimit;
  while (!messages->empty() && messages->back().seq() > visible) messages->pop_back();

  pb::SyncResult result;
  result.set_conversation_id(conv->conversation_id);
  result.set_has_more(static_cast<int>(messages->size()) > limit);
  result.set_max_seq(std::min(*max_seq, visible));
  result.set_visible_from_seq(std::max<int64_t>(1, conv->joined_seq));
  int n = std::min<int>(limit, static_cast<int>(messages->size()));
  size_t page_bytes = 0;
  for (int i = 0; i < n; ++i) {
    Message& m = (*messages)[i];
    if (!VisibleTo(m, who.user_id)) m = RedactFor(m);
    size_t bytes = m.ByteSizeLong();
    if (i > 0 && page_bytes + bytes > limits_.max_page_bytes) {
      result.set_has_more(true);
      break;
    }
    page_bytes += bytes;
    result.add_messages()->Swap(&m);
  }
  return result;
}

}  // namespace flare
