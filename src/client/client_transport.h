// The client library's view of the network: one WebSocket connection at a
// time, driven by one I/O thread. Every callback runs on that thread; Post
// and After schedule work there. Implemented with Boost.Beast in
// beast_client_transport.cc, the only client file that includes Beast.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace flare {

struct ClientTransportCallbacks {
  std::function<void(std::string_view data, bool binary)> on_message;
  // The connection ended: close code from the server (0 if none) and why.
  std::function<void(uint16_t close_code, const std::string& reason)> on_closed;
};

class ClientTransport {
 public:
  virtual ~ClientTransport() = default;
  // Connects TCP and performs the WebSocket handshake on `target`
  // (e.g. "/ws"); `done` gets the outcome. Call on the I/O thread.
  virtual void Connect(const std::string& host, uint16_t port, const std::string& target,
                       std::function<void(Status)> done) = 0;
  // Queues one WebSocket message. Call on the I/O thread.
  virtual void Send(std::shared_ptr<const std::string> bytes, bool binary) = 0;
  // Closes the connection (no on_closed callback follows). I/O thread.
  virtual void Close() = 0;
  // Thread-safe scheduling on the I/O thread.
  virtual void Post(std::function<void()> fn) = 0;
  virtual void After(int64_t ms, std::function<void()> fn) = 0;
  // Stops the I/O thread; no callback runs after this returns.
  virtual void Shutdown() = 0;
};

std::unique_ptr<ClientTransport> MakeBeastClientTransport(ClientTransportCallbacks callbacks);

}  // namespace flare
