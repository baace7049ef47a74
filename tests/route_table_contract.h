// The contract every RouteTable adapter passes (the TEST_Ps are in
// route_table_contract.cc). A test binary instantiates RouteTableContract
// with a name and a factory per adapter; the factory returns a table with
// no routes, or null when the backend cannot be set up.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ports/route_table.h"

namespace flare {

using RouteTableFactory = std::function<std::shared_ptr<RouteTable>()>;

class RouteTableContract
    : public ::testing::TestWithParam<std::pair<std::string, RouteTableFactory>> {
 protected:
  void SetUp() override { ASSERT_NE(table_, nullptr) << "backend " << GetParam().first; }
  std::shared_ptr<RouteTable> table_ = GetParam().second();
  std::vector<DeviceRoute> Lookup(const std::string& tenant, const std::string& user) {
    std::vector<DeviceRoute> out;
    EXPECT_TRUE(table_->Lookup(tenant, user, out).ok());
    return out;
  }
};

}  // namespace flare
