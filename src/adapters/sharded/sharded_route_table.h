// A RouteTable spread over several independent tables, each user's calls on
// one of them (picked by a hash of tenant and user), so calls for different
// users run side by side instead of queueing behind one another.
//
// Why: the Redis adapter serialises its calls on one connection, and a
// signaling-online process serving every gateway's logins spent most of a
// login waiting for that connection. Several adapters (several
// connections) to the same server remove the queue; one user's calls still
// run in order because they always use the same table.
//
// Shared backend (`shared_backend`): every table sees the same data (one
// Redis server), so a lookup of many users goes to one table in one call,
// and a heartbeat to one table. That needs tables that keep no routes of
// their own (RedisRouteTableOptions::remember_routes = false, as a table
// served to other processes is): a table that re-registers its routes when
// its gateway revives would only hear every Nth heartbeat. Otherwise (independent tables, as in the
// tests over memory tables) a lookup is split by user and a heartbeat goes
// to every table.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ports/route_table.h"

namespace flare {

class ShardedRouteTable final : public RouteTable {
 public:
  ShardedRouteTable(std::vector<std::shared_ptr<RouteTable>> tables, bool shared_backend);

  Status Register(const std::string& tenant, const std::string& user_id,
                  const DeviceRoute& route) override;
  Status RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                            const DeviceRoute& route, LoginConflict policy,
                            std::vector<DeviceRoute>& displaced) override;
  Status RegisterDisplacingAndList(const std::string& tenant, const std::string& user_id,
                                   const DeviceRoute& route, LoginConflict policy,
                                   std::vector<DeviceRoute>& displaced,
                                   std::optional<std::vector<DeviceRoute>>& after) override;
  Status Unregister(const std::string& tenant, const std::string& user_id,
                    uint64_t session_id) override;
  Status UnregisterAndList(const std::string& tenant, const std::string& user_id,
                           uint64_t session_id,
                           std::optional<std::vector<DeviceRoute>>& after) override;
  Status Lookup(const std::string& tenant, const std::string& user_id,
                std::vector<DeviceRoute>& out) override;
  Status LookupMany(const std::string& tenant, std::span<const std::string> users,
                    std::vector<UserRoute>& out) override;
  Result<GatewayLiveness> Heartbeat(const std::string& gateway_id) override;

 private:
  size_t ShardOf(const std::string& tenant, const std::string& user_id) const;
  RouteTable& ForUser(const std::string& tenant, const std::string& user_id);
  RouteTable& AnyTable();

  const std::vector<std::shared_ptr<RouteTable>> tables_;
  const bool shared_backend_;
  std::atomic<size_t> next_{0};  // round robin of AnyTable
};

}  // namespace flare
