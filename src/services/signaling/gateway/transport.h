// The gateway's view of the network: connections that carry WebSocket
// messages, and an HTTP endpoint for health and metrics. The WebSocket side
// is adapters/lean_ws (RFC 6455 over plain sockets) or adapters/beast; the
// HTTP side is always adapters/beast, and nothing else includes Beast.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
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

// The HTTP side (health, metrics, the core-gateway's API). Requests are
// read whole (up to TransportOptions::max_http_body_bytes) and answered
// once, from any thread; a connection reads its next request only after the
// answer to the previous one is written (keep-alive, no pipelining).
struct HttpServerResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones
};
struct HttpServerRequest {
  std::string method;
  std::string path;   // without the query string, still percent-encoded
  std::string query;  // what follows '?', still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote_address;  // the peer's IP address
  bool from_loopback = false;  // the peer's address is a loopback address

  // The first header of that (lower-case) name; empty if none.
  std::string_view Header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return value;
    }
    return {};
  }
};
// Answers one request; call it exactly once, from any thread.
using HttpRespond = std::function<void(HttpServerResponse)>;
using HttpHandler = std::function<void(HttpServerRequest request, HttpRespond respond)>;

// A handler that answers at once on the I/O thread (health and metrics).
inline HttpHandler SyncHttpHandler(
    std::function<HttpServerResponse(const HttpServerRequest&)> answer) {
  return [answer = std::move(answer)](HttpServerRequest request, HttpRespond respond) {
    respond(answer(request));
  };
}

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
  size_t max_http_body_bytes = 1 << 20;  // larger requests get 413
  int64_t http_timeout_ms = 30'000;      // reading a request, and writing its answer
  bool echo = false;                     // echo every WebSocket message back (transport benchmark)
  // Connections from one address whose WebSocket upgrade is not done yet;
  // more are closed when accepted (0: no limit).
  size_t max_upgrading_per_address = 64;
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

// The transport by the name of its WebSocket server (server.ws_transport):
// "lean" or "beast"; any other name is an error.
Result<std::unique_ptr<Transport>> MakeTransport(std::string_view ws_transport,
                                                 const TransportOptions& options,
                                                 ConnectionHandler* ws_handler,
                                                 HttpHandler http_handler);
std::unique_ptr<Transport> MakeLeanTransport(const TransportOptions& options,
                                             ConnectionHandler* ws_handler,
                                             HttpHandler http_handler);
std::unique_ptr<Transport> MakeBeastTransport(const TransportOptions& options,
                                              ConnectionHandler* ws_handler,
                                              HttpHandler http_handler);

}  // namespace flare
