// The Redis RouteTable against a real redis-server (started per test
// process on a free port): the route-table contract, tenant isolation,
// recovery after a server restart (reconnect and re-register), gateway
// expiry, batched lookups, atomic logins across connections and the
// factory's errors.
#include <hiredis/hiredis.h>

#include <chrono>
#include <set>
#include <thread>

#include "adapters/redis/redis_route_table.h"
#include "adapters/sharded/sharded_route_table.h"
#include "route_table_contract.h"
#include "support/redis_server.h"

namespace flare {
namespace {

testing::RedisServer& Server() {
  static testing::RedisServer server;
  return server;
}

std::shared_ptr<RedisRouteTable> OpenTable() {
  RedisRouteTableOptions options;
  options.url = Server().url();
  auto table = RedisRouteTable::Open(options);
  EXPECT_TRUE(table.ok()) << table.status().ToString();
  return table.ok() ? *table : nullptr;
}

// A fresh, empty server state and a new adapter (a new connection).
std::shared_ptr<RouteTable> FreshTable() {
  if (!Server().running() && !Server().Start()) return nullptr;
  if (!Server().FlushAll()) return nullptr;
  return OpenTable();
}

// Runs one command on the test server through its own connection.
template <typename Check>
bool ServerCommand(const std::vector<std::string>& args, Check check) {
  return Server().Run(args, check);
}

// What the expiry of every gateway's liveness key does.
void DeleteLivenessKeys() {
  std::vector<std::string> keys;
  ServerCommand({"KEYS", "flare-gateway:*"}, [&](redisReply* r) {
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i) {
      keys.emplace_back(r->element[i]->str, r->element[i]->len);
    }
  });
  for (const auto& k : keys) ServerCommand({"DEL", k}, [](redisReply*) {});
}

// As signaling-online opens it (presence.redis.connections): several
// adapters on one server, each user's calls on one, keeping no routes.
std::shared_ptr<RouteTable> FreshServedTables() {
  if (!Server().running() && !Server().Start()) return nullptr;
  if (!Server().FlushAll()) return nullptr;
  std::vector<std::shared_ptr<RouteTable>> tables;
  for (int i = 0; i < 3; ++i) {
    RedisRouteTableOptions options;
    options.url = Server().url();
    options.remember_routes = false;
    auto table = RedisRouteTable::Open(options);
    if (!table.ok()) return nullptr;
    tables.push_back(*table);
  }
  return std::make_shared<ShardedRouteTable>(std::move(tables), /*shared_backend=*/true);
}

INSTANTIATE_TEST_SUITE_P(
    Adapters, RouteTableContract,
    ::testing::Values(
        std::make_pair(std::string("redis"), RouteTableFactory([] {
                         return RouteTableUnderTest{FreshTable(), DeleteLivenessKeys};
                       })),
        std::make_pair(std::string("redis_served_by_user"), RouteTableFactory([] {
                         return RouteTableUnderTest{FreshServedTables(), DeleteLivenessKeys, false};
                       }))),
    [](const auto& info) { return info.param.first; });

// Calls of a command the server has run (INFO commandstats).
long long CommandCalls(const std::string& command) {
  long long calls = 0;
  ServerCommand({"INFO", "commandstats"}, [&](redisReply* r) {
    std::string info(r->str, r->len);
    std::string field = "cmdstat_" + command + ":calls=";
    size_t at = info.find(field);
    if (at != std::string::npos) calls = std::atoll(info.c_str() + at + field.size());
  });
  return calls;
}

// The TTL in seconds of `key` on the test server (-2: no key, -1: none).
long long KeyTtl(const std::string& key) {
  timeval tv{2, 0};
  redisContext* ctx = redisConnectWithTimeout("127.0.0.1", Server().port(), tv);
  long long ttl = -3;
  if (ctx != nullptr && ctx->err == 0) {
    auto* r = static_cast<redisReply*>(redisCommand(ctx, "TTL %b", key.data(), key.size()));
    if (r != nullptr && r->type == REDIS_REPLY_INTEGER) ttl = r->integer;
    if (r != nullptr) freeReplyObject(r);
  }
  if (ctx != nullptr) redisFree(ctx);
  return ttl;
}

class RedisRouteTableTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(table_, nullptr); }
  std::shared_ptr<RouteTable> table_ = FreshTable();
  std::vector<DeviceRoute> Lookup(RouteTable& table, const std::string& tenant,
                                  const std::string& user) {
    std::vector<DeviceRoute> out;
    Status st = table.Lookup(tenant, user, out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
};

TEST_F(RedisRouteTableTest, RoutesOfOneTenantAreInvisibleToAnother) {
  ASSERT_TRUE(table_->Register("tenant-a", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Register("a:routes:b", "c", {"gw1", 2, "phone", "ios"}).ok());
  EXPECT_EQ(Lookup(*table_, "tenant-a", "bob").size(), 1u);
  EXPECT_TRUE(Lookup(*table_, "tenant-b", "bob").empty());
  // Tenants containing the separator do not collide with other tenant/user pairs.
  EXPECT_TRUE(Lookup(*table_, "a", "b:routes:c").empty());
  EXPECT_EQ(Lookup(*table_, "a:routes:b", "c").size(), 1u);
  std::vector<DeviceRoute> displaced;
  ASSERT_TRUE(table_
                  ->RegisterDisplacing("tenant-b", "bob", {"gw2", 3, "phone", "ios"},
                                       LoginConflict::kExclusive, displaced)
                  .ok());
  EXPECT_TRUE(displaced.empty());  // tenant-a's bob is another user
  EXPECT_EQ(Lookup(*table_, "tenant-a", "bob").size(), 1u);
}

TEST_F(RedisRouteTableTest, KeysCarryTheTenantAndATtlRefreshedOnRegister) {
  EXPECT_EQ(RedisRouteTable::RoutesKey("acme", "bob"), "flare:acme:routes:bob");
  EXPECT_EQ(RedisRouteTable::RoutesKey("a:b%", "u"), "flare:a%3Ab%25:routes:u");
  ASSERT_TRUE(table_->Register("acme", "bob", {"gw1", 1, "phone", "ios"}).ok());
  long long ttl = KeyTtl("flare:acme:routes:bob");
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 24 * 3600);
  ASSERT_TRUE(table_->Unregister("acme", "bob", 1).ok());
  EXPECT_EQ(KeyTtl("flare:acme:routes:bob"), -2);  // the empty hash is gone
}

TEST_F(RedisRouteTableTest, RouteFieldsSurviveArbitraryBytes) {
  DeviceRoute odd{"gw:1\n2", 18'446'744'073'709'551'615u, std::string("dev\0ice:", 8), "io:s"};
  ASSERT_TRUE(table_->Register("t", "bob", odd).ok());
  auto routes = Lookup(*table_, "t", "bob");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].gateway_id, odd.gateway_id);
  EXPECT_EQ(routes[0].session_id, odd.session_id);
  EXPECT_EQ(routes[0].device, odd.device);
  EXPECT_EQ(routes[0].platform, odd.platform);
  std::vector<DeviceRoute> displaced;
  ASSERT_TRUE(table_
                  ->RegisterDisplacing("t", "bob", {"gw1", 2, "phone", "io:s"},
                                       LoginConflict::kPlatformExclusive, displaced)
                  .ok());
  ASSERT_EQ(displaced.size(), 1u);
  EXPECT_EQ(displaced[0].session_id, odd.session_id);
  EXPECT_EQ(displaced[0].gateway_id, odd.gateway_id);  // decoded whatever its bytes
  EXPECT_EQ(displaced[0].device, odd.device);
}

