// The static Registry: the contract, instances listed in config
// (discovery.static.services from TOML or the environment), registrations
// visible to this registry only, and the factory's and config's errors.
#include <fstream>

#include "adapters/static_registry/static_registry.h"
#include "common/endpoints.h"
#include "registry_contract.h"

namespace flare {
namespace {

RegistryUnderTest EmptyStaticRegistry() {
  auto registry = StaticRegistry::Open({});
  EXPECT_TRUE(registry.ok()) << registry.status().ToString();
  // The static registry checks nothing: any URL will do.
  return {nullptr, registry.ok() ? *registry : nullptr, "http://127.0.0.1:1/healthz", {}};
}

INSTANTIATE_TEST_SUITE_P(Adapters, RegistryContract,
                         ::testing::Values(std::make_pair(std::string("static"),
                                                          RegistryFactory(EmptyStaticRegistry))),
                         [](const auto& info) { return info.param.first; });

std::string WriteConfig(const std::string& text) {
  std::string path = ::testing::TempDir() + "/flare_registry_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
  std::ofstream(path) << text;
  return path;
}

std::vector<std::string> Endpoints(const std::vector<ServiceInstance>& instances) {
  std::vector<std::string> out;
  for (const auto& i : instances) out.push_back(i.address + ":" + std::to_string(i.port));
  return out;
}

TEST(StaticRegistry, ResolvesTheInstancesListedInTheConfigFile) {
  auto config = LoadConfig(WriteConfig(R"(
[discovery]
backend = "static"
[discovery.static.services]
signaling-gateway = ["10.0.0.1:8081", "10.0.0.2:8081"]
session = ["[::1]:50055"]
push-worker = []
)"),
                           {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto registry = OpenRegistry(*config);
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  auto gateways = (*registry)->Resolve("signaling-gateway");
  ASSERT_TRUE(gateways.ok());
  EXPECT_EQ(Endpoints(*gateways), (std::vector<std::string>{"10.0.0.1:8081", "10.0.0.2:8081"}));
  EXPECT_EQ((*gateways)[0].id, "signaling-gateway@10.0.0.1:8081");
  EXPECT_EQ((*gateways)[0].service, "signaling-gateway");
  auto session = (*registry)->Resolve("session");
  ASSERT_TRUE(session.ok());
  ASSERT_EQ(session->size(), 1u);
  EXPECT_EQ((*session)[0].address, "::1");
  EXPECT_EQ((*session)[0].port, 50055);
  EXPECT_TRUE((*registry)->Resolve("push-worker")->empty());
}

TEST(StaticRegistry, TheEnvironmentReplacesTheListedServices) {
  auto config =
      LoadConfig(WriteConfig("[discovery.static.services]\nsession = [\"10.0.0.9:1\"]\n"),
                 {{"FLARE_DISCOVERY_STATIC_SERVICES", "session=h1:50055,h2:50055;media=h3:50058"}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->discovery_static_services,
            (ServiceEndpoints{{"media", {"h3:50058"}}, {"session", {"h1:50055", "h2:50055"}}}));
  auto registry = OpenRegistry(*config);
  ASSERT_TRUE(registry.ok());
  EXPECT_EQ(Endpoints(*(*registry)->Resolve("session")),
            (std::vector<std::string>{"h1:50055", "h2:50055"}));
}

TEST(StaticRegistry, RegistrationsChangeOnlyThisRegistrysView) {
  Config config;
  config.discovery_static_services = {{"session", {"h1:50055", "h2:50055"}}};
  auto mine = OpenRegistry(config), theirs = OpenRegistry(config);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  ASSERT_TRUE((*mine)->Deregister(StaticRegistry::ListedInstanceId("session", "h1:50055")).ok());
  ASSERT_TRUE((*mine)->Register({"session", "session-3", "h3", 50055, {}, {}, ""}).ok());
  EXPECT_EQ(Endpoints(*(*mine)->Resolve("session")),
            (std::vector<std::string>{"h2:50055", "h3:50055"}));
  EXPECT_EQ(Endpoints(*(*theirs)->Resolve("session")),
            (std::vector<std::string>{"h1:50055", "h2:50055"}));
}

TEST(StaticRegistry, AnInstanceWithoutServiceOrIdIsRefused) {
  auto registry = StaticRegistry::Open({});
  ASSERT_TRUE(registry.ok());
  EXPECT_EQ((*registry)->Register({"", "id", "h", 1, {}, {}, ""}).code(), Code::kInvalidArgument);
  EXPECT_EQ((*registry)->Register({"svc", "", "h", 1, {}, {}, ""}).code(), Code::kInvalidArgument);
}

TEST(RegistryConfig, MalformedServiceListsAreErrorsNamingTheKey) {
  for (const char* text : {
           "[discovery.static.services]\nsession = [\"h1\"]\n",
           "[discovery.static.services]\nsession = [\"h1:0\"]\n",
           "[discovery.static.services]\nsession = \"h1:50055\"\n",
           "[discovery.static.services]\nsession = [50055]\n",
           "[discovery.static]\nservices = \"session=h1:50055\"\n",
       }) {
    auto config = LoadConfig(WriteConfig(text), {});
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
    EXPECT_NE(config.status().message().find("discovery.static.services"), std::string::npos)
        << config.status().message();
  }
  for (const char* env : {"session", "session=h1", "=h1:1", "session=h1:1;"}) {
    auto config = LoadConfig("", {{"FLARE_DISCOVERY_STATIC_SERVICES", env}});
    ASSERT_FALSE(config.ok()) << env;
    EXPECT_NE(config.status().message().find("FLARE_DISCOVERY_STATIC_SERVICES"), std::string::npos)
        << config.status().message();
  }
}

TEST(RegistryConfig, SeedEnvironmentVariablesSetTheirKeysAndFlareOnesWin) {
  auto seed = LoadConfig("", {{"CONSUL_ENDPOINTS", "http://localhost:28500"},
                              {"KAFKA_BOOTSTRAP_SERVERS", "localhost:29092"}});
  ASSERT_TRUE(seed.ok()) << seed.status().ToString();
  EXPECT_EQ(seed->discovery_consul_url, "http://localhost:28500");
  EXPECT_EQ(seed->bus_kafka_brokers, "localhost:29092");
  auto both = LoadConfig("", {{"CONSUL_ENDPOINTS", "http://localhost:28500"},
                              {"FLARE_DISCOVERY_CONSUL_URL", "https://consul.internal:8501"}});
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->discovery_consul_url, "https://consul.internal:8501");
  // One agent per process: a list is refused, naming the variable.
  auto list = LoadConfig("", {{"CONSUL_ENDPOINTS", "http://a:8500,http://b:8500"}});
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("CONSUL_ENDPOINTS"), std::string::npos);
  EXPECT_EQ(FlareEnvironment().count("PATH"), 0u);  // only Flare's and the seed's variables
}

TEST(RegistryConfig, ConsulSettingsAreValidated) {
  Config config;
  for (const char* bad : {"consul:8500", "ftp://consul", "http://", "http://a:8500?x=1"}) {
    Status st = SetConfigValue(config, "discovery.consul.url", bad);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("discovery.consul.url"), std::string::npos) << st.message();
  }
  EXPECT_EQ(SetConfigValue(config, "discovery.backend", "etcd").code(), Code::kInvalidArgument);
  EXPECT_EQ(SetConfigValue(config, "discovery.consul.request_timeout_ms", "0").code(),
            Code::kInvalidArgument);
}

TEST(RegistryFactory, UnknownBackendsAndBadUrlsAreInvalidArgumentNamingTheKey) {
  Config config;
  config.discovery_backend = "zookeeper";  // bypassing validation, as a caller could
  auto unknown = OpenRegistry(config);
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("discovery.backend"), std::string::npos);
  config.discovery_backend = "consul";
  config.discovery_consul_url = "consul.local:8500";
  auto bad_url = OpenRegistry(config);
  EXPECT_EQ(bad_url.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_url.status().message().find("discovery.consul.url"), std::string::npos);
  config.discovery_backend = "static";
  config.discovery_static_services = {{"session", {"no-port"}}};
  auto bad_entry = OpenRegistry(config);
  EXPECT_EQ(bad_entry.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_entry.status().message().find("no-port"), std::string::npos);
}

TEST(Endpoints, HostPortForms) {
  auto v4 = ParseHostPort("10.0.0.1:80");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "10.0.0.1");
  EXPECT_EQ(v4->port, 80);
  auto v6 = ParseHostPort("[fe80::1]:65535");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "fe80::1");
  for (const char* bad : {"", "h", "h:", ":1", "fe80::1:80", "[]:1", "h:65536", "h:1x"}) {
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace flare
