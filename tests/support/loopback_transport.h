// Test support: a WebSocket transport's options for a test on this
// machine (loopback, ports the kernel picks), and an HTTP side that
// answers every request with an empty 200.
#pragma once

#include "services/signaling/gateway/transport.h"

namespace flare::testing {

inline TransportOptions LoopbackTransportOptions(int io_threads) {
  TransportOptions o;
  o.bind_address = "127.0.0.1";
  o.ws_port = 0;
  o.http_port = 0;
  o.io_threads = io_threads;
  return o;
}

inline HttpHandler EmptyHttpHandler() {
  return SyncHttpHandler([](const HttpServerRequest&) { return HttpServerResponse{}; });
}

}  // namespace flare::testing
