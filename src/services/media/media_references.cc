#include "services/media/media_references.h"

namespace flare {

std::vector<MediaReferenceChange> ReferenceChangesOf(
    const std::vector<CommittedMessage>& messages) {
  std::vector<MediaReferenceChange> changes;
  for (const CommittedMessage& cm : messages) {
    const auto& m = cm.stored.message;
    for (const auto& attachment : m.attachments()) {
      std::string media_id = MediaIdOfUrl(attachment.url());
      if (media_id.empty()) continue;
      changes.push_back({MediaReferenceChange::Kind::kAdd, cm.stored.tenant, std::move(media_id),
                         m.conversation_id(), m.seq()});
    }
    if (m.type() == pb::MESSAGE_TYPE_EVENT && m.event().has_recall()) {
      changes.push_back({MediaReferenceChange::Kind::kReleaseMessage, cm.stored.tenant, "",
                         m.conversation_id(), m.event().target_seq()});
    }
  }
  return changes;
}

void MediaReferenceListener::OnStored(std::vector<CommittedMessage>& messages) {
  media_.QueueReferenceChanges(ReferenceChangesOf(messages));
  if (next_) next_->OnStored(messages);
}

void MediaReferenceListener::OnReadMoved(const std::vector<ReadMove>& moves) {
  if (next_) next_->OnReadMoved(moves);
}

}  // namespace flare
