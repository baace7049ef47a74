// GatewayHeartbeat keeps its gateway's routes alive in the route table.
#include "services/signaling/online/gateway_heartbeat.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "adapters/memory/memory_route_table.h"

namespace flare {
namespace {

// Counts heartbeats per gateway and lets a test wait for a number of them.
class CountingRouteTable final : public RouteTable {
 public:
  Status Register(const std::string& t, const std::string& u, const DeviceRoute& r) override {
    return inner_.Register(t, u, r);
  }
  Status RegisterDisplacing(const std::string& t, const std::string& u, const DeviceRoute& r,
                            LoginConflict p, std::vector<uint64_t>& d) override {
    return inner_.RegisterDisplacing(t, u, r, p, d);
  }
  Status Unregister(const std::string& t, const std::string& u, uint64_t s) override {
    return inner_.Unregister(t, u, s);
  }
  Status Lookup(const std::string& t, const std::string& u, std::vector<DeviceRoute>& o) override {
    return inner_.Lookup(t, u, o);
  }
  Status LookupMany(const std::string& t, std::span<const std::string> u,
                    std::vector<UserRoute>& o) override {
    return inner_.LookupMany(t, u, o);
  }
  Status Heartbeat(const std::string& gateway_id) override {
    std::lock_guard lock(mu_);
    if (gateway_id == "gw1") ++beats_;
    cv_.notify_all();
    return inner_.Heartbeat(gateway_id);
  }
  bool WaitForBeats(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(5), [&] { return beats_ >= n; });
  }
  int beats() {
    std::lock_guard lock(mu_);
    return beats_;
  }

 private:
  MemoryRouteTable inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  int beats_ = 0;
};

TEST(GatewayHeartbeat, BeatsAtOnceAndThenEveryIntervalUntilStopped) {
  CountingRouteTable table;
  GatewayHeartbeat heartbeat(table, "gw1", std::chrono::milliseconds(10));
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats(3));
  heartbeat.Stop();
  int after_stop = table.beats();
  EXPECT_GE(heartbeat.beats(), 3u);
  EXPECT_EQ(static_cast<int>(heartbeat.beats()), after_stop);
  heartbeat.Stop();                      // twice is fine
  EXPECT_EQ(table.beats(), after_stop);  // Stop() joined: no beat can follow
}

TEST(GatewayHeartbeat, StopDoesNotWaitForTheInterval) {
  CountingRouteTable table;
  GatewayHeartbeat heartbeat(table, "gw1", std::chrono::hours(1));
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats(1));
  auto start = std::chrono::steady_clock::now();
  heartbeat.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace flare
