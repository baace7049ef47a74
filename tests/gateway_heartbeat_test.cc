// GatewayHeartbeat keeps its gateway's routes alive in the route table.
#include "services/signaling/online/gateway_heartbeat.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "support/counting_route_table.h"

namespace flare {
namespace {

using testing::CountingRouteTable;

TEST(GatewayHeartbeat, BeatsAtOnceAndThenEveryIntervalUntilStopped) {
  CountingRouteTable table;
  GatewayHeartbeat heartbeat(table, "gw1", std::chrono::milliseconds(10));
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats("gw1", 3));
  heartbeat.Stop();
  int after_stop = table.beats("gw1");
  EXPECT_GE(heartbeat.beats(), 3u);
  EXPECT_EQ(static_cast<int>(heartbeat.beats()), after_stop);
  heartbeat.Stop();                           // twice is fine
  EXPECT_EQ(table.beats("gw1"), after_stop);  // Stop() joined: no beat can follow
}

TEST(GatewayHeartbeat, StopDoesNotWaitForTheInterval) {
  CountingRouteTable table;
  GatewayHeartbeat heartbeat(table, "gw1", std::chrono::hours(1));
  heartbeat.Start();
  ASSERT_TRUE(table.WaitForBeats("gw1", 1));
  auto start = std::chrono::steady_clock::now();
  heartbeat.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace flare
