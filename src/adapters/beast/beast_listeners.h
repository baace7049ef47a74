// The Boost.Beast listeners: the HTTP server (health, metrics, the
// core-gateway API), used whichever WebSocket server runs, and the Beast
// WebSocket server (server.ws_transport = "beast").
#pragma once

#include <memory>

#include "adapters/net/io_pool.h"
#include "services/signaling/gateway/transport.h"

namespace flare {

std::unique_ptr<Listener> MakeBeastHttpListener(const TransportOptions& options,
                                                HttpHandler handler);
std::unique_ptr<Listener> MakeBeastWsListener(const TransportOptions& options,
                                              ConnectionHandler* handler);

}  // namespace flare
