#include "app/quic_wiring.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace flare {

Result<std::unique_ptr<QuicListener>> StartQuicListener(const Config& config,
                                                        ConnectionHandler* handler) {
  if (config.quic_port == 0 || handler == nullptr) return std::unique_ptr<QuicListener>();
  if (config.quic_cert_file.empty() != config.quic_key_file.empty()) {
    return InvalidArgument("server.quic_cert_file and server.quic_key_file must be set together");
  }
  QuicListenerOptions o;
  o.bind_address = config.bind_address;
  o.port = config.quic_port < 0 ? 0 : static_cast<uint16_t>(config.quic_port);
  o.max_frame_bytes = static_cast<size_t>(config.max_frame_bytes);
  // The gateway closes idle sessions itself (gateway.idle_timeout_ms, with
  // a close code); QUIC's own timeout only catches peers that vanished.
  o.idle_timeout_ms = config.idle_timeout_ms + 30'000;
  o.handshake_timeout_ms = std::min<int64_t>(config.auth_timeout_ms, 30'000);
  o.max_handshaking_per_address = static_cast<size_t>(config.max_unauthenticated_per_address);
  if (config.quic_cert_file.empty()) {
    auto dev = quic::EnsureDevCertificate(config.data_dir);
    if (!dev.ok()) return dev.status();
    o.cert = *dev;
    spdlog::warn(
        "QUIC uses the self-signed development certificate {} (set "
        "server.quic_cert_file and server.quic_key_file in production)",
        o.cert.cert_file);
  } else {
    o.cert = {config.quic_cert_file, config.quic_key_file};
  }
  auto listener = MakeQuicListener(o, handler);
  if (Status st = listener->Start(); !st.ok()) return st;
  spdlog::info("QUIC gateway listening on UDP {}:{} (ALPN flare/1)", config.bind_address,
               listener->port());
  return listener;
}

}  // namespace flare
