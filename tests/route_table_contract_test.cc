// The contract every RouteTable adapter passes.
#include <gtest/gtest.h>

#include <functional>

#include "adapters/memory/memory_route_table.h"

namespace flare {
namespace {

using Factory = std::function<std::shared_ptr<RouteTable>()>;

class RouteTableContract : public ::testing::TestWithParam<std::pair<std::string, Factory>> {
 protected:
  std::shared_ptr<RouteTable> table_ = GetParam().second();
  std::vector<DeviceRoute> Lookup(const std::string& tenant, const std::string& user) {
    std::vector<DeviceRoute> out;
    EXPECT_TRUE(table_->Lookup(tenant, user, out).ok());
    return out;
  }
};

TEST_P(RouteTableContract, RegistersEveryDeviceOfAUser) {
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 2, "laptop", "web"}).ok());
  auto routes = Lookup("t", "bob");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_TRUE(Lookup("t", "alice").empty());
  EXPECT_TRUE(Lookup("other", "bob").empty());
}

TEST_P(RouteTableContract, UnregisterRemovesOnlyThatSession) {
  table_->Register("t", "bob", {"gw1", 1, "phone", "ios"});
  table_->Register("t", "bob", {"gw1", 2, "laptop", "web"});
  ASSERT_TRUE(table_->Unregister("t", "bob", 1).ok());
  auto routes = Lookup("t", "bob");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].session_id, 2u);
  EXPECT_EQ(routes[0].device, "laptop");
  EXPECT_TRUE(table_->Unregister("t", "bob", 99).ok());
  EXPECT_TRUE(table_->Unregister("t", "nobody", 1).ok());
}

TEST_P(RouteTableContract, ReRegisteringASessionReplacesIt) {
  table_->Register("t", "bob", {"gw1", 1, "phone", "ios"});
  table_->Register("t", "bob", {"gw2", 1, "phone", "ios"});
  auto routes = Lookup("t", "bob");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].gateway_id, "gw2");
}

INSTANTIATE_TEST_SUITE_P(
    Adapters, RouteTableContract,
    ::testing::Values(std::make_pair(std::string("memory"),
                                     Factory([] { return std::make_shared<MemoryRouteTable>(); }))),
    [](const auto& info) { return info.param.first; });

}  // namespace
}  // namespace flare
