#include "client/conversation_view.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>

#include "services/message_events.h"

namespace flare {

namespace pb = ::flare::client::v1;

namespace {
pb::Message Canonical(pb::Message m) {
  for (auto& r : *m.mutable_reactions()) {
    std::sort(r.mutable_user_ids()->begin(), r.mutable_user_ids()->end());
  }
  std::sort(m.mutable_reactions()->begin(), m.mutable_reactions()->end(),
            [](const pb::Reaction& a, const pb::Reaction& b) { return a.emoji() < b.emoji(); });
  return m;
}
}  // namespace

void ConversationView::Apply(const pb::Message& m) {
  messages_[m.seq()] = m;
  if (m.type() != pb::MESSAGE_TYPE_EVENT) return;
  const pb::Event& e = m.event();
  if (e.has_delete_for_me() && m.visible_to() == me_) hidden_.insert(e.target_seq());
  auto target = messages_.find(e.target_seq());
  if (target != messages_.end() && e.target_seq() != m.seq()) ApplyEventToTarget(m, target->second);
}

int64_t ConversationView::Unread(int64_t read_seq) const {
  int64_t n = 0;
  for (auto it = messages_.upper_bound(read_seq); it != messages_.end(); ++it) {
    if (it->second.type() != pb::MESSAGE_TYPE_EVENT && it->second.sender() != me_) ++n;
  }
  return n;
}

bool ConversationView::SameAs(const ConversationView& other, std::string* difference) const {
  if (hidden_ != other.hidden_) {
    if (difference) *difference = "hidden sets differ";
    return false;
  }
  if (messages_.size() != other.messages_.size()) {
    if (difference) {
      *difference = "message counts differ: " + std::to_string(messages_.size()) + " vs " +
                    std::to_string(other.messages_.size());
    }
    return false;
  }
  for (const auto& [seq, m] : messages_) {
    auto it = other.messages_.find(seq);
    std::string report;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesToString(&report);
    if (it == other.messages_.end() || !differ.Compare(Canonical(m), Canonical(it->second))) {
      if (difference) *difference = "seq " + std::to_string(seq) + ": " + report;
      return false;
    }
  }
  return true;
}

}  // namespace flare
