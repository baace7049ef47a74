// The Consul Registry against a fake Consul agent (no Consul server is
// installable here; tests/support/fake_consul_agent.py implements the
// documented agent endpoints the adapter uses, health checks included):
// the contract, instances whose health URL fails, the check settings, the
// ACL token, and an agent that is unreachable or never answers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "adapters/consul/consul_registry.h"
#include "registry_contract.h"
#include "support/fake_consul.h"

namespace flare {
namespace {

using testing::FakeConsulAgent;
using testing::HealthEndpoint;

constexpr int64_t kCheckIntervalMs = 100;
constexpr auto kVisibleWithin = std::chrono::seconds(10);

FakeConsulAgent& SharedAgent() {
  static FakeConsulAgent agent;
  return agent;
}

HealthEndpoint& SharedHealth() {
  static HealthEndpoint health;
  return health;
}

ConsulOptions TestOptions(const std::string& url) {
  ConsulOptions options;
  options.url = url;
  options.request_timeout_ms = 2'000;
  options.check_interval_ms = kCheckIntervalMs;
  options.check_timeout_ms = 1'000;
  return options;
}

std::shared_ptr<ConsulRegistry> OpenOn(const ConsulOptions& options) {
  auto registry = ConsulRegistry::Open(options);
  EXPECT_TRUE(registry.ok()) << registry.status().ToString();
  return registry.ok() ? *registry : nullptr;
}

RegistryUnderTest ConsulOnFakeAgent() {
  if (!SharedAgent().ok() || !SharedHealth().ok()) return {};
  return {nullptr, OpenOn(TestOptions(SharedAgent().url())), SharedHealth().url(), kVisibleWithin};
}

INSTANTIATE_TEST_SUITE_P(Adapters, RegistryContract,
                         ::testing::Values(std::make_pair(std::string("consul"),
                                                          RegistryFactory(ConsulOnFakeAgent))),
                         [](const auto& info) { return info.param.first; });

std::string TestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

ServiceInstance Instance(const std::string& id, uint16_t port, const std::string& health_url) {
  return {TestName(), id, "127.0.0.1", port, {}, {}, health_url};
}

class ConsulRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(SharedAgent().ok()) << "the fake Consul agent did not start (python3?)";
    ASSERT_TRUE(health_.ok()) << "python3 -m http.server did not start";
    ASSERT_NE(registry_, nullptr);
  }

  std::vector<std::string> ResolvedIds() {
    auto resolved = registry_->Resolve(TestName());
    EXPECT_TRUE(resolved.ok()) << resolved.status().ToString();
    std::vector<std::string> ids;
    for (const auto& i : resolved.ok() ? *resolved : std::vector<ServiceInstance>{}) {
      ids.push_back(i.id);
    }
    std::sort(ids.begin(), ids.end());  // Consul promises no order
    return ids;
  }

  // Polls until the resolved ids are `want` or the deadline passed.
  std::vector<std::string> WaitForIds(const std::vector<std::string>& want) {
    auto deadline = std::chrono::steady_clock::now() + kVisibleWithin;
    std::vector<std::string> ids = ResolvedIds();
    while (ids != want && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
      ids = ResolvedIds();
    }
    return ids;
  }

  // The agent's view of the check of instance `id` (GET /v1/agent/checks),
  // or null once the agent has no such check.
  nlohmann::json AgentCheck(const std::string& id) {
    std::string body;
    EXPECT_EQ(SharedAgent().Get("/v1/agent/checks", &body), 200);
    auto checks = nlohmann::json::parse(body, nullptr, false);
    std::string check_id = "service:" + id;
    return checks.is_object() && checks.contains(check_id) ? checks[check_id] : nlohmann::json();
  }

  // Polls until `done` holds for AgentCheck(id) or the deadline passed.
  bool WaitForCheck(const std::string& id, const std::function<bool(const nlohmann::json&)>& done) {
    auto deadline = std::chrono::steady_clock::now() + kVisibleWithin;
    while (!done(AgentCheck(id))) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // poll interval
    }
    return true;
  }

  HealthEndpoint health_;  // this test's own, so it can fail
  std::shared_ptr<ConsulRegistry> registry_ = OpenOn(TestOptions(SharedAgent().url()));
};

TEST_F(ConsulRegistryTest, AnInstanceWhoseHealthUrlFailsIsNeverResolved) {
  health_.SetHealthy(false);
  ASSERT_TRUE(registry_->Register(Instance("sick", 1001, health_.url())).ok());
  ASSERT_TRUE(registry_->Register(Instance("well", 1002, SharedHealth().url())).ok());
  EXPECT_EQ(WaitForIds({"well"}), std::vector<std::string>{"well"});
  // The sick one's check has run (and answered 404), yet it stays out.
  ASSERT_TRUE(WaitForCheck("sick", [](const nlohmann::json& c) {
    return c.is_object() && c.value("Output", "").find("404") != std::string::npos;
  }));
  EXPECT_EQ(AgentCheck("sick")["Status"], "critical");
  EXPECT_EQ(ResolvedIds(), std::vector<std::string>{"well"});
}

TEST_F(ConsulRegistryTest, AnInstanceLeavesWhileItsHealthFailsAndReturnsWhenItRecovers) {
  ASSERT_TRUE(registry_->Register(Instance("flaky", 1001, health_.url())).ok());
  ASSERT_TRUE(registry_->Register(Instance("steady", 1002, SharedHealth().url())).ok());
  ASSERT_EQ(WaitForIds({"flaky", "steady"}), (std::vector<std::string>{"flaky", "steady"}));
  health_.SetHealthy(false);
  EXPECT_EQ(WaitForIds({"steady"}), std::vector<std::string>{"steady"});
  health_.SetHealthy(true);
  EXPECT_EQ(WaitForIds({"flaky", "steady"}), (std::vector<std::string>{"flaky", "steady"}));
}

