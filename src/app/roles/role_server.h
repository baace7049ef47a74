// A process that runs some cluster roles (`flare serve --role a,b`): the
// shared store, one gRPC server with each role's service and the gRPC
// health checking protocol, and the HTTP /healthz, /readyz, /metrics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/result.h"

namespace flare {

class RoleServer {
 public:
  // `roles`: names ParseRoles accepted (not empty).
  static Result<std::unique_ptr<RoleServer>> Create(const Config& config,
                                                    const std::vector<std::string>& roles);
  virtual ~RoleServer() = default;

  // Listens on rpc.port and server.http_port, then reports SERVING.
  virtual Status Start() = 0;
  virtual int rpc_port() const = 0;
  virtual uint16_t http_port() const = 0;
  // The WebSocket port when a role holds client connections (signaling-gateway); else 0.
  virtual uint16_t ws_port() const = 0;
  virtual uint16_t quic_port() const = 0;  // the gateway's QUIC port, 0 when none
  // Graceful drain: health NOT_SERVING and /readyz 503, no new calls,
  // in-flight calls get rpc.drain_timeout_ms, then everything stops.
  virtual void Shutdown() = 0;
};

}  // namespace flare
