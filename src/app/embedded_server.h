// Wires every role of Flare into one process: SQLite (or memory) storage,
// the in-process ingest queue, the in-memory route table, the WebSocket
// gateway and the HTTP health/metrics endpoint.
#pragma once

#include <atomic>
#include <memory>

#include "common/config.h"
#include "common/result.h"

namespace flare {

class MediaService;

class EmbeddedServer {
 public:
  static Result<std::unique_ptr<EmbeddedServer>> Create(const Config& config);
  virtual ~EmbeddedServer() = default;

  virtual Status Start() = 0;
  virtual uint16_t ws_port() const = 0;
  virtual uint16_t quic_port() const = 0;  // 0 when server.quic_port is 0
  virtual uint16_t http_port() const = 0;
  // The hook admin API's gRPC port; 0 when it is not served (no hook_admin.token).
  virtual int hook_admin_port() const = 0;
  // The media service (uploads, reads, presigned URLs, limits) for the
  // HTTP layer; owned by the server, started and stopped with it.
  virtual MediaService& media() = 0;
  // Graceful drain: stop accepting, flush the writer, tell clients to go
  // away and close their connections, stop.
  virtual void Shutdown() = 0;
};

}  // namespace flare
