#include "services/signaling/online/gateway_announcer.h"

#include <spdlog/spdlog.h>

namespace flare {

Status GatewayAnnouncer::Start() {
  Status first = AnnounceOnce();
  std::lock_guard lock(mu_);
  if (!thread_.joinable()) {
    stopping_ = false;
    thread_ = std::thread([this] { Run(); });
  }
  return first;
}

void GatewayAnnouncer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  // Senders stop looking for it at once rather than after the TTL.
  if (Status st = directory_.Withdraw(gateway_id_); !st.ok()) {
    spdlog::warn("gateway {} not withdrawn from the directory: {}", gateway_id_, st.ToString());
  }
}

Status GatewayAnnouncer::AnnounceOnce() {
  Status st = directory_.Announce(gateway_id_, address_, ttl_.count());
  if (!st.ok()) spdlog::warn("gateway {} announcement failed: {}", gateway_id_, st.ToString());
  return st;
}

void GatewayAnnouncer::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // The interval between announcements, not a synchronisation: Stop()
    // wakes it.
    cv_.wait_for(lock, ttl_ / 3, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    (void)AnnounceOnce();
    lock.lock();
  }
}

}  // namespace flare
