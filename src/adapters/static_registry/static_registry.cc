#include "adapters/static_registry/static_registry.h"

#include <algorithm>

namespace flare {

std::string StaticRegistry::ListedInstanceId(const std::string& service,
                                             const std::string& endpoint) {
  return service + "@" + endpoint;
}

Result<std::shared_ptr<StaticRegistry>> StaticRegistry::Open(const ServiceEndpoints& services) {
  std::shared_ptr<StaticRegistry> registry(new StaticRegistry());
  for (const auto& [service, endpoints] : services) {
    for (const auto& endpoint : endpoints) {
      auto parsed = ParseHostPort(endpoint);
      if (!parsed.ok()) {
        return InvalidArgument("discovery.static.services '" + service +
                               "': " + parsed.status().message());
      }
      ServiceInstance instance;
      instance.service = service;
      instance.id = ListedInstanceId(service, endpoint);
      instance.address = parsed->host;
      instance.port = parsed->port;
      FLARE_RETURN_IF_ERROR(registry->Register(instance));
    }
  }
  return registry;
}

Status StaticRegistry::Register(const ServiceInstance& instance) {
  if (instance.service.empty() || instance.id.empty()) {
    return InvalidArgument("an instance needs a service name and an id");
  }
  std::lock_guard lock(mu_);
  for (auto& [service, instances] : services_) {
    auto same_id = [&](const ServiceInstance& i) { return i.id == instance.id; };
    auto it = std::find_if(instances.begin(), instances.end(), same_id);
    if (it == instances.end()) continue;
    if (service == instance.service) {
      *it = instance;  // a new registration of an id replaces the old one in place
      return Status::Ok();
    }
    instances.erase(it);  // the id moved to another service
    break;
  }
  services_[instance.service].push_back(instance);
  return Status::Ok();
}

Status StaticRegistry::Deregister(const std::string& instance_id) {
  std::lock_guard lock(mu_);
  for (auto& [service, instances] : services_) {
    std::erase_if(instances, [&](const ServiceInstance& i) { return i.id == instance_id; });
  }
  return Status::Ok();
}

Result<std::vector<ServiceInstance>> StaticRegistry::Resolve(const std::string& service) {
  std::lock_guard lock(mu_);
  auto it = services_.find(service);
  if (it == services_.end()) return std::vector<ServiceInstance>{};
  std::vector<ServiceInstance> out = it->second;
  for (auto& instance : out) instance.health_url.clear();
  return out;
}

}  // namespace flare
