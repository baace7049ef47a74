// Port: which devices of a user are online and which gateway holds each
// (signaling-online / signaling-route). In-memory in embedded mode; Redis
// with TTLs in cluster mode.
//
// Gateway liveness: a route belongs to a gateway (one `flare serve` start),
// and a gateway is alive for the gateway TTL after its last Heartbeat or
// route registration. Lookups return only routes of live gateways, so the
// routes of a killed process stop counting as online once its TTL has
// passed (a shared table also deletes them). A gateway that beats again
// after its TTL passed (it stalled, or lost the backend for a while) gets
// back the routes it still holds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace flare {

enum class LoginConflict {
  kCoexist,            // any number of devices
  kPlatformExclusive,  // one device per platform: a new login displaces the old one
  kExclusive,          // one device in all: a new login displaces every other
};

// What a Heartbeat found (RouteTable::Heartbeat).
enum class GatewayLiveness { kAlive, kLapsed };

// What a gateway registers again after a lapse (GatewayHeartbeat).
enum class RouteRepair {
  kEverySession,  // the table lost the gateway's routes
  kUnfinished,    // the ones an earlier repair could not register
};

struct DeviceRoute {
  std::string gateway_id;
  uint64_t session_id = 0;
  std::string device;
  std::string platform;
};

// A route found by LookupMany, with the index of its user in the request.
struct UserRoute {
  size_t user_index = 0;
  DeviceRoute route;
};

class RouteTable {
 public:
  virtual ~RouteTable() = default;
  virtual Status Register(const std::string& tenant, const std::string& user_id,
                          const DeviceRoute& route) = 0;
  // A login: registers `route` and, as one step for that user, removes the
  // user's other routes that `policy` says it displaces, appending them to
  // `displaced` (each names its gateway: the one that must kick it). Of
  // concurrent logins that displace each other, the one that registers
  // last is the one left.
  virtual Status RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                                    const DeviceRoute& route, LoginConflict policy,
                                    std::vector<DeviceRoute>& displaced) = 0;
  // Removes the route of that session; unknown sessions are not an error.
  virtual Status Unregister(const std::string& tenant, const std::string& user_id,
                            uint64_t session_id) = 0;
  // Appends the user's routes to `out` (so callers can reuse one buffer).
  virtual Status Lookup(const std::string& tenant, const std::string& user_id,
                        std::vector<DeviceRoute>& out) = 0;
  // Lookup for many users of one tenant in one call (one round trip on a
  // remote backend): appends every route of users[i] as {i, route} to `out`.
  virtual Status LookupMany(const std::string& tenant, std::span<const std::string> users,
                            std::vector<UserRoute>& out) = 0;
  // A login or logout that also lists the user's routes after it, as
  // Lookup would (live gateways only), for the presence announcement: a
  // remote table answers both in one round trip. `after` stays empty when
  // the change succeeded but the listing failed (the announcement is then
  // skipped); an error means the change itself failed. By default: the
  // change, then Lookup.
  virtual Status RegisterDisplacingAndList(const std::string& tenant, const std::string& user_id,
                                           const DeviceRoute& route, LoginConflict policy,
                                           std::vector<DeviceRoute>& displaced,
                                           std::optional<std::vector<DeviceRoute>>& after) {
    FLARE_RETURN_IF_ERROR(RegisterDisplacing(tenant, user_id, route, policy, displaced));
    ListAfterChange(tenant, user_id, after);
    return Status::Ok();
  }
  virtual Status UnregisterAndList(const std::string& tenant, const std::string& user_id,
                                   uint64_t session_id,
                                   std::optional<std::vector<DeviceRoute>>& after) {
    FLARE_RETURN_IF_ERROR(Unregister(tenant, user_id, session_id));
    ListAfterChange(tenant, user_id, after);
    return Status::Ok();
  }
  // Marks `gateway_id` alive for the gateway TTL. A running gateway calls it
  // periodically (well within the TTL); Register and RegisterDisplacing mark
  // their route's gateway alive too. kLapsed: the gateway had been given up
  // for dead before this beat (its TTL passed, or the backend lost its data:
  // a Redis restarted empty), or a login revived it since, and the table
  // keeps no routes of its own to bring back; the gateway registers its
  // sessions' routes again.
  virtual Result<GatewayLiveness> Heartbeat(const std::string& gateway_id) = 0;

 protected:
  void ListAfterChange(const std::string& tenant, const std::string& user_id,
                       std::optional<std::vector<DeviceRoute>>& after) {
    std::vector<DeviceRoute> routes;
    if (Lookup(tenant, user_id, routes).ok()) after = std::move(routes);
  }
};

// Whether a login of `newcomer` displaces the session of `existing` (a
// different session of the same user) under `policy`.
inline bool Displaces(LoginConflict policy, const DeviceRoute& newcomer,
                      const DeviceRoute& existing) {
  if (existing.session_id == newcomer.session_id) return false;
  switch (policy) {
    case LoginConflict::kCoexist:
      return false;
    case LoginConflict::kPlatformExclusive:
      return existing.platform == newcomer.platform;
    case LoginConflict::kExclusive:
      return true;
  }
  return false;
}

// Builds the backend named by presence.backend ("memory", "redis").
Result<std::shared_ptr<RouteTable>> OpenRouteTable(const Config& config);

// kOwnRoutes: the process registers its own gateways' routes (a gateway,
// embedded mode) and may register them again after the backend lost them.
// kServedToOthers: the table is served to other processes (signaling-online)
// and keeps no copy of what it registers for them.
enum class RouteTableUse { kOwnRoutes, kServedToOthers };
Result<std::shared_ptr<RouteTable>> OpenRouteTable(const Config& config, RouteTableUse use);

}  // namespace flare
