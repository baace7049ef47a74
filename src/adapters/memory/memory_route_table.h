// In-memory RouteTable, sharded so concurrent logins and lookups on
// different users do not contend on one lock. Gateway liveness runs on the
// given Clock (monotonic), so tests move time with a ManualClock.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "ports/route_table.h"

namespace flare {

class MemoryRouteTable final : public RouteTable {
 public:
  static constexpr int64_t kDefaultGatewayTtlMs = 30'000;
  explicit MemoryRouteTable(const Clock& clock = SystemClock::Instance(),
                            int64_t gateway_ttl_ms = kDefaultGatewayTtlMs)
      : clock_(clock), gateway_ttl_ms_(gateway_ttl_ms) {}

  Status Register(const std::string& tenant, const std::string& user_id,
                  const DeviceRoute& route) override;
  Status RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                            const DeviceRoute& route, LoginConflict policy,
                            std::vector<DeviceRoute>& displaced) override;
  Status Unregister(const std::string& tenant, const std::string& user_id,
                    uint64_t session_id) override;
  Status Lookup(const std::string& tenant, const std::string& user_id,
                std::vector<DeviceRoute>& out) override;
  Status LookupMany(const std::string& tenant, std::span<const std::string> users,
                    std::vector<UserRoute>& out) override;
  Result<GatewayLiveness> Heartbeat(const std::string& gateway_id) override;

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<DeviceRoute>> routes;  // tenant '\n' user
  };
  Shard& ShardFor(const std::string& key);
  bool Alive(const std::string& gateway_id, int64_t now_ms);
  void MarkAlive(const std::string& gateway_id);
  // Appends the routes of live gateways (shard lock held). Dead gateways'
  // routes are kept, not deleted: in one process the only gateway is this
  // one, and when it beats again its sessions are still connected.
  void AppendLive(const std::vector<DeviceRoute>& routes, std::vector<DeviceRoute>& out);

  const Clock& clock_;
  const int64_t gateway_ttl_ms_;
  std::array<Shard, kShards> shards_;
  // Lock order: a shard's mu, then gateways_mu_.
  std::mutex gateways_mu_;
  std::unordered_map<std::string, int64_t> alive_until_ms_;  // gateway id -> monotonic ms
};

}  // namespace flare
