#include "services/storage/reader/storage_reader.h"

#include <algorithm>

#include "services/message_events.h"

namespace flare {

namespace pb = ::flare::client::v1;

namespace {

// The first seq a member may see: a member who joined later sees history
// from the join (unless the group shares it, then joined_seq is 0).
int64_t VisibleFrom(const ResolvedConversation& conv) {
  return std::max<int64_t>(1, conv.joined_seq);
}

}  // namespace

int LocalStorageReader::PageLimit(int asked) const {
  return asked == 0 ? limits_.default_limit : std::min<int>(asked, limits_.max_limit);
}

Result<pb::SyncResult> LocalStorageReader::StartPage(const Principal& who,
                                                     const ResolvedConversation& conv,
                                                     std::vector<Message>& messages) {
  auto max_seq = store_.MaxSeq(who.tenant, conv.conversation_id);
  if (!max_seq.ok()) return max_seq.status();
  int64_t visible =
      fence_ ? fence_->VisibleUpTo(who.tenant, conv.conversation_id) : DurableFence::kNoLimit;
  std::erase_if(messages, [&](const Message& m) { return m.seq() > visible; });
  pb::SyncResult page;
  page.set_conversation_id(conv.conversation_id);
  page.set_max_seq(std::min(*max_seq, visible));
  page.set_visible_from_seq(VisibleFrom(conv));
  return page;
}

bool LocalStorageReader::Fill(std::vector<Message>& messages, size_t n, const std::string& user,
                              pb::SyncResult& page) const {
  n = std::min(n, messages.size());
  size_t page_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    Message& m = messages[i];
    if (!VisibleTo(m, user)) m = RedactFor(m);
    size_t bytes = m.ByteSizeLong();
    if (i > 0 && page_bytes + bytes > limits_.max_page_bytes) return false;
    page_bytes += bytes;
    page.add_messages()->Swap(&m);
  }
  return true;
}

Result<pb::SyncResult> LocalStorageReader::Sync(const Principal& who,
                                                const pb::SyncRequest& request) {
  if (request.after_seq() < 0) return InvalidArgument("after_seq must not be negative");
  if (request.limit() < 0) return InvalidArgument("limit must not be negative");
  auto conv = access_.Resolve(who, request.peer_user_id(), request.conversation_id());
  if (!conv.ok()) return conv.status();
  int limit = PageLimit(request.limit());
  int64_t after = std::max(request.after_seq(), VisibleFrom(*conv) - 1);
  // One row more than asked tells whether another page exists.
  auto messages = store_.ReadAfter(who.tenant, conv->conversation_id, after, limit + 1);
  if (!messages.ok()) return messages.status();
  auto page = StartPage(who, *conv, *messages);
  if (!page.ok()) return page.status();
  bool more = static_cast<int>(messages->size()) > limit;
  if (!Fill(*messages, limit, who.user_id, *page)) more = true;
  page->set_has_more(more);
  return page;
}

Result<pb::SyncResult> LocalStorageReader::History(const Principal& who,
                                                   const HistoryQuery& query) {
  if (query.before_seq < 0) return InvalidArgument("before_seq must not be negative");
  if (query.limit < 0) return InvalidArgument("limit must not be negative");
  auto conv = access_.Resolve(who, query.peer_user_id, query.conversation_id);
  if (!conv.ok()) return conv.status();
  int64_t before = query.before_seq;
  if (before == 0) {
    auto max_seq = store_.MaxSeq(who.tenant, conv->conversation_id);
    if (!max_seq.ok()) return max_seq.status();
    before = *max_seq + 1;
  }
  // Seqs of a conversation are contiguous from 1, so the page is a range:
  // [first, before), not reaching below the join point.
  int64_t from = VisibleFrom(*conv);
  int64_t first = std::max(from, before - PageLimit(query.limit));
  std::vector<Message> messages;
  if (first < before) {
    auto read = store_.ReadAfter(who.tenant, conv->conversation_id, first - 1,
                                 static_cast<int>(before - first));
    if (!read.ok()) return read.status();
    messages = std::move(*read);
    std::erase_if(messages, [&](const Message& m) { return m.seq() >= before; });
  }
  auto page = StartPage(who, *conv, messages);
  if (!page.ok()) return page.status();
  std::reverse(messages.begin(), messages.end());  // newest first
  bool more = first > from;
  if (!Fill(messages, messages.size(), who.user_id, *page)) more = true;
  page->set_has_more(more);
  return page;
}

Result<pb::SyncResult> LocalStorageReader::GetMessages(const Principal& who,
                                                       const GetMessagesQuery& query) {
  if (query.seqs.size() > GetMessagesQuery::kMaxSeqs) {
    return InvalidArgument("at most " + std::to_string(GetMessagesQuery::kMaxSeqs) +
                           " seqs per request");
  }
  for (int64_t seq : query.seqs) {
    if (seq <= 0) return InvalidArgument("seqs must be positive");
  }
  auto conv = access_.Resolve(who, query.peer_user_id, query.conversation_id);
  if (!conv.ok()) return conv.status();
  std::vector<int64_t> seqs = query.seqs;
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  int64_t from = VisibleFrom(*conv);
  std::erase_if(seqs, [&](int64_t seq) { return seq < from; });
  std::vector<Message> messages;
  if (!seqs.empty()) {
    auto read = store_.GetMany(who.tenant, conv->conversation_id, seqs);
    if (!read.ok()) return read.status();
    messages = std::move(*read);
    std::sort(messages.begin(), messages.end(),
              [](const Message& a, const Message& b) { return a.seq() < b.seq(); });
  }
  auto page = StartPage(who, *conv, messages);
  if (!page.ok()) return page.status();
  page->set_has_more(!Fill(messages, messages.size(), who.user_id, *page));
  return page;
}

}  // namespace flare
