#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/config.h"

namespace flare {
namespace {

std::string WriteFile(const std::string& text) {
  std::string path = ::testing::TempDir() + "/flare_config_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml";
  std::ofstream(path) << text;
  return path;
}

TEST(Config, DefaultsWithoutAFile) {
  auto config = LoadConfig("", {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->http_port, 8080);
  EXPECT_EQ(config->ws_port, 8081);
  EXPECT_EQ(config->durability, "full");
  EXPECT_EQ(config->data_dir, "./data");
}

TEST(Config, ReadsTomlAndEnvironmentOverridesIt) {
  auto path = WriteFile("[server]\nhttp_port = 9000\n[storage]\ndurability = \"normal\"\n");
  auto config = LoadConfig(path, {{"FLARE_SERVER_HTTP_PORT", "9100"}, {"HOME", "/root"}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->http_port, 9100);
  EXPECT_EQ(config->durability, "normal");
}

TEST(Config, UnknownKeyIsNamedInTheError) {
  auto config = LoadConfig(WriteFile("[server]\nhttp_prot = 1\n"), {});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("server.http_prot"), std::string::npos);
}

TEST(Config, BadValuesAreNamedInTheError) {
  auto out_of_range = LoadConfig(WriteFile("[server]\nws_port = 70000\n"), {});
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.status().message().find("server.ws_port"), std::string::npos);

  auto wrong_type = LoadConfig(WriteFile("[server]\nws_port = \"x\"\n"), {});
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.status().message().find("must be an integer"), std::string::npos);

  auto bad_choice = LoadConfig("", {{"FLARE_STORAGE_DURABILITY", "sometimes"}});
  ASSERT_FALSE(bad_choice.ok());
  EXPECT_NE(bad_choice.status().message().find("FLARE_STORAGE_DURABILITY"), std::string::npos);

