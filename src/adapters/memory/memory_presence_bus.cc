#include "adapters/memory/memory_presence_bus.h"

namespace flare {

Status MemoryPresenceBus::Publish(const std::string& tenant, const std::string& user_id,
                                  const std::string& payload) {
  Notify(tenant, user_id, payload);
  return Status::Ok();
}

}  // namespace flare
