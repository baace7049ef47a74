// Route-table backends registered by name; `presence.backend` picks one.
#include <functional>
#include <map>

#include "adapters/memory/memory_route_table.h"
#include "adapters/redis/redis_route_table.h"
#include "ports/route_table.h"

namespace flare {

Result<std::shared_ptr<RouteTable>> OpenRouteTable(const Config& config) {
  using Factory = std::function<Result<std::shared_ptr<RouteTable>>(const Config&)>;
  static const std::map<std::string, Factory> registry = {
      {"memory",
       [](const Config&) -> Result<std::shared_ptr<RouteTable>> {
         return std::shared_ptr<RouteTable>(std::make_shared<MemoryRouteTable>());
       }},
      {"redis",
       [](const Config& c) -> Result<std::shared_ptr<RouteTable>> {
         RedisRouteTableOptions options;
         options.url = c.presence_redis_url;
         auto table = RedisRouteTable::Open(options);
         if (!table.ok()) {
           return Status(table.status().code(), "presence.backend redis (presence.redis.url): " +
                                                    table.status().message());
         }
         return std::shared_ptr<RouteTable>(std::move(table).value());
       }},
  };
  auto it = registry.find(config.presence_backend);
  if (it == registry.end()) {
    return InvalidArgument("presence.backend: unknown backend '" + config.presence_backend + "'");
  }
  return it->second(config);
}

}  // namespace flare
