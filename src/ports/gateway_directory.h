// Port: where a gateway's delivery service can be reached
// (bus.gateway_delivery = "grpc"). A gateway announces its gRPC address
// under its id periodically; the processes that deliver to it (storage
// writers, orchestrators) find the address by the gateway id a route
// names. An announcement lasts `ttl_ms`: a killed gateway's entry goes
// away with its routes. Shares presence.backend with the route table.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/config.h"
#include "common/result.h"

namespace flare {

class GatewayDirectory {
 public:
  virtual ~GatewayDirectory() = default;
  // Sets (or refreshes) `gateway_id` -> `address` ("host:port") for `ttl_ms`.
  virtual Status Announce(const std::string& gateway_id, const std::string& address,
                          int64_t ttl_ms) = 0;
  // The address last announced and not expired; kNotFound when there is
  // none, kUnavailable when the backend cannot be asked.
  virtual Result<std::string> Find(const std::string& gateway_id) = 0;
  // Removes the entry (a gateway that stops); an unknown id is no error.
  virtual Status Withdraw(const std::string& gateway_id) = 0;
};

// Builds the backend named by presence.backend ("memory", "redis").
Result<std::shared_ptr<GatewayDirectory>> OpenGatewayDirectory(const Config& config);

}  // namespace flare
