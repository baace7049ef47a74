// RouteTableContract for the in-memory adapter, on a manual clock.
#include "route_table_contract.h"
#include "adapters/memory/memory_route_table.h"
#include "common/clock.h"

namespace flare {
namespace {

RouteTableUnderTest MemoryTable() {
  auto clock = std::make_shared<ManualClock>();
  auto table = std::make_shared<MemoryRouteTable>(*clock, MemoryRouteTable::kDefaultGatewayTtlMs);
  // The table keeps the clock alive through the deleter's capture.
  std::shared_ptr<RouteTable> owned(table.get(), [table, clock](RouteTable*) mutable {
    table.reset();
    clock.reset();
  });
  return {owned, [clock] { clock->Advance(MemoryRouteTable::kDefaultGatewayTtlMs + 1); }};
}

INSTANTIATE_TEST_SUITE_P(Adapters, RouteTableContract,
                         ::testing::Values(std::make_pair(std::string("memory"),
                                                          RouteTableFactory(MemoryTable))),
                         [](const auto& info) { return info.param.first; });

TEST(MemoryRouteTable, HeartbeatsWithinTheTtlKeepAGatewayAlive) {
  ManualClock clock;
  MemoryRouteTable table(clock, 1000);
  ASSERT_TRUE(table.Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  std::vector<DeviceRoute> out;
  for (int i = 0; i < 5; ++i) {  // 5 s in all, a beat every 900 ms
    clock.Advance(900);
    ASSERT_TRUE(table.Heartbeat("gw1").ok());
  }
  ASSERT_TRUE(table.Lookup("t", "bob", out).ok());
  EXPECT_EQ(out.size(), 1u);
  clock.Advance(999);
  out.clear();
  ASSERT_TRUE(table.Lookup("t", "bob", out).ok());
  EXPECT_EQ(out.size(), 1u);
  clock.Advance(1);  // exactly one TTL after the last beat
  out.clear();
  ASSERT_TRUE(table.Lookup("t", "bob", out).ok());
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace flare
