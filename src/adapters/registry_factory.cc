// Registry backends registered by name; `discovery.backend` picks one.
#include <functional>
#include <map>

#include "adapters/consul/consul_registry.h"
#include "adapters/static_registry/static_registry.h"
#include "ports/registry.h"

namespace flare {

Result<std::shared_ptr<Registry>> OpenRegistry(const Config& config) {
  using Factory = std::function<Result<std::shared_ptr<Registry>>(const Config&)>;
  static const std::map<std::string, Factory> registry = {
      {"static",
       [](const Config& c) -> Result<std::shared_ptr<Registry>> {
         auto opened = StaticRegistry::Open(c.discovery_static_services);
         if (!opened.ok()) return opened.status();
         return std::shared_ptr<Registry>(std::move(opened).value());
       }},
      {"consul",
       [](const Config& c) -> Result<std::shared_ptr<Registry>> {
         ConsulOptions options;
         options.url = c.discovery_consul_url;
         options.token = c.discovery_consul_token;
         options.request_timeout_ms = c.discovery_consul_request_timeout_ms;
         options.check_interval_ms = c.discovery_consul_check_interval_ms;
         options.check_timeout_ms = c.discovery_consul_check_timeout_ms;
         options.deregister_critical_after_s = c.discovery_consul_deregister_after_s;
         auto opened = ConsulRegistry::Open(options);
         if (!opened.ok()) return opened.status();
         return std::shared_ptr<Registry>(std::move(opened).value());
       }},
  };
  auto it = registry.find(config.discovery_backend);
  if (it == registry.end()) {
    return InvalidArgument("discovery.backend: unknown backend '" + config.discovery_backend + "'");
  }
  return it->second(config);
}

}  // namespace flare
