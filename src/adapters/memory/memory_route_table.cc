#include "adapters/memory/memory_route_table.h"

#include <algorithm>
#include <functional>

namespace flare {
namespace {
std::string Key(const std::string& tenant, const std::string& user) { return tenant + '\n' + user; }
}  // namespace

MemoryRouteTable::Shard& MemoryRouteTable::ShardFor(const std::string& key) {
  return shards_[std::hash<std::string>{}(key) % kShards];
}

Status MemoryRouteTable::Register(const std::string& tenant, const std::string& user_id,
                                  const DeviceRoute& route) {
  std::string key = Key(tenant, user_id);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto& routes = shard.routes[key];
  std::erase_if(routes, [&](const DeviceRoute& r) { return r.session_id == route.session_id; });
  routes.push_back(route);
  return Status::Ok();
}

Status MemoryRouteTable::RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                                            const DeviceRoute& route, LoginConflict policy,
                                            std::vector<uint64_t>& displaced) {
  std::string key = Key(tenant, user_id);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);  // one lock for the user: the login is one step
  auto& routes = shard.routes[key];
  std::erase_if(routes, [&](const DeviceRoute& r) {
    if (r.session_id == route.session_id) return true;  // re-registered below
    if (!Displaces(policy, route, r)) return false;
    displaced.push_back(r.session_id);
    return true;
  });
  routes.push_back(route);
  return Status::Ok();
}

Status MemoryRouteTable::Unregister(const std::string& tenant, const std::string& user_id,
                                    uint64_t session_id) {
  std::string key = Key(tenant, user_id);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.routes.find(key);
  if (it == shard.routes.end()) return Status::Ok();
  std::erase_if(it->second, [&](const DeviceRoute& r) { return r.session_id == session_id; });
  if (it->second.empty()) shard.routes.erase(it);
  return Status::Ok();
}

Status MemoryRouteTable::Lookup(const std::string& tenant, const std::string& user_id,
                                std::vector<DeviceRoute>& out) {
  std::string key = Key(tenant, user_id);
  Shard& shard = ShardFor(key);
  std::lock_guard lock(shard.mu);
  auto it = shard.routes.find(key);
  if (it != shard.routes.end()) out.insert(out.end(), it->second.begin(), it->second.end());
  return Status::Ok();
}

}  // namespace flare