  auto unknown_env = LoadConfig("", {{"FLARE_SERVER_NOPE", "1"}});
  EXPECT_FALSE(unknown_env.ok());
}

// A push reported at a resend the gateway never makes would never be reported.
TEST(Config, UnackedReportsMustComeBeforeTheLastResend) {
  auto too_late = LoadConfig(
      "", {{"FLARE_GATEWAY_MAX_RESENDS", "3"}, {"FLARE_PUSH_OFFLINE_UNACKED_RESENDS", "4"}});
  ASSERT_FALSE(too_late.ok());
  EXPECT_NE(too_late.status().message().find("push.offline_unacked_resends"), std::string::npos);
  EXPECT_TRUE(LoadConfig("", {{"FLARE_GATEWAY_MAX_RESENDS", "3"},
                              {"FLARE_PUSH_OFFLINE_UNACKED_RESENDS", "3"}})
                  .ok());
}

TEST(Config, GatewayDeliveryIsTheBusUnlessSetToGrpc) {
  auto defaults = LoadConfig("", {});
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->bus_gateway_delivery, "bus");
  auto grpc = LoadConfig("", {{"FLARE_BUS_GATEWAY_DELIVERY", "grpc"}});
  ASSERT_TRUE(grpc.ok()) << grpc.status().ToString();
  EXPECT_EQ(grpc->bus_gateway_delivery, "grpc");
  auto bad = LoadConfig("", {{"FLARE_BUS_GATEWAY_DELIVERY", "pigeon"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bus.gateway_delivery"), std::string::npos)
      << bad.status().ToString();
}

TEST(Config, PushOfflineFlagIsATomlBooleanOrAnEnvironmentWord) {
  auto defaults = LoadConfig("", {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->push_offline_enabled, "true");
  auto off = LoadConfig(WriteFile("[push]\noffline_enabled = false\n"), {});
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_EQ(off->push_offline_enabled, "false");
  auto env = LoadConfig("", {{"FLARE_PUSH_OFFLINE_ENABLED", "false"}});
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->push_offline_enabled, "false");
  EXPECT_FALSE(LoadConfig("", {{"FLARE_PUSH_OFFLINE_ENABLED", "maybe"}}).ok());
  EXPECT_FALSE(LoadConfig(WriteFile("[push]\noffline_queue = 0\n"), {}).ok());
}

TEST(Config, SyntaxErrorsGiveTheLine) {
  auto config = LoadConfig(WriteFile("[server]\nhttp_port = = 3\n"), {});
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("line 2"), std::string::npos);
}

TEST(Config, BaseTomlDocumentsEveryKeyAndLoads) {
  std::string path = std::string(FLARE_SOURCE_DIR) + "/config/base.toml";
  auto config = LoadConfig(path, {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& key : ListConfigKeys()) {
    std::string leaf = key.key.substr(key.key.find('.') + 1);
    std::string section = "[" + key.key.substr(0, key.key.find('.')) + "]";
    EXPECT_NE(text.find(section), std::string::npos) << section;
    EXPECT_NE(text.find("\n" + leaf + " ="), std::string::npos) << key.key << " not in base.toml";
  }
}

TEST(Config, PresenceRedisUrlIsValidatedAndSetFromTheEnvironment) {
  Config config;
  EXPECT_TRUE(SetConfigValue(config, "presence.backend", "redis").ok());
  EXPECT_TRUE(SetConfigValue(config, "presence.redis.url", "redis://:pw@cache:6380/2").ok());
  EXPECT_EQ(config.presence_redis_url, "redis://:pw@cache:6380/2");
  Status bad = SetConfigValue(config, "presence.redis.url", "http://cache:6379");
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("presence.redis.url"), std::string::npos) << bad.message();
  EXPECT_FALSE(SetConfigValue(config, "presence.redis.url", "redis://cache:99999").ok());
  EXPECT_FALSE(SetConfigValue(config, "presence.redis.url", "redis://cache/x").ok());
  auto loaded = LoadConfig("", {{"FLARE_PRESENCE_REDIS_URL", "redis://10.0.0.5:7000/1"},
                                {"FLARE_PRESENCE_BACKEND", "redis"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->presence_redis_url, "redis://10.0.0.5:7000/1");
  EXPECT_EQ(loaded->presence_backend, "redis");
}

TEST(Config, HooksAreReadFromAnArrayOfTables) {
  auto config = LoadConfig(WriteFile(R"([server]
http_port = 9000

[[hooks]]
name = "policy"
point = "pre_send"
url = "http://127.0.0.1:9/check"
secret = "0123456789abcdef0123"
tenants = ["acme"]
conversation_types = ["group"]
message_types = ["text", "image"]
priority = 5
timeout_ms = 300
failure_policy = "fail_closed"
max_concurrency = 8

[[hooks]]
name = "crm"
point = "post_send"
url = "https://crm.example/flare"
secret = "fedcba9876543210fedc"
max_attempts = 7
backoff_ms = 250
)"),
                           {});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->hooks.size(), 2u);
  const HookConfig& policy = config->hooks[0];
  EXPECT_EQ(policy.name, "policy");
  EXPECT_EQ(policy.tenants, std::vector<std::string>{"acme"});
  EXPECT_EQ(policy.message_types, (std::vector<std::string>{"text", "image"}));
  EXPECT_EQ(policy.priority, 5);
  EXPECT_EQ(policy.timeout_ms, 300);
  EXPECT_TRUE(policy.fail_closed());
  EXPECT_EQ(policy.max_concurrency, 8);
  EXPECT_EQ(config->hooks[1].max_attempts, 7);
  EXPECT_EQ(config->hooks[1].backoff_ms, 250);
  EXPECT_FALSE(config->hooks[1].fail_closed());
}

TEST(Config, BadHooksAreNamedInTheError) {
  auto hook = [](const std::string& extra) {
    return LoadConfig(WriteFile("[[hooks]]\nname = \"h1\"\npoint = \"pre_send\"\n"
                                "url = \"http://x/\"\nsecret = \"0123456789abcdef\"\n" +
                                extra),
                      {});
  };
  EXPECT_TRUE(hook("").ok());
  for (const auto& [extra, named] : std::vector<std::pair<std::string, std::string>>{
           {"timeout_ms = 0\n", "timeout_ms"},
           {"failure_policy = \"maybe\"\n", "failure_policy"},
           {"message_types = [\"fax\"]\n", "message_types"},
           {"colour = \"red\"\n", "colour"},
           {"tenants = \"acme\"\n", "tenants"}}) {
    auto bad = hook(extra);
    ASSERT_FALSE(bad.ok()) << extra;
    EXPECT_NE(bad.status().message().find("'h1'"), std::string::npos) << bad.status().message();
    EXPECT_NE(bad.status().message().find(named), std::string::npos) << bad.status().message();
  }
  auto twice = LoadConfig(WriteFile("[[hooks]]\nname = \"a\"\npoint = \"post_send\"\nurl = "
                                    "\"http://x/\"\nsecret = \"0123456789abcdef\"\n"
                                    "[[hooks]]\nname = \"a\"\npoint = \"post_send\"\nurl = "
                                    "\"http://x/\"\nsecret = \"0123456789abcdef\"\n"),
                          {});
  EXPECT_FALSE(twice.ok());
}

}  // namespace
}  // namespace flare
