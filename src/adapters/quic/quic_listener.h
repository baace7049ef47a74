// QUIC access to the gateway: a UDP listener (ngtcp2 + GnuTLS) whose
// connections carry the same client frames as WebSocket connections and
// are handed to the same ConnectionHandler. The mapping (ALPN "flare/1",
// one bidirectional stream of length-prefixed records, the token record
// first, close codes as application error codes) is in docs/protocol.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "adapters/quic/quic_tls.h"
#include "common/result.h"
#include "services/signaling/gateway/transport.h"

namespace flare {

struct QuicListenerOptions {
  std::string bind_address = "0.0.0.0";
  uint16_t port = 0;  // 0 picks a free port
  quic::CertFiles cert;
  size_t max_frame_bytes = 64 * 1024;
  // QUIC's idle timeout; the gateway's own (application) idle timeout is
  // shorter and closes idle sessions with a close code first.
  int64_t idle_timeout_ms = 120'000;
  // The QUIC handshake and the token record must both arrive within this.
  int64_t handshake_timeout_ms = 10'000;
  // How long a close waits for the queued frames to be acknowledged before
  // the connection is closed regardless.
  int64_t close_linger_ms = 3'000;
  // How many bytes a client may send ahead of what the gateway has read
  // (QUIC flow control), at least two largest records.
  uint64_t receive_window_bytes = 256 * 1024;
  size_t max_connections = 200'000;
  // Connections per source address still in their handshake (no token
  // record yet); past it, that address's new connections are ignored until
  // some open or time out (handshake_timeout_ms). 0: no limit.
  size_t max_handshaking_per_address = 64;
};

class QuicListener {
 public:
  virtual ~QuicListener() = default;
  virtual Status Start() = 0;
  virtual uint16_t port() const = 0;  // the bound UDP port
  // New connections are refused; open ones go on.
  virtual void StopAccepting() = 0;
  // Stops the I/O thread; connections still open are dropped.
  virtual void Stop() = 0;
  // Connections from `address` still in their handshake (thread-safe).
  virtual size_t HandshakingFrom(const std::string& address) const = 0;
};

std::unique_ptr<QuicListener> MakeQuicListener(const QuicListenerOptions& options,
                                               ConnectionHandler* handler);

}  // namespace flare
