// The contract every GatewayDirectory adapter passes (the TEST_Ps are in
// gateway_directory_contract.cc). A test binary instantiates
// GatewayDirectoryContract with a name and a factory per adapter; the
// factory returns an empty directory (null when the backend cannot be set
// up) and a way to let every announcement's TTL pass.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "ports/gateway_directory.h"

namespace flare {

struct GatewayDirectoryUnderTest {
  std::shared_ptr<GatewayDirectory> directory;
  // Memory: moves its manual clock past the TTL; Redis: deletes the keys
  // (what their expiry does).
  std::function<void()> pass_ttl;
};
using GatewayDirectoryFactory = std::function<GatewayDirectoryUnderTest()>;

class GatewayDirectoryContract
    : public ::testing::TestWithParam<std::pair<std::string, GatewayDirectoryFactory>> {
 protected:
  void SetUp() override { ASSERT_NE(directory_, nullptr) << "backend " << GetParam().first; }
  GatewayDirectoryUnderTest under_test_ = GetParam().second();
  std::shared_ptr<GatewayDirectory> directory_ = under_test_.directory;
};

}  // namespace flare
