#include "adapters/memory/memory_gateway_directory.h"

namespace flare {

Status MemoryGatewayDirectory::Announce(const std::string& gateway_id, const std::string& address,
                                        int64_t ttl_ms) {
  if (gateway_id.empty() || address.empty()) {
    return InvalidArgument("a gateway announcement needs an id and an address");
  }
  if (ttl_ms <= 0) return InvalidArgument("a gateway announcement needs a positive TTL");
  std::lock_guard lock(mu_);
  entries_[gateway_id] = Entry{address, clock_.MonotonicMs() + ttl_ms};
  return Status::Ok();
}

Result<std::string> MemoryGatewayDirectory::Find(const std::string& gateway_id) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(gateway_id);
  if (it == entries_.end()) return NotFound("no gateway " + gateway_id + " in the directory");
  if (clock_.MonotonicMs() >= it->second.expires_ms) {
    entries_.erase(it);
    return NotFound("gateway " + gateway_id + " has not announced itself within its TTL");
  }
  return it->second.address;
}

Status MemoryGatewayDirectory::Withdraw(const std::string& gateway_id) {
  std::lock_guard lock(mu_);
  entries_.erase(gateway_id);
  return Status::Ok();
}

}  // namespace flare
