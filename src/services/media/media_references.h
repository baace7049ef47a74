// Counts references from stored messages to media: a StoredListener in
// front of the writer's next listener (the post-send hooks and push). For
// every committed message it queues, without waiting on any store, one
// reference per attachment whose url is "/v1/media/<media_id>", and for a
// recall event the release of what the recalled message referred to; the
// MediaService's thread records them. Then it hands the batch on.
#pragma once

#include <vector>

#include "services/media/media_service.h"
#include "services/storage/writer/storage_writer.h"

namespace flare {

// What `messages` change (pure; the listener's work, for tests).
std::vector<MediaReferenceChange> ReferenceChangesOf(const std::vector<CommittedMessage>& messages);

class MediaReferenceListener final : public StoredListener {
 public:
  // `next` may be null (nothing after).
  MediaReferenceListener(MediaService& media, StoredListener* next) : media_(media), next_(next) {}

  void OnStored(std::vector<CommittedMessage>& messages) override;
  void OnReadMoved(const std::vector<ReadMove>& moves) override;

 private:
  MediaService& media_;
  StoredListener* next_;
};

}  // namespace flare
