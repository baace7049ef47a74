// The Redis GatewayDirectory against a real redis-server (started per test
// process on a free port): the directory contract, the key's expiry on the
// server, keys apart from the route table's, and reconnecting after the
// server restarts.
#include <hiredis/hiredis.h>

#include <vector>

#include "adapters/redis/redis_gateway_directory.h"
#include "gateway_directory_contract.h"
#include "support/redis_server.h"

namespace flare {
namespace {

testing::RedisServer& Server() {
  static testing::RedisServer server;
  return server;
}

std::shared_ptr<RedisGatewayDirectory> OpenDirectory() {
  RedisGatewayDirectoryOptions options;
  options.url = Server().url();
  auto directory = RedisGatewayDirectory::Open(options);
  EXPECT_TRUE(directory.ok()) << directory.status().ToString();
  return directory.ok() ? *directory : nullptr;
}

// Runs one command on the test server through a connection of its own;
// `check` sees the reply.
template <typename Check>
void ServerCommand(const std::vector<std::string>& args, Check check) {
  Server().Run(args, check);
}

// What the expiry of every announcement does.
void DeleteAnnouncements() {
  std::vector<std::string> keys;
  ServerCommand({"KEYS", "flare-gateway-addr:*"}, [&](redisReply* r) {
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
      keys.emplace_back(r->element[i]->str, r->element[i]->len);
    }
  });
  for (const auto& k : keys) ServerCommand({"DEL", k}, [](redisReply*) {});
}

GatewayDirectoryUnderTest FreshDirectory() {
  if (!Server().running() && !Server().Start()) return {};
  if (!Server().FlushAll()) return {};
  return {OpenDirectory(), DeleteAnnouncements};
}

INSTANTIATE_TEST_SUITE_P(Adapters, GatewayDirectoryContract,
                         ::testing::Values(std::make_pair(std::string("redis"),
                                                          GatewayDirectoryFactory(FreshDirectory))),
                         [](const auto& info) { return info.param.first; });

TEST(RedisGatewayDirectory, AnAnnouncementIsAKeyThatExpiresAfterTheTtl) {
  auto under_test = FreshDirectory();
  ASSERT_NE(under_test.directory, nullptr);
  ASSERT_TRUE(under_test.directory->Announce("gw-a", "10.0.0.1:7001", 5'000).ok());
  long long pttl = -3;
  ServerCommand({"PTTL", RedisGatewayDirectory::Key("gw-a")},
                [&](redisReply* r) { pttl = r->type == REDIS_REPLY_INTEGER ? r->integer : -3; });
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 5'000);
  // Not the route table's liveness key for that gateway.
  long long exists = -1;
  ServerCommand({"EXISTS", "flare-gateway:gw-a"},
                [&](redisReply* r) { exists = r->type == REDIS_REPLY_INTEGER ? r->integer : -1; });
  EXPECT_EQ(exists, 0);
}

TEST(RedisGatewayDirectory, ReconnectsAfterTheServerRestarts) {
  auto under_test = FreshDirectory();
  ASSERT_NE(under_test.directory, nullptr);
  ASSERT_TRUE(under_test.directory->Announce("gw-a", "10.0.0.1:7001", 60'000).ok());
  Server().Stop();
  EXPECT_EQ(under_test.directory->Find("gw-a").status().code(), Code::kUnavailable);
  ASSERT_TRUE(Server().Start());
  // The restarted server kept nothing; the next announcement sets it again.
  ASSERT_TRUE(under_test.directory->Announce("gw-a", "10.0.0.1:7001", 60'000).ok());
  auto found = under_test.directory->Find("gw-a");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, "10.0.0.1:7001");
}

TEST(RedisGatewayDirectory, AnUnreachableServerIsUnavailableNamingIt) {
  RedisGatewayDirectoryOptions options;
  options.url = "redis://127.0.0.1:1/0";
  options.connect_timeout = std::chrono::milliseconds(500);
  auto directory = RedisGatewayDirectory::Open(options);
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), Code::kUnavailable);
  EXPECT_NE(directory.status().message().find("127.0.0.1:1"), std::string::npos)
      << directory.status().ToString();
}

}  // namespace
}  // namespace flare
