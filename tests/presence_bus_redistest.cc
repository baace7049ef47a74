// PresenceBusContract for the Redis adapter: two buses on one redis-server
// are two gateways. Plus recovery of the subscription after a restart.
#include "adapters/redis/redis_presence_bus.h"
#include "presence_bus_contract.h"
#include "support/redis_server.h"

namespace flare {
namespace {

testing::RedisServer& BusServer() {
  static testing::RedisServer server;
  return server;
}

std::shared_ptr<PresenceBus> OpenBus() {
  if (!BusServer().running() && !BusServer().Start()) return nullptr;
  RedisPresenceBusOptions options;
  options.url = BusServer().url();
  auto bus = RedisPresenceBus::Open(options);
  EXPECT_TRUE(bus.ok()) << bus.status().ToString();
  return bus.ok() ? *bus : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Adapters, PresenceBusContract,
                         ::testing::Values(std::make_pair(std::string("redis"),
                                                          PresenceBusFactory([] {
                                                            auto a = OpenBus();
                                                            return BusPair(a, OpenBus());
                                                          }))),
                         [](const auto& info) { return info.param.first; });

TEST(RedisPresenceBus, ChannelCarriesTheTenant) {
  EXPECT_EQ(RedisPresenceBus::Channel("acme"), "flare:acme:presence");
  EXPECT_EQ(RedisPresenceBus::Channel("a:b%"), "flare:a%3Ab%25:presence");
}

TEST(RedisPresenceBus, SubscribesAgainAfterTheServerRestarts) {
  auto a = OpenBus(), b = OpenBus();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  NoticeInbox inbox;
  uint64_t id = a->AddListener(inbox.Listener());
  BusServer().Stop();
  ASSERT_TRUE(BusServer().Start());
  // Notices published before a's reader has subscribed again are lost (pub/sub
  // keeps nothing), so publish until one arrives, with a deadline.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (inbox.size() == 0 && std::chrono::steady_clock::now() < deadline) {
    (void)b->Publish("t", "bob", "online");
    inbox.WaitFor(1, std::chrono::milliseconds(50));
  }
  auto got = inbox.WaitFor(1);
  ASSERT_GE(got.size(), 1u);
  EXPECT_EQ(got[0].user, "bob");
  a->RemoveListener(id);
}

TEST(RedisPresenceBus, UnreachableServerIsUnavailable) {
  testing::RedisServer stopped;
  uint16_t port = stopped.port();
  stopped.Stop();
  RedisPresenceBusOptions options;
  options.url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
  auto bus = RedisPresenceBus::Open(options);
  ASSERT_FALSE(bus.ok());
  EXPECT_EQ(bus.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace flare
