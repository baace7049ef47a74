// Keeps this process's gateway alive in the route table: a thread calls
// RouteTable::Heartbeat(gateway_id) at once and then every interval (a third
// of presence.gateway_ttl_ms in `flare serve`), so a killed process's routes
// stop counting as online one TTL after its last beat. A failed beat is
// logged and the next one tries again (a Redis adapter reconnects then).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "ports/route_table.h"

namespace flare {

class GatewayHeartbeat {
 public:
  GatewayHeartbeat(RouteTable& routes, std::string gateway_id, std::chrono::milliseconds interval)
      : routes_(routes), gateway_id_(std::move(gateway_id)), interval_(interval) {}
  ~GatewayHeartbeat() { Stop(); }
  GatewayHeartbeat(const GatewayHeartbeat&) = delete;
  GatewayHeartbeat& operator=(const GatewayHeartbeat&) = delete;

  void Start();
  void Stop();
  uint64_t beats() const;  // successful heartbeats so far

 private:
  void Run();
  RouteTable& routes_;
  const std::string gateway_id_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t beats_ = 0;
  std::thread thread_;
};

}  // namespace flare
