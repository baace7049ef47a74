// The gateway's view of the network: connections that carry WebSocket
// messages, and an HTTP endpoint for health and metrics. The Boost.Beast
// implementation lives in adapters/beast; nothing else includes Beast.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace flare {

class Connection {
 public:
  virtual ~Connection() = default;
  virtual uint64_t id() const = 0;
  // Thread-safe. Queues one WebSocket message; queued messages are written
  // in order. Returns the bytes now queued on this connection.
  virtual size_t Send(std::shared_ptr<const std::string> bytes, bool binary) = 0;
  // Thread-safe. Queues several messages at once (one wake-up of the I/O
  // thread, one batched write when possible).
  virtual size_t SendMany(std::vector<std::shared_ptr<const std::string>>& frames, bool binary) {
    size_t queued = 0;
    for (auto& f : frames) queued = Send(std::move(f), binary);
    return queued;
  }
  // Thread-safe. Sends a close frame after what is queued, then closes.
  virtual void Close(uint16_t code, std::string reason) = 0;
  virtual std::string RemoteAddress() const = 0;

  // The handler's per-connection state, set once in OnOpen.
  void set_attachment(std::shared_ptr<void> a) { attachment_ = std::move(a); }
  void* attachment() const { return attachment_.get(); }

 private:
  std::shared_ptr<void> attachment_;
};

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // `handshake_token` is the token from `?token=` or `Authorization: Bearer`.
  virtual void OnOpen(const std::shared_ptr<Connection>& conn, std::string handshake_token) = 0;
  virtual void OnFrame(const std::shared_ptr<Connection>& conn, std::string_view data,
                       bool binary) = 0;
  virtual void OnClose(const std::shared_ptr<Connection>& conn) = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
struct HttpRequest {
  std::string_view method;
  std::string_view path;           // without the query string
  std::string_view authorization;  // the Authorization header; empty if none
  bool from_loopback = false;      // the peer's address is a loopback address
};
using HttpHandler = std::function<HttpResponse(const HttpRequest& request)>;

// How several queued frames become one WebSocket message (one write): the
// transport puts `before(i, ...)` ahead of frame i and `after` at the end,
// without copying the frames. Off when `before` is empty.
struct FrameBatching {
  size_t max_frames = 256;
  size_t max_bytes = 256 * 1024;
  std::function<void(std::string& out, size_t index, size_t frame_bytes, bool binary)> before;
  std::function<void(std::string& out, bool binary)> after;
};

struct TransportOptions {
  FrameBatching batching;
  std::string bind_address = "0.0.0.0";
  uint16_t ws_port = 8081;
  uint16_t http_port = 8080;
  int io_threads = 1;
  size_t max_frame_bytes = 64 * 1024;
  bool echo = false;  // echo every WebSocket message back (transport benchmark)
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Status Start() = 0;
  virtual uint16_t ws_port() const = 0;  // the bound ports, useful when 0 was asked
  virtual uint16_t http_port() const = 0;
  virtual void StopAccepting() = 0;
  // Stops the I/O threads; connections still open are dropped.
  virtual void Stop() = 0;
};

std::unique_ptr<Transport> MakeBeastTransport(const TransportOptions& options,
                                              ConnectionHandler* ws_handler,
                                              HttpHandler http_handler);

}  // namespace flare
