// The access token of a connection's opening handshake: `?token=` in the
// request target, else an `Authorization: Bearer` header. Shared by the
// WebSocket servers and the QUIC client (which sends the target's token in
// its first record).
#pragma once

#include <string>
#include <string_view>

namespace flare {

// The value of `token=` in the target's query string; empty if none.
inline std::string TokenFromTarget(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.substr(0, 6) == "token=") return std::string(pair.substr(6));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

inline std::string HandshakeToken(std::string_view target, std::string_view authorization) {
  std::string token = TokenFromTarget(target);
  if (!token.empty()) return token;
  if (authorization.substr(0, 7) == "Bearer ") return std::string(authorization.substr(7));
  return {};
}

}  // namespace flare
