// In-memory RouteTable, sharded so concurrent logins and lookups on
// different users do not contend on one lock.
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "ports/route_table.h"

namespace flare {

class MemoryRouteTable final : public RouteTable {
 public:
  Status Register(const std::string& tenant, const std::string& user_id,
                  const DeviceRoute& route) override;
  Status RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                            const DeviceRoute& route, LoginConflict policy,
                            std::vector<uint64_t>& displaced) override;
  Status Unregister(const std::string& tenant, const std::string& user_id,
                    uint64_t session_id) override;
  Status Lookup(const std::string& tenant, const std::string& user_id,
                std::vector<DeviceRoute>& out) override;

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<DeviceRoute>> routes;  // tenant '\n' user
  };
  Shard& ShardFor(const std::string& key);
  std::array<Shard, kShards> shards_;
};

}  // namespace flare
