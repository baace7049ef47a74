// A memory route table that counts the calls made through it: lookups
// (one by one and batched) and heartbeats per gateway, which a test can
// wait for.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "support/forwarding_route_table.h"

namespace flare::testing {

class CountingRouteTable final : public ForwardingRouteTable {
 public:
  Status Lookup(const std::string& t, const std::string& u, std::vector<DeviceRoute>& o) override {
    ++lookups;
    return inner_.Lookup(t, u, o);
  }
  Status LookupMany(const std::string& t, std::span<const std::string> u,
                    std::vector<UserRoute>& o) override {
    ++lookup_many;
    return inner_.LookupMany(t, u, o);
  }
  Result<GatewayLiveness> Heartbeat(const std::string& gateway_id) override {
    {
      std::lock_guard lock(mu_);
      ++beats_[gateway_id];
    }
    cv_.notify_all();
    return inner_.Heartbeat(gateway_id);
  }
  // False if `gateway_id` has not beaten `n` times within five seconds.
  bool WaitForBeats(const std::string& gateway_id, int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return beats_[gateway_id] >= n; });
  }
  int beats(const std::string& gateway_id) {
    std::lock_guard lock(mu_);
    return beats_[gateway_id];
  }

  std::atomic<int> lookups{0}, lookup_many{0};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int> beats_;
};

}  // namespace flare::testing
