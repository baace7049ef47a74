// Presence across gateways: two `flare serve` processes (each its own SQLite
// store) sharing one Redis for routes and presence notices.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/frames.h"
#include "support/redis_server.h"
#include "support/server_process.h"

namespace flare {
namespace {

using testing::Notices;
using testing::ServerProcess;

std::map<std::string, std::string> SharedRedisEnv(const testing::RedisServer& redis) {
  return {{"FLARE_PRESENCE_BACKEND", "redis"},
          {"FLARE_PRESENCE_REDIS_URL", redis.url()},
          {"FLARE_PRESENCE_VISIBILITY", "tenant"},
          {"FLARE_PRESENCE_GATEWAY_TTL_MS", "600"}};
}

pb::ClientFrame Subscribe(const std::string& user) {
  pb::ClientFrame frame;
  frame.mutable_presence()->add_subscribe(user);
  frame.mutable_presence()->add_query(user);
  return frame;
}

bool OnlineNow(FlareClient& client, const std::string& user) {
  pb::ClientFrame query;
  query.mutable_presence()->add_query(user);
  auto reply = client.Call(query);
  return reply.ok() && reply->has_presence_result() &&
         reply->presence_result().statuses(0).online();
}

TEST(E2ePresenceAcrossGateways, AWatcherOnOneServerSeesAUserOnAnotherComeAndGo) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  ServerProcess a(SharedRedisEnv(redis)), b(SharedRedisEnv(redis));
  FlareClient watcher(a.Options("alice"));
  Notices notices(watcher);
  ASSERT_TRUE(watcher.Connect().ok());
  auto reply = watcher.Call(Subscribe("bob"));
  ASSERT_TRUE(reply.ok() && reply->has_presence_result());
  EXPECT_FALSE(reply->presence_result().statuses(0).online());
  {
    FlareClient bob(b.Options("bob", "phone"));
    ASSERT_TRUE(bob.Connect().ok());
    auto online = notices.WaitFor([](const pb::ServerFrame& f) {
      return f.has_presence_notice() && f.presence_notice().online();
    });
    EXPECT_EQ(online.presence_notice().user_id(), "bob");
    EXPECT_TRUE(OnlineNow(watcher, "bob"));  // server a reads server b's route
  }
  auto offline = notices.WaitFor([](const pb::ServerFrame& f) {
    return f.has_presence_notice() && !f.presence_notice().online();
  });
  EXPECT_EQ(offline.presence_notice().user_id(), "bob");
}

// A killed server sends no offline notice, but once its gateway TTL (600 ms
// here) passes without a heartbeat its users no longer count as online.
TEST(E2ePresenceAcrossGateways, UsersOfAKilledServerGoOfflineAfterTheGatewayTtl) {
  testing::RedisServer redis;
  ASSERT_TRUE(redis.running());
  ServerProcess a(SharedRedisEnv(redis)), b(SharedRedisEnv(redis));
  FlareClient watcher(a.Options("alice"));
  ASSERT_TRUE(watcher.Connect().ok());
  FlareClient bob(b.Options("bob", "phone"));
  ASSERT_TRUE(bob.Connect().ok());
  EXPECT_TRUE(OnlineNow(watcher, "bob"));
  b.Kill(SIGKILL);
  bob.Close();
  // Asks again (each query a round trip) until bob is offline, with a deadline.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool online = true;
  while (online && std::chrono::steady_clock::now() < deadline) online = OnlineNow(watcher, "bob");
  EXPECT_FALSE(online);
}

}  // namespace
}  // namespace flare
