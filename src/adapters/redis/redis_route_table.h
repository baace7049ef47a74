// RouteTable on a Redis server, shared by every Flare process that points at
// it (presence.backend = "redis", presence.redis.url).
//
// Key layout (one key per user, every key carries the tenant):
//   flare:<tenant>:routes:<user>   hash  session_id (decimal) -> encoded route
// <tenant> has ':' and '%' percent-encoded (%3A, %25), so the first
// ":routes:" ends it and keys of different tenants never collide. An encoded
// route is three length-prefixed fields, "<n>:<platform><n>:<gateway><n>:<device>",
// platform first so the login script can read it. The hash's TTL
// (route_ttl_s) is refreshed by every register, so the routes of a gateway
// that died without unregistering expire.
//
// RegisterDisplacing is one Lua script on that one key (EVALSHA, EVAL when
// the server lost its script cache): it reads the user's routes, removes
// those the policy displaces (the rule of Displaces() in the port), adds the
// new route and returns the displaced session ids, atomically across
// processes. Scripts touch only the key they are given, so the layout also
// works on Redis Cluster.
//
// Threading: this first version serialises every call on one mutex around
// one redisContext (a blocking connection with connect and command
// timeouts). A broken connection is dropped and re-established by the next
// call; calls that cannot change state twice (Register, Unregister, Lookup)
// retry once on the new connection, RegisterDisplacing does not (a lost
// reply may hide displaced sessions). Errors are Status kUnavailable naming
// the server; nothing throws. Open() sets SIGPIPE to ignored if it still has
// its default action (a write on a closed connection must not end the process).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/redis_url.h"
#include "ports/route_table.h"

struct redisContext;
struct redisReply;

namespace flare {

struct RedisRouteTableOptions {
  std::string url = "redis://127.0.0.1:6379/0";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  int64_t route_ttl_s = 24 * 3600;
};

class RedisRouteTable final : public RouteTable {
 public:
  // Connects (within connect_timeout) and loads the login script; an
  // unreachable server is kUnavailable naming the URL.
  static Result<std::shared_ptr<RedisRouteTable>> Open(const RedisRouteTableOptions& options);
  ~RedisRouteTable() override;
  RedisRouteTable(const RedisRouteTable&) = delete;
  RedisRouteTable& operator=(const RedisRouteTable&) = delete;

  Status Register(const std::string& tenant, const std::string& user_id,
                  const DeviceRoute& route) override;
  Status RegisterDisplacing(const std::string& tenant, const std::string& user_id,
                            const DeviceRoute& route, LoginConflict policy,
                            std::vector<uint64_t>& displaced) override;
  Status Unregister(const std::string& tenant, const std::string& user_id,
                    uint64_t session_id) override;
  Status Lookup(const std::string& tenant, const std::string& user_id,
                std::vector<DeviceRoute>& out) override;

  // The key of a user's routes (exposed for tests and operators).
  static std::string RoutesKey(const std::string& tenant, const std::string& user_id);

 private:
  struct ReplyDeleter {
    void operator()(redisReply* r) const;
  };
  using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

  RedisRouteTable(RedisRouteTableOptions options, RedisUrl url);
  // Both need mu_ held.
  Status ConnectLocked();
  // Runs one command; a broken connection is dropped (and, if `retry`,
  // re-established once and the command sent again).
  Result<Reply> CommandLocked(const std::vector<std::string>& args, bool retry);
  Status RunScript(const std::string& key, const DeviceRoute& route, LoginConflict policy,
                   bool retry, std::vector<uint64_t>* displaced);
  Status Unavailable(const std::string& what) const;

  const RedisRouteTableOptions options_;
  const RedisUrl url_;
  std::mutex mu_;
  redisContext* ctx_ = nullptr;  // null: not connected
  std::string script_sha_;
};

}  // namespace flare
