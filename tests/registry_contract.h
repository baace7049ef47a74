// The contract every Registry adapter passes (the TEST_Ps are in
// registry_contract.cc). A test binary instantiates RegistryContract with
// a name and a factory per adapter; the factory returns a registry with no
// registrations of the services the tests use, a health URL that answers
// 2xx, and how long a registration or deregistration may take to show in
// Resolve (Consul: until the agent's first health check passed and the
// catalog is in sync; static: no time at all).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "ports/registry.h"

namespace flare {

struct RegistryUnderTest {
  std::shared_ptr<void> keepalive;  // destroyed after `registry` (declared first)
  std::shared_ptr<Registry> registry;
  std::string healthy_url;
  std::chrono::milliseconds visible_within{0};
};

using RegistryFactory = std::function<RegistryUnderTest()>;

inline void PrintTo(const RegistryFactory&, std::ostream* os) { *os << "factory"; }

class RegistryContract : public ::testing::TestWithParam<std::pair<std::string, RegistryFactory>> {
 protected:
  void SetUp() override { ASSERT_NE(registry_, nullptr) << "backend " << GetParam().first; }

  // A service name of this test only (the registry may be shared by tests).
  static std::string Service(const std::string& name);
  ServiceInstance Instance(const std::string& service, const std::string& id, uint16_t port) const;
  std::vector<ServiceInstance> Resolve(const std::string& service);
  // Resolves until `done` holds for the result or visible_within (at
  // least once) has passed; returns the last result.
  std::vector<ServiceInstance> ResolveUntil(
      const std::string& service,
      const std::function<bool(const std::vector<ServiceInstance>&)>& done);

  RegistryUnderTest under_test_ = GetParam().second();
  std::shared_ptr<Registry> registry_ = under_test_.registry;
};

}  // namespace flare