TEST_F(ConsulRegistryTest, TheAgentRunsTheCheckWithTheConfiguredSettings) {
  ASSERT_TRUE(registry_->Register(Instance("checked", 1001, health_.url())).ok());
  ASSERT_TRUE(WaitForCheck("checked", [](const nlohmann::json& c) { return c.is_object(); }));
  auto check = AgentCheck("checked");
  EXPECT_EQ(check["Type"], "http");
  EXPECT_EQ(check["Interval"], "100ms");
  EXPECT_EQ(check["Timeout"], "1000ms");
  EXPECT_EQ(check["ServiceName"], TestName());
  auto body = nlohmann::json::parse(registry_->RegistrationJson(Instance("x", 1, health_.url())));
  EXPECT_EQ(body["Check"]["HTTP"], health_.url());
  EXPECT_EQ(body["Check"]["DeregisterCriticalServiceAfter"], "60s");
  EXPECT_EQ(body["Name"], TestName());
  EXPECT_EQ(body["ID"], "x");
}

TEST_F(ConsulRegistryTest, AnInstanceWithoutAHealthUrlIsRegisteredWithoutACheck) {
  ASSERT_TRUE(registry_->Register(Instance("unchecked", 1001, "")).ok());
  EXPECT_EQ(WaitForIds({"unchecked"}), std::vector<std::string>{"unchecked"});  // no check to pass
  EXPECT_TRUE(AgentCheck("unchecked").is_null());
  EXPECT_FALSE(
      nlohmann::json::parse(registry_->RegistrationJson(Instance("u", 1, ""))).contains("Check"));
}

TEST_F(ConsulRegistryTest, ACriticalInstanceIsRemovedAfterDeregisterCriticalServiceAfter) {
  ConsulOptions options = TestOptions(SharedAgent().url());
  options.deregister_critical_after_s = 1;  // Consul's own minimum is 60 s
  auto registry = OpenOn(options);
  health_.SetHealthy(false);
  ASSERT_TRUE(registry->Register(Instance("abandoned", 1001, health_.url())).ok());
  ASSERT_TRUE(WaitForCheck("abandoned", [](const nlohmann::json& c) { return c.is_object(); }));
  EXPECT_TRUE(WaitForCheck("abandoned", [](const nlohmann::json& c) { return c.is_null(); }));
}

TEST_F(ConsulRegistryTest, AnAclTokenIsSentAndAMissingOneIsPermissionDenied) {
  FakeConsulAgent guarded("s3cret-token");
  ASSERT_TRUE(guarded.ok());
  auto anonymous = OpenOn(TestOptions(guarded.url()));
  Status refused = anonymous->Register(Instance("a", 1001, ""));
  EXPECT_EQ(refused.code(), Code::kPermissionDenied) << refused.ToString();
  EXPECT_NE(refused.message().find("discovery.consul.token"), std::string::npos);
  EXPECT_EQ(anonymous->Resolve(TestName()).status().code(), Code::kPermissionDenied);
  ConsulOptions options = TestOptions(guarded.url());
  options.token = "s3cret-token";
  auto trusted = OpenOn(options);
  ASSERT_TRUE(trusted->Register(Instance("a", 1001, "")).ok());
  auto found = trusted->Resolve(TestName());
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_TRUE(trusted->Deregister("a").ok());
}

// A loopback port with a listening socket that never accepts: connections
// complete (the kernel's backlog) but no request is ever answered.
struct SilentListener {
  SilentListener() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(fd, 16) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
  }
  ~SilentListener() { close(fd); }
  int fd = -1;
  uint16_t port = 0;
};

TEST(ConsulRegistryErrors, AnUnreachableAgentIsUnavailableNamingTheUrl) {
  uint16_t port = 0;
  {
    SilentListener closed;  // a port that was free; nothing listens once closed
    port = closed.port;
  }
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto registry = OpenOn(TestOptions(url));
  ASSERT_NE(registry, nullptr);  // Open makes no request
  std::vector<Status> results = {registry->Register(Instance("a", 1, "")),
                                 registry->Deregister("a"), registry->Resolve("svc").status()};
  for (const Status& st : results) {
    EXPECT_EQ(st.code(), Code::kUnavailable) << st.ToString();
    EXPECT_NE(st.message().find(url), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("discovery.consul.url"), std::string::npos) << st.message();
  }
}

TEST(ConsulRegistryErrors, AnAgentThatNeverAnswersTimesOut) {
  SilentListener silent;
  ASSERT_NE(silent.port, 0);
  ConsulOptions options = TestOptions("http://127.0.0.1:" + std::to_string(silent.port));
  options.request_timeout_ms = 300;
  auto registry = OpenOn(options);
  auto start = std::chrono::steady_clock::now();
  auto resolved = registry->Resolve("svc");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(resolved.status().code(), Code::kUnavailable) << resolved.status().ToString();
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(ConsulRegistryFactory, DiscoveryBackendConsulUsesTheConfiguredAgent) {
  ASSERT_TRUE(SharedAgent().ok());
  Config config;
  ASSERT_TRUE(SetConfigValue(config, "discovery.backend", "consul").ok());
  ASSERT_TRUE(SetConfigValue(config, "discovery.consul.url", SharedAgent().url()).ok());
  auto registry = OpenRegistry(config);
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  ASSERT_TRUE((*registry)->Register(Instance("from-config", 1001, "")).ok());
  auto found = (*registry)->Resolve(TestName());
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].id, "from-config");
}

}  // namespace
}  // namespace flare
