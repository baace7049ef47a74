// The Registry contract (registry_contract.h): register, resolve,
// deregister, replace, and an unknown service resolving to nothing.
#include "registry_contract.h"

#include <algorithm>
#include <thread>

namespace flare {

std::string RegistryContract::Service(const std::string& name) {
  return name + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

ServiceInstance RegistryContract::Instance(const std::string& service, const std::string& id,
                                           uint16_t port) const {
  ServiceInstance instance;
  instance.service = service;
  instance.id = id;
  instance.address = "127.0.0.1";
  instance.port = port;
  instance.health_url = under_test_.healthy_url;
  return instance;
}

std::vector<ServiceInstance> RegistryContract::Resolve(const std::string& service) {
  auto resolved = registry_->Resolve(service);
  EXPECT_TRUE(resolved.ok()) << resolved.status().ToString();
  return resolved.ok() ? *resolved : std::vector<ServiceInstance>{};
}

std::vector<ServiceInstance> RegistryContract::ResolveUntil(
    const std::string& service,
    const std::function<bool(const std::vector<ServiceInstance>&)>& done) {
  auto deadline = std::chrono::steady_clock::now() + under_test_.visible_within;
  while (true) {
    auto found = Resolve(service);
    if (done(found) || std::chrono::steady_clock::now() >= deadline) return found;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
  }
}

namespace {

bool HasId(const std::vector<ServiceInstance>& instances, const std::string& id) {
  return std::any_of(instances.begin(), instances.end(),
                     [&](const ServiceInstance& i) { return i.id == id; });
}

}  // namespace

TEST_P(RegistryContract, ARegisteredInstanceIsResolvedWithItsFields) {
  std::string service = Service("signaling-gateway");
  ServiceInstance instance = Instance(service, service + "-1", 8081);
  instance.address = "10.1.2.3";
  instance.tags = {"ws", "zone-a"};
  instance.meta = {{"gateway_id", "gw-1"}, {"version", "0.1.0"}};
  ASSERT_TRUE(registry_->Register(instance).ok());
  auto found = ResolveUntil(service, [](const auto& v) { return !v.empty(); });
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].service, service);
  EXPECT_EQ(found[0].id, instance.id);
  EXPECT_EQ(found[0].address, "10.1.2.3");
  EXPECT_EQ(found[0].port, 8081);
  EXPECT_EQ(found[0].tags, instance.tags);
  EXPECT_EQ(found[0].meta, instance.meta);
}

TEST_P(RegistryContract, ADeregisteredInstanceIsGoneAndTheOthersStay) {
  std::string service = Service("session");
  ASSERT_TRUE(registry_->Register(Instance(service, service + "-a", 50055)).ok());
  ASSERT_TRUE(registry_->Register(Instance(service, service + "-b", 50056)).ok());
  auto both = ResolveUntil(service, [](const auto& v) { return v.size() == 2; });
  ASSERT_EQ(both.size(), 2u);
  ASSERT_TRUE(registry_->Deregister(service + "-a").ok());
  auto left = ResolveUntil(service, [](const auto& v) { return v.size() < 2; });
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, service + "-b");
  EXPECT_EQ(left[0].port, 50056);
  ASSERT_TRUE(registry_->Deregister(service + "-b").ok());
  EXPECT_TRUE(ResolveUntil(service, [](const auto& v) { return v.empty(); }).empty());
}

TEST_P(RegistryContract, AnUnknownServiceResolvesToNoInstances) {
  auto resolved = registry_->Resolve(Service("nobody-registered-this"));
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_TRUE(resolved->empty());
}

TEST_P(RegistryContract, DeregisteringAnUnknownIdSucceeds) {
  Status st = registry_->Deregister(Service("no-such-instance"));
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_P(RegistryContract, RegisteringAnIdAgainReplacesTheInstance) {
  std::string service = Service("storage-reader");
  ASSERT_TRUE(registry_->Register(Instance(service, service + "-1", 50054)).ok());
  ASSERT_EQ(ResolveUntil(service, [](const auto& v) { return !v.empty(); }).size(), 1u);
  ASSERT_TRUE(registry_->Register(Instance(service, service + "-1", 50064)).ok());
  auto found =
      ResolveUntil(service, [](const auto& v) { return v.size() == 1 && v[0].port == 50064; });
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].port, 50064);
}

TEST_P(RegistryContract, InstancesAreResolvedOnlyUnderTheirOwnService) {
  std::string online = Service("signaling-online"), route = Service("signaling-route");
  ASSERT_TRUE(registry_->Register(Instance(online, online + "-1", 50051)).ok());
  ASSERT_TRUE(registry_->Register(Instance(route, route + "-1", 50052)).ok());
  auto found = ResolveUntil(online, [](const auto& v) { return !v.empty(); });
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(HasId(found, online + "-1"));
  auto other = ResolveUntil(route, [](const auto& v) { return !v.empty(); });
  ASSERT_EQ(other.size(), 1u);
  EXPECT_TRUE(HasId(other, route + "-1"));
  // A service whose name is a prefix of a registered one has no instances.
  EXPECT_TRUE(Resolve("signaling").empty());
}

}  // namespace flare
