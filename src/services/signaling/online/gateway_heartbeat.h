// Keeps this process's gateway alive in the route table: a thread calls
// RouteTable::Heartbeat(gateway_id) at once and then every interval (a third
// of presence.gateway_ttl_ms in `flare serve`), so a killed process's routes
// stop counting as online one TTL after its last beat. A failed beat is
// logged and tried again after 100 ms, then 200 ms, doubling up to the
// interval (a Redis adapter reconnects then). When a beat reports the
// gateway lapsed, and on the first good beat after a failed one (its reply
// may have carried the lapse), `on_lapsed` registers the gateway's routes
// again (Gateway::RegisterRoutesAgain).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "ports/route_table.h"

namespace flare {

class GatewayHeartbeat {
 public:
  GatewayHeartbeat(RouteTable& routes, std::string gateway_id, std::chrono::milliseconds interval,
                   std::function<void()> on_lapsed = {})
      : routes_(routes),
        gateway_id_(std::move(gateway_id)),
        interval_(interval),
        on_lapsed_(std::move(on_lapsed)) {}
  ~GatewayHeartbeat() { Stop(); }
  GatewayHeartbeat(const GatewayHeartbeat&) = delete;
  GatewayHeartbeat& operator=(const GatewayHeartbeat&) = delete;

  void Start();
  void Stop();
  uint64_t beats() const;   // successful heartbeats so far
  uint64_t lapses() const;  // times on_lapsed was called

 private:
  static constexpr std::chrono::milliseconds kFirstRetry{100};
  void Run();
  RouteTable& routes_;
  const std::string gateway_id_;
  const std::chrono::milliseconds interval_;
  const std::function<void()> on_lapsed_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t beats_ = 0;
  uint64_t lapses_ = 0;
  std::thread thread_;
};

}  // namespace flare
