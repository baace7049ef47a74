#include "services/storage/durable_fence.h"

#include <algorithm>

#include "common/ids.h"

namespace flare {

void DurableFence::Hold(uint64_t batch_id,
                        std::vector<std::pair<std::string, int64_t>> first_seqs) {
  if (first_seqs.empty()) return;
  std::lock_guard lock(mu_);
  auto& keys = by_batch_[batch_id];
  for (auto& [key, seq] : first_seqs) {
    held_[key].push_back({batch_id, seq});
    keys.push_back(std::move(key));
  }
}

void DurableFence::Release(uint64_t batch_id) {
  std::lock_guard lock(mu_);
  auto batch = by_batch_.find(batch_id);
  if (batch == by_batch_.end()) return;
  for (const auto& key : batch->second) {
    auto it = held_.find(key);
    if (it == held_.end()) continue;
    std::erase_if(it->second, [&](const Hold_& h) { return h.batch_id == batch_id; });
    if (it->second.empty()) held_.erase(it);
  }
  by_batch_.erase(batch);
}

int64_t DurableFence::VisibleUpTo(const std::string& tenant,
                                  const std::string& conversation_id) const {
  std::string key = ConversationKey(tenant, conversation_id);
  std::lock_guard lock(mu_);
  auto it = held_.find(key);
  if (it == held_.end()) return kNoLimit;
  int64_t first = kNoLimit;
  for (const auto& h : it->second) first = std::min(first, h.first_seq);
  return first - 1;
}

size_t DurableFence::held_conversations() const {
  std::lock_guard lock(mu_);
  return held_.size();
}

}  // namespace flare
