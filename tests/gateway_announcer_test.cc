// GatewayAnnouncer: a gateway is in the directory from Start(), stays
// there past its TTL by announcing again, and is withdrawn by Stop().
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "adapters/memory/memory_gateway_directory.h"
#include "services/signaling/online/gateway_announcer.h"

namespace flare {
namespace {

TEST(GatewayAnnouncer, AnnouncesAtStartRenewsWithinTheTtlAndWithdrawsAtStop) {
  ManualClock clock;
  MemoryGatewayDirectory directory(clock);
  GatewayAnnouncer announcer(directory, "gw-a", "10.0.0.1:7001", std::chrono::milliseconds(300));
  ASSERT_TRUE(announcer.Start().ok());
  auto found = directory.Find("gw-a");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, "10.0.0.1:7001");

  // The first announcement's TTL passes on the directory's clock; the
  // thread announces again (every 100 ms of real time) at the new time.
  clock.Advance(400);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!directory.Find("gw-a").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(directory.Find("gw-a").ok());

  announcer.Stop();
  EXPECT_EQ(directory.Find("gw-a").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace flare
