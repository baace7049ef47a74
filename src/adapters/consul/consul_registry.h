// Registry on a Consul agent's HTTP API (discovery.backend = "consul"), as
// documented by HashiCorp (developer.hashicorp.com/consul/api-docs):
//
//   Register    PUT /v1/agent/service/register        Name, ID, Address, Port,
//               Tags, Meta and, when the instance has a health URL, Check
//               {HTTP, Interval, Timeout, DeregisterCriticalServiceAfter}
//   Deregister  PUT /v1/agent/service/deregister/<id> (404, unknown id: OK)
//   Resolve     GET /v1/health/service/<name>?passing=true
//
// The agent runs the HTTP check (2xx passing, 429 warning, anything else
// critical) and Resolve returns only instances whose every check passes; a
// new registration is critical until its first check passes, and one that
// stays critical for deregister_critical_after is removed by Consul. An
// empty Service.Address in an answer means the node's address (Consul's
// rule) and is filled in from Node.Address.
//
// Every request is a fresh libcurl handle (the calls are rare: register at
// start, deregister at drain, resolves cached by callers), bounded by
// request_timeout_ms; an agent that cannot be reached or does not answer in
// time is kUnavailable naming the URL. With a token every request carries
// X-Consul-Token; a 403 is kPermissionDenied. Thread-safe; nothing throws.
//
// No Consul server is installable here: this adapter is tested against
// tests/support/fake_consul_agent.py, a fake of exactly these endpoints.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "ports/registry.h"

namespace flare {

struct ConsulOptions {
  std::string url = "http://127.0.0.1:8500";  // the agent's HTTP API
  std::string token;                          // empty: no X-Consul-Token
  int64_t request_timeout_ms = 5'000;
  int64_t check_interval_ms = 10'000;
  int64_t check_timeout_ms = 2'000;
  int64_t deregister_critical_after_s = 60;
};

class ConsulRegistry final : public Registry {
 public:
  // Checks the options (kInvalidArgument naming discovery.consul.url for a
  // malformed URL); makes no request.
  static Result<std::shared_ptr<ConsulRegistry>> Open(const ConsulOptions& options);

  Status Register(const ServiceInstance& instance) override;
  Status Deregister(const std::string& instance_id) override;
  Result<std::vector<ServiceInstance>> Resolve(const std::string& service) override;

  // The JSON body of a registration (exposed for tests and logs).
  std::string RegistrationJson(const ServiceInstance& instance) const;

 private:
  explicit ConsulRegistry(ConsulOptions options) : options_(std::move(options)) {}

  struct Response {
    long status = 0;
    std::string body;
  };
  // One request to the agent; transport failures are kUnavailable.
  Result<Response> Call(const char* method, const std::string& path_and_query,
                        const std::string& body) const;
  // Maps a non-2xx answer to a Status naming the request.
  Status StatusOf(const Response& response, const std::string& what) const;

  ConsulOptions options_;
};

}  // namespace flare
