// The in-memory GatewayDirectory: the contract, with TTLs on a manual
// clock.
#include "gateway_directory_contract.h"
#include "adapters/memory/memory_gateway_directory.h"

namespace flare {
namespace {

GatewayDirectoryUnderTest MemoryDirectory() {
  auto clock = std::make_shared<ManualClock>();
  auto directory = std::make_shared<MemoryGatewayDirectory>(*clock);
  // The returned pointer keeps the clock alive with the directory.
  auto keep = std::make_shared<
      std::pair<std::shared_ptr<ManualClock>, std::shared_ptr<MemoryGatewayDirectory>>>(clock,
                                                                                        directory);
  return {std::shared_ptr<GatewayDirectory>(keep, keep->second.get()),
          [clock] { clock->Advance(24 * 3600 * 1000); }};
}

INSTANTIATE_TEST_SUITE_P(Adapters, GatewayDirectoryContract,
                         ::testing::Values(std::make_pair(
                             std::string("memory"), GatewayDirectoryFactory(MemoryDirectory))),
                         [](const auto& info) { return info.param.first; });

TEST(MemoryGatewayDirectory, AnAnnouncementLastsItsTtlFromTheLastRenewal) {
  ManualClock clock;
  MemoryGatewayDirectory directory(clock);
  ASSERT_TRUE(directory.Announce("gw-a", "h:1", 1'000).ok());
  clock.Advance(900);
  ASSERT_TRUE(directory.Announce("gw-a", "h:1", 1'000).ok());
  clock.Advance(900);
  EXPECT_TRUE(directory.Find("gw-a").ok());
  clock.Advance(100);
  EXPECT_EQ(directory.Find("gw-a").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace flare
