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
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 2, "laptop", "web"}).ok());
  std::vector<uint64_t> displaced;
  ASSERT_TRUE(table_
                  ->RegisterDisplacing("t", "bob", {"gw1", 3, "tablet", "ios"},
                                       LoginConflict::kCoexist, displaced)
                  .ok());
  EXPECT_TRUE(displaced.empty());
  ASSERT_TRUE(table_
                  ->RegisterDisplacing("t", "bob", {"gw1", 4, "phone2", "ios"},
                                       LoginConflict::kPlatformExclusive, displaced)
                  .ok());
  EXPECT_EQ(std::set<uint64_t>(displaced.begin(), displaced.end()), (std::set<uint64_t>{1, 3}));
  EXPECT_EQ(Lookup("t", "bob").size(), 2u);  // 2 (web) and 4
  displaced.clear();
  ASSERT_TRUE(table_
                  ->RegisterDisplacing("t", "bob", {"gw1", 4, "phone2", "ios"},
                                       LoginConflict::kExclusive, displaced)
                  .ok());
  EXPECT_EQ(displaced, (std::vector<uint64_t>{2}));  // never itself
  auto routes = Lookup("t", "bob");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].session_id, 4u);
}

// Many platform-exclusive logins of one user at once: one survives, every
// other is displaced exactly once, and another platform is untouched.
TEST_P(RouteTableContract, ConcurrentExclusiveLoginsLeaveExactlyOne) {
  constexpr int kThreads = 8, kLoginsEach = 50;
  ASSERT_TRUE(table_->Register("t", "bob", {"gw1", 1'000'000, "laptop", "web"}).ok());
  std::vector<std::vector<uint64_t>> displaced(kThreads);
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
  for (const auto& d : displaced) all.insert(d.begin(), d.end());
  all.insert(ios.session_id);
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kLoginsEach));
  for (uint64_t id = 1; id <= kThreads * kLoginsEach; ++id) EXPECT_EQ(all.count(id), 1u) << id;
}

}  // namespace flare
