#include "adapters/sharded/sharded_route_table.h"

#include <cassert>
#include <functional>
#include <utility>

namespace flare {

ShardedRouteTable::ShardedRouteTable(std::vector<std::shared_ptr<RouteTable>> tables,
                                     bool shared_backend)
    : tables_(std::move(tables)), shared_backend_(shared_backend) {
  assert(!tables_.empty());  // the factory opens at least one (presence.redis.connections >= 1)
}

size_t ShardedRouteTable::ShardOf(const std::string& tenant, const std::string& user_id) const {
  size_t h = std::hash<std::string>{}(tenant)*31 + std::hash<std::string>{}(user_id);
  return h % tables_.size();
}

RouteTable& ShardedRouteTable::ForUser(const std::string& tenant, const std::string& user_id) {
  return *tables_[ShardOf(tenant, user_id)];
}

RouteTable& ShardedRouteTable::AnyTable() {
  return *tables_[next_.fetch_add(1, std::memory_order_relaxed) % tables_.size()];
}

Status ShardedRouteTable::Register(const std::string& tenant, const std::string& user_id,
                                   const DeviceRoute& route) {
  return ForUser(tenant, user_id).Register(tenant, user_id, route);
}

Status ShardedRouteTable::RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                                             const DeviceRoute& route, LoginConflict policy,
                                             std::vector<DeviceRoute>& displaced) {
  return ForUser(tenant, user_id).RegisterDisplacing(tenant, user_id, route, policy, displaced);
}

Status ShardedRouteTable::RegisterDisplacingAndList(
    const std::string& tenant, const std::string& user_id, const DeviceRoute& route,
    LoginConflict policy, std::vector<DeviceRoute>& displaced,
    std::optional<std::vector<DeviceRoute>>& after) {
  return ForUser(tenant, user_id)
      .RegisterDisplacingAndList(tenant, user_id, route, policy, displaced, after);
}

Status ShardedRouteTable::UnregisterAndList(const std::string& tenant, const std::string& user_id,
                                            uint64_t session_id,
                                            std::optional<std::vector<DeviceRoute>>& after) {
  return ForUser(tenant, user_id).UnregisterAndList(tenant, user_id, session_id, after);
}

Status ShardedRouteTable::Unregister(const std::string& tenant, const std::string& user_id,
                                     uint64_t session_id) {
  return ForUser(tenant, user_id).Unregister(tenant, user_id, session_id);
}

Status ShardedRouteTable::Lookup(const std::string& tenant, const std::string& user_id,
                                 std::vector<DeviceRoute>& out) {
  return ForUser(tenant, user_id).Lookup(tenant, user_id, out);
}

Status ShardedRouteTable::LookupMany(const std::string& tenant, std::span<const std::string> users,
                                     std::vector<UserRoute>& out) {
  if (shared_backend_ || tables_.size() == 1) return AnyTable().LookupMany(tenant, users, out);
  // Each table answers for its own users; their indexes are mapped back to
  // the caller's.
  std::vector<std::vector<std::string>> shard_users(tables_.size());
  std::vector<std::vector<size_t>> shard_index(tables_.size());
  for (size_t i = 0; i < users.size(); ++i) {
    size_t shard = ShardOf(tenant, users[i]);
    shard_users[shard].push_back(users[i]);
    shard_index[shard].push_back(i);
  }
  std::vector<UserRoute> found;
  size_t had = out.size();
  for (size_t shard = 0; shard < tables_.size(); ++shard) {
    if (shard_users[shard].empty()) continue;
    found.clear();
    if (Status st = tables_[shard]->LookupMany(tenant, shard_users[shard], found); !st.ok()) {
      out.resize(had);  // all or nothing, as one table's lookup
      return st;
    }
    for (UserRoute& r : found) {
      r.user_index = shard_index[shard][r.user_index];
      out.push_back(std::move(r));
    }
  }
  return Status::Ok();
}

Result<GatewayLiveness> ShardedRouteTable::Heartbeat(const std::string& gateway_id) {
  if (shared_backend_) return AnyTable().Heartbeat(gateway_id);
  // Every shard beats, and a lapse one reports wins over another's failure:
  // it is reported once, and the routes it lost are registered again.
  Result<GatewayLiveness> liveness = GatewayLiveness::kAlive;
  for (const auto& table : tables_) {
    auto shard = table->Heartbeat(gateway_id);
    if (shard.ok() && *shard == GatewayLiveness::kLapsed) {
      liveness = GatewayLiveness::kLapsed;
    } else if (!shard.ok() && liveness.ok() && *liveness == GatewayLiveness::kAlive) {
      liveness = shard.status();
    }
  }
  return liveness;
}

}  // namespace flare
