// Port: which devices of a user are online and which gateway holds each
// (signaling-online / signaling-route). In-memory in embedded mode; Redis
// with TTLs in cluster mode.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace flare {

struct DeviceRoute {
  std::string gateway_id;
  uint64_t session_id = 0;
  std::string device;
  std::string platform;
};

class RouteTable {
 public:
  virtual ~RouteTable() = default;
  virtual Status Register(const std::string& tenant, const std::string& user_id,
                          const DeviceRoute& route) = 0;
  // Removes the route of that session; unknown sessions are not an error.
  virtual Status Unregister(const std::string& tenant, const std::string& user_id,
                            uint64_t session_id) = 0;
  // Appends the user's routes to `out` (so callers can reuse one buffer).
  virtual Status Lookup(const std::string& tenant, const std::string& user_id,
                        std::vector<DeviceRoute>& out) = 0;
};

// Builds the backend named by presence.backend ("memory").
Result<std::shared_ptr<RouteTable>> OpenRouteTable(const Config& config);

}  // namespace flare
