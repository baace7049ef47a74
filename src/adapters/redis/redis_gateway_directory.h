// GatewayDirectory on the Redis server of the route table
// (presence.backend = "redis", presence.redis.url), beside its keys:
//   flare-gateway-addr:<gateway id>   string "host:port", PX ttl
// The prefix differs from the route table's liveness keys
// ("flare-gateway:<id>"), so neither's keys collide or are read by the
// other's scripts. One connection behind a mutex; a broken connection is
// re-established by the next call, which is tried once more on it (every
// call is idempotent). Errors are kUnavailable naming the server.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "adapters/redis/redis_connection.h"
#include "ports/gateway_directory.h"

namespace flare {

struct RedisGatewayDirectoryOptions {
  std::string url = "redis://127.0.0.1:6379/0";
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
};

class RedisGatewayDirectory final : public GatewayDirectory {
 public:
  // Connects (within connect_timeout); an unreachable server is
  // kUnavailable naming the URL.
  static Result<std::shared_ptr<RedisGatewayDirectory>> Open(
      const RedisGatewayDirectoryOptions& options);

  Status Announce(const std::string& gateway_id, const std::string& address,
                  int64_t ttl_ms) override;
  Result<std::string> Find(const std::string& gateway_id) override;
  Status Withdraw(const std::string& gateway_id) override;

  static std::string Key(const std::string& gateway_id);

 private:
  RedisGatewayDirectory(const RedisGatewayDirectoryOptions& options, RedisUrl url)
      : conn_(std::move(url), options.connect_timeout, options.command_timeout) {}
  Result<RedisReply> Run(const RedisCommand& command);

  std::mutex mu_;
  RedisConnection conn_;
};

}  // namespace flare
