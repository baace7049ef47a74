// Port: service discovery (DESIGN.md section 5, "Registry"). A cluster role
// registers each of its instances under the seed's service name
// ("signaling-gateway", "session", ...) with the HTTP URL the registry
// checks its health at; a caller resolves a service name to the instances
// that are healthy now; a draining instance deregisters itself.
//
// Adapters: "static" (discovery.static.services: a fixed list from config;
// Register/Deregister change only this process's view, nothing is checked)
// and "consul" (a Consul agent's HTTP API, discovery.consul.*: the agent
// runs the health check, and Resolve returns only instances whose checks
// pass). Resolve is eventually consistent on Consul: a registered instance
// appears once its first health check has passed, and a deregistered one
// disappears once the agent has synced the change to the catalog.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace flare {

struct ServiceInstance {
  std::string service;  // the seed's service name, e.g. "signaling-gateway"
  std::string id;       // unique among all instances of all services
  std::string address;  // host name or IP clients connect to
  uint16_t port = 0;
  std::vector<std::string> tags;
  std::map<std::string, std::string> meta;
  // An http(s) URL answering 2xx while the instance is healthy; empty: no
  // check (the instance counts as healthy while registered).
  std::string health_url;
};

class Registry {
 public:
  virtual ~Registry() = default;
  // Registers `instance`, replacing an earlier registration with its id.
  virtual Status Register(const ServiceInstance& instance) = 0;
  // Removes the instance with this id; an unknown id is not an error.
  virtual Status Deregister(const std::string& instance_id) = 0;
  // The healthy instances of `service` (health_url is not filled in); an
  // unknown service has none: an empty vector, not an error.
  virtual Result<std::vector<ServiceInstance>> Resolve(const std::string& service) = 0;
};

// Builds the backend named by discovery.backend ("static" | "consul").
// Unknown backends and malformed settings are kInvalidArgument naming the
// key; no request is made here (an unreachable Consul agent shows up as
// kUnavailable naming discovery.consul.url on the first call).
Result<std::shared_ptr<Registry>> OpenRegistry(const Config& config);

}  // namespace flare
