#include "services/signaling/online/gateway_heartbeat.h"

#include <spdlog/spdlog.h>

namespace flare {

void GatewayHeartbeat::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void GatewayHeartbeat::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t GatewayHeartbeat::beats() const {
  std::lock_guard lock(mu_);
  return beats_;
}

void GatewayHeartbeat::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Status st = routes_.Heartbeat(gateway_id_);
    if (!st.ok()) spdlog::warn("gateway {} heartbeat failed: {}", gateway_id_, st.ToString());
    lock.lock();
    if (st.ok()) ++beats_;
    // The interval between beats, not a synchronisation: Stop() wakes it.
    cv_.wait_for(lock, interval_, [&] { return stopping_; });
  }
}

}  // namespace flare
