// The client library's view of the network: one connection (WebSocket or
// QUIC) at a time, driven by one I/O thread. Every callback runs on that
// thread; Post and After schedule work there. Implemented with Boost.Beast
// in beast_client_transport.cc, the only client file that includes Beast,
// and with ngtcp2 in quic_client_transport.cc.
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

// The same over QUIC (ALPN "flare/1", docs/protocol.md), in
// quic_client_transport.cc: Connect's `target` only contributes its
// `?token=` (sent as the token record; empty when absent). How the server's
// certificate is trusted: by default the system's CAs and the host name;
// `pinned_cert_file` accepts exactly that certificate (the server's
// development certificate, <data_dir>/quic-dev-cert.pem); `insecure`
// accepts any certificate, for development only.
struct QuicClientOptions {
  std::string pinned_cert_file;
  bool insecure = false;
  int64_t handshake_timeout_ms = 10'000;
  int64_t idle_timeout_ms = 120'000;
  size_t max_frame_bytes = 64 * 1024 * 1024;
};
std::unique_ptr<ClientTransport> MakeQuicClientTransport(ClientTransportCallbacks callbacks,
                                                         QuicClientOptions options);

}  // namespace flare
