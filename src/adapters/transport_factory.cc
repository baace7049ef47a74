// The gateway transport by name (server.ws_transport).
#include "adapters/beast/beast_listeners.h"
#include "adapters/lean_ws/lean_ws.h"
#include "services/signaling/gateway/transport.h"

namespace flare {

std::unique_ptr<Transport> MakeLeanTransport(const TransportOptions& options,
                                             ConnectionHandler* ws_handler,
                                             HttpHandler http_handler) {
  auto ws = ws_handler != nullptr ? MakeLeanWsListener(options, ws_handler) : nullptr;
  return std::make_unique<ListenerTransport>(
      options.io_threads, std::move(ws), MakeBeastHttpListener(options, std::move(http_handler)));
}

Result<std::unique_ptr<Transport>> MakeTransport(std::string_view ws_transport,
                                                 const TransportOptions& options,
                                                 ConnectionHandler* ws_handler,
                                                 HttpHandler http_handler) {
  if (ws_transport == "lean")
    return MakeLeanTransport(options, ws_handler, std::move(http_handler));
  if (ws_transport == "beast") {
    return MakeBeastTransport(options, ws_handler, std::move(http_handler));
  }
  return InvalidArgument("server.ws_transport '" + std::string(ws_transport) +
                         "' is unknown (lean or beast)");
}

}  // namespace flare
