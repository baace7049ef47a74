#include "adapters/memory/memory_presence_bus.h"

namespace flare {

Status MemoryPresenceBus::Publish(const std::string& tenant, const std::string& user_id,
                                  const std::string& payload) {
  std::lock_guard lock(mu_);
  for (auto& [id, listener] : listeners_) listener(tenant, user_id, payload);
  return Status::Ok();
}

uint64_t MemoryPresenceBus::AddListener(Listener listener) {
  std::lock_guard lock(mu_);
  listeners_.emplace(next_id_, std::move(listener));
  return next_id_++;
}

void MemoryPresenceBus::RemoveListener(uint64_t id) {
  std::lock_guard lock(mu_);
  listeners_.erase(id);
}

}  // namespace flare
