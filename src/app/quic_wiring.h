// The gateway's QUIC listener beside its WebSocket transport, from config
// (server.quic_port, server.quic_cert_file, server.quic_key_file).
#pragma once

#include <memory>

#include "adapters/quic/quic_listener.h"
#include "common/config.h"
#include "common/result.h"

namespace flare {

// Starts the listener for `handler`; nullptr (and Ok) when
// server.quic_port is 0. Without a configured certificate the development
// certificate in the data directory is used (generated on first start).
Result<std::unique_ptr<QuicListener>> StartQuicListener(const Config& config,
                                                        ConnectionHandler* handler);

}  // namespace flare