TEST_F(RedisRouteTableTest, RecoversAfterTheServerRestarts) {
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  Server().Stop();
  Status down = table_->Register("t", "bob", {"gw1", 2, "laptop", "web"});
  EXPECT_EQ(down.code(), Code::kUnavailable) << down.ToString();
  EXPECT_NE(down.message().find("127.0.0.1:" + std::to_string(Server().port())), std::string::npos)
      << down.message();
  ASSERT_TRUE(Server().Start());
  // The restarted server lost everything (no persistence) and its script
  // cache; the first call may fail on the dead connection, the next succeeds.
  std::vector<DeviceRoute> displaced;
  Status first = table_->RegisterDisplacing("t", "bob", {"gw1", 3, "phone", "ios"},
                                            LoginConflict::kExclusive, displaced);
  if (!first.ok()) {
    EXPECT_EQ(first.code(), Code::kUnavailable) << first.ToString();
    Status second = table_->RegisterDisplacing("t", "bob", {"gw1", 3, "phone", "ios"},
                                               LoginConflict::kExclusive, displaced);
    ASSERT_TRUE(second.ok()) << second.ToString();
  }
  auto routes = Lookup(*table_, "t", "bob");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].session_id, 3u);
}

// Exclusive logins of one user from several processes' worth of
// connections: each thread has its own adapter, so only the Lua script
// makes the read-modify-write atomic.
TEST_F(RedisRouteTableTest, ConcurrentExclusiveLoginsOnSeparateConnectionsLeaveOne) {
  constexpr int kThreads = 4, kLoginsEach = 100;
  std::vector<std::shared_ptr<RedisRouteTable>> tables;
  for (int t = 0; t < kThreads; ++t) {
    tables.push_back(OpenTable());
    ASSERT_NE(tables.back(), nullptr);
  }
  std::vector<std::vector<DeviceRoute>> displaced(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLoginsEach; ++i) {
        DeviceRoute route{"gw" + std::to_string(t), static_cast<uint64_t>(t * kLoginsEach + i + 1),
                          "d", i % 2 ? "ios" : "web"};
        Status st = tables[t]->RegisterDisplacing("t", "bob", route, LoginConflict::kExclusive,
                                                  displaced[t]);
        EXPECT_TRUE(st.ok()) << st.ToString();
      }
    });
  }
  for (auto& th : threads) th.join();
  auto routes = Lookup(*table_, "t", "bob");
  ASSERT_EQ(routes.size(), 1u);
  std::multiset<uint64_t> all;
  for (const auto& d : displaced) {
    for (const auto& r : d) all.insert(r.session_id);
  }
  all.insert(routes[0].session_id);
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kLoginsEach));
  for (uint64_t id = 1; id <= kThreads * kLoginsEach; ++id) EXPECT_EQ(all.count(id), 1u) << id;
}

