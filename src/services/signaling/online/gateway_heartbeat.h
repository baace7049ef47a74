// Keeps this process's gateway alive in the route table: a thread calls
// RouteTable::Heartbeat(gateway_id) at once and then every interval (a third
// of presence.gateway_ttl_ms in `flare serve`), so a killed process's routes
// stop counting as online one TTL after its last beat. A failed beat is
// logged and tried again after 100 ms, then 200 ms, doubling up to the
// interval (a Redis adapter reconnects then). When a beat reports the
// gateway lapsed, `on_lapsed` registers the gateway's routes again
// (Gateway::RegisterRoutesAgain), and so does every later good beat while
// `incomplete` (if given) says some of them could not be registered.
// Not covered: a lapse reported by a beat whose reply was lost (a table
// that keeps no routes reports it once).
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
                   std::function<void()> on_lapsed = {}, std::function<bool()> incomplete = {})
      : routes_(routes),
        gateway_id_(std::move(gateway_id)),
        interval_(interval),
        on_lapsed_(std::move(on_lapsed)),
        incomplete_(std::move(incomplete)) {}
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
  const std::function<bool()> incomplete_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t beats_ = 0;
  uint64_t lapses_ = 0;
  std::thread thread_;
};

}  // namespace flare
