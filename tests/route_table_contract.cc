// The contract every RouteTable adapter passes; instantiated per adapter in
// route_table_contract_test.cc (memory) and route_table_redistest.cc (redis).
#include "route_table_contract.h"

#include <set>
#include <thread>

namespace flare {

TEST_P(RouteTableContract, RegistersEveryDeviceOfAUser) {
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 2, "laptop", "web"}).ok());
  auto routes = Lookup("t", "bob");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_TRUE(Lookup("t", "alice").empty());
  EXPECT_TRUE(Lookup("other", "bob").empty());
}

TEST_P(RouteTableContract, UnregisterRemovesOnlyThatSession) {
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 2, "laptop", "web"}).ok());
  ASSERT_TRUE(table_->Unregister("t", "bob", 1).ok());
  auto routes = Lookup("t", "bob");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].session_id, 2u);
  EXPECT_EQ(routes[0].device, "laptop");
  EXPECT_TRUE(table_->Unregister("t", "bob", 99).ok());
  EXPECT_TRUE(table_->Unregister("t", "nobody", 1).ok());
}

TEST_P(RouteTableContract, ReRegisteringASessionReplacesIt) {
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Register("t", "bob", {"gw2", 1, "phone", "ios"}).ok());
  auto routes = Lookup("t", "bob");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].gateway_id, "gw2");
}

TEST_P(RouteTableContract, RegisterDisplacingFollowsThePolicy) {
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Register("t", "bob", {"gw2", 2, "laptop", "web"}).ok());
  std::vector<DeviceRoute> displaced;
  ASSERT_TRUE(table_
                  ->RegisterDisplacing("t", "bob", {"gw3", 3, "tablet", "ios"},
                                       LoginConflict::kCoexist, displaced)
                  .ok());
  EXPECT_TRUE(displaced.empty());
  ASSERT_TRUE(table_
                  ->RegisterDisplacing("t", "bob", {"gw1", 4, "phone2", "ios"},
                                       LoginConflict::kPlatformExclusive, displaced)
                  .ok());
  // Each displaced route names the gateway that holds its session (the one
  // that kicks it), which need not be the login's.
  std::set<std::pair<std::string, uint64_t>> got;
  for (const auto& d : displaced) got.insert({d.gateway_id, d.session_id});
  EXPECT_EQ(got, (std::set<std::pair<std::string, uint64_t>>{{"gw1", 1}, {"gw3", 3}}));
  for (const auto& d : displaced) {
    EXPECT_EQ(d.platform, "ios");
    EXPECT_EQ(d.device, d.session_id == 1 ? "phone" : "tablet");
  }
  EXPECT_EQ(Lookup("t", "bob").size(), 2u);  // 2 (web) and 4
  displaced.clear();
  ASSERT_TRUE(table_
                  ->RegisterDisplacing("t", "bob", {"gw1", 4, "phone2", "ios"},
                                       LoginConflict::kExclusive, displaced)
                  .ok());
  ASSERT_EQ(SessionsOf(displaced), (std::vector<uint64_t>{2}));  // never itself
  EXPECT_EQ(displaced[0].gateway_id, "gw2");
  auto routes = Lookup("t", "bob");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].session_id, 4u);
}

// Many platform-exclusive logins of one user at once: one survives, every
// other is displaced exactly once, and another platform is untouched.
TEST_P(RouteTableContract, ConcurrentExclusiveLoginsLeaveExactlyOne) {
  constexpr int kThreads = 8, kLoginsEach = 50;
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1'000'000, "laptop", "web"}).ok());
  std::vector<std::vector<DeviceRoute>> displaced(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLoginsEach; ++i) {
        DeviceRoute route{"gw1", static_cast<uint64_t>(t * kLoginsEach + i + 1), "phone", "ios"};
        EXPECT_TRUE(table_
                        ->RegisterDisplacing("t", "bob", route, LoginConflict::kPlatformExclusive,
                                             displaced[t])
                        .ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto routes = Lookup("t", "bob");
  ASSERT_EQ(routes.size(), 2u);
  const DeviceRoute& ios = routes[0].platform == "ios" ? routes[0] : routes[1];
  const DeviceRoute& web = routes[0].platform == "ios" ? routes[1] : routes[0];
  EXPECT_EQ(ios.platform, "ios");
  EXPECT_EQ(web.session_id, 1'000'000u);
  std::multiset<uint64_t> all;
  for (const auto& d : displaced) {
    for (const auto& r : d) all.insert(r.session_id);
  }
  all.insert(ios.session_id);
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kLoginsEach));
  for (uint64_t id = 1; id <= kThreads * kLoginsEach; ++id) EXPECT_EQ(all.count(id), 1u) << id;
}

