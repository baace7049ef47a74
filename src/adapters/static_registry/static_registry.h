// Registry from a fixed list (discovery.backend = "static", the default):
// discovery.static.services names each service's instances as host:port.
// Nothing is checked: every listed instance counts as healthy. Register
// and Deregister are accepted and change only this object's view (another
// process keeps seeing its own list), so a role can register itself
// without a discovery server.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/endpoints.h"
#include "ports/registry.h"

namespace flare {

class StaticRegistry final : public Registry {
 public:
  // The instance id of a listed endpoint: "<service>@<host:port>".
  static std::string ListedInstanceId(const std::string& service, const std::string& endpoint);

  // kInvalidArgument naming the endpoint when one is not host:port.
  static Result<std::shared_ptr<StaticRegistry>> Open(const ServiceEndpoints& services);

  Status Register(const ServiceInstance& instance) override;
  Status Deregister(const std::string& instance_id) override;
  Result<std::vector<ServiceInstance>> Resolve(const std::string& service) override;

 private:
  StaticRegistry() = default;

  std::mutex mu_;
  // Per service, in listing / registration order; ids are unique across all.
  std::map<std::string, std::vector<ServiceInstance>> services_;
};

}  // namespace flare
