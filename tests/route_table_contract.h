// The contract every RouteTable adapter passes (the TEST_Ps are in
// route_table_contract.cc). A test binary instantiates RouteTableContract
// with a name and a factory per adapter; the factory returns a table with
// no routes (null when the backend cannot be set up) and a way to let the
// gateway TTL pass for every gateway, as if none had sent a heartbeat since.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ports/route_table.h"

namespace flare {

struct RouteTableUnderTest {
  std::shared_ptr<RouteTable> table;
  // Memory: moves its manual clock past the TTL; Redis: deletes the
  // liveness keys (what their expiry does).
  std::function<void()> pass_gateway_ttl;
  // A table served to other processes keeps no routes, so a gateway that
  // beats again after its TTL does not get its deleted routes back from it.
  bool restores_routes_of_a_revived_gateway = true;
};
using RouteTableFactory = std::function<RouteTableUnderTest()>;

// The session ids of displaced routes, in their order.
inline std::vector<uint64_t> SessionsOf(const std::vector<DeviceRoute>& routes) {
  std::vector<uint64_t> out;
  for (const auto& r : routes) out.push_back(r.session_id);
  return out;
}

class RouteTableContract
    : public ::testing::TestWithParam<std::pair<std::string, RouteTableFactory>> {
 protected:
  void SetUp() override { ASSERT_NE(table_, nullptr) << "backend " << GetParam().first; }
  RouteTableUnderTest under_test_ = GetParam().second();
  std::shared_ptr<RouteTable> table_ = under_test_.table;
  std::vector<DeviceRoute> Lookup(const std::string& tenant, const std::string& user) {
    std::vector<DeviceRoute> out;
    EXPECT_TRUE(table_->Lookup(tenant, user, out).ok());
    return out;
  }
  std::vector<UserRoute> LookupMany(const std::string& tenant,
                                    const std::vector<std::string>& users) {
    std::vector<UserRoute> out;
    Status st = table_->LookupMany(tenant, users, out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
};

}  // namespace flare
