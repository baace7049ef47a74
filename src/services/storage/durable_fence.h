// Which seqs readers may serve. The storage writer commits a batch before
// it is durable (the syncer makes it durable while the next batch is being
// written), so for a moment a reader could see a message that a power loss
// would take back, and a client could then hold a seq that is later given
// to a different message. The writer holds back every conversation it
// writes, from the batch's first seq on, until the batch is durable;
// readers (sync, bootstrap, read counts) serve only below that.
#pragma once

#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace flare {

class DurableFence {
 public:
  static constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

  // Writer thread, before the batch is committed: (conversation key, first
  // seq of the batch in that conversation) for every conversation written.
  void Hold(uint64_t batch_id, std::vector<std::pair<std::string, int64_t>> first_seqs);
  // After the batch is durable, or failed (then nothing of it is stored).
  void Release(uint64_t batch_id);
  // The highest seq of the conversation a reader may serve.
  int64_t VisibleUpTo(const std::string& tenant, const std::string& conversation_id) const;
  size_t held_conversations() const;

 private:
  struct Hold_ {
    uint64_t batch_id;
    int64_t first_seq;
  };
  mutable std::mutex mu_;
  // Only conversations of the (at most four) batches not yet durable.
  std::unordered_map<std::string, std::vector<Hold_>> held_;
  std::unordered_map<uint64_t, std::vector<std::string>> by_batch_;
};

}  // namespace flare
