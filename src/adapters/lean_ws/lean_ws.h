// The lean WebSocket server (server.ws_transport = "lean"): RFC 6455
// framing written directly over Asio TCP sockets, no Beast. An idle
// connection holds no read or write buffer: it waits for readability and
// reads into its I/O thread's buffer, keeping bytes of its own only for a
// frame cut short; writes gather a header and the shared payloads.
#pragma once

#include <memory>

#include "adapters/net/io_pool.h"
#include "services/signaling/gateway/transport.h"

namespace flare {

std::unique_ptr<Listener> MakeLeanWsListener(const TransportOptions& options,
                                             ConnectionHandler* handler);

// The size of one connection's session object (reported by benchmarks).
size_t LeanWsSessionSize();

}  // namespace flare