TEST_P(RouteTableContract, TwoTenantsWithTheSameUsersDoNotSeeEachOthersRoutes) {
  ASSERT_TRUE(table_->Register("tenant-a", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Register("tenant-a", "carol", {"gw1", 2, "phone", "ios"}).ok());
  std::vector<DeviceRoute> displaced;
  ASSERT_TRUE(table_
                  ->RegisterDisplacing("tenant-b", "bob", {"gw1", 3, "phone", "ios"},
                                       LoginConflict::kExclusive, displaced)
                  .ok());
  EXPECT_TRUE(displaced.empty());                                // tenant-a's bob is another user
  ASSERT_TRUE(table_->Unregister("tenant-b", "carol", 2).ok());  // not tenant-a's session 2
  auto a_bob = Lookup("tenant-a", "bob");
  ASSERT_EQ(a_bob.size(), 1u);
  EXPECT_EQ(a_bob[0].session_id, 1u);
  auto b_bob = Lookup("tenant-b", "bob");
  ASSERT_EQ(b_bob.size(), 1u);
  EXPECT_EQ(b_bob[0].session_id, 3u);
  EXPECT_EQ(Lookup("tenant-a", "carol").size(), 1u);
  auto many = LookupMany("tenant-b", {"bob", "carol"});
  ASSERT_EQ(many.size(), 1u);
  EXPECT_EQ(many[0].route.session_id, 3u);
}

TEST_P(RouteTableContract, LookupManyTagsEveryRouteWithItsUser) {
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Register("t", "bob", {"gw2", 2, "laptop", "web"}).ok());
  ASSERT_TRUE(table_->Register("t", "dave", {"gw1", 3, "phone", "android"}).ok());
  auto found = LookupMany("t", {"alice", "bob", "carol", "dave"});
  std::set<std::pair<size_t, uint64_t>> got;
  for (const auto& f : found) got.insert({f.user_index, f.route.session_id});
  EXPECT_EQ(got, (std::set<std::pair<size_t, uint64_t>>{{1, 1}, {1, 2}, {3, 3}}));
  for (const auto& f : found) {
    if (f.route.session_id == 3) {
      EXPECT_EQ(f.route.platform, "android");
    }
  }
  EXPECT_TRUE(LookupMany("t", {}).empty());
}

// More users than one batch of a remote adapter holds, in one call.
TEST_P(RouteTableContract, LookupManyFindsEveryOneOfAManyUserAudience) {
  constexpr size_t kUsers = 700;
  std::vector<std::string> users;
  for (size_t i = 0; i < kUsers; ++i) {
    users.push_back("u" + std::to_string(i));
    if (i % 3 == 0) continue;  // every third user is offline
    ASSERT_TRUE(table_->Register("t", users.back(), {"gw1", i + 1, "d", "web"}).ok());
  }
  auto found = LookupMany("t", users);
  std::set<size_t> online;
  for (const auto& f : found) {
    EXPECT_EQ(f.route.session_id, f.user_index + 1);
    online.insert(f.user_index);
  }
  EXPECT_EQ(found.size(), online.size());
  for (size_t i = 0; i < kUsers; ++i) EXPECT_EQ(online.count(i), i % 3 == 0 ? 0u : 1u) << i;
}

// A gateway that stopped sending heartbeats (killed) no longer has online
// routes; one that beats again (it had only stalled) has its routes back.
TEST_P(RouteTableContract, RoutesOfAGatewayWithoutHeartbeatsExpireUntilItBeatsAgain) {
  ASSERT_TRUE(table_->Register("t", "bob", {"gw-dead", 1, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Register("t", "bob", {"gw-live", 2, "laptop", "web"}).ok());
  ASSERT_TRUE(table_->Register("t", "carol", {"gw-dead", 3, "phone", "ios"}).ok());
  ASSERT_TRUE(table_->Heartbeat("gw-live").ok());
  EXPECT_EQ(Lookup("t", "bob").size(), 2u);  // both alive before the TTL passes
  under_test_.pass_gateway_ttl();
  ASSERT_TRUE(table_->Heartbeat("gw-live").ok());
  auto bob = Lookup("t", "bob");
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_EQ(bob[0].gateway_id, "gw-live");
  EXPECT_TRUE(Lookup("t", "carol").empty());
  EXPECT_EQ(LookupMany("t", {"carol", "bob"}).size(), 1u);
  if (!under_test_.restores_routes_of_a_revived_gateway) return;
  ASSERT_TRUE(table_->Heartbeat("gw-dead").ok());  // it was alive after all
  EXPECT_EQ(Lookup("t", "bob").size(), 2u);
  auto carol = Lookup("t", "carol");
  ASSERT_EQ(carol.size(), 1u);
  EXPECT_EQ(carol[0].session_id, 3u);
}

TEST_P(RouteTableContract, RegisteringMarksTheGatewayAlive) {
  under_test_.pass_gateway_ttl();
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1, "phone", "ios"}).ok());
  EXPECT_EQ(Lookup("t", "bob").size(), 1u);
}

}  // namespace flare