// LookupMany sends one lookup script per kLookupChunk users (pipelined,
// one round trip), never one command per user.
TEST_F(RedisRouteTableTest, LookupManySendsOneScriptPerChunkOfUsers) {
  std::vector<std::string> users;
  for (int i = 0; i < 600; ++i) users.push_back("u" + std::to_string(i));
  ASSERT_TRUE(table_->Register("t", "u599", {"gw1", 1, "phone", "ios"}).ok());
  long long evalsha = CommandCalls("evalsha");
  std::vector<UserRoute> found;
  ASSERT_TRUE(table_->LookupMany("t", users, found).ok());
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].user_index, 599u);
  EXPECT_EQ(CommandCalls("evalsha") - evalsha, 3);  // 256 + 256 + 88 users
}

// With a short gateway TTL and no heartbeat, the routes stop counting as
// online by themselves (waits for it, with a deadline).
TEST_F(RedisRouteTableTest, RoutesExpireWithTheGatewayTtl) {
  RedisRouteTableOptions options;
  options.url = Server().url();
  options.gateway_ttl_ms = 300;
  auto table = RedisRouteTable::Open(options);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  ASSERT_TRUE((*table)->Register("t", "bob", {"gw-short", 1, "phone", "ios"}).ok());
  long long pttl = -3;
  ServerCommand({"PTTL", "flare-gateway:gw-short"}, [&](redisReply* r) { pttl = r->integer; });
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 300);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!Lookup(**table, "t", "bob").empty() && std::chrono::steady_clock::now() < deadline) {
  }
  EXPECT_TRUE(Lookup(**table, "t", "bob").empty());
  long long exists = -1;
  ServerCommand({"EXISTS", RedisRouteTable::RoutesKey("t", "bob")},
                [&](redisReply* r) { exists = r->integer; });
  EXPECT_EQ(exists, 0);  // the dead route was deleted, not just hidden
}

