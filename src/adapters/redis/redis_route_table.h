// RouteTable on a Redis server, shared by every Flare process that points at
// it (presence.backend = "redis", presence.redis.url).
//
// Key layout (every route key carries the tenant):
//   flare:<tenant>:routes:<user>   hash  session_id (decimal) -> encoded route
//   flare-gateway:<gateway id>     string, PX gateway_ttl_ms: the gateway is alive
// <tenant> has ':' and '%' percent-encoded (%3A, %25), so the first
// ":routes:" ends it and keys of different tenants never collide; the
// liveness keys start with another prefix, so they collide with none. An
// encoded route is three length-prefixed fields,
// "<n>:<platform><n>:<gateway><n>:<device>". The routes hash's TTL
// (route_ttl_s) is refreshed by every register and, for this adapter's own
// routes, by a Heartbeat every half TTL; the liveness key by every register
// and Heartbeat.
//
// Scripts (EVALSHA; loaded again when the server lost its script cache):
// the login script reads the user's routes, removes those the policy
// displaces (the rule of Displaces() in the port), adds the new route and
// returns the displaced routes, atomically across processes. The lookup
// script reads many users' hashes, keeps the routes whose gateway has a
// liveness key and deletes the others; LookupMany sends it in chunks of
// kLookupChunk users, pipelined, so one call is one round trip. Scripts
// derive the liveness key from the route: this needs a single Redis server
// (not Redis Cluster).
//
// Reconnect: a broken connection is dropped and re-established by the next
// call (the gateway's heartbeat makes one at least every few seconds).
// Register, Unregister and Lookup retry once on the new connection;
// RegisterDisplacing does not (a lost reply may hide displaced sessions),
// nor does Heartbeat (a retry would read the value a lost first attempt
// set). The adapter keeps the routes it registered (and did not see
// unregistered or displaced); when it reconnects to a server with another
// run_id (restarted: with no persistence every route is gone) it registers
// them again, with their gateways' liveness keys, before anything else. It
// does the same when a Heartbeat finds its gateway's liveness key gone
// (beats missed for a TTL, so other processes may have deleted its routes).
// A table served to other processes (remember_routes = false) keeps none:
// its Heartbeat reports kLapsed when the key was gone or revived by a login
// since the last beat, and the gateway registers its routes again.
//
// Threading: every call is serialised on one mutex around one connection.
// Errors are Status kUnavailable naming the server; nothing throws.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "adapters/redis/redis_connection.h"
#include "ports/route_table.h"

namespace flare {

struct RedisRouteTableOptions {
  std::string url = "redis://127.0.0.1:6379/0";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  int64_t route_ttl_s = 24 * 3600;
  int64_t gateway_ttl_ms = 30'000;
  // Keep the routes registered through this adapter, to register them
  // again after the server lost its data (a restart without persistence).
  // Off for a table served to other processes (signaling-online): it
  // registers every gateway's routes and would keep them for good, and
  // bring back routes of dead gateways and of sessions that logged out
  // through another instance.
  bool remember_routes = true;
};

class RedisRouteTable final : public RouteTable {
 public:
  static constexpr size_t kLookupChunk = 256;  // users per lookup script call

  // Connects (within connect_timeout) and loads the scripts; an unreachable
  // server is kUnavailable naming the URL.
  static Result<std::shared_ptr<RedisRouteTable>> Open(const RedisRouteTableOptions& options);
  RedisRouteTable(const RedisRouteTable&) = delete;
  RedisRouteTable& operator=(const RedisRouteTable&) = delete;

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

  // Key names (exposed for tests and operators).
  static std::string RoutesKey(const std::string& tenant, const std::string& user_id);
  static std::string GatewayKey(const std::string& gateway_id);

 private:
  RedisRouteTable(RedisRouteTableOptions options, RedisUrl url);
  // The rest need mu_ held.
  Status ConnectLocked();
  Status LoadScriptsLocked();
  // Registers the routes this adapter holds again (of one gateway, or all).
  Status ReRegisterLocked(const std::string* only_gateway);
  void RefreshRouteTtlsLocked();
  // Runs the commands in one round trip, connecting first if needed; a
  // broken connection is re-established once and the commands sent again
  // if `retry`. A NOSCRIPT reply loads the scripts and sends again once.
  Result<std::vector<RedisReply>> RunLocked(std::vector<RedisCommand> commands, bool retry);
  Status RunLogin(const std::string& key, const DeviceRoute& route, LoginConflict policy,
                  bool retry, std::vector<DeviceRoute>* displaced);
  void RememberLocked(const std::string& key, const DeviceRoute& route,
                      const std::vector<DeviceRoute>& displaced);
  RedisCommand GatewayAliveCommand(const std::string& gateway_id) const;

  const RedisRouteTableOptions options_;
  std::mutex mu_;
  RedisConnection conn_;
  std::string login_sha_, lookup_sha_;
  std::string run_id_;  // of the server last connected to
  // Routes registered through this adapter: routes key -> session -> route.
  std::unordered_map<std::string, std::map<uint64_t, DeviceRoute>> owned_;
  std::set<std::string> heartbeats_;          // gateways this adapter keeps alive
  std::set<std::string> reregister_pending_;  // a re-registration on a beat failed
  // Gateways whose next beat reports a lapse this table found and repaired
  // first: the server restarted, or a login revived the liveness key.
  std::set<std::string> lapse_to_report_;
  std::chrono::steady_clock::time_point last_ttl_refresh_ = std::chrono::steady_clock::now();
};

}  // namespace flare
