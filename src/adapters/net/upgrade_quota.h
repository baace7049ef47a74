// Connections per remote address still in their WebSocket upgrade
// (TransportOptions::max_upgrading_per_address). Past it, a new connection
// from that address is closed as soon as it is accepted, so a flood of
// half-sent upgrade requests from one address cannot take every descriptor
// (each would otherwise be held for the 30 s upgrade timeout). The session
// gives its slot back once upgraded, or when it ends.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <optional>

#include "common/connection_quota.h"

namespace flare {

// The slot for a connection just accepted (an empty one when there is no
// limit); nullopt when its address has none left: close it.
inline std::optional<QuotaSlot> TakeUpgradeSlot(const std::shared_ptr<ConnectionQuota>& quota,
                                                const boost::asio::ip::tcp::socket& socket,
                                                uint64_t connection_id, size_t limit) {
  if (limit == 0) return QuotaSlot();
  boost::system::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  QuotaSlot slot(quota, ec ? std::string("?") : remote.address().to_string(), connection_id, limit);
  if (!slot) return std::nullopt;
  return slot;
}

}  // namespace flare