// A restarted server without persistence has lost every route; the adapter
// notices (another run_id) on its next call - here the heartbeat - and
// registers the routes it holds again: found without any new login.
TEST_F(RedisRouteTableTest, ReRegistersItsLiveRoutesAfterTheServerLostThem) {
  auto gateway = OpenTable();
  ASSERT_NE(gateway, nullptr);
  ASSERT_TRUE(gateway->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(gateway->Register("t", "bob", {"gw1", 2, "laptop", "web"}).ok());
  ASSERT_TRUE(gateway->Register("t", "carol", {"gw1", 3, "phone", "ios"}).ok());
  std::vector<DeviceRoute> displaced;
  ASSERT_TRUE(gateway
                  ->RegisterDisplacing("t", "carol", {"gw1", 4, "phone", "ios"},
                                       LoginConflict::kPlatformExclusive, displaced)
                  .ok());
  ASSERT_EQ(SessionsOf(displaced), (std::vector<uint64_t>{3}));
  ASSERT_TRUE(gateway->Unregister("t", "bob", 2).ok());
  Server().Stop();
  ASSERT_TRUE(Server().Start());
  auto reader = OpenTable();  // another process's view
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(Lookup(*reader, "t", "bob").empty());  // the data is really gone
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<DeviceRoute> bob;
  while (bob.empty() && std::chrono::steady_clock::now() < deadline) {
    (void)gateway->Heartbeat("gw1");  // the first may fail on the dead connection
    bob = Lookup(*reader, "t", "bob");
  }
  ASSERT_EQ(bob.size(), 1u);  // session 2 was unregistered before
  EXPECT_EQ(bob[0].session_id, 1u);
  EXPECT_EQ(bob[0].device, "phone");
  auto carol = Lookup(*reader, "t", "carol");
  ASSERT_EQ(carol.size(), 1u);  // session 3 was displaced before
  EXPECT_EQ(carol[0].session_id, 4u);
}

// Another process's lookups delete a dead gateway's routes; the gateway's
// own adapter registers them again when its next beat finds its liveness
// key gone (it had lost Redis, or stalled, for longer than the TTL).
TEST_F(RedisRouteTableTest, AGatewayGivenUpForDeadRegistersItsRoutesAgainOnItsNextBeat) {
  auto gateway = OpenTable(), other = OpenTable();
  ASSERT_NE(gateway, nullptr);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(gateway->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(gateway->Heartbeat("gw1").ok());
  DeleteLivenessKeys();
  EXPECT_TRUE(Lookup(*other, "t", "bob").empty());
  long long exists = -1;
  ServerCommand({"EXISTS", RedisRouteTable::RoutesKey("t", "bob")},
                [&](redisReply* r) { exists = r->integer; });
  EXPECT_EQ(exists, 0);  // deleted, not just hidden
  ASSERT_TRUE(gateway->Heartbeat("gw1").ok());
  auto bob = Lookup(*other, "t", "bob");
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_EQ(bob[0].session_id, 1u);
}

// The same, when a login on that gateway brings its liveness key back
// before its next beat: the login restores the gateway's other routes.
TEST_F(RedisRouteTableTest, ALoginThatRevivesAGatewayRegistersItsOtherRoutesAgain) {
  auto gateway = OpenTable(), other = OpenTable();
  ASSERT_NE(gateway, nullptr);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(gateway->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(gateway->Heartbeat("gw1").ok());
  DeleteLivenessKeys();
  EXPECT_TRUE(Lookup(*other, "t", "bob").empty());  // deleted as dead
  ASSERT_TRUE(gateway->Register("t", "carol", {"gw1", 2, "web", "web"}).ok());
  ASSERT_TRUE(gateway->Heartbeat("gw1").ok());  // finds the key: restores nothing itself
  auto bob = Lookup(*other, "t", "bob");
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_EQ(bob[0].session_id, 1u);
}

// A gateway's own table restores its routes itself, and still reports the
// lapse so that the gateway tells its sessions to catch up on what found
// no route meanwhile: after its key was deleted, and after a restart; not
// after a beat that merely failed.
TEST_F(RedisRouteTableTest, AnOwnTableReportsTheLapsesItRepairs) {
  auto gateway = OpenTable(), other = OpenTable();
  ASSERT_NE(gateway, nullptr);
  ASSERT_NE(other, nullptr);
  auto beat = [&] {
    auto liveness = gateway->Heartbeat("gw1");
    if (!liveness.ok()) liveness = gateway->Heartbeat("gw1");  // a broken connection
    EXPECT_TRUE(liveness.ok()) << liveness.status().ToString();
    return liveness.ok() ? *liveness : GatewayLiveness::kAlive;
  };
  ASSERT_TRUE(gateway->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  (void)beat();  // the first: the key a login created
  EXPECT_EQ(beat(), GatewayLiveness::kAlive);
  // A beat that merely failed (its connection cut, the key alive) is no
  // lapse: no reason for every client to catch up.
  ASSERT_TRUE(ServerCommand({"CLIENT", "KILL", "TYPE", "normal"}, [](redisReply*) {}));
  EXPECT_EQ(beat(), GatewayLiveness::kAlive);
  DeleteLivenessKeys();
  EXPECT_EQ(beat(), GatewayLiveness::kLapsed);
  EXPECT_EQ(Lookup(*other, "t", "bob").size(), 1u);
  EXPECT_EQ(beat(), GatewayLiveness::kAlive);
  Server().Stop();
  ASSERT_TRUE(Server().Start());
  EXPECT_EQ(beat(), GatewayLiveness::kLapsed);
  EXPECT_EQ(Lookup(*other, "t", "bob").size(), 1u);
  EXPECT_EQ(beat(), GatewayLiveness::kAlive);
}

// The liveness key expired and a login through this table found that
// first: the table restores the gateway's routes then, and the next beat
// still reports the lapse (pushes found no route meanwhile).
TEST_F(RedisRouteTableTest, AnOwnTableReportsALapseThatALoginFoundFirst) {
  auto gateway = OpenTable(), other = OpenTable();
  ASSERT_NE(gateway, nullptr);
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(gateway->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(gateway->Heartbeat("gw1").ok());  // the first: the key a login created
  auto alive = gateway->Heartbeat("gw1");
  ASSERT_TRUE(alive.ok());
  EXPECT_EQ(*alive, GatewayLiveness::kAlive);
  DeleteLivenessKeys();
  EXPECT_TRUE(Lookup(*other, "t", "bob").empty());  // deleted as dead
  ASSERT_TRUE(gateway->Register("t", "carol", {"gw1", 2, "phone", "ios"}).ok());
  EXPECT_EQ(Lookup(*other, "t", "bob").size(), 1u);  // restored by the login
  auto lapsed = gateway->Heartbeat("gw1");
  ASSERT_TRUE(lapsed.ok()) << lapsed.status().ToString();
  EXPECT_EQ(*lapsed, GatewayLiveness::kLapsed);
  auto after = gateway->Heartbeat("gw1");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, GatewayLiveness::kAlive);  // reported once
}

// A table served to other processes (signaling-online) registers every
// gateway's routes: it must not keep them and bring back routes of a gateway
// given up for dead (nor of sessions logged out through another instance).
TEST_F(RedisRouteTableTest, ATableServedToOthersBringsBackNoRoutesOfAGatewayGivenUpForDead) {
  RedisRouteTableOptions options;
  options.url = Server().url();
  options.remember_routes = false;
  auto served = RedisRouteTable::Open(options);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  auto other = OpenTable();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE((*served)->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE((*served)->Heartbeat("gw1").ok());
  DeleteLivenessKeys();
  EXPECT_TRUE(Lookup(*other, "t", "bob").empty());  // deleted as dead
  auto beat = (*served)->Heartbeat("gw1");
  ASSERT_TRUE(beat.ok()) << beat.status().ToString();
  EXPECT_EQ(*beat, GatewayLiveness::kLapsed);  // the gateway registers them again
  EXPECT_TRUE(Lookup(*other, "t", "bob").empty());
}

// What tells a gateway behind a served table that its routes are gone: its
// next beat reports kLapsed, once, whether the liveness key was missing (a
// Redis restarted empty) or a login, through any connection, revived it.
TEST_F(RedisRouteTableTest, AServedTablesHeartbeatReportsALapseOnceEvenAfterALoginRevivedIt) {
  RedisRouteTableOptions options;
  options.url = Server().url();
  options.remember_routes = false;
  auto served = RedisRouteTable::Open(options);
  auto another = RedisRouteTable::Open(options);  // a second signaling-online
  ASSERT_TRUE(served.ok() && another.ok());
  auto beat = [&] {
    auto liveness = (*served)->Heartbeat("gw1");
    EXPECT_TRUE(liveness.ok()) << liveness.status().ToString();
    return liveness.ok() ? *liveness : GatewayLiveness::kAlive;
  };
  EXPECT_EQ(beat(), GatewayLiveness::kLapsed);  // its first beat: nothing to restore
  EXPECT_EQ(beat(), GatewayLiveness::kAlive);
  ASSERT_TRUE((*another)->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  EXPECT_EQ(beat(), GatewayLiveness::kAlive);  // a login of a live gateway is no lapse

  DeleteLivenessKeys();
  ASSERT_TRUE((*another)->Register("t", "carol", {"gw1", 2, "web", "web"}).ok());
  EXPECT_EQ(beat(), GatewayLiveness::kLapsed);
  EXPECT_EQ(beat(), GatewayLiveness::kAlive);

  Server().Stop();  // restarted empty: no persistence
  ASSERT_TRUE(Server().Start());
  auto after = (*served)->Heartbeat("gw1");  // may fail on the broken connection
  if (!after.ok()) after = (*served)->Heartbeat("gw1");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, GatewayLiveness::kLapsed);
}

TEST(RedisRouteTableFactory, PresenceBackendRedisUsesTheConfiguredUrl) {
  ASSERT_TRUE(Server().running() || Server().Start());
  Config config;
  config.presence_backend = "redis";
  config.presence_redis_url = Server().url();
  auto table = OpenRouteTable(config);
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_TRUE((*table)->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
}

TEST(RedisRouteTableFactory, UnreachableServerIsAClearErrorNamingTheUrl) {
  testing::RedisServer stopped;  // a free port with nothing listening once stopped
  uint16_t port = stopped.port();
  stopped.Stop();
  Config config;
  config.presence_backend = "redis";
  config.presence_redis_url = "redis://127.0.0.1:" + std::to_string(port) + "/0";
  auto start = std::chrono::steady_clock::now();
  auto table = OpenRouteTable(config);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), Code::kUnavailable);
  EXPECT_NE(table.status().message().find(config.presence_redis_url), std::string::npos)
      << table.status().message();
  EXPECT_NE(table.status().message().find("presence.redis.url"), std::string::npos);
}

TEST(RedisRouteTableFactory, MalformedUrlIsInvalidArgument) {
  Config config;
  config.presence_backend = "redis";
  config.presence_redis_url = "http://localhost";
  auto table = OpenRouteTable(config);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace flare
