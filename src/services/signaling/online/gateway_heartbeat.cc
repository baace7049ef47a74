#include "services/signaling/online/gateway_heartbeat.h"

#include <spdlog/spdlog.h>

#include <algorithm>

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

uint64_t GatewayHeartbeat::lapses() const {
  std::lock_guard lock(mu_);
  return lapses_;
}

std::optional<RouteRepair> GatewayHeartbeat::RepairAfter(const Result<GatewayLiveness>& liveness) {
  // A merely failed beat registers nothing again: a signaling-online
  // restart would make every gateway re-register every session.
  if (!liveness.ok()) return std::nullopt;
  const int64_t now = clock_.MonotonicMs();
  const bool silent_for_a_ttl = lapse_after_ms_ > 0 && now - last_good_ms_ >= lapse_after_ms_;
  last_good_ms_ = now;
  if (*liveness == GatewayLiveness::kLapsed || silent_for_a_ttl) {
    return RouteRepair::kEverySession;
  }
  if (incomplete_ && incomplete_()) return RouteRepair::kUnfinished;
  return std::nullopt;
}

void GatewayHeartbeat::Run() {
  // After a failed beat the next comes sooner, doubling up to the interval:
  // a gateway whose beats fail for a TTL counts as dead, and a backend that
  // restarted fails one beat per pooled connection (each finds its own
  // connection broken).
  std::chrono::milliseconds retry = kFirstRetry;
  last_good_ms_ = clock_.MonotonicMs();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto liveness = routes_.Heartbeat(gateway_id_);
    if (!liveness.ok()) {
      spdlog::warn("gateway {} heartbeat failed: {}", gateway_id_, liveness.status().ToString());
    }
    std::optional<RouteRepair> repair = RepairAfter(liveness);
    if (repair && repair_) repair_(*repair);
    lock.lock();
    if (liveness.ok()) ++beats_;
    if (repair == RouteRepair::kEverySession) ++lapses_;
    std::chrono::milliseconds wait = interval_;
    if (!liveness.ok()) {
      wait = std::min(interval_, retry);
      retry = std::min(interval_, retry * 2);
    } else {
      retry = kFirstRetry;
    }
    // The interval between beats, not a synchronisation: Stop() wakes it.
    cv_.wait_for(lock, wait, [&] { return stopping_; });
  }
}

}  // namespace flare
