// A RouteTable that hands every call to a MemoryRouteTable: tests derive
// from it and override only the calls they count, gate or fail.
#pragma once

#include <utility>

#include "adapters/memory/memory_route_table.h"

namespace flare::testing {

class ForwardingRouteTable : public RouteTable {
 public:
  template <typename... Args>
  explicit ForwardingRouteTable(Args&&... args) : inner_(std::forward<Args>(args)...) {}

  Status Register(const std::string& t, const std::string& u, const DeviceRoute& r) override {
    return inner_.Register(t, u, r);
  }
  Status RegisterDisplacing(const std::string& t, const std::string& u, const DeviceRoute& r,
                            LoginConflict p, std::vector<DeviceRoute>& d) override {
    return inner_.RegisterDisplacing(t, u, r, p, d);
  }
  Status Unregister(const std::string& t, const std::string& u, uint64_t s) override {
    return inner_.Unregister(t, u, s);
  }
  Status Lookup(const std::string& t, const std::string& u, std::vector<DeviceRoute>& o) override {
    return inner_.Lookup(t, u, o);
  }
  Status LookupMany(const std::string& t, std::span<const std::string> u,
                    std::vector<UserRoute>& o) override {
    return inner_.LookupMany(t, u, o);
  }
  Result<GatewayLiveness> Heartbeat(const std::string& g) override { return inner_.Heartbeat(g); }

 protected:
  MemoryRouteTable inner_;
};

}  // namespace flare::testing
