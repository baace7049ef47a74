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

bool MemoryRouteTable::Alive(const std::string& gateway_id, int64_t now_ms) {
  std::lock_guard lock(gateways_mu_);
  auto it = alive_until_ms_.find(gateway_id);
  return it != alive_until_ms_.end() && it->second > now_ms;
}

void MemoryRouteTable::AppendLive(const std::vector<DeviceRoute>& routes,
                                  std::vector<DeviceRoute>& out) {
  int64_t now = clock_.MonotonicMs();
  for (const auto& r : routes) {
    if (Alive(r.gateway_id, now)) out.push_back(r);
  }
}

void MemoryRouteTable::MarkAlive(const std::string& gateway_id) {
  std::lock_guard lock(gateways_mu_);
  alive_until_ms_[gateway_id] = clock_.MonotonicMs() + gateway_ttl_ms_;
}

// Routes of a gateway given up for dead are kept (lookups skip them), so a
// beat brings them all back.
Result<GatewayLiveness> MemoryRouteTable::Heartbeat(const std::string& gateway_id) {
  MarkAlive(gateway_id);
  return GatewayLiveness::kAlive;
}

Status MemoryRouteTable::Register(const std::string& tenant, const std::string& user_id,
                                  const DeviceRoute& route) {
  std::string key = Key(tenant, user_id);
  Shard& shard = ShardFor(key);
  MarkAlive(route.gateway_id);
  std::lock_guard lock(shard.mu);
  auto& routes = shard.routes[key];
  std::erase_if(routes, [&](const DeviceRoute& r) { return r.session_id == route.session_id; });
  routes.push_back(route);
  return Status::Ok();
}

Status MemoryRouteTable::RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                                            const DeviceRoute& route, LoginConflict policy,
                                            std::vector<DeviceRoute>& displaced) {
  std::string key = Key(tenant, user_id);
  Shard& shard = ShardFor(key);
  MarkAlive(route.gateway_id);
  std::lock_guard lock(shard.mu);  // one lock for the user: the login is one step
  auto& routes = shard.routes[key];
  std::erase_if(routes, [&](const DeviceRoute& r) {
    if (r.session_id == route.session_id) return true;  // re-registered below
    if (!Displaces(policy, route, r)) return false;
    displaced.push_back(r);
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
  if (it != shard.routes.end()) AppendLive(it->second, out);
  return Status::Ok();
}

Status MemoryRouteTable::LookupMany(const std::string& tenant, std::span<const std::string> users,
                                    std::vector<UserRoute>& out) {
  std::vector<DeviceRoute> routes;  // in memory one call per user costs no round trip
  for (size_t i = 0; i < users.size(); ++i) {
    routes.clear();
    FLARE_RETURN_IF_ERROR(Lookup(tenant, users[i], routes));
    for (auto& r : routes) out.push_back({i, std::move(r)});
  }
  return Status::Ok();
}

}  // namespace flare
