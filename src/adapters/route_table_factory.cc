// Route-table, presence-bus and gateway-directory backends registered by name;
// `presence.backend` picks one.
#include <functional>
#include <map>

#include "adapters/memory/memory_gateway_directory.h"
#include "adapters/memory/memory_presence_bus.h"
#include "adapters/memory/memory_route_table.h"
#include "adapters/redis/redis_gateway_directory.h"
#include "adapters/redis/redis_presence_bus.h"
#include "adapters/redis/redis_route_table.h"
#include "adapters/sharded/sharded_route_table.h"
#include "ports/gateway_directory.h"
#include "ports/presence_bus.h"
#include "ports/route_table.h"

namespace flare {
namespace {

// Names the configuration keys in an error of the redis backend.
Status RedisError(const Status& st) {
  return Status(st.code(), "presence.backend redis (presence.redis.url): " + st.message());
}

}  // namespace

Result<std::shared_ptr<RouteTable>> OpenRouteTable(const Config& config) {
  return OpenRouteTable(config, RouteTableUse::kOwnRoutes);
}

Result<std::shared_ptr<RouteTable>> OpenRouteTable(const Config& config, RouteTableUse use) {
  using Factory = std::function<Result<std::shared_ptr<RouteTable>>(const Config&, RouteTableUse)>;
  static const std::map<std::string, Factory> registry = {
      {"memory",
       [](const Config& c, RouteTableUse) -> Result<std::shared_ptr<RouteTable>> {
         return std::shared_ptr<RouteTable>(
             std::make_shared<MemoryRouteTable>(SystemClock::Instance(), c.gateway_ttl_ms));
       }},
      {"redis",
       [](const Config& c, RouteTableUse use) -> Result<std::shared_ptr<RouteTable>> {
         RedisRouteTableOptions options;
         options.url = c.presence_redis_url;
         options.gateway_ttl_ms = c.gateway_ttl_ms;
         options.remember_routes = use == RouteTableUse::kOwnRoutes;
         // A gateway's own table stays one adapter: its re-registration
         // after a lapse needs every route it holds in one place. A table
         // served to other processes (signaling-online) keeps no routes and
         // takes every gateway's logins: several connections, by user.
         int64_t connections = use == RouteTableUse::kOwnRoutes ? 1 : c.presence_redis_connections;
         std::vector<std::shared_ptr<RouteTable>> tables;
         for (int64_t i = 0; i < connections; ++i) {
           auto table = RedisRouteTable::Open(options);
           if (!table.ok()) return RedisError(table.status());
           tables.push_back(std::move(table).value());
         }
         if (tables.size() == 1) return tables.front();
         return std::shared_ptr<RouteTable>(
             std::make_shared<ShardedRouteTable>(std::move(tables), /*shared_backend=*/true));
       }},
  };
  auto it = registry.find(config.presence_backend);
  if (it == registry.end()) {
    return InvalidArgument("presence.backend: unknown backend '" + config.presence_backend + "'");
  }
  return it->second(config, use);
}

Result<std::shared_ptr<PresenceBus>> OpenPresenceBus(const Config& config) {
  if (config.presence_backend == "memory") {
    return std::shared_ptr<PresenceBus>(std::make_shared<MemoryPresenceBus>());
  }
  if (config.presence_backend == "redis") {
    RedisPresenceBusOptions options;
    options.url = config.presence_redis_url;
    auto bus = RedisPresenceBus::Open(options);
    if (!bus.ok()) return RedisError(bus.status());
    return std::shared_ptr<PresenceBus>(std::move(bus).value());
  }
  return InvalidArgument("presence.backend: unknown backend '" + config.presence_backend + "'");
}

Result<std::shared_ptr<GatewayDirectory>> OpenGatewayDirectory(const Config& config) {
  if (config.presence_backend == "memory") {
    return std::shared_ptr<GatewayDirectory>(std::make_shared<MemoryGatewayDirectory>());
  }
  if (config.presence_backend == "redis") {
    RedisGatewayDirectoryOptions options;
    options.url = config.presence_redis_url;
    auto directory = RedisGatewayDirectory::Open(options);
    if (!directory.ok()) return RedisError(directory.status());
    return std::shared_ptr<GatewayDirectory>(std::move(directory).value());
  }
  return InvalidArgument("presence.backend: unknown backend '" + config.presence_backend + "'");
}

}  // namespace flare
