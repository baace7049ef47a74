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

// Admits a WebSocket connection just accepted: its upgrade slot (an empty
// one when there is no limit), with Nagle off on the socket; nullopt when
// its address has no slot left, the socket then closed.
inline std::optional<QuotaSlot> AdmitForUpgrade(const std::shared_ptr<ConnectionQuota>& quota,
                                                boost::asio::ip::tcp::socket& socket,
                                                uint64_t connection_id, size_t limit) {
  boost::system::error_code ec;
  std::optional<QuotaSlot> slot;
  if (limit == 0) {
    slot.emplace();
  } else {
    auto remote = socket.remote_endpoint(ec);
    QuotaSlot taken(quota, ec ? std::string("?") : remote.address().to_string(), connection_id,
                    limit);
    if (taken) slot.emplace(std::move(taken));
  }
  if (!slot) {
    socket.close(ec);  // its address has too many upgrades under way
    return std::nullopt;
  }
  socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
  return slot;
}

}  // namespace flare
